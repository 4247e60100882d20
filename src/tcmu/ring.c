/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring.c - walking and answering the TCMU command ring
 * (include/prhelper/tcmu_ring.h).
 *
 * The kernel's layout comes from linux/target_core_user.h (Debian's
 * linux-libc-dev); the offsets used below are asserted against it.  That
 * header pulls in linux/uio.h, whose struct iovec clashes with glibc's, so
 * this file includes no glibc header that defines one.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/target_core_user.h>

#include "prhelper/tcmu_ring.h"

_Static_assert(sizeof(struct tcmu_mailbox) == TCMU_RING_MAILBOX_SIZE, "mailbox size");
_Static_assert(offsetof(struct tcmu_mailbox, cmd_head) == 12, "cmd_head offset");
_Static_assert(offsetof(struct tcmu_mailbox, cmd_tail) == 64, "cmd_tail offset");
_Static_assert(sizeof(struct tcmu_cmd_entry_hdr) == 8, "entry header size");
_Static_assert(sizeof(struct tcmu_cmd_entry) == TCMU_RING_ENTRY_SIZE, "entry size");
_Static_assert(offsetof(struct tcmu_cmd_entry, req.iov_cnt) == 8, "iov_cnt offset");
_Static_assert(offsetof(struct tcmu_cmd_entry, req.cdb_off) == 24, "cdb_off offset");
_Static_assert(offsetof(struct tcmu_cmd_entry, req.iov) == 48, "iov offset");
_Static_assert(offsetof(struct tcmu_cmd_entry, rsp.scsi_status) == 8, "status offset");
_Static_assert(offsetof(struct tcmu_cmd_entry, rsp.read_len) == 12, "read_len offset");
_Static_assert(offsetof(struct tcmu_cmd_entry, rsp.sense_buffer) == 16, "sense offset");
_Static_assert(TCMU_SENSE_BUFFERSIZE == TCMU_RING_SENSE_SIZE, "sense buffer size");
_Static_assert(offsetof(struct tcmu_tmr_entry, tmr_type) == 8, "tmr type offset");
_Static_assert(offsetof(struct tcmu_tmr_entry, cmd_cnt) == 12, "tmr count offset");
_Static_assert(sizeof(((struct tcmu_cmd_entry *)0)->req.iov[0]) == 16, "iovec is 16 bytes");

/* Offsets within an entry and the mailbox, named once. */
#define MB_VERSION 0
#define MB_FLAGS 2
#define MB_CMDR_OFF 4
#define MB_CMDR_SIZE 8
#define MB_HEAD 12
#define MB_TAIL 64
#define ENT_LEN_OP 0
#define ENT_CMD_ID 4
#define ENT_UFLAGS 7
#define ENT_IOV_CNT 8
#define ENT_BIDI_CNT 12
#define ENT_DIF_CNT 16
#define ENT_CDB_OFF 24
#define ENT_IOV 48
#define ENT_STATUS 8
#define ENT_READ_LEN 12
#define ENT_SENSE 16
#define IOV_SIZE 16

/* Host-endian loads and stores at any alignment (the ring is the kernel's
 * native layout, not a wire format). */
static uint16_t ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void st32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* cmd_head and cmd_tail are aligned words shared with the kernel. */
static uint32_t load_head(const struct tcmu_ring *r)
{
    return __atomic_load_n((const uint32_t *)(const void *)(r->base + MB_HEAD), __ATOMIC_ACQUIRE);
}

static void store_tail(struct tcmu_ring *r, uint32_t tail)
{
    r->tail = tail;
    __atomic_store_n((uint32_t *)(void *)(r->base + MB_TAIL), tail, __ATOMIC_RELEASE);
}

size_t tcmu_cdb_length(const uint8_t *cdb, size_t avail)
{
    /* The kernel's COMMAND_SIZE table by group code, and the variable
     * length CDB (7Fh) with its ADDITIONAL CDB LENGTH in byte 7. */
    static const uint8_t by_group[8] = { 6, 10, 10, 12, 16, 12, 10, 10 };

    if (avail < 1)
        return 0;
    if (cdb[0] == 0x7f) {
        if (avail < 8)
            return 0;
        return (size_t)8 + cdb[7];
    }
    return by_group[cdb[0] >> 5];
}

static void set_broken(struct tcmu_ring *r, const char *why)
{
    r->broken = true;
    strncpy(r->errmsg, why, sizeof(r->errmsg) - 1);
    r->errmsg[sizeof(r->errmsg) - 1] = '\0';
}

static int fail_attach(struct tcmu_ring *r, const char *why)
{
    set_broken(r, why);
    return -1;
}

int tcmu_ring_attach(struct tcmu_ring *r, void *base, size_t size)
{
    memset(r, 0, sizeof(*r));
    r->base = base;
    r->size = size;
    if (base == NULL || size < TCMU_RING_MAILBOX_SIZE)
        return fail_attach(r, "mapping smaller than the mailbox");
    if (ld16(r->base + MB_VERSION) != TCMU_MAILBOX_VERSION)
        return fail_attach(r, "mailbox version is not 2");
    r->flags = ld16(r->base + MB_FLAGS);
    r->cmdr_off = ld32(r->base + MB_CMDR_OFF);
    r->cmdr_size = ld32(r->base + MB_CMDR_SIZE);
    if (r->cmdr_off < TCMU_RING_MAILBOX_SIZE || r->cmdr_off % TCMU_OP_ALIGN_SIZE != 0 ||
        r->cmdr_size < TCMU_RING_ENTRY_SIZE || r->cmdr_size % TCMU_OP_ALIGN_SIZE != 0 ||
        (uint64_t)r->cmdr_off + r->cmdr_size > size)
        return fail_attach(r, "command ring lies outside the mapping");
    uint32_t tail = ld32(r->base + MB_TAIL);
    if (tail >= r->cmdr_size || tail % TCMU_OP_ALIGN_SIZE != 0)
        return fail_attach(r, "mailbox cmd_tail is out of range");
    /* A handler that ran before us may have answered up to here. */
    r->tail = tail;
    return 0;
}

void tcmu_ring_detach(struct tcmu_ring *r)
{
    free(r->segs);
    r->segs = NULL;
    r->segs_cap = 0;
    r->base = NULL;
}

uint32_t tcmu_ring_pending_bytes(const struct tcmu_ring *r)
{
    if (r->base == NULL || r->broken)
        return 0;
    uint32_t head = load_head(r);
    if (head >= r->cmdr_size)
        return 0;
    return head >= r->tail ? head - r->tail : r->cmdr_size - r->tail + head;
}

static enum tcmu_ring_kind broken(struct tcmu_ring *r, const char *why)
{
    set_broken(r, why);
    return TCMU_RING_BROKEN;
}

/* Is [off, off+len) inside the mapping (no overflow)? */
static bool in_map(const struct tcmu_ring *r, uint64_t off, uint64_t len)
{
    return off <= r->size && len <= r->size - off;
}

static bool grow_segs(struct tcmu_ring *r, size_t n)
{
    if (n <= r->segs_cap)
        return true;
    size_t cap = r->segs_cap ? r->segs_cap : 16;
    while (cap < n)
        cap *= 2;
    struct prh_seg *p = realloc(r->segs, cap * sizeof(*p));
    if (p == NULL)
        return false;
    r->segs = p;
    r->segs_cap = cap;
    return true;
}

/* Decode the CMD entry at ring offset off (length len, already checked to
 * lie inside the ring). */
static void decode_cmd(struct tcmu_ring *r, uint32_t off, uint32_t len, struct tcmu_ring_cmd *cmd)
{
    const uint8_t *e = r->base + r->cmdr_off + off;

    memset(cmd, 0, sizeof(*cmd));
    cmd->cmd_id = ld16(e + ENT_CMD_ID);
    cmd->entry_off = off;
    cmd->entry_len = len;
    cmd->data = prh_sgl_make(NULL, 0);
    if (len < TCMU_RING_ENTRY_SIZE) {
        cmd->malformed = "entry shorter than a command entry";
        return;
    }
    uint32_t iov_cnt = ld32(e + ENT_IOV_CNT);
    cmd->bidi_segs = ld32(e + ENT_BIDI_CNT);
    cmd->dif_segs = ld32(e + ENT_DIF_CNT);
    uint64_t nseg = (uint64_t)iov_cnt + cmd->bidi_segs + cmd->dif_segs;
    if (nseg > TCMU_RING_MAX_SEGS || ENT_IOV + nseg * IOV_SIZE > len) {
        cmd->malformed = "data segment list runs past the entry";
        return;
    }
    uint64_t cdb_off = ld64(e + ENT_CDB_OFF);
    if (!in_map(r, cdb_off, 1)) {
        cmd->malformed = "CDB outside the mapping";
        return;
    }
    size_t avail = (size_t)(r->size - cdb_off);
    if (avail > sizeof(cmd->cdb))
        avail = sizeof(cmd->cdb);
    size_t cdb_len = tcmu_cdb_length(r->base + cdb_off, avail);
    if (cdb_len == 0 || cdb_len > avail) {
        cmd->malformed = "CDB runs past the mapping";
        return;
    }
    memcpy(cmd->cdb, r->base + cdb_off, cdb_len);
    cmd->cdb_len = cdb_len;
    if (!grow_segs(r, iov_cnt ? iov_cnt : 1)) {
        cmd->malformed = "out of memory for the data segment list";
        return;
    }
    /* Data segments must lie in the data area: past the command ring. */
    uint64_t data_start = (uint64_t)r->cmdr_off + r->cmdr_size;
    for (uint32_t i = 0; i < iov_cnt; i++) {
        uint64_t b = ld64(e + ENT_IOV + (size_t)i * IOV_SIZE);
        uint64_t l = ld64(e + ENT_IOV + (size_t)i * IOV_SIZE + 8);
        if (b < data_start || !in_map(r, b, l)) {
            cmd->malformed = "data segment outside the data area";
            return;
        }
        r->segs[i].base = r->base + b;
        r->segs[i].len = (size_t)l;
    }
    cmd->data = prh_sgl_make(r->segs, iov_cnt);
}

enum tcmu_ring_kind tcmu_ring_next(struct tcmu_ring *r, struct tcmu_ring_cmd *cmd,
                                   struct tcmu_ring_tmr *tmr)
{
    if (r->base == NULL)
        return TCMU_RING_EMPTY;
    if (r->broken)
        return TCMU_RING_BROKEN;
    for (;;) {
        uint32_t head = load_head(r);
        if (head >= r->cmdr_size || head % TCMU_OP_ALIGN_SIZE != 0)
            return broken(r, "mailbox cmd_head is out of range");
        if (head == r->tail)
            return TCMU_RING_EMPTY;
        uint32_t used = head > r->tail ? head - r->tail : r->cmdr_size - r->tail + head;
        /* Ring size and tail are 8-byte aligned: a header always fits. */
        uint32_t to_end = r->cmdr_size - r->tail;
        const uint8_t *e = r->base + r->cmdr_off + r->tail;
        uint32_t len_op = ld32(e + ENT_LEN_OP);
        uint32_t len = tcmu_hdr_get_len(len_op);
        /* Without a sane length there is no next entry to go to. */
        if (len == 0 || len > to_end || len > used)
            return broken(r, "entry length is zero or runs past the pending part of the ring");
        switch (tcmu_hdr_get_op(len_op)) {
        case TCMU_OP_PAD:
            store_tail(r, (r->tail + len) % r->cmdr_size);
            continue;
        case TCMU_OP_TMR:
            if (tmr) {
                memset(tmr, 0, sizeof(*tmr));
                if (len >= sizeof(struct tcmu_tmr_entry)) {
                    tmr->type = e[8];
                    tmr->cmd_count = ld32(e + 12);
                }
            }
            store_tail(r, (r->tail + len) % r->cmdr_size);
            return TCMU_RING_TMR;
        case TCMU_OP_CMD:
            decode_cmd(r, r->tail, len, cmd);
            return TCMU_RING_CMD;
        default:
            /* An unknown entry type with a sane length: skip it, as the
             * kernel does when it cleans up behind us. */
            store_tail(r, (r->tail + len) % r->cmdr_size);
            continue;
        }
    }
}

void tcmu_ring_complete(struct tcmu_ring *r, const struct tcmu_ring_cmd *cmd, uint8_t status,
                        const uint8_t *sense, size_t sense_len, uint32_t read_len)
{
    if (r->base == NULL || r->broken || cmd->entry_off != r->tail)
        return;
    uint8_t *e = r->base + r->cmdr_off + cmd->entry_off;
    if (cmd->entry_len >= TCMU_RING_ENTRY_SIZE) {
        e[ENT_STATUS] = status;
        e[ENT_STATUS + 1] = 0;
        e[ENT_STATUS + 2] = 0;
        e[ENT_STATUS + 3] = 0;
        memset(e + ENT_SENSE, 0, TCMU_RING_SENSE_SIZE);
        if (sense != NULL && status == 0x02) {
            if (sense_len > TCMU_RING_SENSE_SIZE)
                sense_len = TCMU_RING_SENSE_SIZE;
            memcpy(e + ENT_SENSE, sense, sense_len);
        }
        bool use_read_len = read_len != TCMU_RING_NO_READ_LEN && read_len != 0 &&
                            (r->flags & TCMU_MAILBOX_FLAG_CAP_READ_LEN) && status == 0x00;
        st32(e + ENT_READ_LEN, use_read_len ? read_len : 0);
        e[ENT_UFLAGS] = use_read_len ? TCMU_UFLAG_READ_LEN : 0;
    } else if (cmd->entry_len > ENT_STATUS) {
        /* Too short to hold sense: a status the initiator will retry. */
        e[ENT_STATUS] = 0x08; /* BUSY */
        e[ENT_UFLAGS] = 0;
    }
    store_tail(r, (cmd->entry_off + cmd->entry_len) % r->cmdr_size);
}
