# Shell helpers for the lthub-sim tests: start a simulator on a free port,
# read JSON, stop everything on exit. Sourced by test_sim_*.sh; bash only.
# Every wait is bounded; every process started is killed by PID on exit.

SIM_PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lt_sim_test.XXXXXX")

# Stop the simulators this script started, then remove the work directory.
sim_cleanup() {
    local pid
    for pid in "${SIM_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${SIM_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap sim_cleanup EXIT

# The test's own stderr, kept on fd 3 so failures show even inside redirections.
exec 3>&2

fail() {
    echo "FAIL: $*" >&3
    exit 1
}

ok() {
    echo "ok - $*"
}

# sim_start NAME ARGS...: start "lthub-sim ARGS" with port 0; sets SIM_PID
# and SIM_URL (http://127.0.0.1:PORT); output in $WORK/NAME.out and .err.
sim_start() {
    local name=$1
    shift
    : >"$WORK/$name.out"
    "$SIM" "$@" >>"$WORK/$name.out" 2>"$WORK/$name.err" &
    SIM_PID=$!
    SIM_PIDS+=("$SIM_PID")
    local i port=
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$WORK/$name.out")
        [ -n "$port" ] && break
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || fail "$name did not start: $(cat "$WORK/$name.err")"
    SIM_URL="http://127.0.0.1:$port"
}

# sim_stop PID: SIGTERM, then wait at most 10 s for a clean exit (status 0).
sim_stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "process $pid ignored SIGTERM"; }
    wait "$pid"
}

# jget FILE EXPR: print a Python expression over the JSON document d in FILE.
jget() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}

# http_get URL FILE: GET a control endpoint (no proxy) into FILE.
http_get() {
    python3 -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
open(sys.argv[2], "wb").write(opener.open(sys.argv[1], timeout=10).read())' "$1" "$2" \
        || fail "GET $1"
}

# expect_rc N OUTFILE CMD...: run CMD with stdout to OUTFILE; fail unless it exits N
# (so a sanitizer's own exit status is never mistaken for the expected failure).
expect_rc() {
    local want=$1 out=$2 rc=0
    shift 2
    "$@" >"$out" || rc=$?
    [ "$rc" = "$want" ] || fail "exit status $rc, expected $want: $* -> $(head -c 400 "$out")"
}
