"""The fleet benchmark (run by scripts/bench_fleet.sh): CALLS concurrent
calls of the tasks app's quick `greet` (tests/apps/tasks.py, a real Gradio
app), each from the official Python SDK in 2026-07-28 mode, spread round-robin
over the servers of a setup. Prints one table row per setup."""

from __future__ import annotations

import contextlib
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import anyio  # noqa: E402
from mcp import Client  # noqa: E402

from helpers import start_app, tasks_tools, wait_ready, write_config  # noqa: E402
from mcp_helpers import HttpServer  # noqa: E402
from test_fleet import Redis  # noqa: E402


def round_trips(servers: list[HttpServer]) -> int:
    total = 0
    for server in servers:
        with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        found = re.search(r"^spaces_mcp_store_round_trips_total (\d+)$", text, re.M)
        total += int(found.group(1)) if found else 0
    return total


async def run(servers: list[HttpServer], calls: int) -> tuple[float, list[float], int]:
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(s.url + "/mcp", mode="2026-07-28")) for s in servers]
        for client in clients:
            await client.call_tool("greet", {"name": "warm-up"})
        before = round_trips(servers)
        latencies: list[float] = []

        async def one(i: int) -> None:
            started = time.perf_counter()
            result = await clients[i % len(clients)].call_tool("greet", {"name": f"n{i}"})
            assert not result.is_error, result
            latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for i in range(calls):
                group.start_soon(one, i)
        wall = time.perf_counter() - started
        return wall, latencies, round_trips(servers) - before


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    tmp = Path(tempfile.mkdtemp(prefix="spaces-mcp-bench-fleet-"))
    app = start_app("tasks", "tasks", tmp)
    redis = Redis(tmp)
    try:
        wait_ready(app, time.monotonic() + 180)

        class Apps:
            tasks = app

        base = tasks_tools(Apps, "space_concurrency = 64")
        shared = f'store = "{redis.url}"\noutput_dir = "{tmp / "shared"}"'
        setups = [
            ("1 server, embedded store", write_config(tmp, base), 1),
            ("1 server, redis store", write_config(tmp, tasks_tools(Apps, "space_concurrency = 64\n" + shared)), 1),
            ("3 replicas, embedded stores", write_config(tmp, base), 3),
            ("3 replicas, redis store", write_config(tmp, tasks_tools(Apps, "space_concurrency = 64\n" + shared)), 3),
        ]
        print(f"{calls} concurrent greet calls (Python SDK, 2026-07-28), round-robin over the servers")
        print(f"{'setup':<28}{'calls/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'store trips/call':>18}")
        for name, config, count in setups:
            servers = [HttpServer(config, tmp) for _ in range(count)]
            try:
                wall, latencies, trips = anyio.run(run, servers, calls)
            finally:
                for server in servers:
                    server.stop()
            print(f"{name:<28}{calls / wall:>10.1f}{statistics.median(latencies) * 1000:>10.1f}"
                  f"{percentile(latencies, 99) * 1000:>10.1f}{trips / calls:>18.2f}")
    finally:
        redis.stop()
        app.process.terminate()


if __name__ == "__main__":
    main()
