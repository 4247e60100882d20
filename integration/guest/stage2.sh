# Stage 2 of a nested guest booted with prh.root=9p (integration/guest/init):
# PID 1 in the overlay of the lab VM's root.  Runs role-$1.sh with the
# variables of /xchg/env, its output on the console and in /xchg/role.log,
# then powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8
set -a
. /xchg/env
set +a
# /dev/pts, /dev/shm, the /dev/fd and /dev/std* links, /etc/mtab and the
# host name are set up by init before switch_root (busybox in RAM): every
# program started here comes over 9p and costs seconds under two levels
# of TCG.
read -r up _ </proc/uptime
echo "PRH-GUEST: stage2 up, uptime $up s"
bash "/xchg/role-$1.sh" 2>&1 </dev/null | tee /xchg/role.log
echo "PRH-GUEST-DONE"
sync -f /xchg 2>/dev/null
busybox poweroff -f 2>/dev/null || echo o >/proc/sysrq-trigger
sleep 10
