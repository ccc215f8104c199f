#!/usr/bin/env python3
"""Print the payload of one message of a broker store, read as the store
keeps it: inline in the messages row, or in a payload segment file
(lthub.db.segments/NNNNNN.seg: at seg_off a 16-byte record header whose
first four bytes are "LTR1", then seg_len bytes).

usage: store_payload.py DB WHERE [PARAM...]   e.g. "kind = 5 AND bkey LIKE ?" "%/2026-Q3/1"
Exit 1 when no row matches or the record is not where the row says."""
import os
import sqlite3
import struct
import sys

db_path, where, params = sys.argv[1], sys.argv[2], sys.argv[3:]
db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
row = db.execute("SELECT payload, seg, seg_off, seg_len FROM messages WHERE %s"
                 " ORDER BY id DESC LIMIT 1" % where, params).fetchone()
if row is None:
    sys.exit("store_payload: no message where %s" % where)
payload, seg, off, size = row
if seg is None:
    data = payload if isinstance(payload, bytes) else (payload or "").encode()
else:
    path = os.path.join(db_path + ".segments", "%06d.seg" % seg)
    with open(path, "rb") as f:
        f.seek(off)
        head = f.read(16)
        data = f.read(size)
    if len(head) < 16 or head[:4] != struct.pack("<I", 0x3152544C) or len(data) != size:
        sys.exit("store_payload: no record at %s offset %d" % (path, off))
sys.stdout.buffer.write(data)
