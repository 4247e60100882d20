#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prhelper-tcmu never leaves the kernel LUN hanging (docs/tcmu.md): an
# unknown opcode, zero-length, short and oversize transfers are answered;
# PREEMPT AND ABORT (handled by the simulator with pgr_support=0) returns;
# a command the handler holds longer than the kernel's cmd_time_out fails
# in the kernel after that time and the LUN goes on; a handler killed with
# commands queued and started again answers them; 'ctl restart' re-executes
# the daemon under load.  (A malformed ring entry cannot be made by a real
# kernel: the unit tests cover it.)  172 s in the TCG lab VM on a busy 2-core host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcmu_lib.sh"
command -v sg_raw >/dev/null || skip "sg3-utils is not installed"
start_tcmu
TCMU_CMD_TIMEOUT=8 make_tcmu_lun it_trob 2
a=${DEVS[0]} b=${DEVS[1]}
for d in "$a" "$b"; do for _ in 1 2 3 4; do sg_raw "$d" 00 00 00 00 00 00 >/dev/null 2>&1 && break; done; done

# raw WANT DESC SG_RAW-ARGS...: sg_raw within 40 s, its output matching WANT.
raw() {
    local want=$1 desc=$2 out rc
    shift 2
    out=$(timeout 40 sg_raw "$@" 2>&1)
    rc=$?
    [ "$rc" = 124 ] && fail "$desc: no answer within 40 s"
    grep -Eqi -- "$want" <<<"$out" || fail "$desc: want '$want', got (exit $rc): $out"
}
raw 'invalid command operation code' "unknown opcode C5h" "$a" c5 00 00 00 00 00 00 00 00 00
raw 'good' "READ(10) of 0 blocks" "$a" 28 00 00 00 00 00 00 00 00 00
raw 'invalid field in cdb' "READ(10) of 8192 blocks (past the 1 MiB limit)" \
    -r 1048576 "$a" 28 00 00 00 00 00 00 20 00 00
raw 'good' "READ(10) of 8 blocks into 512 bytes" -r 512 "$a" 28 00 00 00 00 00 00 00 08 00
raw 'invalid field in cdb' "WRITE(10) of 8 blocks with 512 bytes" -s 512 -i /dev/zero "$a" 2a 00 00 00 00 00 00 00 08 00
raw 'logical block address out of range' "READ(16) past the end" "$a" 88 00 00 00 00 00 10 00 00 00 00 00 00 01 00 00
log "unknown opcode, zero-length, short and oversize transfers answered"

# PREEMPT AND ABORT: with pgr_support=0 the kernel only passes it on (the
# fileio hang of lab.md 7 is LIO's own PR code); it must return.
sg_persist -n -o -G -S 0xa "$a" >/dev/null 2>&1
sg_persist -n -o -G -S 0xb "$b" >/dev/null 2>&1
sg_persist -n -o -R -K 0xa -T 1 "$a" >/dev/null 2>&1
timeout 40 sg_persist -n -o -A -K 0xb -S 0xa -T 1 "$b" >"$LOGS/pa.out" 2>&1
rc=$?
[ "$rc" = 124 ] && fail "PREEMPT AND ABORT did not return within 40 s"
[ "$rc" = 0 ] || fail "PREEMPT AND ABORT failed ($rc): $(cat "$LOGS/pa.out")"
sg_persist -n -o -C -K 0xb "$b" >/dev/null 2>&1
log "PREEMPT AND ABORT returned"

# A command held past cmd_time_out (8 s): the kernel fails it, the LUN goes on.
tcmu_ctl fault add delay 14000 op=read client=it_trob_0 >/dev/null || fail "cannot arm the delay fault"
t0=$(date +%s)
timeout 60 sg_raw -r 512 -t 30 "$a" 28 00 00 00 00 00 00 00 01 00 >"$LOGS/held.out" 2>&1
rc=$?
t=$(($(date +%s) - t0))
[ "$rc" = 124 ] && fail "a held READ hung for 60 s"
[ "$t" -le 30 ] || fail "a held READ took ${t}s, beyond the 8 s cmd_time_out"
log "held READ failed after ${t}s (cmd_time_out 8 s): $(tr '\n' ' ' <"$LOGS/held.out" | cut -c1-100)"
sleep 7
raw 'good' "READ after the timed-out one" -r 512 "$a" 28 00 00 00 00 00 00 00 01 00
tcmu_ctl devices >"$LOGS/devices.txt"
grep -q 'it_trob_0.*ok' "$LOGS/devices.txt" || fail "backstore not ok after the timeout: $(cat "$LOGS/devices.txt")"

# Kill the handler with I/O outstanding, start it again within the timeout.
dd if="$b" of=/dev/null bs=64k count=200 iflag=direct 2>"$LOGS/dd-b.err" &
ddpid=$!
stop_tcmu KILL
sleep 1
start_tcmu
wait_tcmu_devices 2
timeout 60 tail --pid="$ddpid" -f /dev/null || fail "I/O through B did not finish after the restart"
wait "$ddpid" || fail "I/O across the handler restart failed: $(cat "$LOGS/dd-b.err")"
log "I/O queued while the handler was dead completed after its restart"

# 'ctl restart' under load: the daemon re-executes itself.
dd if="$a" of=/dev/null bs=64k count=200 iflag=direct 2>"$LOGS/dd-a.err" &
ddpid=$!
old=$TCMU_PID
tcmu_ctl restart >/dev/null 2>&1
wait "$ddpid" || fail "I/O across 'ctl restart' failed: $(cat "$LOGS/dd-a.err")"
for _ in $(seq 100); do tcmu_ctl devices >/dev/null 2>&1 && break; sleep 0.1; done
wait_tcmu_devices 2
kill -0 "$old" 2>/dev/null || fail "the re-executed daemon is gone"  # execv keeps the pid
raw 'good' "READ after ctl restart" -r 512 "$b" 28 00 00 00 00 00 00 00 01 00
log "'ctl restart' under load: I/O completed, LUN answers"
pass
