"""Every output type, from a tool declared by `space` and `api` alone: each
becomes the right MCP content, and the structured result follows the tool's
output schema (the SDK client checks it)."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from PIL import Image

from mcp_helpers import blocks, decoded, discovered_session, texts, wait_for_tool

pytestmark = pytest.mark.anyio




async def test_every_output_kind(apps, tmp_path):
    extra = f'\n[tools.everything]\nspace = "{apps.kitchen.url}"\napi = "/everything"\n'
    out = tmp_path / "out"
    async with await discovered_session(apps, extra, f'output_dir = "{out}"') as session:
        tool = await wait_for_tool(session, "everything")
        schema = tool.output_schema
        # Every output, or (for a call still running after detach_after) a job handle.
        outputs, handle = schema["anyOf"]
        assert set(outputs["required"]) == {"picture", "sound", "clip", "report", "frames", "shout", "length", "facts", "table"}
        assert handle["required"] == ["job_id", "status"] and "job_id" in schema["properties"]
        result = await session.call_tool("everything", {"text": "hello big world"})
    assert not result.is_error, texts(result)
    s = result.structured_content

    # Image and audio inline; the gallery's three images too.
    images = blocks(result, "image")
    assert len(images) == 4
    with Image.open(io.BytesIO(decoded(images[0]))) as picture:
        assert picture.size == (64, 48)
    assert [Image.open(io.BytesIO(decoded(i))).size for i in images[1:]] == [(40, 30), (50, 30), (60, 30)]
    [audio] = blocks(result, "audio")
    with wave.open(io.BytesIO(decoded(audio))) as wav:
        assert wav.getframerate() == 8000
    # Every file is saved and linked (under its resource URI), with its path;
    # video and plain files only so.
    links = {l.uri.removeprefix("spaces-mcp://outputs/").split("-", 3)[-1]: l for l in blocks(result, "resource_link")}
    assert {"clip.mp4", "report.txt"} <= set(links), links
    assert len(blocks(result, "resource_link")) == 2 + 3 + 2  # picture, sound, 3 frames, clip, report
    assert links["clip.mp4"].mime_type == "video/mp4"
    assert s["clip"]["kind"] == "video" and Path(s["clip"]["path"]).parent == out / "spaces-mcp" / "local"
    assert Path(s["report"]["path"]).read_text() == "report on hello big world\n"
    # Saved files are this user's alone.
    assert Path(s["report"]["path"]).stat().st_mode & 0o777 == 0o600
    assert s["report"]["kind"] == "file" and s["report"]["mime_type"].startswith("text/plain")
    # Gallery: each file with its caption.
    assert [f["caption"] for f in s["frames"]] == ["frame 0", "frame 1", "frame 2"]
    assert all(f["kind"] == "image" for f in s["frames"])
    # Text, number, JSON, dataframe.
    assert s["shout"] == "HELLO BIG WORLD" and s["length"] == 15
    assert s["facts"]["words"] == ["hello", "big", "world"]
    assert s["table"] == {"headers": ["word", "length"], "data": [["hello", 5], ["big", 3], ["world", 5]]}
    text = texts(result)
    assert "shout: HELLO BIG WORLD" in text
    assert "| word | length |" in text and "| big | 3 |" in text
    assert f"{apps.kitchen.url}/gradio_api/file=" in text


async def test_state_inputs_and_outputs_are_handled_as_gradio_clients_do(apps):
    # /count(text, state, times) -> (state, text): the state is neither shown
    # to the model nor returned, but keeps its place in what the Space gets.
    extra = f'\n[tools.count]\nspace = "{apps.stateful.url}"\napi = "/count"\n'
    async with await discovered_session(apps, extra) as session:
        tool = await wait_for_tool(session, "count")
        assert set(tool.input_schema["properties"]) == {"text", "times"}
        result = await session.call_tool("count", {"text": "ab", "times": 3})
    assert not result.is_error, texts(result)
    assert result.structured_content == {"out": "ababab (call 1)"}


async def test_a_nan_from_the_space_is_null_and_fits_the_schema(apps):
    # Python's json writes NaN; JSON has no word for it. The official SDK
    # client checks structuredContent against the outputSchema: it must fit.
    extra = f'\n[tools.nan]\nspace = "{apps.kitchen.url}"\napi = "/not_a_number"\n'
    async with await discovered_session(apps, extra) as session:
        tool = await wait_for_tool(session, "nan")
        result = await session.call_tool("nan", {})
    assert not result.is_error, texts(result)
    s = result.structured_content
    assert s["value"] is None, s
    assert s["table"]["data"] == [[1.0, None], [2.0, 3.0]], s
    assert tool.output_schema is not None


async def test_choices_with_no_choices_take_null(apps):
    # /info's own example for a Dropdown or Radio with no choices is null;
    # a client that leaves it out, or sends null, reaches the app with None.
    extra = f'\n[tools.pick]\nspace = "{apps.kitchen.url}"\napi = "/pick"\n'
    async with await discovered_session(apps, extra) as session:
        tool = await wait_for_tool(session, "pick")
        assert not tool.input_schema.get("required"), tool.input_schema
        for arguments in ({}, {"choice": None, "answer": None}):
            result = await session.call_tool("pick", arguments)
            assert not result.is_error, texts(result)
            assert texts(result) == "None None", texts(result)


async def test_an_output_its_type_does_not_admit_still_fits_the_schema(apps):
    # gr.HTML given a list (as Gradio's super_html demo does): the schema says
    # text; the official SDK client checks structuredContent against it.
    extra = f'\n[tools.letters]\nspace = "{apps.kitchen.url}"\napi = "/html_list"\n'
    async with await discovered_session(apps, extra) as session:
        await wait_for_tool(session, "letters")
        result = await session.call_tool("letters", {"name": "abc"})
    assert not result.is_error, texts(result)
    assert result.structured_content["letters"] == '["a","b","c"]', result.structured_content


async def test_a_streaming_endpoint_streams_its_values_as_progress(apps):
    # A generator (a reply written a word at a time): each value so far reaches
    # the client as a progress message (coalesced), the whole as the result.
    extra = f'\n[tools.words]\nspace = "{apps.kitchen.url}"\napi = "/words"\n'
    seen: list[str] = []

    async def on_progress(progress, total, message):
        seen.append(message or "")

    async with await discovered_session(apps, extra) as session:
        await wait_for_tool(session, "words")
        result = await session.call_tool("words", {"text": "one two three four five six", "delay": 0.3}, progress_callback=on_progress)
    assert not result.is_error, texts(result)
    assert texts(result) == "one two three four five six", texts(result)
    partial = [m.removeprefix("so far: ") for m in seen if m.startswith("so far: ")]
    print(partial)
    assert len(partial) >= 2, seen
    assert all("one two three four five six".startswith(p) for p in partial), partial
    assert any(p != "one two three four five six" for p in partial), partial
