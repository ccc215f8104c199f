#!/usr/bin/env bash
# Admin API beyond loopback (issue: hardening 18): with admin/listen on
# 0.0.0.0, lthubd warns at start and every read endpoint needs the bearer
# token too (/ and /healthz stay open); on loopback reads stay open to
# loopback Host names only (DNS rebinding). Methods, security headers.
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
# DNS rebinding: a page of another site whose name resolves to 127.0.0.1
# sends its own Host; it reads nothing (421) unless it holds the token.
for host in evil.example evil.example:80 127.0.0.1.evil.example localhost.evil.example; do
  [ "$(code -H "Host: $host" "http://$HUB_ADMIN/api/v1/stats")" = 421 ] || hub_fail "read with Host $host"
  [ "$(code -H "Host: $host" "http://$HUB_ADMIN/")" = 421 ] || hub_fail "page with Host $host"
done
for host in 127.0.0.1 "$HUB_ADMIN" LOCALHOST:1 "[::1]:8470"; do
  [ "$(code -H "Host: $host" "http://$HUB_ADMIN/api/v1/stats")" = 200 ] || hub_fail "read refused with Host $host"
done
[ "$(code -H "Host: evil.example" -H "Authorization: Bearer $TOKEN" "http://$HUB_ADMIN/api/v1/stats")" = 200 ] \
  || hub_fail "the token did not pass another Host"
[ "$(code -H "Host: evil.example" "http://$HUB_ADMIN/healthz")" = 200 ] || hub_fail "/healthz with another Host"
# Only GET and HEAD, and POST where something changes; "bearer" in any case.
for m in OPTIONS DELETE PUT POST; do
  [ "$(code -X $m "http://$HUB_ADMIN/api/v1/stats")" = 405 ] || hub_fail "$m /api/v1/stats not 405"
done
[ "$(code -X DELETE "http://$HUB_ADMIN/api/v1/dead/1/replay")" = 405 ] || hub_fail "DELETE replay not 405"
[ "$(code -I "http://$HUB_ADMIN/api/v1/dead")" = 200 ] || hub_fail "HEAD /api/v1/dead"
curl -s -X POST -H "Authorization: bearer $TOKEN" "http://$HUB_ADMIN/api/v1/dead/1/replay" | grep -q "not a dead letter" \
  || hub_fail "lower-case bearer scheme refused"
# Every answer: no caching, no sniffing, no framing; the page runs script
# from this server only (none inline), data runs nothing.
for path in / /app.js /ops.js /api/v1/stats /api/v1/dead/1 /metrics /nowhere; do
  curl -s -D "$HUB_DIR/h" -o "$HUB_DIR/b" "http://$HUB_ADMIN$path"
  for h in "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY" "Cache-Control: no-store" \
           "Content-Security-Policy: default-src 'none'" "frame-ancestors 'none'"; do
    grep -qiF "$h" "$HUB_DIR/h" || hub_fail "$path lacks $h"
  done
done
curl -s -D "$HUB_DIR/h" -o "$HUB_DIR/b" "http://$HUB_ADMIN/"
grep -qF "script-src 'self';" "$HUB_DIR/h" || hub_fail "the page's CSP lets other script in"
grep -q '<script>' "$HUB_DIR/b" && hub_fail "inline script in the page"
curl -s -D "$HUB_DIR/h" -o /dev/null "http://$HUB_ADMIN/api/v1/stats"
grep -qF "sandbox" "$HUB_DIR/h" || hub_fail "data answers are not sandboxed"
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
echo "PASS: beyond loopback every read needs the token and lthubd warns; on loopback another Host needs it; methods, security headers; out-of-range ids 404"
