#!/usr/bin/env bash
# The full chain, end to end, with the real connectors: a province's DMS
# system calls lthub-dms, lthubd routes with the province's default routes,
# lthub-axis talks to `lthub-sim axis` (the national axis), and back.
#
#  1. A signed document of 000.00.12.H26 (sys-a) for a ministry and a
#     sister agency: the axis receives it once, for the ministry only,
#     hash-file accepted, the package intact (attachments byte-identical,
#     verdicts and header unchanged) with one TraceHeader of the province
#     added; sys-b's mailbox gets the sister agency's copy byte for byte.
#  2. The ministry's reply (fixture reply-from-ministry.edxml, sent to the
#     axis by the ministry's system) lands in the mailbox of sys-a, the
#     system serving the addressed agency, and not in sys-b's; getEdoc gives
#     the ministry's bytes unchanged (the hub adds no TraceHeader on the way
#     in); the axis item is acknowledged done only after that; updateStatus
#     done empties sys-a's list. The ministry's status 03 follows the same way.
#  3. A document between two agencies of the province reaches sys-a and
#     never the axis simulator.
#  4. Seeded traffic from `lthub-sim dms` (signed and unsigned documents,
#     replies, revocations, statuses 03) from sys-a to the ministry and
#     sys-b, sys-b polling and acknowledging its mailbox: everything for the
#     ministry reaches the axis once and in lane order, nothing for the
#     province does, the broker ends with nothing queued and no dead letter.
#  5. Every process exits 0 on SIGTERM (no sanitizer report).
# usage: test_chain.sh BUILD_DIR SOURCE_DIR   (LT_FIXTURES names the fixtures)
set -u
BIN=${1:?usage: test_chain.sh BUILD_DIR SOURCE_DIR}
SRC=${2:?source directory}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$SRC/tests/e2e/e2e_lib.sh"
CHECK="python3 $SRC/tests/e2e/chain_check.py"

chain_hub
chain_sim axis
chain_dms
chain_axis
ok "hub of H26 (default routes), lthub-dms, lthub-axis and the axis simulator running"

# 1. Province -> ministry (and a sister agency).
KEY1="000.00.12.H26,2026/09/03,215/STTTT-VP"
answer=$(dms_send sys-a "$FIX/edxml/new-signed.edxml")
[ "$(jget 'j["status"]' <<<"$answer")" = OK ] || fail "sys-a's sendEdoc refused: $answer"
within 20 '[ "$(sim_stat "d[\"received\"]")" = 1 ]' || fail "the document did not reach the axis"
sim_received "$HUB_DIR/received.json"
python3 - "$HUB_DIR/received.json" "$KEY1" <<'PY' || fail "what the axis received: $(cat "$HUB_DIR/received.json")"
import json, sys
r = json.load(open(sys.argv[1]))["received"]
assert len(r) == 1, r
assert r[0]["DocumentId"] == sys.argv[2] and r[0]["messagetype"] == "edoc", r
assert r[0]["to"] == ["000.00.00.G22"] and r[0]["system"] == "hub-h26", r
PY
[ "$(sim_stat 'd["hash_failures"] + d["auth_failures"] + d["bad_requests"]')" = 0 ] \
    || fail "the axis refused a call: $(http_get "$SIM_URL/_sim/stats")"
stored=$(ls "$HUB_DIR"/axis/*.edxml)
"$LTHUB" edxml inspect --json "$FIX/edxml/new-signed.edxml" >"$HUB_DIR/sent.json"
"$LTHUB" edxml inspect --json "$stored" >"$HUB_DIR/relayed.json"
$CHECK relayed "$HUB_DIR/sent.json" "$HUB_DIR/relayed.json" "$PROVINCE" || fail "the relayed package"
ok "the axis received the document once, for the ministry, intact with the province's TraceHeader"

within 20 '[ -n "$(dms_item sys-b "$KEY1")" ]' || fail "sys-b did not get its copy"
dms_call sys-b getEdoc docId="$(dms_item sys-b "$KEY1")" --data-out "$HUB_DIR/b1.edxml" >/dev/null
cmp "$FIX/edxml/new-signed.edxml" "$HUB_DIR/b1.edxml" || fail "sys-b's copy differs from what sys-a sent"
[ -z "$(dms_item sys-a "$KEY1")" ] || fail "the sender's own system got a copy"
ok "the sister agency's copy is in sys-b's mailbox, byte for byte"

# 2. Ministry -> province: the reply and a status 03.
KEY2="000.00.00.G22,2026/09/10,5120/VPCP-KSTT"
axis_send "$FIX/edxml/reply-from-ministry.edxml"
within 20 '[ -n "$(dms_item sys-a "$KEY2" edoc)" ]' || fail "the reply did not reach sys-a's mailbox"
item=$(dms_item sys-a "$KEY2" edoc)
[ -z "$(dms_item sys-b "$KEY2")" ] || fail "the reply also landed in sys-b's mailbox"
dms_list sys-a edoc | python3 -c 'import json, sys
i = [x for x in json.load(sys.stdin) if x["docId"] == sys.argv[1]][0]
assert i["from"] == "000.00.00.G22" and i["to"] == "000.00.12.H26" and i["status"] == "initial", i' "$item" \
    || fail "sys-a's item: $(dms_list sys-a edoc)"
dms_call sys-a getEdoc docId="$item" --data-out "$HUB_DIR/reply.edxml" >/dev/null
cmp "$FIX/edxml/reply-from-ministry.edxml" "$HUB_DIR/reply.edxml" \
    || fail "getEdoc differs from what the ministry sent"
within 10 '[ "$(sim_stat "d[\"done\"]")" = 1 ]' || fail "the axis item was not acknowledged done"
ok "the ministry's reply is in sys-a's mailbox (not sys-b's), byte for byte; the axis item is done"

axis_send "$FIX/edxml/status-03-accepted.edxml" --messagetype status
within 20 '[ -n "$(dms_item sys-a "$KEY1" status)" ]' || fail "the ministry's status 03 did not reach sys-a"
sitem=$(dms_item sys-a "$KEY1" status)
dms_call sys-a getEdoc docId="$sitem" --data-out "$HUB_DIR/status.edxml" >/dev/null
cmp "$FIX/edxml/status-03-accepted.edxml" "$HUB_DIR/status.edxml" || fail "the status differs"
[ -z "$(dms_item sys-b "$KEY1" status)" ] || fail "the status also landed in sys-b's mailbox"
for i in "$item" "$sitem"; do
    answer=$(dms_call sys-a updateStatus docId="$i" status=done)
    [ "$(jget 'j["status"]' <<<"$answer")" = OK ] || fail "updateStatus done: $answer"
done
[ "$(dms_list sys-a | jget 'len(j)')" = 0 ] || fail "updateStatus done left items: $(dms_list sys-a)"
within 10 '[ "$(sim_stat "d[\"done\"]")" = 2 ] && [ "$(sim_stat "d[\"pending\"]")" = 1 ]' \
    || fail "the axis items: $(http_get "$SIM_URL/_sim/stats")"
ok "the status 03 followed; updateStatus done emptied sys-a's mailbox"

# 3. Between two agencies of the province: never at the axis.
KEY3="000.00.13.H26,2026/09/03,77/SNV-VP"
"$TOOL" mkdoc --from 000.00.13.H26 --to 000.00.12.H26 --number 77 --notation SNV-VP \
    --attach "$FIX/pdf/signed.pdf" "$HUB_DIR/pkgs/internal.edxml" || fail "mkdoc"
answer=$(dms_send sys-b "$HUB_DIR/pkgs/internal.edxml")
[ "$(jget 'j["status"]' <<<"$answer")" = OK ] || fail "sys-b's sendEdoc refused: $answer"
within 20 '[ -n "$(dms_item sys-a "$KEY3")" ]' || fail "the internal document did not reach sys-a"
dms_call sys-a getEdoc docId="$(dms_item sys-a "$KEY3")" --data-out "$HUB_DIR/internal.edxml" >/dev/null
cmp "$HUB_DIR/pkgs/internal.edxml" "$HUB_DIR/internal.edxml" || fail "the internal document differs"
dms_call sys-a updateStatus docId="$(dms_item sys-a "$KEY3")" status=done >/dev/null
sleep 1
sim_received "$HUB_DIR/received.json"
[ "$(jfile "$HUB_DIR/received.json" 'len([p for p in d["received"] if p["system"] == "hub-h26"])')" = 1 ] \
    || fail "the axis received more from the hub: $(cat "$HUB_DIR/received.json")"
grep -q "SNV-VP" "$HUB_DIR/received.json" && fail "the internal document reached the axis"
ok "a document between two agencies of the province reached sys-a and never the axis"

# 4. Seeded traffic from both DMS systems.
"$SIM" dms --url "$DMS_URL" --system sys-b --secret-file "$HUB_DIR/secrets/sys-b" \
    --agency 000.00.13.H26 --to 000.00.12.H26 --count 3 --rate 5 --seed 32 --date 2026/09/20 \
    --mix unsigned=1 --poll --poll-for 8 --fixtures "$FIX" --json >"$HUB_DIR/gen-b.json" \
    2>>"$HUB_DIR/client.log" &
GEN_B=$!
HUB_PIDS="$HUB_PIDS $GEN_B"
"$SIM" dms --url "$DMS_URL" --system sys-a --secret-file "$HUB_DIR/secrets/sys-a" \
    --agency 000.00.12.H26 --to 000.00.00.G22,000.00.13.H26 --count 12 --rate 10 --seed 31 \
    --date 2026/09/20 --mix signed=60,unsigned=40 --replies 20 --revocations 40 --statuses 40 \
    --status-code 13 --fixtures "$FIX" --json >"$HUB_DIR/gen-a.json" 2>>"$HUB_DIR/client.log" \
    || fail "sys-a's traffic: $(cat "$HUB_DIR/gen-a.json")"
[ "$(jfile "$HUB_DIR/gen-a.json" 'd["failed"]')" = 0 ] || fail "sys-a's traffic: $(cat "$HUB_DIR/gen-a.json")"
within 30 '[ "$(cqueued axis)" = 0 ] && [ "$(cqueued dms)" = 0 ]' \
    || fail "queued: axis $(cqueued axis), dms $(cqueued dms)"
within 30 '! kill -0 "$GEN_B" 2>/dev/null' || fail "sys-b's generator did not end"
wait "$GEN_B" || fail "sys-b's traffic: $(cat "$HUB_DIR/gen-b.json")"
[ "$(jfile "$HUB_DIR/gen-b.json" 'd["failed"] + d["received_unreadable"] + d["receive_failed"]')" = 0 ] \
    || fail "sys-b's traffic: $(cat "$HUB_DIR/gen-b.json")"
[ "$(jfile "$HUB_DIR/gen-b.json" 'd["received"]')" -ge 1 ] || fail "sys-b received nothing"
sim_received "$HUB_DIR/received.json"
python3 - "$HUB_DIR/received.json" "$(cstat axis done)" <<'PY' || fail "the axis's view of the traffic"
import json, sys
r = [p for p in json.load(open(sys.argv[1]))["received"] if p["system"] == "hub-h26"]
assert len(r) == int(sys.argv[2]), "the axis holds %d packages, the broker delivered %s" % (len(r), sys.argv[2])
for p in r:
    assert p["to"] == ["000.00.00.G22"], p
PY
# Lane order, and nothing twice (the simulator's own duplicate counter
# does not tell a revocation from its document).
$CHECK lanes --from-suffix .H26 "$HUB_DIR/axis" || fail "lane order at the axis"
[ "$(sim_stat 'd["hash_failures"] + d["auth_failures"] + d["bad_requests"]')" = 0 ] \
    || fail "refusals at the axis: $(http_get "$SIM_URL/_sim/stats")"
[ "$(hub_stat 's["store"]["dead"]')" = 0 ] || fail "dead letters"
ok "seeded traffic: $(jfile "$HUB_DIR/gen-a.json" 'd["ok"]') packages from sys-a, $(cstat axis done) at the axis in lane order, sys-b polled $(jfile "$HUB_DIR/gen-b.json" 'd["received"]'), no dead letter"

# 5. Everything stops cleanly.
chain_stop_all
ok "every process exited 0 on SIGTERM"
echo "PASS: full chain DMS -> hub -> axis and back"
