/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ua.c - unit attention queues (SAM-5 5.14, SPC-4 5.14.11, section 6 of
 * pr-semantics.md).  A UA is established per I_T nexus, reported once as
 * CHECK CONDITION on that nexus' next command, then cleared.
 */
#include <string.h>

#include "sim_internal.h"

void sim_ua_queue(struct sim_nexus *n, struct scsi_sense ua)
{
    /* The same condition twice is one condition: report it once. */
    for (unsigned i = 0; i < n->ua_count; i++)
        if (scsi_sense_equal(n->ua[(n->ua_head + i) % SIM_UA_MAX], ua))
            return;
    if (n->ua_count == SIM_UA_MAX)
        return; /* queue full: the oldest conditions are kept */
    n->ua[(n->ua_head + n->ua_count) % SIM_UA_MAX] = ua;
    n->ua_count++;
}

bool sim_ua_pop(struct sim_nexus *n, struct scsi_sense *ua)
{
    if (n->ua_count == 0)
        return false;
    *ua = n->ua[n->ua_head];
    n->ua_head = (n->ua_head + 1) % SIM_UA_MAX;
    n->ua_count--;
    return true;
}

/* Does known nexus k stand under pattern nexus p (same target port, and
 * same initiator port or, for a device-wide pattern, same device)? */
static bool nexus_matches(const struct sim_nexus *p, const struct sim_nexus *k, bool by_device)
{
    if (p->id.rtpi != k->id.rtpi)
        return false;
    return by_device ? pr_tid_same_device(&p->id.initiator, &k->id.initiator)
                     : pr_tid_equal(&p->id.initiator, &k->id.initiator);
}

void sim_ua_for_nexus(struct pr_sim_lun *lun, struct sim_nexus *n, struct scsi_sense ua)
{
    const struct pr_tid *t = &n->id.initiator;
    /* A name-only iSCSI registration stands for every port of that
     * initiator device (SPC-4 7.6.4.6); LIO keys UAs by initiator name
     * and mapped LUN rather than by port (D19). */
    bool device_wide = t->proto == PR_TID_PROTO_ISCSI &&
                       (!t->has_isid || sim_dev(lun, PR_DEV_D19_NEXUS_BY_INITIATOR_NAME));
    if (!device_wide) {
        sim_ua_queue(n, ua);
        return;
    }
    if (t->has_isid)
        sim_ua_queue(n, ua);
    for (struct sim_nexus *k = lun->st.all_head; k != NULL; k = k->all_next)
        if (k != n && k->id.initiator.has_isid && nexus_matches(n, k, true))
            sim_ua_queue(k, ua);
}

void sim_ua_for_reg(struct pr_sim_lun *lun, const struct sim_reg *r, struct scsi_sense ua)
{
    sim_ua_for_nexus(lun, r->nexus, ua);
}
