#!/usr/bin/env bash
# lthub-axis against an axis (tests/axis/fake_axis.py, checking every HMAC)
# whose list holds docIds no client can use among good items:
# - a docId beyond 64 bits (12345678901234567890) does not make the list
#   unreadable: the other items are fetched, published, acknowledged done,
#   and the odd one is skipped with one log line naming it;
# - docIds with spaces at their ends or non-ASCII characters cannot travel
#   as a header exactly (HTTP drops the spaces, servers read other bytes as
#   they like), so they are skipped the same way, never fetched nor
#   acknowledged, and no call is refused for its signature.
# Usage: test_axis_ids.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_ids.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"
TOOL="$BIN/tests/dms/dms-tool"

axis_hub
axis_sink
for n in 71 72 73 74 75; do
    "$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number $n --notation VPCP-QHQT \
        "$HUB_DIR/doc$n.edxml" || fail "mkdoc $n"
done
item() { echo "{\"docId\": $1, \"serviceType\": \"eDoc\", \"messageType\": \"edoc\",
  \"from\": \"000.00.00.G22\", \"to\": \"000.00.12.H26\", \"status\": \"initial\"}"; }
cat >"$HUB_DIR/mailbox.json" <<JSON
{"items": [
  {"item": $(item '"GOOD1"'), "file": "$HUB_DIR/doc71.edxml"},
  {"item": $(item 12345678901234567890), "file": "$HUB_DIR/doc72.edxml"},
  {"item": $(item '" SP "'), "file": "$HUB_DIR/doc73.edxml"},
  {"item": $(item '"Vi\u1ec7t"'), "file": "$HUB_DIR/doc74.edxml"},
  {"item": $(item '"GOOD2"'), "file": "$HUB_DIR/doc75.edxml"}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector

for id in GOOD1 GOOD2; do
    hub_wait 20 '[ "$(acks $id done)" = 1 ]' || fail "item $id was not acknowledged done: $(tail -5 "$HUB_DIR/axis.log")"
done
hub_wait 10 'grep -q "71/VPCP-QHQT" "$HUB_DIR/dms.rec" && grep -q "75/VPCP-QHQT" "$HUB_DIR/dms.rec"' \
    || fail "the documents did not reach the dms lane: $(cat "$HUB_DIR/dms.rec" 2>/dev/null)"
grep -q "too big integer" "$HUB_DIR/axis.log" && fail "a list was refused for its big number"
ok "a docId beyond 64 bits does not stop the other items"

sleep 2   # a few more cycles
[ "$(calls 'c["op"] in ("getEdoc", "updateStatus") and c["params"].get("docid", "").strip() in ("SP", "12345678901234567890") or "Vi" in c["params"].get("docid", "")')" = 0 ] \
    || fail "an unusable docId was fetched or acknowledged: $(grep -v getReceivedEdocList "$HUB_DIR/fake.log")"
[ "$(calls 'c.get("refused", False)')" = 0 ] || fail "the fake axis refused a signature: $(grep refused "$HUB_DIR/fake.log" | head -3)"
for name in '"docId":1.2345678901234567e19' '"docId":" SP "' '"docId":"Vi\u1EC7t"'; do
    [ "$(grep -F "event=list_item_skipped" "$HUB_DIR/axis.log" | grep -cF "$name")" = 1 ] \
        || fail "the skipped item $name is not logged once: $(grep list_item_skipped "$HUB_DIR/axis.log")"
done
ok "docIds no header carries exactly are skipped, each logged once, none refused"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
hub_stop
echo "PASS: test_axis_ids"
