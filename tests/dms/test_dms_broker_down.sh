#!/usr/bin/env bash
# lthub-dms while the broker is stopped or dead (issue #12 item 11): every
# request has a deadline from its start (--request-timeout); sendEdoc answers
# HTTP 503 with a FAIL body when it passes, also when the publish window is
# full (here --window 2), instead of piling up; getReceivedEdocList, getEdoc
# and updateStatus keep answering at once. When the broker comes back,
# sending works again and nothing answered 503 was lost: a resend is accepted
# once. The deadline runs from the end of the upload: a package that takes
# longer than --request-timeout to arrive is still accepted.
# usage: test_dms_broker_down.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup --request-timeout 3000 --publish-timeout 2500 --window 2
CALL="python3 $SRC/tests/dms/edoc_call.py $DMS_URL"

# An item waiting for sys-b before the broker goes away.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 500 --notation STTTT-VP \
    "$HUB_DIR/first.edxml"
[ "$(dms_send sys-a "$HUB_DIR/first.edxml" | jget 'j["status"]')" = OK ] || hub_fail "first send failed"
hub_wait 20 '[ "$(dms_count sys-b)" = 1 ]' || hub_fail "the first document did not reach sys-b"
item=$(dms_list sys-b | jget 'j[0]["docId"]')
for n in $(seq 1 8); do
    "$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number $((500 + n)) \
        --notation STTTT-VP "$HUB_DIR/doc$n.edxml"
done

check_reads() {   # the reads answer within 1 s each
    local op took answer
    for op in "getReceivedEdocList servicetype=eDoc" "getEdoc docId=$item" \
              "updateStatus docId=$item status=processing"; do
        answer=$($CALL ${op%% *} sys-b "$HUB_DIR/secrets/sys-b" ${op#* } --timeout 10 \
            2> "$HUB_DIR/elapsed")
        took=$(sed -n 's/^elapsed_ms=//p' "$HUB_DIR/elapsed")
        [ "${answer%% *}" = 200 ] && [ "$(jget 'j["status"]' <<< "${answer#* }")" = OK ] \
            || hub_fail "${op%% *} failed with the broker $1: $answer"
        [ "$took" -lt 1000 ] || hub_fail "${op%% *} took $took ms with the broker $1"
    done
    echo "reads with the broker $1: OK"
}

for how in stopped killed; do
    if [ $how = stopped ]; then kill -STOP "$HUB_PID"; else hub_kill; fi
    # Eight sends at once against a window of two: all answered by the deadline.
    start=$(date +%s%N)
    pids=""
    for n in $(seq 1 8); do
        $CALL sendEdoc sys-a "$HUB_DIR/secrets/sys-a" from=sys-a servicetype=eDoc messagetype=edoc \
            --file "$HUB_DIR/doc$n.edxml" --timeout 30 > "$HUB_DIR/send$n.out" \
            2> "$HUB_DIR/send$n.elapsed" &
        pids="$pids $!"
    done
    sleep 0.5
    check_reads $how
    for p in $pids; do wait $p; done
    took=$(( ($(date +%s%N) - start) / 1000000 ))
    for n in $(seq 1 8); do
        out=$(cat "$HUB_DIR/send$n.out")
        [ "${out%% *}" = 503 ] || hub_fail "send $n with the broker $how: not HTTP 503: $out"
        [ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "${out#* }")" = FAIL/503 ] \
            || hub_fail "send $n: not a FAIL 503 body: $out"
        ms=$(sed -n 's/^elapsed_ms=//p' "$HUB_DIR/send$n.elapsed")
        [ "$ms" -lt 5000 ] || hub_fail "send $n with the broker $how was answered after $ms ms"
        slowest=$(( ms > ${slowest:-0} ? ms : ${slowest:-0} ))
    done
    echo "8 sends with the broker $how: all HTTP 503, the slowest after $slowest ms, all done in $took ms ($(jget 'j["ErrorDesc"]' <<< "$(cut -d' ' -f2- "$HUB_DIR/send8.out")"))"
    slowest=0
    if [ $how = stopped ]; then kill -CONT "$HUB_PID"; else hub_start; fi
    # Back: what was answered 503 is sent again and accepted once.
    hub_wait 30 '[ "$(dms_send sys-a "$HUB_DIR/doc1.edxml" | jget "j[\"status\"]")" = OK ]' \
        || hub_fail "sending did not work again after the broker was $how"
done
for n in $(seq 1 8); do
    answer=$(dms_send sys-a "$HUB_DIR/doc$n.edxml")
    [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "resend $n failed: $answer"
done
hub_wait 30 '[ "$(dms_count sys-b)" = 9 ]' || hub_fail "sys-b does not hold the 9 documents: $(dms_count sys-b)"
sleep 1
[ "$(dms_count sys-b)" = 9 ] || hub_fail "sys-b holds $(dms_count sys-b) items, not 9"

# A package whose upload takes longer than --request-timeout (a slow link;
# --max-request-time bounds the upload): the deadline runs from the end of
# the upload, so it is accepted, not answered 503 on every resend.
head -c 300000 /dev/urandom > "$HUB_DIR/scan.bin"
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 510 --notation STTTT-VP \
    --attach "$HUB_DIR/scan.bin" "$HUB_DIR/slow.edxml"
out=$($CALL sendEdoc sys-a "$HUB_DIR/secrets/sys-a" from=sys-a servicetype=eDoc messagetype=edoc \
    --file "$HUB_DIR/slow.edxml" --upload-seconds 4.5 --timeout 30 2> "$HUB_DIR/slow.elapsed")
echo "slow upload ($(sed -n 's/^elapsed_ms=//p' "$HUB_DIR/slow.elapsed") ms): ${out:0:200}"
[ "${out%% *}" = 200 ] && [ "$(jget 'j["status"]' <<< "${out#* }")" = OK ] \
    || hub_fail "a package uploaded for longer than --request-timeout was refused: $out"
hub_wait 20 '[ "$(dms_count sys-b)" = 10 ]' || hub_fail "the slowly uploaded package did not arrive"
echo "PASS: test_dms_broker_down"
