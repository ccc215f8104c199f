#!/usr/bin/env bash
# The connector contract suite (issue 5, item 4): every connector of the hub
# passes the same eight steps against the simulator of its peer system,
# each reported as one PASS or FAIL line:
#
#   start     the process starts, says HELLO and gets its WELCOME
#             (`lthub status --json` shows it connected)
#   publish   its peer sends something in; the broker stores it, and the
#             peer gets its success answer only after that (while the broker
#             is frozen with SIGSTOP the peer waits; after SIGCONT it is
#             answered and the store holds one message more)
#   deliver   a message routed to the connector reaches its peer (byte-level
#             checks in the adapter)
#   ack       the broker's delivery is DONE and nothing stays queued
#   retry     the peer fails for a while: the broker sees RETRY, the message
#             arrives once the peer recovers, no dead letter
#   stop      SIGTERM: exit status 0 within a few seconds, the broker logs
#             the session's end by BYE
#   restart   what was routed to it while it was down arrives after it starts
#             again; nothing is duplicated at the peer
#   leak      in the Sanitize build, every SIGTERM'd run exited 0 without a
#             LeakSanitizer or AddressSanitizer report; in other builds one
#             short publish+deliver run under valgrind has no definite leak
#             and no memory error
#
# The connector-specific part is an adapter, tests/contract/NAME.sh, which
# sets CONN_NAME, CONN_BIN and CONN_ARGS and defines:
#   adapter_setup             keys, routes (hub_config), the peer simulator
#   adapter_ready             true once the connector serves its peer
#   peer_send_start N         the peer starts sending inbound item N
#   peer_send_pending N       true while N reached the connector unanswered
#   peer_send_answered N      true once the peer got its success answer for N
#   peer_send_check N         after the answer: extra checks (0 or 1)
#   peer_send_key N           business key of inbound item N
#   deliver_file N            writes outbound package N, prints its path
#   deliver_key N             business key of outbound package N
#   peer_has N                true once N arrived at the peer intact
#   peer_copies N             how many copies of N the peer holds
#   peer_fail                 the peer starts failing; it heals by itself
#   peer_fail_healed          true once it did
#   adapter_dump              prints the adapter's logs
# and may define, when its connector's inbound side is not a peer calling in:
#   peer_send_prepare N       before the broker is frozen: set inbound item N
#                             under way (e.g. publish what makes the
#                             connector publish N), or do what the send
#                             needs beforehand so the freeze stays short
#   peer_send_count N         how many times inbound item N reached the
#                             broker (default: its lines in the sink's record;
#                             for messages routed nowhere, such as facts)
#   adapter_publish FILE      publish outbound item FILE and wait until the
#                             broker accepted it (default: lthub-testconn
#                             --file, for edXML packages)
#
# usage: contract.sh CONNECTOR BUILD_DIR SOURCE_DIR [CMAKE_BUILD_TYPE]
# Loopback only; every wait is bounded; every process stopped by its PID.
set -u
CONNECTOR=${1:?usage: contract.sh CONNECTOR BUILD_DIR SOURCE_DIR [BUILD_TYPE]}
BIN=${2:?build directory}
SRC=${3:?source directory}
BUILD_TYPE=${4:-}
: "${LT_FIXTURES:=$SRC/../shared/fixtures}"
FIX=$LT_FIXTURES
LTHUB="$BIN/broker/lthub"
TESTCONN="$BIN/tests/lthub-testconn"
SIM="$BIN/tests/sim/lthub-sim"
TOOL="$BIN/tests/dms/dms-tool"
. "$SRC/tests/lib/hub.sh"
. "$SRC/tests/contract/$CONNECTOR.sh"

SANITIZE=no
[ "$BUILD_TYPE" = Sanitize ] && SANITIZE=yes
RUNS=0          # connector runs started (each has its own stderr file)
CONN_PID=""
STEP=setup
T0=$(date +%s)

# Print the logs worth reading after a failure.
contract_dump() {
    local f
    for f in "$HUB_DIR"/conn-*.err "$HUB_DIR"/lthubd.log "$HUB_DIR"/sink.log "$HUB_DIR"/pub.log \
             "$HUB_DIR"/valgrind.log; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -30 "$f" >&2; }
    done
    adapter_dump >&2 || true
}

# PASS and FAIL lines, one per step.
pass() { echo "PASS: $CONNECTOR $STEP: $* ($(($(date +%s) - T0)) s)"; }
fail() {
    echo "FAIL: $CONNECTOR $STEP: $*"
    contract_dump
    exit 1
}

# within SECONDS CONDITION...: true once the shell condition holds, false
# when SECONDS of wall time passed first (hub_wait counts polls, and a
# condition that runs several programs makes its polls slow).
within() {
    local deadline=$(($(date +%s%N) + $1 * 1000000000))
    shift
    while :; do
        if eval "$@"; then return 0; fi
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# A field of the connector's own counters in `lthub status --json`.
cstat() { hub_stat "[c[\"$1\"] for c in s[\"connectors\"] if c[\"name\"]==\"$CONN_NAME\"][0]"; }

# Deliveries to the connector not yet finished (ready, waiting or in flight).
cqueued() {
    hub_stat "[c[\"ready\"]+c[\"waiting\"]+c[\"inflight\"] for c in s[\"connectors\"] if c[\"name\"]==\"$CONN_NAME\"][0]"
}

# Lines of the broker's log matching a pattern (0 when none).
broker_log_count() { grep -c -- "$1" "$HUB_DIR/lthubd.log" 2>/dev/null || true; }

# conn_start [WRAPPER...]: start the connector (under WRAPPER when given);
# waits until it is connected and its adapter says it serves.
conn_start() {
    RUNS=$((RUNS + 1))
    CONN_ERR="$HUB_DIR/conn-$RUNS.err"
    "$@" "$CONN_BIN" "${CONN_ARGS[@]}" 2>"$CONN_ERR" &
    CONN_PID=$!
    HUB_PIDS="$HUB_PIDS $CONN_PID"
}

# conn_wait_up SECONDS: true once the connector is connected and ready.
conn_wait_up() {
    within "$1" 'kill -0 "$CONN_PID" 2>/dev/null && [ "$(cstat connected)" = True ] && adapter_ready'
}

# conn_stop SECONDS: SIGTERM and wait; the exit status lands in CONN_RC
# (999 when it had to be killed). Not for $(...): wait needs this shell.
conn_stop() {
    local limit=$1 i
    CONN_RC=0
    kill -TERM "$CONN_PID" 2>/dev/null
    for i in $(seq 1 $((limit * 10))); do
        kill -0 "$CONN_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$CONN_PID" 2>/dev/null; then
        kill -KILL "$CONN_PID" 2>/dev/null
        wait "$CONN_PID" 2>/dev/null
        CONN_RC=999
        return
    fi
    wait "$CONN_PID" || CONN_RC=$?
}

# sanitizer_clean FILE: true when a run's stderr holds no sanitizer report.
sanitizer_clean() {
    ! grep -q "LeakSanitizer\|ERROR: AddressSanitizer\|runtime error:" "$1"
}

# publish_file FILE: publish one package through lthub-testconn "pub" (or
# the adapter's adapter_publish) and wait until the broker accepted it.
publish_file() {
    if declare -F adapter_publish >/dev/null; then
        adapter_publish "$1"
        return
    fi
    "$TESTCONN" $(hub_conn_args pub) --file "$1" --record "$HUB_DIR/pub.rec" \
        >>"$HUB_DIR/pub.log" 2>&1 &
    local pid=$! i
    HUB_PIDS="$HUB_PIDS $pid"
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "the test publisher did not finish"
    wait "$pid" || fail "the test publisher failed: $(tail -3 "$HUB_DIR/pub.log")"
}

# inbound_count N: how many times inbound item N reached the broker's
# other side (the adapter's peer_send_count, else the sink's record).
inbound_count() {
    if declare -F peer_send_count >/dev/null; then
        peer_send_count "$1"
    else
        grep -cF -- "$(peer_send_key "$1")" "$HUB_DIR/sink.rec" || true
    fi
}

# The stopped connector's exit: status 0 in time, BYE logged by the broker,
# and in the Sanitize build no sanitizer report.
check_clean_exit() {
    local rc=$1 byes_before=$2
    [ "$rc" = 999 ] && fail "still running 10 s after SIGTERM"
    [ "$rc" = 0 ] || fail "exit status $rc after SIGTERM: $(tail -5 "$CONN_ERR")"
    within 5 '[ "$(broker_log_count "event=session_end connector=$CONN_NAME reason=\"BYE\"")" -gt "$byes_before" ]' \
        || fail "the broker did not log the session's end by BYE"
    within 5 '[ "$(cstat connected)" = False ]' || fail "the broker still shows it connected"
    if [ "$SANITIZE" = yes ]; then
        sanitizer_clean "$CONN_ERR" || fail "sanitizer report: $(grep -m3 -A3 "Sanitizer\|runtime error" "$CONN_ERR")"
    fi
}

# ---------------------------------------------------------------------------
STEP=setup
# Heartbeats every 5 s: the publish step's freeze of the broker (the send,
# polls until it reached the connector, 2 s more) stays shorter than the 3
# silent intervals after which a session counts as lost, even on a loaded
# machine where each poll starts python (a connector that lost its broker
# stops taking work in, and the send would then never reach it).
HUB_HEARTBEAT=5000
hub_init
hub_keys pub sink
adapter_setup
hub_start
"$TESTCONN" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" >>"$HUB_DIR/sink.log" 2>&1 &
SINK_PID=$!
HUB_PIDS="$HUB_PIDS $SINK_PID"
touch "$HUB_DIR/sink.rec"

# 1. start
STEP=start
conn_start
conn_wait_up 30 || fail "not connected and serving within 30 s"
grep -q "event=session_start connector=$CONN_NAME " "$HUB_DIR/lthubd.log" \
    || fail "the broker logged no session_start"
pass "HELLO/WELCOME done, lthub status shows it connected"

# 2. publish
STEP=publish
declare -F peer_send_prepare >/dev/null && peer_send_prepare 1
before=$(hub_stat 's["store"]["messages"]')
kill -STOP "$HUB_PID"
t_freeze=$(date +%s%N)
peer_send_start 1
# Once the send reached the connector, 2 s more for a premature answer to
# show; how long the send takes to get there is the machine's business.
pending=yes
within 20 'peer_send_pending 1' || pending=no
[ "$pending" = no ] || sleep 2
answered=no
peer_send_answered 1 && answered=yes
kill -CONT "$HUB_PID"
frozen_ms=$((($(date +%s%N) - t_freeze) / 1000000))
[ "$answered" = no ] || fail "the peer was answered while the broker was frozen"
if [ "$pending" = no ]; then
    lost=""
    grep -q "event=broker_lost" "$CONN_ERR" && lost=" (the connector lost its session: frozen $frozen_ms ms)"
    fail "the peer's send did not reach the connector while the broker was frozen$lost"
fi
within 30 'peer_send_answered 1' || fail "the peer got no success answer after the broker resumed"
after=$(hub_stat 's["store"]["messages"]')
[ "$after" = $((before + 1)) ] || fail "the store holds $after messages, expected $((before + 1))"
peer_send_check 1 || fail "the adapter's check of the answer failed"
within 20 '[ "$(inbound_count 1)" -ge 1 ]' || fail "the accepted message was not routed on"
pass "stored by the broker (messages $before -> $after) before the peer was answered"

# 3. deliver
STEP=deliver
done0=$(cstat done)
publish_file "$(deliver_file 1)"
within 30 'peer_has 1' || fail "$(deliver_key 1) did not reach the peer intact"
pass "$(deliver_key 1) reached the peer intact"

# 4. ack
STEP=ack
within 10 '[ "$(cstat done)" = $((done0 + 1)) ] && [ "$(cqueued)" = 0 ]' \
    || fail "done $(cstat done) (expected $((done0 + 1))), queued $(cqueued)"
[ "$(cstat dead)" = 0 ] || fail "dead letters"
pass "the broker's delivery is DONE, nothing queued"

# 5. retry
STEP=retry
retried0=$(cstat retried)
peer_fail
publish_file "$(deliver_file 2)"
within 30 '[ "$(cstat retried)" -gt "$retried0" ]' || fail "the broker saw no RETRY"
grep -q "event=retry connector=$CONN_NAME " "$HUB_DIR/lthubd.log" || fail "no retry in the broker's log"
within 30 'peer_fail_healed' || fail "the peer's failure did not end"
within 30 'peer_has 2' || fail "$(deliver_key 2) did not arrive once the peer recovered"
within 10 '[ "$(cqueued)" = 0 ]' || fail "still queued: $(cqueued)"
[ "$(cstat dead)" = 0 ] && [ "$(hub_stat 's["store"]["dead"]')" = 0 ] || fail "dead letters"
pass "RETRY seen ($(($(cstat retried) - retried0)) retries), delivered after the peer recovered, no dead letter"

# 6. stop
STEP=stop
byes=$(broker_log_count "event=session_end connector=$CONN_NAME reason=\"BYE\"")
t_stop=$(date +%s%N)
conn_stop 10
ms=$((($(date +%s%N) - t_stop) / 1000000))
check_clean_exit "$CONN_RC" "$byes"
[ "$ms" -le 5000 ] || fail "took $ms ms to exit after SIGTERM"
pass "SIGTERM: exit 0 in $ms ms, session ended by BYE"

# 7. restart
STEP=restart
publish_file "$(deliver_file 3)"
within 10 '[ "$(cstat ready)" -ge 1 ]' || fail "the delivery was not queued while the connector was down"
conn_start
conn_wait_up 30 || fail "did not reconnect within 30 s"
within 30 'peer_has 3' || fail "$(deliver_key 3), queued while it was down, did not arrive"
within 10 '[ "$(cqueued)" = 0 ]' || fail "still queued: $(cqueued)"
sleep 1
for n in 1 2 3; do
    copies=$(peer_copies "$n")
    [ "$copies" = 1 ] || fail "the peer holds $copies copies of $(deliver_key "$n")"
done
[ "$(inbound_count 1)" = 1 ] || fail "the inbound item was routed twice"
byes=$(broker_log_count "event=session_end connector=$CONN_NAME reason=\"BYE\"")
conn_stop 10
check_clean_exit "$CONN_RC" "$byes"
pass "reconnected, the queued delivery arrived, nothing duplicated at the peer"

# 8. leak
STEP=leak
if [ "$SANITIZE" = yes ]; then
    for f in "$HUB_DIR"/conn-*.err; do
        sanitizer_clean "$f" || fail "sanitizer report in $f"
    done
    pass "Sanitize build: $RUNS SIGTERM'd runs exited 0 with no LeakSanitizer/AddressSanitizer report"
elif command -v valgrind >/dev/null 2>&1; then
    conn_start valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --error-exitcode=97 --log-file="$HUB_DIR/valgrind.log"
    conn_wait_up 90 || fail "not connected under valgrind within 90 s"
    if declare -F peer_send_prepare >/dev/null; then peer_send_prepare 4; fi
    peer_send_start 4
    within 60 'peer_send_answered 4' || fail "inbound item 4 not answered under valgrind"
    publish_file "$(deliver_file 4)"
    within 60 'peer_has 4' || fail "$(deliver_key 4) not delivered under valgrind"
    within 20 '[ "$(cqueued)" = 0 ]' || fail "still queued under valgrind"
    byes=$(broker_log_count "event=session_end connector=$CONN_NAME reason=\"BYE\"")
    conn_stop 30
    [ "$CONN_RC" = 97 ] && fail "valgrind: $(grep -m5 "definitely lost\|Invalid\|uninitialised" "$HUB_DIR/valgrind.log")"
    check_clean_exit "$CONN_RC" "$byes"
    grep -q "definitely lost: [1-9]" "$HUB_DIR/valgrind.log" && fail "definite leaks"
    pass "valgrind: no definite leak, no memory error in a publish+deliver run"
else
    echo "SKIP: $CONNECTOR leak: neither a Sanitize build nor valgrind (deploy/deps.sh installs it)"
fi

STEP=teardown
kill -TERM "$SINK_PID" 2>/dev/null
wait "$SINK_PID" 2>/dev/null
hub_stop
echo "PASS: $CONNECTOR contract: all steps in $(($(date +%s) - T0)) s"
