#!/usr/bin/env bash
# Fault injection of `lthub-sim axis` (spec/peers.md D): failures, hangs,
# latency, a down window with connections refused, corrupted answers.
# Usage: test_sim_axis_faults.sh PATH/TO/lthub-sim
set -u
SIM=${1:?usage: test_sim_axis_faults.sh LTHUB_SIM}
. "$(dirname "$0")/sim_lib.sh"
printf 'secret\n' >"$WORK/s.secret"
SYS=(--system "s1:$WORK/s.secret:000.00.00.G22")
call() { "$SIM" axis-call --url "$SIM_URL" --system s1 --secret-file "$WORK/s.secret" "$@"; }

# Every request failed: no answer is OK, and all are counted.
sim_start fail axis --listen 127.0.0.1:0 "${SYS[@]}" --fail-rate 1 --seed 7
for i in 1 2 3 4 5 6 7 8 9; do
    expect_rc 1 /dev/null call --timeout 5000 getAgenciesList 2>/dev/null
done
http_get "$SIM_URL/_sim/stats" "$WORK/stats.json"
[ "$(jget "$WORK/stats.json" 'sum(d["faults"][k] for k in ("http_500","http_503","fail_body"))')" = 9 ] \
    || fail "fault counts: $(cat "$WORK/stats.json")"
[ "$(jget "$WORK/stats.json" 'd["requests"]')" = 0 ] || fail "failed requests were performed"
sim_stop "$SIM_PID" || fail "stop"
ok "--fail-rate 1 fails every request without performing it"

# Hung requests: the client times out; the simulator still stops promptly.
sim_start hang axis --listen 127.0.0.1:0 "${SYS[@]}" --hang-rate 1
expect_rc 2 /dev/null call --timeout 500 getAgenciesList 2>"$WORK/hang.err"
grep -q ETIMEOUT "$WORK/hang.err" || fail "hang: $(cat "$WORK/hang.err")"
start=$(date +%s)
sim_stop "$SIM_PID" || fail "stop with a hung request"
[ $(($(date +%s) - start)) -le 5 ] || fail "stopping took too long"
ok "--hang-rate 1 never answers, and SIGTERM still stops at once"

# Latency and a down window: refused while down, served again on the same port after.
sim_start down axis --listen 127.0.0.1:0 "${SYS[@]}" --latency 200 --down-from 1.5 --down-for 2
t0=$(date +%s%N)
call --timeout 5000 getAgenciesList >/dev/null || fail "before the window"
[ $((($(date +%s%N) - t0) / 1000000)) -ge 200 ] || fail "latency not applied"
for i in $(seq 1 40); do grep -q "down" "$WORK/down.err" && break; sleep 0.1; done
expect_rc 2 /dev/null call --timeout 2000 getAgenciesList 2>"$WORK/down.call.err"
grep -q EUNAVAIL "$WORK/down.call.err" || fail "down: $(cat "$WORK/down.call.err")"
for i in $(seq 1 60); do grep -q "up again" "$WORK/down.err" && break; sleep 0.1; done
call --timeout 5000 getAgenciesList >/dev/null || fail "after the window: $(cat "$WORK/down.err")"
sim_stop "$SIM_PID" || fail "stop"
ok "--latency and --down-from/--down-for behave"

# Corrupted answers cannot be parsed by the client.
sim_start corrupt axis --listen 127.0.0.1:0 "${SYS[@]}" --corrupt-rate 1
expect_rc 1 /dev/null call --timeout 5000 getAgenciesList 2>"$WORK/corrupt.err"
grep -q "not JSON" "$WORK/corrupt.err" || fail "corrupt: $(cat "$WORK/corrupt.err")"
http_get "$SIM_URL/_sim/stats" "$WORK/stats.json"
[ "$(jget "$WORK/stats.json" 'd["faults"]["corrupted"]')" = 1 ] || fail "corrupt count"
sim_stop "$SIM_PID" || fail "stop"
ok "--corrupt-rate 1 cuts answers short"
