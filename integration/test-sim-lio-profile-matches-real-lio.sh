#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The simulator's lio profile against the real thing: the scripted sequence
# of the differential test runs on a real LIO LUN (through qemu-pr-helper)
# and on prhelper --transport=sim --sim-profile=lio with two initiator
# identities.  Every status, sense and data byte must match, except READ
# FULL STATUS data, which carries the transports' own TransportIDs and ports
# (SAS over tcm_loop vs the sim transport's iSCSI names).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
make_lun fileio it_simlio 2
start_qemu_pr_helper "$WORK/qph.sock"
python3 "$ROOT/integration/differential.py" "$WORK/qph.sock" "${DEVS[0]}" "${DEVS[1]}" \
    >"$LOGS/lio.out" 2>"$LOGS/lio.err" || fail "run on LIO failed: $(tail -3 "$LOGS/lio.err")"
truncate -s 64M "$WORK/disk.img"
start_prhelper "$WORK/sim.sock" --transport=sim --sim-profile=lio --state-dir="$WORK/state"
PRH_DIFF_IDENTITIES=1 python3 "$ROOT/integration/differential.py" "$WORK/sim.sock" \
    "$WORK/disk.img" "$WORK/disk.img" >"$LOGS/sim.out" 2>"$LOGS/sim.err" ||
    fail "run on the simulator failed: $(tail -3 "$LOGS/sim.err")"
# Steps are fixed-width: name (34 columns), status, sense, data.
strip() { awk '{ if ($0 ~ /full-status/) { NF--; } print }' "$1"; }
if ! diff -u <(strip "$LOGS/lio.out") <(strip "$LOGS/sim.out") >"$LOGS/diff.txt"; then
    cat "$LOGS/diff.txt"
    fail "the lio profile answers differently from real LIO"
fi
log "$(wc -l <"$LOGS/sim.out") steps: the lio profile answers as real LIO does"
pass
