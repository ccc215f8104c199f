#!/usr/bin/env bash
# Fault test: SIGKILL lthubd in the middle of payload segment writes. Every
# payload goes to a segment (--inline-max 0) and messages are large
# (256 KiB, then 1 MiB), so that most of the broker's time, and so most
# kills, fall inside a group's segment write or fdatasync; at least 20
# kills in all. Every ACCEPTED message must arrive, none twice.
# usage: test_kill_segments.sh BUILD_DIR [KILLS]
set -euo pipefail
BIN=$1
KILLS=${2:-14}
SEED=${LT_TEST_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED (set LT_TEST_SEED to repeat)"
run() {
  local messages=$1 size=$2 kills=$3
  local out
  out=$("$BIN/tests/lthub-bench" --messages "$messages" --size "$size" --inline-max 0 \
        --kill-broker "$kills" --seed "$SEED" --json 2>/tmp/lthub-kill-segments-$$.log) || true
  echo "$out"
  python3 - "$out" "$messages" "$kills" <<'PY' || { tail -50 /tmp/lthub-kill-segments-$$.log; rm -f /tmp/lthub-kill-segments-$$.log; exit 1; }
import json, sys
r = json.loads(sys.argv[1]); n = int(sys.argv[2]); kills = int(sys.argv[3])
problems = []
if r["broker_restarts"] != kills: problems.append("restarts %d != %d" % (r["broker_restarts"], kills))
if r["accepted"] != n: problems.append("accepted %d of %d" % (r["accepted"], n))
if r["lost"] != 0: problems.append("lost %d" % r["lost"])
if r["duplicates"] != 0: problems.append("duplicates %d" % r["duplicates"])
if r["arrived"] != r["accepted"]: problems.append("arrived %d of %d accepted" % (r["arrived"], r["accepted"]))
if problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
print("PASS: %d x %d bytes accepted, %d arrived, 0 lost, 0 duplicates, %d broker kills" % (n, int(r["size"]), r["arrived"], kills))
PY
  rm -f /tmp/lthub-kill-segments-$$.log
}
run 600 262144 "$KILLS"
run 200 1048576 $((20 - KILLS > 6 ? 20 - KILLS : 6))
