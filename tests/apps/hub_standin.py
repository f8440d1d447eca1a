"""A stand-in for the Hugging Face Hub's API, which tests cannot reach. A
hand-written stub: the Hub is a service, not an app one can run locally,
and a Space's paused, broken or sleeping state is nothing a local Gradio
app can be put in. It answers in the Hub's own JSON shapes (those
huggingface_hub's `SpaceInfo` and `SpaceRuntime` read):

- `GET /api/spaces/<owner>/<name>/runtime`: `{"stage": ...}` for the Spaces
  named on the command line (`owner/name=STAGE`), 404 for others;
- `GET /api/spaces/<owner>/<name>`: the record of a Space of `--spaces`;
- `GET /api/spaces?search=&filter=&sort=&direction=&limit=&expand=`: the
  Spaces of `--spaces` whose id, title or summary holds `search` and whose
  tags hold every `filter`, sorted by `sort` (likes or trendingScore).

`--spaces FILE` is a JSON list of records (`id`, `host`, `likes`,
`trendingScore`, `sdk`, `tags`, `cardData`, `runtime`); `--log FILE`
records each request's path and query, one JSON line each.

Usage: python hub_standin.py PORT [--spaces FILE] [--log FILE] owner/name=STAGE ...
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARGS = sys.argv[2:]
SPACES, LOG = [], None
while ARGS and ARGS[0].startswith("--"):
    flag, value, ARGS = ARGS[0], ARGS[1], ARGS[2:]
    if flag == "--spaces":
        with open(value, encoding="utf-8") as f:
            SPACES = json.load(f)
    elif flag == "--log":
        LOG = value
STAGES = dict(arg.split("=", 1) for arg in ARGS)


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if LOG:
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps({"path": url.path, "query": query,
                                    "authorization": self.headers.get("authorization")}) + "\n")
        parts = url.path.strip("/").split("/")
        if len(parts) == 5 and parts[:2] == ["api", "spaces"] and parts[4] == "runtime":
            stage = STAGES.get(f"{parts[2]}/{parts[3]}")
            if stage:
                return self.answer(200, {"stage": stage, "hardware": {"current": None}})
            return self.answer(404)
        if len(parts) == 4 and parts[:2] == ["api", "spaces"]:
            record = next((s for s in SPACES if s["id"].lower() == f"{parts[2]}/{parts[3]}".lower()), None)
            return self.answer(200, record) if record else self.answer(404, {"error": "Repository not found"})
        if parts == ["api", "spaces"]:
            text = (query.get("search") or [""])[0].lower()
            wanted = query.get("filter") or []
            found = [s for s in SPACES
                     if text in (s["id"] + " " + json.dumps(s.get("cardData", {}))).lower()
                     and all(tag in s.get("tags", []) for tag in wanted)]
            key = (query.get("sort") or ["likes"])[0]
            found.sort(key=lambda s: s.get(key, 0), reverse=True)
            limit = int((query.get("limit") or ["20"])[0])
            return self.answer(200, found[:limit])
        return self.answer(404)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
