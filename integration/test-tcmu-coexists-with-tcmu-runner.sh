#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prhelper-tcmu next to a running tcmu-runner (docs/tcmu.md, limit
# "tcmu-runner must not serve the same backstores"):
#  - with tcmu-runner serving its own qcow LUN, prsim backstores created
#    with nl_reply_supported=-1 enable at once and are served by
#    prhelper-tcmu alone: tcmu-runner (no prsim handler) holds none of
#    their UIO devices, prhelper-tcmu holds none of tcmu-runner's;
#  - both LUNs answer: the prsim LUN with its own serial and its fencing,
#    tcmu-runner's with LIO's reservations, each unaffected by the other
#    (tcmu-runner answers the kernel's events about prsim backstores with
#    an error: harmless, the kernel does not wait for it);
#  - a prsim UIO device another process holds open is refused with a
#    message that names the cause, and served after SIGHUP once it is free.
# 141 s in the TCG lab VM on a busy 2-core host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcmu_lib.sh"
command -v tcmu-runner >/dev/null || skip "tcmu-runner is not installed"
command -v qemu-img >/dev/null || skip "qemu-img is not installed"
command -v sg_persist >/dev/null || skip "sg3-utils is not installed"

# tcmu-runner first (lun.sh starts it when it is not running), with a LUN.
make_lun tcmu it_runner 1
r=${DEVS[0]}
on_exit 'remove_lun tcmu it_runner'
runner=$(pgrep -x tcmu-runner | head -1) || fail "tcmu-runner is not running"

start_tcmu
make_tcmu_lun it_coex 2
a=${DEVS[0]} b=${DEVS[1]}

# uio_of BACKSTORE: the UIO device of a backstore (its name holds /BACKSTORE/).
uio_of() {
    local f
    for f in /sys/class/uio/uio*/name; do
        grep -q "/$1/" "$f" && { basename "$(dirname "$f")"; return 0; }
    done
    fail "no UIO device for backstore $1"
}
# holds PID UIO: does the process have /dev/UIO open?
holds() { for fd in /proc/"$1"/fd/*; do [ "$(readlink "$fd")" = "/dev/$2" ] && return 0; done; return 1; }

u_r=$(uio_of it_runner) u_a=$(uio_of it_coex_0) u_b=$(uio_of it_coex_1)
holds "$runner" "$u_r" || fail "tcmu-runner does not hold its own $u_r"
for u in "$u_a" "$u_b"; do
    holds "$runner" "$u" && fail "tcmu-runner holds prhelper-tcmu's $u"
    holds "$TCMU_PID" "$u" || fail "prhelper-tcmu does not hold $u"
done
holds "$TCMU_PID" "$u_r" && fail "prhelper-tcmu holds tcmu-runner's $u_r"
n=$(tcmu_ctl devices | grep -c '^uio')
[ "$n" = 2 ] || fail "prhelper-tcmu serves $n backstores, want 2: $(tcmu_ctl devices)"
tcmu_ctl devices | grep -q it_runner && fail "prhelper-tcmu lists tcmu-runner's backstore"
log "tcmu-runner holds $u_r only, prhelper-tcmu $u_a and $u_b only"
# tcmu-runner did hear of them and answered the kernel with an error (the
# kernel, told nl_reply_supported=-1, was not waiting for it).
for u in "$u_a" "$u_b"; do
    tail -n +"$((_TCMU_FROM + 1))" "$_TCMU_LOG" | grep -q "could not find handler for $u\b" ||
        fail "tcmu-runner's log does not show it refusing $u"
done

# Each LUN is its handler's: the serial says who answers.
out=$(sg_inq -p 0x80 "$a" 2>&1)
grep -q 'Unit serial number: prsim-it_coex' <<<"$out" || fail "the prsim LUN's serial: $out"
out=$(sg_inq -p 0x80 "$r" 2>&1)
grep -q 'it_runner' <<<"$out" || fail "tcmu-runner's LUN's serial: $out"

wr() { dd if=/dev/urandom of="$1" bs=512 count=1 oflag=direct status=none 2>>"$LOGS/dd.err"; }

# The prsim LUN fences; tcmu-runner's LUN (LIO's reservations) does not
# see the simulator's, and takes its own.
want 0 "$a" -o -G -S 0xa
want 0 "$a" -o -R -K 0xa -T 1
wr "$a" || fail "the holder's write to the prsim LUN failed"
wr "$b" && fail "the fenced nexus's write to the prsim LUN succeeded"
want 0 "$r" -i -k
grep -q 0xa <<<"$OUT" && fail "tcmu-runner's LUN shows the prsim LUN's key: $OUT"
# (A read: tcmu-runner's qcow handler cannot allocate clusters on the lab
# VM's file systems, fallocate is not supported there.)
dd if="$r" of=/dev/null bs=512 count=1 iflag=direct status=none || fail "a read from tcmu-runner's LUN failed"
want 0 "$r" -o -G -S 0x77
want 0 "$r" -i -k
grep -q 0x77 <<<"$OUT" || fail "tcmu-runner's LUN lost its own registration: $OUT"
want 0 "$r" -o -G -K 0x77 -S 0
log "the prsim LUN fences, tcmu-runner's LUN answers with its own state"

# A UIO device another process holds (as tcmu-runner would if it served
# the backstore) is refused with a reason, then served once free.
# (Held by a process of its own: prhelper-tcmu must not inherit the fd.)
stop_tcmu
sleep 600 8<>"/dev/$u_b" &
holder=$!
PIDS+=("$holder")
for _ in $(seq 50); do holds "$holder" "$u_b" && break; sleep 0.1; done
holds "$holder" "$u_b" || fail "cannot open /dev/$u_b"
start_tcmu
wait_tcmu_devices 1
sleep 1
grep -q "/dev/$u_b is open in another process" "$LOGS/prhelper-tcmu.log" ||
    fail "no message about the busy $u_b: $(tail -3 "$LOGS/prhelper-tcmu.log")"
tcmu_ctl devices | grep -q it_coex_1 && fail "prhelper-tcmu serves a device another process holds"
kill "$holder"
wait "$holder" 2>/dev/null
kill -HUP "$TCMU_PID"
wait_tcmu_devices 2
dd if="$b" of=/dev/null bs=512 count=1 iflag=direct status=none || fail "$b unreadable after SIGHUP"
log "busy $u_b refused with a reason, served after SIGHUP"
pass
