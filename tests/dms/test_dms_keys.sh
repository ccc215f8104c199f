#!/usr/bin/env bash
# lthub-dms and the documents' keys: a DocumentId whose sender part names
# another agency than the package's From (and than the system serves) is
# refused 403 and nothing is stored, while the sender's own code in the
# Decision 20/2020 form is taken; a package with a second From or
# DocumentId is refused 400 naming the element; a document sent again to
# agencies it did not reach before goes to those agencies only, once, and
# a resend to agencies that all had it stays a duplicate.
# usage: test_dms_keys.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup

code() { jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$1"; }
before=$(store_messages)

# Squatting: sys-a (000.00.12.H26) sends a key that names 000.00.13.H26.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 5 --notation B "$HUB_DIR/base.edxml"
sed 's|<edXML:DocumentId>000.00.12.H26,2026/09/03,5/B</edXML:DocumentId>|<edXML:DocumentId>000.00.13.H26,2026/09/03,5/B</edXML:DocumentId>|' \
    "$HUB_DIR/base.edxml" > "$HUB_DIR/squat.edxml"
cmp -s "$HUB_DIR/base.edxml" "$HUB_DIR/squat.edxml" && hub_fail "the package was not changed for the test"
answer=$(dms_send sys-a "$HUB_DIR/squat.edxml")
echo "squatting: $answer"
[ "$(code "$answer")" = FAIL/403 ] || hub_fail "a key naming another agency was taken: $answer"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "names agency 000.00.13.H26" \
    || hub_fail "squatting reason unclear: $answer"
[ "$(store_messages)" = "$before" ] || hub_fail "the squatting package was stored"

# The sender's code in the other form is the sender's own key.
sed 's|<edXML:DocumentId>000.00.12.H26,2026/09/03,5/B</edXML:DocumentId>|<edXML:DocumentId>H26.12,2026/09/03,5/B</edXML:DocumentId>|' \
    "$HUB_DIR/base.edxml" > "$HUB_DIR/newform.edxml"
answer=$(dms_send sys-a "$HUB_DIR/newform.edxml")
echo "20/2020 form: $answer"
[ "$(code "$answer")" = OK/0 ] || hub_fail "the sender's own key in the 20/2020 form was refused: $answer"

# A second From (another agency's) or a second DocumentId: refused, named.
python3 - "$HUB_DIR/base.edxml" "$HUB_DIR/twofrom.edxml" "$HUB_DIR/twokeys.edxml" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("<edXML:From>"); end = text.index("</edXML:From>") + len("</edXML:From>")
block = text[start:end].replace("000.00.12.H26", "000.00.13.H26")
open(sys.argv[2], "w", encoding="utf-8").write(text[:end] + block + text[end:])
key = re.search(r"<edXML:DocumentId>[^<]*</edXML:DocumentId>", text)
second = key.group(0).replace("5/B", "6/B")
open(sys.argv[3], "w", encoding="utf-8").write(text[:key.end()] + second + text[key.end():])
PY
answer=$(dms_send sys-a "$HUB_DIR/twofrom.edxml")
echo "two From: $answer"
[ "$(code "$answer")" = FAIL/400 ] || hub_fail "a second From was taken: $answer"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "MessageHeader/From appears 2 times" \
    || hub_fail "second From reason unclear: $answer"
answer=$(dms_send sys-a "$HUB_DIR/twokeys.edxml")
[ "$(code "$answer")" = FAIL/400 ] || hub_fail "a second DocumentId was taken: $answer"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "MessageHeader/DocumentId appears 2 times" \
    || hub_fail "second DocumentId reason unclear: $answer"

# A document for 000.00.13.H26 (sys-b) and 000.00.12.H26 (sys-a itself):
# first to sys-b only, then again to the whole To list, then again.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 7 --notation C "$HUB_DIR/one.edxml"
python3 - "$HUB_DIR/one.edxml" "$HUB_DIR/two.edxml" <<'PY'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("<edXML:To>"); end = text.index("</edXML:To>") + len("</edXML:To>")
block = text[start:end].replace("000.00.13.H26", "000.00.12.H26")
open(sys.argv[2], "w", encoding="utf-8").write(text[:end] + block + text[end:])
PY
b0=$(dms_count sys-b)
a0=$(dms_count sys-a)
first=$(dms_send sys-a "$HUB_DIR/two.edxml" --to 000.00.13.H26)
echo "first, to sys-b: $first"
[ "$(code "$first")" = OK/0 ] || hub_fail "first send refused: $first"
hub_wait 20 '[ "$(dms_count sys-b)" = $((b0 + 1)) ]' || hub_fail "the document did not reach sys-b"
[ "$(dms_count sys-a)" = "$a0" ] || hub_fail "the narrowed send reached sys-a"
second=$(dms_send sys-a "$HUB_DIR/two.edxml")
echo "second, to the To list: $second"
[ "$(code "$second")" = OK/0 ] || hub_fail "the wider resend was refused: $second"
[ "$(jget 'j.get("duplicate")' <<< "$second")" = None ] || hub_fail "the wider resend was taken for a duplicate"
[ "$(jget 'j["DocId"]' <<< "$second")" != "$(jget 'j["DocId"]' <<< "$first")" ] \
    || hub_fail "the supplement got the first sending's DocId"
hub_wait 20 '[ "$(dms_count sys-a)" = $((a0 + 1)) ]' || hub_fail "the supplement did not reach sys-a"
third=$(dms_send sys-a "$HUB_DIR/two.edxml")
echo "third, the same again: $third"
[ "$(jget 'j.get("duplicate")' <<< "$third")" = True ] || hub_fail "a resend to agencies that had it was not a duplicate"
fourth=$(dms_send sys-a "$HUB_DIR/two.edxml" --to 000.00.13.H26)
[ "$(jget 'j.get("duplicate")' <<< "$fourth")" = True ] || hub_fail "a resend to sys-b again was not a duplicate"
sleep 1
[ "$(dms_count sys-b)" = $((b0 + 1)) ] || hub_fail "sys-b got the document twice"
[ "$(dms_count sys-a)" = $((a0 + 1)) ] || hub_fail "sys-a got the document twice"
dms_stop
echo "PASS: a key naming another agency refused 403, the 20/2020 form taken, a second From or DocumentId refused 400, a supplement reaches only the agencies it did not reach before, once"
