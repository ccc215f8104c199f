#!/bin/sh
# edxml_xsd: check schemas/edxml/edxml.xsd against the good edXML fixtures and
# the packages lt_edxml's self-test wrote, and check that it refuses the
# malformed fixtures that are well-formed XML (wrong namespace, missing
# DocumentId, unknown StatusCode).
# usage: edxml_xsd.sh XSD FIXTURE_DIR WRITTEN_DIR
set -u
xsd=$1 fixtures=$2 written=$3
fail=0 checked=0

# Validate one file; $2 is "good" or "bad" (must be refused).
check() {
    if xmllint --noout --nonet --schema "$xsd" "$1" >/tmp/edxml_xsd.$$ 2>&1; then
        ok=good
    else
        ok=bad
    fi
    checked=$((checked + 1))
    if [ "$ok" != "$2" ]; then
        echo "FAIL: $1 should be $2 for the XSD:" >&2
        cat /tmp/edxml_xsd.$$ >&2
        fail=1
    fi
}

for f in "$fixtures"/*.edxml; do
    check "$f" good
done
found=0
for f in "$written"/*.edxml; do
    [ -e "$f" ] || continue
    found=1
    check "$f" good
done
if [ $found = 0 ]; then
    echo "FAIL: no written packages in $written (run lt_edxml first)" >&2
    fail=1
fi
for f in wrong-namespace missing-documentid unknown-status-code; do
    check "$fixtures/bad/$f.edxml" bad
done
rm -f /tmp/edxml_xsd.$$
echo "edxml_xsd: $checked files checked"
exit $fail
