#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real QEMU client: two guests (nested TCG), each with a scsi-block disk
# on one nexus of the same LIO LUN and -object pr-manager-helper pointing at
# prhelper.  A registers and reserves; prhelper is restarted (QEMU must
# reconnect); B fences A with PREEMPT; A's writes then fail with
# RESERVATION CONFLICT.  Takes a few minutes under TCG.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
[ -n "${LAB_KERNEL:-}" ] && [ -r "$LAB_KERNEL" ] || skip "LAB_KERNEL is not set"
[ -x /bin/busybox ] || skip "busybox-static is not installed"
sock=$WORK/prh.sock

# The guest's initramfs (integration/lib.sh).
build_guest_initrd "$WORK/initrd.gz"

make_lun fileio it_qemu 2
start_prhelper "$sock"

guest() { # role device
    qemu-system-x86_64 -accel tcg -m 256 -nodefaults -no-user-config -display none \
        -serial "file:$LOGS/guest-$1.log" -no-reboot \
        -kernel "$LAB_KERNEL" -initrd "$WORK/initrd.gz" \
        -append "console=ttyS0 quiet panic=-1 no_timer_check rdinit=/init prh.role=$1" \
        -object pr-manager-helper,id=helper0,path="$sock" \
        -device virtio-scsi-pci,id=scsi0 \
        -blockdev node-name=hd0,driver=host_device,filename="$2",pr-manager=helper0 \
        -device scsi-block,bus=scsi0.0,drive=hd0 >"$LOGS/qemu-$1.log" 2>&1 &
    PIDS+=($!)
    eval "QEMU_$1=\$!"
}
guest a "${DEVS[0]}"
guest b "${DEVS[1]}"

# When B has seen A's reservation, restart prhelper under both clients.
for _ in $(seq 600); do
    grep -q "PRH-B: saw-reservation" "$LOGS/guest-b.log" 2>/dev/null && break
    kill -0 "$QEMU_b" 2>/dev/null || break
    sleep 0.5
done
grep -q "PRH-B: saw-reservation" "$LOGS/guest-b.log" || fail "guest B never saw A's reservation: $(tail -5 "$LOGS/guest-b.log" "$LOGS/qemu-b.log")"
kill -TERM "$PRH_PID"
wait "$PRH_PID" 2>/dev/null
log "prhelper restarted while the guests run"
start_prhelper "$sock"

for pid in "$QEMU_a" "$QEMU_b"; do
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && fail "a guest did not finish in time"
done
cat "$LOGS/guest-a.log" "$LOGS/guest-b.log" | grep PRH-
check() { grep -q -- "$2" "$LOGS/guest-$1.log" || fail "guest $1: no '$2'"; }
check a "PRH-A: register rc=0"
check a "PRH-A: reserve rc=0"
check a "PRH-A: write-before rc=0"
check b "PRH-B: register rc=0"
check b "PRH-B: preempt rc=0"
check b "Key=0xb2"
check a "PRH-A: write-status RESERVATION CONFLICT"
grep -q "PRH-A: write-after rc=0" "$LOGS/guest-a.log" && fail "fenced guest A could still write"
pass
