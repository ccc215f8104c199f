# Contract adapter for lthub-portal (sourced by contract.sh; bash only).
#
# The peers are the one-stop system (inbound, played by a small client of
# the adapter API) and DVCQG (outbound, `lthub-sim portal`). Routes: progress
# steps go to the sink, dossiers to portal, so the inbound item (a progress
# step) is routed on to the test sink and the outbound one (a dossier
# published by lthub-testconn) travels portal -> DVCQG.
#   inbound    CapNhatTienDoHoSoMC with one step; answered 0 only after the
#              broker stored it
#   outbound   a dossier record reaches DVCQG field for field, in key order
#   failure    DVCQG answers 500, 503 or -9 to every call for 5 s

CONN_NAME=portal
CONN_BIN="$BIN/connectors/portal/lthub-portal"
SEND_PID=""
FAIL_PID=""

# http JSON POST to URL with BODY; prints "STATUS BODY".
portal_post() {
    python3 -c 'import sys, urllib.request, urllib.error
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"Content-Type": "application/json"})
try:
    r = opener.open(req, timeout=60)
    sys.stdout.write("%d %s" % (r.status, r.read().decode()))
except urllib.error.HTTPError as e:
    sys.stdout.write("%d %s" % (e.code, e.read().decode()))' "$1" "$2"
}

portal_get() { curl -s --noproxy '*' --max-time 10 "$1" 2>/dev/null; }

adapter_setup() {
    hub_keys portal
    mkdir -p "$HUB_DIR/secrets" "$HUB_DIR/items"
    echo "contract-onestop-$RANDOM" >"$HUB_DIR/secrets/onestop"
    echo "contract-dvcqg-$RANDOM" >"$HUB_DIR/secrets/dvcqg"
    chmod 600 "$HUB_DIR/secrets/"*
    hub_config <<CFG
delivery
    backoff_min = 100
    backoff_max = 1000
routes
    route
        kind = "dossier"
        match = "*"
        to = "portal"
    route
        kind = "progress"
        match = "*"
        to = "sink"
connectors
    portal
    sink
    pub
CFG
    DVCQG_PORT=$(hub_free_port)
    DVCQG_URL="http://127.0.0.1:$DVCQG_PORT"
    "$SIM" portal --listen "127.0.0.1:$DVCQG_PORT" --username hub-h26 \
        --password-file "$HUB_DIR/secrets/dvcqg" >"$HUB_DIR/dvcqg.out" 2>"$HUB_DIR/dvcqg.err" &
    HUB_PIDS="$HUB_PIDS $!"
    PORTAL_PORT=$(hub_free_port)
    PORTAL_URL="http://127.0.0.1:$PORTAL_PORT"
    CONN_ARGS=($(hub_conn_args portal) --listen "127.0.0.1:$PORTAL_PORT" --data "$HUB_DIR/portal"
               --username onestop --password-file "$HUB_DIR/secrets/onestop"
               --dvcqg-url "$DVCQG_URL" --dvcqg-username hub-h26
               --dvcqg-password-file "$HUB_DIR/secrets/dvcqg" --timeout-ms 3000)
}

adapter_ready() { portal_get "$PORTAL_URL/_portal/stats" | grep -q '"portal"'; }

peer_send_key() { echo "000.00.12.H26-CT-IN-$1"; }

# The one-stop system logs in and sends one progress step (in the background).
peer_send_start() {
    local key
    key=$(peer_send_key "$1")
    (
        session=$(portal_post "$PORTAL_URL/login" "{\"username\":\"onestop\",\"password\":\"$(cat "$HUB_DIR/secrets/onestop")\"}" \
            | sed 's/^200 //' | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')
        portal_post "$PORTAL_URL/service" "{\"session\":\"$session\",\"madonvi\":\"000.00.12.H26\",\"service\":\"CapNhatTienDoHoSoMC\",\"data\":[{\"MaHoSo\":\"$key\",\"NguoiXuLy\":\"Trần Văn H\",\"ThoiDiemXuLy\":\"20260904100000\",\"NoiDungXuLy\":\"Thẩm định hồ sơ\",\"TrangThai\":\"4\"}]}"
    ) >"$HUB_DIR/items/in-$1.txt" 2>>"$HUB_DIR/client.log" &
    SEND_PID=$!
    HUB_PIDS="$HUB_PIDS $SEND_PID"
}

peer_send_pending() { kill -0 "$SEND_PID" 2>/dev/null; }

peer_send_answered() {
    kill -0 "$SEND_PID" 2>/dev/null && return 1
    grep -q '^200 {"error_code":"0"' "$HUB_DIR/items/in-$1.txt" 2>/dev/null
}

peer_send_check() { grep -q '"accepted":1' "$HUB_DIR/items/in-$1.txt"; }

deliver_key() { echo "000.00.12.H26-CT-OUT-$1"; }

# A dossier record with Vietnamese text and a field the spec does not name.
deliver_file() {
    local file="$HUB_DIR/items/out-$1.dossier.json"
    cat >"$file" <<JSON
{"MaHoSo": "$(deliver_key "$1")", "MaTTHC": "2.000815.000.00.00.H26", "TenTTHC": "Đăng ký khai sinh",
 "KenhThucHien": "3", "ChuHoSo": "Nguyễn Thị G", "TrangThaiHoSo": "10",
 "NgayTiepNhan": "20260904093000", "NgayHenTra": "20260905170000",
 "NgayKetThucXuLy": "20260905100000", "NgayTra": "20260905150000", "HinhThuc": "1",
 "TruongRieng": {"GhiChu": "không có trong đặc tả", "So": $1}}
JSON
    echo "$file"
}

# What DVCQG holds for outbound item N: every copy, as JSON lines.
portal_copies_json() {
    portal_get "$DVCQG_URL/_sim/received" | python3 -c 'import json, sys
key = sys.argv[1]
for e in json.load(sys.stdin)["received"]:
    if e["record"].get("MaHoSo") == key:
        print(json.dumps(list(e["record"].items()), ensure_ascii=False))' "$(deliver_key "$1")"
}

peer_has() {
    local want
    want=$(python3 -c 'import json,sys; print(json.dumps(list(json.load(open(sys.argv[1])).items()), ensure_ascii=False))' \
        "$HUB_DIR/items/out-$1.dossier.json")
    portal_copies_json "$1" | grep -qxF -- "$want"
}

peer_copies() { portal_copies_json "$1" | grep -c . || true; }

# DVCQG fails every call for 5 s, then heals.
peer_fail() {
    (
        portal_get "$DVCQG_URL/_sim/fault?name=fail-rate&value=1" >/dev/null
        sleep 5
        portal_get "$DVCQG_URL/_sim/fault?name=fail-rate&value=0" >/dev/null
    ) &
    FAIL_PID=$!
    HUB_PIDS="$HUB_PIDS $FAIL_PID"
    sleep 0.5
}

peer_fail_healed() { ! kill -0 "$FAIL_PID" 2>/dev/null; }

adapter_dump() {
    local f
    for f in "$HUB_DIR/client.log" "$HUB_DIR/dvcqg.err"; do
        [ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }
    done
    return 0
}
