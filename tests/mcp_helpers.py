"""A real MCP client (the official Python SDK) driving the built binary."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import anyio

from mcp import ClientSession, StdioServerParameters
from mcp.types import Implementation
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from helpers import ROOT, binary, free_port, local_config, with_settings, write_config


# The name these tests' SDK sessions give: one the server's table does not
# know, so results are "rich" (every block), as for any unnamed client. The
# SDK's default name, "mcp", gets text only (tests/test_clients.py).
TEST_CLIENT = Implementation(name="spaces-mcp-tests", version="1")


@contextlib.asynccontextmanager
async def mcp_session(config: Path | None, env: dict[str, str] | None = None, errlog: Path | None = None, message_handler=None):
    """An initialized session with `spaces-mcp serve` (the built-in config when `config` is None)."""
    args = ["serve"] + (["--config", str(config)] if config else [])
    params = StdioServerParameters(command=binary(), args=args, env=env)
    with open(errlog or os.devnull, "w") as err:
        async with stdio_client(params, errlog=err) as streams:
            async with ClientSession(streams[0], streams[1], message_handler=message_handler, client_info=TEST_CLIENT) as session:
                await session.initialize()
                yield session


def texts(result) -> str:
    """Every text block of a tool result, one per line."""
    return "\n".join(c.text for c in result.content if c.type == "text")


def blocks(result, kind: str) -> list:
    return [c for c in result.content if c.type == kind]


def decoded(block) -> bytes:
    return base64.b64decode(block.data)


async def wait_for_tool(session, name: str, seconds: float = 20):
    """The tool once its Space has been read (it then has an output schema)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        if name in tools and tools[name].output_schema:
            return tools[name]
        await anyio.sleep(0.2)
    raise AssertionError(f"{name} was never discovered")


class HttpServer:
    def __init__(self, config: Path, tmp: Path, args: list[str] = (), env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"http-{self.port}.log"
        self.process = subprocess.Popen(
            [binary(), "--config", str(config), "serve", "--transport", "http", "--listen", f"127.0.0.1:{self.port}", *args],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            env={**os.environ, "RUST_LOG": "spaces_mcp=debug", **(env or {})},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url + "/health", timeout=1):
                    return
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def logs(self) -> str:
        return self.log.read_text()


@contextlib.asynccontextmanager
async def streamable(url: str, headers: dict[str, str] | None = None, message_handler=None):
    async with create_mcp_http_client(headers=headers) as client:
        async with streamable_http_client(url + "/mcp", http_client=client) as streams:
            async with ClientSession(streams[0], streams[1], message_handler=message_handler, client_info=TEST_CLIENT) as session:
                await session.initialize()
                yield session


@contextlib.asynccontextmanager
async def legacy(url: str, headers: dict[str, str] | None = None):
    async with sse_client(url + "/sse", headers=headers) as streams:
        async with ClientSession(streams[0], streams[1], client_info=TEST_CLIENT) as session:
            await session.initialize()
            yield session


# Jobs on the tasks app (tests/apps/tasks.py), and rmcp's tasks client.

def label() -> str:
    return f"job-{uuid.uuid4().hex[:8]}"


def events(app, job: str) -> list[dict]:
    return [e for e in app.jobs() if e["job"] == job]


async def wait_for_event(app, job: str, kind: str, seconds: float = 10) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for event in events(app, job):
            if event["event"] == kind:
                return event
        await anyio.sleep(0.05)
    raise AssertionError(f"no {kind} event for {job}: {events(app, job)}")


def tasks_client(url: str, *command: str, headers: dict[str, str] | None = None) -> dict:
    """One command of rmcp's client with the tasks extension (examples/tasks_client.rs)."""
    path = ROOT / "target" / "debug" / "examples" / "tasks_client"
    if not path.exists():
        subprocess.run(["cargo", "build", "--quiet", "--example", "tasks_client"], cwd=ROOT, check=True)
    args = [str(path), url + "/mcp"]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    done = subprocess.run(args + list(command), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def cancel_a_running_task(app, created_on: str, polled_on: str, cancelled_on: str) -> tuple[str, float]:
    """Starts a 30 s slow_compute task through `created_on`, sees it working
    (with its progress) through `polled_on`, cancels it through
    `cancelled_on`: the task's id, and the seconds from the cancel until the
    app's job stopped."""
    job = label()
    created = tasks_client(created_on, "call", "slow_compute", json.dumps({"seconds": 30, "label": job}))["ok"]
    assert created["resultType"] == "task" and created["status"] == "working", created
    await wait_for_event(app, job, "tick")
    working = tasks_client(polled_on, "get", created["taskId"])["ok"]
    assert working["status"] == "working" and "ticks" in working.get("statusMessage", ""), working
    cancelled_at = time.time()
    assert tasks_client(cancelled_on, "cancel", created["taskId"]) == {"ok": {}}
    stopped = await wait_for_event(app, job, "cancelled", 5)
    return created["taskId"], stopped["t"] - cancelled_at


# Sessions over the apps' tools, shared by the result and saved-file tests.

def kitchen_tools(apps, budget: int | None = None) -> str:
    """The kitchen app's large-output endpoints as tools (a noisy 2048 px
    PNG, 20 s of WAV, six 1024 px images), with a result budget if given."""
    limit = f"max_result_bytes = {budget}\n" if budget else ""
    return "".join(
        f'\n[tools.{name}]\nspace = "{apps.kitchen.url}"\napi = "/{name}"\n{limit}'
        for name in ("big_image", "long_audio", "six_images")
    )


async def kitchen_session(apps, tmp_path, budget: int | None = None):
    """A stdio session with the kitchen tools, saving into `tmp_path`."""
    text = with_settings(local_config(apps, kitchen_tools(apps, budget)), f'output_dir = "{tmp_path}"')
    return mcp_session(write_config(apps.tmp, text), env={"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp()})


async def discovered_session(apps, extra: str, settings: str = ""):
    """A stdio session whose `extra` tools are read from their Spaces on a
    fresh cache, with `settings` lines in [settings]."""
    text = with_settings(local_config(apps, extra), settings)
    return mcp_session(write_config(apps.tmp, text), env={"SPACES_MCP_CACHE_DIR": tempfile.mkdtemp()})


# Raw JSON-RPC over HTTP, as a script would send it.

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def raw_session(client, credentials: dict[str, str] | None = None) -> dict[str, str]:
    """A session opened by hand (an httpx client on the server's URL): the
    headers its requests carry."""
    opened = await client.post("/mcp", headers={**ACCEPT, **(credentials or {})}, json=INIT)
    assert opened.status_code == 200, opened.text
    session = {**ACCEPT, **(credentials or {}), "Mcp-Session-Id": opened.headers["mcp-session-id"], "Mcp-Protocol-Version": "2025-06-18"}
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await client.post("/mcp", headers=session, json=initialized)).status_code == 202
    return session

