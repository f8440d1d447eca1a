"""The memory benchmark (run by scripts/bench_memory.sh): the peak resident
memory (VmHWM) of a release `spaces-mcp serve --transport http` under two
loads, against the real kitchen app (tests/apps/kitchen.py):

- the size check: a 2048 px noisy PNG, 20 s of WAV, a gallery of six
  1024 px images, then eight 2048 px images at once;
- fifty calls at once, each returning a 20 MB image (a 2580 px noisy PNG);
- eight calls at once, each returning a 5000 px image (25 Mpx, 75 MB): what
  decoding for previews holds at once;
- three bursts of fifty 20 MB images on one server: the resident size's
  peak in each burst (sampled every 10 ms), which should not grow from one
  burst to the next, and what is left after 10 s idle.

Each load runs on a fresh server. Prints the figures and how many calls
succeeded; asserts nothing (targets live in README, not in tests)."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import anyio  # noqa: E402

from helpers import start_app, wait_ready, write_config  # noqa: E402
from mcp_helpers import HttpServer, streamable  # noqa: E402


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler:
    """The highest resident size seen since the last `take`, sampled every 10 ms."""

    def __init__(self, pid: int):
        self.pid, self.high, self.done = pid, 0.0, False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.done:
            try:
                self.high = max(self.high, rss_mib(self.pid))
            except OSError:
                return
            time.sleep(0.01)

    def take(self) -> float:
        high, self.high = self.high, 0.0
        return high

    def stop(self) -> None:
        self.done = True
        self.thread.join()


def bursts(server: HttpServer) -> None:
    """Three bursts of fifty 20 MB images, each on a fresh session."""
    sampler = Sampler(server.process.pid)
    try:
        anyio.run(at_once, server.url, 2580, 1)
        warm = rss_mib(server.process.pid)
        sampler.take()
        peaks = []
        for n in range(3):
            started = time.monotonic()
            ok = anyio.run(fifty_huge, server.url)
            peaks.append(sampler.take())
            print(f"  burst {n + 1}: peak RSS {peaks[-1]:7.1f} MiB   {ok}/50 calls succeeded in {time.monotonic() - started:.1f} s", flush=True)
        time.sleep(10)
        idle = rss_mib(server.process.pid)
        higher = [i + 2 for i, p in enumerate(peaks[1:]) if p > peaks[0]]
        print(f"3 bursts of 50 x 20 MB        peaks {' / '.join(f'{p:.1f}' for p in peaks)} MiB (target: <= 128, none above the first: "
              f"{'met' if max(peaks) <= 128 and not higher else 'NOT met'}); RSS {warm:.1f} MiB warm, {idle:.1f} MiB after 10 s idle", flush=True)
    finally:
        sampler.stop()


def config(app_url: str, tmp: Path) -> Path:
    tools = "".join(f'\n[tools.{name}]\nspace = "{app_url}"\napi = "/{name}"\n' for name in ("big_image", "long_audio", "six_images", "huge_image"))
    return write_config(tmp, f'[settings]\noutput_dir = "{tmp / "out"}"\ntimeout = 300\ndetach_after = 0\n{tools}')


ERRORS: list[str] = []


def succeeded(result) -> bool:
    if result.is_error:
        ERRORS.append(" ".join(c.text for c in result.content if c.type == "text")[:300])
    return not result.is_error


async def size_check(url: str) -> int:
    ok = 0
    async with streamable(url) as session:
        for name, arguments in (("big_image", {"side": 2048}), ("long_audio", {"seconds": 20}), ("six_images", {"side": 1024})):
            ok += succeeded(await session.call_tool(name, arguments))

        async def one() -> None:
            nonlocal ok
            result = await session.call_tool("big_image", {"side": 2048})
            ok += succeeded(result)

        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one)
    return ok


async def at_once(url: str, side: int, calls: int) -> int:
    ok = 0
    async with streamable(url) as session:
        # The app makes the file once, before the others.
        ok += succeeded(await session.call_tool("huge_image", {"side": side}))

        async def one() -> None:
            nonlocal ok
            result = await session.call_tool("huge_image", {"side": side})
            ok += succeeded(result)

        async with anyio.create_task_group() as group:
            for _ in range(calls):
                group.start_soon(one)
    return ok - 1


async def fifty_huge(url: str) -> int:
    return await at_once(url, 2580, 50)


async def eight_wide(url: str) -> int:
    return await at_once(url, 5000, 8)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="spaces-mcp-bench-memory-"))
    app = start_app("kitchen", "kitchen", tmp)
    try:
        wait_ready(app, time.monotonic() + 180)
        loads = (
            ("size check", size_check, 11),
            ("50 x 20 MB images at once", fifty_huge, 50),
            ("8 x 5000 px images at once", eight_wide, 8),
        )
        server = HttpServer(config(app.url, tmp), tmp, env={"SPACES_MCP_CACHE_DIR": str(tmp / "cache")})
        try:
            bursts(server)
        finally:
            server.stop()
        if "--bursts" in sys.argv:
            return
        for label, load, calls in loads:
            server = HttpServer(config(app.url, tmp), tmp, env={"SPACES_MCP_CACHE_DIR": str(tmp / "cache")})
            try:
                started = time.monotonic()
                ok = anyio.run(load, server.url)
                elapsed = time.monotonic() - started
                print(f"{label:28} peak RSS {peak_mib(server.process.pid):7.1f} MiB   {ok}/{calls} calls succeeded in {elapsed:.1f} s", flush=True)
            finally:
                server.stop()
            for error in sorted(set(ERRORS)):
                print(f"  failed: {error}")
            ERRORS.clear()
    finally:
        app.process.terminate()
        app.process.wait(timeout=10)


if __name__ == "__main__":
    os.environ.setdefault("SPACES_MCP_BIN", str(Path(__file__).resolve().parent.parent / "target" / "release" / "spaces-mcp"))
    main()
