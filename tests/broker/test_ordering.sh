#!/usr/bin/env bash
# Ordering: a revocation published right after its document never reaches
# the destination first, even when the document needs several attempts.
# usage: test_ordering.sh BUILD_DIR SOURCE_DIR FIXTURES
set -euo pipefail
BIN=$1
FIX=$3
. "$2/tests/lib/hub.sh"
hub_init
hub_keys pub sink
hub_config <<CFG
delivery
    backoff_min = 100
    backoff_max = 300
routes
    route
        kind = "document,status"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
hub_start
# The sink refuses every first-version document twice before taking it.
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" \
  --retry-btype new --retry-times 2 2>>"$HUB_DIR/sink.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --record "$HUB_DIR/pub.rec" \
  --file "$FIX/edxml/new-signed.edxml,$FIX/edxml/revocation.edxml" 2>>"$HUB_DIR/pub.log"
[ "$(wc -l < "$HUB_DIR/pub.rec")" = 2 ] || hub_fail "publisher did not get both accepted: $(cat "$HUB_DIR/pub.rec")"
hub_wait 20 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 2 ]' || hub_fail "sink got $(cat "$HUB_DIR/sink.rec" 2>/dev/null)"
cat "$HUB_DIR/sink.rec"
first=$(awk 'NR==1 {print $3}' "$HUB_DIR/sink.rec")
second=$(awk 'NR==2 {print $3}' "$HUB_DIR/sink.rec")
[ "$first" = new ] && [ "$second" = revocation ] || hub_fail "order was $first then $second"
retried=$(hub_stat '[c for c in s["connectors"] if c["name"]=="sink"][0]["retried"]')
[ "$retried" -ge 2 ] || hub_fail "the document was not retried ($retried)"
echo "PASS: document retried $retried times, revocation delivered after it"
