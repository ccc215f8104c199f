#!/usr/bin/env python3
"""Re-derive an indicator from an evidence bundle alone (no lthub code).

usage: rederive.py BUNDLE_DIR [BUNDLE_DIR ...]

A bundle is what `lthub evidence` writes: items.csv (every counted,
excluded or other item) and manifest.json (the definition, the figure, the
agencies and regimes it is counted over, the chain hashes). For each item the
flags are computed again from the raw columns (channel, secret, signature
verdict, origins, times, the dossier details), then the definition's filters
are applied and the figure recomputed. Exit 0 when every bundle gives the
manifest's numbers, 1 otherwise (each difference printed).

A field that begins with ' had one ' put in front by lthub (so that a
spreadsheet does not run a value beginning with = + - @ as a formula); it is
dropped before anything is compared.
"""
import csv
import hashlib
import json
import os
import re
import sys

FLAGS = ["electronic", "secret", "signed", "declared", "relayed", "confirmed", "online",
         "postal", "ontime", "postal_return", "digitised", "synced"]


def unguard(value):
    """The value lthub wrote: one leading ' is lthub's formula guard."""
    return value[1:] if value.startswith("'") else value


def detail_of(text):
    out = {}
    for part in text.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def vn_date_ok(text):
    return bool(re.fullmatch(r"\d{14}", text or ""))


def flags_of(row):
    """The item's flags from its raw columns (the rules of docs/indicators.md)."""
    f = set()
    ev = row["event"]
    origins = row["origins"].split("+")
    d = detail_of(row["detail"])
    if row["secret"] == "1":
        f.add("secret")
    if ev in ("doc_out", "doc_in"):
        if row["channel"] == "electronic":
            f.add("electronic")
        if "relay" in origins:
            f.add("relayed")
        elif row["channel"] == "electronic":
            f.add("declared")
        if row["signature"] == "valid":
            f.add("signed")
        # The same calendar day in Asia/Ho_Chi_Minh (both times are +07:00)
        # as the hub delivered it (received_at), even after a register line.
        received = row.get("received_at") or row["at"]
        if ev == "doc_in" and row["related_at"] and row["related_at"][:10] == received[:10]:
            f.add("confirmed")
    elif ev == "dossier_received":
        if row["dossier_channel"] == "2":
            f.add("online")
        if row["dossier_channel"] == "3":
            f.add("postal")
        m = re.fullmatch(r"(\d+)/(\d+)", d.get("TaiLieuNop", ""))
        if m and int(m.group(2)) > 0 and m.group(1) == m.group(2):
            f.add("digitised")
        if row["related_at"]:
            f.add("synced")
    elif ev == "dossier_finished":
        done, due = d.get("NgayKetThucXuLy", ""), d.get("NgayHenTra", "")
        if vn_date_ok(done) and vn_date_ok(due) and done <= due:
            f.add("ontime")
    elif ev == "dossier_returned":
        if d.get("HinhThuc") == "1":
            f.add("postal_return")
    return f


def parse_filter(text):
    events, with_, without = set(), set(), set()
    for word in text.split():
        if word.startswith("+"):
            with_.add(word[1:])
        elif word.startswith("-"):
            without.add(word[1:])
        else:
            events.add(word)
    return events, with_, without


def match(flt, event, flags):
    events, with_, without = flt
    return event in events and with_ <= flags and not (without & flags)


def rederive(bundle):
    problems = []
    man = json.load(open(os.path.join(bundle, "manifest.json"), encoding="utf-8"))
    path = os.path.join(bundle, man["items"]["file"])
    raw = open(path, "rb").read()
    if hashlib.sha256(raw).hexdigest() != man["items"]["sha256"]:
        problems.append("items.csv does not match the manifest's sha256")
    rows = [{k: unguard(v) for k, v in r.items()}
            for r in csv.DictReader(open(path, encoding="utf-8", newline=""))]
    if len(rows) != man["items"]["count"]:
        problems.append("items.csv has %d items, the manifest says %d" % (len(rows), man["items"]["count"]))
    ind = man["indicator"]
    num_f = parse_filter(ind["numerator"])
    den_f = parse_filter(ind["denominator"])
    exclude = set(ind["exclude"].split())
    count = ind["count"]
    # The chain hashes listed cover every row of every item.
    chain = {(seq, h) for seq, h in man["chain"]}
    for r in rows:
        for pair in r["rows"].split(";"):
            seq, h = pair.split(":")
            if (int(seq), h) not in chain or not re.fullmatch(r"[0-9a-f]{64}", h):
                problems.append("row %s of %s is not covered by the manifest's chain" % (seq, r["item"]))
    num = den = 0
    num_set, den_set, agencies = set(), set(), set()
    for r in rows:
        f = flags_of(r)
        listed = set(r["flags"].split())
        if f != listed:
            problems.append("%s: flags %s re-derived as %s" % (r["item"], sorted(listed), sorted(f)))
        ev = r["event"]
        excluded = bool(f & exclude)
        if excluded:
            expect = "excluded"
        elif count in ("agencies", "regimes"):
            expect = "numerator" if match(num_f, ev, f) else "other"
        elif match(den_f, ev, f):
            expect = "numerator" if match(num_f, ev, f) else "denominator"
        else:
            expect = "other"
        if expect != r["counted"]:
            problems.append("%s: listed as %s, re-derived as %s" % (r["item"], r["counted"], expect))
        if excluded:
            continue
        if count == "items" and expect in ("numerator", "denominator"):
            den += 1
            num += expect == "numerator"
        elif count == "procedures" and r["dim"] and expect in ("numerator", "denominator"):
            den_set.add(r["dim"])
            if expect == "numerator":
                num_set.add(r["dim"])
        elif count == "agencies" and expect == "numerator":
            agencies.add(r["agency"])
        elif count == "regimes" and expect == "numerator" and r["dim"] in man["regimes_due"]:
            num_set.add(r["dim"])
    if count == "procedures":
        num, den = len(num_set), len(den_set)
    elif count == "agencies":
        configured = set(man["configured_agencies"])
        num, den = len(agencies & configured), len(configured)
    elif count == "regimes":
        num, den = len(num_set), len(man["regimes_due"])
    res = man["result"]
    if (num, den) != (res["numerator"], res["denominator"]):
        problems.append("re-derived %d/%d, the manifest says %d/%d"
                        % (num, den, res["numerator"], res["denominator"]))
    value = round(100.0 * num / den, 2) if den else None
    if value != res["value"] and not (value is not None and res["value"] is not None
                                      and abs(value - res["value"]) < 0.006):
        problems.append("value %s, the manifest says %s" % (value, res["value"]))
    if den == 0 and res["status"] != "no_data":
        problems.append("zero denominator not reported as no data")
    return num, den, problems


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    bad = 0
    for bundle in sys.argv[1:]:
        man = json.load(open(os.path.join(bundle, "manifest.json"), encoding="utf-8"))
        num, den, problems = rederive(bundle)
        label = "%s %s %s" % (man["indicator"]["code"], man["period"]["name"], man["agency"] or "province")
        if problems:
            bad += 1
            print("MISMATCH %s: %s" % (label, "; ".join(problems[:10])))
        else:
            print("OK %s: %d/%d" % (label, num, den))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
