"""Writes the server.json to publish to the MCP Registry for a release: the
repository's server.json with this crate's version everywhere and the
bundle's SHA-256 (`fileSha256`, which the registry requires of an MCPB).

Usage: python3 scripts/server_json.py BUNDLE.mcpb OUTPUT.json"""

import hashlib
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> None:
    bundle, output = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    version = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    server = json.loads((ROOT / "server.json").read_text())
    server["version"] = version
    for package in server["packages"]:
        package["version"] = version
        if package["registryType"] == "mcpb":
            package["identifier"] = re.sub(r"/download/v[^/]+/", f"/download/v{version}/", package["identifier"])
            package["fileSha256"] = hashlib.sha256(bundle.read_bytes()).hexdigest()
        if package["registryType"] == "oci":
            package["identifier"] = re.sub(r":[^:/]+$", f":{version}", package["identifier"])
    output.write_text(json.dumps(server, indent=2) + "\n")


if __name__ == "__main__":
    main()
