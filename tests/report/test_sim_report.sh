#!/usr/bin/env bash
# lthub-sim report on its own, spoken to with curl: the bearer token is
# required, a wrong Content-Type is 415, a bad report is 400 naming the
# field, a new key is 201 and the same key again is 200 with the same id and
# nothing new stored; the listing and the stored bytes; a restart reads the
# store back and still knows the key; injected failures and the down window.
#
# Usage: test_sim_report.sh BUILD_DIR
set -u
BIN=${1:?usage: test_sim_report.sh BUILD_DIR}
. "$(dirname "$0")/report_lib.sh"

HUB_DIR=$(mktemp -d /tmp/lthub-test-XXXXXX)
trap hub_cleanup EXIT
printf 'sim-token-%s\n' "$RANDOM" >"$HUB_DIR/report.token"
TOKEN=$(cat "$HUB_DIR/report.token")
REPORT_JSON='{"reportCode":"PAR-7.1","organId":"000.00.00.H26","period":{"kind":"quarter","year":2026,"index":3,"from":"2026-06-15","to":"2026-09-14"},"generatedAt":"2026-09-20T08:00:00+07:00","idempotencyKey":"PAR-7.1/000.00.00.H26/2026-Q3/1","indicators":[{"code":"doc_electronic_rate","name":"Tỷ lệ văn bản điện tử","numerator":9120,"denominator":9400,"value":97.02,"unit":"%","target":100}],"evidence":{"items":9400,"sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}'
printf '%s' "$REPORT_JSON" >"$HUB_DIR/r.json"

# post [CURL ARGS...]: POST r.json (or what the arguments say); prints
# "STATUS BODY".
post() {
    local body
    body=$(curl -s --noproxy '*' -o - -w '\n%{http_code}' -X POST "$@" "$SIM_URL/api/v1/reports") || true
    printf '%s %s\n' "$(tail -1 <<<"$body")" "$(head -n -1 <<<"$body")"
}
auth=(-H "Authorization: Bearer $TOKEN")
json=(-H "Content-Type: application/json")

report_sim
r=$(post "${json[@]}" --data-binary @"$HUB_DIR/r.json")
[ "${r%% *}" = 401 ] || fail "no token: $r"
r=$(post -H "Authorization: Bearer nope" "${json[@]}" --data-binary @"$HUB_DIR/r.json")
[ "${r%% *}" = 401 ] || fail "wrong token: $r"
r=$(post "${auth[@]}" -H "Content-Type: text/plain" --data-binary @"$HUB_DIR/r.json")
[ "${r%% *}" = 415 ] || fail "text/plain: $r"
r=$(post "${auth[@]}" "${json[@]}" --data-binary "${REPORT_JSON/\"quarter\"/\"week\"}")
[ "${r%% *}" = 400 ] && grep -q "field 'period.kind'" <<<"$r" || fail "bad kind: $r"
r=$(post "${auth[@]}" "${json[@]}" --data-binary '{"reportCode":"PAR-7.1","reportCode":"X"}')
[ "${r%% *}" = 400 ] && grep -q "duplicate" <<<"$r" || fail "duplicate key: $r"
[ "$(rp_stat 'd["stored"]')" = 0 ] || fail "something was stored"
[ "$(rp_stat 'd["auth_failures"]')" = 2 ] && [ "$(rp_stat 'd["bad_requests"]')" = 2 ] || fail "counters: $(cat "$HUB_DIR/rpstats.json")"
ok "401 without or with a wrong token, 415, 400 naming the field, nothing stored"

r1=$(post "${auth[@]}" "${json[@]}" --data-binary @"$HUB_DIR/r.json")
[ "${r1%% *}" = 201 ] || fail "first submission: $r1"
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "${r1#* }")
r2=$(post "${auth[@]}" "${json[@]}" --data-binary @"$HUB_DIR/r.json")
[ "${r2%% *}" = 200 ] || fail "second submission: $r2"
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "${r2#* }")" = "$id" ] || fail "another id: $r2"
[ "$(rp_stat 'd["stored"]')" = 1 ] || fail "stored $(rp_stat 'd["stored"]')"
[ "$(rp_received 'd["received"][0]["submissions"]')" = 2 ] || fail "submissions"
curl -sf --noproxy '*' "${auth[@]}" "$SIM_URL/api/v1/reports/$id" -o "$HUB_DIR/back.json" || fail "GET by id"
cmp -s "$HUB_DIR/back.json" "$HUB_DIR/r.json" || fail "the stored bytes differ"
cmp -s "$(ls "$HUB_DIR"/rpstore/000001-"$id".json)" "$HUB_DIR/r.json" || fail "the stored file differs"
curl -sf --noproxy '*' "${auth[@]}" "$SIM_URL/api/v1/reports" -o "$HUB_DIR/list.json" || fail "GET list"
[ "$(jget "$HUB_DIR/list.json" 'd["reports"][0]["period"]')" = 2026-Q3 ] || fail "list: $(cat "$HUB_DIR/list.json")"
ok "201 then 200 with the same id, stored once, bytes kept"

report_sim_stop
report_sim
r3=$(post "${auth[@]}" "${json[@]}" --data-binary @"$HUB_DIR/r.json")
[ "${r3%% *}" = 200 ] && grep -qF "$id" <<<"$r3" || fail "after a restart: $r3"
[ "$(rp_stat 'd["stored"]')" = 1 ] || fail "stored again after a restart"
grep -q "1 reports read back" "$HUB_DIR/rpsim-2.err" || fail "the store was not read back"
report_sim_stop
ok "a restart reads the store back and still answers 200 with the id"

report_sim --fail-rate 1 --seed 5
codes=""
for i in 1 2 3 4 5 6 7 8 9; do
    r=$(post "${auth[@]}" "${json[@]}" --data-binary @"$HUB_DIR/r.json")
    codes="$codes ${r%% *}"
    grep -q '"id"' <<<"$r" && fail "an injected failure carried an id: $r"
done
grep -q 500 <<<"$codes" && grep -q 503 <<<"$codes" && grep -q 200 <<<"$codes" || fail "failures:$codes"
report_sim_stop
report_sim --down-from 0.3 --down-for 2
sleep 0.8
code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$SIM_URL/_sim/stats" || true)
[ "$code" = 000 ] || fail "still answering in the down window: $code"
hub_wait 30 'grep -q "up again" "$HUB_DIR/rpsim-$RP_SIM_RUN.err"' || fail "not up again"
[ "$(rp_stat 'd["stored"]')" = 1 ] || fail "after the down window"
report_sim_stop
ok "injected failures:$codes; the down window refuses connections, then it serves again"
sanitizer_check
echo "PASS: sim report"
