#!/usr/bin/env bash
# SIGKILL in the middle of submitting reports: first lthub-report (some
# reports stored by the system, their answers or facts not yet back), then
# lthubd. After each restart every report reaches the system exactly once
# (a resend is answered 200 with the same id) and has exactly one
# report_accepted fact; nothing lost, nothing doubled, no dead letter.
#
# Usage: test_report_kill.sh BUILD_DIR
set -u
BIN=${1:?usage: test_report_kill.sh BUILD_DIR}
. "$(dirname "$0")/report_lib.sh"
N=8

# all_once: every published report stored once and with one fact.
all_once() {
    rp_received 'len(d["received"])' >/dev/null || return 1
    python3 - "$HUB_DIR/received.json" "$HUB_DIR/published.keys" <<'PY' || return 1
import json, sys
got = [r["idempotencyKey"] for r in json.load(open(sys.argv[1]))["received"]]
want = open(sys.argv[2]).read().split()
assert sorted(got) == sorted(want) and len(set(got)) == len(got), (got, want)
PY
    local key
    while read -r key; do
        [ "$(fact_count "$key")" = 1 ] || return 1
    done <"$HUB_DIR/published.keys"
}

report_hub
report_sim --latency 1500
report_connector --workers 2 --timeout-ms 5000

# 1. lthub-report killed while the system holds calls.
report_publish "$N" --kinds quarter
hub_wait 30 '[ "$(rp_stat "d[\"stored\"]")" -ge 2 ]' || fail "nothing stored"
kill -KILL "$REPORT_PID"
wait "$REPORT_PID" 2>/dev/null
stored=$(rp_stat 'd["stored"]')
[ "$stored" -lt "$N" ] || fail "all $N stored before the kill: the test proves nothing"
report_connector --workers 2 --timeout-ms 5000
hub_wait 60 '[ "$(conn_stat report done)" -ge "$N" ]' || fail "done $(conn_stat report done) after the restart"
hub_wait 20 'all_once' || fail "not every report stored once with one fact after lthub-report was killed"
ok "lthub-report SIGKILLed with $stored of $N stored: all $N stored once, one fact each"

# 2. lthubd killed while the system holds calls.
report_publish "$N" --kinds month
hub_wait 30 '[ "$(rp_stat "d[\"stored\"]")" -ge $((N + 2)) ]' || fail "nothing more stored"
hub_kill
stored=$(rp_stat 'd["stored"]')
hub_start
hub_wait 60 '[ "$(conn_stat report connected)" = True ]' || fail "lthub-report did not reconnect"
hub_wait 90 'all_once' || fail "not every report stored once with one fact after lthubd was killed"
hub_wait 20 '[ "$(conn_stat report ready) $(conn_stat report waiting) $(conn_stat report inflight)" = "0 0 0" ]' \
    || fail "still queued"
[ "$(dead_count)" = 0 ] || fail "dead letters: $(cat "$HUB_DIR/dead.json")"
[ "$(rp_stat 'd["conflicts"]')" = 0 ] || fail "a key came with another body"
ok "lthubd SIGKILLed with $stored of $((2 * N)) stored: all stored once, one fact each, nothing queued ($(rp_stat 'd["repeats"]') resends answered 200)"

kill -TERM "$REPORT_PID"
wait "$REPORT_PID" || fail "lthub-report exited with $? after SIGTERM"
hub_stop
sanitizer_check
echo "PASS: report kill"
