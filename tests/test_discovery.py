"""Tools from a line of config: a tool with only `space` and `api`, and a
`[spaces]` alias for every endpoint, get their inputs from the Space's API,
read in the background, cached on disk, and announced with
notifications/tools/list_changed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import anyio
import pytest
from PIL import Image

from helpers import binary, free_port, local_config, start_app, wait_ready, write_config
from mcp_helpers import blocks, decoded, mcp_session, texts

pytestmark = pytest.mark.anyio


def fresh_cache() -> dict[str, str]:
    return {"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp(prefix="spaces-mcp-cache-")}


def minimal(name: str, url: str, api: str) -> str:
    return f'\n[tools.{name}]\nspace = "{url}"\napi = "{api}"\n'


def list_changed_counter():
    seen = {"list_changed": 0}

    async def handler(message) -> None:
        method = getattr(message, "method", None) or getattr(getattr(message, "root", None), "method", None)
        if method == "notifications/tools/list_changed":
            seen["list_changed"] += 1

    return seen, handler


async def wait_for(predicate, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        await anyio.sleep(0.1)


async def test_a_tool_from_space_and_api_alone(apps):
    config = write_config(apps.tmp, local_config(apps, minimal("paint", apps.sana.url, "/infer")))
    async with mcp_session(config, env=fresh_cache()) as session:
        # The first list, on a fresh cache, already has the Space's inputs
        # (it waits for the Space up to discovery_wait).
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert tools["paint"].output_schema, "the first tools/list came before the Space was read"
        schema = tools["paint"].input_schema
        assert schema["required"] == ["prompt"]
        assert schema["additionalProperties"] is False
        assert schema["properties"]["width"]["minimum"] == 256 and schema["properties"]["width"]["maximum"] == 2048
        assert schema["properties"]["model_size"]["enum"] == ["0.6B", "1.6B"]
        assert schema["properties"]["model_size"]["default"] == "1.6B"
        assert schema["properties"]["prompt"]["description"] == "Prompt"
        assert tools["paint"].description.startswith("Generate an image from a prompt.")
        result = await session.call_tool("paint", {"prompt": "discovered", "width": 320, "height": 288})
        assert not result.is_error, texts(result)
        with Image.open(io.BytesIO(decoded(blocks(result, "image")[0]))) as picture:
            assert picture.size == (320, 288)
        # Checked against the Space's own bounds.
        bad = await session.call_tool("paint", {"prompt": "x", "width": 5000})
        assert bad.is_error and "above the maximum 2048" in texts(bad)


async def test_a_spaces_alias_exposes_every_endpoint(apps):
    extra = f'\n[spaces.lab]\nspace = "{apps.jobs.url}"\n'
    config = write_config(apps.tmp, local_config(apps, extra))
    async with mcp_session(config, env=fresh_cache()) as session:
        names: set[str] = set()

        async def listed() -> set[str]:
            return {t.name for t in (await session.list_tools()).tools}

        deadline = time.monotonic() + 20
        while "lab_steps" not in names and time.monotonic() < deadline:
            names = await listed()
            await anyio.sleep(0.2)
        assert {"lab_steps", "lab_parallel_steps", "lab_quota"} <= names, names
        assert {"generate_image", "run_dia_tts"} <= names
        result = await session.call_tool("lab_steps", {"job": "via-alias", "n": 2, "delay": 0.01})
        assert not result.is_error, texts(result)
        assert "job via-alias: 2 steps done" in texts(result)


async def test_a_chat_interface_with_an_odd_label_is_read_whole(apps):
    # gr.ChatInterface's /flag endpoint gives a label that is an object: once
    # that made the whole API unreadable and no tool of the app was listed.
    extra = f'\n[spaces.chat]\nspace = "{apps.chat.url}"\n'
    config = write_config(apps.tmp, local_config(apps, extra))
    async with mcp_session(config, env=fresh_cache()) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {"chat_respond", "chat_flag"} <= set(tools), sorted(tools)
        assert "message" in tools["chat_respond"].input_schema["properties"]
        result = await session.call_tool("chat_respond", {"message": "hi"})
    assert not result.is_error, texts(result)
    assert "echo: hi" in texts(result), texts(result)


async def test_cached_schemas_need_no_network_at_start(apps, tmp_path):
    # A Space of its own, so that it can be taken down.
    app = start_app("cached", "sanasprint", apps.tmp)
    try:
        wait_ready(app, time.monotonic() + 120)
        cache = fresh_cache()
        config = write_config(apps.tmp, local_config(apps, minimal("paint", app.url, "/infer")))
        # `tools` reads the Space and fills the cache.
        done = subprocess.run([binary(), "--config", str(config), "tools"], capture_output=True, text=True, env=dict(os.environ, **cache), timeout=60)
        assert done.returncode == 0, done.stderr
        assert list(Path(cache["SPACES_MCP_CACHE_DIR"]).glob("*.json"))
    finally:
        app.process.terminate()
        app.process.wait(timeout=20)
    # The Space is gone; the first tools/list still has its full schema.
    async with mcp_session(config, env=cache) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert tools["paint"].input_schema["required"] == ["prompt"]
        result = await session.call_tool("paint", {"prompt": "x"})
    assert result.is_error and "cannot reach" in texts(result) and "paint" in texts(result)


async def test_a_space_down_at_start_is_reported_then_works_when_up(apps):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_config(apps.tmp, local_config(apps, minimal("later", url, "/infer")))
    seen, handler = list_changed_counter()
    async with mcp_session(config, env=fresh_cache(), message_handler=handler) as session:
        description = ""
        deadline = time.monotonic() + 30
        while "did not answer" not in description and time.monotonic() < deadline:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            description = tools["later"].description
            await anyio.sleep(0.3)
        assert "did not answer" in description, description
        down = await session.call_tool("later", {"prompt": "x"})
        assert down.is_error and "cannot reach" in texts(down) and url in texts(down)
        before = seen["list_changed"]

        app = start_app("later", "sanasprint", apps.tmp, port=port)
        try:
            wait_ready(app, time.monotonic() + 120)
            up = await session.call_tool("later", {"prompt": "now up", "width": 256, "height": 256})
            assert not up.is_error, texts(up)
            await wait_for(lambda: seen["list_changed"] > before, 5)
            assert seen["list_changed"] > before
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert tools["later"].input_schema["required"] == ["prompt"]
            assert "did not answer" not in tools["later"].description
        finally:
            app.process.terminate()
            app.process.wait(timeout=20)


async def test_a_space_redeployed_under_the_server_is_read_again(apps):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    tool = f'\n[tools.echo]\nspace = "{url}"\napi = "/echo"\ninputs.text = {{ type = "string" }}\n'
    config = write_config(apps.tmp, local_config(apps, tool))
    first = start_app("redeploy-1", "redeploy_v1", apps.tmp, port=port)
    try:
        wait_ready(first, time.monotonic() + 120)
        async with mcp_session(config, env=fresh_cache()) as session:
            before = await session.call_tool("echo", {"text": "a"})
            assert not before.is_error and "v1 echo: a" in texts(before), texts(before)
            first.process.terminate()
            first.process.wait(timeout=20)
            second = start_app("redeploy-2", "redeploy_v2", apps.tmp, port=port)
            try:
                wait_ready(second, time.monotonic() + 120)
                # The server still holds v1's fn_index for /echo; v2 refuses
                # it, the server reads the Space again and sends the job once more.
                after = await session.call_tool("echo", {"text": "b"})
                assert not after.is_error, texts(after)
                assert "v2 echo: b" in texts(after)
            finally:
                second.process.terminate()
                second.process.wait(timeout=20)
    finally:
        if first.process.poll() is None:
            first.process.terminate()


async def test_aliases_one_the_start_of_another_load_and_file_order_decides_a_real_clash(apps, tmp_path):
    # `lab` and `lab_parallel` both read the jobs app: lab's /parallel_steps
    # and lab_parallel's /steps both become `lab_parallel_steps`, a real
    # clash; `chat` and `chat_x` only look alike. Once this config exited 2.
    extra = (
        f'\n[spaces.lab]\nspace = "{apps.jobs.url}"\n'
        f'\n[spaces.lab_parallel]\nspace = "{apps.jobs.url}"\n'
        f'\n[spaces.chat]\nspace = "{apps.chat.url}"\n'
        f'\n[spaces.chat_x]\nspace = "{apps.chat.url}"\n'
    )
    config = write_config(apps.tmp, local_config(apps, extra))
    env = {**os.environ, **fresh_cache()}
    run = subprocess.run(
        [binary(), "--config", str(config), "tools"], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    tools = {t["name"]: t for t in json.loads(run.stdout)["tools"]}
    assert {
        "lab_steps", "lab_parallel_steps", "lab_quota",
        "lab_parallel_parallel_steps", "lab_parallel_quota",
        "chat_respond", "chat_x_respond",
    } <= set(tools), sorted(tools)
    # The first table in the file keeps the name.
    assert "/parallel_steps" in tools["lab_parallel_steps"]["description"], tools["lab_parallel_steps"]
    warnings = [line for line in run.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1, run.stderr
    for part in ["lab_parallel_steps", "[spaces.lab] endpoint /parallel_steps",
                 "[spaces.lab_parallel] endpoint /steps", "rename one of the two aliases"]:
        assert part in warnings[0], warnings[0]
    # The server lists the same tools, and logs the same warning.
    errlog = tmp_path / "serve.log"

    async with mcp_session(config, env=fresh_cache(), errlog=errlog) as session:
        listed = {t.name for t in (await session.list_tools()).tools}
    assert set(tools) == listed - {"await_job", "cancel_job"}
    assert "[spaces.lab] endpoint /parallel_steps" in errlog.read_text()


async def test_the_hub_tools_alone_are_a_config(apps):
    # Once "no tool is defined" (exit 2): now the server starts and lists the three.
    config = write_config(apps.tmp, "[hub]\ntools = true\n")
    async with mcp_session(config) as session:
        names = [t.name for t in (await session.list_tools()).tools]
    assert names == ["hub_search_spaces", "hub_describe_space", "hub_call_space"], names
