#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real client as judge: Pacemaker's SCSI fence agent (fence_scsi,
# fence-agents 4.12) in a two-node cluster of nested guests that share
# LUNs through prhelper, as a cluster of VMs with shared disks would.
# Both guests boot once (in parallel) with three disks each, and the same
# story runs on each:
#   sg     a LIO LUN, one tcm_loop nexus per node, PR through prhelper (sg)
#   mpath  a LIO LUN behind a dm-multipath map of two nexuses per node in
#          the lab VM; prhelper (sg) hands the map to its mpath transport
#   sim    one device shared by both guests, PR through prhelper
#          --transport=sim; the reservation side must behave the same, but
#          writes reach the device directly and are NOT fenced (the
#          simulator holds the reservation, LIO never sees it): the test
#          checks that they still succeed and docs/compat.md says so
# The story: node1 and node2 unfence (fence_scsi -o on), node2 fences
# node1 (-o off -n node1), node1's next write fails with RESERVATION
# CONFLICT, -o status reports node1 off and node2 on, node1 unfences
# again, writes, and -o status (asked by node1 itself) reports it on.
# fence_scsi always fences with PREEMPT AND ABORT (sg_persist -A), which
# hangs the lab kernel's LIO (tcm_loop, shared lab.md pitfalls); where
# LIO is behind (sg, mpath) its documented --sg_persist-path option names
# a wrapper that sends PREEMPT instead, and logs that it did.  On sim the
# real PREEMPT AND ABORT goes to the simulator.  Cluster keys use
# --key-value=hash (the recommended method) and a corosync-cmapctl stub
# that names the cluster; fence_mpath does not apply in the guests (see
# docs/compat.md, "Real clients").
# Time (lab VM, 2-core host shared with other work; the idle CI machine
# was not measured): at load ~10 both guests were up after ~15 min and
# the first fence_scsi call (python3 and sg3-utils read over 9p for the
# first time) took 298 s; the whole story has not finished yet there.
# prh-it-timeout: 3600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nested.sh"
command -v fence_scsi >/dev/null || skip "fence_scsi is not installed (fence-agents)"
variants=${PRH_FENCE_VARIANTS:-sg mpath sim}

make_lun fileio it_fence 2
SG=("${DEVS[@]}")
make_lun fileio it_fence_sim 1
SIMDEV=${DEVS[0]}
make_lun fileio it_fence_mp 4
MP=("${DEVS[@]}")
make_mpath prh_fence_n1 "${MP[0]}" "${MP[1]}"
MAP1=$MPATH
make_mpath prh_fence_n2 "${MP[2]}" "${MP[3]}"
MAP2=$MPATH
start_prhelper "$WORK/sg.sock"
start_prhelper "$WORK/sim.sock" --transport=sim --state-dir="$WORK/sim-state" -f "$WORK/sim.pid"

key_of() { python3 -c 'import hashlib,sys; h=lambda s: hashlib.md5(s.encode()).hexdigest()[:4]; print((h("prhcluster")+h(sys.argv[1])).lstrip("0"))' "$1"; }
KEY1=$(key_of node1)
KEY2=$(key_of node2)
log "node keys: node1 0x$KEY1, node2 0x$KEY2"

for node in node1 node2; do
    nested_prepare "$node" fence
    cat >"$WORK/$node/corosync-cmapctl" <<'STUB'
#!/bin/sh
# corosync-cmapctl stub for fence_scsi: the cluster's name.
case "$1" in
totem.cluster_name) echo "totem.cluster_name (str) = prhcluster" ;;
*) exit 1 ;;
esac
STUB
    cat >"$WORK/$node/sg_persist-preempt" <<'WRAP'
#!/bin/sh
# fence_scsi --sg_persist-path: PREEMPT (-P) where fence_scsi sends
# PREEMPT AND ABORT (-A), which hangs the lab kernel's LIO.
for a do
    shift
    [ "$a" = -A ] && { echo "sg_persist $*: PREEMPT AND ABORT sent as PREEMPT" >>/xchg/preempt.log; a=-P; }
    set -- "$@" "$a"
done
exec /usr/bin/sg_persist "$@"
WRAP
    chmod +x "$WORK/$node/corosync-cmapctl" "$WORK/$node/sg_persist-preempt"
done
boot_node() { # NAME SG-DEVICE MPATH-MAP
    nested_boot "$1" fence \
        -object pr-manager-helper,id=prsg,path="$WORK/sg.sock" \
        -object pr-manager-helper,id=prsim,path="$WORK/sim.sock" \
        -device virtio-scsi-pci,id=scsi0 \
        -blockdev node-name=sg,driver=host_device,filename="$2",locking=off,pr-manager=prsg \
        -device scsi-block,bus=scsi0.0,drive=sg,scsi-id=0,lun=0 \
        -blockdev node-name=sim,driver=host_device,filename="$SIMDEV",locking=off,pr-manager=prsim \
        -device scsi-block,bus=scsi0.0,drive=sim,scsi-id=1,lun=0 \
        -blockdev node-name=mp,driver=host_device,filename="$3",locking=off,pr-manager=prsg \
        -device scsi-block,bus=scsi0.0,drive=mp,scsi-id=2,lun=0
}
boot_node node1 "${SG[0]}" "$MAP1"
boot_node node2 "${SG[1]}" "$MAP2"
nested_wait_up node1 node2
log "both nodes up"

# step NODE SCRIPT: run SCRIPT in the guest (role-fence.sh); sets OUT, RC.
declare -A STEPS=([node1]=0 [node2]=0)
step() {
    local node=$1 n
    n=$((STEPS[$node] + 1))
    STEPS[$node]=$n
    printf '%s\n' "$2" >"$WORK/$node/step-$n.tmp"
    mv "$WORK/$node/step-$n.tmp" "$WORK/$node/step-$n.sh"
    [ "$2" = exit-guest ] && return 0
    nested_wait "$node" "rc-$n" 600
    RC=$(cat "$WORK/$node/rc-$n")
    OUT=$(cat "$WORK/$node/out-$n")
    printf '%s$ %s  (rc %s)\n%s\n' "$node" "$2" "$RC" "$OUT" >>"$LOGS/story.log"
}
# check VARIANT WHAT EXPECTED GOT: one row of the result table.
BAD=0
printf 'variant\tstep\texpected\tresult\n' >"$LOGS/fence.tsv"
check() {
    local ok=ok
    [ "$3" = "$4" ] || { ok=MISMATCH; BAD=1; }
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$LOGS/fence.tsv"
    log "$1: $2: want $3, got $4 $([ $ok = ok ] || echo '<-- MISMATCH')"
}
# the fence_scsi result in a word: rc 0 ok; for status ON/OFF (rc 0/2).
fence_word() {
    case $RC in
    0) grep -q "Status: ON" <<<"$OUT" && echo "ON (rc 0)" || echo "ok (rc 0)" ;;
    2) grep -q "Status: OFF" <<<"$OUT" && echo "OFF (rc 2)" || echo "rc 2" ;;
    *) echo "rc $RC: $(tail -n 2 <<<"$OUT" | tr '\n' ' ')" ;;
    esac
}
write_word() { sed -n 's/^write: //p' <<<"$OUT" | head -1; }
# keys (with their count, as "0xKEY(2)" for two nexuses) and the
# reservation holder as the LUN (or the simulator) reports them, from the lab.
lun_state() { # VARIANT
    local d keys holder
    case $1 in
    sg | mpath)
        d=${SG[1]}
        [ "$1" = mpath ] && d=${MP[3]}
        keys=$(keys_on "$d")
        holder=$(sg_persist -n -i -r "$d" 2>&1 | grep -oiE 'key=0x[0-9a-f]+' | cut -d= -f2) ;;
    sim)
        cli "$WORK/sim.sock" "$SIMDEV" read-keys
        cli "$WORK/sim.sock" "$SIMDEV" read-keys
        keys=$(awk '/^ *0x[0-9a-f]+$/ {print $1}' <<<"$OUT")
        cli "$WORK/sim.sock" "$SIMDEV" read-reservation
        holder=$(grep -oE 'reserved by key 0x[0-9a-f]+' <<<"$OUT" | awk '{print $4}') ;;
    esac
    keys=$(LC_ALL=C sort <<<"$keys" | uniq -c | awk 'NF == 2 {printf "%s%s ", $2, ($1 > 1 ? "(" $1 ")" : "")}')
    echo "keys ${keys% } holder ${holder:-none}"
}
# want_state HOLDER KEY...: lun_state's line for these keys.
want_state() {
    local h=$1
    shift
    echo "keys $(printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//') holder $h"
}

for v in $variants; do
    t0=$(date +%s)
    log "== $v"
    step node1 "fence $v -o on -n node1 --key-value=hash"
    check "$v" "node1: fence_scsi -o on -n node1" "ok (rc 0)" "$(fence_word)"
    step node2 "fence $v -o on -n node2 --key-value=hash"
    check "$v" "node2: fence_scsi -o on -n node2" "ok (rc 0)" "$(fence_word)"
    step node1 "write $v"
    check "$v" "node1: write" GOOD "$(write_word)"
    state=$(lun_state "$v")
    log "$v: $state"
    if [ "$v" = mpath ]; then want=$(want_state "0x$KEY1" "0x$KEY1(2)" "0x$KEY2(2)"); else want=$(want_state "0x$KEY1" "0x$KEY1" "0x$KEY2"); fi
    check "$v" "LUN: registrations and holder" "$want" "$state"
    step node2 "fence $v -o off -n node1 --key-value=hash"
    check "$v" "node2: fence_scsi -o off -n node1" "ok (rc 0)" "$(fence_word)"
    step node1 "write $v"
    if [ "$v" = sim ]; then want=GOOD; else want="RESERVATION CONFLICT"; fi
    check "$v" "node1: write after the fence" "$want" "$(write_word)"
    step node2 "fence $v -o status -n node1 --key-value=hash"
    check "$v" "node2: fence_scsi -o status -n node1" "OFF (rc 2)" "$(fence_word)"
    step node2 "fence $v -o status -n node2 --key-value=hash"
    check "$v" "node2: fence_scsi -o status -n node2" "ON (rc 0)" "$(fence_word)"
    state=$(lun_state "$v")
    if [ "$v" = mpath ]; then want=$(want_state "0x$KEY2" "0x$KEY2(2)"); else want=$(want_state "0x$KEY2" "0x$KEY2"); fi
    check "$v" "LUN: registrations and holder after the fence" "$want" "$state"
    step node1 "fence $v -o on -n node1 --key-value=hash"
    check "$v" "node1: fence_scsi -o on -n node1 (unfence)" "ok (rc 0)" "$(fence_word)"
    step node1 "write $v"
    check "$v" "node1: write after unfencing" GOOD "$(write_word)"
    step node1 "fence $v -o status -n node1 --key-value=hash"
    check "$v" "node1: fence_scsi -o status -n node1" "ON (rc 0)" "$(fence_word)"
    log "$v: $(($(date +%s) - t0)) s"
done
cat "$WORK"/node*/preempt.log 2>/dev/null | sed 's/^/[preempt] /'
step node1 exit-guest
step node2 exit-guest
nested_end node1 120
nested_end node2 120
[ "$BAD" = 0 ] || fail "the fencing story differs (table above; ${LOGS#"$ROOT"/}/story.log)"
pass
