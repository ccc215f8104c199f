#!/usr/bin/env bash
# lthub-dms bad input: every fixture in edxml/bad/ sent by a DMS gets a FAIL
# whose description is the reader's own (as `lthub edxml validate` words it),
# is kept in DATA/rejected with a note naming the reason and the system, and
# stores nothing; so do garbage, an empty file, a missing file part and an
# oversized package (an edoc FAIL in JSON also when the body is past the
# HTTP server's bound). The hub keeps serving: a good document afterwards
# goes through.
# usage: test_dms_bad_input.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup --max-package 300000
before=$(store_messages)

count=0
for file in "$LT_FIXTURES"/edxml/bad/*.edxml; do
    name=$(basename "$file")
    expected=$({ "$BIN/broker/lthub" edxml validate "$file" 2>&1 || true; } | sed -n 's/^invalid: //p' | head -1)
    [ -n "$expected" ] || hub_fail "$name: lthub edxml validate found no problem"
    messagetype=edoc
    case "$name" in *status*) messagetype=status ;; esac
    answer=$(dms_send sys-a "$file" --messagetype "$messagetype")
    echo "$name: $answer"
    [ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$answer")" = "FAIL/400" ] || hub_fail "$name not refused: $answer"
    desc=$(jget 'j["ErrorDesc"]' <<< "$answer")
    [ "$desc" = "$expected" ] || hub_fail "$name: ErrorDesc '$desc', expected '$expected'"
    count=$((count + 1))
    kept=$(grep -l -F "reason=$expected" "$HUB_DIR/dms/rejected/"*.txt | sort | tail -1)
    [ -n "$kept" ] || hub_fail "$name was not kept with its reason"
    grep -q "system=sys-a" "$kept" || hub_fail "$name: the note does not name the system"
    cmp "$file" "${kept%.txt}.edxml" || hub_fail "$name: the kept copy differs"
done
[ "$count" -ge 8 ] || hub_fail "only $count bad fixtures found in $LT_FIXTURES/edxml/bad"

# Garbage, an empty file, no file part at all, an oversized package.
head -c 4000 /dev/urandom > "$HUB_DIR/garbage.edxml"
: > "$HUB_DIR/empty.edxml"
for file in garbage empty; do
    answer=$(dms_send sys-a "$HUB_DIR/$file.edxml")
    echo "$file: $answer"
    [ "$(jget 'j["status"]' <<< "$answer")" = FAIL ] || hub_fail "$file accepted: $answer"
done
answer=$(dms_call sys-a sendEdoc from=sys-a servicetype=eDoc messagetype=edoc hash-file=0)
[ "$(jget 'j["ErrorDesc"]' <<< "$answer")" = "missing the multipart part file_doc" ] \
    || hub_fail "a call without the file part: $answer"
head -c 400000 /dev/urandom > "$HUB_DIR/big.bin"
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 301 --notation BIG \
    --attach "$HUB_DIR/big.bin" "$HUB_DIR/big.edxml"
answer=$(dms_send sys-a "$HUB_DIR/big.edxml")
echo "big: $(head -c 200 <<< "$answer")"
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 413 ] || hub_fail "an oversized package was not refused: $answer"
# A body past sendEdoc's bound (the package limit and 1 MiB of multipart
# framing) is refused before any handler runs: still an edoc FAIL in JSON
# (the SDKs read the body, not the status), naming the package limit.
head -c 1500000 /dev/zero > "$HUB_DIR/huge.edxml"
out=$(python3 "$SRC/tests/dms/edoc_call.py" "$DMS_URL" sendEdoc sys-a "$HUB_DIR/secrets/sys-a" \
    from=sys-a servicetype=eDoc messagetype=edoc --file "$HUB_DIR/huge.edxml" 2>/dev/null)
echo "huge: $out"
[ "${out%% *}" = 413 ] || hub_fail "a body past the bound: not HTTP 413: $out"
[ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "${out#* }" 2>/dev/null)" = FAIL/413 ] \
    || hub_fail "a body past the bound: not an edoc FAIL 413: $out"
case "$(jget 'j["ErrorDesc"]' <<< "${out#* }")" in
    *"at most 300000 bytes"*) ;;
    *) hub_fail "the refusal does not name the package limit: $out" ;;
esac
[ "$(store_messages)" = "$before" ] || hub_fail "bad input was stored: $before -> $(store_messages)"
kill -0 "$DMS_PID" || hub_fail "lthub-dms died on bad input"

# The hub keeps serving.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 302 --notation STTTT-VP \
    "$HUB_DIR/good.edxml"
answer=$(dms_send sys-a "$HUB_DIR/good.edxml")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "a good package after the bad ones: $answer"
hub_wait 20 '[ "$(dms_count sys-b)" = 1 ]' || hub_fail "the good package did not arrive"
bad=$(curl -sf "$DMS_URL/_dms/stats" | jget 'j["dms"]["bad_packages"]')
[ "$bad" -ge $((count + 2)) ] || hub_fail "bad_packages counter $bad"
dms_stop
echo "PASS: $count bad fixtures, garbage, empty, oversized refused with the reader's reason and kept; the hub keeps serving"
