# Stage 2 of a nested guest booted with prh.root=9p (integration/guest/init):
# PID 1 in the overlay of the lab VM's root.  Runs role-$1.sh with the
# variables of /xchg/env, its output on the console and in /xchg/role.log,
# then powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8
set -a
. /xchg/env
set +a
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
ln -sf /proc/self/mounts /etc/mtab
hostname "prh-$1"
echo "PRH-GUEST: stage2 up, uptime $(cut -d" " -f1 /proc/uptime) s"
bash "/xchg/role-$1.sh" 2>&1 </dev/null | tee /xchg/role.log
echo "PRH-GUEST-DONE"
sync -f /xchg 2>/dev/null
busybox poweroff -f 2>/dev/null || echo o >/proc/sysrq-trigger
sleep 10
