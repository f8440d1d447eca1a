# shellcheck shell=bash
# Sourced by test.sh and bench.sh: makes sure the Python venv ($SPACES_MCP_VENV,
# default .venv) exists with the pinned packages of tests/requirements.txt,
# and sets $venv to it.
venv="${SPACES_MCP_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/requirements.txt "$venv/.requirements.txt"; then
  echo "== setting up $venv (tests/requirements.txt)"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt "$venv/.requirements.txt"
fi
