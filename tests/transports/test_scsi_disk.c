/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_scsi_disk.c - the medium of a simulated LUN
 * (include/prhelper/scsi_disk.h): INQUIRY and its VPD pages, READ
 * CAPACITY, MODE SENSE, REPORT LUNS, READ/WRITE/VERIFY/SYNCHRONIZE CACHE
 * on a sparse temporary file, through scatter-gather lists.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_helpers.h"

#include "prhelper/scsi_disk.h"

#define BLOCKS 2048u

struct fixture {
    struct scsi_disk d;
    char path[64];
    uint8_t buf[1 << 18];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/prh-disk-XXXXXX");
    f->d.fd = mkstemp(f->path);
    assert_true(f->d.fd >= 0);
    assert_int_equal(ftruncate(f->d.fd, BLOCKS * 512), 0);
    f->d.block_size = 512;
    f->d.blocks = BLOCKS;
    f->d.max_transfer = 256;
    scsi_disk_identity_for("lun0", "PRSIM", "0001", &f->d.id);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->d.fd);
    unlink(f->path);
    free(f);
    return 0;
}

static const struct scsi_disk_port port1 = { .rtpi = 1, .protocol = 6 };
static const struct scsi_disk_port port2 = { .rtpi = 2, .protocol = 6 };

/* Run cdb with one data segment of len bytes of f->buf. */
static struct scsi_disk_result run(struct fixture *f, const struct scsi_disk_port *p,
                                   const uint8_t *cdb, size_t cdb_len, size_t len)
{
    struct prh_seg seg = { f->buf, len };
    struct prh_sgl s = prh_sgl_make(&seg, 1);
    struct scsi_disk_result r;
    scsi_disk_execute(&f->d, p, cdb, cdb_len, &s, &r);
    return r;
}

static void assert_disk_check(struct scsi_disk_result r, uint8_t key, uint8_t asc, uint8_t ascq)
{
    assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r.sense.key, key);
    assert_int_equal(r.sense.asc, asc);
    assert_int_equal(r.sense.ascq, ascq);
    assert_int_equal(r.data_in_len, 0);
}

static void inq_cdb(uint8_t *c, bool evpd, uint8_t page, uint16_t alloc)
{
    memset(c, 0, 6);
    c[0] = 0x12;
    c[1] = evpd ? 1 : 0;
    c[2] = page;
    scsi_put_be16(c + 3, alloc);
}

/* INQUIRY (page, when evpd) from port 1 with an allocation length and buffer of alloc. */
static struct scsi_disk_result inquiry(struct fixture *f, bool evpd, uint8_t page,
                                       uint16_t alloc)
{
    uint8_t c[6];
    inq_cdb(c, evpd, page, alloc);
    return run(f, &port1, c, 6, alloc);
}

/* ---- identity and INQUIRY ------------------------------------------------------------ */

static void test_identity_is_the_same_for_the_same_lun_name(void **state)
{
    (void)state;
    struct scsi_disk_identity a, b, c;
    scsi_disk_identity_for("lun0", "P", "1", &a);
    scsi_disk_identity_for("lun0", "P", "1", &b);
    scsi_disk_identity_for("lun1", "P", "1", &c);
    assert_memory_equal(a.naa, b.naa, 8);
    assert_string_equal(a.serial, b.serial);
    assert_memory_not_equal(a.naa, c.naa, 8);
    assert_string_equal(a.serial, "prsim-lun0");
    assert_int_equal(a.naa[0] >> 4, 3); /* NAA 3h: locally assigned */
}

static void test_standard_inquiry_reports_a_spc4_disk_with_our_names(void **state)
{
    struct fixture *f = *state;
    struct scsi_disk_result r = inquiry(f, false, 0, 96);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 36);
    assert_int_equal(f->buf[0], 0x00);
    assert_int_equal(f->buf[2], 0x06);
    assert_int_equal(f->buf[3] & 0x0f, 2);
    assert_int_equal(f->buf[4], 31);
    assert_memory_equal(f->buf + 8, "PRHELPER", 8);
    assert_memory_equal(f->buf + 16, "PRSIM           ", 16);
    assert_memory_equal(f->buf + 32, "0001", 4);
}

static void test_inquiry_is_clipped_to_the_allocation_length(void **state)
{
    struct fixture *f = *state;
    uint8_t c[6];
    inq_cdb(c, false, 0, 5);
    assert_int_equal(run(f, &port1, c, 6, 96).data_in_len, 5);
    inq_cdb(c, false, 0, 96);
    assert_int_equal(run(f, &port1, c, 6, 20).data_in_len, 20); /* and to the buffer */
}

static void test_inquiry_page_without_evpd_is_an_invalid_field(void **state)
{
    struct fixture *f = *state;
    uint8_t c[6];
    assert_disk_check(inquiry(f, false, 0x80, 96), 5, 0x24, 0);
    inq_cdb(c, false, 0, 96);
    c[1] = 0x02; /* CMDDT */
    assert_disk_check(run(f, &port1, c, 6, 96), 5, 0x24, 0);
}

static void test_vpd_00_lists_the_supported_pages(void **state)
{
    struct fixture *f = *state;
    struct scsi_disk_result r = inquiry(f, true, 0x00, 255);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    static const uint8_t want[8] = { 0, 0, 0, 4, 0x00, 0x80, 0x83, 0xb0 };
    assert_int_equal(r.data_in_len, 8);
    assert_memory_equal(f->buf, want, 8);
}

static void test_vpd_80_holds_the_unit_serial(void **state)
{
    struct fixture *f = *state;
    struct scsi_disk_result r = inquiry(f, true, 0x80, 255);
    assert_int_equal(r.data_in_len, 4 + strlen("prsim-lun0"));
    assert_int_equal(f->buf[1], 0x80);
    assert_memory_equal(f->buf + 4, "prsim-lun0", 10);
}

/* Find designator type t in a VPD 83h page; its offset or 0. */
static size_t find_designator(const uint8_t *p, size_t len, uint8_t type)
{
    for (size_t o = 4; o + 4 <= len; o += 4 + (size_t)p[o + 3])
        if ((p[o + 1] & 0x0f) == type)
            return o;
    return 0;
}

static void test_vpd_83_has_the_same_naa_on_every_port_and_its_own_rtpi(void **state)
{
    struct fixture *f = *state;
    uint8_t c[6], p1[256], p2[256];
    inq_cdb(c, true, 0x83, 255);
    struct scsi_disk_result r1 = run(f, &port1, c, 6, 255);
    memcpy(p1, f->buf, sizeof(p1));
    struct scsi_disk_result r2 = run(f, &port2, c, 6, 255);
    memcpy(p2, f->buf, sizeof(p2));
    assert_int_equal(r1.data_in_len, r2.data_in_len);
    assert_int_equal(scsi_get_be16(p1 + 2) + 4, r1.data_in_len);
    size_t naa1 = find_designator(p1, r1.data_in_len, 3), naa2 = find_designator(p2, r2.data_in_len, 3);
    assert_true(naa1 > 0 && naa2 > 0);
    assert_memory_equal(p1 + naa1 + 4, f->d.id.naa, 8);
    assert_memory_equal(p2 + naa2 + 4, f->d.id.naa, 8);
    size_t t1 = find_designator(p1, r1.data_in_len, 4), t2 = find_designator(p2, r2.data_in_len, 4);
    assert_true(t1 > 0 && t2 > 0);
    assert_int_equal(scsi_get_be16(p1 + t1 + 6), 1);
    assert_int_equal(scsi_get_be16(p2 + t2 + 6), 2);
    assert_int_equal(p1[t1] >> 4, 6);          /* protocol: SAS */
    assert_int_equal(p1[t1 + 1] & 0xb0, 0x90); /* PIV, target port association */
    size_t v = find_designator(p1, r1.data_in_len, 1);
    assert_true(v > 0);
    assert_memory_equal(p1 + v + 4, "PRHELPERprsim-lun0", 18);
}

static void test_vpd_b0_reports_the_maximum_transfer_length(void **state)
{
    struct fixture *f = *state;
    struct scsi_disk_result r = inquiry(f, true, 0xb0, 255);
    assert_int_equal(r.data_in_len, 64);
    assert_int_equal(scsi_get_be16(f->buf + 2), 0x3c);
    assert_int_equal(scsi_get_be32(f->buf + 8), 256);
}

static void test_unknown_vpd_page_is_an_invalid_field(void **state)
{
    struct fixture *f = *state;
    assert_disk_check(inquiry(f, true, 0x86, 255), 5, 0x24, 0);
}

/* ---- capacity, REPORT LUNS, MODE SENSE ----------------------------------------------- */

static void test_read_capacity_10_reports_last_lba_and_block_size(void **state)
{
    struct fixture *f = *state;
    const uint8_t c[10] = { 0x25 };
    struct scsi_disk_result r = run(f, &port1, c, 10, 8);
    assert_int_equal(r.data_in_len, 8);
    assert_int_equal(scsi_get_be32(f->buf), BLOCKS - 1);
    assert_int_equal(scsi_get_be32(f->buf + 4), 512);
}

static void test_read_capacity_10_saturates_beyond_32_bits(void **state)
{
    struct fixture *f = *state;
    const uint8_t c[10] = { 0x25 };
    f->d.blocks = 0x200000000ull;
    run(f, &port1, c, 10, 8);
    assert_int_equal(scsi_get_be32(f->buf), 0xffffffffu);
}

static void test_read_capacity_16_reports_the_full_last_lba(void **state)
{
    struct fixture *f = *state;
    uint8_t c[16] = { 0x9e, 0x10 };
    scsi_put_be32(c + 10, 32);
    f->d.blocks = 0x200000000ull;
    struct scsi_disk_result r = run(f, &port1, c, 16, 32);
    assert_int_equal(r.data_in_len, 32);
    assert_true(scsi_get_be64(f->buf) == 0x1ffffffffull);
    assert_int_equal(scsi_get_be32(f->buf + 8), 512);
    c[1] = 0x11; /* another SERVICE ACTION IN(16) action */
    assert_disk_check(run(f, &port1, c, 16, 32), 5, 0x24, 0);
}

static void test_report_luns_lists_lun_zero(void **state)
{
    struct fixture *f = *state;
    uint8_t c[12] = { 0xa0 };
    scsi_put_be32(c + 6, 64);
    struct scsi_disk_result r = run(f, &port1, c, 12, 64);
    assert_int_equal(r.data_in_len, 16);
    assert_int_equal(scsi_get_be32(f->buf), 8);
    scsi_put_be32(c + 6, 8); /* SPC-4: below 16 is an invalid field */
    assert_disk_check(run(f, &port1, c, 12, 64), 5, 0x24, 0);
}

static void test_mode_sense_6_all_pages_with_block_descriptor(void **state)
{
    struct fixture *f = *state;
    const uint8_t c[6] = { 0x1a, 0, 0x3f, 0, 255 };
    struct scsi_disk_result r = run(f, &port1, c, 6, 255);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 4 + 8 + 20 + 12);
    assert_int_equal(f->buf[0], r.data_in_len - 1);
    assert_int_equal(f->buf[3], 8);
    assert_int_equal(scsi_get_be32(f->buf + 4), BLOCKS);
    assert_int_equal(scsi_get_be32(f->buf + 8) & 0xffffff, 512);
    assert_int_equal(f->buf[12], 0x08); /* caching page first */
    assert_int_equal(f->buf[32], 0x0a); /* then control */
}

static void test_mode_sense_caching_page_shows_the_write_cache_setting(void **state)
{
    struct fixture *f = *state;
    const uint8_t c[6] = { 0x1a, 0x08 /* DBD */, 0x08, 0, 255 };
    run(f, &port1, c, 6, 255);
    assert_int_equal(f->buf[3], 0);
    assert_int_equal(f->buf[4], 0x08);
    assert_int_equal(f->buf[6] & 0x04, 0);
    f->d.write_cache = true;
    run(f, &port1, c, 6, 255);
    assert_int_equal(f->buf[6] & 0x04, 0x04);
    const uint8_t changeable[6] = { 0x1a, 0x08, 0x48, 0, 255 };
    run(f, &port1, changeable, 6, 255);
    assert_int_equal(f->buf[6] & 0x04, 0);
}

static void test_mode_sense_10_long_lba_block_descriptor(void **state)
{
    struct fixture *f = *state;
    uint8_t c[10] = { 0x5a, 0x10, 0x0a };
    scsi_put_be16(c + 7, 255);
    struct scsi_disk_result r = run(f, &port1, c, 10, 255);
    assert_int_equal(r.data_in_len, 8 + 16 + 12);
    assert_int_equal(scsi_get_be16(f->buf), r.data_in_len - 2);
    assert_int_equal(f->buf[4] & 1, 1);
    assert_int_equal(scsi_get_be16(f->buf + 6), 16);
    assert_true(scsi_get_be64(f->buf + 8) == BLOCKS);
    assert_int_equal(f->buf[24], 0x0a);
}

static void test_mode_sense_saved_values_are_not_supported(void **state)
{
    struct fixture *f = *state;
    const uint8_t c[6] = { 0x1a, 0, 0xc8, 0, 255 };
    assert_disk_check(run(f, &port1, c, 6, 255), 5, 0x39, 0);
}

static void test_mode_sense_unknown_page_or_subpage_is_an_invalid_field(void **state)
{
    struct fixture *f = *state;
    const uint8_t page[6] = { 0x1a, 0, 0x19, 0, 255 };
    const uint8_t sub[6] = { 0x1a, 0, 0x08, 0x01, 255 };
    assert_disk_check(run(f, &port1, page, 6, 255), 5, 0x24, 0);
    assert_disk_check(run(f, &port1, sub, 6, 255), 5, 0x24, 0);
}

/* ---- medium ---------------------------------------------------------------------------- */

static void rw10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t blocks)
{
    memset(c, 0, 10);
    c[0] = op;
    scsi_put_be32(c + 2, lba);
    scsi_put_be16(c + 7, blocks);
}

/* The 10-byte op (READ, WRITE, VERIFY, ...) of blocks at lba, from port 1,
 * with len bytes of f->buf. */
static struct scsi_disk_result rw10_run(struct fixture *f, uint8_t op, uint32_t lba,
                                        uint16_t blocks, size_t len)
{
    uint8_t c[10];
    rw10(c, op, lba, blocks);
    return run(f, &port1, c, 10, len);
}

/* op of block 0 with the disk's file descriptor replaced by fd (closed after). */
static struct scsi_disk_result rw10_on_fd(struct fixture *f, int fd, uint8_t op)
{
    int saved = f->d.fd;
    f->d.fd = fd;
    struct scsi_disk_result r = rw10_run(f, op, 0, 1, 512);
    close(fd);
    f->d.fd = saved;
    return r;
}

static void test_write_then_read_round_trips_across_segments(void **state)
{
    struct fixture *f = *state;
    uint8_t a[700], b[324], c[10], back[1024];
    struct prh_seg wseg[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    struct prh_sgl w = prh_sgl_make(wseg, 2);
    struct scsi_disk_result r;
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)i;
    memset(b, 0xcd, sizeof(b));
    rw10(c, 0x2a, 100, 2);
    scsi_disk_execute(&f->d, &port1, c, 10, &w, &r);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 0);
    struct prh_seg rseg[3] = { { back, 10 }, { back + 10, 1000 }, { back + 1010, 14 } };
    struct prh_sgl rd = prh_sgl_make(rseg, 3);
    rw10(c, 0x28, 100, 2);
    scsi_disk_execute(&f->d, &port2, c, 10, &rd, &r);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 1024);
    assert_memory_equal(back, a, sizeof(a));
    assert_memory_equal(back + 700, b, sizeof(b));
    /* It is in the file, at the right place. */
    uint8_t file[4];
    assert_int_equal(pread(f->d.fd, file, 4, 100 * 512 + 1), 4);
    assert_memory_equal(file, a + 1, 4);
}

static void test_read_past_the_end_of_a_short_file_returns_zeroes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(ftruncate(f->d.fd, 512), 0); /* the sparse file is shorter */
    memset(f->buf, 0xee, 1024);
    struct scsi_disk_result r = rw10_run(f, 0x28, 1, 2, 1024);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(f->buf[0], 0);
    assert_int_equal(f->buf[1023], 0);
}

/* One block read into a zeroed f->buf with the cdb given (a full block comes back). */
static const uint8_t *read_one_block(struct fixture *f, const uint8_t *cdb, size_t cdb_len)
{
    memset(f->buf, 0, 512);
    assert_int_equal(run(f, &port1, cdb, cdb_len, 512).data_in_len, 512);
    return f->buf;
}

static void test_read_6_and_16_and_12_address_the_same_blocks(void **state)
{
    struct fixture *f = *state;
    uint8_t w[512];
    memset(w, 0x42, sizeof(w));
    assert_int_equal(pwrite(f->d.fd, w, 512, 5 * 512), 512);
    const uint8_t r6[6] = { 0x08, 0, 0, 5, 1, 0 };
    const uint8_t r16[16] = { 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1 };
    const uint8_t r12[12] = { 0xa8, 0, 0, 0, 0, 5, 0, 0, 0, 1 };
    assert_int_equal(read_one_block(f, r6, 6)[7], 0x42);
    assert_int_equal(read_one_block(f, r16, 16)[511], 0x42);
    assert_int_equal(read_one_block(f, r12, 12)[0], 0x42);
}

static void test_read_6_with_length_zero_means_256_blocks(void **state)
{
    struct fixture *f = *state;
    const uint8_t r6[6] = { 0x08, 0, 0, 0, 0, 0 };
    struct scsi_disk_result r = run(f, &port1, r6, 6, 256 * 512);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 256 * 512);
}

static void test_access_beyond_the_capacity_is_lba_out_of_range(void **state)
{
    struct fixture *f = *state;
    uint8_t c[16];
    assert_disk_check(rw10_run(f, 0x28, BLOCKS - 1, 2, 1024), 5, 0x21, 0);
    assert_disk_check(rw10_run(f, 0x2a, BLOCKS, 1, 512), 5, 0x21, 0);
    memset(c, 0, 16);
    c[0] = 0x88; /* an LBA whose end would overflow 64 bits */
    scsi_put_be64(c + 2, UINT64_MAX);
    scsi_put_be32(c + 10, 2);
    assert_disk_check(run(f, &port1, c, 16, 1024), 5, 0x21, 0);
    rw10(c, 0x2a, BLOCKS - 1, 1); /* the last block is fine */
    assert_int_equal(run(f, &port1, c, 10, 512).status, SCSI_STATUS_GOOD);
}

static void test_transfer_beyond_the_maximum_is_an_invalid_field(void **state)
{
    struct fixture *f = *state;
    assert_disk_check(rw10_run(f, 0x28, 0, 257, 257 * 512), 5, 0x24, 0);
}

static void test_write_whose_data_length_differs_from_the_cdb_is_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t c[10];
    memset(f->buf, 0x99, 1024);
    rw10(c, 0x2a, 0, 2);
    assert_disk_check(run(f, &port1, c, 10, 512), 5, 0x24, 0);
    assert_disk_check(run(f, &port1, c, 10, 2048), 5, 0x24, 0);
    uint8_t file[1];
    assert_int_equal(pread(f->d.fd, file, 1, 0), 1);
    assert_int_equal(file[0], 0); /* nothing written */
}

static void test_read_into_a_shorter_buffer_returns_what_fits(void **state)
{
    struct fixture *f = *state;
    struct scsi_disk_result r = rw10_run(f, 0x28, 0, 4, 1000);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 1000);
}

static void test_zero_length_transfers_succeed_without_data(void **state)
{
    struct fixture *f = *state;
    uint8_t c[10];
    rw10(c, 0x28, 10, 0);
    struct scsi_disk_result r = run(f, &port1, c, 10, 0);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_in_len, 0);
    rw10(c, 0x2a, 10, 0);
    assert_int_equal(run(f, &port1, c, 10, 0).status, SCSI_STATUS_GOOD);
    scsi_disk_execute(&f->d, &port1, c, 10, NULL, &r);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
}

static void test_protection_information_fields_are_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t c[10];
    rw10(c, 0x28, 0, 1);
    c[1] = 0x20; /* RDPROTECT 001b */
    assert_disk_check(run(f, &port1, c, 10, 512), 5, 0x24, 0);
}

static void test_write_error_is_a_medium_error(void **state)
{
    struct fixture *f = *state;
    /* A read-only descriptor: pwrite fails with EBADF. */
    assert_disk_check(rw10_on_fd(f, open(f->path, O_RDONLY | O_CLOEXEC), 0x2a), 3, 0x0c, 0);
}

static void test_read_error_is_a_medium_error(void **state)
{
    struct fixture *f = *state;
    /* pread fails with EISDIR. */
    int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_disk_check(rw10_on_fd(f, dir, 0x28), 3, 0x11, 0);
}

static void test_verify_without_byte_check_succeeds(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rw10_run(f, 0x2f, 0, 8, 0).status, SCSI_STATUS_GOOD);
}

static void test_verify_with_byte_check_compares_the_data(void **state)
{
    struct fixture *f = *state;
    uint8_t c[16], w[8192];
    memset(w, 0x11, sizeof(w));
    assert_int_equal(pwrite(f->d.fd, w, sizeof(w), 0), (ssize_t)sizeof(w));
    memset(c, 0, 16);
    c[0] = 0x8f;
    c[1] = 0x02; /* BYTCHK 01b */
    scsi_put_be64(c + 2, 0);
    scsi_put_be32(c + 10, 16);
    memset(f->buf, 0x11, 8192);
    assert_int_equal(run(f, &port1, c, 16, 8192).status, SCSI_STATUS_GOOD);
    f->buf[5000] = 0x12;
    assert_disk_check(run(f, &port1, c, 16, 8192), 0xe, 0x1d, 0);
    assert_disk_check(run(f, &port1, c, 16, 512), 5, 0x24, 0); /* wrong length */
    c[1] = 0x04; /* BYTCHK 10b: not supported */
    assert_disk_check(run(f, &port1, c, 16, 8192), 5, 0x24, 0);
}

static void test_synchronize_cache_checks_its_range(void **state)
{
    struct fixture *f = *state;
    uint8_t c[16];
    assert_int_equal(rw10_run(f, 0x35, 0, 0, 0).status, SCSI_STATUS_GOOD);
    memset(c, 0, 16);
    c[0] = 0x91;
    scsi_put_be64(c + 2, BLOCKS);
    scsi_put_be32(c + 10, 1);
    assert_disk_check(run(f, &port1, c, 16, 0), 5, 0x21, 0);
}

static void test_test_unit_ready_is_good(void **state)
{
    struct fixture *f = *state;
    const uint8_t c[6] = { 0 };
    assert_int_equal(run(f, &port1, c, 6, 0).status, SCSI_STATUS_GOOD);
}

static void test_unknown_opcode_is_an_invalid_operation_code(void **state)
{
    struct fixture *f = *state;
    const uint8_t c[10] = { 0x42 };
    const uint8_t mode_select[6] = { 0x15 };
    assert_disk_check(run(f, &port1, c, 10, 0), 5, 0x20, 0);
    assert_disk_check(run(f, &port1, mode_select, 6, 0), 5, 0x20, 0);
    assert_disk_check(run(f, &port1, c, 3, 0), 5, 0x20, 0);
    assert_false(scsi_disk_supports(c, 10));
}

static void test_supports_matches_what_execute_accepts(void **state)
{
    (void)state;
    static const uint8_t ops[] = { 0x00, 0x12, 0x25, 0x1a, 0x5a, 0xa0, 0x08, 0x0a, 0x28,
                                   0x2a, 0xa8, 0xaa, 0x88, 0x8a, 0x2f, 0xaf, 0x8f, 0x35, 0x91 };
    uint8_t c[16] = { 0 };
    for (size_t i = 0; i < sizeof(ops); i++) {
        c[0] = ops[i];
        assert_true(scsi_disk_supports(c, 16));
    }
    c[0] = 0x9e;
    c[1] = 0x10;
    assert_true(scsi_disk_supports(c, 16));
    c[1] = 0x12;
    assert_false(scsi_disk_supports(c, 16));
    assert_false(scsi_disk_supports(c, 4));
}

static void test_short_cdbs_of_long_commands_are_invalid_opcodes(void **state)
{
    struct fixture *f = *state;
    const uint8_t c[16] = { 0x88 };
    const uint8_t rc[16] = { 0x25 };
    const uint8_t rc16[16] = { 0x9e, 0x10 };
    const uint8_t luns[16] = { 0xa0 };
    const uint8_t ms10[16] = { 0x5a };
    assert_disk_check(run(f, &port1, c, 10, 0), 5, 0x20, 0);
    assert_disk_check(run(f, &port1, rc, 6, 0), 5, 0x20, 0);
    assert_disk_check(run(f, &port1, rc16, 10, 0), 5, 0x20, 0);
    assert_disk_check(run(f, &port1, luns, 10, 0), 5, 0x20, 0);
    assert_disk_check(run(f, &port1, ms10, 6, 0), 5, 0x20, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_is_the_same_for_the_same_lun_name),
        T(test_standard_inquiry_reports_a_spc4_disk_with_our_names),
        T(test_inquiry_is_clipped_to_the_allocation_length),
        T(test_inquiry_page_without_evpd_is_an_invalid_field),
        T(test_vpd_00_lists_the_supported_pages),
        T(test_vpd_80_holds_the_unit_serial),
        T(test_vpd_83_has_the_same_naa_on_every_port_and_its_own_rtpi),
        T(test_vpd_b0_reports_the_maximum_transfer_length),
        T(test_unknown_vpd_page_is_an_invalid_field),
        T(test_read_capacity_10_reports_last_lba_and_block_size),
        T(test_read_capacity_10_saturates_beyond_32_bits),
        T(test_read_capacity_16_reports_the_full_last_lba),
        T(test_report_luns_lists_lun_zero),
        T(test_mode_sense_6_all_pages_with_block_descriptor),
        T(test_mode_sense_caching_page_shows_the_write_cache_setting),
        T(test_mode_sense_10_long_lba_block_descriptor),
        T(test_mode_sense_saved_values_are_not_supported),
        T(test_mode_sense_unknown_page_or_subpage_is_an_invalid_field),
        T(test_write_then_read_round_trips_across_segments),
        T(test_read_past_the_end_of_a_short_file_returns_zeroes),
        T(test_read_6_and_16_and_12_address_the_same_blocks),
        T(test_read_6_with_length_zero_means_256_blocks),
        T(test_access_beyond_the_capacity_is_lba_out_of_range),
        T(test_transfer_beyond_the_maximum_is_an_invalid_field),
        T(test_write_whose_data_length_differs_from_the_cdb_is_refused),
        T(test_read_into_a_shorter_buffer_returns_what_fits),
        T(test_zero_length_transfers_succeed_without_data),
        T(test_protection_information_fields_are_refused),
        T(test_write_error_is_a_medium_error),
        T(test_read_error_is_a_medium_error),
        T(test_verify_without_byte_check_succeeds),
        T(test_verify_with_byte_check_compares_the_data),
        T(test_synchronize_cache_checks_its_range),
        T(test_test_unit_ready_is_good),
        T(test_unknown_opcode_is_an_invalid_operation_code),
        cmocka_unit_test(test_supports_matches_what_execute_accepts),
        T(test_short_cdbs_of_long_commands_are_invalid_opcodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
