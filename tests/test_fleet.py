"""A fleet: three replicas on loopback ports sharing one real Redis
(`redis-server` or `valkey-server`, from the system's packages: scripts/
test.sh installs it) and one local Gradio app (tests/apps/tasks.py, whose
`slow_compute` jobs record when they start, with how many run at once, tick,
end or are cancelled).

The clients are real: the official Python SDK in 2026-07-28 mode (no
sessions, so each request may go to any replica, and here each goes to the
next one), and rmcp's client for the tasks extension. Nothing leaves
127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import anyio
import pytest
from mcp import Client

from helpers import binary, free_port, tasks_tools, write_config
from mcp_helpers import HttpServer, cancel_a_running_task, label, streamable, tasks_client, texts, wait_for_event

pytestmark = pytest.mark.anyio

LEASE = 2  # seconds: how long a dead replica's jobs and slots stay taken


class Redis:
    """A real redis-server (or valkey-server) on a free loopback port, with
    nothing kept on disk; it can be stopped and started again on that port."""

    def __init__(self, tmp: Path, password: str | None = None, tls: Path | None = None):
        """With `tls`, a folder holding ca.crt, server.crt and server.key: the
        server then speaks TLS only (rediss://)."""
        self.password = password
        self.tls = tls
        self.binary = shutil.which("valkey-server") or shutil.which("redis-server")
        if not self.binary:
            pytest.fail("no redis-server or valkey-server on PATH: scripts/test.sh installs one (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"{'rediss' if tls else 'redis'}://127.0.0.1:{self.port}"
        self.dir = tmp
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        if self.tls:
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls / "server.crt"),
                     "--tls-key-file", str(self.tls / "server.key"), "--tls-ca-cert-file", str(self.tls / "ca.crt"),
                     "--tls-auth-clients", "no"]
        else:
            ports = ["--port", str(self.port)]
        self.process = subprocess.Popen(
            [self.binary, *ports, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--protected-mode", "yes",
             *(["--requirepass", self.password] if self.password else [])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.tls:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return
                time.sleep(0.05)
                continue
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    # A password-protected server answers -NOAUTH: it is up.
                    if s.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                        return
            time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    server = Redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def fleet_config(apps, redis: Redis, shared: Path, extra: str = "") -> Path:
    settings = "\n".join([
        f'store = "{redis.url}"',
        f"store_lease = {LEASE}",
        f'output_dir = "{shared}"',
        "space_concurrency = 2",
        "detach_after = 1",
        extra,
    ])
    # One Space read from its own description too (shared through the store).
    text = tasks_tools(apps, settings) + f'\n[spaces.fleetapp]\nspace = "{apps.tasks.url}"\n'
    return write_config(apps.tmp, text)


def replica(config: Path, tmp: Path, args: list[str] = (), env: dict[str, str] | None = None) -> HttpServer:
    # Each replica has its own disk cache: what it knows of a Space before
    # reading it comes from the store, not from a neighbour's files.
    cache = tmp / f"cache-{free_port()}"
    return HttpServer(config, tmp, list(args), env={"SPACES_MCP_CACHE_DIR": str(cache), **(env or {})})


class Fleet:
    """Three replicas over one store, and what they were started with."""

    def __init__(self, apps, redis: Redis, tmp: Path):
        self.apps, self.redis, self.tmp = apps, redis, tmp
        self.shared = tmp / "shared-output"
        # One caller's calls may take both slots here: the share between
        # callers has a test of its own.
        self.config = fleet_config(apps, redis, self.shared, "slots_per_caller = 2")
        self.replicas = [replica(self.config, tmp) for _ in range(3)]


@pytest.fixture(scope="module")
def fleet(apps, redis, tmp_path_factory):
    started = Fleet(apps, redis, tmp_path_factory.mktemp("fleet"))
    yield started
    for r in started.replicas:
        r.stop()
    for r in started.replicas:
        assert "panicked" not in r.logs(), r.logs()


class RoundRobin:
    """2026-07-28 clients, one per replica; each request goes to the next."""

    def __init__(self, clients: list[Client]):
        self.clients = clients
        self.turn = 0

    def next(self) -> Client:
        client = self.clients[self.turn % len(self.clients)]
        self.turn += 1
        return client


@contextlib.asynccontextmanager
async def round_robin(replicas: list[HttpServer]):
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(r.url + "/mcp", mode="2026-07-28")) for r in replicas]
        yield RoundRobin(clients)


def peak(app, jobs: set[str]) -> int:
    """The most of `jobs` the app ran at once, from their own start, end and
    cancel records (other tests' jobs on the shared app do not count)."""
    changes = sorted((e["t"], 1 if e["event"] == "start" else -1) for e in app.jobs()
                     if e["job"] in jobs and e["event"] in ("start", "end", "cancelled"))
    running = most = 0
    for _, change in changes:
        running += change
        most = max(most, running)
    return most


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def test_a_task_made_on_one_replica_is_polled_on_another_and_cancelled_on_a_third(apps, fleet):
    a, b, c = fleet.replicas
    task, took = await cancel_a_running_task(apps.tasks, a.url, b.url, c.url)
    print(f"FLEET cancel through another replica to the Space's job stopped: {took * 1000:.0f} ms")
    assert took < 2, took
    settled = tasks_client(b.url, "poll", task, "5")["ok"]
    assert settled["status"] == "cancelled", settled

    # Another caller (another bearer token) sees no such job on any replica.
    stranger = tasks_client(c.url, "get", task, headers={"Authorization": "Bearer someone-else"})
    assert "error" in stranger, stranger

    # A job handle (a client without tasks): started through one replica,
    # its result fetched through the next.
    async with round_robin(fleet.replicas) as clients:
        job = label()
        handle = await clients.next().call_tool("slow_compute", {"seconds": 2.5, "label": job})
        ticket = handle.structured_content
        assert ticket["status"] == "working", ticket
        # await_job waits up to detach_after (1 s) a call: each try goes to
        # the next replica.
        for _ in range(20):
            done = await clients.next().call_tool("await_job", {"job_id": ticket["job_id"]})
            if "still running" not in texts(done):
                break
        assert texts(done) == f"computed {job} in 2.5s", texts(done)


async def test_space_concurrency_holds_across_the_fleet_with_places_reported(apps, fleet):
    jobs = [label() for _ in range(6)]
    heard: list[str] = []

    async def on_progress(progress, total, message):
        heard.append(message or "")

    async with round_robin(fleet.replicas) as clients:
        calls = [(clients.next(), job) for job in jobs]
        await asyncio.gather(*(
            client.call_tool("slow_compute", {"seconds": 1.5, "label": job}, progress_callback=on_progress)
            for client, job in calls
        ))
    # A call that waited long enough was answered with a job handle; it
    # still runs: wait for every job's end.
    for job in jobs:
        await wait_for_event(apps.tasks, job, "end", 30)
    most = peak(apps.tasks, set(jobs))
    print(f"FLEET peak concurrency on the app, space_concurrency = 2 over 3 replicas: {most}")
    assert most == 2, [e for e in apps.tasks.jobs() if e["job"] in jobs and e["event"] != "tick"]
    assert any("in line" in m for m in heard), heard


async def test_a_replica_killed_mid_job_leaves_no_job_working(apps, redis, fleet, tmp_path):
    doomed = replica(fleet.config, tmp_path)
    job = label()
    created = tasks_client(doomed.url, "call", "slow_compute", json.dumps({"seconds": 6, "label": job}))["ok"]
    await wait_for_event(apps.tasks, job, "tick")
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(timeout=10)
    killed_at = time.monotonic()
    deadline = killed_at + 3 * LEASE + 5
    task = {}
    while time.monotonic() < deadline:
        task = tasks_client(fleet.replicas[1].url, "get", created["taskId"])["ok"]
        if task["status"] != "working":
            break
        await anyio.sleep(0.1)
    took = time.monotonic() - killed_at
    print(f"FLEET dead replica's job marked failed {took * 1000:.0f} ms after SIGKILL (lease {LEASE} s)")
    assert task["status"] == "failed", task
    assert "replica running this job stopped" in task.get("statusMessage", ""), task
    assert took <= LEASE + 1.5, took
    # Its slot of the Space came back too (its lease lapsed): the fleet runs
    # two jobs at once again.
    await wait_for_event(apps.tasks, job, "end", 10)
    pair = [label(), label()]
    async with round_robin(fleet.replicas) as clients:
        await asyncio.gather(*(clients.next().call_tool("slow_compute", {"seconds": 1.5, "label": j}) for j in pair))
    for j in pair:
        await wait_for_event(apps.tasks, j, "end", 10)
    assert peak(apps.tasks, set(pair)) == 2


def start_refused(config: Path, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary(), "--config", str(config), "serve", "--transport", "http", "--listen", f"127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=30,
        env=dict(os.environ, SPACES_MCP_CACHE_DIR=str(tmp / "cache")),
    )


async def test_a_replica_without_the_shared_folder_refuses_to_start(apps, redis, fleet, tmp_path):
    private = tasks_tools(apps, f'store = "{redis.url}"')
    refused = start_refused(write_config(tmp_path, private), tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "output_dir is this machine's private default" in refused.stderr, refused.stderr

    elsewhere = fleet_config(apps, redis, tmp_path / "not-the-shared-volume")
    refused = start_refused(elsewhere, tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "is not the folder the fleet's other replicas use" in refused.stderr, refused.stderr

    wrong = tasks_tools(apps, 'store = "http://127.0.0.1:1"\noutput_dir = "/tmp"')
    refused = start_refused(write_config(tmp_path, wrong), tmp_path)
    assert refused.returncode == 2 and "not a Valkey/Redis address" in refused.stderr, refused.stderr


async def test_metrics_behind_the_token_and_json_logs(apps, redis, fleet, tmp_path):
    token = "fleet-metrics-token"
    watched = replica(fleet.config, tmp_path, ["--auth-token-env", "FLEET_TOKEN", "--log-format", "json"],
                      env={"FLEET_TOKEN": token})
    try:
        status, _ = get(watched.url + "/metrics")
        assert status == 401
        result = tasks_client(watched.url, "call", "greet", '{"name": "metrics"}', headers={"Authorization": f"Bearer {token}"})
        assert result["ok"]["content"][0]["text"] == "Hello, metrics!"
        status, text = get(watched.url + "/metrics", {"Authorization": f"Bearer {token}"})
        assert status == 200
        assert 'spaces_mcp_calls_total{tool="greet",outcome="ok"} 1' in text, text
        for name in ["spaces_mcp_calls_in_flight 0", "spaces_mcp_store_up 1", "spaces_mcp_jobs_running 0",
                     "spaces_mcp_queue_wait_seconds_count 1", "spaces_mcp_store_errors_total", "spaces_mcp_jobs_started_total 0"]:
            assert name in text, text
        # Without the token /health says only ok; with it, the store too.
        status, body = get(watched.url + "/health")
        assert status == 200 and json.loads(body) == {"status": "ok"}, body
        status, body = get(watched.url + "/health", {"Authorization": f"Bearer {token}"})
        health = json.loads(body)
        assert status == 200 and health["store"]["reachable"] is True and health["store"]["kind"] == "redis", body
    finally:
        watched.stop()
    lines = [line for line in watched.logs().splitlines() if line.strip()]
    assert lines
    for line in lines:
        record = json.loads(line)
        assert {"timestamp", "level", "message"} <= record.keys(), record
    assert token not in watched.logs()


def redis_command(redis: Redis, *words: str):
    """One command to the test's redis-server over RESP: its answer (a
    string, a list, or None)."""
    request = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as conn:
        conn.sendall(request.encode())
        reader = conn.makefile("rb")

        def read():
            line = reader.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b"$":
                return None if rest == b"-1" else reader.read(int(rest) + 2)[:-2].decode()
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            return rest.decode()

        return read()


async def test_owner_digests_in_the_store_are_salted_with_a_secret_kept_beside_the_files(apps, redis, fleet):
    a, b, _ = fleet.replicas
    token = "Bearer fleet-owner-token"
    job = label()
    created = tasks_client(a.url, "call", "slow_compute", json.dumps({"seconds": 30, "label": job}), headers={"Authorization": token})["ok"]
    try:
        [key] = [k for k in redis_command(redis, "KEYS", f"*{created['taskId']}*") if "job" in k]
        owner = redis_command(redis, "HGET", key, "owner")
        plain = hashlib.sha256(f"authorization\0{token}\0".encode()).hexdigest()
        assert owner and len(owner) == 64 and owner != plain, owner
        salt = fleet.shared / "spaces-mcp" / ".owner-salt"
        assert salt.stat().st_mode & 0o777 == 0o600 and len(salt.read_text()) == 64
        assert salt.read_text() not in json.dumps(redis_command(redis, "KEYS", "*"))
        # Every replica salts alike: the same caller finds its task on another.
        got = tasks_client(b.url, "get", created["taskId"], headers={"Authorization": token})["ok"]
        assert got["status"] == "working", got
    finally:
        tasks_client(a.url, "cancel", created["taskId"], headers={"Authorization": token})


async def test_an_older_clients_session_is_served_by_every_replica(fleet):
    """A 2025-06-18 client (sessions) whose every HTTP request goes to the
    next replica, as a load balancer without stickiness would send them."""
    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    ports = [int(r.url.rsplit(":", 1)[1]) for r in fleet.replicas]
    served: list[int] = []

    async def next_replica(request: httpx.Request) -> None:
        port = ports[len(served) % len(ports)]
        served.append(port)
        request.url = request.url.copy_with(port=port)

    async with httpx.AsyncClient(event_hooks={"request": [next_replica]}, timeout=30) as http:
        async with streamable_http_client(fleet.replicas[0].url + "/mcp", http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                assert {"greet", "slow_compute"} <= names
                for who in ["a", "b", "c"]:
                    result = await session.call_tool("greet", {"name": who})
                    assert texts(result) == f"Hello, {who}!", texts(result)
    assert set(served) == set(ports), served
    restored = sum("serving a session another replica started" in r.logs() for r in fleet.replicas)
    assert restored >= 2, [r.logs()[-2000:] for r in fleet.replicas]


async def test_a_store_password_comes_from_the_environment_and_never_shows(apps, tmp_path):
    secret = "correct-horse-battery"
    guarded = Redis(tmp_path, password=secret)
    try:
        config = fleet_config(apps, guarded, tmp_path / "shared")
        ok = replica(config, tmp_path, env={"SPACES_MCP_STORE_PASSWORD": secret})
        try:
            status, body = get(ok.url + "/health")
            assert status == 200 and json.loads(body)["store"]["reachable"] is True, body
        finally:
            ok.stop()
        assert secret not in ok.logs()

        # A wrong password: the server says what failed, and shows neither password.
        wrong = subprocess.run(
            [binary(), "--config", str(config), "serve", "--transport", "http", "--listen", f"127.0.0.1:{free_port()}"],
            capture_output=True, text=True, timeout=30,
            env=dict(os.environ, SPACES_MCP_STORE_PASSWORD="not-" + secret, SPACES_MCP_CACHE_DIR=str(tmp_path / "c")),
        )
        assert wrong.returncode == 1, wrong.stderr
        assert f"redis://:***@127.0.0.1:{guarded.port}" in wrong.stderr, wrong.stderr
        assert "refused this replica" in wrong.stderr and "SPACES_MCP_STORE_PASSWORD" in wrong.stderr, wrong.stderr
        assert secret not in wrong.stderr + wrong.stdout
    finally:
        guarded.stop()


def private_ca(folder: Path) -> Path:
    """A CA of our own and a certificate it signed for 127.0.0.1 (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-subj", "/CN=spaces-mcp test CA", "-days", "1")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "1", "-extfile", "ext")
    return folder


async def test_a_tls_store_behind_a_private_ca(apps, tmp_path):
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make the test CA (Debian: apt-get install openssl)")
    tls = private_ca(tmp_path / "tls")
    secured = Redis(tmp_path, tls=tls)
    try:
        config = fleet_config(apps, secured, tmp_path / "shared")
        # Without the CA the certificate is not trusted: a clear refusal.
        untrusted = start_refused(config, tmp_path)
        assert untrusted.returncode == 1 and secured.url in untrusted.stderr, untrusted.stderr
        assert "trusts its TLS certificate" in untrusted.stderr and "--store-ca" in untrusted.stderr, untrusted.stderr
        trusted = replica(config, tmp_path, ["--store-ca", str(tls / "ca.crt")])
        try:
            status, body = get(trusted.url + "/health")
            assert status == 200 and json.loads(body)["store"]["address"].startswith("rediss://"), body
            result = tasks_client(trusted.url, "call", "greet", '{"name": "tls"}')
            assert result["ok"]["content"][0]["text"] == "Hello, tls!", result
        finally:
            trusted.stop()
    finally:
        secured.stop()


# Last: a restarted store has lost everything the tests above left in it.
async def test_the_fleet_rides_out_a_store_restart_with_clear_errors(apps, redis, fleet):
    a = fleet.replicas[0]
    redis.stop()
    try:
        async with Client(a.url + "/mcp", mode="2026-07-28") as client:
            down = await client.call_tool("greet", {"name": "outage"})
        assert down.is_error, texts(down)
        message = texts(down)
        assert "shared store" in message and redis.url in message and "try again" in message, message
        status, body = get(a.url + "/health")
        assert status == 503 and json.loads(body)["store"]["reachable"] is False, body
    finally:
        redis.start()
    deadline = time.monotonic() + 20
    answer = None
    while time.monotonic() < deadline:
        async with Client(a.url + "/mcp", mode="2026-07-28") as client:
            answer = await client.call_tool("greet", {"name": "back"})
        if not answer.is_error:
            break
        await anyio.sleep(0.2)
    assert answer is not None and texts(answer) == "Hello, back!", texts(answer)
    assert get(a.url + "/health")[0] == 200
    for r in fleet.replicas:
        assert r.process.poll() is None, r.logs()
        assert "panicked" not in r.logs()


def wire_equal_form(result: dict) -> str:
    """A result as JSON text, with what differs between two calls of the same
    tool (each call saves its files under new names) put aside, and nothing
    else: every number is kept as the JSON has it."""
    import re

    text = json.dumps(result, sort_keys=True)
    text = re.sub(r"spaces-mcp://outputs/[^\"\s)]+", "spaces-mcp://outputs/FILE", text)
    text = re.sub(r"/[^\"\s]*/spaces-mcp/[^\"\s)]+", "SAVED-PATH", text)
    text = re.sub(r"\b\d{13}-\d+-\d+-", "STAMP-", text)
    return re.sub(r"gradio_api/file=[^\"\s)]+", "gradio_api/file=FILE", text)


async def test_a_result_read_through_another_replica_is_the_direct_answer(apps, redis, tmp_path):
    # A text, an image and an audio result, each first as a direct answer,
    # then as a task run through replica A and read through replica B: the
    # same JSON, annotations (0.8, not 0.800000011920929), links and
    # structuredContent included. One slot for the kitchen app: a call
    # behind a slow one waits in line past the task grace, so it becomes a
    # task however quick its own work is.
    shared = tmp_path / "shared"
    tools = "".join(
        f'\n[tools.{name}]\nspace = "{apps.kitchen.url}"\napi = "/{name}"\n' for name in ("words", "big_image", "long_audio")
    )
    config = write_config(tmp_path, "\n".join([
        "[settings]", f'store = "{redis.url}"', f"store_lease = {LEASE}", f'output_dir = "{shared}"',
        "space_concurrency = 1", "detach_after = 30", 'content = "rich"', tools,
    ]))
    a, b = replica(config, tmp_path), replica(config, tmp_path)
    try:
        calls = [
            ("words", {"text": "one two three four", "delay": 0.3}),
            ("big_image", {"side": 320}),
            ("long_audio", {"seconds": 2}),
        ]
        kinds = set()
        for tool, arguments in calls:
            async with Client(a.url + "/mcp", mode="2026-07-28") as client:
                direct = (await client.call_tool(tool, arguments)).model_dump(by_alias=True, exclude_none=True, mode="json")
            hold = asyncio.create_task(asyncio.to_thread(
                tasks_client, a.url, "call", "words", json.dumps({"text": "hold the slot now", "delay": 0.3})))
            await asyncio.sleep(0.3)
            created = (await asyncio.to_thread(tasks_client, a.url, "call", tool, json.dumps(arguments)))["ok"]
            assert created.get("resultType") == "task" or "taskId" in created, created
            polled = (await asyncio.to_thread(tasks_client, b.url, "poll", created["taskId"], "30"))["ok"]
            await hold
            assert polled["status"] == "completed", polled
            through_store = polled["result"]
            kinds |= {block["type"] for block in through_store["content"]}
            assert "0.800000011920929" not in json.dumps(through_store), through_store
            # The direct answer's own keys and numbers, and nothing more.
            assert wire_equal_form(through_store) == wire_equal_form(
                {k: v for k, v in direct.items() if k in through_store}
            ), (tool, direct, through_store)
            assert set(through_store) <= set(direct) | {"_meta"}, (set(through_store), set(direct))
        assert {"text", "image", "audio", "resource_link"} <= kinds, kinds
    finally:
        a.stop()
        b.stop()


async def test_a_callers_share_of_a_space_holds_across_the_fleet(apps, redis, tmp_path):
    # Two slots fleet-wide, one for each caller (the default share). A
    # heavy caller's three long jobs go one to each of two replicas and a
    # third to the first: only one runs, though each replica would run one
    # of its own. A light caller's quick call then starts at once.
    config = fleet_config(apps, redis, tmp_path / "shared-output", 'store_prefix = "fair-share"')
    a, b = replica(config, tmp_path), replica(config, tmp_path)
    heavy = {"X-HF-Authorization": "Bearer hf_fleet_heavy"}
    heavy_jobs = [label() for _ in range(3)]
    light_job = label()
    try:
        for server, job in zip([a, b, a], heavy_jobs):
            async with streamable(server.url, heavy) as session:
                handle = await session.call_tool("slow_compute", {"seconds": 20, "label": job})
            # detach_after = 1: each call is a running job now.
            assert handle.structured_content["status"] == "working", texts(handle)
        started = lambda: [e["job"] for e in apps.tasks.jobs() if e["event"] == "start" and e["job"] in heavy_jobs]
        await anyio.sleep(1.5)
        assert len(started()) == 1, f"the heavy caller holds more than its share of the fleet: {started()}"
        asked = time.monotonic()
        async with streamable(b.url, {"X-HF-Authorization": "Bearer hf_fleet_light"}) as session:
            result = await session.call_tool("slow_compute", {"seconds": 0.3, "label": light_job})
        took = time.monotonic() - asked
        assert texts(result) == f"computed {light_job} in 0.3s", texts(result)
        assert not [e for e in apps.tasks.jobs() if e["event"] == "end" and e["job"] in heavy_jobs]
        print(f"FLEET FAIR SHARE light call beside a heavy caller's 3 long jobs on 2 replicas: {took * 1000:.0f} ms")
        assert took < 10, took
    finally:
        for server in (a, b):
            server.stop()
    for server in (a, b):
        assert "panicked" not in server.logs()
