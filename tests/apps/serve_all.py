"""Serve several test apps from one process, each on its own loopback port
(one Gradio import instead of one per app: nine apps start in the time of
one, even on a busy machine).

Usage: python serve_all.py SPEC.json

SPEC.json is a list of apps, each `{"name", "module", "port", "root_path",
"header_log", "fail_joins", "sleep_config", "jobs_log"}`, the same options
serve.py takes for one app. Each app is a fresh instance of its module (a
Blocks can be mounted once, and module state such as the jobs log stays its
own). Prints `ready NAME` once each app answers, so a slow one can be named.
"""

import asyncio
import importlib.util
import json
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import uvicorn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from serve import build  # noqa: E402


def fresh(module: str, name: str):
    spec = importlib.util.spec_from_file_location(f"{module}__{name}", os.path.join(HERE, f"{module}.py"))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


async def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        specs = json.load(f)
    servers = []
    for spec in specs:
        module = fresh(spec["module"], spec["name"])
        if spec.get("jobs_log") and hasattr(module, "JOBS_LOG_PATH"):
            module.JOBS_LOG_PATH = spec["jobs_log"]
        app = build(module.demo, spec.get("root_path", ""), spec.get("header_log", ""),
                    spec.get("fail_joins", 0), spec.get("sleep_config", 0))
        config = uvicorn.Config(app, host="127.0.0.1", port=spec["port"], log_level="warning")
        servers.append(uvicorn.Server(config))
        print(f"built {spec['name']}", flush=True)
    await asyncio.gather(*(server.serve() for server in servers))


if __name__ == "__main__":
    asyncio.run(main())
