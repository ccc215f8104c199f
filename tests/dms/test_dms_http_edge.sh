#!/usr/bin/env bash
# lthub-dms at the HTTP edge.
# - A multipart part without a name, its body in several chunks, sent to
#   the unauthenticated /_dms/stats: refused (that path takes no body) and
#   lthub-dms lives on; the same part in a signed call is parsed as a part
#   named "", not a crash.
# - The whole-request deadline: clients that send their headers one
# byte a second are never idle, so --idle-timeout does not close them;
# --max-request-time (5 s here) does, from the accept, whatever they are
# reading. Eight of them, from two addresses, fill --max-connections; a
# signed request from a third address is served at once, the server
# closing the slow client that has waited longest for it, and the other
# slow clients are closed at the deadline.
# usage: test_dms_http_edge.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup --max-per-ip 4 --max-connections 8 --idle-timeout 3 --max-request-time 5
[ "$(cat /proc/$DMS_PID/comm)" = lthub-dms ] || hub_fail "DMS_PID is not lthub-dms"

# A part without a name, 60000 bytes long.
python3 -c "import sys;sys.stdout.buffer.write(b'--XyZ123\r\nContent-Disposition: form-data\r\n\r\n'+b'A'*60000+b'\r\n--XyZ123--\r\n')" \
    > "$HUB_DIR/noname.bin"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: multipart/form-data; boundary=XyZ123' \
    --data-binary @"$HUB_DIR/noname.bin" "$DMS_URL/_dms/stats" || true)
echo "a nameless part to /_dms/stats: HTTP $code"
kill -0 "$DMS_PID" 2>/dev/null || hub_fail "lthub-dms died on a part without a name"
[ "$code" = 413 ] || hub_fail "a body to /_dms/stats got HTTP $code, expected 413"
answer=$(python3 "$SRC/tests/dms/edoc_call.py" "$DMS_URL" sendEdoc sys-a "$HUB_DIR/secrets/sys-a" \
    from=sys-a servicetype=eDoc messagetype=edoc --raw-multipart "$HUB_DIR/noname.bin" XyZ123 2>&1 || true)
echo "a nameless part in a signed sendEdoc: ${answer:0:160}"
kill -0 "$DMS_PID" 2>/dev/null || hub_fail "lthub-dms died on a signed part without a name"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$DMS_URL/_dms/stats")" = 200 ] \
    || hub_fail "/_dms/stats does not answer any more"

# Eight connections, a header byte a second each, for 14 s at most; each
# line of the output says when (s after its connect) a connection was closed.
cat > "$HUB_DIR/trickle.py" <<'PY'
import select, socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
head = b"POST /getEdoc HTTP/1.1\r\nHost: x\r\nXroadVnpt-systemid: sys-a\r\nX-Pad: " + b"a" * 100
socks, opened, closed = [], {}, {}
for i in range(8):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i % 2), 0))
    s.connect(("127.0.0.1", port))
    socks.append(s)
    opened[s] = time.time()
with open(out, "w") as f:
    f.write("open\n")
    f.flush()
    for step in range(14):
        for s in socks:
            if s in closed:
                continue
            try:
                s.send(head[step:step + 1])
            except OSError:
                closed[s] = time.time() - opened[s]
        deadline = time.time() + 1
        while time.time() < deadline:
            live = [s for s in socks if s not in closed]
            if not live:
                break
            ready, _, _ = select.select(live, [], [], max(0, deadline - time.time()))
            for s in ready:
                try:
                    data = s.recv(100)
                except OSError:
                    data = b""
                if data:
                    f.write("answered\n")
                closed[s] = time.time() - opened[s]
        if len(closed) == len(socks):
            break
    for s in socks:
        f.write("%s\n" % ("%.1f" % closed[s] if s in closed else "open"))
PY
hub_spawn python3 "$HUB_DIR/trickle.py" "$DMS_PORT" "$HUB_DIR/trickle.out"
trickle=$!
hub_wait 10 'grep -q open "$HUB_DIR/trickle.out"' || hub_fail "the trickling clients did not start"
start=$(date +%s%N)

# A signed request from 127.0.0.1, tried until it is served (12 s at most).
served=""
for i in $(seq 1 24); do
    answer=$(dms_call sys-a getReceivedEdocList servicetype=eDoc)
    if [ "$(jget 'j["status"]' <<< "$answer" 2>/dev/null)" = OK ]; then
        served=$(( ($(date +%s%N) - start) / 1000000 ))
        break
    fi
    sleep 0.5
done
[ -n "$served" ] || hub_fail "a signed request was not served while slow clients were connected"
echo "a signed request was served after $served ms, at try $i"
[ "$served" -lt 3000 ] || hub_fail "a signed request waited $served ms"

hub_wait 20 '[ "$(wc -l < "$HUB_DIR/trickle.out")" -ge 9 ]' || hub_fail "the trickling clients did not finish"
wait "$trickle" 2>/dev/null || true
echo "slow clients closed after (s): $(tail -n +2 "$HUB_DIR/trickle.out" | tr '\n' ' ')"
! grep -q answered "$HUB_DIR/trickle.out" || hub_fail "a slow client got an answer"
early=0
for t in $(tail -n +2 "$HUB_DIR/trickle.out"); do
    [ "$t" != open ] || hub_fail "a slow client was still connected after 14 s"
    if python3 -c "import sys; sys.exit(0 if $t < 4.5 else 1)"; then
        early=$((early + 1))   #  closed for a newcomer
        continue
    fi
    python3 -c "import sys; sys.exit(0 if $t <= 7.5 else 1)" \
        || hub_fail "a slow client was closed after $t s, not at --max-request-time (5 s)"
done
# Each try of the signed request took one slow client's place, no more.
[ "$early" -ge 1 ] && [ "$early" -le "$i" ] \
    || hub_fail "$early slow clients closed before the deadline for $i tries of a signed request"
kill -0 "$DMS_PID" || hub_fail "lthub-dms died"
echo "PASS: test_dms_http_edge"
