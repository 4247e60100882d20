#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fencing through prhelper: after PREEMPT, a WRITE from the fenced nexus gets
# RESERVATION CONFLICT from the real LUN while the fencer still writes.
# Runs under the default seccomp filter and Landlock (expect_sandboxed).
# Takes about 35 s in the TCG lab VM (measured 35 s, 2026-12-06, host load ~12).
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
make_lun fileio it_fence 2
a=${DEVS[0]} b=${DEVS[1]}
start_prhelper "$sock" -v
drain "$sock" "$a"
drain "$sock" "$b"
write_from() { dd if=/dev/zero of="$1" bs=512 count=1 seek=8 oflag=direct status=none 2>"$LOGS/dd.err"; }

expect 0 "$sock" "$a" register 0xa1
expect 0 "$sock" "$b" register 0xb2
expect 0 "$sock" "$a" --key=0xa1 reserve we-ro
# Write Exclusive, registrants only: both registrants may write.
write_from "$b" || fail "registered B could not write under WE_RO: $(cat "$LOGS/dd.err")"
# A fences B with PREEMPT (PREEMPT AND ABORT hangs the lab kernel, lab.md 7).
expect 0 "$sock" "$a" --key=0xa1 preempt 0xb2 we-ro
drain "$sock" "$b"
write_from "$b" && fail "fenced B could still write"
write_from "$a" || fail "the fencer A could not write: $(cat "$LOGS/dd.err")"
# sg_dd / sg_raw see the status itself: RESERVATION CONFLICT (18h).
if command -v sg_raw >/dev/null; then
    out=$(sg_raw -s 512 -i /dev/zero "$b" 2a 00 00 00 00 08 00 00 01 00 2>&1)
    grep -qi 'reservation conflict' <<<"$out" || fail "WRITE(10) from B did not report RESERVATION CONFLICT: $out"
fi
expect_sandboxed sg
pass
