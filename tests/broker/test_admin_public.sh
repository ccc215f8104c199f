#!/usr/bin/env bash
# Admin API beyond loopback (issue: hardening 18): with admin/listen on
# 0.0.0.0, lthubd warns at start and every read endpoint needs the bearer
# token too (/ and /healthz stay open); on loopback reads stay open.
# usage: test_admin_public.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
sed -i "s|listen = \"127.0.0.1:|listen = \"0.0.0.0:|" "$HUB_DIR/lthub.cfg"
grep -q 'listen = "0.0.0.0:' "$HUB_DIR/lthub.cfg" || hub_fail "could not set the listen address"
hub_start
grep -q "event=admin_not_loopback" "$HUB_DIR/lthubd.log" || hub_fail "no warning at start"
TOKEN=$(cat "$HUB_DIR/admin.token")
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
for path in /api/v1/stats /api/v1/dead /api/v1/rejects /metrics /api/v1/trace/0189; do
  [ "$(code "http://$HUB_ADMIN$path")" = 401 ] || hub_fail "$path answered without the token"
  [ "$(code -H "Authorization: Bearer wrong" "http://$HUB_ADMIN$path")" = 401 ] || hub_fail "$path answered with a wrong token"
  [ "$(code -H "Authorization: Bearer $TOKEN" "http://$HUB_ADMIN$path")" = 200 ] || hub_fail "$path refused the token"
done
[ "$(code "http://$HUB_ADMIN/healthz")" = 200 ] || hub_fail "/healthz needs a token"
[ "$(code "http://$HUB_ADMIN/")" = 200 ] || hub_fail "/ needs a token"
hub_stop
# On loopback: no warning, reads open, changes still need the token.
sed -i "s|listen = \"0.0.0.0:|listen = \"127.0.0.1:|" "$HUB_DIR/lthub.cfg"
: > "$HUB_DIR/lthubd.log"
hub_start
grep -q "event=admin_not_loopback" "$HUB_DIR/lthubd.log" && hub_fail "warning on loopback"
[ "$(code "http://$HUB_ADMIN/api/v1/stats")" = 200 ] || hub_fail "loopback read refused"
[ "$(code -X POST "http://$HUB_ADMIN/api/v1/dead/1/replay")" = 401 ] || hub_fail "loopback change without token"
echo "PASS: beyond loopback every read needs the token and lthubd warns; loopback unchanged"
