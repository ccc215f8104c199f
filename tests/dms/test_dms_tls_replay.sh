#!/usr/bin/env bash
# lthub-dms over HTTPS and replayed requests (issue #12 item 9):
# - with --tls-cert/--tls-key the edoc API speaks HTTPS (test CA made here,
#   curl --cacert); plain HTTP and an unknown CA get nowhere;
# - every operation is safe to replay: captured sendEdoc and updateStatus
#   requests (taken from the real client by a capturing server) replayed
#   several times store one message, deliver it once, and leave the item
#   done;
# - a system with fresh_window set refuses a replayed request and a stale
#   timestamp, and takes fresh ones; other systems accept stale timestamps;
#   a signed request the server refused by itself (413) may be sent again.
# usage: test_dms_tls_replay.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
hub_init
PKI="$HUB_DIR/pki"
mkdir -p "$PKI"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lthub test CA" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$PKI/dms.key" \
    -out "$PKI/dms.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$PKI/ext.cnf"
openssl x509 -req -in "$PKI/dms.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 2 -extfile "$PKI/ext.cnf" -out "$PKI/dms.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
    -keyout "$PKI/other.key" -out "$PKI/other.crt" 2>/dev/null
DMS_SCHEME=https
DMS_CA="$PKI/ca.crt"
DMS_SYS_B_EXTRA='    fresh_window = 60'
dms_setup --tls-cert "$PKI/dms.crt" --tls-key "$PKI/dms.key"
echo "edoc API at $DMS_URL"

# HTTPS with the test CA works; plain HTTP and another CA do not.
answer=$(dms_call sys-a getAgenciesList)
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "a call over HTTPS failed: $answer"
curl -s --cacert "$PKI/ca.crt" "$DMS_URL/_dms/stats" | jget 'j["name"]' > /dev/null \
    || hub_fail "curl --cacert over HTTPS failed"
if curl -s --max-time 5 "http://127.0.0.1:$DMS_PORT/getAgenciesList" -X POST | grep -q status; then
    hub_fail "plain HTTP got an answer from the HTTPS server"
fi
if curl -s --max-time 5 --cacert "$PKI/other.crt" "$DMS_URL/_dms/stats" > /dev/null; then
    hub_fail "a certificate from another CA was accepted by curl"
fi
grep -q "tls=yes" "$HUB_DIR/dms.log" || hub_fail "lthub-dms did not log tls=yes"

# A capturing server records what the real client sends.
CAP_PORT=$(hub_free_port)
cat > "$HUB_DIR/capture.py" <<'PY'
import http.server, json, sys, os
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = len(os.listdir(out))
        with open(os.path.join(out, "%03d.json" % n), "w") as f:
            json.dump({"path": self.path, "headers": [[k, v] for k, v in self.headers.items()],
                       "body": body.hex()}, f)
        answer = b'{"status":"OK","ErrorCode":"0","ErrorDesc":"","DocId":"captured","data":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
mkdir -p "$HUB_DIR/captured"
hub_spawn python3 "$HUB_DIR/capture.py" "$CAP_PORT" "$HUB_DIR/captured"
hub_wait 10 'curl -s -o /dev/null -X POST http://127.0.0.1:$CAP_PORT/ping' || hub_fail "capture server down"
rm -f "$HUB_DIR/captured/"*
capture() {   # capture SYSTEM OPERATION|--send FILE [args...]: prints the capture file
    local system=$1 op=$2
    shift 2
    local n
    n=$(ls "$HUB_DIR/captured" | wc -l)
    if [ "$op" = --send ]; then
        "$SIM" axis-send --url "http://127.0.0.1:$CAP_PORT" --system "$system" \
            --secret-file "$HUB_DIR/secrets/$system" "$@" > /dev/null
    else
        "$SIM" axis-call --url "http://127.0.0.1:$CAP_PORT" --system "$system" \
            --secret-file "$HUB_DIR/secrets/$system" "$op" "$@" > /dev/null
    fi
    printf '%s/captured/%03d.json\n' "$HUB_DIR" "$n"
}
cat > "$HUB_DIR/replay.py" <<'PY'
import json, ssl, sys, urllib.error, urllib.request
cap = json.load(open(sys.argv[1]))
ctx = ssl.create_default_context(cafile=sys.argv[3])
headers = {k: v for k, v in cap["headers"] if k.lower() not in ("host", "content-length")}
req = urllib.request.Request(sys.argv[2] + cap["path"], data=bytes.fromhex(cap["body"]),
                             headers=headers, method="POST")
try:
    print(urllib.request.urlopen(req, context=ctx, timeout=20).read().decode())
except urllib.error.HTTPError as refused:   # the body of a 413 or 503 answer
    print(refused.read().decode())
PY
replay() { python3 "$HUB_DIR/replay.py" "$1" "$DMS_URL" "$DMS_CA"; }

# sendEdoc captured once, replayed three times: one DocId, one message, one item.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 401 --notation STTTT-VP \
    "$HUB_DIR/doc.edxml"
send_cap=$(capture sys-a --send "$HUB_DIR/doc.edxml")
before=$(store_messages)
ids=""
for i in 1 2 3; do
    answer=$(replay "$send_cap")
    [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "replayed sendEdoc $i refused: $answer"
    ids="$ids $(jget 'j["DocId"]' <<< "$answer")"
done
echo "replayed sendEdoc DocIds:$ids"
[ "$(tr ' ' '\n' <<< "$ids" | sort -u | grep -c .)" = 1 ] || hub_fail "replays got different DocIds:$ids"
[ "$(store_messages)" = $((before + 1)) ] || hub_fail "replays stored more than one message"
hub_wait 20 '[ "$(dms_count sys-b)" = 1 ]' || hub_fail "the document did not reach sys-b"
sleep 1
[ "$(dms_count sys-b)" = 1 ] || hub_fail "the replays reached sys-b more than once"

# updateStatus: sys-a (no freshness window) gets an item from sys-b; its
# processing and done calls are captured and replayed in a mixed order.
"$TOOL" mkdoc --from 000.00.13.H26 --to 000.00.12.H26 --number 402 --notation SNV-VP \
    "$HUB_DIR/back.edxml"
answer=$(dms_send sys-b "$HUB_DIR/back.edxml")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "fresh sendEdoc of sys-b refused: $answer"
hub_wait 20 '[ "$(dms_count sys-a)" = 1 ]' || hub_fail "the reply did not reach sys-a"
item=$(dms_list sys-a | jget 'j[0]["docId"]')
processing_cap=$(capture sys-a updateStatus docId="$item" status=processing)
done_cap=$(capture sys-a updateStatus docId="$item" status=done)
for cap in "$processing_cap" "$done_cap" "$done_cap" "$processing_cap" "$done_cap"; do
    answer=$(replay "$cap")
    [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "replayed updateStatus refused: $answer"
done
[ "$(dms_count sys-a)" = 0 ] || hub_fail "a replayed updateStatus processing brought a done item back"
state=$(sqlite3 "$HUB_DIR/dms/dms-mailbox.db" "SELECT state FROM items WHERE id = '$item'")
[ "$state" = done ] || hub_fail "the item is $state after the replays, not done"

# sys-b signs freshly (fresh_window = 60): a replay and a stale timestamp are refused.
list_cap=$(capture sys-b getReceivedEdocList servicetype=eDoc)
answer=$(replay "$list_cap")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "sys-b's first (fresh) request refused: $answer"
answer=$(replay "$list_cap")
echo "replay for a fresh system: $answer"
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 401 ] || hub_fail "a replay for a fresh system was accepted"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "replay" || hub_fail "the replay refusal is unclear"
# The same signature in uppercase hex is the same signature: still a replay.
upper=$(python3 - "$list_cap" <<'PY'
import json, sys
cap = json.load(open(sys.argv[1]))
cap["headers"] = [[k, v.upper() if k == "XroadVnpt-hash-header" else v] for k, v in cap["headers"]]
out = sys.argv[1] + ".upper"
json.dump(cap, open(out, "w"))
print(out)
PY
)
answer=$(replay "$upper")
echo "replay in uppercase hex: $answer"
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 401 ] || hub_fail "a replay with the signature in uppercase was accepted"
# A signed request the server refuses by itself (its body over the
# operation's bound: 413) was not processed, so the same signed request
# sent again, within bounds, is taken, once.
big_cap=$(capture sys-b getReceivedEdocList servicetype=eDoc)
python3 - "$big_cap" <<'PY'
import json, sys
cap = json.load(open(sys.argv[1]))
cap["body"] = "00" * (100 * 1024)
json.dump(cap, open(sys.argv[1] + ".big", "w"))
PY
answer=$(replay "$big_cap.big")
echo "fresh request with a body over its bound: $answer"
[ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$answer")" = FAIL/413 ] \
    || hub_fail "a body over the bound was not refused 413 in an edoc answer: $answer"
answer=$(replay "$big_cap")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] \
    || hub_fail "the request sent again after the server's own 413 was taken for a replay: $answer"
answer=$(replay "$big_cap")
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 401 ] || hub_fail "a processed request replayed was accepted"
stale=$(python3 - "$list_cap" <<'PY'
import json, sys, hmac, hashlib
cap = json.load(open(sys.argv[1]))
h = {k: v for k, v in cap["headers"]}
secret = open(sys.argv[1].rsplit("/captured/", 1)[0] + "/secrets/sys-b", "rb").read().rstrip(b"\n")
stamp = "01012026T080000+0000"
sign = json.loads(h["XroadVnpt-sign-header"])
sign["XroadVnpt-timestamp"] = stamp
text = json.dumps(sign, separators=(",", ":"), ensure_ascii=False)
h["XroadVnpt-timestamp"] = stamp
h["XroadVnpt-sign-header"] = text
h["XroadVnpt-hash-header"] = hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()
cap["headers"] = [[k, v] for k, v in h.items()]
out = sys.argv[1] + ".stale"
json.dump(cap, open(out, "w"))
print(out)
PY
)
answer=$(replay "$stale")
echo "stale timestamp for a fresh system: $answer"
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 401 ] || hub_fail "a stale timestamp was accepted for a fresh system"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "not within 60 s" || hub_fail "the stale refusal is unclear"
# Fresh calls keep working; sys-a (no window) takes the same stale request shape.
answer=$(dms_call sys-b getReceivedEdocList servicetype=eDoc)
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "a fresh call of sys-b refused: $answer"
answer=$(replay "$(capture sys-a getReceivedEdocList servicetype=eDoc)")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "sys-a's replayed list refused: $answer"
echo "PASS: test_dms_tls_replay"
