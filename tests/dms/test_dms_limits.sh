#!/usr/bin/env bash
# lthub-dms resource bounds (issue #12 item 8):
# - credentials are checked from the headers before the body is read: a
#   60 MiB sendEdoc with a wrong HMAC is refused at once (FAIL 401) and does
#   not raise lthub-dms's peak memory by more than a few MiB;
# - an authenticated 60 MiB upload is held once in memory, not twice;
# - each operation has its body bound (getReceivedEdocList: 64 KiB);
# - 80 idle connections without credentials, from one address or from
#   several, do not make a legitimate request wait past 2 s;
# - a client that stops half-way through its headers is disconnected after
#   --idle-timeout.
# usage: test_dms_limits.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup --idle-timeout 3
[ "$(cat /proc/$DMS_PID/comm)" = lthub-dms ] || hub_fail "DMS_PID is not lthub-dms"
hwm() { awk '/^VmHWM/ {print $2}' /proc/$DMS_PID/status; }   # peak RSS, KiB

head -c $((60 * 1024 * 1024)) /dev/zero > "$HUB_DIR/big.edxml"
signed_headers=(-H "XroadVnpt-systemid: sys-a" -H "XroadVnpt-timestamp: 03092026T080203+0700"
    -H "XroadVnpt-sign-header-key: systemid;timestamp"
    -H 'XroadVnpt-sign-header: {"XroadVnpt-systemid":"sys-a","XroadVnpt-timestamp":"03092026T080203+0700"}'
    -H "XroadVnpt-hash-header: 00000000000000000000000000000000000000000000000000000000000000ff")
dms_call sys-a getReceivedEdocList servicetype=eDoc > /dev/null   # warm up
before=$(hwm)
# A client that sends its body without waiting (no Expect: 100-continue).
start=$(date +%s%N)
curl -s -o "$HUB_DIR/attack.out" --max-time 20 -H "Expect:" "${signed_headers[@]}" \
    -F "file_doc=@$HUB_DIR/big.edxml" "$DMS_URL/sendEdoc" || true
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
# A client that waits for 100-continue gets the refusal without sending the body.
answer=$(curl -s --max-time 20 "${signed_headers[@]}" -F "file_doc=@$HUB_DIR/big.edxml" \
    "$DMS_URL/sendEdoc")
after=$(hwm)
echo "60 MiB body with a wrong HMAC: peak RSS $before -> $after KiB; refused in $took_ms ms; answer $answer"
[ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$answer")" = FAIL/401 ] || hub_fail "not refused with 401: $answer"
[ $((after - before)) -lt 8192 ] || hub_fail "peak RSS grew by $((after - before)) KiB for a refused body"
[ "$took_ms" -lt 3000 ] || hub_fail "the refusal took $took_ms ms"
kill -0 "$DMS_PID" || hub_fail "lthub-dms died"

# An authenticated 60 MiB upload is held once (as its multipart part), not
# twice (raw body and part): peak RSS grows by less than 96 MiB.
before=$(hwm)
answer=$(python3 "$SRC/tests/dms/edoc_call.py" "$DMS_URL" sendEdoc sys-a "$HUB_DIR/secrets/sys-a" \
    from=sys-a servicetype=eDoc messagetype=edoc --file "$HUB_DIR/big.edxml" 2>/dev/null)
after=$(hwm)
echo "60 MiB body, good HMAC, not edXML: peak RSS $before -> $after KiB; answer ${answer:0:120}"
[ "$(jget 'j["ErrorCode"]' <<< "${answer#* }")" = 400 ] || hub_fail "a 60 MiB non-edXML body was not refused with 400: ${answer:0:300}"
if grep -qa __asan_init "$DMS"; then
    echo "AddressSanitizer build: its quarantine keeps freed memory, the upload bound is not checked"
else
    [ $((after - before)) -lt $((96 * 1024)) ] || hub_fail "peak RSS grew by $((after - before)) KiB for a 60 MiB upload"
fi

# An operation that takes no body gets a small bound even when authenticated.
head -c $((200 * 1024)) /dev/zero > "$HUB_DIR/200k"
code=$(python3 - "$HUB_DIR/secrets/sys-a" "$DMS_URL" "$HUB_DIR/200k" <<'PY'
import hmac, hashlib, json, sys, urllib.request
secret = open(sys.argv[1], 'rb').read().rstrip(b'\n')
stamp = "03092026T080203+0700"
sign = json.dumps({"XroadVnpt-systemid": "sys-a", "XroadVnpt-timestamp": stamp,
                   "XroadVnpt-servicetype": "eDoc"}, separators=(',', ':'))
req = urllib.request.Request(sys.argv[2] + "/getReceivedEdocList", data=open(sys.argv[3], 'rb').read(),
    headers={"XroadVnpt-systemid": "sys-a", "XroadVnpt-timestamp": stamp,
             "XroadVnpt-servicetype": "eDoc", "XroadVnpt-sign-header-key": "systemid;timestamp;servicetype",
             "XroadVnpt-sign-header": sign,
             "XroadVnpt-hash-header": hmac.new(secret, sign.encode(), hashlib.sha256).hexdigest()})
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print("error", e)
PY
)
[ "$code" = 413 ] || hub_fail "a 200 KiB body on getReceivedEdocList was not refused with 413: $code"

# 80 idle connections without credentials, then a legitimate request.
cat > "$HUB_DIR/idle.py" <<'PY'
import socket, sys, time
port, hold, addrs = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3].split(',')
socks = []
for i in range(80):
    s = socket.socket()
    s.bind((addrs[i % len(addrs)], 0))
    try:
        s.connect(('127.0.0.1', port))
        s.send(b"POST /sendEdoc HTTP/1.1\r\nHost: x\r\n")   # and nothing more
    except OSError:
        pass
    socks.append(s)
print("open", flush=True)
time.sleep(hold)
PY
for addrs in 127.0.0.2 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6; do
    python3 "$HUB_DIR/idle.py" "$DMS_PORT" 8 "$addrs" > "$HUB_DIR/idle.out" &
    idle=$!
    hub_wait 10 'grep -q open "$HUB_DIR/idle.out"' || hub_fail "the idle clients did not start"
    start=$(date +%s%N)
    answer=$(dms_call sys-a getReceivedEdocList servicetype=eDoc)
    took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "80 idle connections from $addrs: a legitimate list took $took_ms ms"
    [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "legitimate request failed: $answer"
    [ "$took_ms" -lt 2000 ] || hub_fail "a legitimate request waited $took_ms ms behind idle connections"
    kill "$idle" 2>/dev/null || true
    wait "$idle" 2>/dev/null || true
done

# A client silent half-way through its headers is closed after --idle-timeout (3 s).
closed=$(python3 - "$DMS_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.send(b"POST /getEdoc HTTP/1.1\r\n")
s.settimeout(15)
start = time.time()
try:
    data = s.recv(100)
except OSError:
    data = b'x'
print("%.1f" % (time.time() - start) if data == b'' or data else "open")
PY
)
echo "a silent client was closed after $closed s"
python3 -c "import sys; sys.exit(0 if float('$closed') < 8 else 1)" || hub_fail "the silent client stayed connected"
echo "PASS: test_dms_limits"
