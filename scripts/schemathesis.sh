#!/usr/bin/env bash
# OpenAPI fuzzing: schemathesis (from PyPI, in a throwaway venv) against a running server with
# the demo workspace, every operation, as an admin with an API token. Fails on any 5xx response
# and on any response that violates the OpenAPI document.
#
#   bash scripts/schemathesis.sh [EXAMPLES]      (default 25 per operation; the test command
#                                                 uses a small bound, a long run a large one)
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES="${1:-25}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --locked -q -p plumbline
bin="$PWD/target/debug/plumbline"
venv="${PLUMBLINE_SCHEMATHESIS_VENV:-$work/venv}"
if [[ ! -x "$venv/bin/st" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn "$bin" serve --demo --host 127.0.0.1 --port "$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null

# An admin API token, made through the API like a script would.
login=$(curl -fs -c "$work/cookies" -H 'Content-Type: application/json' \
  -d '{"email":"admin@northwind.example","password":"plumbline-demo"}' "http://127.0.0.1:$port/api/v1/login")
csrf=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["csrf_token"])' "$login")
token=$(curl -fs -b "$work/cookies" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -d '{"name":"schemathesis"}' "http://127.0.0.1:$port/api/v1/tokens" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

# Logging out and revoking tokens would end the run's own credentials; login is rate limited.
cd "$work"  # schemathesis keeps its example database in the working directory
"$venv/bin/st" run "http://127.0.0.1:$port/api/openapi.json" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$EXAMPLES" --seed 2026 --workers 1 \
  --exclude-path /api/v1/logout --exclude-path /api/v1/login --exclude-path-regex '^/api/v1/tokens/' \
  --request-timeout 30 --no-color || { echo "--- server log"; tail -50 "$work/server.log"; exit 1; }
