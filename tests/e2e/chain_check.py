#!/usr/bin/env python3
"""Checks of the full-chain tests (tests/e2e/) over what reached the axis
simulator and the DMS mailboxes.

  chain_check.py relayed ORIGINAL.json RELAYED.json PROVINCE
      Two `lthub edxml inspect --json` outputs: the package a DMS sent and
      the one the axis received. Equal in every field (attachments by their
      SHA-256, signature verdicts, header), except that the relayed one
      carries exactly one TraceHeader more, the province's, at the end.

  chain_check.py lanes [--keys N] [--full] [--from-suffix S] STORE_DIR...
      The packages the axis simulator stored (DIR/<seq>-<DocId>.edxml), in
      arrival order (directories in the order given). Per DocumentId: the
      document first, then its revocation, then statuses; nothing twice.
      --keys N: exactly N DocumentIds; --full: each has all three;
      --from-suffix S: only packages whose sender's code ends with S.

Exit 0 when the check holds; 1 with the reason on stderr otherwise.
"""
import json
import os
import re
import sys


def relayed(original_path, relayed_path, province):
    original = json.load(open(original_path))
    got = json.load(open(relayed_path))
    extra = got["traces"][len(original["traces"]):]
    if got["traces"][: len(original["traces"])] != original["traces"]:
        return "the sender's TraceHeaders changed: %s -> %s" % (original["traces"], got["traces"])
    if len(extra) != 1 or extra[0]["organ_id"] != province:
        return "expected one TraceHeader of %s added, got %s" % (province, extra)
    for field in ("file", "size", "sha256", "traces"):
        original.pop(field, None)
        got.pop(field, None)
    for a, b in zip(original.get("attachments", []), got.get("attachments", [])):
        if a.get("sha256") != b.get("sha256"):
            return "attachment %s differs" % a.get("name")
    if original != got:
        diff = [k for k in original if original[k] != got.get(k)]
        return "the relayed package differs in %s" % diff
    return None


def classify(text):
    """(DocumentId, what) of a stored package: a document's own DocumentId
    (its header's, not those of the documents it answers nor the Bussiness
    block's reference), or the DocumentId a status is about."""
    status = "<edXML:Status>" in text
    header = text if status else re.sub(r"<edXML:(ResponseFor|Bussiness)>.*?</edXML:\1>", "", text,
                                        flags=re.S)
    key = re.search(r"<edXML:DocumentId>([^<]*)<", header)
    if not key:
        return None, None
    if status:
        code = re.search(r"<edXML:StatusCode>\s*([0-9]+)", text)
        return key.group(1), "status-" + (code.group(1) if code else "?")
    doc_type = re.search(r"<edXML:BussinessDocType>\s*([0-9])", text)
    kind = {"0": "new", "1": "revocation"}.get(doc_type.group(1) if doc_type else "0", "other")
    return key.group(1), kind


def lanes(args):
    want_keys, full, dirs, suffix = None, False, [], ""
    i = 0
    while i < len(args):
        if args[i] in ("--keys", "--from-suffix"):
            if args[i] == "--keys":
                want_keys = int(args[i + 1])
            else:
                suffix = args[i + 1]
            i += 2
            continue
        if args[i] == "--full":
            full = True
        else:
            dirs.append(args[i])
        i += 1
    seen = {}
    for folder in dirs:
        for name in sorted(n for n in os.listdir(folder) if n.endswith(".edxml")):
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            sender = re.search(r"<edXML:From>\s*<edXML:OrganId>([^<]*)<", text)
            if suffix and not (sender and sender.group(1).endswith(suffix)):
                continue
            key, kind = classify(text)
            if key is None:
                return "%s/%s has no DocumentId" % (folder, name)
            seen.setdefault(key, []).append(kind)
    for key, kinds in seen.items():
        if kinds[0] != "new":
            return "%s: a %s arrived before its document (%s)" % (key, kinds[0], kinds)
        if len(set(kinds)) != len(kinds):
            return "%s arrived twice: %s" % (key, kinds)
        if "revocation" in kinds and any(k.startswith("status") for k in kinds[: kinds.index("revocation")]):
            return "%s: a status overtook the revocation: %s" % (key, kinds)
        if full and (len(kinds) != 3 or kinds[1] != "revocation" or not kinds[2].startswith("status")):
            return "%s: expected document, revocation, status; got %s" % (key, kinds)
    if want_keys is not None and len(seen) != want_keys:
        return "%d DocumentIds arrived, expected %d" % (len(seen), want_keys)
    print("%d DocumentIds, %d packages, lane order kept" % (len(seen), sum(map(len, seen.values()))))
    return None


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "relayed":
        problem = relayed(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) >= 3 and sys.argv[1] == "lanes":
        problem = lanes(sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
