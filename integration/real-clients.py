#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Result tables of the real-client test (test-qemu-client-libiscsi-and-
fence-scsi.sh: libiscsi.tsv, fence.tsv) and the docs/compat.md section made
from them.

  real-clients.py libiscsi-table COLUMN=OUTFILE...  > libiscsi.tsv
      one row per test of iscsi-test-cu's output files, one column each:
      PASSED, FAILED, SKIPPED (the test said [SKIPPED]) or MISSING
  real-clients.py libiscsi-check libiscsi.tsv
      the rules: every test that passes through qemu-pr-helper passes
      through prhelper, in both modes; the shim makes PR IN work at all
  real-clients.py doc [--libiscsi TSV] [--fence TSV] docs/compat.md
      rewrites the tables between the <!-- real-clients:NAME --> markers
"""
import re
import sys

RESULTS = ("PASSED", "FAILED", "SKIPPED", "MISSING")


def parse_cunit(text):
    """iscsi-test-cu's CUnit (verbose) output -> {SCSI.Suite.Test: result}."""
    out = {}
    suite = None
    test = None
    skipped = False
    for line in text.splitlines():
        m = re.match(r"^\s*Suite: (\S+)", line)
        if m:
            suite = m.group(1)
            continue
        m = re.match(r"^\s*Test: (\S+) \.\.\.(.*)$", line)
        if m:
            test = "SCSI.%s.%s" % (suite, m.group(1))
            skipped = False
            line = m.group(2)
        if test is None:
            continue
        if "[SKIPPED]" in line:
            skipped = True
        if re.search(r"\bpassed\s*$", line):
            out[test] = "SKIPPED" if skipped else "PASSED"
            test = None
        elif re.search(r"\bFAILED\s*$", line):
            out[test] = "FAILED"
            test = None
    return out


def read_tsv(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return rows[0], rows[1:]


def libiscsi_table(args):
    cols, results = [], []
    for a in args:
        name, _, path = a.partition("=")
        with open(path, errors="replace") as f:
            r = parse_cunit(f.read())
        if not r:
            sys.exit("%s: no test results in %s" % (name, path))
        cols.append(name)
        results.append(r)
    tests = []
    for r in results:
        tests += [t for t in r if t not in tests]
    print("\t".join(["test"] + cols))
    for t in tests:
        print("\t".join([t] + [r.get(t, "MISSING") for r in results]))


def libiscsi_check(path):
    head, rows = read_tsv(path)
    bad = []
    for mode in ("plain", "shim"):
        ref = head.index("qemu-pr-helper/%s" % mode)
        for other in ("prhelper-sg/%s" % mode,):
            o = head.index(other)
            for r in rows:
                if r[ref] == "PASSED" and r[o] != "PASSED":
                    bad.append("%s: PASSED through qemu-pr-helper, %s through %s" % (r[0], r[o], other))
    shim = head.index("qemu-pr-helper/shim")
    prin = [r for r in rows if r[0].startswith("SCSI.Prin")]
    if prin and not any(r[shim] == "PASSED" for r in prin):
        bad.append("no PR IN test passes through qemu-pr-helper even with the shim")
    for b in bad:
        print("MISMATCH: " + b)
    return 1 if bad else 0


def markdown(path):
    head, rows = read_tsv(path)
    lines = ["| " + " | ".join(h.replace("/", " ") for h in head) + " |",
             "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(["`%s`" % r[0]] + r[1:]) + " |")
    return "\n".join(lines)


def doc(args):
    tables = {}
    while args and args[0].startswith("--"):
        tables[args[0][2:]] = markdown(args[1])
        args = args[2:]
    path = args[0]
    with open(path) as f:
        text = f.read()
    for name, table in tables.items():
        begin, end = "<!-- real-clients:%s -->" % name, "<!-- /real-clients:%s -->" % name
        if begin not in text or end not in text:
            sys.exit("%s: no %s ... %s markers" % (path, begin, end))
        pre, rest = text.split(begin, 1)
        _, post = rest.split(end, 1)
        text = pre + begin + "\n" + table + "\n" + end + post
    with open(path, "w") as f:
        f.write(text)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "libiscsi-table":
        libiscsi_table(args)
    elif cmd == "libiscsi-check":
        sys.exit(libiscsi_check(args[0]))
    elif cmd == "doc":
        doc(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
