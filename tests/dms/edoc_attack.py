#!/usr/bin/env python3
# An adversarial edoc API client (spec/peers.md A) written independently of
# the hub's C code: it speaks raw HTTP over a socket so that it can send what
# a library would not (duplicate headers, NUL bytes, broken multipart, bodies
# that stall), and checks each answer. Every case but the ones marked "ok"
# must be refused with HTTP 200 and a FAIL body (or closed at the HTTP level)
# and must store nothing; the caller checks the store around the run.
# usage: edoc_attack.py HOST PORT SECRET_DIR DOC.EDXML
# Prints one line per case; exits 1 when any case did not behave.
import hashlib, hmac, json, socket, sys, time

HOST, PORT, SECRETS, DOC = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
P = "XroadVnpt-"
failures = []


def secret(system):
    return open("%s/%s" % (SECRETS, system), "rb").read().rstrip(b"\r\n \t")


def unpadded(data):
    return "".join("%x" % b for b in hashlib.sha256(data).digest())


def padded(data):
    return hashlib.sha256(data).hexdigest()


def stamp():
    t = time.time() + 7 * 3600
    return time.strftime("%d%m%YT%H%M%S", time.gmtime(t)) + "+%04d" % int((t % 1) * 1000)


def signed(system, params, key_list=None, sign_text=None, key=None, extra=(), ts=None):
    """Header list (name, value) signing params like the reference SDK."""
    pairs = [("systemid", system), ("timestamp", ts or stamp())] + list(params)
    sign = sign_text if sign_text is not None else json.dumps(
        {P + k: v for k, v in pairs}, separators=(",", ":"), ensure_ascii=False)
    keys = key_list if key_list is not None else ";".join(k for k, _ in pairs)
    mac = hmac.new(key if key is not None else secret(system),
                   sign.encode() if isinstance(sign, str) else sign, hashlib.sha256).hexdigest()
    headers = [(P + k, v) for k, v in pairs]
    headers += [(P + "sign-header-key", keys), (P + "sign-header", sign), (P + "hash-header", mac)]
    return headers + list(extra)


def multipart(parts, boundary="b0undary42"):
    body = b""
    for name, data in parts:
        body += (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"" +
                 name.encode() + b"\"; filename=\"doc.edxml\"\r\n"
                 b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    return body + b"--" + boundary.encode() + b"--\r\n", "multipart/form-data; boundary=" + boundary


def raw(op, headers, body=b"", ctype=None, timeout=15):
    """POST op with headers as given (bytes allowed); returns (status, body text)."""
    lines = [b"POST /" + op.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
             b"Content-Length: " + str(len(body)).encode()]
    if ctype:
        lines.append(b"Content-Type: " + ctype.encode())
    for name, value in headers:
        name = name.encode() if isinstance(name, str) else name
        value = value.encode() if isinstance(value, str) else value
        lines.append(name + b": " + value)
    data = b"\r\n".join(lines) + b"\r\n\r\n" + body
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        pass
    finally:
        s.close()
    if not got:
        return 0, ""
    head, _, rest = got.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, rest.decode("utf-8", "replace")


def check(name, result, code=None, contains=None, http=200, closed_ok=False):
    status, text = result
    if closed_ok and status in (0, 400, 413, 431):
        print("PASS %s: refused at the HTTP level (%d)" % (name, status))
        return None
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    ok = status == http and isinstance(answer, dict)
    if ok and code is None:
        ok = answer.get("status") == "OK" and answer.get("ErrorCode") == "0"
    elif ok:
        ok = answer.get("status") == "FAIL" and answer.get("ErrorCode") == code
    if ok and contains:
        ok = contains in answer.get("ErrorDesc", "")
    print("%s %s: HTTP %d %s" % ("PASS" if ok else "FAIL", name, status, text[:300]))
    if not ok:
        failures.append(name)
    return answer


doc = open(DOC, "rb").read()
recipient = "000.00.13.H26"
send = lambda extra_params=(): [("from", "sys-a"), ("servicetype", "eDoc"),
                                ("messagetype", "edoc")] + list(extra_params)
listp = [("servicetype", "eDoc"), ("messagetype", "edoc")]

# --- Authentication --------------------------------------------------------
check("unknown system id", raw("getReceivedEdocList", signed("sys-zz", listp, key=b"k")),
      "401", "unknown system id")
check("no auth headers at all", raw("getReceivedEdocList", []), "401")
h = signed("sys-a", listp, key=b"not-the-secret")
check("wrong secret", raw("getReceivedEdocList", h), "401", "HMAC")
# The sign-header with spaces, keys in another order, names with the prefix
# in the key list and odd spacing: accepted (the HMAC is over the exact text).
ts = stamp()
text = ('{ "XroadVnpt-messagetype" : "edoc",\t"XroadVnpt-timestamp": "%s", '
        '"XroadVnpt-servicetype":"eDoc", "XroadVnpt-systemid":"sys-a" }' % ts)
h = [(P + "systemid", "sys-a"), (P + "timestamp", ts), (P + "servicetype", "eDoc"),
     (P + "messagetype", "edoc"),
     (P + "sign-header-key", " XroadVnpt-systemid ;timestamp;servicetype ; messagetype"),
     (P + "sign-header", text),
     (P + "hash-header", hmac.new(secret("sys-a"), text.encode(), hashlib.sha256).hexdigest())]
check("whitespace and key order in sign-header (ok)", raw("getReceivedEdocList", h))
# The HMAC computed over a re-serialised (compact) JSON, not the text sent.
compact = json.dumps(json.loads(text), separators=(",", ":"))
h2 = h[:-1] + [(P + "hash-header", hmac.new(secret("sys-a"), compact.encode(),
                                             hashlib.sha256).hexdigest())]
check("HMAC over another serialisation", raw("getReceivedEdocList", h2), "401", "HMAC")
# A timestamp in any form is accepted for a system without a freshness window.
check("any timestamp without a freshness window (ok)",
      raw("getReceivedEdocList", signed("sys-a", listp, ts="yesterday")))
# A parameter sent but not named in sign-header-key.
check("parameter missing from sign-header-key",
      raw("getReceivedEdocList", signed("sys-a", listp, key_list="systemid;timestamp;servicetype")),
      "401", "messagetype is not signed")
# A name in sign-header-key that the JSON does not hold.
h = signed("sys-a", listp, key_list="systemid;timestamp;servicetype;messagetype;docId")
check("key list names an unsigned header", raw("getReceivedEdocList", h), "401", "docId")
# A signed value that differs from the header received.
h = [(n, "status" if n == P + "messagetype" else v) for n, v in signed("sys-a", listp)]
check("header differs from its signed value", raw("getReceivedEdocList", h), "401", "differs")
# Duplicate keys in the sign-header JSON.
ts = stamp()
dup = ('{"XroadVnpt-systemid":"sys-a","XroadVnpt-timestamp":"%s","XroadVnpt-servicetype":"eDoc",'
       '"XroadVnpt-messagetype":"status","XroadVnpt-messagetype":"edoc"}' % ts)
h = [(P + "systemid", "sys-a"), (P + "timestamp", ts), (P + "servicetype", "eDoc"),
     (P + "messagetype", "edoc"),
     (P + "sign-header-key", "systemid;timestamp;servicetype;messagetype"),
     (P + "sign-header", dup),
     (P + "hash-header", hmac.new(secret("sys-a"), dup.encode(), hashlib.sha256).hexdigest())]
check("duplicate keys in sign-header", raw("getReceivedEdocList", h), "401", "JSON")
# The same signed parameter twice, the second with another value.
h = signed("sys-a", listp) + [(P + "messagetype", "status")]
check("a signed header sent twice", raw("getReceivedEdocList", h), "401", "more than once")
h = signed("sys-a", listp) + [(P + "systemid", "sys-b")]
check("systemid sent twice", raw("getReceivedEdocList", h), "401", "more than once")
h = signed("sys-a", listp) + [(P + "messagetype", "edoc")]
check("a signed header repeated with the same value (ok)", raw("getReceivedEdocList", h))
# NUL and invalid UTF-8 in header values.
h = [(n, (v.encode() + b"\x00x") if n == P + "messagetype" else v)
     for n, v in signed("sys-a", listp)]
# libmicrohttpd ends the value at the NUL: what is left is the signed value,
# so the call may run as signed; anything else must be refused.
status, text = raw("getReceivedEdocList", h)
if status == 200 and '"status":"OK"' in text:
    print("PASS NUL byte in a header: the value ends at the NUL, as signed")
else:
    check("NUL byte in a header", (status, text), "401", closed_ok=True)
h = [(n, b"\xff\xfe" if n == P + "messagetype" else v) for n, v in signed("sys-a", listp)]
check("invalid UTF-8 in a header", raw("getReceivedEdocList", h), "401")
# A header over the server's limits.
h = signed("sys-a", listp) + [("X-Padding", "a" * 200000)]
check("a 200 KB header", raw("getReceivedEdocList", h), "401", closed_ok=True)

# --- sendEdoc --------------------------------------------------------------
# The two forms differ only when a byte of the digest is under 0x10 (about
# seven packages in eight): probe with the package plus trailing newlines,
# still the same XML, until its digest has one.
probe = doc
for _ in range(64):
    if padded(probe) != unpadded(probe):
        break
    probe += b"\n"
body, ctype = multipart([("file_doc", probe)])
check("hash-file in the zero-padded form",
      raw("sendEdoc", signed("sys-a", send([("hash-file", padded(probe))])), body, ctype), "400",
      "hash-file")
body, ctype = multipart([("file_doc", doc)])
check("hash-file in uppercase",
      raw("sendEdoc", signed("sys-a", send([("hash-file", unpadded(doc).upper())])), body, ctype),
      "400", "hash-file")
check("hash-file not signed",
      raw("sendEdoc", signed("sys-a", send()) + [(P + "hash-file", unpadded(doc))], body, ctype),
      "401", "hash-file is not signed")
h = signed("sys-a", send([("to", '["000.00.13.H26"]'), ("hash-file", unpadded(doc))]))
h = [(n, v.replace(";to;", ";") if n == P + "sign-header-key" else v) for n, v in h
     if n != P + "to"]
check("a signed to taken away in transit", raw("sendEdoc", h, body, ctype), "401",
      "to is signed but absent")
check("multipart without a boundary",
      raw("sendEdoc", signed("sys-a", send([("hash-file", unpadded(doc))])), body,
          "multipart/form-data"), "400", "file_doc")
check("multipart cut short",
      raw("sendEdoc", signed("sys-a", send([("hash-file", unpadded(doc))])), body[:len(body) // 2],
          ctype), "400", "file_doc")
other = doc.replace(b"</edXML>", b"<!-- x --></edXML>")
body2, ctype2 = multipart([("file_doc", doc), ("file_doc", other)])
check("two file_doc parts",
      raw("sendEdoc", signed("sys-a", send([("hash-file", unpadded(doc))])), body2, ctype2), "400",
      "file_doc")
check("messagetype status for a document",
      raw("sendEdoc", signed("sys-a", [("from", "sys-a"), ("servicetype", "eDoc"),
                                       ("messagetype", "status"),
                                       ("hash-file", unpadded(doc))]), body, ctype), "400",
      "messagetype")
check("to is not JSON",
      raw("sendEdoc", signed("sys-a", send([("to", "000.00.13.H26"),
                                            ("hash-file", unpadded(doc))])), body, ctype), "400",
      "to")
check("to names an agency outside the To list",
      raw("sendEdoc", signed("sys-a", send([("to", '["000.00.99.H26"]'),
                                            ("hash-file", unpadded(doc))])), body, ctype), "400",
      "To list")

# A body that stalls half-way is closed by the server, not held forever.
h = signed("sys-a", send([("hash-file", unpadded(doc))]))
lines = [b"POST /sendEdoc HTTP/1.1", b"Host: 127.0.0.1", b"Content-Length: %d" % len(body),
         b"Content-Type: " + ctype.encode()] + [n.encode() + b": " + v.encode() for n, v in h]
s = socket.create_connection((HOST, PORT), timeout=30)
s.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body[:100])
start = time.monotonic()
try:
    closed = s.recv(65536) is not None
except (ConnectionResetError, socket.timeout):
    closed = True
waited = time.monotonic() - start
s.close()
ok = closed and waited < 20
print("%s a stalled body is closed after %.1f s" % ("PASS" if ok else "FAIL", waited))
if not ok:
    failures.append("stalled body")

if failures:
    print("FAILED: " + ", ".join(failures))
    sys.exit(1)
print("all cases behaved")
