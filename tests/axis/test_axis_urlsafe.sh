#!/usr/bin/env bash
# lthub-axis against an axis (tests/axis/fake_axis.py) whose getEdoc data is
# base64 in the URL-safe alphabet without padding (Java's
# Base64.getUrlEncoder().withoutPadding()): the package decodes byte for
# byte, is published and acknowledged done, never refused as unreadable.
# Usage: test_axis_urlsafe.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_urlsafe.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"

axis_hub
axis_sink
# A fixture whose standard base64 holds both '+' and '/' (so both differ).
python3 -c 'import base64, sys; t = base64.b64encode(open(sys.argv[1], "rb").read())
sys.exit(0 if b"+" in t and b"/" in t else 1)' "$FIX/edxml/new-unsigned-raw.edxml" \
    || fail "the fixture's base64 does not use both '+' and '/'"
cat >"$HUB_DIR/mailbox.json" <<JSON
{"items": [
  {"item": {"docId": "URL1", "serviceType": "eDoc", "messageType": "edoc",
            "from": "000.00.12.H26", "to": "000.00.12.H26", "status": "initial"},
   "file": "$FIX/edxml/new-unsigned-raw.edxml", "urlsafe": true}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector

hub_wait 20 '[ "$(acks URL1 done)" = 1 ]' \
    || fail "the item was not acknowledged done$( [ "$(acks URL1 fail)" = 0 ] || echo ": fail, $(ack_desc URL1)")"
[ "$(acks URL1 fail)" = 0 ] || fail "the item was acknowledged fail: $(ack_desc URL1)"
grep -q "event=unreadable_fetch" "$HUB_DIR/axis.log" && fail "a URL-safe answer was taken for unreadable"
ok "URL-safe base64 without padding decodes"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
hub_stop
echo "PASS: test_axis_urlsafe"
