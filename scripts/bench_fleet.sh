#!/usr/bin/env bash
# Prints the fleet benchmark: 200 concurrent calls spread over three replicas
# sharing a local redis-server, against the same calls to one server over
# the embedded store (and one server over the store, to show the store's own
# cost): throughput, p50, p99, and store round trips per call. A benchmark,
# not a test: it prints, it asserts nothing. Everything runs on 127.0.0.1.
# Usage: scripts/bench_fleet.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
. scripts/store.sh
cargo build --locked --release --quiet --bin spaces-mcp
SPACES_MCP_BIN="$PWD/target/release/spaces-mcp" "$venv/bin/python" bench/fleet.py "${1:-200}"
