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
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from mcp_helpers import blocks, decoded, discovered_session, kitchen_session, texts, wait_for_tool

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024



def result_size(result) -> int:
    """The result as the client gets it, serialized."""
    return len(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True)).encode())




def space_file(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


async def read_original(session, uri: str) -> bytes:
    read = await session.read_resource(uri)
    return base64.b64decode(read.contents[0].blob)


async def test_a_2048_px_png_comes_as_a_preview_and_its_original_is_a_resource(apps, tmp_path):
    async with await kitchen_session(apps, tmp_path) as session:
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
    async with await kitchen_session(apps, tmp_path) as session:
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
    async with await kitchen_session(apps, tmp_path) as session:
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
    async with await kitchen_session(apps, tmp_path, budget=200_000) as session:
        for name, arguments in [("big_image", {"side": 2048}), ("six_images", {"side": 1024})]:
            result = await session.call_tool(name, arguments)
            assert not result.is_error, texts(result)
            assert result_size(result) <= 200_000, (name, result_size(result))
            assert blocks(result, "image"), name


async def test_files_over_inline_max_bytes_come_as_previews_or_links(apps, tmp_path):
    extra = f'\n[tools.everything]\nspace = "{apps.kitchen.url}"\napi = "/everything"\ninline_max_bytes = 10\n'
    async with await discovered_session(apps, extra, f'output_dir = "{tmp_path}"') as session:
        await wait_for_tool(session, "everything")
        result = await session.call_tool("everything", {"text": "tiny cap"})
    assert not result.is_error, texts(result)
    # No file goes inline as it is: images as JPEG previews, audio as MP3.
    assert all(a.mime_type == "audio/mpeg" for a in blocks(result, "audio"))
    images = blocks(result, "image")
    assert len(images) == 4 and all(i.mime_type == "image/jpeg" for i in images)
    assert "inline as a preview" in texts(result)
    assert Path(result.structured_content["picture"]["path"]).exists()
    assert len(blocks(result, "resource_link")) == 2 + 3 + 2  # picture, sound, 3 frames, clip, report
