#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tcmu_direct_vs_helper.py - the same PR commands sent to a LUN directly
(SG_IO) and through a helper socket (QEMU's path): status and data must
match, byte for byte.

Usage: tcmu_direct_vs_helper.py SOCKET DEV_A DEV_B
Only commands that change nothing are sent (PR IN, and PR OUT that the
LUN refuses), so both runs see the same state.  Prints one line per
command and a summary; exits 1 on the first difference.
"""
import ctypes
import fcntl
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prwire import HelperConnection, basic_params, prin, prout  # noqa: E402

SG_IO = 0x2285
SG_DXFER_NONE, SG_DXFER_TO_DEV, SG_DXFER_FROM_DEV = -1, -2, -3


class SgIoHdr(ctypes.Structure):
    _fields_ = [
        ("interface_id", ctypes.c_int), ("dxfer_direction", ctypes.c_int),
        ("cmd_len", ctypes.c_ubyte), ("mx_sb_len", ctypes.c_ubyte),
        ("iovec_count", ctypes.c_ushort), ("dxfer_len", ctypes.c_uint),
        ("dxferp", ctypes.c_void_p), ("cmdp", ctypes.c_void_p), ("sbp", ctypes.c_void_p),
        ("timeout", ctypes.c_uint), ("flags", ctypes.c_uint), ("pack_id", ctypes.c_int),
        ("usr_ptr", ctypes.c_void_p), ("status", ctypes.c_ubyte),
        ("masked_status", ctypes.c_ubyte), ("msg_status", ctypes.c_ubyte),
        ("sb_len_wr", ctypes.c_ubyte), ("host_status", ctypes.c_ushort),
        ("driver_status", ctypes.c_ushort), ("resid", ctypes.c_int),
        ("duration", ctypes.c_uint), ("info", ctypes.c_uint),
    ]


def sg_io(fd, cdb, data_out=b"", alloc=0):
    """One command on fd: (status, sense bytes, data-in bytes)."""
    cdb = cdb[:10]
    cdb_buf = ctypes.create_string_buffer(bytes(cdb), len(cdb))
    sense = ctypes.create_string_buffer(96)
    h = SgIoHdr()
    h.interface_id = ord("S")
    h.cmd_len = len(cdb)
    h.cmdp = ctypes.addressof(cdb_buf)
    h.mx_sb_len = 96
    h.sbp = ctypes.addressof(sense)
    h.timeout = 30000
    if data_out:
        buf = ctypes.create_string_buffer(bytes(data_out), len(data_out))
        h.dxfer_direction = SG_DXFER_TO_DEV
        h.dxfer_len = len(data_out)
    elif alloc:
        buf = ctypes.create_string_buffer(alloc)
        h.dxfer_direction = SG_DXFER_FROM_DEV
        h.dxfer_len = alloc
    else:
        buf = None
        h.dxfer_direction = SG_DXFER_NONE
    h.dxferp = ctypes.addressof(buf) if buf is not None else None
    fcntl.ioctl(fd, SG_IO, h)
    data = b""
    if h.dxfer_direction == SG_DXFER_FROM_DEV and h.status == 0:
        data = buf.raw[: alloc - h.resid]
    return h.status, sense.raw[: h.sb_len_wr], data


def main():
    sock, dev_a, dev_b = sys.argv[1:4]
    fds = {"A": os.open(dev_a, os.O_RDWR), "B": os.open(dev_b, os.O_RDWR)}
    conns = {"A": HelperConnection(sock), "B": HelperConnection(sock)}
    # Drain unit attentions on both paths first.
    for side in "AB":
        for _ in range(8):
            if sg_io(fds[side], prin(0, 8192), alloc=8192)[0] == 0:
                break
    steps = [
        ("read-keys", prin(0, 8192), b"", 8192),
        ("read-keys alloc 12", prin(0, 12), b"", 12),
        ("read-reservation", prin(1, 8192), b"", 8192),
        ("report-capabilities", prin(2, 8), b"", 8),
        ("read-full-status", prin(3, 8192), b"", 8192),
        ("reserve with an unregistered key", prout(1, 0x01, 24), basic_params(0x7777), 0),
        ("register with a wrong key", prout(0, 0, 24), basic_params(0x7777, 0x1), 0),
    ]
    n = 0
    for side in "AB":
        for name, cdb, params, alloc in steps:
            ds, dsense, ddata = sg_io(fds[side], cdb, params, alloc)
            hs, hsense, hdata = conns[side].request(fds[side], cdb, params)
            line = "%s %-34s direct %02x %s | helper %02x %s" % (
                side, name, ds, ddata.hex() or "-", hs, hdata.hex() or "-")
            print(line, flush=True)
            if ds != hs or ddata != hdata:
                print("DIFFERENT: %s %s" % (side, name))
                return 1
            if ds == 2 and dsense[:14] != hsense[:14]:
                print("DIFFERENT SENSE: %s %s: %s vs %s" % (side, name, dsense.hex(), hsense.hex()))
                return 1
            n += 1
    print("%d commands, identical answers directly and through the helper" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
