#!/usr/bin/env bash
# 1 000 dossiers with their progress steps and updates from the one-stop
# simulator through lthub-portal and lthubd to the DVCQG simulator: each
# item arrives once, field for field, a step never before its dossier, an
# update never before its record; DVCQG's -3 answers turn into updates;
# every dossier DVCQG accepted is counted by a dossier_synced fact;
# TraCuuHoSo answers the latest record byte for byte.
# usage: test_portal_flow.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"
COUNT=${PORTAL_COUNT:-1000}

portal_up
ok "hub, DVCQG simulator and lthub-portal up"

onestop --count "$COUNT" --seed 7 --batch 10 --inflight 4 --out "$HUB_DIR/expected.json" --json \
    >"$HUB_DIR/onestop-flow.out" 2>&1 || fail "the one-stop generator saw failures: $(tail -5 "$HUB_DIR/onestop-flow.out")"
items=$(expected_items)
ok "the one-stop system sent $COUNT dossiers, $items items accepted"

portal_delivered 120 "$items"
ok "every item reached DVCQG once, in order, field for field"

as_new=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["updates_as_new"])' "$HUB_DIR/onestop-flow.out")
[ "$as_new" -gt 0 ] || fail "the mix holds no update sent as new"
[ "$(pstat resent_as_update)" = "$as_new" ] || fail "resent_as_update $(pstat resent_as_update), expected $as_new"
[ "$(sim_n exists)" -ge "$as_new" ] || fail "DVCQG answered -3 $(sim_n exists) times, expected at least $as_new"
ok "$as_new updates sent as new: -3 from DVCQG, resent as updates"

dossier_items=$(expected_items dossier)
[ "$(pstat synced)" = "$dossier_items" ] || fail "synced $(pstat synced), expected $dossier_items"
facts=$(pstat facts)
[ "$facts" -ge 1 ] && [ "$facts" -lt "$dossier_items" ] \
    || fail "facts $facts for $dossier_items dossiers: expected one per agency for the dossiers a worker sends at once, fewer than the dossiers"
[ "$(cstat portal dead)" = 0 ] || fail "dead letters"
check_ledger_synced "$dossier_items"
ok "$dossier_items dossiers synced in $facts dossier_synced facts accepted by the broker, each counted once by the ledger, no dead letter"

# TraCuuHoSo on the hub: the latest record of one dossier, as sent.
session=$(portal_login) || fail "cannot log in to lthub-portal"
key=$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1]))["sequence"])[3])' "$HUB_DIR/expected.json")
http_post "$PORTAL_URL/service" "{\"session\":\"$session\",\"madonvi\":\"000.00.12.H26\",\"service\":\"TraCuuHoSo\",\"mahoso\":\"$key\"}" >"$HUB_DIR/lookup.txt"
python3 - "$HUB_DIR/expected.json" "$HUB_DIR/lookup.txt" "$key" <<'PY' || fail "TraCuuHoSo did not answer the latest record"
import json, sys
expected = json.load(open(sys.argv[1]))["sequence"][sys.argv[3]]
latest = [i["record"] for i in expected if i["kind"] == "dossier"][-1]
status, body = open(sys.argv[2]).read().split(" ", 1)
answer = json.loads(body)
assert status == "200" and answer["error_code"] == "0", body[:200]
assert list(answer["data"].items()) == list(latest.items()), "record differs"
PY
ok "TraCuuHoSo answers the latest record"

portal_stop
echo "PASS: portal flow ($COUNT dossiers, $items items)"
