#!/usr/bin/env bash
# Hostile input: schemathesis generates requests for every operation of the
# running server's /openapi.json (with a valid session), against the fake Gemini.
# Passes when no response is a 5xx of ours and every response matches the spec;
# then greps every byte received and every log line for the canary secrets.
# Usage: scripts/fuzz-api.sh [examples-per-operation]   (default 150; 10 operations)
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-150}"
work="$(mktemp -d)"
venv="${WELD_TOOLS_DIR:-.ci-tools}/schemathesis"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
cargo build -q --locked --bin weld-assistant --example fake_gemini

key="AIzaFUZZCANARY-key-000111222333"
secret="FUZZCANARY-session-secret-0123456789abcdef"
code_canary="FUZZCANARY-token-4242"

target/debug/examples/fake_gemini 127.0.0.1:0 >"$work/fake.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/fake.out" && break; sleep 0.1; done
fake_url="$(sed -n 's/.*listening on //p' "$work/fake.out")"

WELD_LISTEN=127.0.0.1:0 GEMINI_API_KEY="$key" WELD_GEMINI_BASE_URL="$fake_url" \
  WELD_SESSION_SECRET="$secret" WELD_API_TOKENS="$code_canary" WELD_COOKIE_SECURE=false \
  WELD_RATE_LIMIT_PER_MINUTE=100000 WELD_RATE_LIMIT_BURST=100000 \
  WELD_RATE_LIMIT_PER_IP_PER_MINUTE=100000 WELD_RATE_LIMIT_PER_IP_BURST=100000 WELD_GEMINI_TIMEOUT_SECONDS=5 \
  WELD_METRICS=true RUST_LOG=info target/debug/weld-assistant 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "weld-assistant listening" "$work/server.log" && break; sleep 0.1; done
address="$(sed -n 's/.*weld-assistant listening address=\([^ ]*\).*/\1/p' "$work/server.log" | head -1)"
base="http://$address"

cookie="$(curl -s -D - -o /dev/null -X POST -H 'content-type: application/json' -d '{}' "$base/api/session" \
  | sed -n 's/^set-cookie: \(weld_session=[^;]*\).*/\1/Ip' | tr -d '\r')"
[ -n "$cookie" ] || { echo "fuzz-api: no session cookie" >&2; exit 1; }

status=0
"$venv/bin/schemathesis" run "$base/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$examples" --seed 20261126 --workers 2 --request-timeout 20 \
  --header "Cookie: $cookie" --header "Origin: $base" \
  --report vcr --report-vcr-path "$work/cassette.yaml" \
  --suppress-health-check all 2>&1 | tee "$work/schemathesis.out" || status=$?

cases="$(grep -c '^- id:' "$work/cassette.yaml" || true)"
echo "fuzz-api: $cases requests recorded"
if [ "${cases:-0}" -lt 1000 ]; then
  echo "fuzz-api: fewer than 1000 generated requests ($cases)" >&2
  status=1
fi
for canary in "$key" "$secret" "$code_canary"; do
  if grep -qF "$canary" "$work/cassette.yaml" "$work/server.log" "$work/schemathesis.out"; then
    echo "fuzz-api: canary $canary leaked into a response or a log line" >&2
    status=1
  fi
done
if grep -q '"level":"ERROR"\|ERROR weld_assistant' "$work/server.log"; then
  echo "fuzz-api: the server logged an internal error:" >&2
  grep 'ERROR' "$work/server.log" | head -5 >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "fuzz-api: passed" || echo "fuzz-api: FAILED (logs in $work)" >&2
exit "$status"
