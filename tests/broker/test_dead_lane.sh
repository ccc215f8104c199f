#!/usr/bin/env bash
# A document in dead letters blocks its lane (issue: hardening 2): its
# status and revocation wait, shown as "waiting behind dead letter ID" by
# lthub dead and the admin API, until the operator replays it (the
# document goes first) or discards it (the follow-up goes on).
# usage: test_dead_lane.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_keys pub sink
hub_config <<CFG
delivery
    backoff_min = 100
    backoff_max = 200
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
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" --fail-match POISON 2>>"$HUB_DIR/sink.log"
SINK=$!
pub() { "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --record "$HUB_DIR/pub.rec" "$@" 2>>"$HUB_DIR/pub.log"; }
got() { grep -c " $1 $2\$" "$HUB_DIR/sink.rec" 2>/dev/null || true; }
pub --prefix POISONA
pub --prefix POISONB
hub_wait 20 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 2 ]' || hub_fail "the documents did not reach the dead letters"
pub --prefix POISONA --kind status --btype 03 --from 000.00.00.G22 --to 000.00.12.H26
pub --prefix POISONB --btype revocation
pub --prefix FREE
hub_wait 10 '[ "$(got FREE-1 new)" = 1 ]' || hub_fail "another lane stalled"
sleep 0.5
[ ! -f "$HUB_DIR/sink.rec" ] || ! grep -q POISON "$HUB_DIR/sink.rec" || hub_fail "a follow-up overtook its dead document"
out=$("$BIN/broker/lthub" dead --admin "$HUB_ADMIN")
echo "$out"
json=$("$BIN/broker/lthub" dead --admin "$HUB_ADMIN" --json)
read -r deada deadb <<<"$(python3 - "$json" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
dead = {e["key"]: e["delivery"] for e in d["dead"]}
waiting = {e["key"]: e for e in d["waiting"]}
assert set(waiting) == {"POISONA-1", "POISONB-1"}, waiting
for key, e in waiting.items():
    assert e["behind"] == dead[key], (e, dead)
    assert e["note"] == "waiting behind dead letter %d" % dead[key], e
print(dead["POISONA-1"], dead["POISONB-1"])
PY
)"
echo "$out" | grep -q "waiting behind dead letter $deada" || hub_fail "lthub dead does not show what waits behind $deada"
# From now on the sink takes everything.
kill -9 "$SINK"; wait "$SINK" 2>/dev/null || true
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" 2>>"$HUB_DIR/sink.log"
# Discard B: its revocation goes on.
if "$BIN/broker/lthub" dead discard "$deadb" --admin "$HUB_ADMIN" 2>/dev/null; then hub_fail "discard without token accepted"; fi
"$BIN/broker/lthub" dead discard "$deadb" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token"
hub_wait 10 '[ "$(got POISONB-1 revocation)" = 1 ]' || hub_fail "the revocation did not go after the discard"
[ "$(got POISONA-1 03)" = 0 ] || hub_fail "the status of A went while A is dead"
# Replay A: the document first, then its status.
"$BIN/broker/lthub" replay "$deada" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token"
hub_wait 10 '[ "$(got POISONA-1 03)" = 1 ]' || hub_fail "the status never came after the replay"
order=$(grep ' POISONA-1 ' "$HUB_DIR/sink.rec" | awk '{print $3}' | tr '\n' ' ')
[ "$order" = "new 03 " ] || hub_fail "after the replay the order was: $order"
[ "$(hub_stat s[\"store\"][\"dead\"])" = 0 ] || hub_fail "dead letters left"
echo "PASS: follow-ups waited behind their dead document; discard let B's go, replay sent A then its status"
