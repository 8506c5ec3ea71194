#!/usr/bin/env bash
# A throw-away CA and a certificate it signs for 127.0.0.1, for the TLS upstream
# stand-in of held.sh and profile-held.sh (weld-assistant trusts the CA through
# WELD_GEMINI_CA_FILE). Writes DIR/ca.pem, DIR/standin.pem and DIR/standin.key.
#
#   bash bench/standin-cert.sh DIR
set -euo pipefail
dir=${1:?usage: standin-cert.sh DIR}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=weld bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
    -keyout "$dir/standin.key" -out "$dir/standin.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/leaf.ext"
openssl x509 -req -in "$dir/standin.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/leaf.ext" -out "$dir/standin.pem" 2>/dev/null
