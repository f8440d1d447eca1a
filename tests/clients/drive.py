"""Drives one MCP client library as its users do, without a model, and
prints (as JSON on stdout) what that library hands its user or its model
for each call: the value its tool returns, described so that a test can
check it (text, the library's image and audio types, the sizes of any
binary data). Run by tests/test_clients.py under the venv that has the
library (.venv-clients for the libraries that pin mcp<2, .venv for those
that need mcp>=2).

    python drive.py LIBRARY SPEC_JSON

SPEC_JSON: {"command": [argv...]} (a stdio server) or {"url": "http://…/mcp"}
(Streamable HTTP), and "calls": [{"tool": name, "arguments": {...}}, ...].
Output: {"tools": [names], "calls": [{"tool", "got" | "error"}, ...]}.
Nothing here reaches beyond 127.0.0.1: the libraries' telemetry and
tracing are switched off before they are imported.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback

os.environ.setdefault("MCP_USE_ANONYMIZED_TELEMETRY", "false")
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "false")


def describe(value):
    """What a library returned, as JSON a test can read: text kept, binary
    data replaced by its length, library types by their name."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return {"kind": "text", "text": value}
    if isinstance(value, (bytes, bytearray)):
        return {"kind": "bytes", "len": len(value)}
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ("data", "base64", "blob") and isinstance(item, str):
                out[key + "_len"] = len(item)
            else:
                out[key] = item if isinstance(item, (str, int, float, bool, type(None))) else describe(item)
        if "type" in value:
            out["kind"] = "block"
        else:
            out = {"kind": "dict", "json": json.dumps(value, default=str)}
        return out
    kind = type(value).__module__.split(".")[0] + "." + type(value).__name__
    if kind.startswith("PIL."):
        return {"kind": "PIL.Image", "size": list(value.size)}
    if hasattr(value, "model_dump"):
        dumped = describe(value.model_dump(mode="json", exclude_none=True))
        if isinstance(dumped, dict):
            dumped["class"] = kind
        return dumped
    data = getattr(value, "data", None)
    if isinstance(data, (bytes, bytearray)):
        return {"kind": kind, "media_type": getattr(value, "media_type", None), "len": len(data)}
    return {"kind": kind, "repr": repr(value)[:2000]}


def server_params(spec):
    return spec["command"][0], spec["command"][1:]


async def invoke_each(tools: dict, spec) -> list:
    """Each call of `spec` through a library's tool objects (LangChain's
    `ainvoke`): what it returned, or the exception it raised."""
    results = []
    for call in spec["calls"]:
        try:
            got = await tools[call["tool"]].ainvoke(call["arguments"])
            results.append({"tool": call["tool"], "got": describe(got)})
        except Exception as e:
            results.append({"tool": call["tool"], "error": f"{type(e).__name__}: {e}"})
    return results


async def fastmcp(spec):
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    target = spec["url"] if "url" in spec else StdioTransport(*server_params(spec))
    async with Client(target, timeout=120) as client:
        tools = [t.name for t in await client.list_tools()]
        results = []
        for call in spec["calls"]:
            result = await client.call_tool(call["tool"], call["arguments"], raise_on_error=False)
            results.append({"tool": call["tool"], "got": {"content": describe(result.content), "is_error": result.is_error}})
        return tools, results


async def pydantic_ai(spec):
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai.mcp import MCPToolset

    target = spec["url"] if "url" in spec else StdioTransport(*server_params(spec))
    toolset = MCPToolset(target)
    async with toolset:
        tools = [t.name for t in await toolset.list_tools()]
        results = []
        for call in spec["calls"]:
            try:
                got = await toolset.direct_call_tool(call["tool"], call["arguments"])
                results.append({"tool": call["tool"], "got": describe(got)})
            except Exception as e:  # ModelRetry: what the model is told to retry with
                results.append({"tool": call["tool"], "error": f"{type(e).__name__}: {e}"})
        return tools, results


async def langchain(spec):
    from langchain_mcp_adapters.client import MultiServerMCPClient

    if "url" in spec:
        connection = {"transport": "streamable_http", "url": spec["url"]}
    else:
        command, args = server_params(spec)
        connection = {"transport": "stdio", "command": command, "args": args}
    client = MultiServerMCPClient({"spaces": connection})
    tools = {t.name: t for t in await client.get_tools()}
    return sorted(tools), await invoke_each(tools, spec)


async def openai_agents(spec):
    from agents.mcp import MCPServerStdio, MCPServerStreamableHttp, MCPUtil
    from agents.run_context import RunContextWrapper

    if "url" in spec:
        server = MCPServerStreamableHttp(params={"url": spec["url"]}, client_session_timeout_seconds=120)
    else:
        command, args = server_params(spec)
        server = MCPServerStdio(params={"command": command, "args": args}, client_session_timeout_seconds=120)
    async with server:
        tools = {t.name: t for t in await server.list_tools()}
        results = []
        for call in spec["calls"]:
            try:
                # What the agent loop hands the model for this call.
                got = await MCPUtil.invoke_mcp_tool(server, tools[call["tool"]], RunContextWrapper(None), json.dumps(call["arguments"]))
                results.append({"tool": call["tool"], "got": describe(got)})
            except Exception as e:
                results.append({"tool": call["tool"], "error": f"{type(e).__name__}: {e}"})
        return sorted(tools), results


def smolagents(spec):
    from mcp import StdioServerParameters
    from smolagents import ToolCollection

    if "url" in spec:
        server = {"url": spec["url"], "transport": "streamable-http"}
    else:
        command, args = server_params(spec)
        server = StdioServerParameters(command=command, args=args)
    results = []
    with ToolCollection.from_mcp(server, trust_remote_code=True, structured_output=False) as collection:
        tools = {t.name: t for t in collection.tools}
        for call in spec["calls"]:
            try:
                got = tools[call["tool"]](**call["arguments"])
                results.append({"tool": call["tool"], "got": describe(got)})
            except Exception as e:
                results.append({"tool": call["tool"], "error": f"{type(e).__name__}: {e}"})
    return sorted(tools), results


async def huggingface_hub(spec):
    from huggingface_hub import MCPClient
    from huggingface_hub.inference._mcp.utils import format_result

    # The model is never asked: its address is a closed loopback port.
    client = MCPClient(model="none", base_url="http://127.0.0.1:9/v1", api_key="none")
    if "url" in spec:
        await client.add_mcp_server(type="http", url=spec["url"])
    else:
        command, args = server_params(spec)
        await client.add_mcp_server(type="stdio", command=command, args=args)
    try:
        tools = sorted(t["function"]["name"] for t in client.available_tools)
        results = []
        for call in spec["calls"]:
            session = client.sessions[call["tool"]]
            result = await session.call_tool(call["tool"], call["arguments"])
            # What tiny-agents' loop puts in the tool message for the model.
            results.append({"tool": call["tool"], "got": describe(format_result(result))})
        return tools, results
    finally:
        await client.cleanup()


async def mcp_use(spec):
    from mcp_use import MCPClient
    from mcp_use.agents.adapters.langchain_adapter import LangChainAdapter

    if "url" in spec:
        config = {"mcpServers": {"spaces": {"url": spec["url"]}}}
    else:
        command, args = server_params(spec)
        config = {"mcpServers": {"spaces": {"command": command, "args": args}}}
    client = MCPClient.from_dict(config)
    try:
        # What an MCPAgent's model gets: the LangChain tools mcp-use makes.
        tools = {t.name: t for t in await LangChainAdapter().create_tools(client)}
        return sorted(tools), await invoke_each(tools, spec)
    finally:
        await client.close_all_sessions()


LIBRARIES = {
    "fastmcp": fastmcp,
    "pydantic-ai": pydantic_ai,
    "langchain-mcp-adapters": langchain,
    "openai-agents": openai_agents,
    "smolagents": smolagents,
    "huggingface_hub": huggingface_hub,
    "mcp-use": mcp_use,
}


def main() -> int:
    library, spec = sys.argv[1], json.loads(sys.argv[2])
    run = LIBRARIES[library]
    try:
        if asyncio.iscoroutinefunction(run):
            tools, calls = asyncio.run(run(spec))
        else:
            tools, calls = run(spec)
    except Exception:
        print(json.dumps({"failed": traceback.format_exc()}))
        return 1
    print(json.dumps({"tools": tools, "calls": calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
