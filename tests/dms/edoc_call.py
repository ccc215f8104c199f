#!/usr/bin/env python3
# A minimal independent edoc API client for tests (spec/peers.md A): signs the
# headers with HMAC-SHA256 like the reference SDK and prints "HTTP_STATUS BODY";
# the time the HTTP exchange took goes to stderr as "elapsed_ms=N".
# usage: edoc_call.py URL OPERATION SYSTEM SECRET_FILE [NAME=VALUE ...] [--file PATH]
#                     [--cafile CA] [--timeout SECONDS] [--raw-multipart PATH BOUNDARY]
#                     [--upload-seconds SECONDS]
# (--raw-multipart sends PATH as it is, as a multipart/form-data body with BOUNDARY;
# --upload-seconds spreads the body's upload over that time, as a slow link does)
import hashlib, hmac, json, ssl, sys, time, urllib.error, urllib.request, uuid

def unpadded(data):
    return "".join("%x" % b for b in hashlib.sha256(data).digest())

def main(argv):
    url, op, system, secret_file = argv[1:5]
    params, path, cafile, timeout, raw, upload = [], None, None, 30.0, None, 0.0
    rest = argv[5:]
    i = 0
    while i < len(rest):
        if rest[i] == "--file":
            path = rest[i + 1]; i += 2
        elif rest[i] == "--cafile":
            cafile = rest[i + 1]; i += 2
        elif rest[i] == "--raw-multipart":
            raw = (rest[i + 1], rest[i + 2]); i += 3
        elif rest[i] == "--timeout":
            timeout = float(rest[i + 1]); i += 2
        elif rest[i] == "--upload-seconds":
            upload = float(rest[i + 1]); i += 2
        else:
            name, value = rest[i].split("=", 1)
            params.append((name, value)); i += 1
    secret = open(secret_file, "rb").read().rstrip(b"\r\n")
    body, ctype = b"", None
    if path:
        data = open(path, "rb").read()
        params.append(("hash-file", unpadded(data)))
        boundary = uuid.uuid4().hex
        body = (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"file_doc\"; "
                b"filename=\"doc.edxml\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data +
                b"\r\n--" + boundary.encode() + b"--\r\n")
        ctype = "multipart/form-data; boundary=" + boundary
    if raw:
        body = open(raw[0], "rb").read()
        ctype = "multipart/form-data; boundary=" + raw[1]
    t = time.time() + 7 * 3600
    stamp = time.strftime("%d%m%Y", time.gmtime(t)) + "T" + time.strftime("%H%M%S", time.gmtime(t)) \
        + "+%04d" % int((t % 1) * 1000)
    signed = [("systemid", system), ("timestamp", stamp)] + params
    headers = {"XroadVnpt-" + k: v for k, v in signed}
    sign = json.dumps(headers, separators=(",", ":"), ensure_ascii=False)
    headers["XroadVnpt-sign-header-key"] = ";".join(k for k, _ in signed)
    headers["XroadVnpt-sign-header"] = sign
    headers["XroadVnpt-hash-header"] = hmac.new(secret, sign.encode(), hashlib.sha256).hexdigest()
    if ctype:
        headers["Content-Type"] = ctype
    data = body
    if upload > 0 and body:
        headers["Content-Length"] = str(len(body))
        step = (len(body) + 19) // 20

        def slowly():
            for at in range(0, len(body), step):
                time.sleep(upload / 20)
                yield body[at:at + step]
        data = slowly()
    req = urllib.request.Request(url + "/" + op, data=data, headers=headers, method="POST")
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    start = time.monotonic()
    try:
        r = urllib.request.urlopen(req, timeout=timeout, context=ctx)
        print(r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode())
    except Exception as e:
        print(0, json.dumps({"error": str(e)}))
    print("elapsed_ms=%d" % ((time.monotonic() - start) * 1000), file=sys.stderr)

main(sys.argv)
