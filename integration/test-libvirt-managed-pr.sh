#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# libvirt managed mode, for real: libvirtd (started by hand: the lab VM has
# no systemd) with qemu.conf pr_helper pointing at prhelper; a domain whose
# LUN has <reservations managed='yes'/>.  libvirt spawns prhelper itself
# (-k <domain dir>/pr-helper0.sock, its own pidfile, waits for the socket),
# QEMU connects (query-pr-managers says connected), the guest registers
# and fences the host's key through it, and the audit trail names the
# guest.  When the domain stops, libvirt stops prhelper.
. "$(dirname "$0")/lib.sh"
command -v libvirtd >/dev/null || skip "libvirtd is not installed (libvirt-daemon-driver-qemu)"
command -v virsh >/dev/null || skip "virsh is not installed (libvirt-clients)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
[ -n "${LAB_KERNEL:-}" ] && [ -r "$LAB_KERNEL" ] || skip "LAB_KERNEL is not set"
[ -x /bin/busybox ] || skip "busybox-static is not installed"
DOM=prh-lv-guest
AUDIT=$LOGS/audit.jsonl

# The guest's kernel and initramfs (integration/lib.sh).
guest_kernel
build_guest_initrd "$WORK/initrd.cpio"

make_lun fileio it_libvirt 2
# The host's own registration on the second nexus: the guest fences it.
sg_persist -n -o -G -S 0xb2 "${DEVS[1]}" >/dev/null 2>&1 || fail "host REGISTER 0xb2 failed"

# libvirt's configuration (the VM's /etc is a throw-away overlay).  The
# QEMU driver resolves its built-in user before reading qemu.conf, so the
# user libvirt-daemon-system would create must exist (QEMU runs as root).
getent passwd libvirt-qemu >/dev/null ||
    echo "libvirt-qemu:x:64055:64055:libvirt:/var/lib/libvirt:/usr/sbin/nologin" >>/etc/passwd
getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>/etc/group
getent group kvm >/dev/null || echo "kvm:x:64056:" >>/etc/group
mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu \
    /var/log/libvirt/qemu
cat >/etc/libvirt/libvirtd.conf <<CONF
unix_sock_group = "root"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "1:file:$LOGS/libvirtd.log"
log_filters = "1:qemu_process 1:command 3:object 3:util.json"
CONF
# pr_helper is what libvirt runs with "-k SOCKET"; the wrapper adds the
# audit trail so that the test can see which guest did what.
cat >"$WORK/prhelper-wrapper" <<WRAP
#!/bin/sh
echo "\$\$ \$*" >>"$WORK/prhelper-argv"
exec "$PRHELPER" --audit=file:$AUDIT "\$@"
WRAP
chmod +x "$WORK/prhelper-wrapper"
cat >/etc/libvirt/qemu.conf <<CONF
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "file"
pr_helper = "$WORK/prhelper-wrapper"
CONF

libvirtd --pid-file "$WORK/libvirtd.pid" >"$LOGS/libvirtd.out" 2>&1 &
PIDS+=($!)
LIBVIRTD=$!
for _ in $(seq 300); do
    virsh -c qemu:///system version >/dev/null 2>&1 && break
    kill -0 "$LIBVIRTD" 2>/dev/null || fail "libvirtd died: $(tail -5 "$LOGS/libvirtd.out")"
    sleep 0.2
done
virsh -c qemu:///system version >"$LOGS/virsh-version" 2>&1 || fail "libvirtd does not answer: $(tail -5 "$LOGS/libvirtd.out")"
log "$(tr '\n' ' ' <"$LOGS/virsh-version")"
V="virsh -c qemu:///system"

cat >"$LOGS/domain.xml" <<XML
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST_KERNEL</kernel>
    <initrd>$WORK/initrd.cpio</initrd>
    <cmdline>console=ttyS0 panic=-1 no_timer_check printk.time=1 rdinit=/init prh.role=lv</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <disk type='block' device='lun'>
      <driver name='qemu' type='raw'/>
      <source dev='${DEVS[0]}'>
        <reservations managed='yes'/>
      </source>
      <target dev='sda' bus='scsi'/>
    </disk>
    <serial type='file'><source path='$LOGS/guest.log'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
# libvirt's own log of the domain (QEMU's command line and stderr).
on_exit 'cp /var/log/libvirt/qemu/$DOM.log "$LOGS/qemu-$DOM.log" 2>/dev/null'
$V define "$LOGS/domain.xml" >"$LOGS/virsh.log" 2>&1 || fail "virsh define: $(cat "$LOGS/virsh.log")"
$V start "$DOM" >>"$LOGS/virsh.log" 2>&1 || fail "virsh start: $(tail -n 5 "$LOGS/virsh.log" "$LOGS/libvirtd.log")"
guest_started lv "$LOGS/guest.log"

# libvirt spawned prhelper with -k <socket>; QEMU is connected to it.
[ -s "$WORK/prhelper-argv" ] || fail "libvirt did not run pr_helper"
read -r helper_pid helper_args <"$WORK/prhelper-argv"
log "libvirt ran: prhelper $helper_args (pid $helper_pid)"
[[ "$helper_args" =~ ^-k\ (/.*pr-helper0\.sock)$ ]] || fail "unexpected pr_helper arguments: $helper_args"
helper_sock=${BASH_REMATCH[1]}
[ -S "$helper_sock" ] || fail "no socket at $helper_sock"
kill -0 "$helper_pid" 2>/dev/null || fail "prhelper (pid $helper_pid) is not running"
[ "$(readlink /proc/$helper_pid/exe)" = "$(readlink -f "$PRHELPER")" ] || fail "pid $helper_pid is not prhelper"
# libvirt's own PID file for it (libvirt daemonizes it; prhelper gets no -f).
pidfile=$(ls /run/libvirt/qemu/*-"$DOM"-pr-helper0.pid 2>/dev/null | head -1)
[ -n "$pidfile" ] && [ "$(cat "$pidfile")" = "$helper_pid" ] ||
    fail "libvirt's pidfile does not name prhelper: $pidfile $(cat "$pidfile" 2>/dev/null)"
OUT=$($V qemu-monitor-command "$DOM" '{"execute":"query-pr-managers"}' 2>&1)
log "query-pr-managers: $OUT"
grep -q '"id":"pr-helper0"' <<<"$OUT" || fail "no pr-helper0 manager: $OUT"
grep -q '"connected":true' <<<"$OUT" || fail "QEMU is not connected to prhelper: $OUT"

# The guest runs its PR commands and powers off; the domain stops.
wait_guest() {
    for _ in $(seq 900); do
        guest_poll lv
        grep -q PRH-GUEST-DONE "$LOGS/guest.log" 2>/dev/null && break
        state=$($V domstate "$DOM" 2>&1)
        [ "$state" = running ] || break
        sleep 0.5
    done
}
wait_guest
# A kernel booted under two levels of TCG on a loaded host sometimes dies
# before init ("IO-APIC + timer doesn't work"): that is the emulator, not
# what is tested here, so the domain gets one more boot.
if ! grep -q "PRH-GUEST: role" "$LOGS/guest.log" 2>/dev/null; then
    log "the nested guest did not reach init: one more boot ($(grep -a -m1 -i panic "$LOGS/guest.log"))"
    $V destroy "$DOM" >/dev/null 2>&1
    for _ in $(seq 100); do kill -0 "$helper_pid" 2>/dev/null || break; sleep 0.1; done
    : >"$LOGS/guest.log"
    : >"$WORK/prhelper-argv"
    guest_timings lv
    $V start "$DOM" >>"$LOGS/virsh.log" 2>&1 || fail "virsh start (retry): $(tail -n 5 "$LOGS/virsh.log")"
    _GUEST_AT=()
    guest_started lv "$LOGS/guest.log"
    for _ in $(seq 100); do [ -s "$WORK/prhelper-argv" ] && break; sleep 0.1; done
    read -r helper_pid helper_args <"$WORK/prhelper-argv"
    wait_guest
fi
guest_timings lv
qlog=/var/log/libvirt/qemu/$DOM.log
grep PRH- "$LOGS/guest.log"
grep -q "PRH-LV: register rc=0" "$LOGS/guest.log" ||
    fail "guest REGISTER failed (domain $state): $(tail -n 5 "$LOGS/guest.log" "$qlog")"
grep -q "PRH-LV: preempt rc=0" "$LOGS/guest.log" || fail "guest PREEMPT failed"
sg_persist -n -i -k "${DEVS[1]}" >"$LOGS/keys" 2>&1
sg_persist -n -i -k "${DEVS[1]}" >"$LOGS/keys" 2>&1
grep -q 0xc1 "$LOGS/keys" || fail "the guest's key is not on the LUN: $(cat "$LOGS/keys")"
grep -q 0xb2 "$LOGS/keys" && fail "the host's key survived the guest's PREEMPT: $(cat "$LOGS/keys")"

# The audit trail: who fenced whom, from which guest.
grep -q "\"guest\":\"$DOM\"" "$AUDIT" || fail "no record names guest $DOM: $(cat "$AUDIT")"
grep "\"service_action\":\"PREEMPT\"" "$AUDIT" | grep "\"guest\":\"$DOM\"" |
    grep '"sa_key":"0x00000000000000b2"' | grep -q '"result":"ok"' ||
    fail "no PREEMPT of 0xb2 by $DOM in the audit trail: $(cat "$AUDIT")"
grep -q '"exe":"[^"]*qemu-system-x86_64"' "$AUDIT" || fail "the audit trail does not name QEMU: $(cat "$AUDIT")"

# Domain gone: libvirt stops its helper and the socket goes away.
$V destroy "$DOM" >/dev/null 2>&1
for _ in $(seq 100); do kill -0 "$helper_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$helper_pid" 2>/dev/null && fail "prhelper outlived its domain"
$V undefine "$DOM" >/dev/null 2>&1
pass
