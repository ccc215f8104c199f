#!/usr/bin/env bash
# lthub-axis against an axis whose getEdoc answers come cut now and then
# (tests/axis/fake_axis.py): an answer that does not decode (base64 cut) or
# does not read (the document cut) is a failure of that fetch, not of the
# package. The item is fetched again with backoff and, whole, published and
# acknowledged done; only an item whose answer comes unreadable
# --unreadable-fetches times in a row (default 3) is acknowledged fail, and
# what came the last time is kept in DATA/axis-rejected/ byte for byte.
# Without --data a refusal says in the log that nothing is kept.
# Usage: test_axis_unreadable.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_unreadable.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"
TOOL="$BIN/tests/dms/dms-tool"


axis_hub
QDIR="$HUB_DIR/axisdata/axis-rejected"
axis_sink
for n in 61 62 63; do
    "$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number $n --notation VPCP-KSTT \
        "$HUB_DIR/doc$n.edxml" || fail "mkdoc $n"
done
item() { echo "{\"docId\": \"$1\", \"serviceType\": \"eDoc\", \"messageType\": \"edoc\",
  \"from\": \"000.00.00.G22\", \"to\": \"000.00.12.H26\", \"status\": \"initial\"}"; }
cat >"$HUB_DIR/mailbox.json" <<JSON
{"items": [
  {"item": $(item CUT64), "file": "$HUB_DIR/doc61.edxml", "corrupt": "b64", "times": 1},
  {"item": $(item CUTXML), "file": "$HUB_DIR/doc62.edxml", "corrupt": "xml", "times": 1},
  {"item": $(item ALWAYS), "file": "$HUB_DIR/doc63.edxml", "corrupt": "b64", "times": -1}
]}
JSON
fake_axis "$HUB_DIR/mailbox.json"
axis_connector

# 1. Cut once: fetched again, published, acknowledged done, never fail.
for id in CUT64 CUTXML; do
    hub_wait 20 '[ "$(acks $id done)" = 1 ]' || fail "item $id was not acknowledged done: $(grep $id "$HUB_DIR/fake.log")"
    [ "$(acks $id fail)" = 0 ] || fail "item $id was acknowledged fail: $(ack_desc $id)"
    [ "$(fetches $id)" -ge 2 ] || fail "item $id was not fetched again"
done
hub_wait 10 'grep -q "61/VPCP-KSTT" "$HUB_DIR/dms.rec" && grep -q "62/VPCP-KSTT" "$HUB_DIR/dms.rec"' \
    || fail "the documents did not reach the dms lane: $(cat "$HUB_DIR/dms.rec" 2>/dev/null)"
grep -q "event=unreadable_fetch docid=CUT64 fetch=1 of=3 reason=\"getEdoc CUT64: data is not base64" "$HUB_DIR/axis.log" \
    || fail "the unreadable fetch of CUT64 is not logged"
grep -q "event=unreadable_fetch docid=CUTXML fetch=1 of=3 reason=\"the hub cannot read the package" "$HUB_DIR/axis.log" \
    || fail "the unreadable fetch of CUTXML is not logged"
ok "an answer cut once is fetched again and the package relayed"

# 2. Cut every time: fail after the third fetch, the last answer kept.
hub_wait 20 '[ "$(acks ALWAYS fail)" = 1 ]' || fail "item ALWAYS was not acknowledged fail: $(grep ALWAYS "$HUB_DIR/fake.log")"
[ "$(fetches ALWAYS)" = 3 ] || fail "item ALWAYS was fetched $(fetches ALWAYS) times before fail, not 3"
desc=$(ack_desc ALWAYS)
echo "fail description: $desc"
echo "$desc" | grep -q "not base64.*3 fetches in a row" || fail "the fail description does not say why: $desc"
python3 - "$HUB_DIR/doc63.edxml" "$QDIR/ALWAYS.edxml" <<'PY' || fail "the kept bytes are not the last answer's data"
import base64, sys
sent = base64.b64encode(open(sys.argv[1], "rb").read())[:-3]
assert open(sys.argv[2], "rb").read() == sent
PY
grep -q "^kept: the getEdoc data as received" "$QDIR/ALWAYS.txt" || fail "the note does not say what is kept: $(cat "$QDIR/ALWAYS.txt")"
sleep 2
[ "$(fetches ALWAYS)" = 3 ] || fail "item ALWAYS was fetched again after fail"
[ "$(acks ALWAYS done)" = 0 ] || fail "item ALWAYS was acknowledged done"
[ "$(calls 'c.get("refused", False)')" = 0 ] || fail "the fake axis refused a signature"
ok "an answer cut every time is refused after 3 fetches, its last bytes kept"
stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"

# 3. Without --data, a refusal names in the log that nothing is kept.
"$AXIS" $(hub_conn_args axis) --url "$SIM_URL" --system-id hub-h26 \
    --secret-file "$HUB_DIR/hub.secret" --province-code "$PROVINCE" --poll-ms 300 \
    --timeout-ms 2000 --connect-timeout-ms 1000 --unreadable-fetches 1 \
    >>"$HUB_DIR/axis2.log" 2>&1 &
AXIS_PID=$!
HUB_PIDS="$HUB_PIDS $AXIS_PID"
hub_wait 20 '[ "$(acks ALWAYS fail)" = 2 ]' || fail "item ALWAYS was not refused by the second process: $(tail "$HUB_DIR/axis2.log")"
grep -q "event=not_kept docid=ALWAYS size=[1-9][0-9]* reason=\"lthub-axis runs without --data" "$HUB_DIR/axis2.log" \
    || fail "the log does not say the refused package is not kept: $(grep ALWAYS "$HUB_DIR/axis2.log")"
[ "$(fetches ALWAYS)" = 4 ] || fail "--unreadable-fetches 1 fetched ALWAYS $(( $(fetches ALWAYS) - 3 )) times"
ok "without --data the refusal says that nothing is kept"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
hub_stop
echo "PASS: test_axis_unreadable"
