#!/usr/bin/env bash
# `lthub status` shows each connector's own counters (what its last PING or
# PONG carried, /api/v1/stats connectors[].own) on a line under its row, by
# name and value, and they move with traffic; `lthub status --json` carries
# them too. The sink is lthub-testconn, whose own counters are taken,
# recorded, refused and failed, and the reason of its last FAIL.
# usage: test_status_own.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_relay
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" --fail-match BAD 2>>"$HUB_DIR/sink.log"

# own_line NAME: the line of own figures under NAME's row of lthub status.
own_line() {
  "$BIN/broker/lthub" status --admin "$HUB_ADMIN" >"$HUB_DIR/status.txt" || return 1
  awk -v name="$1" '$1 == name { row = 1; next } row && /^    own: / { print; exit } { row = 0 }' \
    "$HUB_DIR/status.txt"
}
# figure NAME FIGURE: that figure's value on NAME's line, or nothing.
figure() { own_line "$1" | grep -oE "(: |, )$2 [0-9]+" | grep -oE '[0-9]+$' || true; }

# Before traffic: the sink's counters are shown, at 0; the publisher (not
# connected) has no line.
hub_wait 20 '[ "$(figure sink recorded)" = 0 ]' \
  || hub_fail "no own counters under the sink's row: $(cat "$HUB_DIR/status.txt")"
[ "$(figure sink taken)" = 0 ] && [ "$(figure sink failed)" = 0 ] \
  || hub_fail "own line: $(own_line sink)"
[ -z "$(own_line pub)" ] || hub_fail "a line of own counters for a connector that sent none"

# Traffic: 5 messages, then 7 more and one refused for good; the figures
# move with it.
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 5 --prefix A --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ "$(figure sink recorded)" = 5 ]' \
  || hub_fail "recorded did not reach 5: $(own_line sink)"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 7 --prefix B --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --prefix BAD --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ "$(figure sink recorded)" = 12 ] && [ "$(figure sink failed)" = 1 ]' \
  || hub_fail "recorded did not move to 12 with 1 failed: $(own_line sink)"
[ "$(figure sink taken)" = 12 ] || hub_fail "taken: $(own_line sink)"
grep -qE '^    own: .*\[[0-9]+s ago\]$' "$HUB_DIR/status.txt" || hub_fail "no age of the figures: $(cat "$HUB_DIR/status.txt")"
# The last error on its own line under the figures, with its UTC time; the
# time itself is not a figure.
grep -qE '^    last error \([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}Z\): test sink refuses BAD-?[0-9]* for good$' \
  "$HUB_DIR/status.txt" || hub_fail "no last error line: $(cat "$HUB_DIR/status.txt") $(hub_status_json)"
own_line sink | grep -q 'last_error' && hub_fail "a time or the error text among the figures: $(own_line sink)"
echo "ok - lthub status: $(own_line sink | sed 's/^ *//')"

# --json carries the same object.
[ "$(hub_stat 'next(c for c in s["connectors"] if c["name"] == "sink")["own"]["test"]["recorded"]')" = 12 ] \
  || hub_fail "lthub status --json lacks connectors[].own"
hub_stop
echo "PASS: lthub status shows each connector's own counters, moving with traffic"
