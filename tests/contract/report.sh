# Contract adapter for lthub-report (sourced by contract.sh; bash only).
#
# The peer is the reporting system, played by `lthub-sim report` (one
# bearer token, reports kept in $HUB_DIR/rpstore and read back when it
# restarts). Reports are published as lthubd will, by `lthub-sim report-gen`
# (connector "gen") from report files.
#   inbound    the reporting system's acceptance, which lthub-report
#              publishes back as a report_accepted fact: report in-N is
#              published, its call held 6 s by the system (--latency); the
#              broker is frozen meanwhile, and lthub-report may count the
#              report as accepted (its log line) only once the broker stored
#              the fact; facts are routed nowhere, so they are counted in the
#              store
#   outbound   report out-N reaches the system byte for byte, once
#   failure    the system restarts with its listener closed for 4 s
#              (connections refused), then serves again on the same port

CONN_NAME=report
CONN_BIN="$BIN/connectors/report/lthub-report"
RP_SIM_PID=""
RP_SIM_RUN=0
RP_PORT=0

# rp_json URL: GET a simulator control endpoint, print the body.
rp_json() {
    python3 -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.stdout.write(opener.open(sys.argv[1], timeout=10).read().decode())' "$1"
}

# A field of the simulator's /_sim/stats (python expression on d).
rp_stat() { rp_json "$SIM_URL/_sim/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# rp_sim [FAULT OPTIONS...]: start the simulator on RP_PORT (0: any, then kept).
rp_sim() {
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

# Stop the simulator (SIGTERM, at most 10 s); fail unless it exits 0.
rp_sim_stop() {
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

adapter_setup() {
    hub_keys report gen
    mkdir -p "$HUB_DIR/reports" "$HUB_DIR/rpstore"
    printf 'contract-token-%s\n' "$RANDOM$RANDOM" >"$HUB_DIR/report.token"
    hub_config <<CFG
delivery
    backoff_min = 100
    backoff_max = 1000
routes
    route
        kind = "document,status"
        match = "*"
        to = "sink"
    route
        kind = "report"
        match = "*"
        to = "report"
connectors
    report
    gen
    sink
    pub
CFG
    rp_sim
    CONN_ARGS=($(hub_conn_args report) --url "$SIM_URL" --token-file "$HUB_DIR/report.token"
               --timeout-ms 15000 --connect-timeout-ms 1000 --fact-timeout-ms 20000)
}

# The simulator answers (the connector has no inbound loop of its own).
adapter_ready() { rp_stat 'd["requests"]' >/dev/null 2>&1; }

# rp_report NAME FILE: write a valid report whose key ends in NAME.
rp_report() {
    python3 - "$1" "$2" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
report = {"reportCode": "PAR-7.1", "organId": "000.00.00.H26",
          "period": {"kind": "quarter", "year": 2026, "index": 3,
                     "from": "2026-06-15", "to": "2026-09-14"},
          "generatedAt": "2026-09-20T08:00:00+07:00",
          "idempotencyKey": "PAR-7.1/000.00.00.H26/2026-Q3/" + name,
          "indicators": [{"code": "doc_electronic_rate", "name": "Tỷ lệ văn bản điện tử",
                          "numerator": 9120, "denominator": 9400, "value": 97.02,
                          "unit": "%", "target": 100}],
          "evidence": {"items": 9400, "sha256": "ab" * 32}}
open(path, "w", encoding="utf-8").write(json.dumps(report, ensure_ascii=False))
PY
}

# adapter_publish FILE: publish a report file with report-gen and wait.
adapter_publish() {
    "$SIM" report-gen $(hub_conn_args gen) --file "$1" >>"$HUB_DIR/gen.out" 2>>"$HUB_DIR/gen.err" &
    local pid=$! i
    HUB_PIDS="$HUB_PIDS $pid"
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "report-gen did not finish"
    wait "$pid" || fail "report-gen failed: $(tail -3 "$HUB_DIR/gen.err")"
    grep -q " PAR-7.1/000.00.00.H26/2026-Q3/$(basename "$1" .json)\$" "$HUB_DIR/gen.out" \
        || fail "report-gen did not get $1 accepted: $(tail -3 "$HUB_DIR/gen.out")"
}

peer_send_key() { echo "PAR-7.1/000.00.00.H26/2026-Q3/in-$1"; }

# Before the freeze: the system holds calls 6 s (longer than measuring the
# store and freezing the broker take, even on a loaded machine); report in-N
# is published and its call reaches the system.
peer_send_prepare() {
    rp_sim_stop
    rp_sim --latency 6000
    RP_REQUESTS0=$(rp_stat 'd["requests"]')
    rp_report "in-$1" "$HUB_DIR/reports/in-$1.json"
    adapter_publish "$HUB_DIR/reports/in-$1.json"
    within 20 '[ "$(rp_stat "d[\"requests\"]")" -gt "$RP_REQUESTS0" ]' \
        || fail "lthub-report did not call the system for in-$1"
}

# The call is already under way.
peer_send_start() { :; }

# The system has the call; lthub-report has not counted the report accepted.
peer_send_pending() {
    [ "$(rp_stat 'd["requests"]')" -gt "$RP_REQUESTS0" ] && ! peer_send_answered "$1"
}

# lthub-report logged the acceptance, which it does once the fact is stored.
peer_send_answered() {
    cat "$HUB_DIR"/conn-*.err 2>/dev/null | grep -qF "event=report_accepted key=\"$(peer_send_key "$1")\""
}

# rp_fact_count KEY: report_accepted facts with this key in the broker's store.
rp_fact_count() {
    python3 - "$HUB_DIR/data/lthub.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
print(db.execute("SELECT COUNT(*) FROM messages WHERE kind = 7 AND bkey = ?",
                 (sys.argv[2],)).fetchone()[0])
PY
}

peer_send_count() { rp_fact_count "$(peer_send_key "$1")"; }

# One fact, carrying the id the system gave; then the system stops holding calls.
peer_send_check() {
    local key id
    key=$(peer_send_key "$1")
    [ "$(rp_fact_count "$key")" = 1 ] || return 1
    id=$(rp_json "$SIM_URL/_sim/received" | python3 -c "import json,sys
print([r['id'] for r in json.load(sys.stdin)['received'] if r['idempotencyKey'] == sys.argv[1]][0])" "$key") || return 1
    python3 - "$HUB_DIR/data/lthub.db" "$key" "$id" <<'PY' || return 1
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
fact = json.loads(db.execute("SELECT payload FROM messages WHERE kind = 7 AND bkey = ?",
                             (sys.argv[2],)).fetchone()[0])
assert fact["id"] == sys.argv[3] and fact["idempotencyKey"] == sys.argv[2], fact
PY
    rp_sim_stop
    rp_sim
}

deliver_key() { echo "PAR-7.1/000.00.00.H26/2026-Q3/out-$1"; }

deliver_file() {
    rp_report "out-$1" "$HUB_DIR/reports/out-$1.json"
    echo "$HUB_DIR/reports/out-$1.json"
}

# The stored files holding report out-N's key.
rp_stored() { grep -lF -- "\"$(deliver_key "$1")\"" "$HUB_DIR"/rpstore/*.json 2>/dev/null; }

# Report out-N is at the system, byte for byte.
peer_has() {
    local stored
    stored=$(rp_stored "$1" | head -1)
    [ -n "$stored" ] && cmp -s "$stored" "$HUB_DIR/reports/out-$1.json"
}

peer_copies() { rp_stored "$1" | grep -c . || true; }

# The system restarts with its listener closed for 4 s.
peer_fail() {
    rp_sim_stop
    rp_sim --down-from 0.2 --down-for 4
    within 10 'grep -q "down" "$HUB_DIR/rpsim-$RP_SIM_RUN.err"' || fail "the simulator did not go down"
}

peer_fail_healed() { grep -q "up again" "$HUB_DIR/rpsim-$RP_SIM_RUN.err"; }

adapter_dump() {
    local f
    for f in "$HUB_DIR"/rpsim-*.err "$HUB_DIR/gen.out" "$HUB_DIR/gen.err"; do
        [ -s "$f" ] && { echo "--- $f"; tail -10 "$f"; }
    done
    return 0
}
