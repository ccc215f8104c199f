#!/usr/bin/env bash
# The reporting system answers 507 (its store is full: lthub-sim report
# --max-reports) to every report past the first: every 5xx is transient
# (spec/peers.md C), so lthub-report retries them, none goes to dead letters,
# and once the system has room each report is stored exactly once, with
# exactly one report_accepted fact.
#
# Usage: test_report_5xx.sh BUILD_DIR
set -u
BIN=${1:?usage: test_report_5xx.sh BUILD_DIR}
. "$(dirname "$0")/report_lib.sh"
N=3

report_hub
report_sim --max-reports 1
report_connector
report_publish "$N" --kinds month
[ "$(wc -l <"$HUB_DIR/published.keys")" = "$N" ] || fail "published $(wc -l <"$HUB_DIR/published.keys"), not $N"

# 1. Full: one stored, the others answered 507 again and again.
hub_wait 30 '[ "$(grep -c "HTTP 507" "$HUB_DIR/lthubd.log")" -ge 2 ]' \
    || fail "no 507 answer in the broker's log"
[ "$(dead_count)" = 0 ] || fail "a 507 sent reports to dead letters: $(cat "$HUB_DIR/dead.json")"
hub_wait 30 '[ "$(conn_stat report retried)" -ge 4 ]' || fail "too few retries after 507"
[ "$(dead_count)" = 0 ] || fail "a 507 sent reports to dead letters: $(cat "$HUB_DIR/dead.json")"
[ "$(rp_stat 'd["stored"]')" = 1 ] || fail "stored $(rp_stat 'd["stored"]'), not 1"
report_sim_stop
ok "full: $(grep -c "HTTP 507" "$HUB_DIR/lthubd.log") answers 507, retried, no dead letter"

# 2. Room again (the same store read back): every report stored once.
report_sim
hub_wait 60 '[ "$(rp_stat "d[\"stored\"]")" = "$N" ] && [ "$(conn_stat report done)" = "$N" ]' \
    || fail "stored $(rp_stat 'd["stored"]'), done $(conn_stat report done), expected $N"
while read -r key; do
    [ "$(fact_count "$key")" = 1 ] || fail "$key: $(fact_count "$key") facts"
done <"$HUB_DIR/published.keys"
[ "$(dead_count)" = 0 ] || fail "dead letters: $(cat "$HUB_DIR/dead.json")"
ok "recovered: $N reports stored once each, $N facts"

kill -TERM "$REPORT_PID"
wait "$REPORT_PID" || fail "lthub-report exited with $? after SIGTERM"
hub_stop
sanitizer_check
echo "PASS: report 5xx"
