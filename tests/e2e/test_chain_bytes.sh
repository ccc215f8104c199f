#!/usr/bin/env bash
# A hop changes nothing but inserting its TraceHeader (issue #12 item 16,
# spec/peers.md A), through the real chain:
#   DMS -> lthub-dms -> lthubd -> lthub-axis -> lthub-sim axis (--store)
# for documents with and without attachments (the hub's writer's shape and
# the 7 930-byte signed fixture), a document written with other namespace
# prefixes and indentation, a status package without a TraceHeaderList; what
# the axis stored, less the hub's TraceHeader (and the TraceHeaderList the
# hub added around it), is exactly what the DMS sent. The other direction:
# a package the ministry sends through the axis reaches sys-a's getEdoc byte
# for byte (or with only a TraceHeader inserted), and a package between two
# DMS of the province reaches the other one unchanged.
# usage: test_chain_bytes.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
FIX=${LT_FIXTURES:-$SRC/../shared/fixtures}
. "$SRC/tests/e2e/e2e_lib.sh"
chain_hub
chain_sim axis1
chain_dms
chain_axis
P="$HUB_DIR/pkgs"
CHECK="python3 $SRC/tests/e2e/bytes_check.py"

# The packages, each with its own DocumentId.
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.G22 --number 601 --notation STTTT-VP \
    --attach "$FIX/pdf/unsigned.pdf" "$P/attached.edxml"
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.G22 --number 602 --notation STTTT-VP \
    "$P/bare.edxml"
"$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.G22 --number 603 --notation STTTT-VP \
    --attach "$FIX/pdf/signed.pdf" "$P/source.edxml"
# Another writer: prefix "q" declared on the root, tabs, CRLF line ends.
python3 - "$P/source.edxml" "$P/other.edxml" <<'PY'
import sys
t = open(sys.argv[1], encoding="utf-8").read()
t = t.replace(' xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"', "")
t = t.replace('<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">',
              '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" '
              'xmlns:q="http://www.mic.gov.vn/TBT/QCVN_102_2016">')
t = t.replace("edXML:", "q:").replace("  ", "\t").replace("\n", "\r\n")
open(sys.argv[2], "w", encoding="utf-8", newline="").write(t)
PY
# A status about a ministry's document, without a TraceHeaderList.
python3 - "$FIX/edxml/status-03-accepted.edxml" "$P/status.edxml" <<'PY'
import sys
t = open(sys.argv[1], "rb").read()
assert b"TraceHeaderList" not in t
# The ministry's acceptance turned around: From the province's agency, about
# a ministry's document.
t = t.replace(b"000.00.00.G22", b"@@").replace(b"000.00.12.H26", b"000.00.00.G22")
t = t.replace(b"@@", b"000.00.12.H26")
open(sys.argv[2], "wb").write(t)
PY
cp "$FIX/edxml/new-signed.edxml" "$P/signed.edxml"
grep -q "q:edXMLHeader" "$P/other.edxml" && ! grep -q "edXML:" "$P/other.edxml" \
    || fail "the other writer's package was not made"

for f in attached bare other signed; do
    answer=$(dms_send sys-a "$P/$f.edxml" $([ $f = signed ] && echo --to 000.00.00.G22,000.00.13.H26))
    [ "$(jget 'j["status"]' <<< "$answer")" = OK ] || fail "sendEdoc $f refused: $answer"
done
answer=$(dms_send sys-a "$P/status.edxml" --messagetype status)
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || fail "sendEdoc status refused: $answer"
within 60 '[ "$(ls "$HUB_DIR/axis1" | wc -l)" -ge 5 ]' || fail "the axis did not receive 5 packages"
ok "the axis received $(ls "$HUB_DIR/axis1" | wc -l) packages"
for f in attached bare other signed status; do
    found=""
    for stored in "$HUB_DIR/axis1"/*.edxml; do
        if result=$($CHECK "$P/$f.edxml" "$stored" "$PROVINCE"); then
            found="$result"
            break
        fi
    done
    [ -n "$found" ] || fail "$f: no package at the axis equals what the DMS sent plus a TraceHeader ($(for s in "$HUB_DIR/axis1"/*.edxml; do $CHECK "$P/$f.edxml" "$s" "$PROVINCE"; done | sort -u | tr "\n" ";"))"
    [ "$found" != unchanged ] || fail "$f: the hub did not insert its TraceHeader"
    ok "$f ($(wc -c < "$P/$f.edxml") bytes): $found"
done

# The province's other DMS got the signed package as sent.
within 30 '[ -n "$(dms_item sys-b "000.00.12.H26,2026/09/03,215/STTTT-VP")" ]' \
    || fail "sys-b did not get the signed package"
item=$(dms_item sys-b "000.00.12.H26,2026/09/03,215/STTTT-VP")
[ -n "$item" ] || fail "no item for the signed package at sys-b"
dms_call sys-b getEdoc docId="$item" --data-out "$HUB_DIR/sysb.edxml" > /dev/null
result=$($CHECK "$P/signed.edxml" "$HUB_DIR/sysb.edxml" "$PROVINCE") || fail "sys-b: $result"
ok "sys-b's copy: $result"

# The ministry sends through the axis; sys-a receives it as sent.
axis_send "$FIX/edxml/reply-from-ministry.edxml" --to 000.00.12.H26
key=$(python3 -c 'import re,sys; print(re.search(r"<edXML:DocumentId>([^<]*)", open(sys.argv[1], encoding="utf-8").read()).group(1))' "$FIX/edxml/reply-from-ministry.edxml")
within 60 '[ -n "$(dms_item sys-a "$key")" ]' || fail "the ministry's package did not reach sys-a"
dms_call sys-a getEdoc docId="$(dms_item sys-a "$key")" --data-out "$HUB_DIR/sysa.edxml" > /dev/null
result=$($CHECK "$FIX/edxml/reply-from-ministry.edxml" "$HUB_DIR/sysa.edxml" "$PROVINCE") \
    || fail "the ministry's package at sys-a: $result"
ok "the ministry's package at sys-a: $result"
chain_stop_all
echo "PASS: test_chain_bytes"
