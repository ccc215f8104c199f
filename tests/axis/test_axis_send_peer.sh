#!/usr/bin/env bash
# lthub-axis sending to an independent axis (tests/axis/fake_axis.py, written
# from spec/peers.md A alone, sharing no code with the hub): a document and
# a status published toward the axis reach it as sendEdoc calls whose every
# XroadVnpt parameter is signed, with the HMAC right, one multipart part
# file_doc, hash-file the unpadded SHA-256 of that part, messagetype edoc
# or status as the package is, from the system id, and `to` a JSON array of
# codes of the package's To list. The fake refuses any call that is not so.
# Usage: test_axis_send_peer.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_send_peer.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"

axis_hub
# A status of the province's agency about a document of 000.00.00.G22.
python3 -c 'import sys
t = open(sys.argv[1], "rb").read().replace(b"000.00.00.G22", b"@").replace(b"000.00.12.H26", b"000.00.00.G22").replace(b"@", b"000.00.12.H26")
open(sys.argv[2], "wb").write(t)' "$FIX/edxml/status-03-accepted.edxml" "$HUB_DIR/status-out.edxml"
echo '{"items": []}' >"$HUB_DIR/mailbox.json"
fake_axis "$HUB_DIR/mailbox.json"
axis_connector --receive no
publish "$FIX/edxml/new-signed.edxml,$HUB_DIR/status-out.edxml"

hub_wait 20 '[ "$(calls '"'"'c["op"] == "sendEdoc" and not c.get("refused")'"'"')" -ge 2 ]' \
    || fail "two sendEdoc did not reach the axis: $(cat "$HUB_DIR/fake.log")"
sleep 1
[ "$(calls 'c.get("refused", False)')" = 0 ] || fail "the fake axis refused a signature: $(grep refused "$HUB_DIR/fake.log" | head -3)"
[ "$(calls 'c["op"] == "sendEdoc-refused"')" = 0 ] || fail "the fake axis refused a sendEdoc: $(grep sendEdoc-refused "$HUB_DIR/fake.log")"
[ "$(calls 'c["op"] == "sendEdoc" and c["params"].get("messagetype") == "status"')" = 1 ] \
    || fail "no sendEdoc with messagetype status"
[ "$(calls 'c["op"] == "sendEdoc" and c["params"].get("to") == "[\"000.00.00.G22\"]"')" = 2 ] \
    || fail "to is not [\"000.00.00.G22\"] on both: $(grep '"sendEdoc"' "$HUB_DIR/fake.log")"
ok "sendEdoc of a document and a status is what an independent axis checks"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
hub_stop
echo "PASS: test_axis_send_peer"
