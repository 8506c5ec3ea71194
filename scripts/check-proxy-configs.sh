#!/usr/bin/env bash
# Runs the repository's reverse-proxy configs (deploy/nginx/weld-assistant.conf,
# deploy/Caddyfile) for real, on loopback ports with a self-signed/internal
# certificate, in front of the binary and a slow fake Gemini, and checks what the
# deploy guide promises: Server-Sent Events arrive unbuffered, a photo-sized body
# (13 MB) reaches the app, /metrics is hidden, and X-Forwarded-For is handled.
#
#   bash scripts/check-proxy-configs.sh            (needs: nginx, caddy, openssl, curl, python3)
#
# Uses target/debug/weld-assistant (WELD_BIN to override). Only the server name,
# ports, certificate paths and upstream address are rewritten for the test.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${WELD_BIN:-target/debug/weld-assistant}
[ -x "$BIN" ] || { echo "build the binary first: WELD_SKIP_FRONTEND_BUILD=1 cargo build (or set WELD_BIN)" >&2; exit 2; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
fail=0
# png SIDE PATH: a valid PNG of random pixels (a photo stand-in).
png() {
  python3 - "$1" "$2" <<'PY'
import os, struct, sys, zlib
side, path = int(sys.argv[1]), sys.argv[2]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
rows = b"".join(b"\x00" + os.urandom(side * 3) for _ in range(side))
with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))
PY
}
ok() { echo "ok    $*"; }
bad() { echo "FAIL  $*" >&2; fail=1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -ksf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

FAKE=$(port); APP=$(port)
python3 deploy/test/slow_gemini.py "$FAKE" & PIDS+=($!)
env -i PATH=/usr/bin:/bin GEMINI_API_KEY=fake-key WELD_GEMINI_BASE_URL="http://127.0.0.1:$FAKE" \
  WELD_LISTEN="127.0.0.1:$APP" WELD_API_TOKENS=proxy-check-token WELD_TRUSTED_PROXIES=127.0.0.1/32 \
  WELD_RATE_LIMIT_PER_MINUTE=1000 WELD_RATE_LIMIT_BURST=100 \
  "$BIN" serve >"$TMP/app.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$APP/api/health" || { cat "$TMP/app.log" >&2; echo "the app did not start" >&2; exit 1; }

# Reads an SSE answer through the proxy; prints the seconds between the first and last delta.
sse_spread() {
  python3 - "$1" <<'PY'
import json, ssl, sys, time, urllib.request
req = urllib.request.Request(sys.argv[1] + "/api/chat/stream", data=json.dumps({"message": "Почему поры?"}).encode(),
    headers={"content-type": "application/json", "x-proxy-token": "proxy-check-token"})
ctx = ssl._create_unverified_context()
times = []
with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
    for line in r:
        if line.startswith(b"event: delta"):
            times.append(time.monotonic())
print(f"{len(times)} {times[-1] - times[0]:.2f}" if times else "0 0")
PY
}

check_proxy() { # name, base URL
  local name=$1 base=$2 out n spread code ctype
  wait_http "$base/api/health" && ok "$name: GET /api/health through the proxy" || { bad "$name: not answering at $base"; return; }
  read -r n spread < <(sse_spread "$base")
  if [ "$n" -ge 3 ] && awk -v s="$spread" 'BEGIN { exit !(s >= 1.5) }'; then
    ok "$name: SSE unbuffered ($n delta events spread over ${spread}s, as the upstream wrote them)"
  else
    bad "$name: SSE buffered or broken ($n delta events within ${spread}s; expected 3 over ~2s)"
  fi
  head -c 13000000 /dev/zero | tr '\0' 'a' >"$TMP/body"
  out=$(curl -ks -o "$TMP/resp" -w '%{http_code} %{content_type}' -H 'x-proxy-token: proxy-check-token' \
        -H 'content-type: application/json' --data-binary @"$TMP/body" "$base/api/analyze")
  code=${out%% *}; ctype=${out#* }
  if [[ "$ctype" == application/json* ]] && grep -q '"code"' "$TMP/resp"; then
    ok "$name: a 13 MB analyze body reaches the app (its JSON answer: $code $(head -c 80 "$TMP/resp"))"
  else
    bad "$name: a 13 MB body was stopped by the proxy ($code $ctype)"
    [ -f "$TMP/nginx-error.log" ] && tail -3 "$TMP/nginx-error.log" >&2
  fi
  png 1000 "$TMP/photo.png" # ≈ 3 MB of noise
  out=$(curl -ks -w ' %{http_code}' -H 'x-proxy-token: proxy-check-token' -F "image=@$TMP/photo.png;type=image/png" \
        -F note=TIG "$base/api/analyze")
  [[ "$out" == *'"text"'*' 200' ]] && ok "$name: a 3 MB multipart photo upload is answered (200)" || bad "$name: multipart upload: $out"
  code=$(curl -ks -o /dev/null -w '%{http_code}' "$base/metrics")
  [ "$code" = 404 ] && ok "$name: /metrics hidden (404)" || bad "$name: /metrics answered $code"
  : >"$TMP/app.log.mark"
  curl -ks -o /dev/null -H 'x-forwarded-for: 203.0.113.7' "$base/api/health?$name"
}

# ---------------------------------------------------------------- nginx
if command -v nginx >/dev/null; then
  HTTPS=$(port); HTTP=$(port)
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1
  sed -e "s/weld\.example\.org/localhost/g" \
      -e "s#listen 80;#listen 127.0.0.1:$HTTP;#; s#listen \[::\]:80;##" \
      -e "s#listen 443 ssl http2;#listen 127.0.0.1:$HTTPS ssl http2;#; s#listen \[::\]:443 ssl http2;##" \
      -e "s#/etc/letsencrypt/live/localhost/fullchain.pem#$TMP/cert.pem#; s#/etc/letsencrypt/live/localhost/privkey.pem#$TMP/key.pem#" \
      -e "s#proxy_pass http://127.0.0.1:8080;#proxy_pass http://127.0.0.1:$APP;#" \
      deploy/nginx/weld-assistant.conf >"$TMP/site.conf"
  # Workers run as nginx's unprivileged user when started as root: let them write
  # their temp files (uploads over the buffer go to disk).
  mkdir -p "$TMP/nginx-temp"
  [ "$(id -u)" -eq 0 ] && chown nobody "$TMP/nginx-temp"
  chmod 755 "$TMP"
  cat >"$TMP/nginx.conf" <<EOF
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log;
events {}
http {
  access_log off;
  client_body_temp_path $TMP/nginx-temp/body;
  proxy_temp_path $TMP/nginx-temp/proxy;
  include $TMP/site.conf;
}
EOF
  nginx -t -c "$TMP/nginx.conf" >/dev/null 2>&1 && ok "nginx: nginx -t accepts deploy/nginx/weld-assistant.conf ($(nginx -v 2>&1 | cut -d/ -f2))" \
    || { nginx -t -c "$TMP/nginx.conf" >&2 || true; bad "nginx: config refused"; }
  nginx -c "$TMP/nginx.conf" -g 'daemon off;' & PIDS+=($!)
  check_proxy nginx "https://localhost:$HTTPS"
  sleep 0.3
  if grep 'path=/api/health' "$TMP/app.log" | grep -q 'client_ip=203.0.113.7'; then
    ok "nginx: X-Forwarded-For from the trusted proxy is believed (client_ip=203.0.113.7 in the app's log)"
  else
    bad "nginx: the app did not take the client address from X-Forwarded-For"
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$HTTP/chat")
  [ "$code" = 301 ] && ok "nginx: HTTP redirects to HTTPS" || bad "nginx: HTTP answered $code"
  head -c 17000000 /dev/zero >"$TMP/big"
  code=$(curl -ks -o /dev/null -w '%{http_code}' --data-binary @"$TMP/big" "https://localhost:$HTTPS/api/analyze")
  [ "$code" = 413 ] && ok "nginx: a 17 MB body is refused by nginx (client_max_body_size 16m)" || bad "nginx: 17 MB body answered $code"
else
  echo "skip  nginx is not installed (apt-get install nginx-light)"
fi

# ---------------------------------------------------------------- Caddy
if command -v caddy >/dev/null; then
  CPORT=$(port)
  {
    echo "{"
    echo "	admin off"
    echo "	skip_install_trust"
    echo "	http_port $(port)"
    echo "	https_port $CPORT"
    echo "}"
    sed -e '/^{$/,/^}$/d' -e "s#{\$WELD_DOMAIN}#https://localhost:$CPORT#" -e "s#reverse_proxy weld:8080#reverse_proxy 127.0.0.1:$APP#" \
        -e "s#^	log {#	tls internal\n	log {#" -e 's#output stdout#output discard#' deploy/Caddyfile
  } >"$TMP/Caddyfile"
  if HOME=$TMP XDG_DATA_HOME=$TMP XDG_CONFIG_HOME=$TMP caddy validate --config "$TMP/Caddyfile" --adapter caddyfile >/dev/null 2>&1; then
    ok "caddy: caddy validate accepts deploy/Caddyfile ($(caddy version | cut -d' ' -f1))"
  else
    HOME=$TMP caddy validate --config "$TMP/Caddyfile" --adapter caddyfile >&2 || true
    bad "caddy: Caddyfile refused"
  fi
  HOME=$TMP XDG_DATA_HOME=$TMP XDG_CONFIG_HOME=$TMP caddy run --config "$TMP/Caddyfile" --adapter caddyfile >"$TMP/caddy.log" 2>&1 & PIDS+=($!)
  check_proxy caddy "https://localhost:$CPORT"
  sleep 0.3
  line=$(grep 'path=/api/health' "$TMP/app.log" | tail -1)
  if grep -q 'client_ip=203.0.113.7' <<<"$line"; then
    bad "caddy: a client-supplied X-Forwarded-For reached the app unchecked"
  else
    ok "caddy: a client-supplied X-Forwarded-For is replaced by Caddy ($(grep -o 'client_ip=[^ ]*' <<<"$line"))"
  fi
  # deploy/Caddyfile speaks cleartext HTTP/2 (h2c) to the app.
  if grep -q 'http=HTTP/2.0' <<<"$line"; then
    ok "caddy: requests reach the app over h2c (http=HTTP/2.0 in the app's log)"
  else
    bad "caddy: requests reach the app over $(grep -o 'http=[^ ]*' <<<"$line" | cut -d= -f2), not h2c"
  fi
else
  echo "skip  caddy is not installed (apt-get install caddy)"
fi

if [ "$fail" -ne 0 ]; then echo "check-proxy-configs: FAILED" >&2; exit 1; fi
echo "check-proxy-configs: ok"
