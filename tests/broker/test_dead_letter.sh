#!/usr/bin/env bash
# A sink that answers RETRY forever for one message: it reaches the dead
# letters with every reason, while other traffic keeps flowing; replay puts
# it back. Also a status for the same document waits behind it (ordering).
# usage: test_dead_letter.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_keys pub sink
hub_config <<CFG
delivery
    max_attempts = 4
    backoff_min = 50
    backoff_max = 200
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
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" --retry-match POISON 2>>"$HUB_DIR/sink.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --prefix POISON --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 200 --prefix GOOD --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 30 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 200 ]' || hub_fail "good traffic stalled: $(wc -l < "$HUB_DIR/sink.rec" 2>/dev/null) of 200"
hub_wait 30 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ]' || hub_fail "poison message not in dead letters"
"$BIN/broker/lthub" dead --admin "$HUB_ADMIN"
dead=$("$BIN/broker/lthub" dead --admin "$HUB_ADMIN" --json)
delivery=$(python3 - "$dead" <<'PY'
import json, sys
d = json.loads(sys.argv[1])["dead"]
assert len(d) == 1, d
e = d[0]
assert e["key"] == "POISON-1", e
assert e["attempts"] == 4, e
lines = e["errors"].splitlines()
assert len(lines) == 5 and all("RETRY" in l for l in lines[:4]) and "budget" in lines[4], lines
print(e["delivery"])
PY
)
grep -q POISON "$HUB_DIR/sink.rec" && hub_fail "the poison message was recorded as delivered"
# Replay needs the token; without it the API refuses.
if "$BIN/broker/lthub" replay "$delivery" --admin "$HUB_ADMIN" 2>/dev/null; then hub_fail "replay without token accepted"; fi
"$BIN/broker/lthub" replay "$delivery" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token"
hub_wait 10 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 0 ]' || hub_fail "replay did not leave the dead letters"
hub_wait 30 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ]' || hub_fail "replayed poison message did not die again"
# The admin server's page and metrics show the same state.
# (Read whole first: grep -q would end the pipe before curl and, with
# pipefail, fail the line.)
page=$(curl -sf "http://$HUB_ADMIN/") || hub_fail "GET / failed"
grep -q '<table id="conns">' <<<"$page" || hub_fail "no dashboard page at /"
metrics=$(curl -sf "http://$HUB_ADMIN/metrics")
echo "$metrics" | grep -q '^lthub_store_deliveries_messages{state="dead"} 1$' || hub_fail "metrics do not show the dead letter"
echo "$metrics" | grep -q '^lthub_connector_done_messages_total{connector="sink"} 200$' || hub_fail "metrics do not show 200 done"
echo "PASS: poison message dead with its reasons after 4 attempts, 200 others delivered, replay works"
