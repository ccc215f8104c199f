#!/usr/bin/env python3
"""An independent DVCQG adapter for tests/portal/test_portal_peers.sh.

Written from spec/peers.md B alone, without lthub's code, and made to
differ where the spec leaves room: it can answer error_code as a JSON
number, put an adapter answer in a body sent with an HTTP status other
than 200, answer TraCuuHoSo with data as an array or not at all, and play
a script of answers for the next service calls.

  peer_dvcqg.py PORT USERNAME PASSWORD_FILE

  POST /login, POST /service   the adapter API
  POST /_ctl                   merge a JSON object into the behaviour:
      numeric    bool      error_code as a number (0, -1, ...)
      bom        bool      answers start with a UTF-8 byte order mark
      refuse_login bool    every login is refused (-1), as after a password change
      status     {code: N} HTTP status sent with answers of that code
      lookup     "object" (default), "array", "http404" or "unsupported"
      script     [step...] answers for the next service calls, in order:
                 {"service": S, "code": C, "message": M, "status": N,
                  "store": bool, "sleep": seconds, "expire": bool}
                 ("expire": the session is forgotten first, so the call
                 gets -2; "store": the records are kept before answering;
                 {"raw": OBJ, "status": N} answers OBJ as it is, with
                 "headers": {NAME: VALUE} added to the answer;
                 "pad": N makes the message N bytes longer)
  GET /_log                    every login ("service": "login") and service call: service, isUpdating,
                               MaHoSo list, the code answered, the body
                               as received (raw)
Prints "listening on PORT" once it serves.
"""
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
USERNAME = sys.argv[2]
PASSWORD = open(sys.argv[3], encoding="utf-8").read().rstrip("\r\n \t")

lock = threading.RLock()
behaviour = {"numeric": False, "status": {}, "lookup": "object", "script": []}
sessions = set()
records = {}
log = []


def code_value(code):
    return int(code) if behaviour["numeric"] else code


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj, control=False, headers=None):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        with lock:
            if behaviour.get("bom") and not control:
                body = b"\xef\xbb\xbf" + body
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self, code, message, **extra):
        with lock:
            status = behaviour["status"].get(code, 200)
            obj = {"error_code": code_value(code), "message": message}
        obj.update(extra)
        self.reply(status, obj)

    def do_GET(self):
        if self.path == "/_log":
            with lock:
                self.reply(200, {"log": log, "records": records}, control=True)
        else:
            self.reply(404, {"error_code": "404", "message": "unknown path"})

    def do_POST(self):
        size = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(size)
        try:
            body = json.loads(raw.decode("utf-8-sig"))
        except ValueError:
            self.answer("-1", "the body is not JSON")
            return
        if self.path == "/_ctl":
            with lock:
                behaviour.update(body)
            self.reply(200, {"ok": True}, control=True)
        elif self.path == "/login":
            with lock:
                refuse = behaviour.get("refuse_login")
            ok = body.get("username") == USERNAME and body.get("password") == PASSWORD
            with lock:
                log.append({"service": "login", "keys": [], "code": "0" if ok and not refuse
                            else "-1"})
            if ok and not refuse:
                token = secrets.token_hex(12)
                with lock:
                    sessions.add(token)
                self.answer("0", "", session=token)
            else:
                self.answer("-1", "sai tên đăng nhập hoặc mật khẩu")
        elif self.path == "/service":
            self.service(body, raw)
        else:
            self.reply(404, {"error_code": "404", "message": "unknown path"})

    def service(self, body, raw):
        service = body.get("service")
        data = body.get("data") if isinstance(body.get("data"), list) else []
        keys = [r.get("MaHoSo") for r in data if isinstance(r, dict)]
        step = None
        with lock:
            for i, s in enumerate(behaviour["script"]):
                if s.get("service", service) == service:
                    step = behaviour["script"].pop(i)
                    break
            if step and step.get("expire"):
                sessions.discard(body.get("session"))
            live = body.get("session") in sessions
        entry = {"service": service, "isUpdating": body.get("isUpdating"), "keys": keys,
                 "raw": raw.decode("utf-8")}
        if not live:
            code, message, extra = "-2", "phiên làm việc không hợp lệ", {}
        elif step and "raw" in step:
            code, message, extra = "raw", "", {}
        elif step and "code" in step:
            code, message, extra = step["code"], step.get("message", ""), {}
            if step.get("pad"):
                message += "x" * step["pad"]
            if step.get("store"):
                self.store(service, data)
        elif service == "TraCuuHoSo":
            code, message, extra = self.lookup(body.get("mahoso"))
            if code is None:
                return
        elif service == "DongBoHoSoMC":
            with lock:
                exists = [k for k in keys if k in records]
            if body.get("isUpdating") == "False" and exists:
                code, message, extra = "-3", "hồ sơ %s đã tồn tại" % exists[0], {}
            else:
                self.store(service, data)
                code, message, extra = "0", "", {}
        elif service == "CapNhatTienDoHoSoMC":
            code, message, extra = "0", "", {}
        else:
            code, message, extra = "-1", "unknown service", {}
        entry["code"] = code
        with lock:
            log.append(entry)
        if step and step.get("sleep"):
            time.sleep(step["sleep"])
        status = step.get("status") if step else None
        if step and "raw" in step:
            self.reply(status or 200, step["raw"], headers=step.get("headers"))
        elif status:
            obj = {"error_code": code_value(code), "message": message}
            self.reply(status, obj)
        else:
            self.answer(code, message, **extra)

    def store(self, service, data):
        if service == "DongBoHoSoMC":
            with lock:
                for r in data:
                    records[r["MaHoSo"]] = r

    def lookup(self, key):
        with lock:
            mode = behaviour["lookup"]
            record = records.get(key)
        if mode == "http404":
            self.reply(404, {"status": 404, "error": "Not Found"})
            return None, None, None
        if mode == "unsupported":
            return "-4", "dịch vụ không được hỗ trợ", {}
        if record is None:
            return "-1", "không tìm thấy hồ sơ", {}
        return "0", "", {"data": [record] if mode == "array" else record}


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
print("listening on %d" % PORT, flush=True)
server.serve_forever()
