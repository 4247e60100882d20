/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_simlun.c - one simulated LUN shared by several I_T nexuses
 * (include/prhelper/simlun.h): every command goes through the simulator's
 * unit attentions and conflict table before the medium, PR data moves
 * through scatter-gather lists, APTPL state and data survive a reopen,
 * the data file is locked, bad configurations are refused clearly.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_helpers.h"

#include "prhelper/pr_sim_store.h"
#include "prhelper/simlun.h"

struct fixture {
    char dir[64];
    struct prh_simlun_config cfg;
    struct prh_simlun *lun;
    struct pr_sim_nexus a, b;
    uint8_t buf[8192];
};

static int setup_profile(void **state, enum pr_sim_profile profile)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    snprintf(f->dir, sizeof(f->dir), "/tmp/prh-simlun-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->cfg = (struct prh_simlun_config){
        .name = "lun0",
        .state_dir = f->dir,
        .data_dir = f->dir,
        .profile = profile,
        .size = 1 << 20,
        .block_size = 512,
    };
    f->lun = prh_simlun_open(&f->cfg, err, sizeof(err));
    assert_non_null(f->lun);
    f->a.initiator = pr_tid_sas(0x50014050000000a0ull);
    f->a.rtpi = 1;
    f->b.initiator = pr_tid_sas(0x50014050000000a1ull);
    f->b.rtpi = 2;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_profile(state, PR_SIM_PROFILE_SPC4);
}

static int setup_lio(void **state)
{
    return setup_profile(state, PR_SIM_PROFILE_LIO);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    prh_simlun_close(f->lun);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct prh_simlun_result run(struct fixture *f, const struct pr_sim_nexus *n,
                                    const uint8_t *cdb, size_t cdb_len, size_t len)
{
    struct prh_seg seg = { f->buf, len };
    struct prh_sgl s = prh_sgl_make(&seg, 1);
    struct prh_simlun_result r;
    prh_simlun_execute(f->lun, n, cdb, cdb_len, &s, &r);
    return r;
}

/* PR OUT with a basic parameter list, sent in two segments. */
static struct prh_simlun_result prout(struct fixture *f, const struct pr_sim_nexus *n, uint8_t sa,
                                      uint8_t type, uint64_t rk, uint64_t sark, uint8_t flags)
{
    uint8_t cdb[10] = { 0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0 };
    uint8_t p[24] = { 0 };
    scsi_put_be64(p, rk);
    scsi_put_be64(p + 8, sark);
    p[20] = flags;
    struct prh_seg seg[2] = { { p, 10 }, { p + 10, 14 } };
    struct prh_sgl s = prh_sgl_make(seg, 2);
    struct prh_simlun_result r;
    prh_simlun_execute(f->lun, n, cdb, 10, &s, &r);
    return r;
}

static struct prh_simlun_result rw(struct fixture *f, const struct pr_sim_nexus *n, uint8_t op,
                                   uint32_t lba, uint8_t fill)
{
    uint8_t cdb[10] = { op };
    scsi_put_be32(cdb + 2, lba);
    scsi_put_be16(cdb + 7, 1);
    if (op == 0x2a)
        memset(f->buf, fill, 512);
    return run(f, n, cdb, 10, 512);
}

/* READ(10) of one block at lba through n into a zeroed buffer (GOOD): the buffer. */
static const uint8_t *read_block(struct fixture *f, const struct pr_sim_nexus *n, uint32_t lba)
{
    memset(f->buf, 0, 512);
    assert_int_equal(rw(f, n, 0x28, lba, 0).status, SCSI_STATUS_GOOD);
    return f->buf;
}

static void assert_unit_attention(struct prh_simlun_result r, uint8_t asc, uint8_t ascq)
{
    assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r.sense.key, SCSI_SENSE_UNIT_ATTENTION);
    assert_int_equal(r.sense.asc, asc);
    assert_int_equal(r.sense.ascq, ascq);
}

static void clear_ua(struct fixture *f, const struct pr_sim_nexus *n)
{
    static const uint8_t tur[6] = { 0 };
    for (int i = 0; i < 8 && run(f, n, tur, 6, 0).status != SCSI_STATUS_GOOD; i++)
        ;
}

#define WE 0x01
#define EA 0x03

/* ---- opening ---------------------------------------------------------------------------- */

static void test_open_creates_a_sparse_data_file_of_the_lun_size(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/lun0.img", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 1 << 20);
    assert_true(st.st_blocks * 512 < st.st_size);
    assert_int_equal(prh_simlun_size(f->lun), 1 << 20);
    assert_int_equal(prh_simlun_block_size(f->lun), 512);
    assert_string_equal(prh_simlun_name(f->lun), "lun0");
    assert_int_equal(prh_simlun_profile(f->lun), PR_SIM_PROFILE_SPC4);
    assert_string_equal(prh_simlun_identity(f->lun)->serial, "prsim-lun0");
}

static void test_second_open_of_the_same_lun_is_refused_while_in_use(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    assert_null(prh_simlun_open(&f->cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "in use"));
}

static void test_open_never_shrinks_an_existing_data_file(void **state)
{
    struct fixture *f = *state;
    char err[256];
    prh_simlun_close(f->lun);
    f->cfg.size = 4096;
    f->lun = prh_simlun_open(&f->cfg, err, sizeof(err));
    assert_non_null(f->lun);
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/lun0.img", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 1 << 20);
    assert_int_equal(prh_simlun_size(f->lun), 4096);
}

static void test_bad_configurations_are_refused_with_a_reason(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct prh_simlun_config c = f->cfg;
    c.name = "../x";
    assert_null(prh_simlun_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "invalid LUN name"));
    c = f->cfg;
    c.name = "other";
    c.block_size = 520;
    assert_null(prh_simlun_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "block size"));
    c.block_size = 512;
    c.size = 1000;
    assert_null(prh_simlun_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "multiple"));
    c.size = 4096;
    c.data_dir = NULL;
    assert_null(prh_simlun_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "data directory"));
    c.data_dir = "/nonexistent/dir";
    assert_null(prh_simlun_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open data file"));
}

static void test_data_file_that_is_not_a_regular_file_is_refused(void **state)
{
    struct fixture *f = *state;
    char err[256], path[128];
    struct prh_simlun_config c = f->cfg;
    c.name = "dirlun";
    snprintf(path, sizeof(path), "%s/dirlun.img", f->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    /* O_RDWR on a FIFO does not block; it is still not a disk. */
    assert_null(prh_simlun_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file"));
}

/* ---- the conflict table in front of the medium ------------------------------------ */

static void test_fenced_nexus_write_gets_reservation_conflict_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(prout(f, &f->a, 0, 0, 0, 0xa, 0).status, SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, &f->a, 1, WE, 0xa, 0, 0).status, SCSI_STATUS_GOOD);
    assert_int_equal(rw(f, &f->a, 0x2a, 7, 0x11).status, SCSI_STATUS_GOOD);
    assert_int_equal(rw(f, &f->b, 0x2a, 7, 0x22).status, SCSI_STATUS_RESERVATION_CONFLICT);
    /* B may still read (Write Exclusive) and sees A's data, not its own. */
    assert_int_equal(read_block(f, &f->b, 7)[0], 0x11);
    assert_int_equal(f->buf[511], 0x11);
}

static void test_exclusive_access_fences_reads_too(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0xa, 0);
    prout(f, &f->a, 1, EA, 0xa, 0, 0);
    assert_int_equal(rw(f, &f->b, 0x28, 0, 0).status, SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(rw(f, &f->a, 0x28, 0, 0).status, SCSI_STATUS_GOOD);
    /* INQUIRY and READ CAPACITY are allowed under every type (SPC-4 5.14.3). */
    const uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
    const uint8_t cap[10] = { 0x25 };
    assert_int_equal(run(f, &f->b, inq, 6, 36).status, SCSI_STATUS_GOOD);
    assert_int_equal(run(f, &f->b, cap, 10, 8).status, SCSI_STATUS_GOOD);
}

static void test_registrants_only_lets_registered_writers_through(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0xa, 0);
    prout(f, &f->a, 1, 0x05 /* WE_RO */, 0xa, 0, 0);
    assert_int_equal(rw(f, &f->b, 0x2a, 1, 0x22).status, SCSI_STATUS_RESERVATION_CONFLICT);
    prout(f, &f->b, 0, 0, 0, 0xb, 0);
    assert_int_equal(rw(f, &f->b, 0x2a, 1, 0x22).status, SCSI_STATUS_GOOD);
}

/* Every command the TCMU disk implements, with the access class SPC-4
 * 5.14.3 (table 63) and SBC-3 4.18.2 (table 13) give it. */
enum acc { ALWAYS, READS, WRITES };
static const struct disk_command {
    const char *name;
    uint8_t cdb[16];
    uint8_t cdb_len;
    uint16_t len; /* data bytes: written for WRITES, room for the rest */
    enum acc acc;
} disk_commands[] = {
    { "TEST UNIT READY", { 0x00 }, 6, 0, ALWAYS },
    { "INQUIRY", { 0x12, 0, 0, 0, 36 }, 6, 36, ALWAYS },
    { "READ CAPACITY(10)", { 0x25 }, 10, 8, ALWAYS },
    { "READ CAPACITY(16)", { 0x9e, 0x10, [13] = 32 }, 16, 32, ALWAYS },
    { "REPORT LUNS", { 0xa0, [9] = 16 }, 12, 16, ALWAYS },
    { "MODE SENSE(6)", { 0x1a, 0, 0x3f, 0, 255 }, 6, 255, READS },
    { "MODE SENSE(10)", { 0x5a, 0, 0x3f, [8] = 255 }, 10, 255, READS },
    { "READ(6)", { 0x08, 0, 0, 9, 1 }, 6, 512, READS },
    { "READ(10)", { 0x28, [5] = 9, [8] = 1 }, 10, 512, READS },
    { "READ(12)", { 0xa8, [5] = 9, [9] = 1 }, 12, 512, READS },
    { "READ(16)", { 0x88, [9] = 9, [13] = 1 }, 16, 512, READS },
    { "VERIFY(10)", { 0x2f, [5] = 9, [8] = 1 }, 10, 0, READS },
    { "VERIFY(16)", { 0x8f, [9] = 9, [13] = 1 }, 16, 0, READS },
    { "WRITE(6)", { 0x0a, 0, 0, 9, 1 }, 6, 512, WRITES },
    { "WRITE(10)", { 0x2a, [5] = 9, [8] = 1 }, 10, 512, WRITES },
    { "WRITE(12)", { 0xaa, [5] = 9, [9] = 1 }, 12, 512, WRITES },
    { "WRITE(16)", { 0x8a, [9] = 9, [13] = 1 }, 16, 512, WRITES },
    { "SYNCHRONIZE CACHE(10)", { 0x35 }, 10, 0, WRITES },
    { "SYNCHRONIZE CACHE(16)", { 0x91 }, 16, 0, WRITES },
};

/* SPC-4 5.14.3: under type (1 WE, 3 EA, 5 WE_RO, 6 EA_RO, 7 WE_AR, 8 EA_AR)
 * may a nexus that holds it, one that is only registered, or one that is
 * not registered at all run a command of class acc? */
static bool acc_allowed(enum acc acc, uint8_t type, int who /* 0 holder, 1 registered, 2 none */)
{
    bool registrants = type >= 5;
    bool write_excl = type == 1 || type == 5 || type == 7;
    if (acc == ALWAYS || who == 0 || (who == 1 && registrants))
        return true;
    return acc == READS && write_excl;
}

/* Every command prhelper-tcmu serves meets the reservation first, under
 * every reservation type, from the holder, a registrant and a stranger; a
 * refused WRITE leaves the medium as it was. */
static void check_access_matrix(struct fixture *f, bool data_commands_only)
{
    static const uint8_t types[] = { 1, 3, 5, 6, 7, 8 };
    struct pr_sim_nexus c = { .initiator = pr_tid_sas(0x50014050000000a2ull), .rtpi = 1 };
    const struct pr_sim_nexus *who[3] = { &f->a, &f->b, &c };
    const uint8_t rd10[10] = { 0x28, [5] = 9, [8] = 1 };

    for (size_t t = 0; t < sizeof(types); t++) {
        assert_int_equal(prout(f, &f->a, 0, 0, 0, 0xa, 0).status, SCSI_STATUS_GOOD);
        assert_int_equal(prout(f, &f->b, 0, 0, 0, 0xb, 0).status, SCSI_STATUS_GOOD);
        assert_int_equal(prout(f, &f->a, 1, types[t], 0xa, 0, 0).status, SCSI_STATUS_GOOD);
        for (size_t i = 0; i < sizeof(disk_commands) / sizeof(disk_commands[0]); i++) {
            const struct disk_command *dc = &disk_commands[i];
            if (data_commands_only && dc->len != 512)
                continue;
            for (int w = 0; w < 3; w++) {
                bool allowed = acc_allowed(dc->acc, types[t], w);
                memset(f->buf, allowed ? 0x11 * (w + 1) : 0xee, sizeof(f->buf));
                struct prh_simlun_result r = run(f, who[w], dc->cdb, dc->cdb_len, dc->len);
                if (r.status != (allowed ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT))
                    fail_msg("%s from nexus %d under type %u: status %#x, want %s", dc->name, w,
                             types[t], r.status, allowed ? "GOOD" : "RESERVATION CONFLICT");
                if (dc->acc != WRITES || allowed || dc->len == 0)
                    continue;
                memset(f->buf, 0, 512);
                assert_int_equal(run(f, &f->a, rd10, 10, 512).status, SCSI_STATUS_GOOD);
                if (f->buf[0] == 0xee)
                    fail_msg("refused %s from nexus %d reached the medium", dc->name, w);
            }
        }
        /* CLEAR: no reservation, no registration; B hears of it. */
        assert_int_equal(prout(f, &f->a, 3, 0, 0xa, 0, 0).status, SCSI_STATUS_GOOD);
        clear_ua(f, &f->b);
    }
}

static void test_every_disk_command_meets_every_reservation_type_as_spc4_says(void **state)
{
    check_access_matrix(*state, false);
}

/* The lio profile (LIO's own table, D17) refuses and allows READs and
 * WRITEs as SPC-4 does: libiscsi's ProutReserve.Access* expect that. */
static void test_lio_profile_reads_and_writes_meet_every_reservation_type_as_spc4_says(void **state)
{
    check_access_matrix(*state, true);
}

static void test_data_written_through_one_nexus_is_read_through_the_other(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rw(f, &f->a, 0x2a, 3, 0x5a).status, SCSI_STATUS_GOOD);
    assert_int_equal(read_block(f, &f->b, 3)[100], 0x5a);
}

static void test_preempted_nexus_gets_the_unit_attention_on_its_next_command(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0xa, 0);
    prout(f, &f->b, 0, 0, 0, 0xb, 0);
    prout(f, &f->a, 1, WE, 0xa, 0, 0);
    assert_int_equal(prout(f, &f->b, 4, WE, 0xb, 0xa, 0).status, SCSI_STATUS_GOOD);
    /* INQUIRY does not report it, a WRITE does, then it is gone. */
    const uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
    assert_int_equal(run(f, &f->a, inq, 6, 36).status, SCSI_STATUS_GOOD);
    assert_unit_attention(rw(f, &f->a, 0x2a, 0, 0x33), 0x2a, 0x05);
    /* A is no longer registered: now its write is a plain conflict. */
    assert_int_equal(rw(f, &f->a, 0x2a, 0, 0x33).status, SCSI_STATUS_RESERVATION_CONFLICT);
    /* The other nexus had nothing pending. */
    assert_int_equal(rw(f, &f->b, 0x2a, 0, 0x44).status, SCSI_STATUS_GOOD);
}

static void test_request_sense_returns_the_pending_unit_attention_as_data(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0xa, 0);
    prout(f, &f->b, 0, 0, 0, 0xb, 0);
    prout(f, &f->b, 4, WE, 0xb, 0xa, 0); /* preempt A's registration */
    const uint8_t rs[6] = { 0x03, 0, 0, 0, 252, 0 };
    struct prh_simlun_result r = run(f, &f->a, rs, 6, 252);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 18);
    assert_int_equal(f->buf[0], 0x70);
    assert_int_equal(f->buf[2] & 0x0f, SCSI_SENSE_UNIT_ATTENTION);
    assert_int_equal(f->buf[12], 0x2a);
    assert_int_equal(f->buf[13], 0x05);
    r = run(f, &f->a, rs, 6, 252);
    assert_int_equal(f->buf[2] & 0x0f, 0);
}

static void test_pr_in_data_goes_to_the_data_list_clipped(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0x1111, 0);
    prout(f, &f->b, 0, 0, 0, 0x2222, 0);
    uint8_t cdb[10] = { 0x5e, 0x00, 0, 0, 0, 0, 0, 0x20, 0, 0 };
    uint8_t a[5], b[100];
    struct prh_seg seg[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    struct prh_sgl s = prh_sgl_make(seg, 2);
    struct prh_simlun_result r;
    prh_simlun_execute(f->lun, &f->b, cdb, 10, &s, &r);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 24);
    uint8_t all[24];
    prh_sgl_gather(&s, 0, all, 24);
    assert_int_equal(scsi_get_be32(all), 2);     /* generation */
    assert_int_equal(scsi_get_be32(all + 4), 16); /* two keys */
    assert_true(scsi_get_be64(all + 8) == 0x1111);
    assert_true(scsi_get_be64(all + 16) == 0x2222);
    /* A buffer smaller than the allocation length gets what fits. */
    struct prh_seg small = { a, 5 };
    s = prh_sgl_make(&small, 1);
    prh_simlun_execute(f->lun, &f->b, cdb, 10, &s, &r);
    assert_int_equal(r.data_in_len, 5);
}

static void test_read_full_status_shows_each_nexus_with_its_port(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0xa, 0);
    prout(f, &f->b, 0, 0, 0, 0xb, 0);
    uint8_t cdb[10] = { 0x5e, 0x03, 0, 0, 0, 0, 0, 0x10, 0, 0 };
    struct prh_simlun_result r = run(f, &f->a, cdb, 10, 4096);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    /* Two descriptors of 24 + 24 bytes (SAS TransportIDs). */
    assert_int_equal(r.data_in_len, 8 + 2 * 48);
    assert_int_equal(scsi_get_be16(f->buf + 8 + 18), 1);
    assert_int_equal(scsi_get_be16(f->buf + 8 + 48 + 18), 2);
    assert_int_equal(f->buf[8 + 24] & 0x0f, PR_TID_PROTO_SAS);
}

static void test_short_pr_cdbs_are_refused(void **state)
{
    struct fixture *f = *state;
    const uint8_t out6[6] = { 0x5f };
    const uint8_t in6[6] = { 0x5e };
    const uint8_t tiny[3] = { 0x00 };
    assert_int_equal(run(f, &f->a, out6, 6, 0).status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(run(f, &f->a, in6, 6, 0).status, SCSI_STATUS_CHECK_CONDITION);
    struct prh_simlun_result r = run(f, &f->a, tiny, 3, 0);
    assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r.sense.asc, 0x20);
    prh_simlun_execute(f->lun, &f->a, NULL, 0, NULL, &r);
    assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
}

static void test_spc2_reservation_fences_the_other_nexus_until_nexus_loss(void **state)
{
    struct fixture *f = *state;
    const uint8_t reserve6[6] = { 0x16 };
    assert_int_equal(run(f, &f->a, reserve6, 6, 0).status, SCSI_STATUS_GOOD);
    assert_int_equal(rw(f, &f->b, 0x2a, 0, 1).status, SCSI_STATUS_RESERVATION_CONFLICT);
    prh_simlun_nexus_loss(f->lun, &f->a);
    assert_int_equal(rw(f, &f->b, 0x2a, 0, 1).status, SCSI_STATUS_GOOD);
}

static void test_lun_reset_ends_the_spc2_reservation_but_not_pr(void **state)
{
    struct fixture *f = *state;
    const uint8_t reserve10[10] = { 0x56 };
    assert_int_equal(run(f, &f->a, reserve10, 10, 0).status, SCSI_STATUS_GOOD);
    prh_simlun_reset(f->lun, NULL, 0);
    assert_int_equal(rw(f, &f->b, 0x2a, 0, 1).status, SCSI_STATUS_GOOD);
    prout(f, &f->a, 0, 0, 0, 0xa, 0);
    prout(f, &f->a, 1, WE, 0xa, 0, 0);
    prh_simlun_reset(f->lun, NULL, 0);
    clear_ua(f, &f->b);
    assert_int_equal(rw(f, &f->b, 0x2a, 0, 1).status, SCSI_STATUS_RESERVATION_CONFLICT);
}

static void test_lun_reset_queues_the_reset_unit_attention_for_the_named_nexuses(void **state)
{
    struct fixture *f = *state;
    const struct pr_sim_nexus *others[1] = { &f->b };
    prh_simlun_reset(f->lun, others, 1);
    assert_unit_attention(rw(f, &f->b, 0x28, 0, 1), 0x29, 0x03);
    assert_int_equal(rw(f, &f->a, 0x28, 0, 1).status, SCSI_STATUS_GOOD);
}

static void test_vpd_83_reports_the_port_of_the_sending_nexus(void **state)
{
    struct fixture *f = *state;
    const uint8_t inq[6] = { 0x12, 1, 0x83, 0, 255, 0 };
    struct prh_simlun_result r = run(f, &f->b, inq, 6, 255);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    /* The last designator is the relative target port. */
    assert_int_equal(scsi_get_be16(f->buf + r.data_in_len - 2), 2);
}

static void test_inspection_lock_gives_the_simulator(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0xa, 0);
    struct pr_sim_lun *sim = prh_simlun_lock(f->lun);
    assert_int_equal(pr_sim_registration_count(sim), 1);
    prh_simlun_unlock(f->lun);
}

/* ---- profiles ----------------------------------------------------------------------------- */

static void test_lio_profile_answers_unregistered_reserve_with_not_ready(void **state)
{
    struct fixture *f = *state;
    /* pr-semantics D8: LIO says NOT READY, LOGICAL UNIT COMMUNICATION FAILURE. */
    struct prh_simlun_result r = prout(f, &f->a, 1, WE, 0, 0, 0);
    assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r.sense.key, SCSI_SENSE_NOT_READY);
    assert_int_equal(r.sense.asc, 0x08);
    assert_string_equal(prh_simlun_identity(f->lun)->product, "PRSIM LIO");
}

static void test_spc4_profile_answers_unregistered_reserve_with_conflict(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(prout(f, &f->a, 1, WE, 0, 0, 0).status, SCSI_STATUS_RESERVATION_CONFLICT);
}

/* ---- persistence ---------------------------------------------------------------------------- */

static void reopen(struct fixture *f)
{
    char err[256];
    prh_simlun_close(f->lun);
    f->lun = prh_simlun_open(&f->cfg, err, sizeof(err));
    assert_non_null(f->lun);
}

/* Close and open the LUN again: how many registrations it has then. */
static size_t registrations_after_reopen(struct fixture *f)
{
    reopen(f);
    struct pr_sim_lun *sim = prh_simlun_lock(f->lun);
    size_t n = pr_sim_registration_count(sim);
    prh_simlun_unlock(f->lun);
    return n;
}

static void test_aptpl_registrations_and_data_survive_a_reopen(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0xa, 0x01 /* APTPL */);
    prout(f, &f->a, 1, WE, 0xa, 0, 0);
    rw(f, &f->a, 0x2a, 9, 0x77);
    reopen(f);
    struct pr_sim_lun *sim = prh_simlun_lock(f->lun);
    assert_int_equal(pr_sim_registration_count(sim), 1);
    assert_int_equal(pr_sim_reservation_type(sim), WE);
    prh_simlun_unlock(f->lun);
    assert_int_equal(rw(f, &f->b, 0x2a, 9, 0x88).status, SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(read_block(f, &f->b, 9)[0], 0x77);
}

static void test_registrations_without_aptpl_are_lost_on_reopen(void **state)
{
    struct fixture *f = *state;
    prout(f, &f->a, 0, 0, 0, 0xa, 0);
    assert_int_equal(registrations_after_reopen(f), 0);
}

static void test_corrupt_state_file_is_moved_aside_and_the_lun_starts_empty(void **state)
{
    struct fixture *f = *state;
    char path[128];
    prout(f, &f->a, 0, 0, 0, 0xa, 0x01);
    prh_simlun_close(f->lun);
    f->lun = NULL;
    snprintf(path, sizeof(path), "%s/lun0.prstate", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("not a state file", fp);
    fclose(fp);
    assert_int_equal(registrations_after_reopen(f), 0);
    DIR *d = opendir(f->dir);
    bool aside = false;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, "prstate.corrupt-"))
            aside = true;
    closedir(d);
    assert_true(aside);
}

static void test_lun_without_a_state_directory_keeps_no_aptpl(void **state)
{
    struct fixture *f = *state;
    char err[256];
    prh_simlun_close(f->lun);
    f->cfg.state_dir = NULL;
    f->lun = prh_simlun_open(&f->cfg, err, sizeof(err));
    assert_non_null(f->lun);
    assert_int_equal(prout(f, &f->a, 0, 0, 0, 0xa, 0x01).status, SCSI_STATUS_GOOD);
    assert_int_equal(registrations_after_reopen(f), 0);
}

static void test_registration_limit_answers_insufficient_resources(void **state)
{
    struct fixture *f = *state;
    prh_simlun_close(f->lun);
    f->lun = NULL;
    f->cfg.max_registrations = 1;
    reopen(f);
    assert_int_equal(prout(f, &f->a, 0, 0, 0, 0xa, 0).status, SCSI_STATUS_GOOD);
    struct prh_simlun_result r = prout(f, &f->b, 0, 0, 0, 0xb, 0);
    assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r.sense.asc, 0x55);
    assert_int_equal(r.sense.ascq, 0x04);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_creates_a_sparse_data_file_of_the_lun_size),
        T(test_second_open_of_the_same_lun_is_refused_while_in_use),
        T(test_open_never_shrinks_an_existing_data_file),
        T(test_bad_configurations_are_refused_with_a_reason),
        T(test_data_file_that_is_not_a_regular_file_is_refused),
        T(test_fenced_nexus_write_gets_reservation_conflict_and_changes_nothing),
        T(test_exclusive_access_fences_reads_too),
        T(test_registrants_only_lets_registered_writers_through),
        T(test_every_disk_command_meets_every_reservation_type_as_spc4_says),
        cmocka_unit_test_setup_teardown(
            test_lio_profile_reads_and_writes_meet_every_reservation_type_as_spc4_says, setup_lio,
            teardown),
        T(test_data_written_through_one_nexus_is_read_through_the_other),
        T(test_preempted_nexus_gets_the_unit_attention_on_its_next_command),
        T(test_request_sense_returns_the_pending_unit_attention_as_data),
        T(test_pr_in_data_goes_to_the_data_list_clipped),
        T(test_read_full_status_shows_each_nexus_with_its_port),
        T(test_short_pr_cdbs_are_refused),
        T(test_spc2_reservation_fences_the_other_nexus_until_nexus_loss),
        T(test_lun_reset_ends_the_spc2_reservation_but_not_pr),
        T(test_lun_reset_queues_the_reset_unit_attention_for_the_named_nexuses),
        T(test_vpd_83_reports_the_port_of_the_sending_nexus),
        T(test_inspection_lock_gives_the_simulator),
        cmocka_unit_test_setup_teardown(test_lio_profile_answers_unregistered_reserve_with_not_ready,
                                        setup_lio, teardown),
        T(test_spc4_profile_answers_unregistered_reserve_with_conflict),
        T(test_aptpl_registrations_and_data_survive_a_reopen),
        T(test_registrations_without_aptpl_are_lost_on_reopen),
        T(test_corrupt_state_file_is_moved_aside_and_the_lun_starts_empty),
        T(test_lun_without_a_state_directory_keeps_no_aptpl),
        T(test_registration_limit_answers_insufficient_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
