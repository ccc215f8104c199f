#!/usr/bin/env bash
# Config: --check-config names file and line of every error; SIGHUP reloads
# routes without losing anything; lthubd supervises its connectors (starts
# them, restarts one killed with SIGKILL, stops them on SIGTERM).
# usage: test_config_reload.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_keys pub sinka sinkb

# 1. Offline check with errors.
cat > "$HUB_DIR/bad.cfg" <<CFG
broker
    heartbeat = 5
routes
    route
        kind = "letter"
        to = "sinka"
CFG
if out=$("$BIN/broker/lthubd" --check-config "$HUB_DIR/bad.cfg"); then hub_fail "bad config accepted"; fi
echo "$out"
echo "$out" | grep -q "bad.cfg:2: 'broker/heartbeat' must be between 100" || hub_fail "no line for heartbeat"
echo "$out" | grep -q "bad.cfg:5: route kind 'letter' is unknown" || hub_fail "no line for kind"

# 2. A supervised sink, routes to sinka.
TESTCONN="$BIN/tests/lthub-testconn"
cp "$HUB_DIR/lthub.cfg" "$HUB_DIR/base.cfg"
write_config() {  # $1 = destination connector
  cp "$HUB_DIR/base.cfg" "$HUB_DIR/lthub.cfg"
  cat >> "$HUB_DIR/lthub.cfg" <<CFG
routes
    route
        kind = "document"
        match = "*"
        to = "$1"
connectors
    pub
    sinka
        program = "$TESTCONN"
        args = "$(hub_conn_args sinka) --record $HUB_DIR/sinka.rec"
    sinkb
        program = "$TESTCONN"
        args = "$(hub_conn_args sinkb) --record $HUB_DIR/sinkb.rec"
CFG
}
write_config sinka
"$BIN/broker/lthubd" --check-config "$HUB_DIR/lthub.cfg"
hub_start
hub_wait 20 '[ "$(hub_stat "sum(c[\"connected\"] for c in s[\"connectors\"])")" = 2 ]' || hub_fail "supervised sinks did not connect"
"$TESTCONN" $(hub_conn_args pub) --count 50 --prefix A --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ -f "$HUB_DIR/sinka.rec" ] && [ $(wc -l < "$HUB_DIR/sinka.rec") = 50 ]' || hub_fail "sinka got $(wc -l < "$HUB_DIR/sinka.rec")"

# 3. SIGHUP with routes to sinkb; the next messages go there.
write_config sinkb
kill -HUP "$HUB_PID"
hub_wait 10 'grep -q "event=reloaded" "$HUB_DIR/lthubd.log"' || hub_fail "no reload logged"
"$TESTCONN" $(hub_conn_args pub) --count 50 --prefix B --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ -f "$HUB_DIR/sinkb.rec" ] && [ $(wc -l < "$HUB_DIR/sinkb.rec") = 50 ]' || hub_fail "sinkb got $(wc -l < "$HUB_DIR/sinkb.rec" 2>/dev/null)"
[ "$(wc -l < "$HUB_DIR/sinka.rec")" = 50 ] || hub_fail "sinka got more after the reload"
grep -q " B-" "$HUB_DIR/sinka.rec" && hub_fail "a B message went to sinka"
# A bad config on SIGHUP keeps the running one.
echo "broker" > "$HUB_DIR/lthub.cfg"; echo "    heartbeat = oops" >> "$HUB_DIR/lthub.cfg"
kill -HUP "$HUB_PID"
hub_wait 10 'grep -q "event=reload_failed" "$HUB_DIR/lthubd.log"' || hub_fail "bad reload not reported"
curl -sf "http://$HUB_ADMIN/healthz" >/dev/null || hub_fail "broker gone after a bad reload"

# 4. Supervision: SIGKILL a connector, lthubd restarts it.
old=$(pgrep -f -- "--name sinkb --broker $HUB_ENDPOINT " | head -1)
[ -n "$old" ] || hub_fail "sinkb not running"
kill -9 "$old"
hub_wait 20 'new=$(pgrep -f -- "--name sinkb --broker $HUB_ENDPOINT " | head -1); [ -n "$new" ] && [ "$new" != "$old" ]' || hub_fail "sinkb not restarted"
grep -q "event=exited connector=sinkb" "$HUB_DIR/lthubd.log" || hub_fail "exit not logged"

# 5. SIGTERM stops the connectors too.
pids=$(pgrep -f -- "--keys $HUB_KEYS" || true)
hub_stop
for pid in $pids; do
  hub_wait 10 "! kill -0 $pid 2>/dev/null" || hub_fail "connector $pid still running after lthubd stopped"
done
echo "PASS: check-config lines, SIGHUP reload of routes (100 of 100 delivered), supervision restart and stop"
