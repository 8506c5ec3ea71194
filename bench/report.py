#!/usr/bin/env python3
"""Turns the raw numbers bench/run.sh collected in its run folder into Markdown."""
import datetime
import statistics
import sys

run = sys.argv[1]


def kv(text):
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


extra = {}
with open(f"{run}/extra.txt") as f:
    for line in f:
        line = line.rstrip("\n")
        if line.startswith("relay "):
            extra.update({f"relay_{k}": v for k, v in kv(line[6:]).items()})
        elif "=" in line:
            k, v = line.split("=", 1)
            extra[k] = v
clk = int(extra["clk_tck"])
MB = 1024 * 1024  # MiB: the targets are in MiB


def mb(kib):
    return int(kib) * 1024 / MB


rows = []
with open(f"{run}/rows.tsv") as f:
    for line in f:
        scenario, label, wrk, res = line.rstrip("\n").split("\t")
        w, r = kv(wrk), kv(res)
        secs = int(w["duration_us"]) / 1e6
        rows.append({
            "scenario": scenario,
            "label": label,
            "rps": int(w["requests"]) / secs,
            "p50": int(w["p50_us"]) / 1000,
            "p99": int(w["p99_us"]) / 1000,
            "errors": sum(int(w[k]) for k in ("connect", "read", "write", "status", "timeout")),
            "rss": mb(r["hwm_kib"]),
            "procs": int(r["nproc"]),
            "cpu": int(r["cpu_ticks"]) / clk,
            "fake_cpu": int(r["fake_ticks"]) / clk,
        })


def row(scenario, label):
    return next(r for r in rows if r["scenario"] == scenario and r["label"] == label)


analyze = []
with open(f"{run}/analyze.txt") as f:
    for line in f:
        code, t = line.split()
        analyze.append((code, float(t)))
lat = sorted(t for _, t in analyze)
a_ok = sum(1 for c, _ in analyze if c == "200")
startup = ""
with open(f"{run}/startup.txt") as f:
    for line in f:
        if line.startswith("start-up:"):
            startup = line.split(":", 1)[1].strip()

out = []
p = out.append
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
p(f"# weld-assistant benchmark, {now}\n")
p(f"Machine: {extra['nproc']} CPU ({extra['cpu']}), {extra['mem']} RAM, {extra['kernel']}; "
  f"{extra['nginx']}, {extra['wrk']}, {extra['rustc']}; release binary {int(extra['binary_bytes']) / MB:.1f} MiB.\n")
p(f"Command: `bash bench/run.sh` — wrk `-t{extra['threads']} -c{extra['connections']} -d{extra['duration']}s` "
  f"after a {extra['warmup']} s warm-up, everything on 127.0.0.1, load generator, servers and the fake on the same cores.\n")
busy = extra.get("quiet_busy", "?")
p(f"Quiet: waited {extra.get('quiet_waited_s', '?')} s for cargo/rustc/buildah/podman/node to go idle "
  f"(busy at start of measuring: {busy}); the machine was {extra.get('idle_pct_before', '?')} % idle over the 2 s before the run.\n")
p("| scenario | server | req/s | p50 ms | p99 ms | errors | peak RSS MiB | CPU s server | CPU s fake |")
p("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    rss = f"{r['rss']:.1f}" + (f" ({r['procs']} procs)" if r["procs"] > 1 else "")
    fake = f"{r['fake_cpu']:.2f}" if r["label"] != "direct to fake" else "–"
    p(f"| {r['scenario']} | {r['label']} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | "
      f"{rss} | {r['cpu']:.2f} | {fake} |")
idle = mb(extra["idle_rss_kib"])
p(f"| idle (start-up + 2 s) | weld-assistant | – | – | – | – | {idle:.1f} (VmRSS) | – | – |")
a_p50 = statistics.median(lat) * 1000
a_p99 = lat[min(len(lat) - 1, round((len(lat) - 1) * 0.99))] * 1000
a_peak = mb(extra["analyze_hwm_kib"])
p(f"| 32 × 8 MB `/api/analyze` at once | weld-assistant | {a_ok}/32 × 200 in {extra['analyze_wall_s']} s | "
  f"{a_p50:.0f} | {a_p99:.0f} (max) | {32 - a_ok} | {a_peak:.1f} | {int(extra['analyze_cpu_ticks']) / clk:.2f} | – |")
p(f"| stream relay, added per chunk | weld-assistant | {extra['relay_chunks']} chunks | "
  f"{int(extra['relay_added_p50_us']) / 1000:.3f} | {int(extra['relay_added_p99_us']) / 1000:.3f} | {extra['relay_errors']} | – | – | – |")
p(f"| start-up (exec → first 200 `/api/health`) | weld-assistant | {startup} | | | | | | |")
p("")
p(f"Static asset: `{extra['asset']}` ({int(extra['asset_bytes']):,} bytes); `GET /` is `index.html` "
  f"({int(extra['index_bytes']):,} bytes), no `Accept-Encoding`. nginx peak RSS is the sum of VmHWM over master + workers "
  "(shared pages counted more than once). CPU s = utime + stime of the server process(es) during the measured load; "
  "“CPU s fake” is the nginx fake Gemini's share. Analyze body: "
  f"{int(extra['analyze_body_bytes']):,} bytes of JSON (an {int(extra['image_bytes']):,}-byte JPEG in base64); "
  f"RSS right after the burst {mb(extra['analyze_rss_after_kib']):.1f} MiB, 2 s later {mb(extra['analyze_rss_2s_after_kib']):.1f} MiB. "
  f"Stream relay: fake → client p50 {int(extra['relay_direct_p50_us']) / 1000:.3f} / p99 {int(extra['relay_direct_p99_us']) / 1000:.3f} ms directly, "
  f"{int(extra['relay_via_p50_us']) / 1000:.3f} / {int(extra['relay_via_p99_us']) / 1000:.3f} ms through weld-assistant "
  "(4 concurrent streams × 25 chunks × 8 rounds, a chunk every 20–50 ms); added = through − direct at the same percentile.\n")

chat_w, chat_n = row("chat", "weld-assistant"), row("chat", "nginx proxy")
root_w, root_n = row("GET /", "weld-assistant"), row("GET /", "nginx")
asset = f"GET {extra['asset']}"
asset_w, asset_n = row(asset, "weld-assistant"), row(asset, "nginx")
checks = [
    ("chat req/s ≥ 0.6 × nginx", chat_w["rps"] / chat_n["rps"], 0.6, ">=", "×"),
    ("chat p99 ≤ 1.5 × nginx", chat_w["p99"] / chat_n["p99"], 1.5, "<=", "×"),
    ("static `GET /` req/s ≥ 0.8 × nginx", root_w["rps"] / root_n["rps"], 0.8, ">=", "×"),
    ("static asset req/s ≥ 0.8 × nginx", asset_w["rps"] / asset_n["rps"], 0.8, ">=", "×"),
    ("idle RSS ≤ 15 MiB", idle, 15, "<=", " MiB"),
    ("32 × 8 MB analyze peak RSS ≤ 400 MiB", a_peak, 400, "<=", " MiB"),
    ("stream relay ≤ 1 ms added per chunk (p99)", int(extra["relay_added_p99_us"]) / 1000, 1, "<=", " ms"),
    ("analyze answers 200", a_ok, 32, ">=", ""),
    ("no errors (non-2xx/3xx, socket errors) in any load", sum(r["errors"] for r in rows), 0, "<=", ""),
]
p("| target | measured | result |")
p("|---|---:|---|")
for name, value, limit, op, unit in checks:
    ok = value >= limit if op == ">=" else value <= limit
    shown = f"{value:.2f}{unit}" if isinstance(value, float) else f"{value}{unit}"
    p(f"| {name} | {shown} | {'pass' if ok else 'MISS'} |")
print("\n".join(out))
