# shellcheck shell=bash
# Sourced by test.sh and pytest.sh: everything the tests need, set up when
# missing (each script says what it installs): the Python venvs, the client
# libraries, a Valkey/Redis server, chromium and the view's npm packages.
. scripts/venv.sh
. scripts/clients.sh
. scripts/store.sh
. scripts/view.sh
