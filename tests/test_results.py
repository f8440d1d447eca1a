"""Results that fit the client: the whole serialized result stays within
`max_result_bytes` (default 1 MiB, Claude Desktop's limit), large images come
inline as previews of at most 1568 px, audio too large is saved and linked
with its length, and every original is readable, byte for byte, through
`resources/read`. The Space is the real kitchen app's large-output endpoints
(a noisy 2048 px PNG, 20 s of 44.1 kHz WAV, six 1024 px images)."""

from __future__ import annotations

import base64
import io
import json
import tempfile
import urllib.request

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from PIL import Image

from conftest import local_config, with_settings, write_config
from mcp_helpers import blocks, decoded, mcp_session, texts

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


def tools(apps, budget: int | None = None) -> str:
    limit = f"max_result_bytes = {budget}\n" if budget else ""
    return "".join(
        f'\n[tools.{name}]\nspace = "{apps.kitchen.url}"\napi = "/{name}"\n{limit}'
        for name in ("big_image", "long_audio", "six_images")
    )


def result_size(result) -> int:
    """The result as the client gets it, serialized."""
    return len(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True)).encode())


async def session_for(apps, tmp_path, budget: int | None = None):
    text = with_settings(local_config(apps, tools(apps, budget)), f'output_dir = "{tmp_path}"')
    return mcp_session(write_config(apps.tmp, text), env={"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp()})


def space_file(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


async def read_original(session, uri: str) -> bytes:
    read = await session.read_resource(uri)
    return base64.b64decode(read.contents[0].blob)


async def test_a_2048_px_png_comes_as_a_preview_and_its_original_is_a_resource(apps, tmp_path):
    async with await session_for(apps, tmp_path) as session:
        result = await session.call_tool("big_image", {"side": 2048})
        assert not result.is_error, texts(result)
        size = result_size(result)
        print(f"2048 px noisy PNG: result {size} bytes")
        assert size <= MIB
        [image] = blocks(result, "image")
        with Image.open(io.BytesIO(decoded(image))) as preview:
            assert max(preview.size) <= 1568
            assert image.mime_type == "image/jpeg"
        assert "inline as a preview" in texts(result) and "2048×2048" in texts(result)
        big = result.structured_content["big"]
        original = space_file(big["url"])
        assert len(original) > 10 * 1000 * 1000
        assert await read_original(session, big["resource"]) == original
        listed = {r.uri for r in (await session.list_resources()).resources}
        assert big["resource"] in listed


async def test_long_audio_comes_as_mp3_and_its_original_is_a_resource(apps, tmp_path):
    async with await session_for(apps, tmp_path) as session:
        result = await session.call_tool("long_audio", {"seconds": 20})
        assert not result.is_error, texts(result)
        size = result_size(result)
        print(f"20 s WAV: result {size} bytes")
        assert size <= MIB
        # 20 s of 44.1 kHz WAV is 1.8 MB: too large as it is, inline as MP3.
        [audio] = blocks(result, "audio")
        assert audio.mime_type == "audio/mpeg" and len(decoded(audio)) < 400_000
        assert "inline as MP3" in texts(result) and "20.0 s" in texts(result)
        speech = result.structured_content["speech"]
        assert await read_original(session, speech["resource"]) == space_file(speech["url"])
        # Short audio comes inline as it is.
        short = await session.call_tool("long_audio", {"seconds": 1})
        [audio] = blocks(short, "audio")
        assert audio.mime_type == "audio/wav"


async def test_a_gallery_shares_the_budget(apps, tmp_path):
    async with await session_for(apps, tmp_path) as session:
        result = await session.call_tool("six_images", {"side": 1024})
    assert not result.is_error, texts(result)
    size = result_size(result)
    print(f"six 1024 px images: result {size} bytes")
    assert size <= MIB
    images = blocks(result, "image")
    assert len(images) == 6, texts(result)
    for image in images:
        with Image.open(io.BytesIO(decoded(image))) as picture:
            assert max(picture.size) <= 1024


async def test_a_smaller_budget_per_tool_is_honoured(apps, tmp_path):
    async with await session_for(apps, tmp_path, budget=200_000) as session:
        for name, arguments in [("big_image", {"side": 2048}), ("six_images", {"side": 1024})]:
            result = await session.call_tool(name, arguments)
            assert not result.is_error, texts(result)
            assert result_size(result) <= 200_000, (name, result_size(result))
            assert blocks(result, "image"), name


async def test_reading_outside_the_output_folder_is_refused(apps, tmp_path):
    (tmp_path.parent / "secret.txt").write_text("not yours")
    async with await session_for(apps, tmp_path) as session:
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

    text = with_settings(local_config(apps, tools(apps)), f'output_dir = "{tmp_path}"')
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
