# Guest A: register, reserve Write Exclusive - Registrants Only, write; wait
# to be fenced by B; then its writes must fail with RESERVATION CONFLICT.
say() { echo "PRH-A: $*"; }
for i in 1 2 3; do sg_persist -n -i -k /dev/sda >/dev/null 2>&1 && break; done
sg_persist -n -o -G -S 0xa1 /dev/sda >/dev/null 2>&1; say "register rc=$?"
sg_persist -n -o -R -K 0xa1 -T 5 /dev/sda >/dev/null 2>&1; say "reserve rc=$?"
dd if=/dev/zero of=/dev/sda bs=512 count=1 seek=64 oflag=direct 2>/dev/null; say "write-before rc=$?"
i=0
while [ $i -lt 400 ]; do
    out=$(sg_persist -n -i -k /dev/sda 2>&1)
    # Fenced: READ KEYS answers (after the UNIT ATTENTION) without 0xa1.
    echo "$out" | grep -q "PR generation" && ! echo "$out" | grep -q 0xa1 && break
    sleep 1; i=$((i + 1))
done
say "keys-after-fence: $(echo $out | tr '\n' ' ')"
dd if=/dev/zero of=/dev/sda bs=512 count=1 seek=64 oflag=direct 2>/dev/null; say "write-after rc=$?"
out=$(sg_raw -s 512 -i /dev/zero /dev/sda 2a 00 00 00 00 40 00 00 01 00 2>&1)
echo "$out" | grep -qi "reservation conflict" && say "write-status RESERVATION CONFLICT"
