/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spc2.c - SPC-2 RESERVE(6/10) / RELEASE(6/10) beside persistent
 * reservations (SPC-4 5.14.4 "exceptions to SPC-2 RESERVE and RELEASE",
 * pr-semantics.md section 8).  The conflict cases are decided earlier,
 * in conflict.c; here the command takes effect.
 */
#include "sim_internal.h"

void sim_spc2_reserve_release(struct pr_sim_lun *lun, struct sim_nexus *n, const uint8_t *cdb,
                              size_t cdb_len, struct pr_sim_result *r)
{
    struct sim_state *st = &lun->st;
    bool reserve = cdb[0] == SCSI_OP_RESERVE6 || cdb[0] == SCSI_OP_RESERVE10;
    (void)cdb_len;
    /* LIO refuses LONGID together with the obsolete EXTENT bit. */
    if (reserve && sim_dev(lun, PR_DEV_D17_LIO_CONFLICT_ALGORITHM) && (cdb[1] & 0x03) == 0x03) {
        sim_result_check(r, SENSE_INVALID_OPCODE);
        return;
    }
    /* With registrations present, a command that got this far is from the
     * holder or a registrant of an RO/AR type: GOOD, no effect. */
    if (st->nregs != 0)
        return;
    if (reserve) {
        /* Another nexus' SPC-2 reservation was refused in conflict.c. */
        st->spc2_holder = n;
        return;
    }
    /* SPC-2 7.17: RELEASE from a non-holder is GOOD and does nothing. */
    if (st->spc2_holder == n)
        st->spc2_holder = NULL;
}
