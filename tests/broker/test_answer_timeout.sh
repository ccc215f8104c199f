#!/usr/bin/env bash
# In-flight deadline (issue: hardening 13): a sink that answers after
# delivery/answer_timeout has its deliveries timed out and tried again with
# backoff, in lane order; the late DONEs add no credit; every message
# reaches the sink's system exactly once.
# usage: test_answer_timeout.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_keys pub sink
hub_config <<CFG
delivery
    answer_timeout = 400
    backoff_min = 100
    backoff_max = 200
routes
    route
        kind = "document,status"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --credit 4 --record "$HUB_DIR/sink.rec" --delay-ms 1000 2>>"$HUB_DIR/sink.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 3 --prefix SLOW --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --prefix SLOW --btype revocation --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 40 '[ "$(hub_stat "[c for c in s[\"connectors\"] if c[\"name\"]==\"sink\"][0][\"done\"]")" = 4 ]' || hub_fail "not all done: $(hub_status_json)"
sleep 1.5
cat "$HUB_DIR/sink.rec"
python3 - "$(hub_status_json)" "$HUB_DIR/sink.rec" <<'PY'
import json, sys, collections
s = json.loads(sys.argv[1])
sink = [c for c in s["connectors"] if c["name"] == "sink"][0]
assert sink["timeouts"] >= 1, sink
assert sink["inflight"] == 0 and sink["credit"] == 4, sink
assert s["store"]["ready"] == 0 and s["store"]["waiting"] == 0, s["store"]
lines = [l.split() for l in open(sys.argv[2])]
seen = collections.Counter(l[0] for l in lines)
assert len(seen) == 4 and all(n == 1 for n in seen.values()), seen
order = [(l[1], l[2]) for l in lines if l[1] == "SLOW-1"]
assert order == [("SLOW-1", "new"), ("SLOW-1", "revocation")], order
print("timeouts", sink["timeouts"], "credit", sink["credit"])
PY
grep -q 'event=retry connector=sink .*no answer within 400 ms' "$HUB_DIR/lthubd.log" || hub_fail "no timed-out attempt logged"
echo "PASS: late answers timed out and retried, credit back to 4, each message once, in lane order"
