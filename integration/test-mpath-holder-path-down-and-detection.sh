#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --transport=mpath on real kernel dm-multipath over LIO: the reservation
# holder's path goes offline and RELEASE still releases (the reservation is
# moved to a live path by preempting our own key); a map made without an
# "mpath-" uuid is recognised from its device-mapper table; a plain disk
# given to --transport=mpath is served directly by SG_IO.
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
make_lun fileio it_mpath2 3
p0=${DEVS[0]} p1=${DEVS[1]} plain=${DEVS[2]}
sectors=$(blockdev --getsz "$p0")
modprobe dm_multipath 2>/dev/null || skip "no dm_multipath module"
command -v dmsetup >/dev/null || skip "dmsetup is not installed"
# No --uuid: only the table says "multipath".
DM_DISABLE_UDEV=1 dmsetup create it_mpath2 --table \
    "0 $sectors multipath 0 0 1 1 round-robin 0 2 1 $(cat /sys/class/block/${p0#/dev/}/dev) 1 $(cat /sys/class/block/${p1#/dev/}/dev) 1" ||
    fail "dmsetup create failed"
MPATHS+=(it_mpath2)
map=/dev/mapper/it_mpath2
start_prhelper "$sock" --transport=mpath -v ${PRH_IT_MPATH_ARGS:-}
drain "$sock" "$map"

expect 0 "$sock" "$map" register 0xc1
n=$(keys_on "$plain" | grep -cx 0xc1)
[ "$n" = 2 ] || fail "the map was not recognised as multipath: $n registrations of 0xc1"

# Reserve (Write Exclusive: one holder nexus, the first path's).
expect 0 "$sock" "$map" --key=0xc1 reserve we
path_state "$p0" offline
# RELEASE: the holder's nexus is unreachable; it must still be released.
expect 0 "$sock" "$map" --key=0xc1 release we
sg_persist -n -i -r "$plain" | grep -qi 'no reservation' ||
    fail "reservation still held after RELEASE with the holder's path offline: $(sg_persist -n -i -r "$plain")"
grep -q 'moving the reservation' "$LOGS/prhelper.log" || fail "no move-and-release logged"
# p1 still carries the key; p0 lost it to the self-preempt and gets it back.
path_state "$p0" running
expect 0 "$sock" "$map" --key=0xc1 reserve we-ro
n=$(keys_on "$plain" | grep -cx 0xc1)
[ "$n" = 2 ] || fail "p0 not re-registered after it came back: $n registrations"
expect 0 "$sock" "$map" --key=0xc1 release we-ro
expect 0 "$sock" "$map" --key=0xc1 clear
[ -z "$(keys_on "$plain")" ] || fail "CLEAR left keys: $(keys_on "$plain")"

# A plain disk under --transport=mpath: SG_IO on it, one registration.
drain "$sock" "$plain"
expect 0 "$sock" "$plain" register 0xd4
n=$(keys_on "$p1" | grep -cx 0xd4)
[ "$n" = 1 ] || fail "plain disk: $n registrations of 0xd4, want 1"
expect 0 "$sock" "$plain" --key=0xd4 unregister
# All of that under the default sandbox (docs/security.md).
expect_sandboxed mpath
pass
