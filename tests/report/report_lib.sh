# Shell helpers for the lthub-report end-to-end tests (tests/report/*.sh), on
# top of tests/lib/hub.sh: a throw-away hub whose reports go to "report",
# an `lthub-sim report` reporting system, lthub-report between them, and
# `lthub-sim report-gen` ("gen") publishing reports as lthubd will. bash
# only. Every process started is stopped by PID (hub.sh's trap), every wait
# is bounded, and everything listens on 127.0.0.1.
#
#   BIN=build dir
#   . report_lib.sh
#   report_hub             # hub with the report route, keys, tokens; lthubd started
#   report_sim [FAULTS...] # lthub-sim report on a free (or the same) port, store kept
#   report_sim_stop        # SIGTERM, exit 0 checked
#   report_connector ...   # lthub-report toward $SIM_URL (extra options appended)
#   report_publish N ...   # lthub-sim report-gen: N seeded reports (extra options appended)

. "$(dirname "${BASH_SOURCE[0]}")/../lib/hub.sh"

SIM="$BIN/tests/sim/lthub-sim"
REPORT="$BIN/connectors/report/lthub-report"
LTHUB="$BIN/broker/lthub"
RP_SIM_PID=""
RP_SIM_RUN=0
RP_PORT=0
RP_GEN_RUN=0

ok() { echo "ok - $*"; }
fail() {
    echo "FAIL: $*"
    local f
    for f in "$HUB_DIR"/report-*.err "$HUB_DIR"/rpsim-*.err "$HUB_DIR"/gen-*.out "$HUB_DIR"/lthubd.log; do
        [ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }
    done
    exit 1
}

# No sanitizer report in any process's stderr (Sanitize build).
sanitizer_check() {
    if grep -l "ERROR: AddressSanitizer\|LeakSanitizer\|runtime error:" "$HUB_DIR"/*.err "$HUB_DIR"/*.log 2>/dev/null; then
        fail "sanitizer report (files above)"
    fi
}

# jget FILE EXPR: a Python expression over the JSON document d in FILE.
jget() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}

# http_get URL FILE: GET a simulator control endpoint (no proxy) into FILE.
http_get() {
    python3 -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
open(sys.argv[2], "wb").write(opener.open(sys.argv[1], timeout=10).read())' "$1" "$2"
}

# rp_stat EXPR: a field of the simulator's /_sim/stats (python on d); empty
# when it does not answer.
rp_stat() {
    http_get "$SIM_URL/_sim/stats" "$HUB_DIR/rpstats.json" 2>/dev/null \
        && jget "$HUB_DIR/rpstats.json" "$1"
}

# rp_received EXPR: python over the simulator's /_sim/received list (d).
rp_received() {
    http_get "$SIM_URL/_sim/received" "$HUB_DIR/received.json" 2>/dev/null \
        && jget "$HUB_DIR/received.json" "$1"
}

# A field of connector NAME in `lthub status --json` (python on c).
conn_stat() { hub_stat "[c[\"$2\"] for c in s[\"connectors\"] if c[\"name\"]==\"$1\"][0]"; }

# The dead letters as JSON in $HUB_DIR/dead.json; prints how many.
dead_count() {
    "$LTHUB" dead --admin "$HUB_ADMIN" --json >"$HUB_DIR/dead.json" 2>&1 \
        && jget "$HUB_DIR/dead.json" 'len(d["dead"])'
}

# fact_count KEY: messages of kind fact, btype report_accepted, with this
# key in the broker's store (read-only SQL on the live store).
fact_count() {
    python3 - "$HUB_DIR/data/lthub.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
print(db.execute("SELECT COUNT(*) FROM messages WHERE kind = 7 AND bkey = ? AND dedup LIKE ?",
                 (sys.argv[2], "fact|%|report_accepted|%")).fetchone()[0])
PY
}

# fact_payload KEY: the payload of the report_accepted fact with this key.
fact_payload() {
    python3 - "$HUB_DIR/data/lthub.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
row = db.execute("SELECT payload FROM messages WHERE kind = 7 AND bkey = ?", (sys.argv[2],)).fetchone()
sys.stdout.write(row[0].decode() if row else "")
PY
}

# report_hub: lthubd with reports routed to "report", short retry delays,
# keys for the connector and the generator, the system's token and a wrong one.
report_hub() {
    hub_init
    hub_keys report gen
    printf 'report-token-%s\n' "$RANDOM$RANDOM" >"$HUB_DIR/report.token"
    printf 'wrong-token\n' >"$HUB_DIR/wrong.token"
    chmod 600 "$HUB_DIR/report.token" "$HUB_DIR/wrong.token"
    mkdir -p "$HUB_DIR/rpstore"
    hub_config <<CFG
delivery
    backoff_min = ${RP_BACKOFF_MIN:-100}
    backoff_max = ${RP_BACKOFF_MAX:-1000}
    max_attempts = ${RP_MAX_ATTEMPTS:-1000}
routes
    route
        kind = "report"
        match = "*"
        to = "report"
connectors
    report
    gen
CFG
    hub_start
}

# report_sim [ARGS...]: start the reporting system simulator on RP_PORT (0:
# a free one, then kept for restarts) with the store in $HUB_DIR/rpstore.
report_sim() {
    RP_SIM_RUN=$((RP_SIM_RUN + 1))
    local out="$HUB_DIR/rpsim-$RP_SIM_RUN.out" i port=
    : >"$out"
    "$SIM" report --listen "127.0.0.1:$RP_PORT" --token-file "$HUB_DIR/report.token" \
        --store "$HUB_DIR/rpstore" "$@" >>"$out" 2>"$HUB_DIR/rpsim-$RP_SIM_RUN.err" &
    RP_SIM_PID=$!
    HUB_PIDS="$HUB_PIDS $RP_SIM_PID"
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$out")
        [ -n "$port" ] && break
        kill -0 "$RP_SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || fail "the report simulator did not start: $(cat "$HUB_DIR/rpsim-$RP_SIM_RUN.err")"
    RP_PORT=$port
    SIM_URL="http://127.0.0.1:$port"
}

# report_sim_stop: SIGTERM, at most 10 s; fail unless it exits 0.
report_sim_stop() {
    local i rc=0
    kill -TERM "$RP_SIM_PID" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$RP_SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$RP_SIM_PID" 2>/dev/null && { kill -KILL "$RP_SIM_PID"; fail "the simulator ignored SIGTERM"; }
    wait "$RP_SIM_PID" || rc=$?
    [ "$rc" = 0 ] || fail "the simulator exited with $rc"
}

# report_connector [ARGS...]: start lthub-report toward SIM_URL with the
# right token (later options win); REPORT_PID, stderr in report-N.err.
report_connector() {
    REPORT_RUN=$((${REPORT_RUN:-0} + 1))
    "$REPORT" $(hub_conn_args report) --url "$SIM_URL" --token-file "$HUB_DIR/report.token" \
        --timeout-ms 2000 --connect-timeout-ms 1000 "$@" 2>"$HUB_DIR/report-$REPORT_RUN.err" &
    REPORT_PID=$!
    HUB_PIDS="$HUB_PIDS $REPORT_PID"
    hub_wait 20 '[ "$(conn_stat report connected)" = True ]' || fail "lthub-report did not connect"
}

# report_publish N [ARGS...]: publish N seeded reports (or --file ...) with
# lthub-sim report-gen and wait until it ends; its lines in gen-K.out, the
# keys accepted in $HUB_DIR/published.keys (appended).
report_publish() {
    local count=$1 i
    shift
    RP_GEN_RUN=$((RP_GEN_RUN + 1))
    local out="$HUB_DIR/gen-$RP_GEN_RUN.out"
    "$SIM" report-gen $(hub_conn_args gen) --count "$count" --seed "$RP_GEN_RUN" "$@" \
        >"$out" 2>"$HUB_DIR/gen-$RP_GEN_RUN.err" &
    local pid=$!
    HUB_PIDS="$HUB_PIDS $pid"
    for i in $(seq 1 600); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "report-gen did not finish in 60 s"
    wait "$pid" || fail "report-gen failed: $(tail -3 "$HUB_DIR/gen-$RP_GEN_RUN.err")"
    grep -v ' rejected \| invalid \| unreadable ' "$out" | awk '{print $3}' >>"$HUB_DIR/published.keys"
}
