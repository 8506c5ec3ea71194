#!/usr/bin/env bash
# Fails when a setting of the binary is undocumented in the deploy files.
#
#   bash scripts/check-config-docs.sh
#
# The settings are what `weld-assistant config` prints (every TOML key). Each one
# must have: a row in README.md's configuration table (env name ↔ TOML key), a
# `key = …` line (set or commented) in weld-assistant.example.toml, and a
# `ENV=…` line (set or commented) in .env.example; neither example may name a
# setting that does not exist; docs/deploy.md must link to the reference. Then
# the binary must accept both examples as they are and with every commented
# setting uncommented (so each example value is valid).
#
# Uses target/debug/weld-assistant (built with WELD_SKIP_FRONTEND_BUILD=1 only when
# missing; set WELD_BIN to use another binary).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${WELD_BIN:-target/debug/weld-assistant}
if [ ! -x "$BIN" ]; then
  echo "== building $BIN (missing)"
  WELD_SKIP_FRONTEND_BUILD=1 cargo build --locked --bin weld-assistant
fi
if [ -z "${WELD_BIN:-}" ] && [ -n "$(find src -name '*.rs' -newer "$BIN" -print -quit)" ]; then
  echo "warning: $BIN is older than src/; the settings it lists may be stale (cargo build first)" >&2
fi

TOML=weld-assistant.example.toml
DOTENV=.env.example
DEPLOY=docs/deploy.md
fail=0
problem() { echo "FAIL: $*" >&2; fail=1; }

# Runs the binary with a clean environment (no stray WELD_* from the caller).
run() { env -i PATH=/usr/bin:/bin HOME=/nonexistent "$@"; }

for f in "$TOML" "$DOTENV" "$DEPLOY" README.md; do [ -f "$f" ] || { echo "FAIL: $f is missing" >&2; exit 1; }; done

mapfile -t keys < <(run "$BIN" config | sed -n 's/^\([a-z0-9_]*\) = .*/\1/p')
[ "${#keys[@]}" -gt 0 ] || { echo "FAIL: \`$BIN config\` printed no settings" >&2; exit 1; }

# README's table rows: | `ENV` | `key` | default | meaning |
declare -A env_of
while IFS='|' read -r _ env key _; do
  env=$(tr -d '` ' <<<"$env"); key=$(tr -d '` ' <<<"$key")
  [[ "$env" =~ ^[A-Z][A-Z0-9_]*$ && "$key" =~ ^[a-z][a-z0-9_]*$ ]] && env_of[$key]=$env
done < <(grep -E '^\| `[A-Z][A-Z0-9_]*` \| `[a-z][a-z0-9_]*` \|' README.md)

for key in "${keys[@]}"; do
  env=${env_of[$key]:-}
  if [ -z "$env" ]; then
    problem "setting \`$key\` has no row in README.md's configuration table"
    continue
  fi
  grep -Eq "^#? ?$key = " "$TOML" || problem "setting \`$key\` is missing from $TOML (add \`$key = …\` or \`# $key = …\`)"
  grep -Eq "^#? ?$env=" "$DOTENV" || problem "setting $env is missing from $DOTENV (add \`$env=…\` or \`# $env=…\`)"
done

# Nothing in the examples that is not a setting.
known=" ${keys[*]} "
known_env=" "
for key in "${keys[@]}"; do known_env+="${env_of[$key]:-} "; done
while read -r key; do
  [[ "$known" == *" $key "* ]] || problem "$TOML names \`$key\`, which is not a setting"
done < <(sed -n 's/^#\{0,1\} \{0,1\}\([a-z][a-z0-9_]*\) = .*/\1/p' "$TOML")
while read -r env; do
  [[ "$known_env" == *" $env "* ]] || problem "$DOTENV names $env, which is not a setting"
done < <(sed -n 's/^#\{0,1\} \{0,1\}\([A-Z][A-Z0-9_]*\)=.*/\1/p' "$DOTENV")

# The deploy guide points to the reference and to both examples.
grep -q 'README.md#configuration' "$DEPLOY" || problem "$DEPLOY does not link to the configuration reference (README.md#configuration)"
grep -q "$TOML" "$DEPLOY" || problem "$DEPLOY does not mention $TOML"
grep -q "$DOTENV" "$DEPLOY" || problem "$DEPLOY does not mention $DOTENV"

# The binary accepts the examples: as committed, and with everything uncommented.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! out=$(run "$BIN" --config "$TOML" config 2>&1); then problem "\`weld-assistant --config $TOML config\` refused it: $out"; fi
sed 's/^# \([a-z][a-z0-9_]*\) = /\1 = /' "$TOML" >"$tmp/all.toml"
if ! out=$(run "$BIN" --config "$tmp/all.toml" config 2>&1); then problem "$TOML with every setting uncommented is refused: $out"; fi
# Every secret placeholder must come out redacted, never echoed.
for placeholder in $(sed -n 's/^# [a-z_]* = .*"\([^"]*replace-me[^"]*\)".*/\1/p' "$TOML"); do
  grep -qF "$placeholder" <<<"$out" && problem "\`config\` printed the secret placeholder $placeholder"
done
mapfile -t assignments < <(grep -E '^[A-Z][A-Z0-9_]*=' "$DOTENV" || true)
if ! out=$(run "${assignments[@]}" "$BIN" config 2>&1); then problem "$DOTENV as committed is refused: $out"; fi
mapfile -t assignments < <(sed -n 's/^# \{0,1\}\([A-Z][A-Z0-9_]*=.*\)/\1/p; s/^\([A-Z][A-Z0-9_]*=.*\)/\1/p' "$DOTENV")
if ! out=$(run "${assignments[@]}" "$BIN" config 2>&1); then problem "$DOTENV with every setting uncommented is refused: $out"; fi

if [ "$fail" -ne 0 ]; then
  echo "check-config-docs: FAILED (settings: ${#keys[@]})" >&2
  exit 1
fi
echo "check-config-docs: ok — ${#keys[@]} settings documented in README.md, $TOML and $DOTENV; both examples accepted by $BIN (as committed and fully uncommented); $DEPLOY links the reference"
