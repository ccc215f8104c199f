#!/usr/bin/env bash
# The sandbox that deploy/quickstart.sh runs: its layout, its ports (DESIGN.md
# section 10 plus an optional offset), the files it generates once (keys,
# secrets, admin token, DMS systems file, lthub.cfg) and the processes it
# starts and stops by PID (pid files in run/, each with the process's start
# time so that a recycled PID is never mistaken for ours).
#
# quickstart.sh sources this file. Run directly, it is a traffic loop that
# quickstart.sh starts in the background and stops with SIGTERM:
#   deploy/sandbox.sh dms-traffic SIM FIXTURES MIX DMS-URL AXIS-URL SECRETS
#     lthub-sim dms generators as the QLVB&DH systems and the ministries;
#   deploy/sandbox.sh traffic TESTCONN ENDPOINT KEYS RECIPIENT
#     lthub-testconn demo documents (when lthub-dms is not built).
# Sample indicator reports (until lthubd builds them at period ends) come
# from `lthub-sim report-gen`, which quickstart.sh starts on its own.
# shellcheck disable=SC2034  # SB_* variables are read by quickstart.sh

# Fixed facts of the sandbox.
SB_PROVINCE=H26                 # the province code of the demo
SB_DEMO_AGENCY=000.00.99.H26    # recipient of lthub-testconn demo traffic
SB_DEMO_ROUND=50                # documents per demo publishing round
# The hub's connectors and their options: data, in sandbox-connectors.txt.
SB_CONNECTORS_FILE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sandbox-connectors.txt"
SB_CONNECTORS=$(awk '!/^[[:space:]]*#/ && NF && !seen[$1]++ {printf "%s%s", sep, $1; sep = " "}' \
  "$SB_CONNECTORS_FILE")   # the hub's connectors, in order
SB_REPORT_EVERY_MS=10000        # a sample report this often (lthub-sim report-gen)

# Print a line for the operator.
sb_say() { printf '%s\n' "$*"; }

# Print an error and exit.
sb_die() {
  printf 'lthub sandbox: %s\n' "$*" >&2
  exit 1
}

# Path relative to the checkout when it lies inside it (for messages).
sb_rel() {
  case "$1" in
    "$SB_TOP"/*) printf '%s' "${1#"$SB_TOP"/}" ;;
    *) printf '%s' "$1" ;;
  esac
}

# Set every SB_* path and port from SB_TOP, SB_BIN, SB_DIR and the requested
# offset (empty: the one the sandbox was made with, else 0).
sb_init() {
  local want_offset=$1 made_offset=""
  case "$SB_DIR" in
    *[[:space:]\"\'\\]*) sb_die "the sandbox path '$SB_DIR' must not contain blanks or quotes" ;;
  esac
  SB_RUN=$SB_DIR/run
  SB_LOGS=$SB_DIR/logs
  SB_KEYS=$SB_DIR/keys
  SB_SECRETS=$SB_DIR/secrets
  SB_CFG=$SB_DIR/lthub.cfg
  SB_ENV=$SB_DIR/sandbox.env
  SB_TOKEN=$SB_DIR/admin.token
  SB_DMS_SYSTEMS=$SB_DIR/dms-systems.cfg
  if [ -f "$SB_ENV" ]; then
    made_offset=$(sed -n 's/^offset=\([0-9][0-9]*\)$/\1/p' "$SB_ENV")
  fi
  if [ -n "$want_offset" ] && [ -n "$made_offset" ] && [ "$want_offset" != "$made_offset" ]; then
    sb_die "$(sb_rel "$SB_DIR") was made with --port-offset $made_offset; use that, another --sandbox, or remove $(sb_rel "$SB_DIR")"
  fi
  SB_OFFSET=${want_offset:-${made_offset:-0}}
  case "$SB_OFFSET" in
    '' | *[!0-9]*) sb_die "--port-offset must be a number" ;;
  esac
  if [ "$SB_OFFSET" -gt 57000 ]; then
    sb_die "--port-offset must be at most 57000"
  fi
  SB_PORT_BROKER=$((5570 + SB_OFFSET))
  SB_PORT_ADMIN=$((8470 + SB_OFFSET))
  SB_PORT_DMS=$((8480 + SB_OFFSET))
  SB_PORT_PORTAL=$((8481 + SB_OFFSET))
  SB_PORT_SIM_AXIS=$((8490 + SB_OFFSET))
  SB_PORT_SIM_PORTAL=$((8491 + SB_OFFSET))
  SB_PORT_SIM_REPORT=$((8492 + SB_OFFSET))
  SB_ENDPOINT=tcp://127.0.0.1:$SB_PORT_BROKER
  SB_ADMIN=127.0.0.1:$SB_PORT_ADMIN
  SB_LTHUBD=$SB_BIN/broker/lthubd
  SB_LTHUB=$SB_BIN/broker/lthub
  SB_SIM=$SB_BIN/tests/sim/lthub-sim
  SB_TESTCONN=$SB_BIN/tests/lthub-testconn
}

# Path of connector NAME's program in the build (it may not exist yet).
sb_connector_bin() { printf '%s' "$SB_BIN/connectors/$1/lthub-$1"; }

# True when connector NAME is built.
sb_have_connector() { [ -x "$(sb_connector_bin "$1")" ]; }

# True when lthub-sim has mode MODE.
sb_have_sim() { [ -x "$SB_SIM" ] && "$SB_SIM" --help 2>/dev/null | grep -q "^  $1 "; }

# A random hex secret of N bytes.
sb_random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Write FILE (mode 0600) with a random secret unless it exists.
sb_secret_file() {
  if [ ! -s "$1" ]; then
    (umask 077 && sb_random_hex 24 >"$1" && printf '\n' >>"$1")
  fi
  chmod 600 "$1"
}

# Directories, ports record, admin token, secrets and keys; each made only
# when missing, so running again keeps everything.
sb_prepare() {
  mkdir -p "$SB_DIR" "$SB_RUN" "$SB_LOGS" "$SB_DIR/data" "$SB_DIR/sim/axis"
  (umask 077 && mkdir -p "$SB_SECRETS")
  if [ ! -f "$SB_ENV" ]; then
    {
      echo "# Made by deploy/quickstart.sh: the port offset and province of this sandbox."
      echo "offset=$SB_OFFSET"
      echo "province=$SB_PROVINCE"
    } >"$SB_ENV"
  fi
  sb_secret_file "$SB_TOKEN"
  local name
  # The hub's own system id on the national axis, and two ministries there.
  # The one-stop system's password at lthub-portal, the hub's at DVCQG.
  for name in axis-hub-h26 axis-vpcp axis-ministry-g12 dms-qlvb-tinh dms-qlvb-huyen \
    portal-onestop portal-dvcqg; do
    sb_secret_file "$SB_SECRETS/$name.secret"
  done
  # The bearer token the reporting system simulator gives the hub.
  sb_secret_file "$SB_SECRETS/report.token"
  local out
  # shellcheck disable=SC2086  # the connector list is word-split on purpose
  out=$("$SB_LTHUB" keygen --dir "$SB_KEYS" --broker $SB_CONNECTORS demo-pub demo-sink report-gen 2>&1) \
    || sb_die "lthub keygen failed: $out"
  grep '^created' <<<"$out" | sed 's/^/  keys: /' || true
  sb_write_dms_systems
}

# The DMS client systems that lthub-dms serves (ZPL, connectors/dms/
# lt_dms_systems.h): two demo QLVB&DH systems, one for the province's
# departments and one for a district.
sb_write_dms_systems() {
  [ -f "$SB_DMS_SYSTEMS" ] && return 0
  cat >"$SB_DMS_SYSTEMS" <<EOF
#   The DMS (QLVB&DH) client systems of the sandbox's lthub-dms.
#   id: the XroadVnpt-systemid a DMS sends; secret_file: its HMAC secret
#   (mode 0600, relative to this file); agencies: the codes it sends as and
#   receives for (exact codes, *SUFFIX or PREFIX*).
system
    #   the provincial People's Committee and two departments
    id = "qlvb-tinh"
    secret_file = "secrets/dms-qlvb-tinh.secret"
    agencies = "000.00.00.H26, 000.00.12.H26, 000.00.13.H26"
system
    #   a district and its units
    id = "qlvb-huyen"
    secret_file = "secrets/dms-qlvb-huyen.secret"
    agencies = "000.03.31.H26, 000.01.12.H26"
EOF
}

# Which connectors this sandbox runs: the built ones, then "demo" when the
# DMS traffic generator cannot drive the hub (lthub-testconn traffic).
sb_wanted() {
  local name out=""
  for name in $SB_CONNECTORS; do
    if sb_have_connector "$name"; then out="$out $name"; fi
  done
  if ! { sb_have_connector dms && sb_have_sim dms; }; then out="$out demo"; fi
  printf '%s' "${out# }"
}

# ZPL lines for connector NAME: its section, with the program and the
# options of sandbox-connectors.txt it knows when built, else a comment.
sb_connector_zpl() {
  local name=$1 bin help line_name opt raw value
  bin=$(sb_connector_bin "$name")
  echo "    $name"
  if ! sb_have_connector "$name"; then
    echo "        #   lthub-$name is not built yet: known to the routes, not started"
    return 0
  fi
  echo "        program = \"$bin\""
  help=$("$bin" --help 2>&1 || true)
  while read -r line_name opt raw; do
    case $line_name in '' | '#'*) continue ;; esac
    [ "$line_name" = "$name" ] || continue
    grep -q -- "--$opt\\b" <<<"$help" || continue
    # The value's ${SB_...} are the sandbox's own variables (this repository's file).
    eval "value=\"$raw\""
    echo "        $opt = \"$value\""
  done <"$SB_CONNECTORS_FILE"
}

# Extra options of simulator NAME (lthub-sim NAME) in this sandbox.
sb_sim_args() {
  case $1 in
    portal) printf '%s' "--username hub-h26 --password-file $SB_SECRETS/portal-dvcqg.secret" ;;
    report) printf '%s' "--token-file $SB_SECRETS/report.token --store $SB_DIR/sim/report" ;;
  esac
}

# Write lthub.cfg for the connectors in WANTED (see sb_wanted).
sb_write_config() {
  local wanted=" $1 " name
  {
    cat <<EOF
#   lthub sandbox configuration, written by deploy/quickstart.sh for: $1
#   An edited file is kept as it is; delete it to have it written again.
#   Every setting with its default and help: lthubd --defaults
#   Check it offline: lthubd --check-config $SB_CFG
broker
    endpoint = "$SB_ENDPOINT"
    data = "$SB_DIR/data"
    keys = "$SB_KEYS"
    province = "$SB_PROVINCE"
    heartbeat = 1000
delivery
    max_attempts = 20
    #   a sandbox retries sooner than production (default 300000)
    backoff_max = 30000
supervise
    restart_max = 10000
    stop_timeout = 5000
admin
    listen = "$SB_ADMIN"
    token_file = "$SB_TOKEN"
log
    level = "info"
#   Counting (docs/indicators.md): the sandbox's agency directory.
ledger
    agencies = "$SB_TOP/deploy/agencies-h26.txt"
    calendar = "nd09"
#   The routes of DESIGN.md section 6 for province $SB_PROVINCE, first match wins.
routes
EOF
    if [[ $wanted == *" demo "* ]]; then
      cat <<EOF
    #   demo traffic: $SB_DEMO_AGENCY stands for an agency whose system is the
    #   lthub-testconn sink below (until lthub-dms and lthub-sim dms drive the hub)
    route
        kind = "document"
        match = "$SB_DEMO_AGENCY"
        to = "demo-sink"
EOF
    fi
    cat <<EOF
    route
        kind = "document,status"
        match = "*.$SB_PROVINCE"
        to = "dms"
    route
        kind = "document,status"
        match = "*"
        to = "axis"
    route
        kind = "dossier,progress"
        match = "*"
        to = "portal"
    route
        kind = "report"
        match = "*"
        to = "report"
#   Connectors with a program are started and supervised by lthubd.
connectors
EOF
    for name in $SB_CONNECTORS; do
      sb_connector_zpl "$name"
    done
    if [[ $wanted == *" report "* ]] && sb_have_sim report-gen; then
      cat <<EOF
    #   report-gen publishes sample reports from deploy/quickstart.sh (not
    #   supervised), until lthubd builds them itself at period ends
    report-gen
EOF
    fi
    if [[ $wanted == *" demo "* ]]; then
      cat <<EOF
    demo-sink
        program = "$SB_TESTCONN"
        args = "--name demo-sink --broker $SB_ENDPOINT --keys $SB_KEYS"
    #   demo-pub publishes from deploy/quickstart.sh (not supervised)
    demo-pub
EOF
    fi
  } >"$SB_CFG.new"
  mv "$SB_CFG.new" "$SB_CFG"
  printf '%s %s\n' "$(sha256sum "$SB_CFG" | cut -d' ' -f1)" "$1" >"$SB_DIR/.lthub.cfg.made"
}

# Write lthub.cfg when missing; write it again when the set of built
# connectors changed and the file is still as the script wrote it.
sb_config() {
  local wanted made_hash="" made_set="" hash
  wanted=$(sb_wanted)
  if [ -f "$SB_DIR/.lthub.cfg.made" ]; then
    read -r made_hash made_set <"$SB_DIR/.lthub.cfg.made" || true
  fi
  if [ ! -f "$SB_CFG" ]; then
    sb_write_config "$wanted"
    sb_say "  config: wrote $(sb_rel "$SB_CFG")"
    return 0
  fi
  hash=$(sha256sum "$SB_CFG" | cut -d' ' -f1)
  if [ "$made_set" = "$wanted" ]; then
    return 0
  fi
  if [ "$hash" = "$made_hash" ]; then
    sb_write_config "$wanted"
    sb_say "  config: rewrote $(sb_rel "$SB_CFG") for what is built now ($wanted)"
  else
    sb_say "  config: $(sb_rel "$SB_CFG") was edited, so it is kept; the build now has: $wanted"
    sb_say "          (delete it to have it written again)"
  fi
}

# Start time of process PID (clock ticks since boot), empty if it is gone
# or has exited and waits to be reaped (a zombie).
sb_start_time() {
  local stat
  stat=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
  case $stat in
    Z* | X* | '') return 0 ;;
  esac
  cut -d' ' -f20 <<<"$stat"
}

# PID recorded in run/NAME.pid if that process is still the one we started.
sb_live_pid() {
  local file=$SB_RUN/$1.pid pid start
  [ -f "$file" ] || return 0
  read -r pid start <"$file" || return 0
  [ -n "${pid:-}" ] && [ -n "${start:-}" ] || return 0
  if [ "$(sb_start_time "$pid")" = "$start" ]; then printf '%s' "$pid"; fi
}

# Start NAME in its own session (Ctrl-C in the terminal reaches only
# quickstart.sh, which then stops everything in order), output appended to
# logs/NAME.log; records run/NAME.pid and sets SB_PID.
sb_spawn() {
  local name=$1 log=$SB_LOGS/$1.log
  shift
  printf '\n==== %s started %s\n' "$name" "$(date '+%Y-%m-%d %H:%M:%S')" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null &
  SB_PID=$!
  local start="" i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    start=$(sb_start_time "$SB_PID")
    [ -n "$start" ] && break
    sleep 0.05
  done
  echo "$SB_PID $start" >"$SB_RUN/$name.pid"
}

# Stop process NAME: SIGTERM, wait up to SECONDS (default 10), then SIGKILL.
# Prints the exit status for our own children; removes run/NAME.pid.
sb_stop() {
  local name=$1 seconds=${2:-10} pid i status=0
  SB_STATUS=0
  pid=$(sb_live_pid "$name")
  if [ -z "$pid" ]; then
    rm -f "$SB_RUN/$name.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 10; i++)); do
    [ -n "$(sb_live_pid "$name")" ] || break
    sleep 0.1
  done
  if [ -n "$(sb_live_pid "$name")" ]; then
    sb_say "  $name (pid $pid) did not stop within ${seconds}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || status=$?
  rm -f "$SB_RUN/$name.pid"
  SB_STATUS=$status
}

# Stop what a previous run left behind (killed before it could clean up).
sb_stop_stale() {
  local file name pid
  for file in "$SB_RUN"/*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    [ "$name" = quickstart ] && continue
    pid=$(sb_live_pid "$name")
    if [ -n "$pid" ]; then
      sb_say "  stopping $name (pid $pid) left running by an earlier run"
      sb_stop "$name" 10
    fi
    rm -f "$file"
  done
}

# True when 127.0.0.1:PORT cannot be bound the way servers bind it
# (SO_REUSEADDR): something listens there, or a connection holds it.
sb_port_busy() {
  if command -v python3 >/dev/null; then
    if python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; then
      return 1
    fi
    return 0
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# Fail with a clear message when a port the sandbox needs is taken.
sb_check_ports() {
  local busy="" pair
  for pair in "$@"; do
    if sb_port_busy "${pair#*=}"; then busy="$busy ${pair%%=*}=${pair#*=}"; fi
  done
  [ -z "$busy" ] && return 0
  sb_say "lthub sandbox: these ports are already in use:$busy" >&2
  sb_say "  Another program (or an lthub started by hand) is listening there." >&2
  sb_say "  See who: ss -ltnp | grep -E ':($(echo "$busy" | sed 's/[^ ]*=//g; s/^ //; s/ /|/g'))\\b'" >&2
  sb_say "  Stop it, or run the sandbox on other ports: --port-offset N --sandbox DIR" >&2
  exit 1
}

# Wait until lthubd answers on its admin API (at most SECONDS); false if it
# exited or logged that it could not listen (lines of LOG after byte SKIP).
sb_wait_hub() {
  local seconds=$1 pid=$2 log=$3 skip=$4 i
  for ((i = 0; i < seconds * 10; i++)); do
    if tail -c +"$((skip + 1))" "$log" | grep -q 'event=admin_failed'; then return 1; fi
    if "$SB_LTHUB" status --admin "$SB_ADMIN" --json >/dev/null 2>&1; then return 0; fi
    [ -n "$(sb_start_time "$pid")" ] || return 1
    sleep 0.1
  done
  return 1
}

# The connectors lthubd supervises in the current config (names with a program).
sb_supervised() {
  awk '/^connectors/ {c = 1; next} /^[^ #]/ {c = 0}
       c && /^    [^ #]/ {name = $1}
       c && /^        program *=/ {print name}' "$SB_CFG"
}

# Names (from the arguments) not connected according to lthub status.
sb_not_connected() {
  "$SB_LTHUB" status --admin "$SB_ADMIN" --json 2>/dev/null | python3 -c '
import json, sys
try:
    up = {c["name"] for c in json.load(sys.stdin)["connectors"] if c.get("connected")}
except Exception:
    up = set()
print(" ".join(n for n in sys.argv[1:] if n not in up))' "$@"
}

# The demo traffic loop: rounds of SB_DEMO_ROUND documents from lthub-testconn
# to the demo agency, one round a second, until SIGTERM or SIGINT.
sb_traffic() {
  local testconn=$1 endpoint=$2 keys=$3 to=$4 run child="" round=0 stop=0
  run=$(date +%s)
  trap 'stop=1; if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi' TERM INT
  echo "demo traffic: rounds of $SB_DEMO_ROUND documents to $to, keys DEMO-$run-ROUND-N"
  while [ "$stop" = 0 ]; do
    round=$((round + 1))
    "$testconn" --name demo-pub --broker "$endpoint" --keys "$keys" --count "$SB_DEMO_ROUND" \
      --size 2048 --prefix "DEMO-$run-$round" --to "$to" --log-level warning &
    child=$!
    # wait returns early when a trapped signal arrives; then wait again.
    while kill -0 "$child" 2>/dev/null; do wait "$child" 2>/dev/null || true; done
    child=""
    [ "$stop" = 0 ] || break
    sleep 1 &
    wait $! 2>/dev/null || true
  done
  echo "demo traffic: stopped after $round rounds"
}

# A minimal one-page PDF without a signature, for the DMS traffic generator
# when the project's fixtures (with a signed PDF) are not beside the checkout.
# MIX must end with the paper weight (",paper=N").
sb_write_pdf() {
  mkdir -p "$(dirname "$1")"
  cat >"$1" <<'EOF'
%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj
trailer << /Root 1 0 R >>
%%EOF
EOF
}

# The DMS traffic loop: every round, the two QLVB&DH systems send through
# lthub-dms and the two ministries send through the axis simulator (lthub-axis
# brings those in), each a few documents with replies, statuses and
# revocations mixed in, and every one of them empties its mailbox; then a
# pause of a second. A new seed each round gives new DocumentIds. Until
# SIGTERM or SIGINT.
sb_traffic_dms() {
  local sim=$1 fixtures=$2 mix=$3 dms_url=$4 axis_url=$5 secrets=$6
  local run round=0 stop=0 pid seed
  local -a pids=()
  run=$(($(date +%s) % 1000000))
  trap 'stop=1; for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done' TERM INT
  echo "dms traffic: rounds from qlvb-tinh, qlvb-huyen (lthub-dms) and vpcp, ministry-g12 (axis)"
  # The paper register (registerDocuments) is the hub's own extension: the
  # ministries on the axis send documents only.
  local common=(--fixtures "$fixtures" --rate 20 --poll --replies 20 --statuses 10
    --revocations 5 --timeout 10000)
  local dms_mix=(--mix "$mix") axis_mix=(--mix "${mix%,paper=*}")
  while [ "$stop" = 0 ]; do
    round=$((round + 1))
    seed=$((run * 1000000 + round % 1000000))
    pids=()
    "$sim" dms "${common[@]}" "${dms_mix[@]}" --seed "$seed" --count 8 --url "$dms_url" --system qlvb-tinh \
      --secret-file "$secrets/dms-qlvb-tinh.secret" --agency 000.00.12.H26 \
      --to 000.00.13.H26,000.03.31.H26,000.00.00.G22 &
    pids+=($!)
    "$sim" dms "${common[@]}" "${dms_mix[@]}" --seed "$seed" --count 5 --url "$dms_url" --system qlvb-huyen \
      --secret-file "$secrets/dms-qlvb-huyen.secret" --agency 000.03.31.H26 \
      --to 000.00.12.H26,000.00.00.G12 &
    pids+=($!)
    "$sim" dms "${common[@]}" "${axis_mix[@]}" --seed "$seed" --count 4 --url "$axis_url" --system vpcp \
      --secret-file "$secrets/axis-vpcp.secret" --agency 000.00.00.G22 \
      --to 000.00.12.H26,000.03.31.H26 &
    pids+=($!)
    "$sim" dms "${common[@]}" "${axis_mix[@]}" --seed "$seed" --count 2 --url "$axis_url" --system ministry-g12 \
      --secret-file "$secrets/axis-ministry-g12.secret" --agency 000.00.00.G12 \
      --to 000.00.13.H26 &
    pids+=($!)
    # wait returns early when a trapped signal arrives; then wait again.
    for pid in "${pids[@]}"; do
      while kill -0 "$pid" 2>/dev/null; do wait "$pid" 2>/dev/null || true; done
    done
    pids=()
    [ "$stop" = 0 ] || break
    sleep 1 &
    wait $! 2>/dev/null || true
  done
  echo "dms traffic: stopped after $round rounds"
}

# The one-stop traffic loop: every round, lthub-sim onestop sends a few
# dossiers through lthub-portal (new records, progress steps, supplements,
# final updates, channels 1/2/3, postal returns), then a pause of a second;
# a new seed each round gives new MaHoSo. Until SIGTERM or SIGINT.
sb_traffic_portal() {
  local sim=$1 url=$2 secrets=$3 run round=0 stop=0 pid=""
  run=$(($(date +%s) % 1000000))
  trap 'stop=1; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true' TERM INT
  echo "portal traffic: rounds of 10 dossiers from the one-stop system (via lthub-portal)"
  while [ "$stop" = 0 ]; do
    round=$((round + 1))
    "$sim" onestop --url "$url" --username onestop --password-file "$secrets/portal-onestop.secret" \
      --seed $(((run * 1000 + round) % 1000000000)) --count 10 --rate 5 --batch 2 --retries 5 \
      --timeout 10000 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do wait "$pid" 2>/dev/null || true; done
    pid=""
    [ "$stop" = 0 ] || break
    sleep 1 &
    wait $! 2>/dev/null || true
  done
  echo "portal traffic: stopped after $round rounds"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    traffic)
      [ $# -eq 5 ] || sb_die "usage: sandbox.sh traffic TESTCONN ENDPOINT KEYS RECIPIENT"
      sb_traffic "$2" "$3" "$4" "$5"
      ;;
    dms-traffic)
      [ $# -eq 7 ] || sb_die "usage: sandbox.sh dms-traffic SIM FIXTURES MIX DMS-URL AXIS-URL SECRETS"
      sb_traffic_dms "$2" "$3" "$4" "$5" "$6" "$7"
      ;;
    portal-traffic)
      [ $# -eq 4 ] || sb_die "usage: sandbox.sh portal-traffic SIM PORTAL-URL SECRETS"
      sb_traffic_portal "$2" "$3" "$4"
      ;;
    *) sb_die "usage: sandbox.sh traffic|dms-traffic|portal-traffic ... (run by quickstart.sh)" ;;
  esac
fi
