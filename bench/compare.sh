#!/usr/bin/env bash
# Compares weld-assistant builds and modes side by side with nginx, in one run:
# chat and static `GET /` (req/s, p99, CPU µs per request, rounds alternating),
# then per build idle RSS, the 32 × 8 MB analyze burst's peak and the RSS 2 s
# after it (memory given back). This is how the worker mode and the allocator
# were chosen (README, "Performance").
#
#   bash bench/compare.sh 2 "system=target/release/weld-assistant" \
#       "shared=target/release/weld-assistant:0" "jemalloc=/tmp/weld-jemalloc"
#
# A spec is LABEL=BINARY[:WORKERS]; WORKERS is passed as WELD_WORKERS (0 = one
# shared runtime; empty = a worker per core). Build the allocator variants with
# `cargo build --release --features jemalloc` (or `mimalloc`) and copy the binary.
# Knobs: D=5 (s per load), 127.0.0.1 ports 18281-18284.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD; BENCH=$ROOT/bench; DIST=$ROOT/frontend/dist
export BENCH_DIR=$BENCH
log() { echo "compare: $*" >&2; }
for tool in nginx wrk curl; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
RUN=$(mktemp -d /tmp/weld-compare.XXXXXX)
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
FAKE_PORT=18281 PROXY_PORT=18282 STATIC_PORT=18283 WELD_PORT=18284
FIXTURE=$ROOT/tests/fixtures/gemini/generate_response_ok.json
CLK=$(getconf CLK_TCK)
D=${D:-5}
ROUNDS=${1:?rounds}
shift
ticks() {
    local sum=0 p v
    for p in "$@"; do
        v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12+$13}') || v=0
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
kib() { awk -v f="$1:" '$1==f {print $2}' "/proc/$2/status"; }
render_conf() {
    sed -e "s|@RUN@|$RUN|g" -e "s|@DIST@|$DIST|g" -e "s|@FAKE_PORT@|$FAKE_PORT|g" \
        -e "s|@PROXY_PORT@|$PROXY_PORT|g" -e "s|@STATIC_PORT@|$STATIC_PORT|g" "$BENCH/nginx/$1" >"$RUN/$1"
}
{ printf "return 200 '"; sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g" "$FIXTURE"; printf "';\n"; } >"$RUN/fake_body.inc"
for c in fake.conf proxy.conf static.conf; do render_conf "$c"; done
nginx -p "$RUN" -c "$RUN/fake.conf" >>"$RUN/nginx.out" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$FAKE_PORT/v1beta/models/gemini-flash-latest"

measure() { # label pid url script
    local label=$1 pid=$2 url=$3 script=$4 pids t0 t1 line
    wrk -t2 -c64 -d1s --timeout 5s -s "$script" "$url" >/dev/null
    mapfile -t pids < <(tree "$pid")
    t0=$(ticks "${pids[@]}")
    line=$(wrk -t2 -c64 -d"${D}s" --timeout 5s -s "$script" "$url" | grep '^WRK_RESULT')
    t1=$(ticks "${pids[@]}")
    python3 - "$label" "$line" $((t1 - t0)) "$CLK" <<'PY'
import sys
label, line, ticks, clk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f = dict(kv.split("=") for kv in line.split()[1:])
req = int(f["requests"]); dur = int(f["duration_us"]) / 1e6
errors = sum(int(f[k]) for k in ("connect", "read", "write", "status", "timeout"))
print(f"| {label} | {req / dur:,.0f} | {int(f['p99_us']) / 1000:.2f} | {ticks / clk * 1e6 / max(req, 1):.1f} | {errors} |")
PY
}
start() { # bin workers; sets LAST_PID
    env -i PATH=/usr/bin:/bin WELD_LISTEN="127.0.0.1:$WELD_PORT" GEMINI_API_KEY=bench-key \
        WELD_GEMINI_BASE_URL="http://127.0.0.1:$FAKE_PORT" WELD_API_TOKENS=bench-token \
        WELD_RATE_LIMIT_PER_MINUTE=10000000 WELD_RATE_LIMIT_BURST=10000000 \
        WELD_RATE_LIMIT_PER_IP_PER_MINUTE=10000000 WELD_RATE_LIMIT_PER_IP_BURST=10000000 \
        WELD_GEMINI_FALLBACK_MODELS= RUST_LOG=warn WELD_COOKIE_SECURE=false WELD_STARTUP_PROBE=off \
        WELD_TRUSTED_PROXIES=127.0.0.1/32 ${2:+WELD_WORKERS=$2} "$1" serve >>"$RUN/weld.out" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    wait_http "http://127.0.0.1:$WELD_PORT/api/health"
}
split() { LABEL=${1%%=*}; local rest=${1#*=}; BIN_=${rest%%:*}; WORKERS=; [ "$rest" != "$BIN_" ] && WORKERS=${rest#*:}; return 0; }

echo "| round, load, server | req/s | p99 ms | CPU µs per request | errors |"
echo "|---|---:|---:|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
    for spec in "$@"; do
        split "$spec"
        start "$BIN_" "$WORKERS"
        measure "$r, chat, $LABEL" "$LAST_PID" "http://127.0.0.1:$WELD_PORT/api/chat" "$BENCH/wrk/chat.lua"
        measure "$r, GET /, $LABEL" "$LAST_PID" "http://127.0.0.1:$WELD_PORT/" "$BENCH/wrk/report.lua"
        stop "$LAST_PID"
    done
    nginx -p "$RUN" -c "$RUN/proxy.conf" >>"$RUN/nginx.out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$PROXY_PORT/api/chat" -X POST -d '{}'
    measure "$r, chat, nginx proxy" "$pid" "http://127.0.0.1:$PROXY_PORT/api/chat" "$BENCH/wrk/chat.lua"
    stop "$pid"
    nginx -p "$RUN" -c "$RUN/static.conf" >>"$RUN/nginx.out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$STATIC_PORT/"
    measure "$r, GET /, nginx" "$pid" "http://127.0.0.1:$STATIC_PORT/" "$BENCH/wrk/report.lua"
    stop "$pid"
done

python3 - "$RUN/analyze.json" <<'PY'
import base64, json, os, sys
size = 8 * 1000 * 1000
entropy = os.urandom(size).replace(b"\xff", b"\xfe")
jpeg = (b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + entropy + b"\xff\xd9")
with open(sys.argv[1], "w") as f:
    json.dump({"base64Image": base64.b64encode(jpeg).decode(), "mimeType": "image/jpeg"}, f)
PY
echo
echo "| server | idle RSS MiB | 32 × 8 MB analyze: peak MiB | RSS 2 s after MiB | answers |"
echo "|---|---:|---:|---:|---|"
for spec in "$@"; do
    split "$spec"
    start "$BIN_" "$WORKERS"
    pid=$LAST_PID
    sleep 2
    idle=$(kib VmRSS "$pid")
    codes=$(seq 32 | xargs -P32 -I{} curl -s -o /dev/null --max-time 120 -w '%{http_code}\n' \
        -H 'content-type: application/json' -H 'x-proxy-token: bench-token' -H 'Expect:' \
        --data-binary "@$RUN/analyze.json" "http://127.0.0.1:$WELD_PORT/api/analyze" | sort | uniq -c | awk '{printf "%s × %s ", $1, $2}')
    peak=$(kib VmHWM "$pid")
    sleep 2
    after=$(kib VmRSS "$pid")
    awk -v l="$LABEL" -v i="$idle" -v p="$peak" -v a="$after" -v c="$codes" \
        'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %s|\n", l, i / 1024, p / 1024, a / 1024, c }'
    stop "$pid"
done
rm -rf "$RUN"
