#!/usr/bin/env bash
# Typed connector options (docs/connectors.md, "Options"): a connector reads
# its options from its section of lthubd's config; `lthubd --check-config`
# and the connector itself name a bad one with FILE:LINE and the option;
# `lthubd --defaults` lists every connector's options; lthubd starts a
# connector configured in the section form and restarts it when its
# section changes on SIGHUP; the connector's own counters reach
# /api/v1/stats and /metrics over LTP.
# usage: test_connector_options.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
hub_init
hub_keys report
REPORT=$BIN/connectors/report/lthub-report
echo "token-$RANDOM" >"$HUB_DIR/report.token"
chmod 600 "$HUB_DIR/report.token"
cp "$HUB_DIR/lthub.cfg" "$HUB_DIR/base.cfg"

# write_config FILE TIMEOUT [EXTRA-LINE]: the base config with a report
# connector in the section form (lines 20-27 of FILE).
write_config() {
  cp "$HUB_DIR/base.cfg" "$1"
  cat >>"$1" <<CFG
routes
    route
        kind = "report"
        match = "*"
        to = "report"
connectors
    report
        program = "$REPORT"
        args = "--keys $HUB_KEYS"
        url = "http://127.0.0.1:9"
        token-file = "$HUB_DIR/report.token"
        timeout-ms = "$2"
${3:-}
CFG
}
line_of() { grep -n "$2" "$1" | head -1 | cut -d: -f1; }

# 1. A value out of bounds and an unknown option: both sides name them.
write_config "$HUB_DIR/bad.cfg" 50 "        colour = \"blue\""
if out=$("$BIN/broker/lthubd" --check-config "$HUB_DIR/bad.cfg"); then hub_fail "bad section accepted"; fi
echo "$out"
n=$(line_of "$HUB_DIR/bad.cfg" "timeout-ms")
grep -qF "bad.cfg:$n: connectors/report: timeout-ms must be a number from 100 to 3600000, not '50'" <<<"$out" \
  || hub_fail "check-config: no FILE:LINE for timeout-ms"
n=$(line_of "$HUB_DIR/bad.cfg" "colour")
grep -qF "bad.cfg:$n: connectors/report: 'colour' is not an option of lthub-report" <<<"$out" \
  || hub_fail "check-config: no FILE:LINE for colour"
rc=0
err=$("$REPORT" --config "$HUB_DIR/bad.cfg" --name report 2>&1) || rc=$?
echo "$err"
[ "$rc" = 2 ] || hub_fail "lthub-report with a bad section: exit $rc (want 2)"
n=$(line_of "$HUB_DIR/bad.cfg" "timeout-ms")
grep -qF "bad.cfg:$n: connectors/report/timeout-ms must be a number from 100 to 3600000, not '50'" <<<"$err" \
  || hub_fail "lthub-report: no FILE:LINE for timeout-ms"

# 2. A required option missing, in the section and in args alike.
write_config "$HUB_DIR/bad.cfg" 5000
sed -i '/token-file = /d' "$HUB_DIR/bad.cfg"
if out=$("$BIN/broker/lthubd" --check-config "$HUB_DIR/bad.cfg"); then hub_fail "missing token-file accepted"; fi
grep -qF "connectors/report: token-file is required" <<<"$out" || hub_fail "check-config: $out"
rc=0
err=$("$REPORT" --config "$HUB_DIR/bad.cfg" --name report 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -qF -- "--token-file is required" <<<"$err" || hub_fail "lthub-report: exit $rc: $err"
sed -i "s|args = \"--keys $HUB_KEYS\"|args = \"--keys $HUB_KEYS --token-file $HUB_DIR/report.token --workers 0\"|" "$HUB_DIR/bad.cfg"
if out=$("$BIN/broker/lthubd" --check-config "$HUB_DIR/bad.cfg"); then hub_fail "workers 0 in args accepted"; fi
grep -qF "connectors/report/args: workers must be a number from 1 to 256" <<<"$out" || hub_fail "args: $out"
grep -qF "token-file is required" <<<"$out" && hub_fail "token-file in args not seen: $out"

# 3. --defaults lists every connector's options with their defaults.
"$BIN/broker/lthubd" --defaults >"$HUB_DIR/defaults.cfg"
for want in '^    dms$' '^    axis$' '^    portal$' '^    report$' \
  '^        max-package = "67108864"$' '^        poll-ms = "2000"$' '^        #   dvcqg-url = ""$' \
  '^        timeout-ms = "30000"$' '^#   --workers' 'number 100\.\.3600000'; do
  grep -q -- "$want" "$HUB_DIR/defaults.cfg" || hub_fail "--defaults lacks $want"
done
"$BIN/broker/lthubd" --check-config "$HUB_DIR/defaults.cfg" >/dev/null || hub_fail "--defaults is not a valid config"
#    ... and the default routes, from each connector's routes file, in the
#    order they are tried (specific patterns before "*").
grep -E '^#  +document,status +\*\.\{province\} +-> dms +if-province +connectors/dms/routes\.txt:[0-9]+$' \
  "$HUB_DIR/defaults.cfg" >/dev/null || hub_fail "--defaults lacks dms's default route: $(grep -- '->' "$HUB_DIR/defaults.cfg")"
order=$(grep -oE -- '-> [a-z]+ ' "$HUB_DIR/defaults.cfg" | awk '{print $2}' | uniq | tr '\n' ' ')
[ "$order" = "dms axis portal report " ] || hub_fail "--defaults lists the default routes in the order: $order"
#    ... and docs/configuration.md describes every one of them.
missing=""
for opt in $(awk '/^connectors/ {c = 1; next} c && /^        (#   )?[a-z][a-z-]* = / {
                    sub(/^        (#   )?/, ""); print $1}' "$HUB_DIR/defaults.cfg" | sort -u); do
  case $opt in program | restart) continue ;; esac
  grep -qF -- "\`--$opt\`" "$2/docs/configuration.md" || missing="$missing $opt"
done
[ -z "$missing" ] || hub_fail "docs/configuration.md does not describe:$missing"

# 4. lthubd starts the connector from its section (broker endpoint from the
#    file), and restarts it when the section changes on SIGHUP.
write_config "$HUB_DIR/lthub.cfg" 5000
"$BIN/broker/lthubd" --check-config "$HUB_DIR/lthub.cfg"
hub_start
hub_wait 20 '[ "$(hub_stat "sum(c[\"connected\"] for c in s[\"connectors\"] if c[\"name\"] == \"report\")")" = 1 ]' \
  || hub_fail "report did not connect: $(tail -5 "$HUB_DIR/lthubd.log")"
grep -q "event=spawned connector=report" "$HUB_DIR/lthubd.log" || hub_fail "not spawned by lthubd"
write_config "$HUB_DIR/lthub.cfg" 7000
kill -HUP "$HUB_PID"
hub_wait 20 '[ "$(grep -c "event=spawned connector=report" "$HUB_DIR/lthubd.log")" = 2 ]' \
  || hub_fail "report not restarted after its section changed"
hub_wait 20 '[ "$(hub_stat "sum(c[\"connected\"] for c in s[\"connectors\"] if c[\"name\"] == \"report\")")" = 1 ]' \
  || hub_fail "report did not connect again"

# 5. The connector's own counters reach lthubd over LTP (PING stats):
#    /api/v1/stats shows them as "own", /metrics as lthub_connector_figure.
own() {
  curl -sf --noproxy '*' "http://$HUB_ADMIN/api/v1/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
c = [c for c in s["connectors"] if c["name"] == "report"][0]
print(c["own"]["report"]["accepted"], c["own"]["report"]["last_error"] == "", c["own_at"] > 0)'
}
hub_wait 20 '[ "$(own 2>/dev/null)" = "0 True True" ]' || hub_fail "no own counters in /api/v1/stats: $(own 2>&1)"
curl -sf --noproxy '*' "http://$HUB_ADMIN/metrics" >"$HUB_DIR/metrics.txt" || hub_fail "GET /metrics"
grep -q '^lthub_connector_figure{connector="report",figure="report.accepted"} 0$' "$HUB_DIR/metrics.txt" \
  || hub_fail "no lthub_connector_figure for report in /metrics"
grep -q 'figure="report.last_error' "$HUB_DIR/metrics.txt" && hub_fail "a text or a time in /metrics"
hub_stop
echo "PASS: connector options from the section, checked with FILE:LINE, listed, reloaded; own counters shown"
