"""How long a Streamable HTTP session lives, and who hears what in it.

A session ends when its client goes quiet (nothing the server sends keeps
it alive), its list changes go to its own caller only, and when it ends,
by DELETE, its calls stop on their Space at once. The server is the real
binary over HTTP; the Spaces are the real local Gradio apps (an image app
whose calls save files, the tasks app whose jobs record their start, ticks,
end or cancellation); the clients are the official Python SDK and, where a
script's raw requests are the point, plain httpx."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest

from helpers import local_config, tasks_tools, write_config
from mcp_helpers import HttpServer, events, label, raw_session, streamable, texts, wait_for_event

pytestmark = pytest.mark.anyio

PING = {"jsonrpc": "2.0", "id": 99, "method": "ping"}


def resource_notices():
    """A message handler counting `notifications/resources/list_changed`."""
    heard = {"resources": 0}

    async def handler(message) -> None:
        method = getattr(message, "method", None) or getattr(getattr(message, "root", None), "method", None)
        if method == "notifications/resources/list_changed":
            heard["resources"] += 1

    return heard, handler


async def until(predicate, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        while not predicate():
            await anyio.sleep(0.05)
        return True
    return False


@pytest.fixture
def server(apps, tmp_path):
    started: list[HttpServer] = []

    def start(config_text: str, args: list[str] = ()) -> HttpServer:
        s = HttpServer(write_config(apps.tmp, config_text), tmp_path, list(args))
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
        assert "panicked" not in s.logs()


async def test_an_abandoned_session_expires_while_another_caller_saves_files(apps, server):
    # Sessions end after 3 s without a word from their client. Alice opens
    # one and goes away; Bob keeps making pictures (each saves a file, and
    # the server sends Bob list changes and progress) for longer than that.
    s = server(local_config(apps), ["--session-idle-timeout", "3"])
    async with httpx.AsyncClient(base_url=s.url, timeout=30) as client:
        alice = await raw_session(client, {"Authorization": "Bearer alice"})
        heard, handler = resource_notices()
        started = time.monotonic()
        async with streamable(s.url, {"Authorization": "Bearer bob"}, handler) as bob:
            calls = 0
            while time.monotonic() - started < 6:
                picture = await bob.call_tool("generate_image", {"prompt": f"kite {calls}", "width": 256, "height": 256})
                assert not picture.is_error, texts(picture)
                calls += 1
                await anyio.sleep(0.3)
            # Bob's files changed, and Bob heard so: the traffic was there.
            assert await until(lambda: heard["resources"] > 0, 5), "Bob never heard that his files changed"
            # Bob's session, busy all along, is alive.
            assert (await bob.send_ping()) is not None
        silent = time.monotonic() - started
        gone = await client.post("/mcp", headers=alice, json=PING)
        assert gone.status_code == 404, f"Alice's session answered after {silent:.1f} s of silence: {gone.status_code} {gone.text}"
    assert "quiet past session_idle_timeout" in s.logs()


async def test_a_session_with_requests_now_and_then_stays(apps, server):
    # The timeout counts silence, not age: a client that speaks every
    # second keeps a 2 s session for 5 s.
    s = server(local_config(apps), ["--session-idle-timeout", "2"])
    async with httpx.AsyncClient(base_url=s.url, timeout=10) as client:
        session = await raw_session(client)
        for _ in range(5):
            await anyio.sleep(1)
            answer = await client.post("/mcp", headers=session, json=PING)
            assert answer.status_code == 200, answer.text


async def test_owners_hear_only_their_own_list_changes(apps, server):
    s = server(local_config(apps))
    alice_heard, alice_handler = resource_notices()
    bob_heard, bob_handler = resource_notices()
    async with streamable(s.url, {"Authorization": "Bearer alice"}, alice_handler):
        async with streamable(s.url, {"Authorization": "Bearer bob"}, bob_handler) as bob:
            picture = await bob.call_tool("generate_image", {"prompt": "a gull", "width": 256, "height": 256})
            assert not picture.is_error, texts(picture)
            assert await until(lambda: bob_heard["resources"] > 0, 10), "Bob never heard that his files changed"
            # The notice is sent to all sessions concerned at once: give
            # Alice's the same time again, then some.
            await anyio.sleep(2)
            assert alice_heard["resources"] == 0, "Alice heard that Bob saved a file"
            listed = await bob.list_resources()
            assert listed.resources, "Bob's file is not in his list"


async def test_a_deleted_session_stops_its_call_on_the_space_at_once(apps, server):
    # A 3 s job, and the session that runs it is deleted a moment after it
    # starts: the Space's job is cancelled at once and never reaches its end
    # (a drain of a few seconds would let it finish for nobody).
    s = server(tasks_tools(apps))
    for leave_first in (False, True):
        job = label()
        async with httpx.AsyncClient(base_url=s.url, timeout=10) as client:
            session = await raw_session(client)
            call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                    "params": {"name": "slow_compute", "arguments": {"seconds": 3, "label": job}}}
            async with client.stream("POST", "/mcp", headers=session, json=call) as response:
                assert response.status_code == 200
                await wait_for_event(apps.tasks, job, "tick")
                if not leave_first:
                    deleted = await client.delete("/mcp", headers=session)
            if leave_first:
                # The client dropped the call's connection, and deletes
                # its session right after.
                deleted = await client.delete("/mcp", headers=session)
            assert deleted.status_code in (200, 202, 204), deleted.text
            asked = time.monotonic()
            await wait_for_event(apps.tasks, job, "cancelled", 10)
            took = time.monotonic() - asked
        await anyio.sleep(3.5)
        kinds = [e["event"] for e in events(apps.tasks, job)]
        assert "end" not in kinds, (leave_first, kinds)
        print(f"SESSION DELETE {'after a disconnect' if leave_first else 'with the call open'}: job cancelled {took * 1000:.0f} ms later")
        assert took < 1.5, took
