#!/usr/bin/env bash
# Runs every shell example of README.md and docs/*.md as written and fails when
# one exits non-zero, printing the block and its output.
#
# - Blocks: ```sh, ```bash and ```console fences (of a console block, the lines
#   after a `$ ` prompt). A block right after a line `<!-- not-run: reason -->` is
#   listed with its reason and skipped; keep those few and say why.
# - A file's blocks run in order, as a reader would type them in one terminal,
#   each with `bash -euo pipefail` from the repository's root (where the README
#   says to run them); files the blocks create there are removed afterwards.
# - README.md's block after `<!-- demo-server -->` starts the fake Gemini and the
#   server (a real build of this repository). It runs first for every docs/*.md
#   file too, whose examples use that server.
# - `curl` gets `--fail-with-body` (unless the example fails on its own with -f),
#   so an example that gets an HTTP error fails the check.
# - Everything runs in a private network namespace (unshare), so the documented
#   ports 8080 and 9090 are free and nothing reaches the network; everything a
#   block started in the background is stopped when its file is done.
#
# Usage: bash scripts/check-doc-examples.sh [FILE.md ...]   (default: README.md docs/*.md)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ -z "${WELD_DOC_CHECK_INSIDE:-}" ]; then
  export WELD_DOC_CHECK_INSIDE=1
  # Build outside the namespace (cargo may need the network for a cold registry),
  # so the examples' `cargo run` starts at once.
  echo "== building the server and the fake Gemini"
  cargo build --release --locked --bin weld-assistant --example fake_gemini
  if [ "$(id -u)" = 0 ]; then ns=(unshare --net); else ns=(unshare --net --map-root-user); fi
  if "${ns[@]}" true 2>/dev/null; then
    exec "${ns[@]}" bash "$0" "$@"
  fi
  echo "note: no private network namespace (unshare failed); using the host's loopback" >&2
  for port in 8080 9090; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port is in use on 127.0.0.1; the examples need it free" >&2
      exit 1
    fi
  done
else
  ip link set lo up 2>/dev/null || true
fi

work=$(mktemp -d)
pgids=()
stop_started() {
  local pgid
  for pgid in "${pgids[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pgid in "${pgids[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pgid in "${pgids[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
  pgids=()
}
trap 'stop_started; rm -rf "$work"' EXIT

# curl that fails on an HTTP error status, as the examples promise success.
mkdir -p "$work/bin"
real_curl=$(command -v curl)
cat >"$work/bin/curl" <<EOF
#!/usr/bin/env bash
for arg in "\$@"; do
  case "\$arg" in
    --fail|--fail-with-body|--fail-early) exec "$real_curl" "\$@" ;;
    --*) ;;
    -*f*) exec "$real_curl" "\$@" ;;
  esac
done
exec "$real_curl" --fail-with-body "\$@"
EOF
chmod +x "$work/bin/curl"

# Writes the blocks of a Markdown file as <n>.sh, with <n>.meta = "line<TAB>lang<TAB>not-run reason".
extract() {
  local file=$1 out=$2
  mkdir -p "$out"
  awk -v out="$out" '
    function flush_meta() { printf "%d\t%s\t%s\n", start, lang, skip > (out "/" n ".meta"); close(out "/" n ".meta") }
    {
      line = $0
      if (inother) {
        if (line ~ /^[ \t]*```[ \t]*$/) { inother = 0; prev = line }
        next
      }
      if (!inblock) {
        if (line ~ /^[ \t]*```(sh|bash|console)[ \t]*$/) {
          inblock = 1; n++; start = NR
          indent = line; sub(/```.*/, "", indent)
          lang = line; sub(/^[ \t]*```/, "", lang); gsub(/[ \t]/, "", lang)
          skip = (prev ~ /^[ \t]*<!-- not-run: .* -->[ \t]*$/) ? prev : ""
          sub(/^[ \t]*<!-- not-run: /, "", skip); sub(/ -->[ \t]*$/, "", skip)
          server = (prev ~ /^[ \t]*<!-- demo-server -->[ \t]*$/)
          if (server) print n > (out "/server"); close(out "/server")
          printf "" > (out "/" n ".sh")
          continuing = 0
        } else if (line ~ /^[ \t]*```/) {
          inother = 1
        }
        if (line !~ /^[ \t]*$/) prev = line
        next
      }
      if (line ~ /^[ \t]*```[ \t]*$/) { inblock = 0; flush_meta(); prev = line; next }
      if (indent != "" && index(line, indent) == 1) line = substr(line, length(indent) + 1)
      if (lang == "console") {
        if (line ~ /^\$ /) { line = substr(line, 3) }
        else if (!continuing) { next }
        continuing = (line ~ /\\$/)
      }
      print line > (out "/" n ".sh")
    }
    END { if (inblock) { print "unclosed code fence at line " start > "/dev/stderr"; exit 1 } }
  ' "$file"
}

untracked() { git -C "$root" ls-files --others --exclude-standard 2>/dev/null | sort; }

failed=0
ran=0
skipped=0
# Runs block <n> of directory <dir> (from file <file>); returns its exit status.
run_block() {
  local dir=$1 n=$2 file=$3 line lang reason log status
  IFS=$'\t' read -r line lang reason <"$dir/$n.meta"
  log="$work/$(basename "$dir")-$n.log"
  (
    cd "$root"
    PATH="$work/bin:$PATH" exec setsid bash -c 'echo $$ >"$1"; shift; exec timeout 900 bash -euo pipefail "$@"' \
      _ "$dir/$n.pgid" "$dir/$n.sh"
  ) >"$log" 2>&1 </dev/null && status=0 || status=$?
  [ -s "$dir/$n.pgid" ] && pgids+=("$(cat "$dir/$n.pgid")")
  if [ "$status" = 0 ]; then
    echo "ok    $file:$line"
    ran=$((ran + 1))
    return 0
  fi
  echo "FAIL  $file:$line (exit $status)"
  echo "----- the block:"
  sed 's/^/    /' "$dir/$n.sh"
  echo "----- its output (last 60 lines):"
  tail -n 60 "$log" | sed 's/^/    /'
  echo
  echo "-----"
  return 1
}

files=("$@")
if [ "${#files[@]}" = 0 ]; then files=(README.md docs/*.md); fi
extract README.md "$work/README.md.blocks"
readme_server=$(cat "$work/README.md.blocks/server" 2>/dev/null || true)
if [ -z "$readme_server" ]; then
  echo "README.md has no block after <!-- demo-server -->" >&2
  exit 1
fi

for file in "${files[@]}"; do
  dir="$work/$(echo "$file" | tr / _).run"
  extract "$file" "$dir"
  count=$(find "$dir" -name '*.meta' | wc -l)
  runnable=0
  for n in $(seq 1 "$count"); do
    IFS=$'\t' read -r line lang reason <"$dir/$n.meta"
    if [ -n "$reason" ]; then
      echo "skip  $file:$line — $reason"
      skipped=$((skipped + 1))
    else
      runnable=$((runnable + 1))
    fi
  done
  [ "$runnable" = 0 ] && continue
  before=$(untracked)
  ok=1
  if [ "$file" != README.md ]; then
    echo "      (the server of README.md's demo-server block, for $file)"
    run_block "$work/README.md.blocks" "$readme_server" README.md || ok=0
  fi
  for n in $(seq 1 "$count"); do
    [ "$ok" = 1 ] || break
    IFS=$'\t' read -r line lang reason <"$dir/$n.meta"
    [ -n "$reason" ] && continue
    run_block "$dir" "$n" "$file" || ok=0
  done
  [ "$ok" = 1 ] || failed=1
  stop_started
  # Remove what the examples wrote into the repository (cookie jars and the like).
  comm -13 <(echo "$before") <(untracked) | while IFS= read -r path; do
    [ -n "$path" ] && rm -f -- "$root/$path"
  done
done

echo "== doc examples: $ran ran, $skipped not run (marked), $([ "$failed" = 0 ] && echo "all passed" || echo "FAILED")"
exit "$failed"
