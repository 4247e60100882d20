/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_id.h - SCSI TransportIDs (SPC-4 7.6.4): parse, build, compare.
 *
 * A TransportID names an initiator port on the wire (READ FULL STATUS,
 * SPEC_I_PT, REGISTER AND MOVE).  struct pr_tid is its decoded form; the
 * canonical bytes built from it are what the simulator uses as identity.
 */
#ifndef PRHELPER_TRANSPORT_ID_H
#define PRHELPER_TRANSPORT_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Protocol identifiers (SPC-4 7.6.1, table 362). */
enum pr_tid_protocol {
    PR_TID_PROTO_FCP = 0x0,
    PR_TID_PROTO_SPI = 0x1,
    PR_TID_PROTO_SSA = 0x2,
    PR_TID_PROTO_SBP = 0x3,
    PR_TID_PROTO_SRP = 0x4,
    PR_TID_PROTO_ISCSI = 0x5,
    PR_TID_PROTO_SAS = 0x6,
    PR_TID_PROTO_ADT = 0x7,
    PR_TID_PROTO_ATA = 0x8,
    PR_TID_PROTO_UAS = 0x9,
    PR_TID_PROTO_SOP = 0xa,
    PR_TID_PROTO_PCIE = 0xb,
    PR_TID_PROTO_NONE = 0xf,
};

/* iSCSI names are at most 223 bytes (RFC 3720 3.2.6.1). */
#define PR_TID_ISCSI_NAME_MAX 223
/* Largest TransportID: iSCSI, 4 + name + ",i,0x" + 12 + NUL, padded. */
#define PR_TID_MAX_LEN 248
/* Fixed-size TransportIDs (all but iSCSI) are 24 bytes. */
#define PR_TID_FIXED_LEN 24

struct pr_tid {
    uint8_t proto;  /* enum pr_tid_protocol */
    uint8_t format; /* FORMAT CODE, 0 or (iSCSI) 1 */
    bool has_isid;  /* iSCSI format 01b */
    uint8_t id[16]; /* FCP WWPN/SBP EUI-64 (8), SRP (16), SAS (8), SPI/SOP (2) */
    uint16_t spi_rtpi; /* SPI: relative port id of the target */
    uint8_t isid[6];
    char name[PR_TID_ISCSI_NAME_MAX + 1]; /* iSCSI name, NUL-terminated */
};

/*
 * Parse one TransportID at buf (avail bytes available).  On success
 * stores the decoded id and its length on the wire in *consumed and
 * returns 0; returns -EINVAL for a malformed or unsupported one (unknown
 * protocol, bad format code, iSCSI length not a multiple of 4 or < 20,
 * longer than avail, name missing or too long, bad ISID).
 */
int pr_tid_parse(const uint8_t *buf, size_t avail, struct pr_tid *out, size_t *consumed);

/*
 * Build the canonical TransportID bytes of id into buf (PR_TID_MAX_LEN
 * bytes are always enough).  Returns the length, or 0 if id is invalid.
 * iSCSI: NUL-terminated, NUL-padded to a multiple of 4, ISID in lower-case
 * hex; others: 24 bytes.
 */
size_t pr_tid_build(const struct pr_tid *id, uint8_t *buf, size_t len);

/* Identity: same protocol and same port name (ISID compared case-blind). */
bool pr_tid_equal(const struct pr_tid *a, const struct pr_tid *b);
/* Same initiator device: for iSCSI the name alone; else pr_tid_equal. */
bool pr_tid_same_device(const struct pr_tid *a, const struct pr_tid *b);

/* Constructors used by transports and tests. */
struct pr_tid pr_tid_iscsi(const char *name, const uint8_t isid[6] /* NULL: format 00b */);
struct pr_tid pr_tid_fcp(uint64_t wwpn);
struct pr_tid pr_tid_sas(uint64_t sas_address);

/*
 * Human form, sg_persist-like: "iqn.x,i,0x23d000000001", "fcp,0x...",
 * "sas,0x...".  Returns buf.
 */
char *pr_tid_to_string(const struct pr_tid *id, char *buf, size_t len);
/* Parse the human form back (iqn./eui./naa. names, "fcp,", "sas,"). */
int pr_tid_from_string(const char *s, struct pr_tid *out);

#endif
