/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport.c - the transport registry, the single outcome -> wire
 * mapping, and the generic request path every transport shares.
 */
#include "prhelper/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const struct prh_transport *const registry[] = {
    &prh_transport_sg,
    &prh_transport_mpath,
    &prh_transport_sim,
    NULL,
};

const struct prh_transport *const *prh_transport_list(void)
{
    return registry;
}

const struct prh_transport *prh_transport_find(const char *name)
{
    for (size_t i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

bool prh_transport_nexus_may_block(const struct prh_transport *t)
{
    /* A transport built before the member existed is shorter. */
    if (t->struct_size < offsetof(struct prh_transport, nexus_never_blocks) + sizeof(t->nexus_never_blocks))
        return true;
    return !t->nexus_never_blocks;
}

/* wire-protocol.md 5.3 table 1: errno of a failed pass-through. */
static void errno_to_reply(int err, struct prh_reply *reply)
{
    struct scsi_sense s;

    switch (err) {
    case EDOM:
        reply->status = SCSI_STATUS_TASK_SET_FULL;
        return;
    case EBADE:
        reply->status = SCSI_STATUS_RESERVATION_CONFLICT;
        return;
    case ENODEV:
    case EREMOTEIO:
    case ENOMEM:
        s = SENSE_INTERNAL_TARGET_FAILURE;
        break;
    case ENODATA:
        s = SCSI_SENSE_CODE(SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00);
        break;
    case ENOMEDIUM:
        s = SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x3a, 0x00);
        break;
    case EINVAL:
        s = SENSE_INVALID_FIELD_IN_CDB;
        break;
    case ENOSPC:
        s = SCSI_SENSE_CODE(SCSI_SENSE_DATA_PROTECT, 0x27, 0x07);
        break;
    default:
        s = SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06);
        break;
    }
    reply->status = SCSI_STATUS_CHECK_CONDITION;
    scsi_sense_build_fixed(reply->sense, sizeof(reply->sense), s);
}

void prh_result_to_reply(const struct prh_result *res, const struct prh_request *req,
                         struct prh_reply *reply)
{
    memset(reply->sense, 0, sizeof(reply->sense));
    reply->data_len = 0;
    switch (res->kind) {
    case PRH_RESULT_STATUS:
        reply->status = res->status;
        break;
    case PRH_RESULT_SENSE:
        reply->status = SCSI_STATUS_CHECK_CONDITION;
        scsi_sense_build_fixed(reply->sense, sizeof(reply->sense), res->sense);
        break;
    case PRH_RESULT_RAW_SENSE: {
        size_t n = res->raw_sense_len < sizeof(reply->sense) ? res->raw_sense_len
                                                              : sizeof(reply->sense);
        reply->status = res->status;
        memcpy(reply->sense, res->raw_sense, n);
        break;
    }
    case PRH_RESULT_DISCONNECT: /* nothing is sent; the status is for the trace */
        reply->status = SCSI_STATUS_GOOD;
        return;
    case PRH_RESULT_ERRNO:
    default:
        errno_to_reply(res->kind == PRH_RESULT_ERRNO ? res->err : EIO, reply);
        break;
    }
    /* Data only for PR IN + GOOD, never beyond the allocation length:
     * QEMU asserts both. */
    if (reply->status == SCSI_STATUS_GOOD && !prh_wire_is_pr_out(req->cdb)) {
        uint32_t n = res->data_len;
        if (n > req->xfer_len)
            n = req->xfer_len;
        reply->data_len = n;
    }
}

void prh_lun_id_of_stat(const struct stat *st, char *buf, size_t len)
{
    if (S_ISBLK(st->st_mode))
        snprintf(buf, len, "blk-%u-%u", major(st->st_rdev), minor(st->st_rdev));
    else if (S_ISCHR(st->st_mode))
        snprintf(buf, len, "chr-%u-%u", major(st->st_rdev), minor(st->st_rdev));
    else
        snprintf(buf, len, "file-%llx-%llu", (unsigned long long)st->st_dev,
                 (unsigned long long)st->st_ino);
}

int prh_fstat_fd(int fd, struct stat *st)
{
#if defined(__x86_64__) && !defined(__ILP32__) && defined(SYS_fstat)
    /* The kernel's struct stat is glibc's on x86-64 (not on i386/x32). */
    return syscall(SYS_fstat, fd, st) < 0 ? -errno : 0;
#else
    return fstat(fd, st) < 0 ? -errno : 0;
#endif
}

int prh_lun_id_of_fd(int fd, char *buf, size_t len)
{
    struct stat sb;
    int r = prh_fstat_fd(fd, &sb);

    if (r < 0)
        return r;
    prh_lun_id_of_stat(&sb, buf, len);
    return 0;
}

void prh_transport_execute(const struct prh_transport *t, void *state, void *nexus,
                           const struct prh_request *req, struct prh_reply *reply)
{
    prh_transport_execute_ex(t, state, nexus, req, reply, NULL);
}

void prh_transport_execute_ex(const struct prh_transport *t, void *state, void *nexus,
                              const struct prh_request *req, struct prh_reply *reply,
                              struct prh_exec_info *info)
{
    struct stat sb;
    int r = prh_fstat_fd(req->fd, &sb);
    if (r < 0)
        prh_transport_execute_st(t, state, nexus, req, NULL, -r, reply, info);
    else
        prh_transport_execute_st(t, state, nexus, req, &sb, 0, reply, info);
}

void prh_transport_execute_st(const struct prh_transport *t, void *state, void *nexus,
                              const struct prh_request *req, const struct stat *st,
                              int stat_err, struct prh_reply *reply,
                              struct prh_exec_info *info)
{
    struct prh_result res = prh_result_status(SCSI_STATUS_GOOD);
    void *dev = NULL;

    if (info) {
        memset(info, 0, sizeof(*info));
        if (st)
            prh_lun_id_of_stat(st, info->lun, sizeof(info->lun));
    }
    if (!st) {
        res = prh_result_errno(stat_err != 0 ? stat_err : EBADF);
        goto out;
    }
    if (prh_wire_is_pr_out(req->cdb)) {
        int flags = fcntl(req->fd, F_GETFL);
        if (flags < 0) {
            res = prh_result_errno(errno);
            goto out;
        }
        if ((flags & O_ACCMODE) == O_RDONLY) {
            res = prh_result_sense(SENSE_INVALID_OPCODE);
            goto out;
        }
    }
    if (t->open(state, nexus, req->fd, st, &dev, &res) < 0)
        goto out;
    if (info && t->generation)
        info->gen_known_before = t->generation(state, nexus, dev, &info->gen_before);
    if (prh_wire_is_pr_out(req->cdb))
        t->pr_out(state, nexus, dev, req, &res);
    else
        t->pr_in(state, nexus, dev, req, reply->data, sizeof(reply->data), &res);
    if (info && t->generation)
        info->gen_known_after = t->generation(state, nexus, dev, &info->gen_after);
    t->close(state, nexus, dev);
out:
    if (info && res.kind == PRH_RESULT_DISCONNECT)
        info->disconnect = true;
    prh_result_to_reply(&res, req, reply);
}

bool prh_peer_facts_current(int pidfd, int sock)
{
    struct pollfd p = { .fd = pidfd >= 0 ? pidfd : sock,
                        .events = pidfd >= 0 ? POLLIN : POLLRDHUP };

    if (p.fd < 0)
        return true; /* nothing to check with */
    if (poll(&p, 1, 0) < 0)
        return false;
    if (pidfd >= 0)
        return !(p.revents & (POLLIN | POLLHUP | POLLERR)); /* readable: exited */
    return !(p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

bool prh_peer_current(const struct prh_peer *peer)
{
    if (peer->exited)
        return false;
    return prh_peer_facts_current(peer->has_pidfd ? peer->pidfd : -1,
                                  peer->has_sock ? peer->sock : -1);
}
