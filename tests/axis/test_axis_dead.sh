#!/usr/bin/env bash
# lthub-axis, a permanent refusal: with a wrong secret the axis answers
# ErrorCode 401; the delivery is answered FAIL (not retried) and lands in
# the hub's dead letters with the axis's ErrorCode and ErrorDesc as the
# reason; the receive loop's refusals are logged once, not every cycle;
# the province's own lane is unaffected.
# Usage: test_axis_dead.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_dead.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"

axis_hub
axis_sim axis
axis_sink
axis_connector --secret-file "$HUB_DIR/wrong.secret"
publish "$FIX/edxml/new-signed.edxml"

dead() { "$LTHUB" dead --admin "$HUB_ADMIN" --json >"$HUB_DIR/dead.json" 2>&1 \
             && jget "$HUB_DIR/dead.json" 'len(d["dead"])'; }
hub_wait 20 '[ "$(dead)" = 1 ]' || fail "no dead letter: $(cat "$HUB_DIR/dead.json")"
[ "$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["dest"]')" = axis ] || fail "dest"
[ "$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["key"]')" = "000.00.12.H26,2026/09/03,215/STTTT-VP" ] \
    || fail "key"
[ "$(jget "$HUB_DIR/dead.json" 'd["dead"][0]["attempts"]')" = 1 ] || fail "a permanent refusal was retried"
jget "$HUB_DIR/dead.json" 'd["dead"][0]["errors"]' >"$HUB_DIR/errors.txt"
grep -q "ErrorCode 401" "$HUB_DIR/errors.txt" || fail "reason: $(cat "$HUB_DIR/errors.txt")"
grep -q "HMAC" "$HUB_DIR/errors.txt" || fail "the axis's ErrorDesc is missing: $(cat "$HUB_DIR/errors.txt")"
grep -q "wrong-secret" "$HUB_DIR/errors.txt" && fail "the secret is in the reason"
ok "the 401 refusal is a dead letter with the axis's ErrorCode and ErrorDesc"

# Nothing was stored by the axis; the province's own lane still delivered.
http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json"
[ "$(jget "$HUB_DIR/stats.json" 'd["received"]')" = 0 ] || fail "the axis stored something"
hub_wait 10 'grep -q "215/STTTT-VP" "$HUB_DIR/dms.rec" 2>/dev/null' || fail "dms lane blocked"
ok "nothing stored at the axis, the dms lane unaffected"

# The receive loop is refused too: logged once while it backs off.
sleep 2
[ "$(grep -c 'event=axis_unreachable' "$HUB_DIR/axis.log")" = 1 ] \
    || fail "receive refusals logged $(grep -c 'event=axis_unreachable' "$HUB_DIR/axis.log") times"
grep -q 'outcome=permanent' "$HUB_DIR/axis.log" || fail "the refusal is not called permanent"
ok "the receive loop's refusal is logged once"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
stop_pid "$SIM_PID" || fail "simulator exit status"
hub_stop
ok "everything stopped cleanly"
