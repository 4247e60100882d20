/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_device.c - the "sg" and "mpath" transports: one device
 * transport over the device layer (device.h) and the multipath code
 * (mpath.h).
 *
 * A client's fd is classified once per disk (device.h):
 *   - a whole disk or an sg node: SG_IO on the client's own fd, as
 *     qemu-pr-helper does (every connection is the host's own I_T nexus);
 *   - a dm-multipath map over whole disks: PR on every path (mpath.h), as
 *     qemu-pr-helper hands it to libmpathpersist;
 *   - part of a LUN (a partition, an LV, a dm-crypt device, ...): refused
 *     without any SG_IO, unless --allow-partial-devices;
 *   - anything else: ENOTTY without an ioctl.
 *
 * The two names differ only in privileges: "mpath" keeps CAP_SYS_ADMIN,
 * so it can read device-mapper tables (maps made without an "mpath-"
 * uuid are recognised) and suspend a map around a self-preempt.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "prhelper/device.h"
#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "prhelper/mpath.h"
#include "prhelper/multipathd.h"

struct dev_state {
    unsigned timeout_ms;
    bool allow_partial;
    struct prh_metrics *metrics;
    struct prh_mpathd *mpathd;
    struct prh_mpath *mp;
};

/* A connection: the host's own nexus (the device identifies the
 * initiator by the path), plus who it is for the refusal message. */
struct dev_nexus {
    struct prh_peer peer;
    bool has_peer;
    bool partial_logged;
};

struct dev_dev {
    int fd;
    struct prh_dev_class cls;
    struct prh_mpath_map *map; /* a multipath map: mpath does the work */
};

struct prh_mpath *prh_mpath_of(void *transport_state)
{
    return ((struct dev_state *)transport_state)->mp;
}

static int dev_init(const struct prh_transport_options *opts, void **state, char *errmsg,
                    size_t errmsg_len, bool mpath)
{
    struct dev_state *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -ENOMEM;
    }
    s->timeout_ms = opts != NULL && opts->sg_timeout_ms != 0 ? opts->sg_timeout_ms
                                                             : PRH_SG_DEFAULT_TIMEOUT_MS;
    s->allow_partial = opts != NULL && opts->allow_partial_devices;
    s->metrics = opts != NULL ? opts->metrics : NULL;
    const char *sock = opts != NULL ? opts->multipathd_socket : NULL;
    if (sock == NULL || strcmp(sock, "none") != 0) {
        s->mpathd = prh_mpathd_new(sock, 0);
        if (s->mpathd == NULL) {
            free(s);
            snprintf(errmsg, errmsg_len, "out of memory");
            return -ENOMEM;
        }
    }
    prh_dev_init(mpath);
    struct prh_mpath_options mo = { .timeout_ms = s->timeout_ms, .suspend = mpath,
                                    .mpathd = s->mpathd };
    s->mp = prh_mpath_new(&mo);
    if (s->mp == NULL) {
        prh_mpathd_free(s->mpathd);
        free(s);
        snprintf(errmsg, errmsg_len, "out of memory");
        return -ENOMEM;
    }
    *state = s;
    return 0;
}

static int sg_init(const struct prh_transport_options *opts, void **state, char *errmsg,
                   size_t errmsg_len)
{
    return dev_init(opts, state, errmsg, errmsg_len, false);
}

static int mpath_init(const struct prh_transport_options *opts, void **state, char *errmsg,
                      size_t errmsg_len)
{
    return dev_init(opts, state, errmsg, errmsg_len, true);
}

static void dev_fini(void *state)
{
    struct dev_state *s = state;
    if (s == NULL)
        return;
    prh_mpath_free(s->mp);
    prh_mpathd_free(s->mpathd);
    prh_dev_fini();
    free(s);
}

static void *dev_nexus_new(void *state, const struct prh_peer *peer)
{
    (void)state;
    struct dev_nexus *n = calloc(1, sizeof(*n));
    if (n != NULL && peer != NULL) {
        n->peer = *peer;
        n->peer.has_pidfd = n->peer.has_sock = n->peer.exited = false; /* nexus_new only */
        n->has_peer = true;
    }
    return n;
}

static void dev_nexus_free(void *state, void *nexus)
{
    (void)state;
    free(nexus);
}

static void dev_nexus_describe(void *state, void *nexus, char *buf, size_t len)
{
    (void)state;
    (void)nexus;
    snprintf(buf, len, "host initiator port of the device path (every path of a map)");
}

/* Part of a LUN: answered without SG_IO (docs/security.md).  QEMU passes
 * the sense to the guest unchanged; INVALID COMMAND OPERATION CODE is how
 * a device says it does not support persistent reservations. */
static void refuse_partial(struct dev_state *s, struct dev_nexus *n, const struct dev_dev *d,
                           struct prh_result *res)
{
    prh_metrics_partial_device_refused(s->metrics);
    *res = prh_result_sense(SENSE_INVALID_OPCODE);
    if (n == NULL || n->partial_logged)
        return;
    n->partial_logged = true;
    char who[96] = "a client";
    if (n->has_peer && n->peer.has_cred)
        snprintf(who, sizeof(who), "client %llu (pid %ld, uid %lu)",
                 (unsigned long long)n->peer.serial, (long)n->peer.pid,
                 (unsigned long)n->peer.uid);
    else if (n->has_peer)
        snprintf(who, sizeof(who), "client %llu", (unsigned long long)n->peer.serial);
    prh_error("%s: persistent reservations refused on block device %u:%u, %s: it is only "
              "part of a LUN, and a reservation would act on the whole LUN (answered "
              "ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE; --allow-partial-devices "
              "lets it through as qemu-pr-helper does; logged once per client)",
              who, major(d->cls.rdev), minor(d->cls.rdev), d->cls.why);
}

static int dev_open(void *state, void *nexus, int fd, const struct stat *st, void **dev,
                    struct prh_result *res)
{
    struct dev_state *s = state;
    struct dev_dev *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        *res = prh_result_errno(ENOMEM);
        return -1;
    }
    d->fd = fd;
    int r = prh_dev_classify(fd, st, &d->cls);
    if (r < 0) {
        *res = prh_result_errno(-r);
        free(d);
        return -1;
    }
    switch (d->cls.kind) {
    case PRH_DEV_NOT_SCSI:
        /* qemu-pr-helper's SG_IO fails with ENOTTY here. */
        *res = prh_result_errno(ENOTTY);
        free(d);
        return -1;
    case PRH_DEV_PARTIAL:
        if (!s->allow_partial) {
            refuse_partial(s, nexus, d, res);
            free(d);
            return -1;
        }
        break;
    case PRH_DEV_MULTIPATH:
        d->map = prh_mpath_get(s->mp, &d->cls);
        if (d->map == NULL) {
            *res = prh_result_errno(ENOMEM);
            free(d);
            return -1;
        }
        break;
    case PRH_DEV_DISK:
    default:
        break;
    }
    *dev = d;
    return 0;
}

static void dev_close(void *state, void *nexus, void *dev)
{
    (void)state;
    (void)nexus;
    free(dev);
}

static void dev_pr_in(void *state, void *nexus, void *dev, const struct prh_request *req,
                      uint8_t *data, size_t cap, struct prh_result *res)
{
    (void)nexus;
    struct dev_state *s = state;
    const struct dev_dev *d = dev;
    uint32_t len = req->xfer_len < cap ? req->xfer_len : (uint32_t)cap;
    if (d->map != NULL)
        prh_mpath_pr_in(s->mp, d->map, &d->cls, req, data, len, res);
    else
        prh_sg_execute(d->fd, req, data, len, s->timeout_ms, res);
}

static void dev_pr_out(void *state, void *nexus, void *dev, const struct prh_request *req,
                       struct prh_result *res)
{
    (void)nexus;
    struct dev_state *s = state;
    const struct dev_dev *d = dev;
    if (d->map != NULL)
        prh_mpath_pr_out(s->mp, d->map, &d->cls, req, res);
    else
        /* The parameter list is only read by the kernel: the cast drops
         * a const that struct sg_io_hdr cannot express. */
        prh_sg_execute(d->fd, req, (uint8_t *)(uintptr_t)req->params, req->xfer_len,
                       s->timeout_ms, res);
    res->data_len = 0;
}

const struct prh_transport prh_transport_sg = {
    .struct_size = sizeof(struct prh_transport),
    .api_version = PRH_TRANSPORT_API_VERSION,
    .name = "sg",
    .version = PRH_VERSION,
    .description = "SG_IO pass-through to the device behind the client's fd (every path of "
                   "a dm-multipath map)",
    .available = true,
    .capabilities = 1ull << CAP_SYS_RAWIO,
    .init = sg_init,
    .fini = dev_fini,
    .nexus_new = dev_nexus_new,
    .nexus_free = dev_nexus_free,
    .nexus_describe = dev_nexus_describe,
    .open = dev_open,
    .pr_in = dev_pr_in,
    .pr_out = dev_pr_out,
    .close = dev_close,
    /* A nexus record is one allocation, freed without waiting. */
    .nexus_never_blocks = true,
};

const struct prh_transport prh_transport_mpath = {
    .struct_size = sizeof(struct prh_transport),
    .api_version = PRH_TRANSPORT_API_VERSION,
    .name = "mpath",
    .version = PRH_VERSION,
    .description = "sg, plus device-mapper tables and map suspension (CAP_SYS_ADMIN) for "
                   "dm-multipath maps",
    .available = true,
    .capabilities = 1ull << CAP_SYS_RAWIO | 1ull << CAP_SYS_ADMIN,
    .init = mpath_init,
    .fini = dev_fini,
    .nexus_new = dev_nexus_new,
    .nexus_free = dev_nexus_free,
    .nexus_describe = dev_nexus_describe,
    .open = dev_open,
    .pr_in = dev_pr_in,
    .pr_out = dev_pr_out,
    .close = dev_close,
    .nexus_never_blocks = true,
};
