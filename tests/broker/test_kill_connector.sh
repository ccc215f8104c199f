#!/usr/bin/env bash
# Fault test: SIGKILL the sink connector while it holds deliveries; after
# its restart everything is redelivered and the receiver holds each
# accepted message exactly once.
# usage: test_kill_connector.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_relay
hub_start
COUNT=60
sink_args="$(hub_conn_args sink) --record $HUB_DIR/sink.rec --delay-ms 150 --workers 2 --credit 4"
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
python3 - "$HUB_DIR/pub.rec" "$HUB_DIR/sink.rec" <<'PY'
import sys, collections
accepted = {l.split()[1] for l in open(sys.argv[1]) if l.split()[1] != "rejected"}
got = collections.Counter(l.split()[0] for l in open(sys.argv[2]))
lost = accepted - set(got)
dups = {k: v for k, v in got.items() if v > 1}
print("accepted %d, received %d distinct, lost %d, duplicated %d" % (len(accepted), len(got), len(lost), len(dups)))
sys.exit(1 if lost or dups or len(accepted) == 0 else 0)
PY
sessions=$(hub_stat '[c for c in s["connectors"] if c["name"]=="sink"][0]["sessions"]')
[ "$sessions" -ge 2 ] || hub_fail "the sink did not come back ($sessions sessions)"
echo "PASS: connector killed mid-delivery, redelivered after restart, no loss, no duplicate"
