/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * register.c - REGISTER (00h) and REGISTER AND IGNORE EXISTING KEY (06h):
 * new registrations (with ALL_TG_PT and SPEC_I_PT), key changes and
 * unregistration (SPC-4 5.14.7, 6.16.2; pr-semantics.md 3.4).
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* A growable list of I_T nexuses about to be registered. */
struct nexus_list {
    struct pr_sim_nexus *v;
    size_t n, cap;
};

static bool list_push(struct nexus_list *l, const struct pr_tid *tid, uint16_t rtpi)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct pr_sim_nexus *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return false;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
    l->v[l->n].initiator = *tid;
    l->v[l->n].rtpi = rtpi;
    l->n++;
    return true;
}

static bool list_contains(const struct nexus_list *l, const struct pr_tid *tid, uint16_t rtpi)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].rtpi == rtpi && pr_tid_equal(&l->v[i].initiator, tid))
            return true;
    return false;
}

/* Is this initiator port already registered through that target port? */
static bool is_registered(const struct pr_sim_lun *lun, const struct pr_tid *tid, uint16_t rtpi)
{
    struct pr_sim_nexus id;
    memset(&id, 0, sizeof(id));
    id.initiator = *tid;
    id.rtpi = rtpi;
    const struct sim_nexus *k = sim_nexus_find(&lun->st, &id);
    return k != NULL && k->reg != NULL;
}

enum add_result { ADD_OK, ADD_SKIP, ADD_INVALID, ADD_NOMEM };

/*
 * Add initiator tid on the receiving port, or with ALL_TG_PT on every
 * target port of its protocol (SPC-4 5.14.7: "all target ports").
 * skip_registered: drop nexuses already registered (the sender's own
 * ALL_TG_PT expansion, and LIO's D18) instead of failing.
 */
static enum add_result add_targets(const struct pr_sim_lun *lun, struct nexus_list *l,
                                   const struct pr_tid *tid, uint16_t receiving, bool all_tg_pt,
                                   bool skip_registered, bool sender)
{
    size_t before = l->n;
    bool any_port = false;
    for (size_t i = 0; i < lun->nports; i++) {
        const struct sim_port *p = &lun->ports[i];
        /* The sender's own port always carries it; other ports only when
         * they speak the initiator's protocol. */
        bool match = p->rtpi == receiving ? sender || p->proto == tid->proto
                                          : all_tg_pt && p->proto == tid->proto;
        if (!match)
            continue;
        any_port = true;
        if (is_registered(lun, tid, p->rtpi) || list_contains(l, tid, p->rtpi)) {
            if (skip_registered)
                continue;
            return ADD_INVALID;
        }
        if (!list_push(l, tid, p->rtpi))
            return ADD_NOMEM;
    }
    if (!any_port)
        return ADD_INVALID; /* no target port speaks this protocol */
    return l->n > before ? ADD_OK : ADD_SKIP;
}

/* Register every nexus of the list with key, all or nothing. */
static bool register_all(struct pr_sim_lun *lun, const struct nexus_list *l, uint64_t key,
                         bool all_tg_pt, struct pr_sim_result *r)
{
    struct sim_state *st = &lun->st;
    /* SPC-4 6.16.2: no room for the registrations -> 55h/04h. */
    if (lun->config.max_registrations != 0 &&
        st->nregs + l->n > lun->config.max_registrations) {
        sim_result_check(r, SENSE_INSUFFICIENT_REG_RESOURCES);
        return false;
    }
    for (size_t i = 0; i < l->n; i++) {
        struct sim_nexus *k = sim_nexus_get(st, &l->v[i]);
        if (k == NULL || sim_reg_add(st, k, key, all_tg_pt) == NULL) {
            /* Undo the ones added: all or nothing. */
            for (size_t j = 0; j <= i && j < l->n; j++) {
                struct sim_nexus *u = sim_nexus_find(st, &l->v[j]);
                if (u != NULL && u->reg != NULL)
                    sim_reg_remove(st, u->reg);
                sim_nexus_gc(st, u);
            }
            sim_result_check(r, SENSE_INSUFFICIENT_REG_RESOURCES);
            return false;
        }
    }
    /* SPC: +1 per command; LIO (D12): +1 per registration created. */
    sim_generation_add(st, sim_dev(lun, PR_DEV_D12_GENERATION_PER_REGISTRATION) ? l->n : 1);
    return true;
}

/*
 * An iSCSI format 00b TransportID names an initiator device (SPC-4
 * 7.6.4.6): register each of its ports this LU knows on the chosen target
 * ports, one registration per I_T nexus; on a target port where none of
 * its ports is known, one registration stands for all of them.  (LIO
 * keeps one registration per initiator name: D19, handled by the caller.)
 */
static enum add_result add_device_ports(const struct pr_sim_lun *lun, struct nexus_list *l,
                                        const struct pr_tid *device, uint16_t receiving,
                                        bool all_tg_pt, bool skip_registered)
{
    bool any_port = false;
    for (size_t i = 0; i < lun->nports; i++) {
        const struct sim_port *p = &lun->ports[i];
        if (p->proto != PR_TID_PROTO_ISCSI || (!all_tg_pt && p->rtpi != receiving))
            continue;
        any_port = true;
        bool found = false;
        for (const struct sim_nexus *k = lun->st.all_head; k != NULL; k = k->all_next) {
            if (k->id.rtpi != p->rtpi || !k->id.initiator.has_isid ||
                !pr_tid_same_device(&k->id.initiator, device))
                continue;
            found = true;
            if (k->reg != NULL || list_contains(l, &k->id.initiator, p->rtpi)) {
                if (skip_registered)
                    continue;
                return ADD_INVALID;
            }
            if (!list_push(l, &k->id.initiator, p->rtpi))
                return ADD_NOMEM;
        }
        if (found)
            continue;
        if (is_registered(lun, device, p->rtpi) || list_contains(l, device, p->rtpi)) {
            if (skip_registered)
                continue;
            return ADD_INVALID;
        }
        if (!list_push(l, device, p->rtpi))
            return ADD_NOMEM;
    }
    return any_port ? ADD_OK : ADD_INVALID;
}

/* SPEC_I_PT=1 (SPC-4 6.16.3, pr-semantics.md 3.4.1): the TransportIDs. */
static enum add_result add_spec_i_pt(const struct pr_sim_lun *lun, struct nexus_list *l,
                                     const struct sim_nexus *n, const struct sim_prout *c)
{
    if (c->plen < 28)
        return ADD_INVALID;
    uint32_t tidlen = scsi_get_be32(c->param + 24);
    if ((uint64_t)tidlen + 28 != c->plen)
        return ADD_INVALID;
    bool d18 = sim_dev(lun, PR_DEV_D18_SPEC_I_PT_SKIP_REGISTERED);
    size_t off = 28;
    while (off < c->plen) {
        struct pr_tid tid;
        size_t used;
        if (pr_tid_parse(c->param + off, c->plen - off, &tid, &used) < 0)
            return ADD_INVALID;
        off += used;
        enum add_result a;
        if (tid.proto == PR_TID_PROTO_ISCSI && !tid.has_isid &&
            !sim_dev(lun, PR_DEV_D19_NEXUS_BY_INITIATOR_NAME))
            a = add_device_ports(lun, l, &tid, n->id.rtpi, c->all_tg_pt, d18);
        else
            a = add_targets(lun, l, &tid, n->id.rtpi, c->all_tg_pt, d18, false);
        if (a == ADD_INVALID || a == ADD_NOMEM)
            return a;
    }
    return ADD_OK;
}

/* A new registration from an unregistered nexus (pr-semantics.md 3.4). */
static bool register_new(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                         struct pr_sim_result *r)
{
    struct nexus_list l = { NULL, 0, 0 };
    enum add_result a = add_targets(lun, &l, &n->id.initiator, n->id.rtpi, c->all_tg_pt, true, true);
    if (a == ADD_OK && c->spec_i_pt)
        a = add_spec_i_pt(lun, &l, n, c);
    bool ok = false;
    if (a == ADD_INVALID)
        sim_result_check(r, SENSE_INVALID_FIELD_IN_PARAM);
    else if (a != ADD_OK)
        sim_result_check(r, SENSE_INSUFFICIENT_REG_RESOURCES);
    else
        ok = register_all(lun, &l, c->sakey, c->all_tg_pt, r);
    free(l.v);
    if (ok)
        lun->st.aptpl = c->aptpl; /* SPC-4 5.14.5: last valid APTPL */
    return ok;
}

/* The other registrations of an ALL_TG_PT registration: same initiator
 * port, other target ports, made with ALL_TG_PT, with key `key`. */
static void mark_siblings(struct sim_state *st, const struct sim_reg *reg, uint64_t key)
{
    /* Only an ALL_TG_PT registration has siblings: skip the linear scan
     * otherwise (outside a command every doomed mark is false). */
    if (!reg->all_tg_pt)
        return;
    for (struct sim_reg *s = st->reg_head; s != NULL; s = s->next)
        s->doomed = s != reg && reg->all_tg_pt && s->all_tg_pt && s->key == key &&
                    pr_tid_equal(&s->nexus->id.initiator, &reg->nexus->id.initiator);
}

/* Key change (S != 0 from a registered nexus). */
static void change_key(struct pr_sim_lun *lun, struct sim_reg *reg, const struct sim_prout *c)
{
    struct sim_state *st = &lun->st;
    /* SPC: an ALL_TG_PT registration is one registration for all its
     * nexuses; LIO changes only the sender's. */
    if (!sim_dev(lun, PR_DEV_D13_RIEK_LEAVES_SIBLINGS) && reg->all_tg_pt) {
        mark_siblings(st, reg, reg->key);
        for (struct sim_reg *s = st->reg_head; s != NULL; s = s->next)
            if (s->doomed) {
                s->key = c->sakey;
                s->doomed = false;
            }
    }
    /* The reservation stays with the nexus and now shows the new key. */
    reg->key = c->sakey;
    sim_generation_add(st, 1);
    st->aptpl = c->aptpl;
}

/* Unregister (S = 0 from a registered nexus), pr-semantics.md 3.4.2. */
static bool unregister(struct pr_sim_lun *lun, struct sim_nexus *n, struct sim_reg *reg,
                       const struct sim_prout *c, struct pr_sim_result *r)
{
    struct sim_state *st = &lun->st;
    bool lio = sim_dev(lun, PR_DEV_D13_RIEK_LEAVES_SIBLINGS);
    /* LIO removes only siblings whose key equals the RESERVATION KEY
     * field, which RIEK leaves 0 (D13); SPC removes them all. */
    mark_siblings(st, reg, lio ? c->rkey : reg->key);
    if (lio && reg->all_tg_pt && !pr_type_is_all_registrants(st->res_type) &&
        st->res_holder != NULL && st->res_holder != reg) {
        /* LIO will not drop a sibling that holds the reservation. */
        for (const struct sim_reg *s = st->reg_head; s != NULL; s = s->next)
            if (s->all_tg_pt && s != reg && s->key == reg->key && st->res_holder == s &&
                pr_tid_equal(&s->nexus->id.initiator, &reg->nexus->id.initiator)) {
                for (struct sim_reg *t = st->reg_head; t != NULL; t = t->next)
                    t->doomed = false;
                sim_result_conflict(r);
                return false;
            }
    }
    reg->doomed = true;
    unsigned type = st->res_type;
    bool released = !pr_type_is_all_registrants(type) && st->res_holder != NULL &&
                    st->res_holder->doomed;
    if (!reg->all_tg_pt) {
        sim_reg_remove_gc(st, reg, n); /* no siblings: O(1) */
    } else {
        struct sim_reg *s = st->reg_head;
        while (s != NULL) {
            struct sim_reg *next = s->next;
            if (s->doomed)
                sim_reg_remove_gc(st, s, n);
            s = next;
        }
    }
    /* SPC-4 5.14.11.2.3: the holder's unregistration releases a
     * registrants-only reservation with RESERVATIONS RELEASED to every
     * remaining registrant; WE/EA release silently; an all-registrants
     * reservation continues while one registrant is left. */
    if (released && (type == PR_TYPE_WE_RO || type == PR_TYPE_EA_RO))
        for (const struct sim_reg *k = st->reg_head; k != NULL; k = k->next)
            sim_ua_for_reg(lun, k, SENSE_UA_RESERVATIONS_RELEASED);
    /* SPC-4 6.15.2: unregistration bumps PRgeneration; LIO does not (D14). */
    if (!sim_dev(lun, PR_DEV_D14_NO_GENERATION_ON_UNREGISTER))
        sim_generation_add(st, 1);
    st->aptpl = c->aptpl;
    return true;
}

bool sim_register(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                  struct pr_sim_result *r)
{
    struct sim_reg *reg = sim_reg_of(&lun->st, n);
    bool ignore_key = c->sa == PR_OUT_REGISTER_AND_IGNORE;
    if (reg == NULL) {
        /* SPC-4 5.14.7: an unregistered nexus must send RESERVATION KEY 0
         * (REGISTER AND IGNORE EXISTING KEY ignores it). */
        if (!ignore_key && c->rkey != 0) {
            sim_result_conflict(r);
            return false;
        }
        /* S = 0 from an unregistered nexus: GOOD, nothing happens. */
        if (c->sakey == 0)
            return false;
        return register_new(lun, n, c, r);
    }
    if (!ignore_key && c->rkey != reg->key) {
        sim_result_conflict(r);
        return false;
    }
    /* SPC-4 6.16.3: SPEC_I_PT from a registered nexus is invalid. */
    if (c->spec_i_pt) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_PARAM);
        return false;
    }
    /* D10: LIO insists the ALL_TG_PT bit matches the registration's. */
    if (sim_dev(lun, PR_DEV_D10_ALL_TG_PT_MUST_MATCH) && reg->all_tg_pt && !c->all_tg_pt) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return false;
    }
    if (c->sakey != 0) {
        change_key(lun, reg, c);
        return true;
    }
    return unregister(lun, n, reg, c, r);
}
