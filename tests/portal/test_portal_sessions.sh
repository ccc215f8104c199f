#!/usr/bin/env bash
# One-stop sessions on lthub-portal (--session-idle 10, --session-max 20):
# calls refused by a check (-1) do not keep a session alive, so it expires
# 10 s after its login (or last accepted call) though used every 2 s; a session used by accepted calls every
# 2 s lives until 20 s after its login, then -2 (log in again), and a new
# login works at once.
# usage: test_portal_sessions.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/portal/portal_lib.sh"

portal_up -- --session-idle 10 --session-max 20
ok "hub, DVCQG simulator and lthub-portal up"

python3 - "$PORTAL_URL" "$(cat "$HUB_DIR/secrets/onestop")" <<'PY' || fail "sessions"
import json, sys, time, urllib.request
url, password = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def post(path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(opener.open(req, timeout=30).read())
def login():
    return post("/login", {"username": "onestop", "password": password})["session"]
def call(session, **body):
    body.update(session=session, madonvi="000.00.12.H26")
    return post("/service", body)["error_code"]
def lookup(session, key="SES-1"):
    return call(session, service="TraCuuHoSo", mahoso=key)
record = {"MaHoSo": "SES-1", "MaTTHC": "2.000815.000.00.00.H26", "KenhThucHien": "2",
          "TrangThaiHoSo": "2", "NgayTiepNhan": "20260904093000"}
code = call(login(), service="DongBoHoSoMC", isUpdating="False", data=[record])
assert code == "0", "SES-1 not taken: %s" % code
refused, used = login(), login()
t0 = time.monotonic()
while time.monotonic() - t0 < 8:
    code = lookup(refused, "SES-NONE")                  # refused by a check
    assert code == "-1", "a lookup of an unknown dossier: %s" % code
    assert lookup(used) == "0", "an accepted call at %.1f s" % (time.monotonic() - t0)
    time.sleep(2)
time.sleep(max(0, 11 - (time.monotonic() - t0)))
code = lookup(refused)
assert code == "-2", "refused calls every 2 s kept the session alive (%s)" % code
print("ok - refused calls do not keep a session alive")
while time.monotonic() - t0 < 18:
    assert lookup(used) == "0", "an accepted call at %.1f s" % (time.monotonic() - t0)
    time.sleep(2)
time.sleep(max(0, 21 - (time.monotonic() - t0)))
code = lookup(used)
assert code == "-2", "a session used every 2 s lived %.1f s (%s)" % (time.monotonic() - t0, code)
assert lookup(login()) == "0", "a new login does not work"
print("ok - a session lives --session-max seconds at most, however used")
PY
[ "$(pstat session_refused)" -ge 2 ] || fail "session_refused: $(pstat session_refused)"
ok "sessions expire when idle (accepted calls only) and at their lifetime"

portal_stop
echo "PASS: portal sessions"
