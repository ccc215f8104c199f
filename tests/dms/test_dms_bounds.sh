#!/usr/bin/env bash
# lthub-dms's mailbox held within its bounds (--mailbox-max-items,
# --mailbox-max-bytes, --mailbox-max-age): filled past each bound with small
# bounds, the oldest items their system marked done go first; an item not
# done is never removed, even past the age bound; when those alone fill a
# bound, deliveries are put back (RETRY: the broker keeps them, no dead
# letter) and arrive once the system acknowledges; nothing the DMS has not
# fetched is lost or doubled. The figures reach lthubd's /metrics.
# usage: test_dms_bounds.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
DMS_MAX_ATTEMPTS=100000
dms_setup --mailbox-max-items 4 --mailbox-max-bytes 0 --mailbox-max-age 0

head -c 8192 /dev/urandom > "$HUB_DIR/annex.bin"
# Documents from sys-b (000.00.13.H26) to sys-a (000.00.12.H26), numbered 800+N.
send_doc() {
    "$TOOL" mkdoc --from 000.00.13.H26 --to 000.00.12.H26 --number $((800 + $1)) \
        --notation SNV-VP --attach "$HUB_DIR/annex.bin" "$HUB_DIR/doc$1.edxml"
    local answer
    answer=$(dms_send sys-b "$HUB_DIR/doc$1.edxml")
    [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "send $1 refused: $answer"
}
# The numbers (N of 800+N) of sys-a's listed items, sorted (deliveries of
# different documents may enter the mailbox in either order).
listed() { dms_list sys-a | jget '" ".join(str(n) for n in sorted(int(i["documentId"].split(",")[2].split("/")[0]) - 800 for i in j))'; }
# sys-a's item of document N.
item_of() { dms_list sys-a | jget '[i["docId"] for i in j if i["documentId"].endswith(",'$((800 + $1))'/SNV-VP")][0]'; }
# Fetch document N as sys-a (checking its bytes) and mark it done.
collect() {
    local item
    item=$(item_of "$1")
    dms_call sys-a getEdoc docId="$item" --data-out "$HUB_DIR/got$1.edxml" > /dev/null
    cmp -s "$HUB_DIR/got$1.edxml" "$HUB_DIR/doc$1.edxml" || hub_fail "document $1 changed on the way"
    local answer
    answer=$(dms_call sys-a updateStatus docId="$item" status=done)
    [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "updateStatus $1: $answer"
    eval "ITEM_$1=$item"
}
# A field of lthub-dms's own figures (python expression on m, the mailbox object).
mbox() { curl -sf "$DMS_URL/_dms/stats" | python3 -c "import json,sys; m=json.load(sys.stdin)['dms']['mailbox']; print($1)"; }

# 1. The count bound: 4 items. Four documents, the two oldest collected.
for n in 1 2 3 4; do send_doc $n; done
hub_wait 30 '[ "$(dms_count sys-a)" = 4 ]' || hub_fail "the first four did not arrive"
collect 1
collect 2
# Two more: the oldest done items make room, one each.
send_doc 5
send_doc 6
hub_wait 30 '[ "$(listed)" = "3 4 5 6" ]' || hub_fail "sys-a lists $(listed), not 3 4 5 6"
hub_wait 10 '[ "$(mbox "m[\"items\"]")" = 4 ] && [ "$(mbox "m[\"pruned_items\"]")" = 2 ]' \
    || hub_fail "the mailbox holds $(mbox 'm["items"]') items, pruned $(mbox 'm["pruned_items"]')"
answer=$(dms_call sys-a getEdoc docId="$ITEM_1")
[ "$(jget 'j["status"]' <<< "$answer")" = FAIL ] || hub_fail "the evicted item 1 still answers: $answer"
# The backlog alone fills the bound: a fifth waits at the broker, not lost.
hub_wait 10 '[ "$(mbox "m[\"full\"]")" = True ]' || hub_fail "the mailbox does not say it is full"
grep -q "event=mailbox_over_bounds" "$HUB_DIR/dms.log" || hub_fail "no event=mailbox_over_bounds"
send_doc 7
hub_wait 10 '[ "$(mbox "m[\"refused\"]")" -ge 1 ]' || hub_fail "the delivery of 7 was not put back"
sleep 1
[ "$(listed)" = "3 4 5 6" ] || hub_fail "sys-a lists $(listed) while full"
[ "$(hub_stat 's["store"]["dead"]')" = 0 ] || hub_fail "a refused delivery went to dead letters"
# sys-a collects 3: 7 arrives, 3 makes room.
collect 3
hub_wait 30 '[ "$(listed)" = "4 5 6 7" ]' || hub_fail "7 did not arrive after 3 was done: $(listed)"
hub_wait 10 '[ "$(mbox "m[\"full\"]")" = True ] && [ "$(mbox "m[\"items\"]")" = 4 ]' \
    || hub_fail "the mailbox is not back at its bound: $(mbox 'm')"
grep -q "event=mailbox_within_bounds" "$HUB_DIR/dms.log" || hub_fail "no event=mailbox_within_bounds"

# 2. The bytes bound: room for about three and a half packages. The four
# waiting ones alone are over: a new one waits; two collected make room.
size=$(stat -c %s "$HUB_DIR/doc4.edxml")
dms_stop
DMS_OPTS=(--mailbox-max-items 0 --mailbox-max-bytes $((size * 7 / 2)) --mailbox-max-age 0)
dms_start
hub_wait 10 '[ "$(mbox "m[\"full\"]")" = True ]' || hub_fail "not full over the bytes bound: $(mbox 'm')"
send_doc 8
hub_wait 10 '[ "$(mbox "m[\"refused\"]")" -ge 1 ]' || hub_fail "the delivery of 8 was not put back"
[ "$(listed)" = "4 5 6 7" ] || hub_fail "sys-a lists $(listed) over the bytes bound"
collect 4
collect 5
hub_wait 30 '[ "$(listed)" = "6 7 8" ]' || hub_fail "8 did not arrive after 4 and 5 were done: $(listed)"
hub_wait 10 '[ "$(mbox "m[\"items\"]")" = 3 ] && [ "$(mbox "m[\"bytes\"]")" -le $((size * 7 / 2)) ]' \
    || hub_fail "the bytes bound does not hold: $(mbox 'm')"
answer=$(dms_call sys-a getEdoc docId="$ITEM_4")
[ "$(jget 'j["status"]' <<< "$answer")" = FAIL ] || hub_fail "the evicted item 4 still answers"

# 3. The age bound: 5 s after done an item goes (long enough for the
# fetch right after it on a busy machine); items not done stay, however old.
dms_stop
DMS_OPTS=(--mailbox-max-items 0 --mailbox-max-bytes 0 --mailbox-max-age 5)
dms_start
collect 6
answer=$(dms_call sys-a getEdoc docId="$ITEM_6")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "a done item went before its age"
hub_wait 15 '[ "$(jget "j[\"status\"]" <<< "$(dms_call sys-a getEdoc docId="$ITEM_6")")" = FAIL ]' \
    || hub_fail "the done item 6 outlived the age bound"
sleep 1
[ "$(listed)" = "7 8" ] || hub_fail "the age bound took an item not done: $(listed)"
for n in 7 8; do collect $n; done
[ "$(hub_stat 's["store"]["dead"]')" = 0 ] || hub_fail "a dead letter"
# Every document reached sys-a exactly once (each was collected once, in order).
for n in 1 2 3 4 5 6 7 8; do
    [ -n "$(eval echo "\${ITEM_$n:-}")" ] || hub_fail "document $n was never collected"
done

# 4. The figures reach lthubd: /api/v1/stats and /metrics.
hub_wait 15 '[ "$(hub_stat "[c[\"own\"][\"dms\"][\"mailbox\"][\"pruned_items\"] for c in s[\"connectors\"] if c[\"name\"]==\"dms\"][0]")" -ge 7 ]' \
    || hub_fail "lthubd's stats do not carry the mailbox figures"
metrics=$(curl -sf "http://$HUB_ADMIN/metrics")
for figure in items backlog bytes oldest_age_ms pruned_items max_items max_bytes max_age_s; do
    grep -q "^lthub_connector_figure{connector=\"dms\",figure=\"dms.mailbox.$figure\"} " <<< "$metrics" \
        || hub_fail "/metrics lacks dms.mailbox.$figure"
done
grep "dms.mailbox\." <<< "$metrics"
echo "PASS: test_dms_bounds"
