#!/usr/bin/env bash
# The write-ahead log starts over under traffic: 40 000 x 1 KiB relayed at
# full speed write well over the 48 MiB after which the checkpointer
# restarts the log (each pass's copies synced first, so the writer waits
# only for the last moments' pages), or the writer starts it over itself
# when a pass copied every frame (a slower build, whose passes keep up).
# The run must restart the log at least once, lose nothing and deliver
# nothing twice; the store it leaves must
# pass SQLite's integrity check and hold every message.
# usage: test_log_restart.sh BUILD_DIR
set -euo pipefail
BIN=$1
MESSAGES=40000
err=/tmp/lthub-log-restart-$$.log
out=$(timeout 300 "$BIN/tests/lthub-bench" --messages $MESSAGES --size 1024 --json --keep 2>"$err") || true
dir=$(sed -n 's/^lthub-bench: kept //p' "$err" | tail -1)
echo "$out"
rc=0
python3 - "$out" "$dir" $MESSAGES <<'PY' || rc=$?
import json, sqlite3, sys
out, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
problems = []
try:
    r = json.loads(out.strip().splitlines()[-1])
except (ValueError, IndexError):
    print("FAIL: lthub-bench printed no result"); sys.exit(1)
if r["accepted"] != n: problems.append("accepted %d of %d" % (r["accepted"], n))
if r["arrived"] != n: problems.append("arrived %d of %d" % (r["arrived"], n))
if r["lost"] or r["duplicates"]: problems.append("lost %d duplicates %d" % (r["lost"], r["duplicates"]))
if r["log_restarts"] < 1: problems.append("the log never restarted (%d)" % r["log_restarts"])
if not d:
    problems.append("no kept directory")
else:
    db = sqlite3.connect("file:%s/data/lthub.db?mode=ro" % d, uri=True)
    check = db.execute("PRAGMA integrity_check").fetchone()[0]
    if check != "ok": problems.append("integrity_check: %s" % check)
    rows = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    if rows < n: problems.append("%d message rows for %d messages" % (rows, n))
    db.close()
if problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
print("PASS: %d relayed, %d restarts of the log (longest %.1f ms, the writer's longest wait %.1f ms),"
      " 0 lost, 0 duplicated, store sound" % (n, r["log_restarts"], r["log_restart_ms_max"],
                                               r["begin_wait_ms_max"]))
PY
[ $rc -eq 0 ] || tail -30 "$err" "$dir/lthubd.log" 2>/dev/null || true
[ -n "$dir" ] && case "$dir" in /tmp/lthub-bench-*) rm -rf "$dir" ;; esac
rm -f "$err"
exit $rc
