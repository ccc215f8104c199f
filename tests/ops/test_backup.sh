#!/usr/bin/env bash
# lthub backup while the hub runs and a publisher keeps publishing; the hub
# is then killed, the backup restored into a new hub (other ports, other
# directories), and a sink there receives exactly what the backup held
# queued: every queued message once, none that was already delivered
# before the backup, none twice; its counting ledger verifies.
# usage: test_backup.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
LTHUB="$BIN/broker/lthub"
hub_init
hub_keys pub sink
# Payloads above 1000 bytes (B, C) lie in segment files, so the backup
# copies them while C is published, after the database that refers to them.
hub_config <<CFG
store
    inline_max = 1000
routes
    route
        kind = "document"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
# The province's code makes every test document (000.00.12.H26 to the
# ministry) a counted item: the restored ledger must verify and hold them.
sed -i 's|^broker$|broker\n    province = "H26"|' "$HUB_DIR/lthub.cfg"
hub_start
# A: delivered before the backup.
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink1.rec" 2>>"$HUB_DIR/sink.log"
SINK=$!
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 100 --prefix A --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ -f "$HUB_DIR/sink1.rec" ] && [ $(wc -l < "$HUB_DIR/sink1.rec") -ge 100 ]' || hub_fail "A not delivered"
kill -9 "$SINK"
# B: queued (no sink); C: published while the backup runs.
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 200 --prefix B --size 4000 --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 3000 --prefix C --record "$HUB_DIR/pubc.rec" 2>>"$HUB_DIR/pub.log" &
PUBC=$!; HUB_PIDS="$HUB_PIDS $PUBC"
hub_wait 20 '[ -f "$HUB_DIR/pubc.rec" ] && [ $(wc -l < "$HUB_DIR/pubc.rec") -ge 100 ]' || hub_fail "C did not start"
BK="$HUB_DIR/backup"
before=$(wc -l < "$HUB_DIR/pubc.rec")
"$LTHUB" backup "$BK" --config "$HUB_DIR/lthub.cfg" --json > "$HUB_DIR/backup.json" || hub_fail "backup"
cat "$HUB_DIR/backup.json"
during=$(wc -l < "$HUB_DIR/pubc.rec")
wait "$PUBC" || true
[ "$(wc -l < "$HUB_DIR/pubc.rec")" = 3000 ] || hub_fail "the publisher was disturbed by the backup"
hub_kill
[ -f "$BK/MANIFEST.json" ] && [ -f "$BK/data/lthub.db" ] && [ -f "$BK/keys/broker.cert" ] || hub_fail "backup incomplete: $(find "$BK" | head -20)"
ls "$BK"/data/lthub.db.segments/*.seg >/dev/null 2>&1 || hub_fail "no payload segments in the backup: $(find "$BK/data" | head)"
[ -f "$BK/config/lthub.cfg" ] && cmp -s "$BK/config/admin.token" "$HUB_DIR/admin.token" || hub_fail "config not in backup"
[ ! -e "$BK/config/backup" ] && [ ! -e "$BK/config/data" ] || hub_fail "backup copied itself or the data twice"
queued_c=$(sqlite3 "$BK/data/lthub.db" "SELECT COUNT(*) FROM messages WHERE bkey LIKE 'C-%'")
echo "backup holds $queued_c of the C messages ($before accepted when it began, $during when it ended)"
[ "$queued_c" -ge "$before" ] || hub_fail "backup lost messages accepted before it began ($queued_c < $before)"
[ "$queued_c" -lt 3000 ] || hub_fail "the backup did not run while the publisher published"
# A broken backup is refused before anything changes.
cp -r "$BK" "$HUB_DIR/broken"
echo tampered >> "$HUB_DIR/broken/config/lthub.cfg"
rc=0; "$LTHUB" restore "$HUB_DIR/broken" --data "$HUB_DIR/nowhere" --no-config 2>"$HUB_DIR/broken.txt" || rc=$?
[ "$rc" = 1 ] && grep -q SHA-256 "$HUB_DIR/broken.txt" && [ ! -e "$HUB_DIR/nowhere" ] || hub_fail "a tampered backup was restored"
# A backup that fails (here: a config directory nested too deep) says it is
# incomplete and what to do; the next run into that directory says what it
# holds; restore refuses it (MANIFEST.json is written last).
mkdir -p "$HUB_DIR/etcdeep/1/2/3/4/5/6/7/8/9/10"
touch "$HUB_DIR/etcdeep/1/2/3/4/5/6/7/8/9/10/deep"
cp "$HUB_DIR/lthub.cfg" "$HUB_DIR/etcdeep/lthub.cfg"
FB="$HUB_DIR/bk-failed"
rc=0; "$LTHUB" backup "$FB" --config "$HUB_DIR/etcdeep/lthub.cfg" 2>"$HUB_DIR/bk-failed.txt" || rc=$?
cat "$HUB_DIR/bk-failed.txt"
[ "$rc" = 1 ] && grep -q "The backup in $FB is incomplete" "$HUB_DIR/bk-failed.txt" && grep -q "rm -r $FB" "$HUB_DIR/bk-failed.txt" \
  && [ -d "$FB/data" ] && [ ! -e "$FB/MANIFEST.json" ] || hub_fail "failed backup: exit $rc, $(cat "$HUB_DIR/bk-failed.txt")"
rc=0; "$LTHUB" backup "$FB" --config "$HUB_DIR/lthub.cfg" 2>"$HUB_DIR/bk-again.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "$FB holds an incomplete backup" "$HUB_DIR/bk-again.txt" && grep -q "rm -r $FB" "$HUB_DIR/bk-again.txt" \
  || hub_fail "backup into an incomplete one: exit $rc, $(cat "$HUB_DIR/bk-again.txt")"
rc=0; "$LTHUB" backup "$BK" --config "$HUB_DIR/lthub.cfg" 2>"$HUB_DIR/bk-again.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "$BK already holds a backup" "$HUB_DIR/bk-again.txt" || hub_fail "backup over a backup: exit $rc, $(cat "$HUB_DIR/bk-again.txt")"
rc=0; "$LTHUB" restore "$FB" --data "$HUB_DIR/nowhere" --no-config 2>"$HUB_DIR/restore-failed.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "$FB has no MANIFEST.json" "$HUB_DIR/restore-failed.txt" && [ ! -e "$HUB_DIR/nowhere" ] \
  || hub_fail "restore of an incomplete backup: exit $rc, $(cat "$HUB_DIR/restore-failed.txt")"
rm -r "$FB" "$HUB_DIR/etcdeep"

# A new hub on other ports and directories.
HUB_PORT=$(hub_free_port); HUB_ADMIN_PORT=$(hub_free_port)
HUB_ENDPOINT="tcp://127.0.0.1:$HUB_PORT"; HUB_ADMIN="127.0.0.1:$HUB_ADMIN_PORT"
HUB_KEYS="$HUB_DIR/keys2"
sed -e "s|$HUB_DIR/data|$HUB_DIR/data2|; s|$HUB_DIR/keys|$HUB_KEYS|" \
    -e "s|tcp://127.0.0.1:[0-9]*|$HUB_ENDPOINT|; s|listen = \"127.0.0.1:[0-9]*\"|listen = \"$HUB_ADMIN\"|" \
    "$HUB_DIR/lthub.cfg" > "$HUB_DIR/lthub2.cfg"
# Run as root, restored files take the owner of the directory they go into.
if [ "$(id -u)" = 0 ]; then mkdir -p "$HUB_DIR/data2" && chown 4242:4243 "$HUB_DIR/data2"; fi
"$LTHUB" restore "$BK" --data "$HUB_DIR/data2" --keys "$HUB_KEYS" --config-dir "$HUB_DIR/etc2" > "$HUB_DIR/restore.txt" || hub_fail "restore"
cat "$HUB_DIR/restore.txt"
# Its last line says where each part went, the keys included.
grep -q "data into $HUB_DIR/data2, keys into $HUB_KEYS, config into $HUB_DIR/etc2" "$HUB_DIR/restore.txt" \
  || hub_fail "restore does not say where everything went: $(cat "$HUB_DIR/restore.txt")"
if [ "$(id -u)" = 0 ]; then
  [ "$(stat -c %u:%g "$HUB_DIR/data2/lthub.db")" = 4242:4243 ] || hub_fail "restored store owned by $(stat -c %u:%g "$HUB_DIR/data2/lthub.db")"
  [ "$(stat -c %u "$HUB_DIR/etc2/lthub.cfg")" = 0 ] || hub_fail "restored config not owned by root"
fi
cmp -s "$HUB_DIR/etc2/lthub.cfg" "$HUB_DIR/lthub.cfg" || hub_fail "config not restored"
rc=0; "$LTHUB" restore "$BK" --data "$HUB_DIR/data2" --no-config 2>/dev/null || rc=$?
[ "$rc" = 1 ] || hub_fail "restore over an existing store without --force: exit $rc"
"$BIN/broker/lthubd" --config "$HUB_DIR/lthub2.cfg" >>"$HUB_DIR/lthubd2.log" 2>&1 &
HUB_PID=$!; HUB_PIDS="$HUB_PIDS $HUB_PID"
hub_wait 10 'curl -sf "http://$HUB_ADMIN/healthz" >/dev/null' || hub_fail "restored hub did not start: $(cat "$HUB_DIR/lthubd2.log")"
want=$((200 + queued_c))
[ "$(hub_stat 's["store"]["ready"] + s["store"]["waiting"]')" = "$want" ] || hub_fail "restored queue: $(hub_stat 's["store"]') want $want"
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink2.rec" 2>>"$HUB_DIR/sink.log"
hub_wait 60 '[ -f "$HUB_DIR/sink2.rec" ] && [ $(wc -l < "$HUB_DIR/sink2.rec") -ge $want ]' || hub_fail "restored hub relayed $(wc -l < "$HUB_DIR/sink2.rec" 2>/dev/null) of $want"
sleep 1
python3 - "$HUB_DIR/sink2.rec" "$queued_c" <<'PY'
import collections, sys
keys = [l.split()[1] for l in open(sys.argv[1]) if l.strip()]
dup = [k for k, n in collections.Counter(keys).items() if n > 1]
assert not dup, "doubled: %s" % dup[:5]
a = [k for k in keys if k.startswith("A-")]
b = {k for k in keys if k.startswith("B-")}
c = [k for k in keys if k.startswith("C-")]
assert not a, "already delivered before the backup, relayed again: %s" % a[:5]
assert b == {"B-%d" % i for i in range(1, 201)}, "B missing: %d" % (200 - len(b))
assert len(c) == int(sys.argv[2]), (len(c), sys.argv[2])
print("restored hub relayed %d B and %d C, nothing doubled, nothing already delivered" % (len(b), len(c)))
PY
[ "$(hub_stat 's["store"]["ready"] + s["store"]["waiting"]')" = 0 ] || hub_fail "queue not empty after relay"
# The ledger came along whole: its chain verifies and it counts every
# document the backup held (A, B and the C published before the copy).
"$LTHUB" ledger verify --store "$HUB_DIR/data2/lthub.db" > "$HUB_DIR/verify.txt" \
    || hub_fail "restored ledger does not verify: $(cat "$HUB_DIR/verify.txt")"
rows=$(sqlite3 "file:$HUB_DIR/data2/lthub.db?mode=ro" "SELECT COUNT(*) FROM ledger WHERE event = 'doc_out'")
[ "$rows" = $((300 + queued_c)) ] || hub_fail "restored ledger counts $rows documents out, want $((300 + queued_c))"
echo "ok - the restored ledger verifies and counts the $rows documents the backup held"
echo "PASS: online backup during publishing, restore into a new hub, nothing lost or doubled"
