# Guest of test-qemu-client-libiscsi-and-fence-scsi.sh (nested.sh, 9p
# root): one node of a two-node cluster that also runs libiscsi's PR
# tests.  The host drives it: it writes /xchg/step-N.sh, the guest runs
# the steps in order (with the functions below) and writes each one's
# output to /xchg/out-N and its exit status to /xchg/rc-N.  The host may
# queue several steps at once.  A step "exit-guest" ends the role.
#
# Disks by SCSI target id (the host's -device scsi-block,scsi-id=N):
# 0 = sg (a LIO nexus of its own), 1 = sim (the LUN shared by both
# guests, PR through prhelper --transport=sim), 2 = mpath (a dm-multipath
# map of two LIO nexuses in the lab VM), 3 and 4 = libiscsi's disks (a
# LIO LUN each, PR through the helper the host put behind it).
disk() {
    local t b
    case $1 in sg) t=0 ;; sim) t=1 ;; mpath) t=2 ;; [0-9]) t=$1 ;; *) return 1 ;; esac
    for b in /sys/block/sd*; do
        case $(basename "$(readlink -f "$b/device")") in
        *:*:$t:0) echo "/dev/${b##*/}"; return 0 ;;
        esac
    done
    return 1
}
# fence VARIANT ARGS...: fence_scsi on the variant's disk.  corosync is
# replaced by a stub that knows the cluster's two nodes; where LIO is
# behind (sg, mpath) sg_persist is a wrapper that sends PREEMPT for
# fence_scsi's PREEMPT AND ABORT, which hangs the lab kernel's LIO; on
# sim sg_turs is a wrapper that also clears the simulator's unit
# attentions with a PR IN (the test's sg_turs-pr).
fence() {
    local v=$1 d sgp=/usr/bin/sg_persist
    shift
    d=$(disk "$v") || { echo "no disk for $v"; return 99; }
    [ "$v" = sim ] || sgp=/xchg/sg_persist-preempt
    [ "$v" = sim ] && set -- --sg_turs-path=/xchg/sg_turs-pr "$@"
    fence_scsi --corosync-cmap-path=/xchg/corosync-cmapctl --sg_persist-path="$sgp" -d "$d" "$@"
}
# warm: run once each program of the fencing story, so that both nodes
# load them (Python and fence_scsi's modules, sg3-utils, over 9p under
# two levels of TCG) at the same time instead of in turn, inside the
# story's steps.  Measured on an idle host: ~220-230 s on each node, in
# parallel; the first fence_scsi -o on took 372 s and 385 s in turn
# without it, 345 s after it (a later -o on: ~255 s), so most of a
# call's time is Python and sg_persist running, not loading.
warm() {
    fence_scsi -h >/dev/null && echo "fence_scsi loaded"
    sg_persist -V 2>&1 | head -n 1
    /xchg/sg_persist-preempt -V 2>&1 | head -n 1
    sg_turs -V 2>&1 | head -n 1
    sg_raw -V 2>&1 | head -n 1
}
# write VARIANT: one 512-byte WRITE(10) at LBA 64; prints GOOD or the
# status sg_raw reports (RESERVATION CONFLICT when fenced).
write() {
    local d out
    d=$(disk "$1") || { echo "no disk for $1"; return 99; }
    # Unit attentions first (REGISTRATIONS PREEMPTED after a fence):
    # TEST UNIT READY is allowed under every reservation type.
    for _ in 1 2 3; do sg_turs "$d" >/dev/null 2>&1 && break; done
    out=$(sg_raw -s 512 -i /dev/zero "$d" 2a 00 00 00 00 40 00 00 01 00 2>&1)
    if echo "$out" | grep -qi "reservation conflict"; then
        echo "write: RESERVATION CONFLICT"
    elif echo "$out" | grep -qi "good"; then
        echo "write: GOOD"
    else
        echo "write: other: $(echo "$out" | tr '\n' ' ')"
    fi
}
# libiscsi SCSI-ID plain|shim NAME TESTS: iscsi-test-cu's TESTS on the
# /dev/sg node of disk SCSI-ID, unmodified or with the PR IN
# allocation-length shim (LD_PRELOAD /xchg/prin-shim.so); its output in
# /xchg/NAME.out.  The run starts from a LUN without registrations or
# reservation: cleared through the disk's helper, unit attentions eaten.
libiscsi() {
    local d sg pre='' rc start
    d=$(disk "$1") || { echo "no disk $1"; return 99; }
    sg=/dev/$(ls "/sys/block/${d#/dev/}/device/scsi_generic/")
    echo "disk $1 is $d, $sg: $(cat "/sys/block/${d#/dev/}/device/vendor" "/sys/block/${d#/dev/}/device/model" | tr -s ' \n' ' ')"
    sg_persist -n -o -I -S 0x5eed "$sg" >/dev/null 2>&1 || sg_persist -n -o -I -S 0x5eed "$sg" >/dev/null 2>&1
    sg_persist -n -o -C -K 0x5eed "$sg" >/dev/null 2>&1
    for _ in 1 2 3; do sg_turs "$sg" >/dev/null 2>&1; done
    [ "$2" = shim ] && pre=/xchg/prin-shim.so
    start=$(date +%s)
    LD_PRELOAD=$pre timeout 900 iscsi-test-cu -d -t "$4" "$sg" >"/xchg/$3.out" 2>&1
    rc=$?
    echo "iscsi-test-cu $2 rc=$rc $(($(date +%s) - start)) s"
    # Leave the LUN as it was found.
    sg_persist -n -o -I -S 0x5eed "$sg" >/dev/null 2>&1 || sg_persist -n -o -I -S 0x5eed "$sg" >/dev/null 2>&1
    sg_persist -n -o -C -K 0x5eed "$sg" >/dev/null 2>&1
    return 0
}
echo "PRH-CLIENT: $(dpkg-query -W -f='${Package} ${Version}; ' libiscsi-bin fence-agents 2>/dev/null)"
n=1
while :; do
    # The host may leave a node idle while the other works (libiscsi on
    # a loaded host): wait for the next step up to two hours.
    i=0
    while [ ! -e "/xchg/step-$n.sh" ] && [ $i -lt 14400 ]; do sleep 0.5; i=$((i + 1)); done
    [ -e "/xchg/step-$n.sh" ] || { echo "PRH-STEP: no step $n"; break; }
    grep -qx exit-guest "/xchg/step-$n.sh" && break
    start=$(date +%s%N)
    (. "/xchg/step-$n.sh") >"/xchg/out-$n.tmp" 2>&1
    rc=$?
    echo "PRH-STEP: step $n rc=$rc $((($(date +%s%N) - start) / 1000000)) ms: $(head -c 300 "/xchg/step-$n.sh" | tr '\n' ';')"
    mv "/xchg/out-$n.tmp" "/xchg/out-$n"
    echo "$rc" >"/xchg/rc-$n"
    n=$((n + 1))
done
