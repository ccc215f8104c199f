#!/usr/bin/env python3
# An independent national axis for tests, written from spec/peers.md A alone
# (no code shared with the hub): it checks every request's HMAC, and serves
# a fixed mailbox given as a JSON file, in the shapes a foreign implementation
# may use (a numeric docId, an item without `to`, items no client can take).
# Every call is appended to a JSON-lines log for the test to read.
# usage: fake_axis.py PORT_FILE SECRET_FILE MAILBOX.json LOG.jsonl
#   MAILBOX.json: {"items": [{"item": {...as listed...}, "file": PATH or null,
#                             "corrupt": "b64" or "xml", "times": N}]}
#   corrupt: the first N getEdoc answers of the item (every one when N is
#   -1) are cut: "b64" drops the last 3 base64 characters (no longer
#   base64), "xml" keeps the first half, at a 4-character boundary (base64
#   of a truncated document).
#   "huge": true: every getEdoc answer of the item declares a body of
#   200 MB and the connection closes (a package larger than a client takes).
#   "mime": true: the base64 is wrapped at 76 characters with CRLF, as Java's
#   MIME encoder writes it.
#   "urlsafe": true: the base64 uses the URL-safe alphabet ('-', '_'),
#   without padding, as Java's Base64.getUrlEncoder().withoutPadding().
#   "retrace": true: each getEdoc answer differs from the last (a comment
#   naming the fetch is appended), as from an axis stamping a package when
#   it serves it. "fail_done": N: the first N updateStatus done of the item
#   are answered FAIL 500.
#   A top-level "null_empty": true answers an empty list with "data": null
#   (a Java server serializing a null list).
#   A top-level "bom": true starts every answer with a UTF-8 byte order mark,
#   as .NET's UTF-8 writers do by default.
import base64, email, email.policy, hashlib, hmac, json, sys, threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, SECRET_FILE, MAILBOX, LOG = sys.argv[1:5]
SECRET = open(SECRET_FILE, "rb").read().rstrip(b"\r\n \t")
config = json.load(open(MAILBOX))
mailbox = config["items"]
BOM = b"\xef\xbb\xbf" if config.get("bom") else b""
done = set()
served = {}
lock = threading.Lock()


def unpadded(data):
    return "".join("%x" % b for b in hashlib.sha256(data).digest())


NS = "{http://www.mic.gov.vn/TBT/QCVN_102_2016}"


def send_problem(headers, body):
    """What spec/peers.md A says a sendEdoc may not be, or None."""
    ctype = headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        return "not multipart/form-data: " + ctype
    form = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body,
                                    policy=email.policy.HTTP)
    files = [part.get_payload(decode=True) for part in form.iter_parts()
             if part.get_param("name", header="content-disposition") == "file_doc"]
    if len(files) != 1:
        return "%d parts named file_doc" % len(files)
    package = files[0]
    if headers.get("xroadvnpt-hash-file") != unpadded(package):
        return "hash-file is not the unpadded SHA-256 of the file"
    root = ET.fromstring(package)
    status = any(e.tag == NS + "Status" for e in root.iter())
    if headers.get("xroadvnpt-messagetype") != ("status" if status else "edoc"):
        return "messagetype %s for a %s" % (headers.get("xroadvnpt-messagetype"),
                                            "status" if status else "document")
    if headers.get("xroadvnpt-from") != headers.get("xroadvnpt-systemid"):
        return "from is not the system id"
    if headers.get("xroadvnpt-servicetype") != "eDoc":
        return "servicetype is not eDoc"
    if "xroadvnpt-to" in headers:
        to = json.loads(headers["xroadvnpt-to"])
        if not isinstance(to, list) or not to or not all(isinstance(c, str) for c in to):
            return "to is not a JSON array of codes"
        if not status:
            listed = [(e.findtext(NS + "OrganId") or "").strip()
                      for e in root.iter(NS + "To")]
            if any(c not in listed for c in to):
                return "to names a code outside the package's To list"
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, obj):
        body = BOM + json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fail(self, code, desc):
        self.answer({"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc})

    def do_POST(self):
        op = self.path.rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        h = {k.lower(): v for k, v in self.headers.items()}
        p = "xroadvnpt-"
        record = {"op": op, "params": {k[len(p):]: v for k, v in h.items() if k.startswith(p)
                                       and k[len(p):] not in ("sign-header", "hash-header")}}
        sign = h.get(p + "sign-header", "")
        mac = hmac.new(SECRET, sign.encode("latin-1"), hashlib.sha256).hexdigest()
        try:
            signed = json.loads(sign)
        except ValueError:
            signed = None
        keys = [k.strip() for k in h.get(p + "sign-header-key", "").split(";") if k.strip()]
        if (not hmac.compare_digest(mac, h.get(p + "hash-header", "")) or not isinstance(signed, dict)
                or "systemid" not in keys or "timestamp" not in keys
                or any(signed.get("XroadVnpt-" + k) != h.get(p + k.lower()) for k in keys)
                # every parameter sent is signed
                or any(n not in [k.lower() for k in keys] for n in record["params"]
                       if n != "sign-header-key")):
            record["refused"] = True
        with lock:
            with open(LOG, "a") as log:
                log.write(json.dumps(record) + "\n")
        if record.get("refused"):
            return self.fail("401", "authentication failed")
        if op == "getReceivedEdocList":
            with lock:
                data = [m["item"] for m in mailbox
                        if str(m["item"].get("docId")) not in done
                        and m["item"].get("messageType", "edoc") == h.get(p + "messagetype")]
            if not data and config.get("null_empty"):
                data = None
            return self.answer({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": data})
        if op == "getEdoc":
            for m in mailbox:
                if str(m["item"].get("docId")) == h.get(p + "docid") and m.get("file"):
                    if m.get("huge"):
                        with lock:
                            served[h.get(p + "docid")] = served.get(h.get(p + "docid"), 0) + 1
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", "200000000")
                        self.end_headers()
                        self.wfile.write(b'{"status":"OK","ErrorCode":"0","data":"')
                        self.close_connection = True
                        return
                    package = open(m["file"], "rb").read()
                    if m.get("retrace"):
                        with lock:
                            package += b"<!-- served %d -->\n" % served.get(h.get(p + "docid"), 0)
                    data = base64.b64encode(package).decode()
                    if m.get("urlsafe"):
                        data = data.replace("+", "-").replace("/", "_").rstrip("=")
                    if m.get("mime"):
                        data = "\r\n".join(data[i:i + 76] for i in range(0, len(data), 76))
                    with lock:
                        n = served.get(h.get(p + "docid"), 0)
                        served[h.get(p + "docid")] = n + 1
                    times = m.get("times", 1)
                    if m.get("corrupt") and (times < 0 or n < times):
                        data = data[:-3] if m["corrupt"] == "b64" else data[:len(data) // 8 * 4]
                    return self.answer({"status": "OK", "ErrorCode": "0", "ErrorDesc": "",
                                        "data": data})
            return self.fail("404", "no such docId")
        if op == "updateStatus":
            if h.get(p + "status") not in ("processing", "done", "fail"):
                return self.fail("400", "bad status")
            if h.get(p + "status") == "done":
                with lock:
                    for m in mailbox:
                        if str(m["item"].get("docId")) == h.get(p + "docid") and m.get("fail_done"):
                            m["fail_done"] -= 1
                            return self.fail("500", "try again later")
                    done.add(h.get(p + "docid"))
            return self.answer({"status": "OK", "ErrorCode": "0", "ErrorDesc": ""})
        if op == "sendEdoc":
            problem = send_problem(h, body)
            if problem:
                with lock:
                    with open(LOG, "a") as log:
                        log.write(json.dumps({"op": "sendEdoc-refused", "why": problem}) + "\n")
                return self.fail("400", problem)
            return self.answer({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "DocId": "S1"})
        return self.fail("404", "unknown operation")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
open(PORT_FILE, "w").write(str(server.server_address[1]))
server.serve_forever()
