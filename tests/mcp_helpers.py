"""A real MCP client (the official Python SDK) driving the built binary."""

from __future__ import annotations

import base64
import contextlib
import os
import time
from pathlib import Path

import anyio

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from conftest import binary


@contextlib.asynccontextmanager
async def mcp_session(config: Path | None, env: dict[str, str] | None = None, errlog: Path | None = None, message_handler=None):
    """An initialized session with `spaces-mcp serve` (the built-in config when `config` is None)."""
    args = ["serve"] + (["--config", str(config)] if config else [])
    params = StdioServerParameters(command=binary(), args=args, env=env)
    with open(errlog or os.devnull, "w") as err:
        async with stdio_client(params, errlog=err) as streams:
            async with ClientSession(streams[0], streams[1], message_handler=message_handler) as session:
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
