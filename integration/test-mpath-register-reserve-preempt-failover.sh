#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The mpath transport on real kernel dm-multipath over LIO: one fileio LUN
# exported through three tcm_loop nexuses; two of them are the paths of a
# dm-multipath map (this host), the third is another host.  prhelper runs
# with its default --transport=sg and must hand the map to mpath itself.
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
make_lun fileio it_mpath 3
p0=${DEVS[0]} p1=${DEVS[1]} other=${DEVS[2]}
make_mpath it_mpath "$p0" "$p1"
start_prhelper "$sock" -v ${PRH_IT_MPATH_ARGS:-}
drain "$sock" "$MPATH"

nkeys() { keys_on "$1" | grep -cx "$2"; }

# REGISTER through the map reaches both paths: LIO sees two registrations.
expect 0 "$sock" "$MPATH" register 0xa1
[ "$(nkeys "$p0" 0xa1)" = 2 ] || fail "key 0xa1 not registered on both paths: $(keys_on "$p0" | tr '\n' ' ')"
[ "$(nkeys "$other" 0xa1)" = 2 ] || fail "the other host does not see two registrations"
# READ FULL STATUS shows both I_T nexuses (two initiator TransportIDs).
expect 0 "$sock" "$MPATH" full-status
n=$(sg_persist -n -i -s "$p1" | grep -c 'Key=0xa1')
[ "$n" = 2 ] || fail "READ FULL STATUS shows $n registrations of 0xa1, want 2"
expect_out -i 'a000'
expect_out -i 'a001'

# RESERVE goes down one path; the reservation is visible everywhere.
expect 0 "$sock" "$MPATH" --key=0xa1 reserve we-ro
sg_persist -n -i -r "$other" | grep -q 'Key=0xa1' || fail "reservation not held by 0xa1"

# A second host registers; this host preempts it.
sg_persist -n -o -G -S 0xb2 "$other" >/dev/null 2>&1 || sg_persist -n -o -G -S 0xb2 "$other" >/dev/null ||
    fail "the other host cannot register"
expect 0 "$sock" "$MPATH" --key=0xa1 preempt 0xb2 we-ro
[ "$(nkeys "$p0" 0xb2)" = 0 ] || fail "0xb2 survived the preempt"
[ "$(nkeys "$p0" 0xa1)" = 2 ] || fail "our registrations changed with the preempt"

# The second host preempts us: both of our paths lose the key.
sg_persist -n -o -G -S 0xb2 "$other" >/dev/null 2>&1 || sg_persist -n -o -G -S 0xb2 "$other" >/dev/null
sg_persist -n -o -P -K 0xb2 -S 0xa1 -T 5 "$other" >/dev/null || fail "the other host could not preempt"
[ "$(nkeys "$other" 0xa1)" = 0 ] || fail "0xa1 survived the other host's preempt"
# We come back: register again (through both paths), then the other host leaves.
expect 0 "$sock" "$MPATH" register-ignore 0xa1
[ "$(nkeys "$other" 0xa1)" = 2 ] || fail "re-registration did not reach both paths"
sg_persist -n -o -C -K 0xb2 "$other" >/dev/null || fail "CLEAR from the other host failed"
expect 0 "$sock" "$MPATH" register 0xa1
[ "$(nkeys "$other" 0xa1)" = 2 ] || fail "register after CLEAR did not reach both paths"

# Path fault: p0 goes offline; PR OUT goes on through p1, PR IN fails over.
path_state "$p0" offline
expect 0 "$sock" "$MPATH" --key=0xa1 register 0xa3
keys=$(keys_on "$p1" | sort | tr '\n' ' ')
[ "$keys" = "0xa1 0xa3 " ] || fail "with p0 offline want keys 0xa1 (p0, stale) 0xa3 (p1), got: $keys"
expect 0 "$sock" "$MPATH" read-keys
expect_out -i '0xa3'
expect 0 "$sock" "$MPATH" --key=0xa3 reserve we-ro
# p0 is back: the next PR OUT registers 0xa3 on it.
path_state "$p0" running
expect 0 "$sock" "$MPATH" --key=0xa3 reserve we-ro
keys=$(keys_on "$p1" | sort | tr '\n' ' ')
[ "$keys" = "0xa3 0xa3 " ] || fail "p0 was not re-registered when it came back: $keys"
grep -q 'path .* now carries key 0xa3' "$LOGS/prhelper.log" || fail "no re-registration logged"

# RELEASE reaches the holder whichever path it is; then unregister everywhere.
expect 0 "$sock" "$MPATH" --key=0xa3 release we-ro
sg_persist -n -i -r "$other" | grep -qi 'no reservation' || fail "reservation not released"
expect 0 "$sock" "$MPATH" --key=0xa3 unregister
[ -z "$(keys_on "$other")" ] || fail "keys left after unregister: $(keys_on "$other")"
# All of that under the default sandbox (docs/security.md).
expect_sandboxed sg
pass
