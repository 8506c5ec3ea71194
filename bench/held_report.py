"""Turns the raw rows of bench/held.sh into the Markdown table."""
import sys
from pathlib import Path

run = Path(sys.argv[1])
machine = dict(line.split("=", 1) for line in (run / "machine.txt").read_text().splitlines() if "=" in line)
INBOUND = {"h1": "HTTP/1.1, a connection each", "h2c": "h2c, 100 per connection"}
print("# Held requests\n")
print(f"{machine['nproc']} × {machine['cpu']}, {machine['mem']}, {machine['kernel']}, nginx {machine['nginx']}; "
      f"the stand-in answers after {int(machine['delay_ms']) / 1000:g} s and allows "
      f"{machine['max_streams']} streams per HTTP/2 connection; open-file limit {machine['nofile']}.\n")
print("| server | request | client side | upstream side | at once | errors | p50 | p99 | idle RSS | peak RSS | per held request |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
for line in (run / "rows.tsv").read_text().splitlines():
    label, inbound, upstream, count, result = line.split("\t")
    server, path = label.split(" ", 1)
    head = f"| {server} | `POST {path}` | {INBOUND.get(inbound, inbound)} | {upstream} | {int(count):,} |"
    if not result.startswith("HELD_RESULT"):
        print(f"{head} – | – | – | – | – | {result} |")
        continue
    r = dict(kv.split("=", 1) for kv in result.split()[1:])
    print(f"{head} {r['errors']} | {int(r['p50_ms']) / 1000:.2f} s | {int(r['p99_ms']) / 1000:.2f} s | "
          f"{int(r['idle_kib']) / 1024:.1f} MiB | {int(r['peak_kib']) / 1024:.1f} MiB | "
          f"**{float(r['per_request_kib']):.1f} KiB** |")
print()
print("Per held request = (peak VmRSS − VmRSS just before the load) ÷ requests, VmRSS summed over "
      "the server's processes (nginx: master + 2 workers) and sampled every 20 ms. An error is "
      "anything but a 200 carrying a whole answer.")
