#!/usr/bin/env bash
# lthub-report end to end: reports published into the hub reach the
# reporting system simulator each once, and each acceptance comes back to the
# broker as one report_accepted fact carrying the system's id; an answer lost
# on the way back (cut short) makes lthub-report send again, and the system
# stores the report once and answers with the same id; a report the system
# refuses (HTTP 400) waits in dead letters with the system's reason, and a
# report lthub-report itself finds malformed is never sent and waits in dead
# letters naming the field.
#
# Usage: test_report_exchange.sh BUILD_DIR
set -u
BIN=${1:?usage: test_report_exchange.sh BUILD_DIR}
. "$(dirname "$0")/report_lib.sh"

report_hub
report_sim --regimes PAR-7.1,PAR-7.2
report_connector

# 1. Three reports, each stored once, each acceptance a fact in the broker.
report_publish 3 --codes PAR-7.1,PAR-7.2 --kinds quarter,half,year
[ "$(wc -l <"$HUB_DIR/published.keys")" = 3 ] || fail "report-gen published $(wc -l <"$HUB_DIR/published.keys") reports, not 3"
hub_wait 20 '[ "$(rp_stat "d[\"stored\"]")" = 3 ]' || fail "the system holds $(rp_stat 'd["stored"]') reports, not 3"
hub_wait 20 '[ "$(conn_stat report done)" = 3 ]' || fail "done $(conn_stat report done), not 3"
while read -r key; do
    [ "$(rp_received "sum(1 for r in d[\"received\"] if r[\"idempotencyKey\"] == \"$key\")")" = 1 ] \
        || fail "$key is not stored exactly once"
    [ "$(fact_count "$key")" = 1 ] || fail "$key: $(fact_count "$key") facts in the broker, not 1"
    id=$(rp_received "[r[\"id\"] for r in d[\"received\"] if r[\"idempotencyKey\"] == \"$key\"][0]")
    fact_payload "$key" >"$HUB_DIR/fact.json"
    [ "$(jget "$HUB_DIR/fact.json" 'd["id"]')" = "$id" ] || fail "$key: the fact's id is not the system's $id"
    [ "$(jget "$HUB_DIR/fact.json" 'd["idempotencyKey"]')" = "$key" ] || fail "$key: the fact's key"
    [ "$(jget "$HUB_DIR/fact.json" 'd["organId"]')" = 000.00.00.H26 ] || fail "$key: the fact's organId"
    [ "$(jget "$HUB_DIR/fact.json" 'd["period"]["year"]')" = 2026 ] || fail "$key: the fact's period"
done <"$HUB_DIR/published.keys"
[ "$(conn_stat report accepted)" = 3 ] || fail "the broker accepted $(conn_stat report accepted) facts from lthub-report, not 3"
grep -q 'event=report_accepted .*http=201 fact=' "$HUB_DIR/report-1.err" || fail "no report_accepted line in the log"
# The system stored the bytes published (the three went out side by side,
# in any order).
python3 - "$HUB_DIR/rpstore" "$HUB_DIR/published.keys" <<'PY' || fail "the stored reports are not the ones published"
import glob, json, sys
keys = open(sys.argv[2]).read().split()
stored = {}
for path in glob.glob(sys.argv[1] + "/*.json"):
    r = json.load(open(path, encoding="utf-8"))
    stored[r["idempotencyKey"]] = r
assert sorted(stored) == sorted(keys), (sorted(stored), keys)
for r in stored.values():
    assert len(r["indicators"]) == 4 and r["indicators"][0]["name"].startswith("Tỷ lệ"), r
PY
ok "3 reports stored once each, 3 report_accepted facts with the system's ids"

# 2. Answers cut short: the report is stored, the answer lost; lthub-report
#    sends again and the system answers 200 with the same id, storing nothing new.
report_sim_stop
report_sim --corrupt-rate 1 --regimes PAR-7.1,PAR-7.2
report_publish 1 --codes PAR-7.1 --kinds month
key=$(tail -1 "$HUB_DIR/published.keys")
hub_wait 20 '[ "$(rp_stat "d[\"faults\"][\"corrupted\"]")" -ge 2 ]' || fail "no corrupted answers"
[ "$(conn_stat report done)" = 3 ] || fail "a report was DONE on a corrupted answer"
report_sim_stop
report_sim --regimes PAR-7.1,PAR-7.2
hub_wait 20 '[ "$(conn_stat report done)" = 4 ]' || fail "the resent report was not DONE"
[ "$(rp_stat 'd["stored"]')" = 4 ] || fail "the system holds $(rp_stat 'd["stored"]') reports, not 4"
subs=$(rp_received "[r[\"submissions\"] for r in d[\"received\"] if r[\"idempotencyKey\"] == \"$key\"][0]")
# Submissions are counted since the simulator's start: the read-back copy and the resend.
[ "$subs" = 2 ] || fail "$key was submitted $subs times since the restart, expected 2"
[ "$(rp_stat 'd["repeats"]')" = 1 ] || fail "the system answered $(rp_stat 'd["repeats"]') repeats, not 1"
[ "$(fact_count "$key")" = 1 ] || fail "$key: $(fact_count "$key") facts"
grep -q "event=report_accepted key=\"$key\" .*http=200 " "$HUB_DIR/report-1.err" \
    || fail "the resend was not answered 200"
ok "a report whose answer was lost is stored once, answered 200 with its id, one fact"

# 3. The system refuses a report (HTTP 400): a dead letter with its reason.
bad0=$(rp_stat 'd["bad_requests"]')
report_publish 1 --codes PAR-9.9
key=$(tail -1 "$HUB_DIR/published.keys")
hub_wait 20 '[ "$(dead_count)" = 1 ]' || fail "no dead letter for the refused report: $(cat "$HUB_DIR/dead.json")"
[ "$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["key"]')" = "$key" ] || fail "the dead letter is not $key"
[ "$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["attempts"]')" = 1 ] || fail "a 400 was retried"
jget "$HUB_DIR/dead.json" 'd["dead"][0]["errors"]' >"$HUB_DIR/errors.txt"
grep -q "refused the report (HTTP 400): report: field 'reportCode': 'PAR-9.9' is not a report regime" \
    "$HUB_DIR/errors.txt" || fail "the dead letter lacks the system's reason: $(cat "$HUB_DIR/errors.txt")"
[ "$(rp_stat 'd["bad_requests"]')" = $((bad0 + 1)) ] || fail "the system saw $(rp_stat 'd["bad_requests"]') bad requests"
[ "$(fact_count "$key")" = 0 ] || fail "a fact for a refused report"
ok "HTTP 400 is a dead letter with the system's reason, sent once, no fact"

# 4. A malformed report is never sent: a dead letter naming the field.
requests0=$(rp_stat 'd["requests"]')
printf '{"reportCode":"PAR-7.1","organId":"000.00.00.H26","period":{"kind":"quarter","year":2026,"index":3,"from":"2026-06-15","to":"2026-09-14"},"idempotencyKey":"BAD-1"}' \
    >"$HUB_DIR/bad.json"
report_publish 0 --file "$HUB_DIR/bad.json" --key BAD-1
hub_wait 20 '[ "$(dead_count)" = 2 ]' || fail "no dead letter for the malformed report"
python3 - "$HUB_DIR/dead.json" <<'PY' || fail "the dead letter does not name the field: $(cat "$HUB_DIR/dead.json")"
import json, sys
d = [x for x in json.load(open(sys.argv[1]))["dead"] if x["key"] == "BAD-1"]
assert len(d) == 1 and "field 'indicators' is missing" in d[0]["errors"], d
PY
[ "$(rp_stat 'd["requests"]')" = "$requests0" ] || fail "the malformed report was sent"
[ "$(conn_stat report dead)" = 2 ] || fail "dead $(conn_stat report dead)"
ok "a malformed report is not sent; its dead letter names the field"

# 5. A key in Vietnamese (not ASCII) goes through unchanged.
vkey="PAR-7.1/UBND tỉnh Hà Giang/Quý 3-2026/1"
python3 - "$vkey" "$HUB_DIR/vi.json" <<'PY'
import json, sys
r = {"reportCode": "PAR-7.1", "organId": "000.00.00.H26",
     "period": {"kind": "quarter", "year": 2026, "index": 3, "from": "2026-06-15", "to": "2026-09-14"},
     "idempotencyKey": sys.argv[1], "indicators": [{"code": "doc_signed_rate", "value": None}]}
open(sys.argv[2], "w", encoding="utf-8").write(json.dumps(r, ensure_ascii=False))
PY
done0=$(conn_stat report done)
report_publish 0 --file "$HUB_DIR/vi.json"
hub_wait 20 '[ "$(conn_stat report done)" = $((done0 + 1)) ]' || fail "the report with a Vietnamese key was not DONE"
[ "$(fact_count "$vkey")" = 1 ] || fail "no fact for the Vietnamese key"
[ "$(rp_received "sum(1 for r in d['received'] if r['idempotencyKey'] == '$vkey')")" = 1 ] \
    || fail "the Vietnamese key is not stored once"
ok "a report keyed in Vietnamese is stored once with one fact"

kill -TERM "$REPORT_PID"
wait "$REPORT_PID" || fail "lthub-report exited with $? after SIGTERM"
grep -qF "$(cat "$HUB_DIR/report.token")" "$HUB_DIR"/*.err "$HUB_DIR"/*.log && fail "the token appears in a log"
hub_stop
sanitizer_check
echo "PASS: report exchange"
