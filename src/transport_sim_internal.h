/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_sim_internal.h - what the files of the sim transport share:
 * transport_sim.c (LUN table, I_T nexuses, commands, life cycle),
 * transport_sim_control.c (control-socket commands and injected faults),
 * transport_sim_identity.c (who a client is, which fds are disks).
 * Not part of any public API; white-box tests include it.
 *
 * Locks, in the only order they are ever nested:
 *   st->lock (LUN table)  ->  sim_lun.lock (only a trylock, to evict)
 *   st->nexus_lock (I_T nexuses, connections), sim_itn.lock (the LUNs a
 *   nexus used) and the fault table's lock (fault.c) are never held with
 *   another lock.
 * File I/O (loading or saving a LUN's APTPL state) happens under the
 * LUN's own lock only, never under the table lock.
 */
#ifndef PRHELPER_TRANSPORT_SIM_INTERNAL_H
#define PRHELPER_TRANSPORT_SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "prhelper/control.h"
#include "prhelper/fault.h"
#include "prhelper/pr_sim.h"
#include "prhelper/transport.h"
#include "prhelper/transport_sim.h"

#define SIM_NEXUS_ADDR_PREFIX "@prhelper-nexus:"
#define SIM_LUN_BUCKETS 64
#define SIM_ITN_BUCKETS 64
#define SIM_LUN_NAME_MAX 64
#define SIM_WHO_MAX (PR_TID_MAX_LEN + 16)

struct sim_state;

struct sim_lun {
    struct sim_lun *next;
    pthread_mutex_t lock;   /* serialises every call on lun, and its loading */
    struct pr_sim_lun *lun; /* NULL until loaded (or after a load that failed) */
    struct sim_state *st;
    unsigned refs;          /* holders of this pointer (under st->lock) */
    char name[SIM_LUN_NAME_MAX];
    bool save_blocked;      /* an unusable state file could not be moved aside */
};

/* One I_T nexus, shared by every connection that presents it. */
struct sim_itn {
    struct sim_itn *next;
    struct pr_sim_nexus nexus;
    char who[SIM_WHO_MAX];   /* "TransportID@RTPI" */
    bool stable;             /* can be presented again: nexus loss keeps its UAs */
    unsigned refs;           /* connections (under st->nexus_lock) */
    bool closing;            /* last connection gone, I_T nexus loss under way */
    pthread_mutex_t lock;    /* luns */
    struct sim_lun **luns;   /* LUNs used through it (each holds a reference) */
    size_t nluns, cap;
};

/* One connection (what nexus_new returns). */
struct sim_conn {
    struct sim_conn *next, *prev; /* st->conns, for the state command */
    struct sim_itn *itn;
    uint64_t serial;
    bool has_cred;
    long pid;
    enum prh_sim_nexus_source source;
    char detail[]; /* how the nexus was chosen; only as long as it is (memory per client) */
};

struct sim_state {
    char *state_dir;
    char *proc_root;
    enum pr_sim_profile profile;
    enum prh_sim_identity identity;
    uint32_t max_registrations;
    unsigned max_luns;

    pthread_mutex_t lock; /* the LUN table */
    struct sim_lun *buckets[SIM_LUN_BUCKETS];
    unsigned nluns;
    /* How a LUN's saved state is loaded (lun_restore); white-box tests
     * slow it down to show that it holds no table lock. */
    struct pr_sim_lun *(*restore)(struct sim_state *st, struct sim_lun *l);

    pthread_mutex_t nexus_lock; /* itns and conns */
    pthread_cond_t nexus_gone;  /* an I_T nexus finished closing */
    struct sim_itn *itns[SIM_ITN_BUCKETS];
    struct sim_conn *conns;

    struct prh_faults *faults; /* fault add|list|clear (fault.h) */
};

/* ---- transport_sim.c ---- */
/* A LUN by name, with a reference (sim_lun_put), or NULL; loaded or not. */
struct sim_lun *sim_lun_find(struct sim_state *st, const char *name);
/* Every LUN now, each with a reference (sim_lun_put_all); *n entries. */
struct sim_lun **sim_lun_snapshot(struct sim_state *st, size_t *n);
void sim_lun_put(struct sim_lun *l);
void sim_lun_put_all(struct sim_lun **v, size_t n);
/* "TransportID@RTPI" */
void sim_nexus_string(const struct pr_sim_nexus *n, char *buf, size_t len);

/* ---- transport_sim_identity.c ---- */
/* Lower-case; anything outside [a-z0-9.:-] becomes '-'. */
void sim_sanitize_name(char *s);
/* The I_T nexus an abstract address "@prhelper-nexus:NAME[@RTPI][/...]"
 * presents; false if it is not one, or malformed. */
bool sim_nexus_from_address(const char *addr, size_t addr_len, struct pr_sim_nexus *out);

/* ---- transport_sim_control.c ---- */
/* The first armed fault matching this command, consumed; false if none. */
bool sim_fault_take(struct sim_state *st, const struct sim_conn *c, const struct sim_lun *l,
                    const uint8_t *cdb, struct prh_fault *out);
int sim_control_register(void *state, struct prh_control *ctl);

#endif
