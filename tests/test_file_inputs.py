"""File inputs, given as a data: URI, a local path inside an allowed folder,
or an http(s) URL; and refused when they climb out of the allowed folders."""

from __future__ import annotations

import hashlib
import os
import tempfile

import subprocess
import sys

import anyio
import pytest

from helpers import free_port, local_config, with_settings, write_config
from mcp_helpers import mcp_session, texts, wait_for_tool

pytestmark = pytest.mark.anyio


def config_for(apps, allowed) -> str:
    extra = f'\n[tools.describe]\nspace = "{apps.kitchen.url}"\napi = "/describe_file"\n'
    return with_settings(local_config(apps, extra), f'input_dirs = ["{allowed}"]')


async def test_file_inputs(apps, tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "notes.txt").write_bytes(b"local notes\n")
    (tmp_path / "secret.txt").write_bytes(b"not for the Space")
    os.symlink(tmp_path / "secret.txt", allowed / "sneaky.txt")
    config = write_config(apps.tmp, config_for(apps, allowed))
    async with mcp_session(config, env={"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp()}) as session:
        tool = await wait_for_tool(session, "describe")
        document = tool.input_schema["properties"]["document"]
        assert document["type"] == "string" and "data: URI" in document["description"]

        async def describe(value):
            return await session.call_tool("describe", {"document": value, "note": "n"})

        by_data = await describe("data:text/plain;base64,aGVsbG8gZGF0YQ==")
        assert not by_data.is_error, texts(by_data)
        assert f"upload.txt: 10 bytes, sha1 {hashlib.sha1(b'hello data').hexdigest()}" in texts(by_data)

        by_path = await describe(str(allowed / "notes.txt"))
        assert not by_path.is_error, texts(by_path)
        notes_sha1 = hashlib.sha1(b"local notes\n").hexdigest()
        assert f"notes.txt: 12 bytes, sha1 {notes_sha1}" in texts(by_path)

        # The FileData shape Gradio's "Use via API" page and /info show, by
        # path or by url: the same file, under the same rules.
        file_data = {"path": str(allowed / "notes.txt"), "meta": {"_type": "gradio.FileData"}}
        by_file_data = await describe(file_data)
        assert not by_file_data.is_error, texts(by_file_data)
        assert f"notes.txt: 12 bytes, sha1 {notes_sha1}" in texts(by_file_data)
        by_url_key = await describe({"url": "data:text/plain;base64,aGVsbG8gZGF0YQ==", "meta": {"_type": "gradio.FileData"}})
        assert not by_url_key.is_error and "upload.txt: 10 bytes" in texts(by_url_key), texts(by_url_key)
        outside = await describe({"path": str(tmp_path / "secret.txt"), "meta": {"_type": "gradio.FileData"}})
        assert outside.is_error and "not inside a folder the server allows" in texts(outside), texts(outside)

        # A URL goes to the Space as the file's path, for the Space to fetch.
        served = tmp_path / "served"
        served.mkdir()
        (served / "remote.txt").write_bytes(b"from a url")
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(served)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await anyio.sleep(1)
            by_url = await describe(f"http://127.0.0.1:{port}/remote.txt")
        finally:
            server.terminate()
        # Gradio refuses to fetch from private addresses (its SSRF guard), and
        # tests reach no public one: its refusal shows the URL reached the
        # Space as the file's path, unfetched by this server.
        assert by_url.is_error and "Hostname 127.0.0.1 failed validation" in texts(by_url), texts(by_url)

        for hostile, expected in [
            (str(allowed / ".." / "secret.txt"), "not inside a folder the server allows"),
            (str(allowed / "sneaky.txt"), "not inside a folder the server allows"),
            ("relative.txt", "absolute path"),
            ("data:text/plain;base64,@@@", "does not decode"),
            (str(allowed), "is not a file"),
        ]:
            refused = await describe(hostile)
            assert refused.is_error and expected in texts(refused), (hostile, texts(refused))
            assert "invalid arguments" in texts(refused)
    # What the Space received is in its Gradio folder: the allowed file is
    # there (so the search looks where uploads land), the secret is not.
    received = [p.read_bytes() for p in apps.kitchen.files.rglob("*") if p.is_file()]
    assert any(b"local notes" in content for content in received), "uploads are not where the test looks"
    assert not any(b"not for the Space" in content for content in received), "the secret reached the Space"
