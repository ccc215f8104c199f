#!/usr/bin/env bash
# lthub-axis under the national axis's faults (spec/peers.md D): the axis
# down (connections refused), then hanging (requests accepted, never
# answered), then failing a third of its requests (HTTP 500, 503, FAIL
# bodies). Each document is followed at once by its revocation and a
# status about it, all three on one lane toward the axis. Nothing is lost
# or duplicated, the order on each lane is kept (document, revocation,
# status), and the province's own lane (the "dms" connector) keeps
# flowing while the axis is down. A ministry's reply received while the
# axis fails arrives once and is acknowledged, and failures are logged
# without flooding.
# Usage: test_axis_faults.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_axis_faults.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"

axis_hub
mkdir -p "$HUB_DIR/pkgs"
# make_batch FIRST LAST: document, revocation and status for numbers FIRST..LAST;
# prints the comma-separated list of files, in publishing order.
make_batch() {
    python3 - "$FIX/edxml" "$HUB_DIR/pkgs" "$1" "$2" <<'PY'
import sys
src, out, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
old = "000.00.12.H26,2026/09/03,215/STTTT-VP"
def load(name):
    return open(f"{src}/{name}", encoding="utf-8").read()
doc, rev, status = load("new-signed.edxml"), load("revocation.edxml"), load("status-03-accepted.edxml")
# The status travels the other way round: from the province's agency, about
# the document, addressed to the ministry (so it shares the document's lane).
status = (status.replace("000.00.00.G22", "@FROM@").replace("000.00.12.H26", "000.00.00.G22")
          .replace("@FROM@", "000.00.12.H26").replace("000.00.00.G22,2026", "000.00.12.H26,2026")
          # From the document's sender: its recall (13), which the sender may send.
          .replace("<edXML:StatusCode>03<", "<edXML:StatusCode>13<"))
files = []
for n in range(first, last + 1):
    key = f"000.00.12.H26,2026/09/03,{900 + n}/STTTT-VP"
    for kind, text in (("doc", doc), ("rev", rev), ("st", status)):
        path = f"{out}/{n:02d}-{kind}.edxml"
        open(path, "w", encoding="utf-8").write(text.replace(old, key))
        files.append(path)
print(",".join(files))
PY
}
# check_order STORE FIRST LAST: the packages stored by the simulator, in
# arrival order, hold exactly document, revocation, status for each number.
check_order() {
    python3 - "$1" "$2" "$3" <<'PY'
import os, re, sys
store, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {}
for name in sorted(os.listdir(store)):
    text = open(os.path.join(store, name), encoding="utf-8").read()
    key = re.search(r"DocumentId>([^<]*)<", text).group(1)
    if "<edXML:Status>" in text:
        what = "status"
    else:
        what = {"0": "new", "1": "revocation"}[re.search(r"BussinessDocType>\s*(\d)", text).group(1)]
    seen.setdefault(key, []).append(what)
want = {f"000.00.12.H26,2026/09/03,{900 + n}/STTTT-VP": ["new", "revocation", "status"]
        for n in range(first, last + 1)}
if seen != want:
    print("arrived:", seen, file=sys.stderr)
    sys.exit(1)
PY
}

# 1. The axis is down: connections refused for 7 s from its start.
AXIS_STORE=$HUB_DIR/store1 axis_sim down --down-from 0.3 --down-for 7
axis_sink
axis_connector
hub_wait 5 'grep -q "down" "$HUB_DIR/down.err"' || fail "the simulator did not go down"
publish "$(make_batch 1 3)"
[ "$(grep -c STTTT-VP "$HUB_DIR/pub.rec")" = 9 ] || fail "not all accepted: $(cat "$HUB_DIR/pub.rec")"
# The province's lane delivers while the axis is still down.
hub_wait 5 '[ "$(wc -l <"$HUB_DIR/dms.rec")" = 6 ]' || fail "dms lane: $(cat "$HUB_DIR/dms.rec")"
grep -q "up again" "$HUB_DIR/down.err" && fail "the axis came back too early for this check"
ok "axis down: the dms lane delivered meanwhile"
hub_wait 25 '[ "$(sim_received_count)" = 9 ]' || fail "after the outage: $(sim_received_count) of 9"
check_order "$HUB_DIR/store1" 1 3 || fail "order after the outage"
grep -q "send_retry" "$HUB_DIR/axis.log" || fail "no retries logged"
ok "after the outage: all 9 arrived once, in lane order"
stop_pid "$SIM_PID" || fail "simulator exit status"

# 2. The axis hangs: every request accepted and never answered.
AXIS_STORE=$HUB_DIR/store2 axis_sim hang --hang-rate 1
publish "$(make_batch 4 6)"
sleep 5
http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json"
[ "$(jget "$HUB_DIR/stats.json" 'd["faults"]["hung"]')" -ge 2 ] || fail "no hung requests: $(cat "$HUB_DIR/stats.json")"
[ "$(jget "$HUB_DIR/stats.json" 'd["received"]')" = 0 ] || fail "hung requests were performed"
grep -q "timed out\|ETIMEOUT\|Timeout" "$HUB_DIR/axis.log" || fail "no timeouts logged"
ok "axis hanging: calls time out and are retried"
stop_pid "$SIM_PID" || fail "simulator exit status"

# 3. The axis fails a third of its requests (HTTP 500, 503, FAIL bodies).
# Meanwhile the ministry sends the province a reply, which the receive
# loop must take through the same failures, once.
AXIS_STORE=$HUB_DIR/store3 axis_sim flaky --fail-rate 0.35 --seed 11
for i in $(seq 1 20); do
    "$SIM" axis-send --url "$SIM_URL" --system vpcp --secret-file "$HUB_DIR/vpcp.secret" \
        --timeout 5000 "$FIX/edxml/reply-from-ministry.edxml" >/dev/null 2>&1 && break
done
hub_wait 40 '[ "$(sim_received_count)" = 10 ]' || fail "after the failures: $(sim_received_count) of 10"
http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json"
[ "$(jget "$HUB_DIR/stats.json" 'd["faults"]["http_503"]')" -ge 1 ] || fail "no 503 injected"
# The ministry's reply sits in the same store as the province's packages:
# exactly one copy of it, wherever timing put it among them (packages
# retried from the hang step may reach this fresh store first).
replies=$(grep -l "5120/VPCP-KSTT" "$HUB_DIR"/store3/*.edxml 2>/dev/null)
[ "$(printf '%s\n' "$replies" | grep -c .)" = 1 ] || fail "the ministry's reply stored $(printf '%s\n' "$replies" | grep -c .) times"
mv "$replies" "$HUB_DIR/ministry-reply.edxml.stored"
check_order "$HUB_DIR/store3" 4 6 || fail "order after the hang and the failures"
ok "hang then failures: all 9 arrived once, in lane order"

# The reply crossed the failures once: in the dms lane, acknowledged done.
hub_wait 30 'grep -q "5120/VPCP-KSTT" "$HUB_DIR/dms.rec"' || fail "the reply did not reach dms"
hub_wait 20 '[ "$(http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json"; jget "$HUB_DIR/stats.json" "d[\"done\"]")" = 1 ]' \
    || fail "the reply was not acknowledged: $(cat "$HUB_DIR/stats.json")"
[ "$(grep -c "5120/VPCP-KSTT" "$HUB_DIR/dms.rec")" = 1 ] || fail "the reply was delivered twice"
[ "$(grep -c "event=receive_failed docid=" "$HUB_DIR/axis.log")" -le 1 ] \
    || fail "an item's failures were logged more than once"
[ "$(grep -c "event=axis_unreachable" "$HUB_DIR/axis.log")" -le 12 ] \
    || fail "the receive loop logs in a loop: $(grep -c "event=axis_unreachable" "$HUB_DIR/axis.log")"
ok "a reply received through the failures, once, acknowledged, logged without flooding"

# Nothing dead, nothing left waiting; the dms lane has all 13 of its copies.
"$LTHUB" dead --admin "$HUB_ADMIN" --json >"$HUB_DIR/dead.json" || fail "lthub dead"
[ "$(jget "$HUB_DIR/dead.json" 'len(d["dead"])')" = 0 ] || fail "dead letters: $(cat "$HUB_DIR/dead.json")"
[ "$(wc -l <"$HUB_DIR/dms.rec")" = 13 ] || fail "dms lane: $(cat "$HUB_DIR/dms.rec")"
ok "no dead letters, every dms copy delivered"

stop_pid "$AXIS_PID" || fail "lthub-axis exit status $?"
stop_pid "$SINK_PID" || fail "sink exit status"
stop_pid "$SIM_PID" || fail "simulator exit status"
hub_stop
ok "everything stopped cleanly"
