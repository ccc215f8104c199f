#!/usr/bin/env bash
# The README's first command: a whole hub on this machine, with simulated
# neighbours and traffic, in ./var/sandbox/. Installs the Debian packages
# (deploy/deps.sh), builds out of tree in build/release (the directory
# deploy/test.sh uses for its release build), makes keys, secrets and a
# config once, starts the simulators, lthubd (which starts and supervises the
# connectors that are built) and demo traffic, prints where everything is,
# and waits. Ctrl-C, --duration or `--stop` from another terminal ends it:
# traffic first, then lthubd and its connectors, then the simulators, each by
# PID; then a summary. Running it again keeps the sandbox's data and keys.
#
#   ./deploy/quickstart.sh                   run until Ctrl-C
#   ./deploy/quickstart.sh --duration 60     run 60 s, then stop cleanly
#   ./deploy/quickstart.sh --stop            stop a sandbox running elsewhere
set -euo pipefail
caller=$(pwd)
cd "$(dirname "$0")/.."
SB_TOP=$(pwd)
# shellcheck source=deploy/sandbox.sh
. "$SB_TOP/deploy/sandbox.sh"

usage() {
  cat <<EOF
usage: deploy/quickstart.sh [options]
  --duration SECONDS   stop cleanly after this long (default: run until Ctrl-C)
  --no-deps            do not run deploy/deps.sh (packages already installed)
  --no-build           use the binaries already in the build directory
  --build-dir DIR      build directory (default build/release)
  --sandbox DIR        sandbox directory (default var/sandbox)
  --port-offset N      add N to every port of the sandbox (default 0: broker 5570,
                       admin 8470, DMS edoc API 8480, portal 8481, simulators 8490-8492)
  --stop               stop the sandbox that runs in DIR (from another terminal)
  --help               this text
EOF
}

duration=0
deps=1
build=1
stop_only=0
offset=""
SB_BIN=$SB_TOP/build/release
SB_DIR=$SB_TOP/var/sandbox
while [ $# -gt 0 ]; do
  case $1 in
    --duration) duration=${2:?--duration needs SECONDS}; shift ;;
    --no-deps) deps=0 ;;
    --no-build) build=0 ;;
    --build-dir) SB_BIN=${2:?--build-dir needs DIR}; shift ;;
    --sandbox) SB_DIR=${2:?--sandbox needs DIR}; shift ;;
    --port-offset) offset=${2:?--port-offset needs N}; shift ;;
    --stop) stop_only=1 ;;
    --help | -h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
case $duration in
  '' | *[!0-9]*) sb_die "--duration must be a whole number of seconds" ;;
esac
# Relative paths given on the command line are taken from where it was typed.
[[ $SB_DIR == /* ]] || SB_DIR=$caller/$SB_DIR
[[ $SB_BIN == /* ]] || SB_BIN=$caller/$SB_BIN
mkdir -p "$SB_DIR"
SB_DIR=$(cd "$SB_DIR" && pwd)
if [ "$stop_only" = 0 ]; then
  if [ "$build" = 1 ]; then mkdir -p "$SB_BIN"; fi
  [ -d "$SB_BIN" ] || sb_die "no build directory $SB_BIN"
  SB_BIN=$(cd "$SB_BIN" && pwd)
fi
sb_init "$offset"

# --stop: signal the running quickstart.sh, which stops the rest in order.
if [ "$stop_only" = 1 ]; then
  pid=$(sb_live_pid quickstart)
  [ -n "$pid" ] || { sb_say "no sandbox is running in $(sb_rel "$SB_DIR")"; exit 0; }
  kill -TERM "$pid"
  for ((i = 0; i < 600; i++)); do
    [ -n "$(sb_live_pid quickstart)" ] || { sb_say "sandbox stopped (pid $pid)"; exit 0; }
    sleep 0.1
  done
  sb_die "the sandbox (pid $pid) is still stopping after 60 s; see $(sb_rel "$SB_LOGS")/"
fi

running=$(sb_live_pid quickstart)
if [ -n "$running" ] && [ "$running" != $$ ]; then
  sb_die "a sandbox is already running in $(sb_rel "$SB_DIR") (pid $running); stop it with Ctrl-C there or: deploy/quickstart.sh --stop"
fi

# 1. Packages and build.
if [ "$deps" = 1 ]; then
  sb_say "== lthub sandbox: Debian packages (deploy/deps.sh)"
  "$SB_TOP/deploy/deps.sh"
fi
if [ "$build" = 1 ]; then
  sb_say "== lthub sandbox: building in $(sb_rel "$SB_BIN")"
  cmake -S "$SB_TOP" -B "$SB_BIN" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLT_WERROR=ON >/dev/null
  cmake --build "$SB_BIN" -j"$(nproc 2>/dev/null || echo 2)" >"$SB_BIN/quickstart-build.log" 2>&1 \
    || { tail -n 40 "$SB_BIN/quickstart-build.log" >&2; sb_die "the build failed (log: $(sb_rel "$SB_BIN")/quickstart-build.log)"; }
fi
for program in "$SB_LTHUBD" "$SB_LTHUB" "$SB_SIM" "$SB_TESTCONN"; do
  [ -x "$program" ] || sb_die "$(sb_rel "$program") is missing: build first (or drop --no-build)"
done

# 2. The sandbox's files, made once.
sb_say "== lthub sandbox in $(sb_rel "$SB_DIR") (province $SB_PROVINCE)"
sb_stop_stale
mkdir -p "$SB_RUN"
echo "$$ $(sb_start_time $$)" >"$SB_RUN/quickstart.pid"
trap 'rm -f "$SB_RUN/quickstart.pid"' EXIT
sb_prepare
sb_config
for name in $SB_CONNECTORS; do
  if ! sb_have_connector "$name"; then
    sb_say "  lthub-$name: not built yet, so not started (routes to '$name' wait on disk)"
  fi
done
"$SB_LTHUBD" --check-config "$SB_CFG" >"$SB_LOGS/check-config.txt" 2>&1 \
  || { cat "$SB_LOGS/check-config.txt" >&2; sb_die "the config has errors (above)"; }

# Traffic: the DMS generator when lthub-dms runs, else lthub-testconn rounds.
supervised=$(sb_supervised | tr '\n' ' ')
traffic=none
if grep -q '^    demo-sink$' "$SB_CFG"; then
  traffic=demo
elif [[ " $supervised " == *" dms "* ]] && sb_have_sim dms; then
  traffic=dms
fi

ports=(broker="$SB_PORT_BROKER" admin="$SB_PORT_ADMIN" axis-simulator="$SB_PORT_SIM_AXIS")
[[ " $supervised " == *" dms "* ]] && ports+=(dms-edoc-api="$SB_PORT_DMS")
[[ " $supervised " == *" portal "* ]] && ports+=(portal-api="$SB_PORT_PORTAL")
sb_have_sim portal && ports+=(portal-simulator="$SB_PORT_SIM_PORTAL")
sb_have_sim report && ports+=(report-simulator="$SB_PORT_SIM_REPORT")
sb_check_ports "${ports[@]}"

# 3. Stop everything, in order, on Ctrl-C, SIGTERM, --duration or a failure.
stopping=0
exit_code=0
cleanup() {
  [ "$stopping" = 0 ] || return 0
  stopping=1
  # Best effort from here on: a closed terminal or pipe must not cut it short.
  set +e
  trap '' INT TERM HUP PIPE
  sb_say ""
  sb_say "== lthub sandbox: stopping"
  if [ -n "$(sb_live_pid traffic)" ]; then
    sb_stop traffic 10
    sb_say "  traffic stopped"
  fi
  if [ -n "$(sb_live_pid traffic-portal)" ]; then
    sb_stop traffic-portal 10
    sb_say "  portal traffic stopped"
  fi
  if [ -n "$(sb_live_pid report-traffic)" ]; then
    sb_stop report-traffic 10
    sb_say "  report traffic stopped"
  fi
  local hub final=""
  hub=$(sb_live_pid lthubd)
  if [ -n "$hub" ]; then
    # Let what is in flight arrive, at most about 10 s, and keep the figures
    # of the moment the queues were empty (lthub-axis may still bring in a
    # ministry's document after the traffic stopped: it waits on disk for
    # the next start, like anything queued when lthubd stops).
    for ((i = 0; i < 50; i++)); do
      "$SB_LTHUB" status --admin "$SB_ADMIN" --json >"$SB_LOGS/final-status.json" 2>/dev/null || true
      left=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["store"]; print(s["ready"]+s["waiting"])' \
        "$SB_LOGS/final-status.json" 2>/dev/null || echo unknown)
      [ "$left" = 0 ] && break
      sleep 0.1
    done
    final=$("$SB_LTHUB" status --admin "$SB_ADMIN" 2>&1 || true)
    sb_stop lthubd 20
    if [ "$SB_STATUS" = 0 ]; then
      sb_say "  lthubd and its connectors stopped (pid $hub)"
    else
      sb_say "  lthubd (pid $hub) exited with status $SB_STATUS: see $(sb_rel "$SB_LOGS")/lthubd.log"
      exit_code=1
    fi
  fi
  local sim
  for sim in sim-dms sim-report sim-portal sim-axis; do
    if [ -n "$(sb_live_pid "$sim")" ]; then
      sb_stop "$sim" 10
      sb_say "  lthub-${sim#sim-} simulator stopped"
    fi
  done
  rm -f "$SB_RUN/quickstart.pid"
  if [ -n "$final" ]; then
    sb_say ""
    sb_say "== lthub status (just before lthubd stopped)"
    sb_say "$final"
    sb_say ""
    python3 - "$SB_LOGS/final-status.json" <<'EOF' || true
import json, sys
s = json.load(open(sys.argv[1]))
c = s["connectors"]
total = lambda k: sum(x.get(k, 0) for x in c)
print("== summary of this run: %d published, %d accepted (%d of them resends, not delivered "
      "again), %d delivered, %d done, %d rejected; the store holds %d messages, %d dead letters"
      % (total("published"), total("accepted") + total("duplicates"), total("duplicates"),
         total("delivered"), total("done"), total("rejected"), s["store"]["messages"],
         s["store"]["dead"]))
EOF
  fi
  sb_say "== lthub sandbox stopped; data and keys kept in $(sb_rel "$SB_DIR")"
}
# shellcheck disable=SC2317  # called by the trap
on_signal() {
  cleanup
  exit "$exit_code"
}
trap on_signal INT TERM HUP PIPE
trap 'cleanup' EXIT

# 4. Start: simulators, lthubd (with its connectors), traffic.
sb_say "== lthub sandbox: starting"
sb_spawn sim-axis "$SB_SIM" axis --listen "127.0.0.1:$SB_PORT_SIM_AXIS" --store "$SB_DIR/sim/axis" \
  --system "hub-h26:$SB_SECRETS/axis-hub-h26.secret:*.$SB_PROVINCE" \
  --system "vpcp:$SB_SECRETS/axis-vpcp.secret:000.00.00.G22" \
  --system "ministry-g12:$SB_SECRETS/axis-ministry-g12.secret:000.00.00.G12"
sb_say "  lthub-sim axis (national axis simulator) on 127.0.0.1:$SB_PORT_SIM_AXIS, pid $SB_PID"
for sim in portal report; do
  if sb_have_sim "$sim"; then
    port=$SB_PORT_SIM_PORTAL
    [ "$sim" = report ] && port=$SB_PORT_SIM_REPORT
    # shellcheck disable=SC2046  # the simulator's extra options are word-split on purpose
    sb_spawn "sim-$sim" "$SB_SIM" "$sim" --listen "127.0.0.1:$port" $(sb_sim_args "$sim")
    sb_say "  lthub-sim $sim on 127.0.0.1:$port, pid $SB_PID"
  else
    sb_say "  lthub-sim $sim: not available yet"
  fi
done

log_size=$(stat -c %s "$SB_LOGS/lthubd.log" 2>/dev/null || echo 0)
sb_spawn lthubd "$SB_LTHUBD" --config "$SB_CFG"
hub_pid=$SB_PID
if ! sb_wait_hub 15 "$hub_pid" "$SB_LOGS/lthubd.log" "$log_size"; then
  tail -c +"$((log_size + 1))" "$SB_LOGS/lthubd.log" | grep -E ' (error|warning) ' | tail -n 10 >&2
  exit_code=1
  sb_die "lthubd did not start (errors above; log: $(sb_rel "$SB_LOGS")/lthubd.log)"
fi
sb_say "  lthubd on $SB_ENDPOINT, admin http://$SB_ADMIN/, pid $hub_pid"

# Connectors: wait (at most 15 s) until every supervised one has a session.
# shellcheck disable=SC2086  # the list is word-split on purpose
for ((i = 0; i < 150; i++)); do
  missing=$(sb_not_connected $supervised)
  [ -z "$missing" ] && break
  sleep 0.1
done
for name in $supervised; do
  if [[ " $missing " == *" $name "* ]]; then
    sb_say "  connector $name: NOT connected after 15 s (see $(sb_rel "$SB_LOGS")/lthubd.log)"
  else
    sb_say "  connector $name: connected"
  fi
done

case $traffic in
  demo)
    sb_spawn traffic "$SB_TOP/deploy/sandbox.sh" traffic "$SB_TESTCONN" "$SB_ENDPOINT" "$SB_KEYS" \
      "$SB_DEMO_AGENCY"
    sb_say "  traffic: lthub-testconn rounds of $SB_DEMO_ROUND documents to $SB_DEMO_AGENCY (demo-sink), pid $SB_PID"
    ;;
  dms)
    # Signed and unsigned PDFs for the packages: the project's fixtures when
    # they are there, else a plain PDF of the sandbox's own (no signatures).
    [ -f "$SB_DIR/sim/fixtures/pdf/unsigned.pdf" ] || sb_write_pdf "$SB_DIR/sim/fixtures/pdf/unsigned.pdf"
    fixtures=${LT_FIXTURES:-$(sed -n 's/^LT_FIXTURES:PATH=//p' "$SB_BIN/CMakeCache.txt" 2>/dev/null)}
    mix=signed=60,unsigned=30,paper=10
    if [ ! -f "$fixtures/pdf/signed.pdf" ] || [ ! -f "$fixtures/pdf/unsigned.pdf" ]; then
      fixtures=$SB_DIR/sim/fixtures
      mix=unsigned=90,paper=10
    fi
    sb_spawn traffic "$SB_TOP/deploy/sandbox.sh" dms-traffic "$SB_SIM" "$fixtures" "$mix" \
      "http://127.0.0.1:$SB_PORT_DMS" "http://127.0.0.1:$SB_PORT_SIM_AXIS" "$SB_SECRETS"
    sb_say "  traffic: lthub-sim dms as 2 QLVB&DH systems (via lthub-dms) and 2 ministries (via the axis), mix $mix, pid $SB_PID"
    ;;
  *) sb_say "  traffic: none configured (see $(sb_rel "$SB_CFG"))" ;;
esac
if [[ " $supervised " == *" portal "* ]] && sb_have_sim onestop; then
  sb_spawn traffic-portal "$SB_TOP/deploy/sandbox.sh" portal-traffic "$SB_SIM" \
    "http://127.0.0.1:$SB_PORT_PORTAL" "$SB_SECRETS"
  sb_say "  traffic: lthub-sim onestop as the one-stop system (via lthub-portal to the DVCQG simulator), pid $SB_PID"
fi
# Sample reports for lthub-report, as lthubd will publish at period ends.
if [[ " $supervised " == *" report "* ]] && grep -q '^    report-gen$' "$SB_CFG"; then
  sb_spawn report-traffic "$SB_SIM" report-gen --name report-gen --broker "$SB_ENDPOINT" \
    --keys "$SB_KEYS" --count 0 --every-ms "$SB_REPORT_EVERY_MS" --seed "$(date +%s)" \
    --organs "000.00.00.$SB_PROVINCE,000.00.12.$SB_PROVINCE,000.03.31.$SB_PROVINCE" \
    --kinds month,quarter,half,nine_months,year --log-level warning
  sb_say "  traffic: a sample report every $((SB_REPORT_EVERY_MS / 1000)) s (lthub-sim report-gen -> lthub-report -> reporting simulator), pid $SB_PID"
fi

# 5. Where things are.
dashboard="admin API http://$SB_ADMIN/api/v1/stats, metrics http://$SB_ADMIN/metrics"
if command -v curl >/dev/null && curl -sf -o /dev/null "http://$SB_ADMIN/"; then
  dashboard="dashboard http://$SB_ADMIN/ ($dashboard)"
fi
cat <<EOF

lthub sandbox is running.
  admin      $dashboard
  status     $(sb_rel "$SB_LTHUB") status --admin $SB_ADMIN
  live       $(sb_rel "$SB_LTHUB") top --admin $SB_ADMIN
  alerts     $(sb_rel "$SB_LTHUB") alerts --admin $SB_ADMIN
  dead       $(sb_rel "$SB_LTHUB") dead --admin $SB_ADMIN
  replay     $(sb_rel "$SB_LTHUB") replay ID --admin $SB_ADMIN --token-file $(sb_rel "$SB_TOKEN")
  logs       $(sb_rel "$SB_LOGS")/ (lthubd.log holds lthubd and its connectors)
  config     $(sb_rel "$SB_CFG") (reload: kill -HUP $hub_pid)
  DMS        $( [[ " $supervised " == *" dms "* ]] && echo "edoc API http://127.0.0.1:$SB_PORT_DMS/, systems in $(sb_rel "$SB_DMS_SYSTEMS")" || echo "lthub-dms not built yet")
  data       $(sb_rel "$SB_DIR")/data/ (store), keys in $(sb_rel "$SB_KEYS")/, secrets in $(sb_rel "$SB_SECRETS")/
EOF
if [ "$duration" -gt 0 ]; then
  sb_say "Stopping in $duration s (or press Ctrl-C)."
else
  sb_say "Press Ctrl-C to stop (or run: deploy/quickstart.sh --stop)."
fi

# One line of progress from a second of `lthub top --json`: deliveries
# relayed, their rate, what waits in queues, dead letters, alerts.
sb_progress() {
  python3 -c '
import json, sys
t = json.loads(sys.stdin.readline())
c, s = t["connectors"], t["store"]
print("relayed {:,}  rate {:,.0f}/s  queued {:,}  dead {}  alerts {}".format(
    sum(x["done"] for x in c), sum(x["out_per_s"] for x in c),
    s["ready"] + s["waiting"], s["dead"], len(t["alerts"])))' <"$1" 2>/dev/null
}

# 6. Wait; watch that lthubd stays up; show progress (one line rewritten in
# place on a terminal, a line every 5 s otherwise).
started=$SECONDS
tty=0
[ -t 1 ] && tty=1
last_line=0
while :; do
  if [ "$duration" -gt 0 ] && [ $((SECONDS - started)) -ge "$duration" ]; then break; fi
  if [ -z "$(sb_live_pid lthubd)" ]; then
    if [ "$tty" = 1 ]; then echo; fi
    sb_say "lthubd exited on its own: last lines of $(sb_rel "$SB_LOGS")/lthubd.log:" >&2
    tail -n 20 "$SB_LOGS/lthubd.log" >&2
    exit_code=1
    break
  fi
  # lthub top measures over one second: it is also the loop's pause.
  "$SB_LTHUB" top --once --json --interval 1 --admin "$SB_ADMIN" >"$SB_LOGS/progress.json" 2>/dev/null &
  wait $! || sleep 1
  line=$(sb_progress "$SB_LOGS/progress.json" || true)
  rm -f "$SB_LOGS/progress.json"
  [ -n "$line" ] || continue
  elapsed=$((SECONDS - started))
  if [ "$tty" = 1 ]; then
    printf '\r\033[K[%4ss] %s' "$elapsed" "$line"
  elif [ $((elapsed - last_line)) -ge 5 ]; then
    echo "progress [${elapsed}s] $line"
    last_line=$elapsed
  fi
done
if [ "$tty" = 1 ]; then echo; fi
cleanup
exit "$exit_code"
