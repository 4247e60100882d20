/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * move.c - REGISTER AND MOVE (07h): SPC-4 5.14.8, 6.16.4;
 * pr-semantics.md 3.9.  The holder of a non-AR reservation hands it to
 * another I_T nexus, registering that nexus with the given key.
 */
#include <string.h>

#include "sim_internal.h"

bool sim_register_and_move(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                           struct pr_sim_result *r)
{
    struct sim_state *st = &lun->st;
    struct sim_reg *reg = sim_sender_registration(lun, n, c->rkey, r);
    if (reg == NULL)
        return false;
    /* SPC-4 6.16.4: the destination needs a key. */
    if (c->sakey == 0) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_PARAM);
        return false;
    }
    uint16_t rtpi = scsi_get_be16(c->param + 18);
    uint32_t tidlen = scsi_get_be32(c->param + 20);
    if ((uint64_t)tidlen + 24 != c->plen) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_PARAM);
        return false;
    }
    const struct sim_port *port = sim_port_find(lun, rtpi);
    struct pr_sim_nexus dest;
    memset(&dest, 0, sizeof(dest));
    size_t used;
    /* The RTPI must name a port of this LU, and the TransportID (exactly
     * one) an initiator port of that port's protocol. */
    if (port == NULL || pr_tid_parse(c->param + 24, tidlen, &dest.initiator, &used) < 0 ||
        used != tidlen || dest.initiator.proto != port->proto) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_PARAM);
        return false;
    }
    dest.rtpi = rtpi;
    /* SPC-4 5.14.8: moving to the nexus the command came on is invalid.
     * LIO compares initiator ports only, whatever the target port (D19). */
    bool same = sim_dev(lun, PR_DEV_D19_NEXUS_BY_INITIATOR_NAME)
                    ? pr_tid_equal(&dest.initiator, &n->id.initiator)
                    : (pr_tid_equal(&dest.initiator, &n->id.initiator) && rtpi == n->id.rtpi);
    if (same) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_PARAM);
        return false;
    }
    if (st->res_type == PR_TYPE_NONE) {
        /* The sender holds nothing to move: conflict; LIO says INVALID
         * FIELD IN CDB (D20). */
        if (sim_dev(lun, PR_DEV_D20_MOVE_WITHOUT_RESERVATION_INVALID))
            sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        else
            sim_result_conflict(r);
        return false;
    }
    /* Only the holder of a non-AR reservation may move it. */
    if (pr_type_is_all_registrants(st->res_type) || st->res_holder != reg) {
        sim_result_conflict(r);
        return false;
    }
    struct sim_nexus *d = sim_nexus_get(st, &dest);
    if (d == NULL) {
        sim_result_check(r, SENSE_INSUFFICIENT_REG_RESOURCES);
        return false;
    }
    struct sim_reg *dreg = d->reg;
    if (dreg == NULL) {
        if ((lun->config.max_registrations != 0 && st->nregs >= lun->config.max_registrations) ||
            (dreg = sim_reg_add(st, d, c->sakey, false)) == NULL) {
            sim_nexus_gc(st, d);
            sim_result_check(r, SENSE_INSUFFICIENT_REG_RESOURCES);
            return false;
        }
    } else {
        /* Already registered: its key becomes S. */
        dreg->key = c->sakey;
    }
    /* The reservation moves with its type and scope; no UA is set. */
    st->res_holder = dreg;
    if (c->unreg)
        sim_reg_remove_gc(st, reg, n);
    sim_generation_add(st, 1);
    st->aptpl = c->aptpl;
    return true;
}
