#!/usr/bin/env bash
# Tests of what deploy/ ships, run by ctest with real processes on loopback.
#
#   quickstart_test.sh config SOURCE-DIR BUILD-DIR
#     deploy/lthub.cfg.example passes `lthubd --check-config`, sets every
#     setting that `lthubd --defaults` lists, and gives each built connector
#     only options its --help knows; the systemd units name real paths.
#   quickstart_test.sh run SOURCE-DIR BUILD-DIR
#     deploy/quickstart.sh --duration 20 in a temporary sandbox on free ports:
#     the hub starts, every supervised connector connects, traffic flows
#     (lthub status during the run and the summary at the end), and every
#     process it started is gone afterwards. Then the same sandbox again (keys
#     and data kept), and once more after the script was killed with SIGKILL
#     (leftovers are found by their pid files and stopped).
set -euo pipefail
mode=${1:?usage: quickstart_test.sh config|run SOURCE-DIR BUILD-DIR}
SRC=$(cd "${2:?source dir}" && pwd)
BIN=$(cd "${3:?build dir}" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lt_quickstart.XXXXXX")
QS_PID=""

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok - $*"; }

# PIDs of live processes whose command line names the sandbox (ours only:
# the sandbox is a fresh temporary directory).
sandbox_pids() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [ "$pid" = $$ ] && continue
    if tr '\0' ' ' <"$f" 2>/dev/null | grep -qF "$WORK/sandbox"; then
      grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null || echo "$pid"
    fi
  done
}

cleanup() {
  local pid
  if [ -n "$QS_PID" ]; then kill -TERM "$QS_PID" 2>/dev/null || true; fi
  for pid in $(sandbox_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free TCP port on 127.0.0.1, never one this test was given before.
free_port() {
  python3 "$SRC/tests/lib/free_port.py" "$WORK/ports"
}

# The example config runs: its paths moved under WORK, its ports made free,
# lthubd starts the connectors it names and each of them connects.
run_example() {
  local root=$WORK/example broker admin dms axis_port pid i names=""
  broker=$(free_port)
  admin=$(free_port)
  dms=$(free_port)
  axis_port=$(free_port)
  mkdir -p "$root/etc/secrets" "$root/etc/trust" "$root/var"
  sed -e "s|/var/lib/lthub|$root/var|g; s|/etc/lthub|$root/etc|g" \
    -e "s|127.0.0.1:5570|127.0.0.1:$broker|g; s|127.0.0.1:8470|127.0.0.1:$admin|g" \
    -e "s|127.0.0.1:8480|127.0.0.1:$dms|g; s|https://axis.example.gov.vn/edoc|http://127.0.0.1:$axis_port|" \
    "$SRC/deploy/lthub.cfg.example" >"$root/etc/lthub.cfg"
  echo test-token >"$root/etc/secrets/admin.token"
  echo axis-secret >"$root/etc/secrets/axis.secret"
  echo dms-secret >"$root/etc/secrets/qlvb.secret"
  echo report-token >"$root/etc/secrets/report.token"
  printf 'system\n    id = "qlvb"\n    secret_file = "secrets/qlvb.secret"\n    agencies = "*.H26"\n' \
    >"$root/etc/dms-systems.cfg"
  chmod 600 "$root/etc/secrets/"*
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=lthub-test-ca -days 1 \
    -keyout "$root/ca.key" -out "$root/etc/trust/ca.crt" >/dev/null 2>&1 || fail "openssl req"
  for name in dms axis report; do
    if [ -x "$BIN/connectors/$name/lthub-$name" ]; then names="$names $name"; fi
  done
  # shellcheck disable=SC2086  # names are word-split on purpose
  "$BIN/broker/lthub" keygen --dir "$root/var/keys" --broker $names >/dev/null || fail "keygen"
  if [ -z "$names" ]; then
    # Nothing built to supervise: keep only the broker part of the example.
    sed -i '/^        program = /d' "$root/etc/lthub.cfg"
  fi
  "$BIN/broker/lthubd" --config "$root/etc/lthub.cfg" >"$root/lthubd.log" 2>&1 &
  pid=$!
  local up=""
  for ((i = 0; i < 150; i++)); do
    up=$("$BIN/broker/lthub" status --admin "127.0.0.1:$admin" --json 2>/dev/null \
      | python3 -c 'import json,sys; print(" ".join(sorted(c["name"] for c in json.load(sys.stdin)["connectors"] if c["connected"])))' 2>/dev/null || true)
    [ "$up" = "$(tr ' ' '\n' <<<"$names" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || fail "lthubd with the example exited $rc: $(tail -n 20 "$root/lthubd.log")"
  [ "$up" = "$(tr ' ' '\n' <<<"$names" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')" ] \
    || fail "with the example config, connected: '$up', expected '$names': $(tail -n 20 "$root/lthubd.log")"
  ok "the example config runs: lthubd started and supervised:${names:- nothing built}"
}

# ---------------------------------------------------------------- config
test_config() {
  local example=$SRC/deploy/lthub.cfg.example
  [ -f "$example" ] || fail "missing $example"
  "$BIN/broker/lthubd" --check-config "$example" >"$WORK/check.txt" 2>&1 \
    || fail "lthubd --check-config: $(cat "$WORK/check.txt")"
  ok "$(cat "$WORK/check.txt")"

  # Every setting of the reference appears, set, in its section.
  "$BIN/broker/lthubd" --defaults >"$WORK/defaults.cfg"
  local settings missing=""
  settings=$(awk '/^routes/ {exit} /^[a-z]/ {s = $1} /^    [a-z_]+ = / {print s "/" $1}' "$WORK/defaults.cfg")
  [ -n "$settings" ] || fail "no settings read from lthubd --defaults"
  local have
  have=$(awk '/^[a-z]/ {s = $1} /^    [a-z_]+ = / {print s "/" $1}' "$example")
  for s in $settings; do
    grep -qx "$s" <<<"$have" || missing="$missing $s"
  done
  [ -z "$missing" ] || fail "the example does not set:$missing"
  ok "the example sets all $(wc -w <<<"$settings") settings of lthubd --defaults"
  for s in $settings; do
    grep -qF "\`$s\`" "$SRC/docs/configuration.md" || missing="$missing $s"
  done
  [ -z "$missing" ] || fail "docs/configuration.md does not describe:$missing"
  ok "docs/configuration.md describes every setting"

  # The README starts with the two commands; relative links lead somewhere.
  local first
  first=$(awk '/^```/ {n++; next} n == 1 {print} n > 1 {exit}' "$SRC/README.md")
  [ "$first" = "$(printf './deploy/quickstart.sh\n./deploy/test.sh')" ] \
    || fail "README's first code block is not the two commands: $first"
  local doc link
  for doc in "$SRC/README.md" "$SRC"/docs/*.md; do
    while read -r link; do
      [ -e "$(dirname "$doc")/${link%%#*}" ] || fail "$doc links to missing $link"
    done < <(grep -o '](\([^)]*\))' "$doc" | sed 's/^](\(.*\))$/\1/' | grep -v '^[a-z]*:' || true)
  done
  ok "README starts with the two commands; links in README and docs/ resolve"

  # Connector args: only options the built connector knows.
  local name args opt checked=0
  while read -r name args; do
    local program=$BIN/connectors/$name/lthub-$name
    [ -x "$program" ] || continue
    "$program" --help >"$WORK/help.txt" 2>&1 || true
    while read -r opt; do
      grep -q -- "$opt\\b" "$WORK/help.txt" || fail "connector $name: $opt is not an option of lthub-$name"
    done < <(grep -o -- '--[a-z][a-z-]*' <<<"$args")
    checked=$((checked + 1))
  done < <(awk '/^connectors/ {c = 1; next} /^[^ #]/ {c = 0}
                c && /^    [a-z]/ {name = $1}
                c && /^        args = / {sub(/^        args = "/, ""); sub(/"$/, ""); print name, $0}' "$example")
  ok "connector args match the options of $checked built connector(s)"
  run_example


  # The systemd units start what the docs say, hardened.
  local unit=$SRC/deploy/systemd/lthubd.service
  grep -q '^ExecStart=/usr/local/bin/lthubd --config /etc/lthub/lthub.cfg$' "$unit" || fail "ExecStart"
  for key in User=lthub NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/lthub \
    PrivateTmp=yes; do
    grep -q "^$key" "$unit" || fail "$unit lacks $key"
  done
  if command -v systemd-analyze >/dev/null && [ "$(id -u)" = 0 ]; then
    # verify needs the binaries named by ExecStart; point them at the build.
    mkdir -p "$WORK/unit"
    sed "s|/usr/local/bin/|$BIN/broker/|g" "$unit" >"$WORK/unit/lthubd.service"
    if ! SYSTEMD_LOG_LEVEL=err systemd-analyze verify "$WORK/unit/lthubd.service" >"$WORK/verify.txt" 2>&1; then
      # Only complaints about the unit itself count (not about the host).
      if grep -v -e 'lthub.*user' -e 'Failed to ' "$WORK/verify.txt" | grep -q 'lthubd.service'; then
        fail "systemd-analyze verify: $(cat "$WORK/verify.txt")"
      fi
    fi
    ok "systemd-analyze verify lthubd.service"
  fi
}

# ---------------------------------------------------------------- run
# A port offset that leaves every sandbox port free (and below the
# ephemeral range, so no outgoing connection takes one meanwhile).
pick_offset() {
  local off port busy
  for _ in $(seq 1 30); do
    off=$((10000 + RANDOM % 14000))
    busy=0
    for port in 5570 8470 8480 8481 8490 8491 8492; do
      if (exec 3<>"/dev/tcp/127.0.0.1/$((port + off))") 2>/dev/null; then busy=1; fi
    done
    [ "$busy" = 0 ] && { echo "$off"; return 0; }
  done
  fail "no free port offset found"
}

# Start quickstart.sh in the background with extra arguments; output in $1.
start_quickstart() {
  local out=$1
  shift
  "$SRC/deploy/quickstart.sh" --no-deps --no-build --build-dir "$BIN" --sandbox "$WORK/sandbox" \
    --port-offset "$OFF" "$@" >"$out" 2>&1 &
  QS_PID=$!
}

# Wait (at most SECONDS) until the script says the sandbox runs.
wait_running() {
  local out=$1 seconds=$2 i
  for ((i = 0; i < seconds * 10; i++)); do
    grep -q '^lthub sandbox is running' "$out" && return 0
    kill -0 "$QS_PID" 2>/dev/null || break
    sleep 0.1
  done
  fail "the sandbox did not come up: $(cat "$out")"
}

# Wait (at most SECONDS) for quickstart.sh to end; its exit status in QS_RC.
wait_ended() {
  local seconds=$1 i
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "$QS_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$QS_PID" 2>/dev/null && fail "quickstart.sh still runs after ${seconds}s more"
  QS_RC=0
  wait "$QS_PID" || QS_RC=$?
  QS_PID=""
}

# A python expression over `s` (lthub status --json of the running sandbox).
hub_stat() {
  "$BIN/broker/lthub" status --admin "127.0.0.1:$((8470 + OFF))" --json \
    | python3 -c "import json,sys; s=json.load(sys.stdin); c=s['connectors']; print($1)"
}

# PIDs that the sandbox's run/*.pid files and lthubd.log name.
recorded_pids() {
  cat "$WORK/sandbox/run/"*.pid 2>/dev/null | cut -d' ' -f1
  sed -n 's/.*event=spawned connector=[^ ]* pid=\([0-9]*\).*/\1/p' "$WORK/sandbox/logs/lthubd.log"
}

# Nothing the sandbox started is left: recorded PIDs, anything naming it.
assert_all_stopped() {
  local pids=$1 pid
  for pid in $pids; do
    if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
      fail "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline")) still runs"
    fi
  done
  [ -z "$(sandbox_pids)" ] || fail "processes still name the sandbox: $(sandbox_pids)"
  [ -z "$(ls "$WORK/sandbox/run/" 2>/dev/null)" ] || fail "pid files left: $(ls "$WORK/sandbox/run/")"
}

test_run() {
  OFF=$(pick_offset)
  local out=$WORK/run1.txt
  start_quickstart "$out" --duration 20
  wait_running "$out" 40
  ok "quickstart.sh: the sandbox is running (ports +$OFF)"
  grep -q 'NOT connected' "$out" && fail "a connector did not connect: $(cat "$out")"
  local supervised
  supervised=$(sed -n 's/^  connector \([^ :]*\): connected$/\1/p' "$out" | tr '\n' ' ')
  [ -n "$supervised" ] || fail "no connector was reported connected: $(cat "$out")"
  local pids
  pids=$(recorded_pids)
  [ "$(wc -w <<<"$pids")" -ge 4 ] || fail "too few PIDs recorded: $pids"

  # During the run: every supervised connector has a session, traffic flows.
  local name up done1 done2
  for name in $supervised; do
    up=$(hub_stat "[x['connected'] for x in c if x['name'] == '$name']")
    [ "$up" = "[True]" ] || fail "lthub status: $name connected is $up"
  done
  ok "lthub status: connected: $supervised"
  # A backup of the running hub copies every database of the data
  # directory, the connectors' own (lthub-portal's store) included.
  "$BIN/broker/lthub" backup "$WORK/backup" --config "$WORK/sandbox/lthub.cfg" \
    >"$WORK/backup.txt" 2>&1 || fail "lthub backup of the running sandbox: $(cat "$WORK/backup.txt")"
  if grep -qw portal <<<"$supervised"; then
    [ -n "$(find "$WORK/backup" -name portal.db)" ] \
      || fail "the backup holds no portal.db: $(find "$WORK/backup" -name '*.db')"
  fi
  ok "lthub backup of the running sandbox: $(tail -n 1 "$WORK/backup.txt")"
  sleep 2
  done1=$(hub_stat "sum(x['done'] for x in c)")
  sleep 3
  done2=$(hub_stat "sum(x['done'] for x in c)")
  if [ "$done1" -eq 0 ] || [ "$done2" -le "$done1" ]; then
    fail "traffic does not flow: done $done1 then $done2"
  fi
  ok "traffic flows: $done1 then $done2 deliveries done"

  wait_ended 60
  [ "$QS_RC" = 0 ] || fail "quickstart.sh exited $QS_RC: $(cat "$out")"
  pids="$pids $(recorded_pids)"
  grep -q '^== lthub sandbox stopped' "$out" || fail "no final line: $(cat "$out")"
  grep -Eq '^progress \[[0-9]+s\] relayed [0-9,]+  rate [0-9,]+/s  queued [0-9,]+  dead [0-9]+  alerts [0-9]+$' "$out" \
    || fail "no progress line: $(cat "$out")"
  ok "progress: $(grep '^progress' "$out" | tail -n 1)"
  # The final lthub status shows each supervised connector's own counters
  # on the line under its row.
  for name in $supervised; do
    awk -v name="$name" '$1 == name && $2 == "yes" { row = 1; next } row && /^    own: / { found = 1; exit } { row = 0 } END { exit !found }' \
      "$out" || fail "lthub status: no own counters under $name: $(sed -n '/^== lthub status/,/^== summary/p' "$out")"
  done
  ok "lthub status: own counters under $supervised"
  sed -n '/^== lthub status/,/^== summary/p' "$out" | sed -n '/^CONNECTOR/,/^$/p' | head -30
  local summary
  summary=$(grep '^== summary' "$out") || fail "no summary: $(cat "$out")"
  ok "$summary"
  python3 - "$WORK/sandbox/logs/final-status.json" <<'EOF' || fail "final status: $(cat "$WORK/sandbox/logs/final-status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
c = s["connectors"]
assert sum(x["published"] for x in c) > 0
assert sum(x["done"] for x in c) > 0
assert s["store"]["dead"] == 0 and sum(x["rejected"] for x in c) == 0
assert s["store"]["ready"] + s["store"]["waiting"] == 0
EOF
  # Sample reports (when lthub-report and the report generator ran) reached
  # the reporting simulator: lthub-report finished deliveries.
  if grep -q '^    report-gen$' "$WORK/sandbox/lthub.cfg"; then
    python3 - "$WORK/sandbox/logs/final-status.json" <<'EOF' || fail "no report was delivered: $(cat "$WORK/sandbox/logs/final-status.json")"
import json, sys
c = [x for x in json.load(open(sys.argv[1]))["connectors"] if x["name"] == "report"]
assert c and c[0]["done"] >= 1, c
EOF
    ok "reports: lthub-report delivered sample reports to the reporting simulator"
  fi
  # The simulated DMS systems and ministries (when they ran) saw no failure.
  if grep -q '^lthub-sim dms:' "$WORK/sandbox/logs/traffic.log"; then
    if grep -E '^  (sent .* failed [1-9]|received .*(unreadable|failures) [1-9])' \
      "$WORK/sandbox/logs/traffic.log" >"$WORK/traffic-failures.txt"; then
      fail "the DMS traffic saw failures: $(grep -E '^  error' "$WORK/sandbox/logs/traffic.log" | sort | uniq -c | head)"
    fi
    ok "DMS traffic: $(grep -c '^lthub-sim dms:' "$WORK/sandbox/logs/traffic.log") generator runs, no failure"
  fi
  assert_all_stopped "$pids"
  ok "everything stopped: $(wc -w <<<"$pids") recorded PIDs gone, no pid files left"

  # Again in the same sandbox: keys, secrets and config kept, data grows.
  local cert_sum cfg_sum messages1
  cert_sum=$(cat "$WORK/sandbox/keys/broker.cert" "$WORK/sandbox/secrets/"* | sha256sum)
  cfg_sum=$(sha256sum <"$WORK/sandbox/lthub.cfg")
  messages1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["store"]["messages"])' \
    "$WORK/sandbox/logs/final-status.json")
  out=$WORK/run2.txt
  start_quickstart "$out" --duration 4
  wait_running "$out" 40
  wait_ended 60
  [ "$QS_RC" = 0 ] || fail "second run exited $QS_RC: $(cat "$out")"
  [ "$cert_sum" = "$(cat "$WORK/sandbox/keys/broker.cert" "$WORK/sandbox/secrets/"* | sha256sum)" ] \
    || fail "keys or secrets changed on the second run"
  [ "$cfg_sum" = "$(sha256sum <"$WORK/sandbox/lthub.cfg")" ] || fail "config rewritten on the second run"
  local messages2
  messages2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["store"]["messages"])' \
    "$WORK/sandbox/logs/final-status.json")
  [ "$messages2" -gt "$messages1" ] || fail "store did not keep its data: $messages1 then $messages2"
  assert_all_stopped "$(recorded_pids)"
  ok "second run: keys, secrets and config kept, store $messages1 -> $messages2 messages"

  # A run killed with SIGKILL leaves processes; the next run stops them.
  out=$WORK/run3.txt
  start_quickstart "$out"
  wait_running "$out" 40
  pids=$(recorded_pids)
  kill -KILL "$QS_PID"
  wait "$QS_PID" 2>/dev/null || true
  QS_PID=""
  out=$WORK/run4.txt
  start_quickstart "$out" --duration 3
  wait_running "$out" 40
  grep -q 'left running by an earlier run' "$out" || fail "leftovers not reported: $(cat "$out")"
  wait_ended 60
  [ "$QS_RC" = 0 ] || fail "run after SIGKILL exited $QS_RC: $(cat "$out")"
  assert_all_stopped "$pids $(recorded_pids)"
  ok "after SIGKILL of quickstart.sh the next run stopped the leftovers and ran cleanly"

  # --stop from another terminal ends a running sandbox.
  out=$WORK/run5.txt
  start_quickstart "$out"
  wait_running "$out" 40
  pids=$(recorded_pids)
  "$SRC/deploy/quickstart.sh" --stop --build-dir "$BIN" --sandbox "$WORK/sandbox" >"$WORK/stop.txt" 2>&1 \
    || fail "--stop: $(cat "$WORK/stop.txt")"
  wait_ended 30
  [ "$QS_RC" = 0 ] || fail "run ended by --stop exited $QS_RC: $(cat "$out")"
  assert_all_stopped "$pids $(recorded_pids)"
  ok "--stop ends a running sandbox cleanly"
}

case $mode in
  config) test_config ;;
  run) test_run ;;
  *) fail "unknown mode $mode" ;;
esac
echo "quickstart_test $mode: passed"
