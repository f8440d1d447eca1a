"""Spaces the model finds and uses itself (opt-in, `[hub] tools = true`):
search the Hub, describe a Space, call it. The Hub is the stand-in
(tests/apps/hub_standin.py, the one hand-written server here, answering in
the Hub's own JSON shapes), whose Space records point at the real local
Gradio apps."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import APPS, free_port, local_config, wait_for_url, with_settings, write_config
from mcp_helpers import HttpServer, label, mcp_session, tasks_client, texts

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def hub(apps, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hub")
    running = {"stage": "RUNNING", "hardware": {"current": "zero-a10g"}}
    spaces = [
        {"id": "alice/painter", "host": apps.sana.url, "likes": 40, "trendingScore": 5, "sdk": "gradio",
         "tags": ["gradio", "mcp-server"], "runtime": running,
         "cardData": {"title": "Painter", "short_description": "Paints a picture from words."}},
        {"id": "bob/speaker", "host": apps.dia.url, "likes": 25, "trendingScore": 9, "sdk": "gradio",
         "tags": ["gradio"], "runtime": running,
         "cardData": {"title": "Speaker", "short_description": "Text to speech, painted voices."}},
        {"id": "carol/asleep-painter", "host": apps.sana.url, "likes": 100, "sdk": "gradio", "tags": ["gradio"],
         "runtime": {"stage": "PAUSED", "hardware": {"current": None}}, "cardData": {"title": "Paused painter"}},
        {"id": "mallory/painter-clone", "host": apps.sana.url, "likes": 90, "sdk": "gradio", "tags": ["gradio"],
         "runtime": running, "cardData": {"title": "Painter clone"}},
        {"id": "frank/slow", "host": apps.tasks.url, "likes": 0, "sdk": "gradio", "tags": ["gradio"],
         "runtime": running, "cardData": {"title": "Slow"}},
        {"id": "erin/painter-three", "host": apps.sana.url, "likes": 1, "sdk": "gradio", "tags": ["gradio"],
         "runtime": running, "cardData": {"title": "Third painter"}},
    ]
    records = tmp / "spaces.json"
    records.write_text(json.dumps(spaces))
    log = tmp / "hub.log"
    port = free_port()
    process = subprocess.Popen([sys.executable, str(APPS / "hub_standin.py"), str(port), "--spaces", str(records),
                                "--log", str(log)])
    url = f"http://127.0.0.1:{port}"
    wait_for_url(url + "/api/spaces?search=x", 20, process)
    config = write_config(tmp, with_settings(local_config(apps), f'output_dir = "{tmp / "out"}"')
                          + '\n[hub]\ntools = true\ndeny = ["mallory"]\nmax_spaces_per_hour = 2\n')
    env = {"HF_ENDPOINT": url, "HF_TOKEN": "hf_hubtoolstest", "SPACES_MCP_CACHE_DIR": str(tmp / "cache")}
    yield {"config": config, "env": env, "log": log, "tmp": tmp}
    process.terminate()
    process.wait(timeout=10)


def hub_requests(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line]


async def test_the_hub_tools_are_off_unless_asked_for(apps, tmp_path):
    config = write_config(tmp_path, local_config(apps))
    async with mcp_session(config) as session:
        names = {t.name for t in (await session.list_tools()).tools}
    assert not {"hub_search_spaces", "hub_describe_space", "hub_call_space"} & names


async def test_search_finds_running_gradio_spaces_the_config_allows(hub):
    async with mcp_session(hub["config"], env=hub["env"]) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"hub_search_spaces", "hub_describe_space", "hub_call_space"} <= names
        found = await session.call_tool("hub_search_spaces", {"query": "paint"})
        mcp_only = await session.call_tool("hub_search_spaces", {"query": "paint", "mcp_only": True})
    assert not found.is_error, texts(found)
    ids = [s["id"] for s in found.structured_content["spaces"]]
    # Paused and denied Spaces are left out; best liked first.
    assert ids == ["alice/painter", "bob/speaker", "erin/painter-three"], ids
    first = found.structured_content["spaces"][0]
    assert first == {"id": "alice/painter", "title": "Painter", "likes": 40, "hardware": "zero-a10g",
                     "state": "RUNNING", "summary": "Paints a picture from words."}
    assert '- alice/painter "Painter": 40 likes, zero-a10g — Paints a picture from words.' in texts(found)
    assert [s["id"] for s in mcp_only.structured_content["spaces"]] == ["alice/painter"]
    search = next(r for r in hub_requests(hub["log"]) if r["query"].get("search") == ["paint"])
    assert search["query"]["filter"] == ["gradio"] and search["query"]["sort"] == ["likes"]
    assert "runtime" in search["query"]["expand"] and "cardData" in search["query"]["expand"]


async def test_a_denied_space_does_not_make_the_answer_short(hub):
    # Asked for 2: the Hub's best are the paused carol (left out), the denied
    # mallory, then alice and bob. The deny list runs before the limit, and
    # the answer says how many it left out. HF_ENDPOINT is read with one rule:
    # blanks and a trailing slash around it are nothing.
    env = {**hub["env"], "HF_ENDPOINT": f' {hub["env"]["HF_ENDPOINT"]}/ '}
    async with mcp_session(hub["config"], env=env) as session:
        found = await session.call_tool("hub_search_spaces", {"query": "paint", "limit": 2})
    assert not found.is_error, texts(found)
    assert [s["id"] for s in found.structured_content["spaces"]] == ["alice/painter", "bob/speaker"]
    assert found.structured_content["left_out_by_allow_deny"] == 1
    assert "1 more matched, left out" in texts(found) and "allow/deny" in texts(found), texts(found)


async def test_describe_then_call_a_space_as_a_configured_tool(hub, apps):
    before = len(apps.sana.requests())
    async with mcp_session(hub["config"], env=hub["env"]) as session:
        described = await session.call_tool("hub_describe_space", {"space": "alice/painter"})
        assert not described.is_error, texts(described)
        endpoints = {e["endpoint"]: e for e in described.structured_content["endpoints"]}
        schema = endpoints["/infer"]["input_schema"]
        assert schema["properties"]["width"]["type"] == "number" and "prompt" in schema["required"]
        assert "- /infer(prompt: string" in texts(described)

        made = await session.call_tool("hub_call_space", {"space": "alice/painter", "endpoint": "/infer",
                                                          "arguments": {"prompt": "a fox", "width": 256, "height": 256}})
        assert not made.is_error, texts(made)
        assert made.content[0].type == "image"
        assert made.structured_content["result"]["kind"] == "image"

        wrong = await session.call_tool("hub_call_space", {"space": "alice/painter", "endpoint": "/infer",
                                                           "arguments": {"prompt": "x", "width": "wide"}})
        assert wrong.is_error and '"width"' in texts(wrong), texts(wrong)

        denied = await session.call_tool("hub_call_space", {"space": "mallory/painter-clone", "endpoint": "/infer",
                                                            "arguments": {"prompt": "x"}})
        assert denied.is_error and "[hub] allow/deny" in texts(denied), texts(denied)

        spoken = await session.call_tool("hub_call_space", {"space": "bob/speaker", "endpoint": "/generate_audio",
                                                            "arguments": {"text_input": "[S1] Hi."}})
        assert not spoken.is_error, texts(spoken)
        # A third distinct Space in the hour is past max_spaces_per_hour = 2.
        third = await session.call_tool("hub_describe_space", {"space": "erin/painter-three"})
        assert third.is_error and "max_spaces_per_hour" in texts(third), texts(third)
        # The ones already used stay usable.
        again = await session.call_tool("hub_describe_space", {"space": "alice/painter"})
        assert not again.is_error
    # The Space is on 127.0.0.1, not an https *.hf.space address: the HF
    # token never went to it, as for a configured Space.
    sent = apps.sana.requests()[before:]
    assert sent and not any(r["x_hf_authorization"] or r["authorization"] for r in sent)


async def test_a_long_hub_call_becomes_a_task(hub, apps):
    """A Hub call runs as a configured tool's does: for a client with the
    tasks extension (rmcp's), a call that outlives its request is a task."""
    server = HttpServer(hub["config"], hub["tmp"], env=hub["env"])
    try:
        job = label()
        arguments = {"space": "frank/slow", "endpoint": "/slow_compute", "arguments": {"seconds": 2, "label": job}}
        created = tasks_client(server.url, "call", "hub_call_space", json.dumps(arguments))["ok"]
        assert created["resultType"] == "task" and created["status"] == "working", created
        done = tasks_client(server.url, "poll", created["taskId"], "20")["ok"]
        assert done["status"] == "completed", done
        assert done["result"]["content"][0]["text"] == f"computed {job} in 2s"
    finally:
        server.stop()
