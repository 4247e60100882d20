#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Partitions and partial maps are refused (issue #14), on a real LIO LUN:
# a partition of a LUN, a device-mapper linear map over a LUN (what an LV
# is) and a multipath map whose paths are partitions get CHECK CONDITION,
# ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE from both device
# transports, and nothing reaches the LUN (the daemon holds CAP_SYS_RAWIO:
# the kernel would let SG_IO through a partition act on the whole LUN).
# The refusals are logged and counted; the whole disk and a real multipath
# map still work; --allow-partial-devices restores qemu-pr-helper's
# behaviour (the partition's REGISTER reaches the LUN).  Every daemon runs
# under the default seccomp filter and Landlock (expect_sandboxed).
# Takes about 80 s in the TCG lab VM (measured 77 s).
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
prom=$WORK/prhelper.prom
make_lun fileio it_part 4
d0=${DEVS[0]} d1=${DEVS[1]} d2=${DEVS[2]} z=${DEVS[3]}
for d in "$d0" "$d1"; do
    addpart "$d" 1 2048 32768 || fail "addpart $d failed"
done
for i in $(seq 50); do [ -b "${d0}1" ] && [ -b "${d1}1" ] && break; sleep 0.1; done
[ -b "${d0}1" ] && [ -b "${d1}1" ] || fail "no partition nodes ${d0}1 ${d1}1"
modprobe dm_multipath 2>/dev/null || skip "no dm_multipath module"
command -v dmsetup >/dev/null || skip "dmsetup is not installed"
sectors=$(blockdev --getsz "$d2")
# An LV-like map over the whole of d2 (linear; made without LVM).
DM_DISABLE_UDEV=1 dmsetup create it_part_lin --uuid LVM-itpartlin \
    --table "0 $sectors linear $(cat "/sys/class/block/${d2#/dev/}/dev") 0" || fail "dmsetup linear failed"
MPATHS+=(it_part_lin)
lin=/dev/mapper/it_part_lin
# A multipath map whose paths are the two partitions (bio-based: the
# kernel refuses a request-based map over partitions).
MPATH_FEATURES="2 queue_mode bio" make_mpath it_part_mp "${d0}1" "${d1}1"
mpart=$MPATH

no_keys() {
    [ -z "$(keys_on "$z")" ] || fail "$1 reached the LUN: keys $(keys_on "$z" | tr '\n' ' ')"
}

for transport in sg mpath; do
    log "--- transport $transport"
    : >"$LOGS/prhelper.log"
    rm -f "$prom"
    start_prhelper "$sock" --transport=$transport -v --metrics-file="$prom" --metrics-interval=1
    drain "$sock" "$d0"
    n=0
    for dev in "${d0}1" "$lin" "$mpart"; do
        cli "$sock" "$dev" register 0xe1
        [ "$RC" = 2 ] || fail "REGISTER through $dev exited $RC, want 2 (CHECK CONDITION): $OUT"
        expect_out -i 'ILLEGAL REQUEST'
        expect_out -i 'INVALID COMMAND OPERATION CODE'
        cli "$sock" "$dev" read-keys
        [ "$RC" = 2 ] || fail "READ KEYS through $dev exited $RC, want 2: $OUT"
        cli "$sock" "$dev" --key=0xb clear
        [ "$RC" = 2 ] || fail "CLEAR through $dev exited $RC, want 2: $OUT"
        n=$((n + 3))
        no_keys "REGISTER through $dev"
    done
    grep -q 'persistent reservations refused on block device .*partition' "$LOGS/prhelper.log" ||
        fail "the partition's refusal is not logged"
    grep -q 'persistent reservations refused on block device .*it is only part of a LUN' "$LOGS/prhelper.log" ||
        fail "no refusal logged"
    # The metrics file counts every refused request.
    for i in $(seq 50); do
        grep -qx "prhelper_partial_device_refusals_total $n" "$prom" 2>/dev/null && break
        sleep 0.2
    done
    grep -qx "prhelper_partial_device_refusals_total $n" "$prom" ||
        fail "metrics do not count $n refusals: $(grep partial "$prom" 2>/dev/null)"
    # Whole disks still work, through the same daemon.
    expect 0 "$sock" "$d0" register 0xd0
    [ "$(keys_on "$z" | grep -cx 0xd0)" = 1 ] || fail "the whole disk's REGISTER did not arrive"
    expect 0 "$sock" "$d0" --key=0xd0 unregister
    no_keys "the whole disk's unregister left a key:"
    expect_sandboxed "$transport"
    kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
    cp "$LOGS/prhelper.log" "$LOGS/prhelper-$transport.log"
done

# --allow-partial-devices: SG_IO on the partition, as qemu-pr-helper does
# (the partition's REGISTER registers the whole LUN's I_T nexus).
: >"$LOGS/prhelper.log"
start_prhelper "$sock" --allow-partial-devices -v
drain "$sock" "${d0}1"
expect 0 "$sock" "${d0}1" register 0xe2
[ "$(keys_on "$z" | grep -cx 0xe2)" = 1 ] || fail "--allow-partial-devices: REGISTER did not reach the LUN"
expect 0 "$sock" "$lin" register 0xe3
[ "$(keys_on "$z" | grep -cx 0xe3)" = 1 ] || fail "--allow-partial-devices: the linear map's REGISTER did not arrive"
expect 0 "$sock" "${d0}1" --key=0xe2 unregister
expect 0 "$sock" "$lin" --key=0xe3 unregister
no_keys "--allow-partial-devices: unregister left a key:"
grep -q 'refused on block device' "$LOGS/prhelper.log" && fail "--allow-partial-devices still refused"
expect_sandboxed sg
pass
