#!/usr/bin/env bash
# lthub-axis against an axis (tests/axis/fake_axis.py) whose list items
# write `to` in other shapes than one code: a JSON array, the text of a
# JSON array (the sendEdoc header as received), codes joined by ',' or ';'.
# An item is the hub's when any of its codes is an agency the hub receives
# for: it is published (to those agencies) and acknowledged done; one whose
# codes are all foreign is still acknowledged fail and never published.
# Usage: test_axis_to.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_to.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"
TOOL="$BIN/tests/dms/dms-tool"

axis_hub
axis_sink
for n in 1 2 3 4 5; do
    "$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number 10$n --notation VPCP-TO \
        "$HUB_DIR/doc$n.edxml" || fail "mkdoc $n"
done
item() { echo "{\"docId\": \"$1\", \"serviceType\": \"eDoc\", \"messageType\": \"edoc\",
  \"from\": \"000.00.00.G22\", \"to\": $2, \"status\": \"initial\"}"; }
cat >"$HUB_DIR/mailbox.json" <<JSON
{"items": [
  {"item": $(item ARRAY '["000.00.12.H26"]'), "file": "$HUB_DIR/doc1.edxml"},
  {"item": $(item TEXT '"[\"000.00.12.H26\"]"'), "file": "$HUB_DIR/doc2.edxml"},
  {"item": $(item COMMA '"000.00.00.G01, 000.00.12.H26"'), "file": "$HUB_DIR/doc3.edxml"},
  {"item": $(item SEMI '"000.00.12.H26;000.00.00.G01"'), "file": "$HUB_DIR/doc4.edxml"},
  {"item": $(item FOREIGN '"[\"000.00.00.G01\",\"000.00.01.H30\"]"'), "file": "$HUB_DIR/doc5.edxml"}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector

for id in ARRAY TEXT COMMA SEMI; do
    hub_wait 20 '[ "$(acks $id done)" = 1 ]' \
        || fail "item $id was not acknowledged done$( [ "$(acks $id fail)" = 0 ] || echo ": fail, $(ack_desc $id)")"
done
for n in 101 102 103 104; do
    hub_wait 10 'grep -q "$n/VPCP-TO" "$HUB_DIR/dms.rec"' || fail "document $n did not reach the dms lane"
done
ok "an item whose to lists one of the hub's agencies among others is taken"

hub_wait 20 '[ "$(acks FOREIGN fail)" = 1 ]' || fail "the foreign item was not acknowledged fail"
ack_desc FOREIGN | grep -q "000.00.00.G01" || fail "the description does not name the agency: $(ack_desc FOREIGN)"
grep -q "105/VPCP-TO" "$HUB_DIR/dms.rec" && fail "the foreign item was published"
ok "an item whose to lists only foreign agencies is refused"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
hub_stop
echo "PASS: test_axis_to"
