"""A hostile Space cannot steal the token or take the server down.

The Space here is tests/apps/hostile.py, a hand-written stand-in: a real
Gradio app cannot be made to name another host as its API prefix, send a
line that never ends, announce a 40 GB file or a 1 GB error page. Memory is
the peak resident size of the `spaces-mcp` process (from wait4), so each
memory test runs the one-shot `spaces-mcp call`, which goes through the
same runner as the server. HTTP-level floods and slow clients are raw
sockets and raw POSTs, because that is what an attacker sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from helpers import APPS, binary, free_port, write_config
from mcp_helpers import mcp_session, texts
from test_http import ACCEPT, INIT, HttpServer, streamable

CANARY = "hf_canaryTOKEN0123456789"


@contextlib.contextmanager
def hostile(mode: str, *extra: str):
    """The stand-in in `mode` on a free port: (url, process)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(APPS / "hostile.py"), str(port), mode, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.kill()
        process.wait(timeout=10)


def tool_config(tmp: Path, url: str, settings: str = "") -> Path:
    return write_config(
        tmp,
        f"[settings]\n{settings}\n"
        f'[tools.victim]\nspace = "{url}"\napi = "/predict"\nhf_token = true\n'
        f'inputs.text = {{ type = "string" }}\n',
    )


def peak_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def call_measured(config: Path, tmp: Path) -> tuple[str, float, float]:
    """Calls `victim` through a real MCP client on `spaces-mcp serve --transport
    http`: the result's text, the call's seconds, and the server's peak
    resident memory in MiB, read while it still runs."""
    server = HttpServer(config, tmp, env={"HF_TOKEN": CANARY, "SPACES_MCP_CACHE_DIR": str(tmp / "cache")})

    async def call():
        async with streamable(server.url) as session:
            started = time.monotonic()
            result = await session.call_tool("victim", {"text": "x"})
            return result, time.monotonic() - started

    try:
        result, elapsed = asyncio.run(call())
        peak = peak_mib(server.process.pid)
        assert server.process.poll() is None, "the server died"
    finally:
        server.stop()
    assert result.is_error
    return texts(result), elapsed, peak


@pytest.mark.anyio
async def test_a_prefix_on_another_origin_never_gets_the_token(tmp_path):
    with hostile("collect") as (collector_url, collector):
        with hostile("prefix", "--collector", collector_url) as (url, _):
            config = tool_config(tmp_path, url)
            log = tmp_path / "server.log"
            env = dict(os.environ, HF_TOKEN=CANARY, RUST_LOG="trace")
            async with mcp_session(config, env=env, errlog=log) as session:
                result = await session.call_tool("victim", {"text": "x"})
        collector.kill()
        seen = collector.communicate(timeout=10)[0]
    assert result.is_error
    message = texts(result)
    assert "another address" in message and url in message, message
    assert seen.strip() == "", f"the second listener was reached: {seen}"
    logged = log.read_text()
    assert "victim" in logged, "the server logged nothing of the call: the check below would prove nothing"
    assert CANARY not in logged and CANARY not in message


@pytest.mark.parametrize("mode", ["endless", "trickle"])
def test_a_line_that_never_ends_ends_within_idle_timeout(tmp_path, mode):
    with hostile(mode) as (url, _):
        config = tool_config(tmp_path, url, "idle_timeout = 2\ntimeout = 60")
        err, elapsed, peak = call_measured(config, tmp_path)
    print(f"never-ending line ({mode}): ended after {elapsed:.2f}s, peak {peak:.1f} MiB: {err[:160]}")
    assert "sent nothing for 2s" in err or "larger than the 16777216 bytes" in err, err
    assert elapsed < 2 + 1, elapsed
    assert peak < 100, peak


def test_limits_beyond_their_maxima_are_refused_at_load(tmp_path):
    config = tool_config(tmp_path, "http://127.0.0.1:9", "download_max_bytes = 50000000000")
    done = subprocess.run([binary(), "--config", str(config), "tools"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "settings.download_max_bytes" in done.stderr and "from 1 to" in done.stderr, done.stderr


def test_a_40_gb_announcement_is_refused_without_allocating(tmp_path):
    with hostile("huge") as (url, _):
        config = tool_config(tmp_path, url, "download_max_bytes = 2147483648")
        err, elapsed, peak = call_measured(config, tmp_path)
    print(f"40 GB announcement: refused after {elapsed:.2f}s, peak {peak:.1f} MiB")
    assert "download_max_bytes" in err, err
    assert peak < 100, peak


def test_a_1_gb_error_body_is_not_read(tmp_path):
    with hostile("bigerror") as (url, _):
        config = tool_config(tmp_path, url)
        err, elapsed, peak = call_measured(config, tmp_path)
    print(f"1 GB error body: failed after {elapsed:.2f}s, peak {peak:.1f} MiB")
    assert "HTTP 500" in err, err
    assert len(err) < 3000, len(err)
    assert peak < 100, peak


def test_a_gallery_cannot_exceed_the_calls_download_budget(tmp_path):
    with hostile("gallery") as (url, _):
        config = tool_config(tmp_path, url, "download_max_bytes = 20000000")
        err, elapsed, peak = call_measured(config, tmp_path)
    print(f"50 x 4 MB gallery under a 20 MB budget: refused after {elapsed:.2f}s, peak {peak:.1f} MiB")
    assert "download_max_bytes" in err, err
    assert peak < 100, peak


@pytest.mark.anyio
async def test_a_spaces_error_text_reaches_the_model_bounded_and_clean(tmp_path):
    with hostile("badtext") as (url, _):
        config = tool_config(tmp_path, url)
        async with mcp_session(config) as session:
            result = await session.call_tool("victim", {"text": "x"})
    message = texts(result)
    assert result.is_error
    assert "boom" in message and "[cut]" in message, message[:300]
    assert len(message.encode()) < 3000, len(message)
    for bad in ["\x1b", "\x07", "\u202e", "\u2066"]:
        assert bad not in message, repr(bad)


def test_two_hundred_simultaneous_initializes_open_only_ten_sessions(tmp_path):
    config = tool_config(tmp_path, "http://127.0.0.1:9")
    server = HttpServer(config, tmp_path, ["--max-sessions", "10"])

    async def burst():
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            return await asyncio.gather(
                *(client.post(server.url + "/mcp", json=INIT, headers=ACCEPT) for _ in range(200))
            )

    try:
        responses = asyncio.run(burst())
        opened = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code == 503]
        with urllib_health(server.url) as health:
            assert health["status"] == "ok"
    finally:
        server.stop()
    print(f"200 initializes against a cap of 10: {len(opened)} opened, {len(refused)} refused", sorted({(r.status_code, r.text[:80]) for r in responses}))
    assert len(opened) == 10
    assert len(refused) == 190
    assert len({r.headers["mcp-session-id"] for r in opened}) == 10


@contextlib.contextmanager
def urllib_health(url: str):
    with httpx.Client(timeout=5) as client:
        yield client.get(url + "/health").json()


def test_slow_headers_are_closed_within_the_read_timeout(tmp_path):
    config = tool_config(tmp_path, "http://127.0.0.1:9")
    server = HttpServer(config, tmp_path, ["--read-timeout", "2"])
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.settimeout(10)
            started = time.monotonic()
            sock.sendall(b"POST /mcp HTTP/1.1\r\n")
            closed_after = None
            for byte in b"X-Slow: " + b"a" * 60:
                time.sleep(0.5)
                try:
                    sock.sendall(bytes([byte]))
                    sock.setblocking(False)
                    with contextlib.suppress(BlockingIOError):
                        if sock.recv(4096) == b"":
                            closed_after = time.monotonic() - started
                            break
                    sock.setblocking(True)
                except OSError:
                    closed_after = time.monotonic() - started
                    break
    finally:
        server.stop()
    print(f"slow headers: closed after {closed_after}s (read timeout 2s)")
    assert closed_after is not None, "the connection was never closed"
    assert closed_after < 2 + 1.5, closed_after


def test_a_trickled_body_and_an_idle_connection_are_closed_within_the_read_timeout(tmp_path):
    config = tool_config(tmp_path, "http://127.0.0.1:9")
    server = HttpServer(config, tmp_path, ["--read-timeout", "2"])
    try:
        # A body of 100 bytes, one byte every 0.5 s: each piece in time, the whole never.
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n")
            sock.settimeout(0.5)
            started = time.monotonic()
            answer = b""
            for _ in range(100):
                with contextlib.suppress(OSError):
                    sock.sendall(b" ")
                with contextlib.suppress(socket.timeout):
                    answer = sock.recv(4096)
                    break
            trickled = time.monotonic() - started
        # A kept-alive connection that sends nothing more is closed too.
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            sock.settimeout(10)
            started = time.monotonic()
            assert sock.recv(10) == b""
            idle = time.monotonic() - started
    finally:
        server.stop()
    print(f"trickled body: {answer[:30]!r} after {trickled:.1f}s; idle connection closed after {idle:.1f}s")
    assert answer.startswith(b"HTTP/1.1 408") and b"--read-timeout" in answer, answer
    assert trickled < 2 + 1.5, trickled
    assert idle < 2 + 1.5, idle


def raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        with contextlib.suppress(socket.timeout):
            while chunk := sock.recv(65536):
                data += chunk
        return data


def test_two_host_headers_are_refused(tmp_path):
    config = tool_config(tmp_path, "http://127.0.0.1:9")
    server = HttpServer(config, tmp_path)
    try:
        answer = raw_request(
            server.port,
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n",
        )
        good = raw_request(server.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    finally:
        server.stop()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"more than one Host" in answer
    assert good.startswith(b"HTTP/1.1 200"), good[:200]


def test_malformed_json_over_http_gets_400_and_a_parse_error(tmp_path):
    config = tool_config(tmp_path, "http://127.0.0.1:9")
    server = HttpServer(config, tmp_path)
    try:
        with httpx.Client(timeout=10) as client:
            broken = client.post(server.url + "/mcp", content=b'{"jsonrpc": "2.0", "id": 1, "method": ', headers=ACCEPT)
            not_message = client.post(server.url + "/mcp", content=b'{"id": 4, "hello": 1}', headers=ACCEPT)
            fine = client.post(server.url + "/mcp", json=INIT, headers=ACCEPT)
    finally:
        server.stop()
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == -32700
    assert not_message.status_code == 400
    assert not_message.json()["error"]["code"] == -32600 and not_message.json()["id"] == 4
    assert fine.status_code == 200


def test_an_unparseable_stdio_request_gets_a_parse_error_and_nothing_is_lost(tmp_path):
    config = tool_config(tmp_path, "http://127.0.0.1:9")
    process = subprocess.Popen(
        [binary(), "--config", str(config), "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        process.stdin.write('{"jsonrpc": "2.0", "id": 7, "method": "tools/list"\n')
        process.stdin.flush()
        reply = json.loads(process.stdout.readline())
        init = dict(INIT, id=8)
        process.stdin.write(json.dumps(init) + "\n")
        process.stdin.flush()
        answer = json.loads(process.stdout.readline())
    finally:
        process.kill()
        process.wait(timeout=10)
    assert reply["id"] == 7 and reply["error"]["code"] == -32700, reply
    assert answer["id"] == 8 and answer["result"]["serverInfo"]["name"] == "spaces-mcp", answer


class RawStdio:
    """`spaces-mcp serve` over stdio with a raw client: what a script that
    writes JSON lines sends, with nothing read unless the test reads it."""

    def __init__(self, config: Path):
        self.process = subprocess.Popen(
            [binary(), "--config", str(config), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def read(self) -> dict:
        return json.loads(self.process.stdout.readline())

    def initialized(self) -> "RawStdio":
        self.send(INIT)
        assert self.read()["id"] == 1
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    def __enter__(self) -> "RawStdio":
        return self

    def __exit__(self, *_) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def test_a_flood_of_progress_and_logs_to_a_client_that_stops_reading_is_bounded(tmp_path):
    # A raw stdio client: it asks for progress and info logs, then reads
    # nothing while the Space floods (20,000 progress messages of 1.6 kB,
    # 2,000 log lines), then reads everything.
    with hostile("flood") as (url, _), RawStdio(tool_config(tmp_path, url, "timeout = 60")) as client:
        client.initialized()
        client.send({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "info"}})
        assert client.read()["id"] == 2
        client.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                     "params": {"name": "victim", "arguments": {"text": "x"}, "_meta": {"progressToken": "p"}}})
        time.sleep(8)  # not reading: the flood meets a full pipe
        peak = peak_mib(client.process.pid)
        progress = logs = dropped = 0
        dropped_note = ""
        result = None
        while True:
            message = client.read()
            if message.get("id") == 3:
                result = message["result"]
                # What still waits goes out after the result: read up to a ping's answer.
                time.sleep(1)
                client.send({"jsonrpc": "2.0", "id": 4, "method": "ping"})
            if message.get("id") == 4:
                break
            if message.get("method") == "notifications/progress":
                progress += 1
            elif message.get("method") == "notifications/message":
                if message["params"].get("logger") == "spaces-mcp":
                    dropped_note = message["params"]["data"]
                    dropped += int(dropped_note.split()[0])
                else:
                    logs += 1
    print(f"flood: peak {peak:.1f} MiB, {progress} progress notifications, {logs} log lines; {dropped_note}")
    assert result.get("isError") is not True, result
    assert peak < 100, f"{peak:.1f} MiB"
    # Coalesced: at most four a second (the wait above, and the call's own).
    assert progress <= 60, progress
    # At most 64 lines wait (and one batch of as many is on its way), and
    # the client is told how many were dropped.
    assert 0 < logs <= 2 * 64 + 1 and "were dropped" in dropped_note, (logs, dropped_note)
    assert 1500 < dropped and logs + dropped <= 2000, (logs, dropped)


def test_an_oversize_stdio_message_is_refused_unread_and_the_server_reads_on(tmp_path):
    # 9 MB of one JSON array (4.5M numbers): parsed, it would take hundreds of MB.
    with RawStdio(tool_config(tmp_path, "http://127.0.0.1:9")) as client:
        huge = b'{"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"x": [' + b"0," * 4_500_000 + b"0]}}\n"
        client.process.stdin.write(huge)
        client.process.stdin.flush()
        reply = client.read()
        client.send(dict(INIT, id=6))
        answer = client.read()
        peak = peak_mib(client.process.pid)
    assert reply["error"]["code"] == -32600 and "--max-message-bytes" in reply["error"]["message"], reply
    assert answer["id"] == 6 and answer["result"]["serverInfo"]["name"] == "spaces-mcp", answer
    print(f"a 9 MB stdio line: peak {peak:.1f} MiB")
    assert peak < 64, f"{peak:.1f} MiB"


@pytest.mark.anyio
async def test_only_http_links_to_ordinary_hosts_reach_the_client_as_links(tmp_path):
    with hostile("links") as (url, _):
        async with mcp_session(tool_config(tmp_path, url), env={"SPACES_MCP_CACHE_DIR": str(tmp_path / "cache")}) as session:
            result = await session.call_tool("victim", {"text": "x"})
    assert not result.is_error, texts(result)
    links = [str(c.uri) for c in result.content if c.type == "resource_link"]
    assert links == ["https://example.com/ok.png"], links
    text = texts(result)
    for claimed in ("file:///etc/passwd", "javascript:alert(1)", "169.254.169.254"):
        assert claimed in text and "not passed on as a link" in text, text
    gallery = result.structured_content["result"]
    assert [item["url"] for item in gallery] == ["", "", "", "https://example.com/ok.png"], gallery


def test_a_second_request_with_a_running_ones_id_is_refused_at_once(tmp_path):
    with hostile("trickle") as (url, _), RawStdio(tool_config(tmp_path, url, "timeout = 30")) as client:
        client.initialized()
        client.send({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "victim", "arguments": {"text": "x"}}})
        time.sleep(0.5)
        started = time.monotonic()
        client.send({"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
        refused = client.read()
        waited = time.monotonic() - started
        client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}})
        client.send({"jsonrpc": "2.0", "id": 10, "method": "ping"})
        after = client.read()
    assert refused["id"] == 9 and refused["error"]["code"] == -32600 and "still running" in refused["error"]["message"], refused
    assert waited < 5, waited
    assert after == {"jsonrpc": "2.0", "id": 10, "result": {}}, after
