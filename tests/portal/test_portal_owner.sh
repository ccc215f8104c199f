#!/usr/bin/env bash
# A dossier is kept for the first agency (madonvi) that sent it, even
# before the broker confirmed its record, and no other agency reaches it
# at DVCQG through a gap in that rule:
#  1. a progress step sent under another madonvi before the dossier was
#     seen is taken and held, but once the dossier comes for its own
#     agency the step is dropped (logged and counted, not a dead letter,
#     which would hold back the dossier's lane): DVCQG never gets it, and
#     the owner's updates and steps still go through;
#  2. a record answered -9 (lthubd stopped, so unconfirmed) still reaches
#     the broker and DVCQG; another madonvi's record of the same MaHoSo is
#     then refused (-1), and the first agency still updates its dossier.
# usage: test_portal_owner.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

HUB_HOLD=600000   # the default hold, far longer than this test
OWN=000.00.12.H26
OTHER=000.00.99.H26
portal_hub
portal_peer
portal_conn --publish-timeout 3000 --agencies "$OWN,$OTHER"
ok "hub, DVCQG and lthub-portal up"

# sent KEY MADONVI: the calls DVCQG got about KEY under MADONVI (logins aside).
sent() {
    http_get "$SIM_URL/_log" | python3 -c '
import json, sys
log = json.load(sys.stdin)["log"]
print(sum(1 for e in log if e["service"] != "login" and sys.argv[1] in e["keys"]
          and json.loads(e["raw"]).get("madonvi") == sys.argv[2]))' "$1" "$2"
}
record() {
    printf '{"MaHoSo":"%s","MaTTHC":"2.000815.000.00.00.H26","KenhThucHien":"2","TrangThaiHoSo":"%s","NgayTiepNhan":"20260904093000","NgayHenTra":"20260905170000","HinhThuc":"0"}' "$1" "$2"
}
# sync MADONVI UPDATING KEY STATE: DongBoHoSoMC of one record; prints the answer.
sync() {
    http_post "$PORTAL_URL/service" \
        "{\"session\":\"$S\",\"madonvi\":\"$1\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"$2\",\"data\":[$(record "$3" "$4")]}"
}
# step MADONVI KEY NOIDUNG: CapNhatTienDoHoSoMC of one step; prints the answer.
step() {
    http_post "$PORTAL_URL/service" \
        "{\"session\":\"$S\",\"madonvi\":\"$1\",\"service\":\"CapNhatTienDoHoSoMC\",\"data\":[{\"MaHoSo\":\"$2\",\"NguoiXuLy\":\"Trần Thị Bình\",\"ThoiDiemXuLy\":\"20260904110000\",\"NoiDungXuLy\":\"$3\",\"TrangThai\":\"4\"}]}"
}
S=$(portal_login) || fail "cannot log in to lthub-portal"

# 1. Another agency's step first, then the dossier for its own agency.
step $OTHER OW-1 foreign | grep -q '"error_code":"0"' || fail "the early step was not taken"
within 10 '[ "$(hub_stat "s[\"store\"][\"held\"]")" = 1 ]' || fail "the early step is not held"
sync $OWN False OW-1 2 | grep -q '"error_code":"0"' || fail "OW-1 was not taken"
within 20 '[ "$(sent OW-1 $OWN)" -ge 1 ] && [ "$(pqueued)" = 0 ]' \
    || fail "OW-1 did not reach DVCQG; portal queue $(pqueued)"
sleep 1
[ "$(sent OW-1 $OTHER)" = 0 ] || fail "DVCQG got another agency's progress step of OW-1"
grep -q 'kept for another agency' "$HUB_DIR"/portal-*.err || fail "the dropped step is not logged"
ok "a step sent before its dossier under another madonvi never reaches DVCQG"
# ... nor holds back its dossier: the owner's update and step go through.
sync $OWN True OW-1 4 | grep -q '"error_code":"0"' || fail "OW-1's update was not taken"
step $OWN OW-1 own | grep -q '"error_code":"0"' || fail "OW-1's own step was not taken"
within 20 '[ "$(sent OW-1 $OWN)" -ge 3 ] && [ "$(pqueued)" = 0 ]' \
    || fail "OW-1's update and step are held back: DVCQG got $(sent OW-1 $OWN) calls, queue $(pqueued)"
[ "$(cstat portal dead)" = 0 ] || fail "dead letters: $(cstat portal dead)"
[ "$(pstat foreign_steps)" = 1 ] || fail "foreign_steps counts $(pstat foreign_steps)"
ok "nor holds back its dossier's updates and steps"

# 2. An unconfirmed record keeps its dossier for its agency.
kill -STOP "$HUB_PID"
answer=$(sync $OWN False OW-2 2)
kill -CONT "$HUB_PID"
case "$answer" in *'"error_code":"-9"'*) ;; *) fail "a call lthubd did not confirm got: $answer" ;; esac
within 20 '[ "$(sent OW-2 $OWN)" -ge 1 ] && [ "$(pqueued)" = 0 ]' \
    || fail "the unconfirmed OW-2 did not reach DVCQG"
answer=$(sync $OTHER True OW-2 8)
case "$answer" in
*'"error_code":"-1"'*'data[0].MaHoSo'*madonvi*) ;;
*) fail "a record of OW-2 under another madonvi got: $answer" ;;
esac
answer=$(step $OTHER OW-2 foreign)
case "$answer" in
*'"error_code":"-1"'*'data[0].MaHoSo'*madonvi*) ;;
*) fail "a step of OW-2 under another madonvi got: $answer" ;;
esac
sync $OWN True OW-2 4 | grep -q '"error_code":"0"' || fail "OW-2's own agency cannot update it"
within 20 '[ "$(sent OW-2 $OWN)" -ge 2 ] && [ "$(pqueued)" = 0 ]' \
    || fail "OW-2's update did not reach DVCQG"
sleep 1
[ "$(sent OW-2 $OTHER)" = 0 ] || fail "DVCQG got another agency's record or step of OW-2"
ok "a record answered -9 keeps its dossier for its agency"

portal_stop
echo "PASS: portal dossier owners"
