#!/usr/bin/env bash
# Makes the upgrade fixture of a release: the files a hub of that release
# leaves on disk (the broker's store, lthub-dms's mailbox, the config and
# the DMS systems file), in a known state, for tests/upgrade/test_upgrade.sh
# to start under the current release.
#
#   tests/upgrade/make-fixture.sh OLD_BUILD_DIR OLD_SOURCE_DIR OUT_DIR
#
# OLD_* are a build and a checkout of the release (e.g. a worktree of its
# tag). The state it leaves, which the test asserts:
#   - sys-a (000.00.12.H26) sent new-signed.edxml then revocation.edxml;
#     both are delivered to lthub-dms (000.00.13.H26, sys-b's mailbox, not
#     yet acknowledged) and queued for the axis connector, which never
#     connected: 2 READY deliveries in lane order;
#   - sys-a sent the paper register (fixtures/dossier/register.json);
#   - 3 test messages TEST-0..2 from the publisher 'pub' queued for the
#     axis connector.
# Paths inside the config are written as @DIR@, the LTP endpoint and the
# admin address as @ENDPOINT@ and @ADMIN@, which the test replaces. The
# release's example config is kept beside it, for --check-config.
set -euo pipefail
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
OUT=$3
. "$SRC/tests/dms/dms_lib.sh"

hub_init
hub_keys dms axis pub
dms_systems
hub_config <<CFG
routes
    route
        kind = "document,status"
        match = "*.H26"
        to = "dms"
    route
        kind = "document,status"
        match = "*"
        to = "axis"
connectors
    dms
    axis
    pub
CFG
hub_start
DMS_PORT=$(hub_free_port)
DMS_URL="http://127.0.0.1:$DMS_PORT"
DMS_OPTS=()
dms_start

answer=$(dms_send sys-a "$LT_FIXTURES/edxml/new-signed.edxml")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "new-signed: $answer"
answer=$(dms_send sys-a "$LT_FIXTURES/edxml/revocation.edxml")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "revocation: $answer"
answer=$("$TOOL" register --url "$DMS_URL" --system sys-a --secret-file "$HUB_DIR/secrets/sys-a" \
    "$LT_FIXTURES/dossier/register.json")
[ "$(jget 'j["status"]' <<< "$answer")" = OK ] || hub_fail "register: $answer"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 3 --prefix TEST --to 000.00.00.G22 \
    2>>"$HUB_DIR/pub.log" || hub_fail "publisher"
hub_wait 10 '[ "$(dms_list sys-b | jget "len(j)")" = 2 ]' || hub_fail "sys-b's mailbox"

dms_stop
hub_stop
for db in "$HUB_DIR/data/lthub.db" "$HUB_DIR"/dms/*.db; do
    sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;" >/dev/null
done
rm -rf "$OUT"
mkdir -p "$OUT/data" "$OUT/dms"
cp "$HUB_DIR/data/lthub.db" "$OUT/data/"
# Payloads kept in segment files (a release with store/inline_max) beside it.
if [ -d "$HUB_DIR/data/lthub.db.segments" ]; then
    cp -r "$HUB_DIR/data/lthub.db.segments" "$OUT/data/"
fi
cp "$HUB_DIR"/dms/*.db "$OUT/dms/"
cp "$HUB_DIR/systems.cfg" "$OUT/"
sed -e "s|$HUB_DIR|@DIR@|g" -e "s|$HUB_ENDPOINT|@ENDPOINT@|" -e "s|$HUB_ADMIN|@ADMIN@|" \
    "$HUB_DIR/lthub.cfg" > "$OUT/lthub.cfg"
cp "$SRC/deploy/lthub.cfg.example" "$OUT/lthub.cfg.example"
"$BIN/broker/lthubd" --version > "$OUT/VERSION" 2>&1 || true
echo "fixture written to $OUT ($(cat "$OUT/VERSION"))"
