#!/usr/bin/env bash
# `lthub-sim onestop` against `lthub-sim portal` directly, each side as
# spec/peers.md B has it: the one-stop system sends a quarter of its final
# updates with isUpdating "False", DVCQG answers those -3, and the one-stop
# system sends them again as updates; sessions that expire give -2 and a new
# login; injected -9, 500 and 503 are retried. Every record ends at DVCQG.
# Usage: test_sim_portal.sh PATH/TO/lthub-sim
set -u
SIM=${1:?usage: test_sim_portal.sh LTHUB_SIM}
. "$(dirname "$0")/sim_lib.sh"
printf 'dvcqg-secret\n' >"$WORK/pass"

sim_start dvcqg portal --listen 127.0.0.1:0 --username onestop --password-file "$WORK/pass" \
    --session-ttl 1 --fail-rate 0.2 --seed 4
expect_rc 0 "$WORK/onestop.json" "$SIM" onestop --url "$SIM_URL" --username onestop \
    --password-file "$WORK/pass" --count 40 --seed 3 --batch 4 --inflight 2 --rate 40 \
    --retries 50 --json --out "$WORK/sent.json"
http_get "$SIM_URL/_sim/stats" "$WORK/stats.json"
[ "$(jget "$WORK/onestop.json" 'd["updates_as_new"]')" -gt 0 ] || fail "no update sent as new"
[ "$(jget "$WORK/stats.json" 'd["exists"]')" -gt 0 ] || fail "DVCQG answered no -3: $(cat "$WORK/stats.json")"
[ "$(jget "$WORK/stats.json" 'd["expired_sessions"]')" -gt 0 ] || fail "no session expired"
[ "$(jget "$WORK/stats.json" 'sum(d["faults"][k] for k in ("http_500","http_503","fail_body"))')" -gt 0 ] \
    || fail "no fault injected"
[ "$(jget "$WORK/stats.json" 'd["received"]')" = "$(jget "$WORK/onestop.json" 'd["records"]')" ] \
    || fail "DVCQG holds $(jget "$WORK/stats.json" 'd["received"]') items, the one-stop system sent $(jget "$WORK/onestop.json" 'd["records"]')"
ok "every record reached DVCQG; -3 answers were resent as updates, -2 logged in again, faults retried"
# --mix sets the channels (spec/peers.md D: a client generator takes a mix).
expect_rc 0 "$WORK/mix.json" "$SIM" onestop --url "$SIM_URL" --username onestop \
    --password-file "$WORK/pass" --count 10 --seed 5 --mix 0,0,100 --retries 50 --json
[ "$(jget "$WORK/mix.json" 'd["channels"]["postal"]')" = 10 ] || fail "--mix 0,0,100: $(cat "$WORK/mix.json")"
expect_rc 2 /dev/null "$SIM" onestop --url "$SIM_URL" --password-file "$WORK/pass" --mix 50,60,0
ok "--mix 0,0,100 makes every dossier postal; a mix that is not 100 % is refused"
sim_stop "$SIM_PID" || fail "stop"
echo "PASS: onestop against the DVCQG simulator"
