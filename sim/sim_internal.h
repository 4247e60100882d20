/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim_internal.h - the simulator's private state, shared by the files of
 * sim/.  Nothing here is part of the public API (include/prhelper/pr_sim.h).
 *
 * Model (pr-semantics.md section 1):
 *  - every I_T nexus the LUN has heard of is a struct sim_nexus, found by
 *    hash of (canonical initiator TransportID, RTPI); it carries the
 *    nexus' unit-attention queue and points at its registration, if any;
 *  - every registration is a struct sim_reg on a list in creation order
 *    (READ KEYS and READ FULL STATUS report that order);
 *  - the reservation points at the holding registration (for the
 *    all-registrants types: at a "designated" one, which only LIO's D11
 *    quirk can observe).
 */
#ifndef PRHELPER_SIM_INTERNAL_H
#define PRHELPER_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prhelper/pr_sim.h"

/* Pending unit attentions kept per nexus; more are dropped (newest). */
#define SIM_UA_MAX 16

struct sim_reg;

struct sim_nexus {
    struct sim_nexus *hash_next;
    struct sim_nexus *all_next, *all_prev; /* every known nexus, for fan-out */
    uint64_t hash;
    struct pr_sim_nexus id;    /* decoded identity */
    uint8_t tid[PR_TID_MAX_LEN]; /* canonical TransportID bytes */
    uint16_t tid_len;
    struct sim_reg *reg;       /* registration of exactly this nexus */
    struct scsi_sense ua[SIM_UA_MAX];
    unsigned ua_head, ua_count;
};

struct sim_reg {
    struct sim_reg *prev, *next; /* creation order */
    struct sim_nexus *nexus;
    uint64_t key;
    bool all_tg_pt;
    bool doomed; /* scratch mark used while removing several at once */
};

struct sim_port {
    uint16_t rtpi;
    uint8_t proto;
};

/* Everything a PR OUT may change: cloned whole for rollback. */
struct sim_state {
    struct sim_nexus **buckets;
    size_t nbuckets;
    size_t nnexus;
    struct sim_nexus *all_head;
    struct sim_reg *reg_head, *reg_tail;
    size_t nregs;
    size_t full_status_len; /* READ FULL STATUS descriptor bytes, all registrations */
    /* persistent reservation */
    unsigned res_type; /* PR_TYPE_NONE when there is none */
    unsigned res_scope;
    struct sim_reg *res_holder; /* holder; for AR the designated one */
    uint32_t generation;
    bool aptpl;
    /* SPC-2 RESERVE(6/10) holder (section 8), or NULL */
    struct sim_nexus *spc2_holder;
};

struct pr_sim_lun {
    struct pr_sim_config config;
    uint32_t deviations;
    struct sim_port *ports;
    size_t nports, ports_cap;
    struct sim_state st;
    /* PREEMPT AND ABORT victims, reported once the command has committed. */
    struct pr_sim_nexus *aborts;
    size_t naborts, aborts_cap;
};

/* Remember that nexus' tasks are to be aborted when this PR OUT commits. */
void sim_abort_defer(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus);

static inline bool sim_dev(const struct pr_sim_lun *lun, uint32_t deviation)
{
    return (lun->deviations & deviation) != 0;
}

/* ---- state.c ---- */
void sim_state_init(struct sim_state *st);
void sim_state_destroy(struct sim_state *st);
int sim_state_clone(const struct sim_state *src, struct sim_state *dst);

/* Find a nexus by identity; NULL if unknown (or the id is invalid). */
struct sim_nexus *sim_nexus_find(const struct sim_state *st, const struct pr_sim_nexus *id);
/* Find or create; NULL on ENOMEM or an invalid TransportID. */
struct sim_nexus *sim_nexus_get(struct sim_state *st, const struct pr_sim_nexus *id);
/* Forget a nexus that holds nothing (no registration, UA or SPC-2 reservation). */
void sim_nexus_gc(struct sim_state *st, struct sim_nexus *n);

/*
 * The registration that applies to commands from nexus n: its own, or
 * for an iSCSI port with an ISID, a registration made through a
 * name-only (format 00b) TransportID on the same target port.
 */
struct sim_reg *sim_reg_of(const struct sim_state *st, const struct sim_nexus *n);

struct sim_reg *sim_reg_add(struct sim_state *st, struct sim_nexus *n, uint64_t key, bool all_tg_pt);
/* Remove one registration; hands an AR reservation on or ends it. */
void sim_reg_remove(struct sim_state *st, struct sim_reg *r);

bool sim_is_holder(const struct sim_state *st, const struct sim_reg *r);
/* Remove a registration, then forget its nexus if it holds nothing and
 * is not the sender's (the caller still uses that one). */
void sim_reg_remove_gc(struct sim_state *st, struct sim_reg *r, const struct sim_nexus *sender);
/* SPC-4 6.15.2: PRgeneration is a 32-bit counter that wraps. */
static inline void sim_generation_add(struct sim_state *st, size_t n)
{
    st->generation += (uint32_t)n;
}
void sim_release(struct sim_state *st);

/* ---- ua.c ---- */
void sim_ua_queue(struct sim_nexus *n, struct scsi_sense ua);
/* Establish a UA for the nexus (or nexuses) a registration stands for. */
void sim_ua_for_reg(struct pr_sim_lun *lun, const struct sim_reg *r, struct scsi_sense ua);
void sim_ua_for_nexus(struct pr_sim_lun *lun, struct sim_nexus *n, struct scsi_sense ua);
bool sim_ua_pop(struct sim_nexus *n, struct scsi_sense *ua);

/* ---- ports (lun.c) ---- */
const struct sim_port *sim_port_find(const struct pr_sim_lun *lun, uint16_t rtpi);

/* ---- result helpers (execute.c) ---- */
void sim_result_check(struct pr_sim_result *r, struct scsi_sense s);
void sim_result_conflict(struct pr_sim_result *r);
/* A PR OUT that needs a registration from an unregistered nexus: SPC says
 * RESERVATION CONFLICT, LIO NOT READY 08h/00h (D8). */
void sim_result_unregistered(const struct pr_sim_lun *lun, struct pr_sim_result *r);
/*
 * SPC-4 5.14.1: a PR OUT that acts on the sender's registration needs one,
 * and a RESERVATION KEY equal to its key.  Returns it, or NULL with the
 * result set (sim_result_unregistered() / RESERVATION CONFLICT).
 */
struct sim_reg *sim_sender_registration(const struct pr_sim_lun *lun, const struct sim_nexus *n,
                                        uint64_t rkey, struct pr_sim_result *r);
/* SCOPE other than LU_SCOPE: 24h/00h in SPC, 26h/00h in LIO (D5). */
void sim_result_bad_scope(const struct pr_sim_lun *lun, struct pr_sim_result *r);

/* ---- PR IN (pr_in.c), PR OUT (pr_out.c and one file per family) ---- */
void sim_pr_in(struct pr_sim_lun *lun, struct sim_nexus *n, const uint8_t *cdb,
               uint8_t *data_in, size_t data_in_len, struct pr_sim_result *r);
void sim_pr_out(struct pr_sim_lun *lun, struct sim_nexus *n, const uint8_t *cdb,
                const uint8_t *param, size_t param_len, struct pr_sim_result *r);

/* What the per-service-action handlers get: the decoded command. */
struct sim_prout {
    uint8_t sa, scope, type;
    uint32_t plen;
    const uint8_t *param;
    uint64_t rkey, sakey;
    bool spec_i_pt, all_tg_pt, aptpl, unreg;
};

/* Each returns true when state changed (so APTPL may need saving). */
bool sim_register(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                  struct pr_sim_result *r);
bool sim_reserve(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                 struct pr_sim_result *r);
bool sim_release_sa(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                    struct pr_sim_result *r);
bool sim_clear(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
               struct pr_sim_result *r);
bool sim_preempt(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                 struct pr_sim_result *r);
bool sim_register_and_move(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                           struct pr_sim_result *r);

/* ---- conflict.c ---- */
/* SPC-2 and persistent-reservation conflict check for any CDB. */
uint8_t sim_check_access(const struct pr_sim_lun *lun, const struct sim_nexus *n,
                         const uint8_t *cdb, size_t cdb_len);
/* "registered" as the conflict rules see it (D19 widens it). */
bool sim_conflict_registered(const struct pr_sim_lun *lun, const struct sim_nexus *n);

/* ---- spc2.c ---- */
void sim_spc2_reserve_release(struct pr_sim_lun *lun, struct sim_nexus *n, const uint8_t *cdb,
                              size_t cdb_len, struct pr_sim_result *r);

#endif
