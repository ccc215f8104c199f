#!/usr/bin/env python3
"""An independent reporting system for tests/report/test_report_peers.sh,
written from spec/peers.md C alone, answering in ways the spec leaves open.

  peer_report.py PORT TOKEN_FILE

  POST /api/v1/reports   Bearer token checked (401 otherwise); the answer
                         is the next step of the script, else 201 (new
                         idempotencyKey) or 200 (known one), with id as a
                         JSON number (4711, 4712, ...) and the answer sent
                         chunked with "application/json; charset=utf-8"
  POST /_ctl             {"script": [step...]}: answers for the next
                         submissions: {"status": N, "body": OBJ or "text",
                         "sleep": seconds, "bom": bool, "headers": {...},
                         "pad": N}
                         (sleep: answer late; bom: a UTF-8 byte order mark
                         before the body; headers: added to the answer, as
                         a Location; a "text" body is sent as it is, so it
                         may repeat a key or hold a number beyond 64 bits;
                         pad: N bytes added to an object body as "pad")
  GET /_log              every submission: idempotencyKey (body), the
                         Idempotency-Key header, the status answered
Prints "listening on PORT" once it serves.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
TOKEN = open(sys.argv[2]).read().strip()
lock = threading.Lock()
script = []
log = []
ids = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def chunked(self, status, body, bom=False, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if bom:
            data = b"\xef\xbb\xbf" + data
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        # Small pieces test the client's reassembly; a large body goes in
        # large ones, or sending it would take the whole timeout.
        step = 7 if len(data) < 65536 else 65536
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self):
        with lock:
            self.chunked(200, {"log": log})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/_ctl":
            with lock:
                script.extend(json.loads(raw)["script"])
            self.chunked(200, {"ok": True})
            return
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            self.chunked(401, {"error": "unauthorized"})
            return
        try:
            key = json.loads(raw)["idempotencyKey"]
        except (ValueError, KeyError, TypeError):
            self.chunked(400, {"error": "idempotencyKey: missing"})
            return
        with lock:
            step = script.pop(0) if script else None
        entry = {"key": key, "header": self.headers.get("Idempotency-Key")}
        if step:
            status, body = step["status"], step.get("body", {})
            if isinstance(body, str):
                body = body.encode()
            elif step.get("pad"):
                body = dict(body, pad="x" * step["pad"])
        else:
            with lock:
                known = key in ids
                if not known:
                    ids[key] = 4711 + len(ids)
                status, body = (200 if known else 201), {"id": ids[key], "status": "received"}
        entry["status"] = status
        with lock:
            log.append(entry)
        if step and step.get("sleep"):
            time.sleep(step["sleep"])
        self.chunked(status, body, bool(step and step.get("bom")),
                     step.get("headers") if step else None)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
print("listening on %d" % PORT, flush=True)
server.serve_forever()
