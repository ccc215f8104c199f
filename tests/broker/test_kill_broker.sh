#!/usr/bin/env bash
# Fault test: SIGKILL lthubd at random moments during a 20 000-message relay,
# several times; every ACCEPTED message must arrive, none twice.
# usage: test_kill_broker.sh BUILD_DIR [KILLS] [MESSAGES]
set -euo pipefail
BIN=$1
KILLS=${2:-6}
MESSAGES=${3:-20000}
SEED=${LT_TEST_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED (set LT_TEST_SEED to repeat)"
out=$("$BIN/tests/lthub-bench" --messages "$MESSAGES" --size 512 --kill-broker "$KILLS" \
      --seed "$SEED" --json 2>/tmp/lthub-kill-broker-$$.log) || true
echo "$out"
python3 - "$out" "$MESSAGES" "$KILLS" <<'PY'
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
print("PASS: %d accepted, %d arrived, 0 lost, 0 duplicates, %d broker kills" % (r["accepted"], r["arrived"], kills))
PY
rc=$?
[ $rc -eq 0 ] || tail -50 /tmp/lthub-kill-broker-$$.log
rm -f /tmp/lthub-kill-broker-$$.log
exit $rc
