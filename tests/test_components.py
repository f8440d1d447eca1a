"""Every Gradio component, as a Space nobody shaped for spaces-mcp.

tests/apps/components.py builds, from the installed Gradio's own list of
components, one endpoint per component as input (`/in_<name>`, which reports
what the function received) and one as output (`/out_<name>`, which returns
the component's example value). The whole app is added with one line of
config, `[spaces.c]`, on a fresh cache.

- A client that lists tools exactly once sees every public endpoint.
- Each endpoint is called twice with `/info`'s `example_input`: directly,
  with Gradio's own Python client, and through spaces-mcp with the official
  MCP client (files given as local paths, as a user would). Whenever the
  direct call succeeds, ours must too; an input endpoint must receive the
  same thing both ways, every `structuredContent` must validate against
  the tool's `outputSchema` (Python `jsonschema`), and no output's text may
  hold Gradio's FileData shapes.

The examples name files on the internet, which these machines cannot reach,
so each file in an example is replaced by a local one of the same kind, on
both paths alike.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
import time
import urllib.request
import wave
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from helpers import start_app, wait_ready, write_config
from mcp_helpers import mcp_session, texts

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def components(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("components")
    skipped = tmp / "skipped.json"
    app = start_app("components", "components", tmp, env={"COMPONENTS_SKIPPED": str(skipped)})
    try:
        wait_ready(app, time.monotonic() + 180)
        with urllib.request.urlopen(app.url + "/gradio_api/info", timeout=30) as response:
            info = json.load(response)
        yield app, info, json.loads(skipped.read_text()), tmp
    finally:
        app.process.terminate()
        app.process.wait(timeout=20)


def samples(folder: Path) -> dict[str, Path]:
    """One small local file of each kind the examples use."""
    folder.mkdir(exist_ok=True)
    png = folder / "bus.png"
    Image.new("RGB", (32, 24), (10, 120, 200)).save(png)
    wav = folder / "audio_sample.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8))) for i in range(4000)))
    pdf = folder / "sample_file.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% a tiny stand-in\n")
    gltf = folder / "Fox.gltf"
    gltf.write_text(json.dumps({"asset": {"version": "2.0"}}))
    mp4 = folder / "world.mp4"
    mp4.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 256)
    return {"png": png, "jpg": png, "jpeg": png, "webp": png, "wav": wav, "pdf": pdf, "gltf": gltf, "mp4": mp4}


def is_file(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("meta"), dict) and value["meta"].get("_type") == "gradio.FileData"


def local_for(file: dict, files: dict[str, Path]) -> Path:
    name = str(file.get("orig_name") or file.get("path") or "")
    return files.get(name.rsplit(".", 1)[-1].lower(), files["pdf"])


def for_gradio(value, files):
    """The example with each file a local one, for Gradio's own client."""
    from gradio_client import handle_file

    if is_file(value):
        return handle_file(str(local_for(value, files)))
    if isinstance(value, list):
        return [for_gradio(v, files) for v in value]
    if isinstance(value, dict):
        return {k: for_gradio(v, files) for k, v in value.items()}
    return value


def for_mcp(value, files):
    """The example with each file given as spaces-mcp takes it: a local path."""
    if is_file(value):
        return str(local_for(value, files))
    if isinstance(value, list):
        return [for_mcp(v, files) for v in value]
    if isinstance(value, dict):
        return {k: for_mcp(v, files) for k, v in value.items()}
    return value


def direct_call(url: str, api: str, args: list):
    """The call as Gradio's own Python client makes it: (ok, result or error)."""
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, download_files=False)
        return True, client.predict(*args, api_name=api)
    except Exception as e:  # the app refused it: the direct path fails too
        return False, f"{type(e).__name__}: {e}"


def content_kinds(result) -> str:
    kinds = [c.type for c in result.content]
    return "+".join(sorted(set(kinds), key=kinds.index))


def short_schema(schema: dict) -> str:
    text = json.dumps(schema, separators=(",", ":"))
    return text if len(text) <= 70 else text[:67] + "..."


async def test_every_component_works_as_it_does_directly(components, tmp_path):
    app, info, skipped, _ = components
    endpoints = {k: v for k, v in info["named_endpoints"].items() if v.get("api_visibility", "public") == "public"}
    files = samples(tmp_path / "files")
    config = write_config(
        tmp_path,
        f'[settings]\ninput_dirs = ["{tmp_path / "files"}"]\ntimeout = 60\n\n[spaces.c]\nspace = "{app.url}"\n',
    )
    env = {"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp(prefix="spaces-mcp-cache-"), "HF_HUB_OFFLINE": "1"}
    rows = []
    failures = []
    async with mcp_session(config, env=env) as session:
        # One list, right after initialize: it must already hold every endpoint.
        tools = {t.name: t for t in (await session.list_tools()).tools}
        expected = {"c_" + api.strip("/") for api in endpoints}
        missing = expected - set(tools)
        assert not missing, f"the first tools/list lacks {sorted(missing)}"

        for api in sorted(endpoints):
            endpoint = endpoints[api]
            tool = tools["c_" + api.strip("/")]
            parameters = endpoint["parameters"]
            example = [p.get("example_input") for p in parameters]
            ok_direct, direct = direct_call(app.url, api, [for_gradio(v, files) for v in example])
            arguments = {name: for_mcp(v, files) for name, v in zip(tool.input_schema.get("properties", {}), example)}
            result = await session.call_tool(tool.name, arguments)
            ours_ok = not result.is_error
            problem = None
            if ok_direct and not ours_ok:
                problem = f"direct call succeeded, ours failed: {texts(result)[:300]}"
            if ours_ok and result.structured_content is not None and tool.output_schema:
                try:
                    jsonschema.validate(result.structured_content, tool.output_schema)
                except jsonschema.ValidationError as e:
                    problem = f"structuredContent does not fit outputSchema: {e.message[:200]}"
            # What the model reads is words and links, never Gradio's own
            # shapes: a file inside a value (a chat message's image, an
            # annotated image's masks, an editor's layers) gets a line of its
            # own, and its FileData stays in structuredContent.
            if ours_ok and api.startswith("/out_") and ("gradio.FileData" in texts(result) or '"path":' in texts(result)):
                problem = f"Gradio's FileData in the text: {texts(result)[:300]}"
            if ok_direct and ours_ok and api.startswith("/in_"):
                received = next(iter(result.structured_content.values()))
                if received != direct:
                    problem = f"the app received {received}, directly {direct}"
            if problem:
                failures.append(f"{api}: {problem}")
            component = api.split("_", 1)[1]
            schema = tool.input_schema["properties"].get(next(iter(tool.input_schema["properties"]), ""), {}) if parameters else {}
            rows.append((api, component, short_schema(schema) if parameters else "-", content_kinds(result), ok_direct, ours_ok, problem is None))

    print(f"\n{'endpoint':<28} {'component':<18} {'input schema':<72} {'content':<24} direct ours match")
    for api, component, schema, content, ok_direct, ours_ok, match in rows:
        print(f"{api:<28} {component:<18} {schema:<72} {content:<24} {'ok' if ok_direct else 'fail':<6} {'ok' if ours_ok else 'fail':<4} {'yes' if match else 'NO'}")
    print(f"left out by the app (not values): {json.dumps(skipped['left_out'])}")
    ran_direct = sum(1 for row in rows if row[4])
    ran_both = sum(1 for row in rows if row[4] and row[5])
    print(f"{len(rows)} endpoints; {ran_direct} ran directly, {ran_both} of them through spaces-mcp too")
    # No component may be left out silently: one the app could not build fails here.
    assert skipped["failed"] == {}, skipped["failed"]
    assert len(rows) == len(endpoints) and len(endpoints) >= 2 * 40, len(endpoints)
    assert ran_both == ran_direct
    # Most examples run directly: a Gradio whose examples mostly fail would test nothing.
    assert ran_direct >= 0.8 * len(rows), (ran_direct, len(rows))
    assert not failures, "\n".join(failures)
