/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcmu_fake.h - the kernel's side of a TCMU command ring, in memory, for
 * tests that need no kernel (header only).
 *
 * Lays out the mailbox and queues entries the way target_core_user.c
 * does: entries 8-byte aligned, a PAD entry when a command does not fit
 * before the end of the ring, the CDB right after the iovec array, iovec
 * bases as offsets into the mapping (the data area starts after the
 * ring).  Everything is host-endian, as the kernel's structures are.
 */
#ifndef PRHELPER_TESTS_TCMU_FAKE_H
#define PRHELPER_TESTS_TCMU_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FAKE_MB_SIZE 128u
#define FAKE_ENTRY_MIN 112u
#define FAKE_CAP_OOOC 0x1
#define FAKE_CAP_READ_LEN 0x2
#define FAKE_OP_PAD 0u
#define FAKE_OP_CMD 1u
#define FAKE_OP_TMR 2u

static inline uint32_t fake_ld32(const void *base, size_t off)
{
    uint32_t v;
    memcpy(&v, (const uint8_t *)base + off, 4);
    return v;
}

static inline void fake_st16(void *base, size_t off, uint16_t v)
{
    memcpy((uint8_t *)base + off, &v, 2);
}

static inline void fake_st32(void *base, size_t off, uint32_t v)
{
    memcpy((uint8_t *)base + off, &v, 4);
}

static inline void fake_st64(void *base, size_t off, uint64_t v)
{
    memcpy((uint8_t *)base + off, &v, 8);
}

static inline uint32_t fake_cmdr_size(const void *base)
{
    return fake_ld32(base, 8);
}

static inline uint32_t fake_head(const void *base)
{
    return fake_ld32(base, 12);
}

static inline uint32_t fake_tail(const void *base)
{
    return fake_ld32(base, 64);
}

/* Offset of the data area in the mapping. */
static inline uint64_t fake_data_off(const void *base)
{
    return FAKE_MB_SIZE + fake_cmdr_size(base);
}

static inline void fake_format(void *base, uint32_t cmdr_size, uint16_t flags)
{
    memset(base, 0, FAKE_MB_SIZE);
    fake_st16(base, 0, 2);          /* version */
    fake_st16(base, 2, flags);
    fake_st32(base, 4, FAKE_MB_SIZE); /* cmdr_off */
    fake_st32(base, 8, cmdr_size);
}

static inline uint32_t fake_round8(size_t n)
{
    return (uint32_t)((n + 7) & ~(size_t)7);
}

static inline uint32_t fake_free(const void *base)
{
    uint32_t size = fake_cmdr_size(base), head = fake_head(base), tail = fake_tail(base);
    uint32_t used = head >= tail ? head - tail : size - tail + head;
    return size - used - 1;
}

/* Write an entry header at ring offset off. */
static inline void fake_hdr(void *base, uint32_t off, uint32_t len, uint32_t op, uint16_t id)
{
    size_t e = FAKE_MB_SIZE + off;
    fake_st32(base, e, len | op);
    fake_st16(base, e + 4, id);
    ((uint8_t *)base)[e + 6] = 0;
    ((uint8_t *)base)[e + 7] = 0;
}

/* Make room for size bytes at head (a PAD to the end if needed); the
 * entry's ring offset, or -1 when full. */
static inline long fake_reserve(void *base, uint32_t size)
{
    uint32_t rsize = fake_cmdr_size(base), head = fake_head(base);
    uint32_t to_end = rsize - head;
    uint32_t need = to_end >= size ? size : size + to_end;
    if (fake_free(base) < need)
        return -1;
    if (to_end < size) {
        fake_hdr(base, head, to_end, FAKE_OP_PAD, 0);
        head = 0;
        fake_st32(base, 12, 0);
    }
    return head;
}

static inline void fake_advance(void *base, uint32_t off, uint32_t size)
{
    fake_st32(base, 12, (off + size) % fake_cmdr_size(base));
}

/* Queue a command; iov holds (offset, length) pairs into the mapping. */
static inline long fake_push_cmd(void *base, uint16_t id, const uint8_t *cdb, size_t cdb_len,
                                 const uint64_t (*iov)[2], uint32_t iov_cnt)
{
    uint32_t base_size = fake_round8(48 + 16 * (size_t)iov_cnt);
    if (base_size < FAKE_ENTRY_MIN)
        base_size = FAKE_ENTRY_MIN;
    uint32_t size = base_size + fake_round8(cdb_len);
    long off = fake_reserve(base, size);
    if (off < 0)
        return -1;
    size_t e = FAKE_MB_SIZE + (size_t)off;
    memset((uint8_t *)base + e, 0, size);
    fake_hdr(base, (uint32_t)off, size, FAKE_OP_CMD, id);
    fake_st32(base, e + 8, iov_cnt);
    fake_st64(base, e + 24, e + base_size);
    for (uint32_t i = 0; i < iov_cnt; i++) {
        fake_st64(base, e + 48 + 16 * (size_t)i, iov[i][0]);
        fake_st64(base, e + 56 + 16 * (size_t)i, iov[i][1]);
    }
    memcpy((uint8_t *)base + e + base_size, cdb, cdb_len);
    fake_advance(base, (uint32_t)off, size);
    return off;
}

static inline long fake_push_tmr(void *base, uint8_t type, const uint16_t *ids, uint32_t cnt)
{
    uint32_t size = fake_round8(32 + 2 * (size_t)cnt);
    long off = fake_reserve(base, size);
    if (off < 0)
        return -1;
    size_t e = FAKE_MB_SIZE + (size_t)off;
    memset((uint8_t *)base + e, 0, size);
    fake_hdr(base, (uint32_t)off, size, FAKE_OP_TMR, 0);
    ((uint8_t *)base)[e + 8] = type;
    fake_st32(base, e + 12, cnt);
    if (cnt)
        memcpy((uint8_t *)base + e + 32, ids, 2 * (size_t)cnt);
    fake_advance(base, (uint32_t)off, size);
    return off;
}

/* Queue raw bytes as one entry (malformed-entry tests); ring offset or -1. */
static inline long fake_push_raw(void *base, const void *entry, uint32_t size)
{
    long off = fake_reserve(base, size);
    if (off < 0)
        return -1;
    memcpy((uint8_t *)base + FAKE_MB_SIZE + off, entry, size);
    fake_advance(base, (uint32_t)off, size);
    return off;
}

struct fake_answer {
    uint8_t status;
    uint8_t uflags;
    uint32_t read_len;
    uint8_t sense[96];
};

static inline struct fake_answer fake_read_answer(const void *base, long off)
{
    struct fake_answer a;
    size_t e = FAKE_MB_SIZE + (size_t)off;
    a.status = ((const uint8_t *)base)[e + 8];
    a.uflags = ((const uint8_t *)base)[e + 7];
    a.read_len = fake_ld32(base, e + 12);
    memcpy(a.sense, (const uint8_t *)base + e + 16, sizeof(a.sense));
    return a;
}

#endif
