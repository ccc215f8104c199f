#!/usr/bin/env bash
# lthub-dms's mailbox on a full disk (issue #12 item 15, the mailbox part):
# its data folder is a small tmpfs made for the test. Filled up, the mailbox
# stops confirming deliveries (RETRY with a clear "disk is full" reason, no
# dead letter), list and getEdoc keep answering, nothing is lost; when space returns
# the waiting documents arrive by themselves, each once.
# Needs root to mount a tmpfs: without it the test is skipped (exit 77), with
# the reason, never passed.
# usage: test_dms_disk_full.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
MNT=$(mktemp -d /tmp/lthub-dms-full-XXXXXX)
if ! mount -t tmpfs -o size=24m tmpfs "$MNT" 2>"$MNT.err"; then
    echo "SKIP: cannot mount a tmpfs for the full-disk test ($(cat "$MNT.err")); run as root"
    rm -f "$MNT.err"
    rmdir "$MNT"
    exit 77
fi
rm -f "$MNT.err"
unmount() {
    hub_cleanup
    umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
    rmdir "$MNT" 2>/dev/null || true
}
DMS_MAX_ATTEMPTS=100000
dms_setup --data "$MNT"
trap unmount EXIT
grep -q "mailbox=$MNT/" "$HUB_DIR/dms.log" || hub_fail "lthub-dms does not use the tmpfs"

# Documents with a 2 MiB attachment each (random bytes: zip does not shrink them).
head -c $((2 * 1024 * 1024)) /dev/urandom > "$HUB_DIR/annex.bin"
for n in 1 2 3 4; do
    "$TOOL" mkdoc --from 000.00.13.H26 --to 000.00.12.H26 --number $((700 + n)) \
        --notation SNV-VP --attach "$HUB_DIR/annex.bin" "$HUB_DIR/doc$n.edxml"
done
[ "$(dms_send sys-b "$HUB_DIR/doc1.edxml" | jget 'j["status"]')" = OK ] || hub_fail "first send failed"
hub_wait 30 '[ "$(dms_count sys-a)" = 1 ]' || hub_fail "the first document did not reach sys-a"

# Fill the disk.
dd if=/dev/zero of="$MNT/filler" bs=1M 2>/dev/null || true
echo "disk filled: $(df -k "$MNT" | awk 'NR==2 {print $4}') KiB left"
for n in 2 3 4; do
    answer=$(dms_send sys-b "$HUB_DIR/doc$n.edxml")
    [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "send $n refused: $answer"
done
hub_wait 30 'grep -q "event=mailbox_full" "$HUB_DIR/dms.log"' \
    || hub_fail "lthub-dms did not say its mailbox disk is full: $(grep mailbox_ "$HUB_DIR/dms.log" | tail -3)"
grep -m1 "event=mailbox_full" "$HUB_DIR/dms.log"
sleep 3
[ "$(dms_count sys-a)" = 1 ] || hub_fail "a delivery was confirmed on a full disk"
[ "$(store_messages)" -ge 4 ] || hub_fail "the broker does not hold the documents"
[ "$(hub_stat 's["store"]["dead"]')" = 0 ] || hub_fail "a delivery went to dead letters on a full disk"
kill -0 "$DMS_PID" || hub_fail "lthub-dms died on a full disk"
# The reads keep answering.
[ "$(dms_list sys-a | jget 'len(j)')" = 1 ] || hub_fail "the list does not answer on a full disk"
first=$(dms_list sys-a | jget 'j[0]["docId"]')
dms_call sys-a getEdoc docId="$first" --data-out "$HUB_DIR/full-get.edxml" > /dev/null
cmp -s "$HUB_DIR/full-get.edxml" "$HUB_DIR/doc1.edxml" || hub_fail "getEdoc does not answer on a full disk"

# Space returns: the three documents arrive by themselves, each once.
rm -f "$MNT/filler"
hub_wait 60 '[ "$(dms_count sys-a)" = 4 ]' || hub_fail "the documents did not arrive after space returned: $(dms_count sys-a)"
sleep 2
[ "$(dms_count sys-a)" = 4 ] || hub_fail "sys-a holds $(dms_count sys-a) items, not 4"
[ "$(dms_list sys-a | jget 'len(set(i["documentId"] for i in j))')" = 4 ] || hub_fail "a document arrived twice"
for n in 1 2 3 4; do
    item=$(dms_list sys-a | jget '[i["docId"] for i in j if i["documentId"].endswith(",'$((700 + n))'/SNV-VP")][0]')
    dms_call sys-a getEdoc docId="$item" --data-out "$HUB_DIR/got$n.edxml" > /dev/null
    cmp -s "$HUB_DIR/got$n.edxml" "$HUB_DIR/doc$n.edxml" || hub_fail "document $n changed on the way"
done
echo "PASS: test_dms_disk_full"
