#!/usr/bin/env bash
# lthub-axis, national axis -> hub: a ministry's reply
# (fixtures/edxml/reply-from-ministry.edxml, sent to the axis by the
# Government Office's system) is listed, fetched, published to the hub,
# delivered to the "dms" connector, and acknowledged (the axis's list
# empties) only after that. A status package follows the same way; a
# package the hub cannot read is acknowledged "fail" with the reader's
# reason and kept in DATA/axis-rejected/; restarting lthub-axis fetches
# nothing twice. With --trust the signature verdict is "valid".
# Usage: test_axis_receive.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_receive.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"

axis_hub
axis_sim axis
VPCP=(--url "$SIM_URL" --system vpcp --secret-file "$HUB_DIR/vpcp.secret" --timeout 10000)
HUB=(--url "$SIM_URL" --system hub-h26 --secret-file "$HUB_DIR/hub.secret" --timeout 10000)
"$SIM" axis-send "${VPCP[@]}" "$FIX/edxml/reply-from-ministry.edxml" >"$HUB_DIR/send.json" \
    || fail "axis-send: $(cat "$HUB_DIR/send.json")"
"$SIM" axis-call "${HUB[@]}" getReceivedEdocList servicetype=eDoc messagetype=edoc \
    >"$HUB_DIR/list.json" || fail "list"
[ "$(jget "$HUB_DIR/list.json" 'len(d["data"])')" = 1 ] || fail "the mailbox: $(cat "$HUB_DIR/list.json")"
ok "the ministry's reply waits in the province's mailbox"

# The sink comes first, so a delivery never waits for it.
axis_sink
axis_connector --trust "$FIX/pki/ca.crt"
KEY="000.00.00.G22,2026/09/10,5120/VPCP-KSTT"
hub_wait 20 'grep -q "$KEY" "$HUB_DIR/dms.rec" 2>/dev/null' || fail "the reply did not reach dms"
grep -q "event=received kind=document .*verdict=valid duplicate=no" "$HUB_DIR/axis.log" \
    || fail "no valid signature verdict with --trust: $(grep event=received "$HUB_DIR/axis.log")"
ok "the reply reached the dms connector, its signature judged valid against --trust"

pending() {
    http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json" && jget "$HUB_DIR/stats.json" 'd["pending"]'
}
hub_wait 10 '[ "$(pending)" = 0 ]' || fail "the axis still lists the item: $(cat "$HUB_DIR/stats.json")"
[ "$(jget "$HUB_DIR/stats.json" 'd["done"]')" = 1 ] || fail "done count"
"$SIM" axis-call "${HUB[@]}" getReceivedEdocList servicetype=eDoc messagetype=edoc \
    >"$HUB_DIR/list.json" || fail "list"
[ "$(jget "$HUB_DIR/list.json" 'len(d["data"])')" = 0 ] || fail "the list is not empty"
ok "the item was acknowledged done and left the list"

# The message the hub stored says where it came from.
MSGID=$(awk -v k="$KEY" '$2 == k {print $1; exit}' "$HUB_DIR/dms.rec")
"$LTHUB" trace --admin "$HUB_ADMIN" --json "$MSGID" >"$HUB_DIR/trace.json" 2>&1 \
    || fail "trace $MSGID: $(cat "$HUB_DIR/trace.json")"
grep -q '"axis"' "$HUB_DIR/trace.json" || fail "source not axis: $(head -c 600 "$HUB_DIR/trace.json")"
ok "the hub recorded the axis as the source"

# A status package from the ministry about the province's document.
"$SIM" axis-send "${VPCP[@]}" --messagetype status "$FIX/edxml/status-03-accepted.edxml" \
    >"$HUB_DIR/send.json" || fail "axis-send status: $(cat "$HUB_DIR/send.json")"
hub_wait 20 '[ "$(grep -c "215/STTTT-VP" "$HUB_DIR/dms.rec")" = 1 ]' \
    || fail "the status did not reach dms: $(cat "$HUB_DIR/dms.rec")"
hub_wait 10 '[ "$(pending)" = 0 ]' || fail "the status is still listed"
ok "a status package follows the same path"

# An unreadable package: acknowledged fail with the reason, kept, never published.
"$SIM" axis-send "${VPCP[@]}" --messagetype status "$FIX/edxml/bad/unknown-status-code.edxml" \
    >"$HUB_DIR/send.json" 2>&1 || fail "axis-send bad: $(cat "$HUB_DIR/send.json")"
hub_wait 20 'ls "$HUB_DIR"/axisdata/axis-rejected/*.edxml >/dev/null 2>&1' \
    || fail "nothing quarantined"
hub_wait 10 '[ "$(http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json"; jget "$HUB_DIR/stats.json" "d[\"failed\"]")" = 1 ]' \
    || fail "not acknowledged fail: $(cat "$HUB_DIR/stats.json")"
"$SIM" axis-call "${HUB[@]}" getReceivedEdocList servicetype=eDoc messagetype=status \
    >"$HUB_DIR/list.json" || fail "list"
[ "$(jget "$HUB_DIR/list.json" 'd["data"][0]["status"]')" = fail ] || fail "status not fail"
jget "$HUB_DIR/list.json" 'd["data"][0]["status_desc"]' | grep -q "StatusCode '99'" \
    || fail "the reason does not name the problem: $(cat "$HUB_DIR/list.json")"
cmp "$FIX/edxml/bad/unknown-status-code.edxml" "$HUB_DIR"/axisdata/axis-rejected/*.edxml \
    || fail "the quarantined copy differs"
grep -q "StatusCode" "$HUB_DIR"/axisdata/axis-rejected/*.txt || fail "no reason kept"
ok "an unreadable package is acknowledged fail, with the reason, and kept"

# After a restart nothing is fetched twice; the refused package is looked
# at once more (a restart re-examines it) and refused again.
stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
http_get "$SIM_URL/_sim/stats" "$HUB_DIR/before.json"
axis_connector
sleep 2
http_get "$SIM_URL/_sim/stats" "$HUB_DIR/after.json"
[ "$(jget "$HUB_DIR/after.json" 'd["fetched"]')" = "$(( $(jget "$HUB_DIR/before.json" 'd["fetched"]') + 1 ))" ] \
    || fail "fetches after restart: $(jget "$HUB_DIR/before.json" 'd["fetched"]') -> $(jget "$HUB_DIR/after.json" 'd["fetched"]')"
[ "$(wc -l <"$HUB_DIR/dms.rec")" = 2 ] || fail "dms got duplicates: $(cat "$HUB_DIR/dms.rec")"
[ "$(grep -c 'event=rejected' "$HUB_DIR/axis.log")" = 2 ] || fail "rejections logged"
ok "a restart fetches nothing twice"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
stop_pid "$SIM_PID" || fail "simulator exit status"
hub_stop
ok "everything stopped cleanly"
