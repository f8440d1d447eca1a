# shellcheck shell=bash
# Sourced by setup.sh: what the tests of what a person sees need: tmux (the
# command line's live progress line is read from a real terminal) and, for
# the MCP App view's browser tests, Debian's
# chromium (no browser is downloaded: playwright-core drives this one) and,
# in tests/view/node_modules, the pinned npm packages of tests/view/package.json
# (the official ext-apps SDK for the host's AppBridge, the official TypeScript
# client, esbuild, playwright-core).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]} (Debian)"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -f tests/view/node_modules/playwright-core/package.json ] || [ ! -f tests/view/node_modules/@modelcontextprotocol/ext-apps/package.json ]; then
  echo "== installing the view's test packages (npm)"
  npm ci --prefix tests/view --no-audit --no-fund --loglevel=error >/dev/null
fi
