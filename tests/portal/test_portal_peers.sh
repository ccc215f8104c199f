#!/usr/bin/env bash
# lthub-portal against an independent DVCQG adapter (tests/portal/peer_dvcqg.py,
# written from spec/peers.md B alone) that uses the room the spec leaves:
# error_code as a JSON number (login, 0, -2, -3), an adapter answer sent
# with HTTP 400, an HTTP 401 from a gateway in front of the service, a
# TraCuuHoSo that the adapter does not offer (-4, HTTP 404) after a call
# that failed, and a TraCuuHoSo whose data is an array. Every dossier
# reaches DVCQG, once; a -1 lands in dead letters with DVCQG's own message,
# even one cut in the middle of a letter.
# usage: test_portal_peers.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

portal_hub
portal_peer
portal_conn --timeout-ms 3000 --dvcqg-login-pause 3 --max-body 1048576

ctl() { http_post "$SIM_URL/_ctl" "$1" | grep -q '^200 ' || fail "peer control $1"; }
# peer EXPR: python over the peer's /_log answer (d: {"log": [...], "records": {...}}).
peer() { http_get "$SIM_URL/_log" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# calls KEY SERVICE: the service calls the peer logged naming KEY.
calls() { peer "sum(1 for e in d['log'] if e['service'] == '$2' and '$1' in e['keys'])"; }
S=$(portal_login) || fail "cannot log in to lthub-portal"

# sync N UPDATING [FIELD VALUE]: the one-stop system sends dossier N.
sync() {
    local rec
    rec=$(python3 - "$1" "${3:-}" "${4:-}" <<'PY'
import json, sys
r = {"MaHoSo": "000.00.12.H26-PEER-%s" % sys.argv[1], "MaTTHC": "2.000815.000.00.00.H26",
     "TenTTHC": "Đăng ký khai sinh", "KenhThucHien": "2", "TrangThaiHoSo": "2",
     "NgayTiepNhan": "20260904093000", "NgayHenTra": "20260905170000", "HinhThuc": "0"}
if sys.argv[2]:
    r[sys.argv[2]] = sys.argv[3]
print(json.dumps(r, ensure_ascii=False))
PY
)
    http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"$2\",\"data\":[$rec]}" \
        | grep -q '"error_code":"0"' || fail "lthub-portal did not take dossier $1"
}
held() { peer "d['records'].get('000.00.12.H26-PEER-$1', {}).get('$2', '')"; }

# 1. error_code as a number: login, 0, -2 and -3 keep their meaning.
ctl '{"numeric": true}'
sync 1 False
within 20 '[ "$(held 1 TrangThaiHoSo)" = 2 ] && [ "$(pqueued)" = 0 ]' \
    || fail "numeric error_code: dossier 1 did not reach DVCQG ($(pstat last_error))"
ok "error_code as a number: the login and a 0 are understood"
ctl '{"script": [{"service": "DongBoHoSoMC", "expire": true}]}'
sync 2 False
within 20 '[ "$(held 2 TrangThaiHoSo)" = 2 ] && [ "$(pqueued)" = 0 ]' \
    || fail "numeric -2: dossier 2 did not reach DVCQG ($(pstat last_error))"
[ "$(pstat relogins)" -ge 1 ] || fail "numeric -2 did not make the hub log in again"
ok "error_code -2 as a number: the hub logs in again"
sync 1 False TrangThaiHoSo 4
within 20 '[ "$(held 1 TrangThaiHoSo)" = 4 ] && [ "$(pqueued)" = 0 ]' \
    || fail "numeric -3: dossier 1's update did not reach DVCQG ($(pstat last_error))"
[ "$(pstat resent_as_update)" -ge 1 ] || fail "numeric -3 was not resent as an update"
ok "error_code -3 as a number: resent as an update"
ctl '{"numeric": false}'

# 2. A -1 sent with HTTP 400: the delivery fails at once with DVCQG's message.
ctl '{"script": [{"service": "DongBoHoSoMC", "code": "-1", "status": 400, "message": "data[0].MaTTHC: mã thủ tục không tồn tại\nevent=forged"}]}'
sync 3 False
within 20 '[ "$(cstat portal dead)" = 1 ]' || fail "the refused dossier is not in dead letters"
[ "$(calls 000.00.12.H26-PEER-3 DongBoHoSoMC)" = 1 ] \
    || fail "the refused dossier was sent $(calls 000.00.12.H26-PEER-3 DongBoHoSoMC) times"
"$LTHUB" dead --admin "$HUB_ADMIN" --json >"$HUB_DIR/dead.json" || fail "lthub dead"
python3 - "$HUB_DIR/dead.json" <<'PY' || fail "the dead letter lacks DVCQG's message: $(cat "$HUB_DIR/dead.json")"
import json, sys
dead = json.load(open(sys.argv[1]))["dead"]
assert len(dead) == 1 and dead[0]["key"] == "000.00.12.H26-PEER-3", dead
assert "mã thủ tục không tồn tại" in json.dumps(dead[0], ensure_ascii=False), dead[0]
PY
! grep -q "^event=forged" "$HUB_DIR"/portal-*.err "$HUB_DIR"/lthubd.log \
    || fail "DVCQG's message split a log line: $(grep -l '^event=forged' "$HUB_DIR"/portal-*.err "$HUB_DIR"/lthubd.log)"
ok "-1 with HTTP 400: dead letter with DVCQG's message, one log line each"

# 3. A gateway answers HTTP 401 (no adapter body) once the session is gone.
ctl '{"script": [{"service": "DongBoHoSoMC", "expire": true, "status": 401, "raw": {"error": "Unauthorized"}}]}'
sync 4 False
within 20 '[ "$(held 4 TrangThaiHoSo)" = 2 ] && [ "$(pqueued)" = 0 ]' \
    || fail "HTTP 401: dossier 4 did not reach DVCQG ($(pstat last_error))"
[ "$(cstat portal dead)" = 1 ] || fail "HTTP 401 sent a dossier to dead letters"
ok "HTTP 401 on a service call: the hub logs in again, nothing dead"

# 3b. A redirect (a proxy moving DVCQG to https), then a 404 without the
#     adapter's answer: not DVCQG's word on the dossier, which waits and
#     goes on the next call; the reason names where the redirect pointed.
ctl '{"script": [{"service": "DongBoHoSoMC", "status": 302, "raw": {"error_code": "0"}, "headers": {"Location": "https://dvcqg.example/service"}}, {"service": "DongBoHoSoMC", "status": 404, "raw": {"error": "Not Found"}}]}'
sync 30 False
within 30 '[ "$(held 30 TrangThaiHoSo)" = 2 ] && [ "$(pqueued)" = 0 ]' \
    || fail "a redirect, then a 404: dossier 30 did not reach DVCQG ($(pstat last_error))"
[ "$(cstat portal dead)" = 1 ] || fail "a redirect or a 404 sent a dossier to dead letters"
[ "$(calls 000.00.12.H26-PEER-30 DongBoHoSoMC)" -ge 3 ] \
    || fail "dossier 30 was not tried again after the redirect and the 404"
grep -q 'a redirect to https://dvcqg.example/service, not followed' "$HUB_DIR"/portal-*.err \
    || fail "no reason names the redirect's Location"
ok "a redirect and a 404 from a proxy: the dossier waited and went, the Location named"

# 4. A call that failed (-9), then a TraCuuHoSo DVCQG does not offer.
for mode in unsupported http404; do
    n=$([ $mode = unsupported ] && echo 5 || echo 6)
    ctl "{\"lookup\": \"$mode\", \"script\": [{\"service\": \"DongBoHoSoMC\", \"code\": \"-9\"}]}"
    sync $n False
    within 20 '[ "$(held $n TrangThaiHoSo)" = 2 ] && [ "$(pqueued)" = 0 ]' \
        || fail "lookup $mode: dossier $n did not reach DVCQG ($(pstat last_error))"
    ok "TraCuuHoSo $mode after a -9: the dossier is sent again"
done

# 5. The answer to a call is lost after DVCQG stored it; its TraCuuHoSo
#    answers data as an array: the dossier is not sent twice.
ctl '{"lookup": "array", "script": [{"service": "DongBoHoSoMC", "code": "0", "store": true, "sleep": 5}]}'
sync 7 False
within 30 '[ "$(pqueued)" = 0 ] && [ "$(pstat already_there)" -ge 1 ]' \
    || fail "lost answer: the delivery of dossier 7 did not end as already there ($(pstat last_error))"
[ "$(calls 000.00.12.H26-PEER-7 DongBoHoSoMC)" = 1 ] \
    || fail "dossier 7 reached DVCQG $(calls 000.00.12.H26-PEER-7 DongBoHoSoMC) times"
ok "TraCuuHoSo data as an array: a stored dossier is not sent twice"

# 6. A record with escapes, odd spacing, numbers and fields the spec does not
#    name reaches DVCQG byte for byte, and TraCuuHoSo on the hub gives it back
#    byte for byte.
cat >"$HUB_DIR/odd.json" <<'REC'
{ "MaHoSo" : "000.00.12.H26-PEER-8",  "MaTTHC":"2.000815.000.00.00.H26", "TenTTHC":"\u0110\u0103ng k\u00fd khai sinh",
  "KenhThucHien":3,"TrangThaiHoSo" : "2","NgayTiepNhan":"20260904093000","ChuHoSo":"Nguyễn Thị Ánh \"Hồng\"",
  "LePhi":1.50,"SoTo":1e2,"ThongTinMoRong":{"a":[true,null,{"b":"c\/d"}]},"TaiLieuNop":[{"DuocSoHoa":1}] }
REC
printf '{"session":"%s","madonvi":"000.00.12.H26","service":"DongBoHoSoMC","isUpdating":"False","data":[%s]}' \
    "$S" "$(cat "$HUB_DIR/odd.json")" >"$HUB_DIR/odd-call.json"
curl -s --noproxy '*' -H 'Content-Type: application/json' --data-binary @"$HUB_DIR/odd-call.json" \
    "$PORTAL_URL/service" | grep -q '"error_code":"0"' || fail "lthub-portal did not take the odd record"
within 20 '[ "$(calls 000.00.12.H26-PEER-8 DongBoHoSoMC)" = 1 ] && [ "$(pqueued)" = 0 ]' \
    || fail "the odd record did not reach DVCQG"
http_get "$SIM_URL/_log" >"$HUB_DIR/peerlog.json"
printf '{"session":"%s","madonvi":"000.00.12.H26","service":"TraCuuHoSo","mahoso":"000.00.12.H26-PEER-8"}' "$S" \
    >"$HUB_DIR/lookup.json"
curl -s --noproxy '*' -H 'Content-Type: application/json' --data-binary @"$HUB_DIR/lookup.json" \
    "$PORTAL_URL/service" >"$HUB_DIR/lookup-answer.json"
python3 - "$HUB_DIR/odd.json" "$HUB_DIR/peerlog.json" "$HUB_DIR/lookup-answer.json" <<'PY' \
    || fail "the odd record was not relayed byte for byte"
import json, sys
record = open(sys.argv[1], encoding="utf-8").read().rstrip("\n")
log = json.load(open(sys.argv[2]))["log"]
raw = [e["raw"] for e in log if "000.00.12.H26-PEER-8" in e["keys"]][0]
assert record in raw, "DVCQG got %r" % raw
answer = open(sys.argv[3], encoding="utf-8").read()
assert record in answer, "TraCuuHoSo gave %r" % answer
assert json.loads(answer)["error_code"] == "0"
PY
ok "escapes, spacing, numbers and unknown fields: byte for byte to DVCQG and in TraCuuHoSo"

# 7. Answers that start with a UTF-8 byte order mark (as some .NET servers
#    write them), and a one-stop call that starts with one.
ctl '{"bom": true, "script": [{"service": "DongBoHoSoMC", "expire": true}]}'
printf '\xef\xbb\xbf{"session":"%s","madonvi":"000.00.12.H26","service":"DongBoHoSoMC","isUpdating":"False","data":[{"MaHoSo":"000.00.12.H26-PEER-9","MaTTHC":"1.1","KenhThucHien":"1","TrangThaiHoSo":"1"}]}' \
    "$S" >"$HUB_DIR/bom-call.json"
answer=$(curl -s --noproxy '*' -H 'Content-Type: application/json; charset=utf-8' \
    --data-binary @"$HUB_DIR/bom-call.json" "$PORTAL_URL/service")
case "$answer" in *'"error_code":"0"'*) ;; *) fail "a call starting with a byte order mark: $answer" ;; esac
within 20 '[ "$(held 9 TrangThaiHoSo)" = 1 ] && [ "$(pqueued)" = 0 ]' \
    || fail "byte order marks: dossier 9 did not reach DVCQG ($(pstat last_error))"
ctl '{"bom": false}'
ok "byte order marks before JSON, from DVCQG (login, -2, 0) and from the one-stop system"

# 8. DVCQG refuses the hub's login (its password was changed there): the
#    hub does not hammer it (an account locks after a few failed logins):
#    one login at most per --dvcqg-login-pause (3 s here) while the
#    dossiers wait, none dead; once DVCQG takes the login again they go.
ctl '{"refuse_login": true, "script": [{"service": "DongBoHoSoMC", "expire": true}]}'
logins0=$(peer "sum(1 for e in d['log'] if e['service'] == 'login')")
sync 10 False
sync 11 False
sleep 7
logins=$(($(peer "sum(1 for e in d['log'] if e['service'] == 'login')") - logins0))
[ "$logins" -ge 1 ] && [ "$logins" -le 4 ] || fail "$logins logins refused in 7 s"
[ "$(held 10 TrangThaiHoSo)" = "" ] || fail "dossier 10 went through a refused login"
ctl '{"refuse_login": false}'
within 20 '[ "$(held 10 TrangThaiHoSo)" = 2 ] && [ "$(held 11 TrangThaiHoSo)" = 2 ] && [ "$(pqueued)" = 0 ]' \
    || fail "dossiers 10 and 11 did not reach DVCQG once it took the login ($(pstat last_error))"
ok "a refused login is tried again once per pause ($logins logins in 7 s); the dossiers waited"

# 9. An answer far larger than any record (3 MB, with --max-body 1 MiB) is
#    not read: the call is retried, the dossier goes on the next one.
ctl '{"script": [{"service": "DongBoHoSoMC", "code": "0", "pad": 3000000}]}'
sync 12 False
within 20 '[ "$(calls 000.00.12.H26-PEER-12 DongBoHoSoMC)" -ge 2 ] && [ "$(pqueued)" = 0 ]' \
    || fail "a 3 MB answer was taken ($(calls 000.00.12.H26-PEER-12 DongBoHoSoMC) calls, $(pstat last_error))"
ok "a 3 MB answer is not read; the call is made again"
[ "$(cstat portal dead)" = 1 ] || fail "dead letters: $(cstat portal dead)"

# 10. A -1 whose Vietnamese message is longer than the reason keeps: cut,
#     it may end in half a letter; the counters and the dead letter still
#     read as JSON, with DVCQG's message.
long="x$(printf 'Đ%.0s' $(seq 300))"
ctl "{\"script\": [{\"service\": \"DongBoHoSoMC\", \"code\": \"-1\", \"message\": \"$long\"}]}"
sync 13 False
within 20 '[ "$(cstat portal dead)" = 2 ]' || fail "the refused dossier 13 is not in dead letters"
pstat last_error | grep -q '^DVCQG answered error_code -1: xĐĐĐ' \
    || fail "lthub-portal's counters lost: $(http_get "$PORTAL_URL/_portal/stats" | cut -c1-300)"
[ "$(cstat portal own | python3 -c 'import ast,sys; print("failed" in ast.literal_eval(sys.stdin.read()).get("portal", {}))')" = True ] \
    || fail "lthub status lacks lthub-portal's counters: $(cstat portal own | cut -c1-400)"
"$LTHUB" dead --admin "$HUB_ADMIN" --json >"$HUB_DIR/dead.json" || fail "lthub dead"
python3 - "$HUB_DIR/dead.json" <<'PY' || fail "dead letter 13: $(cut -c1-600 "$HUB_DIR/dead.json")"
import json, sys
dead = [d for d in json.load(open(sys.argv[1]))["dead"] if d["key"] == "000.00.12.H26-PEER-13"]
assert len(dead) == 1 and "xĐĐĐ" in json.dumps(dead[0], ensure_ascii=False), dead
PY
ok "a -1 with a long Vietnamese message: counters and dead letter intact"

portal_stop
echo "PASS: portal against an independent DVCQG"
