/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * execute.c - one command through the device server, in the order LIO
 * and SAM use (pr-semantics.md 3.3): malformed CDB, pending unit
 * attention, reservation conflict, then the command itself.
 */
#include <string.h>

#include "sim_internal.h"

void sim_result_check(struct pr_sim_result *r, struct scsi_sense s)
{
    r->status = SCSI_STATUS_CHECK_CONDITION;
    r->sense = s;
    r->data_len = 0;
}

void sim_result_conflict(struct pr_sim_result *r)
{
    r->status = SCSI_STATUS_RESERVATION_CONFLICT;
    r->sense = SENSE_NONE;
    r->data_len = 0;
}

void sim_result_unregistered(const struct pr_sim_lun *lun, struct pr_sim_result *r)
{
    if (sim_dev(lun, PR_DEV_D8_UNREGISTERED_NOT_READY))
        sim_result_check(r, SENSE_LUN_COMM_FAILURE);
    else
        sim_result_conflict(r);
}

struct sim_reg *sim_sender_registration(const struct pr_sim_lun *lun, const struct sim_nexus *n,
                                        uint64_t rkey, struct pr_sim_result *r)
{
    struct sim_reg *reg = sim_reg_of(&lun->st, n);
    if (reg == NULL) {
        sim_result_unregistered(lun, r);
        return NULL;
    }
    if (rkey != reg->key) {
        sim_result_conflict(r);
        return NULL;
    }
    return reg;
}

void sim_result_bad_scope(const struct pr_sim_lun *lun, struct pr_sim_result *r)
{
    sim_result_check(r, sim_dev(lun, PR_DEV_D5_SCOPE_IN_PARAM_LIST) ? SENSE_INVALID_FIELD_IN_PARAM
                                                                   : SENSE_INVALID_FIELD_IN_CDB);
}

/* REQUEST SENSE (SPC-4 6.29) hands over a pending UA as its data. */
static void request_sense(struct sim_nexus *n, const uint8_t *cdb, uint8_t *data_in,
                          size_t data_in_len, struct pr_sim_result *r)
{
    struct scsi_sense s = SENSE_NONE;
    uint8_t sense[SCSI_SENSE_FIXED_LEN];
    sim_ua_pop(n, &s);
    bool desc = (cdb[1] & 0x01) != 0; /* DESC bit */
    size_t len = scsi_sense_build(sense, sizeof(sense), s, desc);
    size_t n_out = len;
    if (n_out > cdb[4])
        n_out = cdb[4];
    if (n_out > data_in_len)
        n_out = data_in_len;
    if (n_out > 0)
        memcpy(data_in, sense, n_out);
    r->data_len = (uint32_t)n_out;
}

void pr_sim_execute(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus,
                    const uint8_t *cdb, size_t cdb_len,
                    const uint8_t *data_out, size_t data_out_len,
                    uint8_t *data_in, size_t data_in_len,
                    struct pr_sim_result *r)
{
    memset(r, 0, sizeof(*r));
    if (data_in == NULL)
        data_in_len = 0;
    if (data_out == NULL)
        data_out_len = 0;
    if (cdb == NULL || cdb_len < 6) {
        sim_result_check(r, SENSE_INVALID_OPCODE);
        return;
    }
    uint8_t op = cdb[0];
    if ((op == SCSI_OP_PERSISTENT_RESERVE_IN || op == SCSI_OP_PERSISTENT_RESERVE_OUT) &&
        cdb_len < 10) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return;
    }
    /* Target ports come into being as nexuses use them. */
    if (sim_port_find(lun, nexus->rtpi) == NULL &&
        pr_sim_lun_add_port(lun, nexus->rtpi, (enum pr_tid_protocol)nexus->initiator.proto) < 0) {
        sim_result_check(r, SENSE_INTERNAL_TARGET_FAILURE);
        return;
    }
    struct sim_nexus *n = sim_nexus_get(&lun->st, nexus);
    if (n == NULL) {
        /* Invalid initiator TransportID or out of memory. */
        sim_result_check(r, SENSE_INTERNAL_TARGET_FAILURE);
        return;
    }

    /* SAM-5 5.14: a pending UA is reported on any command but INQUIRY
     * and REPORT LUNS; REQUEST SENSE returns it as data. */
    if (op == SCSI_OP_REQUEST_SENSE) {
        request_sense(n, cdb, data_in, data_in_len, r);
        return;
    }
    if (op != SCSI_OP_INQUIRY && op != SCSI_OP_REPORT_LUNS) {
        struct scsi_sense ua;
        if (sim_ua_pop(n, &ua)) {
            sim_result_check(r, ua);
            return;
        }
    }

    if (sim_check_access(lun, n, cdb, cdb_len) != SCSI_STATUS_GOOD) {
        sim_result_conflict(r);
        return;
    }

    switch (op) {
    case SCSI_OP_PERSISTENT_RESERVE_IN:
        sim_pr_in(lun, n, cdb, data_in, data_in_len, r);
        break;
    case SCSI_OP_PERSISTENT_RESERVE_OUT:
        sim_pr_out(lun, n, cdb, data_out, data_out_len, r);
        break;
    case SCSI_OP_RESERVE6:
    case SCSI_OP_RESERVE10:
    case SCSI_OP_RELEASE6:
    case SCSI_OP_RELEASE10:
        sim_spc2_reserve_release(lun, n, cdb, cdb_len, r);
        break;
    default:
        /* The simulator models reservations, not a medium: any other
         * command that passes the checks succeeds. */
        break;
    }
    /* The nexus stays known (for POWER ON RESET and the like) until the
     * transport reports its loss: pr_sim_nexus_loss(). */
}

uint8_t pr_sim_check_access(const struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus,
                            const uint8_t *cdb, size_t cdb_len)
{
    if (cdb == NULL || cdb_len < 6)
        return SCSI_STATUS_GOOD;
    struct sim_nexus *n = sim_nexus_find(&lun->st, nexus);
    if (n == NULL) {
        /* A nexus the LUN never heard of holds nothing: judge it as an
         * unregistered stranger. */
        struct sim_nexus stranger;
        memset(&stranger, 0, sizeof(stranger));
        stranger.id = *nexus;
        return sim_check_access(lun, &stranger, cdb, cdb_len);
    }
    return sim_check_access(lun, n, cdb, cdb_len);
}
