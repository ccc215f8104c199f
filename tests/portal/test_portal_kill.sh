#!/usr/bin/env bash
# SIGKILL of lthub-portal while the one-stop system sends and deliveries to
# DVCQG are in flight, twice, then of lthubd. The one-stop system retries
# the calls it got no answer for; after each restart nothing it was answered 0 for is lost,
# and DVCQG holds every item once, in order: a message DVCQG accepted is
# not sent again (portal.db marks it), a dossier whose call was cut is
# looked up first; only a progress step whose call was cut may be sent
# again, which DVCQG keeps once. The ledger counts every dossier revision
# as synced exactly once, though one dossier_synced fact names all the
# dossiers of a DVCQG call and facts cut short by a kill are published again.
# usage: test_portal_kill.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

portal_up --latency 20
ok "hub, DVCQG simulator (20 ms per call) and lthub-portal up"

onestop_bg kill --count 400 --rate 40 --seed 23 --batch 4 --inflight 3 --retries 1000 \
    --timeout 5000 --out "$HUB_DIR/expected.json" --json
for round in 1 2; do
    sleep 2.5
    before=$(sim_n received)
    kill -KILL "$PORTAL_PID"
    wait "$PORTAL_PID" 2>/dev/null
    ok "lthub-portal killed (round $round) with DVCQG holding $before items"
    sleep 1
    portal_conn
done
# lthubd too: dossier_synced facts of calls DVCQG accepted may be on their
# way; their deliveries are redelivered and the facts published again.
sleep 2
before=$(sim_n received)
hub_kill
ok "lthubd killed with DVCQG holding $before items"
sleep 1
hub_start
onestop_wait kill 120
items=$(expected_items)
ok "the one-stop system got 0 for $items items"

portal_delivered 120 "$items"
[ "$(cstat portal dead)" = 0 ] || fail "dead letters"
dossier_items=$(expected_items dossier)
within 30 '[ "$(sqlite3 "$HUB_DIR/data/lthub.db" "SELECT COUNT(*) FROM ledger WHERE event = '"'dossier_synced'"'")" -ge "$dossier_items" ]' \
    || fail "the ledger did not record every dossier as synced"
check_ledger_synced "$dossier_items"
unsure=$(cat "$HUB_DIR"/portal-*.err | grep -c "event=resend_unsure" || true)
[ "$(sim_n step_repeats)" -le "$unsure" ] || fail "$(sim_n step_repeats) steps repeated, only $unsure resends were unsure"
ok "nothing confirmed was lost, nothing reached DVCQG twice, order kept ($(pstat already_there) redeliveries not sent again; $(sim_n step_repeats) steps resent after a cut call, kept once by DVCQG)"

portal_stop
echo "PASS: portal kill"
