#!/usr/bin/env bash
# Upgrade: the files a hub of an earlier release left on disk (its store,
# lthub-dms's mailbox, its config and systems file; made by
# tests/upgrade/make-fixture.sh, see there for the state) start under this
# release. The store and the mailbox are migrated on first start (and a
# counting ledger of format 1 put into the store, converted; a release
# that kept a ledger of format 2 or 3 has it converted to format 4); what was
# queued is delivered once, in lane order; what was in the mailbox is still
# listed and fetched; resending a stored document or the register stores
# nothing new; the release's example config passes --check-config.
# usage: test_upgrade.sh BUILD_DIR SOURCE_DIR [RELEASE]
set -euo pipefail
BIN=$1
SRC=$2
RELEASE=${3:-0.1.0}
. "$SRC/tests/dms/dms_lib.sh"
FX="$SRC/tests/data/upgrade/$RELEASE"
[ -f "$FX/data/lthub.db" ] || hub_fail "no fixture for release $RELEASE in $FX"
ok() { echo "ok - $*"; }

"$BIN/broker/lthubd" --check-config "$FX/lthub.cfg.example" >/dev/null \
    || hub_fail "the $RELEASE example config does not pass --check-config"
ok "the $RELEASE example config passes --check-config"

# A new hub directory around the old files: new keys and secrets (neither
# is in the store), the old config with this machine's ports.
hub_init
hub_keys dms axis pub
dms_systems
mkdir -p "$HUB_DIR/data" "$HUB_DIR/dms"
cp "$FX/data/lthub.db" "$HUB_DIR/data/"
if [ -d "$FX/data/lthub.db.segments" ]; then   # payloads kept in segment files
    cp -r "$FX/data/lthub.db.segments" "$HUB_DIR/data/"
fi
# A release without a ledger gets a ledger of format 1 in its store
# (tests/upgrade/ledger_v1.py), converted to the current format at the
# first start; a release that kept one (0.2.0: format 1, 0.3.0: format 2,
# 0.4.0: format 3) has its own, written by that release.
HAD_LEDGER=$(sqlite3 "file:$FX/data/lthub.db?mode=ro" \
    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ledger'")
OLD_SCHEMA=$(sqlite3 "file:$FX/data/lthub.db?mode=ro" "PRAGMA user_version")
if [ "$HAD_LEDGER" = 0 ]; then
    V1_HEAD=$(python3 "$SRC/tests/upgrade/ledger_v1.py" "$HUB_DIR/data/lthub.db") \
        || hub_fail "cannot write the format 1 ledger"
fi
cp "$FX"/dms/*.db "$HUB_DIR/dms/"
cp "$FX/systems.cfg" "$HUB_DIR/systems.cfg"
sed -e "s|@DIR@|$HUB_DIR|g" -e "s|@ENDPOINT@|$HUB_ENDPOINT|" -e "s|@ADMIN@|$HUB_ADMIN|" \
    "$FX/lthub.cfg" > "$HUB_DIR/lthub.cfg"
hub_start
DMS_PORT=$(hub_free_port)
DMS_URL="http://127.0.0.1:$DMS_PORT"
DMS_OPTS=()
dms_start
ok "lthubd and lthub-dms started on the $RELEASE store and mailbox"

# The store's schema was migrated to this release's, and the log says so;
# documents and dossiers are found by their key in the dedup key's index,
# without indexes of their own (migration 7); lanes are kept in memory, the
# lane index is gone and the partial indexes of the unfinished states carry
# the destination and lane they are built from (migration 8); message ids
# name their rows, and only the ids stored before keep an index, bounded by
# their last row (migration 9).
if [ "$OLD_SCHEMA" -lt 9 ]; then
    grep -q "event=store_migrate .*to=9 " "$HUB_DIR/lthubd.log" \
        || hub_fail "no store_migrate line to version 9 in lthubd's log"
fi
[ "$(sqlite3 "$HUB_DIR/data/lthub.db" "PRAGMA user_version")" = 9 ] \
    || hub_fail "the store's schema version is not 9"
[ "$(sqlite3 "$HUB_DIR/data/lthub.db" "SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages_msgid'")" = 0 ] \
    || hub_fail "the index of message ids was not dropped"
LAST_OLD=$(sqlite3 "file:$FX/data/lthub.db?mode=ro" "SELECT MAX(id) FROM messages")
sqlite3 "$HUB_DIR/data/lthub.db" "SELECT sql FROM sqlite_master WHERE name = 'messages_msgid_legacy'" \
    | grep -q "(msgid) WHERE id <= $LAST_OLD\$" || hub_fail "no index of the $LAST_OLD old message ids"
[ "$(sqlite3 "$HUB_DIR/data/lthub.db" "SELECT COUNT(*) FROM sqlite_master
      WHERE name IN ('messages_document', 'messages_dossier', 'deliveries_lane')")" = 0 ] \
    || hub_fail "the document, dossier and lane indexes were not dropped"
for index in deliveries_ready deliveries_waiting deliveries_dead deliveries_held; do
    sqlite3 "$HUB_DIR/data/lthub.db" "SELECT sql FROM sqlite_master WHERE name = '$index'" \
        | grep -q "lane.*state) WHERE" || hub_fail "$index does not carry the lane"
done
ok "store at schema 9 (key, lane and id indexes dropped, lanes from the state indexes, the old ids indexed; the migration logged)"

# The format 1 ledger was converted: same chain and head, binary hashes, an
# item index instead of the text one, day sums merged into half months,
# the waiting items filled (VA's receipt waits for its status: a wait bit
# on its row, ledger_open gone), the figures of
# its periods unchanged.
if [ "$HAD_LEDGER" = 0 ]; then
"$BIN/broker/lthub" ledger verify --config "$HUB_DIR/lthub.cfg" | grep -q "ledger OK: 4 rows" \
    || hub_fail "the converted ledger does not verify"
python3 - "$HUB_DIR/data/lthub.db" "$V1_HEAD" <<'PY' || hub_fail "the converted ledger"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = lambda sql: db.execute(sql).fetchall()
assert q("SELECT value FROM ledger_meta WHERE name = 'version'") == [(4,)]
assert q("SELECT DISTINCT more FROM ledger") == [("",)], "converted rows keep one event each"
assert q("SELECT DISTINCT typeof(hash), typeof(prev), typeof(sha256) FROM ledger") == [("blob",) * 3]
assert q("SELECT lower(hex(hash)) FROM ledger ORDER BY seq DESC LIMIT 1") == [(sys.argv[2],)]
assert not q("SELECT name FROM sqlite_master WHERE name LIKE '%v1%'"), "old tables left"
assert q("SELECT name FROM sqlite_master WHERE name = 'ledger_ikey'")
assert sorted(q("SELECT day, SUM(n) FROM ledger_sum GROUP BY day")) == [(20260901, 3), (20260915, 1)]
assert q("SELECT doc, agency, wait FROM ledger WHERE wait != 0") == [("VA", "000.00.13.H26", 1)]
assert not q("SELECT name FROM sqlite_master WHERE name = 'ledger_open'"), "ledger_open left"
PY
for pe in 2026-09:3 2026-10:1; do
    "$BIN/broker/lthub" indicators --config "$HUB_DIR/lthub.cfg" --period "${pe%:*}" --format json \
        > "$HUB_DIR/ind.json" || hub_fail "lthub indicators ${pe%:*} after the conversion"
    got=$(python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print([(i["numerator"], i["denominator"]) for i in j["indicators"] if i["code"] == "doc_electronic_rate"][0])' "$HUB_DIR/ind.json")
    [ "$got" = "(${pe#*:}, ${pe#*:})" ] || hub_fail "doc_electronic_rate ${pe%:*} after the conversion: $got"
done
ok "the format 1 ledger converted: chain and head kept, half-month sums, the same figures"
fi

# The mailbox: sys-b still has the document and its revocation.
items=$(dms_list sys-b)
[ "$(jget 'len(j)' <<< "$items")" = 2 ] || hub_fail "sys-b's mailbox after the upgrade: $items"
for id in $(jget '" ".join(i["docId"] for i in j)' <<< "$items"); do
    answer=$(dms_call sys-b getEdoc docId="$id")
    jget 'j["data"]' <<< "$answer" | base64 -d > "$HUB_DIR/got.edxml" \
        || hub_fail "getEdoc $id after the upgrade: $(head -c 300 <<< "$answer")"
    grep -q "215/STTTT-VP" "$HUB_DIR/got.edxml" || hub_fail "getEdoc $id: another package"
done
# Its bounds' figures start from what the old file holds (two packages).
hub_wait 10 '[ "$(curl -sf "$DMS_URL/_dms/stats" | jget "j[\"dms\"][\"mailbox\"][\"items\"]")" = 2 ]' \
    || hub_fail "the mailbox figures after the upgrade: $(curl -sf "$DMS_URL/_dms/stats")"
mbytes=$(curl -sf "$DMS_URL/_dms/stats" | jget 'j["dms"]["mailbox"]["bytes"]')
[ "$mbytes" -gt 1000 ] || hub_fail "the mailbox's bytes after the upgrade: $mbytes"
ok "the mailbox lists and serves what it held"

# The queue: the axis connector connects for the first time and gets the
# 5 queued messages, each once, the document before its revocation.
touch "$HUB_DIR/axis.rec"
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args axis) --record "$HUB_DIR/axis.rec" \
    2>>"$HUB_DIR/axis.log"
hub_wait 20 '[ "$(wc -l < "$HUB_DIR/axis.rec")" -ge 5 ]' \
    || hub_fail "axis got $(wc -l < "$HUB_DIR/axis.rec") of 5: $(cat "$HUB_DIR/axis.rec")"
python3 - "$HUB_DIR/axis.rec" "$FX/data/lthub.db" <<'PY' || hub_fail "the queued messages"
import sqlite3, sys
lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
ids = [l[0] for l in lines]
db = sqlite3.connect(sys.argv[2])
want = {m: k for m, k in db.execute(
    "SELECT msgid, bkey FROM messages WHERE kind = 1 ORDER BY id")}
assert sorted(ids) == sorted(want), f"delivered {ids}, queued {list(want)}"
doc = [m for m, in db.execute(
    "SELECT msgid FROM messages WHERE kind = 1 AND dedup LIKE '%|new|%' AND bkey LIKE '%215/STTTT-VP'")]
rev = [m for m, in db.execute(
    "SELECT msgid FROM messages WHERE kind = 1 AND dedup LIKE '%|revocation|%'")]
assert len(doc) == 1 and len(rev) == 1
assert ids.index(doc[0]) < ids.index(rev[0]), "the revocation overtook its document"
PY
ok "the 5 queued messages delivered once each, the document before its revocation"

# Every document the old release stored is found by its id (random, in the
# index of the old rows; lt_store's self-test finds new ones among them).
for msgid in $(sqlite3 "file:$FX/data/lthub.db?mode=ro" "SELECT msgid FROM messages WHERE kind = 1"); do
    "$BIN/broker/lthub" trace "$msgid" --admin "$HUB_ADMIN" > "$HUB_DIR/trace.txt" \
        || hub_fail "lthub trace $msgid after the upgrade"
    grep -q "^20.* $msgid document  *axis " "$HUB_DIR/trace.txt" \
        || hub_fail "lthub trace of the old message $msgid: $(cat "$HUB_DIR/trace.txt")"
done
ok "the old messages found by their ids after the upgrade"

# Resends of what the old release stored are recognised.
answer=$(dms_send sys-a "$LT_FIXTURES/edxml/new-signed.edxml")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "resend after the upgrade: $answer"
answer=$("$TOOL" register --url "$DMS_URL" --system sys-a --secret-file "$HUB_DIR/secrets/sys-a" \
    "$LT_FIXTURES/dossier/register.json" 2>>"$HUB_DIR/client.log" || true)
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "register resend: $answer"
[ "$(jget 'j.get("duplicates")' <<< "$answer")" = "$(jget 'len(j["entries"])' < "$LT_FIXTURES/dossier/register.json")" ] \
    || hub_fail "the register resend was not recognised: $answer"
sleep 1
[ "$(wc -l < "$HUB_DIR/axis.rec")" = 5 ] || hub_fail "a resend was delivered again: $(cat "$HUB_DIR/axis.rec")"
[ "$(dms_list sys-b | jget 'len(j)')" = 2 ] || hub_fail "a resend reached the mailbox again"
ok "resending a stored document and the register stores and delivers nothing new"

"$BIN/broker/lthub" ledger verify --config "$HUB_DIR/lthub.cfg" | grep -q "ledger OK" \
    || hub_fail "the ledger does not verify after the traffic"
ok "the converted ledger still verifies after the traffic"

dms_stop
hub_stop
ok "stopped cleanly"

# A release that kept a counting ledger: its chain still verifies after the
# upgrade and every row is still there (the resends above added none).
if [ "$HAD_LEDGER" = 1 ]; then
    "$BIN/broker/lthub" ledger verify --store "$HUB_DIR/data/lthub.db" > "$HUB_DIR/verify.txt" 2>&1 \
        || hub_fail "ledger verify after the upgrade: $(cat "$HUB_DIR/verify.txt")"
    before=$(sqlite3 "file:$FX/data/lthub.db?mode=ro" "SELECT COUNT(*) FROM ledger")
    after=$(sqlite3 "file:$HUB_DIR/data/lthub.db?mode=ro" "SELECT COUNT(*) FROM ledger")
    [ "$before" -gt 0 ] && [ "$after" = "$before" ] \
        || hub_fail "ledger rows: $before in the $RELEASE store, $after after the upgrade"
    [ "$(sqlite3 "file:$HUB_DIR/data/lthub.db?mode=ro" \
        "SELECT value FROM ledger_meta WHERE name = 'version'")" = 4 ] \
        || hub_fail "the $RELEASE ledger was not converted to format 4"
    # The rows are the release's, unchanged: the same hashes in the same
    # order, the same events ('more' empty before format 3) and waits; every
    # ikey of a dated DocumentId computed again (format 4), and the
    # conversion logged, for a release before format 4.
    OLD_FORMAT=$(sqlite3 "file:$FX/data/lthub.db?mode=ro" \
        "SELECT value FROM ledger_meta WHERE name = 'version'" 2>/dev/null || echo 1)
    if [ "${OLD_FORMAT:-1}" -lt 4 ]; then
        grep -q "event=ledger_convert .*to=4 " "$HUB_DIR/lthubd.log" \
            || hub_fail "no ledger_convert line to format 4 in lthubd's log"
    elif grep -q "event=ledger_convert" "$HUB_DIR/lthubd.log"; then
        hub_fail "a format 4 ledger was converted again"
    fi
    python3 - "$FX/data/lthub.db" "$HUB_DIR/data/lthub.db" "${OLD_FORMAT:-1}" <<'PY' \
        || hub_fail "the $RELEASE rows changed"
import sqlite3, sys
rows = lambda path: sqlite3.connect("file:%s?mode=ro" % path, uri=True).execute(
    "SELECT seq, item, CASE typeof(hash) WHEN 'blob' THEN lower(hex(hash)) ELSE hash END,"
    " CASE typeof(prev) WHEN 'blob' THEN lower(hex(prev)) ELSE prev END FROM ledger ORDER BY seq").fetchall()
assert rows(sys.argv[1]) == rows(sys.argv[2])
new = sqlite3.connect(sys.argv[2])
old = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
cols = [c[1] for c in old.execute("PRAGMA table_info(ledger)")]
if "more" in cols:
    q = "SELECT seq, more, wait FROM ledger ORDER BY seq"
    assert old.execute(q).fetchall() == new.execute(q).fetchall()
else:
    assert new.execute("SELECT DISTINCT more FROM ledger").fetchall() == [("",)]
if "ikey" in cols:   # format 2 and later
    q = "SELECT seq, ikey FROM ledger WHERE doc LIKE '%,20__/__/__,%/%' ORDER BY seq"
    before, after = old.execute(q).fetchall(), new.execute(q).fetchall()
    if int(sys.argv[3]) < 4:   # computed again by the conversion
        assert before and all(a[1] != b[1] for a, b in zip(after, before)), (before, after)
    else:                      # already format 4: kept as they were
        assert before and after == before, (before, after)
# What waited in ledger_open waits on its item's first row.
if old.execute("SELECT 1 FROM sqlite_master WHERE name = 'ledger_open'").fetchall():
    want = sorted(old.execute("SELECT item FROM ledger_open").fetchall())
    assert sorted(new.execute("SELECT item FROM ledger WHERE wait = 1").fetchall()) == want, want
assert not new.execute("SELECT 1 FROM sqlite_master WHERE name = 'ledger_open'").fetchall()
PY
    ok "the $RELEASE ledger at format 4 (converted and logged from an older one), verifies, its $before rows kept"
fi
