#!/usr/bin/env bash
# Runs every test of the project: the Rust unit and integration tests, and the
# web app's typecheck, lint and component tests, and the end-to-end tests in
# headless Chromium, the schemathesis fuzzing and the load/soak run. Needs Rust,
# Node.js 20.19+ or 22.12+, Python 3 with venv, and Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: unit, property and integration tests"
cargo test --locked --all-targets

if [ -f frontend/package.json ]; then
  echo "== Frontend: install, API types, typecheck, lint, component tests"
  (cd frontend && npm ci --no-audit --no-fund && npm run check:api && npm run typecheck && npm run lint && npm test)
fi

if [ -d frontend/e2e ]; then
  echo "== End-to-end: the real binary and the fake Gemini in headless Chromium"
  if [ ! -x /usr/bin/chromium ]; then
    echo "The end-to-end tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)." >&2
    exit 1
  fi
  cargo build --locked --bin weld-assistant --example fake_gemini
  (cd frontend && npm run e2e)
fi

echo "== Hostile input: schemathesis against every operation (>= 1000 cases)"
bash scripts/fuzz-api.sh 200

echo "== Load and soak: 1000 connections for 60 s (four rounds)"
bash scripts/soak.sh 1000 60
