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

void prh_wire_rx_init(struct prh_wire_rx *rx)
{
    rx->state = PRH_RX_FEATURES;
    rx->got = 0;
    rx->fd = -1;
    rx->xfer_len = 0;
}

void prh_wire_rx_next(struct prh_wire_rx *rx)
{
    prh_wire_rx_reset(rx);
    rx->state = PRH_RX_CDB;
    rx->got = 0;
    rx->xfer_len = 0;
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
    return rx->state == PRH_RX_PARAMS || rx->state == PRH_RX_DONE ||
           ((rx->state == PRH_RX_CDB || rx->state == PRH_RX_FEATURES) && rx->got > 0);
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

/*
 * One recvmsg() of at most len bytes.  Every fd that arrives is either
 * stored in *fd (the first one, when want_fd and *fd is free) or closed at
 * once; *extra is set when any fd was refused.  Returns the byte count,
 * 0 on EOF, -1 with errno.
 */
static ssize_t recv_collect(int sock, void *buf, size_t len, bool want_fd, int *fd, bool *extra)
{
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
        n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
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
            if (want_fd && *fd < 0) {
                *fd = f;
            } else {
                close(f);
                *extra = true;
            }
        }
    }
    /* The kernel dropped fds that did not fit: that is more than one. */
    if (msg.msg_flags & MSG_CTRUNC)
        *extra = true;
    return n;
}

static int rx_fail(struct prh_wire_rx *rx, int err)
{
    prh_wire_rx_reset(rx);
    return err;
}

int prh_wire_rx_step(struct prh_wire_rx *rx, int sock)
{
    for (;;) {
        uint8_t *dst;
        size_t want;
        bool want_fd = false, extra = false;

        switch (rx->state) {
        case PRH_RX_FEATURES:
            dst = rx->features + rx->got;
            want = PRH_WIRE_FEATURE_SIZE - rx->got;
            break;
        case PRH_RX_CDB:
            dst = rx->cdb + rx->got;
            want = PRH_WIRE_CDB_SIZE - rx->got;
            want_fd = true;
            break;
        case PRH_RX_PARAMS:
            dst = rx->params + rx->got;
            want = rx->xfer_len - rx->got;
            break;
        case PRH_RX_DONE:
        default:
            return PRH_WIRE_READY;
        }

        int fd = rx->fd;
        ssize_t n = recv_collect(sock, dst, want, want_fd, &fd, &extra);
        rx->fd = fd;
        if (extra)
            return rx_fail(rx, PRH_WIRE_E_TOO_MANY_FDS);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return PRH_WIRE_AGAIN;
            return rx_fail(rx, PRH_WIRE_E_IO);
        }
        if (n == 0) {
            if ((rx->state == PRH_RX_CDB || rx->state == PRH_RX_FEATURES) && rx->got == 0 &&
                rx->fd < 0)
                return PRH_WIRE_CLOSED;
            return rx_fail(rx, PRH_WIRE_E_EOF);
        }
        rx->got += (size_t)n;

        switch (rx->state) {
        case PRH_RX_FEATURES:
            if (rx->got < PRH_WIRE_FEATURE_SIZE)
                continue;
            if (scsi_get_be32(rx->features) & ~PRH_WIRE_FEATURES)
                return rx_fail(rx, PRH_WIRE_E_FEATURES);
            rx->state = PRH_RX_CDB;
            rx->got = 0;
            return PRH_WIRE_READY;
        case PRH_RX_CDB: {
            if (rx->got < PRH_WIRE_CDB_SIZE)
                continue;
            if (rx->fd < 0)
                return rx_fail(rx, PRH_WIRE_E_NO_FD);
            int bad = prh_wire_check_cdb(rx->cdb);
            if (bad)
                return rx_fail(rx, bad);
            rx->xfer_len = prh_wire_cdb_xfer_len(rx->cdb);
            rx->got = 0;
            if (prh_wire_is_pr_out(rx->cdb) && rx->xfer_len > 0) {
                rx->state = PRH_RX_PARAMS;
                continue;
            }
            rx->state = PRH_RX_DONE;
            return PRH_WIRE_READY;
        }
        case PRH_RX_PARAMS:
            if (rx->got < rx->xfer_len)
                continue;
            rx->state = PRH_RX_DONE;
            return PRH_WIRE_READY;
        default:
            return PRH_WIRE_READY;
        }
    }
}

void prh_wire_rx_take(struct prh_wire_rx *rx, struct prh_request *req)
{
    memcpy(req->cdb, rx->cdb, sizeof(req->cdb));
    req->fd = rx->fd;
    req->xfer_len = rx->xfer_len;
    req->params = prh_wire_is_pr_out(rx->cdb) ? rx->params : NULL;
    rx->fd = -1;
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

size_t prh_wire_encode_reply(const struct prh_reply *reply, uint8_t *out)
{
    struct prh_wire_reply_header hdr;
    uint32_t len = reply->data_len <= PRH_WIRE_DATA_SIZE ? reply->data_len : PRH_WIRE_DATA_SIZE;

    scsi_put_be32(hdr.result, reply->status);
    scsi_put_be32(hdr.size, len);
    memcpy(hdr.sense, reply->sense, sizeof(hdr.sense));
    memcpy(out, &hdr, sizeof(hdr));
    memcpy(out + sizeof(hdr), reply->data, len);
    return sizeof(hdr) + len;
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
