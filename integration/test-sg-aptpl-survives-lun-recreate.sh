#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Registrations made through prhelper with APTPL survive re-creating the LUN
# from LIO's saved state (as a target restart restores it); without APTPL
# LIO keeps nothing to restore.
# Runs under the default seccomp filter and Landlock (expect_sandboxed).
# Takes about 34 s in the TCG lab VM (measured 34 s, 2026-12-06, host load ~12).
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
name=it_aptpl
make_lun fileio "$name" 2
a=${DEVS[0]} b=${DEVS[1]}
start_prhelper "$sock" -v
drain "$sock" "$a"
drain "$sock" "$b"
expect 0 "$sock" "$a" --aptpl register 0xa1
expect 0 "$sock" "$b" --aptpl register 0xb2
expect 0 "$sock" "$a" --key=0xa1 reserve we-ro
expect 0 "$sock" "$a" capabilities
expect_out 'PTPL_A\): yes'
recreate_fileio_lun_from_aptpl "$name" 2
a=${DEVS[0]} b=${DEVS[1]}
drain "$sock" "$a"
drain "$sock" "$b"
expect 0 "$sock" "$b" read-keys
expect_out '0x0*a1'
expect_out '0x0*b2'
expect 0 "$sock" "$b" read-reservation
expect_out '0x0*a1'
expect_out -i 'registrants only'
# The restored holder still holds it: B cannot take it.
expect 24 "$sock" "$b" --key=0xb2 reserve we-ro
expect_sandboxed sg
pass
