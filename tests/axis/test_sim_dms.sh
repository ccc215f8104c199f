#!/usr/bin/env bash
# `lthub-sim dms`, the DMS client traffic generator, against `lthub-sim
# axis` (the same edoc API that lthub-dms serves): a seeded mix of signed
# and unsigned documents, replies, revocations and statuses all accepted,
# each revocation and status after its document; the same seed and date
# give the same DocumentIds and recipients again; --poll fetches and
# acknowledges the mailbox and replies to what it received; paper register
# lines go to registerDocuments (which the axis does not serve).
# Usage: test_sim_dms.sh BUILD_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_sim_dms.sh BUILD_DIR}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/axis_lib.sh"

HUB_DIR=$(mktemp -d /tmp/lthub-test-XXXXXX)
trap hub_cleanup EXIT
printf 'dms-secret\n' >"$HUB_DIR/dms.secret"
printf 'ministry-secret\n' >"$HUB_DIR/vpcp.secret"
mkdir -p "$HUB_DIR/store"
"$SIM" axis --listen 127.0.0.1:0 --store "$HUB_DIR/store" \
    --system "dms1:$HUB_DIR/dms.secret:000.00.12.H26" \
    --system "vpcp:$HUB_DIR/vpcp.secret:000.00.00.G22,000.00.00.G01" \
    >"$HUB_DIR/sim.out" 2>"$HUB_DIR/sim.err" &
SIM_PID=$!
HUB_PIDS="$HUB_PIDS $SIM_PID"
hub_wait 10 'grep -q listening "$HUB_DIR/sim.out"' || fail "simulator did not start"
SIM_URL="http://127.0.0.1:$(sed -n 's/.*:\([0-9][0-9]*\)$/\1/p' "$HUB_DIR/sim.out")"
DMS=("$SIM" dms --url "$SIM_URL" --system dms1 --secret-file "$HUB_DIR/dms.secret"
     --agency 000.00.12.H26 --to 000.00.00.G22,000.00.00.G01 --fixtures "$FIX" --json)
MIX=(--count 20 --rate 200 --seed 7 --date 2026/09/20 --mix signed=60,unsigned=40
     --replies 30 --statuses 30 --revocations 30)

# A seeded mix: everything accepted, and in lane order.
"${DMS[@]}" "${MIX[@]}" >"$HUB_DIR/run1.json" || fail "run 1: $(cat "$HUB_DIR/run1.json")"
S=$HUB_DIR/run1.json
[ "$(jget "$S" 'd["failed"]')" = 0 ] || fail "failures: $(cat "$S")"
[ "$(jget "$S" 'd["kinds"]["signed"]["ok"] + d["kinds"]["unsigned"]["ok"]')" = 20 ] || fail "documents"
[ "$(jget "$S" 'd["kinds"]["signed"]["ok"] > 5 and d["kinds"]["unsigned"]["ok"] > 3')" = True ] \
    || fail "the mix is not mixed: $(jget "$S" 'd["kinds"]')"
[ "$(jget "$S" 'd["kinds"]["revocations"]["ok"] > 0 and d["kinds"]["statuses"]["ok"] > 0 and d["replies"] > 0')" = True ] \
    || fail "no revocations, statuses or replies: $(cat "$S")"
N1=$(jget "$S" 'd["ok"]')
[ "$(sim_received_count)" = "$N1" ] || fail "the axis received $(sim_received_count), not $N1"
cp "$HUB_DIR/received.json" "$HUB_DIR/received1.json"
python3 - "$HUB_DIR/received1.json" <<'PY' || fail "order"
import json, sys
first = {}
for item in json.load(open(sys.argv[1]))["received"]:
    key = item["DocumentId"]
    first.setdefault(key, item["messagetype"])
    assert first[key] == "edoc", f"{key}: a {item['messagetype']} came first"
    if item["messagetype"] == "status":
        assert item["statusCode"] == "13" and item["to"] in (["000.00.00.G22"], ["000.00.00.G01"])
PY
"$LTHUB" edxml inspect --json "$(ls "$HUB_DIR"/store/*.edxml | head -1)" >"$HUB_DIR/one.json" \
    || fail "a generated package does not read back"
ok "a seeded mix of $N1 packages accepted, statuses and revocations after their documents"

# The same seed and date: the same packages, which the axis counts as duplicates.
http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats1.json"
"${DMS[@]}" "${MIX[@]}" >"$HUB_DIR/run2.json" || fail "run 2"
sim_received
python3 - "$HUB_DIR/received.json" "$N1" <<'PY' || fail "run 2 differs from run 1"
import json, sys
items, n = json.load(open(sys.argv[1]))["received"], int(sys.argv[2])
strip = lambda i: (i["DocumentId"], i["messagetype"], i["to"], i.get("statusCode"))
assert len(items) == 2 * n, len(items)
assert [strip(i) for i in items[:n]] == [strip(i) for i in items[n:]]
PY
http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json"
# Every mailbox item of run 2 repeats one of run 1 (the simulator's duplicate key).
[ "$(jget "$HUB_DIR/stats.json" 'd["duplicates"]')" = \
  "$(jget "$HUB_DIR/stats1.json" 'd["duplicates"] + d["items"]')" ] || fail "duplicates"
ok "the same seed gives the same DocumentIds, recipients and order"

# Polling: the ministry's document is fetched, acknowledged, and replied to.
"$SIM" axis-send --url "$SIM_URL" --system vpcp --secret-file "$HUB_DIR/vpcp.secret" \
    --to 000.00.12.H26 "$FIX/edxml/reply-from-ministry.edxml" >/dev/null || fail "axis-send"
"${DMS[@]}" --count 6 --rate 0 --seed 8 --replies 100 --mix unsigned=1 --poll >"$HUB_DIR/run3.json" \
    || fail "run 3: $(cat "$HUB_DIR/run3.json")"
[ "$(jget "$HUB_DIR/run3.json" 'd["received"]')" = 1 ] || fail "received: $(cat "$HUB_DIR/run3.json")"
http_get "$SIM_URL/_sim/stats" "$HUB_DIR/stats.json"
[ "$(jget "$HUB_DIR/stats.json" 'd["done"]')" = 1 ] || fail "not acknowledged"
grep -l "000.00.00.G22,2026/09/10,5120/VPCP-KSTT" "$HUB_DIR"/store/*.edxml | wc -l >"$HUB_DIR/replies"
[ "$(cat "$HUB_DIR/replies")" -ge 2 ] || fail "no reply to the received document"
ok "--poll fetched and acknowledged the mailbox, and replied to it"

# Paper register lines go to registerDocuments, which the axis does not serve.
expect_rc() { local want=$1 rc=0; shift; "$@" >"$HUB_DIR/out.json" || rc=$?; [ "$rc" = "$want" ]; }
expect_rc 1 "${DMS[@]}" --count 2 --mix paper=1 || fail "paper run status"
[ "$(jget "$HUB_DIR/out.json" 'd["kinds"]["paper"]["failed"]')" = 2 ] || fail "paper counts"
grep -q "registerDocuments refused: ErrorCode 404" "$HUB_DIR/out.json" || fail "paper reason"
expect_rc 2 "$SIM" dms --url "$SIM_URL" --count 1 2>/dev/null || fail "usage error status"
expect_rc 2 "${DMS[@]}" --mix bogus=3 2>/dev/null || fail "bad mix status"
ok "paper lines reach registerDocuments; usage errors exit 2"

stop_pid "$SIM_PID" || fail "simulator exit status"
