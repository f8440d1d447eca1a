"""The MCP App view and chaining: the view in Debian's chromium, driven by
playwright-core, hosted by the official ext-apps AppBridge in a harness
written here (tests/view/), against real Gradio apps through spaces-mcp over
Streamable HTTP; and, in every client, a result's spaces-mcp:// URI given to
the next tool's file input, never another caller's."""

from __future__ import annotations

import io
import json
import os
import subprocess

import pytest
from PIL import Image

from helpers import ROOT, local_config, write_config
from mcp_helpers import HttpServer, blocks, decoded, mcp_session, streamable, texts

pytestmark = pytest.mark.anyio

VIEW_TESTS = ROOT / "tests" / "view"
SHOTS = ROOT / "target" / "view-screenshots"


def media_tools(apps) -> str:
    # `paint`: SanaSprint-like /infer with every input the Space has (a seed too).
    return f'\n[tools.paint]\nspace = "{apps.sana.url}"\napi = "/infer"\n' + "".join(
        f'\n[tools.{name}]\nspace = "{apps.kitchen.url}"\napi = "/{name}"\n'
        for name in ("big_image", "six_images", "long_audio", "everything", "mirror", "clip")
    )


def test_the_view_shows_plays_runs_again_and_takes_a_dropped_file(apps, tmp_path):
    # quota_long: the ZeroGPU test app's quota refusal (10 min to wait: past the call's timeout).
    quota = f'\n[tools.quota_long]\nspace = "{apps.zerogpu.url}"\napi = "/quota_long"\ntimeout = 20\ninputs.prompt = {{ type = "string" }}\n'
    config = write_config(apps.tmp, local_config(apps, media_tools(apps) + quota))
    server = HttpServer(config, tmp_path, ["--max-body-bytes", str(1024 * 1024)])
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["node", "--test", "--test-reporter=spec", "view.test.mjs"],
            cwd=VIEW_TESTS, capture_output=True, text=True, timeout=280,
            env=dict(os.environ, MCP_URL=server.url + "/mcp", SHOTS=str(SHOTS)),
        )
    finally:
        server.stop()
    print(done.stdout[-4000:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    figures = json.loads((SHOTS / "figures.json").read_text())
    print(f"VIEW {figures}")
    for shot in ("view-image.png", "view-gallery.png", "view-audio.png", "view-dropped.png"):
        assert (SHOTS / shot).stat().st_size > 5000, shot
    assert "panicked" not in server.logs()


def saved_uri(result) -> str:
    links = [b for b in result.content if b.type == "resource_link"]
    assert links, texts(result)
    return str(links[0].uri)


async def test_a_result_feeds_the_next_tool_by_its_uri(apps):
    config = write_config(apps.tmp, local_config(apps, media_tools(apps)))
    async with mcp_session(config) as session:
        made = await session.call_tool("generate_image", {"prompt": "a boat", "width": 384, "height": 256})
        assert not made.is_error, texts(made)
        uri = saved_uri(made)
        assert uri.startswith("spaces-mcp://outputs/")
        mirrored = await session.call_tool("mirror", {"picture": uri})
        assert not mirrored.is_error, texts(mirrored)
        with Image.open(io.BytesIO(decoded(blocks(mirrored, "image")[0]))) as picture:
            assert picture.size == (384, 256)
        missing = await session.call_tool("mirror", {"picture": "spaces-mcp://outputs/1-2-3-nothing.png"})
        assert missing.is_error and "names no file of this caller's" in texts(missing), texts(missing)


async def test_another_callers_uri_is_not_found(apps, tmp_path):
    config = write_config(apps.tmp, local_config(apps, media_tools(apps)))
    server = HttpServer(config, tmp_path)
    alice = {"X-HF-Authorization": "Bearer hf_alice_view"}
    bob = {"X-HF-Authorization": "Bearer hf_bob_view"}
    try:
        async with streamable(server.url, alice) as session:
            made = await session.call_tool("generate_image", {"prompt": "mine", "width": 256, "height": 256})
            uri = saved_uri(made)
            own = await session.call_tool("mirror", {"picture": uri})
            assert not own.is_error, texts(own)
        async with streamable(server.url, bob) as session:
            stolen = await session.call_tool("mirror", {"picture": uri})
        assert stolen.is_error and "names no file of this caller's" in texts(stolen), texts(stolen)
    finally:
        server.stop()
