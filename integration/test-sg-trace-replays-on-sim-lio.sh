#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The request trace works on the sg transport, and a trace captured on a
# real LIO LUN replays on the simulator's lio profile without divergence
# (prhelper-replay --one-lun: the two device nodes are two I_T nexuses of
# one logical unit).
# Runs under the default seccomp filter and Landlock (expect_sandboxed).
# Takes about 33 s in the TCG lab VM (measured 33 s, 2026-12-06, host load ~12).
. "$(dirname "$0")/lib.sh"
REPLAY=$BUILD/src/prhelper-replay
[ -x "$REPLAY" ] || fail "no $REPLAY"
sock=$WORK/prh.sock trace=$LOGS/trace.jsonl
make_lun fileio it_trace 2
a=${DEVS[0]} b=${DEVS[1]}
start_prhelper "$sock" -v --trace-file="$trace"
drain "$sock" "$a"
drain "$sock" "$b"
: >"$trace" # the trace from here on (the daemon appends)

expect 0 "$sock" "$a" register 0xa1
expect 0 "$sock" "$b" register 0xb2
expect 0 "$sock" "$a" --key=0xa1 reserve we-ro
expect 24 "$sock" "$b" --key=0xb2 reserve we-ro
expect 0 "$sock" "$b" read-reservation
expect 0 "$sock" "$a" --key=0xa1 preempt 0xb2 we-ro
expect 2 "$sock" "$b" read-keys
expect 0 "$sock" "$b" read-keys
expect 0 "$sock" "$a" --key=0xa1 release we-ro
expect 0 "$sock" "$a" --key=0xa1 clear

n=$(wc -l <"$trace")
[ "$n" = 10 ] || fail "10 requests, $n trace records"
grep -q '"lun":"blk-[0-9]*-[0-9]*"' "$trace" || fail "no block-device LUN name in the trace: $(head -1 "$trace")"
grep -q '"generation_before":null' "$trace" || fail "sg cannot know the generation: $(head -1 "$trace")"
grep '"service_action":"PREEMPT"' "$trace" | grep -q '"status":"GOOD"' || fail "PREEMPT not traced"
grep '"service_action":"READ KEYS"' "$trace" | head -1 | grep -q '"asc":42,"ascq":5' ||
    fail "the unit attention is not decoded in the trace"
out=$("$REPLAY" --one-lun --profile=lio "$trace" 2>&1) || fail "replay on the simulator diverged: $out"
log "$out"
expect_sandboxed sg
pass
