#!/usr/bin/env bash
# A dossier belongs to the agency (madonvi) it was first taken for. Its
# TraCuuHoSo under another madonvi served by the same hub is answered as
# unknown, and a DongBoHoSoMC or a CapNhatTienDoHoSoMC (progress step) of
# it under another madonvi is refused (-1, naming madonvi) and changes
# nothing; its own agency still looks it up, updates it and posts its
# progress, and DVCQG gets only that agency's records and steps.
# usage: test_portal_agency.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

portal_up -- --agencies "000.00.12.H26,000.00.99.H26"
ok "hub, DVCQG simulator and lthub-portal up"

record() {
    printf '{"MaHoSo":"AG-1","MaTTHC":"2.000815.000.00.00.H26","KenhThucHien":"2","TrangThaiHoSo":"%s","NgayTiepNhan":"20260904093000","NgayHenTra":"20260905170000","HinhThuc":"0"}' "$1"
}
# sync MADONVI UPDATING STATE: DongBoHoSoMC of AG-1; prints the answer.
sync() {
    http_post "$PORTAL_URL/service" \
        "{\"session\":\"$S\",\"madonvi\":\"$1\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"$2\",\"data\":[$(record "$3")]}" \
        | sed 's/^200 //'
}
# lookup MADONVI: TraCuuHoSo of AG-1, as "error_code TrangThaiHoSo".
lookup() {
    http_post "$PORTAL_URL/service" \
        "{\"session\":\"$S\",\"madonvi\":\"$1\",\"service\":\"TraCuuHoSo\",\"mahoso\":\"AG-1\"}" \
        | sed 's/^200 //' \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["error_code"], d.get("data", {}).get("TrangThaiHoSo", "-"))'
}
# progress MADONVI NOIDUNG: CapNhatTienDoHoSoMC of AG-1; prints the answer.
progress() {
    http_post "$PORTAL_URL/service" \
        "{\"session\":\"$S\",\"madonvi\":\"$1\",\"service\":\"CapNhatTienDoHoSoMC\",\"data\":[{\"MaHoSo\":\"AG-1\",\"NguoiXuLy\":\"Trần Thị Bình\",\"ChucDanh\":\"Chuyên viên\",\"ThoiDiemXuLy\":\"20260904110000\",\"PhongBanXuLy\":\"Bộ phận một cửa\",\"NoiDungXuLy\":\"$2\",\"TrangThai\":\"4\",\"NgayBatDau\":\"20260904093000\",\"NgayKetThucTheoQuyDinh\":\"20260905170000\"}]}" \
        | sed 's/^200 //'
}
S=$(portal_login) || fail "cannot log in to lthub-portal"

sync 000.00.12.H26 False 2 | grep -q '"error_code":"0"' || fail "AG-1 was not taken"
[ "$(lookup 000.00.12.H26)" = "0 2" ] || fail "its agency's lookup: $(lookup 000.00.12.H26)"
[ "$(lookup 000.00.99.H26)" = "-1 -" ] || fail "another agency's lookup: $(lookup 000.00.99.H26)"
ok "TraCuuHoSo answers the dossier's own agency only"

answer=$(sync 000.00.99.H26 True 4)
case "$answer" in
*'"error_code":"-1"'*madonvi*) ;;
*) fail "an update under another madonvi got: $answer" ;;
esac
[ "$(lookup 000.00.12.H26)" = "0 2" ] || fail "the refused update changed the record: $(lookup 000.00.12.H26)"
ok "an update under another madonvi is refused: $answer"

sync 000.00.12.H26 True 5 | grep -q '"error_code":"0"' || fail "its own agency's update was not taken"
[ "$(lookup 000.00.12.H26)" = "0 5" ] || fail "after the update: $(lookup 000.00.12.H26)"

answer=$(progress 000.00.99.H26 foreign)
case "$answer" in
*'"error_code":"-1"'*'data[0].MaHoSo'*madonvi*) ;;
*) fail "a progress step under another madonvi got: $answer" ;;
esac
progress 000.00.12.H26 own | grep -q '"error_code":"0"' || fail "its own agency's progress step was not taken"
ok "a progress step under another madonvi is refused: $answer"

within 20 '[ "$(pqueued)" = 0 ] && [ "$(sim_n received)" -ge 3 ]' || fail "DVCQG did not get AG-1's records and step"
sleep 1
http_get "$SIM_URL/_sim/received" | python3 -c '
import json, sys
got = [(e["kind"], e["record"].get("TrangThaiHoSo", e["record"].get("NoiDungXuLy")))
       for e in json.load(sys.stdin)["received"] if e["record"]["MaHoSo"] == "AG-1"]
want = [("dossier", "2"), ("dossier", "5"), ("progress", "own")]
sys.exit(0 if got == want else "DVCQG holds %s" % got)
' || fail "DVCQG got other records or steps of AG-1 than its agency's"
ok "its own agency updates it and posts its progress; DVCQG gets those only"

portal_stop
echo "PASS: portal agencies"
