#!/usr/bin/env python3
# bytes_check.py SENT RECEIVED CODE: exit 0 when RECEIVED is SENT byte for byte,
# or SENT with one inserted span that is only a TraceHeader of agency CODE
# (and a TraceHeaderList around it), whitespace around it allowed; prints what
# it found. Used by test_chain_bytes.sh (spec/peers.md A: a hop changes
# nothing but inserting its TraceHeader).
import re, sys

sent, got, code = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3]
if sent == got:
    print("unchanged")
    sys.exit(0)
delta = len(got) - len(sent)
if delta <= 0:
    print("changed and not longer (%d -> %d bytes)" % (len(sent), len(got)))
    sys.exit(1)
prefix = 0
while prefix < len(sent) and sent[prefix] == got[prefix]:
    prefix += 1
suffix = 0
while suffix < len(sent) and sent[-1 - suffix] == got[-1 - suffix]:
    suffix += 1
p = r"(?:\w+:)?"
trace = ("<" + p + "TraceHeader><" + p + "OrganId>" + re.escape(code) + "</" + p + "OrganId><" + p +
         r"Timestamp>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d</" + p + "Timestamp></" + p + "TraceHeader>")
pattern = re.compile(r"\s*(?:<" + p + "TraceHeaderList>" + trace + "</" + p + "TraceHeaderList>|" +
                     trace + r")\s*")
for k in range(max(0, len(sent) - suffix), prefix + 1):
    inserted = got[k:k + delta]
    if got[:k] + got[k + delta:] == sent and pattern.fullmatch(inserted.decode("utf-8", "replace")):
        print("only a TraceHeader inserted at byte %d: %s" % (k, inserted.decode().strip()))
        sys.exit(0)
print("changed beyond an inserted TraceHeader: first difference at byte %d of %d (%d -> %d bytes)"
      % (prefix, len(sent), len(sent), len(got)))
sys.exit(1)
