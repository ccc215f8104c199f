#!/usr/bin/env bash
# Disk full (issue: hardening 14, 15): on a small filesystem made for the
# test, filled up, the broker stays up and refuses with a transient ESTORE
# "disk full" (PUBLISH, replay of a dead letter, replay of a rejected
# input: none is answered as done before it is committed); nothing is lost;
# once space is back it takes writes again by itself.
# Needs root (mount -t tmpfs); skipped (77) otherwise.
# usage: test_disk_full.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root to mount a small tmpfs"; exit 77; fi
hub_init
DATA="$HUB_DIR/data"
mkdir -p "$DATA"
mount -t tmpfs -o size=16m tmpfs "$DATA" || { echo "SKIP: cannot mount tmpfs"; exit 77; }
full_cleanup() {
  for pid in $HUB_PIDS; do kill -9 "$pid" 2>/dev/null || true; done
  sleep 0.2
  umount "$DATA" 2>/dev/null || umount -l "$DATA" 2>/dev/null || true
  hub_cleanup
}
trap full_cleanup EXIT
hub_keys pub sink
hub_config <<CFG
routes
    route
        kind = "document,status"
        match = "000.00.00.G22"
        to = "sink"
connectors
    pub
    sink
CFG
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" --fail-match DEADX 2>>"$HUB_DIR/sink.log"
pub() { "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --record "$HUB_DIR/pub.rec" "$@" 2>>"$HUB_DIR/pub.log"; }
last() { tail -1 "$HUB_DIR/pub.rec"; }
pub --prefix OK1 --size 65536
pub --prefix DEADX
pub --prefix NOROUTE --to 000.00.77.X99
hub_wait 10 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ]' || hub_fail "no dead letter"
dead=$("$BIN/broker/lthub" dead --admin "$HUB_ADMIN" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["dead"][0]["delivery"])')
reject=$("$BIN/broker/lthub" rejects --admin "$HUB_ADMIN" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rejects"][0]["reject"])')
# A clean restart folds the write-ahead log into the database, so that
# every later write needs new space; then fill the filesystem.
hub_stop
hub_start
dd if=/dev/zero of="$DATA/filler" bs=64k >/dev/null 2>&1 || true
df -k "$DATA" | tail -1

# The publisher is refused with a transient ESTORE and keeps resending.
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --record "$HUB_DIR/pub.rec" --prefix FULL --size 300000 2>>"$HUB_DIR/pub.log"
hub_wait 20 'grep -q "event=store_full" "$HUB_DIR/lthubd.log"' || hub_fail "no store_full event"
hub_wait 10 '[ "$(hub_stat "[c for c in s[\"connectors\"] if c[\"name\"]==\"pub\"][0][\"published\"]")" -ge 2 ]' || hub_fail "the publisher did not resend"
grep -q "FULL-1" "$HUB_DIR/pub.rec" && hub_fail "FULL-1 was answered while the disk is full: $(last)"
kill -0 "$HUB_PID" || hub_fail "lthubd exited on a full disk: $(tail -5 "$HUB_DIR/lthubd.log")"
if "$BIN/broker/lthub" replay "$dead" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token" 2>"$HUB_DIR/err"; then
  hub_fail "a replay was answered while the disk is full"
fi
grep -q "disk full" "$HUB_DIR/err" || hub_fail "replay error does not say disk full: $(cat "$HUB_DIR/err")"
[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ] || hub_fail "the dead letter moved although the replay failed"
if "$BIN/broker/lthub" rejects replay "$reject" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token" 2>"$HUB_DIR/err"; then
  hub_fail "a reject replay was answered while the disk is full"
fi
[ "$(hub_stat s[\"broker\"][\"store_full\"])" = True ] || hub_fail "stats do not show the full store"

# Space comes back: everything resumes by itself.
rm -f "$DATA/filler"
hub_wait 30 'grep -q "FULL-1" "$HUB_DIR/pub.rec"' || hub_fail "the resent publish was not taken after space came back"
last | grep -q "rejected" && hub_fail "publish after space came back: $(last)"
kill -0 "$HUB_PID" || hub_fail "lthubd is gone"
"$BIN/broker/lthub" replay "$dead" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token"
hub_wait 10 'grep -q " FULL-1 new" "$HUB_DIR/sink.rec"' || hub_fail "FULL-1 not delivered"
grep -q "event=store_resumed" "$HUB_DIR/lthubd.log" || hub_fail "no store_resumed event"
# Nothing lost, nothing twice: every accepted message reached the sink once.
for key in OK1-1 FULL-1; do
  [ "$(grep -c " $key new" "$HUB_DIR/sink.rec")" = 1 ] || hub_fail "$key delivered $(grep -c " $key new" "$HUB_DIR/sink.rec") times"
done
echo "PASS: full disk refused with ESTORE (publish, replays), lthubd stayed up, resumed when space came back"
