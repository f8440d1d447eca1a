"""A real MCP client (the official Python SDK) driving the built binary."""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

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
