# Shell helpers for the lthub-axis end-to-end tests (tests/axis/*.sh), on
# top of tests/lib/hub.sh: a throw-away hub whose documents for the
# province go to a sink connector "dms" and everything else to "axis", an
# `lthub-sim axis` national axis, and lthub-axis between them. bash only.
# Every process started is stopped by PID (hub.sh's trap), every wait is
# bounded, and everything listens on 127.0.0.1.
#
#   BIN=build dir  FIX=fixtures dir
#   . axis_lib.sh
#   axis_hub           # hub with routes, keys, secrets; lthubd started
#   axis_sim NAME ...  # lthub-sim axis on a free (or $AXIS_PORT) port
#   axis_connector ... # lthub-axis toward $SIM_URL (extra options appended)
#   axis_sink          # lthub-testconn as the "dms" sink, record in $HUB_DIR/dms.rec

. "$(dirname "${BASH_SOURCE[0]}")/../lib/hub.sh"

SIM="$BIN/tests/sim/lthub-sim"
AXIS="$BIN/connectors/axis/lthub-axis"
TESTCONN="$BIN/tests/lthub-testconn"
LTHUB="$BIN/broker/lthub"
PROVINCE=000.00.00.H26

ok() { echo "ok - $*"; }

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

# The simulator's received list as JSON in $HUB_DIR/received.json.
sim_received() { http_get "$SIM_URL/_sim/received" "$HUB_DIR/received.json"; }

# The number of packages the simulator received (0 when it does not answer).
sim_received_count() {
    sim_received 2>/dev/null && jget "$HUB_DIR/received.json" 'len(d["received"])' || echo 0
}

# axis_hub: lthubd with the test routes, short retry delays, keys for the
# connectors and the secrets of the two axis systems.
axis_hub() {
    hub_init
    hub_keys pub dms axis
    printf 'province-secret\n' >"$HUB_DIR/hub.secret"
    printf 'ministry-secret\n' >"$HUB_DIR/vpcp.secret"
    printf 'wrong-secret\n' >"$HUB_DIR/wrong.secret"
    mkdir -p "$HUB_DIR/store"
    hub_config <<CFG
delivery
    backoff_min = ${AXIS_BACKOFF_MIN:-100}
    backoff_max = ${AXIS_BACKOFF_MAX:-1000}
    max_attempts = ${AXIS_MAX_ATTEMPTS:-1000}
routes
    route
        kind = "document,status"
        match = "*.H26"
        to = "dms"
    route
        kind = "document,status"
        match = "*"
        to = "axis"
connectors
    dms
    axis
    pub
CFG
    hub_start
}

# axis_sim NAME [ARGS...]: start the axis simulator (province system hub-h26
# serving *.H26, ministry system vpcp serving 000.00.00.G22), storing
# packages in ${AXIS_STORE:-$HUB_DIR/store}; port $AXIS_PORT when set, else a free one.
# Sets SIM_PID, SIM_URL, AXIS_PORT.
axis_sim() {
    local name=$1
    shift
    : >"$HUB_DIR/$name.out"
    mkdir -p "${AXIS_STORE:-$HUB_DIR/store}"
    "$SIM" axis --listen "127.0.0.1:${AXIS_PORT:-0}" --store "${AXIS_STORE:-$HUB_DIR/store}" \
        --system "hub-h26:$HUB_DIR/hub.secret:*.H26" \
        --system "vpcp:$HUB_DIR/vpcp.secret:000.00.00.G22" "$@" \
        >>"$HUB_DIR/$name.out" 2>"$HUB_DIR/$name.err" &
    SIM_PID=$!
    HUB_PIDS="$HUB_PIDS $SIM_PID"
    local i port=
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$HUB_DIR/$name.out")
        [ -n "$port" ] && break
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || hub_fail "simulator $name did not start: $(cat "$HUB_DIR/$name.err")"
    AXIS_PORT=$port
    SIM_URL="http://127.0.0.1:$port"
}

# stop_pid PID: SIGTERM, wait at most 15 s; returns the exit status (a
# sanitizer's leak report makes it non-zero).
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; echo "process $pid ignored SIGTERM" >&2; }
    wait "$pid"
}

# axis_connector [OPTIONS...]: start lthub-axis toward $SIM_URL; AXIS_PID.
axis_connector() {
    "$AXIS" $(hub_conn_args axis) --url "$SIM_URL" --system-id hub-h26 \
        --secret-file "$HUB_DIR/hub.secret" --province-code "$PROVINCE" \
        --poll-ms 300 --timeout-ms 2000 --connect-timeout-ms 1000 \
        --data "$HUB_DIR/axisdata" --log-level "${AXIS_LOG_LEVEL:-info}" "$@" \
        >>"$HUB_DIR/axis.log" 2>&1 &
    AXIS_PID=$!
    HUB_PIDS="$HUB_PIDS $AXIS_PID"
}

# axis_sink: lthub-testconn as the "dms" connector, recording deliveries.
axis_sink() {
    "$TESTCONN" $(hub_conn_args dms) --record "$HUB_DIR/dms.rec" >>"$HUB_DIR/dms.log" 2>&1 &
    SINK_PID=$!
    HUB_PIDS="$HUB_PIDS $SINK_PID"
}

# publish FILE[,FILE...]: publish edXML files through lthub-testconn (as
# connector "pub") and wait until it exits; the record is $HUB_DIR/pub.rec.
publish() {
    "$TESTCONN" $(hub_conn_args pub) --file "$1" --record "$HUB_DIR/pub.rec" \
        >>"$HUB_DIR/pub.log" 2>&1 &
    local pid=$!
    HUB_PIDS="$HUB_PIDS $pid"
    local i
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && hub_fail "publisher did not finish: $(tail -5 "$HUB_DIR/pub.log")"
    wait "$pid" || hub_fail "publisher exit status: $(tail -5 "$HUB_DIR/pub.log")"
}

# Show the logs when a test fails.
axis_dump() {
    local f
    for f in "$HUB_DIR"/axis.log "$HUB_DIR"/lthubd.log "$HUB_DIR"/*.err "$HUB_DIR"/pub.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -40 "$f" >&2; }
    done
}
fail() { axis_dump; hub_fail "$@"; }

# fake_axis MAILBOX: start tests/axis/fake_axis.py (an independent axis
# checking every HMAC against hub.secret) serving MAILBOX, its calls logged
# in $HUB_DIR/fake.log; sets FAKE_PID and SIM_URL.
fake_axis() {
    : >"$HUB_DIR/fake.log"
    rm -f "$HUB_DIR/fake.port"
    python3 "$(dirname "${BASH_SOURCE[0]}")/fake_axis.py" "$HUB_DIR/fake.port" \
        "$HUB_DIR/hub.secret" "$1" "$HUB_DIR/fake.log" 2>"$HUB_DIR/fake.err" &
    FAKE_PID=$!
    HUB_PIDS="$HUB_PIDS $FAKE_PID"
    hub_wait 10 '[ -s "$HUB_DIR/fake.port" ]' || fail "the fake axis did not start: $(cat "$HUB_DIR/fake.err")"
    SIM_URL="http://127.0.0.1:$(cat "$HUB_DIR/fake.port")"
}

# calls EXPR: how many calls logged by the fake axis satisfy the Python
# expression EXPR over the call c ({"op", "params", "refused"?}).
calls() {
    python3 -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) if eval(sys.argv[2], {"c": json.loads(l)})))' \
        "$HUB_DIR/fake.log" "$1"
}

# acks DOCID STATUS: how many updateStatus STATUS the fake axis got for
# DOCID (grep, not Python: it runs in tight waits).
acks() {
    grep -F '"op": "updateStatus"' "$HUB_DIR/fake.log" | grep -F "\"docid\": \"$1\"" \
        | grep -cF "\"status\": \"$2\""
}

# fetches DOCID: how many getEdoc the fake axis got for DOCID.
fetches() {
    grep -F '"op": "getEdoc"' "$HUB_DIR/fake.log" | grep -cF "\"docid\": \"$1\""
}

# ack_desc DOCID: the description of the first updateStatus fail of DOCID.
ack_desc() {
    python3 -c 'import json, sys
print([c["params"].get("description", "") for c in map(json.loads, open(sys.argv[1]))
       if c["op"] == "updateStatus" and c["params"].get("docid") == sys.argv[2]
       and c["params"].get("status") == "fail"][0])' "$HUB_DIR/fake.log" "$1"
}
