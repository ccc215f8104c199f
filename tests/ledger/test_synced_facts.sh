#!/usr/bin/env bash
# dossier_synced facts naming several dossiers (one fact per DVCQG call,
# schemas/ltp.md) through a real lthubd: the ledger records one
# dossier_synced event per dossier, with the item a one-dossier fact gives;
# an identical resend is a duplicate (same msgid, nothing recorded); a
# different list naming some of the same dossiers, and a one-dossier fact
# of the first shape for one of them, count nothing twice; the indicator
# dossier_synced_rate counts each dossier once; malformed lists (not an
# array, a bad entry, a repeat, a revision that does not name the content,
# too many entries) are refused with a reason naming what is wrong, and
# kept as rejects.
# usage: test_synced_facts.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/lib/hub.sh"
hub_init
hub_keys pub sink
sed -i 's/^    heartbeat = .*/&\n    province = "H26"/' "$HUB_DIR/lthub.cfg"
hub_config <<CFG
ledger
    indicators = "$HUB_DIR/indicators.ind"
routes
    route
        kind = "dossier,progress"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
cp "$SRC/schemas/indicators/default.ind" "$HUB_DIR/indicators.ind"
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" 2>>"$HUB_DIR/sink.log"

# KIND KEY BTYPE REVISION SENDER RECIPIENTS ATTRS PAYLOAD (tab-separated, - = empty);
# a list fact's key is its first MaHoSo, its revision COUNT-SHA256(payload).
python3 - > "$HUB_DIR/traffic.tsv" <<'PY'
import datetime as d, hashlib, json
T = "\t"
AG = "000.00.12.H26"
now = (d.datetime.now(d.timezone.utc) + d.timedelta(hours=7)).strftime("%Y%m%d%H%M%S")
def dossier(k):
    rec = {"MaHoSo": k, "MaTTHC": "1.001", "KenhThucHien": "2", "NgayTiepNhan": now,
           "NgayHenTra": now, "TrangThaiHoSo": 2, "DonViXuLy": AG}
    return T.join(["dossier", k, "new", "1", AG, "-", "-", json.dumps(rec, separators=(",", ":"))])
def listfact(entries, payload=None, key=None, rev=None):
    text = payload or json.dumps({"dossiers": [{"MaHoSo": k, "revision": r} for k, r in entries]},
                                 separators=(",", ":"))
    n = len(entries)
    rev = rev or "%d-%s" % (n, hashlib.sha256(text.encode()).hexdigest())
    return T.join(["fact", key or entries[0][0], "dossier_synced", rev, AG, "-", "-", text])
for k in ("H1", "H2", "H3", "H4", "H5"):
    print(dossier(k))
A = [("H1", "1"), ("H2", "1"), ("H3", "1")]
print(listfact(A))                                   # 6: three dossiers
print(listfact(A))                                   # 7: the same again: a duplicate
print(listfact([("H3", "1"), ("H4", "1")]))          # 8: H3 again, H4 new
print(T.join(["fact", "H1", "dossier_synced", "1", AG, "-", "-",
              '{"MaHoSo":"H1","revision":"1"}']))    # 9: first shape, H1 again
# Malformed: refused.
print(listfact([("X1", "1")], payload='{"dossiers":"X1"}'))
print(listfact([("X1", "1"), ("X2", "1")],
               payload='{"dossiers":[{"MaHoSo":"X1","revision":"1"},{"MaHoSo":["X2"],"revision":"1"}]}'))
print(listfact([("X1", "1"), ("X2", "1"), ("X1", "1")]))
print(listfact([("X1", "1"), ("X2", "1")], rev="2-0000"))
print(listfact([("X%d" % i, "1") for i in range(1001)]))
print(T.join(["fact", "X1", "dossier_synced", "1", AG, "-", "-", "not json"]))
PY
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --record "$HUB_DIR/pub.rec" \
  --script "$HUB_DIR/traffic.tsv" 2>>"$HUB_DIR/pub.log"
[ "$(wc -l < "$HUB_DIR/pub.rec")" = "$(wc -l < "$HUB_DIR/traffic.tsv")" ] \
  || hub_fail "not every line answered: $(cat "$HUB_DIR/pub.rec")"
rec() { sed -n "$1p" "$HUB_DIR/pub.rec"; }
for n in 1 2 3 4 5 6 7 8 9; do
  rec $n | grep -q rejected && hub_fail "line $n rejected: $(rec $n)"
done
[ "$(rec 6 | cut -d' ' -f2)" = "$(rec 7 | cut -d' ' -f2)" ] \
  || hub_fail "an identical resend of a list fact is not the same message: $(rec 6) / $(rec 7)"
[ "$(rec 6 | cut -d' ' -f2)" != "$(rec 8 | cut -d' ' -f2)" ] \
  || hub_fail "a different list with the same first dossier was taken for a duplicate"
echo "ok - list facts accepted; an identical resend is a duplicate, another list is not"
expect_refused() {   # LINE WORDS
  rec "$1" | grep -q "^$1 rejected " || hub_fail "line $1 not refused: $(rec "$1")"
  rec "$1" | grep -qF "$2" || hub_fail "line $1 refused without naming '$2': $(rec "$1")"
}
expect_refused 10 '"dossiers" must be an array'
expect_refused 11 'dossiers[1].MaHoSo must be a string'
expect_refused 12 'dossiers[2] repeats dossiers[0]'
expect_refused 13 "rev '2-0000' is not"
expect_refused 14 'it has 1001'
expect_refused 15 'payload is not a JSON object'
rejects=$("$BIN/broker/lthub" rejects --admin "$HUB_ADMIN" --json)
python3 - "$rejects" <<'PY' || hub_fail "the refused facts are not kept as rejects: $rejects"
import json, sys
d = json.loads(sys.argv[1])
rows = d["rejects"] if isinstance(d, dict) else d
assert sum(1 for r in rows if "dossier_synced fact" in json.dumps(r)) == 6, rows
PY
echo "ok - malformed list facts refused naming what is wrong, kept as rejects"

# The ledger: one dossier_synced row per dossier, whatever the facts.
DB="$HUB_DIR/data/lthub.db"
rows=$(sqlite3 "$DB" "SELECT item FROM ledger WHERE event = 'dossier_synced' ORDER BY item")
[ "$rows" = "$(printf 'dossier_synced|H%d|1\n' 1 2 3 4)" ] \
  || hub_fail "ledger dossier_synced rows: $rows"
echo "ok - the ledger holds one dossier_synced row per dossier (H1..H4)"
CUR=$(python3 -c '
import datetime as d
t = d.datetime.now(d.timezone.utc) + d.timedelta(hours=7)
y, m = t.year, t.month + (1 if t.day >= 15 else 0)
if m == 13: y, m = y + 1, 1
print("%d-Q%d" % (y, (m + 2) // 3))')
"$BIN/broker/lthub" indicators --config "$HUB_DIR/lthub.cfg" --period "$CUR" --format json \
  > "$HUB_DIR/ind.json" || hub_fail "lthub indicators"
python3 - "$HUB_DIR/ind.json" <<'PY' || hub_fail "dossier_synced_rate: $(cat "$HUB_DIR/ind.json")"
import json, sys
ind = {i["code"]: i for i in json.load(open(sys.argv[1]))["indicators"]}["dossier_synced_rate"]
assert (ind["numerator"], ind["denominator"]) == (4, 5), ind
PY
echo "ok - dossier_synced_rate 4 of 5"
"$BIN/broker/lthub" ledger verify --config "$HUB_DIR/lthub.cfg" >/dev/null || hub_fail "ledger does not verify"
hub_stop
echo "PASS: list facts count each dossier once; malformed ones are refused"
