/* SPDX-License-Identifier: GPL-2.0-or-later */
/* scsi.c - type predicates, sense building and decoding, data direction. */
#include "prhelper/scsi.h"

#include <stdio.h>
#include <string.h>

/* SPC-4 6.15.3.4 table 171: only 1, 3, 5, 6, 7, 8 are defined. */
bool pr_type_is_valid(unsigned type)
{
    switch (type) {
    case PR_TYPE_WE:
    case PR_TYPE_EA:
    case PR_TYPE_WE_RO:
    case PR_TYPE_EA_RO:
    case PR_TYPE_WE_AR:
    case PR_TYPE_EA_AR:
        return true;
    default:
        return false;
    }
}

bool pr_type_is_all_registrants(unsigned type)
{
    return type == PR_TYPE_WE_AR || type == PR_TYPE_EA_AR;
}

bool pr_type_is_registrants(unsigned type)
{
    return type == PR_TYPE_WE_RO || type == PR_TYPE_EA_RO || pr_type_is_all_registrants(type);
}

bool pr_type_is_write_exclusive(unsigned type)
{
    return type == PR_TYPE_WE || type == PR_TYPE_WE_RO || type == PR_TYPE_WE_AR;
}

bool scsi_sense_equal(struct scsi_sense a, struct scsi_sense b)
{
    return a.key == b.key && a.asc == b.asc && a.ascq == b.ascq;
}

/* SPC-4 4.5.3: fixed format, response code 70h (current error). */
size_t scsi_sense_build_fixed(uint8_t *buf, size_t len, struct scsi_sense s)
{
    memset(buf, 0, len);
    if (len < SCSI_SENSE_FIXED_LEN)
        return 0;
    buf[0] = 0x70;
    buf[2] = (uint8_t)(s.key & 0x0f);
    buf[7] = SCSI_SENSE_FIXED_LEN - 8; /* ADDITIONAL SENSE LENGTH */
    buf[12] = s.asc;
    buf[13] = s.ascq;
    return SCSI_SENSE_FIXED_LEN;
}

/* SPC-4 4.5.2: descriptor format, response code 72h, no descriptors. */
size_t scsi_sense_build_desc(uint8_t *buf, size_t len, struct scsi_sense s)
{
    memset(buf, 0, len);
    if (len < SCSI_SENSE_DESC_LEN)
        return 0;
    buf[0] = 0x72;
    buf[1] = (uint8_t)(s.key & 0x0f);
    buf[2] = s.asc;
    buf[3] = s.ascq;
    buf[7] = 0; /* ADDITIONAL SENSE LENGTH: no descriptors */
    return SCSI_SENSE_DESC_LEN;
}

size_t scsi_sense_build(uint8_t *buf, size_t len, struct scsi_sense s, bool descriptor)
{
    return descriptor ? scsi_sense_build_desc(buf, len, s) : scsi_sense_build_fixed(buf, len, s);
}

bool scsi_sense_decode(const uint8_t *buf, size_t len, struct scsi_sense *out)
{
    *out = SENSE_NONE;
    if (buf == NULL || len < 1)
        return false;
    switch (buf[0] & 0x7f) {
    case 0x70:
    case 0x71:
        /* Fixed: key in byte 2; ASC/ASCQ at 12/13 if present. */
        if (len < 3)
            return false;
        out->key = buf[2] & 0x0f;
        if (len >= 14 && buf[7] >= 6) {
            out->asc = buf[12];
            out->ascq = buf[13];
        }
        return true;
    case 0x72:
    case 0x73:
        if (len < 4)
            return false;
        out->key = buf[1] & 0x0f;
        out->asc = buf[2];
        out->ascq = buf[3];
        return true;
    default:
        return false;
    }
}

char *scsi_sense_to_string(struct scsi_sense s, char *buf, size_t len)
{
    const char *asc = scsi_asc_name(s.asc, s.ascq);
    snprintf(buf, len, "%s%s%s (%02Xh/%02Xh)", scsi_sense_key_name(s.key), *asc ? ", " : "", asc,
             s.asc, s.ascq);
    return buf;
}

/*
 * Which way data moves for a CDB.  Needed by LIO's conflict algorithm
 * (pr-semantics.md 5.1), which falls back on the data direction.  Commands
 * whose direction depends on a length field report NONE when it is 0.
 */
enum scsi_data_dir scsi_cdb_data_direction(const uint8_t *cdb, size_t len)
{
    if (len < 6)
        return SCSI_DIR_NONE;
    uint8_t op = cdb[0];
    switch (op) {
    /* data-in */
    case 0x03: case 0x08: case 0x12: case 0x1a: case 0x1c: case 0x25: case 0x28:
    case 0x37: case 0x3c: case 0x3e: case 0x4d: case 0x5a: case 0x5e: case 0x84:
    case 0x86: case 0x88: case 0x8c: case 0x9e: case 0xa0: case 0xa2: case 0xa3:
    case 0xa8: case 0xab: case 0xb7:
        return SCSI_DIR_FROM_DEVICE;
    /* data-out, always */
    case 0x0a: case 0x2a: case 0x2e: case 0x3b: case 0x3f: case 0x41: case 0x42:
    case 0x50: case 0x51: case 0x53: case 0x55: case 0x15: case 0x5f: case 0x83:
    case 0x87: case 0x89: case 0x8a: case 0x8b: case 0x8d: case 0x8e: case 0x93:
    case 0xa4: case 0xaa: case 0xae: case 0xb5: case 0x07:
        return SCSI_DIR_TO_DEVICE;
    case 0x4c: /* LOG SELECT: parameter list length bytes 7-8 */
        return len >= 9 && scsi_get_be16(cdb + 7) ? SCSI_DIR_TO_DEVICE : SCSI_DIR_NONE;
    case 0x1d: /* SEND DIAGNOSTIC: parameter list length bytes 3-4 */
        return scsi_get_be16(cdb + 3) ? SCSI_DIR_TO_DEVICE : SCSI_DIR_NONE;
    case 0x04: /* FORMAT UNIT: FMTDATA bit */
        return (cdb[1] & 0x10) ? SCSI_DIR_TO_DEVICE : SCSI_DIR_NONE;
    case 0x2f: case 0xaf: case 0x8f: /* VERIFY: BYTCHK != 0 sends data */
        return (cdb[1] & 0x06) ? SCSI_DIR_TO_DEVICE : SCSI_DIR_NONE;
    case 0x48: /* SANITIZE: parameter list length bytes 7-8 */
        return len >= 9 && scsi_get_be16(cdb + 7) ? SCSI_DIR_TO_DEVICE : SCSI_DIR_NONE;
    case 0x7f: /* variable length: READ(32) 0009h in, VERIFY(32) 000Ah, writes out */
        if (len >= 10) {
            uint16_t sa = scsi_get_be16(cdb + 8);
            if (sa == 0x0009)
                return SCSI_DIR_FROM_DEVICE;
            if (sa == 0x000a)
                return len >= 11 && (cdb[10] & 0x06) ? SCSI_DIR_TO_DEVICE : SCSI_DIR_NONE;
            return SCSI_DIR_TO_DEVICE;
        }
        return SCSI_DIR_NONE;
    default:
        return SCSI_DIR_NONE;
    }
}
