#!/usr/bin/env bash
# Prints the benchmark figures: start-up time to the tools/list answer,
# resident memory, and generate_image through spaces-mcp against the same call
# made directly to a local Gradio app (tests/apps/sanasprint.py). A benchmark,
# not a test: it prints, it asserts nothing. Usage: scripts/bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

cargo build --locked --release --quiet --bin spaces-mcp --example bench

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
GRADIO_ANALYTICS_ENABLED=False "$venv/bin/python" tests/apps/serve.py sanasprint "$port" >"$work/app.log" 2>&1 &
app=$!
trap 'kill $app 2>/dev/null; rm -rf "$work"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 240); do
  "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$url/config', timeout=2)" 2>/dev/null && break
  sleep 0.5
done
# The built-in config with its Space pointed at the local app.
sed "s#space = \"ysharma/SanaSprint\"#space = \"$url\"#" spaces.toml >"$work/spaces.toml"
# BENCH_SETTINGS: lines added to its [settings], to compare settings
# (for example BENCH_SETTINGS="detach_after = 0" runs calls in the request).
if [ -n "${BENCH_SETTINGS:-}" ]; then
  python3 -c 'import sys; p = sys.argv[1]; t = open(p).read(); open(p, "w").write(t.replace("[settings]\n", "[settings]\n" + sys.argv[2] + "\n", 1))' "$work/spaces.toml" "$BENCH_SETTINGS"
fi
# 24 more apps from one process, each at its own URL, for the first-list figure.
many_port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
GRADIO_ANALYTICS_ENABLED=False "$venv/bin/python" tests/apps/many.py "$many_port" 24 >"$work/many.log" 2>&1 &
many=$!
trap 'kill $app $many 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 240); do
  "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$many_port/a24/config', timeout=2)" 2>/dev/null && break
  sleep 0.5
done
{
  printf '[settings]\ndiscovery_wait = 30\n'
  for n in $(seq 24); do printf '[spaces.a%s]\nspace = "http://127.0.0.1:%s/a%s"\n' "$n" "$many_port" "$n"; done
} >"$work/many.toml"
# The kitchen app is mounted at /a3: its big_image endpoint for the memory figure.
printf '[tools.big]\nspace = "http://127.0.0.1:%s/a3"\napi = "/big_image"\n' "$many_port" >"$work/big.toml"
BIG_CONFIG="$work/big.toml" MANY_CONFIG="$work/many.toml" ./target/release/examples/bench ./target/release/spaces-mcp "$work/spaces.toml" "$url" "${1:-30}"
