#!/usr/bin/env bash
# lthub-dms protocol completeness and the `to` rule (spec/peers.md A):
# - every code in sendEdoc's `to` must be in the package's To list, else
#   FAIL naming the stray codes and nothing is stored (issue #12 item 7);
# - getSentEdocList lists what the caller sent, per recipient, with the
#   recipient's docId and state when the hub holds it, filtered by docId and
#   messagetype, never another system's (item 17);
# - getAgenciesList puts each agency's code in `code` and its name in `name`
#   (names from the systems file until the agency directory gives them),
#   each agency once, also when two systems serve it.
# usage: test_dms_protocol.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
DMS_SYS_A_EXTRA='    names
        000.00.12.H26 = "Sở Thông tin và Truyền thông"'
# sys-c, the department's new DMS, serves it too while the old one runs.
DMS_SYS_B_EXTRA='system
    id = "sys-c"
    secret_file = "secrets/sys-b"
    agencies = "000.00.12.H26"'
dms_setup

# A package addressed to the Government Office and the Home Affairs department.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.G22,000.00.13.H26 --number 301 \
    --notation STTTT-VP "$HUB_DIR/doc.edxml"
before=$(store_messages)

# `to` naming an agency outside the To list: refused, naming it; nothing stored.
answer=$(dms_send sys-a "$HUB_DIR/doc.edxml" --to 000.03.31.H26)
echo "stray to: $answer"
[ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$answer")" = FAIL/400 ] || hub_fail "a stray to was accepted: $answer"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "not in the package's To list: 000.03.31.H26" \
    || hub_fail "the refusal does not name the stray code: $answer"
# One good and two stray codes: only the stray ones are named.
answer=$(dms_send sys-a "$HUB_DIR/doc.edxml" --to 000.00.13.H26,000.03.31.H26,000.00.99.H26)
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "To list: 000.03.31.H26, 000.00.99.H26 (" \
    || hub_fail "the refusal does not name exactly the stray codes: $answer"
[ "$(store_messages)" = "$before" ] || hub_fail "a refused send stored something"
sleep 0.5
[ "$(dms_count sys-b)" = 0 ] || hub_fail "a refused package reached sys-b"

# `to` within the list: delivered to that agency only (not to the axis).
answer=$(dms_send sys-a "$HUB_DIR/doc.edxml" --to 000.00.13.H26)
echo "to within the list: $answer"
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "a good to was refused: $answer"
doc_id=$(jget 'j["DocId"]' <<< "$answer")
hub_wait 20 '[ "$(dms_count sys-b)" = 1 ]' || hub_fail "the document did not reach sys-b"
[ ! -s "$HUB_DIR/axis.rec" ] || hub_fail "the axis got a package that \`to\` did not name"

# A second package without `to`: both recipients.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.G22,000.00.13.H26 --number 302 \
    --notation STTTT-VP "$HUB_DIR/doc2.edxml"
answer=$(dms_send sys-a "$HUB_DIR/doc2.edxml")
doc2_id=$(jget 'j["DocId"]' <<< "$answer")
hub_wait 20 '[ "$(dms_count sys-b)" = 2 ]' || hub_fail "the second document did not reach sys-b"

# getSentEdocList: three rows (302 to two agencies, 301 to one), newest first.
sent=$(dms_call sys-a getSentEdocList servicetype=eDoc messagetype=edoc)
echo "sent: $sent"
[ "$(jget 'j["status"]' <<< "$sent")" = OK ] || hub_fail "getSentEdocList failed: $sent"
[ "$(jget 'len(j["data"])' <<< "$sent")" = 3 ] || hub_fail "getSentEdocList: not 3 rows"
[ "$(jget 'sorted((d["senderDocId"], d["toCode"]) for d in j["data"]) == sorted([("'"$doc_id"'", "000.00.13.H26"), ("'"$doc2_id"'", "000.00.13.H26"), ("'"$doc2_id"'", "000.00.00.G22")])' <<< "$sent")" = True ] \
    || hub_fail "getSentEdocList rows are not the sent (DocId, recipient) pairs"
[ "$(jget 'j["data"][0]["senderDocId"]' <<< "$sent")" = "$doc2_id" ] || hub_fail "not newest first"
[ "$(jget 'set(d["fromCode"] for d in j["data"]) == {"000.00.12.H26"} and set(d["sendStatus"] for d in j["data"]) == {"sent"}' <<< "$sent")" = True ] \
    || hub_fail "fromCode or sendStatus wrong"
[ "$(jget '[d["notation"] for d in j["data"] if d["senderDocId"]=="'"$doc_id"'"][0]' <<< "$sent")" = 301/STTTT-VP ] \
    || hub_fail "notation wrong"
[ "$(jget 'all(d["created_time"] and d["updated_time"] for d in j["data"])' <<< "$sent")" = True ] \
    || hub_fail "times missing"
# The recipient in the province: its docId and state; the axis one is unknown.
one=$(dms_call sys-a getSentEdocList servicetype=eDoc messagetype=edoc docId="$doc_id")
[ "$(jget 'len(j["data"])' <<< "$one")" = 1 ] || hub_fail "the docId filter did not filter: $one"
receiver=$(jget 'j["data"][0]["receiverDocId"]' <<< "$one")
[ "$(dms_list sys-b | jget '"'"$receiver"'" in [i["docId"] for i in j]')" = True ] \
    || hub_fail "receiverDocId is not sys-b's docId: $one"
[ "$(jget 'j["data"][0]["receiveStatus"]' <<< "$one")" = initial ] || hub_fail "receiveStatus: $one"
dms_call sys-b updateStatus docId="$receiver" status=done > /dev/null
one=$(dms_call sys-a getSentEdocList servicetype=eDoc docId="$doc_id")
[ "$(jget 'j["data"][0]["receiveStatus"]' <<< "$one")" = done ] || hub_fail "receiveStatus after done: $one"
[ "$(jget '[d["receiveStatus"] for d in j["data"] if d["toCode"]=="000.00.00.G22"][0]' <<< "$sent")" = unknown ] \
    || hub_fail "an agency outside the province should be unknown"
# Another messagetype, another system: nothing.
[ "$(dms_call sys-a getSentEdocList servicetype=eDoc messagetype=status | jget 'len(j["data"])')" = 0 ] \
    || hub_fail "messagetype=status listed documents"
[ "$(dms_call sys-b getSentEdocList servicetype=eDoc | jget 'len(j["data"])')" = 0 ] \
    || hub_fail "sys-b sees what sys-a sent"
# A resend is one row, not two.
dms_send sys-a "$HUB_DIR/doc.edxml" --to 000.00.13.H26 > /dev/null
[ "$(dms_call sys-a getSentEdocList servicetype=eDoc | jget 'len(j["data"])')" = 3 ] \
    || hub_fail "a resend added a row"

# getAgenciesList: code in code, name in name (from the systems file, else
# the code); an agency two systems serve is listed once.
agencies=$(dms_call sys-a getAgenciesList)
echo "agencies: $agencies"
[ "$(jget 'sorted(a["code"] for a in j["data"])' <<< "$agencies")" = "['000.00.12.H26', '000.00.13.H26']" ] \
    || hub_fail "getAgenciesList does not list each agency once: $agencies"
[ "$(jget '{a["code"]: a["name"] for a in j["data"]} == {"000.00.12.H26": "Sở Thông tin và Truyền thông", "000.00.13.H26": "000.00.13.H26"}' <<< "$agencies")" = True ] \
    || hub_fail "getAgenciesList codes and names wrong: $agencies"
echo "PASS: test_dms_protocol"
