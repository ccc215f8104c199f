#!/usr/bin/env bash
# lthub-axis against an axis (tests/axis/fake_axis.py) that answers an
# empty list with "data": null (a Java server serializing a null list):
# that is an empty list, not an unreadable answer, so the status list read
# after the empty document list is still taken in the same cycle, and no
# receive error is counted.
# Usage: test_axis_null.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_null.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"

axis_hub
axis_sink
cat >"$HUB_DIR/mailbox.json" <<JSON
{"null_empty": true, "items": [
  {"item": {"docId": "ST1", "serviceType": "eDoc", "messageType": "status",
            "from": "000.00.00.G22", "to": "000.00.12.H26", "status": "initial"},
   "file": "$FIX/edxml/status-03-accepted.edxml"}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector

hub_wait 20 '[ "$(acks ST1 done)" = 1 ]' \
    || fail "the status item was not acknowledged done: $(grep -c getReceivedEdocList "$HUB_DIR/fake.log") lists, $(fetches ST1) fetches"
grep -q "event=axis_unreachable" "$HUB_DIR/axis.log" \
    && fail "an empty list written as null was taken for an unreadable answer"
ok "a list answered with data null is empty, and the status list after it is read"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
hub_stop
echo "PASS: test_axis_null"
