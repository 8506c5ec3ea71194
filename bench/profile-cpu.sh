#!/usr/bin/env bash
# Where the CPU of a chat call goes: the `profiling` build (release with symbols)
# under `wrk` load of POST /api/chat against the nginx fake, `perf record` for 8 s,
# the top symbols and the share of each binary (kernel, libc, ours).
#
#   bash bench/profile-cpu.sh            # WELD_WORKERS passes through (0 = one shared runtime)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_BUILD:-}" != 1 ]; then
    cargo build --profile profiling --locked --bin weld-assistant
fi
ROOT=$PWD; BENCH=$ROOT/bench; export BENCH_DIR=$BENCH
RUN=$(mktemp -d /tmp/perf.XXXX)
log() { echo "perf: $*" >&2; }
source "$BENCH/lib.sh"
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
FAKE_PORT=18381 WELD_PORT=18384
FIXTURE=$ROOT/tests/fixtures/gemini/generate_response_ok.json
{ printf "return 200 '"; sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g" "$FIXTURE"; printf "';\n"; } >"$RUN/fake_body.inc"
sed -e "s|@RUN@|$RUN|g" -e "s|@FAKE_PORT@|$FAKE_PORT|g" "$BENCH/nginx/fake.conf" >"$RUN/fake.conf"
nginx -p "$RUN" -c "$RUN/fake.conf" & PIDS+=($!)
wait_http "http://127.0.0.1:$FAKE_PORT/v1beta/models/gemini-flash-latest"
env -i PATH=/usr/bin:/bin WELD_LISTEN="127.0.0.1:$WELD_PORT" GEMINI_API_KEY=bench-key \
    WELD_GEMINI_BASE_URL="http://127.0.0.1:$FAKE_PORT" WELD_API_TOKENS=bench-token \
    WELD_RATE_LIMIT_PER_MINUTE=10000000 WELD_RATE_LIMIT_BURST=10000000 \
    WELD_RATE_LIMIT_PER_IP_PER_MINUTE=10000000 WELD_RATE_LIMIT_PER_IP_BURST=10000000 \
    WELD_GEMINI_FALLBACK_MODELS= RUST_LOG=warn WELD_COOKIE_SECURE=false WELD_STARTUP_PROBE=off \
    WELD_TRUSTED_PROXIES=127.0.0.1/32 ${WELD_WORKERS:+WELD_WORKERS=$WELD_WORKERS} target/profiling/weld-assistant serve >"$RUN/weld.out" 2>&1 &
pid=$!; PIDS+=($pid)
wait_http "http://127.0.0.1:$WELD_PORT/api/health"
wrk -t2 -c64 -d12s --timeout 5s -s $BENCH/wrk/chat.lua "http://127.0.0.1:$WELD_PORT/api/chat" > "$RUN/wrk.txt" &
w=$!
sleep 2
perf record -F 999 -g -p $pid -o "$RUN/perf.data" -- sleep 8 2>/dev/null >/dev/null
wait $w
grep WRK_RESULT "$RUN/wrk.txt" || true
echo "--- by binary"
perf report -i "$RUN/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -6
echo "--- top symbols"
perf report -i "$RUN/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -30 | cut -c1-160
rm -rf "$RUN"
