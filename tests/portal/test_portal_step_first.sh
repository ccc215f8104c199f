#!/usr/bin/env bash
# A progress step that the one-stop system sends before its dossier never
# reaches DVCQG first (spec/peers.md B): lthubd holds it until a record of
# its dossier is stored, then delivers it behind that record. A step of a
# dossier the hub already relayed is not held.
# usage: test_portal_step_first.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

HUB_HOLD=600000   # the default hold: ten minutes, far longer than this test
portal_up
S=$(portal_login) || fail "cannot log in to lthub-portal"
ok "hub, DVCQG simulator and lthub-portal up; logged in"

KEY=000.00.12.H26-STEP-FIRST-1
step() {
    echo "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"CapNhatTienDoHoSoMC\",\"data\":[{\"MaHoSo\":\"$KEY\",\"NguoiXuLy\":\"Nguyễn Văn An\",\"ChucDanh\":\"Chuyên viên\",\"ThoiDiemXuLy\":\"$1\",\"PhongBanXuLy\":\"Bộ phận một cửa\",\"NoiDungXuLy\":\"$2\",\"TrangThai\":\"4\",\"NgayBatDau\":\"20260904093000\",\"NgayKetThucTheoQuyDinh\":\"20260905170000\"}]}"
}
dossier='{"MaHoSo":"'$KEY'","MaTTHC":"2.000815.000.00.00.H26","TenTTHC":"Đăng ký khai sinh","KenhThucHien":"2","TrangThaiHoSo":"2","NgayTiepNhan":"20260904093000","NgayHenTra":"20260905170000","HinhThuc":"0"}'

# 1. The step comes first: accepted (on the broker's disk), but held.
answer=$(http_post "$PORTAL_URL/service" "$(step 20260904100000 "Thẩm định hồ sơ")")
echo "$answer" | grep -q '"error_code":"0"' || fail "the step was not accepted: $answer"
within 10 '[ "$(hub_stat "s[\"store\"][\"held\"]")" = 1 ]' || fail "the step is not held: $(hub_stat 's["store"]')"
sleep 2
[ "$(sim_n received)" = 0 ] || fail "DVCQG received the step before its dossier: $(http_get "$SIM_URL/_sim/stats")"
ok "a step before its dossier: accepted, held by the broker, DVCQG has nothing"

# 2. The dossier comes: it reaches DVCQG, then the step behind it.
answer=$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\",\"data\":[$dossier]}")
echo "$answer" | grep -q '"error_code":"0"' || fail "the dossier was not accepted: $answer"
within 30 '[ "$(sim_n received)" -ge 2 ] && [ "$(pqueued)" = 0 ]' \
    || fail "DVCQG holds $(sim_n received) records, portal queue $(pqueued)"
[ "$(sim_n orphan_steps)" = 0 ] || fail "the step reached DVCQG before its dossier: $(http_get "$SIM_URL/_sim/stats")"
[ "$(hub_stat 's["store"]["held"]')" = 0 ] || fail "something is still held"
ok "the dossier reached DVCQG, then the step; no orphan step"

# 3. A step of a dossier the hub knows is not held.
answer=$(http_post "$PORTAL_URL/service" "$(step 20260904110000 "Trình ký")")
echo "$answer" | grep -q '"error_code":"0"' || fail "the second step was not accepted: $answer"
within 30 '[ "$(sim_n received)" -ge 3 ] && [ "$(pqueued)" = 0 ]' \
    || fail "DVCQG holds $(sim_n received) records, portal queue $(pqueued)"
[ "$(sim_n orphan_steps)" = 0 ] && [ "$(cstat portal dead)" = 0 ] || fail "orphan steps or dead letters"
ok "a step of a known dossier went straight through"
echo "PASS: a progress step never overtakes its dossier"
