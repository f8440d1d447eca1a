"""The soak benchmark (run by scripts/bench_soak.sh): the HTTP service under
many clients for many minutes, with faults, against real local Gradio apps.

- Spaces: the kitchen app (images), the tasks app (a slow generator
  `slow_compute`, `failing_job`, which fails on purpose), a second tasks
  app whose quick `greet` is the quick call (and the direct call the
  server's added latency is measured against), the
  slow app (answers after 2 s), and, during one fault window, a socket that
  accepts and never answers (a stand-in written here: no real program does
  only that).
- Clients (`--clients`, default 200): 70 % Streamable HTTP sessions, 20 %
  stateless 2026-07-28 requests, 10 % legacy SSE (the official Python SDK),
  each doing a mix: quick calls, image calls, `tools/list`, tasks polled to
  their end, cancels, connections dropped mid-call, sessions opened and
  left without DELETE, `resources/read` of saved files, failing calls.
- Faults: the tasks app restarted (refused, then back); the never-answering
  Space called; with `--fleet`, two replicas over a real redis-server, the
  store restarted and one replica killed.
- Every minute: RSS, open descriptors, live sessions, jobs and calls in
  flight, the server's added latency over a direct call to the same Space
  (p50 and p99), and errors by kind. At the end, after an idle spell, a
  verdict against the targets. It prints; it asserts nothing."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx  # noqa: E402

from helpers import free_port, start_app, wait_ready, write_config  # noqa: E402
from mcp_helpers import HttpServer, legacy  # noqa: E402

PROTOCOL = "2025-06-18"
# Seconds a client waits between two operations.
THINK = (1.0, 5.0)
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
# When the operation a client is doing began: an error is a fault's if the
# operation was under way while the fault was on.
OP_STARTED: contextvars.ContextVar[float] = contextvars.ContextVar("op_started", default=0.0)
OP: contextvars.ContextVar[str] = contextvars.ContextVar("op", default="connect")


@dataclass
class Stats:
    """What the clients saw, reset each minute but for the totals."""

    ops: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    total_errors: Counter = field(default_factory=Counter)
    quick: list[float] = field(default_factory=list)
    direct: list[float] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    faults: list[tuple[float, float, str]] = field(default_factory=list)

    def error(self, kind: str, message: str, names: tuple[str, ...] = ()) -> None:
        """An error: one a fault caused if it came during (or just after) a
        fault window, and it must then say what failed."""
        now, since = time.monotonic(), OP_STARTED.get() or time.monotonic()
        in_fault = any(start <= now and since <= end + 20 for start, end, _ in self.faults)
        if in_fault and kind in TRANSPORT:
            kind = f"fault:{kind} (client side)"
        elif in_fault:
            said = any(n in message for n in names) if names else bool(message)
            kind = f"fault:{kind}" + ("" if said else " (does not say what failed)")
        self.errors[kind] += 1
        self.total_errors[kind] += 1
        if len(self.unexplained) < 40:
            self.unexplained.append(f"{kind} [{OP.get()}]: {message[:200]}")


def failed(result) -> bool:
    """Whether an SDK result is an error, in either spelling of the SDK's."""
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", False))


# What a client's HTTP library raises when a server or connection is gone:
# its own words, not the server's.
TRANSPORT = {"ReadTimeout", "ConnectError", "RemoteProtocolError", "ReadError", "ExceptionGroup", "BrokenResourceError"}


class Rpc:
    """One client's way of sending JSON-RPC: a session, or stateless 2026-07-28."""

    def __init__(self, http: httpx.AsyncClient, stateless: bool, caller: str):
        self.http, self.stateless, self.session, self.next_id = http, stateless, None, 1
        # Each client is its own caller (its own credentials), as on a team's server.
        self.caller = {"Authorization": f"Bearer {caller}"}
        self.last, self.ops = time.monotonic(), []

    async def open(self) -> None:
        if self.stateless:
            return
        body = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "clientInfo": {"name": "soak", "version": "0"},
            "capabilities": {"extensions": {TASKS_EXTENSION: {}}}}}
        opened = await self.http.post("/mcp", headers={**ACCEPT, **self.caller}, json=body)
        opened.raise_for_status()
        self.session = opened.headers["mcp-session-id"]
        await self.http.post("/mcp", headers=self.headers(), json={"jsonrpc": "2.0", "method": "notifications/initialized"})

    def headers(self, method: str = "", name: str = "") -> dict[str, str]:
        if self.stateless:
            h = {**ACCEPT, **self.caller, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
            return {**h, "Mcp-Name": name} if name else h
        return {**ACCEPT, **self.caller, "Mcp-Session-Id": self.session or "", "Mcp-Protocol-Version": PROTOCOL}

    def body(self, method: str, params: dict) -> dict:
        self.next_id += 1
        if self.stateless:
            params = {**params, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "soak", "version": "0"},
                "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}}
        return {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}

    async def request(self, method: str, params: dict, name: str = "") -> dict:
        body = self.body(method, params)
        sent = time.monotonic()
        self.ops.append(f"{method}:{name}")
        response = await self.http.post("/mcp", headers=self.headers(method, name), json=body)
        if response.status_code != 200:
            raise RpcFailure(f"http_{response.status_code}", f"{response.text} (session {self.session}, {method} sent {time.monotonic() - sent:.1f} s ago, the request before {sent - self.last:.1f} s before that, ops {self.ops[-4:]})")
        self.last = time.monotonic()
        return answer_of(response.text, body["id"])

    async def close(self) -> None:
        if self.session:
            with contextlib.suppress(httpx.HTTPError):
                await self.http.delete("/mcp", headers=self.headers())


class RpcFailure(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


def answer_of(text: str, wanted) -> dict:
    """The answer to request `wanted` in a JSON or SSE body."""
    candidates = [text] if text.lstrip().startswith("{") else [
        line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    for candidate in candidates:
        with contextlib.suppress(ValueError):
            message = json.loads(candidate)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RpcFailure(f"rpc_{message['error'].get('code')}", message["error"].get("message", ""))
                return message["result"]
    raise RpcFailure("no_answer", text[:200])


class Soak:
    def __init__(self, args, tmp: Path):
        self.args, self.tmp, self.stats = args, tmp, Stats()
        self.stopping = False
        self.saved: list[str] = []

    # The clients.

    async def client(self, n: int) -> None:
        kind = "legacy" if n % 10 == 0 else "stateless" if n % 10 in (1, 2) else "session"
        await asyncio.sleep(random.uniform(0, 20))
        while not self.stopping:
            url = self.url(n)
            OP_STARTED.set(time.monotonic())
            try:
                if kind == "legacy":
                    await self.legacy_client(url, f"soak-{n}")
                else:
                    await self.rpc_client(url, kind == "stateless", f"soak-{n}")
            except Exception as e:  # noqa: BLE001 - every failure is counted, not raised
                kind_of = e.kind if isinstance(e, RpcFailure) else type(e).__name__
                self.stats.error(kind_of, str(e), (url, "spaces-mcp", "127.0.0.1"))
                await asyncio.sleep(1)

    def url(self, n: int) -> str:
        live = [s.url for s in self.servers if s.process.poll() is None]
        return live[n % len(live)] if live else self.servers[0].url

    async def rpc_client(self, url: str, stateless: bool, caller: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            rpc = Rpc(http, stateless, caller)
            await rpc.open()
            try:
                for _ in range(random.randint(5, 40)):
                    if self.stopping:
                        return
                    OP_STARTED.set(time.monotonic())
                    await self.one_op(rpc, url)
                    await asyncio.sleep(random.uniform(*THINK))
            finally:
                await rpc.close()

    async def one_op(self, rpc: Rpc, url: str) -> None:
        op = random.choices(
            ["quick", "list", "image", "read", "task", "cancel", "drop", "abandon", "fail", "slow", "hang"],
            [35, 12, 10, 10, 6, 5, 5, 5, 4, 4, 4])[0]
        if op == "hang" and not self.hanging:
            op = "quick"
        self.stats.ops[op] += 1
        OP.set(op)
        if op == "quick":
            started = time.monotonic()
            result = await rpc.request("tools/call", {"name": "quick", "arguments": {"name": "soak"}}, "quick")
            self.check(result, "Hello, soak!", "quick")
            if not result.get("isError") and not self.in_fault(started):
                self.stats.quick.append(time.monotonic() - started)
        elif op == "list":
            listed = await rpc.request("tools/list", {})
            if not any(t["name"] == "greet" for t in listed.get("tools", [])):
                self.stats.error("wrong_answer", "tools/list without greet")
        elif op == "image":
            # Sides vary: the app saves equal images under one path, and
            # Gradio serves that file while another call rewrites it.
            result = await self.call(rpc, "big_image", {"side": random.randint(256, 768)})
            self.check(result, "", "big_image")
            for block in result.get("content", []):
                if block.get("type") == "resource_link" and len(self.saved) < 2000:
                    self.saved.append((id(rpc.http), block["uri"]))
        elif op == "read":
            mine = [uri for owner, uri in self.saved[-200:] if owner == id(rpc.http)]
            if mine:
                uri = random.choice(mine)
                read = await rpc.request("resources/read", {"uri": uri}, uri)
                if not read.get("contents"):
                    self.stats.error("wrong_answer", f"resources/read of {uri} gave nothing")
        elif op == "task":
            self.check(await self.call(rpc, "slow_compute", {"seconds": 2, "label": "soak"}), "computed", "slow_compute")
        elif op in ("cancel", "drop"):
            await self.leave_a_call(rpc, op)
        elif op == "abandon" and not rpc.stateless:
            left = Rpc(rpc.http, False, rpc.caller["Authorization"][7:])
            await left.open()  # and never used again, never deleted
        elif op == "fail":
            result = await self.call(rpc, "failing_job", {})
            if not result.get("isError"):
                self.stats.error("wrong_answer", "failing_job did not fail")
        elif op == "slow":
            self.check(await self.call(rpc, "slow", {"seconds": 2}), "slept", "slow")
        elif op == "hang":
            result = await self.call(rpc, "hang", {"x": "?"})
            text = " ".join(c.get("text", "") for c in result.get("content", []))
            if result.get("isError"):
                self.stats.error("space_never_answered", text, ("127.0.0.1", "hang", "timed out", "did not answer"))

    def check(self, result: dict, expected: str, tool: str) -> None:
        text = " ".join(c.get("text", "") for c in result.get("content", []))
        if result.get("isError"):
            self.stats.error(f"tool_error:{tool}", text, ("127.0.0.1", tool))
        elif expected and expected not in text:
            self.stats.error("wrong_answer", f"{tool}: {text[:100]}")

    async def call(self, rpc: Rpc, tool: str, arguments: dict) -> dict:
        """A tool's result: answered at once, or as a task (this client
        declares the tasks extension) polled to its end and then read."""
        answer = await rpc.request("tools/call", {"name": tool, "arguments": arguments}, tool)
        if answer.get("resultType") != "task":
            return answer
        task_id = answer["taskId"]
        self.stats.ops["task"] += 1
        for _ in range(240):
            await asyncio.sleep(0.5)
            got = await rpc.request("tasks/get", {"taskId": task_id}, task_id)
            if got.get("status") in ("completed", "failed", "cancelled"):
                return got.get("result") or {"isError": True, "content": [{"type": "text", "text": json.dumps(got)[:300]}]}
        self.stats.error("task_never_ended", f"{tool}: {task_id}")
        return {"content": []}

    async def leave_a_call(self, rpc: Rpc, how: str) -> None:
        """A 3 s call, left after a moment: cancelled (sessions), or its
        connection dropped."""
        body = rpc.body("tools/call", {"name": "slow_compute", "arguments": {"seconds": 3, "label": "left"}})
        with contextlib.suppress(asyncio.TimeoutError, httpx.HTTPError):
            async with asyncio.timeout(0.6):
                await rpc.http.post("/mcp", headers=rpc.headers("tools/call", "slow_compute"), json=body)
        if how == "cancel" and not rpc.stateless:
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": body["id"], "reason": "soak"}}
            await rpc.http.post("/mcp", headers=rpc.headers(), json=cancel)

    async def legacy_client(self, url: str, caller: str) -> None:
        async with legacy(url, {"Authorization": f"Bearer {caller}"}) as session:
            for _ in range(random.randint(5, 30)):
                if self.stopping:
                    return
                op = random.choice(["quick", "quick", "list", "image"])
                self.stats.ops[f"legacy_{op}"] += 1
                if op == "quick":
                    result = await session.call_tool("quick", {"name": "soak"})
                    if failed(result):
                        self.stats.error("tool_error:quick", str(result.content)[:200], ("127.0.0.1", "quick"))
                elif op == "list":
                    await session.list_tools()
                else:
                    result = await session.call_tool("big_image", {"side": 256})
                    if failed(result):
                        self.stats.error("tool_error:big_image", str(result.content)[:200], ("127.0.0.1", "big_image"))
                await asyncio.sleep(random.uniform(*THINK))
                OP_STARTED.set(time.monotonic())

    async def direct(self) -> None:
        """A direct call of the same quick endpoint every half second: what
        the Space alone takes, for the added latency."""
        async with httpx.AsyncClient(timeout=30) as http:
            while not self.stopping:
                with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                    started = time.monotonic()
                    base = self.quick.url + "/gradio_api/call/greet"
                    event = (await http.post(base, json={"data": ["soak"]})).json()["event_id"]
                    streamed = await http.get(f"{base}/{event}")
                    if "complete" in streamed.text and not self.in_fault(started):
                        self.stats.direct.append(time.monotonic() - started)
                await asyncio.sleep(0.5)

    # The faults.

    def in_fault(self, since: float) -> bool:
        """Whether a fault window overlaps the time from `since` to now
        (latencies then are the fault's, not the server's)."""
        return any(start - 1 <= time.monotonic() and since <= end + 20 for start, end, _ in self.stats.faults)

    async def faults(self) -> None:
        minutes = self.args.minutes
        plan = [(0.3, "the tasks app restarted", self.restart_tasks),
                (0.5, "a Space that accepts and never answers", self.hang_for_a_minute)]
        if self.args.fleet:
            plan += [(0.65, "the store restarted", self.restart_store), (0.8, "a replica killed", self.kill_replica)]
        started = time.monotonic()
        for at, name, fault in plan:
            await asyncio.sleep(max(0, started + at * minutes * 60 - time.monotonic()))
            if self.stopping:
                return
            begin = time.monotonic()
            self.stats.faults.append((begin, float("inf"), name))
            print(f"  fault at {(begin - self.t0) / 60:4.1f} min: {name}", flush=True)
            await fault()
            self.stats.faults[-1] = (begin, time.monotonic(), name)

    async def restart_tasks(self) -> None:
        self.tasks.process.terminate()
        await asyncio.to_thread(self.tasks.process.wait, 20)
        await asyncio.sleep(10)
        port = int(self.tasks.url.rsplit(":", 1)[1])
        self.tasks = start_app("tasks", "tasks", self.tmp, port=port)
        await asyncio.to_thread(wait_ready, self.tasks, time.monotonic() + 120)

    async def hang_for_a_minute(self) -> None:
        self.hanging = True
        await asyncio.sleep(60)
        self.hanging = False

    async def restart_store(self) -> None:
        self.redis.terminate()
        await asyncio.to_thread(self.redis.wait, 20)
        await asyncio.sleep(5)
        self.redis = self.start_redis(self.redis_port)

    async def kill_replica(self) -> None:
        self.servers[-1].process.kill()
        await asyncio.sleep(5)

    # The figures.

    def server_figures(self) -> tuple[float, int, int, int, int]:
        rss = fds = 0.0
        for s in self.servers:
            if s.process.poll() is None:
                with contextlib.suppress(OSError):
                    status = Path(f"/proc/{s.process.pid}/status").read_text()
                    rss += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
                    fds += len(os.listdir(f"/proc/{s.process.pid}/fd"))
        sessions = jobs = calls = 0
        for s in self.servers:
            with contextlib.suppress(Exception):
                health = json.loads(httpx.get(s.url + "/health", timeout=5).text)
                sessions += health.get("sessions_open", 0)
                jobs += health.get("jobs_running", 0)
                calls += health.get("calls_in_flight", 0)
        return rss, int(fds), sessions, jobs, calls

    def minute_line(self, minute: int) -> str:
        rss, fds, sessions, jobs, calls = self.server_figures()
        quick, direct = sorted(self.stats.quick), sorted(self.stats.direct)
        added = ("      -", "      -")
        if len(quick) > 20 and len(direct) > 10:
            p = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))]  # noqa: E731
            added = (f"{(p(quick, .5) - p(direct, .5)) * 1000:7.1f}", f"{(p(quick, .99) - p(direct, .99)) * 1000:7.1f}")
            self.added_p99.append(p(quick, .99) - p(direct, .99))
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.stats.errors.items())) or "none"
        line = (f"{minute:4d} {rss:8.1f} {fds:5d} {sessions:8d} {jobs:5d} {calls:6d} {sum(self.stats.ops.values()):6d} "
                f"{added[0]} {added[1]}   {errors}")
        self.stats.ops, self.stats.errors, self.stats.quick, self.stats.direct = Counter(), Counter(), [], []
        return line

    # The run.

    def start_redis(self, port: int) -> subprocess.Popen:
        binary = shutil.which("valkey-server") or shutil.which("redis-server")
        if not binary:
            raise SystemExit("--fleet needs redis-server or valkey-server (scripts/store.sh installs one)")
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.05)
        return process

    def config(self, kitchen, slow, hang_port: int) -> Path:
        store = ""
        if self.args.fleet:
            store = f'store = "redis://127.0.0.1:{self.redis_port}"\nstore_lease = 5\n'
        text = (Path(__file__).resolve().parent.parent / "tests" / "conformance" / "tasks.toml").read_text()
        text = text.replace("APP_URL", self.tasks.url).replace(
            "[settings]\n", f'[settings]\n{store}output_dir = "{self.tmp / "out"}"\nspace_concurrency = 16\njob_ttl = 60\n', 1)
        # The quick calls go to a Space of their own, whose slots the slow
        # work never fills: their latency is the server's, not the line's.
        text += f'\n[tools.quick]\nspace = "{self.quick.url}"\napi = "/greet"\ninputs.name = {{ type = "string" }}\n'
        text += f'\n[tools.big_image]\nspace = "{kitchen.url}"\napi = "/big_image"\ninputs.side = {{ type = "number" }}\n'
        text += f'\n[tools.slow]\nspace = "{slow.url}"\napi = "/slow"\ninputs.seconds = {{ type = "number" }}\n'
        text += f'\n[tools.hang]\nspace = "http://127.0.0.1:{hang_port}"\napi = "/predict"\ntimeout = 5\ninputs.x = {{ type = "string" }}\n'
        return write_config(self.tmp, text)

    async def run(self) -> None:
        self.hanging, self.added_p99 = False, []
        async def never_answer(reader, writer) -> None:
            await reader.read()  # until the caller gives up and hangs up
            writer.close()

        hang = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        hang_port = hang.sockets[0].getsockname()[1]
        self.tasks = start_app("tasks", "tasks", self.tmp)
        self.quick = start_app("quick", "tasks", self.tmp)
        kitchen, slow = start_app("kitchen", "kitchen", self.tmp), start_app("slow", "slow", self.tmp)
        started = [self.tasks, self.quick, kitchen, slow]
        try:
            for app in started:
                await asyncio.to_thread(wait_ready, app, time.monotonic() + 180)
            await self.serve(kitchen, slow, hang_port)
        finally:
            for app in [self.tasks, *started[1:]]:
                app.process.terminate()
            hang.close()

    async def serve(self, kitchen, slow, hang_port: int) -> None:
        if self.args.fleet:
            self.redis_port = free_port()
            self.redis = self.start_redis(self.redis_port)
        config = self.config(kitchen, slow, hang_port)
        args = ["--session-idle-timeout", str(self.args.session_idle), "--max-sessions", "4096", "--max-sessions-per-client", "4096"]
        env = {"RUST_LOG": os.environ.get("SOAK_RUST_LOG", "spaces_mcp=warn")}
        self.servers = [HttpServer(config, self.tmp, args, env) for _ in range(2 if self.args.fleet else 1)]
        try:
            print(f"soak: {self.args.clients} clients, {self.args.minutes} min, {'fleet of 2' if self.args.fleet else 'one server'}; "
                  f"binary {os.environ.get('SPACES_MCP_BIN')}", flush=True)
            print(" min  RSS MiB   fds sessions  jobs  calls    ops  +p50 ms +p99 ms   errors", flush=True)
            self.t0 = time.monotonic()
            clients = [asyncio.create_task(self.client(n)) for n in range(self.args.clients)]
            background = [asyncio.create_task(self.direct()), asyncio.create_task(self.faults())]
            warm = None
            for minute in range(1, self.args.minutes + 1):
                await asyncio.sleep(max(0, self.t0 + minute * 60 - time.monotonic()))
                print(self.minute_line(minute), flush=True)
                if minute == 1:
                    warm = self.server_figures()
            self.stopping = True
            for task in clients + background:
                task.cancel()
            await asyncio.gather(*clients, *background, return_exceptions=True)
            # Past the sessions' idle timeout and the finished jobs' TTL (60 s).
            idle = max(self.args.session_idle + 15, 75)
            print(f"  idle for {idle} s", flush=True)
            await asyncio.sleep(idle)
            self.verdict(warm)
        finally:
            for s in self.servers:
                s.stop()
            if self.args.fleet:
                self.redis.terminate()

    def verdict(self, warm) -> None:
        rss, fds, sessions, jobs, calls = self.server_figures()
        w_rss, w_fds, w_sessions, _, _ = warm
        unexplained = {k: v for k, v in self.stats.total_errors.items() if not k.startswith("fault:")}
        unsaid = {k: v for k, v in self.stats.total_errors.items() if "does not say" in k}
        p99 = max(self.added_p99) * 1000 if self.added_p99 else float("nan")
        checks = {
            "no errors but the faults'": not unexplained,
            "every fault error says what failed": not unsaid,
            f"RSS after idle {rss:.1f} MiB within 10 % of {w_rss:.1f} after warm-up": rss <= w_rss * 1.1,
            f"descriptors {fds} back to {w_fds}": fds <= w_fds + 5,
            f"sessions {sessions} back to {w_sessions}": sessions <= w_sessions,
            f"added p99 on quick calls, worst minute {p99:.1f} ms <= 10 ms": p99 <= 10,
        }
        print(f"errors in all: {dict(self.stats.total_errors) or 'none'}")
        for line in self.stats.unexplained[:12]:
            print(f"  e.g. {line}")
        for name, ok in checks.items():
            print(f"  {'met' if ok else 'NOT met'}: {name}")
        print(f"verdict: {'all targets met' if all(checks.values()) else 'targets NOT met'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--fleet", action="store_true", help="two replicas over a redis-server")
    parser.add_argument("--session-idle", type=int, default=30, help="the server's --session-idle-timeout")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="spaces-mcp-soak-"))
    asyncio.run(Soak(args, tmp).run())


if __name__ == "__main__":
    os.environ.setdefault("SPACES_MCP_BIN", str(Path(__file__).resolve().parent.parent / "target" / "release" / "spaces-mcp"))
    main()
