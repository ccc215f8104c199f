#!/usr/bin/env bash
# A token the reporting system refuses: lthub-report says so clearly (HTTP
# 401, "token refused", the token file to fix), sends the report once and
# leaves it in dead letters with that reason, without retrying; the token
# never appears in a log. Once the operator puts the right token in the file,
# `lthub replay` delivers the report: stored once, one report_accepted fact.
#
# Usage: test_report_token.sh BUILD_DIR
set -u
BIN=${1:?usage: test_report_token.sh BUILD_DIR}
. "$(dirname "$0")/report_lib.sh"

report_hub
report_sim
cp "$HUB_DIR/wrong.token" "$HUB_DIR/conn.token"
report_connector --token-file "$HUB_DIR/conn.token"

report_publish 1
key=$(tail -1 "$HUB_DIR/published.keys")
hub_wait 20 '[ "$(dead_count)" = 1 ]' || fail "no dead letter: $(cat "$HUB_DIR/dead.json")"
[ "$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["key"]')" = "$key" ] || fail "the dead letter is not $key"
[ "$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["attempts"]')" = 1 ] || fail "a refused token was retried"
jget "$HUB_DIR/dead.json" 'd["dead"][0]["errors"]' >"$HUB_DIR/errors.txt"
grep -q "token refused by the reporting system (HTTP 401: bearer token missing or not accepted)" \
    "$HUB_DIR/errors.txt" || fail "unclear reason: $(cat "$HUB_DIR/errors.txt")"
grep -qF "$HUB_DIR/conn.token" "$HUB_DIR/errors.txt" || fail "the reason does not name the token file"
grep -q "event=report_failed key=\"$key\" .*token refused" "$HUB_DIR/report-1.err" \
    || fail "lthub-report did not log the refusal"
[ "$(rp_stat 'd["stored"]')" = 0 ] || fail "the system stored a report sent with a wrong token"
auth=$(rp_stat 'd["auth_failures"]')
[ "$auth" = 1 ] || fail "the system saw $auth refused calls, not 1"
[ "$(fact_count "$key")" = 0 ] || fail "a fact for a refused report"
sleep 2
[ "$(rp_stat 'd["auth_failures"]')" = 1 ] || fail "the dead letter was sent again by itself"
[ "$(dead_count)" = 1 ] || fail "the dead letter went away by itself"
ok "a refused token: one call, a dead letter saying 'token refused' and naming the token file"

# The operator fixes the token file, then replays the dead letter.
delivery=$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["delivery"]')
cp "$HUB_DIR/report.token" "$HUB_DIR/conn.token"
"$LTHUB" replay "$delivery" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token" >"$HUB_DIR/replay.out" 2>&1 \
    || fail "lthub replay failed: $(cat "$HUB_DIR/replay.out")"
hub_wait 20 '[ "$(rp_stat "d[\"stored\"]")" = 1 ]' || fail "the replayed report was not stored"
hub_wait 20 '[ "$(fact_count "$key")" = 1 ]' || fail "no fact after the replay"
hub_wait 10 '[ "$(dead_count)" = 0 ]' || fail "the dead letter is still there after the replay"
[ "$(rp_received 'd["received"][0]["idempotencyKey"]')" = "$key" ] || fail "the stored report is not $key"
[ "$(rp_received 'd["received"][0]["submissions"]')" = 1 ] || fail "stored more than once"
[ "$(conn_stat report done)" = 1 ] || fail "done $(conn_stat report done), not 1"
ok "after the token file was fixed, lthub replay delivered it: stored once, one fact"

kill -TERM "$REPORT_PID"
wait "$REPORT_PID" || fail "lthub-report exited with $? after SIGTERM"
for token in "$(cat "$HUB_DIR/report.token")" "$(cat "$HUB_DIR/wrong.token")"; do
    grep -qF -- "$token" "$HUB_DIR"/*.err "$HUB_DIR"/*.log "$HUB_DIR/dead.json" && fail "a token appears in a log"
done
hub_stop
sanitizer_check
echo "PASS: report token"
