#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# On real LIO LUNs through the sg transport: --allow-device by WWID (as
# sysfs shows it, and in multipath's 3... form) and by major:minor; a LUN
# not listed gets ACCESS DENIED and is never touched; the audit trail
# records the real WWID and device numbers; the metrics file counts it all.
# The last daemon is checked to run under the default seccomp filter and
# Landlock (expect_sandboxed).
# Takes about 43 s in the TCG lab VM (measured 43 s, 2026-12-06, host load ~12).
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
audit=$LOGS/audit.jsonl
prom=$WORK/prhelper.prom

make_lun fileio it_pol_a 1
A=${DEVS[0]}
make_lun fileio it_pol_b 1
B=${DEVS[0]}
wwid=$(cat "/sys/block/$(basename "$A")/device/wwid" 2>/dev/null | sed 's/ *$//')
[ -n "$wwid" ] || fail "no WWID in sysfs for $A"
log "LUN A $A wwid '$wwid'; LUN B $B"
majmin_a=$(stat -c '%Hr:%Lr' "$A")
majmin_b=$(stat -c '%Hr:%Lr' "$B")

# 1. By WWID as sysfs spells it.
start_prhelper "$sock" --allow-device="$wwid" --audit=file:"$audit" \
    --metrics-file="$prom" --metrics-interval=1
expect 0 "$sock" "$A" register 0xa1
expect 0 "$sock" "$A" --key=0xa1 reserve we-ro
cli "$sock" "$B" register 0xb1
[ "$RC" != 0 ] || fail "REGISTER on the LUN not allowed succeeded"
expect_out "ACCESS DENIED - NO ACCESS RIGHTS \\(20h/02h\\)"
sg_persist -n -i -k "$B" >"$LOGS/keys-b" 2>&1
grep -q 0xb1 "$LOGS/keys-b" && fail "the refused REGISTER reached LUN B"
kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null

grep -q "\"service_action\":\"RESERVE\".*\"wwid\":\"$wwid\"\|\"wwid\":\"$wwid\".*\"service_action\":\"RESERVE\"" "$audit" ||
    fail "no RESERVE record with the WWID: $(cat "$audit")"
grep '"event":"device_denied"' "$audit" | grep -q "\"device\":\"$majmin_b\"" ||
    fail "no device_denied record for $B: $(cat "$audit")"
grep -q "\"device\":\"$majmin_a\"" "$audit" || fail "records lack $A's numbers $majmin_a"
grep -q 'prhelper_requests_total{op="pr_out",service_action="register",result="denied"} 1' "$prom" ||
    fail "metrics do not count the refusal: $(grep requests_total "$prom")"

# 2. multipath's form of the same WWID, and major:minor.
case $wwid in
naa.*) mp=3${wwid#naa.} ;;
*) mp= ;;
esac
if [ -n "$mp" ]; then
    start_prhelper "$sock" --allow-device="$mp" --audit=none
    drain "$sock" "$A"
    expect 0 "$sock" "$A" read-keys
    cli "$sock" "$B" read-keys
    [ "$RC" != 0 ] || fail "READ KEYS on B allowed by $mp"
    kill -TERM "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
fi
start_prhelper "$sock" --allow-device="$majmin_a" --audit=none -v
expect 0 "$sock" "$A" read-keys
cli "$sock" "$B" read-keys
[ "$RC" != 0 ] || fail "READ KEYS on B allowed by $majmin_a"
expect_sandboxed sg
pass
