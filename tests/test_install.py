"""Installing and setting up: the shell installer end to end (against a local
stand-in for the release download folder), `config <client>` for each client
and `config claude --install` on a real config file, completions and the
manual page, `health`, and what a container or a bundle passes in (token
files, the environment in place of flags, the output folder)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import ROOT, binary, free_port, local_config, write_config
from mcp_helpers import streamable, texts

pytestmark = pytest.mark.anyio


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([binary(), *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ, **(env or {})))


@contextlib.contextmanager
def serving(folder: Path):
    """A loopback HTTP server for a folder: the release downloads, here."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def release_folder(folder: Path, corrupt: bool = False) -> None:
    """The Linux x86_64 asset and its checksum, as the release workflow names them."""
    folder.mkdir(parents=True, exist_ok=True)
    asset = folder / "spaces-mcp-x86_64-unknown-linux-musl.tar.gz"
    with tarfile.open(asset, "w:gz") as archive:
        archive.add(binary(), arcname="spaces-mcp")
        archive.add(ROOT / "LICENSE", arcname="LICENSE")
    digest = hashlib.sha256(asset.read_bytes()).hexdigest()
    if corrupt:
        digest = "0" * 64
    (folder / f"{asset.name}.sha256").write_text(f"{digest}  {asset.name}\n")


def test_the_shell_installer_installs_a_checked_binary(tmp_path):
    if os.uname().machine not in ("x86_64", "amd64"):
        pytest.skip("the stand-in release holds an x86_64 asset only")
    release_folder(tmp_path / "release")
    target = tmp_path / "bin"
    with serving(tmp_path / "release") as url:
        env = dict(os.environ, SPACES_MCP_DOWNLOAD_URL=url, SPACES_MCP_INSTALL_DIR=str(target), NO_PROXY="127.0.0.1")
        done = subprocess.run(["sh", str(ROOT / "scripts" / "install.sh")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    installed = target / "spaces-mcp"
    assert os.access(installed, os.X_OK)
    assert subprocess.run([str(installed), "--version"], capture_output=True, text=True).stdout.startswith("spaces-mcp ")
    assert "config claude --install" in done.stderr

    # A checksum that does not match installs nothing.
    release_folder(tmp_path / "bad", corrupt=True)
    elsewhere = tmp_path / "bin2"
    with serving(tmp_path / "bad") as url:
        env = dict(os.environ, SPACES_MCP_DOWNLOAD_URL=url, SPACES_MCP_INSTALL_DIR=str(elsewhere), NO_PROXY="127.0.0.1")
        done = subprocess.run(["sh", str(ROOT / "scripts" / "install.sh")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0 and "checksum mismatch" in done.stderr, done.stderr
    assert not (elsewhere / "spaces-mcp").exists()


def test_config_prints_each_clients_entry():
    for client in ("claude", "cursor", "windsurf"):
        done = run("config", client)
        assert done.returncode == 0, done.stderr
        entry = json.loads(done.stdout)["mcpServers"]["spaces"]
        assert Path(entry["command"]).name == "spaces-mcp" and entry["args"] == ["serve"]
    vscode = json.loads(run("config", "vscode").stdout)
    assert vscode["inputs"][0]["password"] is True
    server = vscode["servers"]["spaces"]
    assert server["type"] == "stdio" and server["env"]["HF_TOKEN"] == "${input:hf-token}"
    line = run("--config", "/tmp/my tools.toml", "config", "claude-code").stdout.strip()
    assert line.startswith("claude mcp add spaces -- ") and line.endswith("serve --config '/tmp/my tools.toml'"), line
    refused = run("config", "cursor", "--install")
    assert refused.returncode == 2 and "--install is for Claude Desktop" in refused.stderr


def test_config_claude_install_merges_into_the_real_file(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)}
    path = tmp_path / "Claude" / "claude_desktop_config.json"
    path.parent.mkdir()
    before = {"globalShortcut": "Ctrl+Space", "mcpServers": {"files": {"command": "npx", "args": ["-y", "files"]}}}
    path.write_text(json.dumps(before))
    done = run("config", "claude", "--install", env=env)
    assert done.returncode == 0, done.stderr
    assert "Restart Claude Desktop" in done.stderr
    after = json.loads(path.read_text())
    assert after["globalShortcut"] == "Ctrl+Space"
    assert after["mcpServers"]["files"] == before["mcpServers"]["files"]
    assert Path(after["mcpServers"]["spaces"]["command"]).name == "spaces-mcp"
    assert json.loads(path.with_suffix(".json.bak").read_text()) == before
    # Installing again updates in place.
    assert run("config", "claude", "--install", env=env).returncode == 0
    assert list(json.loads(path.read_text())["mcpServers"]) == ["files", "spaces"]
    # A broken file is refused and left as it was.
    path.write_text('{"mcpServers": {"files": ')
    refused = run("config", "claude", "--install", env=env)
    assert refused.returncode == 1 and "left as it is" in refused.stderr, refused.stderr
    assert path.read_text() == '{"mcpServers": {"files": '


def test_completions_and_the_manual_page():
    for shell in ("bash", "zsh", "fish", "powershell", "elvish"):
        done = run("completions", shell)
        assert done.returncode == 0 and "spaces-mcp" in done.stdout and "serve" in done.stdout, shell
    man = run("man")
    assert man.returncode == 0 and man.stdout.startswith(".ie") and ".TH spaces-mcp 1" in man.stdout
    assert "serve" in man.stdout and "config" in man.stdout


async def test_a_container_style_server_from_the_environment(apps, tmp_path):
    """What the Dockerfile and compose.yaml pass: transport, address and
    allowed hosts from the environment, the bearer token and the HF token
    from files (secrets), the config from SPACES_MCP_CONFIG."""
    bearer = tmp_path / "bearer_token"
    bearer.write_text("s3cret-bearer\n")
    hf = tmp_path / "hf_token"
    hf.write_text("hf_FROMfile\n")
    port = free_port()
    config = write_config(apps.tmp, local_config(apps, hf_token=True))
    env = dict(
        os.environ,
        SPACES_MCP_TRANSPORT="http",
        SPACES_MCP_LISTEN=f"127.0.0.1:{port}",
        SPACES_MCP_ALLOWED_HOSTS="mcp.example.com,other.example.com",
        SPACES_MCP_AUTH_TOKEN_FILE=str(bearer),
        SPACES_MCP_CONFIG=str(config),
        HF_TOKEN_FILE=str(hf),
    )
    env.pop("HF_TOKEN", None)
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([binary(), "serve"], stdout=subprocess.DEVNULL, stderr=log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if run("health", f"{url}/health").returncode == 0:
                break
            time.sleep(0.2)
        health = run("health", f"{url}/health")
        assert health.returncode == 0 and health.stdout.startswith("ok"), health.stderr
        # The allowed host from the environment.
        request = urllib.request.Request(f"{url}/health", headers={"Host": "mcp.example.com"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        # No bearer token: refused.
        probe = urllib.request.Request(f"{url}/mcp", data=b"{}", headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(probe, timeout=5)
        assert refused.value.code == 401
        start = len(apps.dia.requests())
        async with streamable(url, {"Authorization": "Bearer s3cret-bearer"}) as session:
            result = await session.call_tool("run_dia_tts", {"text_input": "[S1] From a file."})
            assert not result.is_error, texts(result)
        sent = [r["x_hf_authorization"] for r in apps.dia.requests()[start:] if "/queue/" in r["path"]]
        assert sent and all(a == "Bearer hf_FROMfile" for a in sent), sent
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert run("health", f"{url}/health").returncode == 1
    logged = (tmp_path / "server.log").read_text()
    assert "run_dia_tts" in logged, f"the server logged nothing of the call: the check below would prove nothing: {logged}"
    assert "hf_FROMfile" not in logged


def test_the_output_folder_from_the_environment(apps, tmp_path):
    """An MCP Bundle passes the user's output folder as SPACES_MCP_OUTPUT_DIR."""
    config = write_config(apps.tmp, local_config(apps))
    out = tmp_path / "chosen"
    done = run("--config", str(config), "call", "generate_image", "prompt=a boat", env={"SPACES_MCP_OUTPUT_DIR": str(out)})
    assert done.returncode == 0, done.stderr
    saved = list(out.iterdir())
    assert saved and str(out) in done.stdout, done.stdout
    # An option an installer left empty means "not set": the built-in config.
    done = run("tools", env={"SPACES_MCP_CONFIG": ""})
    assert done.returncode == 0 and "generate_image" in done.stdout, done.stderr
    shutil.rmtree(out)
