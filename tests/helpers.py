"""Plain helpers of the integration tests (no fixtures: those are in
conftest.py): where the binary and the repository are, free loopback ports,
the test apps and how they start, and config files written for a test.

The Gradio side is real: the apps under tests/apps/ (same endpoint signatures
as the Spaces ysharma/SanaSprint and ysharma/Dia-1.6B) run in Gradio from
PyPI on free loopback ports. Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "apps"
DEFAULT_CONFIG = ROOT / "spaces.toml"


def binary() -> str:
    path = os.environ.get("SPACES_MCP_BIN") or str(ROOT / "target" / "debug" / "spaces-mcp")
    if not os.path.exists(path):
        pytest.fail(f"{path} does not exist: build it first (scripts/test.sh does)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class App:
    """A running test app: its URL and the log of the headers it received."""

    name: str
    url: str
    process: subprocess.Popen
    header_log: Path
    output: Path
    jobs_log: Path
    # Where the app's Gradio keeps uploads and outputs (GRADIO_TEMP_DIR).
    files: Path

    def jobs(self) -> list[dict]:
        """What the app's jobs did, as tests/apps/jobs.py records it."""
        if not self.jobs_log.exists():
            return []
        return [json.loads(line) for line in self.jobs_log.read_text().splitlines() if line]

    def requests(self) -> list[dict]:
        if not self.header_log.exists():
            return []
        return [json.loads(line) for line in self.header_log.read_text().splitlines() if line]


@dataclass
class Apps:
    sana: App
    dia: App
    slow: App
    foreign: App
    jobs: App
    flaky: App
    kitchen: App
    stateful: App
    tasks: App
    chat: App
    zerogpu: App
    tmp: Path
    all: list[App] = field(default_factory=list)


def start_app(name: str, module: str, tmp: Path, extra: list[str] | None = None, port: int | None = None, env: dict[str, str] | None = None) -> App:
    port = port or free_port()
    header_log = tmp / f"{name}.headers.jsonl"
    output = tmp / f"{name}.log"
    jobs_log = tmp / f"{name}.jobs.jsonl"
    files = tmp / f"{name}.gradio-files"
    env = dict(
        os.environ,
        GRADIO_TEMP_DIR=str(files),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        NO_PROXY="127.0.0.1,localhost",
        JOBS_LOG=str(jobs_log),
        **(env or {}),
    )
    process = subprocess.Popen(
        [sys.executable, str(APPS / "serve.py"), module, str(port), "--header-log", str(header_log), *(extra or [])],
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    return App(name, f"http://127.0.0.1:{port}", process, header_log, output, jobs_log, files)


def start_apps(tmp: Path, specs: list[tuple[str, str, list[str]]]) -> list[App]:
    """Several apps from one Gradio process (tests/apps/serve_all.py), each on
    its own port: `specs` are (name, module, serve.py options)."""
    output = tmp / "apps.log"
    files = tmp / "apps.gradio-files"
    entries, apps = [], []
    for name, module, extra in specs:
        options = dict(zip(extra[::2], extra[1::2]))
        port = free_port()
        entry = {
            "name": name,
            "module": module,
            "port": port,
            "root_path": options.get("--root-path", ""),
            "header_log": str(tmp / f"{name}.headers.jsonl"),
            "fail_joins": int(options.get("--fail-joins", 0)),
            "sleep_config": int(options.get("--sleep-config", 0)),
            "jobs_log": str(tmp / f"{name}.jobs.jsonl"),
        }
        entries.append(entry)
    spec_path = tmp / "apps.json"
    spec_path.write_text(json.dumps(entries))
    env = dict(os.environ, GRADIO_TEMP_DIR=str(files), GRADIO_ANALYTICS_ENABLED="False",
               HF_HUB_OFFLINE="1", NO_PROXY="127.0.0.1,localhost")
    process = subprocess.Popen([sys.executable, str(APPS / "serve_all.py"), str(spec_path)],
                               stdout=output.open("w"), stderr=subprocess.STDOUT, env=env)
    for entry in entries:
        apps.append(App(entry["name"], f"http://127.0.0.1:{entry['port']}", process, Path(entry["header_log"]),
                        output, Path(entry["jobs_log"]), files))
    return apps


def wait_for_url(url: str, seconds: float, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Waits until `url` answers (any HTTP status), for a helper server the
    tests start (a load balancer, the Hub stand-in); says why it did not."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline or (process is not None and process.poll() is not None):
                raise RuntimeError(f"{url} did not answer: {log.read_text() if log and log.exists() else ''}")
            time.sleep(0.1)


def wait_ready(app: App, deadline: float) -> None:
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"test app {app.name} exited:\n{app.output.read_text()}")
        try:
            with urllib.request.urlopen(app.url + "/config", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as e:
            # An app behind a login answers, with 401.
            if e.code == 401:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"test app {app.name} ({app.url}) did not answer /config in time; its process's output:\n{app.output.read_text()}")


def local_config(apps: Apps, extra: str = "", hf_token: bool = False) -> str:
    """The built-in spaces.toml with each Space pointed at its local stand-in,
    as an outside script would rewrite it, plus `extra` tables."""
    text = DEFAULT_CONFIG.read_text()
    text = text.replace('space = "ysharma/SanaSprint"', f'space = "{apps.sana.url}"')
    text = text.replace('space = "ysharma/Dia-1.6B"', f'space = "{apps.dia.url}"')
    if hf_token:
        text = re.sub(r'^(space = .*)$', r'\1\nhf_token = true', text, flags=re.M)
    return text + "\n" + extra


def tasks_tools(apps: Apps, extra: str = "") -> str:
    """The conformance suite's tools (tests/conformance/tasks.toml) over the
    local tasks app, with `extra` lines in [settings]."""
    text = (ROOT / "tests" / "conformance" / "tasks.toml").read_text().replace("APP_URL", apps.tasks.url)
    return with_settings(text, extra)


def slow_tool(apps: Apps, timeout: int | None = None) -> str:
    """A `slow` tool over the slow app's `/slow(seconds)`."""
    limit = f"timeout = {timeout}\n" if timeout else ""
    return f'\n[tools.slow]\nspace = "{apps.slow.url}"\napi = "/slow"\n{limit}inputs.seconds = {{ type = "number" }}\n'


def with_settings(text: str, lines: str) -> str:
    """Config text with `lines` added to its [settings] table."""
    return text.replace("[settings]\n", "[settings]\n" + lines + "\n", 1)


def write_config(tmp: Path, text: str) -> Path:
    fd, path = tempfile.mkstemp(prefix="spaces-", suffix=".toml", dir=tmp)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return Path(path)
