/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.c - the LUN's mutable state: known nexuses (hash table), the
 * registration list, the reservation, and a deep copy for rollback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define SIM_MIN_BUCKETS 64

void sim_state_init(struct sim_state *st)
{
    memset(st, 0, sizeof(*st));
    st->res_type = PR_TYPE_NONE;
}

void sim_state_destroy(struct sim_state *st)
{
    struct sim_reg *r = st->reg_head;
    while (r != NULL) {
        struct sim_reg *next = r->next;
        free(r);
        r = next;
    }
    struct sim_nexus *n = st->all_head;
    while (n != NULL) {
        struct sim_nexus *next = n->all_next;
        free(n);
        n = next;
    }
    free(st->buckets);
    sim_state_init(st);
}

/* FNV-1a over the canonical TransportID and the RTPI. */
static uint64_t nexus_hash(const uint8_t *tid, size_t len, uint16_t rtpi)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= tid[i];
        h *= 0x100000001b3ull;
    }
    h ^= rtpi;
    h *= 0x100000001b3ull;
    h ^= (uint64_t)rtpi >> 8;
    h *= 0x100000001b3ull;
    return h;
}

static int grow_buckets(struct sim_state *st)
{
    size_t nb = st->nbuckets ? st->nbuckets * 2 : SIM_MIN_BUCKETS;
    struct sim_nexus **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    for (struct sim_nexus *n = st->all_head; n != NULL; n = n->all_next) {
        size_t i = (size_t)(n->hash & (nb - 1));
        n->hash_next = b[i];
        b[i] = n;
    }
    free(st->buckets);
    st->buckets = b;
    st->nbuckets = nb;
    return 0;
}

static struct sim_nexus *find_canonical(const struct sim_state *st, const uint8_t *tid,
                                        size_t len, uint16_t rtpi, uint64_t h)
{
    if (st->nbuckets == 0)
        return NULL;
    for (struct sim_nexus *n = st->buckets[h & (st->nbuckets - 1)]; n != NULL; n = n->hash_next)
        if (n->hash == h && n->id.rtpi == rtpi && n->tid_len == len && memcmp(n->tid, tid, len) == 0)
            return n;
    return NULL;
}

struct sim_nexus *sim_nexus_find(const struct sim_state *st, const struct pr_sim_nexus *id)
{
    uint8_t tid[PR_TID_MAX_LEN];
    size_t len = pr_tid_build(&id->initiator, tid, sizeof(tid));
    if (len == 0)
        return NULL;
    return find_canonical(st, tid, len, id->rtpi, nexus_hash(tid, len, id->rtpi));
}

struct sim_nexus *sim_nexus_get(struct sim_state *st, const struct pr_sim_nexus *id)
{
    uint8_t tid[PR_TID_MAX_LEN];
    size_t len = pr_tid_build(&id->initiator, tid, sizeof(tid));
    if (len == 0 || id->rtpi == 0)
        return NULL;
    uint64_t h = nexus_hash(tid, len, id->rtpi);
    struct sim_nexus *n = find_canonical(st, tid, len, id->rtpi, h);
    if (n != NULL)
        return n;
    /* Keep the load factor at or under 1 so lookups stay O(1). */
    if (st->nnexus + 1 > st->nbuckets && grow_buckets(st) < 0)
        return NULL;
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->hash = h;
    /* Store the identity as parsed back from its canonical bytes, so two
     * spellings of one port (ISID case, padding) are one nexus. */
    size_t used;
    if (pr_tid_parse(tid, len, &n->id.initiator, &used) < 0) {
        free(n);
        return NULL;
    }
    n->id.rtpi = id->rtpi;
    memcpy(n->tid, tid, len);
    n->tid_len = (uint16_t)len;
    size_t i = (size_t)(h & (st->nbuckets - 1));
    n->hash_next = st->buckets[i];
    st->buckets[i] = n;
    n->all_next = st->all_head;
    if (st->all_head != NULL)
        st->all_head->all_prev = n;
    st->all_head = n;
    st->nnexus++;
    return n;
}

void sim_nexus_gc(struct sim_state *st, struct sim_nexus *n)
{
    if (n == NULL || n->reg != NULL || n->ua_count != 0 || st->spc2_holder == n)
        return;
    struct sim_nexus **pp = &st->buckets[n->hash & (st->nbuckets - 1)];
    while (*pp != n)
        pp = &(*pp)->hash_next;
    *pp = n->hash_next;
    if (n->all_prev != NULL)
        n->all_prev->all_next = n->all_next;
    else
        st->all_head = n->all_next;
    if (n->all_next != NULL)
        n->all_next->all_prev = n->all_prev;
    st->nnexus--;
    free(n);
}

struct sim_reg *sim_reg_of(const struct sim_state *st, const struct sim_nexus *n)
{
    if (n->reg != NULL)
        return n->reg;
    if (n->id.initiator.proto != PR_TID_PROTO_ISCSI || !n->id.initiator.has_isid)
        return NULL;
    /* SPC-4 7.6.4.6: a format 00b iSCSI TransportID names the initiator
     * device, i.e. every one of its ports. */
    struct pr_sim_nexus device = n->id;
    device.initiator.has_isid = false;
    device.initiator.format = 0;
    memset(device.initiator.isid, 0, sizeof(device.initiator.isid));
    const struct sim_nexus *d = sim_nexus_find(st, &device);
    return d != NULL ? d->reg : NULL;
}

struct sim_reg *sim_reg_add(struct sim_state *st, struct sim_nexus *n, uint64_t key, bool all_tg_pt)
{
    struct sim_reg *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->nexus = n;
    r->key = key;
    r->all_tg_pt = all_tg_pt;
    r->prev = st->reg_tail;
    if (st->reg_tail != NULL)
        st->reg_tail->next = r;
    else
        st->reg_head = r;
    st->reg_tail = r;
    st->nregs++;
    st->full_status_len += sizeof(struct scsi_pr_in_full_status_desc) + n->tid_len;
    n->reg = r;
    return r;
}

void sim_release(struct sim_state *st)
{
    st->res_type = PR_TYPE_NONE;
    st->res_scope = 0;
    st->res_holder = NULL;
}

void sim_reg_remove(struct sim_state *st, struct sim_reg *r)
{
    if (st->res_holder == r) {
        if (pr_type_is_all_registrants(st->res_type)) {
            /* SPC-4 5.14.10: an all-registrants reservation lives as long
             * as one registrant does.  LIO hands its single holder pointer
             * to the first remaining registration (visible only in D11). */
            struct sim_reg *next = st->reg_head == r ? r->next : st->reg_head;
            if (next != NULL)
                st->res_holder = next;
            else
                sim_release(st);
        } else {
            sim_release(st);
        }
    }
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        st->reg_head = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    else
        st->reg_tail = r->prev;
    st->nregs--;
    st->full_status_len -= sizeof(struct scsi_pr_in_full_status_desc) + r->nexus->tid_len;
    r->nexus->reg = NULL;
    free(r);
}

void sim_reg_remove_gc(struct sim_state *st, struct sim_reg *r, const struct sim_nexus *sender)
{
    struct sim_nexus *n = r->nexus;
    sim_reg_remove(st, r);
    if (n != sender)
        sim_nexus_gc(st, n);
}

bool sim_is_holder(const struct sim_state *st, const struct sim_reg *r)
{
    if (r == NULL || st->res_type == PR_TYPE_NONE)
        return false;
    return pr_type_is_all_registrants(st->res_type) || st->res_holder == r;
}

int sim_state_clone(const struct sim_state *src, struct sim_state *dst)
{
    sim_state_init(dst);
    dst->res_type = src->res_type;
    dst->res_scope = src->res_scope;
    dst->generation = src->generation;
    dst->aptpl = src->aptpl;
    /* Nexuses first (same identity, same UAs), then registrations in
     * their order; pointers are remapped through the new nexuses. */
    for (const struct sim_nexus *n = src->all_head; n != NULL; n = n->all_next) {
        struct sim_nexus *c = sim_nexus_get(dst, &n->id);
        if (c == NULL)
            goto fail;
        memcpy(c->ua, n->ua, sizeof(c->ua));
        c->ua_head = n->ua_head;
        c->ua_count = n->ua_count;
        if (src->spc2_holder == n)
            dst->spc2_holder = c;
    }
    for (const struct sim_reg *r = src->reg_head; r != NULL; r = r->next) {
        struct sim_nexus *c = sim_nexus_find(dst, &r->nexus->id);
        struct sim_reg *cr = c != NULL ? sim_reg_add(dst, c, r->key, r->all_tg_pt) : NULL;
        if (cr == NULL)
            goto fail;
        if (src->res_holder == r)
            dst->res_holder = cr;
    }
    return 0;
fail:
    sim_state_destroy(dst);
    return -ENOMEM;
}
