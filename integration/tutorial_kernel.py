#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the root-console blocks of a tutorial chapter and compare outputs.

usage: tutorial_kernel.py TUTORIAL.md TRANSCRIPT.md

In a ```root-console block a line "# CMD" is a command, "> MORE" lines
continue it (joined with newlines), and the lines up to the next command
or the end of the block are what it prints (stdout and stderr).  All
commands run in order in one bash (variables and functions carry over),
each under a 120 s limit.  Outputs are compared after removing trailing
blanks and renumbering UIO minors (see norm()).  TRANSCRIPT.md gets the
blocks as they ran (the real outputs), to
paste into the tutorial when it is out of date.  Exit 0 when every output
matches, 1 otherwise (the differences on stderr).
"""
import re
import subprocess
import sys
import uuid


def parse(path):
    """[(block_index, command, expected_lines)] and the block count."""
    steps, block, in_block = [], -1, False
    for line in open(path, encoding="utf-8").read().split("\n"):
        if line.startswith("```"):
            in_block = line.startswith("```root-console")
            block += in_block
            continue
        if not in_block:
            continue
        if line.startswith("# "):
            steps.append([block, line[2:], []])
        elif line.startswith("> ") and steps and not steps[-1][2]:
            steps[-1][1] += "\n" + line[2:]
        elif steps:
            steps[-1][2].append(line)
    return steps


def run(steps):
    """The outputs of the commands, one bash for all."""
    mark = "@@step-" + uuid.uuid4().hex + "@@"
    script = ["exec 2>&1"]
    for _, cmd, _ in steps:
        script.append("echo " + mark)
        # Each command in a group, so a failing one does not end the shell.
        script.append("{\n" + cmd + "\n} </dev/null")
    script.append("echo " + mark)
    p = subprocess.run(["timeout", str(120 * len(steps)), "bash", "-c", "\n".join(script)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    parts = p.stdout.decode("utf-8", "replace").split(mark + "\n")
    outs = [part.rstrip("\n").split("\n") if part.strip("\n") else [] for part in parts[1:]]
    if len(outs) < len(steps):
        outs += [["(not run: the shell ended, status %d)" % p.returncode]] * (len(steps) - len(outs))
    return outs[:len(steps)]


def norm(lines):
    """Trailing blanks removed; UIO minors renumbered from 0 in numeric
    order (the chapter shows a fresh machine's uio0, uio1; a lab VM that
    ran other TCMU tests first hands out higher minors, in the same order)."""
    out = [l.rstrip() for l in lines]
    while out and out[-1] == "":
        out.pop()
    minors = sorted({int(m) for l in out for m in re.findall(r"\buio(\d+)\b", l)})
    rank = {m: i for i, m in enumerate(minors)}
    return [re.sub(r"\buio(\d+)\b", lambda m: "uio%d" % rank[int(m.group(1))], l) for l in out]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    steps = parse(sys.argv[1])
    if not steps:
        sys.exit("no root-console commands in " + sys.argv[1])
    outs = run(steps)
    bad = 0
    with open(sys.argv[2], "w", encoding="utf-8") as t:
        block = None
        for (b, cmd, want), got in zip(steps, outs):
            if b != block:
                if block is not None:
                    t.write("```\n\n")
                t.write("```root-console\n")
                block = b
            lines = cmd.split("\n")
            t.write("# " + lines[0] + "\n" + "".join("> " + l + "\n" for l in lines[1:]))
            t.write("".join(l + "\n" for l in norm(got)))
            if norm(want) != norm(got):
                bad += 1
                sys.stderr.write("step %s: %s\n  want: %r\n  got:  %r\n"
                                 % (cmd.split("\n")[0], "output differs", norm(want), norm(got)))
        t.write("```\n")
    print("%d commands, %d outputs differ" % (len(steps), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
