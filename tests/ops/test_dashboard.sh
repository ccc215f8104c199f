#!/usr/bin/env bash
# The dashboard in Debian's headless Chromium, against a hub with simulated
# traffic (a publisher, a slow sink, a dead letter, a connector down): the
# figures the page shows equal the /api/v1/stats reading it rendered, that
# reading lies between API readings taken around it while traffic flows, and
# once traffic stops the page equals the API exactly, alerts and dead letters
# included, and so do the connectors' own figures under their rows (the
# sink's own count of what it recorded, once it equals its record). A
# screenshot is saved beside the test's output.
# usage: test_dashboard.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BIN=$1
. "$2/tests/lib/hub.sh"
CHECK="$2/tests/ops/dashboard_check.py"
BROWSER=$(command -v chromium || true)
[ -n "$BROWSER" ] || hub_fail "chromium missing (deploy/deps.sh installs it)"
SHOT_DIR="$BIN/tests/ops"
mkdir -p "$SHOT_DIR"
hub_init
hub_keys pub sink far
hub_config <<CFG
delivery
    max_attempts = 2
    backoff_min = 50
    backoff_max = 100
alerts
    connector_down = 1
routes
    route
        kind = "document"
        match = "*"
        to = "sink"
connectors
    pub
    sink
    far
CFG
hub_start
A="--admin $HUB_ADMIN"

# Run Chromium on the page; DOM to $1, extra flags after.
browse() {
  local out=$1 prof
  shift
  prof=$(mktemp -d "$HUB_DIR/chromium-XXXXXX")
  timeout 90 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$prof" --virtual-time-budget=6000 "$@" "http://$HUB_ADMIN/" \
    >"$out" 2>>"$HUB_DIR/chromium.log" || hub_fail "chromium failed: $(tail -5 "$HUB_DIR/chromium.log")"
}

# The poisoned keys carry markup, as outside parties' text may (keys, agency
# codes, a peer's error kept as the reason, the connector's last error): the
# page must show it as text.
POISON='POISON<img src=x onerror=document.title=9>'
hub_spawn "$BIN/tests/lthub-testconn" $(hub_conn_args sink) --record "$HUB_DIR/sink.rec" --fail-match POISON --delay-ms 2 2>>"$HUB_DIR/sink.log"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 2 --prefix "$POISON" --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log"
hub_wait 20 '[ "$(hub_stat s[\"store\"][\"dead\"])" = 2 ]' || hub_fail "no dead letters"
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 6000 --prefix LIVE --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log" &
PUB=$!; HUB_PIDS="$HUB_PIDS $PUB"
hub_wait 20 '[ -f "$HUB_DIR/sink.rec" ] && [ $(wc -l < "$HUB_DIR/sink.rec") -ge 200 ]' || hub_fail "no live traffic"

# While traffic flows.
curl -sf "http://$HUB_ADMIN/api/v1/stats" >"$HUB_DIR/before.json"
browse "$HUB_DIR/live.html" --dump-dom
curl -sf "http://$HUB_ADMIN/api/v1/stats" >"$HUB_DIR/after.json"
curl -sf "http://$HUB_ADMIN/api/v1/alerts" >"$HUB_DIR/alerts.json"
kill -0 "$PUB" 2>/dev/null || hub_fail "traffic ended before the live check; raise --count"
python3 "$CHECK" "$HUB_DIR/live.html" "$HUB_DIR/before.json" "$HUB_DIR/after.json" "$HUB_DIR/alerts.json" \
  || { cp "$HUB_DIR/live.html" "$SHOT_DIR/dashboard-live.html"; hub_fail "live dashboard does not match the API"; }
wait "$PUB"

# Traffic stopped: the page equals the API.
hub_wait 30 '[ "$(hub_stat "s[\"store\"][\"ready\"] + s[\"store\"][\"waiting\"] + sum(c[\"inflight\"] for c in s[\"connectors\"])")" = 0 ]' || hub_fail "queue did not drain"
sleep 2   # the publisher's session is gone for longer than alerts/connector_down
# The sink's own count of what it recorded reaches lthubd (PING stats).
hub_wait 20 '[ "$(hub_stat "next(c for c in s[\"connectors\"] if c[\"name\"] == \"sink\")[\"own\"][\"test\"][\"recorded\"]")" = "$(wc -l < "$HUB_DIR/sink.rec")" ]' \
  || hub_fail "the sink's own figure recorded is not its record's $(wc -l < "$HUB_DIR/sink.rec") lines"
curl -sf "http://$HUB_ADMIN/api/v1/stats" >"$HUB_DIR/before.json"
curl -sf "http://$HUB_ADMIN/api/v1/alerts" >"$HUB_DIR/alerts.json"
python3 -c 'import json,sys; k={a["kind"] for a in json.load(open(sys.argv[1]))["alerts"]}; assert {"dead_letter","connector_down"} <= k, k' "$HUB_DIR/alerts.json" \
  || hub_fail "expected dead_letter and connector_down alerts: $(cat "$HUB_DIR/alerts.json")"
browse "$HUB_DIR/still.html" --dump-dom
curl -sf "http://$HUB_ADMIN/api/v1/stats" >"$HUB_DIR/after.json"
curl -sf "http://$HUB_ADMIN/api/v1/alerts" >"$HUB_DIR/alerts2.json"
python3 -c 'import json,sys; f=lambda p: sorted((a["kind"], a["connector"]) for a in json.load(open(p))["alerts"]); assert f(sys.argv[1]) == f(sys.argv[2])' \
  "$HUB_DIR/alerts.json" "$HUB_DIR/alerts2.json" || hub_fail "alerts changed while the page rendered"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); c=next(c for c in s["connectors"] if c["name"] == "sink"); assert c["own"]["test"]["recorded"] == int(sys.argv[2]), c' \
  "$HUB_DIR/before.json" "$(wc -l < "$HUB_DIR/sink.rec")" || hub_fail "the sink's own figure moved after the queue drained"
python3 "$CHECK" "$HUB_DIR/still.html" "$HUB_DIR/before.json" "$HUB_DIR/after.json" "$HUB_DIR/alerts.json" --exact \
  || { cp "$HUB_DIR/still.html" "$SHOT_DIR/dashboard-still.html"; hub_fail "dashboard does not match the API"; }

# Text with markup stayed text (no element made of it, the title untouched),
# and every indicator of the period has its row.
grep -q '&lt;img src=x onerror=document.title=9&gt;' "$HUB_DIR/still.html" || hub_fail "the poisoned key is not shown"
grep -q '<img' "$HUB_DIR/still.html" && hub_fail "text from the API became markup"
grep -q '<title>lthub</title>' "$HUB_DIR/still.html" || hub_fail "the page's title changed"
curl -sf "http://$HUB_ADMIN/api/v1/indicators" >"$HUB_DIR/ind.json"
python3 - "$HUB_DIR/still.html" "$HUB_DIR/ind.json" <<'PY' || hub_fail "the indicator table lacks rows"
import json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
want = len(json.load(open(sys.argv[2]))["indicators"])
body = re.search(r'<table id="ind">.*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
got = len(re.findall(r"<tr", body))
assert want > 1 and got == want, (got, want)
PY

# The page is self-contained: nothing but this server is referenced.
curl -sf "http://$HUB_ADMIN/" >"$HUB_DIR/page.html"
curl -sf "http://$HUB_ADMIN/ops.js" >>"$HUB_DIR/page.html"
curl -sf "http://$HUB_ADMIN/app.js" >>"$HUB_DIR/page.html"
if grep -Eo '(src|href)="[^"]*"|https?://[^"'"'"' )]*' "$HUB_DIR/page.html" | grep -Ev '^(src|href)="[a-z./]*"$' | grep -v 'http://www.w3.org'; then
  hub_fail "the page references something outside the admin server"
fi

# A screenshot for the record, with traffic flowing again.
"$BIN/tests/lthub-testconn" $(hub_conn_args pub) --count 3000 --prefix SHOT --record "$HUB_DIR/pub.rec" 2>>"$HUB_DIR/pub.log" &
PUB=$!; HUB_PIDS="$HUB_PIDS $PUB"
rm -f "$SHOT_DIR/dashboard.png"
browse "$HUB_DIR/shot.out" --screenshot="$SHOT_DIR/dashboard.png" --window-size=1280,1400 --hide-scrollbars
wait "$PUB" || true
[ -s "$SHOT_DIR/dashboard.png" ] && [ "$(head -c 4 "$SHOT_DIR/dashboard.png" | od -An -c | tr -d ' ')" = '211PNG' ] \
  || hub_fail "no screenshot"
echo "screenshot: $SHOT_DIR/dashboard.png ($(stat -c %s "$SHOT_DIR/dashboard.png") bytes)"
echo "PASS: the dashboard in headless Chromium shows what /api/v1/stats says, live and at rest"
