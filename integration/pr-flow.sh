# SPDX-License-Identifier: GPL-2.0-or-later
# pr-flow.sh - every PR service action through prhelper (sg transport) from
# two I_T nexuses of one real LUN, checked through the other nexus.
# Sourced after lib.sh; service_action_flow KIND NAME.
service_action_flow() {
    local kind=$1 name=$2 sock=$WORK/prh.sock
    make_lun "$kind" "$name" 2
    local a=${DEVS[0]} b=${DEVS[1]}
    start_prhelper "$sock" --transport=sg -v
    drain "$sock" "$a"
    drain "$sock" "$b"

    expect 0 "$sock" "$a" register 0xa1
    expect 0 "$sock" "$b" register 0xb2
    # Keys registered through one nexus are visible through the other.
    expect 0 "$sock" "$b" read-keys
    expect_out '0x0*a1'
    expect_out '0x0*b2'
    expect 0 "$sock" "$a" --key=0xa1 reserve we-ro
    expect 0 "$sock" "$b" read-reservation
    expect_out '0x0*a1'
    expect_out -i 'registrants only'
    expect 24 "$sock" "$b" --key=0xb2 reserve we-ro
    expect 0 "$sock" "$a" capabilities
    expect 0 "$sock" "$a" full-status
    expect_out '0x0*a1'
    expect_out '0x0*b2'
    # A wrong key conflicts; a release of another type conflicts on LIO.
    expect 24 "$sock" "$a" --key=0x99 register 0x98
    expect 24 "$sock" "$a" --key=0xa1 release ea
    expect 0 "$sock" "$a" --key=0xa1 release we-ro
    # Releasing a registrants-only reservation tells the other registrant.
    expect 2 "$sock" "$b" read-reservation
    expect_out 'RESERVATIONS RELEASED'
    expect 0 "$sock" "$b" read-reservation
    expect_out -i 'no reservation|NO reservation|not reserved|none'
    # B takes EA; A preempts B (fencing); B sees REGISTRATIONS PREEMPTED.
    expect 0 "$sock" "$b" --key=0xb2 reserve ea
    expect 0 "$sock" "$a" --key=0xa1 preempt 0xb2 ea
    expect 2 "$sock" "$b" read-keys
    expect_out -i 'unit attention'
    expect 0 "$sock" "$b" read-keys
    expect_out '0x0*a1'
    grep -q '0x0*b2' <<<"$OUT" && fail "preempted key 0xb2 still registered: $OUT"
    expect 0 "$sock" "$a" read-reservation
    expect_out '0x0*a1'
    # REGISTER AND IGNORE EXISTING KEY, then CLEAR removes everything.
    expect 0 "$sock" "$b" register-ignore 0xb3
    expect 0 "$sock" "$a" --key=0xa1 clear
    drain "$sock" "$b"
    expect 0 "$sock" "$a" read-keys
    grep -Eq '0x0*(a1|b3)' <<<"$OUT" && fail "keys left after CLEAR: $OUT"
    # A PR OUT on a read-only fd is refused as qemu-pr-helper refuses it:
    # prhelper-cli opens read-only for PR IN only, so use the raw client.
    local r
    r=$(python3 "$ROOT/integration/prwire.py" "$sock" "$a" 5e000000000000200000) || fail "prwire failed"
    [[ "$r" == status=00* ]] || fail "raw READ KEYS: $r"
    # All of that under the default sandbox (docs/security.md).
    expect_sandboxed sg
    return 0
}
