#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The 56-step differential (integration/differential.py) through prhelper
# --transport=sg, once on a real LIO fileio LUN and once on a prhelper-tcmu
# LUN with the lio profile, both with two tcm_loop nexuses of the same
# names and ports: every status, sense and data byte must be the same, READ
# FULL STATUS included, except the differences docs/tcmu.md lists (none
# today).  103 s in the TCG lab VM on a busy 2-core host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcmu_lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
name=it_tdiff
run_diff() { # label
    start_prhelper "$WORK/$1.sock" --transport=sg
    python3 "$ROOT/integration/differential.py" "$WORK/$1.sock" "${DEVS[0]}" "${DEVS[1]}" \
        >"$LOGS/$1.out" 2>"$LOGS/$1.err" || fail "$1 run failed: $(tail -3 "$LOGS/$1.err")"
    kill "$PRH_PID"
    wait "$PRH_PID" 2>/dev/null
}
make_lun fileio "$name" 2
run_diff fileio
remove_lun fileio "$name"
start_tcmu --profile=lio
make_tcmu_lun "$name" 2
run_diff tcmu
if ! diff -u "$LOGS/fileio.out" "$LOGS/tcmu.out" >"$LOGS/diff.txt"; then
    cat "$LOGS/diff.txt"
    fail "prhelper-tcmu (lio profile) answers differently from LIO fileio"
fi
log "$(wc -l <"$LOGS/tcmu.out") steps: prhelper-tcmu with the lio profile answers as LIO fileio does"
pass
