# Shared by the bench scripts (sourced, not run): the processes a script starts
# and waits for, stopped by PID on exit. The sourcing script defines `log`.

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Stops one process the script started.
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# The process and its direct children (nginx master + workers).
tree() { echo "$1"; pgrep -P "$1" || true; }

# Waits (up to 10 s) for a 200 from the URL.
wait_http() { # url [extra curl args]
    local url=$1 i
    shift
    for i in $(seq 1 1000); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null)" = 200 ] && return 0
        sleep 0.01
    done
    log "no 200 from $url"
    return 1
}
