/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conflict.c - which commands a reservation lets through.
 *
 * spc4 profile: the per-command table of SPC-4 5.14.3 and SBC-3 4.18.2
 * (pr-semantics.md section 5).  lio profile (D17): LIO's explicit list
 * followed by a fall-back on the command's data direction (section 5.1).
 * SPC-2 RESERVE(6/10) reservations are checked first (section 8).
 */
#include <string.h>

#include "sim_internal.h"

/* How a command fares under a reservation it does not hold. */
enum access_class {
    ACC_ALWAYS,     /* allowed under every type */
    ACC_READ,       /* A C A A C: conflicts under EA and EA_xx-unregistered */
    ACC_WRITE,      /* C C A C C: only registrants of RO/AR types */
    ACC_PR_OUT,     /* decided by the service action */
};

/* MAINTENANCE IN (A3h) service actions that report identity (always). */
static bool maint_in_always(uint8_t sa)
{
    switch (sa) {
    case 0x05: /* REPORT IDENTIFYING INFORMATION */
    case 0x0a: /* REPORT TARGET PORT GROUPS */
    case 0x0b: /* REPORT ALIASES */
    case 0x0e: /* REPORT PRIORITY */
    case 0x0f: /* REPORT TIMESTAMP */
        return true;
    default:
        return false;
    }
}

/* MAINTENANCE IN service actions in the MODE SENSE class. */
static bool maint_in_read(uint8_t sa)
{
    return sa == 0x0c /* REPORT SUPPORTED OPERATION CODES */ ||
           sa == 0x0d /* REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS */ ||
           sa == 0x10 /* MANAGEMENT PROTOCOL IN */;
}

/* SPC-4 5.14.3 table 63 and SBC-3 table 13, as pr-semantics.md section 5. */
static enum access_class spc4_class(const uint8_t *cdb, size_t len)
{
    uint8_t op = cdb[0];
    switch (op) {
    case 0x00: /* TEST UNIT READY (ALLOW COMMANDS = 001b) */
    case 0x03: /* REQUEST SENSE */
    case 0x12: /* INQUIRY */
    case 0x25: /* READ CAPACITY(10) */
    case 0x4d: /* LOG SENSE */
    case 0x5e: /* PERSISTENT RESERVE IN */
    case 0x86: /* ACCESS CONTROL IN */
    case 0x87: /* ACCESS CONTROL OUT */
    case 0xa0: /* REPORT LUNS */
        return ACC_ALWAYS;
    case 0xab: /* SERVICE ACTION IN(12): READ MEDIA SERIAL NUMBER */
        return (cdb[1] & 0x1f) == 0x01 ? ACC_ALWAYS : ACC_WRITE;
    case 0x9e: /* SERVICE ACTION IN(16) */
        switch (cdb[1] & 0x1f) {
        case 0x10: return ACC_ALWAYS; /* READ CAPACITY(16) */
        case 0x11: /* READ LONG(16) */
        case 0x12: /* GET LBA STATUS */
            return ACC_READ;
        default: return ACC_WRITE;
        }
    case 0xa3: /* MAINTENANCE IN */
        if (maint_in_always(cdb[1] & 0x1f))
            return ACC_ALWAYS;
        return maint_in_read(cdb[1] & 0x1f) ? ACC_READ : ACC_WRITE;
    case 0x1a: case 0x5a: /* MODE SENSE(6/10) */
    case 0x8c: /* READ ATTRIBUTE */
    case 0x3c: /* READ BUFFER */
    case 0x1c: /* RECEIVE DIAGNOSTIC RESULTS */
    case 0xa2: /* SECURITY PROTOCOL IN */
    case 0x08: case 0x28: case 0xa8: case 0x88: /* READ(6/10/12/16) */
    case 0x2f: case 0xaf: case 0x8f: /* VERIFY(10/12/16) */
    case 0x34: case 0x90: /* PRE-FETCH(10/16) */
    case 0x37: case 0xb7: /* READ DEFECT DATA(10/12) */
    case 0x3e: /* READ LONG(10) */
        return ACC_READ;
    case 0x7f: /* variable length CDB: READ(32) 0009h, VERIFY(32) 000Ah */
        if (len >= 10) {
            uint16_t sa = scsi_get_be16(cdb + 8);
            if (sa == 0x0009 || sa == 0x000a)
                return ACC_READ;
        }
        return ACC_WRITE;
    case 0x1b: /* START STOP UNIT: START=1 with POWER CONDITION 0 is allowed */
        return ((cdb[4] & 0x01) && (cdb[4] & 0xf0) == 0) ? ACC_ALWAYS : ACC_WRITE;
    case 0x1e: /* PREVENT ALLOW MEDIUM REMOVAL: PREVENT=0 is allowed */
        return (cdb[4] & 0x03) == 0 ? ACC_ALWAYS : ACC_WRITE;
    case 0x5f:
        return ACC_PR_OUT;
    default:
        /* Every other command (MODE SELECT, WRITE*, SYNCHRONIZE CACHE,
         * FORMAT UNIT, SANITIZE, ... and unknown opcodes) modifies. */
        return ACC_WRITE;
    }
}

bool sim_conflict_registered(const struct pr_sim_lun *lun, const struct sim_nexus *n)
{
    if (sim_reg_of(&lun->st, n) != NULL)
        return true;
    if (!sim_dev(lun, PR_DEV_D19_NEXUS_BY_INITIATOR_NAME))
        return false;
    /* D19: LIO marks the (initiator name, mapped LUN) registered, so any
     * session of a registered initiator name on this port counts. */
    for (const struct sim_reg *r = lun->st.reg_head; r != NULL; r = r->next)
        if (r->nexus->id.rtpi == n->id.rtpi &&
            pr_tid_same_device(&r->nexus->id.initiator, &n->id.initiator))
            return true;
    return false;
}

/* PR OUT from a non-holder (pr-semantics.md section 5, last table). */
static bool prout_allowed(uint8_t sa, bool registered)
{
    switch (sa) {
    case PR_OUT_REGISTER:
    case PR_OUT_REGISTER_AND_IGNORE:
        return true;
    case PR_OUT_RELEASE:
    case PR_OUT_CLEAR:
    case PR_OUT_PREEMPT:
    case PR_OUT_PREEMPT_AND_ABORT:
        return registered;
    case PR_OUT_RESERVE:
    case PR_OUT_REGISTER_AND_MOVE:
        return false;
    default:
        /* Unknown service actions are let through to be rejected as an
         * invalid field, not as a conflict. */
        return true;
    }
}

static uint8_t spc4_access(unsigned type, bool registered, const uint8_t *cdb, size_t len)
{
    enum access_class c = spc4_class(cdb, len);
    switch (c) {
    case ACC_ALWAYS:
        return SCSI_STATUS_GOOD;
    case ACC_PR_OUT:
        return prout_allowed(cdb[1] & 0x1f, registered) ? SCSI_STATUS_GOOD
                                                        : SCSI_STATUS_RESERVATION_CONFLICT;
    default:
        break;
    }
    if (registered && pr_type_is_registrants(type))
        return SCSI_STATUS_GOOD; /* registrants get full access */
    if (c == ACC_READ && pr_type_is_write_exclusive(type))
        return SCSI_STATUS_GOOD; /* reads pass Write Exclusive types */
    return SCSI_STATUS_RESERVATION_CONFLICT;
}

/* LIO's core_scsi3_pr_seq_non_holder() as pr-semantics.md 5.1 states it. */
static uint8_t lio_access(unsigned type, bool registered, const uint8_t *cdb, size_t len)
{
    uint8_t op = cdb[0];
    uint8_t sa = cdb[1] & 0x1f;
    bool we = pr_type_is_write_exclusive(type);
    switch (op) {
    /* 1. allowed for everyone */
    case 0x12: case 0x4d: case 0x25: case 0xa0: case 0x03: case 0x5e: case 0x86: case 0x87:
    case 0x00: case 0x16: case 0x17: case 0x56: case 0x57:
        return SCSI_STATUS_GOOD;
    case 0xab:
        if (sa == 0x01)
            return SCSI_STATUS_GOOD;
        break;
    /* 2. allowed if registered, else only under Write Exclusive types */
    case 0x1a: case 0x5a: case 0x8c: case 0x3c: case 0x1c: case 0xa2:
        if (registered || we)
            return SCSI_STATUS_GOOD;
        break;
    case 0xa3:
        if (maint_in_always(sa))
            return SCSI_STATUS_GOOD;
        if (maint_in_read(sa) && (registered || we))
            return SCSI_STATUS_GOOD;
        return SCSI_STATUS_RESERVATION_CONFLICT;
    /* 3. PERSISTENT RESERVE OUT */
    case 0x5f:
        switch (sa) {
        case PR_OUT_REGISTER:
        case PR_OUT_REGISTER_AND_IGNORE:
            return SCSI_STATUS_GOOD;
        case PR_OUT_CLEAR:
        case PR_OUT_PREEMPT:
        case PR_OUT_PREEMPT_AND_ABORT:
        case PR_OUT_RELEASE:
            if (registered)
                return SCSI_STATUS_GOOD;
            break;
        default:
            break; /* RESERVE, REGISTER AND MOVE: step 4 decides */
        }
        break;
    default:
        break;
    }
    /* 4. the fall-back on data direction */
    enum scsi_data_dir dir = scsi_cdb_data_direction(cdb, len);
    if (we && !registered)
        return dir == SCSI_DIR_TO_DEVICE ? SCSI_STATUS_RESERVATION_CONFLICT : SCSI_STATUS_GOOD;
    if (pr_type_is_registrants(type) && registered)
        return SCSI_STATUS_GOOD;
    if (type == PR_TYPE_WE && registered)
        return dir == SCSI_DIR_FROM_DEVICE ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT;
    return SCSI_STATUS_RESERVATION_CONFLICT;
}

/* SPC-2 reservation (section 8): what passes another nexus' RESERVE(6). */
static bool spc2_allowed(const struct pr_sim_lun *lun, uint8_t op)
{
    if (op == SCSI_OP_INQUIRY || op == SCSI_OP_RELEASE6 || op == SCSI_OP_RELEASE10)
        return true;
    if (sim_dev(lun, PR_DEV_D17_LIO_CONFLICT_ALGORITHM))
        return false;
    /* SPC-2 7.21: REQUEST SENSE and REPORT LUNS also pass. */
    return op == SCSI_OP_REQUEST_SENSE || op == SCSI_OP_REPORT_LUNS;
}

uint8_t sim_check_access(const struct pr_sim_lun *lun, const struct sim_nexus *n,
                         const uint8_t *cdb, size_t cdb_len)
{
    const struct sim_state *st = &lun->st;
    uint8_t op = cdb[0];
    bool is_pr = op == SCSI_OP_PERSISTENT_RESERVE_IN || op == SCSI_OP_PERSISTENT_RESERVE_OUT;
    if (st->spc2_holder != NULL) {
        /* LIO: while an SPC-2 reservation exists every PR command from any
         * nexus conflicts (section 8); SPC-2: only other nexuses. */
        if (is_pr && sim_dev(lun, PR_DEV_D17_LIO_CONFLICT_ALGORITHM))
            return SCSI_STATUS_RESERVATION_CONFLICT;
        if (st->spc2_holder != n && !spc2_allowed(lun, op))
            return SCSI_STATUS_RESERVATION_CONFLICT;
    }
    const struct sim_reg *reg = sim_reg_of(st, n);
    if (op == SCSI_OP_RESERVE6 || op == SCSI_OP_RESERVE10 || op == SCSI_OP_RELEASE6 ||
        op == SCSI_OP_RELEASE10) {
        /* SPC-4 5.14.4 (CRH=1): while registrations exist, RESERVE and
         * RELEASE conflict unless sent by the holder or by a registrant
         * under a registrants-only/all-registrants type (then GOOD, no
         * effect: spc2.c). */
        if (st->nregs == 0 || sim_is_holder(st, reg) ||
            (reg != NULL && pr_type_is_registrants(st->res_type)))
            return SCSI_STATUS_GOOD;
        return SCSI_STATUS_RESERVATION_CONFLICT;
    }
    if (st->res_type == PR_TYPE_NONE)
        return SCSI_STATUS_GOOD;
    /* SPC-4 5.14.3: the holder (for AR: every registrant) is never
     * refused. */
    if (sim_is_holder(st, reg))
        return SCSI_STATUS_GOOD;
    bool registered = sim_conflict_registered(lun, n);
    if (sim_dev(lun, PR_DEV_D17_LIO_CONFLICT_ALGORITHM))
        return lio_access(st->res_type, registered, cdb, cdb_len);
    return spc4_access(st->res_type, registered, cdb, cdb_len);
}
