#!/usr/bin/env bash
# After -2, -3 or -1 from DVCQG, lthub-portal reacts before it calls again
# and never repeats a call: -2 (expired session) is followed by one login
# and the call with the new session; -3 by the record sent as an update;
# a -1 for a lone record is final (one call, a dead letter). A call of
# several records answered -2 is sent again once, after one login.
# Checked on the calls an independent DVCQG (tests/portal/peer_dvcqg.py)
# logged: their order, and that no body reached it twice.
# usage: test_portal_no_repeat.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

portal_hub
portal_peer
portal_conn --workers 1
ok "hub, DVCQG and lthub-portal up"

ctl() { http_post "$SIM_URL/_ctl" "$1" | grep -q '^200 ' || fail "peer control $1"; }
peer() { http_get "$SIM_URL/_log" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
logged() { peer "len(d['log'])"; }
# since N KEY: the calls logged from entry N on that name KEY, or log in, as
# "service:isUpdating:code" words.
since() {
    peer "' '.join('%s:%s:%s' % (e['service'], e.get('isUpdating'), e['code']) for e in d['log'][$1:] if e['service'] == 'login' or '$2' in e['keys'])"
}
record() {
    printf '{"MaHoSo":"%s","MaTTHC":"2.000815.000.00.00.H26","KenhThucHien":"2","TrangThaiHoSo":"2","NgayTiepNhan":"20260904093000","NgayHenTra":"20260905170000","HinhThuc":"0"}' "$1"
}
# sync RECORDS...: DongBoHoSoMC (new) of the records; must be taken.
sync() {
    local data
    data=$(printf '%s,' "$@")
    http_post "$PORTAL_URL/service" \
        "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\",\"data\":[${data%,}]}" \
        | grep -q '"error_code":"0"' || fail "lthub-portal did not take $*"
}
S=$(portal_login) || fail "cannot log in to lthub-portal"

# A first dossier: the hub's DVCQG session opens.
sync "$(record NR-0)"
within 20 '[ "$(pqueued)" = 0 ]' || fail "NR-0 did not reach DVCQG"

# 1. -2: one login, then the call with the new session.
n=$(logged)
ctl '{"script": [{"service": "DongBoHoSoMC", "expire": true}]}'
sync "$(record NR-1)"
within 20 '[ "$(pqueued)" = 0 ]' || fail "NR-1 did not reach DVCQG ($(pstat last_error))"
got=$(since "$n" NR-1)
[ "$got" = "DongBoHoSoMC:False:-2 login:None:0 DongBoHoSoMC:False:0" ] \
    || fail "expired session: DVCQG saw $got"
ok "-2: a login, then the call ($got)"

# 2. -3: the record goes as an update next.
n=$(logged)
ctl '{"script": [{"service": "DongBoHoSoMC", "code": "-3", "message": "hồ sơ đã tồn tại"}]}'
sync "$(record NR-2)"
within 20 '[ "$(pqueued)" = 0 ]' || fail "NR-2 did not reach DVCQG ($(pstat last_error))"
got=$(since "$n" NR-2)
[ "$got" = "DongBoHoSoMC:False:-3 DongBoHoSoMC:True:0" ] || fail "existing dossier: DVCQG saw $got"
ok "-3: sent as an update next ($got)"

# 3. -1 for a lone record: final, one call.
n=$(logged)
ctl '{"script": [{"service": "DongBoHoSoMC", "code": "-1", "message": "data[0].MaTTHC: sai"}]}'
sync "$(record NR-3)"
within 20 '[ "$(cstat portal dead)" = 1 ]' || fail "the refused NR-3 is not in dead letters"
sleep 2
got=$(since "$n" NR-3)
[ "$got" = "DongBoHoSoMC:False:-1" ] || fail "refused record: DVCQG saw $got"
ok "-1: final after one call ($got)"

# 4. Several records in one call, answered -2: one login, then the same
#    records with the new session (as one call or alone, never twice alike).
n=$(logged)
ctl '{"script": [{"service": "DongBoHoSoMC", "expire": true}]}'
sync "$(record NR-4)" "$(record NR-5)" "$(record NR-6)"
within 20 '[ "$(pqueued)" = 0 ]' || fail "NR-4..6 did not reach DVCQG ($(pstat last_error))"
logins=$(peer "sum(1 for e in d['log'][$n:] if e['service'] == 'login')")
[ "$logins" = 1 ] || fail "$logins logins after one -2"
for key in NR-4 NR-5 NR-6; do
    [ "$(peer "sum(1 for e in d['log'][$n:] if '$key' in e['keys'] and e['code'] == '0')")" = 1 ] \
        || fail "$key: DVCQG saw $(since "$n" $key)"
done
ok "-2 for several records: one login, each record taken once"

http_get "$SIM_URL/_log" | python3 -c '
import collections, json, sys
log = json.load(sys.stdin)["log"]
seen = collections.Counter(e["raw"] for e in log if "raw" in e)
twice = [raw for raw, n in seen.items() if n > 1]
sys.exit("DVCQG received %d identical calls: %s" % (len(twice), twice[:1]) if twice else 0)
' || fail "a call was repeated"
[ "$(cstat portal dead)" = 1 ] || fail "dead letters: $(cstat portal dead)"
ok "no call reached DVCQG twice"

portal_stop
echo "PASS: portal calls not repeated"
