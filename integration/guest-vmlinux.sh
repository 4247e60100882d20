#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# guest-vmlinux.sh BZIMAGE OUT: write the uncompressed vmlinux inside a
# bzImage (its xz payload; Debian's kernels are xz-compressed and have
# CONFIG_PVH, so QEMU's -kernel boots the ELF through its PVH entry) to OUT.
# The nested guests of the integration tests boot it: it saves each guest
# the bzImage's self-decompression, about a minute under two levels of TCG.
# scripts/integration runs this on the host (a second); lib.sh's
# guest_kernel falls back to it inside the lab VM (about a minute there).
# Exit 0 with OUT written, 1 when BZIMAGE holds no xz-compressed ELF.
set -uo pipefail
in=$1 out=$2
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$in" 2>/dev/null | head -1 | cut -d: -f1)
[ -n "$off" ] || { echo "guest-vmlinux.sh: no xz payload in $in" >&2; exit 1; }
# xz stops at the end of its stream and complains about the rest of the
# bzImage: its exit status says nothing, the ELF header does.
tail -c +$((off + 1)) "$in" | xz -dc 2>/dev/null >"$out.tmp.$$"
if [ "$(head -c 4 "$out.tmp.$$" | od -An -c | tr -d ' ')" != '177ELF' ]; then
    rm -f "$out.tmp.$$"
    echo "guest-vmlinux.sh: the xz payload of $in is not an ELF vmlinux" >&2
    exit 1
fi
mv "$out.tmp.$$" "$out"
