# Guest of test-qemu-client-fence.sh: one guest, two disks, each a nexus
# of the same LIO LUN through its own pr-manager-helper connection.  A
# (SCSI target 0) registers 0xa1, reserves Write Exclusive - Registrants
# Only and writes; B (target 1) registers 0xb2 and, once it has seen A's
# reservation (the host then restarts prhelper: QEMU must reconnect),
# fences A with PREEMPT; A's writes must then fail with RESERVATION
# CONFLICT.  Sequential in one guest: one boot instead of two.
disk() { ls /sys/bus/scsi/devices/*:0:"$1":0/block 2>/dev/null | head -1; }
i=0
while { [ -z "$(disk 0)" ] || [ -z "$(disk 1)" ]; } && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
A=/dev/$(disk 0) B=/dev/$(disk 1)
echo "PRH-GUEST: A is $A, B is $B"
sayA() { echo "PRH-A: $*"; }
sayB() { echo "PRH-B: $*"; }
for d in $A $B; do
    for i in 1 2 3; do sg_persist -n -i -k "$d" >/dev/null 2>&1 && break; done
done
sg_persist -n -o -G -S 0xa1 "$A" >/dev/null 2>&1; sayA "register rc=$?"
sg_persist -n -o -R -K 0xa1 -T 5 "$A" >/dev/null 2>&1; sayA "reserve rc=$?"
dd if=/dev/zero of="$A" bs=512 count=1 seek=64 oflag=direct 2>/dev/null; sayA "write-before rc=$?"
sg_persist -n -o -G -S 0xb2 "$B" >/dev/null 2>&1; sayB "register rc=$?"
i=0
while [ $i -lt 30 ]; do
    sg_persist -n -i -r "$B" 2>/dev/null | grep -q "Key=0xa1" && break
    sleep 1; i=$((i + 1))
done
sayB "saw-reservation"
# The host restarts prhelper now.  QEMU reconnects on the next command; a
# command sent while no helper listens fails, so B tries again.
sleep 30
i=1
while :; do
    sg_persist -n -o -P -K 0xb2 -S 0xa1 -T 5 "$B" >/dev/null 2>&1
    rc=$?
    [ $rc -eq 0 ] || [ $i -ge 10 ] && break
    sleep 5; i=$((i + 1))
done
sayB "preempt rc=$rc (attempt $i)"
sayB "reservation: $(sg_persist -n -i -r "$B" 2>&1 | tr '\n' ' ')"
# A: its key is gone (READ KEYS answers after the unit attention).
i=0
while [ $i -lt 10 ]; do
    out=$(sg_persist -n -i -k "$A" 2>&1)
    echo "$out" | grep -q "PR generation" && break
    i=$((i + 1))
done
sayA "keys-after-fence: $(echo $out | tr '\n' ' ')"
dd if=/dev/zero of="$A" bs=512 count=1 seek=64 oflag=direct 2>/dev/null; sayA "write-after rc=$?"
out=$(sg_raw -s 512 -i /dev/zero "$A" 2a 00 00 00 00 40 00 00 01 00 2>&1)
echo "$out" | grep -qi "reservation conflict" && sayA "write-status RESERVATION CONFLICT"
