#!/usr/bin/env bash
# Reports per second through the hub (not a ctest; run by hand): N seeded
# reports published by lthub-sim report-gen (one at a time, each waiting for
# ACCEPTED, as lthubd publishes them), submitted by lthub-report to
# lthub-sim report, each acceptance stored back as a fact.
#
# Usage: tests/report/bench_report.sh BUILD_DIR [N]   (default 1000)
set -u
BIN=${1:?usage: bench_report.sh BUILD_DIR [N]}
N=${2:-1000}
. "$(dirname "$0")/report_lib.sh"
report_hub
report_sim
report_connector --workers 8
t0=$(date +%s%N)
report_publish "$N" --kinds month,quarter,half,nine_months,year --organs 000.00.00.H26,000.00.12.H26
t1=$(date +%s%N)
[ "$(wc -l <"$HUB_DIR/published.keys")" = "$N" ] || fail "published $(wc -l <"$HUB_DIR/published.keys"), not $N"
hub_wait 300 '[ "$(conn_stat report done)" = "$N" ]' || fail "done $(conn_stat report done), not $N"
t2=$(date +%s%N)
[ "$(rp_stat 'd["stored"]')" = "$N" ] || fail "stored $(rp_stat 'd["stored"]'), not $N"
python3 - "$N" "$t0" "$t1" "$t2" <<'PY'
import sys
n, t0, t1, t2 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print("published %d reports in %.2f s (%.0f/s, one fsync each); all submitted, stored once "
      "and their facts stored %.2f s after the first publish (%.0f reports/s end to end)"
      % (n, (t1 - t0) / 1e9, n / ((t1 - t0) / 1e9), (t2 - t0) / 1e9, n / ((t2 - t0) / 1e9)))
PY
hub_stop
