#!/usr/bin/env bash
# Runs every test of the project: the Rust unit and integration tests, and the
# web app's typecheck, lint and component tests. Needs Rust and Node 20+.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: unit and integration tests"
cargo test --locked --all-targets

if [ -f frontend/package.json ]; then
  echo "== Frontend: install, API types, typecheck, lint, component tests"
  (cd frontend && npm ci --no-audit --no-fund && npm run check:api && npm run typecheck && npm run lint && npm test)
fi
