#!/usr/bin/env bash
# lthub-report against an independent reporting system
# (tests/report/peer_report.py, written from spec/peers.md C alone) that
# answers chunked with "application/json; charset=utf-8" and gives ids as
# JSON numbers. A report answered 503, then too late (a timeout), then
# cut short, then accepted, went out every time with the same
# idempotencyKey (body and header) and is DONE with one fact carrying the
# system's id; a 400 whose error is an object reaches the dead letter; an
# answer that starts with a UTF-8 byte order mark is read. A 2xx naming
# another idempotencyKey, a status not "received" or a key twice is no
# acceptance, nor an id too long, with a blank or beyond 64 bits, nor an
# answer past the size cap: each is retried with a reason saying what was
# wrong, and only the right answer makes the fact. A 302 is not followed
# and its dead letter names the Location.
# Usage: test_report_peers.sh BUILD_DIR SOURCE_DIR
set -u
BIN=${1:?usage: test_report_peers.sh BUILD_DIR SOURCE_DIR}
SRC=${2:?}
. "$SRC/tests/report/report_lib.sh"

report_hub
RP_PORT=$(hub_free_port)
SIM_URL="http://127.0.0.1:$RP_PORT"
python3 "$SRC/tests/report/peer_report.py" "$RP_PORT" "$HUB_DIR/report.token" \
    >"$HUB_DIR/peer.out" 2>"$HUB_DIR/rpsim-peer.err" &
HUB_PIDS="$HUB_PIDS $!"
hub_wait 10 'grep -q "listening on" "$HUB_DIR/peer.out"' || fail "the independent reporting system did not start"
ctl() {
    python3 -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
opener.open(urllib.request.Request(sys.argv[1] + "/_ctl", data=sys.argv[2].encode()), timeout=10).read()' \
        "$SIM_URL" "$1" || fail "peer control $1"
}
peer() { http_get "$SIM_URL/_log" "$HUB_DIR/peerlog.json" && jget "$HUB_DIR/peerlog.json" "$1"; }
report_connector --timeout-ms 1500

# 1. 503, a late answer, a cut answer, then 201 with a numeric id.
ctl '{"script": [{"status": 503, "body": {"error": "maintenance"}}, {"status": 201, "body": {"id": 1, "status": "received"}, "sleep": 3}, {"status": 201, "body": "{\"id\": 47"}]}'
report_publish 1 --codes PAR-7.1 --kinds quarter
key=$(tail -1 "$HUB_DIR/published.keys")
hub_wait 40 '[ "$(conn_stat report done)" = 1 ]' || fail "the report was not DONE after $(peer 'len(d["log"])') submissions"
[ "$(peer 'len(d["log"])')" = 4 ] || fail "expected 4 submissions: $(peer 'd["log"]')"
[ "$(peer "all(e[\"key\"] == \"$key\" and e[\"header\"] == \"$key\" for e in d[\"log\"])")" = True ] \
    || fail "a retry changed the idempotency key: $(peer 'd["log"]')"
[ "$(fact_count "$key")" = 1 ] || fail "$key: $(fact_count "$key") facts, not 1"
fact_payload "$key" >"$HUB_DIR/fact.json"
[ "$(jget "$HUB_DIR/fact.json" 'd["id"]')" = 4711 ] || fail "the fact's id: $(cat "$HUB_DIR/fact.json")"
ok "503, timeout, cut answer, then 201 with id 4711: same key each time, one fact with the id"

# 2. A 400 whose error is an object: a dead letter holding it.
ctl '{"script": [{"status": 400, "body": {"error": {"field": "period.to", "message": "ngày kết thúc sai"}}}]}'
report_publish 1 --codes PAR-7.1 --kinds month
hub_wait 20 '[ "$(dead_count)" = 1 ]' || fail "no dead letter for the refused report"
grep -q "period.to" "$HUB_DIR/dead.json" || fail "the dead letter lacks the system's reason: $(cat "$HUB_DIR/dead.json")"
[ "$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["attempts"]')" = 1 ] || fail "a 400 was retried"
ok "a 400 with an error object: dead letter with the system's reason, not retried"

# 3. An acceptance that starts with a UTF-8 byte order mark.
ctl '{"script": [{"status": 201, "body": {"id": "r-77", "status": "received"}, "bom": true}]}'
report_publish 1 --codes PAR-7.1 --kinds year
key=$(tail -1 "$HUB_DIR/published.keys")
hub_wait 20 '[ "$(conn_stat report done)" = 2 ]' || fail "the report answered with a byte order mark was not DONE"
fact_payload "$key" >"$HUB_DIR/fact.json"
[ "$(jget "$HUB_DIR/fact.json" 'd["id"]')" = r-77 ] || fail "the fact's id: $(cat "$HUB_DIR/fact.json")"
ok "an acceptance after a byte order mark: DONE with the system's id"

# reasons: every retry and failure reason logged so far (broker and connector).
reasons() { cat "$HUB_DIR/lthubd.log" "$HUB_DIR"/report-*.err 2>/dev/null; }

# 4. 2xx answers that are not the acceptance of this report, then the right one.
ctl '{"script": [{"status": 201, "body": {"id": "OTHER-ID", "idempotencyKey": "someone/else"}}, {"status": 201, "body": {"id": "X", "status": "rejected"}}, {"status": 201, "body": "{\"id\": \"GOOD\", \"id\": \"EVIL\", \"status\": \"received\"}"}]}'
report_publish 1 --codes PAR-7.1 --kinds half
key=$(tail -1 "$HUB_DIR/published.keys")
hub_wait 30 '[ "$(conn_stat report done)" = 3 ]' || fail "the report answered with foreign acceptances was not DONE"
[ "$(peer 'len(d["log"])')" = 10 ] || fail "expected 4 submissions of the report: $(peer 'd["log"][6:]')"
fact_payload "$key" >"$HUB_DIR/fact.json"
[ "$(jget "$HUB_DIR/fact.json" 'd["id"]')" = 4712 ] || fail "the fact took a foreign id: $(cat "$HUB_DIR/fact.json")"
[ "$(fact_count "$key")" = 1 ] || fail "$key: $(fact_count "$key") facts, not 1"
reasons | grep -qF "reply names idempotencyKey 'someone/else', not '$key'" || fail "no reason naming the other idempotencyKey"
reasons | grep -qF "but status 'rejected', not 'received'" || fail "no reason naming the status"
reasons | grep -q "not JSON (duplicate object key" || fail "no reason naming the repeated key"
ok "another key, status rejected, a key twice: retried with the reason, the fact has the real id"

# 5. Unusable ids, a number beyond 64 bits and an answer past the cap, then the right one.
long=$(printf 'L%.0s' $(seq 1 300))
ctl '{"script": [{"status": 201, "body": {"id": "'"$long"'", "status": "received"}}, {"status": 201, "body": {"id": "A B", "status": "received"}}, {"status": 201, "body": "{\"id\": 123456789012345678901234567890, \"status\": \"received\"}"}, {"status": 201, "body": {"id": "big", "status": "received"}, "pad": 1100000}]}'
report_publish 1 --codes PAR-7.1 --kinds nine_months
key=$(tail -1 "$HUB_DIR/published.keys")
hub_wait 40 '[ "$(conn_stat report done)" = 4 ]' || fail "the report answered with unusable ids was not DONE"
fact_payload "$key" >"$HUB_DIR/fact.json"
[ "$(jget "$HUB_DIR/fact.json" 'd["id"]')" = 4713 ] || fail "the fact's id: $(cat "$HUB_DIR/fact.json")"
reasons | grep -q "an id of 300 bytes, longer than the 255 the hub keeps" || fail "no reason giving the id's length and bound"
reasons | grep -qF "byte 2 of 'A B'" || fail "no reason naming the blank in the id"
reasons | grep -q "a number beyond 64 bits" || fail "no reason naming the number beyond 64 bits"
reasons | grep -q "answer is too large: .*(HTTP 201) larger than 1048576 bytes" || fail "no reason naming the size cap and the status"
! reasons | grep -q "without an id" || fail "an unusable id was called missing"
ok "id too long, with a blank, beyond 64 bits, answer past the cap: each reason says which"

# 6. A redirect: not followed, dead letter naming where the system moved.
ctl '{"script": [{"status": 302, "body": "", "headers": {"Location": "https://reports.example/api/v1/reports"}}]}'
report_publish 1 --codes PAR-7.1 --kinds month
hub_wait 20 '[ "$(dead_count)" = 2 ]' || fail "no dead letter for the redirect"
grep -qF "Location 'https://reports.example/api/v1/reports'" "$HUB_DIR/dead.json" \
    || fail "the dead letter does not name the Location: $(cat "$HUB_DIR/dead.json")"
[ "$(peer 'len(d["log"])')" = 16 ] || fail "the redirect was followed or retried: $(peer 'd["log"][15:]')"
ok "a 302: not followed, dead letter naming the Location"

kill -TERM "$REPORT_PID"
wait "$REPORT_PID" || fail "lthub-report exited with $? after SIGTERM"
hub_stop
echo "PASS: lthub-report against an independent reporting system"
