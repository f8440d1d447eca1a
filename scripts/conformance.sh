#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance)
# against `spaces-mcp serve --transport http` on a free loopback port:
# - the generic scenarios of tests/conformance/scenarios.txt (suite 0.1.16)
#   and of scenarios-next.txt (suite 0.2.0-alpha.12), against the built-in config;
# - the tasks extension's scenarios of tests/conformance/tasks-scenarios.txt
#   (suite 0.2.0-alpha.12), against tests/conformance/tasks.toml, whose tools
#   are the endpoints of a real Gradio app (tests/apps/tasks.py) started here.
#   Every check must pass but those tests/conformance/tasks-unsatisfiable.txt
#   lists (they need what no Gradio app can do).
# The suite needs Node >= 22; npm brings it as the `node` package, into
# tests/conformance/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tests/conformance
if [ ! -x "$dir/node_modules/node/bin/node" ] || [ ! -f "$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" ] \
   || [ ! -f "$dir/node_modules/conformance-next/dist/index.js" ]; then
  echo "== installing the conformance suite and Node 22 (npm)"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
fi
node="$dir/node_modules/node/bin/node"
suite="$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"
binary="${SPACES_MCP_BIN:-target/debug/spaces-mcp}"
[ -x "$binary" ] || cargo build --locked --quiet

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits (at most $2 tenths of a second) for a URL to answer.
wait_for() {
  for _ in $(seq "$2"); do
    python3 -c "import urllib.request; urllib.request.urlopen('$1', timeout=1)" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT

port=$(free_port)
"$binary" serve --transport http --listen "127.0.0.1:$port" 2>"$work/server.log" &
pids+=($!)
wait_for "http://127.0.0.1:$port/health" 100

passed=0 failed=0
next="$dir/node_modules/conformance-next/dist/index.js"
# Runs each scenario of a list with one suite; every check must pass, and
# with PASSING ", 0 failed, 0 warnings", every SHOULD too.
run_scenarios() { # SUITE LIST LABEL PASSING
  while read -r scenario; do
    case "$scenario" in ''|'#'*) continue ;; esac
    if out=$("$node" "$1" server --url "http://127.0.0.1:$port/mcp" --scenario "$scenario" 2>&1) \
       && grep -q "$4" <<<"$out"; then
      echo "conformance$3 $scenario: $(grep -E '^Passed:' <<<"$out")"
      passed=$((passed + 1))
    else
      echo "conformance$3 $scenario: FAILED"
      echo "$out" | tail -20
      failed=$((failed + 1))
    fi
  done <"$2"
}
# The 0.1.16 scenarios: every MUST (server-sse-polling's SHOULD of resuming
# a stream cut mid-call is not met: no event store).
run_scenarios "$suite" "$dir/scenarios.txt" "" ", 0 failed"
run_scenarios "$next" "$dir/scenarios-next.txt" " 0.2" ", 0 failed, 0 warnings"
echo "conformance: $passed passed, $failed failed"

echo "== MCP conformance suite 0.2: the tasks extension and server-stateless, over a real Gradio app"
. scripts/venv.sh
app_port=$(free_port)
JOBS_LOG="$work/jobs.jsonl" GRADIO_TEMP_DIR="$work/gradio" GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 \
  "$venv/bin/python" tests/apps/serve.py tasks "$app_port" >"$work/app.log" 2>&1 &
pids+=($!)
if ! wait_for "http://127.0.0.1:$app_port/config" 1800; then
  echo "the tasks app did not start:"; tail -20 "$work/app.log"; exit 1
fi
sed "s#APP_URL#http://127.0.0.1:$app_port#" "$dir/tasks.toml" >"$work/tasks.toml"
tasks_port=$(free_port)
"$binary" serve --config "$work/tasks.toml" --transport http --listen "127.0.0.1:$tasks_port" 2>"$work/tasks-server.log" &
pids+=($!)
wait_for "http://127.0.0.1:$tasks_port/health" 100
# A scenario's own exit status says only whether its checks passed; which
# did is read from its checks.json by conformance_checks.py, which also fails
# the run for a listed scenario that wrote none (it crashed, or the suite no
# longer knows it: `conformance list` is passed along to tell which).
"$node" "$next" list >"$work/known-scenarios.txt" 2>&1 || true
while read -r scenario; do
  case "$scenario" in ''|'#'*) continue ;; esac
  "$node" "$next" server --url "http://127.0.0.1:$tasks_port/mcp" --scenario "$scenario" -o "$work/tasks" >"$work/$scenario.out" 2>&1 || true
done <"$dir/tasks-scenarios.txt"
tasks_ok=0
python3 scripts/conformance_checks.py "$work/tasks" "$dir/tasks-unsatisfiable.txt" \
  --scenarios "$dir/tasks-scenarios.txt" --known "$work/known-scenarios.txt" --outputs "$work" || tasks_ok=1
[ "$failed" -eq 0 ] && [ "$tasks_ok" -eq 0 ]
