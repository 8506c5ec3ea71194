#!/usr/bin/env bash
# Where the bytes of held requests go: one held-requests scenario with
# weld-assistant under heaptrack, then the top allocation sites at the heap's
# peak, per held request. See bench/README.md.
#
#   bash bench/profile-held.sh [COUNT] [UPSTREAM: h2|h1] [INBOUND: h1|h2c] [PATH]
#
# Defaults: 4000 h2 h1 /api/chat. Builds the `profiling` profile (release with
# symbols) unless SKIP_BUILD=1. Needs heaptrack (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COUNT=${1:-4000}
UPSTREAM=${2:-h2}
INBOUND=${3:-h1}
PATH_=${4:-/api/chat}
PORT_BASE=${PORT_BASE:-18190}
UP_PORT=$PORT_BASE
WELD_PORT=$((PORT_BASE + 1))
BIN=$ROOT/target/profiling/weld-assistant
HELD=$ROOT/target/release/examples/held
log() { echo "profile-held: $*" >&2; }

for tool in heaptrack openssl curl; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
ulimit -n "$(ulimit -Hn)"
if [ "${SKIP_BUILD:-}" != 1 ]; then
    cargo build --profile profiling --locked --bin weld-assistant
    cargo build --release --locked --example held
fi

RUN=$(mktemp -d /tmp/weld-profile.XXXXXX)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bash "$ROOT/bench/standin-cert.sh" "$RUN"

if [ "$UPSTREAM" = h2 ]; then
    "$HELD" upstream "127.0.0.1:$UP_PORT" 5000 --tls "$RUN/standin.pem" "$RUN/standin.key" >"$RUN/up.out" 2>&1 &
    BASE="https://127.0.0.1:$UP_PORT"
else
    "$HELD" upstream "127.0.0.1:$UP_PORT" 5000 >"$RUN/up.out" 2>&1 &
    BASE="http://127.0.0.1:$UP_PORT"
fi
PIDS+=("$!")
env -i PATH=/usr/bin:/bin WELD_LISTEN="127.0.0.1:$WELD_PORT" GEMINI_API_KEY=bench-key \
    WELD_GEMINI_BASE_URL="$BASE" WELD_GEMINI_CA_FILE="$RUN/ca.pem" \
    WELD_RATE_LIMIT_PER_MINUTE=10000000 WELD_RATE_LIMIT_BURST=10000000 \
    WELD_RATE_LIMIT_PER_IP_PER_MINUTE=10000000 WELD_RATE_LIMIT_PER_IP_BURST=10000000 \
    WELD_GEMINI_FALLBACK_MODELS= WELD_STARTUP_PROBE=models RUST_LOG=warn WELD_COOKIE_SECURE=false \
    heaptrack -o "$RUN/heaptrack" "$BIN" serve >"$RUN/weld.out" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$WELD_PORT/api/health"
cookie=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$WELD_PORT/api/session" |
    awk -F': ' 'tolower($1)=="set-cookie" {split($2, a, ";"); print a[1]}')
extra=()
[ "$PATH_" = /api/chat/stream ] && extra+=(--stream)
[ "$INBOUND" = h2c ] && extra+=(--h2c 100)
"$HELD" load "http://127.0.0.1:$WELD_PORT$PATH_" "$COUNT" --header "Cookie: $cookie" --timeout 120 "${extra[@]}" | tee "$RUN/load.txt" >&2
# heaptrack writes its file when the program exits: stop weld-assistant itself
# (SIGINT: a graceful shutdown), not the heaptrack wrapper.
pkill -INT -f "^$BIN serve" || true
for _ in $(seq 1 300); do
    ls "$RUN"/heaptrack*.zst >/dev/null 2>&1 && ! pgrep -f "^$BIN serve" >/dev/null && break
    sleep 0.1
done
sleep 1
FILE=$(ls "$RUN"/heaptrack*.zst | head -1)
heaptrack_print -f "$FILE" --print-peaks 0 --print-allocators 0 --print-temporary 0 --print-leaks 0 \
    -F "$RUN/peak.txt" --flamegraph-cost-type peak | grep -i "peak heap" || true
log "$COUNT × POST $PATH_, $INBOUND in, $UPSTREAM upstream"
python3 bench/heap_sites.py "$RUN/peak.txt" "$COUNT"
rm -rf "$RUN"
