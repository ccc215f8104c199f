# Contract adapter for lthub-dms (sourced by contract.sh; bash only).
#
# The peer is the province's DMS systems, played by `lthub-sim axis-send`
# and `axis-call`: sys-a serves 000.00.12.H26, sys-b 000.00.13.H26.
#   inbound    sys-a sends a document for a ministry (routed to the sink);
#              its answer is the DocId, which must be the broker's message id
#   outbound   a ministry's document for 000.00.13.H26 lands in sys-b's
#              mailbox; getEdoc returns the bytes published, byte for byte
#   failure    the mailbox file is locked by another process (a disk that
#              cannot take a write for a while) until the broker logs a
#              RETRY: the delivery fails with SQLITE_BUSY, lthub-dms
#              answers RETRY

CONN_NAME=dms
CONN_BIN="$BIN/connectors/dms/lthub-dms"
LOCK_PID=""
SEND_PID=""

# Evaluate a python expression over the JSON document j read from stdin.
dms_jget() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# Call an edoc operation as SYSTEM; prints the answer.
dms_call() {
    local system=$1
    shift
    "$SIM" axis-call --url "$DMS_URL" --system "$system" --secret-file "$HUB_DIR/secrets/$system" \
        "$@" 2>>"$HUB_DIR/client.log" || true
}

adapter_setup() {
    hub_keys dms
    mkdir -p "$HUB_DIR/secrets" "$HUB_DIR/pkgs"
    echo "contract-secret-a-$RANDOM" >"$HUB_DIR/secrets/sys-a"
    echo "contract-secret-b-$RANDOM" >"$HUB_DIR/secrets/sys-b"
    chmod 600 "$HUB_DIR/secrets/"*
    cat >"$HUB_DIR/systems.cfg" <<CFG
#   DMS client systems of the contract test
system
    id = "sys-a"
    secret_file = "secrets/sys-a"
    agencies = "000.00.12.H26"
system
    id = "sys-b"
    secret_file = "secrets/sys-b"
    agencies = "000.00.13.H26"
CFG
    hub_config <<CFG
delivery
    backoff_min = 100
    backoff_max = 1000
routes
    route
        kind = "document,status"
        match = "*.H26"
        to = "dms"
    route
        kind = "document,status"
        match = "*"
        to = "sink"
connectors
    dms
    sink
    pub
CFG
    DMS_PORT=$(hub_free_port)
    DMS_URL="http://127.0.0.1:$DMS_PORT"
    CONN_ARGS=($(hub_conn_args dms) --listen "127.0.0.1:$DMS_PORT" --systems "$HUB_DIR/systems.cfg"
               --data "$HUB_DIR/dms" --publish-timeout 15000)
}

adapter_ready() { curl -s -o /dev/null "$DMS_URL/_dms/stats" 2>/dev/null; }

peer_send_key() { echo "000.00.12.H26,2026/09/03,$((100 + $1))/CT-IN"; }

peer_send_start() {
    "$TOOL" mkdoc --from 000.00.12.H26 --to 000.00.00.G22 --number $((100 + $1)) --notation CT-IN \
        --attach "$FIX/pdf/signed.pdf" "$HUB_DIR/pkgs/in-$1.edxml" || fail "mkdoc"
    "$SIM" axis-send --url "$DMS_URL" --system sys-a --secret-file "$HUB_DIR/secrets/sys-a" \
        --timeout 60000 "$HUB_DIR/pkgs/in-$1.edxml" >"$HUB_DIR/in-$1.json" 2>>"$HUB_DIR/client.log" &
    SEND_PID=$!
    HUB_PIDS="$HUB_PIDS $SEND_PID"
}

# The DMS's sendEdoc call is still open (it waits for the broker).
peer_send_pending() { kill -0 "$SEND_PID" 2>/dev/null; }

# The call returned OK with a DocId.
peer_send_answered() {
    kill -0 "$SEND_PID" 2>/dev/null && return 1
    [ "$(dms_jget '"yes" if j["status"] == "OK" and j.get("DocId") else "no"' <"$HUB_DIR/in-$1.json" 2>/dev/null)" = yes ]
}

# The DocId answered is the broker's id of the stored message.
peer_send_check() {
    local docid
    docid=$(dms_jget 'j["DocId"]' <"$HUB_DIR/in-$1.json")
    "$LTHUB" trace --admin "$HUB_ADMIN" --json "$docid" >"$HUB_DIR/trace-$1.json" 2>&1 || return 1
    python3 - "$HUB_DIR/trace-$1.json" "$(peer_send_key "$1")" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
assert t["deliveries"], t
assert all(d["key"] == sys.argv[2] and d["source"] == "dms" for d in t["deliveries"]), t
PY
}

deliver_key() { echo "000.00.00.G22,2026/09/03,$((200 + $1))/CT-OUT"; }

deliver_file() {
    "$TOOL" mkdoc --from 000.00.00.G22 --to 000.00.13.H26 --number $((200 + $1)) --notation CT-OUT \
        --attach "$FIX/pdf/signed.pdf" "$HUB_DIR/pkgs/out-$1.edxml" >/dev/null || fail "mkdoc"
    echo "$HUB_DIR/pkgs/out-$1.edxml"
}

# sys-b's open items with the DocumentId of outbound package N, as docIds.
dms_items() {
    dms_call sys-b getReceivedEdocList servicetype=eDoc messagetype=edoc \
        | dms_jget "'\n'.join(i['docId'] for i in j.get('data', []) if i.get('documentId') == '$(deliver_key "$1")')"
}

# Package N is in sys-b's mailbox and getEdoc gives back the bytes published.
peer_has() {
    local item
    item=$(dms_items "$1" | head -1)
    [ -n "$item" ] || return 1
    rm -f "$HUB_DIR/got-$1.edxml"
    dms_call sys-b getEdoc docId="$item" --data-out "$HUB_DIR/got-$1.edxml" >/dev/null
    cmp -s "$HUB_DIR/pkgs/out-$1.edxml" "$HUB_DIR/got-$1.edxml"
}

peer_copies() { dms_items "$1" | grep -c . || true; }

# Another process holds the mailbox's write lock until the broker has
# logged a RETRY from lthub-dms (at most 40 s), then 1 s more. A delivery
# waits at most two of the mailbox's 5 s busy waits (behind a prune step
# that is itself waiting on the lock) and then fails; a lock of fixed
# length could end before a delivery that reached lthub-dms late (a loaded
# machine) had failed, and the test would see no RETRY.
peer_fail() {
    python3 - "$HUB_DIR/dms/dms-mailbox.db" "$HUB_DIR/locked" "$HUB_DIR/lthubd.log" \
        <<'PY' 2>>"$HUB_DIR/client.log" &
import sqlite3, sys, time
def retries():
    try:
        with open(sys.argv[3], errors="replace") as log:
            return sum("event=retry connector=dms " in line for line in log)
    except OSError:
        return 0
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
before = retries()
open(sys.argv[2], "w").close()
deadline = time.monotonic() + 40
while retries() == before and time.monotonic() < deadline:
    time.sleep(0.1)
time.sleep(1)
db.execute("ROLLBACK")
PY
    LOCK_PID=$!
    HUB_PIDS="$HUB_PIDS $LOCK_PID"
    within 10 '[ -e "$HUB_DIR/locked" ]' || fail "could not lock the mailbox"
}

peer_fail_healed() { ! kill -0 "$LOCK_PID" 2>/dev/null; }

adapter_dump() {
    [ -s "$HUB_DIR/client.log" ] && { echo "--- client.log"; tail -20 "$HUB_DIR/client.log"; }
    return 0
}
