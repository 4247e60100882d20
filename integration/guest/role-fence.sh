# Guest of test-qemu-client-fence-scsi.sh (nested.sh, 9p root): one node
# of a two-node cluster.  The host drives the story: it writes
# /xchg/step-N.sh, the guest runs it (with the functions below) and
# writes its output to /xchg/out-N and its exit status to /xchg/rc-N.
# A step "exit-guest" ends the role.
#
# Disks by SCSI target id (the host's -device scsi-block,scsi-id=N):
# 0 = sg (a LIO nexus of its own), 1 = sim (the LUN shared by both
# guests, PR through prhelper --transport=sim), 2 = mpath (a dm-multipath
# map of two LIO nexuses in the lab VM).
disk() {
    local t b
    case $1 in sg) t=0 ;; sim) t=1 ;; mpath) t=2 ;; *) return 1 ;; esac
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
# fence_scsi's PREEMPT AND ABORT, which hangs the lab kernel's LIO.
fence() {
    local v=$1 d sgp=/usr/bin/sg_persist
    shift
    d=$(disk "$v") || { echo "no disk for $v"; return 99; }
    [ "$v" = sim ] || sgp=/xchg/sg_persist-preempt
    fence_scsi --corosync-cmap-path=/xchg/corosync-cmapctl --sg_persist-path="$sgp" -d "$d" "$@"
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
n=1
while :; do
    i=0
    while [ ! -e "/xchg/step-$n.sh" ] && [ $i -lt 3600 ]; do sleep 0.5; i=$((i + 1)); done
    [ -e "/xchg/step-$n.sh" ] || { echo "PRH-FENCE: no step $n"; break; }
    grep -qx exit-guest "/xchg/step-$n.sh" && break
    start=$(date +%s%N)
    (. "/xchg/step-$n.sh") >"/xchg/out-$n.tmp" 2>&1
    rc=$?
    echo "PRH-FENCE: step $n rc=$rc $((($(date +%s%N) - start) / 1000000)) ms: $(head -c 300 "/xchg/step-$n.sh" | tr '\n' ';')"
    mv "/xchg/out-$n.tmp" "/xchg/out-$n"
    echo "$rc" >"/xchg/rc-$n"
    n=$((n + 1))
done
