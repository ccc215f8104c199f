#!/usr/bin/env bash
# End-to-end test of `lthub-sim axis` with its helpers `axis-send` and
# `axis-call`: a package sent by the province arrives byte for byte in the
# ministry's mailbox, is fetched, acknowledged and leaves the list; a wrong
# secret gets ErrorCode 401 and a wrong hash-file 400, and nothing is stored.
# Usage: test_sim_axis.sh PATH/TO/lthub-sim   (LT_FIXTURES names the fixtures)
set -u
SIM=${1:?usage: test_sim_axis.sh LTHUB_SIM}
FIX=${LT_FIXTURES:?LT_FIXTURES must name the fixtures directory}
. "$(dirname "$0")/sim_lib.sh"

printf 'province-secret\n' >"$WORK/hub.secret"
printf 'ministry-secret\n' >"$WORK/vpcp.secret"
printf 'not-the-secret\n' >"$WORK/wrong.secret"
mkdir "$WORK/store"
PKG=$FIX/edxml/new-signed.edxml

sim_start axis axis --listen 127.0.0.1:0 --store "$WORK/store" \
    --system "hub-h26:$WORK/hub.secret:*.H26" \
    --system "vpcp:$WORK/vpcp.secret:000.00.00.G22"
AXIS=$SIM_PID
HUB=(--url "$SIM_URL" --system hub-h26 --secret-file "$WORK/hub.secret" --timeout 10000)
VPCP=(--url "$SIM_URL" --system vpcp --secret-file "$WORK/vpcp.secret" --timeout 10000)
ok "simulator listening at $SIM_URL"

# The province sends a document to the Government Office (and one local agency).
"$SIM" axis-send "${HUB[@]}" "$PKG" >"$WORK/send.json" || fail "send: $(cat "$WORK/send.json")"
[ "$(jget "$WORK/send.json" 'd["ErrorCode"]')" = 0 ] || fail "send ErrorCode"
SENDER_DOC=$(jget "$WORK/send.json" 'd["DocId"]')
ok "sendEdoc accepted, DocId $SENDER_DOC"

# What arrived: one package, same SHA-256, stored byte for byte.
http_get "$SIM_URL/_sim/received" "$WORK/received.json"
[ "$(jget "$WORK/received.json" 'len(d["received"])')" = 1 ] || fail "received count"
SHA=$(sha256sum "$PKG" | cut -d' ' -f1)
[ "$(jget "$WORK/received.json" 'd["received"][0]["sha256"]')" = "$SHA" ] || fail "sha256"
[ "$(jget "$WORK/received.json" 'd["received"][0]["DocumentId"]')" = \
    "000.00.12.H26,2026/09/03,215/STTTT-VP" ] || fail "DocumentId"
[ "$(jget "$WORK/received.json" '",".join(d["received"][0]["to"])')" = \
    "000.00.00.G22,000.00.13.H26" ] || fail "recipients"
cmp "$PKG" "$WORK/store/000001-$SENDER_DOC.edxml" || fail "stored package differs"
ok "received list and stored file match the package"

# The ministry lists its mailbox, fetches, compares, acknowledges.
"$SIM" axis-call "${VPCP[@]}" getReceivedEdocList servicetype=eDoc messagetype=edoc \
    >"$WORK/list.json" || fail "list: $(cat "$WORK/list.json")"
[ "$(jget "$WORK/list.json" 'len(d["data"])')" = 1 ] || fail "list length"
[ "$(jget "$WORK/list.json" 'd["data"][0]["from"]')" = 000.00.12.H26 ] || fail "list from"
[ "$(jget "$WORK/list.json" 'd["data"][0]["to"]')" = 000.00.00.G22 ] || fail "list to"
DOC=$(jget "$WORK/list.json" 'd["data"][0]["docId"]')
"$SIM" axis-call "${VPCP[@]}" --data-out "$WORK/fetched.edxml" getEdoc "docId=$DOC" \
    >"$WORK/get.json" || fail "getEdoc: $(head -c 300 "$WORK/get.json")"
cmp "$PKG" "$WORK/fetched.edxml" || fail "fetched package differs"
ok "getEdoc returns the package byte for byte"
"$SIM" axis-call "${VPCP[@]}" updateStatus "docId=$DOC" status=done >"$WORK/done.json" \
    || fail "updateStatus: $(cat "$WORK/done.json")"
"$SIM" axis-call "${VPCP[@]}" getReceivedEdocList servicetype=eDoc messagetype=edoc \
    >"$WORK/list2.json" || fail "list again"
[ "$(jget "$WORK/list2.json" 'len(d["data"])')" = 0 ] || fail "list not empty after done"
ok "after updateStatus done the list is empty"

# A system may not read another agency's mailbox item.
expect_rc 1 "$WORK/other.json" "$SIM" axis-call "${HUB[@]}" getEdoc "docId=$DOC"
[ "$(jget "$WORK/other.json" 'd["ErrorCode"]')" = 404 ] || fail "foreign getEdoc code"
# The province's own agency 000.00.13.H26 got its copy too.
"$SIM" axis-call "${HUB[@]}" getReceivedEdocList servicetype=eDoc messagetype=edoc \
    >"$WORK/hublist.json" || fail "hub list"
[ "$(jget "$WORK/hublist.json" '[i["to"] for i in d["data"]]')" = '["000.00.13.H26"]' ] \
    || fail "hub list content: $(cat "$WORK/hublist.json")"
ok "mailboxes are per agency"

# Wrong secret: ErrorCode 401, nothing stored.
expect_rc 1 "$WORK/bad_secret.json" \
    "$SIM" axis-send --url "$SIM_URL" --system hub-h26 --secret-file "$WORK/wrong.secret" "$PKG"
[ "$(jget "$WORK/bad_secret.json" 'd["status"]')" = FAIL ] || fail "wrong secret status"
[ "$(jget "$WORK/bad_secret.json" 'd["ErrorCode"]')" = 401 ] || fail "wrong secret code"
grep -q "HMAC mismatch" "$WORK/bad_secret.json" || fail "wrong secret reason"
grep -q "not-the-secret" "$WORK/bad_secret.json" && fail "secret leaked"
# Unknown system id: 401 as well.
expect_rc 1 "$WORK/nobody.json" \
    "$SIM" axis-send --url "$SIM_URL" --system nobody --secret-file "$WORK/wrong.secret" "$PKG"
[ "$(jget "$WORK/nobody.json" 'd["ErrorCode"]')" = 401 ] || fail "unknown system code"
ok "authentication failures get ErrorCode 401"

# Wrong hash-file: ErrorCode 400, nothing stored.
expect_rc 1 "$WORK/bad_hash.json" "$SIM" axis-send "${HUB[@]}" --hash-file 0123abc "$PKG"
[ "$(jget "$WORK/bad_hash.json" 'd["ErrorCode"]')" = 400 ] || fail "wrong hash code"
ok "a wrong hash-file gets ErrorCode 400"

# Bad packages are refused with a reason; the simulator keeps serving.
for bad in entity-expansion external-entity wrong-namespace truncated; do
    expect_rc 1 "$WORK/bad.json" "$SIM" axis-send "${HUB[@]}" "$FIX/edxml/bad/$bad.edxml"
    [ "$(jget "$WORK/bad.json" 'd["ErrorCode"]')" = 400 ] || fail "bad package $bad code"
done
expect_rc 1 "$WORK/mismatch.json" "$SIM" axis-send "${HUB[@]}" --messagetype status "$PKG"
ok "malformed packages get ErrorCode 400"

# `to` must name agencies of the package's own To list (spec/peers.md A).
expect_rc 1 "$WORK/stray.json" "$SIM" axis-send "${HUB[@]}" --to 000.00.00.G22,000.00.00.G01 "$PKG"
[ "$(jget "$WORK/stray.json" 'd["ErrorCode"]')" = 400 ] || fail "a stray to code: $(cat "$WORK/stray.json")"
grep -q "000.00.00.G01" "$WORK/stray.json" || fail "the stray code is not named: $(cat "$WORK/stray.json")"
ok "a to code outside the package's To list gets ErrorCode 400"

http_get "$SIM_URL/_sim/stats" "$WORK/stats.json"
[ "$(jget "$WORK/stats.json" 'd["received"]')" = 1 ] || fail "something was stored: $(cat "$WORK/stats.json")"
[ "$(jget "$WORK/stats.json" 'd["auth_failures"]')" = 2 ] || fail "auth_failures"
[ "$(jget "$WORK/stats.json" 'd["hash_failures"]')" = 1 ] || fail "hash_failures"
[ "$(ls "$WORK/store" | wc -l)" = 1 ] || fail "store holds more than one file"
ok "refused requests stored nothing"

# A status package back from the ministry reaches the province's mailbox.
"$SIM" axis-send "${VPCP[@]}" --messagetype status "$FIX/edxml/status-03-accepted.edxml" \
    >"$WORK/status.json" || fail "status send: $(cat "$WORK/status.json")"
"$SIM" axis-call "${HUB[@]}" getReceivedEdocList servicetype=eDoc messagetype=status \
    >"$WORK/slist.json" || fail "status list"
[ "$(jget "$WORK/slist.json" '[i["to"] for i in d["data"]]')" = '["000.00.12.H26"]' ] \
    || fail "status list content: $(cat "$WORK/slist.json")"
ok "status packages are routed by ResponseFor/OrganId"

# The same document again counts as a duplicate; getSentEdocList shows both hops.
"$SIM" axis-send "${HUB[@]}" --to 000.00.00.G22 "$PKG" >/dev/null || fail "resend"
http_get "$SIM_URL/_sim/stats" "$WORK/stats2.json"
[ "$(jget "$WORK/stats2.json" 'd["duplicates"]')" = 1 ] || fail "duplicates"
"$SIM" axis-call "${HUB[@]}" getSentEdocList servicetype=eDoc messagetype=edoc \
    >"$WORK/sent.json" || fail "getSentEdocList"
[ "$(jget "$WORK/sent.json" 'len(d["data"])')" = 3 ] || fail "sent list: $(cat "$WORK/sent.json")"
"$SIM" axis-call "${HUB[@]}" getAgenciesList >"$WORK/agencies.json" || fail "agencies"
[ "$(jget "$WORK/agencies.json" '[a["code"] for a in d["data"]]')" = '["000.00.00.G22"]' ] \
    || fail "agencies: $(cat "$WORK/agencies.json")"
ok "duplicates counted, sent list and agencies served"

sim_stop "$AXIS" || fail "simulator exit status"
grep -q "stopped" "$WORK/axis.err" || fail "no clean stop"
ok "simulator stopped cleanly on SIGTERM"
