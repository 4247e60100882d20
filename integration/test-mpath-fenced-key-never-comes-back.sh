#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fencing is never undone (issue #14), on real dm-multipath over LIO: one
# fileio LUN behind three tcm_loop nexuses; two are the paths of this
# host's map, the third is node Z.  The host registers 0xa through the map,
# one path goes away, node Z preempts 0xa, the path comes back: whatever the
# fenced host sends next (PR IN, PR OUT, after a daemon restart too), 0xa
# must never be registered on the LUN again, and the host cannot write.
# The counterpart (the key is still there: the returning path gets it) is
# in test-mpath-register-reserve-preempt-failover.sh.  Runs under the
# default seccomp filter, with both transports.
# Takes about 90 s in the TCG lab VM (measured 86 s; two transports, two scenarios).
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
make_lun fileio it_fence 3
p0=${DEVS[0]} p1=${DEVS[1]} z=${DEVS[2]}
make_mpath it_fence "$p0" "$p1"

nkeys() { keys_on "$z" | grep -cx "$1"; }
# z_preempts VICTIM: node Z registers 0xb (once) and preempts VICTIM,
# taking a Write Exclusive reservation.
z_preempts() {
    sg_persist -n -o -G -S 0xb "$z" >/dev/null 2>&1 || sg_persist -n -o -G -S 0xb "$z" >/dev/null 2>&1
    sg_persist -n -o -P -K 0xb -S "$1" -T 1 "$z" >/dev/null 2>&1 ||
        sg_persist -n -o -P -K 0xb -S "$1" -T 1 "$z" >/dev/null || fail "node Z could not preempt $1"
    [ "$(nkeys "$1")" = 0 ] || fail "$1 survived node Z's preempt"
    # A PREEMPT when nobody holds a reservation only removes registrations
    # (SPC-4 5.14.11.4.3): Z then reserves (a no-op if the preempt took one).
    sg_persist -n -o -R -K 0xb -T 1 "$z" >/dev/null 2>&1 || sg_persist -n -o -R -K 0xb -T 1 "$z" >/dev/null ||
        fail "node Z could not reserve"
}
# z_leaves: node Z clears everything (the LUN is fresh for the next round).
z_leaves() {
    sg_persist -n -o -C -K 0xb "$z" >/dev/null 2>&1 || sg_persist -n -o -C -K 0xb "$z" >/dev/null ||
        fail "node Z could not clear"
    [ -z "$(keys_on "$z")" ] || fail "keys left after CLEAR: $(keys_on "$z" | tr '\n' ' ')"
}
# not_back KEY WHEN: the key is not on the LUN.
not_back() {
    [ "$(nkeys "$1")" = 0 ] || fail "the fenced key $1 is registered again $2: $(keys_on "$z" | tr '\n' ' ')"
}
# refused CLI-ARGS...: a PR OUT of the fenced host is refused: SPC-4 says
# RESERVATION CONFLICT (exit 24); LIO answers a RESERVE from an
# unregistered I_T nexus with NOT READY, LOGICAL UNIT COMMUNICATION FAILURE
# (TCM_LOGICAL_UNIT_COMMUNICATION_FAILURE, target_core_pr.c), which the
# daemon forwards once every path has given it.
refused() {
    cli "$@"
    [ "$RC" = 24 ] && return 0
    [ "$RC" = 2 ] && grep -q '08h/00h' <<<"$OUT" && return 0
    fail "the fenced host's $* exited $RC, want 24 (or LIO's 08h/00h): $OUT"
}
# cannot_write: a direct write through the map fails (Z holds Write
# Exclusive and we are not registered).
cannot_write() {
    if timeout 60 dd if=/dev/zero of="$MPATH" bs=4096 count=1 oflag=direct 2>/dev/null; then
        fail "the fenced host could write through the map $1"
    fi
}

for transport in mpath sg; do
    log "--- transport $transport, path down while node Z preempts"
    : >"$LOGS/prhelper.log"
    start_prhelper "$sock" --transport=$transport -v
    drain "$sock" "$MPATH"
    expect 0 "$sock" "$MPATH" register 0xa
    [ "$(nkeys 0xa)" = 2 ] || fail "0xa not on both paths"
    timeout 60 dd if=/dev/zero of="$MPATH" bs=4096 count=1 oflag=direct 2>/dev/null ||
        fail "the host cannot write through the map before it is fenced"
    path_state "$p1" offline
    # The host uses the map while p1 is away: p1 missed nothing yet, but
    # from now on it is a path that must be checked when it is back.
    expect 0 "$sock" "$MPATH" read-keys
    z_preempts 0xa
    path_state "$p1" running
    # The fenced host's next PR IN: nothing may be registered from memory.
    cli "$sock" "$MPATH" read-keys
    not_back 0xa "after a PR IN once the path was back"
    # Its next PR OUT (a RESERVE with its old key) conflicts; 0xa stays off.
    refused "$sock" "$MPATH" --key=0xa reserve we
    not_back 0xa "after a PR OUT once the path was back"
    # Its REGISTER with the old key as the current one conflicts too.
    refused "$sock" "$MPATH" --key=0xa register 0xa
    not_back 0xa "after a REGISTER with the fenced key"
    grep -q 'key 0xa is no longer registered on the LUN' "$LOGS/prhelper.log" ||
        fail "no 'forgotten' line in the log"
    cannot_write "after its paths came back"
    kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
    z_leaves
    cp "$LOGS/prhelper.log" "$LOGS/prhelper-$transport-path-down.log"

    log "--- transport $transport, daemon restarted while fenced"
    : >"$LOGS/prhelper.log"
    start_prhelper "$sock" --transport=$transport -v
    drain "$sock" "$MPATH"
    expect 0 "$sock" "$MPATH" register 0xa
    expect 0 "$sock" "$MPATH" --key=0xa reserve we
    path_state "$p1" offline
    expect 0 "$sock" "$MPATH" read-keys
    kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
    z_preempts 0xa
    path_state "$p1" running
    start_prhelper "$sock" --transport=$transport -v
    cli "$sock" "$MPATH" read-keys
    cli "$sock" "$MPATH" read-keys
    not_back 0xa "by the restarted daemon after a PR IN"
    refused "$sock" "$MPATH" --key=0xa reserve we
    refused "$sock" "$MPATH" --key=0xa release we
    not_back 0xa "by the restarted daemon after a PR OUT"
    cannot_write "after the daemon restart"
    kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
    z_leaves
    cp "$LOGS/prhelper.log" "$LOGS/prhelper-$transport-restart.log"
done
pass
