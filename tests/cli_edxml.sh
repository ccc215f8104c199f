#!/bin/sh
# cli_edxml: runs `lthub edxml inspect|validate` on the shared fixtures and
# the XML-DSig test packages, and checks verdicts, signers and exit codes.
#   usage: cli_edxml.sh LTHUB FIXTURES_DIR TEST_DATA_DIR
set -u
lthub=$1
fixtures=$2
data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run NAME WANT_RC ARGS...: runs lthub, keeps output in $tmp/NAME.
run() {
  name=$1 want=$2
  shift 2
  "$lthub" "$@" >"$tmp/$name" 2>&1
  rc=$?
  [ "$rc" = "$want" ] || fail "$name: exit $rc, want $want: $(head -3 "$tmp/$name")"
}

# has NAME TEXT: the output of NAME contains TEXT.
has() {
  grep -qF -- "$2" "$tmp/$1" || fail "$1: output lacks '$2'"
}

# The fixture pki folder also holds stranger.crt: trust only the test root.
mkdir "$tmp/trust"
cp "$fixtures/pki/ca.crt" "$tmp/trust/"

run version 0 --version
has version "lthub "
run signed 0 edxml inspect "$fixtures/edxml/new-signed.edxml" --trust "$tmp/trust"
has signed "signatures: valid"
has signed "Nguyen Van A"
has signed "Main file    1 215-STTTT-VP.pdf: valid, signer Nguyen Van A"
has signed "XML-DSig     absent"
has signed "DocumentId   000.00.12.H26,2026/09/03,215/STTTT-VP"
has signed "zipped"
run signed_json 0 edxml inspect "$fixtures/edxml/new-signed.edxml" --json --trust "$tmp/trust/ca.crt"
has signed_json '"verdict": "valid"'
has signed_json '"signer_name": "Nguyen Van A"'
if command -v python3 >/dev/null 2>&1; then
  python3 - "$tmp/signed_json" <<'PY' || fail "signed_json: JSON checks"
import json, sys
r = json.load(open(sys.argv[1], encoding="utf-8"))
assert r["kind"] == "document" and r["main_file"]["verdict"] == "valid", r["main_file"]
assert r["attachments"][0]["signatures"][0]["signer"] == "Nguyen Van A"
assert r["attachments"][0]["signatures"][0]["covers_file"] is True
assert r["xmldsig"]["verdict"] == "absent"
PY
fi
run untrusted 0 edxml inspect "$fixtures/edxml/new-signed.edxml"
has untrusted "signatures: valid_untrusted"
has untrusted "no trust anchors configured"
run tampered 0 edxml inspect "$fixtures/edxml/new-tampered.edxml" --trust "$tmp/trust"
has tampered "signatures: invalid"
has tampered "message digest mismatch (file altered after signing)"
has tampered ": invalid, signer Nguyen Van A"
run unsigned 0 edxml inspect "$fixtures/edxml/new-unsigned-raw.edxml" --trust "$tmp/trust"
has unsigned "signatures: unsigned"
has unsigned ": unsigned"
run status 0 edxml inspect "$fixtures/edxml/status-03-accepted.edxml"
has status "StatusCode   03"
has status "Main file    none"
run dsig 0 edxml inspect "$data/edxml/xmldsig-signed.edxml" --trust "$tmp/trust"
has dsig "XML-DSig     valid, signer Nguyen Van A"
run dsig_bad 0 edxml inspect "$data/edxml/xmldsig-tampered.edxml" --trust "$tmp/trust"
has dsig_bad "XML-DSig     invalid"
has dsig_bad "reference digest mismatch"

run valid 0 edxml validate "$fixtures/edxml/new-signed.edxml"
has valid "valid"
run missing 1 edxml validate "$fixtures/edxml/bad/missing-documentid.edxml"
has missing "DocumentId"
for bad in truncated wrong-namespace entity-expansion external-entity bad-base64; do
  run "bad_$bad" 1 edxml validate "$fixtures/edxml/bad/$bad.edxml"
  has "bad_$bad" "invalid: "
done
run inspect_bad 1 edxml inspect "$fixtures/edxml/bad/truncated.edxml"
run no_file 1 edxml validate "$tmp/does-not-exist.edxml"

run usage 2 edxml
run usage_sub 2 edxml frobnicate
run usage_opt 2 edxml inspect "$fixtures/edxml/new-signed.edxml" --bogus
run usage_trust 2 edxml inspect "$fixtures/edxml/new-signed.edxml" --trust "$tmp/none"
run usage_validate 2 edxml validate
run help 0 edxml --help
has help "lthub edxml inspect FILE"

if [ "$failures" -ne 0 ]; then
  echo "cli_edxml: $failures failure(s)" >&2
  exit 1
fi
echo "cli_edxml: OK"
