#!/usr/bin/env bash
# Runs every test Plumbline has, on SQLite and PostgreSQL. Installs what a fresh machine lacks
# and starts PostgreSQL when it is not running. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

if ! command -v cargo >/dev/null; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

say "PostgreSQL"
export PLUMBLINE_TEST_POSTGRES="${PLUMBLINE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break
    sleep 1
  done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "tests (SQLite and PostgreSQL)"
# Snapshots must match what is committed; CI never writes new ones.
export INSTA_UPDATE=no
cargo test --workspace --locked

# --- End-to-end: the web pages in headless Debian Chromium (tests/e2e) ----------------------------
# playwright-core drives the system's Chromium; nothing downloads a browser.
say "end-to-end tests in headless Chromium"
if [ ! -x /usr/bin/chromium ]; then
  sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  sudo_if_needed apt-get install -y chromium || { sudo_if_needed apt-get update && sudo_if_needed apt-get install -y chromium; }
fi
cargo build --locked -p plumbline
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error && PLUMBLINE_BIN="$PWD/../../target/debug/plumbline" npm test)
# --- end of the end-to-end step -------------------------------------------------------------------

# --- OpenAPI fuzzing: schemathesis against the running server, bounded (scripts/schemathesis.sh) --
# Zero 5xx and zero responses that violate the document. A longer run: scripts/schemathesis.sh 200
say "OpenAPI fuzzing (schemathesis, 10 examples per operation)"
bash scripts/schemathesis.sh 10

say "all tests passed"
