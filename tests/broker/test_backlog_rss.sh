#!/usr/bin/env bash
# Bounded memory: queue 1 GiB of messages nobody takes (16384 x 64 KiB),
# then read the broker's resident memory; it must stay under a ceiling
# whatever the backlog. The queue lives on disk. Then the sink drains it
# all: nothing lost, nothing twice.
# usage: test_backlog_rss.sh BUILD_DIR CEILING_MIB
set -euo pipefail
BIN=$1
CEILING_MIB=${2:-96}
out=$("$BIN/tests/lthub-bench" --messages 16384 --size 65536 --backlog --json 2>/tmp/lthub-backlog-$$.log) || true
echo "$out"
python3 - "$out" "$CEILING_MIB" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); ceiling = int(sys.argv[2]) * 1024
problems = []
if r["accepted"] != 16384: problems.append("accepted %d of 16384" % r["accepted"])
if r["backlog_peak_rss_kib"] > ceiling: problems.append("peak RSS %d KiB over %d KiB" % (r["backlog_peak_rss_kib"], ceiling))
if r["backlog_rss_kib"] > ceiling: problems.append("RSS %d KiB over %d KiB" % (r["backlog_rss_kib"], ceiling))
if r["lost"] or r["duplicates"]: problems.append("lost %d duplicates %d" % (r["lost"], r["duplicates"]))
if r["arrived"] != 16384: problems.append("drained %d of 16384" % r["arrived"])
if problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
print("PASS: 1 GiB queued, broker RSS %d KiB (peak %d KiB, ceiling %d KiB), drained, restart %d ms"
      % (r["backlog_rss_kib"], r["backlog_peak_rss_kib"], ceiling, r["restart_ms"]))
PY
rc=$?
[ $rc -eq 0 ] || tail -30 /tmp/lthub-backlog-$$.log
rm -f /tmp/lthub-backlog-$$.log
exit $rc
