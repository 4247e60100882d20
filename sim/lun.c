/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lun.c - LUN life cycle, profiles, target ports, events (nexus loss,
 * LUN reset, power cycle) and read-only inspection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/*
 * The lio profile: every deviation of current LIO (pr-semantics.md
 * section 9).  D2 and D9 describe older kernels and stay off.
 */
uint32_t pr_sim_profile_deviations(enum pr_sim_profile profile)
{
    if (profile != PR_SIM_PROFILE_LIO)
        return 0;
    return PR_DEV_D1_SHORT_ALLOC_INVALID | PR_DEV_D3_RESERVATION_KEY_ZERO_WHEN_SHORT |
           PR_DEV_D4_FULL_STATUS_WHOLE_DESCRIPTORS | PR_DEV_D5_SCOPE_IN_PARAM_LIST |
           PR_DEV_D6_PREEMPT_TYPE_ALWAYS_CHECKED | PR_DEV_D7_RELEASE_NON_HOLDER_BEFORE_KEY |
           PR_DEV_D8_UNREGISTERED_NOT_READY | PR_DEV_D10_ALL_TG_PT_MUST_MATCH |
           PR_DEV_D11_AR_PREEMPT_DESIGNATED_HOLDER | PR_DEV_D12_GENERATION_PER_REGISTRATION |
           PR_DEV_D13_RIEK_LEAVES_SIBLINGS | PR_DEV_D14_NO_GENERATION_ON_UNREGISTER |
           PR_DEV_D15_RELEASE_MISMATCH_CONFLICT | PR_DEV_D16_CLEAR_RESETS_APTPL |
           PR_DEV_D17_LIO_CONFLICT_ALGORITHM | PR_DEV_D18_SPEC_I_PT_SKIP_REGISTERED |
           PR_DEV_D19_NEXUS_BY_INITIATOR_NAME | PR_DEV_D20_MOVE_WITHOUT_RESERVATION_INVALID;
}

const char *pr_sim_profile_name(enum pr_sim_profile profile)
{
    return profile == PR_SIM_PROFILE_LIO ? "lio" : "spc4";
}

bool pr_sim_profile_parse(const char *name, enum pr_sim_profile *out)
{
    if (strcmp(name, "spc4") == 0) {
        *out = PR_SIM_PROFILE_SPC4;
        return true;
    }
    if (strcmp(name, "lio") == 0) {
        *out = PR_SIM_PROFILE_LIO;
        return true;
    }
    return false;
}

struct pr_sim_lun *pr_sim_lun_new(const struct pr_sim_config *config)
{
    struct pr_sim_lun *lun = calloc(1, sizeof(*lun));
    if (lun == NULL)
        return NULL;
    if (config != NULL)
        lun->config = *config;
    lun->deviations = lun->config.use_deviations ? lun->config.deviations
                                                 : pr_sim_profile_deviations(lun->config.profile);
    sim_state_init(&lun->st);
    return lun;
}

void pr_sim_lun_free(struct pr_sim_lun *lun)
{
    if (lun == NULL)
        return;
    sim_state_destroy(&lun->st);
    free(lun->ports);
    free(lun->aborts);
    free(lun);
}

uint32_t pr_sim_lun_deviations(const struct pr_sim_lun *lun)
{
    return lun->deviations;
}

const struct sim_port *sim_port_find(const struct pr_sim_lun *lun, uint16_t rtpi)
{
    for (size_t i = 0; i < lun->nports; i++)
        if (lun->ports[i].rtpi == rtpi)
            return &lun->ports[i];
    return NULL;
}

int pr_sim_lun_add_port(struct pr_sim_lun *lun, uint16_t rtpi, enum pr_tid_protocol proto)
{
    /* SPC-4 7.7.3.7: relative target port identifier 0 is reserved. */
    if (rtpi == 0 || (unsigned)proto > 0xf)
        return -EINVAL;
    if (sim_port_find(lun, rtpi) != NULL)
        return 0;
    if (lun->nports == lun->ports_cap) {
        size_t cap = lun->ports_cap ? lun->ports_cap * 2 : 4;
        struct sim_port *p = realloc(lun->ports, cap * sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        lun->ports = p;
        lun->ports_cap = cap;
    }
    lun->ports[lun->nports].rtpi = rtpi;
    lun->ports[lun->nports].proto = (uint8_t)proto;
    lun->nports++;
    return 0;
}

void pr_sim_nexus_loss(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus)
{
    /* SPC-2 reservations end on I_T nexus loss; PR state survives (SPC-4
     * 5.14.1: registrations persist across nexus loss). */
    struct sim_nexus *n = sim_nexus_find(&lun->st, nexus);
    if (n == NULL)
        return;
    if (lun->st.spc2_holder == n)
        lun->st.spc2_holder = NULL;
    /* A nexus that holds nothing is forgotten: memory stays bounded by
     * the nexuses that exist plus those with registrations or UAs. */
    sim_nexus_gc(&lun->st, n);
}

void pr_sim_nexus_forget(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus)
{
    struct sim_nexus *n = sim_nexus_find(&lun->st, nexus);
    if (n == NULL)
        return;
    n->ua_count = 0;
    n->ua_head = 0;
    pr_sim_nexus_loss(lun, nexus);
}

void pr_sim_lun_reset(struct pr_sim_lun *lun)
{
    struct sim_nexus *n = lun->st.spc2_holder;
    lun->st.spc2_holder = NULL;
    sim_nexus_gc(&lun->st, n);
}

void pr_sim_power_cycle(struct pr_sim_lun *lun)
{
    struct sim_state *st = &lun->st;
    st->spc2_holder = NULL;
    /* SPC-4 5.14.5: without APTPL, power loss drops every registration
     * and the reservation. */
    if (!st->aptpl) {
        while (st->reg_head != NULL)
            sim_reg_remove(st, st->reg_head);
    }
    /* SPC-4 6.15.2: PRgeneration restarts at 0 on power on. */
    st->generation = 0;
    for (struct sim_nexus *n = st->all_head; n != NULL; n = n->all_next) {
        n->ua_count = 0;
        n->ua_head = 0;
        sim_ua_queue(n, SENSE_UA_POWER_ON_RESET);
    }
}

uint32_t pr_sim_generation(const struct pr_sim_lun *lun)
{
    return lun->st.generation;
}

bool pr_sim_aptpl_active(const struct pr_sim_lun *lun)
{
    return lun->st.aptpl;
}

unsigned pr_sim_reservation_type(const struct pr_sim_lun *lun)
{
    return lun->st.res_type;
}

size_t pr_sim_registration_count(const struct pr_sim_lun *lun)
{
    return lun->st.nregs;
}

bool pr_sim_registration_at(const struct pr_sim_lun *lun, size_t i,
                            struct pr_sim_registration_view *out)
{
    const struct sim_reg *r = lun->st.reg_head;
    while (r != NULL && i > 0) {
        r = r->next;
        i--;
    }
    if (r == NULL)
        return false;
    out->key = r->key;
    out->nexus = r->nexus->id;
    out->all_tg_pt = r->all_tg_pt;
    out->holder = sim_is_holder(&lun->st, r);
    return true;
}

size_t pr_sim_pending_ua_count(const struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus)
{
    const struct sim_nexus *n = sim_nexus_find(&lun->st, nexus);
    return n != NULL ? n->ua_count : 0;
}

size_t pr_sim_nexus_count(const struct pr_sim_lun *lun)
{
    return lun->st.nnexus;
}

bool pr_sim_nexus_at(const struct pr_sim_lun *lun, size_t i, struct pr_sim_nexus *out)
{
    const struct sim_nexus *n = lun->st.all_head;
    while (n != NULL && i > 0) {
        n = n->all_next;
        i--;
    }
    if (n == NULL)
        return false;
    *out = n->id;
    return true;
}

bool pr_sim_pending_ua_at(const struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus,
                          size_t i, struct scsi_sense *out)
{
    const struct sim_nexus *n = sim_nexus_find(&lun->st, nexus);
    if (n == NULL || i >= n->ua_count)
        return false;
    *out = n->ua[(n->ua_head + i) % SIM_UA_MAX];
    return true;
}

int pr_sim_queue_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus, struct scsi_sense ua)
{
    uint8_t tid[PR_TID_MAX_LEN];
    if (nexus->rtpi == 0 || pr_tid_build(&nexus->initiator, tid, sizeof(tid)) == 0)
        return -EINVAL;
    struct sim_nexus *n = sim_nexus_get(&lun->st, nexus);
    if (n == NULL)
        return -ENOMEM;
    sim_ua_queue(n, ua);
    return 0;
}
