#!/usr/bin/env bash
# Dossier path benchmark: records/s from a one-stop client (lthub-sim
# onestop) through lthub-portal and lthubd to the DVCQG simulator.
# Prints two figures: intake (the one-stop system answered 0, every record
# on the broker's disk) and end to end (until DVCQG holds every record).
# Not a ctest (figures, not a verdict); see docs/performance.md.
#
# usage: portal_bench.sh BUILD_DIR SOURCE_DIR [COUNT] [BATCH] [INFLIGHT] [WORKERS]
set -u
BIN=$1
SRC=$2
COUNT=${3:-5000}
BATCH=${4:-50}
INFLIGHT=${5:-4}
WORKERS=${6:-16}
. "$SRC/tests/portal/portal_lib.sh"
PORTAL_BACKOFF_MAX=1000
portal_hub
portal_sim --max-items 100000000
# Optional instruction counts: PORTAL_BENCH_GRIND=DIR runs lthub-portal
# under callgrind (DIR/portal.callgrind; valgrind's SHA-256 runs without the
# CPU's SHA instructions, so digests weigh more there than they do).
if [ -n "${PORTAL_BENCH_GRIND:-}" ]; then
    mkdir -p "$PORTAL_BENCH_GRIND"
    cat >"$HUB_DIR/portal-grind.sh" <<GRIND
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$PORTAL_BENCH_GRIND/portal.callgrind" "$PORTAL_BIN" "\$@"
GRIND
    chmod +x "$HUB_DIR/portal-grind.sh"
    PORTAL_BIN="$HUB_DIR/portal-grind.sh"
fi
portal_conn --workers "$WORKERS" --credit $((WORKERS * 4)) --log-level warning
# Optional profile: PORTAL_BENCH_PERF=DIR records `perf record -g` of each
# process into DIR/{lthubd,portal,sim}.data for the length of the run.
PERF_PIDS=""
if [ -n "${PORTAL_BENCH_PERF:-}" ]; then
    mkdir -p "$PORTAL_BENCH_PERF"
    for p in "lthubd $HUB_PID" "portal $PORTAL_PID" "sim $SIM_PID"; do
        set -- $p
        perf record -F 999 ${PORTAL_BENCH_PERF_CG:--g} -p "$2" -o "$PORTAL_BENCH_PERF/$1.data" >/dev/null 2>&1 &
        PERF_PIDS="$PERF_PIDS $!"
    done
    sleep 1
fi
# cpu PID: user + system CPU seconds a process used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# threads PID: one line per thread, "name tid on-CPU-ns run-queue-wait-ns" (schedstat).
threads() {
    local t
    for t in /proc/$1/task/*; do
        echo "$(tr -d ' ' <"$t/comm" 2>/dev/null) ${t##*/} $(cut -d' ' -f1,2 "$t/schedstat" 2>/dev/null)"
    done
}
# thread_use BEFORE AFTER WALL_NS [tid]: per thread name (per thread with
# "tid"), the seconds on a CPU and waiting for one over the run, and the
# share of the wall time they make.
thread_use() {
    awk -v wall="$3" -v by="${4:-name}" 'FNR == NR {run[$2] = $3; wait[$2] = $4; next}
        {k = by == "tid" ? $1 "/" $2 : $1; r[k] += $3 - run[$2]; w[k] += $4 - wait[$2]; n[k]++}
        END {for (k in r) if (r[k] > wall / 100)
                 printf "    %-22s x%-3d on a CPU %.2f s (%2.0f %%), waiting for one %.2f s (%2.0f %%)\n",
                        k, n[k], r[k] / 1e9, 100 * r[k] / wall, w[k] / 1e9, 100 * w[k] / wall}' "$1" "$2" | sort -t'(' -k2 -rn
}
threads "$HUB_PID" >"$HUB_DIR/hub.threads0"
threads "$PORTAL_PID" >"$HUB_DIR/portal.threads0"
t0=$(date +%s%N)
/usr/bin/time -f "%U %S" -o "$HUB_DIR/onestop.cpu" "$SIM" onestop --url "$PORTAL_URL" --username onestop \
    --password-file "$HUB_DIR/secrets/onestop" --count "$COUNT" --seed 5 --batch "$BATCH" --inflight "$INFLIGHT" --json \
    >"$HUB_DIR/onestop-bench.out" 2>&1 || fail "the one-stop generator saw failures"
t1=$(date +%s%N)
intake_cpu="lthubd $(cpu "$HUB_PID"), lthub-portal $(cpu "$PORTAL_PID"), DVCQG simulator $(cpu "$SIM_PID")"
items=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$HUB_DIR/onestop-bench.out")
# The wait polls with curl, not python: the harness's own CPU must not
# compete with the processes it measures.
held() {
    local stats
    stats=$(curl -s --noproxy '*' "$SIM_URL/_sim/stats")
    [[ $stats =~ \"received\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0
}
within 600 '[ "$(held)" -ge "$items" ]' || fail "DVCQG holds $(held) of $items"
t2=$(date +%s%N)
threads "$HUB_PID" >"$HUB_DIR/hub.threads1"
threads "$PORTAL_PID" >"$HUB_DIR/portal.threads1"
python3 - "$items" "$t0" "$t1" "$t2" "$COUNT" "$BATCH" "$INFLIGHT" "$WORKERS" <<'PY'
import sys
items, t0, t1, t2 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
count, batch, inflight, workers = sys.argv[5:9]
intake = (t1 - t0) / 1e9
total = (t2 - t0) / 1e9
print("portal bench: %s dossiers, %d records (dossiers, updates, steps), batch %s, %s calls in flight, %s delivery workers"
      % (count, items, batch, inflight, workers))
print("  intake (answered 0, on the broker's disk): %.2f s, %.0f records/s" % (intake, items / intake))
print("  end to end (held by DVCQG):               %.2f s, %.0f records/s" % (total, items / total))
PY
onestop_cpu=$(awk '{printf "%.2f", $1 + $2}' "$HUB_DIR/onestop.cpu")
echo "  CPU seconds when the intake ended: $intake_cpu"
echo "  CPU seconds at the end: lthubd $(cpu "$HUB_PID"), lthub-portal $(cpu "$PORTAL_PID"), DVCQG simulator $(cpu "$SIM_PID"), one-stop client $onestop_cpu; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  dossier_synced facts: $(pstat facts) for $(pstat synced) dossiers; deliveries answered RETRY $(pstat retried), FAIL $(pstat failed)"
echo "  lthub-portal's runtime: $(http_get "$PORTAL_URL/_portal/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(", ".join("%s %s" % (k, v) for k, v in sorted(d.items()) if not isinstance(v, (dict, list))))')"
echo "  DVCQG calls: $(pstat batches) batched calls carried $(pstat batched) records; DVCQG saw $(sim_n requests) requests ($(sim_n logins) logins, $(sim_n lookups) lookups, $(sim_n exists) answered -3)"
# The broker's group commits (one fsync each): how many, how many writes
# each carried, how long each took.
curl -s --noproxy '*' -H "Authorization: Bearer $(cat "$HUB_DIR/admin.token")" "http://$HUB_ADMIN/metrics" \
    | awk '/^lthub_store_commits_total/ {c = $2} /^lthub_store_writes_total/ {w = $2}
           /^lthub_store_commit_duration_seconds_sum/ {t = $2}
           END {if (c > 0) printf "  lthubd group commits: %d, %.1f writes and %.2f ms each\n", c, w / c, 1000 * t / c}'
echo "  lthubd's threads over the run (schedstat):"
thread_use "$HUB_DIR/hub.threads0" "$HUB_DIR/hub.threads1" $((t2 - t0)) tid
echo "  lthub-portal's threads over the run:"
thread_use "$HUB_DIR/portal.threads0" "$HUB_DIR/portal.threads1" $((t2 - t0))
for pid in $PERF_PIDS; do kill -INT "$pid" 2>/dev/null; done
for pid in $PERF_PIDS; do wait "$pid" 2>/dev/null; done
kill -TERM "$PORTAL_PID"
wait "$PORTAL_PID"
hub_stop
