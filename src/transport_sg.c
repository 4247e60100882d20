/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_sg.c - the "sg" transport: SG_IO on the fd the client passed.
 *
 * Every connection is the host's own I_T nexus to the device, so the
 * transport keeps no per-nexus state: the device identifies the initiator
 * by the path the command takes.  The CDB goes to the device verbatim
 * (qemu-pr-helper does not validate service actions either); the outcome
 * is mapped by prh_sg_result_from_hdr() and prh_result_to_reply().
 */
#include "prhelper/transport_sg.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "prhelper/log.h"
#include "prhelper/transport_mpath.h"

static int system_sg_io(int fd, struct sg_io_hdr *hdr)
{
    return ioctl(fd, SG_IO, hdr);
}

const struct prh_sg_ops prh_sg_system_ops = {
    .sg_io = system_sg_io,
};

static const struct prh_sg_ops *sg_ops = &prh_sg_system_ops;

void prh_sg_set_ops(const struct prh_sg_ops *ops)
{
    sg_ops = ops != NULL ? ops : &prh_sg_system_ops;
}

int prh_sg_check_fd(const struct stat *st)
{
    if (S_ISBLK(st->st_mode))
        return 0;
    if (S_ISCHR(st->st_mode) && major(st->st_rdev) == PRH_SCSI_GENERIC_MAJOR)
        return 0;
    /* Not a SCSI device: SG_IO is not even tried (an ioctl number means
     * something else to other drivers).  qemu-pr-helper's SG_IO fails
     * with ENOTTY here, so the client sees the same answer. */
    return -ENOTTY;
}

/* wire-protocol.md 5.3 step 2: the host byte (QEMU scsi_sense_from_host_status). */
static bool host_status_result(uint16_t host, struct prh_result *res)
{
    switch (host) {
    case PRH_DID_OK:
        return false;
    case PRH_DID_NO_CONNECT:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x05, 0x00));
        return true;
    case PRH_DID_BUS_BUSY:
        *res = prh_result_status(SCSI_STATUS_BUSY);
        return true;
    case PRH_DID_TIME_OUT:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x2e, 0x02));
        return true;
    case PRH_DID_BAD_TARGET:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00));
        return true;
    case PRH_DID_ABORT:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x2f, 0x02));
        return true;
    case PRH_DID_RESET:
        *res = prh_result_sense(SENSE_UA_POWER_ON_RESET);
        return true;
    case PRH_DID_TRANSPORT_DISRUPTED:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x29, 0x07));
        return true;
    case PRH_DID_TARGET_FAILURE:
        *res = prh_result_sense(SENSE_INTERNAL_TARGET_FAILURE);
        return true;
    case PRH_DID_NEXUS_FAILURE:
        *res = prh_result_status(SCSI_STATUS_RESERVATION_CONFLICT);
        return true;
    case PRH_DID_ALLOC_FAILURE:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_DATA_PROTECT, 0x27, 0x07));
        return true;
    case PRH_DID_MEDIUM_ERROR:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00));
        return true;
    default:
        /* QEMU answers GOOD (with no data) for every other host byte
         * (DID_ERROR, DID_SOFT_ERROR, ...), hiding a failed command.  We
         * report it as ABORTED COMMAND, I/O PROCESS TERMINATED, the same
         * answer as a failed ioctl (docs/compat.md). */
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06));
        return true;
    }
}

void prh_sg_result_from_hdr(const struct sg_io_hdr *hdr, const uint8_t *sense,
                            uint32_t dxfer_len, struct prh_result *res)
{
    if (host_status_result(hdr->host_status, res))
        return;
    /* Step 3: the driver timed the command out. */
    if (hdr->driver_status & PRH_SG_DRIVER_TIMEOUT) {
        *res = prh_result_status(SCSI_STATUS_BUSY);
        return;
    }
    /* Step 4: the device's own status, with its sense unchanged. */
    memset(res, 0, sizeof(*res));
    res->kind = PRH_RESULT_RAW_SENSE;
    res->status = hdr->status;
    size_t n = hdr->sb_len_wr;
    if (n > sizeof(res->raw_sense))
        n = sizeof(res->raw_sense);
    if (sense != NULL && n > 0)
        memcpy(res->raw_sense, sense, n);
    res->raw_sense_len = n;
    int resid = hdr->resid;
    if (resid < 0 || (uint32_t)resid > dxfer_len)
        resid = 0; /* a nonsense residual: trust the allocation length */
    res->data_len = dxfer_len - (uint32_t)resid;
}

void prh_sg_build_hdr(struct sg_io_hdr *hdr, const struct prh_request *req, uint8_t *data,
                      uint32_t dxfer_len, uint8_t *sense, unsigned timeout_ms)
{
    memset(hdr, 0, sizeof(*hdr));
    hdr->interface_id = 'S';
    /* PERSISTENT RESERVE IN/OUT are 10-byte (group 2) CDBs; the wire
     * always carries 16 bytes, zero-padded. */
    hdr->cmd_len = 10;
    hdr->cmdp = (unsigned char *)req->cdb;
    hdr->mx_sb_len = PRH_WIRE_SENSE_SIZE;
    hdr->sbp = sense;
    hdr->dxfer_len = dxfer_len;
    hdr->dxferp = data;
    hdr->dxfer_direction = dxfer_len == 0 ? SG_DXFER_NONE
                           : prh_wire_is_pr_out(req->cdb) ? SG_DXFER_TO_DEV
                                                          : SG_DXFER_FROM_DEV;
    hdr->timeout = timeout_ms;
}

struct sg_state {
    unsigned timeout_ms;
    /* A dm-multipath fd is handed to the mpath transport, as
     * qemu-pr-helper hands it to libmpathpersist. */
    void *mpath;
};

static int sg_init(const struct prh_transport_options *opts, void **state, char *errmsg,
                   size_t errmsg_len)
{
    (void)errmsg;
    (void)errmsg_len;
    struct sg_state *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->timeout_ms = opts != NULL && opts->sg_timeout_ms != 0 ? opts->sg_timeout_ms
                                                             : PRH_SG_DEFAULT_TIMEOUT_MS;
    int r = prh_transport_mpath.init(opts, &s->mpath, errmsg, errmsg_len);
    if (r < 0) {
        free(s);
        return r;
    }
    *state = s;
    return 0;
}

static void sg_fini(void *state)
{
    struct sg_state *s = state;
    if (s != NULL)
        prh_transport_mpath.fini(s->mpath);
    free(state);
}

/* The host's nexus is the path itself: nothing to keep per connection. */
static char sg_nexus_token;

static void *sg_nexus_new(void *state, const struct prh_peer *peer)
{
    (void)state;
    (void)peer;
    return &sg_nexus_token;
}

static void sg_nexus_free(void *state, void *nexus)
{
    (void)state;
    (void)nexus;
}

static void sg_nexus_describe(void *state, void *nexus, char *buf, size_t len)
{
    (void)state;
    (void)nexus;
    snprintf(buf, len, "host initiator port of the device path");
}

struct sg_dev {
    int fd;
    void *mpath_dev; /* the fd is a dm-multipath map: mpath does the work */
};

static int sg_open(void *state, void *nexus, int fd, const struct stat *st, void **dev,
                   struct prh_result *res)
{
    int r = prh_sg_check_fd(st);
    if (r < 0) {
        *res = prh_result_errno(-r);
        return -1;
    }
    struct sg_dev *d = malloc(sizeof(*d));
    if (d == NULL) {
        *res = prh_result_errno(ENOMEM);
        return -1;
    }
    d->fd = fd;
    d->mpath_dev = NULL;
    if (S_ISBLK(st->st_mode) && prh_mpath_is_multipath(st->st_rdev) == 1) {
        const struct sg_state *s = state;
        if (prh_transport_mpath.open(s->mpath, nexus, fd, st, &d->mpath_dev, res) < 0) {
            free(d);
            return -1;
        }
    }
    *dev = d;
    return 0;
}

static void sg_close(void *state, void *nexus, void *dev)
{
    struct sg_dev *d = dev;
    if (d->mpath_dev != NULL)
        prh_transport_mpath.close(((const struct sg_state *)state)->mpath, nexus, d->mpath_dev);
    free(dev);
}

int prh_sg_execute(int fd, const struct prh_request *req, uint8_t *data, uint32_t dxfer_len,
                   unsigned timeout_ms, struct prh_result *res)
{
    struct sg_io_hdr hdr;
    uint8_t sense[PRH_WIRE_SENSE_SIZE] = { 0 };
    prh_sg_build_hdr(&hdr, req, data, dxfer_len, sense, timeout_ms);
    if (sg_ops->sg_io(fd, &hdr) < 0) {
        *res = prh_result_errno(errno);
        return -1;
    }
    prh_sg_result_from_hdr(&hdr, sense, dxfer_len, res);
    if ((hdr.host_status != PRH_DID_OK && hdr.host_status != PRH_DID_NEXUS_FAILURE) ||
        (hdr.host_status == PRH_DID_OK && (hdr.driver_status & PRH_SG_DRIVER_TIMEOUT)))
        return -1;
    return 0;
}

static void sg_execute(const struct sg_state *s, const struct sg_dev *d,
                       const struct prh_request *req, uint8_t *data, uint32_t dxfer_len,
                       struct prh_result *res)
{
    prh_sg_execute(d->fd, req, data, dxfer_len, s->timeout_ms, res);
}

static void sg_pr_in(void *state, void *nexus, void *dev, const struct prh_request *req,
                     uint8_t *data, size_t cap, struct prh_result *res)
{
    const struct sg_dev *d = dev;
    if (d->mpath_dev != NULL) {
        prh_transport_mpath.pr_in(((const struct sg_state *)state)->mpath, nexus, d->mpath_dev,
                                  req, data, cap, res);
        return;
    }
    uint32_t len = req->xfer_len < cap ? req->xfer_len : (uint32_t)cap;
    sg_execute(state, dev, req, data, len, res);
}

static void sg_pr_out(void *state, void *nexus, void *dev, const struct prh_request *req,
                      struct prh_result *res)
{
    const struct sg_dev *d = dev;
    if (d->mpath_dev != NULL) {
        prh_transport_mpath.pr_out(((const struct sg_state *)state)->mpath, nexus,
                                   d->mpath_dev, req, res);
        return;
    }
    /* The parameter list is only read by the kernel: the cast drops a
     * const that struct sg_io_hdr cannot express. */
    sg_execute(state, dev, req, (uint8_t *)(uintptr_t)req->params, req->xfer_len, res);
    res->data_len = 0;
}

const struct prh_transport prh_transport_sg = {
    .struct_size = sizeof(struct prh_transport),
    .api_version = PRH_TRANSPORT_API_VERSION,
    .name = "sg",
    .version = PRH_VERSION,
    .description = "SG_IO pass-through to the device behind the client's fd",
    .available = true,
    .capabilities = 1ull << CAP_SYS_RAWIO,
    .init = sg_init,
    .fini = sg_fini,
    .nexus_new = sg_nexus_new,
    .nexus_free = sg_nexus_free,
    .nexus_describe = sg_nexus_describe,
    .open = sg_open,
    .pr_in = sg_pr_in,
    .pr_out = sg_pr_out,
    .close = sg_close,
};
