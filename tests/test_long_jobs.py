"""Long jobs: progress from the Space's queue, cancellation reaching the Space,
retries before a job is accepted, a Space that wakes up, fair per-Space
concurrency, and ZeroGPU-style errors. The Space side is tests/apps/jobs.py,
a real Gradio app whose jobs record what happens to them."""

from __future__ import annotations

import tempfile
import time
import uuid

import anyio
import anyio.lowlevel
import pytest

from helpers import local_config, with_settings, write_config
from mcp_helpers import mcp_session, texts

pytestmark = pytest.mark.anyio


def jobs_config(apps, settings: str = "", space: str | None = None, name: str = "steps", api: str = "/steps", timeout: int = 120) -> str:
    space = space or apps.jobs.url
    extra = f"""
[tools.{name}]
space = "{space}"
api = "{api}"
timeout = {timeout}
inputs.job = {{ type = "string" }}
inputs.n = {{ type = "integer", default = 5 }}
inputs.delay = {{ type = "number", default = 0.1 }}
"""
    return with_settings(local_config(apps, extra), settings)


def events_of(app, job: str) -> list[dict]:
    return [e for e in app.jobs() if e["job"] == job]


async def test_progress_of_a_job_queued_behind_two_others(apps):
    config = write_config(apps.tmp, jobs_config(apps))
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    results = {}
    async with mcp_session(config) as session:
        async def call(job: str, n: int, in_queue: anyio.Event | None = None, **kw) -> None:
            async def joined(progress, total, message):
                # The Space's own queue state: the job has joined its queue.
                if in_queue and message and message.startswith(("in queue", "running")):
                    in_queue.set()

            callback = kw.pop("progress_callback", joined)
            results[job] = await session.call_tool("steps", {"job": job, "n": n, "delay": 0.15}, progress_callback=callback, **kw)

        async with anyio.create_task_group() as group:
            # Each blocker has joined the Space's queue before the next call
            # is sent, so the watched job finds both ahead of it.
            for blocker in ("blocker-1", "blocker-2"):
                queued = anyio.Event()
                group.start_soon(call, blocker, 15, queued)
                with anyio.fail_after(30):
                    await queued.wait()
            group.start_soon(lambda: call("watched", 20, progress_callback=on_progress))
    for job in ("blocker-1", "blocker-2", "watched"):
        assert not results[job].is_error, texts(results[job])
    assert "job watched: 20 steps done" in texts(results["watched"])

    messages = [m for _, _, m in seen]
    print("progress notifications received:")
    for progress, total, message in seen:
        print(f"  {progress:6.2f}/{total} {message}")
    # Queued behind the two others, then running, then every step, then the download-free end.
    queued = [m for m in messages if m.startswith("in queue: position")]
    assert queued and any(not m.startswith("in queue: position 1 ") for m in queued), messages
    # Every step is reported, coalesced: at most four notifications a second,
    # the latest step winning, so steps come in order and some are skipped.
    steps = sorted({int(m.split()[2]) for m in messages if m.startswith("denoising: step ")})
    reported = [int(m.split()[2]) for m in messages if m.startswith("denoising: step ")]
    in_order = [n for i, n in enumerate(reported) if i == 0 or n != reported[i - 1]]
    assert in_order == steps and len(steps) >= 5 and max(steps) >= 15, messages
    assert len(steps) < 20, f"20 steps in 3 s arrive coalesced: {messages}"
    # The Space's log line rides along on the reports after it: coalescing cannot lose it.
    assert any("info: warming up for job watched" in m for m in messages), messages
    values = [p for p, _, _ in seen]
    assert all(b > a for a, b in zip(values, values[1:])), values
    assert all(total == 100 for _, total, _ in seen)
    # The jobs ran one after another on the Space, the watched one last.
    starts = {job: events_of(apps.jobs, job)[0]["t"] for job in ("blocker-1", "blocker-2", "watched")}
    assert starts["blocker-1"] < starts["blocker-2"] < starts["watched"]


async def test_a_silent_job_still_reports_progress(apps):
    config = write_config(apps.tmp, jobs_config(apps))
    seen: list[tuple[float, str]] = []

    async def on_progress(progress, total, message):
        seen.append((time.monotonic(), message))

    async with mcp_session(config) as session:
        # One step of 12 s: nothing comes from the Space in between.
        result = await session.call_tool("steps", {"job": "silent", "n": 1, "delay": 12}, progress_callback=on_progress)
    assert not result.is_error, texts(result)
    assert any("still running" in m for _, m in seen), seen
    gaps = [b - a for (a, _), (b, _) in zip(seen, seen[1:])]
    assert max(gaps) < 15, gaps


async def test_cancelling_a_call_stops_the_job_on_the_space(apps):
    config = write_config(apps.tmp, jobs_config(apps))
    async with mcp_session(config) as session:
        with anyio.move_on_after(1.5) as scope:
            await session.call_tool("steps", {"job": "to-cancel", "n": 100, "delay": 0.1})
        cancelled_at = time.time()
        assert scope.cancelled_caught
        # The session goes on serving.
        after = await session.call_tool("steps", {"job": "after-cancel", "n": 2, "delay": 0.01})
        assert not after.is_error, texts(after)
    events = events_of(apps.jobs, "to-cancel")
    kinds = [e["event"] for e in events]
    assert "cancelled" in kinds and "end" not in kinds, kinds
    stopped = next(e["t"] for e in events if e["event"] == "cancelled")
    steps = [e for e in events if e["event"] == "step"]
    assert len(steps) < 40, "the job kept running after the cancel"
    print(f"cancel to job stopped on the Space: {(stopped - cancelled_at) * 1000:.0f} ms")
    assert stopped - cancelled_at < 3


async def test_a_timeout_cancels_the_job_too(apps):
    config = write_config(apps.tmp, jobs_config(apps, timeout=2))
    async with mcp_session(config) as session:
        result = await session.call_tool("steps", {"job": "timed-out", "n": 100, "delay": 0.1})
    assert result.is_error and "no result within 2s" in texts(result)
    deadline = time.monotonic() + 5
    while "cancelled" not in [e["event"] for e in events_of(apps.jobs, "timed-out")] and time.monotonic() < deadline:
        await anyio.sleep(0.1)
    assert "cancelled" in [e["event"] for e in events_of(apps.jobs, "timed-out")]


async def test_a_waking_space_and_failing_joins_are_retried_without_duplicates(apps):
    config = write_config(apps.tmp, jobs_config(apps, space=apps.flaky.url))
    seen: list[str] = []

    async def on_progress(progress, total, message):
        seen.append(message)

    async with mcp_session(config) as session:
        result = await session.call_tool("steps", {"job": "retried", "n": 2, "delay": 0.01}, progress_callback=on_progress)
    assert not result.is_error, texts(result)
    assert any(m.startswith("waiting for the Space to wake up") for m in seen), seen
    # The job ran once on the Space, though joining failed twice first.
    starts = [e for e in events_of(apps.flaky, "retried") if e["event"] == "start"]
    assert len(starts) == 1


async def test_per_space_limit_is_honoured_in_order(apps):
    config = write_config(apps.tmp, jobs_config(apps, settings="space_concurrency = 1", api="/parallel_steps", name="parallel"))
    seen: dict[str, list[str]] = {}
    finished: list[str] = []

    def recorder(job):
        seen[job] = []

        async def on_progress(progress, total, message):
            seen[job].append(message)

        return on_progress

    async with mcp_session(config) as session:
        async def call(job: str) -> None:
            result = await session.call_tool("parallel", {"job": job, "n": 4, "delay": 0.15}, progress_callback=recorder(job))
            assert not result.is_error, texts(result)
            finished.append(job)

        async def other_space() -> None:
            # A call to another Space is not held up by the busy one.
            started = time.monotonic()
            result = await session.call_tool("generate_image", {"prompt": "meanwhile"})
            assert not result.is_error, texts(result)
            finished.append(f"image after {time.monotonic() - started:.1f}s")

        async with anyio.create_task_group() as group:
            # Each call is sent once the one before it holds the slot or waits
            # for it (its first progress report says which), so they arrive in order.
            for job in ("limit-1", "limit-2", "limit-3"):
                group.start_soon(call, job)
                with anyio.fail_after(30):
                    while not seen.get(job):
                        await anyio.sleep(0.01)
            group.start_soon(other_space)
    # The app would run these at once; the limit of 1 ran them one by one, in order.
    spans = []
    for job in ("limit-1", "limit-2", "limit-3"):
        events = events_of(apps.jobs, job)
        spans.append((events[0]["t"], events[-1]["t"]))
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0], spans
    assert finished[0].startswith("image after"), finished
    assert finished[1:] == ["limit-1", "limit-2", "limit-3"]
    assert seen["limit-3"][:2] == [
        "waiting for a free slot on the Space: number 2 in line",
        "waiting for a free slot on the Space: next in line",
    ], seen["limit-3"]
    assert not any("free slot" in m for m in seen["limit-1"]), seen["limit-1"]


async def test_quota_errors_say_what_to_do_without_html(apps):
    extra = f"""
[tools.quota]
space = "{apps.jobs.url}"
api = "/quota"
inputs.job = {{ type = "string" }}
"""
    config = write_config(apps.tmp, local_config(apps, extra))
    async with mcp_session(config) as session:
        result = await session.call_tool("quota", {"job": "q"})
    assert result.is_error
    message = texts(result)
    assert "You have exceeded your GPU quota (60s requested vs. 56s left)." in message
    assert "Create a free account to get more usage quota." in message
    assert "<a" not in message and "href" not in message
    assert "HF_TOKEN" in message and "duplicate the Space" in message


@pytest.fixture
def hub(apps):
    """The Hub stand-in, with a paused, a crashed and a sleeping Space."""
    import subprocess
    import sys
    import urllib.request

    from helpers import APPS, free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(APPS / "hub_standin.py"), str(port), "test/paused=PAUSED", "test/broken=RUNTIME_ERROR", "test/sleepy=SLEEPING"]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/api/spaces/test/paused/runtime", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=5)


def hub_tools(apps) -> str:
    from helpers import free_port

    down = f"http://127.0.0.1:{free_port()}"  # a Space on its own domain, not answering
    tools = ""
    for name in ("paused", "broken", "sleepy", "unknown"):
        tools += f"""
[tools.{name}]
space = "{down}"
hub_id = "test/{name}"
api = "/predict"
timeout = 12
inputs = {{}}
"""
    return local_config(apps, tools)


@pytest.mark.parametrize(
    "tool, expected",
    [
        ("paused", "Space test/paused is paused by its owner"),
        ("broken", "Space test/broken crashed (RUNTIME_ERROR)"),
        ("unknown", "the Hub knows no Space test/unknown"),
    ],
)
async def test_paused_broken_and_missing_spaces_say_so(apps, hub, tool, expected):
    config = write_config(apps.tmp, hub_tools(apps))
    async with mcp_session(config, env={"HF_ENDPOINT": hub}) as session:
        started = time.monotonic()
        result = await session.call_tool(tool, {})
    assert result.is_error
    assert expected in texts(result), texts(result)
    assert time.monotonic() - started < 12, "it waited as for a sleeping Space"


async def test_a_sleeping_space_is_waited_for_with_progress(apps, hub):
    config = write_config(apps.tmp, hub_tools(apps))
    seen: list[str] = []

    async def on_progress(progress, total, message):
        seen.append(message)

    async with mcp_session(config, env={"HF_ENDPOINT": hub}) as session:
        result = await session.call_tool("sleepy", {}, progress_callback=on_progress)
    assert result.is_error and "no result within 12s" in texts(result)
    assert any(m.startswith("waiting for the Space to wake up") for m in seen), seen


def raw_exchange(config, lines, keep_open: float):
    """Runs `spaces-mcp serve` with `lines` on stdin, keeping it open for
    `keep_open` seconds, and returns the replies. Written by hand because no
    MCP client lets a test see what it does not receive."""
    import json as _json
    import subprocess

    from helpers import binary

    process = subprocess.Popen([binary(), "--config", str(config), "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    for line in lines:
        if isinstance(line, float):
            time.sleep(line)
            continue
        process.stdin.write((_json.dumps(line) + "\n").encode())
        process.stdin.flush()
    time.sleep(keep_open)
    process.stdin.close()
    out = process.stdout.read()
    code = process.wait(timeout=30)
    return [_json.loads(line) for line in out.decode().splitlines() if line.strip()], code


INIT = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]


def steps_call(request_id, job, n=100):
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": "steps", "arguments": {"job": job, "n": n, "delay": 0.1}}}


def test_a_cancelled_call_never_answers(apps):
    config = write_config(apps.tmp, jobs_config(apps))
    lines = [*INIT, steps_call(5, "raw-cancel"), 1.0,
             {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5, "reason": "user"}}, 1.0,
             {"jsonrpc": "2.0", "id": 6, "method": "ping"}]
    replies, _ = raw_exchange(config, lines, keep_open=1.0)
    ids = [r.get("id") for r in replies]
    assert 6 in ids, replies
    assert 5 not in ids, "the cancelled call was answered"
    assert "cancelled" in [e["event"] for e in events_of(apps.jobs, "raw-cancel")]


def test_closing_stdin_cancels_the_job_on_the_space(apps):
    config = write_config(apps.tmp, jobs_config(apps))
    replies, code = raw_exchange(config, [*INIT, steps_call(7, "pipe-closed"), 1.0], keep_open=0.2)
    assert code == 0
    assert 7 not in [r.get("id") for r in replies]
    kinds = [e["event"] for e in events_of(apps.jobs, "pipe-closed")]
    assert "cancelled" in kinds and "end" not in kinds, kinds


async def test_calls_start_in_the_order_they_came_while_the_space_is_read(apps):
    # A tool with no inputs listed, on a fresh cache: the Space's description
    # is still being read when the three calls arrive together.
    extra = f'\n[tools.fresh]\nspace = "{apps.jobs.url}"\napi = "/steps"\n'
    config = write_config(apps.tmp, local_config(apps, extra))
    env = {"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp(prefix="spaces-mcp-cache-")}
    jobs = [f"order-{uuid.uuid4().hex[:6]}-{i}" for i in range(3)]
    async with mcp_session(config, env=env) as session:
        async with anyio.create_task_group() as group:
            for job in jobs:
                # Sent one after the other, answers not awaited: they arrive together, in this order.
                group.start_soon(lambda job=job: session.call_tool("fresh", {"job": job, "n": 2, "delay": 0.05}))
                await anyio.lowlevel.checkpoint()
    starts = [e["job"] for e in apps.jobs.jobs() if e["event"] == "start" and e["job"] in jobs]
    assert starts == jobs, starts
