#!/usr/bin/env bash
# Prints the peak resident memory of a release server under the size check
# and under fifty 20 MB images at once (bench/memory.py), against the real
# kitchen app, and over three bursts of fifty on one server (--bursts: only
# those). A benchmark, not a test: it prints, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
cargo build --locked --release --quiet --bin spaces-mcp
SPACES_MCP_BIN="$PWD/target/release/spaces-mcp" "$venv/bin/python" bench/memory.py "$@"
