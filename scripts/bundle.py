"""Builds the MCP Bundle (.mcpb) for Claude Desktop from release binaries.

Usage: python3 scripts/bundle.py OUTPUT.mcpb --linux BIN [--darwin BIN] [--win32 BIN]

The manifest is packaging/mcpb/manifest.json with this crate's version, and
with only the platforms given binaries for. The official `mcpb` CLI (npm,
tests/packaging) validates it and packs the bundle; Node 22 comes from
tests/conformance. Prints the bundle's path, size and SHA-256."""

import argparse
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
NODE = ROOT / "tests" / "conformance" / "node_modules" / "node" / "bin" / "node"
MCPB = ROOT / "tests" / "packaging" / "node_modules" / "@anthropic-ai" / "mcpb" / "dist" / "cli" / "cli.js"
EXE = {"linux": "spaces-mcp", "darwin": "spaces-mcp", "win32": "spaces-mcp.exe"}


def crate_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    match = re.search(r'^version = "([^"]+)"', text, re.M)
    if not match:
        sys.exit("no version in Cargo.toml")
    return match.group(1)


def mcpb(*args: str) -> None:
    subprocess.run([str(NODE), str(MCPB), *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    for platform in EXE:
        parser.add_argument(f"--{platform}", type=pathlib.Path)
    args = parser.parse_args()
    binaries = {p: getattr(args, p) for p in EXE if getattr(args, p)}
    if not binaries:
        sys.exit("give at least one binary (--linux, --darwin, --win32)")

    manifest = json.loads((ROOT / "packaging" / "mcpb" / "manifest.json").read_text())
    manifest["version"] = crate_version()
    config = manifest["server"]["mcp_config"]
    config["platform_overrides"] = {p: o for p, o in config["platform_overrides"].items() if p in binaries}
    manifest["compatibility"]["platforms"] = [p for p in manifest["compatibility"]["platforms"] if p in binaries]
    # The entry point (what a client without overrides runs) is the first platform given.
    first = next(iter(binaries))
    manifest["server"]["entry_point"] = f"server/{first}/{EXE[first]}"
    config["command"] = "${__dirname}/" + manifest["server"]["entry_point"]

    with tempfile.TemporaryDirectory() as work:
        bundle = pathlib.Path(work) / "spaces-mcp"
        for platform, binary in binaries.items():
            target = bundle / "server" / platform / EXE[platform]
            target.parent.mkdir(parents=True)
            shutil.copy2(binary, target)
            os.chmod(target, 0o755)
        shutil.copy2(ROOT / "LICENSE", bundle / "LICENSE")
        (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        mcpb("validate", str(bundle / "manifest.json"))
        output = pathlib.Path(args.output).resolve()
        output.parent.mkdir(parents=True, exist_ok=True)
        mcpb("pack", str(bundle), str(output))
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    print(f"bundle: {output} ({output.stat().st_size / 1e6:.1f} MB), sha256 {digest}")


if __name__ == "__main__":
    main()
