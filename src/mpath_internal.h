/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mpath_internal.h - what mpath.c (state, paths, recovery, PR IN) and
 * mpath_out.c (PR OUT) share.  Not installed. */
#ifndef PRHELPER_MPATH_INTERNAL_H
#define PRHELPER_MPATH_INTERNAL_H

#include <pthread.h>

#include "prhelper/mpath.h"

struct mp_path {
    struct prh_dev_path info;
    bool in_sync;      /* carries the map's key (nothing, when the key is 0) */
    int last_error;
};

struct prh_mpath_map {
    dev_t dev;
    pthread_mutex_t lock;   /* one command of this map at a time */
    /* identity */
    bool identified;        /* seq/uuid below are set */
    bool seq_known;
    uint64_t seq;
    char uuid[132];
    char wwid[96];          /* the LUN the paths reach, "" unknown */
    /* state (dropped with the identity) */
    bool key_known;         /* key is what our nexuses carry (0: none) */
    uint64_t key;
    uint8_t aptpl;          /* APTPL bit of the last REGISTER, reused to re-register */
    bool ever_registered;   /* a key went through us: a path that was away may
                             * carry a stale one */
    bool holding;           /* our key holds the reservation */
    bool mpathd_key;        /* multipathd took our setprkey */
    struct mp_path paths[PRH_DEV_MAX_PATHS];
    size_t npaths;
    struct prh_mpath_map *next;
};

struct prh_mpath {
    struct prh_mpath_options o;
    pthread_mutex_t lock;
    struct prh_mpath_map *maps;
};

/* READ KEYS result. */
struct mp_keys {
    uint32_t generation;
    size_t total;      /* registrations on the LUN */
    size_t count;      /* of them, with the key asked about */
};

/* ---- mpath.c, for mpath_out.c ---- */
/* ABORTED COMMAND, LOGICAL UNIT COMMUNICATION FAILURE: no usable path. */
struct prh_result prh_mp_no_path(void);
int prh_mp_cmd(struct prh_mpath *mp, struct mp_path *p, const struct prh_request *req,
               uint8_t *data, uint32_t len, struct prh_result *res);
/* A REGISTER AND IGNORE EXISTING KEY request giving the path key sark. */
void prh_mp_make_register(struct prh_request *sub, uint8_t params[24], uint64_t sark,
                          uint8_t flags);
/* REGISTER AND IGNORE key on p; true when the device took it. */
bool prh_mp_set_key(struct prh_mpath *mp, struct prh_mpath_map *m, struct mp_path *p,
                    uint64_t key);
/* READ KEYS / READ RESERVATION on the first path that answers (in-sync
 * running paths first).  0, or -1 (no path answered; res set). */
int prh_mp_read_keys(struct prh_mpath *mp, struct prh_mpath_map *m, uint64_t key,
                     struct mp_keys *k);
int prh_mp_read_reservation(struct prh_mpath *mp, struct prh_mpath_map *m, bool *reserved,
                            uint64_t *key, unsigned *type);
/* Paths in the order single-path commands try them: running in-sync
 * paths first, then running out-of-sync ones.  Count. */
size_t prh_mp_order(const struct prh_mpath_map *m, size_t order[PRH_DEV_MAX_PATHS]);
/* Bring running out-of-sync paths in line, fence-safe (docs/mpath.md). */
void prh_mp_recover(struct prh_mpath *mp, struct prh_mpath_map *m);
void prh_mp_drop_state(struct prh_mpath_map *m, const char *why);
/* Every path but keep out of sync (after a self-preempt through keep). */
void prh_mp_others_out_of_sync(struct prh_mpath_map *m, size_t keep);

/* ---- mpath_out.c ---- */
void prh_mp_pr_out(struct prh_mpath *mp, struct prh_mpath_map *m, const struct prh_request *req,
                   struct prh_result *res);

#endif
