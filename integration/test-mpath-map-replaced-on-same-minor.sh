#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Map identity (issue #14): the state of a multipath map belongs to the map,
# not to its device number.  Two LIO LUNs A and B, two tcm_loop paths each,
# plus a third nexus on each to look from.  The host registers 0xa through
# a map over A's paths; the map is removed and a map of the same name (same
# dm uuid "mpath-NAME") is built over B's paths: device-mapper gives it the
# same minor.  Whatever the daemon does next through the new map (PR IN,
# the new guest's REGISTER with no current key, RESERVE), A's key is never
# sent to B, the REGISTER is not refused, and A keeps its registrations.
# With both device transports, under the default seccomp filter and
# Landlock (expect_sandboxed).
# Takes about 80 s in the TCG lab VM (measured 76 s).
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
make_lun fileio it_ida 3
a0=${DEVS[0]} a1=${DEVS[1]} az=${DEVS[2]}
make_lun fileio it_idb 3
b0=${DEVS[0]} b1=${DEVS[1]} bz=${DEVS[2]}

count() { keys_on "$1" | grep -cx "$2"; }
# reservation_on DEV: sg_persist's READ RESERVATION (unit attentions dropped).
reservation_on() {
    local i out
    for i in 1 2 3 4; do out=$(sg_persist -n -i -r "$1" 2>&1) && break; done
    echo "$out"
}
# clear_through DEV KEY: CLEAR through a registered nexus.
clear_through() {
    sg_persist -n -o -C -K "$2" "$1" >/dev/null 2>&1 || sg_persist -n -o -C -K "$2" "$1" >/dev/null ||
        fail "cannot CLEAR through $1 with $2"
}

for transport in sg mpath; do
    log "--- transport $transport"
    : >"$LOGS/prhelper.log"
    make_mpath it_id "$a0" "$a1"
    dm_a=$(cat "/sys/block/$MPATH_DM/dev")
    start_prhelper "$sock" --transport=$transport -v
    drain "$sock" "$MPATH"
    expect 0 "$sock" "$MPATH" register 0xa
    [ "$(count "$az" 0xa)" = 2 ] || fail "0xa not on both of A's paths: $(keys_on "$az" | tr '\n' ' ')"

    # The map goes; a map of the same name over B's paths takes its minor.
    DM_DISABLE_UDEV=1 dmsetup remove it_id || fail "dmsetup remove failed"
    MPATHS=()
    make_mpath it_id "$b0" "$b1"
    dm_b=$(cat "/sys/block/$MPATH_DM/dev")
    [ "$dm_a" = "$dm_b" ] || skip "device-mapper gave the new map $dm_b, not $dm_a: nothing to test"
    log "map over B has the old map's device number $dm_b and dm uuid mpath-it_id"

    # PR IN through the new map: nothing is registered on B.
    drain "$sock" "$MPATH"
    expect 0 "$sock" "$MPATH" read-keys
    [ -z "$(keys_on "$bz")" ] || fail "a PR IN on the new map registered keys on B: $(keys_on "$bz" | tr '\n' ' ')"
    # The new guest registers its own key (current key 0): GOOD, and only
    # its key, on both of B's paths.
    expect 0 "$sock" "$MPATH" register 0xb
    [ "$(count "$bz" 0xb)" = 2 ] || fail "0xb not on both of B's paths: $(keys_on "$bz" | tr '\n' ' ')"
    [ "$(count "$bz" 0xa)" = 0 ] || fail "A's key 0xa reached LUN B"
    expect 0 "$sock" "$MPATH" --key=0xb reserve we
    reservation_on "$bz" | grep -q 'Key=0xb' || fail "B's reservation is not 0xb's: $(reservation_on "$bz")"
    [ "$(count "$bz" 0xa)" = 0 ] || fail "A's key 0xa reached LUN B after the RESERVE"
    # A was left alone.
    [ "$(count "$az" 0xa)" = 2 ] || fail "A lost its registrations: $(keys_on "$az" | tr '\n' ' ')"
    expect_sandboxed "$transport"

    kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
    cp "$LOGS/prhelper.log" "$LOGS/prhelper-$transport.log"
    # Clean both LUNs for the next round (through registered paths).
    DM_DISABLE_UDEV=1 dmsetup remove it_id || fail "dmsetup remove failed"
    MPATHS=()
    clear_through "$b0" 0xb
    clear_through "$a0" 0xa
    [ -z "$(keys_on "$az")$(keys_on "$bz")" ] || fail "keys left after CLEAR"
done
pass
