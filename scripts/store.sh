# shellcheck shell=bash
# Sourced by test.sh and bench_fleet.sh: makes sure the servers the tests
# start on loopback ports are installed: a Valkey or Redis server for the
# fleet tests (tests/test_fleet.py), openssl for the CA they make, and
# HAProxy for the replicated-app tests (tests/test_deployed.py), installing
# Debian's redis-server, openssl and haproxy when they are missing.
need=()
if ! command -v valkey-server >/dev/null 2>&1 && ! command -v redis-server >/dev/null 2>&1; then
  need+=(redis-server)
fi
if ! command -v openssl >/dev/null 2>&1; then
  need+=(openssl)
fi
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  need+=(haproxy)
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "== installing ${need[*]} (for the fleet and replicated-app tests)"
  as_root=()
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  fi
  if command -v apt-get >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install valkey openssl haproxy
  fi
  if ! command -v valkey-server >/dev/null 2>&1 && ! command -v redis-server >/dev/null 2>&1; then
    echo "no valkey-server or redis-server, and none could be installed: install one (apt-get install redis-server, brew install valkey)" >&2
    exit 1
  fi
fi
