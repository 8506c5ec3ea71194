#!/usr/bin/env bash
# The analyze-burst scenario of bench/run.sh alone, without nginx or a release
# build: 32 concurrent /api/analyze with an 8 MB JPEG against the fake Gemini;
# prints the answers and the server's peak RSS (VmHWM). Needs
# `cargo build --bin weld-assistant --example fake_gemini` first (BIN/FAKE override).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/target/debug/weld-assistant}
FAKE=${FAKE:-$PWD/target/debug/examples/fake_gemini}
RUN=$(mktemp -d)
$FAKE 127.0.0.1:18091 >$RUN/fake.out 2>&1 & FP=$!
python3 - "$RUN/analyze.json" <<'PY'
import base64, json, os, sys
size = 8 * 1000 * 1000
entropy = os.urandom(size).replace(b"\xff", b"\xfe")
jpeg = (b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + entropy + b"\xff\xd9")
with open(sys.argv[1], "w") as f:
    json.dump({"base64Image": base64.b64encode(jpeg).decode(), "mimeType": "image/jpeg"}, f)
PY
env -i PATH=/usr/bin:/bin WELD_LISTEN=127.0.0.1:18094 GEMINI_API_KEY=bench-key \
  WELD_GEMINI_BASE_URL=http://127.0.0.1:18091 WELD_API_TOKENS=bench-token \
  WELD_RATE_LIMIT_PER_MINUTE=100000 WELD_RATE_LIMIT_BURST=100000 \
  WELD_RATE_LIMIT_PER_IP_PER_MINUTE=10000000 WELD_RATE_LIMIT_PER_IP_BURST=10000000 \
  WELD_STARTUP_PROBE=off RUST_LOG=warn $BIN serve >$RUN/weld.out 2>&1 & WP=$!
for i in $(seq 100); do curl -sf http://127.0.0.1:18094/api/health >/dev/null && break; sleep 0.2; done
sleep 1
echo "idle $(grep VmRSS /proc/$WP/status)"
seq 32 | xargs -P32 -I{} curl -s -o /dev/null --max-time 120 -w '%{http_code}\n' \
    -H 'content-type: application/json' -H 'x-proxy-token: bench-token' -H 'Expect:' \
    --data-binary "@$RUN/analyze.json" "http://127.0.0.1:18094/api/analyze" | sort | uniq -c
grep -E "VmHWM|VmRSS" /proc/$WP/status
kill $WP $FP; wait 2>/dev/null || true
rm -rf $RUN
