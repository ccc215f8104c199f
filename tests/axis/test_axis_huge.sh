#!/usr/bin/env bash
# lthub-axis against an axis (tests/axis/fake_axis.py) listing first an item
# whose getEdoc answer is larger than the client takes (it declares 200 MB):
# that is a fault of that item, not of the axis. The items listed after it
# are fetched, published and acknowledged done; the large one is fetched
# again with backoff, --unreadable-fetches times, then acknowledged fail
# with a description saying it is too large, and never fetched again.
# Usage: test_axis_huge.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_huge.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"
TOOL="$BIN/tests/dms/dms-tool"

axis_hub
axis_sink
for n in 81 82; do
    "$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number $n --notation VPCP-TH \
        "$HUB_DIR/doc$n.edxml" || fail "mkdoc $n"
done
item() { echo "{\"docId\": \"$1\", \"serviceType\": \"eDoc\", \"messageType\": \"edoc\",
  \"from\": \"000.00.00.G22\", \"to\": \"000.00.12.H26\", \"status\": \"initial\"}"; }
cat >"$HUB_DIR/mailbox.json" <<JSON
{"items": [
  {"item": $(item HUGE), "file": "$HUB_DIR/doc81.edxml", "huge": true},
  {"item": $(item AFTER), "file": "$HUB_DIR/doc82.edxml"}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector

hub_wait 20 '[ "$(acks AFTER done)" = 1 ]' \
    || fail "the item listed after a too large one was not acknowledged done: $(grep -c getEdoc "$HUB_DIR/fake.log") fetches"
hub_wait 10 'grep -q "82/VPCP-TH" "$HUB_DIR/dms.rec"' || fail "the document did not reach the dms lane"
ok "an answer too large to take does not hold up the items after it"

hub_wait 30 '[ "$(acks HUGE fail)" = 1 ]' \
    || fail "the too large item was not acknowledged fail: $(fetches HUGE) fetches"
[ "$(fetches HUGE)" = 3 ] || fail "the too large item was fetched $(fetches HUGE) times, not 3"
ack_desc HUGE | grep -qi "larger" || fail "the description does not say it is too large: $(ack_desc HUGE)"
[ "$(acks HUGE done)" = 0 ] || fail "the too large item was acknowledged done"
sleep 1.5
[ "$(fetches HUGE)" = 3 ] || fail "the refused item was fetched again"
ok "the too large item is refused with fail after 3 fetches, and not fetched again"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
hub_stop
echo "PASS: test_axis_huge"
