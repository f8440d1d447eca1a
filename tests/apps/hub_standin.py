"""A stand-in for the Hugging Face Hub's Space runtime API, which tests
cannot reach: `GET /api/spaces/<owner>/<name>/runtime` answers
`{"stage": ...}` for the Spaces named on the command line, 404 for others.
A hand-written stub, because a Space's paused, broken or sleeping state is
nothing a local Gradio app can be put in.

Usage: python hub_standin.py PORT owner/name=STAGE ...
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STAGES = dict(arg.split("=", 1) for arg in sys.argv[2:])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 5 and parts[:2] == ["api", "spaces"] and parts[4] == "runtime":
            stage = STAGES.get(f"{parts[2]}/{parts[3]}")
            if stage:
                body = json.dumps({"stage": stage, "hardware": {"current": None}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
