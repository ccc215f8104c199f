#!/usr/bin/env bash
# lthub-axis against an independent national axis (tests/axis/fake_axis.py,
# written from spec/peers.md A alone, checking every HMAC) that lists items
# in the shapes a foreign implementation may use:
# - an item with a numeric docId and its `to`: fetched, published, acknowledged done;
# - items without a usable docId: skipped, never holding up the others;
# - an item without `to` whose package names no agency of the province: not
#   published (which would send it back to the axis) but acknowledged fail
#   with a description, and kept in the quarantine;
# - an item whose `to` is an agency the hub does not receive for (another
#   province's, its package addressed to it alone): the same, the
#   description naming that agency.
# Usage: test_axis_peer.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_peer.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"
TOOL="$BIN/tests/dms/dms-tool"

axis_hub
axis_sink
"$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number 81 --notation VPCP-TTĐT \
    "$HUB_DIR/ours.edxml" || fail "mkdoc ours"
# Same DocumentId as ours.edxml, other content: the hub refuses it, with a
# reason that quotes the DocumentId (non-ASCII: Đ).
"$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number 81 --notation VPCP-TTĐT \
    --subject "Nội dung khác" "$HUB_DIR/changed.edxml" || fail "mkdoc changed"
"$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.00.G01 --number 82 --notation VPCP-TTĐT \
    "$HUB_DIR/foreign.edxml" || fail "mkdoc foreign"
"$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.07.H30 --number 83 --notation VPCP-TTĐT \
    "$HUB_DIR/h30.edxml" || fail "mkdoc h30"
cat >"$HUB_DIR/mailbox.json" <<JSON
{"items": [
  {"item": {"messageType": "edoc", "from": "000.00.00.G22"}, "file": null},
  {"item": {"docId": "", "messageType": "edoc"}, "file": null},
  {"item": {"docId": "F1", "serviceType": "eDoc", "messageType": "edoc", "from": "000.00.00.G22",
            "status": "initial"}, "file": "$HUB_DIR/foreign.edxml"},
  {"item": {"docId": "H30", "serviceType": "eDoc", "messageType": "edoc", "from": "000.00.00.G22",
            "to": "000.00.07.H30", "status": "initial"}, "file": "$HUB_DIR/h30.edxml"},
  {"item": {"docId": 77, "serviceType": "eDoc", "messageType": "edoc", "from": "000.00.00.G22",
            "to": "000.00.12.H26", "status": "initial"}, "file": "$HUB_DIR/ours.edxml"},
  {"item": {"docId": "C1", "serviceType": "eDoc", "messageType": "edoc", "from": "000.00.00.G22",
            "to": "000.00.12.H26", "status": "initial"}, "file": "$HUB_DIR/changed.edxml"}
]}
JSON
: >"$HUB_DIR/fake.log"
python3 "$(dirname "$0")/fake_axis.py" "$HUB_DIR/fake.port" "$HUB_DIR/hub.secret" \
    "$HUB_DIR/mailbox.json" "$HUB_DIR/fake.log" 2>"$HUB_DIR/fake.err" &
FAKE_PID=$!
HUB_PIDS="$HUB_PIDS $FAKE_PID"
hub_wait 10 '[ -s "$HUB_DIR/fake.port" ]' || fail "the fake axis did not start: $(cat "$HUB_DIR/fake.err")"
SIM_URL="http://127.0.0.1:$(cat "$HUB_DIR/fake.port")"
axis_connector

calls() { python3 -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) if eval(sys.argv[2], {"c": json.loads(l)})))' \
    "$HUB_DIR/fake.log" "$1"; }
hub_wait 20 '[ "$(calls "c[\"op\"] == \"updateStatus\" and c[\"params\"].get(\"docid\") == \"77\" and c[\"params\"][\"status\"] == \"done\"")" -ge 1 ]' \
    || fail "item 77 was not acknowledged done: $(cat "$HUB_DIR/fake.log")"
hub_wait 10 'grep -q "81/VPCP-TT" "$HUB_DIR/dms.rec" 2>/dev/null' || fail "the province's document did not reach the dms lane"
ok "an item with a numeric docId is taken while items without a docId are skipped"

hub_wait 20 '[ "$(calls "c[\"op\"] == \"updateStatus\" and c[\"params\"].get(\"docid\") == \"F1\" and c[\"params\"][\"status\"] == \"fail\"")" -ge 1 ]' \
    || fail "item F1 was not acknowledged fail: $(cat "$HUB_DIR/fake.log")"
desc=$(python3 -c 'import json, sys
print([json.loads(l)["params"].get("description", "") for l in open(sys.argv[1])
       if json.loads(l)["op"] == "updateStatus" and json.loads(l)["params"].get("docid") == "F1"][0])' "$HUB_DIR/fake.log")
echo "fail description: $desc"
echo "$desc" | grep -q "no agency" || fail "the fail description does not say why: $desc"
[ "$(calls 'c["op"] == "sendEdoc"')" = 0 ] || fail "a package was sent back to the axis"
[ -s "$HUB_DIR/axisdata/axis-rejected/F1.edxml" ] \
    || fail "the refused package is not kept: $(ls "$HUB_DIR/axisdata/axis-rejected/")"
[ "$(calls 'c["op"] == "getEdoc" and c["params"].get("docid", "") == ""')" = 0 ] \
    || fail "an item without a docId was fetched"
ok "a package for no agency of the province is refused with fail, kept, not echoed"

hub_wait 20 '[ "$(calls "c[\"op\"] == \"updateStatus\" and c[\"params\"].get(\"docid\") == \"H30\" and c[\"params\"][\"status\"] == \"fail\"")" -ge 1 ]' \
    || fail "item H30 was not acknowledged fail: $(grep H30 "$HUB_DIR/fake.log")"
[ "$(calls 'c["op"] == "updateStatus" and c["params"].get("docid") == "H30" and c["params"]["status"] == "done"')" = 0 ] \
    || fail "item H30 was acknowledged done"
desc=$(python3 -c 'import json, sys
print([json.loads(l)["params"].get("description", "") for l in open(sys.argv[1])
       if json.loads(l)["op"] == "updateStatus" and json.loads(l)["params"].get("docid") == "H30"][0])' "$HUB_DIR/fake.log")
echo "fail description: $desc"
echo "$desc" | grep -q "000.00.07.H30, not an agency this hub receives for" \
    || fail "the fail description does not name the agency: $desc"
[ -s "$HUB_DIR/axisdata/axis-rejected/H30.edxml" ] || fail "the refused package H30 is not kept"
! grep -q "83/VPCP-TT" "$HUB_DIR/dms.rec" 2>/dev/null || fail "the package for H30 reached the dms lane"
[ "$(calls 'c["op"] == "sendEdoc"')" = 0 ] || fail "the package for H30 was sent back to the axis"
ok "an item for an agency the hub does not receive for is refused with fail, kept, not echoed"

# The refusal of the changed package reaches the axis: its description is
# ASCII, so a server that reads header bytes as Latin-1 (as servlet
# containers and this fake do) still finds it equal to the signed value.
hub_wait 20 '[ "$(calls "c[\"op\"] == \"updateStatus\" and c[\"params\"].get(\"docid\") == \"C1\" and c[\"params\"][\"status\"] == \"fail\"")" -ge 1 ]' \
    || fail "item C1 was not acknowledged fail: $(cat "$HUB_DIR/fake.log")"
sleep 1
[ "$(calls 'c["op"] == "updateStatus" and c["params"].get("docid") == "C1" and c["params"]["status"] == "fail" and c.get("refused")')" = 0 ] \
    || fail "the axis refused the fail acknowledgement's signature: $(grep C1 "$HUB_DIR/fake.log")"
ok "a refusal whose reason quotes non-ASCII text is acknowledged with a portable description"
[ "$(calls 'c.get("refused", False)')" = 0 ] || fail "the fake axis refused a signature: $(grep refused "$HUB_DIR/fake.log")"
stop_pid "$AXIS_PID" || fail "lthub-axis exit status"
echo "PASS: test_axis_peer"
