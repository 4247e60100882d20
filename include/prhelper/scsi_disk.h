/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scsi_disk.h - a direct-access block device (SBC-3) on a file.
 *
 * The medium side of a simulated LUN: INQUIRY (standard data, VPD pages
 * 00h, 80h, 83h, B0h), READ CAPACITY(10/16), MODE SENSE(6/10), READ,
 * WRITE, VERIFY, SYNCHRONIZE CACHE, TEST UNIT READY and REPORT LUNS, with
 * the data in a (sparse) file.  Reservations, unit attentions and REQUEST
 * SENSE are not here: the simulator (pr_sim.h) decides those first, and
 * only commands it lets through reach scsi_disk_execute().
 *
 * The data buffer of a command is a scatter-gather list (sgl.h): the
 * data-out bytes of a WRITE, or the place for the data-in bytes of a READ
 * or INQUIRY, never both.
 */
#ifndef PRHELPER_SCSI_DISK_H
#define PRHELPER_SCSI_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prhelper/scsi.h"
#include "prhelper/sgl.h"

#define SCSI_DISK_SERIAL_MAX 64

/* What INQUIRY says about the logical unit: the same on every path to it. */
struct scsi_disk_identity {
    char vendor[9];   /* T10 vendor identification, 8 characters */
    char product[17]; /* 16 characters */
    char revision[5]; /* 4 characters */
    char serial[SCSI_DISK_SERIAL_MAX + 1]; /* VPD 80h */
    uint8_t naa[8];   /* VPD 83h NAA designator (NAA 3h, locally assigned) */
};

struct scsi_disk {
    int fd;               /* the medium; pread/pwrite */
    uint32_t block_size;  /* bytes per logical block (512..65536, power of 2) */
    uint64_t blocks;      /* capacity in logical blocks */
    uint32_t max_transfer; /* blocks per command, reported in VPD B0h */
    bool write_cache;     /* WCE in the caching mode page */
    struct scsi_disk_identity id;
};

/* The path a command came in on, for VPD 83h's target port designators. */
struct scsi_disk_port {
    uint16_t rtpi;       /* relative target port identifier */
    uint8_t protocol;    /* enum pr_tid_protocol of the fabric */
};

struct scsi_disk_result {
    uint8_t status;          /* SAM status */
    struct scsi_sense sense; /* for CHECK CONDITION */
    size_t data_in_len;      /* bytes of data-in produced into the list */
};

/*
 * Fill in the identity of a LUN from its name: vendor "PRHELPER",
 * product, revision, unit serial "prsim-<name>" (truncated) and an NAA 3h
 * designator hashed from the name, so every backstore of one LUN reports
 * the same identifiers.
 */
void scsi_disk_identity_for(const char *lun_name, const char *product, const char *revision,
                            struct scsi_disk_identity *out);

/*
 * Execute one CDB (cdb_len bytes) on the medium.  data is the command's
 * data buffer (see above).  Unsupported operation codes get ILLEGAL
 * REQUEST, INVALID COMMAND OPERATION CODE.
 */
void scsi_disk_execute(const struct scsi_disk *d, const struct scsi_disk_port *port,
                       const uint8_t *cdb, size_t cdb_len, const struct prh_sgl *data,
                       struct scsi_disk_result *r);

/* Does the disk emulation know this operation code (service action)? */
bool scsi_disk_supports(const uint8_t *cdb, size_t cdb_len);

#endif
