#!/usr/bin/env bash
# lthub-dms end to end: a document between two agencies of the province goes
# from sys-a through the hub into sys-b's mailbox and never reaches the axis;
# getEdoc returns the bytes sent; updateStatus done removes it; the automatic
# status 01 goes back to the sender once; a document for an agency of the
# province and a ministry is split (one copy to the axis sink, one to sys-b);
# a status package sent by sys-b lands in sys-a's mailbox.
# usage: test_dms_exchange.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup --auto-status yes --trust "$LT_FIXTURES/pki/ca.crt"

# 1. A province-internal document with a signed PDF, sys-a -> sys-b.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 101 --notation STTTT-VP \
    --attach "$LT_FIXTURES/pdf/signed.pdf" "$HUB_DIR/doc1.edxml"
answer=$(dms_send sys-a "$HUB_DIR/doc1.edxml")
echo "sendEdoc: $answer"
[ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$answer")" = "OK/0" ] || hub_fail "sendEdoc refused: $answer"
docid=$(jget 'j["DocId"]' <<< "$answer")
hub_wait 20 '[ "$(dms_count sys-b)" = 1 ]' || hub_fail "the document did not reach sys-b's mailbox"
items=$(dms_list sys-b)
echo "sys-b list: $items"
item=$(python3 - "$items" "$docid" <<'PY'
import json, sys
items = json.loads(sys.argv[1])
assert len(items) == 1, items
i = items[0]
assert i["from"] == "000.00.12.H26" and i["to"] == "000.00.13.H26", i
assert i["messageType"] == "edoc" and i["serviceType"] == "eDoc", i
assert i["status"] == "initial", i
assert i["documentId"] == "000.00.12.H26,2026/09/03,101/STTTT-VP", i
assert i["messageId"] == sys.argv[2], (i, sys.argv[2])
assert len(i["created_time"]) == 19, i
print(i["docId"])
PY
)
[ "$(dms_count sys-a)" = 0 ] || hub_fail "sys-a sees an item it does not serve"

# Only sys-b may read it; the bytes are those sent.
other=$(dms_call sys-a getEdoc docId="$item")
[ "$(jget 'j["ErrorCode"]' <<< "$other")" = 404 ] || hub_fail "sys-a read sys-b's item: $other"
dms_call sys-b getEdoc docId="$item" --data-out "$HUB_DIR/got1.edxml" > /dev/null
cmp "$HUB_DIR/doc1.edxml" "$HUB_DIR/got1.edxml" || hub_fail "getEdoc bytes differ from what was sent"

# 2. The automatic status 01 reaches sys-a once, even when sys-b fetches again.
hub_wait 20 '[ "$(dms_count sys-a status)" = 1 ]' || hub_fail "no status 01 came back to sys-a"
dms_call sys-b getEdoc docId="$item" --data-out "$HUB_DIR/got1b.edxml" > /dev/null
cmp "$HUB_DIR/doc1.edxml" "$HUB_DIR/got1b.edxml" || hub_fail "second getEdoc differs"
status_item=$(dms_list sys-a status | jget 'j[0]["docId"]')
[ "$(dms_list sys-a status | jget 'j[0]["from"]')" = 000.00.13.H26 ] || hub_fail "status 01 not from the recipient"
dms_call sys-a getEdoc docId="$status_item" --data-out "$HUB_DIR/status01.edxml" > /dev/null
"$BIN/broker/lthub" edxml inspect "$HUB_DIR/status01.edxml" --json > "$HUB_DIR/status01.json"
grep -q '<edXML:StatusCode>01</edXML:StatusCode>' "$HUB_DIR/status01.edxml" || hub_fail "not a status 01"
grep -q '<edXML:DocumentId>000.00.12.H26,2026/09/03,101/STTTT-VP</edXML:DocumentId>' \
    "$HUB_DIR/status01.edxml" || hub_fail "status 01 does not name the document"
grep -q 'Đã đến' "$HUB_DIR/status01.edxml" || hub_fail "status 01 without its description"
sleep 2
[ "$(dms_count sys-a status)" = 1 ] || hub_fail "status 01 sent more than once"

# 3. updateStatus: fail keeps it listed with the description, done removes it.
answer=$(dms_call sys-b updateStatus docId="$item" status=fail description="thiếu phụ lục")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "updateStatus fail refused: $answer"
[ "$(dms_list sys-b | jget 'j[0]["status"]+"|"+j[0]["status_desc"]')" = "fail|thiếu phụ lục" ] \
    || hub_fail "fail did not keep the item with its description"
answer=$(dms_call sys-b updateStatus docId="$item" status=archived)
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 400 ] || hub_fail "a bad status was accepted: $answer"
dms_call sys-b updateStatus docId="$item" status=done > /dev/null
[ "$(dms_count sys-b)" = 0 ] || hub_fail "done did not remove the item"
dms_call sys-a updateStatus docId="$status_item" status=done > /dev/null

# Nothing reached the axis for the province-internal exchange.
sleep 1
[ ! -s "$HUB_DIR/axis.rec" ] || hub_fail "the axis sink received a province-internal message: $(cat "$HUB_DIR/axis.rec")"

# 4. A document for a ministry and sys-b: one copy each.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.G22,000.00.13.H26 --number 102 \
    --notation STTTT-VP "$HUB_DIR/doc2.edxml"
answer=$(dms_send sys-a "$HUB_DIR/doc2.edxml")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "mixed sendEdoc refused: $answer"
hub_wait 20 '[ "$(dms_count sys-b)" = 1 ] && [ $(wc -l < "$HUB_DIR/axis.rec") = 1 ]' \
    || hub_fail "the mixed document was not split between sys-b and the axis"
grep -q "000.00.12.H26,2026/09/03,102/STTTT-VP" "$HUB_DIR/axis.rec" || hub_fail "wrong message at the axis"

# 5. A status package from sys-b (fixture, From 000.00.13.H26) reaches sys-a.
answer=$(dms_send sys-b "$LT_FIXTURES/edxml/status-02-rejected.edxml" --messagetype status)
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "status sendEdoc refused: $answer"
hub_wait 20 '[ "$(dms_count sys-a status)" = 1 ]' || hub_fail "the status did not reach sys-a"
[ "$(dms_list sys-a status | jget 'j[0]["from"]')" = 000.00.13.H26 ] || hub_fail "status item from the wrong agency"
[ "$(dms_count sys-a edoc)" = 0 ] || hub_fail "messagetype filter lets documents through"
# A document package declared as a status is refused.
answer=$(dms_send sys-a "$HUB_DIR/doc2.edxml" --messagetype status)
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 400 ] || hub_fail "messagetype mismatch accepted: $answer"

# Counters of the connector (mailbox counts are refreshed once a second).
check_stats() {
    python3 - "$(curl -sf "$DMS_URL/_dms/stats")" <<'PY'
import json, sys
s = json.loads(sys.argv[1])["dms"]
assert s["send_ok"] == 3, s
assert s["arrivals_sent"] == 1, s
assert s["fetches"] >= 3, s
m = s["mailboxes"]
assert m["sys-b"]["done"] == 1 and m["sys-b"]["pending"] == 1, m
assert m["sys-a"]["done"] == 1 and m["sys-a"]["pending"] == 1, m
PY
}
hub_wait 5 'check_stats 2>/dev/null' || check_stats
dms_stop
echo "PASS: exchange inside the province, bytes identical, status 01 once, done removes, split to axis, statuses routed"
