"""Calls end to end: the two default tools against real local Gradio apps
with the default Spaces' signatures (sizes, fixed inputs, audio), a Space's
errors, an unreachable Space, timeouts, unknown tools, wrong arguments,
files on other hosts, and one client per Space. The client is the official
MCP Python SDK over stdio."""

from __future__ import annotations

import io
import time
import wave

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from PIL import Image

from helpers import free_port, local_config, slow_tool, write_config
from mcp_helpers import blocks, decoded, mcp_session, texts

pytestmark = pytest.mark.anyio


def call_posts(app) -> int:
    """How many jobs the app has been sent."""
    return sum(1 for r in app.requests() if r["method"] == "POST" and ("/call/" in r["path"] or r["path"].endswith("/queue/join")))


async def test_built_in_config_answers_without_network():
    # The README's run command: no config file, no Space reachable. initialize
    # and tools/list must not wait on any Space.
    started = time.monotonic()
    async with mcp_session(None) as session:
        assert session.server_capabilities.tools.list_changed is True
        tools = await session.list_tools()
    assert time.monotonic() - started < 10
    by_name = {t.name: t for t in tools.tools}
    # The two tools, and the two for jobs that outlive their call (detach_after
    # is on by default).
    assert set(by_name) == {"generate_image", "run_dia_tts", "await_job", "cancel_job"}
    assert by_name["await_job"].input_schema["required"] == ["job_id"]

    image = by_name["generate_image"].input_schema
    assert image["required"] == ["prompt"]
    assert image["additionalProperties"] is False
    assert set(image["properties"]) == {"prompt", "width", "height"}
    assert image["properties"]["width"] == {
        "type": "integer",
        "description": "Image width in pixels (multiples of 32 work best).",
        "minimum": 256,
        "maximum": 2048,
        "default": 512,
    }
    tts = by_name["run_dia_tts"]
    assert tts.input_schema["required"] == ["text_input"]
    assert "[S1]" in tts.description and "[S2]" in tts.description


async def test_generate_image_returns_the_requested_size(apps):
    config = write_config(apps.tmp, local_config(apps))
    async with mcp_session(config) as session:
        assert session.protocol_version >= "2025-06-18"
        result = await session.call_tool("generate_image", {"prompt": "a red fox in snow", "width": 320, "height": 256})
    assert not result.is_error, texts(result)
    [image] = blocks(result, "image")
    assert image.mime_type == "image/webp"
    with Image.open(io.BytesIO(decoded(image))) as picture:
        assert picture.size == (320, 256)
    assert f"{apps.sana.url}/gradio_api/file=" in texts(result)
    structured = result.structured_content
    assert structured["image"]["kind"] == "image"
    assert structured["image"]["mime_type"] == "image/webp"
    assert structured["image"]["size"] == len(decoded(image))
    assert structured["image"]["url"].startswith(apps.sana.url)
    assert isinstance(structured["seed"], (int, float))


async def test_generate_image_sends_every_input_with_the_fixed_values(apps):
    # The SanaSprint stand-in would fail with no message if inputs were missing;
    # here the defaults of the config reach it: 512 x 512.
    config = write_config(apps.tmp, local_config(apps))
    async with mcp_session(config) as session:
        result = await session.call_tool("generate_image", {"prompt": "a lighthouse"})
    assert not result.is_error, texts(result)
    with Image.open(io.BytesIO(decoded(blocks(result, "image")[0]))) as picture:
        assert picture.size == (512, 512)


async def test_run_dia_tts_returns_decodable_wav(apps):
    config = write_config(apps.tmp, local_config(apps))
    async with mcp_session(config) as session:
        result = await session.call_tool("run_dia_tts", {"text_input": "[S1] Hello there. [S2] Hi!"})
    assert not result.is_error, texts(result)
    [audio] = blocks(result, "audio")
    assert audio.mime_type == "audio/wav"
    with wave.open(io.BytesIO(decoded(audio))) as wav:
        assert wav.getframerate() == 44100
        assert wav.getnframes() > 1000
    assert result.structured_content["audio"]["kind"] == "audio"


async def test_gradio_error_is_surfaced_verbatim(apps):
    config = write_config(apps.tmp, local_config(apps))
    async with mcp_session(config) as session:
        result = await session.call_tool("run_dia_tts", {"text_input": "   "})
    assert result.is_error
    message = texts(result)
    assert "Text input cannot be empty." in message
    assert "run_dia_tts" in message and apps.dia.url in message and "/generate_audio" in message


async def test_unreachable_space_fails_fast_and_clearly(apps):
    port = free_port()  # nothing listens there
    extra = f"""
[tools.down]
space = "http://127.0.0.1:{port}"
api = "/infer"
timeout = 20
inputs.prompt = {{ type = "string" }}
"""
    config = write_config(apps.tmp, local_config(apps, extra))
    async with mcp_session(config) as session:
        started = time.monotonic()
        result = await session.call_tool("down", {"prompt": "x"})
        elapsed = time.monotonic() - started
    assert result.is_error
    message = texts(result)
    assert elapsed < 20
    assert "down" in message and f"127.0.0.1:{port}" in message
    assert "cannot reach" in message and "running" in message


async def test_a_call_past_its_timeout_is_stopped(apps):
    extra = slow_tool(apps, timeout=2)
    config = write_config(apps.tmp, local_config(apps, extra))
    async with mcp_session(config) as session:
        started = time.monotonic()
        result = await session.call_tool("slow", {"seconds": 30})
        elapsed = time.monotonic() - started
        # The session is still usable after a timeout. (The slow app's queue
        # runs one job at a time and the timed-out job still holds it, so the
        # next call goes to another Space.)
        quick = await session.call_tool("generate_image", {"prompt": "after the timeout"})
    assert result.is_error
    assert "no result within 2s" in texts(result) and "timeout" in texts(result)
    assert 1.5 < elapsed < 10
    assert not quick.is_error, texts(quick)
    assert blocks(quick, "image")


async def test_unknown_tool_is_a_protocol_error(apps):
    config = write_config(apps.tmp, local_config(apps))
    async with mcp_session(config) as session:
        with pytest.raises(MCPError) as raised:
            await session.call_tool("no_such_tool", {})
    assert raised.value.error.code == -32602
    assert "no_such_tool" in raised.value.error.message


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({}, 'missing required argument "prompt"'),
        ({"prompt": "x", "width": "wide"}, '"width" must be a whole number'),
        ({"prompt": "x", "width": 99999}, "above the maximum 2048"),
        ({"prompt": "x", "height": 100}, "below the minimum 256"),
        ({"prompt": 42}, '"prompt" must be a string'),
        ({"prompt": "x", "seed": 1}, 'unknown argument "seed"'),
    ],
)
async def test_bad_arguments_are_refused_before_any_call(apps, arguments, expected):
    config = write_config(apps.tmp, local_config(apps))
    before = call_posts(apps.sana)
    async with mcp_session(config) as session:
        result = await session.call_tool("generate_image", arguments)
    assert result.is_error
    assert expected in texts(result)
    assert "generate_image" in texts(result)
    assert call_posts(apps.sana) == before, "the Space was called despite bad arguments"


async def test_a_file_on_another_host_comes_back_as_its_link_unfetched(apps):
    extra = f"""
[tools.proxied_image]
space = "{apps.foreign.url}"
api = "/infer"
inputs.prompt = {{ type = "string" }}
"""
    config = write_config(apps.tmp, local_config(apps, extra))
    async with mcp_session(config) as session:
        result = await session.call_tool("proxied_image", {"prompt": "x"})
    # The Space names its image on another host (127.0.0.2:9, where nothing
    # listens): the call succeeds with the link, which was never fetched.
    assert not result.is_error, texts(result)
    message = texts(result)
    assert "http://127.0.0.2:9/" in message and "not downloaded" in message
    assert not blocks(result, "image")
    links = blocks(result, "resource_link")
    assert links and str(links[0].uri).startswith("http://127.0.0.2:9/")
    assert result.structured_content["result"]["url"].startswith("http://127.0.0.2:9/")


async def test_concurrent_calls_share_one_client_per_space(apps):
    config = write_config(apps.tmp, local_config(apps))
    start = len(apps.sana.requests())
    results = {}
    async with mcp_session(config) as session:
        # The first call learns the Space's API; the rest reuse it.
        results[-1] = await session.call_tool("generate_image", {"prompt": "warm-up", "width": 256, "height": 256})

        async def one(i: int) -> None:
            results[i] = await session.call_tool("generate_image", {"prompt": f"image {i}", "width": 256 + 32 * i, "height": 256})

        async with anyio.create_task_group() as group:
            for i in range(8):
                group.start_soon(one, i)
    for i in range(8):
        assert not results[i].is_error, texts(results[i])
        with Image.open(io.BytesIO(decoded(blocks(results[i], "image")[0]))) as picture:
            assert picture.size == (256 + 32 * i, 256)
    config_fetches = [r for r in apps.sana.requests()[start:] if r["path"] == "/config"]
    assert len(config_fetches) == 1
