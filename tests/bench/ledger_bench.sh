#!/usr/bin/env bash
# Benchmark (figures, not a timed test): `lthub indicators` for a year over a
# ledger of ROWS rows (default 10 000 000), province and every agency.
# The rows are generated with SQL straight into a store lthubd created (200
# agencies, documents and dossiers spread over 2026), ledger_sum built from
# them (half-month lines, as lthubd keeps them), then the query is timed;
# last, the conversion of those rows from ledger format 3 at lthubd's start.
# usage: ledger_bench.sh BUILD_DIR [ROWS]
set -euo pipefail
BIN=$1
ROWS=${2:-10000000}
DIR=$(mktemp -d /tmp/lthub-ledger-bench-XXXXXX)
trap '[ -n "${PID:-}" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT
"$BIN/broker/lthub" keygen --dir "$DIR/keys" --broker >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$DIR/lthub.cfg" <<CFG
broker
    endpoint = "tcp://127.0.0.1:$PORT"
    data = "$DIR/data"
    keys = "$DIR/keys"
    province = "H26"
admin
    listen = ""
ledger
    agencies = "$DIR/agencies.txt"
CFG
python3 - "$DIR/agencies.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("000.00.00.H26 | | 1 | province | Tỉnh\n")
    for d in range(1, 41):
        f.write("000.00.%02d.H26 | | 2 | department | Sở %d\n" % (d, d))
        for u in range(1, 5):
            f.write("000.%02d.%02d.H26 | | 3 | unit | Đơn vị %d.%d\n" % (u, d, d, u))
PY
"$BIN/broker/lthubd" --config "$DIR/lthub.cfg" >"$DIR/lthubd.log" 2>&1 & PID=$!
for _ in $(seq 1 100); do [ -f "$DIR/data/lthub.db" ] && sqlite3 "$DIR/data/lthub.db" "SELECT 1 FROM ledger_sum LIMIT 1" >/dev/null 2>&1 && break; sleep 0.1; done
kill -TERM $PID; wait $PID 2>/dev/null || true; PID=
t0=$(date +%s.%N)
sqlite3 "$DIR/data/lthub.db" <<SQL
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
CREATE TEMP TABLE ag (i INTEGER PRIMARY KEY, code TEXT);
INSERT INTO ag (code) SELECT printf('000.%02d.%02d.H26', u, d) FROM
  (WITH RECURSIVE x(d) AS (SELECT 1 UNION ALL SELECT d + 1 FROM x WHERE d < 40) SELECT d FROM x),
  (WITH RECURSIVE y(u) AS (SELECT 0 UNION ALL SELECT u + 1 FROM y WHERE u < 4) SELECT u FROM y);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO ledger (seq, event, item, origin, doc, agency, at, day, electronic, secret, sig, signer,
                    channel, dim, attrs, detail, sha256, msgid, prev, hash, ikey)
SELECT i, CASE i % 10 WHEN 8 THEN 'dossier_received' WHEN 9 THEN 'dossier_finished'
                      ELSE CASE i % 2 WHEN 0 THEN 'doc_out' ELSE 'doc_in' END END,
       'item|' || i, 'relay', 'D' || i, (SELECT code FROM ag WHERE ag.i = 1 + n.i % 200),
       1767200000000 + (i % 365) * 86400000,
       CAST(strftime('%Y%m%d', 1767225600 + (i % 365) * 86400, 'unixepoch') AS INTEGER),
       (i % 7) != 0, (i % 53) = 0, 2 + (i % 3 = 0), '', i % 3, CASE WHEN i % 10 >= 8 THEN '1.' || (i % 300) ELSE '' END,
       0, '', '', '', '', '', i
FROM n;
INSERT INTO ledger_sum (day, agency, event, flags, dim, n)
SELECT day / 100 * 100 + CASE WHEN day % 100 >= 15 THEN 15 ELSE 1 END, agency, event, electronic | (secret << 1) | ((sig = 2) << 2) | (electronic << 4)
       | ((channel = 2) << 6) | ((channel = 1) << 7), dim, COUNT(*)
FROM ledger GROUP BY 1, 2, 3, 4, 5;
SQL
t1=$(date +%s.%N)
rows=$(sqlite3 "$DIR/data/lthub.db" "SELECT COUNT(*) FROM ledger")
sums=$(sqlite3 "$DIR/data/lthub.db" "SELECT COUNT(*) FROM ledger_sum")
echo "generated $rows ledger rows ($sums ledger_sum lines) in $(python3 -c "print(round($t1 - $t0, 1))") s"
# The scan lthubd's first append makes to fill the ledger's presence filter.
s=$(date +%s.%N)
sqlite3 "$DIR/data/lthub.db" "SELECT SUM(ikey & 1), SUM(length(more)) FROM ledger" >/dev/null
e=$(date +%s.%N)
echo "reading every ikey and more (the presence filter's scan at the first append): $(python3 -c "print(round($e - $s, 3))") s"
for agency in "" all; do
  for run in 1 2 3; do
    s=$(date +%s.%N)
    "$BIN/broker/lthub" indicators --config "$DIR/lthub.cfg" --period 2026 --agency "$agency" --format json >"$DIR/out.json"
    e=$(date +%s.%N)
    echo "lthub indicators --period 2026 --agency ${agency:-(province)}: $(python3 -c "print(round($e - $s, 3))") s"
  done
done
python3 -c "
import json; d = json.load(open('$DIR/out.json'))
print('agencies in the answer:', len(d['agencies']), '; province doc_electronic_rate', d['agencies'][0]['indicators'][0]['numerator'], '/', d['agencies'][0]['indicators'][0]['denominator'])"
# The conversion of these rows from ledger format 3 (lthubd's first start
# after an upgrade): every ikey computed again and the index built afresh.
sqlite3 "$DIR/data/lthub.db" "UPDATE ledger_meta SET value = 3 WHERE name = 'version'"
"$BIN/broker/lthubd" --config "$DIR/lthub.cfg" >"$DIR/lthubd.log" 2>&1 & PID=$!
for _ in $(seq 1 6000); do grep -q "event=ledger_convert" "$DIR/lthubd.log" && break; sleep 0.1; done
kill -TERM $PID; wait $PID 2>/dev/null || true; PID=
echo "converting $rows rows from ledger format 3 at lthubd's start: $(grep -o 'event=ledger_convert.*' "$DIR/lthubd.log")"
