"""The stdio smoke test of an installed or released binary: the official MCP
Python SDK starts it with the built-in config, lists its tools, and checks
the two built-in tools are there. No Space is called.

Usage: python smoke.py BINARY"""

import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main(binary: str) -> None:
    params = StdioServerParameters(command=binary, args=["serve"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            names = {t.name for t in (await session.list_tools()).tools}
    assert {"generate_image", "run_dia_tts"} <= names, names
    print(f"smoke: {init.server_info.name} {init.server_info.version} over stdio lists {sorted(names)}")


anyio.run(main, sys.argv[1])
