"""Serve one of the test apps on 127.0.0.1.

Usage: python serve.py APP PORT [--root-path URL] [--header-log FILE]
                        [--fail-joins N] [--sleep-config N]

APP names a module beside this file that defines `demo` (a gr.Blocks). The app
is mounted on a FastAPI app, as Gradio's own `mount_gradio_app` does, so that
the tests can record which headers reached the server (`--header-log`: one JSON
line per request with its path and whether an HF token came with it) without
changing the app's endpoints. `--root-path` makes Gradio build its file URLs on
another origin, as a proxy in front of a Space would.

Two faults a real app cannot be made to produce on demand are injected in
front of it, as the Hugging Face proxy produces them: `--fail-joins N` answers
the first N queue joins with 503 and Retry-After (a transient failure before
the job is accepted), and `--sleep-config N` answers the first N `/config`
requests with 503 (a Space that is still waking up).
"""

import argparse
import importlib
import json
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app")
    parser.add_argument("port", type=int)
    parser.add_argument("--root-path", default="")
    parser.add_argument("--header-log", default="")
    parser.add_argument("--fail-joins", type=int, default=0)
    parser.add_argument("--sleep-config", type=int, default=0)
    # A login, as `launch(auth=(user, password))` asks for one: USER:PASSWORD.
    parser.add_argument("--auth", default="")
    args = parser.parse_args()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    demo = importlib.import_module(args.app).demo
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    app = build(demo, args.root_path, args.header_log, args.fail_joins, args.sleep_config, auth)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


def build(demo, root_path: str = "", header_log: str = "", fail_joins: int = 0, sleep_config: int = 0,
          auth: tuple[str, str] | None = None) -> FastAPI:
    """`demo` mounted on a FastAPI app, with the header log and the faults
    asked for (also used by serve_all.py)."""
    app = FastAPI()
    if header_log:
        log_path = header_log

        @app.middleware("http")
        async def record_headers(request: Request, call_next):
            entry = {
                "method": request.method,
                "path": request.url.path,
                "x_hf_authorization": request.headers.get("x-hf-authorization"),
                "authorization": request.headers.get("authorization"),
            }
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
            return await call_next(request)

    faults = {"joins": fail_joins, "config": sleep_config}
    if fail_joins or sleep_config:
        from starlette.responses import PlainTextResponse

        @app.middleware("http")
        async def inject_faults(request: Request, call_next):
            path = request.url.path
            if request.method == "POST" and path.endswith("/queue/join") and faults["joins"] > 0:
                faults["joins"] -= 1
                return PlainTextResponse("Service Unavailable", status_code=503, headers={"Retry-After": "1"})
            if request.method == "GET" and path == "/config" and faults["config"] > 0:
                faults["config"] -= 1
                return PlainTextResponse("Space is starting", status_code=503)
            return await call_next(request)

    return gr.mount_gradio_app(app, demo, path="", root_path=root_path, auth=auth)


if __name__ == "__main__":
    main()
