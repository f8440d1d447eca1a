"""ZeroGPU's refusals, handled rather than reported: a quota refusal whose
wait fits in the call's time is waited out with progress and the job is
sent again, once; one that does not fit ends with an error that says when
to retry (`retry_after_seconds` in structuredContent), whether a token was
sent, and how to use one's own quota. The Space is a real Gradio app that
raises ZeroGPU's exact texts (tests/apps/zerogpu.py)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from helpers import write_config
from mcp_helpers import mcp_session, texts

pytestmark = pytest.mark.anyio


def submissions(app) -> dict:
    request = urllib.request.Request(app.url + "/gradio_api/call/submissions", data=b'{"data": []}',
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        event_id = json.load(response)["event_id"]
    with urllib.request.urlopen(f"{app.url}/gradio_api/call/submissions/{event_id}", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("data:"):
                return json.loads(line[5:])[0]
    raise AssertionError("no submissions count")


def tools(app, timeout: int) -> str:
    return "".join(
        f'\n[tools.{name}]\nspace = "{app.url}"\napi = "/{name}"\ntimeout = {timeout}\n'
        f'inputs.prompt = {{ type = "string" }}\n'
        for name in ("quota_once", "quota_long", "no_gpu")
    )


async def test_a_quota_wait_that_fits_is_waited_out_and_the_job_sent_again(apps, tmp_path):
    config = write_config(tmp_path, tools(apps.zerogpu, timeout=60))
    before = submissions(apps.zerogpu)["quota_once"]
    progress: list[str] = []

    async def on_progress(value, total, message):
        progress.append(message or "")

    async with mcp_session(config) as session:
        started = time.monotonic()
        result = await session.call_tool("quota_once", {"prompt": "a fox"}, progress_callback=on_progress)
        took = time.monotonic() - started
    assert not result.is_error, texts(result)
    assert "made: a fox" in texts(result)
    assert took >= 3, took
    assert any("GPU quota refills in 3 s; waiting" in m for m in progress), progress
    assert submissions(apps.zerogpu)["quota_once"] == before + 2


async def test_a_quota_wait_that_does_not_fit_says_when_to_retry(apps, tmp_path):
    config = write_config(tmp_path, tools(apps.zerogpu, timeout=60))
    before = submissions(apps.zerogpu)
    async with mcp_session(config) as session:
        started = time.monotonic()
        long = await session.call_tool("quota_long", {"prompt": "x"})
        assert time.monotonic() - started < 30
        busy = await session.call_tool("no_gpu", {"prompt": "x"})
    assert long.is_error
    text = texts(long)
    assert "quota_long (Space" in text and "the GPU quota is spent" in text, text
    assert "Try again in 10 min" in text and "carried no HF token" in text and "HF_TOKEN" in text, text
    assert long.structured_content == {"error": "gpu_quota", "retry_after_seconds": 600, "hf_token_sent": False}
    # "No GPU was available" names no time: 30 s, waited out within 60 s,
    # then refused again: the error says it waited.
    assert busy.is_error
    assert "no ZeroGPU was free (it was still refused after waiting once)" in texts(busy), texts(busy)
    assert busy.structured_content["error"] == "gpu_busy" and busy.structured_content["retry_after_seconds"] == 30
    after = submissions(apps.zerogpu)
    # Never submitted twice when the wait did not fit; once more when it did.
    assert after["quota_long"] == before["quota_long"] + 1
    assert after["no_gpu"] == before["no_gpu"] + 2
