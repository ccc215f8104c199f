#!/usr/bin/env bash
# Alerts clear themselves when their cause goes away, and the operator's
# CLI shows them: a connector killed with SIGKILL raises connector_down
# (lthub alerts exits 3, /api/v1/alerts, /metrics), its restart clears it; a
# dead letter raises dead_letter, replay (and a sink that accepts) clears
# it, and so does discard. Along the way: lthub dead list|show|replay|
# discard, trace by message id and by business key, top --once, status,
# check-config, with --json everywhere and the documented exit codes.
# usage: test_alerts_cli.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
LTHUB="$BIN/broker/lthub"
hub_init
hub_keys pub sink
hub_config <<CFG
delivery
    max_attempts = 2
    backoff_min = 50
    backoff_max = 100
alerts
    connector_down = 2
routes
    route
        kind = "document"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
hub_start
A="--admin $HUB_ADMIN"
T="--token-file $HUB_DIR/admin.token"
start_sink() {
  hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" "$@" 2>>"$HUB_DIR/sink.log"
  SINK_PID=$!
}
# Alerts of one kind for the sink, from lthub alerts --json.
sink_alerts() {
  "$LTHUB" alerts $A --json | python3 -c "import json,sys; print(sum(1 for a in json.load(sys.stdin)['alerts'] if a['kind']=='$1' and a['connector']=='sink'))"
}
metric() { curl -sf "http://$HUB_ADMIN/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

start_sink --retry-match POISON
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 50 --prefix GOOD --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 50 ]' || hub_fail "traffic stalled"
[ "$(sink_alerts connector_down)" = 0 ] || hub_fail "connector_down for a connected sink"
[ "$(sink_alerts dead_letter)" = 0 ] || hub_fail "dead_letter alert without dead letters"

# --- connector down, then back
kill -9 "$SINK_PID"
hub_wait 15 '[ "$(sink_alerts connector_down)" = 1 ]' || hub_fail "no connector_down alert after SIGKILL"
rc=0; "$LTHUB" alerts $A > "$HUB_DIR/alerts.txt" || rc=$?
[ "$rc" = 3 ] || hub_fail "lthub alerts exit $rc with alerts active (want 3)"
grep -q '^connector_down .* sink ' "$HUB_DIR/alerts.txt" || hub_fail "alerts table: $(cat "$HUB_DIR/alerts.txt")"
[ "$(metric 'lthub_alerts{kind="connector_down"}')" -ge 1 ] || hub_fail "metrics connector_down gauge"
[ "$(metric 'lthub_connector_connected{connector="sink"}')" = 0 ] || hub_fail "metrics: sink connected"
start_sink --retry-match POISON
hub_wait 15 '[ "$(sink_alerts connector_down)" = 0 ]' || hub_fail "connector_down did not clear when the sink came back"
echo "ok - connector_down raised after SIGKILL, cleared on reconnect"

# --- dead letter, replay
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --prefix POISON --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ "$(sink_alerts dead_letter)" = 1 ]' || hub_fail "no dead_letter alert"
[ "$(metric 'lthub_alerts{kind="dead_letter"}')" = 1 ] || hub_fail "metrics dead_letter gauge"
"$LTHUB" status $A | grep -q '^ALERT dead_letter: 1 ' || hub_fail "lthub status does not show the alert"
"$LTHUB" dead list $A | grep -q 'POISON-1' || hub_fail "dead list"
delivery=$("$LTHUB" dead list $A --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["dead"][0]["delivery"])')
"$LTHUB" dead show "$delivery" $A > "$HUB_DIR/show.txt" || hub_fail "dead show"
grep -q "delivery $delivery (dead) to sink" "$HUB_DIR/show.txt" || hub_fail "dead show: $(cat "$HUB_DIR/show.txt")"
grep -q 'RETRY' "$HUB_DIR/show.txt" || hub_fail "dead show has no reasons"
"$LTHUB" dead show "$delivery" $A --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"]=="dead" and d["key"]=="POISON-1", d'
rc=0; "$LTHUB" dead replay "$delivery" $A 2>"$HUB_DIR/notoken.txt" || rc=$?
[ "$rc" = 1 ] || hub_fail "replay without token: exit $rc (want 1)"
grep -q -- '--token-file FILE' "$HUB_DIR/notoken.txt" \
  || hub_fail "replay without token does not say to give --token-file: $(cat "$HUB_DIR/notoken.txt")"
echo wrong >"$HUB_DIR/wrong.token"
rc=0; "$LTHUB" dead replay "$delivery" $A --token-file "$HUB_DIR/wrong.token" 2>"$HUB_DIR/badtoken.txt" || rc=$?
[ "$rc" = 1 ] || hub_fail "replay with a wrong token: exit $rc (want 1)"
grep -q "refused the token in $HUB_DIR/wrong.token" "$HUB_DIR/badtoken.txt" \
  || hub_fail "a refused token file is not named: $(cat "$HUB_DIR/badtoken.txt")"
rc=0; "$LTHUB" status --admin 2>"$HUB_DIR/noadmin.txt" || rc=$?
[ "$rc" = 2 ] && grep -q -- '--admin needs a value' "$HUB_DIR/noadmin.txt" \
  || hub_fail "lthub status --admin without a value: exit $rc, $(cat "$HUB_DIR/noadmin.txt")"
rc=0; "$LTHUB" dead show nonsense $A 2>"$HUB_DIR/nonsense.txt" || rc=$?
[ "$rc" = 2 ] && grep -q "'nonsense' is not a delivery id" "$HUB_DIR/nonsense.txt" \
  || hub_fail "dead show nonsense: exit $rc (want 2), $(cat "$HUB_DIR/nonsense.txt")"
# Every usage error names the bad input, exit 2; lthub replay is dead replay.
for args in "replay nonsense" "dead shwo" "rejects replay nonsense" "dead list --limit many" \
            "backup $HUB_DIR/nowhere --bogus" "restore $HUB_DIR/nowhere --data" \
            "top --count many" "top --interval soon"; do
  rc=0; "$LTHUB" $args $A 2>"$HUB_DIR/usage.txt" >/dev/null || rc=$?
  bad=${args##* }
  [ "$rc" = 2 ] && grep -q -- "$bad" "$HUB_DIR/usage.txt" \
    || hub_fail "lthub $args: exit $rc (want 2) and '$bad' named: $(cat "$HUB_DIR/usage.txt")"
done
# The sink now accepts everything: the replayed letter goes through.
kill -9 "$SINK_PID"
start_sink
"$LTHUB" dead replay "$delivery" $A $T | grep -q 'queued again' || hub_fail "dead replay"
hub_wait 20 'grep -q POISON-1 "$HUB_DIR/sink.rec"' || hub_fail "replayed letter not delivered"
hub_wait 10 '[ "$(sink_alerts dead_letter)" = 0 ]' || hub_fail "dead_letter did not clear after replay"
msgid=$(awk '/POISON-1/ {print $1}' "$HUB_DIR/sink.rec")
"$LTHUB" trace "$msgid" $A | grep -q 'done' || hub_fail "trace by id: $("$LTHUB" trace "$msgid" $A)"
# Not found is exit 1 (as dead show of no such delivery), naming the input.
unknown=00000000-0000-7000-8000-000000000000
rc=0; "$LTHUB" trace "$unknown" $A >/dev/null 2>"$HUB_DIR/trace-unknown.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "no message $unknown" "$HUB_DIR/trace-unknown.txt" \
  || hub_fail "trace of an unknown id: exit $rc, $(cat "$HUB_DIR/trace-unknown.txt")"
rc=0; "$LTHUB" trace --key NO-SUCH-KEY $A --json > "$HUB_DIR/trace-unknown.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] && python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["deliveries"] == []' "$HUB_DIR/trace-unknown.json" \
  || hub_fail "trace --key of an unknown key: exit $rc"
rc=0; "$LTHUB" dead show 99999999 $A 2>"$HUB_DIR/show-unknown.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "no such delivery 99999999" "$HUB_DIR/show-unknown.txt" && grep -q "lthub dead list" "$HUB_DIR/show-unknown.txt" \
  || hub_fail "dead show of no such delivery: exit $rc, $(cat "$HUB_DIR/show-unknown.txt")"
echo "ok - dead_letter raised, shown, replayed, delivered, cleared"

# --- dead letter, discard
kill -9 "$SINK_PID"
start_sink --retry-match POISON
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --prefix POISON2 --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ "$(sink_alerts dead_letter)" = 1 ]' || hub_fail "no dead_letter alert (2)"
delivery=$("$LTHUB" dead list $A --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["dead"][0]["delivery"])')
"$LTHUB" dead discard "$delivery" $A $T --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["state"]=="discarded"'
hub_wait 10 '[ "$(sink_alerts dead_letter)" = 0 ]' || hub_fail "dead_letter did not clear after discard"
[ "$(hub_stat 's["store"]["dead"]')" = 0 ] || hub_fail "store still counts a dead letter"
"$LTHUB" trace POISON2-1 $A --json | python3 -c '
import json,sys
d = json.load(sys.stdin)["deliveries"]
assert len(d) == 1 and d[0]["state"] == "discarded" and "discarded by" in d[0]["errors"], d'
"$LTHUB" trace --key POISON2-1 $A | grep -q discarded || hub_fail "trace by key (table)"
rc=0; "$LTHUB" dead discard "$delivery" $A $T 2>/dev/null || rc=$?
[ "$rc" = 1 ] || hub_fail "discarding twice: exit $rc (want 1)"
echo "ok - dead_letter discarded (kept, traced by key), cleared"

# --- top, status, check-config, --help
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 2000 --prefix LOAD --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log" &
LOAD=$!; HUB_PIDS="$HUB_PIDS $LOAD"
"$LTHUB" top --once --interval 1 $A > "$HUB_DIR/top.txt" || hub_fail "top --once"
grep -q '^CONNECTOR' "$HUB_DIR/top.txt" && grep -q '^sink ' "$HUB_DIR/top.txt" || hub_fail "top: $(cat "$HUB_DIR/top.txt")"
"$LTHUB" top --count 2 --interval 0.5 $A --json > "$HUB_DIR/top.json"
python3 - "$HUB_DIR/top.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    t = json.loads(l)
    names = {c["name"] for c in t["connectors"]}
    assert {"pub", "sink"} <= names, names
    for c in t["connectors"]:
        assert c["in_per_s"] >= 0 and c["out_per_s"] >= 0 and c["queue"] >= 0
PY
wait "$LOAD"
"$LTHUB" status $A | grep -q '^sink ' || hub_fail "status table"
"$LTHUB" status $A --json | python3 -c 'import json,sys; s=json.load(sys.stdin); assert "histograms" in s and "alerts" in s and s["store"]["size_bytes"] > 0'
"$LTHUB" check-config "$HUB_DIR/lthub.cfg" | grep -q ': OK' || hub_fail "check-config"
printf 'broker\n    heartbeat = 5\n' > "$HUB_DIR/bad.cfg"
rc=0; "$LTHUB" check-config "$HUB_DIR/bad.cfg" > "$HUB_DIR/bad.txt" || rc=$?
[ "$rc" = 1 ] && grep -q 'bad.cfg:2:' "$HUB_DIR/bad.txt" || hub_fail "check-config of a bad file: exit $rc, $(cat "$HUB_DIR/bad.txt")"
rc=0; "$BIN/broker/lthubd" --check-config 2>"$HUB_DIR/nofile.txt" || rc=$?
[ "$rc" = 2 ] && grep -q -- '--check-config needs a FILE' "$HUB_DIR/nofile.txt" \
  || hub_fail "lthubd --check-config without a file: exit $rc, $(cat "$HUB_DIR/nofile.txt")"
{ "$LTHUB" check-config "$HUB_DIR/bad.cfg" --json || true; } | python3 -c 'import json,sys; d=json.load(sys.stdin); assert not d["valid"] and d["problems"], d'
"$LTHUB" --help | grep -q 'Exit codes' || hub_fail "--help has no exit codes"
# Every command of --help has its row in docs/operations.md's command table.
for cmd in $("$LTHUB" --help | awk '/^  [a-z]/ {print $1}'); do
  grep -q "^| \`lthub .*\`lthub $cmd[\` ]\|^| \`lthub $cmd[\` ]" "$2/docs/operations.md" \
    || hub_fail "lthub $cmd is in --help but not in docs/operations.md's command table"
done
"$LTHUB" keygen --dir "$HUB_KEYS" sink extra --json | python3 -c '
import json, sys
c = {x["name"]: x for x in json.load(sys.stdin)["certificates"]}
assert not c["sink"]["created"] and c["extra"]["created"] and c["extra"]["allowed"], c'

rc=0; "$LTHUB" top --bogus 2>/dev/null || rc=$?
[ "$rc" = 2 ] || hub_fail "unknown option: exit $rc (want 2)"
rc=0; "$LTHUB" alerts --admin 127.0.0.1:1 2>/dev/null || rc=$?
[ "$rc" = 1 ] || hub_fail "unreachable hub: exit $rc (want 1)"
echo "PASS: alerts raise and clear; dead list/show/replay/discard, trace, top, status, check-config"
