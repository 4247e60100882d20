# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - shared helpers for the real-kernel tests (sourced; runs in the lab VM).
#
# A test script: sources this file, builds LUNs with make_lun, starts helpers
# with start_prhelper / start_qemu_pr_helper, asserts with expect_* and ends
# with "pass".  Exit status: 0 pass, 1 fail, 77 skip.  Cleanup is automatic.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=${PRH_LAB:-$ROOT/../shared/lab}
BUILD=${PRH_BUILD:-$ROOT/build/integration}
PRHELPER=$BUILD/src/prhelper
CLI=$BUILD/src/prhelper-cli
C=/sys/kernel/config/target
TEST=$(basename "$0" .sh)
# WORK: the test's runtime files (sockets, images, state); the guest's /run,
# gone at power-off.  LOGS: its logs (helper and QEMU logs, guest consoles,
# traces, command output), in the shared project directory, so they outlive
# the VM: build/test-logs/integration/<test>/.  Write every log to $LOGS;
# at exit, small files left in $WORK, the kernel messages and tcmu-runner's
# log lines of the test's time are copied there too.
WORK=/run/prh-it/$TEST
# IT_LIMIT: the test's time limit in seconds (run-all.sh's, scaled by
# PRH_IT_TIME_SCALE), for a test whose own deadlines follow it.
IT_LIMIT=${PRH_IT_LIMIT:-600}
LOGS=${PRH_IT_LOGS:-$ROOT/build/test-logs/integration}/$TEST
mkdir -p "$WORK" "$LOGS"
export PRH_IT_TEST_LOGS=$LOGS
# The helpers' logs used to be in $WORK: the old names still lead there.
ln -sfn "$LOGS/prhelper.log" "$WORK/prhelper.log"
ln -sfn "$LOGS/qemu-pr-helper.log" "$WORK/qemu-pr-helper.log"
PIDS=()
EXIT_HOOKS=()
_DMESG_FROM=$(dmesg 2>/dev/null | wc -l)
_TCMU_LOG=/run/lab-luns/tcmu-runner.log
_TCMU_FROM=$(cat "$_TCMU_LOG" 2>/dev/null | wc -l)

log() { echo "[$TEST] $*"; }
fail() { echo "FAIL: [$TEST] $*"; exit 1; }
skip() { echo "SKIP: [$TEST] $*"; exit 77; }
pass() { echo "PASS: [$TEST]"; exit 0; }
note() { echo "NOTE: [$TEST] $*"; } # shown beside PASS in the summary

# on_exit 'COMMAND': run at exit, after the started processes are stopped
# and before the logs are collected (e.g. copy a log kept elsewhere to $LOGS).
on_exit() { EXIT_HOOKS+=("$1"); }

# collect_logs: what a failure needs besides the logs written to $LOGS.
collect_logs() {
    local f
    dmesg 2>/dev/null | tail -n +"$((_DMESG_FROM + 1))" >"$LOGS/dmesg.log"
    [ -s "$_TCMU_LOG" ] && tail -n +"$((_TCMU_FROM + 1))" "$_TCMU_LOG" >"$LOGS/tcmu-runner.log"
    # Small regular files a test kept in $WORK (not images, initramfs, state).
    find "$WORK" -maxdepth 1 -type f -size -4M ! -name '*.img' ! -name '*.gz' ! -name '*.cpio' ! -name '*.qcow2' \
        2>/dev/null | while read -r f; do
        [ -e "$LOGS/${f##*/}" ] || cp -p "$f" "$LOGS/" 2>/dev/null
    done
    find "$LOGS" -type f -empty -delete 2>/dev/null
    return 0
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for p in "${EXIT_HOOKS[@]}"; do eval "$p"; done
    collect_logs
    return 0
}
trap cleanup EXIT

[ "${LAB_VM:-0}" = 1 ] || skip "not inside the lab VM (run scripts/integration)"
[ -x "$PRHELPER" ] || fail "no $PRHELPER (scripts/integration builds it)"

# make_lun KIND NAME [NEXUSES]: builds the LUN, sets DEVS=(/dev/sdX ...).
# Every test of a run shares one lab VM, so a LUN can meet what an earlier
# test left: a LUN of the same NAME is removed first (lun.sh cannot
# configure a backstore that is already enabled), and disks that come up
# slower than lun.sh's 10 s (a tcmu LUN on a loaded host: tcmu-runner
# answers the kernel's first INQUIRY late) get 60 s more.  lun.sh's own
# messages go to $LOGS/lun-NAME.log.
make_lun() {
    local kind=$1 name=$2 n=${3:-2} out hba=fileio_0
    [ "$kind" = tcmu ] && hba=user_0
    if [ -d "$C/core/$hba/$name" ]; then
        log "LUN $name is left from an earlier test: removing it"
        remove_lun "$kind" "$name"
        rm -f "/run/lab-luns/$name.img" "/run/lab-luns/$name.qcow2"
    fi
    [ "$kind" = tcmu ] && tcmu_runner_up
    if ! out=$(LUN_NAME=$name "$LAB/lun.sh" "$kind" "$n" 2>>"$LOGS/lun-$name.log"); then
        grep -q 'no disk appeared' "$LOGS/lun-$name.log" ||
            fail "lun.sh $kind $name failed: $(tail -n 3 "$LOGS/lun-$name.log" | tr '\n' ' ')"
        log "lun.sh gave up waiting for the disks of $name: waiting 60 s more"
        out=$(lun_disks "$name" "$n" 600) ||
            fail "lun.sh $kind $name: no disks after 70 s: $(tail -n 3 "$LOGS/lun-$name.log" | tr '\n' ' ')"
    fi
    mapfile -t DEVS <<<"$out"
    log "LUN $name ($kind): ${DEVS[*]}"
}

# tcmu_runner_up: tcmu-runner runs and listens to the kernel's TCM-USER
# events; started here (as lun.sh would) when it does not run.  lun.sh
# gives a tcmu-runner it starts one second before it enables the
# backstore and links the LUN; on a loaded host tcmu-runner is still
# loading its handlers then, the kernel's first INQUIRY to the new LUN
# waits in the ring, the SCSI scan gives up and no disk appears (how the
# first tcmu LUN of a run failed: "lun.sh tcmu it_hung" after the earlier
# tests, while the next tcmu LUN, with tcmu-runner up, came up).  Ready
# means it holds a generic netlink socket (libtcmu's, opened after the
# handlers are loaded, just before it looks for devices): one of its
# socket inodes is a protocol-16 line of /proc/net/netlink.  setsid: a
# test's time limit (its process group) does not end it.
tcmu_runner_listens() { # PID
    local inodes
    inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' | tr '\n' ' ')
    [ -n "$inodes" ] || return 1
    awk -v ino=" $inodes" '$2 == 16 && index(ino, " " $NF " ") {f = 1} END {exit !f}' /proc/net/netlink
}
tcmu_runner_up() {
    local pid i
    if ! pgrep -x tcmu-runner >/dev/null; then
        mkdir -p /run/lab-luns
        modprobe target_core_user || fail "no target_core_user module"
        setsid tcmu-runner -l /run/lab-luns >>/run/lab-luns/tcmu-runner.out 2>&1 </dev/null &
    fi
    for i in $(seq 600); do
        pid=$(pgrep -x tcmu-runner | head -1)
        if [ -n "$pid" ] && tcmu_runner_listens "$pid"; then
            [ "$i" -gt 10 ] && log "tcmu-runner ready after $((i / 10)) s"
            return 0
        fi
        sleep 0.1
    done
    fail "tcmu-runner is not listening to the kernel after 60 s: $(tail -n 3 /run/lab-luns/tcmu-runner.out 2>/dev/null)"
}

# lun_disks NAME N TRIES: the /dev/sdX of each of the N tcm_loop nexuses of
# LUN NAME (lun.sh's names), one a line; waits TRIES times 0.1 s for each.
lun_disks() {
    local name=$1 n=$2 tries=$3 id i tpg h dev
    id=$(lun_id "$name")
    for i in $(seq 0 $((n - 1))); do
        tpg=$C/loopback/naa.50014050${id}00$(printf %02x "$i")/tpgt_1
        h=$(cut -d: -f1 <"$tpg/address" 2>/dev/null) || return 1
        dev=
        for _ in $(seq "$tries"); do
            dev=$(ls "/sys/class/scsi_host/host$h/device/"target*/*/block 2>/dev/null | head -1)
            [ -n "$dev" ] && [ -b "/dev/$dev" ] && break
            dev=
            sleep 0.1
        done
        [ -n "$dev" ] || return 1
        echo "/dev/$dev"
    done
}

lun_id() { printf '%s' "$1" | cksum | awk '{printf "%04x", $1 % 65536}'; }

# remove_lun KIND NAME: unexport every tcm_loop nexus of the LUN and delete
# its backstore (the disks disappear); lun.sh can then build it anew.
remove_lun() {
    local kind=$1 name=$2 id tpg hba
    id=$(lun_id "$name")
    for tpg in "$C"/loopback/naa.50014050"${id}"00*/tpgt_1; do
        [ -d "$tpg" ] || continue
        rm -f "$tpg/lun/lun_0/$name"
        rmdir "$tpg/lun/lun_0" "$tpg" "$(dirname "$tpg")" 2>/dev/null
    done
    hba=fileio_0; [ "$kind" = tcmu ] && hba=user_0
    rmdir "$C/core/$hba/$name" || fail "cannot remove backstore $name"
}

# wait_for_socket PATH: bounded wait for a helper's socket.
wait_for_socket() {
    local i
    for i in $(seq 100); do
        [ -S "$1" ] && return 0
        sleep 0.1
    done
    fail "no socket at $1 after 10 s"
}

# start_prhelper SOCKET [ARGS...]: prhelper in the background (sg by default).
start_prhelper() {
    local sock=$1; shift
    rm -f "$sock"
    "$PRHELPER" -k "$sock" "$@" >>"$LOGS/prhelper.log" 2>&1 &
    PIDS+=($!)
    PRH_PID=$!
    wait_for_socket "$sock"
}

# expect_sandboxed TRANSPORT: the prhelper of start_prhelper (started with
# -v, which logs "sandbox: ...") runs under its default sandbox: the seccomp
# filter in force (/proc/PID/status) and, when this kernel has Landlock,
# a Landlock ABI enforced.  Tests of real LUNs call it once the helper has
# served them, so a sandbox that broke them would have failed them first.
expect_sandboxed() {
    local want=$1 line abi
    grep -q $'^Seccomp:\t2$' "/proc/$PRH_PID/status" ||
        fail "prhelper (pid $PRH_PID) runs without its seccomp filter"
    line=$(grep -o 'sandbox: .*' "$LOGS/prhelper.log" | tail -1)
    [ -n "$line" ] || fail "no 'sandbox:' line in prhelper.log (start it with -v)"
    abi=$(python3 -c 'import ctypes; print(max(0, ctypes.CDLL(None).syscall(444, None, 0, 1)))')
    log "kernel Landlock ABI $abi; prhelper: $line"
    case $line in
    *"seccomp filter ($want)"*) ;;
    *) fail "prhelper's sandbox is not the default one of $want: $line" ;;
    esac
    if [ "$abi" -gt 0 ]; then
        [[ $line == *"Landlock ABI "[1-9]* ]] || fail "the kernel has Landlock ABI $abi, prhelper runs without it"
    fi
}

start_qemu_pr_helper() {
    command -v qemu-pr-helper >/dev/null || skip "qemu-pr-helper is not installed"
    rm -f "$1"
    qemu-pr-helper -k "$1" >>"$LOGS/qemu-pr-helper.log" 2>&1 &
    PIDS+=($!)
    QPH_PID=$!
    wait_for_socket "$1"
}

# cli SOCKET DEVICE [--OPTION=VALUE...] COMMAND [ARGS]: prhelper-cli;
# output in $OUT, exit status in $RC.  (Options go before the device.)
cli() {
    local sock=$1 dev=$2 opts=()
    shift 2
    while [ $# -gt 0 ] && [[ "$1" == -* ]]; do opts+=("$1"); shift; done
    OUT=$(timeout 30 "$CLI" -k "$sock" "${opts[@]}" "$dev" "$@" 2>&1)
    RC=$?
}

# expect RC CMD...: run a cli call and insist on its exit status.
expect() {
    local want=$1; shift
    cli "$@"
    [ "$RC" = "$want" ] || fail "prhelper-cli $* exited $RC, want $want: $OUT"
}

# expect_out PATTERN: the last cli output matches the extended regex.
expect_out() {
    local flags=-Eq
    if [ "$1" = -i ]; then flags=-Eqi; shift; fi
    grep $flags -- "$1" <<<"$OUT" || fail "output does not match '$1': $OUT"
}

# drain SOCKET DEVICE: read keys until no unit attention is pending.
drain() {
    local i
    for i in 1 2 3 4 5; do
        cli "$1" "$2" read-keys
        [ "$RC" = 0 ] && return 0
    done
    fail "unit attentions never drained on $2: $OUT"
}

# recreate_fileio_lun_from_aptpl NAME NEXUSES: tear the fileio LUN down and
# build it again the way targetcli restores it at boot: the backstore first,
# then LIO's saved APTPL file written into pr/res_aptpl_metadata (one write
# per registration) before any export, then the tcm_loop exports.
# Sets DEVS like make_lun.
recreate_fileio_lun_from_aptpl() {
    local name=$1 n=$2 id so file rec i tpg h dev
    id=$(lun_id "$name")
    so=$C/core/fileio_0/$name
    file=$(ls /etc/target/pr/aptpl_*"-$name" 2>/dev/null | head -1)
    [ -n "$file" ] || fail "LIO wrote no APTPL file for $name"
    tr -d '\0' <"$file" >"$WORK/aptpl.saved"
    remove_lun fileio "$name"
    mkdir -p "$so"
    echo "fd_dev_name=/run/lab-luns/$name.img,fd_dev_size=$((64 * 1024 * 1024))" >"$so/control"
    echo 1 >"$so/enable"
    echo "5001405$id-$name" >"$so/wwn/vpd_unit_serial"
    awk '/PR_REG_START/ {rec = ""; next}
         /PR_REG_END/ {print rec; next}
         NF {rec = rec (rec == "" ? "" : ",") $0}' "$WORK/aptpl.saved" |
        while read -r rec; do
            echo "$rec" >"$so/pr/res_aptpl_metadata" || fail "LIO refused APTPL record: $rec"
        done
    DEVS=()
    for i in $(seq 0 $((n - 1))); do
        tpg=$C/loopback/naa.50014050${id}00$(printf %02x "$i")/tpgt_1
        mkdir -p "$tpg/lun/lun_0"
        echo "naa.50014050${id}a0$(printf %02x "$i")" >"$tpg/nexus"
        ln -s "$so" "$tpg/lun/lun_0/"
        h=$(cut -d: -f1 <"$tpg/address")
        dev=
        for _ in $(seq 100); do
            dev=$(ls "/sys/class/scsi_host/host$h/device/"target*/*/block 2>/dev/null | head -1)
            [ -n "$dev" ] && [ -b "/dev/$dev" ] && break
            sleep 0.1
        done
        [ -n "$dev" ] || fail "no disk for nexus $i after re-creating $name"
        DEVS+=("/dev/$dev")
    done
    log "LUN $name re-created from LIO's APTPL state: ${DEVS[*]}"
}

# make_mpath NAME DEV...: a dm-multipath map over the path devices (one
# priority group, round-robin), as multipathd would build it but with
# dmsetup (the lab has no udev); its dm uuid is "mpath-NAME".  Sets MPATH
# (/dev/mapper/NAME) and MPATH_DM (dm-N).  Removed again at exit.
# MPATH_FEATURES: the table's feature words with their count (default
# "0"); a map over partitions needs "2 queue_mode bio" (a request-based
# map stacks on whole disks only).
make_mpath() {
    local name=$1 sectors t i
    shift
    modprobe dm_multipath 2>/dev/null || skip "no dm_multipath module"
    command -v dmsetup >/dev/null || skip "dmsetup is not installed"
    sectors=$(blockdev --getsz "$1") || fail "cannot size $1"
    t="0 $sectors multipath ${MPATH_FEATURES:-0} 0 1 1 round-robin 0 $# 1"
    for i in "$@"; do t="$t $(cat "/sys/class/block/$(basename "$i")/dev") 1"; done
    DM_DISABLE_UDEV=1 dmsetup create "$name" --uuid "mpath-$name" --table "$t" \
        || fail "dmsetup create $name failed: $t"
    MPATH=/dev/mapper/$name
    MPATH_DM=$(DM_DISABLE_UDEV=1 dmsetup info -c --noheadings -o blkdevname "$name")
    [ -b "$MPATH" ] || fail "no $MPATH after dmsetup create"
    MPATHS+=("$name")
    log "multipath map $name ($MPATH_DM) over $*"
}
MPATHS=()
mpath_cleanup() {
    local m
    cleanup
    for m in "${MPATHS[@]}"; do DM_DISABLE_UDEV=1 dmsetup remove --force "$m" 2>/dev/null; done
    return 0
}
trap mpath_cleanup EXIT

# path_state DEV offline|running: the SCSI device state of a path.
path_state() { echo "$2" >"/sys/block/$(basename "$1")/device/state" || fail "cannot set $1 $2"; }

# keys_on DEV: the reservation keys LIO reports through this path, one a line.
# (Unit attentions are read and dropped first.)
keys_on() {
    local i out
    for i in 1 2 3 4; do
        out=$(sg_persist -n -i -k "$1" 2>&1) && break
    done
    awk '/^ *0x[0-9a-f]+$/ {print $1}' <<<"$out"
}

# build_guest_initrd OUT.cpio: the initramfs of the tiny guests that a real
# QEMU client boots (test-qemu-*.sh, test-libvirt-*.sh): static busybox,
# sg_persist and sg_raw with their libraries, the virtio-scsi/sd/sg
# modules (and 9p/overlay for guests booted with prh.root=9p, see
# integration/nested.sh), integration/guest/init and every role script.
build_guest_initrd() {
    local out=$1 root=$WORK/initrd tool lib m ko
    rm -rf "$root"
    mkdir -p "$root"/{bin,dev,proc,sys,lib,lib64,usr/bin}
    cp /bin/busybox "$root/bin/"
    for tool in sg_persist sg_raw; do
        cp "$(command -v $tool)" "$root/usr/bin/"
        for lib in $(ldd "$(command -v $tool)" | grep -o '/[^ ]*'); do
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
    done
    : >"$root/modules.list"
    for m in virtio_pci virtio_scsi sd_mod sg 9pnet_virtio 9p overlay; do
        modprobe --show-depends "$m" | awk '$1 == "insmod" {print $2}' | while read -r ko; do
            grep -qx "$ko" "$root/modules.list" && continue
            mkdir -p "$root$(dirname "$ko")"
            cp "$ko" "$root$ko"
            echo "$ko" >>"$root/modules.list"
        done
    done
    cp "$ROOT/integration/guest/init" "$root/init"
    cp "$ROOT/integration/guest/role-"*.sh "$root/"
    chmod +x "$root/init"
    # Not compressed: the nested guest's kernel would spend a minute or
    # more of its boot inflating it (measured: initramfs unpacking took 69 s
    # of a guest's boot at host load ~12).
    (cd "$root" && find . | cpio -o -H newc 2>/dev/null) >"$out"
}

# ---- nested guests (test-qemu-client-*.sh, test-libvirt-*.sh) ------------
# Under two levels of TCG a guest's boot is CPU-bound: a 6.1 bzImage spends
# about a minute of it decompressing itself before printing a line, then
# ~2 minutes to reach init (measured in the lab VM: first console line at
# 75 s, init at 200 s; two guests at once on a loaded 2-core host take twice
# that, which is how the QEMU-client test ran past 600 s with "quiet"
# consoles that showed nothing).  So: boot the uncompressed vmlinux through
# its PVH entry (first line at 20 s, init at 145 s), let the console show
# the boot, and record when each guest reached each stage.

# guest_kernel: the kernel for nested guests, in GUEST_KERNEL: the vmlinux
# inside $LAB_KERNEL (integration/guest-vmlinux.sh), which scripts/integration
# extracts on the host into build/integration/; extracted here (slowly) when
# it is not there; $LAB_KERNEL itself when that fails.
guest_kernel() {
    local out=$BUILD/guest-vmlinux/$(basename "$LAB_KERNEL") t0=$SECONDS
    GUEST_KERNEL=$LAB_KERNEL
    if [ ! -s "$out" ]; then
        mkdir -p "$(dirname "$out")"
        if ! "$ROOT/integration/guest-vmlinux.sh" "$LAB_KERNEL" "$out" 2>>"$LOGS/guest-kernel.log"; then
            log "booting the bzImage: $(tail -1 "$LOGS/guest-kernel.log")"
            return 0
        fi
        log "extracted the PVH vmlinux from $LAB_KERNEL in the lab VM in $((SECONDS - t0)) s"
    fi
    GUEST_KERNEL=$out
}

# The stages of a nested guest's boot, as its console shows them.
_GUEST_STAGES=(kernel init role done)
_GUEST_PATTERN=([0]='.' [1]='Run /init\|PRH-GUEST' [2]='PRH-GUEST: role' [3]='PRH-GUEST-DONE')
declare -A _GUEST_T0 _GUEST_AT

# guest_started NAME CONSOLE: the guest NAME's clock starts now.
guest_started() { _GUEST_T0[$1]=$SECONDS; _GUEST_CONSOLE[$1]=$2; }
declare -A _GUEST_CONSOLE

# guest_poll NAME: note the stages its console has reached since the last call.
guest_poll() {
    local n=$1 i
    for i in "${!_GUEST_STAGES[@]}"; do
        [ -n "${_GUEST_AT[$n.$i]:-}" ] && continue
        grep -qa -- "${_GUEST_PATTERN[$i]}" "${_GUEST_CONSOLE[$n]}" 2>/dev/null || break
        _GUEST_AT[$n.$i]=$((SECONDS - _GUEST_T0[$n]))
    done
}

# guest_timings NAME: one line with the seconds at which it reached each
# stage; also appended to $LOGS/guest-timings.tsv (name, stage, seconds).
guest_timings() {
    local n=$1 i line="guest $1:"
    guest_poll "$n"
    for i in "${!_GUEST_STAGES[@]}"; do
        line+=" ${_GUEST_STAGES[$i]} ${_GUEST_AT[$n.$i]:--} s,"
        [ -n "${_GUEST_AT[$n.$i]:-}" ] &&
            printf '%s\t%s\t%s\n' "$n" "${_GUEST_STAGES[$i]}" "${_GUEST_AT[$n.$i]}" >>"$LOGS/guest-timings.tsv"
    done
    log "${line%,} (since its QEMU started)"
}

# guest_wait NAME PATTERN DEADLINE [PID]: until the guest's console shows
# PATTERN, its QEMU (PID) exits, or $SECONDS reaches DEADLINE; polls the
# stages of every started guest meanwhile.  Fails with the stage the guest
# reached and the end of its console.
guest_wait() {
    local n=$1 pat=$2 deadline=$3 pid=${4:-} g
    while [ "$SECONDS" -lt "$deadline" ]; do
        for g in "${!_GUEST_T0[@]}"; do guest_poll "$g"; done
        grep -qa -- "$pat" "${_GUEST_CONSOLE[$n]}" 2>/dev/null && return 0
        [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && break
        sleep 1
    done
    grep -qa -- "$pat" "${_GUEST_CONSOLE[$n]}" 2>/dev/null && return 0
    for g in "${!_GUEST_T0[@]}"; do guest_timings "$g"; done
    fail "guest $n: no '$pat' after $((SECONDS - _GUEST_T0[$n])) s$([ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && echo ' (its QEMU exited)'); its console ends: $(tail -n 3 "${_GUEST_CONSOLE[$n]}" 2>/dev/null | tr -d '\r' | tr '\n' '|')"
}
