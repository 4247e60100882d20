#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prhelper-tcmu as a real kernel LUN (docs/tcmu.md): one simulated LUN,
# two TCMU backstores with pgr_support=0, two tcm_loop nexuses.
#  - sg_persist registers, reserves, reads and preempts from both sides;
#  - dd writes from the fenced nexus fail with RESERVATION CONFLICT while
#    the holder's succeed; data written by one nexus is read by the other;
#  - a unit attention (registrations preempted) reaches the preempted side;
#  - APTPL state survives a prhelper-tcmu restart;
#  - prhelper --transport=sg in front (QEMU's path) answers as the LUN does.
# 169 s in the TCG lab VM on a busy 2-core host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcmu_lib.sh"
command -v sg_persist >/dev/null || skip "sg3-utils is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

start_tcmu
make_tcmu_lun it_tcmu 2
a=${DEVS[0]} b=${DEVS[1]}

write_to() { dd if="$2" of="$1" bs=512 count=1 seek="$3" oflag=direct status=none 2>"$LOGS/dd.err"; }
read_from() { dd if="$1" of="$2" bs=512 count=1 skip="$3" iflag=direct status=none 2>"$LOGS/dd.err"; }

head -c 512 /dev/urandom >"$WORK/blk.a"
head -c 512 /dev/urandom >"$WORK/blk.b"

# Registration and reservation from both sides.
want 0 "$a" -o -G -S 0x11
want 0 "$b" -o -G -S 0x22
want 0 "$b" -i -k
grep -q 0x11 <<<"$OUT" && grep -q 0x22 <<<"$OUT" || fail "keys not visible through B: $OUT"
want 0 "$a" -o -R -K 0x11 -T 1
want 0 "$b" -i -r
grep -qi 'key=0x11' <<<"$OUT" && grep -qi 'write exclusive' <<<"$OUT" || fail "B does not see A's reservation: $OUT"
want 24 "$b" -o -R -K 0x22 -T 1
log "sg_persist from both nexuses: registered, A holds Write Exclusive, B's RESERVE conflicts"

# READ FULL STATUS: each backstore is its own nexus (SAS TransportID, port).
want 0 "$a" -i -s
grep -qi 'relative port address: 0x1' <<<"$OUT" && grep -qi 'relative port address: 0x2' <<<"$OUT" ||
    fail "READ FULL STATUS lacks the two relative ports: $OUT"
grep -qi "0x50014050$(lun_id it_tcmu)a000" <<<"$OUT" || fail "READ FULL STATUS lacks A's SAS address: $OUT"

# Fencing on the data path: B (registered, not holder) cannot write.
write_to "$a" "$WORK/blk.a" 10 || fail "the holder A cannot write: $(cat "$LOGS/dd.err")"
write_to "$b" "$WORK/blk.b" 10 && fail "B wrote under A's Write Exclusive reservation"
if command -v sg_raw >/dev/null; then
    out=$(sg_raw -s 512 -i "$WORK/blk.b" "$b" 2a 00 00 00 00 0a 00 00 01 00 2>&1)
    grep -qi 'reservation conflict' <<<"$out" || fail "WRITE(10) from B: no RESERVATION CONFLICT: $out"
fi
read_from "$b" "$WORK/back" 10 || fail "B cannot read under Write Exclusive: $(cat "$LOGS/dd.err")"
cmp -s "$WORK/blk.a" "$WORK/back" || fail "B does not read what A wrote"
log "fenced B's WRITE gets RESERVATION CONFLICT; A's data is read back through B"

# B preempts A: A gets the unit attention on its next command, then conflicts.
want 0 "$b" -o -P -K 0x22 -S 0x11 -T 1
OUT=$(sg_persist -n -i -k "$a" 2>&1)
RC=$?
[ "$RC" = 6 ] || fail "A's first command after the preemption exited $RC, want 6 (UNIT ATTENTION): $OUT"
want 0 "$a" -i -k
grep -q 0x11 <<<"$OUT" && fail "A's key survived the preemption: $OUT"
write_to "$a" "$WORK/blk.a" 11 && fail "preempted A could still write"
write_to "$b" "$WORK/blk.b" 11 || fail "the new holder B cannot write: $(cat "$LOGS/dd.err")"
read_from "$a" "$WORK/back" 11 || fail "A cannot read under Write Exclusive"
cmp -s "$WORK/blk.b" "$WORK/back" || fail "A does not read what B wrote"
log "PREEMPT: A saw the unit attention, lost its registration and its writes"
tcmu_ctl state it_tcmu >"$LOGS/state.txt" || fail "ctl state failed"
grep -q 'Write Exclusive' "$LOGS/state.txt" || fail "ctl state does not show the reservation: $(cat "$LOGS/state.txt")"

# prhelper --transport=sg in front answers as the LUN does.
start_prhelper "$WORK/prh.sock" --transport=sg
python3 "$ROOT/integration/tcmu_direct_vs_helper.py" "$WORK/prh.sock" "$a" "$b" >"$LOGS/cmp.txt" 2>&1 ||
    fail "prhelper --transport=sg and the LUN answer differently: $(tail -5 "$LOGS/cmp.txt")"
log "prhelper --transport=sg: $(tail -1 "$LOGS/cmp.txt")"

# APTPL survives a restart of prhelper-tcmu.
want 0 "$b" -o -R -K 0x22 -T 1 2>/dev/null
want 0 "$b" -o -C -K 0x22
want 0 "$a" -o -G -S 0x33 -Z
want 0 "$a" -o -R -K 0x33 -T 3
stop_tcmu TERM
start_tcmu
wait_tcmu_devices 2
want 0 "$b" -i -r
grep -qi 'key=0x33' <<<"$OUT" && grep -qi 'exclusive access' <<<"$OUT" ||
    fail "the APTPL reservation did not survive the restart: $OUT"
read_from "$b" "$WORK/back" 11 && fail "B read under the restored Exclusive Access reservation"
read_from "$a" "$WORK/back" 11 || fail "the holder cannot read after the restart"
cmp -s "$WORK/blk.b" "$WORK/back" || fail "the data did not survive the restart"
log "APTPL reservation and data survived a prhelper-tcmu restart"
want 0 "$a" -o -C -K 0x33
pass
