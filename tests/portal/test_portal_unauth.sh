#!/usr/bin/env bash
# What a client without a session can make lthub-portal do: little. A
# service call whose session is not valid is answered -2 before its body
# is parsed (an 8 MB body of small values, that a JSON parser would turn
# into hundreds of MB, leaves lthub-portal's memory as it was); a login
# body over 64 KiB gets HTTP 413; a GET or an unknown path is answered
# without its body being read; the server keeps serving.
# usage: test_portal_unauth.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

portal_up
rss() { awk '/^VmHWM/ {print $2}' "/proc/$PORTAL_PID/status"; }
before=$(rss)
python3 - "$PORTAL_URL/service" <<'PY' || fail "the big unauthenticated call"
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
body = b'{"session":"0123","madonvi":"000.00.12.H26","service":"DongBoHoSoMC","pad":[' \
    + b",".join([b"0"] * 4000000) + b'],"data":[]}'
for _ in range(2):
    r = opener.open(urllib.request.Request(sys.argv[1], data=body,
        headers={"Content-Type": "application/json"}), timeout=60)
    answer = json.loads(r.read())
    assert answer["error_code"] == "-2", answer
PY
after=$(rss)
grew=$(((after - before) / 1024))
[ "$grew" -lt 48 ] || fail "an 8 MB call without a session grew lthub-portal's peak memory by $grew MiB"
ok "an 8 MB call without a session: -2, peak memory +$grew MiB"

python3 -c 'print("{\"username\":\"onestop\",\"password\":\"" + "x" * 70000 + "\"}")' >"$HUB_DIR/login.json"
status=$(http_status "$HUB_DIR/login.json" "$PORTAL_URL/login")
[ "$status" = 413 ] || fail "a 70 kB login body got HTTP $status, expected 413"
ok "a login body over 64 KiB: HTTP 413"
answer=$(curl -s --noproxy '*' -w ' %{http_code}' "$PORTAL_URL/service")
case "$answer" in *'"error_code":"405"'*' 405') ;; *) fail "GET /service: $answer" ;; esac
answer=$(curl -s --noproxy '*' -w ' %{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$HUB_DIR/login.json" "$PORTAL_URL/other")
case "$answer" in *'"error_code":"404"'*' 404') ;; *) fail "POST /other: $answer" ;; esac
ok "GET and unknown paths answered 405 and 404"

pass=$(cat "$HUB_DIR/secrets/onestop")
printf '{"username":"onestop","password":"%s"}' "$pass" >"$HUB_DIR/ok-login.json"
answer=$(curl -s --noproxy '*' -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' \
    --data-binary @"$HUB_DIR/ok-login.json" "$PORTAL_URL/login")
case "$answer" in *'"error_code":"0"'*) ;; *) fail "a chunked login: $answer" ;; esac
ok "lthub-portal still serves (a chunked login with another Content-Type)"
portal_stop
echo "PASS: portal without a session"
