#!/usr/bin/env bash
# lt_conn_publish_for_many: one message that several deliveries in progress
# at once wait for (lthub-portal's one dossier_synced fact per DVCQG call).
# A sink groups the ATTACH deliveries four by four, and the one that fills
# a group publishes one fact naming all four: every delivery is done once,
# the broker holds one fact per group and the ledger one dossier_synced row
# per delivery. When the broker refuses the shared fact (its rev does not
# name its content), each delivery of the group is answered RETRY with the
# broker's reason, until the dead letters.
# usage: test_publish_for_many.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_relay
hub_config <<CFG
delivery
    max_attempts = 3
    backoff_min = 50
    backoff_max = 50
CFG
hub_start
cfield() { hub_stat "[c[\"$2\"] for c in s[\"connectors\"] if c[\"name\"]==\"$1\"][0]"; }

hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" \
    --workers 8 --attach-match ATTACH --attach-group 4 2>>"$HUB_DIR/sink.log"
SINK_PID=$!
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 40 --prefix ATTACH --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 30 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 40 ] && [ "$(cfield sink ready)" = 0 ] && [ "$(cfield sink inflight)" = 0 ] && [ "$(cfield sink waiting)" = 0 ]' \
    || hub_fail "the deliveries sharing facts did not finish: $(wc -l < "$HUB_DIR/sink.rec" 2>/dev/null) recorded"
[ "$(wc -l < "$HUB_DIR/sink.rec")" = 40 ] || hub_fail "$(wc -l < "$HUB_DIR/sink.rec") deliveries recorded, expected 40"
[ "$(cfield sink accepted)" = 10 ] || hub_fail "the broker accepted $(cfield sink accepted) shared facts, expected 10"
[ "$(hub_stat s[\"store\"][\"dead\"])" = 0 ] || hub_fail "dead letters after accepted shared facts"
rows=$(sqlite3 "$HUB_DIR/data/lthub.db" "SELECT COUNT(DISTINCT item) FROM ledger WHERE event = 'dossier_synced'")
[ "$rows" = 40 ] || hub_fail "the ledger holds $rows dossier_synced items, expected 40"
echo "ok - 40 deliveries done in groups of 4, each group after its one shared fact was accepted"

# The sink restarts making the shared fact one the broker refuses.
kill -TERM "$SINK_PID"
wait "$SINK_PID" || true
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink2.rec" \
    --workers 8 --attach-match REFUSED --attach-group 4 --attach-bad 1 2>>"$HUB_DIR/sink2.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 4 --prefix REFUSED --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 60 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 4 ]' \
    || hub_fail "the deliveries whose shared fact was refused did not reach the dead letters"
dead=$("$BIN/broker/lthub" dead --admin "$HUB_ADMIN" --json)
python3 - "$dead" <<'PY' || hub_fail "the dead letters do not show RETRY with the broker's refusal: $dead"
import json, sys
d = json.loads(sys.argv[1])["dead"]
assert sorted(x["key"] for x in d) == ["REFUSED-%d" % i for i in range(1, 5)], d
for x in d:
    lines = x["errors"].splitlines()
    assert len(lines) >= 3, lines
    assert any("RETRY" in l and "did not accept a message this delivery published" in l
               and "dossier_synced fact: rev" in l for l in lines), lines
PY
rows=$(sqlite3 "$HUB_DIR/data/lthub.db" "SELECT COUNT(*) FROM ledger WHERE event = 'dossier_synced' AND doc LIKE 'REFUSED%'")
[ "$rows" = 0 ] || hub_fail "the refused facts were counted: $rows rows"
echo "PASS: a fact shared by several deliveries holds each DONE until accepted; refused, it turns each into RETRY"
