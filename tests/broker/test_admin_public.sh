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
# An id out of the store's range (over INT64_MAX, or negative) names no
# delivery: 404, as any unknown path, never a relayed request gone wrong.
for id in 18446744073709551615 18446744073709551616 123456789012345678901234 \
          9223372036854775808 -1 +5; do
  for path in /api/v1/dead/$id /api/v1/delivery/$id; do
    [ "$(code "http://$HUB_ADMIN$path")" = 404 ] || hub_fail "GET $path did not answer 404"
  done
  [ "$(code -X POST -H "Authorization: Bearer $TOKEN" "http://$HUB_ADMIN/api/v1/dead/$id/replay")" = 404 ] \
    || hub_fail "POST /api/v1/dead/$id/replay did not answer 404"
done
curl -s "http://$HUB_ADMIN/api/v1/dead/9223372036854775807" | grep -q "no such delivery" \
  || hub_fail "the largest id was not looked up"
echo "PASS: beyond loopback every read needs the token and lthubd warns; loopback unchanged; out-of-range ids 404"
