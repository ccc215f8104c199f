#!/usr/bin/env python3
"""Put a ledger of format 1 into a store file, as lthubd wrote it before
format 2: rows unique on (item, origin) by a text index, hashes and digests
as hex text, ledger_sum per day, no ledger_meta and no ledger_open (the
oldest stores of that format). The chain is computed here from the
canonical form of docs/indicators.md, with no lthub code. Prints the hash
of the last row. usage: ledger_v1.py STORE"""
import hashlib
import sqlite3
import sys

COLUMNS = ("seq event item origin doc agency at day electronic secret sig signer channel dim"
           " attrs detail sha256 msgid prev").split()
ELECTRONIC, SIGNED, RELAYED = 1, 4, 16
DAY_MS = 86400000


def local_ms(y, mo, d, h, mi):
    """Unix ms of a time in Asia/Ho_Chi_Minh (UTC+7)."""
    import calendar
    return (calendar.timegm((y, mo, d, h, mi, 0)) - 7 * 3600) * 1000


db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE ledger (seq INTEGER PRIMARY KEY, event TEXT NOT NULL, item TEXT NOT NULL,
  origin TEXT NOT NULL, doc TEXT NOT NULL, agency TEXT NOT NULL, at INTEGER NOT NULL,
  day INTEGER NOT NULL, electronic INTEGER NOT NULL, secret INTEGER NOT NULL,
  sig INTEGER NOT NULL, signer TEXT NOT NULL, channel INTEGER NOT NULL, dim TEXT NOT NULL,
  attrs INTEGER NOT NULL, detail TEXT NOT NULL, sha256 TEXT NOT NULL, msgid TEXT NOT NULL,
  prev TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (item, origin));
CREATE TABLE ledger_sum (day INTEGER NOT NULL, agency TEXT NOT NULL, event TEXT NOT NULL,
  flags INTEGER NOT NULL, dim TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (day, agency, event, flags, dim)) WITHOUT ROWID;
""")
# (document, event, agency, local time): VA on the 10th, VB at 23:59 on the
# 14th (both in 2026-09 with the Nghị định 09 cut-off), VC at 00:00 on the
# 15th (2026-10). VA's receipt has no status 01/03: it waits.
events = [("VA", "doc_out", "000.00.12.H26", (2026, 9, 10, 9, 0)),
          ("VA", "doc_in", "000.00.13.H26", (2026, 9, 10, 9, 0)),
          ("VB", "doc_out", "000.00.12.H26", (2026, 9, 14, 23, 59)),
          ("VC", "doc_out", "000.00.14.H26", (2026, 9, 15, 0, 0))]
prev = "0" * 64
sums = {}
for seq, (doc, event, agency, t) in enumerate(events, 1):
    at = local_ms(*t)
    day = t[0] * 10000 + t[1] * 100 + t[2]
    direction = "out" if event == "doc_out" else "in"
    digest = hashlib.sha256(doc.encode()).hexdigest()
    row = dict(seq=seq, event=event, item="doc|%s|%s|%s" % (doc, agency, direction),
               origin="relay", doc=doc, agency=agency, at=at, day=day, electronic=1, secret=0,
               sig=2, signer="CN=V1", channel=0, dim="", attrs=0, detail="", sha256=digest,
               msgid="m%d" % seq, prev=prev)
    canon = "".join("%d:%s," % (len(str(row[c]).encode()), row[c]) for c in COLUMNS)
    row["hash"] = hashlib.sha256(canon.encode()).hexdigest()
    db.execute("INSERT INTO ledger (%s, hash) VALUES (%s)" % (", ".join(COLUMNS),
               ", ".join("?" * (len(COLUMNS) + 1))), [row[c] for c in COLUMNS] + [row["hash"]])
    key = (day, agency, event, ELECTRONIC | SIGNED | RELAYED, "")
    sums[key] = sums.get(key, 0) + 1
    prev = row["hash"]
db.executemany("INSERT INTO ledger_sum VALUES (?, ?, ?, ?, ?, ?)",
               [k + (n,) for k, n in sums.items()])
db.commit()
print(prev)
