"""Many Gradio apps from one process, for the start-up benchmark: the test
apps beside this file, loaded afresh N times and mounted at /a1 … /aN, each
a separate Gradio app at its own URL (as N Spaces would be).

Usage: python many.py PORT N
"""

import importlib.util
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = ["sanasprint", "dia", "kitchen", "jobs", "slow", "stateful", "components"]


def fresh(module: str, n: int):
    """The module's `demo`, built anew (a Blocks can be mounted once)."""
    spec = importlib.util.spec_from_file_location(f"{module}_{n}", os.path.join(HERE, f"{module}.py"))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded.demo


def main() -> None:
    port, count = int(sys.argv[1]), int(sys.argv[2])
    sys.path.insert(0, HERE)
    app = FastAPI()
    for n in range(1, count + 1):
        app = gr.mount_gradio_app(app, fresh(MODULES[(n - 1) % len(MODULES)], n), path=f"/a{n}")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
