#!/usr/bin/env bash
# Fault test: SIGKILL lthubd at random moments while it records documents
# in the ledger; afterwards every accepted document is one doc_out and one
# doc_in item (none twice, none lost) and the chain verifies.
# usage: test_kill_recording.sh BUILD_DIR [KILLS] [MESSAGES]
set -euo pipefail
BIN=$1
KILLS=${2:-4}
MESSAGES=${3:-8000}
SEED=${LT_TEST_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED (set LT_TEST_SEED to repeat)"
log=$(mktemp /tmp/lthub-kill-recording-XXXXXX)
trap 'rm -f "$log"' EXIT
out=$("$BIN/tests/lthub-bench" --messages "$MESSAGES" --size 512 --ledger --kill-broker "$KILLS" \
      --seed "$SEED" --json 2>"$log") || true
echo "$out"
python3 - "$out" "$MESSAGES" "$KILLS" <<'PY' || { tail -30 "$log"; exit 1; }
import json, sys
r = json.loads(sys.argv[1]); n = int(sys.argv[2]); kills = int(sys.argv[3])
problems = []
if r["broker_restarts"] != kills: problems.append("restarts %d != %d" % (r["broker_restarts"], kills))
if r["accepted"] != n: problems.append("accepted %d of %d" % (r["accepted"], n))
if r["ledger_doc_out"] != r["accepted"]: problems.append("doc_out items %d for %d accepted" % (r["ledger_doc_out"], r["accepted"]))
if r["ledger_doc_in"] != r["accepted"]: problems.append("doc_in items %d for %d accepted" % (r["ledger_doc_in"], r["accepted"]))
if r["ledger_rows"] != r["accepted"]: problems.append("ledger rows %d for %d accepted (one a document)" % (r["ledger_rows"], r["accepted"]))
if r["ledger_chain"] != "ok": problems.append("chain " + r["ledger_chain"])
if problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
print("PASS: %d accepted = %d doc_out = %d doc_in items, %d rows, chain ok, %d broker kills"
      % (r["accepted"], r["ledger_doc_out"], r["ledger_doc_in"], r["ledger_rows"], kills))
PY
