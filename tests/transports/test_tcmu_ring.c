/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tcmu_ring.c - the user side of the TCMU command ring
 * (include/prhelper/tcmu_ring.h) and the scatter-gather helpers (sgl.h),
 * on a ring built in memory by tests/helpers/tcmu_fake.h: entries, padding at the
 * wrap, TMR entries, data segments, malformed entries, a restarted
 * handler, completion.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_helpers.h"
#include "tcmu_fake.h"

#include "prhelper/sgl.h"
#include "prhelper/tcmu_ring.h"

#define RING_SIZE 4096u
#define DATA_SIZE 65536u
#define MAP_SIZE (FAKE_MB_SIZE + RING_SIZE + DATA_SIZE)

struct fixture {
    uint8_t *map;
    struct tcmu_ring ring;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->map = calloc(1, MAP_SIZE);
    fake_format(f->map, RING_SIZE, FAKE_CAP_OOOC | FAKE_CAP_READ_LEN);
    assert_int_equal(tcmu_ring_attach(&f->ring, f->map, MAP_SIZE), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tcmu_ring_detach(&f->ring);
    free(f->map);
    free(f);
    return 0;
}

static const uint8_t tur[6] = { 0x00 };

/* ---- sgl ------------------------------------------------------------------- */

static void test_sgl_gather_crosses_segment_boundaries(void **state)
{
    (void)state;
    uint8_t a[3] = { 1, 2, 3 }, b[2] = { 4, 5 }, c[4] = { 6, 7, 8, 9 }, out[9];
    struct prh_seg seg[3] = { { a, 3 }, { b, 2 }, { c, 4 } };
    struct prh_sgl s = prh_sgl_make(seg, 3);
    assert_int_equal(s.total, 9);
    memset(out, 0, sizeof(out));
    assert_int_equal(prh_sgl_gather(&s, 2, out, 5), 5);
    static const uint8_t want[5] = { 3, 4, 5, 6, 7 };
    assert_memory_equal(out, want, 5);
}

static void test_sgl_gather_stops_at_the_end_of_the_list(void **state)
{
    (void)state;
    uint8_t a[4] = { 1, 2, 3, 4 }, out[8];
    struct prh_seg seg = { a, 4 };
    struct prh_sgl s = prh_sgl_make(&seg, 1);
    assert_int_equal(prh_sgl_gather(&s, 1, out, 8), 3);
    assert_int_equal(prh_sgl_gather(&s, 4, out, 8), 0);
    assert_int_equal(prh_sgl_gather(&s, 100, out, 8), 0);
}

static void test_sgl_scatter_fills_every_segment_in_order(void **state)
{
    (void)state;
    uint8_t a[2] = { 0 }, b[3] = { 0 };
    struct prh_seg seg[2] = { { a, 2 }, { b, 3 } };
    struct prh_sgl s = prh_sgl_make(seg, 2);
    static const uint8_t src[5] = { 9, 8, 7, 6, 5 };
    assert_int_equal(prh_sgl_scatter(&s, 0, src, 5), 5);
    assert_int_equal(a[1], 8);
    assert_int_equal(b[0], 7);
    assert_int_equal(b[2], 5);
}

static void test_sgl_zero_from_clears_only_the_tail(void **state)
{
    (void)state;
    uint8_t a[3] = { 1, 1, 1 }, b[3] = { 1, 1, 1 };
    struct prh_seg seg[2] = { { a, 3 }, { b, 3 } };
    struct prh_sgl s = prh_sgl_make(seg, 2);
    prh_sgl_zero_from(&s, 2);
    assert_int_equal(a[1], 1);
    assert_int_equal(a[2], 0);
    assert_int_equal(b[2], 0);
    prh_sgl_zero_from(&s, 6); /* past the end: nothing */
}

static int stop_at_second(void *opaque, uint8_t *piece, size_t n, size_t off)
{
    (void)piece;
    (void)n;
    (void)off;
    int *calls = opaque;
    return ++*calls == 2 ? 7 : 0;
}

static void test_sgl_walk_stops_when_the_callback_says_so(void **state)
{
    (void)state;
    uint8_t a[2], b[2], c[2];
    struct prh_seg seg[3] = { { a, 2 }, { b, 2 }, { c, 2 } };
    struct prh_sgl s = prh_sgl_make(seg, 3);
    int calls = 0;
    assert_int_equal(prh_sgl_walk(&s, 0, 6, stop_at_second, &calls), 7);
    assert_int_equal(calls, 2);
}

/* ---- attach ------------------------------------------------------------------ */

/*
 * What attach refuses (the mailbox of a tcmu device: its version, the
 * command ring's offset and size, cmd_tail), one row each: the mailbox as
 * fake_format() writes it for a ring of CMDR bytes (0: left zero), one
 * field then overwritten (WIDTH 0: none), LEN bytes mapped (map NULL when
 * NO_MAP), and the words the refusal says (NULL: not checked).
 */
static const struct attach_row {
    const char *name;
    uint32_t cmdr;
    size_t at;
    unsigned width;
    uint32_t value;
    size_t len;
    bool no_map;
    const char *why;
} attach_refusals[] = {
    { "mailbox of another version", 256, 0, 16, 1, FAKE_MB_SIZE + 512, false, "version" },
    { "ring outside the mapping", 4096, 0, 0, 0, FAKE_MB_SIZE + 512, false, "outside" },
    { "ring offset inside the mailbox, unaligned", 256, 4, 32, 100, FAKE_MB_SIZE + 512, false, NULL },
    { "mapping smaller than the mailbox", 0, 0, 0, 0, 64, false, NULL },
    { "no mapping", 0, 0, 0, 0, 4096, true, NULL },
    { "tail outside the ring", 256, 64, 32, 300, FAKE_MB_SIZE + 512, false, "cmd_tail" },
    /* Entries are 8-byte aligned: such a ring would leave a sliver at its
     * end that no header fits in. */
    { "ring size not 8-byte aligned", 260, 0, 0, 0, FAKE_MB_SIZE + 260 + 4096, false, NULL },
};

static void test_attach_refusals(void **state)
{
    (void)state;
    static uint8_t map[FAKE_MB_SIZE + 260 + 4096];
    for (size_t i = 0; i < sizeof(attach_refusals) / sizeof(attach_refusals[0]); i++) {
        const struct attach_row *row = &attach_refusals[i];
        struct tcmu_ring r;
        memset(&r, 0, sizeof(r));
        memset(map, 0, sizeof(map));
        if (row->cmdr)
            fake_format(map, row->cmdr, 0);
        if (row->width == 16)
            fake_st16(map, row->at, (uint16_t)row->value);
        else if (row->width == 32)
            fake_st32(map, row->at, row->value);
        int rc = tcmu_ring_attach(&r, row->no_map ? NULL : map, row->len);
        if (rc != -1 || (row->why && !strstr(r.errmsg, row->why)))
            fail_msg("%s: attach %d (%s), want -1 (%s)", row->name, rc, r.errmsg,
                     row->why ? row->why : "");
        tcmu_ring_detach(&r);
    }
}

/* ---- commands ------------------------------------------------------------------ */

static void test_empty_ring_has_nothing_pending(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_EMPTY);
    assert_int_equal(tcmu_ring_pending_bytes(&f->ring), 0);
}

static void test_command_is_decoded_with_its_cdb_id_and_data_segments(void **state)
{
    struct fixture *f = *state;
    uint64_t d = fake_data_off(f->map);
    const uint64_t iov[2][2] = { { d, 512 }, { d + 4096, 1024 } };
    const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 7, 0, 0, 3, 0 };
    struct tcmu_ring_cmd cmd;

    memset(f->map + d, 0xab, 512);
    assert_true(fake_push_cmd(f->map, 42, read10, sizeof(read10), iov, 2) >= 0);
    assert_true(tcmu_ring_pending_bytes(&f->ring) > 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    assert_null(cmd.malformed);
    assert_int_equal(cmd.cmd_id, 42);
    assert_int_equal(cmd.cdb_len, 10);
    assert_memory_equal(cmd.cdb, read10, 10);
    assert_int_equal(cmd.data.nseg, 2);
    assert_int_equal(cmd.data.total, 1536);
    assert_ptr_equal(cmd.data.seg[0].base, f->map + d);
    assert_ptr_equal(cmd.data.seg[1].base, f->map + d + 4096);
    assert_int_equal(cmd.data.seg[0].base[0], 0xab);
}

static void test_next_returns_the_same_command_until_it_is_completed(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd a, b;
    assert_true(fake_push_cmd(f->map, 1, tur, 6, NULL, 0) >= 0);
    assert_true(fake_push_cmd(f->map, 2, tur, 6, NULL, 0) >= 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &a, NULL), TCMU_RING_CMD);
    assert_int_equal(tcmu_ring_next(&f->ring, &b, NULL), TCMU_RING_CMD);
    assert_int_equal(a.cmd_id, 1);
    assert_int_equal(b.cmd_id, 1);
    tcmu_ring_complete(&f->ring, &a, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
    assert_int_equal(tcmu_ring_next(&f->ring, &b, NULL), TCMU_RING_CMD);
    assert_int_equal(b.cmd_id, 2);
}

/* A TEST UNIT READY (command id 9) taken from the ring and completed with
 * STATUS and SENSE: its entry as the kernel then reads it. */
static struct fake_answer tur_answered(struct fixture *f, struct tcmu_ring_cmd *cmd, uint8_t status,
                                       const uint8_t *sense, size_t sense_len)
{
    long off = fake_push_cmd(f->map, 9, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, cmd, NULL), TCMU_RING_CMD);
    tcmu_ring_complete(&f->ring, cmd, status, sense, sense_len, TCMU_RING_NO_READ_LEN);
    return fake_read_answer(f->map, off);
}

static void test_completion_writes_status_and_sense_and_moves_the_tail(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    uint8_t sense[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0 };
    struct fake_answer a = tur_answered(f, &cmd, 0x02, sense, sizeof(sense));
    assert_int_equal(a.status, 0x02);
    assert_memory_equal(a.sense, sense, sizeof(sense));
    assert_int_equal(a.sense[20], 0);
    assert_int_equal(a.uflags, 0);
    assert_int_equal(fake_tail(f->map), fake_head(f->map));
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_EMPTY);
}

static void test_sense_is_not_copied_unless_check_condition(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    uint8_t sense[18];
    memset(sense, 0x77, sizeof(sense));
    struct fake_answer a = tur_answered(f, &cmd, 0x18, sense, sizeof(sense));
    assert_int_equal(a.status, 0x18);
    assert_int_equal(a.sense[0], 0);
}

static void test_sense_longer_than_the_buffer_is_clipped(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    uint8_t sense[200];
    memset(sense, 0x5a, sizeof(sense));
    long off = fake_push_cmd(f->map, 9, tur, 6, NULL, 0);
    long next = fake_push_cmd(f->map, 10, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    tcmu_ring_complete(&f->ring, &cmd, 0x02, sense, sizeof(sense), TCMU_RING_NO_READ_LEN);
    assert_int_equal(fake_read_answer(f->map, off).sense[95], 0x5a);
    /* The next entry's header is untouched. */
    assert_int_equal(fake_ld32(f->map, FAKE_MB_SIZE + (size_t)next) & 7, FAKE_OP_CMD);
}

static void test_read_len_is_reported_when_the_kernel_offers_it(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    uint64_t d = fake_data_off(f->map);
    const uint64_t iov[1][2] = { { d, 4096 } };
    long off = fake_push_cmd(f->map, 3, tur, 6, iov, 1);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    tcmu_ring_complete(&f->ring, &cmd, 0x00, NULL, 0, 36);
    struct fake_answer a = fake_read_answer(f->map, off);
    assert_int_equal(a.uflags, 0x2); /* TCMU_UFLAG_READ_LEN */
    assert_int_equal(a.read_len, 36);
}

static void test_read_len_is_not_used_without_the_capability(void **state)
{
    (void)state;
    static uint8_t map[MAP_SIZE];
    struct tcmu_ring r;
    struct tcmu_ring_cmd cmd;
    memset(map, 0, sizeof(map));
    fake_format(map, RING_SIZE, FAKE_CAP_OOOC);
    assert_int_equal(tcmu_ring_attach(&r, map, sizeof(map)), 0);
    long off = fake_push_cmd(map, 3, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&r, &cmd, NULL), TCMU_RING_CMD);
    tcmu_ring_complete(&r, &cmd, 0x00, NULL, 0, 36);
    struct fake_answer a = fake_read_answer(map, off);
    assert_int_equal(a.uflags, 0);
    assert_int_equal(a.read_len, 0);
    tcmu_ring_detach(&r);
}

static void test_read_len_is_not_used_with_check_condition(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    long off = fake_push_cmd(f->map, 3, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    tcmu_ring_complete(&f->ring, &cmd, 0x02, NULL, 0, 36);
    assert_int_equal(fake_read_answer(f->map, off).uflags, 0);
}

static void test_completing_a_command_that_is_not_at_the_tail_does_nothing(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd, stale;
    fake_push_cmd(f->map, 1, tur, 6, NULL, 0);
    fake_push_cmd(f->map, 2, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    stale = cmd;
    tcmu_ring_complete(&f->ring, &cmd, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
    uint32_t tail = fake_tail(f->map);
    tcmu_ring_complete(&f->ring, &stale, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
    assert_int_equal(fake_tail(f->map), tail);
}

static void test_pad_entry_at_the_end_of_the_ring_is_skipped(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    unsigned done = 0;
    uint16_t id = 1;

    /* Go round the ring more than twice: PAD entries appear at the wrap. */
    for (int round = 0; round < 100; round++) {
        long off = fake_push_cmd(f->map, id, tur, 6, NULL, 0);
        assert_true(off >= 0);
        assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
        assert_int_equal(cmd.cmd_id, id);
        assert_int_equal(cmd.entry_off, (uint32_t)off);
        tcmu_ring_complete(&f->ring, &cmd, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
        id++;
        done++;
    }
    assert_int_equal(done, 100);
    assert_true(100u * 120u > 2u * RING_SIZE);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_EMPTY);
}

static void test_commands_queued_up_to_a_full_ring_all_come_out_in_order(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    uint16_t n = 0;

    fake_push_cmd(f->map, 999, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    tcmu_ring_complete(&f->ring, &cmd, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
    while (fake_push_cmd(f->map, (uint16_t)(n + 1), tur, 6, NULL, 0) >= 0)
        n++;
    assert_true(n > 10);
    for (uint16_t i = 1; i <= n; i++) {
        assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
        assert_int_equal(cmd.cmd_id, i);
        tcmu_ring_complete(&f->ring, &cmd, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
    }
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_EMPTY);
}

static void test_tmr_entry_is_reported_and_consumed(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    struct tcmu_ring_tmr tmr;
    const uint16_t ids[2] = { 4, 5 };
    fake_push_tmr(f->map, 5 /* LUN RESET */, ids, 2);
    fake_push_cmd(f->map, 6, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, &tmr), TCMU_RING_TMR);
    assert_int_equal(tmr.type, 5);
    assert_int_equal(tmr.cmd_count, 2);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, &tmr), TCMU_RING_CMD);
    assert_int_equal(cmd.cmd_id, 6);
}

static void test_unknown_entry_type_with_a_sane_length_is_skipped(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    uint8_t raw[16] = { 0 };
    uint32_t len_op = 16 | 5;
    memcpy(raw, &len_op, 4);
    fake_push_raw(f->map, raw, sizeof(raw));
    fake_push_cmd(f->map, 7, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    assert_int_equal(cmd.cmd_id, 7);
}

static void test_restarted_handler_resumes_at_the_old_tail(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    struct tcmu_ring again;

    fake_push_cmd(f->map, 1, tur, 6, NULL, 0);
    fake_push_cmd(f->map, 2, tur, 6, NULL, 0);
    fake_push_cmd(f->map, 3, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    tcmu_ring_complete(&f->ring, &cmd, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
    /* The handler dies with 2 and 3 queued; a new one attaches. */
    tcmu_ring_detach(&f->ring);
    assert_int_equal(tcmu_ring_attach(&again, f->map, MAP_SIZE), 0);
    assert_int_equal(tcmu_ring_next(&again, &cmd, NULL), TCMU_RING_CMD);
    assert_int_equal(cmd.cmd_id, 2);
    tcmu_ring_complete(&again, &cmd, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
    assert_int_equal(tcmu_ring_next(&again, &cmd, NULL), TCMU_RING_CMD);
    assert_int_equal(cmd.cmd_id, 3);
    tcmu_ring_complete(&again, &cmd, 0, NULL, 0, TCMU_RING_NO_READ_LEN);
    assert_int_equal(tcmu_ring_next(&again, &cmd, NULL), TCMU_RING_EMPTY);
    f->ring = again;
}

/* ---- malformed entries ------------------------------------------------------------ */

static void expect_malformed_then_next_ok(struct fixture *f, const char *why)
{
    struct tcmu_ring_cmd cmd;
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    assert_non_null(cmd.malformed);
    assert_non_null(strstr(cmd.malformed, why));
    uint32_t off = cmd.entry_off;
    tcmu_ring_complete(&f->ring, &cmd, 0x02, NULL, 0, TCMU_RING_NO_READ_LEN);
    assert_int_equal(fake_read_answer(f->map, off).status, 0x02);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    assert_null(cmd.malformed);
    assert_int_equal(cmd.cmd_id, 77);
}

static void test_data_segment_outside_the_data_area_is_malformed(void **state)
{
    struct fixture *f = *state;
    const uint64_t in_ring[1][2] = { { FAKE_MB_SIZE + 16, 16 } };
    fake_push_cmd(f->map, 1, tur, 6, in_ring, 1);
    fake_push_cmd(f->map, 77, tur, 6, NULL, 0);
    expect_malformed_then_next_ok(f, "data area");
}

static void test_data_segment_past_the_mapping_is_malformed(void **state)
{
    struct fixture *f = *state;
    const uint64_t past[1][2] = { { MAP_SIZE - 8, 16 } };
    fake_push_cmd(f->map, 1, tur, 6, past, 1);
    fake_push_cmd(f->map, 77, tur, 6, NULL, 0);
    expect_malformed_then_next_ok(f, "data area");
}

static void test_data_segment_length_that_wraps_is_malformed(void **state)
{
    struct fixture *f = *state;
    const uint64_t wrap[1][2] = { { fake_data_off(f->map), UINT64_MAX - 4 } };
    fake_push_cmd(f->map, 1, tur, 6, wrap, 1);
    fake_push_cmd(f->map, 77, tur, 6, NULL, 0);
    expect_malformed_then_next_ok(f, "data area");
}

static void test_cdb_outside_the_mapping_is_malformed(void **state)
{
    struct fixture *f = *state;
    long off = fake_push_cmd(f->map, 1, tur, 6, NULL, 0);
    fake_st64(f->map, FAKE_MB_SIZE + (size_t)off + 24, (uint64_t)MAP_SIZE + 100);
    fake_push_cmd(f->map, 77, tur, 6, NULL, 0);
    expect_malformed_then_next_ok(f, "CDB");
}

static void test_cdb_running_past_the_mapping_is_malformed(void **state)
{
    struct fixture *f = *state;
    long off = fake_push_cmd(f->map, 1, tur, 6, NULL, 0);
    f->map[MAP_SIZE - 2] = 0x88; /* a 16-byte CDB two bytes before the end */
    fake_st64(f->map, FAKE_MB_SIZE + (size_t)off + 24, (uint64_t)MAP_SIZE - 2);
    fake_push_cmd(f->map, 77, tur, 6, NULL, 0);
    expect_malformed_then_next_ok(f, "CDB");
}

static void test_segment_count_past_the_entry_is_malformed(void **state)
{
    struct fixture *f = *state;
    long off = fake_push_cmd(f->map, 1, tur, 6, NULL, 0);
    fake_st32(f->map, FAKE_MB_SIZE + (size_t)off + 8, 1000);
    fake_push_cmd(f->map, 77, tur, 6, NULL, 0);
    expect_malformed_then_next_ok(f, "segment list");
}

static void test_short_command_entry_is_answered_busy(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    uint8_t raw[32] = { 0 };
    uint32_t len_op = 32 | FAKE_OP_CMD;
    memcpy(raw, &len_op, 4);
    long off = fake_push_raw(f->map, raw, sizeof(raw));
    fake_push_cmd(f->map, 77, tur, 6, NULL, 0);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    assert_non_null(cmd.malformed);
    tcmu_ring_complete(&f->ring, &cmd, 0x02, NULL, 0, TCMU_RING_NO_READ_LEN);
    assert_int_equal(fake_read_answer(f->map, off).status, 0x08);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_CMD);
    assert_int_equal(cmd.cmd_id, 77);
}

static void test_entry_of_length_zero_breaks_the_ring(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    long off = fake_push_cmd(f->map, 1, tur, 6, NULL, 0);
    fake_st32(f->map, FAKE_MB_SIZE + (size_t)off, FAKE_OP_CMD); /* length 0 */
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_BROKEN);
    assert_non_null(strstr(f->ring.errmsg, "length"));
    /* It stays broken: nothing is executed, nothing is written. */
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_BROKEN);
    assert_int_equal(tcmu_ring_pending_bytes(&f->ring), 0);
}

static void test_entry_longer_than_the_pending_bytes_breaks_the_ring(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    long off = fake_push_cmd(f->map, 1, tur, 6, NULL, 0);
    fake_st32(f->map, FAKE_MB_SIZE + (size_t)off, 2048 | FAKE_OP_CMD);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_BROKEN);
}

static void test_head_outside_the_ring_breaks_it(void **state)
{
    struct fixture *f = *state;
    struct tcmu_ring_cmd cmd;
    fake_st32(f->map, 12, RING_SIZE + 8);
    assert_int_equal(tcmu_ring_next(&f->ring, &cmd, NULL), TCMU_RING_BROKEN);
    assert_non_null(strstr(f->ring.errmsg, "cmd_head"));
}

/* ---- CDB length ---------------------------------------------------------------------- */

static void test_cdb_length_follows_the_group_code(void **state)
{
    (void)state;
    uint8_t c[16] = { 0 };
    static const struct { uint8_t op; size_t len; } t[] = {
        { 0x00, 6 }, { 0x28, 10 }, { 0x5e, 10 }, { 0x7e, 12 }, { 0x88, 16 },
        { 0xa0, 12 }, { 0xc0, 10 }, { 0xe0, 10 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        c[0] = t[i].op;
        assert_int_equal(tcmu_cdb_length(c, sizeof(c)), t[i].len);
    }
    assert_int_equal(tcmu_cdb_length(c, 0), 0);
}

static void test_variable_length_cdb_uses_its_additional_length(void **state)
{
    (void)state;
    uint8_t c[40] = { 0x7f, 0, 0, 0, 0, 0, 0, 24 };
    assert_int_equal(tcmu_cdb_length(c, sizeof(c)), 32);
    assert_int_equal(tcmu_cdb_length(c, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgl_gather_crosses_segment_boundaries),
        cmocka_unit_test(test_sgl_gather_stops_at_the_end_of_the_list),
        cmocka_unit_test(test_sgl_scatter_fills_every_segment_in_order),
        cmocka_unit_test(test_sgl_zero_from_clears_only_the_tail),
        cmocka_unit_test(test_sgl_walk_stops_when_the_callback_says_so),
        cmocka_unit_test(test_attach_refusals),
        cmocka_unit_test_setup_teardown(test_empty_ring_has_nothing_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_is_decoded_with_its_cdb_id_and_data_segments,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_returns_the_same_command_until_it_is_completed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_completion_writes_status_and_sense_and_moves_the_tail,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sense_is_not_copied_unless_check_condition, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sense_longer_than_the_buffer_is_clipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_read_len_is_reported_when_the_kernel_offers_it, setup,
                                        teardown),
        cmocka_unit_test(test_read_len_is_not_used_without_the_capability),
        cmocka_unit_test_setup_teardown(test_read_len_is_not_used_with_check_condition, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_completing_a_command_that_is_not_at_the_tail_does_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pad_entry_at_the_end_of_the_ring_is_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_commands_queued_up_to_a_full_ring_all_come_out_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmr_entry_is_reported_and_consumed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_entry_type_with_a_sane_length_is_skipped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_restarted_handler_resumes_at_the_old_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_data_segment_outside_the_data_area_is_malformed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_segment_past_the_mapping_is_malformed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_data_segment_length_that_wraps_is_malformed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cdb_outside_the_mapping_is_malformed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cdb_running_past_the_mapping_is_malformed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_segment_count_past_the_entry_is_malformed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_short_command_entry_is_answered_busy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entry_of_length_zero_breaks_the_ring, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entry_longer_than_the_pending_bytes_breaks_the_ring,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_outside_the_ring_breaks_it, setup, teardown),
        cmocka_unit_test(test_cdb_length_follows_the_group_code),
        cmocka_unit_test(test_variable_length_cdb_uses_its_additional_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
