# Guest of test-libvirt-managed-pr.sh (a libvirt domain): register 0xc1,
# fence the host's key 0xb2 with PREEMPT, read the keys back.
say() { echo "PRH-LV: $*"; }
for i in 1 2 3; do sg_persist -n -i -k /dev/sda >/dev/null 2>&1 && break; done
sg_persist -n -o -G -S 0xc1 /dev/sda >/dev/null 2>&1; say "register rc=$?"
sg_persist -n -o -P -K 0xc1 -S 0xb2 -T 5 /dev/sda >/dev/null 2>&1; say "preempt rc=$?"
say "keys: $(sg_persist -n -i -k /dev/sda 2>&1 | tr '\n' ' ')"
