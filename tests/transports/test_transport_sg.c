/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_transport_sg.c - the sg transport against a fake kernel: every
 * errno, host status and driver status mapping of wire-protocol.md 5.3,
 * sense forwarding, data lengths, the fd checks and the sg_io_hdr built.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dev_stubs.h"
#include "sim_helpers.h"
#include "prhelper/device.h"

/* ---- the fake kernel ---- */

static struct {
    mode_t mode;          /* what fstat reports */
    dev_t rdev;
    int fstat_errno;
    int sg_errno;         /* SG_IO fails with this (0: succeeds) */
    struct sg_io_hdr out; /* fields the "device" fills in */
    uint8_t sense[96];
    uint8_t data[64];
    size_t data_len;
    struct sg_io_hdr seen;/* the header the transport sent */
    uint8_t seen_cdb[16];
    uint8_t seen_params[64];
    int calls;
} fake;

/* The fstat() the server takes of the client's fd. */
static void fake_stat(struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = fake.mode;
    st->st_rdev = fake.rdev;
}

static int fake_sg_io(int fd, struct sg_io_hdr *h)
{
    (void)fd;
    fake.calls++;
    fake.seen = *h;
    memcpy(fake.seen_cdb, h->cmdp, h->cmd_len);
    if (h->dxfer_direction == SG_DXFER_TO_DEV && h->dxfer_len <= sizeof(fake.seen_params))
        memcpy(fake.seen_params, h->dxferp, h->dxfer_len);
    if (fake.sg_errno) {
        errno = fake.sg_errno;
        return -1;
    }
    h->status = fake.out.status;
    h->host_status = fake.out.host_status;
    h->driver_status = fake.out.driver_status;
    h->resid = fake.out.resid;
    h->sb_len_wr = fake.out.sb_len_wr;
    memcpy(h->sbp, fake.sense, fake.out.sb_len_wr);
    if (h->dxfer_direction == SG_DXFER_FROM_DEV)
        memcpy(h->dxferp, fake.data, fake.data_len < h->dxfer_len ? fake.data_len : h->dxfer_len);
    return 0;
}

/* A whole SCSI disk as sysfs describes it; no device-mapper here. */
static int fake_disk_seq(int fd, uint64_t *seq)
{
    (void)fd;
    *seq = 7;
    return 0;
}

static int fake_block_info(dev_t dev, struct prh_dev_block_info *bi)
{
    (void)dev;
    memset(bi, 0, sizeof(*bi));
    bi->sectors = 131072;
    return 0;
}

static int fake_dm_table(dev_t dev, struct prh_dev_dm_table *t)
{
    (void)dev;
    (void)t;
    return -ENXIO;
}

static int fake_list_paths(dev_t map, struct prh_dev_path *p, size_t max)
{
    (void)map;
    (void)p;
    (void)max;
    return -ENOENT;
}

static const struct prh_dev_ops fake_ops = {
    fake_sg_io,      fake_disk_seq,  fake_block_info, fake_dm_table,
    stub_dm_suspend, fake_list_paths, stub_open_path, stub_close_path,
};

static int setup(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof(fake));
    fake.mode = S_IFBLK | 0660;
    fake.rdev = makedev(8, 16);
    dev_stubs_install(&fake_ops);
    return 0;
}

/* Run one request through the sg transport as the server would. */
static void run(const uint8_t cdb10[10], const uint8_t *params, int open_flags,
                struct prh_reply *reply, const struct prh_transport_options *opts)
{
    const struct prh_transport *t = &prh_transport_sg;
    void *st = NULL;
    char err[128];
    assert_int_equal(t->init(opts, &st, err, sizeof(err)), 0);
    void *nexus = t->nexus_new(st, NULL);
    struct prh_request req;
    memset(&req, 0, sizeof(req));
    memcpy(req.cdb, cdb10, 10);
    req.xfer_len = scsi_get_be16(cdb10 + 7);
    req.params = params;
    req.fd = open("/dev/null", open_flags | O_CLOEXEC);
    assert_true(req.fd >= 0);
    struct stat sb;
    fake_stat(&sb);
    prh_transport_execute_st(t, st, nexus, &req, fake.fstat_errno ? NULL : &sb,
                             fake.fstat_errno, reply, NULL);
    close(req.fd);
    t->nexus_free(st, nexus);
    t->fini(st);
}

static const uint8_t read_keys[10] = { 0x5e, 0x00, 0, 0, 0, 0, 0, 0x00, 0x20, 0 };
static const uint8_t register_cdb[10] = { 0x5f, 0x00, 0, 0, 0, 0, 0, 0x00, 0x18, 0 };

static void expect_sense(const struct prh_reply *r, struct scsi_sense s)
{
    assert_int_equal(r->status, SCSI_STATUS_CHECK_CONDITION);
    uint8_t want[96];
    scsi_sense_build_fixed(want, sizeof(want), s);
    assert_memory_equal(r->sense, want, 96);
    assert_int_equal(r->data_len, 0);
}

/* A failure (an errno of SG_IO, a host status) and the answer it becomes. */
struct failure_row {
    int cause;
    uint8_t status;
    struct scsi_sense sense;
};

/* READ KEYS through the transport gets STATUS (with SENSE when it is CHECK
 * CONDITION) and never data with it. */
static void expect_read_keys_fails(uint8_t status, struct scsi_sense sense)
{
    struct prh_reply r;
    run(read_keys, NULL, O_RDONLY, &r, NULL);
    assert_int_equal(r.status, status);
    if (status == SCSI_STATUS_CHECK_CONDITION)
        expect_sense(&r, sense);
    assert_int_equal(r.data_len, 0);
}

static void test_sg_good_pr_in_returns_device_data_minus_residual(void **state)
{
    (void)state;
    static const uint8_t keys[16] = { 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
    memcpy(fake.data, keys, sizeof(keys));
    fake.data_len = 16;
    fake.out.resid = 32 - 16;
    struct prh_reply r;
    run(read_keys, NULL, O_RDONLY, &r, NULL);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_len, 16);
    assert_memory_equal(r.data, keys, 16);
    static const uint8_t zero[96] = { 0 };
    assert_memory_equal(r.sense, zero, 96);
}

static void test_sg_header_carries_cdb_direction_length_and_default_timeout(void **state)
{
    (void)state;
    struct prh_reply r;
    run(read_keys, NULL, O_RDONLY, &r, NULL);
    assert_int_equal(fake.seen.interface_id, 'S');
    assert_int_equal(fake.seen.cmd_len, 10);
    assert_memory_equal(fake.seen_cdb, read_keys, 10);
    assert_int_equal(fake.seen.dxfer_direction, SG_DXFER_FROM_DEV);
    assert_int_equal(fake.seen.dxfer_len, 32);
    assert_int_equal(fake.seen.mx_sb_len, 96);
    assert_int_equal(fake.seen.timeout, PRH_SG_DEFAULT_TIMEOUT_MS);
}

static void test_sg_timeout_option_is_used(void **state)
{
    (void)state;
    struct prh_transport_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.sg_timeout_ms = 5000;
    struct prh_reply r;
    run(read_keys, NULL, O_RDONLY, &r, &opts);
    assert_int_equal(fake.seen.timeout, 5000);
}

static void test_sg_pr_out_sends_parameter_list_to_device(void **state)
{
    (void)state;
    uint8_t params[24] = { 0 };
    params[15] = 0x34;
    struct prh_reply r;
    run(register_cdb, params, O_RDWR, &r, NULL);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_len, 0);
    assert_int_equal(fake.seen.dxfer_direction, SG_DXFER_TO_DEV);
    assert_int_equal(fake.seen.dxfer_len, 24);
    assert_memory_equal(fake.seen_params, params, 24);
}

static void test_sg_pr_out_on_read_only_fd_is_refused_without_io(void **state)
{
    (void)state;
    uint8_t params[24] = { 0 };
    struct prh_reply r;
    run(register_cdb, params, O_RDONLY, &r, NULL);
    expect_sense(&r, SENSE_INVALID_OPCODE);
    assert_int_equal(fake.calls, 0);
}

static void test_sg_zero_allocation_length_sends_no_data_phase(void **state)
{
    (void)state;
    const uint8_t cdb[10] = { 0x5e, 0x00 };
    struct prh_reply r;
    run(cdb, NULL, O_RDONLY, &r, NULL);
    assert_int_equal(fake.seen.dxfer_direction, SG_DXFER_NONE);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_len, 0);
}

static void test_sg_device_sense_is_forwarded_unchanged(void **state)
{
    (void)state;
    /* Descriptor-format sense, as a device may send it. */
    static const uint8_t desc[8] = { 0x72, 0x05, 0x24, 0x00, 0, 0, 0, 0 };
    memcpy(fake.sense, desc, sizeof(desc));
    fake.out.status = SCSI_STATUS_CHECK_CONDITION;
    fake.out.sb_len_wr = 8;
    fake.data_len = 16;
    struct prh_reply r;
    run(read_keys, NULL, O_RDONLY, &r, NULL);
    assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
    assert_memory_equal(r.sense, desc, 8);
    assert_int_equal(r.sense[8], 0);
    assert_int_equal(r.data_len, 0); /* never data with a non-GOOD status */
}

static void test_sg_device_reservation_conflict_passes_through(void **state)
{
    (void)state;
    fake.out.status = SCSI_STATUS_RESERVATION_CONFLICT;
    uint8_t params[24] = { 0 };
    struct prh_reply r;
    run(register_cdb, params, O_WRONLY, &r, NULL);
    assert_int_equal(r.status, SCSI_STATUS_RESERVATION_CONFLICT);
    static const uint8_t zero[96] = { 0 };
    assert_memory_equal(r.sense, zero, 96);
}

static void test_sg_errno_mapping_follows_wire_protocol_table(void **state)
{
    (void)state;
    static const struct failure_row rows[] = {
        { EDOM, SCSI_STATUS_TASK_SET_FULL, { 0, 0, 0 } },
        { ENODEV, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_HARDWARE_ERROR, 0x44, 0 } },
        { EREMOTEIO, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_HARDWARE_ERROR, 0x44, 0 } },
        { EBADE, SCSI_STATUS_RESERVATION_CONFLICT, { 0, 0, 0 } },
        { ENODATA, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_MEDIUM_ERROR, 0x11, 0 } },
        { ENOMEDIUM, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_NOT_READY, 0x3a, 0 } },
        { ENOMEM, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_HARDWARE_ERROR, 0x44, 0 } },
        { EINVAL, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ILLEGAL_REQUEST, 0x24, 0 } },
        { ENOSPC, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_DATA_PROTECT, 0x27, 0x07 } },
        { ENOTTY, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06 } },
        { EIO, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06 } },
        { EPERM, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06 } },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        setup(NULL);
        fake.sg_errno = rows[i].cause;
        expect_read_keys_fails(rows[i].status, rows[i].sense);
    }
}

static void test_sg_host_status_mapping_follows_wire_protocol_list(void **state)
{
    (void)state;
    static const struct failure_row rows[] = {
        { PRH_DID_NO_CONNECT, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x05, 0 } },
        { PRH_DID_BUS_BUSY, SCSI_STATUS_BUSY, { 0, 0, 0 } },
        { PRH_DID_TIME_OUT, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x2e, 0x02 } },
        { PRH_DID_BAD_TARGET, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x08, 0 } },
        { PRH_DID_ABORT, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x2f, 0x02 } },
        { PRH_DID_RESET, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_UNIT_ATTENTION, 0x29, 0 } },
        { PRH_DID_TRANSPORT_DISRUPTED, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x29, 0x07 } },
        { PRH_DID_TARGET_FAILURE, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_HARDWARE_ERROR, 0x44, 0 } },
        { PRH_DID_NEXUS_FAILURE, SCSI_STATUS_RESERVATION_CONFLICT, { 0, 0, 0 } },
        { PRH_DID_ALLOC_FAILURE, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_DATA_PROTECT, 0x27, 0x07 } },
        { PRH_DID_MEDIUM_ERROR, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_MEDIUM_ERROR, 0x11, 0 } },
        /* Deliberate difference: QEMU says GOOD here (docs/compat.md). */
        { PRH_DID_ERROR, SCSI_STATUS_CHECK_CONDITION, { SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06 } },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        setup(NULL);
        fake.out.host_status = (uint16_t)rows[i].cause;
        fake.out.status = SCSI_STATUS_GOOD;
        fake.data_len = 16;
        expect_read_keys_fails(rows[i].status, rows[i].sense);
    }
}

static void test_sg_driver_timeout_is_busy(void **state)
{
    (void)state;
    fake.out.driver_status = PRH_SG_DRIVER_TIMEOUT;
    expect_read_keys_fails(SCSI_STATUS_BUSY, (struct scsi_sense){ 0 });
}

static void test_sg_nonsense_residual_is_ignored(void **state)
{
    (void)state;
    fake.out.resid = 1000;
    fake.data_len = 32;
    struct prh_reply r;
    run(read_keys, NULL, O_RDONLY, &r, NULL);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(r.data_len, 32);
}

static void test_sg_non_scsi_fd_answers_like_failed_sg_io(void **state)
{
    (void)state;
    const mode_t modes[] = { S_IFREG, S_IFDIR, S_IFIFO, S_IFSOCK, S_IFCHR };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        setup(NULL);
        fake.mode = modes[i] | 0600;
        fake.rdev = makedev(1, 3); /* /dev/null for S_IFCHR */
        struct prh_reply r;
        run(read_keys, NULL, O_RDONLY, &r, NULL);
        /* The bytes of wire-protocol.md section 11's ENOTTY example. */
        static const uint8_t want[18] = { 0x70, 0, 0x0b, 0, 0, 0, 0, 0x0a, 0, 0,
                                          0,    0, 0x00, 0x06, 0, 0, 0, 0 };
        assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
        assert_memory_equal(r.sense, want, 18);
        assert_int_equal(fake.calls, 0);
    }
}

static void test_sg_character_device_of_sg_major_is_accepted(void **state)
{
    (void)state;
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFCHR | 0600;
    st.st_rdev = makedev(PRH_SCSI_GENERIC_MAJOR, 3);
    assert_int_equal(prh_sg_check_fd(&st), 0);
    st.st_mode = S_IFBLK | 0600;
    st.st_rdev = makedev(253, 0);
    assert_int_equal(prh_sg_check_fd(&st), 0);
    st.st_mode = S_IFCHR | 0600;
    st.st_rdev = makedev(10, 1);
    assert_int_equal(prh_sg_check_fd(&st), -ENOTTY);
}

static void test_sg_fstat_failure_maps_errno(void **state)
{
    (void)state;
    fake.fstat_errno = EBADF;
    struct prh_reply r;
    run(read_keys, NULL, O_RDONLY, &r, NULL);
    expect_sense(&r, SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06));
    assert_int_equal(fake.calls, 0);
}

static void test_sg_transport_is_registered_and_keeps_only_cap_sys_rawio(void **state)
{
    (void)state;
    const struct prh_transport *t = prh_transport_find("sg");
    assert_ptr_equal(t, &prh_transport_sg);
    assert_true(t->available);
    assert_int_equal(t->capabilities, 1ull << 17 /* CAP_SYS_RAWIO */);
    char buf[128];
    void *st = NULL;
    assert_int_equal(t->init(NULL, &st, buf, sizeof(buf)), 0);
    void *n = t->nexus_new(st, NULL);
    t->nexus_describe(st, n, buf, sizeof(buf));
    assert_true(strlen(buf) > 0);
    t->nexus_free(st, n);
    t->fini(st);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, dev_stubs_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sg_good_pr_in_returns_device_data_minus_residual),
        T(test_sg_header_carries_cdb_direction_length_and_default_timeout),
        T(test_sg_timeout_option_is_used),
        T(test_sg_pr_out_sends_parameter_list_to_device),
        T(test_sg_pr_out_on_read_only_fd_is_refused_without_io),
        T(test_sg_zero_allocation_length_sends_no_data_phase),
        T(test_sg_device_sense_is_forwarded_unchanged),
        T(test_sg_device_reservation_conflict_passes_through),
        T(test_sg_errno_mapping_follows_wire_protocol_table),
        T(test_sg_host_status_mapping_follows_wire_protocol_list),
        T(test_sg_driver_timeout_is_busy),
        T(test_sg_nonsense_residual_is_ignored),
        T(test_sg_non_scsi_fd_answers_like_failed_sg_io),
        T(test_sg_character_device_of_sg_major_is_accepted),
        T(test_sg_fstat_failure_maps_errno),
        T(test_sg_transport_is_registered_and_keeps_only_cap_sys_rawio),
    };
    return cmocka_run_group_tests_name("transport.sg", tests, NULL, NULL);
}
