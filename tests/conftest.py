"""The integration tests' fixtures, and only them (plain helpers are in
helpers.py): the test apps, started once per worker, and the async backend.

The MCP side is real: the official Python `mcp` SDK spawns the built
`spaces-mcp` binary and speaks to it (mcp_helpers.py).
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from helpers import Apps, start_apps, wait_ready


@pytest.fixture(scope="session")
def apps() -> Apps:
    tmp = Path(tempfile.mkdtemp(prefix="spaces-mcp-tests-"))
    # All eleven from one Gradio process: one import instead of ten, so they
    # come up in time on a busy machine too.
    started = start_apps(tmp, [
        ("sana", "sanasprint", []),
        ("dia", "dia", []),
        ("slow", "slow", []),
        # The same image app, but building its file URLs on another origin, as
        # a Space behind a proxy (or a hostile one) would.
        ("foreign", "sanasprint", ["--root-path", "http://127.0.0.2:9"]),
        ("jobs", "jobs", []),
        # Asleep for its first two /config requests, then failing its first
        # two queue joins with 503.
        ("flaky", "jobs", ["--sleep-config", "2", "--fail-joins", "2"]),
        ("kitchen", "kitchen", []),
        ("stateful", "stateful", []),
        ("tasks", "tasks", []),
        ("chat", "chat", []),
        ("zerogpu", "zerogpu", []),
    ])
    try:
        deadline = time.monotonic() + 300
        began = time.monotonic()
        for app in started:
            wait_ready(app, deadline)
            print(f"test app {app.name} ready after {time.monotonic() - began:.1f} s")
        yield Apps(*started, tmp=tmp, all=started)
    finally:
        started[0].process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            started[0].process.wait(timeout=10)


@pytest.fixture
def anyio_backend():
    return "asyncio"
