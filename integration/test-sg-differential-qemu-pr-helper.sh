#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The same scripted PR sequence (every service action, errors, truncation,
# a read-only fd) through the real qemu-pr-helper and through prhelper, each
# on a freshly built identical LUN: replies must be byte-identical except the
# differences listed (and justified) in docs/compat.md.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
name=it_diff
run_with() { # helper-label start-function
    make_lun fileio "$name" 2
    "$2" "$WORK/$1.sock"
    python3 "$ROOT/integration/differential.py" "$WORK/$1.sock" "${DEVS[0]}" "${DEVS[1]}" \
        >"$LOGS/$1.out" 2>"$LOGS/$1.err" || fail "$1 run failed: $(tail -3 "$LOGS/$1.err")"
    remove_lun fileio "$name"
}
start_qph() { start_qemu_pr_helper "$1"; }
start_prh() { start_prhelper "$1" --transport=sg; }
run_with qemu-pr-helper start_qph
run_with prhelper start_prh
if ! diff -u "$LOGS/qemu-pr-helper.out" "$LOGS/prhelper.out" >"$LOGS/diff.txt"; then
    cat "$LOGS/diff.txt"
    fail "replies differ from qemu-pr-helper (see above)"
fi
log "$(wc -l <"$LOGS/prhelper.out") steps, identical replies"
pass
