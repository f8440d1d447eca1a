"""Gradio apps as they are deployed: an app on two replicas behind a real
load balancer (HAProxy from Debian) that pins a client by an inserted
cookie and otherwise balances round-robin. A call's requests (metadata,
the job, its result stream, the file download) must all reach the replica
that has the job: the server keeps each Space's cookies, as Gradio's own
clients do, and every call succeeds. The same requests made without
cookies fail, so the test cannot pass by luck."""

from __future__ import annotations

import http.cookiejar
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers import binary, free_port, start_app, wait_for_url, wait_ready, write_config
from mcp_helpers import mcp_session, texts

pytestmark = pytest.mark.anyio

CALLS = 24

# Where a job is submitted: the queue API, or the call API.
SUBMITS = {"/gradio_api/queue/join", "/gradio_api/call/infer"}


def haproxy() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        pytest.fail("haproxy is not installed: scripts/store.sh (run by scripts/test.sh) installs it")
    return found


@pytest.fixture(scope="module")
def balanced(tmp_path_factory):
    """Two replicas of the image app behind HAProxy: its URL."""
    tmp = tmp_path_factory.mktemp("replicas")
    replicas = [start_app(f"replica{i}", "sanasprint", tmp) for i in (1, 2)]
    port = free_port()
    config = tmp / "haproxy.cfg"
    config.write_text(f"""global
    maxconn 256
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend spaces
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    cookie SRV insert indirect nocache
    server one {replicas[0].url.removeprefix("http://")} cookie one
    server two {replicas[1].url.removeprefix("http://")} cookie two
""")
    proxy = subprocess.Popen([haproxy(), "-f", str(config), "-db"], stdout=(tmp / "haproxy.log").open("w"),
                             stderr=subprocess.STDOUT)
    try:
        for replica in replicas:
            wait_ready(replica, time.monotonic() + 180)
        url = f"http://127.0.0.1:{port}"
        wait_for_url(url + "/config", 20, proxy, tmp / "haproxy.log")
        yield url, replicas, tmp
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        for replica in replicas:
            replica.process.terminate()
            replica.process.wait(timeout=20)


def direct_calls(url: str, cookies: bool) -> int:
    """Gradio's call API by hand, as a client without (or with) a cookie
    jar makes it: how many of CALLS succeed."""
    handlers = [urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())] if cookies else []
    opener = urllib.request.build_opener(*handlers)
    opener.open(url + "/config", timeout=10).close()
    ok = 0
    for i in range(CALLS):
        body = json.dumps({"data": [f"call {i}", "1.6B", 0, True, 512, 512, 4.5, 2]}).encode()
        request = urllib.request.Request(url + "/gradio_api/call/infer", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with opener.open(request, timeout=30) as response:
                event_id = json.load(response)["event_id"]
            with opener.open(f"{url}/gradio_api/call/infer/{event_id}", timeout=30) as response:
                stream = response.read().decode()
            ok += "event: complete" in stream
        except urllib.error.HTTPError:
            pass
    return ok


async def test_every_call_to_a_replicated_app_succeeds_with_its_cookies(balanced, tmp_path):
    url, replicas, _ = balanced
    # Without cookies, the balancer sends a job's stream to the other replica.
    without = direct_calls(url, cookies=False)
    with_jar = direct_calls(url, cookies=True)
    print(f"\ndirect calls through the balancer: {without}/{CALLS} without cookies, {with_jar}/{CALLS} with them")
    assert without < CALLS // 2, without
    assert with_jar == CALLS

    config = write_config(tmp_path, f"""[settings]
output_dir = "{tmp_path / 'out'}"

[tools.generate_image]
space = "{url}"
api = "/infer"
outputs = ["image", "seed"]
inputs.prompt = {{ type = "string" }}
inputs.seed = {{ value = 0 }}
inputs.randomize_seed = {{ value = true }}
inputs.width = {{ value = 512 }}
inputs.height = {{ value = 512 }}
""")
    def jobs(replica) -> int:
        return sum(1 for r in replica.requests() if r["method"] == "POST" and r["path"] in SUBMITS)

    before = [jobs(replica) for replica in replicas]
    succeeded = 0
    async with mcp_session(config, env={"SPACES_MCP_CACHE_DIR": str(tmp_path / "cache")}) as session:
        for i in range(CALLS):
            result = await session.call_tool("generate_image", {"prompt": f"call {i}"})
            if not result.is_error and any(c.type == "image" for c in result.content):
                succeeded += 1
            else:
                print(texts(result))
    print(f"through spaces-mcp: {succeeded}/{CALLS}")
    assert succeeded == CALLS
    # One replica ran every job: the one the first answer pinned us to.
    ran = sorted(jobs(replica) - b for replica, b in zip(replicas, before))
    assert ran == [0, CALLS], ran
    # The command line's one-shot call goes through the same client.
    called = subprocess.run([binary(), "--config", str(config), "call", "generate_image", "prompt=a bridge",
                             "--output-dir", str(tmp_path / "called")], capture_output=True, text=True, timeout=120)
    assert called.returncode == 0 and "saved to" in called.stdout, called.stderr


# Apps behind a login: `launch(auth=...)`, as tests/apps/serve.py --auth.

PASSWORD = "s3cret-Pa55"


def login_tool(app_url: str, tmp: Path, auth: str) -> Path:
    return write_config(tmp, f"""[settings]
output_dir = "{tmp / 'out'}"

[tools.generate_image]
space = "{app_url}"
api = "/infer"
{auth}
inputs.prompt = {{ type = "string" }}
inputs.width = {{ value = 256 }}
inputs.height = {{ value = 256 }}
""")


def logins(app) -> int:
    return sum(1 for r in app.requests() if r["method"] == "POST" and r["path"] == "/login")


async def test_an_app_behind_a_login_is_logged_in_to_and_again_after_it_restarts(tmp_path):
    app = start_app("login", "sanasprint", tmp_path, extra=["--auth", f"alice:{PASSWORD}"])
    try:
        wait_ready(app, time.monotonic() + 180)
        config = login_tool(app.url, tmp_path, 'auth = { username = "alice", password_env = "SPACES_MCP_TEST_PASSWORD" }')
        errlog = tmp_path / "server.log"
        env = {"SPACES_MCP_CACHE_DIR": str(tmp_path / "cache"), "SPACES_MCP_TEST_PASSWORD": PASSWORD,
               "RUST_LOG": "spaces_mcp=debug"}
        async with mcp_session(config, env=env, errlog=errlog) as session:
            first = await session.call_tool("generate_image", {"prompt": "a gate"})
            assert not first.is_error, texts(first)
            assert logins(app) == 1
            # Gradio keeps sessions in memory: a restart ends ours. The next
            # request is refused (401), logs in again, and is sent once more.
            port = int(app.url.rsplit(":", 1)[1])
            app.process.terminate()
            app.process.wait(timeout=20)
            app = start_app("login-again", "sanasprint", tmp_path, extra=["--auth", f"alice:{PASSWORD}"], port=port)
            wait_ready(app, time.monotonic() + 180)
            second = await session.call_tool("generate_image", {"prompt": "a gate again"})
            assert not second.is_error, texts(second)
            assert logins(app) == 1
        logged = errlog.read_text()
        assert "generate_image" in logged and "alice" in logged, "the log holds neither the call nor the login: the check below would prove nothing"
        assert PASSWORD not in logged
    finally:
        app.process.terminate()
        app.process.wait(timeout=20)


async def test_a_wrong_or_missing_login_says_what_to_fix(tmp_path):
    app = start_app("login-refuses", "sanasprint", tmp_path, extra=["--auth", f"alice:{PASSWORD}"])
    try:
        wait_ready(app, time.monotonic() + 180)
        cases = [
            ('auth = { username = "alice", password_env = "SPACES_MCP_TEST_PASSWORD" }', {"SPACES_MCP_TEST_PASSWORD": "wrong"},
             ['the app refused the login of user "alice"', "Check the username"]),
            ('auth = { username = "alice", password_env = "SPACES_MCP_TEST_UNSET" }', {},
             ["the environment variable SPACES_MCP_TEST_UNSET", "not set"]),
            ("", {}, ["401", "add auth = {"]),
        ]
        for auth, env, expected in cases:
            config = login_tool(app.url, tmp_path, auth)
            async with mcp_session(config, env={"SPACES_MCP_CACHE_DIR": str(tmp_path / "cache"), **env}) as session:
                result = await session.call_tool("generate_image", {"prompt": "x"})
            text = texts(result)
            assert result.is_error and f"Space {app.url}" in text, text
            for words in expected:
                assert words in text, (words, text)
            assert "wrong" not in text.replace("went wrong", "")
    finally:
        app.process.terminate()
        app.process.wait(timeout=20)


def test_a_password_in_the_file_is_refused_and_discover_logs_in(tmp_path):
    config = login_tool("http://127.0.0.1:9", tmp_path, 'auth = { username = "alice", password = "hunter2" }')
    done = subprocess.run([binary(), "--config", str(config), "tools"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "tools.generate_image.auth.password" in done.stderr and "password_env" in done.stderr, done.stderr
    assert "tools.generate_image.auth.password" in done.stderr  # the refusal was written, without the password
    assert "hunter2" not in done.stderr

    app = start_app("login-discover", "sanasprint", tmp_path, extra=["--auth", f"alice:{PASSWORD}"])
    try:
        wait_ready(app, time.monotonic() + 180)
        secret = tmp_path / "password.txt"
        secret.write_text(PASSWORD + "\n")
        done = subprocess.run([binary(), "discover", app.url, "--user", "alice", "--password-file", str(secret)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "[tools.app_infer]" in done.stdout and 'api = "/infer"' in done.stdout, done.stdout
        refused = subprocess.run([binary(), "discover", app.url], capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "401" in refused.stderr, refused.stderr
        # `spaces-mcp call` logs in as the server does.
        config = login_tool(app.url, tmp_path, f'auth = {{ username = "alice", password_file = "{secret}" }}')
        called = subprocess.run([binary(), "--config", str(config), "call", "generate_image", "prompt=a door",
                                 "--output-dir", str(tmp_path / "called")], capture_output=True, text=True, timeout=120)
        assert called.returncode == 0, called.stderr
        assert "saved to" in called.stdout, called.stdout
        assert PASSWORD not in called.stdout + called.stderr
    finally:
        app.process.terminate()
        app.process.wait(timeout=20)
