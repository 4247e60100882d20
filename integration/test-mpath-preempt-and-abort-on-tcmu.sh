#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# PREEMPT AND ABORT through a real dm-multipath map (issue #14,
# docs/mpath.md).  LIO's own PR code hangs the lab's 6.1 kernel on PREEMPT
# AND ABORT with tcm_loop (lab.md 7), so the map's paths are prhelper-tcmu
# backstores with pgr_support=0: the kernel passes PERSISTENT RESERVE
# IN/OUT down the TCMU ring to prhelper-tcmu's simulated LUN
# (docs/tcmu.md) and never runs target_core_pr.c.  Three backstores of
# one simulated LUN, each behind its own tcm_loop nexus: p0 and p1 are
# the paths of the map (one VPD 83h identity), z is node Z.  Through
# prhelper --transport=mpath:
#  1. PREEMPT AND ABORT of another host's key goes down one path: Z's key
#     is gone, ours stays on both paths, the reservation is ours;
#  2. PREEMPT AND ABORT of our own key (a self-preempt) re-registers every
#     path afterwards, with the map suspended around it; with p1 offline,
#     p1 gets the key when it is back;
#  3. node Z fences us with PREEMPT AND ABORT: our key never comes back
#     and the host cannot write through the map.
# Every command is bounded (prhelper-cli 30 s, sg_persist 60 s): a hang
# is a failure, not a hung VM.  Runs under the default seccomp filter and
# Landlock (expect_sandboxed).
# Takes 1.5 to 2 minutes in the TCG lab VM (measured 2026-12-06: 124 s at
# host load ~12, 93 s at load ~8).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcmu_lib.sh"
command -v sg_persist >/dev/null || skip "sg3-utils is not installed"
modprobe dm_multipath 2>/dev/null || skip "no dm_multipath module"
command -v dmsetup >/dev/null || skip "dmsetup is not installed"
sock=$WORK/prh.sock
# The map goes before its paths' backstores (tcmu_cleanup removes them).
pa_cleanup() {
    [ -n "${PRH_PID:-}" ] && kill "$PRH_PID" 2>/dev/null && wait "$PRH_PID" 2>/dev/null
    for m in "${MPATHS[@]}"; do DM_DISABLE_UDEV=1 dmsetup remove --force "$m" 2>/dev/null; done
    tcmu_cleanup
}
trap pa_cleanup EXIT

start_tcmu
make_tcmu_lun it_pa 3
p0=${DEVS[0]} p1=${DEVS[1]} z=${DEVS[2]}
make_mpath it_pa "$p0" "$p1"
start_prhelper "$sock" --transport=mpath -v
drain "$sock" "$MPATH"

nkeys() { keys_on "$z" | grep -cx "$1"; }
want_keys() { # KEY COUNT WHY
    [ "$(nkeys "$1")" = "$2" ] || fail "$3: want $2 registrations of $1, have: $(keys_on "$z" | tr '\n' ' ')"
}
# holder: "KEY TYPE" of the reservation as z sees it, "" if none.
holder() {
    local out i
    for i in 1 2 3; do out=$(timeout 60 sg_persist -n -i -r "$z" 2>&1) && break; done
    awk '/Key=/ {sub(/.*Key=/, ""); k = $1} /type:/ {sub(/.*type: */, ""); t = $0} END {if (k != "") print k, t}' <<<"$out"
}
want_holder() { # KEY TYPE-WORDS WHY
    local h
    h=$(holder)
    [[ "$h" == "$1 $2"* ]] || fail "$3: want reservation '$1 $2', have '$h'"
}
logged() { grep -q "$1" "$LOGS/prhelper.log" || fail "not logged: $1"; }
z_registers() { want 0 "$z" -o -G -S "$1"; }

expect 0 "$sock" "$MPATH" register 0xa
want_keys 0xa 2 "REGISTER through the map"
expect 0 "$sock" "$MPATH" --key=0xa reserve we
want_holder 0xa "Write Exclusive" "RESERVE through the map"

log "1. PREEMPT AND ABORT of node Z's key"
z_registers 0xb
expect 0 "$sock" "$MPATH" --key=0xa preempt-abort 0xb we
# Z's next command meets REGISTRATIONS PREEMPTED (SPC-4 5.14.11.5).
OUT=$(timeout 60 sg_persist -n -i -k "$z" 2>&1)
RC=$?
[ "$RC" = 6 ] || fail "node Z's first command after the PREEMPT AND ABORT exited $RC, want 6 (UNIT ATTENTION): $OUT"
want_keys 0xb 0 "PREEMPT AND ABORT of 0xb"
want_keys 0xa 2 "our key after PREEMPT AND ABORT of 0xb"
want_holder 0xa "Write Exclusive" "PREEMPT AND ABORT of 0xb"

log "2. PREEMPT AND ABORT of our own key (self-preempt)"
expect 0 "$sock" "$MPATH" --key=0xa preempt-abort 0xa we
want_keys 0xa 2 "self PREEMPT AND ABORT with both paths up"
want_holder 0xa "Write Exclusive" "self PREEMPT AND ABORT"
logged 'PREEMPT AND ABORT of our own key: the other paths are registered again'
grep -q 'cannot suspend the map' "$LOGS/prhelper.log" && fail "the map could not be suspended"
path_state "$p1" offline
expect 0 "$sock" "$MPATH" --key=0xa preempt-abort 0xa we-ro
want_keys 0xa 1 "self PREEMPT AND ABORT with p1 offline"
want_holder 0xa "Write Exclusive, registrants only" "self PREEMPT AND ABORT with p1 offline"
path_state "$p1" running
expect 0 "$sock" "$MPATH" read-keys
want_keys 0xa 2 "p1 back after the self PREEMPT AND ABORT (the key is on the LUN: it gets it)"
timeout 60 dd if=/dev/zero of="$MPATH" bs=4096 count=1 oflag=direct 2>/dev/null ||
    fail "the holder cannot write through the map"

log "3. node Z fences us with PREEMPT AND ABORT"
z_registers 0xb
want 0 "$z" -o -A -K 0xb -S 0xa -T 1
want_keys 0xa 0 "node Z's PREEMPT AND ABORT of 0xa"
want_holder 0xb "Write Exclusive" "node Z's PREEMPT AND ABORT"
cli "$sock" "$MPATH" read-keys
cli "$sock" "$MPATH" read-keys
want_keys 0xa 0 "the fenced key after PR IN through the map"
cli "$sock" "$MPATH" --key=0xa reserve we
[ "$RC" = 24 ] || fail "the fenced host's RESERVE exited $RC, want 24 (RESERVATION CONFLICT): $OUT"
want_keys 0xa 0 "the fenced key after a PR OUT through the map"
if timeout 60 dd if=/dev/zero of="$MPATH" bs=4096 count=1 oflag=direct 2>/dev/null; then
    fail "the fenced host could write through the map"
fi
expect_sandboxed mpath
want 0 "$z" -o -C -K 0xb
[ -z "$(keys_on "$z")" ] || fail "keys left after CLEAR: $(keys_on "$z" | tr '\n' ' ')"
pass
