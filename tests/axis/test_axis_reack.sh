#!/usr/bin/env bash
# lthub-axis against an axis (tests/axis/fake_axis.py) that answers the
# first updateStatus done of an item with FAIL 500, and whose getEdoc
# answers differ from one fetch to the next (as from an axis that stamps a
# package when it serves it). The broker has the package already: the item
# listed again is acknowledged done without being fetched and published
# again, so the province gets the document once (the broker's duplicate
# check compares content, which differs here, and refused the second copy
# as a conflicting DocumentId, which acknowledged the item fail). With
# --data this holds across a SIGKILL between the publish and the done.
# Usage: test_axis_reack.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_reack.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"
TOOL="$BIN/tests/dms/dms-tool"

axis_hub
axis_sink
for n in 121 122; do
    "$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number $n --notation VPCP-RA \
        "$HUB_DIR/doc$n.edxml" || fail "mkdoc $n"
done
cat >"$HUB_DIR/mailbox.json" <<JSON
{"items": [
  {"item": {"docId": "RA1", "serviceType": "eDoc", "messageType": "edoc",
            "from": "000.00.00.G22", "to": "000.00.12.H26", "status": "initial"},
   "file": "$HUB_DIR/doc121.edxml", "retrace": true, "fail_done": 1}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector

hub_wait 20 '[ "$(acks RA1 done)" = 2 ]' || fail "the item was not acknowledged done again: $(acks RA1 done)"
hub_wait 10 'grep -q "121/VPCP-RA" "$HUB_DIR/dms.rec"' || fail "the document did not reach the dms lane"
sleep 1.5
[ "$(fetches RA1)" = 1 ] || fail "the item was fetched $(fetches RA1) times, not once"
[ "$(grep -c "121/VPCP-RA" "$HUB_DIR/dms.rec")" = 1 ] \
    || fail "the document reached the dms lane $(grep -c "121/VPCP-RA" "$HUB_DIR/dms.rec") times"

[ "$(acks RA1 fail)" = 0 ] || fail "the item was acknowledged fail: $(ack_desc RA1)"
ok "an item published but not acknowledged is acknowledged again, not published again"

# The same across a SIGKILL right after the first refused done.
stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$FAKE_PID"
cat >"$HUB_DIR/mailbox.json" <<JSON
{"items": [
  {"item": {"docId": "RB1", "serviceType": "eDoc", "messageType": "edoc",
            "from": "000.00.00.G22", "to": "000.00.12.H26", "status": "initial"},
   "file": "$HUB_DIR/doc122.edxml", "retrace": true, "fail_done": 4}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector
hub_wait 20 '[ "$(grep -F '"'"'"op": "updateStatus"'"'"' "$HUB_DIR/fake.log" | grep -c RB1)" -ge 1 ]' \
    || fail "no updateStatus for RB1"
kill -KILL "$AXIS_PID"
wait "$AXIS_PID" 2>/dev/null
axis_connector
hub_wait 20 '[ "$(acks RB1 done)" = 5 ]' || fail "RB1 was not acknowledged done after the restart: $(acks RB1 done)"
sleep 1
[ "$(fetches RB1)" = 1 ] || fail "RB1 was fetched $(fetches RB1) times, not once"
[ "$(acks RB1 fail)" = 0 ] || fail "RB1 was acknowledged fail: $(ack_desc RB1)"
[ "$(grep -c "122/VPCP-RA" "$HUB_DIR/dms.rec")" = 1 ] \
    || fail "RB1 reached the dms lane $(grep -c "122/VPCP-RA" "$HUB_DIR/dms.rec") times"
ok "so it is after a SIGKILL between the publish and the done"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
hub_stop
echo "PASS: test_axis_reack"
