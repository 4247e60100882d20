/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scsi.h - the one place where SCSI bytes are read and written.
 *
 * Big-endian helpers, the CDB and parameter-list layouts of PERSISTENT
 * RESERVE IN/OUT (SPC-4 6.15, 6.16), sense building (fixed 70h and
 * descriptor 72h, SPC-4 4.5) and sense decoding.  Every other module goes
 * through these helpers, never through ad-hoc shifts.
 */
#ifndef PRHELPER_SCSI_H
#define PRHELPER_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- big-endian helpers ------------------------------------------------ */

static inline uint16_t scsi_get_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
}

static inline uint32_t scsi_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t scsi_get_be64(const uint8_t *p)
{
    return (uint64_t)scsi_get_be32(p) << 32 | scsi_get_be32(p + 4);
}

static inline void scsi_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void scsi_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void scsi_put_be64(uint8_t *p, uint64_t v)
{
    scsi_put_be32(p, (uint32_t)(v >> 32));
    scsi_put_be32(p + 4, (uint32_t)v);
}

/* ---- status, opcodes, service actions, types --------------------------- */

enum scsi_status {
    SCSI_STATUS_GOOD = 0x00,
    SCSI_STATUS_CHECK_CONDITION = 0x02,
    SCSI_STATUS_CONDITION_MET = 0x04,
    SCSI_STATUS_BUSY = 0x08,
    SCSI_STATUS_RESERVATION_CONFLICT = 0x18,
    SCSI_STATUS_TASK_SET_FULL = 0x28,
    SCSI_STATUS_ACA_ACTIVE = 0x30,
    SCSI_STATUS_TASK_ABORTED = 0x40,
};

enum scsi_opcode {
    SCSI_OP_TEST_UNIT_READY = 0x00,
    SCSI_OP_REQUEST_SENSE = 0x03,
    SCSI_OP_INQUIRY = 0x12,
    SCSI_OP_RESERVE6 = 0x16,
    SCSI_OP_RELEASE6 = 0x17,
    SCSI_OP_READ10 = 0x28,
    SCSI_OP_WRITE10 = 0x2a,
    SCSI_OP_RESERVE10 = 0x56,
    SCSI_OP_RELEASE10 = 0x57,
    SCSI_OP_PERSISTENT_RESERVE_IN = 0x5e,
    SCSI_OP_PERSISTENT_RESERVE_OUT = 0x5f,
    SCSI_OP_REPORT_LUNS = 0xa0,
};

/* PERSISTENT RESERVE IN service actions (SPC-4 6.15.1, table 167). */
enum pr_in_sa {
    PR_IN_READ_KEYS = 0x00,
    PR_IN_READ_RESERVATION = 0x01,
    PR_IN_REPORT_CAPABILITIES = 0x02,
    PR_IN_READ_FULL_STATUS = 0x03,
};

/* PERSISTENT RESERVE OUT service actions (SPC-4 6.16.1, table 183). */
enum pr_out_sa {
    PR_OUT_REGISTER = 0x00,
    PR_OUT_RESERVE = 0x01,
    PR_OUT_RELEASE = 0x02,
    PR_OUT_CLEAR = 0x03,
    PR_OUT_PREEMPT = 0x04,
    PR_OUT_PREEMPT_AND_ABORT = 0x05,
    PR_OUT_REGISTER_AND_IGNORE = 0x06,
    PR_OUT_REGISTER_AND_MOVE = 0x07,
    PR_OUT_REPLACE_LOST_RESERVATION = 0x08,
};

/* Persistent reservation types (SPC-4 6.15.3.4, table 171). */
enum pr_type {
    PR_TYPE_NONE = 0x0, /* not a wire value: "no reservation" */
    PR_TYPE_WE = 0x1,
    PR_TYPE_EA = 0x3,
    PR_TYPE_WE_RO = 0x5,
    PR_TYPE_EA_RO = 0x6,
    PR_TYPE_WE_AR = 0x7,
    PR_TYPE_EA_AR = 0x8,
};

#define PR_SCOPE_LU 0x0

bool pr_type_is_valid(unsigned type);
/* All-registrants types: every registrant is a holder (SPC-4 5.14.10). */
bool pr_type_is_all_registrants(unsigned type);
/* Registrants-only and all-registrants: registrants get access. */
bool pr_type_is_registrants(unsigned type);
/* Write Exclusive family: WE, WE_RO, WE_AR (reads are open). */
bool pr_type_is_write_exclusive(unsigned type);

/* ---- CDB and parameter-list layouts ------------------------------------ */

/* PERSISTENT RESERVE IN CDB (SPC-4 6.15.1). */
struct scsi_pr_in_cdb {
    uint8_t opcode;
    uint8_t service_action; /* bits 4-0 */
    uint8_t reserved[5];
    uint8_t allocation_length[2];
    uint8_t control;
};
_Static_assert(sizeof(struct scsi_pr_in_cdb) == 10, "PR IN CDB is 10 bytes");

/* PERSISTENT RESERVE OUT CDB (SPC-4 6.16.1). */
struct scsi_pr_out_cdb {
    uint8_t opcode;
    uint8_t service_action; /* bits 4-0 */
    uint8_t scope_type;     /* scope bits 7-4, type bits 3-0 */
    uint8_t reserved[2];
    uint8_t parameter_list_length[4];
    uint8_t control;
};
_Static_assert(sizeof(struct scsi_pr_out_cdb) == 10, "PR OUT CDB is 10 bytes");

/* Basic PR OUT parameter list (SPC-4 6.16.3, table 186). */
struct scsi_pr_out_basic {
    uint8_t reservation_key[8];
    uint8_t service_action_key[8];
    uint8_t obsolete1[4];
    uint8_t flags; /* SPEC_I_PT 0x08, ALL_TG_PT 0x04, APTPL 0x01 */
    uint8_t reserved;
    uint8_t obsolete2[2];
};
_Static_assert(sizeof(struct scsi_pr_out_basic) == 24, "basic list is 24 bytes");

#define PR_OUT_FLAG_SPEC_I_PT 0x08
#define PR_OUT_FLAG_ALL_TG_PT 0x04
#define PR_OUT_FLAG_APTPL 0x01

/* REGISTER AND MOVE parameter list header (SPC-4 6.16.4, table 189). */
struct scsi_pr_out_move {
    uint8_t reservation_key[8];
    uint8_t service_action_key[8];
    uint8_t reserved;
    uint8_t flags; /* UNREG 0x02, APTPL 0x01 */
    uint8_t rtpi[2];
    uint8_t transport_id_length[4];
};
_Static_assert(sizeof(struct scsi_pr_out_move) == 24, "move header is 24 bytes");

#define PR_MOVE_FLAG_UNREG 0x02
#define PR_MOVE_FLAG_APTPL 0x01

/* PR IN header shared by READ KEYS, READ RESERVATION, READ FULL STATUS. */
struct scsi_pr_in_header {
    uint8_t generation[4];
    uint8_t additional_length[4];
};
_Static_assert(sizeof(struct scsi_pr_in_header) == 8, "PR IN header is 8 bytes");

/* READ RESERVATION data when a reservation exists (SPC-4 6.15.3.3). */
struct scsi_pr_in_reservation {
    struct scsi_pr_in_header hdr;
    uint8_t key[8];
    uint8_t obsolete1[4];
    uint8_t reserved;
    uint8_t scope_type;
    uint8_t obsolete2[2];
};
_Static_assert(sizeof(struct scsi_pr_in_reservation) == 24, "reservation data is 24 bytes");

/* REPORT CAPABILITIES data (SPC-4 6.15.4, table 172). */
struct scsi_pr_in_capabilities {
    uint8_t length[2];
    uint8_t flags1; /* RLR_C 0x80, CRH 0x10, SIP_C 0x08, ATP_C 0x04, PTPL_C 0x01 */
    uint8_t flags2; /* TMV 0x80, ALLOW COMMANDS bits 6-4, PTPL_A 0x01 */
    uint8_t type_mask[2];
    uint8_t reserved[2];
};
_Static_assert(sizeof(struct scsi_pr_in_capabilities) == 8, "capabilities are 8 bytes");

#define PR_CAP_RLR_C 0x80
#define PR_CAP_CRH 0x10
#define PR_CAP_SIP_C 0x08
#define PR_CAP_ATP_C 0x04
#define PR_CAP_PTPL_C 0x01
#define PR_CAP_TMV 0x80
#define PR_CAP_PTPL_A 0x01
#define PR_TYPE_MASK_WR_EX_AR 0x8000
#define PR_TYPE_MASK_EX_AC_RO 0x4000
#define PR_TYPE_MASK_WR_EX_RO 0x2000
#define PR_TYPE_MASK_EX_AC 0x0800
#define PR_TYPE_MASK_WR_EX 0x0200
#define PR_TYPE_MASK_EX_AC_AR 0x0001

/* READ FULL STATUS descriptor header (SPC-4 6.15.5, table 175). */
struct scsi_pr_in_full_status_desc {
    uint8_t key[8];
    uint8_t reserved1[4];
    uint8_t flags; /* ALL_TG_PT 0x02, R_HOLDER 0x01 */
    uint8_t scope_type;
    uint8_t reserved2[4];
    uint8_t rtpi[2];
    uint8_t additional_descriptor_length[4];
};
_Static_assert(sizeof(struct scsi_pr_in_full_status_desc) == 24, "descriptor header is 24 bytes");

#define PR_FULL_STATUS_ALL_TG_PT 0x02
#define PR_FULL_STATUS_R_HOLDER 0x01

/* ---- sense ------------------------------------------------------------- */

enum scsi_sense_key {
    SCSI_SENSE_NO_SENSE = 0x0,
    SCSI_SENSE_RECOVERED_ERROR = 0x1,
    SCSI_SENSE_NOT_READY = 0x2,
    SCSI_SENSE_MEDIUM_ERROR = 0x3,
    SCSI_SENSE_HARDWARE_ERROR = 0x4,
    SCSI_SENSE_ILLEGAL_REQUEST = 0x5,
    SCSI_SENSE_UNIT_ATTENTION = 0x6,
    SCSI_SENSE_DATA_PROTECT = 0x7,
    SCSI_SENSE_BLANK_CHECK = 0x8,
    SCSI_SENSE_VENDOR_SPECIFIC = 0x9,
    SCSI_SENSE_COPY_ABORTED = 0xa,
    SCSI_SENSE_ABORTED_COMMAND = 0xb,
    SCSI_SENSE_VOLUME_OVERFLOW = 0xd,
    SCSI_SENSE_MISCOMPARE = 0xe,
};

/* A normalized sense summary: what callers compare, never raw bytes. */
struct scsi_sense {
    uint8_t key;
    uint8_t asc;
    uint8_t ascq;
};

/* Named sense codes used by the project (key, ASC, ASCQ). */
#define SCSI_SENSE_CODE(k, a, q) ((struct scsi_sense){ (k), (a), (q) })
#define SENSE_NONE SCSI_SENSE_CODE(0, 0, 0)
#define SENSE_INVALID_OPCODE SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x20, 0x00)
#define SENSE_INVALID_FIELD_IN_CDB SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x24, 0x00)
#define SENSE_PARAM_LIST_LENGTH_ERROR SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x1a, 0x00)
#define SENSE_INVALID_FIELD_IN_PARAM SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x26, 0x00)
#define SENSE_INVALID_RELEASE SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x26, 0x04)
#define SENSE_INSUFFICIENT_REG_RESOURCES SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x55, 0x04)
#define SENSE_INSUFFICIENT_RESOURCES SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x55, 0x03)
/* What a target answers for a LUN it does not have (SPC-4 4.5.6). */
#define SENSE_LUN_NOT_SUPPORTED SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00)
/* NOT READY 08h/00h is what LIO answers for "not registered" (pr-semantics
 * D8); QEMU's client reports a lost helper as ABORTED COMMAND 08h/00h
 * (SENSE_ABORTED_LUN_COMM_FAILURE). Same ASC, different key. */
#define SENSE_LUN_COMM_FAILURE SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x08, 0x00)
#define SENSE_ABORTED_LUN_COMM_FAILURE SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00)
#define SENSE_UA_POWER_ON_RESET SCSI_SENSE_CODE(SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x00)
#define SENSE_UA_RESERVATIONS_PREEMPTED SCSI_SENSE_CODE(SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x03)
#define SENSE_UA_RESERVATIONS_RELEASED SCSI_SENSE_CODE(SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x04)
#define SENSE_UA_REGISTRATIONS_PREEMPTED SCSI_SENSE_CODE(SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x05)
#define SENSE_INTERNAL_TARGET_FAILURE SCSI_SENSE_CODE(SCSI_SENSE_HARDWARE_ERROR, 0x44, 0x00)

bool scsi_sense_equal(struct scsi_sense a, struct scsi_sense b);

/* Size of fixed-format sense written by scsi_sense_build_fixed(). */
#define SCSI_SENSE_FIXED_LEN 18
/* Size of descriptor-format sense with no descriptors. */
#define SCSI_SENSE_DESC_LEN 8

/*
 * Build sense data into buf (len bytes, zero-filled first).  Fixed format
 * (response code 70h, SPC-4 4.5.3) or descriptor format (72h, SPC-4 4.5.2).
 * Returns the number of meaningful bytes (0 if len is too small for them).
 */
size_t scsi_sense_build_fixed(uint8_t *buf, size_t len, struct scsi_sense s);
size_t scsi_sense_build_desc(uint8_t *buf, size_t len, struct scsi_sense s);
size_t scsi_sense_build(uint8_t *buf, size_t len, struct scsi_sense s, bool descriptor);

/*
 * Decode sense data of either format (70h/71h fixed, 72h/73h descriptor).
 * Returns false (and leaves *out zeroed) when buf holds no valid sense.
 */
bool scsi_sense_decode(const uint8_t *buf, size_t len, struct scsi_sense *out);

/* Human names; never NULL. */
const char *scsi_sense_key_name(unsigned key);
const char *scsi_asc_name(unsigned asc, unsigned ascq); /* "" if unknown */
const char *scsi_status_name(unsigned status);
const char *pr_type_name(unsigned type);
const char *pr_in_sa_name(unsigned sa);
const char *pr_out_sa_name(unsigned sa);

/* "ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h)" into buf; returns buf. */
char *scsi_sense_to_string(struct scsi_sense s, char *buf, size_t len);

/* Data direction of a CDB, for the conflict rules that depend on it. */
enum scsi_data_dir {
    SCSI_DIR_NONE,
    SCSI_DIR_FROM_DEVICE, /* data-in  */
    SCSI_DIR_TO_DEVICE,   /* data-out */
};
enum scsi_data_dir scsi_cdb_data_direction(const uint8_t *cdb, size_t len);

#endif
