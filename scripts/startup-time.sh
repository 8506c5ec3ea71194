#!/usr/bin/env bash
# Measures start-up time: from exec of the binary to its first successful
# GET /api/health, a few times, and prints the binary size and the resident
# memory right after start.
#
#   bash scripts/startup-time.sh [BINARY] [RUNS]
#
# BINARY defaults to target/release/weld-assistant (build it with
# `cargo build --release --locked`), RUNS to 5 (at most 20). Each run is bounded
# to 10 s. No Gemini key is set, so no start-up probe goes out (with a key the
# probe runs in the background and does not delay /api/health). Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/weld-assistant}
RUNS=${2:-5}
[ -x "$BIN" ] || { echo "startup-time: $BIN is not an executable (cargo build --release --locked)" >&2; exit 2; }
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] && [ "$RUNS" -le 20 ] || { echo "startup-time: RUNS must be 1..20" >&2; exit 2; }

exec python3 - "$BIN" "$RUNS" <<'PY'
import os, socket, statistics, subprocess, sys, time, platform

binary, runs = sys.argv[1], int(sys.argv[2])

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

def healthy(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
            c.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return c.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

times, rss = [], []
for i in range(runs):
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "WELD_LISTEN": f"127.0.0.1:{port}", "WELD_COOKIE_SECURE": "false"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if healthy(port):
                times.append((time.perf_counter() - t0) * 1000)
                break
            if proc.poll() is not None:
                sys.exit(f"startup-time: the server exited with {proc.returncode} (run it by hand to see why)")
            if time.perf_counter() - t0 > 10:
                sys.exit("startup-time: no healthy answer within 10 s")
            time.sleep(0.001)
        r = rss_kib(proc.pid)
        if r:
            rss.append(r)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=35)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

cpu = "?"
try:
    with open("/proc/cpuinfo") as f:
        cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
except (OSError, StopIteration):
    pass
size = os.path.getsize(binary)
print(f"binary:   {binary} ({size / 1e6:.1f} MB, {size} bytes)")
print(f"machine:  {platform.system()} {platform.release()}, {os.cpu_count()} CPU(s), {cpu}")
print(f"runs:     {runs}; exec -> first 200 from GET /api/health, ms: " + ", ".join(f"{t:.1f}" for t in times))
print(f"start-up: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f})")
if rss:
    print(f"memory:   RSS right after start {statistics.median(rss) / 1024:.1f} MiB (median)")
PY
