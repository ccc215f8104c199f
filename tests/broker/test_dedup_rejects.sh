#!/usr/bin/env bash
# Dedup by content, follow-up entitlement, replayable rejects (issue:
# hardening 4, 6, 14):
#  - the same document twice is one delivery (ACCEPTED duplicate);
#  - other content under a used DocumentId is REJECTED, naming the conflict;
#  - a changed update is a new revision and is delivered, the same update
#    again is not;
#  - a revocation from another agency than the sender, or a status from an
#    agency that is not a recipient, is REJECTED;
#  - rejected inputs are listed, and one refused for want of a route is
#    published again after the route is added; nothing is replayed twice.
# usage: test_dedup_rejects.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_keys pub sink
cp "$HUB_DIR/lthub.cfg" "$HUB_DIR/base.cfg"
hub_config <<CFG
routes
    route
        kind = "document,status"
        match = "000.00.00.G22"
        to = "sink"
    route
        kind = "status"
        match = "000.00.12.H26"
        to = "sink"
connectors
    pub
    sink
CFG
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" 2>>"$HUB_DIR/sink.log"
pub() { "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --record "$HUB_DIR/pub.rec" "$@" 2>>"$HUB_DIR/pub.log"; }
last() { tail -1 "$HUB_DIR/pub.rec"; }
msgid() { last | awk '{print $2}'; }

pub --prefix DUP --size 100; m1=$(msgid)
pub --prefix DUP --size 100; [ "$(msgid)" = "$m1" ] || hub_fail "the same document twice got two ids: $(last)"
pub --prefix DUP --size 200
last | grep -q "rejected DUP-1 .*DocumentId 'DUP-1' conflict.*$m1" || hub_fail "other content under DUP-1 not refused as a conflict: $(last)"
pub --prefix DUP --btype update --size 100; u1=$(msgid)
pub --prefix DUP --btype update --size 100; [ "$(msgid)" = "$u1" ] || hub_fail "the same update twice got two ids"
pub --prefix DUP --btype update --size 150; u2=$(msgid)
[ "$u2" != "$u1" ] && [ "$u2" != rejected ] || hub_fail "a changed update is not a new revision: $(last)"
pub --prefix DUP --btype revocation --from 000.00.99.H26
last | grep -q "rejected DUP-1 .*'000.00.99.H26', but only its sender '000.00.12.H26'" || hub_fail "a revocation by another agency was not refused: $(last)"
pub --prefix DUP --kind status --btype 03 --from 000.00.55.H26 --to 000.00.12.H26
last | grep -q "rejected DUP-1 .*not one of the document's 1 recipients" || hub_fail "a status by a stranger was not refused: $(last)"
pub --prefix DUP --kind status --btype 03 --from 000.00.00.G22 --to 000.00.12.H26
[ "$(msgid)" != rejected ] || hub_fail "a status by the recipient was refused: $(last)"
pub --prefix LOST --to 000.00.77.X99
last | grep -q "rejected LOST-1 no route" || hub_fail "LOST-1 was routed: $(last)"

hub_wait 10 '[ -f "$HUB_DIR/sink.rec" ] && [ $(grep -c " DUP-1 " "$HUB_DIR/sink.rec") -ge 4 ]' || hub_fail "sink got: $(cat "$HUB_DIR/sink.rec" 2>/dev/null)"
sleep 0.5
order=$(grep ' DUP-1 ' "$HUB_DIR/sink.rec" | awk '{print $3}' | tr '\n' ' ')
[ "$order" = "new update update 03 " ] || hub_fail "DUP-1 deliveries: $order"

"$BIN/broker/lthub" rejects --admin "$HUB_ADMIN"
json=$("$BIN/broker/lthub" rejects --admin "$HUB_ADMIN" --json)
lost=$(python3 - "$json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])["rejects"]
codes = sorted((e["key"], e["error"]) for e in r)
assert codes == [("DUP-1", "EFORBIDDEN"), ("DUP-1", "EFORBIDDEN"), ("DUP-1", "EINVAL"), ("LOST-1", "EROUTE")], codes
print([e["reject"] for e in r if e["key"] == "LOST-1"][0])
PY
)
conflict=$(echo "$json" | python3 -c 'import json,sys; print([e["reject"] for e in json.load(sys.stdin)["rejects"] if e["error"]=="EINVAL"][0])')
# Still no route: replaying is refused again and changes nothing.
if "$BIN/broker/lthub" rejects replay "$lost" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token" 2>"$HUB_DIR/replay.err"; then hub_fail "replay without a route accepted"; fi
if "$BIN/broker/lthub" rejects replay "$lost" --admin "$HUB_ADMIN" 2>/dev/null; then hub_fail "replay without token accepted"; fi
# Add the route, reload, replay: LOST-1 is delivered, once.
cp "$HUB_DIR/base.cfg" "$HUB_DIR/lthub.cfg"
hub_config <<CFG
routes
    route
        kind = "document,status"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
kill -HUP "$HUB_PID"
hub_wait 10 'grep -q event=reloaded "$HUB_DIR/lthubd.log"' || hub_fail "no reload"
"$BIN/broker/lthub" rejects replay "$lost" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token"
hub_wait 10 'grep -q " LOST-1 new" "$HUB_DIR/sink.rec"' || hub_fail "the replayed input was not delivered"
if "$BIN/broker/lthub" rejects replay "$lost" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token" 2>/dev/null; then hub_fail "replayed twice"; fi
if "$BIN/broker/lthub" rejects replay "$conflict" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token" 2>"$HUB_DIR/replay.err"; then hub_fail "the conflict was accepted on replay"; fi
grep -q conflict "$HUB_DIR/replay.err" || hub_fail "the refused replay does not say why: $(cat "$HUB_DIR/replay.err")"
rc=0; "$BIN/broker/lthub" rejects replay 99999999 --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token" 2>"$HUB_DIR/replay.err" || rc=$?
[ "$rc" = 1 ] && grep -q "no such rejected input 99999999" "$HUB_DIR/replay.err" || hub_fail "replay of no such input: exit $rc, $(cat "$HUB_DIR/replay.err")"
"$BIN/broker/lthub" rejects --admin "$HUB_ADMIN" | grep -q "replayed as" || hub_fail "lthub rejects does not show the replay"
sleep 0.3
[ "$(grep -c ' LOST-1 ' "$HUB_DIR/sink.rec")" = 1 ] || hub_fail "LOST-1 delivered more than once"
echo "PASS: dedup by content, conflicts and strangers refused, rejects listed and replayed once"
