#!/usr/bin/env bash
# Held requests: memory per request waiting on a slow upstream, weld-assistant
# next to nginx, on 127.0.0.1 only. See bench/README.md.
#
#   bash bench/held.sh
#
# Environment (all optional): COUNTS="4000 10000" (requests opened at once),
# DELAY_MS=5000 (the stand-in's answer delay), MAX_STREAMS=100 (per HTTP/2
# connection of the stand-in), SKIP_BUILD=1, BIN (another weld-assistant binary),
# HELD (another held tool), PORT_BASE=18180, WELD_WORKERS (passed to the
# server: 0 = one shared runtime; unset = a worker per core). Writes bench/results/held-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench
COUNTS=${COUNTS:-4000 10000}
DELAY_MS=${DELAY_MS:-5000}
MAX_STREAMS=${MAX_STREAMS:-100}
PORT_BASE=${PORT_BASE:-18180}
H1_PORT=$PORT_BASE             # stand-in, HTTP/1.1 (and h2c)
TLS_PORT=$((PORT_BASE + 1))    # stand-in, TLS with ALPN h2/http1.1
PROXY_PORT=$((PORT_BASE + 2))  # nginx
WELD_PORT=$((PORT_BASE + 3))   # weld-assistant
PROXY_H2C_PORT=$((PORT_BASE + 4))  # nginx, h2c clients
BIN=${BIN:-$ROOT/target/release/weld-assistant}
HELD=${HELD:-$ROOT/target/release/examples/held}

log() { echo "held: $*" >&2; }

for tool in nginx curl openssl; do
    command -v "$tool" >/dev/null || { log "installing $tool"; apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done

# Every held request is a client socket, and for weld-assistant over HTTP/1.1
# also an upstream one: raise the soft open-file limit to the hard one.
ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
log "open files: $NOFILE"

if [ "${SKIP_BUILD:-}" != 1 ]; then
    log "building (release)"
    WELD_SKIP_FRONTEND_BUILD=${WELD_SKIP_FRONTEND_BUILD:-} cargo build --release --locked --bin weld-assistant
    cargo build --release --locked --example held
fi
[ -x "$BIN" ] && [ -x "$HELD" ] || { log "$BIN or $HELD missing"; exit 2; }

RUN=$(mktemp -d /tmp/weld-held.XXXXXX)
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

# A throw-away CA and a certificate it signs for the TLS stand-in; weld-assistant
# trusts the CA through WELD_GEMINI_CA_FILE.
bash "$ROOT/bench/standin-cert.sh" "$RUN"

"$HELD" upstream "127.0.0.1:$H1_PORT" "$DELAY_MS" --max-streams "$MAX_STREAMS" >"$RUN/h1.out" 2>&1 &
PIDS+=("$!")
H1_PID=$!
"$HELD" upstream "127.0.0.1:$TLS_PORT" "$DELAY_MS" --max-streams "$MAX_STREAMS" \
    --tls "$RUN/standin.pem" "$RUN/standin.key" >"$RUN/tls.out" 2>&1 &
PIDS+=("$!")
TLS_PID=$!
wait_http "http://127.0.0.1:$H1_PORT/stats"
wait_http "https://127.0.0.1:$TLS_PORT/stats" --cacert "$RUN/ca.pem"

sed -e "s|@RUN@|$RUN|g" -e "s|@UPSTREAM_PORT@|$H1_PORT|g" -e "s|@PROXY_PORT@|$PROXY_PORT|g" \
    -e "s|@PROXY_H2C_PORT@|$PROXY_H2C_PORT|g" -e "s|@NOFILE@|$NOFILE|g" "$BENCH/nginx/held.conf" >"$RUN/held.conf"

start_weld() { # base URL of the upstream
    env -i PATH=/usr/bin:/bin WELD_LISTEN="127.0.0.1:$WELD_PORT" GEMINI_API_KEY=bench-key \
        WELD_GEMINI_BASE_URL="$1" WELD_GEMINI_CA_FILE="$RUN/ca.pem" \
        WELD_RATE_LIMIT_PER_MINUTE=10000000 WELD_RATE_LIMIT_BURST=10000000 \
        WELD_RATE_LIMIT_PER_IP_PER_MINUTE=10000000 WELD_RATE_LIMIT_PER_IP_BURST=10000000 \
        WELD_GEMINI_FALLBACK_MODELS= WELD_STARTUP_PROBE=models RUST_LOG=warn WELD_COOKIE_SECURE=false \
        ${WELD_WORKERS:+WELD_WORKERS=$WELD_WORKERS} "$BIN" serve >>"$RUN/weld.out" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    wait_http "http://127.0.0.1:$WELD_PORT/api/health"
}
start_nginx() {
    nginx -p "$RUN" -c "$RUN/held.conf" >>"$RUN/nginx.out" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    wait_http "http://127.0.0.1:$PROXY_PORT/api/chat" -X POST -d '{}' -m 30
}

ROWS=$RUN/rows.tsv
: >"$ROWS"
# run <server> <inbound> <upstream label> <count> <master PID> <path> [load args]
run() {
    local server=$1 inbound=$2 upstream=$3 count=$4 pid=$5 path=$6 line pids
    shift 6
    sleep 1
    pids=$(tree "$pid" | paste -sd,)
    line=$("$HELD" load "http://127.0.0.1:${PORT:?}$path" "$count" --pids "$pids" --timeout 60 "$@" | grep '^HELD_RESULT')
    printf '%s\t%s\t%s\t%s\t%s\n' "$server $path" "$inbound" "$upstream" "$count" "$line" >>"$ROWS"
    log "$server $path ($inbound in, $upstream out, $count): $line"
}
stats() { curl -s --cacert "$RUN/ca.pem" "$1/stats"; }

# weld <count> <upstream: h2|h1> <inbound: h1|h2c> <path>
weld() {
    local count=$1 upstream=$2 inbound=$3 path=$4 base label pid cookie extra=()
    if [ "$upstream" = h2 ]; then
        base="https://127.0.0.1:$TLS_PORT" label="HTTP/2 (TLS, ALPN)"
    else
        base="http://127.0.0.1:$H1_PORT" label="HTTP/1.1"
    fi
    local sockets=$count
    [ "$upstream" = h1 ] && sockets=$((2 * count))
    if [ $((sockets + 256)) -gt "$NOFILE" ]; then
        log "skipping weld-assistant $path over $label at $count: it needs $sockets sockets, the limit is $NOFILE"
        printf '%s\t%s\t%s\t%s\t%s\n' "weld-assistant $path" "$inbound" "$label" "$count" \
            "skipped: needs $sockets open files, the hard limit here is $NOFILE" >>"$ROWS"
        return
    fi
    start_weld "$base"
    pid=$LAST_PID
    cookie=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$WELD_PORT/api/session" |
        awk -F': ' 'tolower($1)=="set-cookie" {split($2, a, ";"); print a[1]}')
    [ -n "$cookie" ] || { log "no session cookie"; exit 1; }
    [ "$path" = /api/chat/stream ] && extra+=(--stream)
    [ "$inbound" = h2c ] && extra+=(--h2c 100)
    local before
    before=$(stats "$base")
    PORT=$WELD_PORT run weld-assistant "$inbound" "$label" "$count" "$pid" "$path" --header "Cookie: $cookie" "${extra[@]}"
    log "stand-in before: $before after: $(stats "$base")"
    stop "$pid"
}

for count in $COUNTS; do
    for path in /api/chat /api/chat/stream; do
        weld "$count" h2 h1 "$path"
    done
    for path in /api/chat /api/chat/stream; do
        weld "$count" h2 h2c "$path"
    done
    weld "$count" h1 h1 /api/chat
    for path in /api/chat /api/chat/stream; do
        start_nginx
        pid=$LAST_PID
        extra=(--expect '"candidates"')
        [ "$path" = /api/chat/stream ] && extra=(--stream --expect finishReason)
        PORT=$PROXY_PORT run nginx h1 HTTP/1.1 "$count" "$pid" "$path" "${extra[@]}"
        stop "$pid"
        start_nginx
        pid=$LAST_PID
        PORT=$PROXY_H2C_PORT run nginx h2c HTTP/1.1 "$count" "$pid" "$path" "${extra[@]}" --h2c 100
        stop "$pid"
    done
done

{
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel=$(uname -sr)"
    echo "nginx=$(nginx -v 2>&1 | sed 's/.*: //')"
    echo "delay_ms=$DELAY_MS"
    echo "max_streams=$MAX_STREAMS"
    echo "nofile=$NOFILE"
} >"$RUN/machine.txt"
mkdir -p "$BENCH/results"
OUT=$BENCH/results/held-$(date -u +%Y-%m-%d-%H%M).md
python3 "$BENCH/held_report.py" "$RUN" >"$OUT"
cat "$OUT"
log "written $OUT"
rm -rf "$RUN"
