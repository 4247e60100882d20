#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The multipath-tools 0.13/0.14 rules (issue #14, docs/mpath.md), each on a
# real dm-multipath map over LIO with a path failing in the middle.  One
# fileio LUN behind three tcm_loop nexuses: p0 and p1 are the map's paths,
# z is another host.  A path "fails" two ways: its SCSI device goes
# offline (the kernel refuses to send anything), or its target port goes
# to ALUA Unavailable (the path is up, the LUN answers NOT READY 04h/0Ch).
#  1. self-preempt (QEMU's live-migration PREEMPT with its own key) and
#     2. an All Registrants preempt re-register every path afterwards
#        (the path that was away: when it is back, after the fence check);
#  3. RESERVE succeeds if any path does, and when the holding path failed;
#  4. RELEASE when the holding path failed;
#  5. unregister while holding (holding path failed) releases first;
#  6. a REGISTER refused by a path that holds another key is completed
#     with REGISTER AND IGNORE EXISTING KEY;
#  7. PR OUT and PR IN go on through the other path on a path error.
# PREEMPT AND ABORT is not run here (it hangs the lab kernel's LIO, lab.md):
# test-mpath-preempt-and-abort-on-tcmu.sh runs it on prhelper-tcmu paths.
# Runs under the default seccomp filter and Landlock (expect_sandboxed).
# Takes 1 to 3 minutes in the TCG lab VM (measured 165 s, host loaded;
# 56 s on 2026-12-06 at a lighter load).
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
make_lun fileio it_rules 3
p0=${DEVS[0]} p1=${DEVS[1]} z=${DEVS[2]}
make_mpath it_rules "$p0" "$p1"
start_prhelper "$sock" --transport=mpath -v
drain "$sock" "$MPATH"

nkeys() { keys_on "$z" | grep -cx "$1"; }
want_keys() { # KEY COUNT WHY
    [ "$(nkeys "$1")" = "$2" ] || fail "$3: want $2 registrations of $1, have: $(keys_on "$z" | tr '\n' ' ')"
}
# holder: "KEY TYPE" of the reservation as z sees it, "" if none.
holder() {
    local out i
    for i in 1 2 3; do out=$(sg_persist -n -i -r "$z" 2>&1) && break; done
    awk '/Key=/ {sub(/.*Key=/, ""); k = $1} /type:/ {sub(/.*type: */, ""); t = $0} END {if (k != "") print k, t}' <<<"$out"
}
want_holder() { # KEY TYPE-WORDS WHY
    local h
    h=$(holder)
    [[ "$h" == "$1 $2"* ]] || fail "$3: want reservation '$1 $2', have '$h'"
}
no_reservation() {
    [ -z "$(holder)" ] || fail "$1: reservation still held: $(holder)"
}
logged() { grep -q "$1" "$LOGS/prhelper.log" || fail "not logged: $1"; }

expect 0 "$sock" "$MPATH" register 0xa
want_keys 0xa 2 "REGISTER"

log "1. self-preempt"
expect 0 "$sock" "$MPATH" --key=0xa reserve we
expect 0 "$sock" "$MPATH" --key=0xa preempt 0xa we
want_keys 0xa 2 "self-preempt with both paths up"
want_holder 0xa "Write Exclusive" "self-preempt"
grep -q 'cannot suspend the map' "$LOGS/prhelper.log" && fail "the map could not be suspended"
path_state "$p1" offline
expect 0 "$sock" "$MPATH" --key=0xa preempt 0xa we-ro
# LIO removed p1's registration with the preempt; p1 is away.
want_keys 0xa 1 "self-preempt with p1 offline"
want_holder 0xa "Write Exclusive, registrants only" "self-preempt with p1 offline"
path_state "$p1" running
expect 0 "$sock" "$MPATH" read-keys
want_keys 0xa 2 "p1 back after the self-preempt (the key is still on the LUN: it gets it)"
expect 0 "$sock" "$MPATH" --key=0xa release we-ro
no_reservation "RELEASE after the self-preempt"

log "2. All Registrants preempt"
sg_persist -n -o -G -S 0xb "$z" >/dev/null 2>&1 || sg_persist -n -o -G -S 0xb "$z" >/dev/null ||
    fail "z cannot register"
sg_persist -n -o -R -K 0xb -T 7 "$z" >/dev/null || fail "z cannot reserve Write Exclusive, all registrants"
path_state "$p1" offline
expect 0 "$sock" "$MPATH" --key=0xa preempt 0 we
want_keys 0xb 0 "All Registrants preempt (z's key)"
want_keys 0xa 1 "All Registrants preempt with p1 offline"
want_holder 0xa "Write Exclusive" "All Registrants preempt"
logged 'an all-registrants reservation: the other paths are registered again'
path_state "$p1" running
expect 0 "$sock" "$MPATH" read-keys
want_keys 0xa 2 "p1 back after the All Registrants preempt"
expect 0 "$sock" "$MPATH" --key=0xa release we
no_reservation "RELEASE after the All Registrants preempt"

log "3. RESERVE: any path; the holding path failed"
path_state "$p0" offline
expect 0 "$sock" "$MPATH" --key=0xa reserve we
want_holder 0xa "Write Exclusive" "RESERVE with p0 offline"
path_state "$p0" running
path_state "$p1" offline
# p1 holds it for LIO; p0 gets RESERVATION CONFLICT; the key holds WE: GOOD.
expect 0 "$sock" "$MPATH" --key=0xa reserve we
logged 'RESERVE: already held by key 0xa through another path'
# Another type is still a conflict.
expect 24 "$sock" "$MPATH" --key=0xa reserve ea

log "4. RELEASE with the holding path (p1) offline"
expect 0 "$sock" "$MPATH" --key=0xa release we
no_reservation "RELEASE with the holder's path offline"
logged 'moving the reservation to a live path'
path_state "$p1" running
expect 0 "$sock" "$MPATH" read-keys
want_keys 0xa 2 "p1 back after the RELEASE"

log "5. unregister while holding, the holding path (p0) offline"
expect 0 "$sock" "$MPATH" --key=0xa reserve we
path_state "$p0" offline
expect 0 "$sock" "$MPATH" --key=0xa unregister
no_reservation "unregister while holding"
path_state "$p0" running
expect 0 "$sock" "$MPATH" read-keys
[ -z "$(keys_on "$z" | grep -v 0xb)" ] || fail "unregister left keys: $(keys_on "$z" | tr '\n' ' ')"

log "6. REGISTER refused by a path holding another key"
expect 0 "$sock" "$MPATH" register 0xa
want_keys 0xa 2 "REGISTER again"
# Someone changes p1's key behind the daemon's back.
sg_persist -n -o -G -K 0xa -S 0xd "$p1" >/dev/null 2>&1 || sg_persist -n -o -G -K 0xa -S 0xd "$p1" >/dev/null ||
    fail "cannot change p1's key"
expect 0 "$sock" "$MPATH" --key=0xa register 0xe
want_keys 0xe 2 "REGISTER completed with REGISTER AND IGNORE"
want_keys 0xd 0 "the stray key"
logged 'held another key; registered with REGISTER AND IGNORE EXISTING KEY'

log "7. a path error (ALUA Unavailable on p0's port): PR OUT and PR IN fail over"
id=$(lun_id it_rules)
gp=$C/core/fileio_0/it_rules/alua/it_unavail
mkdir "$gp" || fail "cannot make a target port group"
echo 7 >"$gp/tg_pt_gp_id" || fail "cannot set the group id"
port0=$C/loopback/naa.50014050${id}0000/tpgt_1/lun/lun_0
echo it_unavail >"$port0/alua_tg_pt_gp" || fail "cannot move p0's port into the group"
on_exit "echo default_tg_pt_gp >'$port0/alua_tg_pt_gp' 2>/dev/null; rmdir '$gp' 2>/dev/null"
echo 3 >"$gp/alua_access_state" || fail "cannot make p0's port unavailable"
sg_persist -n -i -k "$p0" >/dev/null 2>&1 && fail "p0 still answers READ KEYS in ALUA Unavailable"
expect 0 "$sock" "$MPATH" --key=0xe reserve we
want_holder 0xe "Write Exclusive" "RESERVE with p0 unavailable"
expect 0 "$sock" "$MPATH" --key=0xe register 0xf
want_keys 0xf 1 "key change with p0 unavailable (p1 only)"
expect 0 "$sock" "$MPATH" read-keys
expect_out -i '0xf'
echo 0 >"$gp/alua_access_state" || fail "cannot make p0's port active again"
expect 0 "$sock" "$MPATH" read-keys
want_keys 0xf 2 "p0 back from ALUA Unavailable (the key is on the LUN: it gets it)"
expect 0 "$sock" "$MPATH" --key=0xf release we
expect 0 "$sock" "$MPATH" --key=0xf unregister
[ -z "$(keys_on "$z" | grep -v 0xb)" ] || fail "keys left at the end: $(keys_on "$z" | tr '\n' ' ')"
expect_sandboxed mpath
pass
