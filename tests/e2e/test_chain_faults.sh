#!/usr/bin/env bash
# The full chain under the national axis's faults (issue 5; spec/peers.md D),
# with the real connectors: lthub-dms -> lthubd -> lthub-axis -> lthub-sim axis.
#
# One outage of the axis in three forms, back to back on the same port:
#   A. down for 30 s (listener closed: connections refused),
#   B. hanging (every request accepted, never answered),
#   C. failing (every request answered HTTP 503, HTTP 500 or a FAIL body
#      with ErrorCode 500, the simulator's --fail-rate 1),
# then D. up again. During each form sys-a (000.00.12.H26, played by
# `lthub-sim dms`) sends documents to a ministry, each followed at once by
# its revocation and a status 13 about it (the sender's recall: one lane
# each; a status the sender may send, see the follow-up rules), and sys-b
# (000.00.13.H26) sends documents to sys-a inside the province.
#
# Asserted: every sendEdoc of sys-a is answered OK during the outage (the hub
# took it durably); the province's own lane keeps delivering to sys-a's
# mailbox during every form of the outage (latency measured); nothing
# reaches the axis before it is up again, and then every package arrives
# exactly once, each document before its revocation and its status 13;
# no dead letter; the receive loop works again afterwards (a ministry's
# reply lands in sys-a's mailbox); every process exits 0 on SIGTERM.
# usage: test_chain_faults.sh BUILD_DIR SOURCE_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_chain_faults.sh BUILD_DIR SOURCE_DIR}
SRC=${2:?source directory}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$SRC/tests/e2e/e2e_lib.sh"
CHECK="python3 $SRC/tests/e2e/chain_check.py"
DATE=2026/09/21
OUTAGE_S=${OUTAGE_S:-30}     # how long the axis is down (form A)
FORM_S=${FORM_S:-8}          # how long it hangs (B) and fails (C)
SENT=0                       # packages sys-a had answered OK, for the ministry
INTERNAL=0                   # documents sys-b had answered OK, for sys-a

# to_ministry SEED COUNT: sys-a sends COUNT documents to the ministry, each
# followed by its revocation and a status 13 (output in gen-a-SEED.json).
to_ministry() {
    "$SIM" dms --url "$DMS_URL" --system sys-a --secret-file "$HUB_DIR/secrets/sys-a" \
        --agency 000.00.12.H26 --to 000.00.00.G22 --count "$2" --rate 2 --seed "$1" \
        --date "$DATE" --mix signed=50,unsigned=50 --revocations 100 --statuses 100 \
        --status-code 13 --retries 0 --fixtures "$FIX" --json >"$HUB_DIR/gen-a-$1.json" \
        2>>"$HUB_DIR/client.log"
}

# answered SEED COUNT: every send of to_ministry SEED COUNT was answered OK.
answered() {
    local out="$HUB_DIR/gen-a-$1.json"
    [ "$(jfile "$out" 'd["ok"]' 2>/dev/null)" = $(($2 * 3)) ] \
        && [ "$(jfile "$out" 'd["failed"]')" = 0 ] \
        || fail "sys-a's sends (seed $1) were not all answered OK: $(cat "$out")"
    SENT=$((SENT + $2 * 3))
}

# internal SEED COUNT: sys-b sends COUNT documents to sys-a; they must all be
# in sys-a's mailbox within 10 s of the last answer, while the axis fails.
internal() {
    local out="$HUB_DIR/gen-b-$1.json" t0
    "$SIM" dms --url "$DMS_URL" --system sys-b --secret-file "$HUB_DIR/secrets/sys-b" \
        --agency 000.00.13.H26 --to 000.00.12.H26 --count "$2" --rate 4 --seed "$1" \
        --date "$DATE" --mix unsigned=1 --retries 0 --fixtures "$FIX" --json >"$out" \
        2>>"$HUB_DIR/client.log" || fail "sys-b's sends (seed $1): $(cat "$out")"
    INTERNAL=$((INTERNAL + $2))
    t0=$(date +%s%N)
    within 10 '[ "$(internal_count)" = "$INTERNAL" ]' \
        || fail "the province's lane stalled: sys-a holds $(internal_count) of $INTERNAL"
    LANE_MS=$((($(date +%s%N) - t0) / 1000000))
}

# Documents from sys-b in sys-a's mailbox.
internal_count() {
    dms_list sys-a edoc | jget 'len([i for i in j if i["from"] == "000.00.13.H26"])'
}

# Packages the axis received from the hub (0 when it does not answer).
axis_got() {
    http_get "$SIM_URL/_sim/received" 2>/dev/null \
        | jget 'len([p for p in j["received"] if p["system"] == "hub-h26"])' 2>/dev/null || echo 0
}

chain_hub
chain_sim down --down-from 0.5 --down-for 600
chain_dms
chain_axis --timeout-ms 3000
within 10 'grep -q "down (listener closed)" "$HUB_DIR/sim-down.err"' || fail "the axis did not go down"
T_DOWN=$(date +%s)
ok "the axis is down"

# A. Down.
to_ministry 41 4 &
GEN=$!
HUB_PIDS="$HUB_PIDS $GEN"
internal 42 5
lane_a=$LANE_MS
within 30 '! kill -0 "$GEN" 2>/dev/null' || fail "sys-a's sends did not end"
wait "$GEN"
answered 41 4
within 10 '[ "$(cstat axis retried)" -gt 0 ]' || fail "lthub-axis reported no RETRY"
# Publishes answered OK reach the axis queue as they are committed: give
# the last of them a moment rather than reading one instant.
within 10 '[ "$(cqueued axis)" = "$SENT" ]' || fail "the axis queue holds $(cqueued axis), expected $SENT"
[ "$(cqueued dms)" = 0 ] || fail "the dms queue is not empty: $(cqueued dms)"
grep -q "up again" "$HUB_DIR/sim-down.err" && fail "the axis came back too early"
ok "axis down: sys-a's $SENT packages answered OK and queued; the province's lane delivered in ${lane_a} ms"
left=$((T_DOWN + OUTAGE_S - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
stop_pid "$SIM_PID" "the axis simulator (down)"
ok "the axis was down for $(($(date +%s) - T_DOWN)) s"

# B. Hanging.
chain_sim hang --hang-rate 1
T_FORM=$(date +%s)
to_ministry 43 2
answered 43 2
internal 44 2
lane_b=$LANE_MS
left=$((T_FORM + FORM_S - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
[ "$(sim_stat 'd["faults"]["hung"]')" -ge 2 ] || fail "no hung calls: $(http_get "$SIM_URL/_sim/stats")"
[ "$(sim_stat 'd["received"]')" = 0 ] || fail "a hung call was performed"
grep -q "timed out\|Timeout\|ETIMEOUT" "$HUB_DIR/axis.err" || fail "no timeout logged by lthub-axis"
stop_pid "$SIM_PID" "the axis simulator (hanging)"
ok "axis hanging: calls timed out; the province's lane delivered in ${lane_b} ms"

# C. Failing (503, 500, FAIL bodies).
chain_sim failing --fail-rate 1 --seed 9
T_FORM=$(date +%s)
to_ministry 45 2
answered 45 2
internal 46 2
lane_c=$LANE_MS
left=$((T_FORM + FORM_S - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
[ "$(sim_stat 'd["faults"]["http_503"]')" -ge 1 ] || fail "no 503 answered: $(http_get "$SIM_URL/_sim/stats")"
[ "$(sim_stat 'd["received"]')" = 0 ] || fail "a failed call was performed"
faults=$(sim_stat 'd["faults"]["http_500"] + d["faults"]["http_503"] + d["faults"]["fail_body"]')
stop_pid "$SIM_PID" "the axis simulator (failing)"
ok "axis failing: $faults calls answered 503/500/FAIL; the province's lane delivered in ${lane_c} ms"
[ "$(hub_stat 's["store"]["dead"]')" = 0 ] || fail "dead letters during the outage"

# D. Up again: everything arrives once, in lane order. The ministry sends
# the province a reply at once: the receive loop must notice the axis is
# back (it backs off up to 60 s while the axis does not answer).
chain_sim up
T_UP=$(date +%s)
axis_send "$FIX/edxml/reply-from-ministry.edxml"
within 60 '[ "$(axis_got)" = "$SENT" ] && [ "$(cqueued axis)" = 0 ]' \
    || fail "after the outage the axis holds $(axis_got) of $SENT; queued $(cqueued axis)"
drain=$(($(date +%s) - T_UP))
sleep 1
[ "$(axis_got)" = "$SENT" ] || fail "more than $SENT packages reached the axis: $(axis_got)"
$CHECK lanes --keys $((SENT / 3)) --full --from-suffix .H26 "$HUB_DIR/up" \
    || fail "lane order or duplicates at the axis"
sim_received "$HUB_DIR/received.json"
python3 - "$HUB_DIR/received.json" <<'PY' || fail "what the axis received"
import json, sys
for p in json.load(open(sys.argv[1]))["received"]:
    if p["system"] != "hub-h26":
        continue   # the ministry's own reply
    assert p["to"] == ["000.00.00.G22"], p
    assert p["messagetype"] != "status" or p["statusCode"] == "13", p
PY
[ "$(sim_stat 'd["hash_failures"] + d["auth_failures"] + d["bad_requests"]')" = 0 ] \
    || fail "the axis refused calls: $(http_get "$SIM_URL/_sim/stats")"
[ "$(hub_stat 's["store"]["dead"]')" = 0 ] || fail "dead letters"
[ "$(internal_count)" = "$INTERNAL" ] || fail "sys-a holds $(internal_count) of $INTERNAL internal documents"
[ "$(dms_list sys-a edoc | jget 'len(j)')" -le $((INTERNAL + 1)) ] || fail "sys-a holds more than was sent to it"
ok "axis up: all $SENT packages arrived once in ${drain} s, each document before its revocation and status 13; no dead letter"

# The receive loop recovered too: the ministry's reply lands in sys-a's mailbox.
within $((T_UP + 75 - $(date +%s))) '[ -n "$(dms_item sys-a "000.00.00.G22,2026/09/10,5120/VPCP-KSTT" edoc)" ]' \
    || fail "the ministry's reply did not reach sys-a within 75 s of the axis's return"
reply_s=$(($(date +%s) - T_UP))
within 10 '[ "$(sim_stat "d[\"done\"]")" = 1 ]' || fail "the reply was not acknowledged at the axis"
ok "the receive loop resumed: the ministry's reply reached sys-a ${reply_s} s after the axis's return"

chain_stop_all
ok "every process exited 0 on SIGTERM"
echo "PASS: axis down ${OUTAGE_S} s, hanging, failing: nothing lost, order kept, the province's lane unaffected (lane latency ${lane_a}/${lane_b}/${lane_c} ms)"
