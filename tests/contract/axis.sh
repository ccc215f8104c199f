# Contract adapter for lthub-axis (sourced by contract.sh; bash only).
#
# The peer is the national document axis, played by `lthub-sim axis`
# (systems hub-h26 for the province, vpcp for a ministry, packages kept in
# $HUB_DIR/axstore byte for byte).
#   inbound    the ministry sends a document for 000.00.12.H26 to the axis;
#              lthub-axis lists, fetches and publishes it; the axis's
#              success answer is updateStatus done, which must come only
#              after the broker stored the message
#   outbound   a document of 000.00.12.H26 for the ministry reaches the axis
#              with hash-file accepted, its bytes those published plus one
#              TraceHeader of the province (attachments byte-identical)
#   failure    the axis restarts with its listener closed for 4 s
#              (connections refused), then serves again on the same port

CONN_NAME=axis
CONN_BIN="$BIN/connectors/axis/lthub-axis"
PROVINCE=000.00.00.H26
AX_SIM_PID=""
AX_RUN=0

# ax_json URL: GET a simulator control endpoint, print the body.
ax_json() {
    python3 -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.stdout.write(opener.open(sys.argv[1], timeout=10).read().decode())' "$1"
}

# A field of the simulator's /_sim/stats (python expression on d).
ax_stat() { ax_json "$SIM_URL/_sim/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ax_sim [FAULT OPTIONS...]: start the axis simulator on AX_PORT (0: any).
ax_sim() {
    AX_RUN=$((AX_RUN + 1))
    local out="$HUB_DIR/axsim-$AX_RUN.out" i port=
    : >"$out"
    "$SIM" axis --listen "127.0.0.1:${AX_PORT:-0}" --store "$HUB_DIR/axstore" \
        --system "hub-h26:$HUB_DIR/hub.secret:*.H26" \
        --system "vpcp:$HUB_DIR/vpcp.secret:000.00.00.G22" "$@" \
        >>"$out" 2>"$HUB_DIR/axsim-$AX_RUN.err" &
    AX_SIM_PID=$!
    HUB_PIDS="$HUB_PIDS $AX_SIM_PID"
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$out")
        [ -n "$port" ] && break
        kill -0 "$AX_SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || fail "the axis simulator did not start: $(cat "$HUB_DIR/axsim-$AX_RUN.err")"
    AX_PORT=$port
    SIM_URL="http://127.0.0.1:$port"
}

# Stop the simulator (SIGTERM, at most 10 s); fail unless it exits 0.
ax_sim_stop() {
    local i rc=0
    kill -TERM "$AX_SIM_PID" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$AX_SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$AX_SIM_PID" 2>/dev/null && { kill -KILL "$AX_SIM_PID"; fail "the simulator ignored SIGTERM"; }
    wait "$AX_SIM_PID" || rc=$?
    [ "$rc" = 0 ] || fail "the simulator exited with $rc"
}

adapter_setup() {
    hub_keys axis
    mkdir -p "$HUB_DIR/pkgs" "$HUB_DIR/axstore"
    printf 'province-secret-%s\n' "$RANDOM" >"$HUB_DIR/hub.secret"
    printf 'ministry-secret-%s\n' "$RANDOM" >"$HUB_DIR/vpcp.secret"
    hub_config <<CFG
delivery
    backoff_min = 100
    backoff_max = 1000
routes
    route
        kind = "document,status"
        match = "*.H26"
        to = "sink"
    route
        kind = "document,status"
        match = "*"
        to = "axis"
connectors
    axis
    sink
    pub
CFG
    ax_sim
    CONN_ARGS=($(hub_conn_args axis) --url "$SIM_URL" --system-id hub-h26
               --secret-file "$HUB_DIR/hub.secret" --province-code "$PROVINCE" --poll-ms 300
               --timeout-ms 2000 --connect-timeout-ms 1000 --data "$HUB_DIR/axisdata")
}

# The connector has called the axis (its receive loop lists the mailbox).
adapter_ready() {
    [ "$(ax_stat 'd["operations"].get("getReceivedEdocList", 0)' 2>/dev/null || echo 0)" -gt 0 ]
}

peer_send_key() { echo "000.00.00.G22,2026/09/03,$((100 + $1))/CT-IN"; }

# Before the freeze: the package and the simulator's counters (each read
# starts python, slow on a loaded machine).
peer_send_prepare() {
    "$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.12.H26 --number $((100 + $1)) --notation CT-IN \
        --attach "$FIX/pdf/signed.pdf" "$HUB_DIR/pkgs/in-$1.edxml" || fail "mkdoc"
    AX_DONE0=$(ax_stat 'd["done"]')
    AX_FETCHED0=$(ax_stat 'd["fetched"]')
}

# The ministry sends inbound item N to the axis.
peer_send_start() {
    "$SIM" axis-send --url "$SIM_URL" --system vpcp --secret-file "$HUB_DIR/vpcp.secret" \
        --timeout 10000 "$HUB_DIR/pkgs/in-$1.edxml" >"$HUB_DIR/in-$1.json" 2>&1 \
        || fail "the ministry could not send to the axis: $(cat "$HUB_DIR/in-$1.json")"
}

# lthub-axis fetched the item but has not acknowledged it.
peer_send_pending() {
    [ "$(ax_stat 'd["fetched"]')" -gt "$AX_FETCHED0" ] && [ "$(ax_stat 'd["done"]')" = "$AX_DONE0" ]
}

# The item was acknowledged done.
peer_send_answered() { [ "$(ax_stat 'd["done"]')" -gt "$AX_DONE0" ]; }

# Acknowledged once, and the hub's lists at the axis are empty.
peer_send_check() {
    local type
    [ "$(ax_stat 'd["done"]')" = $((AX_DONE0 + 1)) ] || return 1
    for type in edoc status; do
        "$SIM" axis-call --url "$SIM_URL" --system hub-h26 --secret-file "$HUB_DIR/hub.secret"             getReceivedEdocList servicetype=eDoc messagetype=$type >"$HUB_DIR/list.json" || return 1
        [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"]))'               "$HUB_DIR/list.json")" = 0 ] || return 1
    done
}

deliver_key() { echo "000.00.12.H26,2026/09/03,$((200 + $1))/CT-OUT"; }

deliver_file() {
    "$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.G22 --number $((200 + $1)) --notation CT-OUT \
        --attach "$FIX/pdf/signed.pdf" "$HUB_DIR/pkgs/out-$1.edxml" >/dev/null || fail "mkdoc"
    echo "$HUB_DIR/pkgs/out-$1.edxml"
}

# The stored packages holding outbound package N's DocumentId.
ax_stored() { grep -lF -- "<edXML:DocumentId>$(deliver_key "$1")<" "$HUB_DIR"/axstore/*.edxml 2>/dev/null; }

# Package N is at the axis: hash-file was accepted (nothing refused), and
# the bytes are those published with one TraceHeader of the province added.
peer_has() {
    local stored
    stored=$(ax_stored "$1" | head -1)
    [ -n "$stored" ] || return 1
    [ "$(ax_stat 'd["hash_failures"]')" = 0 ] || return 1
    python3 - "$HUB_DIR/pkgs/out-$1.edxml" "$stored" "$PROVINCE" <<'PY'
import re, sys
sent = open(sys.argv[1], "rb").read()
got = open(sys.argv[2], "rb").read()
trace = re.compile(rb"\s*<edXML:TraceHeader>\s*<edXML:OrganId>" + re.escape(sys.argv[3].encode())
                   + rb"</edXML:OrganId>\s*<edXML:Timestamp>[0-9/: ]+</edXML:Timestamp>\s*"
                   + rb"</edXML:TraceHeader>")
added = trace.findall(got)
assert len(added) == 1, "expected one TraceHeader of the province, found %d" % len(added)
assert trace.sub(b"", got) == sent, "the package differs from what was published beyond the TraceHeader"
PY
} 2>"$HUB_DIR/peer_has.why"

peer_copies() { ax_stored "$1" | grep -c . || true; }

# The axis restarts with its listener closed for 4 s.
peer_fail() {
    ax_sim_stop
    ax_sim --down-from 0.2 --down-for 4
    within 10 'grep -q "down" "$HUB_DIR/axsim-$AX_RUN.err"' || fail "the simulator did not go down"
}

peer_fail_healed() { grep -q "up again" "$HUB_DIR/axsim-$AX_RUN.err"; }

adapter_dump() {
    local f
    [ -s "$HUB_DIR/peer_has.why" ] && { echo "--- peer_has"; tail -3 "$HUB_DIR/peer_has.why"; }
    for f in "$HUB_DIR"/axsim-*.err; do
        [ -s "$f" ] && { echo "--- $f"; tail -10 "$f"; }
    done
    return 0
}
