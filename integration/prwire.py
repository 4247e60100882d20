#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""prwire.py - a minimal client of the qemu-pr-helper socket protocol.

Used by the integration tests to drive prhelper and the real
qemu-pr-helper with byte-identical requests and compare the replies.
The protocol (shared/docs/wire-protocol.md): the helper sends a BE32
feature word, the client answers 0; a request is a 16-byte CDB carrying
one fd (SCM_RIGHTS) plus, for PR OUT, the parameter list; the reply is
BE32 status, BE32 size, 96 sense bytes, then size data bytes.
"""
import os
import socket
import struct
import sys
import time

SENSE_SIZE = 96


class HelperConnection:
    def __init__(self, path, timeout=30.0, connect_wait=10.0, identity=None):
        """identity: present a stable initiator to prhelper's sim transport by
        binding to the abstract address "\\0prhelper-nexus:NAME" (docs/daemon.md);
        other helpers ignore it."""
        deadline = time.monotonic() + connect_wait
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            if identity:
                self.sock.bind(b"\0prhelper-nexus:" + identity.encode() + b"/%d" % os.getpid())
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError, BlockingIOError):
                # qemu-pr-helper listens with a backlog of 1: retry.
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        features = self._recv_exact(4)
        self.features = struct.unpack(">I", features)[0]
        self.sock.sendall(struct.pack(">I", 0))

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("helper closed the connection")
            buf += chunk
        return buf

    def request(self, fd, cdb, params=b""):
        """Send one request; return (status, sense bytes, data bytes)."""
        cdb16 = bytes(cdb) + bytes(16 - len(cdb))
        self.sock.sendmsg([cdb16], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))])
        if params:
            self.sock.sendall(bytes(params))
        hdr = self._recv_exact(8 + SENSE_SIZE)
        status, size = struct.unpack(">ii", hdr[:8])
        data = self._recv_exact(size) if size else b""
        return status, hdr[8:], data

    def close(self):
        self.sock.close()


def prin(sa, alloc):
    return bytes([0x5E, sa, 0, 0, 0, 0, 0, alloc >> 8, alloc & 0xFF, 0])


def prout(sa, scope_type, plen):
    return bytes([0x5F, sa, scope_type, 0, 0, 0, 0, plen >> 8, plen & 0xFF, 0])


def basic_params(rk=0, sark=0, flags=0):
    return struct.pack(">QQ", rk, sark) + bytes(4) + bytes([flags, 0, 0, 0])


def describe(status, sense, data):
    s = "status=%02x" % status
    if status == 2:
        if sense[0] & 0x7F in (0x70, 0x71):
            s += " sense=%x/%02x/%02x" % (sense[2] & 0xF, sense[12], sense[13])
        else:
            s += " sense=%x/%02x/%02x" % (sense[1] & 0xF, sense[2], sense[3])
    if data:
        s += " data=" + data.hex()
    return s


if __name__ == "__main__":
    # prwire.py SOCKET DEVICE HEXCDB [HEXPARAMS]: one request, reply on stdout.
    if len(sys.argv) < 4:
        sys.exit("usage: prwire.py SOCKET DEVICE HEXCDB [HEXPARAMS]")
    conn = HelperConnection(sys.argv[1])
    cdb = bytes.fromhex(sys.argv[3])
    params = bytes.fromhex(sys.argv[4]) if len(sys.argv) > 4 else b""
    flags = os.O_RDWR if cdb[0] == 0x5F else os.O_RDONLY
    fd = os.open(sys.argv[2], flags)
    print(describe(*conn.request(fd, cdb, params)))
    os.close(fd)
    conn.close()
