#!/usr/bin/env bash
# lthub-axis's quarantine (DATA/axis-rejected/) held within its bounds
# (--quarantine-max-items, --quarantine-max-bytes, --quarantine-max-age):
# unreadable packages from the axis are kept with their reason; past a bound
# the oldest go first, each logged with its docId, size, the bound and the
# reason it was refused (event=quarantine_evicted) before removal; the
# figures reach lthubd's /api/v1/stats and /metrics.
# Usage: test_axis_quarantine.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_quarantine.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"

axis_hub
axis_sim axis
axis_sink
VPCP=(--url "$SIM_URL" --system vpcp --secret-file "$HUB_DIR/vpcp.secret" --timeout 10000)
QDIR="$HUB_DIR/axisdata/axis-rejected"
BAD="$FIX/edxml/bad/unknown-status-code.edxml"
failed() { http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json" && jget "$HUB_DIR/stats.json" 'd["failed"]'; }
kept() { ls "$QDIR" | sed -n 's/\.edxml$//p' | sort | tr '\n' ' '; }
kept_count() { ls "$QDIR" | grep -c '\.edxml$'; }
# A figure of the axis connector's quarantine as lthubd shows it.
qstat() { hub_stat "[c['own']['axis']['quarantine']['$1'] for c in s['connectors'] if c['name']=='axis' and 'axis' in c.get('own', {})][0]" 2>/dev/null; }

# 1. The count bound: 3. Five unreadable packages, one after the other.
axis_connector --quarantine-max-items 3 --quarantine-max-bytes 0 --quarantine-max-age 0
for n in 1 2 3 4 5; do
    "$SIM" axis-send "${VPCP[@]}" --messagetype status "$BAD" >"$HUB_DIR/send.json" 2>&1 \
        || fail "axis-send $n: $(cat "$HUB_DIR/send.json")"
    hub_wait 20 '[ "$(failed)" = $n ]' || fail "package $n was not refused"
done
IDS=($(sed -n 's/.*event=rejected docid=\([^ ]*\) .*/\1/p' "$HUB_DIR/axis.log"))
[ "${#IDS[@]}" = 5 ] || fail "expected 5 rejections, got ${IDS[*]}"
hub_wait 10 '[ "$(kept_count)" = 3 ]' || fail "the quarantine holds $(kept_count), not 3"
[ "$(kept)" = "${IDS[2]} ${IDS[3]} ${IDS[4]} " ] || fail "kept $(kept), not the three newest"
size=$(( $(stat -c %s "$QDIR/${IDS[4]}.edxml") + $(stat -c %s "$QDIR/${IDS[4]}.txt") ))
for id in "${IDS[0]}" "${IDS[1]}"; do
    grep -q "event=quarantine_evicted name=$id docid=$id size=$size age_s=[0-9]* bound=items reason=\"the hub cannot read the package: edXML: unknown StatusCode '99'" \
        "$HUB_DIR/axis.log" || fail "the eviction of $id is not logged with its reason: $(grep quarantine_evicted "$HUB_DIR/axis.log")"
done
hub_wait 15 '[ "$(qstat evicted)" = 2 ] && [ "$(qstat items)" = 3 ]' \
    || fail "lthubd shows items $(qstat items) evicted $(qstat evicted)"
[ "$(qstat bytes)" = $((3 * size)) ] || fail "lthubd shows bytes $(qstat bytes), not $((3 * size))"
ok "past the count bound the oldest go, each logged with its reason"

# 2. The bytes bound: room for two and a half. A restart reads the folder
# back (and looks at the refused items the axis still lists once more).
stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
axis_connector --quarantine-max-items 0 --quarantine-max-bytes $((size * 5 / 2)) --quarantine-max-age 0
hub_wait 20 '[ "$(kept_count)" = 2 ] && grep -q "bound=bytes" "$HUB_DIR/axis.log"' \
    || fail "the bytes bound does not hold: $(kept_count) kept"
sleep 2
[ "$(kept_count)" = 2 ] || fail "the bytes bound does not hold: $(kept_count) kept"
[ $(( $(cat "$QDIR"/* | wc -c) )) -le $((size * 5 / 2)) ] || fail "more bytes kept than the bound"
ok "past the bytes bound the oldest go"

# 3. The age bound: 2 s.
stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
axis_connector --quarantine-max-items 0 --quarantine-max-bytes 0 --quarantine-max-age 2
hub_wait 20 '[ "$(kept_count)" = 0 ] && grep -q "bound=age" "$HUB_DIR/axis.log"' \
    || fail "the age bound does not hold: $(kept)"
hub_wait 5 '[ -z "$(ls "$QDIR")" ]' || fail "notes left behind: $(ls "$QDIR")"
hub_wait 15 '[ "$(qstat items)" = 0 ] && [ "$(qstat evicted)" -ge 2 ]' \
    || fail "lthubd shows items $(qstat items) evicted $(qstat evicted)"
metrics=$(curl -sf "http://$HUB_ADMIN/metrics")
for figure in items bytes oldest_age_ms evicted evicted_bytes max_items max_bytes max_age_s; do
    grep -q "^lthub_connector_figure{connector=\"axis\",figure=\"axis.quarantine.$figure\"} " <<< "$metrics" \
        || fail "/metrics lacks axis.quarantine.$figure"
done
ok "past the age bound everything goes; the figures reach /metrics"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
stop_pid "$SIM_PID" || fail "simulator exit status"
hub_stop
ok "everything stopped cleanly"
