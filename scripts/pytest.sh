#!/usr/bin/env bash
# One test, or a few, without the rest of the pipeline: builds the binary
# (and the tasks client) once, sets up what the tests need as test.sh does,
# then runs pytest with the arguments given, e.g.
#   ./scripts/pytest.sh tests/test_view.py -k dropped
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo build --locked --quiet
cargo build --locked --quiet --example tasks_client
SPACES_MCP_BIN="$PWD/target/debug/spaces-mcp" exec "$venv/bin/python" -m pytest "$@"
