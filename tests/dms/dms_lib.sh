# Shell helpers for the lthub-dms end-to-end tests, on top of tests/lib/hub.sh.
#
#   BIN=build dir; SRC=source dir
#   . "$SRC/tests/dms/dms_lib.sh"
#   dms_setup [lthub-dms options...]   hub with routes *.H26 -> dms, *.G22 -> axis,
#                                      an axis sink (lthub-testconn), lthub-dms with
#                                      two systems: sys-a serves 000.00.12.H26,
#                                      sys-b serves 000.00.13.H26
#   dms_send SYSTEM FILE [axis-send options]   prints the answer (never fails)
#   dms_call SYSTEM OPERATION [NAME=VALUE...]  prints the answer (never fails)
#   jget 'python expression on j' <<< "$json"
#   dms_list SYSTEM [messagetype]              prints the items as JSON
#   dms_kill / dms_stop / dms_start            SIGKILL / SIGTERM lthub-dms, start it again
#   DMS_SYS_A_EXTRA / DMS_SYS_B_EXTRA          extra lines for sys-a's / sys-b's section
#   DMS_MAX_ATTEMPTS=N                         the broker's delivery/max_attempts (20)
#   DMS_SCHEME=https, DMS_CA=FILE              talk HTTPS to lthub-dms (started with --tls-*)
# Every process is stopped by PID when the script exits (hub.sh's trap).

. "$SRC/tests/lib/hub.sh"
: "${LT_FIXTURES:=$SRC/../shared/fixtures}"
SIM="$BIN/tests/sim/lthub-sim"
DMS="$BIN/connectors/dms/lthub-dms"
TOOL="$BIN/tests/dms/dms-tool"
DMS_PID=""

# Evaluate a python expression over the JSON document j read from stdin.
jget() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# Write the systems file and the secrets.
dms_systems() {
    mkdir -p "$HUB_DIR/secrets"
    echo "secret-of-sys-a-$RANDOM" > "$HUB_DIR/secrets/sys-a"
    echo "secret-of-sys-b-$RANDOM" > "$HUB_DIR/secrets/sys-b"
    echo "not-the-secret" > "$HUB_DIR/secrets/wrong"
    chmod 600 "$HUB_DIR/secrets/"*
    cat > "$HUB_DIR/systems.cfg" <<CFG
#   DMS client systems of the test hub
system
    id = "sys-a"
    secret_file = "secrets/sys-a"
    agencies = "000.00.12.H26"
${DMS_SYS_A_EXTRA:-}
system
    id = "sys-b"
    secret_file = "secrets/sys-b"
    agencies = "000.00.13.H26"
${DMS_SYS_B_EXTRA:-}
CFG
}

# Start lthub-dms with the saved options and wait until it answers.
dms_start() {
    hub_spawn "$DMS" $(hub_conn_args dms) --listen "127.0.0.1:$DMS_PORT" \
        --systems "$HUB_DIR/systems.cfg" --data "$HUB_DIR/dms" --publish-timeout 5000 \
        ${DMS_OPTS[@]+"${DMS_OPTS[@]}"} 2>>"$HUB_DIR/dms.log"
    DMS_PID=$!
    local i
    for i in $(seq 1 100); do
        if curl -s -o /dev/null ${DMS_CA:+--cacert "$DMS_CA"} \
            "${DMS_SCHEME:-http}://127.0.0.1:$DMS_PORT/_dms/stats" 2>/dev/null \
            && [ "$(hub_stat '[c["connected"] for c in s["connectors"] if c["name"]=="dms"]')" = "[True]" ]; then
            return 0
        fi
        kill -0 "$DMS_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$HUB_DIR/dms.log" >&2
    hub_fail "lthub-dms did not start"
}

# SIGKILL lthub-dms and wait for it.
dms_kill() {
    kill -9 "$DMS_PID" 2>/dev/null || true
    wait "$DMS_PID" 2>/dev/null || true
}

# Stop lthub-dms with SIGTERM; fail unless it exits cleanly within 20 s.
dms_stop() {
    kill -TERM "$DMS_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 200); do
        kill -0 "$DMS_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$DMS_PID" 2>/dev/null && hub_fail "lthub-dms did not stop within 20 s of SIGTERM"
    local rc=0
    wait "$DMS_PID" 2>/dev/null || rc=$?
    [ "$rc" = 0 ] || hub_fail "lthub-dms exited with $rc after SIGTERM"
}

dms_setup() {
    DMS_OPTS=("$@")
    hub_init
    hub_keys dms axis
    dms_systems
    hub_config <<CFG
delivery
    backoff_min = 50
    backoff_max = 500
    max_attempts = ${DMS_MAX_ATTEMPTS:-20}
routes
    route
        kind = "document,status"
        match = "*.H26"
        to = "dms"
    route
        kind = "document,status"
        match = "*.G22"
        to = "axis"
connectors
    dms
    axis
CFG
    hub_start
    hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args axis) --record "$HUB_DIR/axis.rec" \
        2>>"$HUB_DIR/axis.log"
    touch "$HUB_DIR/axis.rec"
    DMS_PORT=$(hub_free_port)
    DMS_URL="${DMS_SCHEME:-http}://127.0.0.1:$DMS_PORT"
    dms_start
}

# Send a package as SYSTEM (secret from secrets/SYSTEM unless --secret-file given).
dms_send() {
    local system=$1 file=$2
    shift 2
    "$SIM" axis-send --url "$DMS_URL" --system "$system" --secret-file "$HUB_DIR/secrets/$system" \
        ${DMS_CA:+--ca-file "$DMS_CA"} \
        "$@" "$file" 2>>"$HUB_DIR/client.log" || true
}

# Call an edoc operation as SYSTEM.
dms_call() {
    local system=$1
    shift
    "$SIM" axis-call --url "$DMS_URL" --system "$system" --secret-file "$HUB_DIR/secrets/$system" \
        ${DMS_CA:+--ca-file "$DMS_CA"} \
        "$@" 2>>"$HUB_DIR/client.log" || true
}

# The items of SYSTEM's list (optionally of one messagetype), as a JSON array.
dms_list() {
    if [ -n "${2:-}" ]; then
        dms_call "$1" getReceivedEdocList servicetype=eDoc messagetype="$2"
    else
        dms_call "$1" getReceivedEdocList servicetype=eDoc
    fi | jget 'json.dumps(j.get("data", []))'
}

# Number of items in SYSTEM's list.
dms_count() { dms_list "$@" | jget 'len(j)'; }

# Broker's stored message count.
store_messages() { hub_stat 's["store"]["messages"]'; }
