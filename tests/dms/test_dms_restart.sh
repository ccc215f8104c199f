#!/usr/bin/env bash
# lthub-dms durability: items in the mailbox survive SIGKILL of lthub-dms
# (same docIds, same bytes after the restart); deliveries cut by a SIGKILL
# are redelivered by the broker after the restart and land once, never
# twice; nothing ends in the dead letters. With the broker down, sendEdoc
# answers ErrorCode 503 after --publish-timeout; once the broker is back
# the client's resend gets a DocId and the document lands once.
# usage: test_dms_restart.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup

send_docs() {
    local from=$1 to=$2 n answer
    for n in $(seq "$from" "$to"); do
        "$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number "$n" --notation STTTT-VP \
            "$HUB_DIR/doc-$n.edxml"
        answer=$(dms_send sys-a "$HUB_DIR/doc-$n.edxml")
        [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "send $n refused: $answer"
    done
}

# Five documents in sys-b's mailbox, then SIGKILL and restart.
send_docs 501 505
hub_wait 20 '[ "$(dms_count sys-b)" = 5 ]' || hub_fail "the documents did not reach sys-b"
dms_list sys-b | jget '"\n".join(sorted(i["docId"] for i in j))' > "$HUB_DIR/before.ids"
dms_kill
dms_start
dms_list sys-b | jget '"\n".join(sorted(i["docId"] for i in j))' > "$HUB_DIR/after.ids"
cmp "$HUB_DIR/before.ids" "$HUB_DIR/after.ids" || hub_fail "the mailbox changed across SIGKILL"
first=$(dms_list sys-b | jget 'j[0]["docId"]')
dms_call sys-b getEdoc docId="$first" --data-out "$HUB_DIR/got.edxml" > /dev/null
cmp "$HUB_DIR/doc-501.edxml" "$HUB_DIR/got.edxml" || hub_fail "bytes changed across SIGKILL"

# Twenty more, SIGKILL as soon as the last is accepted (deliveries in flight).
send_docs 506 525
dms_kill
sleep 1
dms_start
hub_wait 30 '[ "$(dms_count sys-b)" = 25 ]' || hub_fail "after the restart sys-b holds $(dms_count sys-b) of 25"
sleep 2
items=$(dms_list sys-b)
python3 - "$items" <<'PY'
import json, sys
items = json.loads(sys.argv[1])
keys = [i["documentId"] for i in items]
assert len(items) == 25, len(items)
assert len(set(keys)) == 25, "duplicated: %s" % sorted(k for k in keys if keys.count(k) > 1)
assert len(set(i["docId"] for i in items)) == 25
PY
hub_wait 20 '[ "$(hub_stat "[c[\"ready\"]+c[\"inflight\"] for c in s[\"connectors\"] if c[\"name\"]==\"dms\"][0]")" = 0 ]' \
    || hub_fail "deliveries to dms still pending"
[ "$(hub_stat 's["store"]["dead"]')" = 0 ] || hub_fail "dead letters after the restart"

# The broker down: 503 after the publish timeout, then a resend works, once.
hub_kill
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 600 --notation STTTT-VP \
    "$HUB_DIR/doc-600.edxml"
t0=$(date +%s)
answer=$(dms_send sys-a "$HUB_DIR/doc-600.edxml")
echo "broker down: $answer"
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 503 ] || hub_fail "no 503 with the broker down: $answer"
[ $(($(date +%s) - t0)) -le 15 ] || hub_fail "the 503 took longer than the publish timeout"
hub_start
hub_wait 30 '[ "$(hub_stat "[c[\"connected\"] for c in s[\"connectors\"] if c[\"name\"]==\"dms\"]")" = "[True]" ]' \
    || hub_fail "lthub-dms did not reconnect"
answer=$(dms_send sys-a "$HUB_DIR/doc-600.edxml")
echo "resend: $answer"
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "the resend was refused: $answer"
hub_wait 20 '[ "$(dms_count sys-b)" = 26 ]' || hub_fail "the resent document did not arrive"
sleep 2
[ "$(dms_count sys-b)" = 26 ] || hub_fail "the resent document arrived twice"
[ "$(dms_list sys-b | jget 'len([i for i in j if i["documentId"].endswith(",600/STTTT-VP")])')" = 1 ] \
    || hub_fail "document 600 is not there exactly once"
dms_stop
echo "PASS: mailbox durable across SIGKILL, cut deliveries redelivered once, no duplicates, 503 while the broker is down then one copy"
