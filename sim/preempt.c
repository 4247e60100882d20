/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * preempt.c - CLEAR (03h), PREEMPT (04h) and PREEMPT AND ABORT (05h):
 * SPC-4 5.14.11.2.6, 5.14.11.4, 5.14.11.5; pr-semantics.md 3.7, 3.8.
 */
#include "sim_internal.h"

bool sim_clear(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
               struct pr_sim_result *r)
{
    struct sim_state *st = &lun->st;
    struct sim_reg *reg = sim_sender_registration(lun, n, c->rkey, r);
    if (reg == NULL)
        return false;
    /* SPC-4 5.14.11.2.6: release the reservation, remove every
     * registration, RESERVATIONS PREEMPTED to every other nexus that was
     * registered. */
    sim_release(st);
    for (const struct sim_reg *k = st->reg_head; k != NULL; k = k->next)
        if (k != reg)
            sim_ua_for_reg(lun, k, SENSE_UA_RESERVATIONS_PREEMPTED);
    while (st->reg_head != NULL)
        sim_reg_remove_gc(st, st->reg_head, n);
    sim_generation_add(st, 1);
    /* D16: LIO also drops APTPL (and empties its file). */
    if (sim_dev(lun, PR_DEV_D16_CLEAR_RESETS_APTPL))
        st->aptpl = false;
    return true;
}

/* Mark the registrations to remove: key S, except (when keep_sender)
 * the sender's.  Returns how many. */
static size_t mark_key(struct sim_state *st, uint64_t key, const struct sim_reg *sender,
                       bool keep_sender)
{
    size_t count = 0;
    for (struct sim_reg *k = st->reg_head; k != NULL; k = k->next) {
        k->doomed = k->key == key && !(keep_sender && k == sender);
        count += k->doomed;
    }
    return count;
}

static bool key_registered(const struct sim_state *st, uint64_t key)
{
    for (const struct sim_reg *k = st->reg_head; k != NULL; k = k->next)
        if (k->key == key)
            return true;
    return false;
}

/* Remove the marked registrations: REGISTRATIONS PREEMPTED to each
 * (SPC-4 5.14.11.4), and with ABORT their tasks are aborted. */
static void remove_marked(struct pr_sim_lun *lun, struct sim_nexus *sender, bool abort)
{
    struct sim_state *st = &lun->st;
    struct sim_reg *k = st->reg_head;
    while (k != NULL) {
        struct sim_reg *next = k->next;
        if (k->doomed) {
            if (k->nexus != sender) {
                sim_ua_for_reg(lun, k, SENSE_UA_REGISTRATIONS_PREEMPTED);
                if (abort)
                    sim_abort_defer(lun, &k->nexus->id);
            }
            sim_reg_remove_gc(st, k, sender);
        }
        k = next;
    }
}

/* The reservation is taken over by the sender with the CDB's type and
 * scope (SPC-4 5.14.11.4.3 steps a-f). */
static void take_over(struct pr_sim_lun *lun, struct sim_nexus *n, struct sim_reg *reg,
                      const struct sim_prout *c, bool abort)
{
    struct sim_state *st = &lun->st;
    unsigned old_type = st->res_type, old_scope = st->res_scope;
    sim_release(st);
    remove_marked(lun, n, abort);
    st->res_type = c->type;
    st->res_scope = c->scope;
    st->res_holder = reg;
    /* f) a new type or scope: RESERVATIONS RELEASED to the other
     * registrants that are left. */
    if (old_type != c->type || old_scope != c->scope)
        for (const struct sim_reg *k = st->reg_head; k != NULL; k = k->next)
            if (k != reg)
                sim_ua_for_reg(lun, k, SENSE_UA_RESERVATIONS_RELEASED);
}

bool sim_preempt(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                 struct pr_sim_result *r)
{
    struct sim_state *st = &lun->st;
    bool abort = c->sa == PR_OUT_PREEMPT_AND_ABORT;
    bool lio = sim_dev(lun, PR_DEV_D6_PREEMPT_TYPE_ALWAYS_CHECKED);
    /* D6: LIO rejects a bad TYPE even where SPC ignores it. */
    if (lio && !pr_type_is_valid(c->type)) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return false;
    }
    struct sim_reg *reg = sim_reg_of(st, n);
    /* Unregistered or wrong key: RESERVATION CONFLICT (LIO agrees). */
    if (reg == NULL || c->rkey != reg->key) {
        sim_result_conflict(r);
        return false;
    }
    if (c->scope != PR_SCOPE_LU) {
        sim_result_bad_scope(lun, r);
        return false;
    }
    bool ar = pr_type_is_all_registrants(st->res_type);
    if (c->sakey == 0 && !ar) {
        /* SPC-4 5.14.11.4.1: S = 0 is only meaningful under AR. */
        sim_result_check(r, SENSE_INVALID_FIELD_IN_PARAM);
        return false;
    }
    if (ar && c->sakey == 0) {
        /* SPC-4 5.14.11.4.4: every other registration goes; the sender
         * takes a new reservation of the CDB's type. */
        if (!pr_type_is_valid(c->type)) {
            sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
            return false;
        }
        for (struct sim_reg *k = st->reg_head; k != NULL; k = k->next)
            k->doomed = k != reg;
        take_over(lun, n, reg, c, abort);
        sim_generation_add(st, 1);
        return true;
    }
    if (!key_registered(st, c->sakey)) {
        sim_result_conflict(r);
        return false;
    }
    bool preempts_holder = st->res_type != PR_TYPE_NONE && !ar && st->res_holder->key == c->sakey;
    /* D11: LIO's AR reservation has one designated holder; S equal to its
     * key preempts "the holder". */
    if (ar && sim_dev(lun, PR_DEV_D11_AR_PREEMPT_DESIGNATED_HOLDER) &&
        st->res_holder->key == c->sakey)
        preempts_holder = true;
    if (preempts_holder) {
        /* SPC-4 5.14.11.4.3: preempt the reservation. */
        if (!pr_type_is_valid(c->type)) {
            sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
            return false;
        }
        mark_key(st, c->sakey, reg, true);
        take_over(lun, n, reg, c, abort);
    } else {
        /* SPC-4 5.14.11.4.2 / .4.4: only registrations are removed (the
         * sender's too when it has key S, except under AR); the TYPE
         * field is ignored and the reservation is untouched. */
        mark_key(st, c->sakey, reg, ar);
        remove_marked(lun, n, abort);
    }
    sim_generation_add(st, 1);
    return true;
}
