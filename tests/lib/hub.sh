# Shell helpers for end-to-end tests: a throw-away hub in a temporary
# directory. Source it, then call hub_init, write routes/connectors with
# hub_config, hub_start, ... hub_stop. Every process started is stopped by
# its PID on exit (trap). Loopback only; every wait is bounded.
#
#   BIN=path/to/build   (directory with broker/, tests/, connectors/)
#   . tests/lib/hub.sh
#   hub_init                      # HUB_DIR, HUB_PORT, HUB_ADMIN_PORT, keys
#   hub_keys pub sink             # certificates for connectors
#   hub_config <<EOF ... EOF      # extra ZPL appended to the base config
#   hub_relay [--later]           # or: the usual publisher -> sink set-up
#   hub_start                     # lthubd in the background, waits until it serves
#   hub_status_json               # lthub status --json
#   hub_kill / hub_stop

set -u
HUB_PIDS=""

hub_fail() { echo "FAIL: $*" >&2; exit 1; }

# A free TCP port on 127.0.0.1, never one this test was given before
# (tests/lib/free_port.py keeps them in HUB_PORTS_FILE).
HUB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HUB_PORTS_FILE="${TMPDIR:-/tmp}/lthub-ports-$$"
hub_free_port() {
  python3 "$HUB_LIB_DIR/free_port.py" "$HUB_PORTS_FILE"
}

hub_cleanup() {
  for pid in $HUB_PIDS; do kill -9 "$pid" 2>/dev/null || true; done
  # Connectors started by lthubd itself carry this hub's keys directory in
  # their arguments: stop them by PID too, should lthubd have died first.
  if [ -n "${HUB_KEYS:-}" ]; then
    for pid in $(pgrep -f -- "--keys $HUB_KEYS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  fi
  rm -f "$HUB_PORTS_FILE"
  [ -n "${HUB_KEEP:-}" ] || rm -rf "${HUB_DIR:-/nonexistent}"
}

hub_init() {
  HUB_DIR=$(mktemp -d /tmp/lthub-test-XXXXXX)
  HUB_PORT=$(hub_free_port)
  HUB_ADMIN_PORT=$(hub_free_port)
  HUB_ENDPOINT="tcp://127.0.0.1:$HUB_PORT"
  HUB_ADMIN="127.0.0.1:$HUB_ADMIN_PORT"
  HUB_KEYS="$HUB_DIR/keys"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$HUB_DIR/admin.token"
  trap hub_cleanup EXIT
  "$BIN/broker/lthub" keygen --dir "$HUB_KEYS" --broker >/dev/null || hub_fail "keygen"
  cat > "$HUB_DIR/lthub.cfg" <<CFG
broker
    endpoint = "$HUB_ENDPOINT"
    data = "$HUB_DIR/data"
    keys = "$HUB_KEYS"
    heartbeat = ${HUB_HEARTBEAT:-500}
delivery
    # A follow-up whose document the hub never saw (fixtures about documents
    # exchanged before it) waits this long, not the production 10 minutes.
    hold = ${HUB_HOLD:-2000}
admin
    listen = "$HUB_ADMIN"
    token_file = "$HUB_DIR/admin.token"
CFG
}

hub_keys() { "$BIN/broker/lthub" keygen --dir "$HUB_KEYS" "$@" >/dev/null || hub_fail "keygen $*"; }

# Append ZPL (from stdin) to the config.
hub_config() { cat >> "$HUB_DIR/lthub.cfg"; }

# The set-up most relay tests share: certificates for 'pub' and 'sink' (and
# 'later' with --later), documents routed to 'sink', those for
# 000.00.00.X01 to 'later' (which no test process serves, so they stay
# queued), and the connectors list. Add other sections with hub_config.
hub_relay() {
  local later=""
  [ "${1:-}" = "--later" ] && later=1
  hub_keys pub sink ${later:+later}
  {
    echo "routes"
    [ -z "$later" ] || printf '    route\n        kind = "document"\n        match = "000.00.00.X01"\n        to = "later"\n'
    printf '    route\n        kind = "document"\n        match = "*"\n        to = "sink"\n'
    printf 'connectors\n    pub\n    sink\n'
    [ -z "$later" ] || printf '    later\n'
  } >> "$HUB_DIR/lthub.cfg"
}

# Common connector options for a connector NAME.
hub_conn_args() { echo "--name $1 --broker $HUB_ENDPOINT --keys $HUB_KEYS"; }

hub_start() {
  "$BIN/broker/lthubd" --config "$HUB_DIR/lthub.cfg" >>"$HUB_DIR/lthubd.log" 2>&1 &
  HUB_PID=$!
  HUB_PIDS="$HUB_PIDS $HUB_PID"
  for _ in $(seq 1 100); do
    curl -sf "http://$HUB_ADMIN/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$HUB_DIR/lthubd.log" >&2
  hub_fail "lthubd did not start"
}

hub_kill() { kill -9 "$HUB_PID" 2>/dev/null; wait "$HUB_PID" 2>/dev/null || true; }

hub_stop() { kill -TERM "$HUB_PID" 2>/dev/null; wait "$HUB_PID" 2>/dev/null || true; }

# Start a background process, remember its PID in $! and HUB_PIDS.
hub_spawn() { "$@" & HUB_PIDS="$HUB_PIDS $!"; }

hub_status_json() { "$BIN/broker/lthub" status --admin "$HUB_ADMIN" --json; }

# Wait until a shell condition holds, at most $1 seconds.
hub_wait() {
  local seconds=$1; shift
  local i
  for i in $(seq 1 $((seconds * 10))); do
    if eval "$@"; then return 0; fi
    sleep 0.1
  done
  return 1
}

# A JSON field of lthub status (python3 expression on `s`).
hub_stat() {
  hub_status_json | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
