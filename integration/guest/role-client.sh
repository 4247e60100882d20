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
#
# Under two levels of TCG every program started costs seconds of the lab
# VM's CPU, which the other node's guest needs: the loop that waits for
# steps and the functions below use bash builtins (nap, $EPOCHREALTIME,
# globs, read, case) and start only the programs a step is about.
#
# disk VARIANT|ID: DISK=/dev/sdX of that SCSI target id.
disk() {
    local t e b
    DISK=
    case $1 in sg) t=0 ;; sim) t=1 ;; mpath) t=2 ;; [0-9]) t=$1 ;; *) return 1 ;; esac
    for e in /sys/block/sd*/device/scsi_device/*:*:"$t":0; do
        [ -e "$e" ] || continue
        e=${e#/sys/block/}
        DISK=/dev/${e%%/*}
        return 0
    done
    # A kernel without the scsi_device class directory: read the links.
    for b in /sys/block/sd*; do
        case $(readlink -f "$b/device") in
        *:*:$t:0) DISK=/dev/${b##*/}; return 0 ;;
        esac
    done
    return 1
}
# nap SECONDS: sleep without starting a program (a read that times out on
# a FIFO nobody writes).
mkfifo /tmp/nap.fifo 2>/dev/null
exec {NAP}<>/tmp/nap.fifo
nap() { read -r -t "$1" -u "$NAP" _; }
# fence VARIANT ARGS...: fence_scsi on the variant's disk.  corosync is
# replaced by a stub that knows the cluster's two nodes; where LIO is
# behind (sg, mpath) sg_persist is a wrapper that sends PREEMPT for
# fence_scsi's PREEMPT AND ABORT, which hangs the lab kernel's LIO; on
# sim sg_turs is a wrapper that also clears the simulator's unit
# attentions with a PR IN (the test's sg_turs-pr).  --power-timeout is
# also fence_scsi's limit on each sg_persist/sg_turs it runs (5 s by
# default): under two levels of TCG one sg_persist through the mpath
# transport's two paths can take longer.  The call goes through the
# fence_scsi server that warm started (fence-zygote.py: fence_scsi's own
# main() in a fork of one loaded interpreter); without it, fence_scsi runs
# as a program.
fence() {
    local v=$1 sgp=/usr/bin/sg_persist
    shift
    disk "$v" || { echo "no disk for $v"; return 99; }
    [ "$v" = sim ] || sgp=/xchg/sg_persist-preempt
    [ "$v" = sim ] && set -- --sg_turs-path=/xchg/sg_turs-pr "$@"
    set -- --corosync-cmap-path=/xchg/corosync-cmapctl --sg_persist-path="$sgp" --power-timeout=60 -d "$DISK" "$@"
    if fz_up; then
        fz "$@"
    else
        echo "(fence_scsi server not running: fence_scsi runs as a program)"
        fence_scsi "$@"
    fi
}
FZ=/tmp/fz
fz_up() {
    local pid
    [ -p "$FZ/req" ] && [ -p "$FZ/rc" ] && read -r pid 2>/dev/null <"$FZ/ready" && kill -0 "$pid" 2>/dev/null
}
# fz ARGS...: one fence_scsi ARGS through the server (fence-zygote.py's
# request: reply FIFO, output file, arguments, NUL-terminated, one write).
# The reply FIFO, opened read-write, does not block here, and the
# server's open for writing finds a reader: a call that outlives 20
# minutes (a dead server) ends with status 97 instead of hanging.
fz() {
    local rc='' fd line
    exec {fd}<>"$FZ/rc"
    printf '%s\0' "$FZ/rc" "$FZ/out" "$@" >"$FZ/req"
    read -r -t 1200 rc <&"$fd"
    exec {fd}<&-
    while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done <"$FZ/out"
    return "${rc:-97}"
}
# warm: load the fencing story's programs on both nodes at the same time,
# before the story: Python and fence_scsi's modules, once, in the
# fence_scsi server (every fence_scsi call of the story is then a fork of
# it, not a new Python start-up under two levels of TCG), and sg3-utils
# (over 9p).  Measured (host load 1-4): loading took 120-200 s; a
# fence_scsi call then takes 40-60 s, where one as a program took 121-385 s.
warm() {
    local i=0 pid
    if ! fz_up; then
        rm -rf "$FZ"
        mkdir -p "$FZ"
        mkfifo "$FZ/rc"
        setsid -f /usr/bin/python3 /xchg/fence-zygote.py "$FZ" /usr/sbin/fence_scsi </dev/null >/xchg/fence-zygote.log 2>&1
        while ! fz_up && [ $i -lt 3600 ]; do nap 0.5; i=$((i + 1)); done
    fi
    if fz_up; then
        read -r pid <"$FZ/ready"
        echo "fence_scsi loaded (server pid $pid)"
    else
        echo "fence_scsi server did not start: $(tail -n 3 /xchg/fence-zygote.log)"
    fi
    sg_persist -V 2>&1 | head -n 1
    /xchg/sg_persist-preempt -V 2>&1 | head -n 1
    sg_turs -V 2>&1 | head -n 1
    sg_raw -V 2>&1 | head -n 1
}
# write VARIANT: one 512-byte WRITE(10) at LBA 64; prints GOOD or the
# status sg_raw reports (RESERVATION CONFLICT when fenced).
write() {
    local out
    disk "$1" || { echo "no disk for $1"; return 99; }
    # Unit attentions first (REGISTRATIONS PREEMPTED after a fence):
    # TEST UNIT READY is allowed under every reservation type.
    for _ in 1 2 3; do sg_turs "$DISK" >/dev/null 2>&1 && break; done
    out=$(sg_raw -s 512 -i /dev/zero "$DISK" 2a 00 00 00 00 40 00 00 01 00 2>&1)
    case ${out,,} in
    *"reservation conflict"*) echo "write: RESERVATION CONFLICT" ;;
    *good*) echo "write: GOOD" ;;
    *) echo "write: other: ${out//$'\n'/ }" ;;
    esac
}
# libiscsi SCSI-ID plain|shim NAME TESTS: iscsi-test-cu's TESTS on the
# /dev/sg node of disk SCSI-ID, unmodified or with the PR IN
# allocation-length shim (LD_PRELOAD /xchg/prin-shim.so); its output in
# /xchg/NAME.out.  The run starts from a LUN without registrations or
# reservation: cleared through the disk's helper, unit attentions eaten.
libiscsi() {
    local d sg='' e pre='' rc start ven='' mod=''
    disk "$1" || { echo "no disk $1"; return 99; }
    d=$DISK
    for e in "/sys/block/${d#/dev/}/device/scsi_generic/"*; do sg=/dev/${e##*/}; done
    read -r ven <"/sys/block/${d#/dev/}/device/vendor"
    read -r mod <"/sys/block/${d#/dev/}/device/model"
    echo "disk $1 is $d, $sg: $ven $mod"
    sg_persist -n -o -I -S 0x5eed "$sg" >/dev/null 2>&1 || sg_persist -n -o -I -S 0x5eed "$sg" >/dev/null 2>&1
    sg_persist -n -o -C -K 0x5eed "$sg" >/dev/null 2>&1
    for _ in 1 2 3; do sg_turs "$sg" >/dev/null 2>&1; done
    [ "$2" = shim ] && pre=/xchg/prin-shim.so
    start=$EPOCHSECONDS
    LD_PRELOAD=$pre timeout 900 iscsi-test-cu -d -t "$4" "$sg" >"/xchg/$3.out" 2>&1
    rc=$?
    echo "iscsi-test-cu $2 rc=$rc $((EPOCHSECONDS - start)) s"
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
    while [ ! -e "/xchg/step-$n.sh" ] && [ $i -lt 14400 ]; do nap 0.5; i=$((i + 1)); done
    [ -e "/xchg/step-$n.sh" ] || { echo "PRH-STEP: no step $n"; break; }
    mapfile -t lines <"/xchg/step-$n.sh"
    [ "${lines[*]}" = exit-guest ] && break
    start=${EPOCHREALTIME/./}
    # out-N is whole before rc-N exists: the host reads it after rc-N.
    (. "/xchg/step-$n.sh") >"/xchg/out-$n" 2>&1
    rc=$?
    end=${EPOCHREALTIME/./}
    printf -v what '%s;' "${lines[@]}"
    echo "PRH-STEP: step $n rc=$rc $(((end - start) / 1000)) ms: ${what:0:300}"
    # Whole or absent: the host polls for rc-N and reads it at once (it
    # once read an rc-N that existed but was still empty).
    echo "$rc" >"/xchg/.rc-$n" && mv -f "/xchg/.rc-$n" "/xchg/rc-$n"
    n=$((n + 1))
done
