# Shell helpers for the full-chain end-to-end tests (tests/e2e/*.sh), on top
# of tests/lib/hub.sh: the real chain of a province's hub
#
#   DMS systems ──edoc API──▶ lthub-dms ─▶ lthubd ─▶ lthub-axis ──▶ lthub-sim axis
#   (axis-send, lthub-sim dms)                         (the national axis)
#
# with the default routes of a province configured as H26 (broker/province:
# *.H26 and H26.* to dms, every other agency to axis). lthub-dms serves
# sys-a (000.00.12.H26) and sys-b (000.00.13.H26); the axis simulator knows
# the hub (hub-h26, *.H26) and a ministry's system (vpcp, 000.00.00.G22).
# bash only; loopback only; every wait bounded by wall time; every process
# stopped by its PID (hub.sh's trap as the last resort).
#
#   BIN=build dir  SRC=source dir  FIX=fixtures
#   . "$SRC/tests/e2e/e2e_lib.sh"
#   chain_hub                 keys, secrets, systems, config; lthubd started
#   chain_sim NAME [FAULTS]   the axis simulator (same port on every restart)
#   chain_dms / chain_axis    the two connectors, waited for until connected
#   chain_stop_all            SIGTERM everything, assert clean exits

. "$SRC/tests/lib/hub.sh"
SIM="$BIN/tests/sim/lthub-sim"
TOOL="$BIN/tests/dms/dms-tool"
LTHUB="$BIN/broker/lthub"
PROVINCE=000.00.00.H26
SIM_PID=""
DMS_PID=""
AXIS_PID=""
T0=$(date +%s)

ok() { echo "ok - $* ($(($(date +%s) - T0)) s)"; }

# Show the logs worth reading, then fail.
fail() {
    local f
    echo "FAIL: $*"
    for f in "$HUB_DIR"/dms.err "$HUB_DIR"/axis.err "$HUB_DIR"/lthubd.log "$HUB_DIR"/sim-*.err \
             "$HUB_DIR"/client.log; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -25 "$f" >&2; }
    done
    exit 1
}

# within SECONDS CONDITION...: true once the shell condition holds, false
# once SECONDS of wall time passed.
within() {
    local deadline=$(($(date +%s%N) + $1 * 1000000000))
    shift
    while :; do
        if eval "$@"; then return 0; fi
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# jfile FILE EXPR: a python expression over the JSON document d in FILE.
jfile() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}

# jget EXPR: the same over the JSON document j on stdin.
jget() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# http_get URL: a simulator control endpoint's body (no proxy).
http_get() {
    python3 -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.stdout.write(opener.open(sys.argv[1], timeout=10).read().decode())' "$1"
}

# sim_stat EXPR: a field of the axis simulator's /_sim/stats (python on d).
sim_stat() { http_get "$SIM_URL/_sim/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# sim_received FILE: the simulator's received list into FILE.
sim_received() { http_get "$SIM_URL/_sim/received" >"$1"; }

# A field of connector NAME's counters in `lthub status --json`.
cstat() { hub_stat "[c[\"$2\"] for c in s[\"connectors\"] if c[\"name\"]==\"$1\"][0]"; }

# Deliveries to connector NAME not finished (ready, waiting or in flight).
cqueued() {
    hub_stat "[c[\"ready\"]+c[\"waiting\"]+c[\"inflight\"] for c in s[\"connectors\"] if c[\"name\"]==\"$1\"][0]"
}

# chain_hub: the hub of province H26 with the default routes.
chain_hub() {
    hub_init
    hub_keys dms axis
    mkdir -p "$HUB_DIR/secrets" "$HUB_DIR/pkgs"
    echo "e2e-secret-of-sys-a-$RANDOM" >"$HUB_DIR/secrets/sys-a"
    echo "e2e-secret-of-sys-b-$RANDOM" >"$HUB_DIR/secrets/sys-b"
    echo "e2e-province-secret-$RANDOM" >"$HUB_DIR/secrets/hub-h26"
    echo "e2e-ministry-secret-$RANDOM" >"$HUB_DIR/secrets/vpcp"
    chmod 600 "$HUB_DIR/secrets/"*
    cat >"$HUB_DIR/systems.cfg" <<CFG
#   DMS client systems of the province (full-chain tests)
system
    id = "sys-a"
    secret_file = "secrets/sys-a"
    agencies = "000.00.12.H26"
system
    id = "sys-b"
    secret_file = "secrets/sys-b"
    agencies = "000.00.13.H26"
CFG
    # The province's code goes into hub.sh's broker section: no routes
    # section, so the broker's default routes for H26 apply (they name
    # portal and report too, which these tests do not run).
    sed -i 's/^broker$/broker\n    province = "H26"/' "$HUB_DIR/lthub.cfg"
    hub_config <<CFG
delivery
    backoff_min = 100
    backoff_max = ${CHAIN_BACKOFF_MAX:-1000}
    max_attempts = 100000
connectors
    dms
    axis
    portal
    report
CFG
    "$BIN/broker/lthubd" --check-config "$HUB_DIR/lthub.cfg" >"$HUB_DIR/check.out" 2>&1 \
        || fail "config: $(cat "$HUB_DIR/check.out")"
    hub_start
}

# chain_sim NAME [FAULT OPTIONS...]: start the axis simulator, on the port
# of the previous one when there was one; packages kept in $HUB_DIR/NAME/.
chain_sim() {
    local name=$1 i port=
    shift
    mkdir -p "$HUB_DIR/$name"
    : >"$HUB_DIR/sim-$name.out"
    "$SIM" axis --listen "127.0.0.1:${SIM_PORT:-0}" --store "$HUB_DIR/$name" \
        --system "hub-h26:$HUB_DIR/secrets/hub-h26:*.H26" \
        --system "vpcp:$HUB_DIR/secrets/vpcp:000.00.00.G22" "$@" \
        >>"$HUB_DIR/sim-$name.out" 2>"$HUB_DIR/sim-$name.err" &
    SIM_PID=$!
    HUB_PIDS="$HUB_PIDS $SIM_PID"
    SIM_NAME=$name
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$HUB_DIR/sim-$name.out")
        [ -n "$port" ] && break
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || fail "axis simulator $name did not start: $(cat "$HUB_DIR/sim-$name.err")"
    SIM_PORT=$port
    SIM_URL="http://127.0.0.1:$port"
}

# stop_pid PID WHAT: SIGTERM, at most 15 s; fail unless it exits 0.
stop_pid() {
    local pid=$1 what=$2 i rc=0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        fail "$what ignored SIGTERM for 15 s"
    fi
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "$what exited with status $rc"
}

# A stopped process's stderr holds no sanitizer report (Sanitize build).
sanitizer_clean() {
    ! grep -q "LeakSanitizer\|ERROR: AddressSanitizer\|runtime error:" "$1" \
        || fail "sanitizer report in $1: $(grep -m3 -A5 "Sanitizer\|runtime error" "$1")"
}

# chain_dms: lthub-dms for sys-a and sys-b; waits until it serves.
chain_dms() {
    DMS_PORT=${DMS_PORT:-$(hub_free_port)}
    DMS_URL="http://127.0.0.1:$DMS_PORT"
    "$BIN/connectors/dms/lthub-dms" $(hub_conn_args dms) --listen "127.0.0.1:$DMS_PORT" \
        --systems "$HUB_DIR/systems.cfg" --data "$HUB_DIR/dms" --publish-timeout 15000 \
        --trust "$FIX/pki/ca.crt" "$@" 2>>"$HUB_DIR/dms.err" &
    DMS_PID=$!
    HUB_PIDS="$HUB_PIDS $DMS_PID"
    within 30 'curl -s -o /dev/null "$DMS_URL/_dms/stats" && [ "$(cstat dms connected)" = True ]' \
        || fail "lthub-dms did not start"
}

# chain_axis: lthub-axis toward $SIM_URL; waits until it is connected.
chain_axis() {
    "$BIN/connectors/axis/lthub-axis" $(hub_conn_args axis) --url "$SIM_URL" --system-id hub-h26 \
        --secret-file "$HUB_DIR/secrets/hub-h26" --province-code "$PROVINCE" --poll-ms 300 \
        --timeout-ms 2000 --connect-timeout-ms 1000 --data "$HUB_DIR/axisdata" \
        --trust "$FIX/pki/ca.crt" "$@" 2>>"$HUB_DIR/axis.err" &
    AXIS_PID=$!
    HUB_PIDS="$HUB_PIDS $AXIS_PID"
    within 30 '[ "$(cstat axis connected)" = True ]' || fail "lthub-axis did not connect"
}

# dms_send SYSTEM FILE [axis-send options]: a DMS sends a package; prints the answer.
dms_send() {
    local system=$1 file=$2
    shift 2
    "$SIM" axis-send --url "$DMS_URL" --system "$system" --secret-file "$HUB_DIR/secrets/$system" \
        --timeout 30000 "$@" "$file" 2>>"$HUB_DIR/client.log" || true
}

# dms_call SYSTEM OPERATION [NAME=VALUE...]: a DMS calls the hub; prints the answer.
dms_call() {
    local system=$1
    shift
    "$SIM" axis-call --url "$DMS_URL" --system "$system" --secret-file "$HUB_DIR/secrets/$system" \
        --timeout 30000 "$@" 2>>"$HUB_DIR/client.log" || true
}

# dms_list SYSTEM [MESSAGETYPE]: the open items of SYSTEM's mailbox as JSON.
dms_list() {
    dms_call "$1" getReceivedEdocList servicetype=eDoc ${2:+messagetype=$2} \
        | jget 'json.dumps(j.get("data", []))'
}

# dms_item SYSTEM DOCUMENTID [MESSAGETYPE]: the docId of SYSTEM's open item
# for DOCUMENTID (empty when none).
dms_item() {
    dms_list "$1" "${3:-}" | python3 -c 'import json, sys
items = [i for i in json.load(sys.stdin) if i.get("documentId") == sys.argv[1]]
print(items[0]["docId"] if items else "")' "$2"
}

# axis_send FILE [options]: the ministry's system sends a package to the axis.
axis_send() {
    local file=$1
    shift
    "$SIM" axis-send --url "$SIM_URL" --system vpcp --secret-file "$HUB_DIR/secrets/vpcp" \
        --timeout 10000 "$@" "$file" >"$HUB_DIR/axis-send.json" 2>&1 \
        || fail "the ministry could not send $file: $(cat "$HUB_DIR/axis-send.json")"
}

# chain_stop_all: stop both connectors, the simulator and the broker; every
# exit clean, and in the Sanitize build no sanitizer report.
chain_stop_all() {
    stop_pid "$AXIS_PID" lthub-axis
    stop_pid "$DMS_PID" lthub-dms
    [ -n "$SIM_PID" ] && stop_pid "$SIM_PID" "the axis simulator"
    sanitizer_clean "$HUB_DIR/axis.err"
    sanitizer_clean "$HUB_DIR/dms.err"
    kill -TERM "$HUB_PID" 2>/dev/null
    local rc=0
    within 15 '! kill -0 "$HUB_PID" 2>/dev/null' || fail "lthubd ignored SIGTERM"
    wait "$HUB_PID" || rc=$?
    [ "$rc" = 0 ] || fail "lthubd exited with status $rc"
    sanitizer_clean "$HUB_DIR/lthubd.log"
}
