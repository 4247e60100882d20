#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prhelper-tcmu and backstores it cannot serve (prhelper-tcmu(8), BACKSTORE
# SETTINGS): prsim backstores with a dev_config that lacks the initiator,
# has an invalid initiator, relative target port or LUN name, or a size
# other than its LUN's are enabled in the real kernel; the daemon logs each
# with its reason, once (not again on SIGHUP), serves none of them, keeps
# serving the good backstore of the same LUN, and the bad ones are removed
# without waiting.  81 s in the TCG lab VM on a busy 2-core host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcmu_lib.sh"

: >"$LOGS/prhelper-tcmu.log" # counted below: this run's lines only
start_tcmu
make_tcmu_lun it_badcfg 1
good=${DEVS[0]}

# bad NAME DEV_CONFIG [DEV_SIZE]: enable a prsim backstore the daemon must refuse.
bad() {
    local so=$C/core/user_0/$1
    mkdir -p "$so"
    echo "dev_config=$2,dev_size=${3:-1048576},nl_reply_supported=-1" >"$so/control" ||
        fail "cannot configure $so"
    echo 0 >"$so/attrib/pgr_support" || fail "cannot set pgr_support=0 on $so"
    timeout 30 sh -c "echo 1 >'$so/enable'" || fail "cannot enable $so"
}
bad it_bad_noinit "prsim/it_bad"
bad it_bad_init "prsim/it_bad/naa.xyz"
bad it_bad_rtpi "prsim/it_bad/naa.5001405000000bb0@0"
bad it_bad_lun "prsim/a%b/naa.5001405000000bb1"
bad it_bad_size "prsim/it_badcfg/naa.5001405000000bb2@2" 1048576 # the LUN has 64 MiB
reasons=(
    "lacks the initiator"
    "invalid initiator 'naa.xyz'"
    "invalid relative target port '0'"
    "invalid LUN name 'a%b'"
    "every backstore of a LUN must have the same dev_size"
)
# wait_logged: bounded wait until every reason is in the daemon's log.
wait_logged() {
    local i r missing
    for i in $(seq 100); do
        missing=
        for r in "${reasons[@]}"; do grep -qF -- "$r" "$LOGS/prhelper-tcmu.log" || missing=$r; done
        [ -z "$missing" ] && return 0
        sleep 0.1
    done
    fail "prhelper-tcmu did not log '$missing': $(tail -5 "$LOGS/prhelper-tcmu.log")"
}
wait_logged
kill -0 "$TCMU_PID" || fail "prhelper-tcmu died"
n=$(tcmu_ctl devices | grep -c '^uio')
[ "$n" = 1 ] || fail "prhelper-tcmu serves $n backstores, want the good one: $(tcmu_ctl devices)"
log "five bad backstores refused, each with its reason"

# A rescan neither serves them nor logs them again.
kill -HUP "$TCMU_PID"
sleep 2
for r in "${reasons[@]}"; do
    c=$(grep -cF -- "$r" "$LOGS/prhelper-tcmu.log")
    [ "$c" = 1 ] || fail "'$r' logged $c times, want once"
done
n=$(tcmu_ctl devices | grep -c '^uio')
[ "$n" = 1 ] || fail "after SIGHUP prhelper-tcmu serves $n backstores, want 1"

# The good backstore of the same LUN goes on.
head -c 512 /dev/urandom >"$WORK/blk"
dd if="$WORK/blk" of="$good" bs=512 count=1 oflag=direct status=none || fail "write to $good failed"
dd if="$good" of="$WORK/back" bs=512 count=1 iflag=direct status=none || fail "read from $good failed"
cmp -s "$WORK/blk" "$WORK/back" || fail "$good returned other data"

# Refused backstores go away at once (nobody waits for them).
for so in it_bad_noinit it_bad_init it_bad_rtpi it_bad_lun it_bad_size; do
    timeout 30 rmdir "$C/core/user_0/$so" || fail "cannot remove $so"
done
kill -0 "$TCMU_PID" || fail "prhelper-tcmu died"
log "the good backstore answers; the bad ones are removed"
pass
