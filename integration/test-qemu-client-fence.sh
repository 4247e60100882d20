#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real QEMU client: a nested TCG guest with two scsi-block disks, each
# on its own nexus of the same LIO LUN and each with its own
# -object pr-manager-helper connection to prhelper (to LIO and to prhelper
# they are two initiators, A and B, as two guests would be).  A registers
# and reserves; prhelper is restarted (QEMU must reconnect: the restarted
# helper's audit trail must hold B's PREEMPT); B fences A with PREEMPT;
# A's writes then fail with RESERVATION CONFLICT (integration/guest/
# role-ab.sh).  One guest boot serves both initiators: two guests booting
# at once on a 2-core host took over 600 s.  Time: the boot dominates
# (lib.sh's nested-guest notes; each stage's time is logged and written
# to guest-timings.tsv).  Measured at host load ~18 (2 cores shared with
# other work; the idle CI machine was not measured): 1086 s wall, 600 s
# of host CPU; the guest's first console line at 76 s, init at 497 s, the
# role at 716 s, done at 976 s.  Of its boot, the kernel spent ~80 s in
# ACPI's _PRT method of the pc machine (a loop that ran into ACPICA's
# 30 s loop timeout, "AE_AML_LOOP_TIMEOUT") and ~25 s loading the 9p
# modules this guest does not use: the next things to cut.
# prh-it-timeout: 900
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
[ -n "${LAB_KERNEL:-}" ] && [ -r "$LAB_KERNEL" ] || skip "LAB_KERNEL is not set"
[ -x /bin/busybox ] || skip "busybox-static is not installed"
sock=$WORK/prh.sock
AUDIT=$LOGS/audit-after-restart.jsonl

# The guest's kernel and initramfs (integration/lib.sh).
guest_kernel
build_guest_initrd "$WORK/initrd.cpio"

make_lun fileio it_qemu 2
start_prhelper "$sock"

qemu-system-x86_64 -accel tcg -m 256 -nodefaults -no-user-config -display none \
    -serial "file:$LOGS/guest.log" -no-reboot \
    -kernel "$GUEST_KERNEL" -initrd "$WORK/initrd.cpio" \
    -append "console=ttyS0 panic=-1 no_timer_check printk.time=1 rdinit=/init prh.role=ab" \
    -object pr-manager-helper,id=helperA,path="$sock" \
    -object pr-manager-helper,id=helperB,path="$sock" \
    -device virtio-scsi-pci,id=scsi0 \
    -blockdev node-name=hdA,driver=host_device,filename="${DEVS[0]}",pr-manager=helperA \
    -device scsi-block,bus=scsi0.0,drive=hdA,scsi-id=0,lun=0 \
    -blockdev node-name=hdB,driver=host_device,filename="${DEVS[1]}",pr-manager=helperB \
    -device scsi-block,bus=scsi0.0,drive=hdB,scsi-id=1,lun=0 >"$LOGS/qemu.log" 2>&1 &
QEMU_PID=$!
PIDS+=("$QEMU_PID")
guest_started ab "$LOGS/guest.log"

# When B has seen A's reservation, restart prhelper under the guest; the
# new one keeps an audit trail, so B's PREEMPT must show up in it.
# Deadlines from the start of the guest, within the test's limit.
t0=$SECONDS
guest_wait ab "PRH-B: saw-reservation" $((t0 + IT_LIMIT * 3 / 4)) "$QEMU_PID"
kill -TERM "$PRH_PID"
wait "$PRH_PID" 2>/dev/null
start_prhelper "$sock" --audit=file:"$AUDIT"
log "prhelper restarted while the guest runs ($((SECONDS - t0)) s after the guest started)"

guest_wait ab PRH-GUEST-DONE $((t0 + IT_LIMIT - 40)) "$QEMU_PID"
guest_timings ab
grep PRH- "$LOGS/guest.log"
check() { grep -q -- "$1" "$LOGS/guest.log" || fail "guest: no '$1'"; }
check "PRH-A: register rc=0"
check "PRH-A: reserve rc=0"
check "PRH-A: write-before rc=0"
check "PRH-B: register rc=0"
check "PRH-B: preempt rc=0"
check "Key=0xb2"
check "PRH-A: write-status RESERVATION CONFLICT"
grep -q "PRH-A: write-after rc=0" "$LOGS/guest.log" && fail "fenced initiator A could still write"
# QEMU reconnected: B's PREEMPT went through the restarted prhelper.
grep '"service_action":"PREEMPT"' "$AUDIT" 2>/dev/null | grep '"sa_key":"0x00000000000000a1"' |
    grep -q '"result":"ok"' ||
    fail "B's PREEMPT is not in the restarted prhelper's audit trail (QEMU did not reconnect?): $(cat "$AUDIT" 2>/dev/null)"
pass
