#!/usr/bin/env bash
# The reporting system down (connections refused), then failing every call
# (HTTP 500, 503, FAIL bodies), then hanging (calls accepted, never answered),
# then healthy but cutting answers short now and then: lthub-report retries
# through all of it, and in the end every report is stored exactly once, with
# exactly one report_accepted fact each, no dead letter, nothing queued.
#
# Usage: test_report_faults.sh BUILD_DIR
set -u
BIN=${1:?usage: test_report_faults.sh BUILD_DIR}
. "$(dirname "$0")/report_lib.sh"
N=10

report_hub
report_sim
report_sim_stop
report_connector --timeout-ms 1000

# 1. Down: the reports are published while nothing listens.
report_publish "$N" --kinds month
[ "$(wc -l <"$HUB_DIR/published.keys")" = "$N" ] || fail "published $(wc -l <"$HUB_DIR/published.keys"), not $N"
hub_wait 20 '[ "$(conn_stat report retried)" -ge "$N" ]' || fail "no retries while the system was down"
grep -q 'no answer from the reporting system' "$HUB_DIR/lthubd.log" || fail "no 'no answer' reason in the broker's log"
ok "down: $(conn_stat report retried) retries"

# 2. Failing every call.
report_sim --fail-rate 1 --seed 7
hub_wait 30 '[ "$(rp_stat "d[\"faults\"][\"http_500\"] + d[\"faults\"][\"http_503\"] + d[\"faults\"][\"fail_body\"]")" -ge 6 ]' \
    || fail "the system answered too few failures: $(rp_stat 'd["faults"]')"
[ "$(rp_stat 'd["stored"]')" = 0 ] || fail "stored while failing"
report_sim_stop
ok "failing: $(jget "$HUB_DIR/rpstats.json" 'd["faults"]')"

# 3. Hanging.
report_sim --hang-rate 1
hub_wait 30 '[ "$(rp_stat "d[\"faults\"][\"hung\"]")" -ge 4 ]' || fail "no hung calls"
[ "$(rp_stat 'd["stored"]')" = 0 ] || fail "stored while hanging"
# The calls counted as hung time out on the connector's side a second later.
hub_wait 20 'grep -q "no answer from the reporting system: .*[Tt]ime" "$HUB_DIR/lthubd.log"' \
    || fail "no timeout in the reasons"
report_sim_stop
ok "hanging: $(jget "$HUB_DIR/rpstats.json" 'd["faults"]["hung"]') calls never answered"

# 4. Healthy but cutting some answers short and failing some calls.
report_sim --corrupt-rate 0.3 --fail-rate 0.2 --seed 3
hub_wait 60 '[ "$(rp_stat "d[\"stored\"]")" = "$N" ] && [ "$(conn_stat report done)" = "$N" ]' \
    || fail "stored $(rp_stat 'd["stored"]'), done $(conn_stat report done), expected $N"
hub_wait 10 '[ "$(conn_stat report ready) $(conn_stat report waiting) $(conn_stat report inflight)" = "0 0 0" ]' \
    || fail "still queued"
rp_received 'len(d["received"])' >/dev/null
python3 - "$HUB_DIR/received.json" "$HUB_DIR/published.keys" <<'PY' || fail "the stored reports are not the published ones, once each"
import json, sys
got = [r["idempotencyKey"] for r in json.load(open(sys.argv[1]))["received"]]
want = open(sys.argv[2]).read().split()
assert sorted(got) == sorted(want) and len(set(got)) == len(got), (got, want)
PY
while read -r key; do
    [ "$(fact_count "$key")" = 1 ] || fail "$key: $(fact_count "$key") facts"
done <"$HUB_DIR/published.keys"
[ "$(dead_count)" = 0 ] || fail "dead letters: $(cat "$HUB_DIR/dead.json")"
[ "$(rp_stat 'd["conflicts"]')" = 0 ] || fail "a key came with another body"
ok "recovered: $N reports stored once each, $N facts, no dead letter ($(conn_stat report retried) retries in all, $(rp_stat 'd["repeats"]') resends answered 200)"

kill -TERM "$REPORT_PID"
wait "$REPORT_PID" || fail "lthub-report exited with $? after SIGTERM"
hub_stop
sanitizer_check
echo "PASS: report faults"
