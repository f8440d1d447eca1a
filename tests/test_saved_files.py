"""Saved files are the server's own and their caller's: the retention sweep,
`resources/list` and `resources/read` never touch a file the user keeps in
`output_dir` (whatever its name), one caller never sees another's files, and
one read is bounded, a URI that leaves the folder is not found, and clients
hear when files are added. The Spaces are the real local Gradio apps; the
MCP clients are the official Python SDK over stdio and Streamable HTTP."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from helpers import local_config, with_settings, write_config
from mcp_helpers import HttpServer, blocks, kitchen_session, kitchen_tools, mcp_session, streamable, texts

pytestmark = pytest.mark.anyio

# What a user keeps in ~/Downloads: dated names, some shaped like the names
# this server once gave its files (`<digits>-<digits>-<digits>-rest`).
USERS_FILES = {
    "2024-03-01-bank-statement.pdf": b"%PDF-1.4 the user's statement",
    "2024-01-15-10-30-00.png": b"\x89PNG the user's photo",
    "1700000000000-42-0-image.png": b"\x89PNG not ours either",
    "notes.txt": b"the user's notes",
}
TWO_DAYS = 48 * 3600


def age(path: Path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def config(apps, settings: str) -> Path:
    return write_config(apps.tmp, with_settings(local_config(apps), settings))


async def one_image(session) -> str:
    """Calls generate_image; the saved file's resource URI."""
    result = await session.call_tool("generate_image", {"prompt": "a saved boat", "width": 256, "height": 256})
    assert not result.is_error, texts(result)
    [link] = blocks(result, "resource_link")
    return str(link.uri)


async def test_the_users_own_files_are_never_swept_listed_or_served(apps, tmp_path):
    for name, data in USERS_FILES.items():
        (tmp_path / name).write_bytes(data)
        age(tmp_path / name, TWO_DAYS)
    text = config(apps, f'output_dir = "{tmp_path}"\noutput_retention_hours = 1')
    env = {"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp()}
    async with mcp_session(text, env=env) as session:
        ours = await one_image(session)
        listed = {str(r.uri) for r in (await session.list_resources()).resources}
        assert listed == {ours}
        for name in USERS_FILES:
            with pytest.raises(MCPError) as refused:
                await session.read_resource(f"spaces-mcp://outputs/{name}")
            assert refused.value.error.code == -32002, name
    # Our file, aged past the retention, goes at the next start; the user's
    # files, older still, stay as they were.
    [saved] = [p for p in (tmp_path / "spaces-mcp").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert saved.name == ours.removeprefix("spaces-mcp://outputs/")
    assert saved.parent == tmp_path / "spaces-mcp" / "local"
    age(saved, TWO_DAYS)
    async with mcp_session(text, env=env) as session:
        deadline = time.monotonic() + 10
        while saved.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not saved.exists(), "the server's own expired file is removed"
        assert (await session.list_resources()).resources == []
    for name, data in USERS_FILES.items():
        assert (tmp_path / name).read_bytes() == data, name


async def test_a_spaces_mcp_folder_of_the_users_is_not_taken(apps, tmp_path):
    theirs = tmp_path / "spaces-mcp" / "local"
    theirs.mkdir(parents=True)
    (theirs / "diary.txt").write_text("mine")
    age(theirs / "diary.txt", TWO_DAYS)
    text = config(apps, f'output_dir = "{tmp_path}"\noutput_retention_hours = 1')
    async with mcp_session(text, env={"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp()}) as session:
        result = await session.call_tool("generate_image", {"prompt": "x", "width": 256, "height": 256})
        assert result.is_error
        assert "was not made by spaces-mcp" in texts(result) and "output_dir" in texts(result), texts(result)
        assert (await session.list_resources()).resources == []
    assert (theirs / "diary.txt").read_text() == "mine"


async def test_saved_files_belong_to_their_caller(apps, tmp_path):
    server = HttpServer(config(apps, f'output_dir = "{tmp_path}"'), apps.tmp)
    alice = {"X-HF-Authorization": "Bearer hf_alice"}
    bob = {"X-HF-Authorization": "Bearer hf_bob"}
    try:
        async with streamable(server.url, alice) as session:
            uri = await one_image(session)
            assert uri in {str(r.uri) for r in (await session.list_resources()).resources}
            assert (await session.read_resource(uri)).contents[0].blob
        for headers in (bob, None):
            async with streamable(server.url, headers) as session:
                assert (await session.list_resources()).resources == []
                with pytest.raises(MCPError) as refused:
                    await session.read_resource(uri)
                assert refused.value.error.code == -32002
        # Alice, back in a new session, still has it.
        async with streamable(server.url, alice) as session:
            assert uri in {str(r.uri) for r in (await session.list_resources()).resources}
    finally:
        server.stop()
    assert "hf_alice" not in server.logs() and "hf_bob" not in server.logs()
    # No folder name gives a token back: they are digests.
    assert all("alice" not in p.name and "bob" not in p.name for p in (tmp_path / "spaces-mcp").iterdir())


async def test_one_read_is_bounded_and_says_where_the_file_is(apps, tmp_path):
    # The kitchen app's noisy 256 px PNG is about 200 kB.
    tool = f'\n[tools.big_image]\nspace = "{apps.kitchen.url}"\napi = "/big_image"\n'
    settings = f'output_dir = "{tmp_path}"\nresource_read_max_bytes = 4096'
    text = write_config(apps.tmp, with_settings(local_config(apps, tool), settings))
    async with mcp_session(text, env={"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp()}) as session:
        result = await session.call_tool("big_image", {"side": 256})
        assert not result.is_error, texts(result)
        [link] = blocks(result, "resource_link")
        uri = str(link.uri)
        with pytest.raises(MCPError) as refused:
            await session.read_resource(uri)
    error = refused.value.error
    assert error.code == -32600, error
    assert "resource_read_max_bytes" in error.message and "4096" in error.message
    assert str(tmp_path / "spaces-mcp" / "local") in error.message


async def test_reading_outside_the_output_folder_is_refused(apps, tmp_path):
    (tmp_path.parent / "secret.txt").write_text("not yours")
    async with await kitchen_session(apps, tmp_path) as session:
        for uri in (
            "spaces-mcp://outputs/../secret.txt",
            "spaces-mcp://outputs/1-2-3-../../secret.txt",
            "file:///etc/passwd",
            "spaces-mcp://outputs/does-not-exist.png",
        ):
            with pytest.raises(MCPError) as refused:
                await session.read_resource(uri)
            assert refused.value.error.code == -32002, (uri, refused.value.error)


async def test_clients_hear_when_saved_files_are_added(apps, tmp_path):
    heard = []

    async def handler(message) -> None:
        method = getattr(message, "method", None) or getattr(getattr(message, "root", None), "method", None)
        if method == "notifications/resources/list_changed":
            heard.append(method)

    text = with_settings(local_config(apps, kitchen_tools(apps)), f'output_dir = "{tmp_path}"')
    config = write_config(apps.tmp, text)
    async with mcp_session(config, env={"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp()}, message_handler=handler) as session:
        assert session.server_capabilities.resources.list_changed is True
        before = {r.uri for r in (await session.list_resources()).resources}
        result = await session.call_tool("six_images", {"side": 64})
        assert not result.is_error, texts(result)
        with anyio.fail_after(10):
            while not heard:
                await anyio.sleep(0.05)
        after = {r.uri for r in (await session.list_resources()).resources}
    assert len(heard) == 1, "one notice for the six files"
    assert len(after - before) == 6
