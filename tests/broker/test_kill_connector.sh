#!/usr/bin/env bash
# Fault test: SIGKILL the sink connector while it holds deliveries; after
# its restart everything is redelivered: the receiver holds every accepted
# message, each exactly once, except a message whose DONE the kill cut off
# after the receiver had it (transport is at-least-once, DESIGN §5; real
# systems deduplicate on DocumentId): such a message is one of the last
# CREDIT the receiver took before the kill, and arrives twice, never more.
# usage: test_kill_connector.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_keys pub sink
hub_config <<CFG
routes
    route
        kind = "document"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
hub_start
COUNT=60
CREDIT=4
sink_args="$(hub_conn_args sink) --record $HUB_DIR/sink.rec --delay-ms 150 --workers 2 --credit $CREDIT"
hub_spawn "$BIN/tests/lthub-testconn" $sink_args 2>>"$HUB_DIR/sink.log"
SINK=$!
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count $COUNT --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
PUB=$!
# Kill the sink in the middle of its deliveries (it sleeps 150 ms in each).
hub_wait 30 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 10 ]' || hub_fail "sink got nothing"
kill -9 $SINK
wait $SINK 2>/dev/null || true
before=$(wc -l < "$HUB_DIR/sink.rec")
inflight=$(hub_stat 's["connectors"][[c["name"] for c in s["connectors"]].index("sink")]["inflight"]' || echo "?")
echo "sink killed after $before deliveries (broker saw $inflight in flight)"
sleep 1
hub_spawn "$BIN/tests/lthub-testconn" $sink_args 2>>"$HUB_DIR/sink.log"
SINK=$!
hub_wait 60 '[ $(wc -l < "$HUB_DIR/sink.rec") -ge $COUNT ] && ! kill -0 $PUB 2>/dev/null' || hub_fail "not everything arrived: $(wc -l < "$HUB_DIR/sink.rec") of $COUNT"
sleep 1
python3 - "$HUB_DIR/pub.rec" "$HUB_DIR/sink.rec" "$before" "$CREDIT" <<'PY'
import sys, collections
accepted = {l.split()[1] for l in open(sys.argv[1]) if l.split()[1] != "rejected"}
lines = [l.split()[0] for l in open(sys.argv[2])]
before, credit = int(sys.argv[3]), int(sys.argv[4])
got = collections.Counter(lines)
lost = accepted - set(got)
dups = {k: v for k, v in got.items() if v > 1}
# A second copy is the redelivery of a message the killed sink had taken
# but whose DONE never reached the broker: one of its last CREDIT records.
window = set(lines[max(0, before - credit):before])
bad = {k: v for k, v in dups.items() if v > 2 or k not in window}
print("accepted %d, received %d distinct, lost %d, duplicated %d (%d cut off by the kill, %d not)"
      % (len(accepted), len(got), len(lost), len(dups), len(dups) - len(bad), len(bad)))
sys.exit(1 if lost or bad or len(accepted) == 0 else 0)
PY
sessions=$(hub_stat '[c for c in s["connectors"] if c["name"]=="sink"][0]["sessions"]')
[ "$sessions" -ge 2 ] || hub_fail "the sink did not come back ($sessions sessions)"
echo "PASS: connector killed mid-delivery, redelivered after restart, no loss, no duplicate beyond the deliveries the kill cut off"
