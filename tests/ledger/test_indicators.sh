#!/usr/bin/env bash
# Counting end to end: seeded traffic whose counts are known in advance goes
# through a real lthubd (documents, statuses, register lines, dossiers,
# facts from a test connector); every default indicator is asserted exactly
# per agency and for the province in several periods (documents in the
# current period, dossiers dated either side of the 14th/15th boundary);
# resends and relayed+registered documents count once; documents marked
# secret, registered secret or of a type ledger/secret_types names are
# excluded and listed as such; the evidence bundle
# of every default indicator re-derives to the same numbers (rederive.py,
# no lthub code); the chain verifies, and editing, deleting or swapping a
# ledger row with the sqlite3 CLI makes `lthub ledger verify` fail naming
# the row.
# usage: test_indicators.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/lib/hub.sh"
hub_init
hub_keys pub sink
sed -i 's/^    heartbeat = .*/&\n    province = "H26"/' "$HUB_DIR/lthub.cfg"
cat > "$HUB_DIR/agencies.txt" <<'DIR'
# test directory
000.00.00.H26 | | 1 | province   | Tỉnh thử nghiệm
000.00.12.H26 | | 2 | department | Sở Thông tin và Truyền thông
000.00.13.H26 | | 2 | department | Sở Nội vụ
000.00.14.H26 | | 2 | department | Sở Tài chính
000.00.31.H26 | | 2 | district   | Huyện Đông Sơn
000.03.31.H26 | | 3 | commune    | Xã Đông Hòa
DIR
hub_config <<CFG
ledger
    indicators = "$HUB_DIR/indicators.ind"
    agencies = "$HUB_DIR/agencies.txt"
    reports = "PAR-7.1:quarter"
    secret_types = "Tối mật, Mật"
routes
    route
        kind = "document,status,dossier,progress,report"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
# One label with a comma and a quote, as a province may write them: the CSV
# form must keep it one field.
sed '0,/label       = 7.1.1/s//label       = "7.1.1, \\"a\\""/' \
  "$SRC/schemas/indicators/default.ind" > "$HUB_DIR/indicators.ind"
"$BIN/broker/lthubd" --check-config "$HUB_DIR/lthub.cfg" || hub_fail "check-config"
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" 2>>"$HUB_DIR/sink.log"

T=$'\t'
# KIND KEY BTYPE REVISION SENDER RECIPIENTS ATTRS PAYLOAD (tab-separated, - = empty)
dossier() {   # MaHoSo MaTTHC channel received due done state back how files agency
  local files=""
  case "${10}" in
    2/2) files='"TaiLieuNop":[{"DuocSoHoa":1},{"DuocSoHoa":"1"}],' ;;
    1/2) files='"TaiLieuNop":[{"DuocSoHoa":1},{"DuocSoHoa":0}],' ;;
  esac
  printf 'dossier\t%s\t-\t%s\t%s\t-\t-\t{"MaHoSo":"%s","MaTTHC":"%s","KenhThucHien":"%s","NgayTiepNhan":"%s","NgayHenTra":"%s","NgayKetThucXuLy":"%s","TrangThaiHoSo":%s,"NgayTra":"%s","HinhThuc":%s,%s"DonViXuLy":"%s"}\n' \
    "$1" "$7" "${11}" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "$files" "${11}"
}
{
  # Documents (hub time: the current period).
  echo "document${T}D1${T}new${T}-${T}000.00.12.H26${T}000.00.13.H26${T}sig=valid,signer=CN=A${T}-"
  echo "document${T}D1${T}new${T}-${T}000.00.12.H26${T}000.00.13.H26${T}sig=valid,signer=CN=A${T}-"
  echo "document${T}D1${T}update${T}-${T}000.00.12.H26${T}000.00.13.H26${T}sig=valid,signer=CN=A${T}-"
  echo "document${T}D2${T}new${T}-${T}000.00.12.H26${T}000.03.31.H26,000.00.00.G22${T}sig=unsigned${T}-"
  echo "document${T}D3${T}new${T}-${T}000.00.00.G22${T}000.00.31.H26${T}sig=valid${T}-"
  echo "document${T}D4${T}new${T}-${T}000.00.13.H26${T}000.00.12.H26${T}secret,sig=valid${T}-"
  # Secret by its type (ledger/secret_types), not by its envelope.
  echo "document${T}D5${T}new${T}-${T}000.00.12.H26${T}000.00.13.H26${T}sig=valid,dtype=Mật${T}-"
  echo "status${T}D1${T}01${T}-${T}000.00.13.H26${T}000.00.12.H26${T}-${T}-"
  echo "register${T}D1${T}in${T}000.00.13.H26|in${T}000.00.13.H26${T}-${T}paper${T}{\"line\":1}"
  echo "register${T}P1${T}out${T}000.00.31.H26|out${T}000.00.31.H26${T}-${T}paper${T}{\"line\":2}"
  echo "register${T}P1${T}out${T}000.00.31.H26|out${T}000.00.31.H26${T}-${T}paper${T}{\"line\":2}"
  echo "register${T}E1${T}in${T}000.00.31.H26|in${T}000.00.31.H26${T}-${T}-${T}{\"line\":3}"
  echo "register${T}S1${T}out${T}000.00.12.H26|out${T}000.00.12.H26${T}-${T}paper,secret${T}{\"line\":4}"
  # A DocumentId a spreadsheet would run as a formula (secret: counted nowhere).
  echo "register${T}=HYPERLINK(\"http://x/\",\"y\")${T}out${T}000.00.12.H26|out${T}000.00.12.H26${T}-${T}paper,secret${T}{\"line\":5}"
  # Dossiers (record dates): H1 on the 14th at 23:59 (Q3), H2 on the 15th at 00:00 (Q4).
  dossier H1 1.001 2 20260914235900 20260920170000 "" 2 "" 0 2/2 000.00.12.H26
  dossier H1 1.001 2 20260914235900 20260920170000 "" 2 "" 0 2/2 000.00.12.H26
  dossier H2 1.002 3 20260915000000 20260925170000 "" 2 "" 0 1/2 000.00.12.H26
  dossier H3 1.002 1 20260701080000 20260715170000 "" 2 "" 0 0 000.03.31.H26
  dossier H3 1.002 1 20260701080000 20260715170000 20260710090000 10 20260711100000 1 0 000.03.31.H26
  dossier H4 1.003 2 20261001080000 20261015170000 20261020090000 9 "" 0 0 000.00.31.H26
  echo "fact${T}H1${T}dossier_synced${T}1${T}000.00.12.H26${T}-${T}-${T}{\"MaHoSo\":\"H1\",\"revision\":\"1\"}"
  echo "fact${T}H3${T}dossier_synced${T}1${T}000.03.31.H26${T}-${T}-${T}{\"MaHoSo\":\"H3\",\"revision\":\"1\"}"
  echo "fact${T}H3${T}dossier_synced${T}2${T}000.03.31.H26${T}-${T}-${T}{\"MaHoSo\":\"H3\",\"revision\":\"2\"}"
  echo "fact${T}H4${T}dossier_synced${T}1${T}000.00.31.H26${T}-${T}-${T}{\"MaHoSo\":\"H4\",\"revision\":\"1\"}"
  echo "fact${T}PAR-7.1/000.00.00.H26/2026-Q4/1${T}report_accepted${T}-${T}000.00.00.H26${T}-${T}-${T}{\"id\":\"r1\",\"reportCode\":\"PAR-7.1\",\"organId\":\"000.00.00.H26\"}"
} > "$HUB_DIR/traffic.tsv"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --record "$HUB_DIR/pub.rec" \
  --script "$HUB_DIR/traffic.tsv" 2>>"$HUB_DIR/pub.log"
grep -q rejected "$HUB_DIR/pub.rec" && hub_fail "rejected: $(grep rejected "$HUB_DIR/pub.rec")"
[ "$(wc -l < "$HUB_DIR/pub.rec")" = "$(wc -l < "$HUB_DIR/traffic.tsv")" ] || hub_fail "not all accepted: $(cat "$HUB_DIR/pub.rec")"
echo "published $(wc -l < "$HUB_DIR/traffic.tsv") messages"

CUR=$(python3 -c '
import datetime as d
t = d.datetime.now(d.timezone.utc) + d.timedelta(hours=7)
y, m = t.year, t.month + (1 if t.day >= 15 else 0)
if m == 13: y, m = y + 1, 1
print("%d-Q%d" % (y, (m + 2) // 3))')
echo "current period $CUR"
LT="$BIN/broker/lthub"
for p in "$CUR" 2026-Q3 2026-Q4 2025-Q3; do
  for a in "" 000.00.12.H26 000.00.13.H26 000.00.14.H26 000.00.31.H26 000.03.31.H26; do
    "$LT" indicators --config "$HUB_DIR/lthub.cfg" --period "$p" --agency "$a" --format json \
      > "$HUB_DIR/ind-$p-${a:-province}.json" || hub_fail "lthub indicators $p $a"
  done
done
"$LT" indicators --config "$HUB_DIR/lthub.cfg" --period "$CUR" | head -8
# The CSV form reads back as CSV (names with commas or quotes stay one
# field) and says what the JSON says.
"$LT" indicators --config "$HUB_DIR/lthub.cfg" --period "$CUR" --format csv \
  > "$HUB_DIR/ind.csv" || hub_fail "lthub indicators --format csv"
python3 - "$HUB_DIR/ind.csv" "$HUB_DIR/ind-$CUR-province.json" <<'PYCSV' || hub_fail "the CSV form does not read back"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")))
want = {i["code"]: i for i in json.load(open(sys.argv[2]))["indicators"]}
assert len(rows) == len(want), (len(rows), len(want))
for r in rows:
    assert None not in r and len(r) == 11, r
    j = want[r["code"]]
    assert r["name"] == j["name"] and r["label"] == j["label"], (r, j)
    assert int(r["numerator"]) == j["numerator"] and int(r["denominator"]) == j["denominator"], r
PYCSV
# The API gives the same figures.
curl -sf "http://$HUB_ADMIN/api/v1/indicators?period=$CUR&agency=000.00.31.H26" > "$HUB_DIR/api.json" \
  || hub_fail "GET /api/v1/indicators"

python3 - "$HUB_DIR" "$CUR" <<'PY'
import json, sys
d, cur = sys.argv[1], sys.argv[2]
def load(p, a):
    return {i["code"]: i for i in json.load(open("%s/ind-%s-%s.json" % (d, p, a or "province")))["indicators"]}
N = None  # no data
# (numerator, denominator) expected; None = no data (denominator 0).
docs = {
  "":              {"doc_electronic_rate": (6, 7), "doc_signed_rate": (1, 2), "doc_connected_agencies_rate": (4, 6), "doc_receipt_same_day_rate": (1, 3)},
  "000.00.12.H26": {"doc_electronic_rate": (2, 2), "doc_signed_rate": (1, 2), "doc_connected_agencies_rate": (1, 1), "doc_receipt_same_day_rate": N},
  "000.00.13.H26": {"doc_electronic_rate": (1, 1), "doc_signed_rate": N, "doc_connected_agencies_rate": (1, 1), "doc_receipt_same_day_rate": (1, 1)},
  "000.00.14.H26": {"doc_electronic_rate": N, "doc_signed_rate": N, "doc_connected_agencies_rate": (0, 1), "doc_receipt_same_day_rate": N},
  "000.00.31.H26": {"doc_electronic_rate": (3, 4), "doc_signed_rate": N, "doc_connected_agencies_rate": (2, 2), "doc_receipt_same_day_rate": (0, 2)},
  "000.03.31.H26": {"doc_electronic_rate": (1, 1), "doc_signed_rate": N, "doc_connected_agencies_rate": (1, 1), "doc_receipt_same_day_rate": (0, 1)},
}
dossier_q3 = {
  "": {"dossier_synced_rate": (2, 2), "dossier_online_rate": (1, 2), "procedure_online_rate": (1, 2), "dossier_ontime_rate": (1, 1),
       "dossier_bcci_received_rate": (0, 2), "dossier_bcci_returned_rate": (1, 1), "procedure_bcci_rate": (0, 2), "dossier_digitised_rate": (1, 2)},
  "000.00.12.H26": {"dossier_synced_rate": (1, 1), "dossier_online_rate": (1, 1), "dossier_ontime_rate": N, "dossier_digitised_rate": (1, 1)},
  "000.00.31.H26": {"dossier_synced_rate": (1, 1), "dossier_online_rate": (0, 1), "procedure_online_rate": (0, 1), "dossier_ontime_rate": (1, 1),
                    "dossier_bcci_returned_rate": (1, 1), "dossier_digitised_rate": (0, 1)},
  "000.00.14.H26": {"dossier_synced_rate": N, "dossier_online_rate": N, "procedure_online_rate": N},
}
dossier_q4 = {
  "": {"dossier_synced_rate": (1, 2), "dossier_online_rate": (1, 2), "procedure_online_rate": (1, 2), "dossier_ontime_rate": (0, 1),
       "dossier_bcci_received_rate": (1, 2), "dossier_bcci_returned_rate": N, "procedure_bcci_rate": (1, 2), "dossier_digitised_rate": (0, 2)},
  "000.00.12.H26": {"dossier_synced_rate": (0, 1), "dossier_bcci_received_rate": (1, 1), "procedure_bcci_rate": (1, 1), "dossier_digitised_rate": (0, 1)},
  "000.00.31.H26": {"dossier_synced_rate": (1, 1), "dossier_online_rate": (1, 1), "dossier_ontime_rate": (0, 1)},
  "000.03.31.H26": {"dossier_synced_rate": N, "dossier_ontime_rate": N},
}
checks = [(cur, docs), ("2026-Q3", dossier_q3), ("2026-Q4", dossier_q4),
          ("2025-Q3", {"": dict({k: N for k in docs[""]}, doc_connected_agencies_rate=(0, 6))}),
          (cur, {"": {"report_connected_rate": (1, 1)}})]
if cur != "2026-Q3":
    checks.append(("2026-Q3", {"": {"report_connected_rate": (0, 1)}}))
bad = 0; n = 0
for period, table in checks:
    for agency, want in table.items():
        got = load(period, agency)
        for code, exp in want.items():
            n += 1
            g = got[code]
            have = None if g["value"] is None else (g["numerator"], g["denominator"])
            if g["value"] is None and (g["denominator"] != 0 or g["status"] != "no_data"):
                have = "bad no-data"
            if have != exp:
                bad += 1
                print("MISMATCH %s %s %s: got %s (%s), expected %s" % (period, agency or "province", code, have, g["status"], exp))
api = {i["code"]: i for i in json.load(open(d + "/api.json"))["indicators"]}
cli = load(cur, "000.00.31.H26")
for code in cli:
    if (api[code]["numerator"], api[code]["denominator"]) != (cli[code]["numerator"], cli[code]["denominator"]):
        bad += 1; print("MISMATCH API vs CLI for", code)
e = load(cur, "")["doc_electronic_rate"]
if abs(e["value"] - 85.71) > 0.001 or e["status"] != "below" or abs(e["points"] - 0.86) > 0.001:
    bad += 1; print("MISMATCH value/points of doc_electronic_rate:", e)
if bad:
    sys.exit(1)
print("PASS: %d indicator figures as expected (per agency, province, 4 periods); API agrees" % n)
PY

# Evidence: every default indicator, province and one district, re-derived.
bundles=""
for p in "$CUR" 2026-Q3 2026-Q4; do
  for code in $(awk '/^indicator / {print $2}' "$SRC/schemas/indicators/default.ind"); do
    for a in "" 000.00.31.H26; do
      out="$HUB_DIR/evidence/$p-$code-${a:-province}"
      "$LT" evidence --config "$HUB_DIR/lthub.cfg" --indicator "$code" --period "$p" --agency "$a" \
        --out "$out" >/dev/null || hub_fail "lthub evidence $code $p $a"
      bundles="$bundles $out"
    done
  done
done
# shellcheck disable=SC2086
python3 "$SRC/tests/ledger/rederive.py" $bundles > "$HUB_DIR/rederive.txt" || { cat "$HUB_DIR/rederive.txt"; hub_fail "evidence does not re-derive"; }
echo "PASS: $(grep -c '^OK' "$HUB_DIR/rederive.txt") evidence bundles re-derive to the same numbers"
ev="$HUB_DIR/evidence/$CUR-doc_electronic_rate-province/items.csv"
grep -q '^excluded,secret,doc|D4|000.00.13.H26|out' "$ev" || hub_fail "the secret document is not listed as excluded: $(cat "$ev")"
grep -q '^excluded,secret,doc|S1|000.00.12.H26|out' "$ev" || hub_fail "the secret register line is not listed as excluded"
for k in 'doc|D5|000.00.12.H26|out' 'doc|D5|000.00.13.H26|in'; do
  grep -q "^excluded,secret,$k," "$ev" || hub_fail "the document of a secret type is not listed as excluded ($k)"
done
grep -q 'doc|D1|000.00.13.H26|in,doc_in,D1,000.00.13.H26,in,relay+register,electronic' "$ev" \
  || hub_fail "D1 relayed and registered is not one electronic item"
[ "$(grep -c '|D1|' "$ev")" = 2 ] || hub_fail "D1 counted more than once per (agency, direction)"
grep -q 'doc|E1|000.00.31.H26|in,doc_in,E1,000.00.31.H26,in,register,electronic,0,,,,,,electronic declared' "$ev" \
  || hub_fail "E1 is not marked declared"
echo "PASS: secret items (marked, registered, of a secret type) listed as excluded, relayed+registered one item, declared marked"
# No field of items.csv begins as a spreadsheet formula; the guard (one
# leading ') is dropped to get the value back, as rederive.py does.
python3 - "$ev" <<'PY2' || hub_fail "items.csv holds a field a spreadsheet would run as a formula"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8", newline="")))
bad = [f for r in rows for f in r if f[:1] in ("=", "+", "-", "@", "\t", "\r")]
assert not bad, bad
docs = [r[4][1:] if r[4].startswith("'") else r[4] for r in rows[1:]]
assert '=HYPERLINK("http://x/","y")' in docs, docs
PY2
echo "PASS: a DocumentId written as a formula is exported as text (guarded) and re-derives"

# Reports: lthubd submitted the last completed quarter by itself; submitting
# it again is a duplicate (same idempotency key); another period is new.
CUR_PREV=$(python3 -c "y, q = map(int, '$CUR'.split('-Q')); y, q = (y - 1, 4) if q == 1 else (y, q - 1); print('%d-Q%d' % (y, q))")
hub_wait 20 "grep -q 'PAR-7.1/000.00.00.H26/$CUR_PREV/1' '$HUB_DIR/sink.rec'" \
  || hub_fail "no periodic report for $CUR_PREV: $(grep -i report "$HUB_DIR/lthubd.log" | tail -3)"
out=$("$LT" report submit --period "$CUR_PREV" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token") \
  || hub_fail "report submit $CUR_PREV"
grep -q "already submitted" <<<"$out" || hub_fail "resubmitting $CUR_PREV was not a duplicate: $out"
out=$("$LT" report submit --period "$CUR" --admin "$HUB_ADMIN" --token-file "$HUB_DIR/admin.token") \
  || hub_fail "report submit $CUR"
grep -q " submitted" <<<"$out" || hub_fail "report for $CUR: $out"
hub_wait 20 "grep -q 'PAR-7.1/000.00.00.H26/$CUR/1' '$HUB_DIR/sink.rec'" || hub_fail "report $CUR not delivered"
[ "$(grep -c "PAR-7.1/000.00.00.H26/$CUR_PREV/1" "$HUB_DIR/sink.rec")" = 1 ] || hub_fail "report $CUR_PREV delivered twice"
rc=0; "$LT" report submit --period "$CUR" --admin "$HUB_ADMIN" >/dev/null 2>"$HUB_DIR/notoken.txt" || rc=$?
[ $rc = 1 ] && grep -q -- "--token-file" "$HUB_DIR/notoken.txt" \
  || hub_fail "report submit without the token: exit $rc, $(cat "$HUB_DIR/notoken.txt")"
# The documented exit codes: 1 failed (unreadable config, lthubd unreachable),
# 2 wrong arguments (a period that does not exist among them).
rc=0; "$LT" indicators --config "$HUB_DIR/no-such.cfg" >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || hub_fail "indicators with a missing config: exit $rc (want 1)"
rc=0; "$LT" indicators --config "$HUB_DIR/lthub.cfg" --period 2026-Q7 >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || hub_fail "indicators of period 2026-Q7: exit $rc (want 2)"
rc=0; "$LT" report submit --period "$CUR" --admin 127.0.0.1:1 >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || hub_fail "report submit to no lthubd: exit $rc (want 1)"
python3 "$SRC/tests/lib/store_payload.py" "$HUB_DIR/data/lthub.db" "kind = 5 AND bkey LIKE ?" "%/$CUR/1" > "$HUB_DIR/report.json" \
  || hub_fail "report payload of $CUR not in the store"
python3 - "$HUB_DIR/report.json" "$CUR" <<'PY' || hub_fail "report shape"
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("reportCode", "organId", "period", "generatedAt", "idempotencyKey", "indicators", "evidence"):
    assert k in r, k
assert r["reportCode"] == "PAR-7.1" and r["organId"] == "000.00.00.H26"
assert r["period"]["kind"] == "quarter" and r["period"]["to"].endswith("-14"), r["period"]
ind = {i["code"]: i for i in r["indicators"]}
assert (ind["doc_electronic_rate"]["numerator"], ind["doc_electronic_rate"]["denominator"]) == (6, 7)
assert ind["doc_electronic_rate"]["unit"] == "%" and ind["doc_electronic_rate"]["target"] == 100
print("report", r["idempotencyKey"], "with", len(ind), "indicators")
PY
echo "PASS: periodic report for $CUR_PREV, resubmission deduplicated, on-demand report for $CUR (spec/peers.md C shape)"

# Definitions are data: a bad file is refused with its line (check-config)
# and on SIGHUP keeps the definitions in use; a good edit is taken.
target() { curl -sf "http://$HUB_ADMIN/api/v1/indicators?period=$CUR" | python3 -c \
  "import json,sys; print([i['target'] for i in json.load(sys.stdin)['indicators'] if i['code']=='doc_electronic_rate'][0])"; }
cp "$HUB_DIR/indicators.ind" "$HUB_DIR/good.ind"
printf 'indicator broken_one\n    name = X\n    count = things\n' >> "$HUB_DIR/indicators.ind"
rc=0; out=$("$BIN/broker/lthubd" --check-config "$HUB_DIR/lthub.cfg") || rc=$?
[ $rc = 1 ] && grep -q "indicators.ind:$(wc -l < "$HUB_DIR/indicators.ind"): count must be" <<<"$out" \
  || hub_fail "bad definitions not refused with file:line: $out"
kill -HUP "$HUB_PID"
hub_wait 10 "grep -q 'what=indicators' '$HUB_DIR/lthubd.log'" || hub_fail "no reload logged"
[ "$(target)" = 100.0 ] || hub_fail "a bad file replaced the definitions"
sed 's/^    target      = 100$/    target      = 90/' "$HUB_DIR/good.ind" > "$HUB_DIR/indicators.ind"
kill -HUP "$HUB_PID"
hub_wait 10 '[ "$(target)" = 90.0 ]' || hub_fail "the edited definitions were not reloaded ($(target))"
echo "PASS: bad definitions refused (FILE:LINE) and kept out on SIGHUP; edited ones reloaded"

# The chain verifies; an edited, a deleted and a swapped row are named.
DB="$HUB_DIR/data/lthub.db"
"$LT" ledger verify --config "$HUB_DIR/lthub.cfg" || hub_fail "ledger does not verify"
hub_stop
cp "$DB" "$HUB_DIR/pristine.db"
rc=0; sqlite3 "$DB" "UPDATE ledger SET secret = 1 - secret WHERE seq = 5" || hub_fail "sqlite3"
out=$("$LT" ledger verify --store "$DB") || rc=$?
[ $rc = 1 ] && grep -q "row 5 " <<<"$out" || hub_fail "edited row 5: rc=$rc $out"
echo "edited:  $out"
cp "$HUB_DIR/pristine.db" "$DB"; rc=0
sqlite3 "$DB" "DELETE FROM ledger WHERE seq = 7" || hub_fail "sqlite3"
out=$("$LT" ledger verify --store "$DB") || rc=$?
[ $rc = 1 ] && grep -q "row 7 is missing" <<<"$out" || hub_fail "deleted row 7: rc=$rc $out"
echo "deleted: $out"
cp "$HUB_DIR/pristine.db" "$DB"; rc=0
sqlite3 "$DB" "UPDATE ledger SET seq = -3 WHERE seq = 3; UPDATE ledger SET seq = 3 WHERE seq = 4;
               UPDATE ledger SET seq = 4 WHERE seq = -3;" || hub_fail "sqlite3"
out=$("$LT" ledger verify --store "$DB") || rc=$?
[ $rc = 1 ] && grep -q "row 3 " <<<"$out" || hub_fail "swapped rows 3 and 4: rc=$rc $out"
echo "swapped: $out"
rc=0; "$LT" ledger verify --store "$HUB_DIR/missing.db" 2>/dev/null || rc=$?
[ $rc = 2 ] || hub_fail "unreadable store gave exit $rc"
echo "PASS: ledger verify names the edited, deleted and swapped row (exit 1), cannot read = exit 2"
