#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance)
# against `spaces-mcp serve --transport http` on a free loopback port, one
# scenario of tests/conformance/scenarios.txt at a time. The suite needs
# Node >= 22; npm brings it as the `node` package, into tests/conformance/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tests/conformance
if [ ! -x "$dir/node_modules/node/bin/node" ] || [ ! -f "$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" ]; then
  echo "== installing the conformance suite and Node 22 (npm)"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
fi
node="$dir/node_modules/node/bin/node"
suite="$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"
binary="${SPACES_MCP_BIN:-target/debug/spaces-mcp}"
[ -x "$binary" ] || cargo build --locked --quiet

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$binary" serve --transport http --listen "127.0.0.1:$port" 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null && break
  sleep 0.1
done

passed=0 failed=0
while read -r scenario; do
  case "$scenario" in ''|'#'*) continue ;; esac
  if out=$("$node" "$suite" server --url "http://127.0.0.1:$port/mcp" --scenario "$scenario" 2>&1) \
     && grep -q ", 0 failed" <<<"$out"; then
    echo "conformance $scenario: $(grep -E '^Passed:' <<<"$out")"
    passed=$((passed + 1))
  else
    echo "conformance $scenario: FAILED"
    echo "$out" | tail -20
    failed=$((failed + 1))
  fi
done <"$dir/scenarios.txt"
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
