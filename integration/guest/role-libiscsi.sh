# Guest of test-qemu-client-libiscsi.sh (nested.sh, 9p root): libiscsi's
# PR conformance tests on the guest's /dev/sg node of its scsi-block disk,
# once per helper the host puts behind the pr-manager socket (PRH_PHASES,
# each started by /xchg/go-PHASE), each time unmodified and with the
# PR IN allocation-length shim (LD_PRELOAD /xchg/prin-shim.so).
say() { echo "PRH-LIBISCSI: $*"; }
sg=/dev/$(ls /sys/block/sda/device/scsi_generic/)
say "disk sda is $sg: $(cat /sys/block/sda/device/vendor /sys/block/sda/device/model | tr -s ' \n' ' ')"
say "$(dpkg-query -W -f='libiscsi-bin ${Version}' libiscsi-bin 2>/dev/null), tests $PRH_TESTS"
# Start each run from a LUN without registrations or reservation: clear
# it through the current helper, then eat the unit attentions.
reset_lun() {
    sg_persist -n -o -I -S 0x5eed "$sg" >/dev/null 2>&1 ||
        sg_persist -n -o -I -S 0x5eed "$sg" >/dev/null 2>&1
    sg_persist -n -o -C -K 0x5eed "$sg" >/dev/null 2>&1
    for _ in 1 2 3; do sg_turs "$sg" >/dev/null 2>&1; done
}
for phase in $PRH_PHASES; do
    i=0
    while [ ! -e "/xchg/go-$phase" ] && [ $i -lt 1800 ]; do sleep 0.5; i=$((i + 1)); done
    [ -e "/xchg/go-$phase" ] || { say "no go-$phase"; break; }
    # QEMU refuses libiscsi's PR IN before any helper sees it, so the
    # unmodified run is the same for every helper: run it for the two
    # that PR goes through on the LUN (qemu-pr-helper, prhelper sg).
    modes="plain shim"
    [ "$phase" = prhelper-sim ] && modes=shim
    for mode in $modes; do
        reset_lun
        pre=
        [ "$mode" = shim ] && pre=/xchg/prin-shim.so
        start=$(date +%s)
        LD_PRELOAD=$pre timeout 900 iscsi-test-cu -d -t "$PRH_TESTS" "$sg" >"/xchg/$phase-$mode.out" 2>&1
        say "$phase $mode rc=$? $(($(date +%s) - start))s"
    done
    reset_lun
    : >"/xchg/done-$phase"
done
