# Shell helpers for the dossier-path tests (tests/portal/*.sh), on top of
# tests/lib/hub.sh:
#
#   lthub-sim onestop ──adapter API──▶ lthub-portal ─▶ lthubd ─▶ lthub-portal ──▶ lthub-sim portal
#   (the one-stop system)                (server)                 (client)          (DVCQG)
#
# with the route of the default configuration (dossier, progress -> portal). bash only;
# loopback only; every wait bounded by wall time; every process stopped by
# its PID (hub.sh's trap as the last resort).
#
#   BIN=build dir  SRC=source dir
#   . "$SRC/tests/portal/portal_lib.sh"
#   portal_hub                  keys, passwords, config; lthubd started
#   portal_sim [FAULTS...]      the DVCQG simulator (same port on every restart)
#   portal_conn [OPTIONS...]    lthub-portal, waited for until connected
#   portal_up [SIM...] [-- CONN...]  the three above, in that order
#   portal_login                a one-stop session on lthub-portal
#   portal_stop                 lthub-portal stopped cleanly, then lthubd
#   onestop ARGS...             the one-stop generator against lthub-portal

. "$SRC/tests/lib/hub.sh"
SIM="$BIN/tests/sim/lthub-sim"
LTHUB="$BIN/broker/lthub"
PORTAL_BIN="$BIN/connectors/portal/lthub-portal"
SIM_PID=""
PORTAL_PID=""
T0=$(date +%s)

ok() { echo "ok - $* ($(($(date +%s) - T0)) s)"; }

# Show the logs worth reading, then fail.
fail() {
    local f
    echo "FAIL: $*"
    for f in "$HUB_DIR"/portal*.err "$HUB_DIR"/lthubd.log "$HUB_DIR"/sim*.err "$HUB_DIR"/onestop*.out; do
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

# http_get URL: a body (no proxy); empty on failure.
http_get() {
    python3 -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.stdout.write(opener.open(sys.argv[1], timeout=10).read().decode())' "$1" 2>/dev/null
}

# http_post URL BODY: POST a JSON body, print the answer (any status).
http_post() {
    python3 -c 'import sys, urllib.request, urllib.error
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode("utf-8", "surrogateescape"),
                             headers={"Content-Type": "application/json"})
try:
    r = opener.open(req, timeout=30)
    sys.stdout.write("%d %s" % (r.status, r.read().decode()))
except urllib.error.HTTPError as e:
    sys.stdout.write("%d %s" % (e.code, e.read().decode()))' "$1" "$2"
}

# http_status FILE URL: POST the file as a JSON body, print the HTTP status.
http_status() {
    curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary @"$1" "$2"
}

# sim_stat EXPR: a field of the DVCQG simulator's /_sim/stats (python on d).
sim_stat() { http_get "$SIM_URL/_sim/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# sim_n FIELD: a counter of the DVCQG simulator's /_sim/stats.
sim_n() { sim_stat "d['$1']"; }

# sim_fault NAME VALUE: change a fault of the running simulator.
sim_fault() { http_get "$SIM_URL/_sim/fault?name=$1&value=$2" | grep -q '"error_code":"0"' || fail "sim fault $1=$2"; }

# cstat NAME FIELD: a field of connector NAME in `lthub status --json`.
cstat() { hub_stat "[c[\"$2\"] for c in s[\"connectors\"] if c[\"name\"]==\"$1\"][0]"; }

# pstat FIELD: a counter of lthub-portal's own (its /_portal/stats).
pstat() { http_get "$PORTAL_URL/_portal/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['portal']['$1'])"; }

# Deliveries to the portal not finished (ready, waiting or in flight).
pqueued() { hub_stat "[c[\"ready\"]+c[\"waiting\"]+c[\"inflight\"] for c in s[\"connectors\"] if c[\"name\"]==\"portal\"][0]"; }

# portal_hub: the hub routing dossiers and progress steps to portal.
portal_hub() {
    hub_init
    hub_keys portal
    mkdir -p "$HUB_DIR/secrets"
    echo "onestop-pass-$RANDOM-Mật-khẩu" >"$HUB_DIR/secrets/onestop"
    echo "dvcqg-pass-$RANDOM" >"$HUB_DIR/secrets/dvcqg"
    chmod 600 "$HUB_DIR/secrets/"*
    hub_config <<CFG
routes
    route
        kind = "dossier,progress"
        match = "*"
        to = "portal"
delivery
    backoff_min = 100
    backoff_max = ${PORTAL_BACKOFF_MAX:-1000}
    max_attempts = 100000
connectors
    portal
CFG
    "$BIN/broker/lthubd" --check-config "$HUB_DIR/lthub.cfg" >"$HUB_DIR/check.out" 2>&1 \
        || fail "config: $(cat "$HUB_DIR/check.out")"
    hub_start
    SIM_PORT=$(hub_free_port)
    SIM_URL="http://127.0.0.1:$SIM_PORT"
    PORTAL_PORT=$(hub_free_port)
    PORTAL_URL="http://127.0.0.1:$PORTAL_PORT"
}

# portal_sim [FAULT OPTIONS...]: start the DVCQG simulator on SIM_PORT.
portal_sim() {
    touch "$HUB_DIR/sim.out"
    "$SIM" portal --listen "127.0.0.1:$SIM_PORT" --username hub-h26 \
        --password-file "$HUB_DIR/secrets/dvcqg" "$@" >>"$HUB_DIR/sim.out" 2>>"$HUB_DIR/sim.err" &
    SIM_PID=$!
    HUB_PIDS="$HUB_PIDS $SIM_PID"
    within 10 'grep -q "listening on" "$HUB_DIR/sim.out"' || fail "the DVCQG simulator did not start"
}

# Start the independent DVCQG (tests/portal/peer_dvcqg.py) on SIM_PORT
# instead of lthub-sim, stopped with the hub.
portal_peer() {
    python3 "$SRC/tests/portal/peer_dvcqg.py" "$SIM_PORT" hub-h26 "$HUB_DIR/secrets/dvcqg" \
        >"$HUB_DIR/sim.out" 2>"$HUB_DIR/sim.err" &
    SIM_PID=$!
    HUB_PIDS="$HUB_PIDS $SIM_PID"
    within 10 'grep -q "listening on" "$HUB_DIR/sim.out"' || fail "the independent DVCQG did not start"
}

# portal_conn [OPTIONS...]: start lthub-portal, wait until connected and serving.
PORTAL_RUNS=0
portal_conn() {
    PORTAL_RUNS=$((PORTAL_RUNS + 1))
    "$PORTAL_BIN" $(hub_conn_args portal) --listen "127.0.0.1:$PORTAL_PORT" \
        --data "$HUB_DIR/portal" --username onestop --password-file "$HUB_DIR/secrets/onestop" \
        --dvcqg-url "$SIM_URL" --dvcqg-username hub-h26 \
        --dvcqg-password-file "$HUB_DIR/secrets/dvcqg" --timeout-ms 3000 \
        --workers 8 --credit 64 "$@" 2>"$HUB_DIR/portal-$PORTAL_RUNS.err" &
    PORTAL_PID=$!
    HUB_PIDS="$HUB_PIDS $PORTAL_PID"
    within 30 'kill -0 $PORTAL_PID 2>/dev/null && [ "$(cstat portal connected 2>/dev/null)" = True ] && http_get "$PORTAL_URL/_portal/stats" >/dev/null' \
        || fail "lthub-portal did not connect and serve"
}

# portal_up [SIMULATOR OPTIONS...] [-- CONNECTOR OPTIONS...]: the hub
# (portal_hub), the DVCQG simulator with the options before -- (portal_sim),
# then lthub-portal with those after it (portal_conn).
portal_up() {
    local sim=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        sim+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    portal_hub
    portal_sim "${sim[@]}"
    portal_conn "$@"
}

# portal_login: log in to lthub-portal as the one-stop system and print the
# session; fails (status) when no session came.
portal_login() {
    http_post "$PORTAL_URL/login" \
        "{\"username\":\"onestop\",\"password\":\"$(cat "$HUB_DIR/secrets/onestop")\"}" \
        | sed 's/^200 //' | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])'
}

# portal_stop: SIGTERM to lthub-portal, which must exit with status 0, then
# lthubd stopped.
portal_stop() {
    kill -TERM "$PORTAL_PID"
    wait "$PORTAL_PID" || fail "lthub-portal exited with status $? after SIGTERM"
    hub_stop
}

# onestop ARGS...: the one-stop generator against lthub-portal.
onestop() {
    "$SIM" onestop --url "$PORTAL_URL" --username onestop \
        --password-file "$HUB_DIR/secrets/onestop" "$@"
}

# onestop_bg NAME ARGS...: the same in the background, output in onestop-NAME.out.
# (The program itself is started, not a shell function in a subshell, so
# that $! is its PID and stopping it by PID stops it.)
onestop_bg() {
    local name=$1
    shift
    "$SIM" onestop --url "$PORTAL_URL" --username onestop \
        --password-file "$HUB_DIR/secrets/onestop" "$@" >"$HUB_DIR/onestop-$name.out" 2>&1 &
    ONESTOP_PID=$!
    HUB_PIDS="$HUB_PIDS $ONESTOP_PID"
}

# onestop_wait NAME SECONDS: the background generator NAME (onestop_bg)
# finished within SECONDS, with no failure.
onestop_wait() {
    within "$2" '! kill -0 $ONESTOP_PID 2>/dev/null' || fail "the one-stop generator did not finish"
    wait "$ONESTOP_PID" || fail "the one-stop generator saw failures: $(tail -5 "$HUB_DIR/onestop-$1.out")"
}

# expected_items [KIND]: the items (of KIND only, when given) that the
# generator's $HUB_DIR/expected.json holds.
expected_items() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(sum(1 for v in d["sequence"].values() for i in v if sys.argv[2] in ("", i["kind"])))' \
        "$HUB_DIR/expected.json" "${1:-}"
}

# portal_delivered SECONDS ITEMS: within SECONDS DVCQG holds ITEMS items and
# nothing waits for the portal; then each arrived once, in order, field for
# field (check_sequences), no progress step before its dossier.
portal_delivered() {
    local want=$2   # (within evaluates its condition in its own frame)
    within "$1" '[ "$(sim_n received)" -ge "$want" ] && [ "$(pqueued)" = 0 ]' \
        || fail "DVCQG holds $(sim_n received) of $want items; portal queue $(pqueued)"
    sleep 1
    check_sequences "$HUB_DIR/expected.json"
    [ "$(sim_n orphan_steps)" = 0 ] || fail "progress steps reached DVCQG before their dossier"
    [ "$(sim_n repeats)" = 0 ] || fail "DVCQG received identical records twice"
}

# check_sequences EXPECTED: every MaHoSo's items reached DVCQG once each, in
# the order the one-stop system sent them, field for field and in key order.
check_sequences() {
    http_get "$SIM_URL/_sim/received" >"$HUB_DIR/received.json" || fail "cannot read what DVCQG received"
    python3 - "$1" "$HUB_DIR/received.json" <<'PY' || fail "DVCQG's records differ from what the one-stop system sent"
import json, sys, collections
expected = json.load(open(sys.argv[1]))["sequence"]
received = json.load(open(sys.argv[2]))["received"]
got = collections.OrderedDict()
for entry in received:
    got.setdefault(entry["record"]["MaHoSo"], []).append(entry)
problems = []
for key, items in expected.items():
    seen = got.get(key, [])
    want = [(i["kind"], list(i["record"].items())) for i in items]
    have = [(e["kind"], list(e["record"].items())) for e in seen]
    if want != have:
        problems.append("%s: expected %d items %s, DVCQG holds %d %s" % (
            key, len(want), [k for k, _ in want], len(have), [k for k, _ in have]))
extra = set(got) - set(expected)
if extra:
    problems.append("unexpected dossiers at DVCQG: %s" % sorted(extra)[:5])
total = sum(len(v) for v in expected.values())
print("dossiers %d, items %d expected, %d received" % (len(expected), total, len(received)))
for p in problems[:10]:
    print("  " + p)
sys.exit(1 if problems or total == 0 else 0)
PY
}

# check_ledger_synced COUNT: the broker's ledger holds exactly COUNT
# dossier_synced rows, each dossier revision once (one fact per DVCQG call
# names several dossiers; resent facts count nothing twice).
check_ledger_synced() {
    local db="$HUB_DIR/data/lthub.db" rows items
    rows=$(sqlite3 "$db" "SELECT COUNT(*) FROM ledger WHERE event = 'dossier_synced'") \
        || fail "cannot read the ledger"
    items=$(sqlite3 "$db" "SELECT COUNT(DISTINCT item) FROM ledger WHERE event = 'dossier_synced'")
    [ "$rows" = "$1" ] && [ "$items" = "$1" ] \
        || fail "the ledger holds $rows dossier_synced rows ($items items), expected $1"
}
