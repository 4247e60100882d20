#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The same scripted PR sequence (every service action, errors, truncation,
# a read-only fd) through the real qemu-pr-helper and through prhelper, each
# on a freshly built identical LUN: replies must be byte-identical except the
# differences listed (and justified) in docs/compat.md.  A third run has
# prhelper drop to nobody/nogroup (-u/-g, cli.md section 4): with
# CAP_SYS_RAWIO kept, every reply must still be the same.
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
start_prh_nobody() {
    start_prhelper "$1" --transport=sg -u nobody -g nogroup
    local st i
    for i in $(seq 50); do # the drop follows the socket's creation
        st=$(cat "/proc/$PRH_PID/status")
        grep -q $'^Uid:\t65534' <<<"$st" && break
        sleep 0.1
    done
    grep -q $'^Uid:\t65534\t65534\t65534\t65534$' <<<"$st" || fail "-u nobody: $(grep ^Uid <<<"$st")"
    grep -q $'^Gid:\t65534\t65534\t65534\t65534$' <<<"$st" || fail "-g nogroup: $(grep ^Gid <<<"$st")"
    grep -q $'^CapEff:\t0000000000020000$' <<<"$st" || fail "not CAP_SYS_RAWIO alone: $(grep ^Cap <<<"$st")"
}
run_with qemu-pr-helper start_qph
run_with prhelper start_prh
run_with prhelper-nobody start_prh_nobody
for who in prhelper prhelper-nobody; do
    if ! diff -u "$LOGS/qemu-pr-helper.out" "$LOGS/$who.out" >"$LOGS/diff-$who.txt"; then
        cat "$LOGS/diff-$who.txt"
        fail "$who: replies differ from qemu-pr-helper (see above)"
    fi
done
log "$(wc -l <"$LOGS/prhelper.out") steps, identical replies (also as nobody with CAP_SYS_RAWIO)"
pass
