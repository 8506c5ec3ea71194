#!/usr/bin/env bash
# The benchmark of weld-assistant against an nginx reference, in one run, on
# 127.0.0.1 only, every load bounded in time. See bench/README.md.
#
#   bash bench/run.sh
#
# Environment (all optional): DURATION=10 (s per load), WARMUP=2 (s, not
# recorded), CONNECTIONS=64, THREADS=2 (wrk), QUIET_WAIT=600 (s to wait for
# cargo/rustc/buildah/podman/node to go idle), SKIP_BUILD=1, ports FAKE_PORT=18081
# PROXY_PORT=18082 STATIC_PORT=18083 WELD_PORT=18084, BIN (another weld-assistant binary),
# WELD_WORKERS (passed to the server; 0 = one shared runtime).
# Writes bench/results/<date>.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench
export BENCH_DIR=$BENCH
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
QUIET_WAIT=${QUIET_WAIT:-600}
FAKE_PORT=${FAKE_PORT:-18081}
PROXY_PORT=${PROXY_PORT:-18082}
STATIC_PORT=${STATIC_PORT:-18083}
WELD_PORT=${WELD_PORT:-18084}
BIN=${BIN:-$ROOT/target/release/weld-assistant}
RELAY=$ROOT/target/release/examples/relay_latency
DIST=$ROOT/frontend/dist
CLK=$(getconf CLK_TCK)

log() { echo "bench: $*" >&2; }

# --- tools -------------------------------------------------------------------
missing=()
for tool in nginx wrk curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v python3 >/dev/null || { log "python3 is needed"; exit 2; }

# --- build -------------------------------------------------------------------
if [ "${SKIP_BUILD:-}" != 1 ]; then
    log "building (release, LTO: minutes the first time)"
    cargo build --release --locked --bin weld-assistant
    cargo build --release --locked --example relay_latency
fi
[ -x "$BIN" ] || { log "$BIN missing"; exit 2; }
[ -x "$RELAY" ] || { log "$RELAY missing"; exit 2; }
[ -f "$DIST/index.html" ] || { log "$DIST/index.html missing"; exit 2; }

RUN=$(mktemp -d /tmp/weld-bench.XXXXXX)
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

# --- helpers -----------------------------------------------------------------
# utime+stime ticks summed over the given PIDs.
ticks() {
    local sum=0 p v
    for p in "$@"; do
        v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12+$13}') || v=0
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
# A /proc/<pid>/status field (kB) summed over the given PIDs.
status_kib() {
    local field=$1 sum=0 p v
    shift
    for p in "$@"; do
        v=$(awk -v f="$field:" '$1==f {print $2}' "/proc/$p/status" 2>/dev/null) || v=0
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
render_conf() { # template -> $RUN/<name>
    sed -e "s|@RUN@|$RUN|g" -e "s|@DIST@|$DIST|g" -e "s|@FAKE_PORT@|$FAKE_PORT|g" \
        -e "s|@PROXY_PORT@|$PROXY_PORT|g" -e "s|@STATIC_PORT@|$STATIC_PORT|g" \
        "$BENCH/nginx/$1" >"$RUN/$1"
}
start_nginx() { # conf; sets LAST_PID to the master's PID
    nginx -p "$RUN" -c "$RUN/$1" >>"$RUN/nginx.out" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}
start_weld() {
    env -i PATH=/usr/bin:/bin WELD_LISTEN="127.0.0.1:$WELD_PORT" GEMINI_API_KEY=bench-key \
        WELD_GEMINI_BASE_URL="http://127.0.0.1:$FAKE_PORT" WELD_API_TOKENS=bench-token \
        WELD_RATE_LIMIT_PER_MINUTE=10000000 WELD_RATE_LIMIT_BURST=10000000 \
        WELD_RATE_LIMIT_PER_IP_PER_MINUTE=10000000 WELD_RATE_LIMIT_PER_IP_BURST=10000000 \
        WELD_GEMINI_FALLBACK_MODELS= RUST_LOG=warn WELD_COOKIE_SECURE=false \
        WELD_TRUSTED_PROXIES=127.0.0.1/32 ${WELD_WORKERS:+WELD_WORKERS=$WELD_WORKERS} "$BIN" serve >>"$RUN/weld.out" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

ROWS=$RUN/rows.tsv
: >"$ROWS"
EXTRA=$RUN/extra.txt
: >"$EXTRA"
FAKE_PID=

# load <scenario> <server label> <server master PID> <url> <lua script>
load() {
    local scenario=$1 label=$2 pid=$3 url=$4 script=$5 pids fpids t0 f0 t1 f1 line
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 5s -s "$script" "$url" >/dev/null
    mapfile -t pids < <(tree "$pid")
    mapfile -t fpids < <(tree "$FAKE_PID")
    t0=$(ticks "${pids[@]}")
    f0=$(ticks "${fpids[@]}")
    line=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s -s "$script" "$url" | grep '^WRK_RESULT')
    t1=$(ticks "${pids[@]}")
    f1=$(ticks "${fpids[@]}")
    local hwm
    hwm=$(status_kib VmHWM "${pids[@]}")
    if [ "$pid" = "$FAKE_PID" ]; then f0=0 f1=0; fi
    printf '%s\t%s\t%s\thwm_kib=%s cpu_ticks=%s fake_ticks=%s nproc=%s\n' "$scenario" "$label" "$line" \
        "$hwm" $((t1 - t0)) $((f1 - f0)) "${#pids[@]}" >>"$ROWS"
    log "$scenario / $label: $line hwm=${hwm}kB"
}

# --- quiet machine -----------------------------------------------------------
busy_builders() { # prints "comm:pid:ticks" of cargo/rustc/buildah/podman/node that used CPU in 2 s
    local -A before
    local pid comm t
    while read -r pid comm; do
        [[ "$comm" =~ ^(cargo|rustc|buildah|podman|node|npm|esbuild)$ ]] || continue
        before[$pid]=$(ticks "$pid")
    done < <(ps -eo pid=,comm=)
    sleep 2
    for pid in "${!before[@]}"; do
        t=$(ticks "$pid")
        [ -d "/proc/$pid" ] || continue
        if [ $((t - before[$pid])) -gt 0 ]; then
            echo "$(cat /proc/$pid/comm 2>/dev/null):$pid:$((t - before[$pid]))"
        fi
    done
}
idle_pct() { # whole-machine idle % over 2 s
    local a b
    a=($(head -1 /proc/stat))
    sleep 2
    b=($(head -1 /proc/stat))
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    echo $(( (100 * (b[4] - a[4] + b[5] - a[5])) / (total > 0 ? total : 1) ))
}
waited=0
while :; do
    busy=$(busy_builders)
    [ -z "$busy" ] && break
    if [ "$waited" -ge "$QUIET_WAIT" ]; then
        log "still busy after ${waited}s, measuring anyway: $busy"
        break
    fi
    log "waiting for a quiet machine: $busy"
    sleep 13
    waited=$((waited + 15))
done
IDLE=$(idle_pct)
{
    echo "quiet_waited_s=$waited"
    echo "quiet_busy=${busy:-none}"
    echo "idle_pct_before=$IDLE"
} >>"$EXTRA"
ps -eo pid,pcpu,comm --sort=-pcpu | head -8 >"$RUN/ps.txt"
log "machine idle ${IDLE}% over 2 s; builders busy: ${busy:-none}"

# --- fake Gemini (nginx), the same for every scenario -------------------------
FIXTURE=$ROOT/tests/fixtures/gemini/generate_response_ok.json
{
    printf "return 200 '"
    sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g" "$FIXTURE"
    printf "';\n"
} >"$RUN/fake_body.inc"
for c in fake.conf proxy.conf static.conf; do render_conf "$c"; done
start_nginx fake.conf
FAKE_PID=$LAST_PID
wait_http "http://127.0.0.1:$FAKE_PORT/v1beta/models/gemini-flash-latest"
curl -s -X POST -d '{}' "http://127.0.0.1:$FAKE_PORT/v1beta/models/gemini-flash-latest:generateContent" >"$RUN/fake_check.json"
cmp -s "$RUN/fake_check.json" "$FIXTURE" || { log "the fake's body differs from the fixture"; exit 1; }

CHAT=$BENCH/wrk/chat.lua
REPORT=$BENCH/wrk/report.lua
ASSET=$(grep -o '/assets/index-[A-Za-z0-9_-]*\.js' "$DIST/index.html" | head -1)

# --- chat: weld-assistant vs nginx proxy vs direct ----------------------------
start_weld
pid=$LAST_PID
wait_http "http://127.0.0.1:$WELD_PORT/api/health"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -H 'x-proxy-token: bench-token' \
    -d '{"message":"Какой электрод для 09Г2С?"}' "http://127.0.0.1:$WELD_PORT/api/chat")" = 200 ] || {
    log "POST /api/chat is not 200"
    exit 1
}
load chat weld-assistant "$pid" "http://127.0.0.1:$WELD_PORT/api/chat" "$CHAT"
stop "$pid"
start_nginx proxy.conf
pid=$LAST_PID
wait_http "http://127.0.0.1:$PROXY_PORT/api/chat" -X POST -d '{}'
load chat "nginx proxy" "$pid" "http://127.0.0.1:$PROXY_PORT/api/chat" "$CHAT"
stop "$pid"
load chat "direct to fake" "$FAKE_PID" \
    "http://127.0.0.1:$FAKE_PORT/v1beta/models/gemini-flash-latest:generateContent" "$CHAT"

# --- static: GET / and the hashed entry JS -----------------------------------
start_weld
pid=$LAST_PID
wait_http "http://127.0.0.1:$WELD_PORT/api/health"
curl -s "http://127.0.0.1:$WELD_PORT$ASSET" | cmp -s - "$DIST$ASSET" || { log "weld serves another $ASSET"; exit 1; }
load "GET /" weld-assistant "$pid" "http://127.0.0.1:$WELD_PORT/" "$REPORT"
stop "$pid"
start_weld
pid=$LAST_PID
wait_http "http://127.0.0.1:$WELD_PORT/api/health"
load "GET $ASSET" weld-assistant "$pid" "http://127.0.0.1:$WELD_PORT$ASSET" "$REPORT"
stop "$pid"
start_nginx static.conf
pid=$LAST_PID
wait_http "http://127.0.0.1:$STATIC_PORT/"
load "GET /" nginx "$pid" "http://127.0.0.1:$STATIC_PORT/" "$REPORT"
load "GET $ASSET" nginx "$pid" "http://127.0.0.1:$STATIC_PORT$ASSET" "$REPORT"
stop "$pid"
echo "asset=$ASSET" >>"$EXTRA"
echo "asset_bytes=$(stat -c %s "$DIST$ASSET")" >>"$EXTRA"
echo "index_bytes=$(stat -c %s "$DIST/index.html")" >>"$EXTRA"

# --- idle RSS, then 32 concurrent /api/analyze with an 8 MB image ---------------
python3 - "$RUN/analyze.json" <<'PY'
import base64, json, os, sys
size = 8 * 1000 * 1000
entropy = os.urandom(size).replace(b"\xff", b"\xfe")  # no markers inside the scan
jpeg = (b"\xff\xd8"                                          # SOI
        + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"  # APP0 JFIF
        + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"        # SOS, 1 component
        + entropy + b"\xff\xd9")                             # EOI
with open(sys.argv[1], "w") as f:
    json.dump({"base64Image": base64.b64encode(jpeg).decode(), "mimeType": "image/jpeg"}, f)
PY
echo "image_bytes=$((8000000 + 32))" >>"$EXTRA"
echo "analyze_body_bytes=$(stat -c %s "$RUN/analyze.json")" >>"$EXTRA"
start_weld
pid=$LAST_PID
wait_http "http://127.0.0.1:$WELD_PORT/api/health"
sleep 2
echo "idle_rss_kib=$(status_kib VmRSS "$pid")" >>"$EXTRA"
echo "idle_hwm_kib=$(status_kib VmHWM "$pid")" >>"$EXTRA"
t0=$(ticks "$pid")
s0=$(date +%s.%N)
seq 32 | xargs -P32 -I{} curl -s -o /dev/null --max-time 120 -w '%{http_code} %{time_total}\n' \
    -H 'content-type: application/json' -H 'x-proxy-token: bench-token' -H 'Expect:' \
    --data-binary "@$RUN/analyze.json" "http://127.0.0.1:$WELD_PORT/api/analyze" >"$RUN/analyze.txt" || true
s1=$(date +%s.%N)
t1=$(ticks "$pid")
echo "analyze_hwm_kib=$(status_kib VmHWM "$pid")" >>"$EXTRA"
echo "analyze_rss_after_kib=$(status_kib VmRSS "$pid")" >>"$EXTRA"
echo "analyze_cpu_ticks=$((t1 - t0))" >>"$EXTRA"
echo "analyze_wall_s=$(python3 -c "print(round($s1 - $s0, 2))")" >>"$EXTRA"
sleep 2
echo "analyze_rss_2s_after_kib=$(status_kib VmRSS "$pid")" >>"$EXTRA"
stop "$pid"
stop "$FAKE_PID"

# --- stream relay ------------------------------------------------------------
log "stream relay (about 15 s)"
"$RELAY" "$BIN" 4 25 8 | tee "$RUN/relay.txt" >&2
grep '^RELAY_RESULT' "$RUN/relay.txt" | sed 's/^RELAY_RESULT /relay /' >>"$EXTRA"

# --- start-up ----------------------------------------------------------------
if [ -f "$ROOT/scripts/startup-time.sh" ]; then
    bash "$ROOT/scripts/startup-time.sh" "$BIN" 10 | tee "$RUN/startup.txt" >&2
else
    log "scripts/startup-time.sh missing: measuring exec -> first 200 from /api/health"
    for i in 1 2 3 4 5; do
        s0=$(date +%s%N)
        start_weld
        pid=$LAST_PID
        wait_http "http://127.0.0.1:$WELD_PORT/api/health"
        echo "start-up: median $(( ($(date +%s%N) - s0) / 1000000 )) ms" >>"$RUN/startup.txt"
        stop "$pid"
    done
fi

# --- machine and report ------------------------------------------------------
{
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel=$(uname -sr)"
    echo "nginx=$(nginx -v 2>&1 | sed 's/.*: //')"
    echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
    echo "rustc=$(rustc -V)"
    echo "binary_bytes=$(stat -c %s "$BIN")"
    echo "clk_tck=$CLK"
    echo "duration=$DURATION"
    echo "warmup=$WARMUP"
    echo "connections=$CONNS"
    echo "threads=$THREADS"
} >>"$EXTRA"
mkdir -p "$BENCH/results"
OUT=$BENCH/results/$(date -u +%Y-%m-%d-%H%M).md
python3 "$BENCH/report.py" "$RUN" >"$OUT"
cat "$OUT"
log "written $OUT"
rm -rf "$RUN"
