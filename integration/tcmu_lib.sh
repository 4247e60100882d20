# SPDX-License-Identifier: GPL-2.0-or-later
# tcmu_lib.sh - prhelper-tcmu LUNs in the lab VM (sourced after lib.sh).
#
# start_tcmu [ARGS...]           prhelper-tcmu in the background (state in
#                                $WORK/tcmu-state, control socket $TCMU_CTL)
# stop_tcmu [SIGNAL]             stop it (default TERM) and wait
# make_tcmu_lun NAME N [MB]      N backstores user_0/NAME_i, one simulated LUN
#                                NAME, each behind its own tcm_loop target;
#                                sets DEVS (one /dev/sdX per nexus);
#                                TCMU_CMD_TIMEOUT=S sets attrib/cmd_time_out
# remove_tcmu_lun NAME N         unexport and delete them
# tcmu_ctl WORDS...              prhelper-cli ctl on $TCMU_CTL
#
# Nexus i: target naa.50014050<id>00<i>, initiator naa.50014050<id>a0<i>
# (the SAS TransportID tcm_loop reports), relative target port i+1 -- the
# same names and ports lun.sh gives a fileio LUN, so the two compare.
TCMU=$BUILD/src/tcmu/prhelper-tcmu
TCMU_CTL=$WORK/tcmu.ctl
TCMU_PID=
[ -x "$TCMU" ] || fail "no $TCMU (scripts/integration builds it)"

tcmu_ctl() { "$CLI" -C "$TCMU_CTL" ctl "$@"; }

start_tcmu() {
    modprobe target_core_user || skip "no target_core_user module"
    mkdir -p "$WORK/tcmu-state"
    rm -f "$TCMU_CTL"
    "$TCMU" --state-dir="$WORK/tcmu-state" --control="$TCMU_CTL" -v "$@" \
        >>"$LOGS/prhelper-tcmu.log" 2>&1 &
    TCMU_PID=$!
    PIDS+=("$TCMU_PID")
    local i
    for i in $(seq 100); do
        [ -S "$TCMU_CTL" ] && return 0
        kill -0 "$TCMU_PID" 2>/dev/null || fail "prhelper-tcmu exited: $(tail -3 "$LOGS/prhelper-tcmu.log")"
        sleep 0.1
    done
    fail "prhelper-tcmu has no control socket after 10 s"
}

stop_tcmu() {
    [ -n "$TCMU_PID" ] || return 0
    kill -"${1:-TERM}" "$TCMU_PID" 2>/dev/null
    wait "$TCMU_PID" 2>/dev/null
    TCMU_PID=
}

# wait_tcmu_devices N: bounded wait until prhelper-tcmu serves N backstores.
wait_tcmu_devices() {
    local i n
    for i in $(seq 100); do
        n=$(tcmu_ctl devices 2>/dev/null | grep -c '^uio')
        [ "$n" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "prhelper-tcmu serves $n backstores, want $1: $(tail -5 "$LOGS/prhelper-tcmu.log")"
}

make_tcmu_lun() {
    local name=$1 n=$2 mb=${3:-64} id i so tpg h dev size
    modprobe target_core_mod; modprobe target_core_user; modprobe tcm_loop; modprobe sd_mod; modprobe sg
    mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
    id=$(lun_id "$name")
    size=$((mb * 1024 * 1024))
    for i in $(seq 0 $((n - 1))); do
        so=$C/core/user_0/${name}_$i
        mkdir -p "$so"
        # nl_reply_supported=-1: the kernel never waits for a handler's
        # netlink answer about this backstore (a tcmu-runner that once ran
        # would otherwise make it wait for one).
        echo "dev_config=prsim/$name/naa.50014050${id}a0$(printf %02x "$i")@$((i + 1)),dev_size=$size,nl_reply_supported=-1" \
            >"$so/control" || fail "cannot configure $so"
        echo 0 >"$so/attrib/pgr_support" || fail "cannot set pgr_support=0 on $so"
        echo 1 >"$so/enable" || fail "cannot enable $so"
        # The kernel's command timeout (default 30 s); settable before export only.
        [ -n "${TCMU_CMD_TIMEOUT:-}" ] && { echo "$TCMU_CMD_TIMEOUT" >"$so/attrib/cmd_time_out" ||
            fail "cannot set cmd_time_out on $so"; }
    done
    wait_tcmu_devices "$n"
    DEVS=()
    for i in $(seq 0 $((n - 1))); do
        tpg=$C/loopback/naa.50014050${id}00$(printf %02x "$i")/tpgt_1
        mkdir -p "$tpg/lun/lun_0"
        echo "naa.50014050${id}a0$(printf %02x "$i")" >"$tpg/nexus"
        ln -s "$C/core/user_0/${name}_$i" "$tpg/lun/lun_0/"
        h=$(cut -d: -f1 <"$tpg/address")
        dev=
        for _ in $(seq 150); do
            dev=$(ls "/sys/class/scsi_host/host$h/device/"target*/*/block 2>/dev/null | head -1)
            [ -n "$dev" ] && [ -b "/dev/$dev" ] && break
            sleep 0.1
        done
        [ -n "$dev" ] || fail "no disk for nexus $i of $name: $(tail -5 "$LOGS/prhelper-tcmu.log")"
        DEVS+=("/dev/$dev")
    done
    log "tcmu LUN $name: ${DEVS[*]}"
}

remove_tcmu_lun() {
    local name=$1 n=$2 id i tpg
    id=$(lun_id "$name")
    for i in $(seq 0 $((n - 1))); do
        tpg=$C/loopback/naa.50014050${id}00$(printf %02x "$i")/tpgt_1
        rm -f "$tpg/lun/lun_0/${name}_$i"
        rmdir "$tpg/lun/lun_0" "$tpg" "$(dirname "$tpg")" 2>/dev/null
        rmdir "$C/core/user_0/${name}_$i" || fail "cannot remove backstore ${name}_$i"
    done
}

# Tear LUNs down before the handler stops (lab.md 7: a LUN whose handler
# exited can hang the power-off).
tcmu_cleanup() {
    local tpg so
    for tpg in "$C"/loopback/naa.*/tpgt_1; do
        [ -d "$tpg" ] || continue
        for so in "$tpg"/lun/lun_0/*; do
            [ -L "$so" ] && [[ "$(readlink -f "$so")" == */user_0/* ]] && rm -f "$so" &&
                rmdir "$tpg/lun/lun_0" "$tpg" "$(dirname "$tpg")" 2>/dev/null
        done
    done
    for so in "$C"/core/user_0/*/; do
        [ -f "$so/attrib/dev_config" ] && grep -q '^prsim/' "$so/attrib/dev_config" && rmdir "$so" 2>/dev/null
    done
    cleanup
    return 0
}
trap tcmu_cleanup EXIT

# sgp DEV ARGS...: sg_persist; output in $OUT, status in $RC.  The first
# commands through a fresh nexus may meet unit attentions: retried.
sgp() {
    local dev=$1 i
    shift
    for i in 1 2 3 4; do
        OUT=$(timeout 60 sg_persist -n "$@" "$dev" 2>&1)
        RC=$?
        [ "$RC" = 6 ] || return 0
    done
}
want() { # want RC DEV ARGS...
    local rc=$1
    shift
    sgp "$@"
    [ "$RC" = "$rc" ] || fail "sg_persist $* exited $RC, want $rc: $OUT"
}
