#!/usr/bin/env bash
# lthub-dms registerDocuments (the paper register): a good batch is accepted
# (N entries, N messages of kind register stored); sending it again stores
# nothing new; a bad entry gets a FAIL naming its index and field and nothing
# of that call is stored; an agency the system does not serve is refused; a
# wrong hash-file or secret is refused; a line dated in the future, a
# DocumentId with a control character, and one entry given twice with
# another channel are refused; a byte order mark is accepted; every refused
# body is kept in DATA/rejected with a note.
# usage: test_dms_register.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/dms/dms_lib.sh"
dms_setup

register() {
    local system=$1
    shift
    "$TOOL" register --url "$DMS_URL" --system "$system" --secret-file "$HUB_DIR/secrets/$system" \
        "$@" 2>>"$HUB_DIR/client.log" || true
}

body="$LT_FIXTURES/dossier/register.json"
entries=$(jget 'len(j["entries"])' < "$body")
before=$(store_messages)

answer=$(register sys-a "$body")
echo "first: $answer"
[ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$answer")" = "OK/0" ] || hub_fail "register refused: $answer"
[ "$(jget 'j["accepted"]' <<< "$answer")" = "$entries" ] || hub_fail "accepted is not $entries"
[ "$(store_messages)" = $((before + entries)) ] || hub_fail "stored $(store_messages), expected $((before + entries))"

answer=$(register sys-a "$body")
echo "again: $answer"
[ "$(jget 'j["accepted"]' <<< "$answer")" = "$entries" ] || hub_fail "the resend was not accepted: $answer"
[ "$(jget 'j["duplicates"]' <<< "$answer")" = "$entries" ] || hub_fail "the resend was not seen as duplicates"
[ "$(store_messages)" = $((before + entries)) ] || hub_fail "the resend doubled the register"

# Changing the channel of a line is still the same entry (documentId, organId, direction).
python3 - "$body" "$HUB_DIR/changed.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["entries"][1]["channel"] = "electronic"
json.dump(d, open(sys.argv[2], "w"), ensure_ascii=False)
PY
answer=$(register sys-a "$HUB_DIR/changed.json")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "changed register refused: $answer"
[ "$(store_messages)" = $((before + entries)) ] || hub_fail "a changed line counted twice"

# A new direction for the same document is a new entry.
python3 - "$body" "$HUB_DIR/inbound.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["entries"][0]
e["direction"] = "in"
json.dump({"entries": [e]}, open(sys.argv[2], "w"), ensure_ascii=False)
PY
answer=$(register sys-a "$HUB_DIR/inbound.json")
[ "$(jget 'j["accepted"]' <<< "$answer")" = 1 ] || hub_fail "inbound entry refused: $answer"
[ "$(store_messages)" = $((before + entries + 1)) ] || hub_fail "the inbound entry was not stored"
count=$(store_messages)

# Bad entries: the first is named by index and field; nothing of the call is stored.
bad() {
    local field=$1 value=$2 index=$3 code=${4:-400}
    python3 - "$body" "$HUB_DIR/bad.json" "$field" "$value" "$index" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for n, e in enumerate(d["entries"]):
    e["documentId"] = e["documentId"] + "-bad"
field, value, index = sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5])
if value is None:
    del d["entries"][index][field]
else:
    d["entries"][index][field] = value
json.dump(d, open(sys.argv[2], "w"), ensure_ascii=False)
PY
    local answer
    answer=$(register sys-a "$HUB_DIR/bad.json")
    echo "bad $field: $answer"
    [ "$(jget 'j["status"]+"/"+j["ErrorCode"]' <<< "$answer")" = "FAIL/$code" ] || hub_fail "bad $field: $answer"
    [ "$(jget 'str(j["index"])+"/"+j["field"]' <<< "$answer")" = "$index/$field" ] \
        || hub_fail "bad $field not named: $answer"
    jget 'j["ErrorDesc"]' <<< "$answer" | grep -q -F "entries[$index].$field" || hub_fail "ErrorDesc: $answer"
    [ "$(store_messages)" = "$count" ] || hub_fail "a refused register stored entries"
}
bad direction '"sideways"' 1
bad channel '"fax"' 2
bad registeredAt '"2026-09-03 08:15"' 0
bad registeredAt '"2026/02/30 08:15:00"' 1
bad secret '"no"' 2
bad documentId null 1
bad subject 42 0
bad organId '"000.00.13.H26"' 2 403
bad registeredAt '"2999/01/01 00:00:00"' 2
bad documentId '"215/STTTT\nVP"' 0
bad registeredAt '"1944/12/31 23:59:59"' 1

# An archive's line from before 1970 (a negative Unix time) is a real date.
python3 - "$body" "$HUB_DIR/archive.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
json.dump({"entries": [dict(d["entries"][0], documentId="archive-1", registeredAt="1969/12/31 23:59:59"),
                       dict(d["entries"][0], documentId="archive-2", registeredAt="1945/09/02 09:00:00")]},
          open(sys.argv[2], "w"), ensure_ascii=False)
PY
answer=$(register sys-a "$HUB_DIR/archive.json")
[ "$(jget 'j["accepted"]' <<< "$answer")" = 2 ] || hub_fail "register lines dated before 1970 refused: $answer"
count=$((count + 2))
[ "$(store_messages)" = "$count" ] || hub_fail "the lines dated before 1970 were not stored"

# One entry (documentId, organId, direction) twice with another channel: the
# broker would keep the first and answer OK for both, so the call is refused.
python3 - "$body" "$HUB_DIR/twice.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = dict(d["entries"][1], documentId="twice-1")
json.dump({"entries": [e, dict(d["entries"][0], documentId="twice-0"), dict(e, channel="electronic")]},
          open(sys.argv[2], "w"), ensure_ascii=False)
PY
answer=$(register sys-a "$HUB_DIR/twice.json")
echo "twice: $answer"
[ "$(jget 'str(j["index"])+"/"+j["field"]' <<< "$answer")" = "2/channel" ] || hub_fail "a repeated entry with another channel: $answer"
[ "$(store_messages)" = "$count" ] || hub_fail "a refused register stored entries"

# Body problems.
answer=$(register sys-a "$body" --hash-file 0123)
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 400 ] || hub_fail "bad hash-file accepted: $answer"
answer=$("$TOOL" register --url "$DMS_URL" --system sys-a --secret-file "$HUB_DIR/secrets/wrong" \
    "$body" 2>/dev/null || true)
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 401 ] || hub_fail "wrong secret accepted: $answer"
echo '{"entries": []}' > "$HUB_DIR/empty.json"
answer=$(register sys-a "$HUB_DIR/empty.json")
[ "$(jget 'j["ErrorCode"]' <<< "$answer")" = 400 ] || hub_fail "empty register accepted: $answer"
echo '{"entries": [' > "$HUB_DIR/broken.json"
answer=$(register sys-a "$HUB_DIR/broken.json")
jget 'j["ErrorDesc"]' <<< "$answer" | grep -q "not JSON" || hub_fail "broken JSON: $answer"
[ "$(store_messages)" = "$count" ] || hub_fail "a refused register stored entries"

# A byte order mark before the JSON (Windows exports) is accepted.
python3 - "$body" "$HUB_DIR/bom.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
open(sys.argv[2], "wb").write(b"\xef\xbb\xbf" + json.dumps({"entries": [dict(d["entries"][0], documentId="bom-1")]}).encode())
PY
answer=$(register sys-a "$HUB_DIR/bom.json")
[ "$(jget 'j["accepted"]' <<< "$answer")" = 1 ] || hub_fail "a register with a byte order mark: $answer"
count=$((count + 1))
[ "$(store_messages)" = "$count" ] || hub_fail "the register with a byte order mark was not stored"

# Every refused body (not the one with a wrong secret) is kept with its reason.
kept=$(ls "$HUB_DIR/dms/rejected/"*.json 2>/dev/null | wc -l)
[ "$kept" = 15 ] || hub_fail "$kept refused registers kept in DATA/rejected, expected 15"
grep -l -q 'reason=entries\[2\].registeredAt' "$HUB_DIR/dms/rejected/"*.txt || hub_fail "no note naming the refused line"

# The broker holds them as register messages, delivered nowhere.
"$BIN/broker/lthub" status --admin "$HUB_ADMIN" --json > "$HUB_DIR/status.json"
[ "$(jget 'j["store"]["ready"]' < "$HUB_DIR/status.json")" = 0 ] \
    || hub_fail "register entries are waiting for a delivery"
stats=$(curl -sf "$DMS_URL/_dms/stats")
python3 - "$stats" "$entries" <<'PY'
import json, sys
s = json.loads(sys.argv[1])["dms"]
n = int(sys.argv[2])
assert s["register_ok"] == 6, s
assert s["register_entries"] == 3 * n + 4, s
assert s["register_fail"] == 15, s
PY
dms_stop
echo "PASS: register of $entries entries accepted, resend and changed channel not doubled, bad entries named by index and field"
