#!/usr/bin/env bash
# /metrics of a live hub with traffic (a publisher, a sink, a dead letter)
# passes `promtool check metrics` with nothing to say, and carries the
# figures operators need: per connector messages and bytes in and out, queue
# depth, in flight, retries, dead letters, connected; commit latency and
# batch size histograms; store size; alerts by kind.
# usage: test_metrics.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
command -v promtool >/dev/null || hub_fail "promtool missing (deploy/deps.sh installs prometheus)"
hub_init
hub_keys pub sink
hub_config <<CFG
delivery
    max_attempts = 2
    backoff_min = 50
    backoff_max = 100
routes
    route
        kind = "document"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" --retry-match POISON 2>>"$HUB_DIR/sink.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 1 --prefix POISON --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 300 --size 2000 --prefix GOOD --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 30 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 300 ]' || hub_fail "traffic stalled"
hub_wait 30 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 1 ]' || hub_fail "no dead letter"
curl -sf "http://$HUB_ADMIN/metrics" > "$HUB_DIR/metrics.txt" || hub_fail "GET /metrics"
if ! promtool check metrics < "$HUB_DIR/metrics.txt" > "$HUB_DIR/promtool.txt" 2>&1; then
  cat "$HUB_DIR/promtool.txt" >&2
  hub_fail "promtool check metrics failed"
fi
[ -s "$HUB_DIR/promtool.txt" ] && { cat "$HUB_DIR/promtool.txt" >&2; hub_fail "promtool has something to say"; }
m() { grep -E "^$1 " "$HUB_DIR/metrics.txt" | awk '{print $2}'; }
[ "$(m 'lthub_connector_in_messages_total\{connector="pub"\}')" = 301 ] || hub_fail "pub in_messages: $(m 'lthub_connector_in_messages_total\{connector="pub"\}')"
[ "$(m 'lthub_connector_done_messages_total\{connector="sink"\}')" = 300 ] || hub_fail "sink done"
[ "$(m 'lthub_connector_in_bytes_total\{connector="pub"\}')" -ge 600000 ] || hub_fail "pub in_bytes"
[ "$(m 'lthub_connector_out_bytes_total\{connector="sink"\}')" -ge 600000 ] || hub_fail "sink out_bytes"
[ "$(m 'lthub_connector_connected\{connector="sink"\}')" = 1 ] || hub_fail "sink connected"
[ "$(m 'lthub_connector_dead_letters_messages\{connector="sink"\}')" = 1 ] || hub_fail "sink dead"
[ "$(m 'lthub_connector_retries_total\{connector="sink"\}')" -ge 1 ] || hub_fail "sink retries"
[ "$(m 'lthub_connector_queue_depth_messages\{connector="sink"\}')" = 0 ] || hub_fail "sink queue"
m 'lthub_connector_inflight_messages\{connector="sink"\}' | grep -qx '[0-9]*' || hub_fail "inflight"
[ "$(m lthub_store_size_bytes)" -gt 600000 ] || hub_fail "store size"
[ "$(m 'lthub_alerts\{kind="dead_letter"\}')" = 1 ] || hub_fail "dead letter alert gauge"
[ "$(m 'lthub_alerts\{kind="connector_down"\}')" = 0 ] || hub_fail "connector_down alert gauge"
commits=$(m lthub_store_commits_total)
[ "$(m 'lthub_store_commit_duration_seconds_bucket\{le="\+Inf"\}')" = "$commits" ] || hub_fail "commit histogram count != commits"
[ "$(m 'lthub_store_commit_batch_messages_count')" = "$commits" ] || hub_fail "batch histogram count"
[ "$(m 'lthub_store_commit_batch_messages_sum')" -ge 600 ] || hub_fail "batch histogram sum"
#  Every PUBLISH read was answered once, and no answer came before its read.
[ "$(m 'lthub_publish_confirm_duration_seconds_count')" = 301 ] ||
  hub_fail "confirm histogram count: $(m 'lthub_publish_confirm_duration_seconds_count')"
[ "$(m 'lthub_publish_confirm_duration_seconds_bucket\{le="\+Inf"\}')" = 301 ] || hub_fail "confirm +Inf"
awk '/^lthub_publish_confirm_duration_seconds_sum / {exit !($2 > 0 && $2 < 301 * 5)}' \
  "$HUB_DIR/metrics.txt" || hub_fail "confirm histogram sum"
grep -c '^# HELP' "$HUB_DIR/metrics.txt" >/dev/null
echo "PASS: promtool accepts /metrics ($(grep -c '^# HELP' "$HUB_DIR/metrics.txt") families, $(grep -vc '^#' "$HUB_DIR/metrics.txt") samples); figures match the traffic"
