#!/usr/bin/env bash
# lthub-dms against an adversarial client (tests/dms/edoc_attack.py, raw
# HTTP): forged, ambiguous or malformed authentication headers, hash-file in
# the wrong form, broken or doubled multipart parts, NUL bytes, invalid UTF-8,
# oversized headers and a stalled body are each refused (HTTP 200 FAIL with
# the spec's ErrorCode, or closed at the HTTP level) and store nothing; then
# a package whose `to` names the same recipient twice reaches it once, and a
# well-formed request still goes through.
# usage: test_dms_adversarial.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup --idle-timeout 3

"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26,000.00.00.G22 --number 611 \
    --notation STTTT-VP "$HUB_DIR/doc.edxml"
before=$(store_messages)
python3 "$SRC/tests/dms/edoc_attack.py" 127.0.0.1 "$DMS_PORT" "$HUB_DIR/secrets" \
    "$HUB_DIR/doc.edxml" || hub_fail "lthub-dms mishandled an adversarial request"
[ "$(store_messages)" = "$before" ] || hub_fail "a refused request stored something"
kill -0 "$DMS_PID" || hub_fail "lthub-dms died"

# `to` naming one recipient twice: one delivery, one mailbox item.
answer=$(dms_send sys-a "$HUB_DIR/doc.edxml" --to 000.00.13.H26,000.00.13.H26)
echo "doubled to: $answer"
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "a doubled to was refused: $answer"
hub_wait 20 '[ "$(dms_count sys-b)" = 1 ]' || hub_fail "the document did not reach sys-b"
sleep 1
[ "$(dms_count sys-b)" = 1 ] || hub_fail "sys-b got the document twice: $(dms_list sys-b)"
[ ! -s "$HUB_DIR/axis.rec" ] || hub_fail "the axis got a package that \`to\` did not name"
echo "PASS: adversarial requests refused, nothing stored, a doubled recipient delivered once"
