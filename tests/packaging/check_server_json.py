"""Validates server.json files against the MCP Registry's schema (a copy in
tests/packaging/server.schema.json), and checks that the released one names
this crate's version and the bundle's SHA-256.

Usage: python check_server_json.py REPO_SERVER_JSON RELEASE_SERVER_JSON BUNDLE"""

import hashlib
import json
import pathlib
import re
import sys

import jsonschema

here = pathlib.Path(__file__).resolve().parent
schema = json.loads((here / "server.schema.json").read_text())
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
version = re.search(r'^version = "([^"]+)"', (here.parent.parent / "Cargo.toml").read_text(), re.M).group(1)

repo, release, bundle = (pathlib.Path(a) for a in sys.argv[1:4])
for path in (repo, release):
    document = json.loads(path.read_text())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    for error in errors:
        print(f"{path}: {'/'.join(map(str, error.path))}: {error.message}")
    if errors:
        sys.exit(1)
    assert document["version"] == version, (path, document["version"], version)
    secrets = [v["name"] for p in document["packages"] for v in p.get("environmentVariables", []) if v.get("isSecret")]
    assert "HF_TOKEN" in secrets, secrets
released = json.loads(release.read_text())
mcpb = next(p for p in released["packages"] if p["registryType"] == "mcpb")
assert mcpb["fileSha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
assert f"/v{version}/" in mcpb["identifier"]
kinds = sorted(p["registryType"] for p in released["packages"])
print(f"server.json: valid against the registry schema ({', '.join(kinds)}); the bundle's SHA-256 matches")
