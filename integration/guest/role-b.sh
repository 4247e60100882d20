# Guest B: register, wait for A's reservation, give the host time to restart
# the helper (QEMU must reconnect), then fence A with PREEMPT.
say() { echo "PRH-B: $*"; }
for i in 1 2 3; do sg_persist -n -i -k /dev/sda >/dev/null 2>&1 && break; done
sg_persist -n -o -G -S 0xb2 /dev/sda >/dev/null 2>&1; say "register rc=$?"
i=0
while [ $i -lt 400 ]; do
    sg_persist -n -i -r /dev/sda 2>/dev/null | grep -q "Key=0xa1" && break
    sleep 1; i=$((i + 1))
done
say "saw-reservation"
sleep 20
sg_persist -n -o -P -K 0xb2 -S 0xa1 -T 5 /dev/sda >/dev/null 2>&1; say "preempt rc=$?"
say "reservation: $(sg_persist -n -i -r /dev/sda 2>&1 | tr '\n' ' ')"
