#!/usr/bin/env bash
# A stored envelope damaged on disk (its bytes changed while lthubd was
# down) does not hold its destination: the delivery goes to the dead
# letters with the reason (event=envelope_unreadable), every other queued
# message reaches the sink once, and lthubd stays up.
#  - bytes that are not even a msgpack map are found by the relay's scan;
#  - a map that is no envelope goes out as stored on its first attempt (the
#    relay does not decode what it sends as stored); the sink cannot read
#    that DELIVER, the attempt times out, and the retry, decoded, finds it.
# usage: test_damaged_envelope.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_relay
hub_config <<CFG
delivery
    answer_timeout = 500
    backoff_min = 100
    backoff_max = 200
CFG
pub() { "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --record "$HUB_DIR/pub.rec" "$@" 2>>"$HUB_DIR/pub.log"; }
hub_start
# Queued while no sink runs, in this order.
pub --count 5 --prefix BEFORE
pub --count 1 --prefix NOTMAP
pub --count 1 --prefix BADMAP
pub --count 5 --prefix AFTER
[ "$(wc -l < "$HUB_DIR/pub.rec")" = 12 ] || hub_fail "accepted $(wc -l < "$HUB_DIR/pub.rec") of 12"
hub_stop
python3 - "$HUB_DIR/data/lthub.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# true: not a map; {"kind": "x"}: a map whose kind is no kind.
for key, blob in (("NOTMAP-1", b"\xc3"), ("BADMAP-1", b"\x81\xa4kind\xa1x")):
    n = db.execute("UPDATE messages SET envelope = ? WHERE bkey = ?", (blob, key)).rowcount
    assert n == 1, (key, n)
db.commit()
PY
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" 2>>"$HUB_DIR/sink.log"
hub_wait 30 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 2 ]' || hub_fail "not 2 dead letters: $(hub_stat s[\"store\"])"
hub_wait 20 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 10 ]' || hub_fail "sink got $(wc -l < "$HUB_DIR/sink.rec" 2>/dev/null) of 10"
sleep 1
kill -0 "$HUB_PID" || hub_fail "lthubd is gone"
"$BIN/broker/lthub" dead --admin "$HUB_ADMIN" --json > "$HUB_DIR/dead.json"
python3 - "$HUB_DIR" <<'PY'
import json, sys
d = sys.argv[1]
pub = {l.split()[2]: l.split()[1] for l in open(d + "/pub.rec") if l.strip()}
sink = [l.split()[0] for l in open(d + "/sink.rec") if l.strip()]
want = sorted(v for k, v in pub.items() if k not in ("NOTMAP-1", "BADMAP-1"))
problems = []
if len(sink) != len(set(sink)):
    problems.append("%d delivered twice" % (len(sink) - len(set(sink))))
if sorted(set(sink)) != want:
    problems.append("sink got %s, want the 10 undamaged" % sorted(set(sink)))
dead = json.load(open(d + "/dead.json"))
items = dead if isinstance(dead, list) else dead.get("dead", dead.get("items", []))
why = {i["msgid"]: i.get("errors", "") for i in items}
for key in ("NOTMAP-1", "BADMAP-1"):
    if "envelope unreadable" not in why.get(pub[key], ""):
        problems.append("%s's dead letter does not say why: %r" % (key, why.get(pub[key])))
if problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
print("PASS: 10 undamaged delivered once; 2 damaged envelopes dead-lettered with the reason")
PY
[ "$(grep -c 'event=envelope_unreadable' "$HUB_DIR/lthubd.log")" -ge 2 ] || hub_fail "envelope_unreadable not logged twice"
grep -q "event=bad_frame" "$HUB_DIR/sink.log" || hub_fail "the sink did not report the DELIVER it could not read"
