#!/usr/bin/env bash
# The build's check of the connectors' default routes files
# (lt-routes-check, connectors/catalog/lt_routes.c): every routes file of
# the source tree passes; a malformed one is named with FILE:LINE and what
# is wrong, and fails (so it stops the build); lthubd routes by the
# embedded copy without the source tree.
# usage: test_routes_check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
. "$SRC/tests/lib/hub.sh"
CHECK=$BIN/connectors/lt-routes-check
hub_init

# Every connector's routes file passes.
files=$(cd "$SRC" && ls connectors/*/routes.txt)
[ "$(wc -w <<<"$files")" -ge 4 ] || hub_fail "routes files: $files"
(cd "$SRC" && "$CHECK" $files) || hub_fail "a routes file of the tree fails"

# expect_bad TEXT LINE WHAT: the file fails, named at LINE with WHAT.
expect_bad() {
  printf '%b' "$1" >"$HUB_DIR/routes.txt"
  local out rc=0
  out=$("$CHECK" "$HUB_DIR/routes.txt" 2>&1) || rc=$?
  [ "$rc" = 1 ] || hub_fail "exit $rc for: $1"
  grep -qF "$HUB_DIR/routes.txt:$2: $3" <<<"$out" || hub_fail "expected ':$2: $3', got: $out"
}
expect_bad '# ok\ndocument,status *\nletters *.H26\n' 3 "kind 'letters' is unknown"
expect_bad 'report\n' 1 "route 'report' has no MATCH"
expect_bad 'document *.{provice}\n' 1 "match '*.{provice}': only {province} may stand in braces"
expect_bad 'document * always\n' 1 "unknown word 'always' after MATCH"
expect_bad 'report *\nreport *\n' 2 "the same route as line 1"
out=$("$CHECK" "$HUB_DIR/nonexistent.txt" 2>&1) && hub_fail "a missing file passes"
grep -qF "$HUB_DIR/nonexistent.txt: cannot read" <<<"$out" || hub_fail "missing file: $out"
echo "ok - malformed routes files named with FILE:LINE"

# lthubd routes with the embedded defaults, from a directory with no source
# tree: a config without routes checks (report's default route exists).
cp "$BIN/broker/lthubd" "$HUB_DIR/lthubd"
cat >>"$HUB_DIR/lthub.cfg" <<CFG
connectors
    report
CFG
(cd "$HUB_DIR" && ./lthubd --check-config lthub.cfg >"$HUB_DIR/check.out" 2>&1) && \
  hub_fail "a config whose connectors lack portal passed (the default route to portal is not checked)"
grep -qF "default route 'dossier,progress *' (connectors/portal/routes.txt:9) goes to connector 'portal'" "$HUB_DIR/check.out" || hub_fail "check: $(cat "$HUB_DIR/check.out")"
echo "PASS: routes files checked at build time, embedded in lthubd"
