#!/usr/bin/env bash
# TraCuuHoSo answers only records the broker confirmed. A call answered -9
# because lthubd does not answer (SIGSTOP) shows nothing; nor does a call
# cut by a SIGKILL of lthub-portal while lthubd is down. The one-stop
# system's resend of each is then taken (0), shown by TraCuuHoSo, and
# reaches DVCQG exactly once.
# usage: test_portal_unconfirmed.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

portal_hub
portal_peer
portal_conn --publish-timeout 3000
ok "hub, DVCQG and lthub-portal up"

peer() { http_get "$SIM_URL/_log" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
calls() { peer "sum(1 for e in d['log'] if e['service'] == 'DongBoHoSoMC' and '$1' in e['keys'])"; }
record() {
    printf '{"MaHoSo":"%s","MaTTHC":"2.000815.000.00.00.H26","KenhThucHien":"2","TrangThaiHoSo":"2","NgayTiepNhan":"20260904093000","NgayHenTra":"20260905170000","HinhThuc":"0"}' "$1"
}
# sync KEY: DongBoHoSoMC of one record; prints the answer (status and body).
sync() {
    http_post "$PORTAL_URL/service" \
        "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\",\"data\":[$(record "$1")]}"
}
# lookup KEY: TraCuuHoSo's error_code.
lookup() {
    http_post "$PORTAL_URL/service" \
        "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"TraCuuHoSo\",\"mahoso\":\"$1\"}" \
        | sed 's/^200 //' | python3 -c 'import json,sys; print(json.load(sys.stdin)["error_code"])'
}
S=$(portal_login) || fail "cannot log in to lthub-portal"

# 1. lthubd does not answer: -9, and TraCuuHoSo does not know the record.
kill -STOP "$HUB_PID"
answer=$(sync STOP-1)
code=$(lookup STOP-1)
kill -CONT "$HUB_PID"
case "$answer" in *'"error_code":"-9"'*) ;; *) fail "a call lthubd did not confirm got: $answer" ;; esac
[ "$code" = -1 ] || fail "TraCuuHoSo answered $code for a record the broker did not confirm"
ok "a call answered -9 shows nothing to TraCuuHoSo"
within 20 'sync STOP-1 | grep -q "\"error_code\":\"0\""' || fail "the resend of STOP-1 was not taken"
[ "$(lookup STOP-1)" = 0 ] || fail "TraCuuHoSo does not show STOP-1 once confirmed"
within 20 '[ "$(calls STOP-1)" -ge 1 ] && [ "$(pqueued)" = 0 ]' || fail "STOP-1 did not reach DVCQG"
ok "its resend is taken and shown"

# 2. lthubd down; lthub-portal killed while the call waits for it.
hub_stop
curl -s --noproxy '*' --max-time 10 -o "$HUB_DIR/crash.out" -H 'Content-Type: application/json' \
    --data-binary "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\",\"data\":[$(record CRASH-2)]}" \
    "$PORTAL_URL/service" &
CURL_PID=$!
HUB_PIDS="$HUB_PIDS $CURL_PID"
sleep 1.5
kill -KILL "$PORTAL_PID"
wait "$PORTAL_PID" 2>/dev/null
wait "$CURL_PID" 2>/dev/null
grep -q '"error_code":"0"' "$HUB_DIR/crash.out" && fail "a call lthubd never saw was answered 0"
hub_start
portal_conn --publish-timeout 3000
S=$(portal_login) || fail "cannot log in to lthub-portal again"
[ "$(lookup CRASH-2)" = -1 ] || fail "TraCuuHoSo shows CRASH-2, which the hub never relayed"
sleep 2
[ "$(calls CRASH-2)" = 0 ] || fail "CRASH-2 reached DVCQG though the broker never stored it"
ok "a call cut by a crash shows nothing after the restart"
sync CRASH-2 | grep -q '"error_code":"0"' || fail "the resend of CRASH-2 was not taken"
[ "$(lookup CRASH-2)" = 0 ] || fail "TraCuuHoSo does not show CRASH-2 once confirmed"
within 20 '[ "$(calls CRASH-2)" -ge 1 ] && [ "$(pqueued)" = 0 ]' || fail "CRASH-2 did not reach DVCQG"
sleep 1
[ "$(calls STOP-1)" = 1 ] || fail "STOP-1 reached DVCQG $(calls STOP-1) times"
[ "$(calls CRASH-2)" = 1 ] || fail "CRASH-2 reached DVCQG $(calls CRASH-2) times"
[ "$(cstat portal dead)" = 0 ] || fail "dead letters"
ok "its resend is taken, shown, and reaches DVCQG once"

portal_stop
echo "PASS: portal unconfirmed records"
