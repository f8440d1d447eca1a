# shellcheck shell=bash
# Sourced by test.sh: what the MCP App view's browser tests need. Debian's
# chromium (no browser is downloaded: playwright-core drives this one) and,
# in tests/view/node_modules, the pinned npm packages of tests/view/package.json
# (the official ext-apps SDK for the host's AppBridge, the official TypeScript
# client, esbuild, playwright-core).
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (Debian)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
if [ ! -f tests/view/node_modules/playwright-core/package.json ] || [ ! -f tests/view/node_modules/@modelcontextprotocol/ext-apps/package.json ]; then
  echo "== installing the view's test packages (npm)"
  npm ci --prefix tests/view --no-audit --no-fund --loglevel=error >/dev/null
fi
