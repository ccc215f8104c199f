#!/usr/bin/env bash
# lthub-axis, hub -> national axis: a provincial agency's document
# (fixtures/edxml/new-signed.edxml, to the Government Office 000.00.00.G22
# and the province's 000.00.13.H26) reaches `lthub-sim axis` with its
# attachments byte-identical, the hub's TraceHeader appended, the
# hash-file accepted and only the recipient routed to the axis in `to`;
# the province's own recipient goes to the DMS lane instead.
# Usage: test_axis_send.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_send.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"
PKG=$FIX/edxml/new-signed.edxml

axis_hub
axis_sim axis
axis_connector
axis_sink
publish "$PKG"
grep -q " 000.00.12.H26,2026/09/03,215/STTTT-VP$" "$HUB_DIR/pub.rec" \
    || fail "not accepted: $(cat "$HUB_DIR/pub.rec")"
ok "the document was published and accepted"

hub_wait 20 '[ "$(sim_received_count)" = 1 ]' || fail "nothing reached the axis"
sim_received
[ "$(jget "$HUB_DIR/received.json" 'd["received"][0]["to"]')" = '["000.00.00.G22"]' ] \
    || fail "to: $(cat "$HUB_DIR/received.json")"
[ "$(jget "$HUB_DIR/received.json" 'd["received"][0]["messagetype"]')" = edoc ] || fail "messagetype"
[ "$(jget "$HUB_DIR/received.json" 'd["received"][0]["system"]')" = hub-h26 ] || fail "system"
ok "sendEdoc reached the axis for 000.00.00.G22 only"

# The stored package: same attachments byte for byte, one more TraceHeader.
STORED=$(ls "$HUB_DIR"/store/*.edxml)
"$LTHUB" edxml inspect --json "$PKG" >"$HUB_DIR/orig.json" || fail "inspect original"
"$LTHUB" edxml inspect --json "$STORED" >"$HUB_DIR/sent.json" || fail "inspect sent: $STORED"
[ "$(jget "$HUB_DIR/orig.json" '[a["sha256"] for a in d["attachments"]]')" = \
  "$(jget "$HUB_DIR/sent.json" '[a["sha256"] for a in d["attachments"]]')" ] \
    || fail "attachments differ"
[ "$(jget "$HUB_DIR/sent.json" 'len(d["attachments"])')" = 1 ] || fail "attachment count"
[ "$(jget "$HUB_DIR/sent.json" 'len(d["traces"])')" = 2 ] || fail "traces: $(jget "$HUB_DIR/sent.json" 'd["traces"]')"
[ "$(jget "$HUB_DIR/sent.json" 'd["traces"][0]')" = "$(jget "$HUB_DIR/orig.json" 'd["traces"][0]')" ] \
    || fail "the sender's TraceHeader changed"
[ "$(jget "$HUB_DIR/sent.json" 'd["traces"][1]["organ_id"]')" = "$PROVINCE" ] || fail "trace organ"
jget "$HUB_DIR/sent.json" 'd["traces"][1]["timestamp"]' \
    | grep -Eq '^20[0-9]{2}/[01][0-9]/[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]$' \
    || fail "trace timestamp: $(jget "$HUB_DIR/sent.json" 'd["traces"][1]')"
for field in document_id subject code_number code_notation; do
    [ "$(jget "$HUB_DIR/sent.json" "d['$field']")" = "$(jget "$HUB_DIR/orig.json" "d['$field']")" ] \
        || fail "$field changed"
done
[ "$(jget "$HUB_DIR/sent.json" 'd["attachments"][0]["verdict"]')" = valid_untrusted ] \
    || fail "the signed PDF no longer verifies"
ok "attachments byte-identical, TraceHeader $PROVINCE appended, header intact"

http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json"
[ "$(jget "$HUB_DIR/stats.json" 'd["hash_failures"]')" = 0 ] || fail "hash-file refused"
[ "$(jget "$HUB_DIR/stats.json" 'd["auth_failures"]')" = 0 ] || fail "authentication refused"
[ "$(jget "$HUB_DIR/stats.json" 'd["operations"]["sendEdoc"]')" = 1 ] || fail "sendEdoc count"
ok "authentication headers and hash-file accepted"

# The province's own recipient went to the DMS lane, not to the axis.
hub_wait 10 'grep -q "215/STTTT-VP" "$HUB_DIR/dms.rec" 2>/dev/null' || fail "dms lane got nothing"
ok "000.00.13.H26 went to the dms connector"

# A To list naming the Government Office twice: `to` names it once, the
# axis gets one package for it.
"$BIN/tests/dms/dms-tool" mkdoc --from 000.00.12.H26 --to 000.00.00.G22,000.00.00.G22 \
    --number 216 --notation STTTT-VP "$HUB_DIR/twice.edxml" || fail "mkdoc"
publish "$HUB_DIR/twice.edxml"
hub_wait 20 '[ "$(sim_received_count)" = 2 ]' || fail "the second package did not reach the axis"
[ "$(jget "$HUB_DIR/received.json" 'd["received"][1]["to"]')" = '["000.00.00.G22"]' ] \
    || fail "to of a doubled recipient: $(jget "$HUB_DIR/received.json" 'd["received"][1]')"
ok "a recipient listed twice is sent once"

# The axis connector stops cleanly (exit status 0, leak-free under ASan).
stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
grep -q "event=sent kind=document" "$HUB_DIR/axis.log" || fail "no sent event in the log"
grep -q "province-secret" "$HUB_DIR/axis.log" && fail "the secret reached the log"
stop_pid "$SINK_PID" || fail "sink exit status"
stop_pid "$SIM_PID" || fail "simulator exit status"
hub_stop
ok "lthub-axis stopped cleanly"
