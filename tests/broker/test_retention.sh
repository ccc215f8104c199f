#!/usr/bin/env bash
# Retention while traffic flows (store/retention = 2 s): rounds of 8 KiB
# documents are published and delivered while finished messages are pruned.
#  - lthubd killed (SIGKILL) in the middle of pruning restarts and goes on;
#  - nothing unfinished is lost: documents queued for a connector that is
#    down all along, and a dead letter, are kept and delivered whole later;
#  - nothing is delivered twice, and a resend of pruned documents is
#    answered as a duplicate with the first ids;
#  - the store's size stops growing across rounds: the database file, and
#    the payload segment files (4 MiB each here), deleted once nothing
#    refers to them;
#  - /metrics (promtool-clean) and lthub status show the figures, lthub
#    trace says a pruned message was pruned.
# usage: test_retention.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
ROUNDS=${LT_RETENTION_ROUNDS:-6}
PER=200
SIZE=32000
hub_init
echo "work directory $HUB_DIR"
hub_relay --later
hub_config <<CFG
store
    retention = 2
    prune_batch = 10
    segment_size = 4194304
CFG
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" --fail-match POISON 2>>"$HUB_DIR/sink.log"
pub() { "$BIN/tests/lthub-testconn" $(hub_conn_args pub) "$@" 2>>"$HUB_DIR/pub.log"; }
delivered() { [ -f "$HUB_DIR/sink.rec" ] && wc -l < "$HUB_DIR/sink.rec" || echo 0; }

# Unfinished: 50 documents for a connector that is not there yet, one dead letter.
pub --count 50 --size $SIZE --prefix KEEP --to 000.00.00.X01 --record "$HUB_DIR/keep.rec"
pub --count 1 --size 100 --prefix POISON --record "$HUB_DIR/poison.rec"
hub_wait 20 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ]' || hub_fail "no dead letter"

sizes="" totals="" segs=""
for r in $(seq 1 "$ROUNDS"); do
  pub --count $PER --size $SIZE --prefix "R$r" --record "$HUB_DIR/pub.rec"
  hub_wait 60 '[ "$(delivered)" -ge $((r * PER)) ]' || hub_fail "round $r: $(delivered) delivered"
  # Retention catches up with this round (2 s old, then a pass; the last
  # delivery of all is kept until a newer one exists) and the freed pages
  # beyond the 4 MiB reserve go back to the file system.
  if [ "$r" = 2 ]; then
    # A crash in the middle of pruning loses at most the last step, which
    # the restarted broker does again.
    hub_wait 30 '[ "$(hub_stat s[\"store\"][\"pruned\"])" -ge $((PER + 20)) ]' || hub_fail "round 2: no pruning"
    hub_kill
    hub_start
  fi
  hub_wait 30 '[ "$(hub_stat s[\"store\"][\"pruned\"])" -ge $((r * PER - 1)) ]' || hub_fail "round $r: pruned $(hub_stat s[\"store\"][\"pruned\"])"
  hub_wait 30 '[ "$(hub_stat s[\"store\"][\"free_bytes\"])" -le 4300000 ]' || hub_fail "round $r: free pages not given back: $(hub_stat s[\"store\"][\"free_bytes\"])"
  sizes="$sizes $(stat -c %s "$HUB_DIR/data/lthub.db")"
  # The store's size and its segments' from one snapshot: a segment made
  # or deleted between two reads would otherwise count in one, not the other.
  snap=$(hub_stat 'str(s["store"]["size_bytes"]) + " " + str(s["store"]["segment_bytes"])')
  totals="$totals ${snap% *}"
  segs="$segs ${snap#* }"
done
echo "database file after each round:$sizes"
echo "database + WAL + segments after each round:$totals"
echo "segment files after each round:$segs"

# Resend the first round: every one is a duplicate with its first id, and
# nothing more reaches the sink.
pub --count $PER --size $SIZE --prefix R1 --record "$HUB_DIR/resend.rec"
sleep 1.5
python3 - "$HUB_DIR" "$ROUNDS" "$PER" "$sizes" "$SIZE" "$totals" "$segs" <<'PY'
import sys
d, rounds, per, sizes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(x) for x in sys.argv[4].split()]
size, totals = int(sys.argv[5]), [int(x) for x in sys.argv[6].split()]
segs = [int(x) for x in sys.argv[7].split()]
def lines(name):
    return [l.split() for l in open(d + "/" + name) if l.strip()]
first = {l[2]: l[1] for l in lines("pub.rec")}
resent = {l[2]: l[1] for l in lines("resend.rec")}
sink = lines("sink.rec")
problems = []
if len(first) != rounds * per: problems.append("accepted %d of %d" % (len(first), rounds * per))
if len(resent) != per: problems.append("resend accepted %d of %d" % (len(resent), per))
changed = [k for k, m in resent.items() if first.get(k) != m]
if changed: problems.append("%d resent documents got a new id (e.g. %s)" % (len(changed), changed[0]))
ids = [l[0] for l in sink]
if len(ids) != len(set(ids)): problems.append("%d deliveries twice" % (len(ids) - len(set(ids))))
if sorted(ids) != sorted(first.values()): problems.append("the sink got %d, not the %d published" % (len(ids), len(first)))
# Without retention each round adds its payload (6.4 MB) to the database
# file; with it only the ledger rows and the pruned messages' dedup keys
# stay (about 1.5 KB a message): over the last half of the rounds the file
# grows by less than a tenth of what they published. The write-ahead log
# has its own bound: it is written ahead to 64 MiB and starts over within
# them. Segment files go once retention pruned every message in them: at
# most the one the queued documents keep, the one being appended to, and
# those retention has not reached yet (each round publishes 6.4 MB, a
# segment and a half).
half = len(sizes) // 2
growth = sizes[-1] - sizes[half - 1]
budget = (len(sizes) - half) * per * size // 10
if growth > budget: problems.append("database grew %d bytes over the last %d rounds (budget %d): %s" % (growth, len(sizes) - half, budget, sizes))
if max(segs) > 6 * 4194304: problems.append("segment files not deleted: %s" % segs)
if max(totals) > sizes[-1] + 64 * 1048576 + max(segs): problems.append("database + WAL + segments: %s" % totals)
if problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
print("PASS: %d delivered once each, %d resent answered as duplicates; database file %d -> %d bytes over the last %d rounds (%d bytes published)" % (len(ids), per, sizes[half - 1], sizes[-1], len(sizes) - half, (len(sizes) - half) * per * size))
PY

# lthub trace says what became of a pruned message.
first=$(awk '$3 == "R1-1" {print $2; exit}' "$HUB_DIR/pub.rec")
"$BIN/broker/lthub" trace "$first" --admin "$HUB_ADMIN" > "$HUB_DIR/trace.txt"
grep -q "^message $first was delivered and pruned by retention at 20" "$HUB_DIR/trace.txt" || hub_fail "lthub trace of a pruned message: $(cat "$HUB_DIR/trace.txt")"

# Figures: /metrics is promtool-clean and carries them; lthub status shows them.
curl -sf "http://$HUB_ADMIN/metrics" > "$HUB_DIR/metrics.txt" || hub_fail "GET /metrics"
if command -v promtool >/dev/null; then
  promtool check metrics < "$HUB_DIR/metrics.txt" > "$HUB_DIR/promtool.txt" 2>&1 || { cat "$HUB_DIR/promtool.txt" >&2; hub_fail "promtool check metrics"; }
  [ -s "$HUB_DIR/promtool.txt" ] && { cat "$HUB_DIR/promtool.txt" >&2; hub_fail "promtool has something to say"; }
fi
m() { grep -E "^$1 " "$HUB_DIR/metrics.txt" | awk '{print $2}'; }
pruned=$(m lthub_store_pruned_messages_total)
[ "${pruned:-0}" -ge $(((ROUNDS - 1) * PER)) ] || hub_fail "pruned: $pruned"
[ "$(m lthub_store_retention_seconds)" = 2 ] || hub_fail "retention gauge: $(m lthub_store_retention_seconds)"
[ "$(m lthub_store_size_bytes)" -gt 0 ] || hub_fail "size"
m lthub_store_free_bytes | grep -qx '[0-9]*' || hub_fail "free bytes"
# The lanes of what is unfinished (the dead letter, the documents waiting
# for their connector) are in memory, and so counted.
lanes=$(m lthub_store_lanes)
[ "${lanes:-0}" -ge 2 ] && [ "$(m lthub_store_lanes_bytes)" -gt 0 ] \
    || hub_fail "lanes gauges: ${lanes:-none}, $(m lthub_store_lanes_bytes) bytes"
# The oldest kept message is the first unfinished one: a KEEP document,
# published before every round.
age=$(m lthub_store_oldest_message_age_seconds)
python3 -c "import sys; sys.exit(0 if float('$age') >= $ROUNDS * 2 else 1)" || hub_fail "oldest kept age $age"
"$BIN/broker/lthub" status --admin "$HUB_ADMIN" > "$HUB_DIR/status.txt"
grep -q "retention 2 s: $pruned pruned, oldest kept 20" "$HUB_DIR/status.txt" || { cat "$HUB_DIR/status.txt" >&2; hub_fail "lthub status has no retention line"; }

# Nothing unfinished was lost: the dead letter is still there, the rejected
# input too, and the waiting documents arrive whole once their connector comes.
[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ] || hub_fail "the dead letter is gone"
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args later) --record "$HUB_DIR/later.rec" 2>>"$HUB_DIR/later.log"
hub_wait 30 '[ -f "$HUB_DIR/later.rec" ] && [ $(wc -l < "$HUB_DIR/later.rec") -ge 50 ]' || hub_fail "later got $(cat "$HUB_DIR/later.rec" 2>/dev/null | wc -l) of 50"
sleep 0.5
[ "$(sort -u "$HUB_DIR/later.rec" | wc -l)" = 50 ] && [ "$(wc -l < "$HUB_DIR/later.rec")" = 50 ] || hub_fail "later: $(wc -l < "$HUB_DIR/later.rec") deliveries"
# Their lanes left memory with their DONEs.
hub_wait 10 '[ "$(curl -sf "http://$HUB_ADMIN/metrics" | awk "/^lthub_store_lanes /{print \$2}")" -lt "$lanes" ]' \
    || hub_fail "lanes after the deliveries: $(curl -sf "http://$HUB_ADMIN/metrics" | grep '^lthub_store_lanes ')"
[ "$(awk '{print $2}' "$HUB_DIR/later.rec" | sort)" = "$(awk '{print $3}' "$HUB_DIR/keep.rec" | sort)" ] || hub_fail "later got other documents"
grep -q "event=pruned" "$HUB_DIR/lthubd.log" || hub_fail "no event=pruned in the log"
hub_stop
echo "PASS: retention pruned $pruned while traffic flowed; unfinished, dead letter and duplicates intact; the database file grows only by ledger rows and dedup keys"
