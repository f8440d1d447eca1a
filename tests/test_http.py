"""spaces-mcp over HTTP: Streamable HTTP at /mcp and legacy SSE at /sse, driven
by the official MCP Python SDK, against the real local Gradio apps; and the
guards in front of them, probed with plain HTTP requests (forged Host and
Origin headers are what an attacker sends, not what an MCP client does)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import time
import wave

import anyio
import httpx
import pytest
from mcp import Client
from PIL import Image

from helpers import binary, local_config, slow_tool, tasks_tools, with_settings, write_config
from mcp_helpers import ACCEPT, INIT, HttpServer, blocks, decoded, events, label, legacy, raw_session, streamable, texts, wait_for_event

pytestmark = pytest.mark.anyio



@pytest.fixture
def serve(apps):
    servers: list[HttpServer] = []

    def start(extra_config: str = "", args: list[str] = (), env: dict[str, str] | None = None, config_text: str | None = None) -> HttpServer:
        text = config_text if config_text is not None else local_config(apps, extra_config)
        server = HttpServer(write_config(apps.tmp, text), apps.tmp, list(args), env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


TRANSPORTS = {"streamable": streamable, "legacy_sse": legacy}


async def check_both_tools(session) -> None:
    tools = {t.name for t in (await session.list_tools()).tools}
    assert tools >= {"generate_image", "run_dia_tts"}
    image = await session.call_tool("generate_image", {"prompt": "a kite", "width": 384, "height": 256})
    assert not image.is_error, texts(image)
    with Image.open(io.BytesIO(decoded(blocks(image, "image")[0]))) as picture:
        assert picture.size == (384, 256)
    audio = await session.call_tool("run_dia_tts", {"text_input": "[S1] Over HTTP. [S2] Yes."})
    assert not audio.is_error, texts(audio)
    with wave.open(io.BytesIO(decoded(blocks(audio, "audio")[0]))) as wav:
        assert wav.getnframes() > 1000


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_both_tools_over_each_transport(serve, transport):
    server = serve()
    async with TRANSPORTS[transport](server.url) as session:
        await check_both_tools(session)


async def test_stateless_streamable_http(serve):
    server = serve(args=["--stateless"])
    async with streamable(server.url) as session:
        await check_both_tools(session)


def test_health_reports_the_server(serve):
    server = serve()
    reply = httpx.get(server.url + "/health")
    assert reply.status_code == 200
    assert reply.json()["status"] == "ok" and reply.json()["tools"] == 2


@pytest.mark.parametrize("path, method", [("/mcp", "POST"), ("/sse", "GET"), ("/messages?sessionId=x", "POST"), ("/health", "GET")])
def test_wrong_host_is_refused_on_every_route(serve, path, method):
    server = serve()
    reply = httpx.request(method, server.url + path, headers={**ACCEPT, "Host": "evil.example.com"}, json=INIT, timeout=5)
    assert reply.status_code == 403
    assert "evil.example.com" in reply.json()["error"]


@pytest.mark.parametrize("path, method", [("/mcp", "POST"), ("/sse", "GET")])
def test_wrong_origin_is_refused(serve, path, method):
    server = serve()
    reply = httpx.request(method, server.url + path, headers={**ACCEPT, "Origin": "http://evil.example.com"}, json=INIT, timeout=5)
    assert reply.status_code == 403
    # A loopback origin (the MCP Inspector's page, say) passes.
    ok = httpx.post(server.url + "/mcp", headers={**ACCEPT, "Origin": "http://localhost:6274"}, json=INIT, timeout=5)
    assert ok.status_code == 200


def test_allowed_hosts_and_origins_can_be_added(serve):
    server = serve(args=["--allowed-host", "mcp.example.com", "--allowed-origin", "https://app.example.com"])
    headers = {**ACCEPT, "Host": "mcp.example.com", "Origin": "https://app.example.com"}
    assert httpx.post(server.url + "/mcp", headers=headers, json=INIT, timeout=5).status_code == 200


async def test_bearer_token_is_required(serve):
    server = serve(args=["--auth-token-env", "SPACES_TEST_TOKEN"], env={"SPACES_TEST_TOKEN": "team-secret-42"})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "team-secret-42"}):
        reply = httpx.post(server.url + "/mcp", headers={**ACCEPT, **headers}, json=INIT, timeout=5)
        assert reply.status_code == 401, headers
        assert reply.headers["www-authenticate"] == "Bearer"
        assert httpx.get(server.url + "/sse", headers=headers, timeout=5).status_code == 401
    # /health answers without the token, but says no more than ok.
    public = httpx.get(server.url + "/health", timeout=5)
    assert public.status_code == 200 and public.json() == {"status": "ok"}
    good = {"Authorization": "Bearer team-secret-42"}
    assert "calls_in_flight" in httpx.get(server.url + "/health", headers=good, timeout=5).json()
    async with streamable(server.url, good) as session:
        assert len((await session.list_tools()).tools) == 4
    async with legacy(server.url, good) as session:
        assert len((await session.list_tools()).tools) == 4
    assert "team-secret-42" not in server.logs()


def test_missing_auth_token_variable_stops_the_server(apps):
    config = write_config(apps.tmp, local_config(apps))
    done = subprocess.run(
        [binary(), "--config", str(config), "serve", "--transport", "http", "--auth-token-env", "NO_SUCH_VARIABLE_X"],
        capture_output=True, text=True, timeout=20, env={k: v for k, v in os.environ.items() if k != "NO_SUCH_VARIABLE_X"},
    )
    assert done.returncode == 2 and "NO_SUCH_VARIABLE_X" in done.stderr


async def test_oversize_bodies_are_refused_with_413(serve):
    server = serve(args=["--max-body-bytes", "20000"])
    big = {**INIT, "params": {**INIT["params"], "padding": "x" * 50000}}
    assert httpx.post(server.url + "/mcp", headers=ACCEPT, json=big, timeout=5).status_code == 413
    # Legacy SSE: a real session, then an oversize POST to its endpoint.
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        async with client.stream("GET", "/sse") as events:
            # The iterator stays referenced, so the stream (and its session) stays open.
            lines = events.aiter_lines()
            endpoint = None
            while endpoint is None:
                line = await lines.__anext__()
                if line.startswith("data: "):
                    endpoint = line[len("data: "):]
            assert endpoint and endpoint.startswith("/messages?sessionId=")
            reply = await client.post(endpoint, json=big, headers=ACCEPT)
            assert reply.status_code == 413
            reply = await client.post(endpoint, content=b"{not json", headers=ACCEPT)
            assert reply.status_code == 400
            reply = await client.post(endpoint, json=INIT, headers=ACCEPT)
            assert reply.status_code == 202


def test_unknown_sessions_are_refused(serve):
    server = serve()
    reply = httpx.post(server.url + "/messages?sessionId=doesnotexist", headers=ACCEPT, json=INIT, timeout=5)
    assert reply.status_code == 404 and "unknown session" in reply.json()["error"]
    listed = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    reply = httpx.post(server.url + "/mcp", headers={**ACCEPT, "Mcp-Session-Id": "doesnotexist"}, json=listed, timeout=5)
    assert reply.status_code == 404


async def test_session_cap(serve):
    server = serve(args=["--max-sessions", "2"])
    async with streamable(server.url) as first, legacy(server.url) as second:
        assert await first.list_tools() and await second.list_tools()
        reply = httpx.post(server.url + "/mcp", headers=ACCEPT, json=INIT, timeout=5)
        assert reply.status_code == 503 and "too many open sessions" in reply.json()["error"]
        assert httpx.get(server.url + "/sse", timeout=5).status_code == 503
        # Requests within open sessions still pass.
        assert len((await first.list_tools()).tools) == 4
        # So do requests that open no session: a 2026-07-28 client's, with
        # the official SDK, and a tools/list sent raw with no session.
        async with Client(server.url + "/mcp", mode="2026-07-28") as modern:
            assert {t.name for t in (await modern.list_tools()).tools} >= {"generate_image"}
        meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "probe", "version": "0"},
                "io.modelcontextprotocol/clientCapabilities": {}}
        listed = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": meta}}
        reply = httpx.post(server.url + "/mcp", headers={**ACCEPT, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}, json=listed, timeout=5)
        assert reply.status_code == 200, reply.text


async def test_one_caller_cannot_fill_the_session_cap(serve):
    server = serve(args=["--max-sessions", "10", "--max-sessions-per-client", "2"])
    greedy = {"X-HF-Authorization": "Bearer hf_greedy"}
    async with streamable(server.url, greedy), legacy(server.url, greedy):
        reply = httpx.post(server.url + "/mcp", headers={**ACCEPT, **greedy}, json=INIT, timeout=5)
        assert reply.status_code == 429 and "--max-sessions-per-client" in reply.json()["error"], reply.text
        assert httpx.get(server.url + "/sse", headers=greedy, timeout=5).status_code == 429
        # Someone else still gets in.
        async with streamable(server.url, {"X-HF-Authorization": "Bearer hf_other"}) as other:
            assert await other.list_tools()
    # Closed sessions give their places back.
    async with streamable(server.url, greedy) as again:
        assert await again.list_tools()


async def test_a_session_answers_only_the_credentials_that_opened_it(serve):
    server = serve()
    alice = {"X-HF-Authorization": "Bearer hf_alice"}
    opened = httpx.post(server.url + "/mcp", headers={**ACCEPT, **alice}, json=INIT, timeout=5)
    session_id = opened.headers["mcp-session-id"]
    listed = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    for method, body in (("POST", listed), ("GET", None), ("DELETE", None)):
        stolen = httpx.request(method, server.url + "/mcp", headers={**ACCEPT, "Mcp-Session-Id": session_id, "X-HF-Authorization": "Bearer hf_mallory"}, json=body, timeout=5)
        assert stolen.status_code == 404, (method, stolen.text)
    # Alice's session is still hers (the DELETE above did not end it).
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    mine = {**ACCEPT, **alice, "Mcp-Session-Id": session_id}
    assert httpx.post(server.url + "/mcp", headers=mine, json=initialized, timeout=5).status_code == 202
    assert httpx.post(server.url + "/mcp", headers=mine, json=listed, timeout=5).status_code == 200
    # The legacy transport's sessions likewise.
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        async with client.stream("GET", "/sse", headers=alice) as stream:
            lines = stream.aiter_lines()  # read on, never closed, while the session is used
            line = ""
            while not line.startswith("data: /messages"):
                line = await lines.__anext__()
            endpoint = line.removeprefix("data: ")
            stolen = await client.post(endpoint, json=INIT, headers={"X-HF-Authorization": "Bearer hf_mallory"})
            assert stolen.status_code == 404, stolen.text
            assert (await client.post(endpoint, json=INIT, headers=alice)).status_code == 202


async def test_32_concurrent_calls_lose_nothing(serve):
    server = serve()
    results: dict[int, object] = {}

    async def calls(make, offset: int) -> None:
        async with make(server.url) as session:
            async def one(i: int) -> None:
                results[i] = await session.call_tool("generate_image", {"prompt": f"call {i}", "width": 256 + 32 * (i % 16), "height": 256})

            async with anyio.create_task_group() as group:
                for i in range(offset, offset + 16):
                    group.start_soon(one, i)

    async with anyio.create_task_group() as group:
        group.start_soon(calls, streamable, 0)
        group.start_soon(calls, legacy, 16)
    assert sorted(results) == list(range(32))
    for i, result in results.items():
        assert not result.is_error, texts(result)
        with Image.open(io.BytesIO(decoded(blocks(result, "image")[0]))) as picture:
            assert picture.size == (256 + 32 * (i % 16), 256), i


async def test_client_hf_token_is_used_for_its_own_requests_only(apps, serve):
    text = with_settings(local_config(apps, hf_token=True), "client_hf_token = true")
    server = serve(config_text=text, env={"HF_TOKEN": "hf_SERVERtoken"})
    start = len(apps.dia.requests())
    async with streamable(server.url, {"X-HF-Authorization": "Bearer hf_USERtoken"}) as session:
        result = await session.call_tool("run_dia_tts", {"text_input": "[S1] Mine."})
        assert not result.is_error, texts(result)
    user_requests = apps.dia.requests()[start:]
    start = len(apps.dia.requests())
    async with legacy(server.url) as session:
        result = await session.call_tool("run_dia_tts", {"text_input": "[S1] Theirs."})
        assert not result.is_error, texts(result)
    other_requests = apps.dia.requests()[start:]
    calls = lambda requests: [r for r in requests if "/queue/" in r["path"] or "/file=" in r["path"]]  # noqa: E731
    assert calls(user_requests) and all(r["x_hf_authorization"] == "Bearer hf_USERtoken" for r in calls(user_requests))
    assert calls(other_requests) and all(r["x_hf_authorization"] == "Bearer hf_SERVERtoken" for r in calls(other_requests))
    assert "hf_USERtoken" not in server.logs() and "hf_SERVERtoken" not in server.logs()


async def test_long_call_keeps_its_session(serve, apps):
    extra = slow_tool(apps, timeout=30)
    # Sessions idle for 1 s would be dropped, but never while a call can still run.
    server = serve(extra, args=["--session-idle-timeout", "1"])
    async with streamable(server.url) as session:
        result = await session.call_tool("slow", {"seconds": 3})
        assert not result.is_error, texts(result)
        assert "slept 3" in texts(result)


async def test_disconnect_cancels_the_call(serve, apps):
    server = serve(config_text=tasks_tools(apps))
    job = label()
    with anyio.move_on_after(2):
        async with legacy(server.url) as session:
            await session.call_tool("slow_compute", {"seconds": 8, "label": job})
    # Proved on the Space: its job was cancelled, and never ran to its end.
    await wait_for_event(apps.tasks, job, "cancelled", 10)
    assert "end" not in {e["event"] for e in events(apps.tasks, job)}, events(apps.tasks, job)
    assert "call cancelled by the client" in server.logs()


async def test_closing_a_session_request_cancels_its_call_on_the_space(serve, apps):
    # A raw client, as a script would be: a session, then a call whose
    # connection it closes after a moment, without ending the session.
    server = serve(config_text=tasks_tools(apps))
    job = label()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        session = await raw_session(client)
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "slow_compute", "arguments": {"seconds": 40, "label": job}}}
        async with client.stream("POST", "/mcp", headers=session, json=call) as response:
            assert response.status_code == 200
            await wait_for_event(apps.tasks, job, "tick")
        # The connection of that request is closed; the session stays open.
        stopped = await wait_for_event(apps.tasks, job, "cancelled", 10)
        assert "end" not in {e["event"] for e in events(apps.tasks, job)}
        assert stopped
        listed = {"jsonrpc": "2.0", "id": 8, "method": "tools/list"}
        assert (await client.post("/mcp", headers=session, json=listed)).status_code == 200
    assert "a client left before its answer" in server.logs()


async def test_a_request_reusing_a_running_ones_id_is_refused_at_once(serve, apps):
    server = serve(config_text=tasks_tools(apps))
    job = label()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        session = await raw_session(client)
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "slow_compute", "arguments": {"seconds": 20, "label": job}}}
        listed = {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}
        async with client.stream("POST", "/mcp", headers=session, json=call):
            await wait_for_event(apps.tasks, job, "tick")
            with anyio.fail_after(5):
                reused = await client.post("/mcp", headers=session, json=listed)
            assert '"code":-32600' in reused.text and "still running" in reused.text, reused.text
        # The first request's client left (cancelled): its id is free again.
        await wait_for_event(apps.tasks, job, "cancelled", 10)
        again = await client.post("/mcp", headers=session, json=listed)
        assert '"tools"' in again.text and "slow_compute" in again.text, again.text


async def call_in_flight(server) -> None:
    """Waits until the server reports a call running (its own /health)."""
    async with httpx.AsyncClient(timeout=5) as client:
        with anyio.fail_after(20):
            while (await client.get(server.url + "/health")).json()["calls_in_flight"] < 1:
                await anyio.sleep(0.05)


async def test_sigterm_lets_calls_finish_then_exits_0(serve, apps):
    extra = slow_tool(apps)
    server = serve(extra, args=["--shutdown-grace", "20"])
    outcome = {}
    # The server goes away under the client at the end: errors from the
    # client's own teardown are not what this test is about.
    with contextlib.suppress(Exception):
        async with streamable(server.url) as session:
            # The SDK lists the tools after a call to check its result against
            # the output schema, unless it has them already: the server will
            # no longer accept that request.
            await session.list_tools()
            async with anyio.create_task_group() as group:

                async def call() -> None:
                    outcome["result"] = await session.call_tool("slow", {"seconds": 2})

                group.start_soon(call)
                await call_in_flight(server)
                server.process.send_signal(signal.SIGTERM)
    assert "result" in outcome, server.logs()
    assert not outcome["result"].is_error, texts(outcome["result"])
    assert "slept 2" in texts(outcome["result"])
    assert server.process.wait(timeout=30) == 0
    # Once stopping, it accepts nothing new.
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=2)


async def test_sigterm_cancels_calls_past_the_grace_period(serve, apps):
    server = serve(config_text=tasks_tools(apps), args=["--shutdown-grace", "1"])
    job = label()
    started = time.monotonic()
    with anyio.move_on_after(15):
        # The server goes away under the client: the client's own teardown
        # errors are not what this test is about; the Space's job is.
        with contextlib.suppress(Exception):
            async with streamable(server.url) as session:
                async with anyio.create_task_group() as group:
                    group.start_soon(session.call_tool, "slow_compute", {"seconds": 30, "label": job})
                    await wait_for_event(apps.tasks, job, "tick")
                    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=20) == 0
    assert time.monotonic() - started < 15
    # The Space's job was stopped, not left to run its 30 s.
    await wait_for_event(apps.tasks, job, "cancelled", 10)
    assert "end" not in {e["event"] for e in events(apps.tasks, job)}, events(apps.tasks, job)
    assert "grace period over" in server.logs()
