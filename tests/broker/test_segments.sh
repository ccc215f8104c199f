#!/usr/bin/env bash
# Payload segments (store/inline_max = 0: every payload in a segment file,
# store/segment_size = 1 MiB so that there are many):
#  - torn last record: lthubd is SIGKILLed, the newest segment gets garbage
#    past the last record the database refers to (a torn write), then is
#    cut short right after it (a lost preallocation); each time lthubd
#    starts, takes new messages, and nothing confirmed is lost or doubled,
#    every payload arriving whole (the sink checks its SHA-256);
#  - a damaged referenced record (bytes changed inside it) is reported
#    (event=payload_unreadable, lthub_store_payload_errors_total) and its
#    delivery goes to the dead letters with the reason; lthubd stays up;
#  - retention deletes segment files once every message in them is
#    delivered and pruned, keeps the one the dead letter is in, and the
#    store's size in /metrics counts the segments.
# usage: test_segments.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
SIZE=100000
hub_init
echo "work directory $HUB_DIR"
hub_relay --later
hub_config <<CFG
store
    inline_max = 0
    segment_size = 1048576
    retention = 2
    prune_batch = 50
CFG
SEGS="$HUB_DIR/data/lthub.db.segments"
pub() { "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --size $SIZE "$@" 2>>"$HUB_DIR/pub.log"; }
# The newest segment and the end of the last record the database refers to.
last_ref() {
  python3 - "$HUB_DIR/data/lthub.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
seg, end = db.execute("SELECT seg, seg_off + 16 + seg_len FROM messages WHERE seg IS NOT NULL"
                      " ORDER BY seg DESC, seg_off DESC LIMIT 1").fetchone()
print(seg, end)
PY
}
hub_start
pub --count 40 --prefix A --record "$HUB_DIR/pub.rec"
hub_kill
read -r seg end < <(last_ref)
file=$(printf "%s/%06d.seg" "$SEGS" "$seg")
[ -f "$file" ] || hub_fail "no segment $file: $(ls "$SEGS")"
[ "$(ls "$SEGS" | wc -l)" -ge 3 ] || hub_fail "expected several segments: $(ls "$SEGS")"
# Torn write past the last referenced record: a record header's magic,
# then garbage.
python3 - "$file" "$end" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    f.write(b"LTR1" + os.urandom(5000))
PY
hub_start
pub --count 20 --prefix B --record "$HUB_DIR/pub.rec"
hub_kill
read -r seg end < <(last_ref)
file=$(printf "%s/%06d.seg" "$SEGS" "$seg")
truncate -s "$end" "$file"
hub_start
pub --count 20 --prefix C --record "$HUB_DIR/pub.rec"
[ "$(wc -l < "$HUB_DIR/pub.rec")" = 80 ] || hub_fail "accepted $(wc -l < "$HUB_DIR/pub.rec") of 80"

# A damaged referenced record: a document for a connector that is down.
pub --count 1 --prefix DAMAGED --to 000.00.00.X01 --record "$HUB_DIR/damaged.rec"
hub_kill
python3 - "$HUB_DIR/data/lthub.db" "$SEGS" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
seg, off = db.execute("SELECT seg, seg_off FROM messages WHERE bkey = 'DAMAGED-1'").fetchone()
with open("%s/%06d.seg" % (sys.argv[2], seg), "r+b") as f:
    f.seek(off + 16 + 500)
    f.write(b"damaged")
PY
damaged_seg=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT seg FROM messages WHERE bkey = 'DAMAGED-1'\").fetchone()[0])" "$HUB_DIR/data/lthub.db")
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --check-digest 1 --record "$HUB_DIR/sink.rec" 2>>"$HUB_DIR/sink.log"
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args later) --check-digest 1 --record "$HUB_DIR/later.rec" 2>>"$HUB_DIR/later.log"
hub_wait 60 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 80 ]' || hub_fail "sink got $(wc -l < "$HUB_DIR/sink.rec" 2>/dev/null) of 80"
hub_wait 20 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ]' || hub_fail "the damaged payload is not a dead letter: $(hub_stat s[\"store\"])"
sleep 1
python3 - "$HUB_DIR" <<'PY'
import sys
d = sys.argv[1]
pub = {l.split()[2]: l.split()[1] for l in open(d + "/pub.rec") if l.strip()}
sink = [l.split() for l in open(d + "/sink.rec") if l.strip()]
ids = [l[0] for l in sink]
problems = []
if len(ids) != len(set(ids)): problems.append("%d delivered twice" % (len(ids) - len(set(ids))))
if sorted(ids) != sorted(pub.values()): problems.append("sink got %d, accepted %d" % (len(ids), len(pub)))
if problems: print("FAIL: " + "; ".join(problems)); sys.exit(1)
print("PASS: 80 accepted across a torn and a cut segment tail, each delivered once, whole")
PY
grep -q "event=payload_unreadable.*CRC" "$HUB_DIR/lthubd.log" || hub_fail "no payload_unreadable event naming the CRC"
"$BIN/broker/lthub" dead --admin "$HUB_ADMIN" --json > "$HUB_DIR/dead.json"
grep -q "payload unreadable" "$HUB_DIR/dead.json" || hub_fail "the dead letter does not say why: $(cat "$HUB_DIR/dead.json")"
[ ! -s "$HUB_DIR/later.rec" ] || hub_fail "a damaged payload was delivered: $(cat "$HUB_DIR/later.rec")"
kill -0 "$HUB_PID" || hub_fail "lthubd is gone"
grep -q "does not match its SHA-256" "$HUB_DIR/sink.log" "$HUB_DIR/later.log" && hub_fail "a payload arrived changed"

# Retention: the delivered messages are pruned, their segments deleted;
# the dead letter's segment stays.
before=$(ls "$SEGS" | wc -l)
hub_wait 40 '[ "$(hub_stat s[\"store\"][\"segments_deleted\"])" -gt 0 ]' || hub_fail "no segment deleted: $(hub_stat s[\"store\"])"
hub_wait 20 '[ "$(ls "$SEGS" | wc -l)" -le 2 ]' || hub_fail "segments left: $(ls "$SEGS")"
after=$(ls "$SEGS" | wc -l)
[ -f "$(printf "%s/%06d.seg" "$SEGS" "$damaged_seg")" ] || hub_fail "the dead letter's segment $damaged_seg was deleted"
curl -sf "http://$HUB_ADMIN/metrics" > "$HUB_DIR/metrics.txt" || hub_fail "GET /metrics"
m() { grep -E "^$1 " "$HUB_DIR/metrics.txt" | awk '{print $2}'; }
[ "$(m lthub_store_payload_errors_total)" -ge 1 ] || hub_fail "payload errors: $(m lthub_store_payload_errors_total)"
segbytes=$(m lthub_store_segment_bytes)
[ "$segbytes" -gt 0 ] && [ "$(m lthub_store_size_bytes)" -gt "$segbytes" ] || hub_fail "size $(m lthub_store_size_bytes) segments $segbytes"
[ "$(m lthub_store_segment_files)" = "$after" ] || hub_fail "segment files: $(m lthub_store_segment_files) on disk $after"
echo "PASS: segments $before -> $after by retention (the dead letter's kept); damaged payload dead-lettered; size counts $segbytes segment bytes"
