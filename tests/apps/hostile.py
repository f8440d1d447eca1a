"""A hostile Gradio stand-in, hand-written on purpose.

A real Gradio app cannot be made to misbehave the ways a hostile or broken
Space can, so this raw-socket server speaks just enough of Gradio's HTTP API
(`/config`, `/gradio_api/info`, the queue API) to be called as a Space, then
misbehaves in one way chosen on its command line:

    python hostile.py PORT MODE [--collector URL]

MODE:
- `prefix`:   /config names `--collector` as its API prefix, to steal the token.
- `endless`:  the queue's data stream sends one `data:` line that never
              ends, as fast as it can be read.
- `trickle`:  the same line, 1 kB every 50 ms: never silent, never done.
- `huge`:     the result is a file whose download announces 40 GB.
- `bigerror`: joining the queue answers HTTP 500 with a 1 GB body.
- `gallery`:  the result is a gallery of 50 files of 4 MB each.
- `badtext`:  the job fails with 100 kB of error text full of terminal
              escapes and bidi overrides.
- `links`:    the result is a gallery naming its files at `file:`,
              `javascript:`, link-local and ordinary https URLs (a real
              Gradio app builds its file URLs itself).
- `flood`:    before its result, the job sends 20,000 progress messages of
              1.6 kB and 2,000 log lines of 1 kB, at wire speed (a real app
              can send as many, but only slowly).

With MODE `collect` it is instead a plain listener that records every request
it receives (method, path, token headers) as JSON lines on stdout: the
"second listener" that must never see the token.
"""

import asyncio
import json
import sys

PORT = int(sys.argv[1])
MODE = sys.argv[2]
COLLECTOR = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--collector" else ""

EVENT_ID = "e0123456789"
FILE_MB = 4


def config() -> dict:
    prefix = COLLECTOR + "/gradio_api" if MODE == "prefix" else "/gradio_api"
    return {
        "version": "6.31.0",
        "protocol": "sse_v3",
        "api_prefix": prefix,
        "components": [{"id": 1, "type": "textbox"}, {"id": 2, "type": "textbox"}],
        "dependencies": [{"id": 0, "api_name": "predict", "inputs": [1], "outputs": [2]}],
    }


INFO = {
    "named_endpoints": {
        "/predict": {
            "parameters": [
                {
                    "label": "Text",
                    "parameter_name": "text",
                    "parameter_has_default": False,
                    "parameter_default": None,
                    "component": "Textbox",
                    "type": {"type": "string"},
                }
            ],
            "returns": [{"label": "Result", "component": "Textbox", "type": {"type": "string"}}],
        }
    }
}


def file_data(base: str, name: str) -> dict:
    return {
        "path": name,
        "url": f"{base}/gradio_api/file={name}",
        "orig_name": name,
        "meta": {"_type": "gradio.FileData"},
    }


async def send(writer, status: str, body: bytes, content_type: str = "application/json", extra: str = "") -> None:
    head = f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n{extra}connection: close\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()


async def stream_head(writer, status: str, headers: str) -> None:
    writer.write(f"HTTP/1.1 {status}\r\n{headers}connection: close\r\n\r\n".encode())
    await writer.drain()


async def handle(reader, writer) -> None:
    try:
        request = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        writer.close()
        return
    lines = request.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    length = int(headers.get("content-length", "0"))
    if length:
        await reader.readexactly(length)
    base = f"http://127.0.0.1:{PORT}"
    path = target.split("?")[0]
    try:
        if MODE == "collect":
            print(json.dumps({
                "method": method,
                "path": path,
                "x_hf_authorization": headers.get("x-hf-authorization"),
                "authorization": headers.get("authorization"),
            }), flush=True)
            await send(writer, "404 Not Found", b"{}")
        elif path == "/config":
            await send(writer, "200 OK", json.dumps(config()).encode())
        elif path == "/gradio_api/info":
            await send(writer, "200 OK", json.dumps(INFO).encode())
        elif path == "/gradio_api/queue/join":
            if MODE == "bigerror":
                await stream_head(writer, "500 Internal Server Error", "content-type: text/plain\r\ncontent-length: 1073741824\r\n")
                chunk = b"E" * (1024 * 1024)
                for _ in range(1024):
                    writer.write(chunk)
                    await writer.drain()
            else:
                await send(writer, "200 OK", json.dumps({"event_id": EVENT_ID}).encode())
        elif path == "/gradio_api/queue/data":
            await stream_head(writer, "200 OK", "content-type: text/event-stream\r\ncache-control: no-cache\r\n")
            if MODE in ("endless", "trickle"):
                writer.write(b'data: ["')
                while True:
                    if MODE == "endless":
                        writer.write(b"A" * 65536)
                        await writer.drain()
                    else:
                        writer.write(b"A" * 1024)
                        await writer.drain()
                        await asyncio.sleep(0.05)
            if MODE == "flood":
                desc = "d" * 1600
                for i in range(20_000):
                    step = {"msg": "progress", "event_id": EVENT_ID, "progress_data": [{"index": i, "length": 20_000, "unit": "steps", "progress": None, "desc": desc}]}
                    writer.write(f"data: {json.dumps(step)}\n\n".encode())
                    if i % 10 == 0:
                        line = {"msg": "log", "event_id": EVENT_ID, "log": f"line {i // 10} " + "L" * 1024, "level": "info"}
                        writer.write(f"data: {json.dumps(line)}\n\n".encode())
                        await writer.drain()
            if MODE == "badtext":
                text = "\x1b[31mboom\x07\u202egnp.exe\u2066 " + "A" * 100_000
                failed = {"msg": "process_completed", "event_id": EVENT_ID, "success": False, "output": {"error": text}}
                writer.write(f"data: {json.dumps(failed)}\n\n".encode())
                await writer.drain()
                return
            if MODE == "huge":
                output = [file_data(base, "big.bin")]
            elif MODE == "links":
                claimed = ["file:///etc/passwd", "javascript:alert(1)", "http://169.254.169.254/latest/meta-data/", "https://example.com/ok.png"]
                output = [[{"image": {"path": u, "url": u, "orig_name": "x.png", "meta": {"_type": "gradio.FileData"}}, "caption": None} for u in claimed]]
            elif MODE == "gallery":
                output = [[{"image": file_data(base, f"g{i}.png"), "caption": None} for i in range(50)]]
            else:
                output = ["ok"]
            done = {"msg": "process_completed", "event_id": EVENT_ID, "success": True, "output": {"data": output}}
            writer.write(f"data: {json.dumps(done)}\n\n".encode())
            writer.write(b'data: {"msg": "close_stream", "event_id": null}\n\n')
            await writer.drain()
        elif path.startswith("/gradio_api/file="):
            if MODE == "huge":
                await stream_head(writer, "200 OK", "content-type: application/octet-stream\r\ncontent-length: 40000000000\r\n")
                while True:
                    writer.write(b"\0" * 65536)
                    await writer.drain()
                    await asyncio.sleep(0.01)
            else:
                # A PNG signature, then filler: FILE_MB MB.
                body = b"\x89PNG\r\n\x1a\n" + b"\0" * (FILE_MB * 1024 * 1024 - 8)
                await send(writer, "200 OK", body, "image/png")
        else:
            await send(writer, "404 Not Found", b'{"detail": "Not Found"}')
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", PORT, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
