#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# multipathd kept informed (issue #14, docs/mpath.md), with the real
# multipathd of the host's multipath-tools (Debian 12: 0.9.4) in the
# foreground, configured with "reservation_key file" as KubeVirt does.
# multipathd uses only devices udev has initialised: the lab has no udev,
# so systemd-udevd is started here (and stopped at the end).  One LIO LUN behind three tcm_loop paths;
# multipathd builds the map; the third path is taken out of it first.
# prhelper (default transport) registers 0xa through the map: multipathd
# then knows the key (getprkey, /etc/multipath/prkeys) and that the map is
# registered (getprstatus), and mpathpersist reads the same keys through
# the map.  The third path is added back ("multipathd add path"):
# multipathd registers the key on it by itself.  Unregistering through
# prhelper makes multipathd forget the key.  prhelper runs under its
# default seccomp filter and Landlock (expect_sandboxed).
# Takes about 75 s in the TCG lab VM (measured 74 s); up to ~4 minutes
# when udev has many disks of earlier tests to settle (214 s on 2026-12-06
# after seven other tests in the same VM: "Timed out for waiting the udev
# queue being empty").
. "$(dirname "$0")/lib.sh"
sock=$WORK/prh.sock
command -v multipathd >/dev/null && command -v mpathpersist >/dev/null ||
    skip "multipath-tools is not installed (multipathd, mpathpersist)"
modprobe dm_multipath 2>/dev/null || skip "no dm_multipath module"
make_lun fileio it_mpd 3
p0=${DEVS[0]} p1=${DEVS[1]} p2=${DEVS[2]}
n2=${p2#/dev/}

mkdir -p /etc/multipath
cat >/etc/multipath.conf <<'EOC'
defaults {
	user_friendly_names no
	find_multipaths no
	reservation_key file
}
blacklist {
	devnode "^(ram|loop|fd|md|dm-|sr|scd|st|vd)"
}
EOC
: >/etc/multipath/prkeys
[ -x /lib/systemd/systemd-udevd ] || skip "no systemd-udevd (multipathd needs udev's device database)"
/lib/systemd/systemd-udevd --daemon >"$LOGS/udevd.log" 2>&1 || fail "systemd-udevd did not start"
udevadm trigger --action=add >/dev/null 2>&1
timeout 60 udevadm settle -t 50
multipathd -d -s -v3 >"$LOGS/multipathd.log" 2>&1 &
MPD=$!
stop_multipathd() {
    kill "$MPD" 2>/dev/null
    wait "$MPD" 2>/dev/null
    udevadm control --exit 2>/dev/null
    local m
    for m in $(DM_DISABLE_UDEV=1 dmsetup ls --target multipath 2>/dev/null | awk '{print $1}'); do
        DM_DISABLE_UDEV=1 dmsetup remove --force "$m" 2>/dev/null
    done
}
trap 'stop_multipathd; mpath_cleanup' EXIT
mpd() { timeout 30 multipathd "$@" 2>&1; }

# The map multipathd builds over our three paths (other tests' LUNs may
# still be there and get maps too).
m=
wwid_map() {
    local x d
    for x in $(DM_DISABLE_UDEV=1 dmsetup ls --target multipath 2>/dev/null | awk '{print $1}'); do
        d=$(basename "$(readlink -f "/dev/mapper/$x")")
        [ -e "/sys/block/$d/slaves/${p0#/dev/}" ] && echo "$x" && return
    done
}
for i in $(seq 120); do
    m=$(wwid_map)
    [ -n "$m" ] && [ -b "/dev/mapper/$m" ] && break
    kill -0 "$MPD" 2>/dev/null || fail "multipathd exited: $(tail -5 "$LOGS/multipathd.log")"
    sleep 0.5
done
[ -n "$m" ] && [ -b "/dev/mapper/$m" ] || fail "multipathd built no map: $(mpd show paths)"
map=/dev/mapper/$m
dm=$(basename "$(readlink -f "$map")")
log "multipathd's map $m ($dm): $(ls "/sys/block/$dm/slaves" | tr '\n' ' ')"
slaves() { ls "/sys/block/$dm/slaves" | wc -l; }
# The third path leaves the map.
mpd del path "$n2" >/dev/null
for i in $(seq 60); do [ "$(slaves)" = 2 ] && break; sleep 0.5; done
[ "$(slaves)" = 2 ] || fail "multipathd did not take $n2 out of $m: $(ls /sys/block/$dm/slaves)"

start_prhelper "$sock" -v
drain "$sock" "$map"
expect 0 "$sock" "$map" register 0xa
[ "$(keys_on "$p2" | grep -cx 0xa)" = 2 ] || fail "0xa not on the map's two paths: $(keys_on "$p2" | tr '\n' ' ')"
# What multipathd knows now.
out=$(mpd getprkey map "$m")
log "getprkey: $out"
grep -qi '^0xa\b' <<<"$out" || fail "multipathd's key for $m is not 0xa: $out"
grep -qiE '^0x0*a[[:space:]]' /etc/multipath/prkeys || fail "/etc/multipath/prkeys has no 0xa: $(cat /etc/multipath/prkeys)"
out=$(mpd getprstatus map "$m")
log "getprstatus: $out"
grep -qi '^\(1\|registered\)' <<<"$out" || fail "multipathd does not know $m is registered: $out"
# libmpathpersist reads the same registrations through the map.
out=$(timeout 60 mpathpersist -i -k -d "$map" 2>&1)
log "mpathpersist: $(tr '\n' ' ' <<<"$out")"
[ "$(grep -ci '0xa$' <<<"$out")" = 2 ] || fail "mpathpersist does not show 0xa twice: $out"

# A path added later gets the key from multipathd.
mpd add path "$n2" >/dev/null
for i in $(seq 120); do
    [ "$(keys_on "$p0" | grep -cx 0xa)" = 3 ] && break
    sleep 0.5
done
[ "$(slaves)" = 3 ] || fail "multipathd did not add $n2 back to $m"
[ "$(keys_on "$p0" | grep -cx 0xa)" = 3 ] ||
    fail "multipathd did not register 0xa on the added path: $(keys_on "$p0" | tr '\n' ' ')"

# prhelper unregisters (every path, the added one too): multipathd forgets.
expect 0 "$sock" "$map" --key=0xa unregister
[ -z "$(keys_on "$p0")" ] || fail "keys left after unregister: $(keys_on "$p0" | tr '\n' ' ')"
out=$(mpd getprkey map "$m")
grep -qi '^none' <<<"$out" || fail "multipathd still has a key for $m: $out"
grep -q 'multipathd' "$LOGS/prhelper.log" && log "prhelper: $(grep multipathd "$LOGS/prhelper.log" | tr '\n' ' ')"
expect_sandboxed sg
pass
