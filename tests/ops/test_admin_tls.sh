#!/usr/bin/env bash
# The admin server over HTTPS (admin/tls_cert, admin/tls_key): a certificate
# from a test CA made here; curl and the lthub CLI (a https:// --admin and
# $LTHUB_CA_FILE) reach it and check its certificate; a plain HTTP request
# gets no answer; a client that does not trust the CA is refused; a config
# with the certificate but no key is refused by --check-config.
# usage: test_admin_tls.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/lib/hub.sh"
ok() { echo "ok - $*"; }
LTHUB="$BIN/broker/lthub"

hub_init
PKI="$HUB_DIR/pki"
mkdir -p "$PKI"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lthub admin test CA" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$PKI/admin.key" \
    -out "$PKI/admin.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$PKI/ext.cnf"
openssl x509 -req -in "$PKI/admin.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 2 -extfile "$PKI/ext.cnf" -out "$PKI/admin.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
    -keyout "$PKI/other.key" -out "$PKI/other.crt" 2>/dev/null
chmod 600 "$PKI"/*.key

# Certificate without its key: refused offline, naming both settings.
cp "$HUB_DIR/lthub.cfg" "$HUB_DIR/half.cfg"
sed -i "s|^admin\$|admin\n    tls_cert = \"$PKI/admin.crt\"|" "$HUB_DIR/half.cfg"
grep -q tls_cert "$HUB_DIR/half.cfg" || hub_fail "could not write the half config"
out=$("$BIN/broker/lthubd" --check-config "$HUB_DIR/half.cfg" 2>&1) && rc=0 || rc=$?
[ "$rc" != 0 ] && grep -q "tls_key" <<< "$out" || hub_fail "a certificate without key passed: $out"
ok "--check-config refuses a certificate without its key: $out"

sed -i "s|^admin\$|admin\n    tls_cert = \"$PKI/admin.crt\"\n    tls_key = \"$PKI/admin.key\"|" \
    "$HUB_DIR/lthub.cfg"
"$BIN/broker/lthubd" --config "$HUB_DIR/lthub.cfg" >>"$HUB_DIR/lthubd.log" 2>&1 &
HUB_PID=$!
HUB_PIDS="$HUB_PIDS $HUB_PID"
URL="https://$HUB_ADMIN"
hub_wait 15 'curl -sf --cacert "$PKI/ca.crt" "$URL/healthz" >/dev/null 2>&1' \
    || { cat "$HUB_DIR/lthubd.log" >&2; hub_fail "lthubd did not serve HTTPS"; }
[ "$(curl -sf --cacert "$PKI/ca.crt" "$URL/healthz")" = ok ] || hub_fail "healthz over HTTPS"
ok "curl reaches /healthz over HTTPS with the test CA"

if curl -s -m 3 -o /dev/null "http://$HUB_ADMIN/healthz" 2>/dev/null; then
    code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$HUB_ADMIN/healthz" 2>/dev/null || true)
    [ "$code" = 000 ] || hub_fail "plain HTTP was answered ($code)"
fi
ok "plain HTTP gets no answer"

curl -s -m 5 --cacert "$PKI/other.crt" "$URL/healthz" >/dev/null 2>&1 \
    && hub_fail "a client trusting another CA was answered"
ok "a client that does not trust the CA refuses the server"

LTHUB_CA_FILE="$PKI/ca.crt" "$LTHUB" status --admin "$URL" --json > "$HUB_DIR/status.json" \
    || hub_fail "lthub status over HTTPS"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "broker" in d and "store" in d' \
    "$HUB_DIR/status.json" || hub_fail "status over HTTPS: $(cat "$HUB_DIR/status.json")"
rc=0
LTHUB_CA_FILE="$PKI/other.crt" "$LTHUB" status --admin "$URL" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || hub_fail "lthub status against an untrusted server: exit $rc (want 1)"
ok "lthub status --admin https://... checks the certificate against \$LTHUB_CA_FILE"

hub_stop
ok "stopped"
