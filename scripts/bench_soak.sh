#!/usr/bin/env bash
# The soak benchmark (bench/soak.py): a release server under many clients
# for many minutes, with faults, against real local Gradio apps; a table a
# minute and a verdict at the end. It prints figures and asserts nothing.
#   ./scripts/bench_soak.sh                      # 200 clients, 10 minutes
#   ./scripts/bench_soak.sh --clients 50 --minutes 3 --fleet
# SPACES_MCP_BIN picks another binary (to compare with an older build).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
if [[ " $* " == *" --fleet "* ]]; then
    . scripts/store.sh
fi
cargo build --locked --release --quiet --bin spaces-mcp
export SPACES_MCP_BIN="${SPACES_MCP_BIN:-$PWD/target/release/spaces-mcp}"
exec "$venv/bin/python" bench/soak.py "$@"
