#!/usr/bin/env bash
# Stuck-item alarms from the counting ledger, with thresholds of a few
# seconds: a document delivered to an agency of the province raises
# document_no_status (one alert for the agency, its count and oldest
# DocumentId) once alerts/status_within has passed; a status 02 does not
# clear it, a status 01 from the recipient does. A received dossier raises
# dossier_not_synced once alerts/sync_within has passed since its
# NgayTiepNhan (here: now); its dossier_synced fact
# clears it. Each is checked in /api/v1/alerts, lthub alerts (exit 3, the
# table) and the lthub_alerts gauge of /metrics.
# usage: test_stuck_alerts.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
LTHUB="$BIN/broker/lthub"
hub_init
hub_keys pub sink
sed -i 's/^    heartbeat = .*/&\n    province = "H26"/' "$HUB_DIR/lthub.cfg"
hub_config <<CFG
alerts
    status_within = 3
    sync_within = 3
routes
    route
        kind = "document,status,dossier"
        match = "*"
        to = "sink"
connectors
    pub
    sink
CFG
hub_start
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" 2>>"$HUB_DIR/sink.log"
A="--admin $HUB_ADMIN"
T=$'\t'
# KIND KEY BTYPE REVISION SENDER RECIPIENTS ATTRS PAYLOAD (tab-separated, - = empty)
publish() {   # NAME: publishes $HUB_DIR/NAME.tsv, all accepted
  : > "$HUB_DIR/$1.rec"
  "$BIN/tests/lthub-testconn" $(hub_conn_args pub) --record "$HUB_DIR/$1.rec" \
    --script "$HUB_DIR/$1.tsv" 2>>"$HUB_DIR/pub.log"
  ! grep -q rejected "$HUB_DIR/$1.rec" || hub_fail "rejected: $(cat "$HUB_DIR/$1.rec")"
  [ "$(wc -l < "$HUB_DIR/$1.rec")" = "$(wc -l < "$HUB_DIR/$1.tsv")" ] || hub_fail "$1 not all accepted"
}
# FIELD of the alerts of KIND (one line each), from GET /api/v1/alerts.
alerts_of() {
  curl -sf "http://$HUB_ADMIN/api/v1/alerts" | python3 -c "
import json, sys
for a in json.load(sys.stdin)['alerts']:
    if a['kind'] == '$1':
        print('%s %s %s' % (a['agency'], a['count'], a['oldest']))"
}
metric() { curl -sf "http://$HUB_ADMIN/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

{
  echo "document${T}D1${T}new${T}-${T}000.00.12.H26${T}000.00.13.H26${T}sig=valid${T}-"
  echo "document${T}D2${T}new${T}-${T}000.00.12.H26${T}000.00.13.H26${T}sig=valid${T}-"
  printf 'dossier\tH1\t-\t2\t000.00.12.H26\t-\t-\t{"MaHoSo":"H1","MaTTHC":"1.001","KenhThucHien":"2","NgayTiepNhan":"%s","NgayHenTra":"20260920170000","NgayKetThucXuLy":"","TrangThaiHoSo":2,"NgayTra":"","HinhThuc":0,"DonViXuLy":"000.00.12.H26"}\n' "$(date -u -d "+7 hours" +%Y%m%d%H%M%S)"
} > "$HUB_DIR/first.tsv"
t0=$(date +%s%N)
publish first
hub_wait 20 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 3 ]' || hub_fail "not delivered"
# Within the threshold (when this machine was quick enough to tell): no alert yet.
if [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2000 ]; then
  [ -z "$(alerts_of document_no_status)" ] || hub_fail "document_no_status before status_within"
  [ -z "$(alerts_of dossier_not_synced)" ] || hub_fail "dossier_not_synced before sync_within"
fi
hub_wait 20 '[ -n "$(alerts_of document_no_status)" ]' || hub_fail "no document_no_status alert"
[ "$(alerts_of document_no_status)" = "000.00.13.H26 2 D1" ] \
  || hub_fail "document_no_status: $(alerts_of document_no_status) (want one alert for 000.00.13.H26, 2 documents, oldest D1)"
hub_wait 20 '[ -n "$(alerts_of dossier_not_synced)" ]' || hub_fail "no dossier_not_synced alert"
[ "$(alerts_of dossier_not_synced)" = "000.00.12.H26 1 H1" ] \
  || hub_fail "dossier_not_synced: $(alerts_of dossier_not_synced)"
rc=0; "$LTHUB" alerts $A > "$HUB_DIR/alerts.txt" || rc=$?
[ "$rc" = 3 ] || hub_fail "lthub alerts exit $rc with alerts active (want 3)"
grep -q '^document_no_status .* 000.00.13.H26 .*D1' "$HUB_DIR/alerts.txt" || hub_fail "alerts table: $(cat "$HUB_DIR/alerts.txt")"
grep -q '^dossier_not_synced .* 000.00.12.H26 .*H1' "$HUB_DIR/alerts.txt" || hub_fail "alerts table: $(cat "$HUB_DIR/alerts.txt")"
[ "$(metric 'lthub_alerts{kind="document_no_status"}')" = 1 ] || hub_fail "metrics document_no_status gauge"
[ "$(metric 'lthub_alerts{kind="dossier_not_synced"}')" = 1 ] || hub_fail "metrics dossier_not_synced gauge"
echo "ok - document_no_status and dossier_not_synced raised after their thresholds"

# A status 02 (rejected) is not a receipt (one from an agency that is not a
# recipient is refused by the hub).
{
  echo "status${T}D1${T}02${T}-${T}000.00.13.H26${T}000.00.12.H26${T}-${T}-"
} > "$HUB_DIR/second.tsv"
publish second
sleep 3   # past the alerts' cache
[ "$(alerts_of document_no_status)" = "000.00.13.H26 2 D1" ] \
  || hub_fail "after status 02: $(alerts_of document_no_status)"
# Status 01 for D1 and 03 for D2 from the recipient; the dossier's sync.
{
  echo "status${T}D1${T}01${T}-${T}000.00.13.H26${T}000.00.12.H26${T}-${T}-"
} > "$HUB_DIR/third.tsv"
publish third
hub_wait 20 '[ "$(alerts_of document_no_status)" = "000.00.13.H26 1 D2" ]' \
  || hub_fail "after status 01 for D1: $(alerts_of document_no_status) (want D2 alone)"
{
  echo "status${T}D2${T}03${T}-${T}000.00.13.H26${T}000.00.12.H26${T}-${T}-"
  echo "fact${T}H1${T}dossier_synced${T}1${T}000.00.12.H26${T}-${T}-${T}{\"MaHoSo\":\"H1\",\"revision\":\"1\"}"
} > "$HUB_DIR/fourth.tsv"
publish fourth
hub_wait 20 '[ -z "$(alerts_of document_no_status)" ] && [ -z "$(alerts_of dossier_not_synced)" ]' \
  || hub_fail "did not clear: $(curl -sf "http://$HUB_ADMIN/api/v1/alerts")"
rc=0; "$LTHUB" alerts $A > "$HUB_DIR/alerts.txt" || rc=$?
[ "$rc" = 0 ] || hub_fail "lthub alerts exit $rc with no alert (want 0): $(cat "$HUB_DIR/alerts.txt")"
[ "$(metric 'lthub_alerts{kind="document_no_status"}')" = 0 ] || hub_fail "metrics document_no_status gauge not 0"
[ "$(metric 'lthub_alerts{kind="dossier_not_synced"}')" = 0 ] || hub_fail "metrics dossier_not_synced gauge not 0"
# A clean stop (in the sanitizer build: no leak of the cached alerts).
hub_stop
! grep -q 'Sanitizer' "$HUB_DIR/lthubd.log" || hub_fail "lthubd: $(grep -A5 Sanitizer "$HUB_DIR/lthubd.log")"
echo "PASS: stuck-item alerts raise after their thresholds and clear with status 01/03 and dossier_synced"
