# shellcheck shell=bash
# Sourced by test.sh and bench.sh: makes sure a Valkey or Redis server is on
# PATH for the fleet tests (tests/test_fleet.py starts its own on a loopback
# port), installing Debian's redis-server when neither is.
if ! command -v valkey-server >/dev/null 2>&1 && ! command -v redis-server >/dev/null 2>&1; then
  echo "== installing redis-server (the fleet tests' shared store)"
  as_root=()
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  fi
  if command -v apt-get >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install valkey
  fi
  if ! command -v valkey-server >/dev/null 2>&1 && ! command -v redis-server >/dev/null 2>&1; then
    echo "no valkey-server or redis-server, and none could be installed: install one (apt-get install redis-server, brew install valkey)" >&2
    exit 1
  fi
fi
