#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""differential.py - one scripted PR sequence through a helper socket.

Usage: differential.py SOCKET DEV_A DEV_B
DEV_A and DEV_B are two I_T nexuses (two tcm_loop paths) to one fresh LUN.
Prints one line per step: name, status, the 96 sense bytes, the data.
Run it once against qemu-pr-helper and once against prhelper on the same
freshly created LUN, then diff the outputs: every line must be
identical, or the difference is listed in docs/compat.md.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prwire import HelperConnection, basic_params, prin, prout  # noqa: E402

K_A, K_B, K_C = 0x11, 0x22, 0x33


def main():
    sock, dev_a, dev_b = sys.argv[1:4]
    fa = os.open(dev_a, os.O_RDWR)
    fb = os.open(dev_b, os.O_RDWR)
    fa_ro = os.open(dev_a, os.O_RDONLY)
    # With PRH_DIFF_IDENTITIES=1 the two connections present two initiator
    # devices to prhelper's sim transport, as two hosts would.
    named = os.environ.get("PRH_DIFF_IDENTITIES") == "1"
    ca = HelperConnection(sock, identity="host-a" if named else None)
    cb = HelperConnection(sock, identity="host-b" if named else None)

    def step(name, conn, fd, cdb, params=b""):
        status, sense, data = conn.request(fd, cdb, params)
        print("%-34s %02x %s %s" % (name, status, sense.hex(), data.hex() or "-"), flush=True)
        return status, sense, data

    def out(name, conn, fd, sa, scope_type=0, rk=0, sark=0, flags=0):
        return step(name, conn, fd, prout(sa, scope_type, 24), basic_params(rk, sark, flags))

    # The first command through each nexus may meet a unit attention.
    step("A read-keys (first)", ca, fa, prin(0, 8192))
    step("B read-keys (first)", cb, fb, prin(0, 8192))
    step("A read-keys (fresh)", ca, fa, prin(0, 8192))
    # Unregistered, nothing reserved (pr-semantics D8 on LIO).
    out("A reserve unregistered, none", ca, fa, 1, 0x01, rk=0)
    out("A release unregistered, none", ca, fa, 2, 0x01, rk=0)
    out("A clear unregistered, none", ca, fa, 3, rk=0)
    out("A preempt unregistered, none", ca, fa, 4, 0x01, rk=0, sark=0x22)
    out("A register 11", ca, fa, 0, sark=K_A)
    out("B register 22", cb, fb, 0, sark=K_B)
    step("A read-keys", ca, fa, prin(0, 8192))
    step("A read-keys alloc 12", ca, fa, prin(0, 12))
    step("A read-keys alloc 0", ca, fa, prin(0, 0))
    step("B report-capabilities", cb, fb, prin(2, 8))
    step("B report-capabilities alloc 4", cb, fb, prin(2, 4))
    out("A register wrong key", ca, fa, 0, rk=0x99, sark=0x55)
    out("A register-ignore to 11", ca, fa, 6, sark=K_A)
    out("A reserve bad type 2", ca, fa, 1, 0x02, rk=K_A)
    out("A reserve bad scope", ca, fa, 1, 0x15, rk=K_A)
    out("A reserve WE_RO", ca, fa, 1, 0x05, rk=K_A)
    step("B read-reservation", cb, fb, prin(1, 24))
    step("B read-reservation alloc 10", cb, fb, prin(1, 10))
    out("B reserve (conflict)", cb, fb, 1, 0x05, rk=K_B)
    out("A release wrong type", ca, fa, 2, 0x01, rk=K_A)
    out("B release non-holder", cb, fb, 2, 0x05, rk=K_B)
    step("A plist length 16", ca, fa, prout(0, 0, 16), basic_params(0, 0x44)[:16])
    step("A plist length 28", ca, fa, prout(0, 0, 28), basic_params(K_A, 0x44) + bytes(4))
    out("A preempt sark 0", ca, fa, 4, 0x05, rk=K_A, sark=0)
    step("A read-full-status", ca, fa, prin(3, 8192))
    step("A read-full-status alloc 40", ca, fa, prin(3, 40))
    step("A pr-in sa 1f", ca, fa, prin(0x1F, 8192))
    step("A pr-out sa 1f", ca, fa, prout(0x1F, 0, 24), basic_params(K_A))
    out("A replace-lost-reservation", ca, fa, 8, 0x05, sark=K_A)
    step("A pr-out read-only fd", ca, fa_ro, prout(0, 0, 24), basic_params(K_A, 0x55))
    out("B preempt A (WE_RO)", cb, fb, 4, 0x05, rk=K_B, sark=K_A)
    step("A read-keys after preempt", ca, fa, prin(0, 8192))
    step("A read-keys again", ca, fa, prin(0, 8192))
    step("A read-reservation", ca, fa, prin(1, 24))
    out("A reserve unregistered", ca, fa, 1, 0x01, rk=0)
    out("A release unregistered", ca, fa, 2, 0x01, rk=0)
    out("B register-ignore 33", cb, fb, 6, sark=K_C)
    step("B read-reservation new key", cb, fb, prin(1, 24))
    out("B release WE_RO", cb, fb, 2, 0x05, rk=K_C)
    out("A register 11 again", ca, fa, 0, sark=K_A)
    out("A reserve EA", ca, fa, 1, 0x03, rk=K_A)
    status, _, full = step("B read-full-status", cb, fb, prin(3, 8192))
    # REGISTER AND MOVE A's reservation to B's nexus (TransportID and
    # relative port taken from READ FULL STATUS).
    if status == 0 and len(full) >= 8:
        off = 8
        while off + 24 <= len(full):
            key = struct.unpack(">Q", full[off:off + 8])[0]
            tlen = struct.unpack(">I", full[off + 20:off + 24])[0]
            if key == K_C:
                rtpi = full[off + 18:off + 20]
                tid = full[off + 24:off + 24 + tlen]
                plist = struct.pack(">QQ", K_A, 0x77) + bytes([0, 0]) + rtpi + \
                    struct.pack(">I", len(tid)) + tid
                step("A register-and-move to B", ca, fa, prout(7, 0x03, len(plist)), plist)
                break
            off += 24 + tlen
    step("B read-reservation after move", cb, fb, prin(1, 24))
    step("B read-keys after move", cb, fb, prin(0, 8192))
    out("B clear (old key)", cb, fb, 3, rk=K_C)
    out("B clear", cb, fb, 3, rk=0x77)
    step("A read-keys after clear", ca, fa, prin(0, 8192))
    step("A read-keys after clear 2", ca, fa, prin(0, 8192))
    out("A register aptpl", ca, fa, 0, sark=K_A, flags=0x01)
    step("A report-capabilities aptpl", ca, fa, prin(2, 8))
    out("A unregister", ca, fa, 0, rk=K_A, sark=0)
    step("A read-keys end", ca, fa, prin(0, 8192))
    ca.close()
    cb.close()


if __name__ == "__main__":
    main()
