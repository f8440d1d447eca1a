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

from conftest import free_port, start_app, wait_ready, write_config
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
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url + "/config", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proxy.poll() is not None:
                    raise RuntimeError((tmp / "haproxy.log").read_text())
                time.sleep(0.2)
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
