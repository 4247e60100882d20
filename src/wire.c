/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.c - qemu-pr-helper framing: handshake, requests, replies. */
#include "prhelper/wire.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "prhelper/scsi.h"

/* Room for the most fds one message can carry (the kernel's SCM_MAX_FD). */
#define PRH_WIRE_MAX_FDS_PER_MSG 253

void prh_wire_frame_init(struct prh_wire_frame *f)
{
    memset(f, 0, sizeof(*f));
    f->state = PRH_RX_FEATURES;
    f->got = 0;
    f->fd = -1;
    f->fd_lost = false;
    f->xfer_len = 0;
}

void prh_wire_frame_next(struct prh_wire_frame *f)
{
    prh_wire_frame_reset(f);
    f->state = PRH_RX_CDB;
    f->got = 0;
    f->fd_lost = false;
    f->xfer_len = 0;
}

void prh_wire_frame_reset(struct prh_wire_frame *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
}

bool prh_wire_frame_mid(const struct prh_wire_frame *f)
{
    return f->state == PRH_RX_PARAMS || f->state == PRH_RX_DONE ||
           ((f->state == PRH_RX_CDB || f->state == PRH_RX_FEATURES) && f->got > 0);
}

uint32_t prh_wire_cdb_xfer_len(const uint8_t cdb[PRH_WIRE_CDB_SIZE])
{
    /* Group 2 CDB (opcode >> 5 == 2): bytes 7-8, for PR IN and PR OUT. */
    return scsi_get_be16(cdb + 7);
}

int prh_wire_check_cdb(const uint8_t cdb[PRH_WIRE_CDB_SIZE])
{
    if (cdb[0] != SCSI_OP_PERSISTENT_RESERVE_IN && cdb[0] != SCSI_OP_PERSISTENT_RESERVE_OUT)
        return PRH_WIRE_E_BAD_OPCODE;
    if (prh_wire_cdb_xfer_len(cdb) > PRH_WIRE_DATA_SIZE)
        return PRH_WIRE_E_TOO_LONG;
    return 0;
}

const char *prh_wire_error_str(int err)
{
    switch (err) {
    case PRH_WIRE_E_IO:
        return "Error reading from socket";
    case PRH_WIRE_E_EOF:
        return "Unexpected end-of-file before all data were read";
    case PRH_WIRE_E_FEATURES:
        return "Unsupported features requested by the client";
    case PRH_WIRE_E_NO_FD:
        return "No file descriptor in request.";
    case PRH_WIRE_E_TOO_MANY_FDS:
        return "Too many file descriptors in request.";
    case PRH_WIRE_E_BAD_OPCODE:
        return "Invalid CDB, closing socket.";
    case PRH_WIRE_E_TOO_LONG:
        return "Transfer length exceeds 8192 bytes, closing socket.";
    default:
        return "Unknown protocol error";
    }
}

int prh_wire_error_verbosity(int err, int rx_state)
{
    /* qemu-pr-helper reads the feature word and the CDB without an error
     * object: a bad word, EOF or a read error there closes silently.  The
     * other errors it reports at its default verbosity. */
    if (err == PRH_WIRE_E_FEATURES)
        return 2;
    if ((err == PRH_WIRE_E_EOF || err == PRH_WIRE_E_IO) &&
        (rx_state == PRH_RX_FEATURES || rx_state == PRH_RX_CDB))
        return 2;
    return 1;
}

/*
 * One recvmsg() of at most len bytes.  Every fd that arrives is either
 * stored in *fd (the first one, when want_fd and *fd is free) or closed at
 * once; *extra is set when any fd was refused.  *lost is set when the
 * kernel truncated the fds (MSG_CTRUNC) without delivering any while one
 * was wanted: the control buffer holds SCM_MAX_FD, so that means this
 * process's fd table is full (net/core/scm.c stops at the first fd it
 * cannot install), not that the client sent too many.  Returns the byte
 * count, 0 on EOF, -1 with errno.
 */
static ssize_t recv_collect(int sock, void *buf, size_t len, bool wait, bool want_fd, int *fd,
                            bool *extra, bool *lost)
{
    size_t delivered = 0;
    union {
        char buf[CMSG_SPACE(PRH_WIRE_MAX_FDS_PER_MSG * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    ssize_t n;

    do {
        n = recvmsg(sock, &msg, (wait ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(c);
        for (size_t i = 0; i < nfds; i++) {
            int f;
            memcpy(&f, data + i * sizeof(int), sizeof(int));
            delivered++;
            if (want_fd && *fd < 0) {
                *fd = f;
            } else {
                close(f);
                *extra = true;
            }
        }
    }
    /* The kernel dropped fds: with one delivered (or none wanted) the
     * client sent more than one; with none, we had no room for it. */
    if (msg.msg_flags & MSG_CTRUNC) {
        if (want_fd && *fd < 0 && delivered == 0)
            *lost = true;
        else
            *extra = true;
    }
    return n;
}

static int frame_fail(struct prh_wire_frame *f, int err)
{
    prh_wire_frame_reset(f);
    return err;
}

static int frame_step(struct prh_wire_frame *f, int sock, uint8_t *params, bool wait)
{
    wait = wait && f->state == PRH_RX_CDB && f->got == 0 && f->fd < 0 && !f->fd_lost;
    for (;; wait = false) {
        uint8_t *dst;
        size_t want;
        bool want_fd = false, extra = false, lost = false;

        switch (f->state) {
        case PRH_RX_FEATURES:
            dst = f->features + f->got;
            want = PRH_WIRE_FEATURE_SIZE - f->got;
            break;
        case PRH_RX_CDB:
            dst = f->cdb + f->got;
            want = PRH_WIRE_CDB_SIZE - f->got;
            want_fd = !f->fd_lost;
            break;
        case PRH_RX_PARAMS:
            dst = params + f->got;
            want = f->xfer_len - f->got;
            break;
        case PRH_RX_DONE:
        default:
            return PRH_WIRE_READY;
        }

        int fd = f->fd;
        ssize_t n = recv_collect(sock, dst, want, wait, want_fd, &fd, &extra, &lost);
        f->fd = fd;
        /* qemu-pr-helper collects fds only while it reads a CDB; those that
         * come with the feature word or a parameter list are dropped by
         * the kernel there (no control buffer) and the frame goes on
         * (wire-protocol.md 3.3).  recv_collect() closed them. */
        if (extra && f->state == PRH_RX_CDB)
            return frame_fail(f, PRH_WIRE_E_TOO_MANY_FDS);
        if (lost)
            f->fd_lost = true;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return PRH_WIRE_AGAIN;
            return frame_fail(f, PRH_WIRE_E_IO);
        }
        if (n == 0) {
            if ((f->state == PRH_RX_CDB || f->state == PRH_RX_FEATURES) && f->got == 0 &&
                f->fd < 0 && !f->fd_lost)
                return PRH_WIRE_CLOSED;
            return frame_fail(f, PRH_WIRE_E_EOF);
        }
        f->got = (uint16_t)(f->got + (size_t)n);

        switch (f->state) {
        case PRH_RX_FEATURES:
            if (f->got < PRH_WIRE_FEATURE_SIZE)
                continue;
            if (scsi_get_be32(f->features) & ~PRH_WIRE_FEATURES)
                return frame_fail(f, PRH_WIRE_E_FEATURES);
            f->state = PRH_RX_CDB;
            f->got = 0;
            return PRH_WIRE_READY;
        case PRH_RX_CDB: {
            if (f->got < PRH_WIRE_CDB_SIZE)
                continue;
            if (f->fd < 0 && !f->fd_lost)
                return frame_fail(f, PRH_WIRE_E_NO_FD);
            int bad = prh_wire_check_cdb(f->cdb);
            if (bad)
                return frame_fail(f, bad);
            f->xfer_len = prh_wire_cdb_xfer_len(f->cdb);
            f->got = 0;
            if (prh_wire_is_pr_out(f->cdb) && f->xfer_len > 0) {
                f->state = PRH_RX_PARAMS;
                continue;
            }
            f->state = PRH_RX_DONE;
            return PRH_WIRE_READY;
        }
        case PRH_RX_PARAMS:
            if (f->got < f->xfer_len)
                continue;
            f->state = PRH_RX_DONE;
            return PRH_WIRE_READY;
        default:
            return PRH_WIRE_READY;
        }
    }
}

int prh_wire_frame_step(struct prh_wire_frame *f, int sock, uint8_t *params)
{
    return frame_step(f, sock, params, false);
}

int prh_wire_frame_step_wait(struct prh_wire_frame *f, int sock, uint8_t *params)
{
    return frame_step(f, sock, params, true);
}

void prh_wire_frame_take(struct prh_wire_frame *f, const uint8_t *params,
                         struct prh_request *req)
{
    memcpy(req->cdb, f->cdb, sizeof(req->cdb));
    req->fd = f->fd;
    req->xfer_len = f->xfer_len;
    req->params = prh_wire_is_pr_out(f->cdb) ? params : NULL;
    f->fd = -1;
}

/* ---- struct prh_wire_rx: a frame and its buffer --------------------------- */

static void rx_to_frame(const struct prh_wire_rx *rx, struct prh_wire_frame *f)
{
    f->state = (uint8_t)rx->state;
    f->fd_lost = rx->fd_lost;
    f->got = (uint16_t)rx->got;
    memcpy(f->features, rx->features, sizeof(f->features));
    memcpy(f->cdb, rx->cdb, sizeof(f->cdb));
    f->fd = rx->fd;
    f->xfer_len = rx->xfer_len;
}

static void frame_to_rx(const struct prh_wire_frame *f, struct prh_wire_rx *rx)
{
    rx->state = (enum prh_wire_rx_state)f->state;
    rx->fd_lost = f->fd_lost;
    rx->got = f->got;
    memcpy(rx->features, f->features, sizeof(f->features));
    memcpy(rx->cdb, f->cdb, sizeof(f->cdb));
    rx->fd = f->fd;
    rx->xfer_len = f->xfer_len;
}

void prh_wire_rx_init(struct prh_wire_rx *rx)
{
    struct prh_wire_frame f;

    prh_wire_frame_init(&f);
    frame_to_rx(&f, rx);
}

void prh_wire_rx_next(struct prh_wire_rx *rx)
{
    struct prh_wire_frame f;

    rx_to_frame(rx, &f);
    prh_wire_frame_next(&f);
    frame_to_rx(&f, rx);
}

void prh_wire_rx_reset(struct prh_wire_rx *rx)
{
    if (rx->fd >= 0) {
        close(rx->fd);
        rx->fd = -1;
    }
}

bool prh_wire_rx_mid_frame(const struct prh_wire_rx *rx)
{
    struct prh_wire_frame f;

    rx_to_frame(rx, &f);
    return prh_wire_frame_mid(&f);
}

int prh_wire_rx_step(struct prh_wire_rx *rx, int sock)
{
    struct prh_wire_frame f;

    rx_to_frame(rx, &f);
    int r = prh_wire_frame_step(&f, sock, rx->params);
    frame_to_rx(&f, rx);
    return r;
}

void prh_wire_rx_take(struct prh_wire_rx *rx, struct prh_request *req)
{
    struct prh_wire_frame f;

    rx_to_frame(rx, &f);
    prh_wire_frame_take(&f, rx->params, req);
    frame_to_rx(&f, rx);
}

void prh_wire_encode_features(uint8_t out[PRH_WIRE_FEATURE_SIZE], uint32_t features)
{
    scsi_put_be32(out, features);
}

void prh_reply_init(struct prh_reply *reply)
{
    reply->status = SCSI_STATUS_GOOD;
    memset(reply->sense, 0, sizeof(reply->sense));
    reply->data_len = 0;
}

size_t prh_wire_encode_reply_header(const struct prh_reply *reply,
                                    uint8_t hdr[PRH_WIRE_REPLY_HEADER_SIZE])
{
    struct prh_wire_reply_header h;
    uint32_t len = reply->data_len <= PRH_WIRE_DATA_SIZE ? reply->data_len : PRH_WIRE_DATA_SIZE;

    scsi_put_be32(h.result, reply->status);
    scsi_put_be32(h.size, len);
    memcpy(h.sense, reply->sense, sizeof(h.sense));
    memcpy(hdr, &h, sizeof(h));
    return sizeof(h) + len;
}

int prh_wire_send_reply(int sock, const uint8_t hdr[PRH_WIRE_REPLY_HEADER_SIZE],
                        const uint8_t *data, size_t total, size_t *off)
{
    while (*off < total) {
        struct iovec iov[2];
        struct msghdr msg = { .msg_iov = iov };
        size_t o = *off;
        if (o < PRH_WIRE_REPLY_HEADER_SIZE) {
            iov[0].iov_base = (void *)(hdr + o);
            iov[0].iov_len = PRH_WIRE_REPLY_HEADER_SIZE - o;
            iov[1].iov_base = (void *)data;
            iov[1].iov_len = total - PRH_WIRE_REPLY_HEADER_SIZE;
            msg.msg_iovlen = iov[1].iov_len ? 2 : 1;
        } else {
            iov[0].iov_base = (void *)(data + (o - PRH_WIRE_REPLY_HEADER_SIZE));
            iov[0].iov_len = total - o;
            msg.msg_iovlen = 1;
        }
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        *off += (size_t)n;
    }
    return 1;
}

size_t prh_wire_encode_reply(const struct prh_reply *reply, uint8_t *out)
{
    size_t total = prh_wire_encode_reply_header(reply, out);

    memcpy(out + PRH_WIRE_REPLY_HEADER_SIZE, reply->data, total - PRH_WIRE_REPLY_HEADER_SIZE);
    return total;
}

bool prh_wire_decode_reply_header(const uint8_t *in, struct prh_reply *reply)
{
    const struct prh_wire_reply_header *hdr = (const void *)in;
    uint32_t status = scsi_get_be32(hdr->result);
    uint32_t size = scsi_get_be32(hdr->size);

    if (status > 0xff || size > PRH_WIRE_DATA_SIZE)
        return false;
    reply->status = (uint8_t)status;
    reply->data_len = size;
    memcpy(reply->sense, hdr->sense, sizeof(reply->sense));
    return true;
}

/* ---- blocking helpers ---------------------------------------------------- */

ssize_t prh_wire_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
    union {
        char buf[CMSG_SPACE(PRH_WIRE_MAX_FDS_PER_MSG * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    if (nfds > PRH_WIRE_MAX_FDS_PER_MSG)
        return -EINVAL;
    if (nfds > 0) {
        memset(control.buf, 0, sizeof(control.buf));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if ((size_t)n < len) {
        int r = prh_wire_write_all(sock, (const uint8_t *)buf + n, len - (size_t)n);
        if (r < 0)
            return r;
    }
    return (ssize_t)len;
}

int prh_wire_write_all(int sock, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = send(sock, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int prh_wire_read_all(int sock, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = recv(sock, p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int prh_wire_client_handshake(int sock, uint32_t *helper_features)
{
    uint8_t word[PRH_WIRE_FEATURE_SIZE];
    int r = prh_wire_read_all(sock, word, sizeof(word));

    if (r < 0)
        return r;
    if (helper_features)
        *helper_features = scsi_get_be32(word);
    prh_wire_encode_features(word, 0);
    return prh_wire_write_all(sock, word, sizeof(word));
}

int prh_wire_client_send(int sock, const uint8_t *cdb, size_t cdb_len, int fd,
                         const uint8_t *params, size_t params_len)
{
    uint8_t full[PRH_WIRE_CDB_SIZE] = { 0 };
    ssize_t n;

    if (cdb_len == 0 || cdb_len > PRH_WIRE_CDB_SIZE || params_len > PRH_WIRE_DATA_SIZE)
        return -EINVAL;
    memcpy(full, cdb, cdb_len);
    n = prh_wire_send_fds(sock, full, sizeof(full), &fd, fd >= 0 ? 1 : 0);
    if (n < 0)
        return (int)n;
    if (params_len > 0)
        return prh_wire_write_all(sock, params, params_len);
    return 0;
}

int prh_wire_client_recv(int sock, struct prh_reply *reply)
{
    uint8_t hdr[PRH_WIRE_REPLY_HEADER_SIZE];
    int r = prh_wire_read_all(sock, hdr, sizeof(hdr));

    if (r < 0)
        return r;
    if (!prh_wire_decode_reply_header(hdr, reply))
        return -EPROTO;
    if (reply->data_len > 0)
        return prh_wire_read_all(sock, reply->data, reply->data_len);
    return 0;
}
