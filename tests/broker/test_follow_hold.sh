#!/usr/bin/env bash
# Follow-ups and their documents (issue: hardening 1, 3):
#  - a revocation published before its document is held, then delivered
#    right after the document once it comes;
#  - a status whose document never reaches the hub is held for
#    delivery/hold, then delivered with a logged warning;
#  - a replacement is ordered after the document it replaces, even while
#    that document is being retried.
# usage: test_follow_hold.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_keys pub sink
hub_config <<CFG
delivery
    hold = 3000
    backoff_min = 200
    backoff_max = 400
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
# The sink refuses each new document twice before taking it.
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" \
  --retry-btype new --retry-times 2 2>>"$HUB_DIR/sink.log"
pub() { "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --record "$HUB_DIR/pub.rec" "$@" 2>>"$HUB_DIR/pub.log"; }
got() { grep -c " $1 $2\$" "$HUB_DIR/sink.rec" 2>/dev/null || true; }

# 1. The revocation first, the document 1.5 s later.
pub --prefix HOLD --btype revocation
sleep 1.5
[ "$(got HOLD-1 revocation)" = 0 ] || hub_fail "the revocation went before its document: $(cat "$HUB_DIR/sink.rec")"
[ "$(hub_stat 's["store"]["held"]')" = 1 ] || hub_fail "the revocation is not held"
pub --prefix HOLD
hub_wait 20 '[ "$(got HOLD-1 revocation)" = 1 ]' || hub_fail "the revocation never came: $(cat "$HUB_DIR/sink.rec" 2>/dev/null)"
order=$(grep ' HOLD-1 ' "$HUB_DIR/sink.rec" | awk '{print $3}' | tr '\n' ' ')
[ "$order" = "new revocation " ] || hub_fail "HOLD-1 order was: $order"

# 2. A status about a document the hub never sees: held, then delivered.
start=$(date +%s%N)
pub --prefix LATE --kind status --btype 03 --from 000.00.00.G22 --to 000.00.12.H26
sleep 1.5
[ "$(got LATE-1 03)" = 0 ] || hub_fail "the status was not held"
hub_wait 10 '[ "$(got LATE-1 03)" = 1 ]' || hub_fail "the status was never delivered"
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -ge 2900 ] || hub_fail "the status came after $took ms, before its hold ended"
grep -q 'event=hold_expired.*key="LATE-1"' "$HUB_DIR/lthubd.log" || hub_fail "no warning for the status delivered without its document"

# 3. A replacement right after the document it replaces (retried twice).
pub --prefix REP
pub --prefix NEWREP --btype replacement --replaces REP-1
hub_wait 20 '[ "$(got NEWREP-1 replacement)" = 1 ]' || hub_fail "the replacement never came"
first=$(grep -n -E ' (REP|NEWREP)-1 ' "$HUB_DIR/sink.rec" | head -1)
echo "$first" | grep -q ' REP-1 new' || hub_fail "the replacement overtook its document: $(cat "$HUB_DIR/sink.rec")"
cat "$HUB_DIR/sink.rec"
echo "PASS: follow-ups wait for their document (held $took ms at most), replacement after the replaced document"
