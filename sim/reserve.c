/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reserve.c - RESERVE (01h) and RELEASE (02h): SPC-4 5.14.9, 5.14.11.2,
 * pr-semantics.md 3.5 and 3.6.  Neither changes PRgeneration.
 */
#include "sim_internal.h"

bool sim_reserve(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                 struct pr_sim_result *r)
{
    struct sim_state *st = &lun->st;
    bool lio_order = sim_dev(lun, PR_DEV_D5_SCOPE_IN_PARAM_LIST);
    /* LIO checks TYPE before anything else. */
    if (lio_order && !pr_type_is_valid(c->type)) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return false;
    }
    struct sim_reg *reg = sim_sender_registration(lun, n, c->rkey, r);
    if (reg == NULL)
        return false;
    if (c->scope != PR_SCOPE_LU) {
        sim_result_bad_scope(lun, r);
        return false;
    }
    if (!pr_type_is_valid(c->type)) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return false;
    }
    if (st->res_type != PR_TYPE_NONE) {
        /* SPC-4 5.14.9: only a holder may re-reserve, and only with the
         * same type and scope (GOOD, no change); anything else conflicts.
         * Every registrant holds an all-registrants reservation. */
        if (!sim_is_holder(st, reg) || st->res_type != c->type || st->res_scope != c->scope)
            sim_result_conflict(r);
        return false;
    }
    st->res_type = c->type;
    st->res_scope = c->scope;
    st->res_holder = reg;
    return true;
}

bool sim_release_sa(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                    struct pr_sim_result *r)
{
    struct sim_state *st = &lun->st;
    struct sim_reg *reg = sim_reg_of(st, n);
    if (reg == NULL) {
        sim_result_unregistered(lun, r);
        return false;
    }
    bool holder = sim_is_holder(st, reg);
    /* D7: LIO answers GOOD to a non-holder before it looks at the key. */
    if (sim_dev(lun, PR_DEV_D7_RELEASE_NON_HOLDER_BEFORE_KEY) && !holder)
        return false;
    if (c->rkey != reg->key) {
        sim_result_conflict(r);
        return false;
    }
    bool lio_scope = sim_dev(lun, PR_DEV_D5_SCOPE_IN_PARAM_LIST);
    if (!lio_scope && c->scope != PR_SCOPE_LU) {
        sim_result_bad_scope(lun, r);
        return false;
    }
    /* SPC-4 5.14.11.2.2: no reservation, or a registrant that does not
     * hold it: GOOD, nothing changes. */
    if (!holder)
        return false;
    /* A holder naming another type or scope: 26h/04h INVALID RELEASE OF
     * PERSISTENT RESERVATION; LIO says RESERVATION CONFLICT (D15). */
    if (c->type != st->res_type || c->scope != st->res_scope) {
        if (sim_dev(lun, PR_DEV_D15_RELEASE_MISMATCH_CONFLICT))
            sim_result_conflict(r);
        else
            sim_result_check(r, SENSE_INVALID_RELEASE);
        return false;
    }
    unsigned type = st->res_type;
    sim_release(st);
    /* SPC-4 5.14.11.2.2: releasing a registrants-only or all-registrants
     * reservation tells every other registrant (RESERVATIONS RELEASED). */
    if (pr_type_is_registrants(type))
        for (const struct sim_reg *k = st->reg_head; k != NULL; k = k->next)
            if (k != reg)
                sim_ua_for_reg(lun, k, SENSE_UA_RESERVATIONS_RELEASED);
    return true;
}
