#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A device that stops answering (tcmu-runner stopped, PR passed through to it)
# must not delay prhelper's other clients: they keep getting answers.  About a
# minute in the lab VM (56 s wall, 38 s host CPU at host load ~12).
. "$(dirname "$0")/lib.sh"
command -v tcmu-runner >/dev/null || skip "tcmu-runner is not installed"
sock=$WORK/prh.sock
make_lun fileio it_live 1
live=${DEVS[0]}
LUN_PGR_PASSTHROUGH=1 make_lun tcmu it_hung 1
hung=${DEVS[0]}
runner=$(pgrep -x tcmu-runner | head -1)
[ -n "$runner" ] || fail "tcmu-runner is not running"
# Whatever happens below, tcmu-runner goes on afterwards: the later tcmu
# tests of the run share this VM and its tcmu-runner.
on_exit "kill -CONT $runner 2>/dev/null"
start_prhelper "$sock" --sg-timeout=20
drain "$sock" "$live"
# The same 20 requests with nothing hung first: what they take on this
# host (a loaded TCG host took 13.5 s, close to the fixed 15 s this test
# used to allow).  Live clients waiting behind the hung requests would
# add up to the 20 s SG_IO timeout; half of it is the margin.
twenty() {
    local i t0=$(date +%s%N)
    for i in $(seq 20); do expect 0 "$sock" "$live" read-keys; done
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
baseline=$(twenty) || fail "READ KEYS on the live LUN failed: $baseline"
kill -STOP "$runner"
# Two requests that will hang in the device for up to the SG_IO timeout.
hung_pids=()
for i in 1 2; do
    timeout 60 "$CLI" -k "$sock" "$hung" read-keys >"$LOGS/hung$i.out" 2>&1 &
    hung_pids+=($!)
done
sleep 1
elapsed=$(twenty) || fail "READ KEYS on the live LUN failed while two requests hung: $elapsed"
kill -CONT "$runner"
log "20 READ KEYS on the live LUN took ${elapsed} ms while two requests hung, ${baseline} ms before"
[ "$elapsed" -lt $((baseline + 10000)) ] ||
    fail "live clients were delayed (${elapsed} ms for 20 requests, ${baseline} ms with nothing hung)"
wait "${hung_pids[@]}"
pass
