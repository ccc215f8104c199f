#!/usr/bin/env bash
# lt_conn_publish_for: a message a connector publishes for the delivery it
# handles holds that delivery's DONE until the broker accepted it. A sink
# publishes a dossier_synced fact for every ATTACH message: each is done
# once, and the broker holds one fact per message. When the broker refuses
# the attached message (a dossier with no route), the delivery is answered
# RETRY with the broker's reason instead of DONE, until the dead letters.
# usage: test_publish_for.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_relay
hub_config <<CFG
delivery
    max_attempts = 3
    backoff_min = 50
    backoff_max = 200
CFG
hub_start
# Connector NAME's field FIELD in lthub status.
cfield() { hub_stat "[c[\"$2\"] for c in s[\"connectors\"] if c[\"name\"]==\"$1\"][0]"; }

hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" \
    --attach-match ATTACH 2>>"$HUB_DIR/sink.log"
SINK_PID=$!
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 50 --prefix ATTACH --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 30 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 50 ] && [ "$(cfield sink ready)" = 0 ] && [ "$(cfield sink inflight)" = 0 ]' \
    || hub_fail "the deliveries with an attached fact did not finish: $(wc -l < "$HUB_DIR/sink.rec" 2>/dev/null) recorded"
[ "$(cfield sink accepted)" = 50 ] || hub_fail "the broker accepted $(cfield sink accepted) attached facts, expected 50"
[ "$(hub_stat s[\"store\"][\"dead\"])" = 0 ] || hub_fail "dead letters after accepted attached facts"
echo "ok - 50 deliveries done, each after its attached fact was accepted"

# The sink restarts publishing dossiers nobody routes: the broker refuses them.
kill -TERM "$SINK_PID"
wait "$SINK_PID" || true
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink2.rec" \
    --attach-match REFUSED --attach-kind dossier 2>>"$HUB_DIR/sink2.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --prefix REFUSED --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 30 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ]' || hub_fail "the delivery whose attached message was refused did not reach the dead letters"
dead=$("$BIN/broker/lthub" dead --admin "$HUB_ADMIN" --json)
python3 - "$dead" <<'PY' || hub_fail "the dead letter does not show RETRY with the broker's refusal: $dead"
import json, sys
d = json.loads(sys.argv[1])["dead"]
assert len(d) == 1 and d[0]["key"] == "REFUSED-1", d
lines = d[0]["errors"].splitlines()
assert len(lines) >= 3, lines
assert all("RETRY" in l and "did not accept a message this delivery published" in l for l in lines[:3]), lines
PY
echo "PASS: attached publishes hold DONE until accepted; a refused one turns DONE into RETRY"
