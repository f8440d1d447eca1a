"""Calls that outlive their request: job handles (`detach_after`, `await_job`,
`cancel_job`) for clients without MCP tasks, and MCP tasks (SEP-2663) for
those with them; the job store's owner binding, expiry and cap.

The Space is tests/apps/tasks.py, a real Gradio app whose `slow_compute` jobs
record their ticks, their end or their cancellation (`App.jobs()`). The MCP
client is the official Python SDK, except for tasks, which it does not speak
yet: there the client is rmcp's, built as examples/tasks_client.rs."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from helpers import ROOT, tasks_tools, write_config
from mcp_helpers import HttpServer, cancel_a_running_task, events, label, mcp_session, streamable, tasks_client, texts, wait_for_event

pytestmark = pytest.mark.anyio


async def test_a_long_call_answers_with_a_job_handle_and_await_job_returns_its_result(apps):
    config = write_config(apps.tmp, tasks_tools(apps, "detach_after = 3"))
    job = label()
    heard: list[str] = []

    async def on_progress(progress, total, message):
        heard.append(message)

    async with mcp_session(config) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {"await_job", "cancel_job"} <= tools.keys()
        assert "await_job" in tools["slow_compute"].description

        started = time.monotonic()
        first = await session.call_tool("slow_compute", {"seconds": 10, "label": job})
        answered = time.monotonic() - started
        print(f"first answer after {answered:.2f} s: {texts(first)}")
        print(f"  structuredContent: {first.structured_content}")
        assert answered < 4, answered
        assert not first.is_error, texts(first)
        handle = first.structured_content
        assert handle["status"] == "working" and handle["tool"] == "slow_compute"
        assert f'await_job with job_id "{handle["job_id"]}"' in texts(first)
        assert "computing" in handle["progress"], handle

        # A client that gives up on await_job (its own timeout) does not stop the job.
        with anyio.move_on_after(1):
            await session.call_tool("await_job", {"job_id": handle["job_id"]})

        result = None
        for attempt in range(10):
            answer = await session.call_tool("await_job", {"job_id": handle["job_id"]}, progress_callback=on_progress)
            print(f"await_job #{attempt + 1} after {time.monotonic() - started:.1f} s: {texts(answer)[:160]}")
            assert not answer.is_error, texts(answer)
            if not (answer.structured_content or {}).get("job_id"):
                result = answer
                break
        assert result is not None, "the job never ended"
        # Exactly what the call itself would have returned.
        assert texts(result) == f"computed {job} in 10s"
        assert result.structured_content == {"result": f"computed {job} in 10s"}
        assert any("ticks" in m for m in heard), heard

    kinds = [e["event"] for e in events(apps.tasks, job)]
    assert kinds.count("start") == 1 and "end" in kinds and "cancelled" not in kinds, kinds


async def test_detaching_turned_off_lists_no_job_tools_and_waits(apps):
    config = write_config(apps.tmp, tasks_tools(apps, "detach_after = 0"))
    async with mcp_session(config) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert "await_job" not in names and "cancel_job" not in names
        result = await session.call_tool("slow_compute", {"seconds": 2, "label": label()})
        assert texts(result).startswith("computed"), texts(result)
        with pytest.raises(MCPError) as unknown:
            await session.call_tool("await_job", {"job_id": str(uuid.uuid4())})
        assert unknown.value.error.code == -32602 and "unknown tool" in unknown.value.error.message


async def test_cancel_job_stops_the_space_job(apps):
    config = write_config(apps.tmp, tasks_tools(apps, "detach_after = 1"))
    job = label()
    async with mcp_session(config) as session:
        first = await session.call_tool("slow_compute", {"seconds": 30, "label": job})
        job_id = first.structured_content["job_id"]
        await wait_for_event(apps.tasks, job, "tick")
        cancelled_at = time.time()
        answer = await session.call_tool("cancel_job", {"job_id": job_id})
        print(f"cancel_job answered in {time.time() - cancelled_at:.2f} s: {texts(answer)}")
        assert not answer.is_error and "cancelled" in texts(answer), texts(answer)
        stopped = await wait_for_event(apps.tasks, job, "cancelled", 5)
        print(f"cancel_job to job stopped on the Space: {(stopped['t'] - cancelled_at) * 1000:.0f} ms")
        assert stopped["t"] - cancelled_at < 2
        ticks = [e for e in events(apps.tasks, job) if e["event"] == "tick"]
        assert all(e["t"] <= stopped["t"] for e in ticks)
        assert len(ticks) < 60
        # Cancelling again is harmless; waiting on it says it was cancelled.
        again = await session.call_tool("cancel_job", {"job_id": job_id})
        assert not again.is_error and "cancelled" in texts(again), texts(again)
        after = await session.call_tool("await_job", {"job_id": job_id})
        assert after.is_error and "was cancelled" in texts(after), texts(after)
        # Ids that are not jobs get an answer a model can act on.
        for bad in ({"job_id": "../../etc/passwd"}, {"job_id": 7}, {}):
            answer = await session.call_tool("await_job", bad)
            assert answer.is_error and "job_id" in texts(answer), texts(answer)


async def test_a_task_runs_to_its_result_and_tasks_cancel_stops_the_space_job(apps, tmp_path):
    server = HttpServer(write_config(apps.tmp, tasks_tools(apps)), tmp_path)
    try:
        # Quick calls stay quick: no task.
        greet = tasks_client(server.url, "call", "greet", '{"name": "tasks"}')["ok"]
        assert greet["content"][0]["text"] == "Hello, tasks!" and "taskId" not in greet

        job = label()
        created = tasks_client(server.url, "call", "slow_compute", json.dumps({"seconds": 2, "label": job}))["ok"]
        assert created["resultType"] == "task" and created["status"] == "working", created
        done = tasks_client(server.url, "poll", created["taskId"], "20")["ok"]
        assert done["status"] == "completed", done
        assert done["result"]["content"][0]["text"] == f"computed {job} in 2s"

        task, took = await cancel_a_running_task(apps.tasks, server.url, server.url, server.url)
        print(f"tasks/cancel to job stopped on the Space: {took * 1000:.0f} ms")
        assert took < 2
        settled = tasks_client(server.url, "poll", task, "5")["ok"]
        assert settled["status"] == "cancelled", settled
        # Idempotent on a finished task.
        assert tasks_client(server.url, "cancel", task) == {"ok": {}}

        # A tool that needs tasks, called by a client without them: the spec's error.
        async with streamable(server.url) as session:
            with pytest.raises(MCPError) as refused:
                await session.call_tool("failing_job", {})
            assert refused.value.error.code == -32021
            # On HTTP that error is a 400 (a 2026-07-28 request, sent raw to see the status).
            import httpx

            meta = {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "probe", "version": "0"},
                "io.modelcontextprotocol/clientCapabilities": {},
            }
            headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28",
                       "Mcp-Method": "tools/call", "Mcp-Name": "failing_job"}
            body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "failing_job", "arguments": {}, "_meta": meta}}
            async with httpx.AsyncClient() as http:
                raw = await http.post(server.url + "/mcp", json=body, headers=headers)
            assert raw.status_code == 400 and raw.json()["error"]["code"] == -32021, raw.text
            assert "io.modelcontextprotocol/tasks" in json.dumps(raw.json()["error"]["data"])
            # The same client never gets a task: a long call waits in the request.
            job = label()
            result = await session.call_tool("slow_compute", {"seconds": 1, "label": job})
            assert texts(result) == f"computed {job} in 1s"
    finally:
        server.stop()


async def test_one_callers_job_is_invisible_to_another(apps, tmp_path):
    server = HttpServer(write_config(apps.tmp, tasks_tools(apps, "detach_after = 1")), tmp_path)
    alice = {"X-HF-Authorization": "Bearer hf_alice_secret"}
    mallory = {"X-HF-Authorization": "Bearer hf_mallory_secret"}
    try:
        # A task.
        job = label()
        created = tasks_client(server.url, "call", "slow_compute", json.dumps({"seconds": 3, "label": job}), headers=alice)["ok"]
        task_id = created["taskId"]
        for command in ("get", "cancel"):
            refused = tasks_client(server.url, command, task_id, headers=mallory)
            assert refused["error"]["code"] == -32602, refused
            refused = tasks_client(server.url, command, task_id)
            assert refused["error"]["code"] == -32602, refused
        assert tasks_client(server.url, "poll", task_id, "20", headers=alice)["ok"]["status"] == "completed"
        assert "cancelled" not in [e["event"] for e in events(apps.tasks, job)]

        # A job handle.
        job = label()
        async with streamable(server.url, alice) as mine, streamable(server.url, mallory) as theirs:
            first = await mine.call_tool("slow_compute", {"seconds": 4, "label": job})
            job_id = first.structured_content["job_id"]
            for tool in ("await_job", "cancel_job"):
                answer = await theirs.call_tool(tool, {"job_id": job_id})
                assert answer.is_error and "there is no job" in texts(answer), texts(answer)
            for _ in range(10):
                result = await mine.call_tool("await_job", {"job_id": job_id})
                if not (result.structured_content or {}).get("job_id"):
                    break
            assert texts(result) == f"computed {job} in 4s"
        assert "cancelled" not in [e["event"] for e in events(apps.tasks, job)]
        assert "hf_alice_secret" not in server.logs() and "hf_mallory_secret" not in server.logs()
    finally:
        server.stop()


async def test_finished_jobs_expire_and_the_store_keeps_at_most_its_cap(apps, tmp_path):
    settings = "detach_after = 0.5\njob_ttl = 3\njob_store_max_results = 2"
    config = write_config(apps.tmp, tasks_tools(apps, settings))
    errlog = tmp_path / "server.log"
    async with mcp_session(config, env=dict(os.environ, RUST_LOG="spaces_mcp=info"), errlog=errlog) as session:
        ids, jobs = [], [label() for _ in range(3)]
        for job in jobs:
            first = await session.call_tool("slow_compute", {"seconds": 1.5, "label": job})
            ids.append(first.structured_content["job_id"])
        # All three end; the store keeps two: the oldest went first. Waited
        # for, not slept on: the Space's jobs end, then the store says so.
        for job in jobs:
            await wait_for_event(apps.tasks, job, "end", 10)
        with anyio.fail_after(10):
            while "job store full" not in Path(errlog).read_text():
                await anyio.sleep(0.05)
        oldest = await session.call_tool("await_job", {"job_id": ids[0]})
        assert oldest.is_error and "there is no job" in texts(oldest), texts(oldest)
        for job_id in ids[1:]:
            kept = await session.call_tool("await_job", {"job_id": job_id})
            assert texts(kept).startswith("computed"), texts(kept)
        # Then the TTL passes.
        await anyio.sleep(3.5)
        for job_id in ids[1:]:
            gone = await session.call_tool("await_job", {"job_id": job_id})
            assert gone.is_error and "there is no job" in texts(gone), texts(gone)
    log = Path(errlog).read_text()
    assert "job store full: dropped the oldest finished jobs" in log and "evicted=1" in log, log
    # A job id is a capability: logs name a job by its first 8 characters only.
    assert "answered with a job handle" in log
    for job_id in ids:
        assert job_id not in log and job_id[:8] in log, job_id


async def test_a_client_that_leaves_takes_its_jobs_with_it(apps):
    """Over stdio the one client owns every job: once it is gone nobody can
    fetch a result, so the Spaces' jobs are stopped rather than left to run."""
    config = write_config(apps.tmp, tasks_tools(apps, "detach_after = 1"))
    job = label()
    async with mcp_session(config) as session:
        first = await session.call_tool("slow_compute", {"seconds": 30, "label": job})
        assert first.structured_content["job_id"]
        await wait_for_event(apps.tasks, job, "tick")
        left_at = time.time()
    stopped = await wait_for_event(apps.tasks, job, "cancelled", 10)
    print(f"client gone to job stopped on the Space: {(stopped['t'] - left_at) * 1000:.0f} ms")
    assert "end" not in [e["event"] for e in events(apps.tasks, job)]


async def test_a_server_stopping_stops_its_jobs_after_the_grace(apps, tmp_path):
    server = HttpServer(write_config(apps.tmp, tasks_tools(apps, "detach_after = 1")), tmp_path, ["--shutdown-grace", "1"])
    job = label()
    try:
        async with streamable(server.url) as session:
            first = await session.call_tool("slow_compute", {"seconds": 30, "label": job})
            assert first.structured_content["job_id"]
        await wait_for_event(apps.tasks, job, "tick")
    finally:
        stopping = time.time()
        assert server.stop() == 0
    stopped = await wait_for_event(apps.tasks, job, "cancelled", 10)
    print(f"SIGTERM to job stopped on the Space: {(stopped['t'] - stopping) * 1000:.0f} ms (no request was waiting on it)")
    assert stopped["t"] - stopping < 5


async def test_one_caller_at_its_job_limit_is_told_and_others_are_not(apps, tmp_path):
    config = write_config(apps.tmp, tasks_tools(apps, "max_jobs_per_owner = 2\ndetach_after = 1"))
    server = HttpServer(config, tmp_path)
    heavy = {"X-HF-Authorization": "Bearer hf_heavy"}
    try:
        made = []
        for _ in range(2):
            job = label()
            created = tasks_client(server.url, "call", "slow_compute", json.dumps({"seconds": 20, "label": job}), headers=heavy)["ok"]
            assert created["resultType"] == "task", created
            made.append(created["taskId"])
        # The third task of the same caller is refused, before anything runs.
        job = label()
        refused = tasks_client(server.url, "call", "slow_compute", json.dumps({"seconds": 20, "label": job}), headers=heavy)["ok"]
        assert refused.get("isError") is True, refused
        assert "max_jobs_per_owner" in refused["content"][0]["text"], refused
        assert events(apps.tasks, job) == []
        # Another caller still gets its task.
        other = tasks_client(server.url, "call", "slow_compute", json.dumps({"seconds": 1, "label": label()}),
                             headers={"X-HF-Authorization": "Bearer hf_light"})["ok"]
        assert other["resultType"] == "task", other
        # A client without tasks at the limit: its long call is answered in its request, not as a job handle.
        async with streamable(server.url, heavy) as session:
            job = label()
            result = await session.call_tool("slow_compute", {"seconds": 3, "label": job})
            assert texts(result) == f"computed {job} in 3s", texts(result)
        for task in made:
            assert tasks_client(server.url, "cancel", task, headers=heavy) == {"ok": {}}
    finally:
        server.stop()
    assert "answering the call in its request" in server.logs()


async def test_the_space_line_is_fair_between_callers(apps, tmp_path):
    # One call at a time on the Space; a heavy caller queues six calls, a
    # light one a single call just after: the light call runs second, not seventh.
    config = write_config(apps.tmp, tasks_tools(apps, "space_concurrency = 1\ndetach_after = 0"))
    server = HttpServer(config, tmp_path)
    try:
        heavy_jobs = [label() for _ in range(6)]
        light_job = label()

        async def call(headers, job):
            async with streamable(server.url, headers) as session:
                result = await session.call_tool("slow_compute", {"seconds": 0.5, "label": job})
                assert not result.is_error, texts(result)

        async with anyio.create_task_group() as group:
            for job in heavy_jobs:
                group.start_soon(call, {"X-HF-Authorization": "Bearer hf_heavy"}, job)
            with anyio.fail_after(20):
                while not [e for e in apps.tasks.jobs() if e["event"] == "start" and e["job"] in heavy_jobs]:
                    await anyio.sleep(0.05)
            # The other five are in the server, waiting for the one slot:
            # waited for (the server's own count), not assumed after a sleep.
            async with httpx.AsyncClient(timeout=5) as http:
                with anyio.fail_after(20):
                    while (await http.get(server.url + "/health")).json()["calls_in_flight"] < len(heavy_jobs):
                        await anyio.sleep(0.05)
            group.start_soon(call, {"X-HF-Authorization": "Bearer hf_light"}, light_job)
    finally:
        server.stop()
    started = sorted((e["t"], e["job"]) for e in apps.tasks.jobs() if e["event"] == "start" and e["job"] in heavy_jobs + [light_job])
    order = [job for _, job in started]
    # Second, or third if a second heavy call had started before it came.
    assert order.index(light_job) <= 2, order


async def test_a_callers_long_jobs_leave_a_slot_for_another(apps, tmp_path):
    # Three slots; each caller may hold two (the default: all but one). A
    # heavy caller starts four 30 s jobs: two run, two wait though a slot is
    # free. A light caller's quick call then takes that slot at once, long
    # before any heavy job ends.
    config = write_config(apps.tmp, tasks_tools(apps, "space_concurrency = 3\ndetach_after = 0"))
    server = HttpServer(config, tmp_path)
    heavy_jobs = [label() for _ in range(4)]
    light_job = label()
    try:
        async def heavy_call(job):
            async with streamable(server.url, {"X-HF-Authorization": "Bearer hf_heavy"}) as session:
                await session.call_tool("slow_compute", {"seconds": 30, "label": job})

        async with anyio.create_task_group() as group:
            for job in heavy_jobs:
                group.start_soon(heavy_call, job)
            async with httpx.AsyncClient(timeout=5) as http:
                with anyio.fail_after(20):
                    while (await http.get(server.url + "/health")).json()["calls_in_flight"] < len(heavy_jobs):
                        await anyio.sleep(0.05)
            started = lambda: [e["job"] for e in apps.tasks.jobs() if e["event"] == "start" and e["job"] in heavy_jobs]
            with anyio.fail_after(20):
                while len(started()) < 2:
                    await anyio.sleep(0.05)
            await anyio.sleep(1)
            assert len(started()) == 2, f"the heavy caller holds more than its share: {started()}"
            asked = time.monotonic()
            async with streamable(server.url, {"X-HF-Authorization": "Bearer hf_light"}) as session:
                result = await session.call_tool("slow_compute", {"seconds": 0.3, "label": light_job})
            took = time.monotonic() - asked
            assert not result.is_error and texts(result) == f"computed {light_job} in 0.3s", texts(result)
            ended = [e for e in apps.tasks.jobs() if e["event"] == "end" and e["job"] in heavy_jobs]
            assert not ended, ended
            print(f"FAIR SHARE light call beside a heavy caller's 4 long jobs: {took * 1000:.0f} ms")
            assert took < 10, took
            group.cancel_scope.cancel()
    finally:
        server.stop()
    light_start = next(e["t"] for e in apps.tasks.jobs() if e["event"] == "start" and e["job"] == light_job)
    heavy_started = [e["t"] for e in apps.tasks.jobs() if e["event"] == "start" and e["job"] in heavy_jobs]
    assert sum(t < light_start for t in heavy_started) == 2, (light_start, heavy_started)


async def test_over_stdio_the_one_caller_may_take_every_slot(apps):
    # stdio has one caller: no share holds it back from a Space's slots.
    config = write_config(apps.tmp, tasks_tools(apps, "space_concurrency = 2"))
    jobs = [label(), label()]
    async with mcp_session(config) as session:
        async with anyio.create_task_group() as group:
            for job in jobs:
                group.start_soon(session.call_tool, "slow_compute", {"seconds": 1.5, "label": job})
    seen = {(e["job"], e["event"]): e["t"] for e in apps.tasks.jobs() if e["job"] in jobs}
    # Both ran at once: each started before the other ended.
    assert seen[(jobs[0], "start")] < seen[(jobs[1], "end")] and seen[(jobs[1], "start")] < seen[(jobs[0], "end")], seen


def test_sigterm_stops_a_stdio_server_and_its_spaces_jobs(apps):
    # A raw stdio client; the server is asked to stop while a call runs.
    config = write_config(apps.tmp, tasks_tools(apps))
    job = label()
    process = subprocess.Popen([str(ROOT / "target" / "debug" / "spaces-mcp"), "--config", str(config), "serve"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}}}
        for message in (init, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow_compute", "arguments": {"seconds": 30, "label": job}}}):
            process.stdin.write(json.dumps(message).encode() + b"\n")
            process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 1
        deadline = time.monotonic() + 20
        while "tick" not in {e["event"] for e in events(apps.tasks, job)} and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped_at = time.monotonic()
        process.send_signal(subprocess.signal.SIGTERM)
        code = process.wait(timeout=15)
        took = time.monotonic() - stopped_at
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, code
    assert took < 8, took
    deadline = time.monotonic() + 5
    while "cancelled" not in {e["event"] for e in events(apps.tasks, job)} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "cancelled" in {e["event"] for e in events(apps.tasks, job)}, events(apps.tasks, job)
