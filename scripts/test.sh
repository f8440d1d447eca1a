#!/usr/bin/env bash
# Runs every test, setting up what they need first: a Python venv (.venv, or
# $SPACES_MCP_VENV) with the pinned packages of tests/requirements.txt (real
# Gradio for the test apps, the official MCP SDK as the client), the client
# libraries of the compatibility matrix (scripts/clients.sh: .venv-clients and
# npm's mcp-remote and Inspector), the debug
# build, the Rust unit tests, the MCP conformance suite (npm brings it and
# Node 22), the packaging checks (scripts/packaging.sh), a Valkey/Redis server
# for the fleet tests (scripts/store.sh: Debian's redis-server when none is
# installed), Debian's chromium and the view's npm packages (scripts/view.sh),
# then the integration tests. Nothing here reaches
# beyond the package registries and 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/setup.sh

echo "== cargo build"
cargo build --locked --quiet
echo "== unit tests (cargo test)"
cargo test --locked --quiet
echo "== MCP conformance suite (Streamable HTTP)"
SPACES_MCP_BIN="$PWD/target/debug/spaces-mcp" ./scripts/conformance.sh
echo "== packaging: crate, installers, bundle, workflow, Dockerfile, server.json"
./scripts/packaging.sh
echo "== integration tests (pytest, ${SPACES_MCP_TEST_WORKERS:-2} workers)"
# Two workers, each with its own set of apps: the tests mostly wait on apps
# and timeouts. A file's tests stay on one worker (they share fixtures).
SPACES_MCP_BIN="$PWD/target/debug/spaces-mcp" "$venv/bin/python" -m pytest \
  -n "${SPACES_MCP_TEST_WORKERS:-2}" --dist loadfile "$@"
