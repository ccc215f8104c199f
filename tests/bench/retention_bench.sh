#!/usr/bin/env bash
# Benchmark (figures, not a timed test): lthub-bench's relay through a hub
# whose retention prunes while the traffic flows (store/retention = 1 s),
# then the same with retention off, interleaved ROUNDS times. Prints the
# throughput of each run, what was pruned, the longest prune step and the
# longest group commit (for scale), and the store's size after it.
# usage: retention_bench.sh BUILD_DIR SOURCE_DIR [MESSAGES] [ROUNDS]
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
MESSAGES=${3:-50000}
ROUNDS=${4:-2}
run() {   # run RETENTION: one hub, one bench run, figures on one line
  hub_init
  hub_keys bench-pub bench-sink
  hub_config <<CFG
store
    retention = $1
routes
    route
        kind = "document"
        match = "BENCH"
        to = "bench-sink"
connectors
    bench-pub
    bench-sink
CFG
  hub_start
  local out
  out=$("$BIN/tests/lthub-bench" --broker "$HUB_ENDPOINT" --keys "$HUB_KEYS" --messages "$MESSAGES" --json 2>>"$HUB_DIR/bench.log")
  sleep 3   # the last messages become old enough and are pruned
  python3 - "$1" "$out" "$(hub_status_json)" <<'PY'
import json, sys
r, b, s = json.loads(sys.argv[2]), json.loads(sys.argv[3])["broker"], json.loads(sys.argv[3])["store"]
print("retention %-3s %6d msgs/s p99 %6.0f ms  lost %d dup %d  pruned %7d  longest prune step %5.1f ms, group commit %5.1f ms  store %.1f MB (%.1f MB free)" % (
    sys.argv[1], r["msgs_per_s"], r["latency_ms"]["p99"], r["lost"], r["duplicates"], s.get("pruned", 0), s.get("prune_step_us_max", 0) / 1000, b["commit_us_max"] / 1000,
    s["size_bytes"] / 1e6, s.get("free_bytes", 0) / 1e6))
PY
  hub_stop
  hub_cleanup
}
for _ in $(seq 1 "$ROUNDS"); do
  run 1
  run 0
done
