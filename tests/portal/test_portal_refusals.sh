#!/usr/bin/env bash
# What the one-stop system gets for bad input, and that none of it is
# stored: a wrong password is refused clearly (HTTP 401); a bad or missing
# session gets -2; a call with one malformed record gets -1 naming the
# record's index and field, and nothing of that call reaches the broker,
# the record store or DVCQG; oversized, too deep, duplicate-key, bad UTF-8
# and over-long bodies are refused the same way, a body that trickles in is
# cut off after --max-request-time; lthub-portal keeps serving.
# usage: test_portal_refusals.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

portal_up -- --max-records 50 --max-body 200000 --max-request-time 3 \
    --agencies "000.00.12.H26,000.00.13.*" --session-idle 30 --max-connections 24
messages0=$(hub_stat 's["store"]["messages"]')

# expect NAME HTTP_STATUS ERROR_CODE TEXT ANSWER: check one answer.
expect() {
    local name=$1 status=$2 code=$3 text=$4 answer=$5
    python3 - "$status" "$code" "$text" "$answer" <<'PY' || fail "$name: got $answer"
import json, sys
status, code, text, answer = sys.argv[1:]
got_status, body = answer.split(" ", 1)
j = json.loads(body)
assert got_status == status, "status %s" % got_status
assert j["error_code"] == code, "error_code %s" % j["error_code"]
assert text in j["message"], "message %r" % j["message"]
PY
    ok "$name: $code ($(echo "$answer" | cut -c1-110))"
}
pass=$(cat "$HUB_DIR/secrets/onestop")
expect "wrong password" 401 401 "wrong username or password" \
    "$(http_post "$PORTAL_URL/login" '{"username":"onestop","password":"guess"}')"
expect "wrong username" 401 401 "wrong username or password" \
    "$(http_post "$PORTAL_URL/login" "{\"username\":\"admin\",\"password\":\"$pass\"}")"
# Guessing in parallel gains nothing: refused logins are answered one
# after the other, at most 5 a second (10 at once take 2 s or more).
took=$(python3 - "$PORTAL_URL/login" <<'PY'
import json, sys, threading, time, urllib.request, urllib.error
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
codes = []
def guess(n):
    req = urllib.request.Request(sys.argv[1], data=json.dumps(
        {"username": "onestop", "password": "guess-%d" % n}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        opener.open(req, timeout=30)
        codes.append(200)
    except urllib.error.HTTPError as e:
        codes.append(e.code)
t0 = time.time()
threads = [threading.Thread(target=guess, args=(n,)) for n in range(10)]
for t in threads: t.start()
for t in threads: t.join()
assert codes == [401] * 10, codes
print("%.1f" % (time.time() - t0))
PY
) || fail "parallel guesses: $took"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 1.8 else 1)" "$took" \
    || fail "10 parallel wrong logins were answered in $took s"
ok "10 parallel wrong logins answered one after the other ($took s)"
# A flood of guesses from two other addresses, more connections than
# --max-connections each waiting in line for its refusal, does not lock
# the one-stop system's own login out: each of its logins is answered at
# once (a guess's wait gives its connection up to a newcomer).
flood=$(python3 - "$PORTAL_PORT" "$pass" <<'PY'
import http.client, json, sys, threading, time
port, password = int(sys.argv[1]), sys.argv[2]
stop = time.time() + 5
def guesser(src):
    while time.time() < stop:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(src, 0))
            while time.time() < stop:
                c.request("POST", "/login", json.dumps({"username": "onestop", "password": "guess"}),
                          {"Content-Type": "application/json"})
                c.getresponse().read()
        except Exception:
            time.sleep(0.05)
threads = [threading.Thread(target=guesser, args=(src,), daemon=True)
           for src in ("127.0.0.2", "127.0.0.3") for _ in range(15)]
for t in threads: t.start()
time.sleep(1.5)   # the line of refusals is several seconds long by now
took = []
for _ in range(3):
    t0 = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/login", json.dumps({"username": "onestop", "password": password}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read()).get("session"), r.status
    took.append(time.time() - t0)
    c.close()
    time.sleep(0.5)
print(" ".join("%.2f" % t for t in took))
assert max(took) < 1.5, took
PY
) || fail "the right login during a flood of guesses: $flood"
ok "the right login during a flood of guesses answered in $flood s"
answer=$(http_post "$PORTAL_URL/login" "{\"username\":\"onestop\",\"password\":\"$pass\"}")
expect "login" 200 0 "" "$answer"
S=$(echo "$answer" | sed 's/^200 //' | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')

# record N [FIELD VALUE]: a valid record, one field replaced (VALUE "DEL" drops it).
record() {
    python3 - "$@" <<'PY'
import json, sys
n = sys.argv[1]
r = {"MaHoSo": "000.00.12.H26-REF-%s" % n, "MaTTHC": "2.000815.000.00.00.H26",
     "TenTTHC": "Đăng ký khai sinh", "KenhThucHien": "1", "TrangThaiHoSo": "2",
     "NgayTiepNhan": "20260904093000", "NgayHenTra": "20260905170000", "HinhThuc": "0"}
if len(sys.argv) > 3:
    if sys.argv[3] == "DEL":
        del r[sys.argv[2]]
    else:
        r[sys.argv[2]] = sys.argv[3]
print(json.dumps(r, ensure_ascii=False))
PY
}
call() { echo "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\",\"data\":[$1]}"; }

expect "bad session" 200 -2 "log in again" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"0000\",\"madonvi\":\"000.00.12.H26\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\",\"data\":[$(record 1)]}")"
# A refused call keeps no session alive (--session-idle counts accepted
# calls only): each check below comes with a session of its own.
fresh() { S=$(portal_login) || fail "cannot log in to lthub-portal"; }
fresh
expect "status out of range" 200 -1 "data[1].TrangThaiHoSo" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1),$(record 2 TrangThaiHoSo 12),$(record 3)")")"
fresh
expect "missing MaTTHC" 200 -1 "data[2].MaTTHC" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1),$(record 2),$(record 3 MaTTHC DEL)")")"
fresh
expect "bad date" 200 -1 "data[0].NgayTiepNhan" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1 NgayTiepNhan 20260231093000)")")"
fresh
expect "bad channel" 200 -1 "data[0].KenhThucHien" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1 KenhThucHien 7)")")"
fresh
expect "progress without time" 200 -1 "data[0].ThoiDiemXuLy" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"CapNhatTienDoHoSoMC\",\"data\":[{\"MaHoSo\":\"000.00.12.H26-REF-1\"}]}")"
deep=$(python3 -c 'print("[" * 200 + "]" * 200)')
fresh
expect "deep nesting" 200 -1 "nested deeper" "$(http_post "$PORTAL_URL/service" "$(call "$deep")")"
many=$(python3 -c 'import json; print(",".join(["{}"] * 51))')
fresh
expect "too many records" 200 -1 "more than 50" "$(http_post "$PORTAL_URL/service" "$(call "$many")")"
fresh
expect "duplicate keys" 200 -1 "not a JSON object" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"session\":\"$S\",\"service\":\"TraCuuHoSo\"}")"
fresh
expect "bad UTF-8" 200 -1 "" "$(http_post "$PORTAL_URL/service" "$(call "$(record 1 ChuHoSo x)" | sed $'s/"x"/"\xff\xfe"/')")"
# An unknown service named in Vietnamese is quoted cut to 64 bytes, which
# may split a letter: the answer is still an adapter answer (-1), valid UTF-8.
fresh
service="x$(printf 'Đ%.0s' $(seq 40))"   # 81 bytes: a cut at 64 splits a Đ
expect "unknown service in Vietnamese" 200 -1 "unknown service 'xĐĐĐ" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"$service\",\"mahoso\":\"x\"}")"
fresh
expect "no madonvi" 200 -1 "madonvi" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\",\"data\":[$(record 1)]}")"
fresh
expect "madonvi not served" 200 -1 "not an agency this hub serves" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1)" | sed 's/"000.00.12.H26","service"/"000.00.99.H26","service"/')")"
fresh
expect "madonvi a pattern, not a code" 200 -1 "madonvi must be an agency code" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1)" | sed 's/"000.00.12.H26","service"/"000.00.13.*","service"/')")"
fresh
expect "madonvi as a number" 200 -1 "madonvi" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1)" | sed 's/"madonvi":"000.00.12.H26"/"madonvi":12/')")"
fresh
expect "data not an array" 200 -1 "data must be an array" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.13.H26\",\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\",\"data\":$(record 1)}")"
fresh
expect "empty data" 200 -1 "no record" "$(http_post "$PORTAL_URL/service" "$(call "")")"
fresh
expect "MaHoSo as a number" 200 -1 "data[0].MaHoSo" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1 | sed 's/"MaHoSo": "[^"]*"/"MaHoSo": 12/')")")"
fresh
expect "NUL in a string" 200 -1 "" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1 ChuHoSo x)" | sed 's/"x"/"a\\u0000b"/')")"
fresh
expect "no isUpdating" 200 -1 "isUpdating" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1)" | sed 's/"isUpdating":"False",//')")"
fresh
expect "session as a number" 200 -2 "log in again" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1)" | sed "s/\"session\":\"$S\"/\"session\":7/")")"
fresh
expect "bad isUpdating" 200 -1 "isUpdating" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1)" | sed 's/"False"/"Maybe"/')")"
fresh
expect "unknown service" 200 -1 "unknown service" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"XoaHoSo\"}")"
# Line ends in what the one-stop system sends never split a log line.
fresh
expect "service with a line end" 200 -1 "unknown service" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"Xoa\\nevent=forged service\"}")"
fresh
expect "madonvi with a line end" 200 -1 "madonvi" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\\nevent=forged madonvi\",\"service\":\"TraCuuHoSo\",\"mahoso\":\"x\"}")"
fresh
expect "mahoso with a line end" 200 -1 "no dossier" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"TraCuuHoSo\",\"mahoso\":\"x\\r\\nevent=forged mahoso\"}")"
sleep 0.5
! grep -q "^event=forged" "$HUB_DIR"/portal-*.err || fail "a request split a log line: $(grep -B1 '^event=forged' "$HUB_DIR"/portal-*.err)"
ok "line ends in a request stay inside one log line"
python3 -c 'print("{\"pad\":\"" + "x" * 300000 + "\"}")' >"$HUB_DIR/big.json"
status=$(http_status "$HUB_DIR/big.json" "$PORTAL_URL/service")
[ "$status" = 413 ] || fail "an oversized body got HTTP $status, expected 413"
ok "oversized body: HTTP 413"
# A body that trickles in (a byte every 0.3 s) is cut off after
# --max-request-time (3 s), not held for ever.
cut=$(python3 - "$PORTAL_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"POST /service HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 1000\r\n\r\n{")
t0 = time.time()
try:
    while time.time() - t0 < 15:
        s.sendall(b" ")
        time.sleep(0.3)
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                break
        except BlockingIOError:
            pass
        s.setblocking(True)
except OSError:
    pass
print("%.0f" % (time.time() - t0))
PY
)
[ "$cut" -le 8 ] || fail "a trickling body held its connection for $cut s"
ok "a trickling body is cut off after $cut s"

# Nothing of the refused calls was stored anywhere.
[ "$(hub_stat 's["store"]["messages"]')" = "$messages0" ] || fail "the broker stored refused records"
fresh
expect "nothing kept for lookup" 200 -1 "no dossier" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"TraCuuHoSo\",\"mahoso\":\"000.00.12.H26-REF-1\"}")"
[ "$(sim_n received)" = 0 ] || fail "DVCQG received refused records"
ok "nothing of the refused calls reached the broker, the record store or DVCQG"

# lthub-portal still serves: the same records, corrected, go through.
fresh
expect "valid call" 200 0 "3 records stored" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1),$(record 2),$(record 3)")")"
within 30 '[ "$(sim_n received)" = 3 ]' || fail "the valid records did not reach DVCQG"
fresh
expect "identical resend" 200 0 "3 records stored" \
    "$(http_post "$PORTAL_URL/service" "$(call "$(record 1),$(record 2),$(record 3)")")"
[ "$(pstat duplicates_in)" = 3 ] || fail "the resend was not deduplicated ($(pstat duplicates_in))"
sleep 2
[ "$(sim_n received)" = 3 ] || fail "the identical resend reached DVCQG again"
ok "a valid call goes through; its identical resend is deduplicated"

# A session unused for --session-idle (30 s) is gone: -2.
sleep 31
expect "expired session" 200 -2 "log in again" \
    "$(http_post "$PORTAL_URL/service" "{\"session\":\"$S\",\"madonvi\":\"000.00.12.H26\",\"service\":\"TraCuuHoSo\",\"mahoso\":\"000.00.12.H26-REF-1\"}")"

portal_stop
echo "PASS: portal refusals"
