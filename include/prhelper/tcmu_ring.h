/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcmu_ring.h - the user side of the Linux TCMU command ring.
 *
 * A target_core_user backstore shares one mapping with its handler
 * (linux/target_core_user.h): a mailbox at offset 0 (version, flags, the
 * ring's offset and size, the kernel's cmd_head and the handler's
 * cmd_tail), then the command ring, then the data area.  The kernel puts
 * entries (CMD, PAD, TMR) between cmd_tail and cmd_head; a CMD entry
 * names its CDB and data by offsets into the mapping; the handler answers
 * in the entry itself and moves cmd_tail past it.
 *
 * This module only reads and writes that memory: no fds, no syscalls, so
 * the tests drive it with a ring built in an ordinary buffer.  Everything
 * read from the mapping is checked before use (an entry that runs past
 * the ring, a CDB or data segment outside the mapping): a bad entry is
 * answered with CHECK CONDITION when it can be skipped safely, and the
 * ring is declared broken when it cannot.  Completion is in order.
 */
#ifndef PRHELPER_TCMU_RING_H
#define PRHELPER_TCMU_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prhelper/scsi.h"
#include "prhelper/sgl.h"

/* Layout facts of linux/target_core_user.h (asserted in tcmu_ring.c). */
#define TCMU_RING_MAILBOX_SIZE 128u       /* sizeof(struct tcmu_mailbox) */
#define TCMU_RING_ENTRY_SIZE 112u         /* sizeof(struct tcmu_cmd_entry) */
#define TCMU_RING_SENSE_SIZE 96u          /* TCMU_SENSE_BUFFERSIZE */
#define TCMU_RING_MAX_CDB 260u            /* variable-length CDBs: 8 + 252 */
#define TCMU_RING_MAX_SEGS 65536u         /* more data segments: malformed */

enum tcmu_ring_kind {
    TCMU_RING_EMPTY,  /* nothing pending */
    TCMU_RING_CMD,    /* a SCSI command to answer (cmd.malformed may be set) */
    TCMU_RING_TMR,    /* a task management notification, already consumed */
    TCMU_RING_BROKEN, /* the ring cannot be walked further; see errmsg */
};

struct tcmu_ring {
    uint8_t *base;
    size_t size;         /* of the whole mapping */
    uint32_t cmdr_off;   /* from the mailbox, checked */
    uint32_t cmdr_size;
    uint16_t flags;      /* mailbox capability flags */
    uint32_t tail;       /* our cmd_tail (mirrors the mailbox) */
    bool broken;
    char errmsg[160];
    struct prh_seg *segs; /* per-command scratch, grown as needed */
    size_t segs_cap;
};

struct tcmu_ring_cmd {
    uint16_t cmd_id;
    uint32_t entry_off; /* ring offset of the entry */
    uint32_t entry_len;
    uint8_t cdb[TCMU_RING_MAX_CDB];
    size_t cdb_len;
    struct prh_sgl data;  /* the data-out or data-in buffer (iov_cnt segments) */
    uint32_t bidi_segs;   /* bidirectional / DIF segments are not used */
    uint32_t dif_segs;
    const char *malformed; /* NULL, or why the entry cannot be executed */
};

struct tcmu_ring_tmr {
    uint8_t type;       /* TCMU_TMR_* */
    uint32_t cmd_count; /* commands it concerns */
};

/*
 * Attach to a mapping of size bytes.  Checks the mailbox (version 2, the
 * ring inside the mapping, 8-byte aligned) and takes over its cmd_tail.
 * 0, or -1 with the reason in r->errmsg.
 */
int tcmu_ring_attach(struct tcmu_ring *r, void *base, size_t size);
void tcmu_ring_detach(struct tcmu_ring *r);

/*
 * The next pending entry.  PAD entries are skipped; a TMR entry is
 * consumed and reported; a CMD entry stays pending until
 * tcmu_ring_complete().  cmd->data points into the mapping and is valid
 * until then.  Calling it again before completing returns the same command.
 */
enum tcmu_ring_kind tcmu_ring_next(struct tcmu_ring *r, struct tcmu_ring_cmd *cmd,
                                   struct tcmu_ring_tmr *tmr);

/*
 * Answer the pending command and move cmd_tail past it.  sense (sense_len
 * bytes, clipped to 96) is copied for CHECK CONDITION; read_len, when not
 * TCMU_RING_NO_READ_LEN and the kernel offers it, is the number of
 * data-in bytes actually produced (the kernel reports the residual).
 */
#define TCMU_RING_NO_READ_LEN UINT32_MAX
void tcmu_ring_complete(struct tcmu_ring *r, const struct tcmu_ring_cmd *cmd, uint8_t status,
                        const uint8_t *sense, size_t sense_len, uint32_t read_len);

/* Entries between cmd_tail and cmd_head (bytes); 0 when empty. */
uint32_t tcmu_ring_pending_bytes(const struct tcmu_ring *r);

/* Length of a CDB from its operation code group (SPC-4 4.2.5.1); 0 if unknown. */
size_t tcmu_cdb_length(const uint8_t *cdb, size_t avail);

#endif
