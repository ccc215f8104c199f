#!/usr/bin/env python3
"""Check a dashboard DOM dumped by headless Chromium against the admin API.

usage: dashboard_check.py DOM.html BEFORE.json AFTER.json ALERTS.json [--exact]

The page keeps the /api/v1/stats reading it rendered in #snapshot. Every
figure the page shows (cards, the connector table) must equal that reading;
the reading must lie between the API readings taken just before and just
after the page was rendered (with --exact, traffic stopped: equal to both).
The alerts list and the chart's legend must name what the API names.
Under each connector's row, its own figures (connectors[].own, the
counters the connector sends in PING/PONG) must be those of the reading.
"""
import json
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []      # (tag, attrs)
        self.text = {}       # id -> text
        self.rows = {}       # connector -> [cell texts]
        self.alerts = []     # (kind, connector)
        self.dead = []       # delivery ids
        self.legend = []     # connector names
        self.canvas = False
        self.own = {}        # connector -> {figure: text} (its own figures)
        self._own = None     # connector of the own-figures row being read
        self._fig = None     # [figure, value text] while in a figure's span
        self._figb = None    # text parts while in a figure's value
        self._cur = None     # (id, parts) while in an element with an id
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a))
        if tag == "canvas" and a.get("id") == "chart":
            self.canvas = True
        if a.get("id") in ("messages", "queued", "dead", "rejects", "confirm", "nalerts",
                           "snapshot"):
            self._cur = (a["id"], [])
        if tag == "tr" and "data-connector" in a:
            self._row = (a["data-connector"], [])
        if tag == "tr" and "data-delivery" in a:
            self.dead.append(int(a["data-delivery"]))
        if tag == "td" and self._row is not None:
            self._cell = []
        if tag == "tr" and "data-own" in a:
            self._own = a["data-own"]
            self.own[self._own] = {}
        if tag == "span" and "data-figure" in a and self._own is not None:
            self._fig = [a["data-figure"], None]
        if tag == "b" and self._fig is not None:
            self._figb = []
        if tag == "li" and "data-kind" in a:
            self.alerts.append((a["data-kind"], a.get("data-connector")))
        if tag == "span" and "data-connector" in a and a.get("class") == "lg":
            self.legend.append(a["data-connector"])

    def handle_endtag(self, tag):
        if tag == "b" and self._figb is not None:
            self._fig[1] = "".join(self._figb)
            self._figb = None
        if tag == "span" and self._fig is not None:
            self.own[self._own][self._fig[0]] = self._fig[1]
            self._fig = None
        if tag == "tr" and self._own is not None:
            self._own = None
        if self._cur and tag in ("b", "pre"):
            self.text[self._cur[0]] = "".join(self._cur[1])
            self._cur = None
        if tag == "td" and self._cell is not None:
            self._row[1].append("".join(self._cell))
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.rows[self._row[0]] = self._row[1]
            self._row = None
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self._figb is not None:
            self._figb.append(data)
        if self._cur:
            self._cur[1].append(data)
        if self._cell is not None:
            self._cell.append(data)


def ms_text(seconds):
    """A bound in ms as the page writes it (en-US grouping, no trailing .0)."""
    v = round(seconds * 1e6) / 1e3
    return ("{:,}".format(int(v)) if v == int(v) else "{:,}".format(v)) + " ms"


def confirm_p99(h):
    for bound, cum in zip(h["bounds"], h["buckets"]):
        if cum >= 0.99 * h["count"]:
            return "\u2264 " + ms_text(bound)
    return "> " + ms_text(h["bounds"][-1])


def num(text):
    return int(text.replace(",", ""))


def own_figures(conn):
    """The figures the page shows for a connector's own counters, as
    lthub status shows them: under the connector's own key, times and the
    last error left out; None when it sent none."""
    own = conn.get("own")
    if not isinstance(own, dict) or not own:
        return None
    if len(own) == 1:
        (only,) = own.values()
        if isinstance(only, dict):
            own = only
    figs = {}

    def walk(path, obj, depth):
        for key, value in obj.items():
            name = path + "." + key if path else key
            if key == "last_error" and isinstance(value, str):
                continue
            if key.endswith("_at") and not isinstance(value, dict):
                continue
            if isinstance(value, dict):
                if depth < 3:
                    walk(name, value, depth + 1)
            elif isinstance(value, bool):
                figs[name] = "yes" if value else "no"
            elif isinstance(value, (int, float)):
                figs[name] = value
            elif isinstance(value, str) and value:
                figs[name] = value

    walk("", own, 0)
    return figs


def same_figure(text, value):
    if isinstance(value, str):
        return text == value
    if isinstance(value, int):
        return num(text) == value
    return abs(float(text.replace(",", "")) - value) <= 1e-3 * max(1.0, abs(value))


def main():
    dom_path, before_path, after_path, alerts_path = sys.argv[1:5]
    exact = "--exact" in sys.argv
    dom = Dom()
    dom.feed(open(dom_path, encoding="utf-8").read())
    before = json.load(open(before_path))
    after = json.load(open(after_path))
    alerts = json.load(open(alerts_path))
    assert dom.text.get("snapshot"), "the page rendered no reading of /api/v1/stats"
    snap = json.loads(dom.text["snapshot"])
    st = snap["store"]
    # Cards show the reading.
    assert num(dom.text["messages"]) == st["messages"], (dom.text["messages"], st)
    assert num(dom.text["queued"]) == st["ready"] + st["waiting"], (dom.text["queued"], st)
    assert num(dom.text["dead"]) == st["dead"], (dom.text["dead"], st)
    assert num(dom.text["rejects"]) == st["rejects"], (dom.text["rejects"], st)
    # The p99 of the time to answer a publish, as the upper bound of the
    # histogram's bucket that holds it.
    h = snap.get("histograms", {}).get("confirm_seconds")
    assert h and h["count"] > 0, ("no confirm histogram in the reading", h)
    assert dom.text.get("confirm") == confirm_p99(h), (dom.text.get("confirm"), h)
    # Table: connector, state, pub/s, del/s, published, delivered, queued,
    # in flight, retries, dead, rejected.
    names = {c["name"] for c in snap["connectors"]}
    assert set(dom.rows) == names, (set(dom.rows), names)
    checked = 0
    for c in snap["connectors"]:
        r = dom.rows[c["name"]]
        assert r[1] == ("connected" if c["connected"] else "DOWN"), (c["name"], r)
        want = [c["published"], c["done"], c["ready"] + c["waiting"], c["inflight"],
                c["retried"], c["dead"], c["rejected"]]
        got = [num(x) for x in r[4:11]]
        assert got == want, (c["name"], got, want)
        checked += len(want) + 1
    # Own figures: every connector that sent some has its row of them,
    # equal to the reading; at least one (the sink) sent some.
    owned = 0
    for c in snap["connectors"]:
        want = own_figures(c)
        if not want:
            assert c["name"] not in dom.own or not dom.own[c["name"]], (c["name"], dom.own)
            continue
        got = dom.own.get(c["name"])
        assert got is not None, ("no own figures shown", c["name"], c.get("own"))
        assert set(got) == set(want), (c["name"], sorted(got), sorted(want))
        for name, value in want.items():
            assert same_figure(got[name], value), (c["name"], name, got[name], value)
        owned += 1
        checked += len(want)
    assert owned > 0, "no connector's own figures in the reading"
    # The reading lies between the API readings before and after.
    fields = ("published", "done", "retried", "rejected", "bytes_in", "bytes_out")
    for c in snap["connectors"]:
        b = next(x for x in before["connectors"] if x["name"] == c["name"])
        a = next(x for x in after["connectors"] if x["name"] == c["name"])
        for f in fields:
            assert b[f] <= c[f] <= a[f], (c["name"], f, b[f], c[f], a[f])
            if exact:
                assert b[f] == c[f] == a[f], (c["name"], f, b[f], c[f], a[f])
        if exact:
            for f in ("ready", "waiting", "dead", "inflight", "connected"):
                assert b[f] == c[f] == a[f], (c["name"], f, b[f], c[f], a[f])
    assert before["store"]["messages"] <= st["messages"] <= after["store"]["messages"]
    if exact:
        for f in ("messages", "ready", "waiting", "done", "dead", "rejects"):
            assert before["store"][f] == st[f] == after["store"][f], (f, st)
        # Alerts and dead letters as the API has them.
        want_alerts = sorted((x["kind"], x["connector"]) for x in alerts["alerts"])
        assert sorted(dom.alerts) == want_alerts, (dom.alerts, want_alerts)
        assert num(dom.text["nalerts"]) == len(want_alerts)
        assert len(dom.dead) == min(st["dead"], 20), (dom.dead, st["dead"])
    assert dom.canvas, "no throughput chart"
    assert set(dom.legend) == names, ("chart legend", dom.legend, names)
    print("dashboard: %d figures match /api/v1/stats (%s), %d connectors' own figures,"
          " %d alerts, %d dead letters shown"
          % (checked + 4, "exactly" if exact else "live reading within API readings", owned,
             len(dom.alerts), len(dom.dead)))


if __name__ == "__main__":
    main()
