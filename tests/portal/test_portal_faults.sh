#!/usr/bin/env bash
# DVCQG misbehaves while the one-stop system keeps sending: sessions expire
# every 2 s (-2: the hub logs in again), updates sent as new get -3 (resent
# as updates), DVCQG is down for 30 s, then accepts and never answers, then
# answers 500, 503 or -9 to half the calls. The one-stop system is served
# throughout; once DVCQG heals every item arrives once, in order, field for
# field, and nothing waits in dead letters.
# usage: test_portal_faults.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"
DOWN=${PORTAL_DOWN_S:-30}

portal_hub
portal_conn --timeout-ms 2000
portal_sim --session-ttl 2 --down-from 2 --down-for "$DOWN"
ok "hub and lthub-portal up; DVCQG goes down in 2 s for $DOWN s"

# The one-stop system sends for about 50 s, through every phase below, so
# that each fault meets calls (a short burst could drain the moment DVCQG
# came back, before the hang was set).
onestop_bg faults --count 1250 --rate 25 --seed 11 --batch 5 --inflight 2 --retries 100 \
    --out "$HUB_DIR/expected.json" --json
within 20 'grep -q "down (listener closed)" "$HUB_DIR/sim.err"' || fail "the simulator did not go down"
ok "DVCQG down"
within $((DOWN + 20)) 'grep -q "up again" "$HUB_DIR/sim.err"' || fail "the simulator did not come back"
sim_fault hang-rate 1
ok "DVCQG back, accepting and never answering"
sleep 8
[ "$(pstat retried)" -gt 0 ] || fail "no delivery was retried"
sim_fault hang-rate 0
sim_fault fail-rate 0.5
ok "DVCQG answering 500, 503 or -9 to half the calls"
sleep 8
sim_fault fail-rate 0
onestop_wait faults 60
items=$(expected_items)
ok "the one-stop system was served throughout: $items items accepted"

portal_delivered 180 "$items"
[ "$(cstat portal dead)" = 0 ] || fail "dead letters: $(cstat portal dead)"
ok "every item arrived once, in order; no dead letter"

[ "$(sim_n expired_sessions)" -gt 0 ] && [ "$(pstat relogins)" -gt 0 ] \
    || fail "no session expired (expired $(sim_n expired_sessions), relogins $(pstat relogins))"
[ "$(sim_n exists)" -gt 0 ] && [ "$(pstat resent_as_update)" -gt 0 ] || fail "no -3 answer"
faults=$(sim_stat 'd["faults"]["hung"] + d["faults"]["http_500"] + d["faults"]["http_503"] + d["faults"]["fail_body"]')
[ "$faults" -gt 0 ] || fail "no fault was injected"
ok "sessions expired $(sim_n expired_sessions) times (relogins $(pstat relogins)), -3 $(sim_n exists) times, $faults faulty answers, $(pstat retried) retries"

portal_stop
echo "PASS: portal faults"
