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
                         "sleep": seconds, "bom": bool} (sleep: answer late;
                         bom: a UTF-8 byte order mark before the body)
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

    def chunked(self, status, body, bom=False):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if bom:
            data = b"\xef\xbb\xbf" + data
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(data), 7):
            piece = data[i:i + 7]
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
        self.chunked(status, body, bool(step and step.get("bom")))


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
print("listening on %d" % PORT, flush=True)
server.serve_forever()
