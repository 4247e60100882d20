# SPDX-License-Identifier: GPL-2.0-or-later
# nested.sh - nested QEMU guests that run real PR clients (iscsi-test-cu,
# fence_scsi) through a helper socket.  Sourced after lib.sh.
#
# A guest boots the lab kernel with the shared initramfs (build_guest_initrd
# in lib.sh) and prh.root=9p: its root is the lab VM's own root, read-only
# over 9p with a tmpfs overlay, so every program installed on the host runs
# in it unchanged (python3, fence-agents, libiscsi-bin, sg3-utils).  Each
# guest NAME has an exchange directory $WORK/NAME, shared read-write as
# /xchg: the test puts role-ROLE.sh and env there, and the role script
# takes its work from there and writes its results there.  Guests are
# nested TCG: one boot takes 1.5 to 2 minutes on an idle host and ten
# times that on a loaded one, so a test boots its guests once and runs
# every check in them.  A guest's console and QEMU's messages are
# written to $LOGS/NAME/ as they come (a slow run can be followed from
# the host); the rest of its exchange directory is copied there at exit.
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
[ -n "${LAB_KERNEL:-}" ] && [ -r "$LAB_KERNEL" ] || skip "LAB_KERNEL is not set"
[ -x /bin/busybox ] || skip "busybox-static is not installed"
# The guests boot the lab kernel's uncompressed vmlinux (lib.sh's
# guest_kernel: a minute less per boot under two levels of TCG).
guest_kernel

# The guests' exchange directories (role output, results) are copied to
# the test's $LOGS at exit (lib.sh's on_exit: after QEMU is stopped); the
# small files in $WORK (tables, story) lib.sh copies itself.
NESTED_GUESTS=()
nested_save_logs() {
    local g
    for g in "${NESTED_GUESTS[@]}"; do
        mkdir -p "$LOGS/$g"
        cp -r "$WORK/$g/." "$LOGS/$g/" 2>/dev/null
    done
    return 0
}
on_exit nested_save_logs
# run-all.sh's time limit sends TERM: exit through the EXIT trap so that
# the guests' logs are kept.
trap 'exit 143' TERM INT

# nested_prepare NAME ROLE [VAR=VALUE...]: the exchange directory of guest
# NAME with the stage-2 and role scripts and the env file.
nested_prepare() {
    local name=$1 role=$2 x=$WORK/$1 kv
    shift 2
    rm -rf "$x" "${LOGS:?}/$name"
    mkdir -p "$x" "$LOGS/$name"
    cp "$ROOT/integration/guest/stage2.sh" "$ROOT/integration/guest/role-$role.sh" "$x/"
    : >"$x/env"
    for kv in "$@"; do printf "%s='%s'\n" "${kv%%=*}" "${kv#*=}" >>"$x/env"; done
    NESTED_GUESTS+=("$name")
}

# nested_boot NAME ROLE QEMU-ARGS...: start guest NAME (in the background;
# its console is $LOGS/NAME/console.log).  The QEMU arguments name its
# disks and pr-managers.  Sets NESTED_PID_NAME.
nested_boot() {
    local name=$1 role=$2 x=$WORK/$1
    shift 2
    [ -s "$WORK/initrd.cpio" ] || build_guest_initrd "$WORK/initrd.cpio"
    printf '%q ' "$role" "$@" >"$x/boot-args"
    qemu-system-x86_64 -accel tcg -m 384 -nodefaults -no-user-config -display none \
        -serial "file:$LOGS/$name/console.log" -no-reboot \
        -kernel "$GUEST_KERNEL" -initrd "$WORK/initrd.cpio" \
        -append "console=ttyS0 panic=-1 no_timer_check printk.time=1 rdinit=/init prh.root=9p prh.role=$role" \
        -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
        -fsdev local,id=xchg,path="$x",security_model=none \
        -device virtio-9p-pci,fsdev=xchg,mount_tag=xchg \
        "$@" >>"$LOGS/$name/qemu.log" 2>&1 &
    PIDS+=($!)
    printf -v "NESTED_PID_$name" %s "$!"
}

nested_pid() { local v=NESTED_PID_$1; echo "${!v}"; }

# nested_wait NAME FILE SECONDS: wait until guest NAME has written FILE
# into its exchange directory; fail if it powers off or time runs out.
nested_wait() {
    local name=$1 file=$2 secs=$3 pid i
    pid=$(nested_pid "$name")
    for ((i = 0; i < secs * 2; i++)); do
        [ -e "$WORK/$name/$file" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    [ -e "$WORK/$name/$file" ] && return 0
    fail "guest $name: no $file after ${secs}s (console: $(tail -n 5 "$LOGS/$name/console.log" 2>/dev/null | tr -d '\r' | tr '\n' '|'))"
}

# nested_wait_up NAME...: wait until each guest's role script runs, at
# most PRH_NESTED_BOOT_TIMEOUT seconds (default 2400) from the call.  A
# kernel booted under two levels of TCG on a loaded host sometimes dies
# before init ("IO-APIC + timer doesn't work"): that is the emulator, not
# what is tested, so a guest whose QEMU ended or whose kernel panicked
# gets one more boot (as in test-libvirt-managed-pr.sh).  A guest that is
# still booting when time runs out is not restarted (that would only
# start the slow boot over): the test fails and says so.
nested_wait_up() {
    local name end state args
    end=$((SECONDS + ${PRH_NESTED_BOOT_TIMEOUT:-2400}))
    for name in "$@"; do
        state=$(nested_boot_state "$name" "$end")
        if [ "$state" = died ]; then
            log "guest $name did not reach init: one more boot ($(grep -a -m1 -i -E 'panic|timer' "$LOGS/$name/console.log" | tr -d '\r'))"
            kill "$(nested_pid "$name")" 2>/dev/null
            wait "$(nested_pid "$name")" 2>/dev/null
            mv "$LOGS/$name/console.log" "$LOGS/$name/console-first-boot.log" 2>/dev/null
            eval "args=($(cat "$WORK/$name/boot-args"))"
            nested_boot "$name" "${args[@]}"
            state=$(nested_boot_state "$name" "$end")
        fi
        case $state in
        up) log "guest $name up after $SECONDS s of the test ($(grep -a -m1 'stage2 up' "$LOGS/$name/console.log" | tr -d '\r'))" ;;
        died) fail "guest $name did not boot twice: $(tail -n 8 "$LOGS/$name/console.log" "$LOGS/$name/qemu.log" | tr -d '\r')" ;;
        *) fail "guest $name still booting after ${PRH_NESTED_BOOT_TIMEOUT:-2400} s (host too slow?): $(tail -n 3 "$LOGS/$name/console.log" | tr -d '\r' | tr '\n' '|')" ;;
        esac
    done
}

# nested_boot_state NAME END: "up" once guest NAME's role script runs,
# "died" if its QEMU ends or its kernel panics first, "slow" at SECONDS END.
nested_boot_state() {
    local name=$1 end=$2 pid
    pid=$(nested_pid "$name")
    while [ "$SECONDS" -lt "$end" ]; do
        grep -q -a "PRH-GUEST: stage2 up" "$LOGS/$name/console.log" 2>/dev/null && { echo up; return; }
        kill -0 "$pid" 2>/dev/null || { echo died; return; }
        grep -q -a "Kernel panic" "$LOGS/$name/console.log" 2>/dev/null && { echo died; return; }
        sleep 1
    done
    echo slow
}

# nested_end NAME SECONDS: wait for guest NAME to power off.
nested_end() {
    local pid i
    pid=$(nested_pid "$1")
    for ((i = 0; i < $2 * 2; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    fail "guest $1 did not power off within $2 s"
}
