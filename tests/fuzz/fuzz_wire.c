/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_wire.c - the wire request parser (prh_wire_rx_step) as the server
 * runs it, over a real Unix socket with real SCM_RIGHTS fds.
 *
 * Input: segments [len][flags][len bytes]; each segment is one sendmsg()
 * carrying (flags & 3) fds (/dev/null) -- so fds arrive at every offset
 * of a frame, several per message, or none.  flags & 4 ends the input
 * with a half-close.  Invariants: a request is only ever READY with a
 * PR IN/OUT opcode, exactly one fd, a transfer length <= 8192 and the
 * PR OUT parameter list complete; every fd received is either handed out
 * with a request or closed (no fd leaks: the process fd count returns to
 * its value before the input).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "prhelper/wire.h"

static int fd_count(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        abort();
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

static struct prh_wire_rx rx;
static int devnull = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];

    if (devnull < 0)
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int baseline = fd_count();
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
    CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0); /* a full buffer ends the input */
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));

    bool half_close = true;
    size_t off = 0;
    while (off + 2 <= size) {
        size_t len = data[off];
        uint8_t flags = data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        int fds[3] = { devnull, devnull, devnull };
        size_t nfds = flags & 3;
        if (len == 0 && nfds == 0)
            continue;
        /* fds need at least one byte: a lone zero byte carries them */
        uint8_t zero = 0;
        const void *p = len ? (const void *)(data + off) : (const void *)&zero;
        ssize_t r = prh_wire_send_fds(sv[1], p, len ? len : 1, fds, nfds);
        if (r < 0)
            break;
        off += len;
        if (flags & 4) {
            half_close = false; /* keep the connection open: parser must say AGAIN */
        }
    }
    if (half_close)
        shutdown(sv[1], SHUT_WR);

    prh_wire_rx_init(&rx);
    for (int steps = 0; steps < 100000; steps++) {
        int r = prh_wire_rx_step(&rx, sv[0]);
        if (r == PRH_WIRE_AGAIN) {
            CHECK(!half_close); /* after EOF the parser never waits */
            break;
        }
        if (r == PRH_WIRE_CLOSED || r < 0) {
            CHECK(r >= PRH_WIRE_E_TOO_LONG || r == PRH_WIRE_CLOSED);
            CHECK(prh_wire_error_str(r) != NULL);
            break;
        }
        CHECK(r == PRH_WIRE_READY);
        if (rx.state == PRH_RX_CDB)
            continue; /* handshake done */
        CHECK(rx.state == PRH_RX_DONE);
        struct prh_request req;
        prh_wire_rx_take(&rx, &req);
        CHECK(req.cdb[0] == 0x5e || req.cdb[0] == 0x5f);
        CHECK(req.fd >= 0);
        CHECK(req.xfer_len <= PRH_WIRE_DATA_SIZE);
        CHECK(req.xfer_len == prh_wire_cdb_xfer_len(req.cdb));
        if (prh_wire_is_pr_out(req.cdb) && req.xfer_len) {
            CHECK(req.params != NULL);
            volatile uint8_t sum = 0;
            for (uint32_t i = 0; i < req.xfer_len; i++)
                sum ^= req.params[i]; /* ASan: the whole list is there */
            (void)sum;
        }
        close(req.fd);
        prh_wire_rx_next(&rx);
    }
    prh_wire_rx_reset(&rx);
    close(sv[0]);
    close(sv[1]);
    CHECK(fd_count() == baseline); /* no fd kept, whatever the input */
    return 0;
}
