"""HF tokens: the server's `HF_TOKEN` goes to a Hub Space on every request
(metadata, queue, stream, files) and never into a log, an error or a
result; to a plain http:// app it goes only when the config asks. Real
local Gradio apps; the official MCP Python SDK over stdio."""

from __future__ import annotations

import pytest

from helpers import local_config, write_config
from mcp_helpers import mcp_session, texts

pytestmark = pytest.mark.anyio


async def test_hf_token_goes_everywhere_but_never_out(apps):
    token = "hf_TESTSECRETtoken1234567890"
    config = write_config(apps.tmp, local_config(apps, hf_token=True))
    errlog = apps.tmp / "token-stderr.log"
    # A fresh server process: its first call fetches /config and /info too.
    start = len(apps.dia.requests())
    async with mcp_session(config, env={"HF_TOKEN": token, "RUST_LOG": "trace"}, errlog=errlog) as session:
        good = await session.call_tool("run_dia_tts", {"text_input": "[S1] Hi."})
        bad = await session.call_tool("run_dia_tts", {"text_input": " "})
    assert not good.is_error, texts(good)
    seen = apps.dia.requests()[start:]
    paths = [r["path"] for r in seen]
    assert "/config" in paths and "/gradio_api/info" in paths
    assert "/gradio_api/queue/join" in paths and "/gradio_api/queue/data" in paths
    assert any(p.startswith("/gradio_api/file=") for p in paths), paths
    for request in seen:
        assert request["x_hf_authorization"] == f"Bearer {token}", request
    logs = errlog.read_text()
    assert "run_dia_tts" in logs, "the server logged nothing: the check below would prove nothing"
    for result in (good, bad):
        assert token not in texts(result)
        assert token not in str(result.structured_content)
    assert token not in logs


async def test_no_hf_token_goes_to_a_plain_url_unless_asked(apps):
    config = write_config(apps.tmp, local_config(apps))
    start = len(apps.sana.requests())
    async with mcp_session(config, env={"HF_TOKEN": "hf_SHOULDNOTBESENT"}) as session:
        result = await session.call_tool("generate_image", {"prompt": "x"})
    assert not result.is_error, texts(result)
    seen = apps.sana.requests()[start:]
    assert seen and all(r["x_hf_authorization"] is None for r in seen)
