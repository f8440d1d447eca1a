"""The compatibility matrix: every client library people use with MCP
servers, pinned, lists the default tools and calls both against the local
image and speech apps, and each test asserts what that library hands its
user (or its model) with the default settings: the image or audio in the
library's own type, or the file's URL and saved path in text; never a crash,
never base64 as text. Then the two script patterns of the MCP tutorials, the
hosts' names, and each way to change what a client gets.

The libraries that pin mcp<2 run in their own venv (.venv-clients,
tests/clients/requirements.txt); fastmcp and pydantic-ai, which need
mcp>=2, in the test venv; mcp-remote and the Inspector's CLI from npm
(tests/clients/package.json). scripts/clients.sh sets them all up.
tests/clients/drive.py drives each Python library as its users do.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import jsonschema
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.types import Implementation

from helpers import ROOT, binary, local_config, with_settings, write_config
from mcp_helpers import TEST_CLIENT, HttpServer, streamable

pytestmark = pytest.mark.anyio

CLIENTS = ROOT / "tests" / "clients"
NODE = CLIENTS / "node_modules" / "node" / "bin" / "node"
MCP_REMOTE = CLIENTS / "node_modules" / "mcp-remote" / "dist" / "proxy.js"
INSPECTOR = CLIENTS / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"

# Which venv each library runs in.
NEEDS_MCP_2 = {"fastmcp", "pydantic-ai"}

IMAGE = {"tool": "generate_image", "arguments": {"prompt": "a lighthouse at dusk"}}
AUDIO = {"tool": "run_dia_tts", "arguments": {"text_input": "[S1] Hello there. [S2] Hi!"}}
WRONG = {"tool": "generate_image", "arguments": {"prompt": "x", "width": "big"}}

# A run of base64 this long in text is a file's bytes, not words or a URL.
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{200,}={0,2}")
# Where a file was saved: in the text ("saved to /…;"), or in the
# structured result a library hands on as JSON ("path": "/…").
SAVED_TO = re.compile(r'saved to (/[^;\n]+?)(?:;|\n|$)|"path": "(/[^"]+)"')


def clients_python() -> str:
    venv = Path(os.environ.get("SPACES_MCP_CLIENTS_VENV", ROOT / ".venv-clients"))
    if not venv.is_absolute():
        venv = ROOT / venv
    python = venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} does not exist: scripts/clients.sh (run by scripts/test.sh) makes it")
    return str(python)


def node_client(path: Path) -> list[str]:
    if not NODE.exists() or not path.exists():
        pytest.fail(f"{path} is missing: scripts/clients.sh (run by scripts/test.sh) installs it")
    return [str(NODE), str(path)]


def drive(library: str, spec: dict) -> dict:
    """What `library` hands its user for each call of `spec`."""
    python = sys.executable if library in NEEDS_MCP_2 else clients_python()
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", PYTHONWARNINGS="ignore")
    done = subprocess.run([python, str(CLIENTS / "drive.py"), library, json.dumps(spec)],
                          capture_output=True, text=True, timeout=300, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"{library} printed nothing; stderr:\n{done.stderr[-4000:]}"
    report = json.loads(lines[-1])
    assert "failed" not in report, f"{library} failed:\n{report['failed']}\nstderr:\n{done.stderr[-3000:]}"
    return report


def strings(value) -> list[str]:
    """Every text a described value holds (what reaches a model as text)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    return []


def typed_media(value) -> list[str]:
    """The media a described value holds in a library's own types."""
    found = []
    if isinstance(value, list):
        for v in value:
            found += typed_media(v)
    elif isinstance(value, dict):
        if value.get("kind") == "PIL.Image":
            found.append("image")
        elif value.get("kind") == "block" and value.get("type") in ("image", "audio") and (value.get("data_len") or value.get("base64_len")):
            found.append(value["type"])
        elif str(value.get("class", "")).endswith(("ImageContent", "AudioContent")):
            found.append("image" if "Image" in value["class"] else "audio")
        for key, v in value.items():
            if key != "class":
                found += typed_media(v)
    return found


def delivery(got, app_url: str, kind: str) -> str:
    """How a call's file reached the user: "inline" (in the library's own
    type), "link" (its URL on the app, and a saved path that holds it, in
    text), or what went wrong."""
    texts = strings(got)
    for text in texts:
        assert not BASE64_RUN.search(text), f"base64 reached the client as text: {text[:300]}…"
    if kind in typed_media(got):
        return "inline"
    whole = "\n".join(texts)
    if app_url + "/gradio_api/file=" not in whole:
        return f"no URL in: {whole[:500]}"
    saved = [a or b for a, b in SAVED_TO.findall(whole)]
    if not saved or not any(Path(p.strip()).is_file() for p in saved):
        return f"no saved file in: {whole[:500]}"
    return "link"


@pytest.fixture(scope="module")
def served(apps, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clients")
    text = with_settings(local_config(apps), f'output_dir = "{tmp / "out"}"')
    config = write_config(tmp, text)
    server = HttpServer(config, tmp)
    yield {"config": config, "tmp": tmp, "url": server.url, "stdio": [binary(), "--config", str(config), "serve"]}
    server.stop()


# library → transport → what its user gets for the image, and for the audio,
# with the default settings.
MATRIX = [
    ("fastmcp", "stdio", "link", "link"),
    ("fastmcp", "http", "link", "link"),
    ("pydantic-ai", "stdio", "link", "link"),
    ("langchain-mcp-adapters", "stdio", "link", "link"),
    ("openai-agents", "stdio", "link", "link"),
    ("openai-agents", "http", "link", "link"),
    ("smolagents", "stdio", "link", "link"),
    ("huggingface_hub", "stdio", "link", "link"),
    ("mcp-use", "stdio", "inline", "inline"),
]


@pytest.mark.parametrize("library,transport,image,audio", MATRIX, ids=[f"{m[0]}-{m[1]}" for m in MATRIX])
def test_each_library_gets_a_usable_image_and_audio_by_default(served, apps, library, transport, image, audio):
    spec = {"calls": [IMAGE, AUDIO, WRONG]}
    spec.update({"url": served["url"] + "/mcp"} if transport == "http" else {"command": served["stdio"]})
    report = drive(library, spec)
    assert {"generate_image", "run_dia_tts"} <= set(report["tools"])
    picture, sound, wrong = report["calls"]
    assert "error" not in picture and "error" not in sound, (picture, sound)
    assert delivery(picture["got"], apps.sana.url, "image") == image
    assert delivery(sound["got"], apps.dia.url, "audio") == audio
    # A wrong argument: the model is told which one, however the library
    # passes errors on (a result, or an exception the model sees).
    told = "\n".join(strings(wrong.get("got"))) + wrong.get("error", "")
    assert "width" in told and "big" in told, wrong


@contextlib.asynccontextmanager
async def sdk_session(command: list[str], client: Implementation | None = None, env: dict | None = None):
    """A session of the official SDK over stdio, under the SDK's own
    default name unless `client` is given."""
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    kwargs = {"client_info": client} if client else {}
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write, **kwargs) as session:
                await session.initialize()
                yield session


# What the Messages API accepts as a tool_result's content (its docs: text,
# image with a base64 or URL source, search_result, document blocks).
TOOL_RESULT_CONTENT = {
    "type": "array",
    "items": {
        "oneOf": [
            {"type": "object", "required": ["type", "text"], "additionalProperties": False,
             "properties": {"type": {"const": "text"}, "text": {"type": "string"}, "cache_control": {"type": "object"},
                            "citations": {"type": "array"}}},
            {"type": "object", "required": ["type", "source"], "additionalProperties": False,
             "properties": {"type": {"const": "image"}, "cache_control": {"type": "object"},
                            "source": {"type": "object", "required": ["type"],
                                       "properties": {"type": {"enum": ["base64", "url"]}}}}},
            {"type": "object", "required": ["type", "source"],
             "properties": {"type": {"enum": ["document", "search_result"]}}},
        ]
    },
}


async def test_a_script_passing_content_to_the_messages_api_sends_what_it_accepts(served, apps):
    """The tutorials' client: `{"type": "tool_result", "content":
    result.content}` straight into Anthropic's Messages API."""
    async with sdk_session(served["stdio"]) as session:
        for call, app, kind in ((IMAGE, apps.sana, "image"), (AUDIO, apps.dia, "audio")):
            result = await session.call_tool(call["tool"], call["arguments"])
            content = [block.model_dump(mode="json", exclude_none=True) for block in result.content]
            jsonschema.validate(content, TOOL_RESULT_CONTENT)
            assert delivery(content, app.url, kind) == "link"
    # The check bites: a named client that takes images gets MCP's image
    # shape, which the Messages API refuses.
    async with sdk_session(served["stdio"], Implementation(name="claude-ai", version="1")) as session:
        result = await session.call_tool(IMAGE["tool"], IMAGE["arguments"])
        content = [block.model_dump(mode="json", exclude_none=True) for block in result.content]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(content, TOOL_RESULT_CONTENT)


async def test_a_script_that_prints_the_result_into_its_prompt_stays_small(served, apps):
    """`f"Tool execution result: {result}"` and `"\\n".join(str(c) for c in
    result.content)`: the prompt holds the URL and the path, not the file."""
    async with sdk_session(served["stdio"]) as session:
        for call, app in ((IMAGE, apps.sana), (AUDIO, apps.dia)):
            result = await session.call_tool(call["tool"], call["arguments"])
            for prompt in (f"Tool execution result: {result}", "\n".join(str(c) for c in result.content)):
                assert len(prompt) < 4000, len(prompt)
                assert not BASE64_RUN.search(prompt)
                assert app.url + "/gradio_api/file=" in prompt


HOSTS = ["claude-ai", "claude-code", "cursor-vscode", "Visual Studio Code", "windsurf-client", "inspector-cli"]


@pytest.mark.parametrize("name", HOSTS)
async def test_hosts_get_images_inline_by_their_name(served, name):
    async with sdk_session(served["stdio"], Implementation(name=name, version="1")) as session:
        result = await session.call_tool(IMAGE["tool"], IMAGE["arguments"])
        assert [c.type for c in result.content][:2] == ["image", "text"], result.content
        assert result.content[0].annotations.priority == 1.0
        assert result.content[-1].type == "resource_link"


async def test_claude_through_mcp_remote_gets_the_image_inline_and_the_audio_linked(served, apps):
    """mcp-remote bridges a stdio host to /mcp, naming itself after the host
    ("claude-ai (via mcp-remote 0.15.1)"): the host's profile applies."""
    command = [*node_client(MCP_REMOTE), served["url"] + "/mcp", "--allow-http", "--transport", "http-only"]
    async with sdk_session(command, Implementation(name="claude-ai", version="1"),
                           env=dict(os.environ, MCP_REMOTE_CONFIG_DIR=str(served["tmp"] / "mcp-remote"))) as session:
        picture = await session.call_tool(IMAGE["tool"], IMAGE["arguments"])
        assert [c.type for c in picture.content] == ["image", "text", "resource_link"]
        sound = await session.call_tool(AUDIO["tool"], AUDIO["arguments"])
        described = [c.model_dump(mode="json", exclude_none=True) for c in sound.content]
        assert "audio" not in [c.type for c in sound.content]
        assert delivery(described, apps.dia.url, "audio") == "link"
        assert 'content profile is "images"' in sound.content[0].text


def test_the_inspector_cli_shows_every_block(served):
    for call, kind in ((IMAGE, "image"), (AUDIO, "audio")):
        args = [f"{k}={v}" for k, v in call["arguments"].items()]
        done = subprocess.run([*node_client(INSPECTOR), "--cli", served["url"] + "/mcp", "--transport", "http",
                               "--method", "tools/call", "--tool-name", call["tool"],
                               *[a for arg in args for a in ("--tool-arg", arg)]],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(done.stdout[done.stdout.index("{"):])
        assert [b["type"] for b in result["content"]] == [kind, "text", "resource_link"], result


# Changing what a client gets.

def test_a_client_table_in_the_config_gives_smolagents_the_image_as_a_picture(apps, tmp_path):
    text = local_config(apps) + '\n[clients."mcp"]\ncontent = "images"\n'
    text = with_settings(text, f'output_dir = "{tmp_path / "out"}"')
    config = write_config(tmp_path, text)
    report = drive("smolagents", {"command": [binary(), "--config", str(config), "serve"], "calls": [IMAGE, AUDIO]})
    picture, sound = report["calls"]
    assert picture["got"]["kind"] == "PIL.Image", picture
    assert delivery(sound["got"], apps.dia.url, "audio") == "link"


def test_a_request_url_gives_langchain_images_and_never_an_audio_block(served, apps):
    report = drive("langchain-mcp-adapters", {"url": served["url"] + "/mcp?content=images", "calls": [IMAGE, AUDIO]})
    picture, sound = report["calls"]
    assert "error" not in sound, sound
    assert delivery(picture["got"], apps.sana.url, "image") == "inline"
    assert delivery(sound["got"], apps.dia.url, "audio") == "link"


async def test_the_environment_and_the_command_line_set_every_clients_content(served, apps):
    env = dict(os.environ, SPACES_MCP_CONTENT="rich")
    async with sdk_session(served["stdio"], env=env) as session:
        result = await session.call_tool(IMAGE["tool"], IMAGE["arguments"])
        assert result.content[0].type == "image"
    async with sdk_session([*served["stdio"], "--content", "text"], TEST_CLIENT, env=env) as session:
        result = await session.call_tool(IMAGE["tool"], IMAGE["arguments"])
        assert [c.type for c in result.content] == ["text"]
    bad = subprocess.run([*served["stdio"], "--content", "everything"], capture_output=True, text=True, timeout=30,
                         stdin=subprocess.DEVNULL)
    assert bad.returncode == 2 and "--content" in bad.stderr and '"rich"' in bad.stderr, bad.stderr


async def test_legacy_sse_takes_the_content_of_its_url(served, apps):
    async with sse_client(served["url"] + "/sse?content=text") as streams:
        async with ClientSession(streams[0], streams[1], client_info=TEST_CLIENT) as session:
            await session.initialize()
            result = await session.call_tool(IMAGE["tool"], IMAGE["arguments"])
            assert [c.type for c in result.content] == ["text"]
    async with streamable(served["url"]) as session:
        result = await session.call_tool(IMAGE["tool"], IMAGE["arguments"])
        assert result.content[0].type == "image"
