/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mpath.h - persistent reservations on every path of a dm-multipath map
 * (docs/mpath.md), used by the "sg" and "mpath" transports for fds that
 * the device layer (device.h) classified as PRH_DEV_MULTIPATH.
 *
 * The daemon opens each path's block device itself and sends PR commands
 * down them by SG_IO (prh_dev_path_cmd()).  REGISTER fans out to every
 * usable path; the other service actions run on one path and the other
 * paths' registrations are brought back in line.  A path that missed a
 * change (offline, failed, added later) is registered again only after
 * READ KEYS shows that the map's key is still on the LUN: a host that was
 * preempted while a path was away never gets its key back through it.
 *
 * Per map the registry keeps the host's key (once a command through us
 * made it known) and per path whether it carries it; the state is tied to
 * the map's identity (dev_t, disk sequence number, dm uuid, the LUN its
 * paths reach) and dropped when that changes.
 */
#ifndef PRHELPER_MPATH_H
#define PRHELPER_MPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "prhelper/device.h"
#include "prhelper/transport.h"

struct prh_mpathd;

struct prh_mpath_options {
    unsigned timeout_ms;       /* SG_IO timeout per path command */
    /* Suspend the map (device-mapper, noflush) around a self-preempt, as
     * libmpathpersist does: needs CAP_SYS_ADMIN (the mpath transport). */
    bool suspend;
    struct prh_mpathd *mpathd; /* keep multipathd informed; NULL: never */
};

struct prh_mpath;
struct prh_mpath_map;

struct prh_mpath *prh_mpath_new(const struct prh_mpath_options *o);
void prh_mpath_free(struct prh_mpath *mp);

/* The state of the map c names (created on first use).  NULL on ENOMEM.
 * Maps live as long as the registry; their state may be dropped. */
struct prh_mpath_map *prh_mpath_get(struct prh_mpath *mp, const struct prh_dev_class *c);

/* PR IN / PR OUT on the map (serialised per map). */
void prh_mpath_pr_in(struct prh_mpath *mp, struct prh_mpath_map *m, const struct prh_dev_class *c,
                     const struct prh_request *req, uint8_t *data, uint32_t len,
                     struct prh_result *res);
void prh_mpath_pr_out(struct prh_mpath *mp, struct prh_mpath_map *m,
                      const struct prh_dev_class *c, const struct prh_request *req,
                      struct prh_result *res);

/* What the registry knows about one path, for logs and tests. */
struct prh_mpath_path_status {
    char name[32];
    bool in_sync;      /* carries the map's key (or none, if the key is 0) */
    int last_error;    /* last path failure: -errno, 0 none */
};

struct prh_mpath_status {
    bool key_known;
    uint64_t key;
    bool holding;      /* the key holds the reservation, as far as we know */
    bool ever_registered;
};

/* The state kept for map dev: number of paths written to st (<= max), or
 * -ENOENT when the map was never used. */
int prh_mpath_map_status(struct prh_mpath *mp, dev_t map, struct prh_mpath_status *ms,
                         struct prh_mpath_path_status *st, size_t max);

/* The registry of an sg or mpath transport state (tests, diagnostics). */
struct prh_mpath *prh_mpath_of(void *transport_state);

#endif
