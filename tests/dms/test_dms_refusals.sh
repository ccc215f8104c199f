#!/usr/bin/env bash
# lthub-dms refusals: a wrong secret or an unknown system gets ErrorCode 401
# and nothing is stored; sending as an agency the system does not serve is
# refused (403) and nothing is stored, the input kept in DATA/rejected; a
# wrong hash-file gets 400; the same DocumentId sent twice gets the same
# DocId and reaches the recipient once; an unroutable recipient gets the
# broker's reason; a recipient no DMS system serves goes to dead letters.
# usage: test_dms_refusals.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup

"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.13.H26 --number 201 --notation STTTT-VP \
    --attach "$LT_FIXTURES/pdf/unsigned.pdf" "$HUB_DIR/doc.edxml"
before=$(store_messages)

# Wrong secret, unknown system: 401, nothing stored.
answer=$(dms_send sys-a "$HUB_DIR/doc.edxml" --secret-file "$HUB_DIR/secrets/wrong")
echo "wrong secret: $answer"
[ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$answer")" = "FAIL/401" ] || hub_fail "wrong secret not refused: $answer"
answer=$("$SIM" axis-send --url "$DMS_URL" --system sys-x --secret-file "$HUB_DIR/secrets/sys-a" \
    "$HUB_DIR/doc.edxml" 2>/dev/null || true)
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 401 ] || hub_fail "unknown system not refused: $answer"
answer=$("$SIM" axis-call --url "$DMS_URL" --system sys-b --secret-file "$HUB_DIR/secrets/wrong" \
    getReceivedEdocList servicetype=eDoc 2>/dev/null || true)
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 401 ] || hub_fail "list with a wrong secret: $answer"
# An unsigned request (plain curl) is refused too.
answer=$(curl -s -X POST "$DMS_URL/getReceivedEdocList")
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 401 ] || hub_fail "unsigned request: $answer"

# Impersonation: sys-a sends a package From 000.00.13.H26 (fixture).
answer=$(dms_send sys-a "$LT_FIXTURES/edxml/new-tampered.edxml")
echo "impersonation: $answer"
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 403 ] || hub_fail "impersonation not refused: $answer"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "system sys-a may not send as agency 000.00.13.H26" \
    || hub_fail "impersonation reason unclear: $answer"
grep -l "system=sys-a" "$HUB_DIR/dms/rejected/"*.txt | xargs grep -l "may not send as agency" > /dev/null \
    || hub_fail "the refused package was not kept with its reason"
# A status sent as an agency the system does not serve (fixture From 000.00.13.H26).
answer=$(dms_send sys-a "$LT_FIXTURES/edxml/status-02-rejected.edxml" --messagetype status)
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 403 ] || hub_fail "status impersonation not refused: $answer"

# A hash-file that does not match the file.
answer=$(dms_send sys-a "$HUB_DIR/doc.edxml" --hash-file 0123456789abcdef)
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 400 ] || hub_fail "bad hash-file accepted: $answer"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "hash-file" || hub_fail "hash-file reason unclear"
[ "$(store_messages)" = "$before" ] || hub_fail "a refused request stored something: $before -> $(store_messages)"

# The same DocumentId twice: one DocId, one mailbox item, one stored message.
first=$(dms_send sys-a "$HUB_DIR/doc.edxml")
second=$(dms_send sys-a "$HUB_DIR/doc.edxml")
echo "first: $first"
echo "second: $second"
[ "$(jget 'j["status"]' <<< "$first")" = OK ] || hub_fail "first send refused: $first"
[ "$(jget 'j["DocId"]' <<< "$first")" = "$(jget 'j["DocId"]' <<< "$second")" ] \
    || hub_fail "a resend got another DocId"
[ "$(jget 'j.get("duplicate")' <<< "$second")" = True ] || hub_fail "the resend was not flagged duplicate"
[ "$(store_messages)" = $((before + 1)) ] || hub_fail "the resend was stored twice"
hub_wait 20 '[ "$(dms_count sys-b)" = 1 ]' || hub_fail "the document did not reach sys-b"
sleep 1
[ "$(dms_count sys-b)" = 1 ] || hub_fail "the document reached sys-b twice"

# A recipient no route knows: the broker's reason comes back.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.X99 --number 202 --notation STTTT-VP \
    "$HUB_DIR/noroute.edxml"
answer=$(dms_send sys-a "$HUB_DIR/noroute.edxml")
echo "no route: $answer"
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 460 ] || hub_fail "unroutable recipient: $answer"
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "000.00.00.X99" || hub_fail "route reason unclear"

# A province agency no DMS system serves: accepted, then a dead letter naming it.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.77.H26 --number 203 --notation STTTT-VP \
    "$HUB_DIR/unserved.edxml"
answer=$(dms_send sys-a "$HUB_DIR/unserved.edxml")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "routable document refused: $answer"
hub_wait 20 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ]' || hub_fail "the unserved document is not a dead letter"
"$BIN/broker/lthub" dead --admin "$HUB_ADMIN" --json | jget 'j["dead"][0]["errors"]' \
    | grep -q "no DMS system serves agency 000.00.77.H26" || hub_fail "dead letter reason unclear"

stats=$(curl -sf "$DMS_URL/_dms/stats")
python3 - "$stats" <<'PY'
import json, sys
s = json.loads(sys.argv[1])["dms"]
assert s["auth_failures"] == 4, s
assert s["impersonations"] == 2, s
assert s["hash_failures"] == 1, s
assert s["send_duplicates"] == 1, s
assert s["broker_rejects"] == 1, s
assert s["delivery_fails"] == 1, s
PY
dms_stop
echo "PASS: 401 for wrong secrets, 403 for impersonation, 400 for bad hash-file, nothing stored; resend deduplicated; route and unserved reasons"
