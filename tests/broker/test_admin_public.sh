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
for path in /api/v1/stats /api/v1/dead /api/v1/rejects /metrics "/api/v1/trace?key=0189"; do
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
# An id out of the store's range (over INT64_MAX, or negative) is not a
# delivery id: 400 naming it, never a relayed request gone wrong.
for id in 18446744073709551615 18446744073709551616 123456789012345678901234 \
          9223372036854775808 -1 +5 abc; do
  for path in /api/v1/dead/$id /api/v1/delivery/$id; do
    [ "$(code "http://$HUB_ADMIN$path")" = 400 ] || hub_fail "GET $path did not answer 400"
  done
  [ "$(code -X POST -H "Authorization: Bearer $TOKEN" "http://$HUB_ADMIN/api/v1/dead/$id/replay")" = 404 ] \
    || hub_fail "POST /api/v1/dead/$id/replay did not answer 404"
done
curl -s "http://$HUB_ADMIN/api/v1/dead/9223372036854775807" | grep -q "no such delivery" \
  || hub_fail "the largest id was not looked up"
# A well-formed id the store does not have is 404 naming it; a malformed
# one 400 naming what was given.
A="http://$HUB_ADMIN/api/v1"
[ "$(code "$A/dead/999999")" = 404 ] || hub_fail "unknown delivery not 404"
curl -s "$A/dead/999999" | grep -q "no such delivery 999999" || hub_fail "404 does not name the id"
curl -s "$A/dead/abc" | grep -q "'abc' is not a delivery id" || hub_fail "400 does not name 'abc'"
[ "$(code "$A/trace/01a1fff7-f4e1-7001-90cd-d8fc4d03cfc6")" = 404 ] || hub_fail "unknown message not 404"
curl -s "$A/trace/01a1fff7-f4e1-7001-90cd-d8fc4d03cfc6" | grep -q "no message 01a1fff7-f4e1-7001-90cd-d8fc4d03cfc6" \
  || hub_fail "trace 404 does not name the id"
# A NUL in the path or a query value is refused, never read up to it.
[ "$(code "$A/dead/1%00")" = 400 ] || hub_fail "dead/1%00 not 400"
curl -s "$A/dead/1%00" | grep -q "NUL byte" || hub_fail "dead/1%00 does not say NUL"
curl -s "$A/trace?key=a%00b" | grep -q "'key' contains a NUL byte" || hub_fail "key with NUL not refused"
# A limit that cannot be read is refused, naming limit and its range.
for limit in abc -1 0 4294967297 10001 ''; do
  for path in "dead?limit=$limit" "rejects?limit=$limit" "trace?key=K&limit=$limit"; do
    [ "$(code "$A/$path")" = 400 ] || hub_fail "$path not 400"
    curl -s "$A/$path" | grep -q "limit '$limit' is not a whole number from 1 to 10000" \
      || hub_fail "$path does not name limit and its range"
  done
done
[ "$(code "$A/dead?limit=5")" = 200 ] || hub_fail "dead?limit=5 refused"
long=$(printf 'k%.0s' $(seq 257))
curl -s "$A/trace?key=$long" | grep -q "key is too long: 257 bytes, at most 256" || hub_fail "long key"
[ "$(code "$A/trace?key=${long:1}")" = 200 ] || hub_fail "key of 256 bytes refused"
# Reports: only the hub's report codes, and no argument given twice.
B=(-X POST -H "Authorization: Bearer $TOKEN")
long=$(printf 'C%.0s' $(seq 5000))
for c in '%3Cscript%3E' 'A%2FB' "$long" '%0Aevent%3Dfake' 'PAR-7'; do
  [ "$(code "${B[@]}" "$A/reports?period=2026-Q3&code=$c")" = 400 ] || hub_fail "report code $c not 400"
  curl -s "${B[@]}" "$A/reports?period=2026-Q3&code=$c" | grep -q "code '.*' is not a report code of this hub (PAR-7.1" \
    || hub_fail "report code $c: $(curl -s "${B[@]}" "$A/reports?period=2026-Q3&code=$c" | head -c 300)"
done
for twice in 'code=PAR-7.1&code=X' 'period=2026-Q3&period=2026-Q2' 'agency=&agency=000.00.12.H26'; do
  name=${twice%%=*}
  curl -s "${B[@]}" "$A/reports?period=2026-Q3&$twice" | grep -q "'$name' is given twice" \
    || hub_fail "report with $twice not refused"
done
grep -q 'event=report_published' "$HUB_DIR/lthubd.log" && hub_fail "a refused report was published"
echo "PASS: beyond loopback every read needs the token and lthubd warns; on loopback another Host needs it; methods, security headers; ids, limits, keys, NULs and report codes refused by name; unknown ids 404"
