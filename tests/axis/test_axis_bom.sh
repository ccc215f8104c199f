#!/usr/bin/env bash
# lthub-axis against an axis (tests/axis/fake_axis.py) written apart from
# the SDK: every answer starts with a UTF-8 byte order mark (.NET's UTF-8
# writers put one by default), its Content-Type names a charset, and the
# getEdoc base64 is wrapped at 76 characters with CRLF (Java's MIME
# encoder). The lists read, the packages decode, are published and
# acknowledged done, and a sent package gets its DocId.
# Usage: test_axis_bom.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_bom.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"
TOOL="$BIN/tests/dms/dms-tool"

axis_hub
axis_sink
"$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number 91 --notation VPCP-BOM \
    "$HUB_DIR/doc91.edxml" || fail "mkdoc 91"
cat >"$HUB_DIR/mailbox.json" <<JSON
{"bom": true, "items": [
  {"item": {"docId": "BOM1", "serviceType": "eDoc", "messageType": "edoc",
            "from": "000.00.00.G22", "to": "000.00.12.H26", "status": "initial"},
   "file": "$HUB_DIR/doc91.edxml", "mime": true}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector

hub_wait 20 '[ "$(acks BOM1 done)" = 1 ]' \
    || fail "the item was not acknowledged done: $(grep -c getReceivedEdocList "$HUB_DIR/fake.log") lists, $(fetches BOM1) fetches"
hub_wait 10 'grep -q "91/VPCP-BOM" "$HUB_DIR/dms.rec"' || fail "the document did not reach the dms lane"
[ "$(acks BOM1 fail)" = 0 ] || fail "the item was acknowledged fail: $(ack_desc BOM1)"
ok "answers with a byte order mark and MIME-wrapped base64 are read"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
hub_stop
echo "PASS: test_axis_bom"
