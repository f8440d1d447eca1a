#!/bin/sh
# Installs the spaces-mcp binary for this machine from a GitHub release, after
# checking its SHA-256, into ~/.local/bin (or $SPACES_MCP_INSTALL_DIR).
#
#   curl -LsSf https://github.com/spaces-mcp/spaces-mcp/releases/latest/download/spaces-mcp-installer.sh | sh
#
# SPACES_MCP_VERSION picks a release (v0.1.0; default: the latest);
# SPACES_MCP_DOWNLOAD_URL replaces the whole download folder (a mirror).
set -eu

repo="spaces-mcp/spaces-mcp"
version="${SPACES_MCP_VERSION:-latest}"
install_dir="${SPACES_MCP_INSTALL_DIR:-$HOME/.local/bin}"

say() { printf 'spaces-mcp installer: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

case "$(uname -s)" in
  Linux) os=unknown-linux-musl ;;
  Darwin) os=apple-darwin ;;
  *) fail "no release binary for $(uname -s); on Windows use the PowerShell installer, elsewhere: cargo install --locked spaces-mcp" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  arm64 | aarch64) arch=aarch64 ;;
  *) fail "no release binary for the $(uname -m) processor; try: cargo install --locked spaces-mcp" ;;
esac
# One universal binary serves both Mac processors.
if [ "$os" = apple-darwin ]; then arch=universal; fi
asset="spaces-mcp-$arch-$os.tar.gz"

if [ -n "${SPACES_MCP_DOWNLOAD_URL:-}" ]; then
  base="$SPACES_MCP_DOWNLOAD_URL"
elif [ "$version" = latest ]; then
  base="https://github.com/$repo/releases/latest/download"
else
  base="https://github.com/$repo/releases/download/$version"
fi

fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl --proto '=https,http' -fsSL "$1" -o "$2"
  elif command -v wget >/dev/null 2>&1; then
    wget -q "$1" -O "$2"
  else
    fail "neither curl nor wget is installed"
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT INT TERM
say "downloading $asset"
fetch "$base/$asset" "$work/$asset" || fail "cannot download $base/$asset"
fetch "$base/$asset.sha256" "$work/$asset.sha256" || fail "cannot download $base/$asset.sha256"

expected="$(cut -d ' ' -f 1 <"$work/$asset.sha256")"
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$work/$asset" | cut -d ' ' -f 1)"
else
  actual="$(shasum -a 256 "$work/$asset" | cut -d ' ' -f 1)"
fi
[ "$expected" = "$actual" ] || fail "checksum mismatch for $asset (expected $expected, got $actual); nothing was installed"

tar -xzf "$work/$asset" -C "$work"
mkdir -p "$install_dir"
cp "$work/spaces-mcp" "$install_dir/spaces-mcp.new"
chmod 755 "$install_dir/spaces-mcp.new"
mv "$install_dir/spaces-mcp.new" "$install_dir/spaces-mcp"
say "installed $("$install_dir/spaces-mcp" --version) in $install_dir"
case ":$PATH:" in
  *":$install_dir:"*) ;;
  *) say "add $install_dir to your PATH to run it by name" ;;
esac
say "next: $install_dir/spaces-mcp config claude --install   (or: config cursor | vscode | claude-code | windsurf)"
