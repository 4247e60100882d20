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

# on_exit 'COMMAND': run at exit, after the started processes are stopped
# and before the logs are collected (e.g. copy a log kept elsewhere to $LOGS).
on_exit() { EXIT_HOOKS+=("$1"); }

# collect_logs: what a failure needs besides the logs written to $LOGS.
collect_logs() {
    local f
    dmesg 2>/dev/null | tail -n +"$((_DMESG_FROM + 1))" >"$LOGS/dmesg.log"
    [ -s "$_TCMU_LOG" ] && tail -n +"$((_TCMU_FROM + 1))" "$_TCMU_LOG" >"$LOGS/tcmu-runner.log"
    # Small regular files a test kept in $WORK (not images, initramfs, state).
    find "$WORK" -maxdepth 1 -type f -size -4M ! -name '*.img' ! -name '*.gz' ! -name '*.qcow2' \
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
make_lun() {
    local out
    out=$(LUN_NAME=$2 "$LAB/lun.sh" "$1" "${3:-2}") || fail "lun.sh $1 $2 failed"
    mapfile -t DEVS <<<"$out"
    log "LUN $2 ($1): ${DEVS[*]}"
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

# build_guest_initrd OUT.gz: the initramfs of the tiny guests that a real
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
    (cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
}
