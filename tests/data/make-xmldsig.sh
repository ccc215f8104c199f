#!/usr/bin/env bash
# Regenerates the edXML packages with a header XML-DSig used by the lt_xmldsig
# and lt_verdict self-tests and the CLI test. The shared fixtures only have
# empty edXML:Signature elements, so these are made here: the fixture package
# new-signed.edxml gets an enveloped signature (reference URI "", transforms
# enveloped-signature + exclusive c14n, RSA-SHA256, X509Data) made by the
# xmlsec1 command-line tool (Debian package xmlsec1) with the fixture keys.
#   usage: tests/data/make-xmldsig.sh [FIXTURES_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixtures=${1:-$here/../../../shared/fixtures}
out=$here/edxml
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

template='<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>'

# sign NAME KEY: signs new-signed.edxml with pki/KEY.{key,crt} into NAME.
sign() {
  python3 - "$fixtures/edxml/new-signed.edxml" "$tmp/in.xml" "$template" <<'PY'
import sys
src, dst, tpl = sys.argv[1:4]
text = open(src, encoding="utf-8").read()
empty = "<edXML:Signature></edXML:Signature>"
assert empty in text
open(dst, "w", encoding="utf-8").write(text.replace(empty, "<edXML:Signature>" + tpl + "</edXML:Signature>", 1))
PY
  xmlsec1 --sign --privkey-pem "$fixtures/pki/$2.key,$fixtures/pki/$2.crt" \
    --output "$out/$1" "$tmp/in.xml"
}

sign xmldsig-signed.edxml signer
sign xmldsig-stranger.edxml stranger
# Altered after signing: the subject changes, the signature stays.
python3 - "$out/xmldsig-signed.edxml" "$out/xmldsig-tampered.edxml" <<'PY'
import sys
src, dst = sys.argv[1:3]
text = open(src, encoding="utf-8").read()
old = "quý III năm 2026</edXML:Subject>"
assert old in text
open(dst, "w", encoding="utf-8").write(text.replace(old, "quý IV năm 2026</edXML:Subject>", 1))
PY
for f in xmldsig-signed.edxml xmldsig-stranger.edxml; do
  xmlsec1 --verify --insecure "$out/$f" >/dev/null 2>&1 || { echo "$f does not verify" >&2; exit 1; }
done
if xmlsec1 --verify --insecure "$out/xmldsig-tampered.edxml" >/dev/null 2>&1; then
  echo "xmldsig-tampered.edxml verifies" >&2; exit 1
fi
echo "wrote $out/xmldsig-{signed,stranger,tampered}.edxml"
