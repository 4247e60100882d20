#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fencing is never undone (issue #14), on real dm-multipath over LIO: one
# fileio LUN behind three tcm_loop nexuses; two are the paths of this
# host's map, the third is node Z.  The host registers 0xa through the map,
# one path goes away, node Z preempts 0xa, the path comes back: whatever the
# fenced host sends next (PR IN, PR OUT, after a daemon restart too), 0xa
# must never be registered on the LUN again, and the host cannot write.
# The counterpart (the key is still there: the returning path gets it) is
# in test-mpath-register-reserve-preempt-failover.sh.  Then a stale key
# (multipath-tools 0.14 clears them on restored paths): the host changes
# its key 0xa to 0xc while p1 is away (p1's I_T nexus keeps 0xa), node Z
# fences 0xc with a Write Exclusive, Registrants Only reservation, p1
# comes back: prhelper must take 0xa off p1 (READ FULL STATUS shows p1's
# initiator port without a key), else the fenced host could still write
# through p1 as a registrant.  Runs under the default seccomp filter and
# Landlock (expect_sandboxed), with both transports (the stale key with
# --transport=mpath only: --transport=sg hands a map to the same code).
# Takes about 2 minutes in the TCG lab VM (measured 121 s, 2026-12-06,
# host load ~12; 86 s before the stale-key scenario, which takes ~25 s).
# Against a prhelper that leaves the stale key on p1 it fails ("the stale
# key 0xa is still on the returned path p1"; checked 2026-12-06).
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
make_lun fileio it_fence 3
p0=${DEVS[0]} p1=${DEVS[1]} z=${DEVS[2]}
make_mpath it_fence "$p0" "$p1"

nkeys() { keys_on "$z" | grep -cx "$1"; }
# keys_of N: the keys registered through the initiator port of nexus N
# (lun.sh: naa.50014050<id>a0<N>, a SAS TransportID), as READ FULL STATUS
# through node Z shows them: the keys a single path carries.
sas_of() { printf '0x50014050%sa0%02x' "$(lun_id it_fence)" "$1"; }
keys_of() {
    local i out
    for i in 1 2 3 4; do out=$(sg_persist -n -i -s "$z" 2>&1) && break; done
    awk -v a="$(sas_of "$1")" '/Key=/ {k = $0; sub(/.*Key=/, "", k); sub(/[^0-9a-fA-Fx].*/, "", k)}
        index(tolower($0), "sas address: " a) {print k}' <<<"$out"
}
# z_preempts VICTIM [TYPE]: node Z registers 0xb (once) and preempts
# VICTIM, taking a reservation of TYPE (default 1, Write Exclusive).
z_preempts() {
    local type=${2:-1}
    sg_persist -n -o -G -S 0xb "$z" >/dev/null 2>&1 || sg_persist -n -o -G -S 0xb "$z" >/dev/null 2>&1
    sg_persist -n -o -P -K 0xb -S "$1" -T "$type" "$z" >/dev/null 2>&1 ||
        sg_persist -n -o -P -K 0xb -S "$1" -T "$type" "$z" >/dev/null || fail "node Z could not preempt $1"
    [ "$(nkeys "$1")" = 0 ] || fail "$1 survived node Z's preempt"
    # A PREEMPT when nobody holds a reservation only removes registrations
    # (SPC-4 5.14.11.4.3): Z then reserves (a no-op if the preempt took one).
    sg_persist -n -o -R -K 0xb -T "$type" "$z" >/dev/null 2>&1 ||
        sg_persist -n -o -R -K 0xb -T "$type" "$z" >/dev/null || fail "node Z could not reserve"
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
    expect_sandboxed "$transport"
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
    expect_sandboxed "$transport"
    kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
    z_leaves
    cp "$LOGS/prhelper.log" "$LOGS/prhelper-$transport-restart.log"
done

log "--- transport mpath, a stale key on a returned path is cleared"
: >"$LOGS/prhelper.log"
start_prhelper "$sock" --transport=mpath -v
drain "$sock" "$MPATH"
expect 0 "$sock" "$MPATH" register 0xa
path_state "$p1" offline
# The key changes while p1 is away: p1's nexus keeps the old one.
expect 0 "$sock" "$MPATH" --key=0xa register 0xc
[ "$(keys_of 0)" = 0xc ] || fail "p0 carries '$(keys_of 0)', want 0xc"
[ "$(keys_of 1)" = 0xa ] || fail "p1 (away) carries '$(keys_of 1)', want the old 0xa"
# Node Z fences 0xc and reserves Write Exclusive, Registrants Only: a
# registrant may write, so the stale 0xa on p1 is a way in.
z_preempts 0xc 5
[ "$(keys_of 1)" = 0xa ] || fail "node Z's preempt of 0xc took p1's 0xa: nothing left to test"
path_state "$p1" running
cli "$sock" "$MPATH" read-keys
[ -z "$(keys_of 1)" ] || fail "the stale key $(keys_of 1) is still on the returned path p1"
not_back 0xa "on the returned path"
not_back 0xc "after the stale key was cleared"
grep -q 'key 0xc is no longer registered on the LUN' "$LOGS/prhelper.log" ||
    fail "no 'forgotten' line in the log"
grep -q "path ${p1#/dev/} now carries key 0x0\b" "$LOGS/prhelper.log" ||
    fail "the log does not show p1 cleared"
# Write Exclusive, Registrants Only: p1 is no registrant any more.
if timeout 60 dd if=/dev/zero of="$p1" bs=4096 count=1 oflag=direct 2>/dev/null; then
    fail "the fenced host can still write through p1"
fi
expect_sandboxed mpath
kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
z_leaves
cp "$LOGS/prhelper.log" "$LOGS/prhelper-mpath-stale-key.log"
pass
