"""The same server for a 2026-07-28 client (stateless: no initialize, list
changes on `subscriptions/listen`) and a 2025-era one (a session, list changes
pushed on it): tools/list, a call with progress, prompts, list changes. The
client is the official Python SDK 2.x in both modes."""

from __future__ import annotations

import time

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from helpers import local_config, write_config
from mcp_helpers import HttpServer, texts

pytestmark = pytest.mark.anyio

PROMPTS = """
[prompts.poster]
title = "Poster"
description = "An image for an event poster."
template = "Use generate_image to make a poster for {event}, in a {style} style."
arguments.event = { description = "What the poster is for." }
arguments.style = { description = "A visual style.", required = false }
"""

STEPS = """
[tools.steps]
space = "JOBS"
api = "/steps"
inputs.job = { type = "string" }
inputs.n = { type = "integer", default = 5 }
inputs.delay = { type = "number", default = 0.1 }
"""


@pytest.fixture
def server(apps, tmp_path):
    text = local_config(apps, PROMPTS + STEPS.replace("JOBS", apps.jobs.url))
    running = HttpServer(write_config(apps.tmp, text), tmp_path)
    yield running
    running.stop()


@pytest.mark.parametrize("mode", ["2026-07-28", "legacy"])
async def test_tools_a_call_with_progress_and_prompts_in_each_mode(server, mode):
    async with Client(server.url + "/mcp", mode=mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"generate_image", "run_dia_tts", "steps", "await_job", "cancel_job"} <= names

        heard: list[str] = []

        async def on_progress(progress, total, message):
            heard.append(message)

        result = await client.call_tool("steps", {"job": f"protocol-{mode}", "n": 4, "delay": 0.1}, progress_callback=on_progress)
        assert not result.is_error and texts(result) == f"job protocol-{mode}: 4 steps done", texts(result)
        assert any(m.startswith("denoising: step") for m in heard), heard

        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert {"poster", "generate_image", "run_dia_tts", "steps"} <= prompts.keys()
        image = prompts["generate_image"]
        assert [(a.name, a.required) for a in image.arguments] == [("prompt", True)]
        guided = await client.get_prompt("generate_image", {"prompt": "a lighthouse at dusk"})
        message = guided.messages[0].content.text
        assert message.startswith("Use the tool `generate_image` for this."), message
        assert '- prompt: "a lighthouse at dusk"' in message and "- width (integer, default 512" in message
        poster = await client.get_prompt("poster", {"event": "the harbour fair"})
        assert poster.messages[0].content.text == "Use generate_image to make a poster for the harbour fair, in a  style."
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("poster", {})
        assert refused.value.error.code == -32602 and "needs the argument event" in refused.value.error.message


async def test_list_changes_reach_a_2026_client_on_its_listen_stream_as_filtered(server):
    async with Client(server.url + "/mcp", mode="2026-07-28") as client:
        # Saving a file changes the resource list; a stream that asked only
        # for tool changes hears nothing of it.
        async with client.listen(resources_list_changed=True) as resources, client.listen(tools_list_changed=True) as tools:
            assert resources.honored.resources_list_changed and tools.honored.tools_list_changed
            started = time.monotonic()
            result = await client.call_tool("generate_image", {"prompt": "a kite", "width": 256, "height": 256})
            assert not result.is_error, texts(result)
            with anyio.fail_after(10):
                event = await resources.__anext__()
            print(f"resources list change heard {time.monotonic() - started:.1f} s after the call began: {event}")
            assert "resource" in type(event).__name__.lower() or "resource" in str(event).lower(), event
            with anyio.move_on_after(2.5) as quiet:
                unexpected = await tools.__anext__()
            assert quiet.cancelled_caught, f"a tools-only stream heard {unexpected}"


async def test_initialize_is_gone_in_2026(server):
    import httpx

    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "probe", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "initialize",
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"_meta": meta}}
    async with httpx.AsyncClient() as http:
        response = await http.post(server.url + "/mcp", json=body, headers=headers)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == -32601


async def test_a_2026_client_over_stdio(apps):
    """The stateless core where stdio allows it: no initialize, prompts, listen."""
    from mcp import StdioServerParameters

    from helpers import binary

    config = write_config(apps.tmp, local_config(apps, PROMPTS))
    params = StdioServerParameters(command=binary(), args=["serve", "--config", str(config)])
    async with Client(params, mode="2026-07-28") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"generate_image", "run_dia_tts"} <= names
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert {"poster", "generate_image"} <= prompts
        async with client.listen(resources_list_changed=True) as resources:
            result = await client.call_tool("generate_image", {"prompt": "a kite", "width": 256, "height": 256})
            assert not result.is_error, texts(result)
            with anyio.fail_after(10):
                await resources.__anext__()


@pytest.mark.parametrize("mode", ["2026-07-28", "legacy"])
async def test_the_spaces_log_lines_go_only_to_requests_that_ask(server, mode):
    """gr.Info lines of the Space reach a client as log messages only when it
    asked for logs: on the request (2026-07-28) or with logging/setLevel."""
    heard: list[str] = []

    async def on_log(params):
        heard.append(str(params.data))

    quiet_job, loud_job = f"quiet-{mode}", f"loud-{mode}"
    async with Client(server.url + "/mcp", mode=mode, logging_callback=on_log) as client:
        result = await client.call_tool("steps", {"job": quiet_job, "n": 2, "delay": 0.05})
        assert not result.is_error, texts(result)
    assert not heard, heard

    options = {"log_level": "info"} if mode != "legacy" else {}
    async with Client(server.url + "/mcp", mode=mode, logging_callback=on_log, **options) as client:
        if mode == "legacy":
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await client.set_logging_level("info")
        result = await client.call_tool("steps", {"job": loud_job, "n": 2, "delay": 0.05})
        assert not result.is_error, texts(result)
        with anyio.fail_after(5):
            while not heard:
                await anyio.sleep(0.05)
    assert heard == [f"warming up for job {loud_job}"], heard


@pytest.fixture
def diagnosing(apps, tmp_path):
    from helpers import with_settings

    running = HttpServer(write_config(apps.tmp, with_settings(local_config(apps), "diagnostics = true")), tmp_path)
    yield running
    running.stop()


@pytest.mark.parametrize("mode", ["2026-07-28", "legacy"])
async def test_the_diagnostic_tools_in_each_mode(diagnosing, server, mode):
    from mcp import types

    asked: list[str] = []

    async def sample(context, params):
        asked.append(params.messages[0].content.text)
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="ok"), model="test-model")

    # Off unless asked for.
    async with Client(server.url + "/mcp", mode=mode) as plain:
        names = {t.name for t in (await plain.list_tools()).tools}
        assert not names & {"test_trigger_tool_change", "test_missing_capability"}

    # A client without sampling is refused with the missing-capability error.
    async with Client(diagnosing.url + "/mcp", mode=mode) as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("test_missing_capability", {})
        assert refused.value.error.code == -32021 and "sampling" in str(refused.value.error.data), refused.value.error

    # One with sampling is asked (in the request on a session; with an
    # input_required answer and a second call in 2026-07-28), and the tool
    # says what its model answered.
    async with Client(diagnosing.url + "/mcp", mode=mode, sampling_callback=sample) as client:
        result = await client.call_tool("test_missing_capability", {})
        assert texts(result) == "the client's model (test-model) said: ok", texts(result)
        assert asked == ["Answer with one word: ok."]

        # The triggers really change the lists.
        before = {t.name for t in (await client.list_tools()).tools}
        assert "diagnostic_probe" not in before
        assert texts(await client.call_tool("test_trigger_tool_change", {})) == "the tool diagnostic_probe was added"
        after = {t.name for t in (await client.list_tools()).tools}
        assert after - before == {"diagnostic_probe"}
        assert texts(await client.call_tool("diagnostic_probe", {})) == "ok"
        assert texts(await client.call_tool("test_trigger_prompt_change", {})) == "the prompt diagnostic_probe was added"
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert "diagnostic_probe" in prompts
        assert (await client.get_prompt("diagnostic_probe")).messages[0].content.text == "Say ok."
        # Back as they were, for the other mode.
        await client.call_tool("test_trigger_tool_change", {})
        await client.call_tool("test_trigger_prompt_change", {})
        assert "diagnostic_probe" not in {t.name for t in (await client.list_tools()).tools}
