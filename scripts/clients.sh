# shellcheck shell=bash
# Sourced by test.sh: the client libraries of the compatibility matrix
# (tests/test_clients.py). Those that pin mcp<2 go in their own venv
# ($SPACES_MCP_CLIENTS_VENV, default .venv-clients) from
# tests/clients/requirements.txt; mcp-remote, the MCP Inspector and the
# Node 22 the Inspector needs come from npm into tests/clients/node_modules.
clients_venv="${SPACES_MCP_CLIENTS_VENV:-.venv-clients}"
if [ ! -x "$clients_venv/bin/python" ] || ! cmp -s tests/clients/requirements.txt "$clients_venv/.requirements.txt"; then
  echo "== setting up $clients_venv (tests/clients/requirements.txt)"
  python3 -m venv "$clients_venv"
  "$clients_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/clients/requirements.txt
  cp tests/clients/requirements.txt "$clients_venv/.requirements.txt"
fi
export SPACES_MCP_CLIENTS_VENV="$clients_venv"
clients_dir=tests/clients/node_modules
if [ ! -x "$clients_dir/node/bin/node" ] || [ ! -f "$clients_dir/mcp-remote/dist/proxy.js" ] \
   || [ ! -f "$clients_dir/@modelcontextprotocol/inspector/clients/launcher/build/index.js" ]; then
  echo "== installing mcp-remote, the MCP Inspector and Node 22 (npm)"
  npm install --prefix tests/clients --no-audit --no-fund --loglevel=error >/dev/null
fi
