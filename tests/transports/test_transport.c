/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_transport.c - the registry and the one outcome -> wire mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prhelper/transport.h"
#include "transport_stubs.h"

static struct prh_reply reply;

static void map(struct prh_result res, uint8_t opcode, uint32_t alloc)
{
    struct prh_request req = { .cdb = { opcode }, .xfer_len = alloc };
    memset(&reply, 0xee, sizeof(reply));
    prh_result_to_reply(&res, &req, &reply);
}

static void assert_sense(uint8_t key, uint8_t asc, uint8_t ascq)
{
    assert_int_equal(reply.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(reply.sense[0], 0x70);
    assert_int_equal(reply.sense[2], key);
    assert_int_equal(reply.sense[7], 0x0a);
    assert_int_equal(reply.sense[12], asc);
    assert_int_equal(reply.sense[13], ascq);
    for (int i = 18; i < 96; i++)
        assert_int_equal(reply.sense[i], 0);
    assert_int_equal(reply.data_len, 0);
}

static void test_registry_finds_all_three(void **state)
{
    (void)state;
    assert_ptr_equal(prh_transport_find("sim"), &prh_transport_sim);
    assert_ptr_equal(prh_transport_find("sg"), &prh_transport_sg);
    assert_ptr_equal(prh_transport_find("mpath"), &prh_transport_mpath);
    assert_null(prh_transport_find("iscsi"));
    size_t n = 0;
    for (const struct prh_transport *const *t = prh_transport_list(); *t; t++)
        n++;
    assert_int_equal(n, 3);
}

static void test_registry_mpath_and_sg_available(void **state)
{
    (void)state;
    assert_true(prh_transport_sg.available);
    assert_non_null(prh_transport_sg.open);
    assert_true(prh_transport_mpath.available);
    assert_non_null(prh_transport_mpath.open);
    assert_non_null(prh_transport_mpath.pr_out);
}

static void test_enotty_is_aborted_command_as_doc_example(void **state)
{
    static const uint8_t expect[18] = { 0x70, 0, 0x0b, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0x06 };
    (void)state;
    map(prh_result_errno(ENOTTY), 0x5e, 32);
    assert_memory_equal(reply.sense, expect, 18);
    assert_sense(SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06);
}

static void test_errno_table(void **state)
{
    (void)state;
    /* wire-protocol.md's errno table: the status, and the sense of a
     * CHECK CONDITION (fixed format). */
    static const struct {
        int err;
        uint8_t status, key, asc, ascq;
    } rows[] = {
        { EDOM, SCSI_STATUS_TASK_SET_FULL, 0, 0, 0 },
        { EBADE, SCSI_STATUS_RESERVATION_CONFLICT, 0, 0, 0 },
        { ENODEV, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_HARDWARE_ERROR, 0x44, 0 },
        { EREMOTEIO, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_HARDWARE_ERROR, 0x44, 0 },
        { ENOMEM, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_HARDWARE_ERROR, 0x44, 0 },
        { ENODATA, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_MEDIUM_ERROR, 0x11, 0 },
        { ENOMEDIUM, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_NOT_READY, 0x3a, 0 },
        { EINVAL, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_ILLEGAL_REQUEST, 0x24, 0 },
        { ENOSPC, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_DATA_PROTECT, 0x27, 0x07 },
        { EIO, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_ABORTED_COMMAND, 0, 0x06 },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        map(prh_result_errno(rows[i].err), 0x5f, 24);
        if (reply.status != rows[i].status ||
            (rows[i].status == SCSI_STATUS_CHECK_CONDITION &&
             (reply.sense[2] != rows[i].key || reply.sense[12] != rows[i].asc ||
              reply.sense[13] != rows[i].ascq)))
            fail_msg("errno %d (%s): status %02xh sense %xh/%02xh/%02xh, want %02xh %xh/%02xh/%02xh",
                     rows[i].err, strerror(rows[i].err), reply.status, reply.sense[2],
                     reply.sense[12], reply.sense[13], rows[i].status, rows[i].key, rows[i].asc,
                     rows[i].ascq);
        if (rows[i].status == SCSI_STATUS_CHECK_CONDITION)
            assert_sense(rows[i].key, rows[i].asc, rows[i].ascq);
    }
}

static void test_sense_result_is_fixed_format(void **state)
{
    (void)state;
    map(prh_result_sense(SENSE_INVALID_FIELD_IN_CDB), 0x5e, 8);
    assert_sense(SCSI_SENSE_ILLEGAL_REQUEST, 0x24, 0);
}

static void test_raw_sense_forwarded_unchanged(void **state)
{
    struct prh_result r = { .kind = PRH_RESULT_RAW_SENSE, .status = SCSI_STATUS_CHECK_CONDITION,
                            .raw_sense_len = 8 };
    (void)state;
    memcpy(r.raw_sense, "\x72\x06\x29\x00\0\0\0\0", 8);
    map(r, 0x5e, 8);
    assert_int_equal(reply.status, SCSI_STATUS_CHECK_CONDITION);
    assert_memory_equal(reply.sense, "\x72\x06\x29\x00", 4);
    assert_int_equal(reply.sense[8], 0);
}

static void test_data_only_for_prin_good_clipped(void **state)
{
    struct prh_result r = prh_result_status(SCSI_STATUS_GOOD);
    (void)state;
    r.data_len = 100;
    map(r, 0x5e, 40);
    assert_int_equal(reply.data_len, 40);
    map(r, 0x5f, 40);
    assert_int_equal(reply.data_len, 0);
    r.status = SCSI_STATUS_BUSY;
    map(r, 0x5e, 40);
    assert_int_equal(reply.status, SCSI_STATUS_BUSY);
    assert_int_equal(reply.data_len, 0);
    for (int i = 0; i < 96; i++)
        assert_int_equal(reply.sense[i], 0);
}

/* ---- the request path: one fstat() per request, handed to open() ---- */

static const struct prh_transport rec_transport = {
    STUB_TRANSPORT("rec"),
    .open = stub_open_recording,
    .pr_in = stub_pr_in_good,
};

static const struct prh_request read_keys_req = {
    .cdb = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 8 }, .xfer_len = 8,
};

static void test_execute_hands_the_fds_stat_to_open_and_names_the_lun(void **state)
{
    (void)state;
    struct prh_request req = read_keys_req;
    req.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(req.fd >= 0);
    struct prh_exec_info info;
    memset(stub_opens(), 0, sizeof(*stub_opens()));
    prh_transport_execute_ex(&rec_transport, NULL, NULL, &req, &reply, &info);
    close(req.fd);
    assert_int_equal(stub_opens()->opens, 1);
    assert_true(S_ISCHR(stub_opens()->seen.st_mode));
    assert_int_equal(major(stub_opens()->seen.st_rdev), 1);
    assert_int_equal(minor(stub_opens()->seen.st_rdev), 3);
    assert_string_equal(info.lun, "chr-1-3");
}

static void test_execute_st_uses_the_callers_stat_without_another_fstat(void **state)
{
    (void)state;
    /* The fd is /dev/null; the caller's stat says a disk: only the
     * caller's stat may reach the transport and the LUN name. */
    struct prh_request req = read_keys_req;
    req.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFBLK | 0660;
    st.st_rdev = makedev(8, 16);
    struct prh_exec_info info;
    memset(stub_opens(), 0, sizeof(*stub_opens()));
    prh_transport_execute_st(&rec_transport, NULL, NULL, &req, &st, 0, &reply, &info);
    close(req.fd);
    assert_int_equal(stub_opens()->opens, 1);
    assert_true(S_ISBLK(stub_opens()->seen.st_mode));
    assert_int_equal(stub_opens()->seen.st_rdev, makedev(8, 16));
    assert_string_equal(info.lun, "blk-8-16");
    assert_int_equal(reply.status, SCSI_STATUS_GOOD);
}

static void test_execute_st_failed_fstat_answers_its_errno_without_open(void **state)
{
    (void)state;
    struct prh_request req = read_keys_req;
    req.fd = -1;
    struct prh_exec_info info;
    memset(stub_opens(), 0, sizeof(*stub_opens()));
    prh_transport_execute_st(&rec_transport, NULL, NULL, &req, NULL, EBADF, &reply, &info);
    assert_int_equal(stub_opens()->opens, 0);
    assert_string_equal(info.lun, "");
    /* EBADF is not in the table: ABORTED COMMAND, I/O PROCESS TERMINATED. */
    assert_sense(SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06);
    /* The same through execute_ex on a closed fd. */
    prh_transport_execute_ex(&rec_transport, NULL, NULL, &req, &reply, &info);
    assert_int_equal(stub_opens()->opens, 0);
    assert_sense(SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06);
}

static void test_lun_id_of_stat_names_devices_and_files(void **state)
{
    (void)state;
    struct stat st;
    char buf[64];
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFBLK | 0600;
    st.st_rdev = makedev(253, 7);
    prh_lun_id_of_stat(&st, buf, sizeof(buf));
    assert_string_equal(buf, "blk-253-7");
    st.st_mode = S_IFCHR | 0600;
    st.st_rdev = makedev(21, 0);
    prh_lun_id_of_stat(&st, buf, sizeof(buf));
    assert_string_equal(buf, "chr-21-0");
    st.st_mode = S_IFREG | 0600;
    st.st_dev = 0x803;
    st.st_ino = 1234;
    prh_lun_id_of_stat(&st, buf, sizeof(buf));
    assert_string_equal(buf, "file-803-1234");
    /* prh_lun_id_of_fd() is the same name from fstat(). */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_int_equal(prh_lun_id_of_fd(fd, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "chr-1-3");
    close(fd);
    assert_int_equal(prh_lun_id_of_fd(fd, buf, sizeof(buf)), -EBADF);
}

/* Whether the pool counts nexus_new/nexus_free as device calls: sg and
 * mpath make and free one record (never block), sim reads /proc and takes
 * LUN locks (may); a transport that does not say, or built before the
 * member existed (a shorter struct_size), may. */
static void test_nexus_may_block_per_transport(void **state)
{
    (void)state;
    assert_false(prh_transport_nexus_may_block(&prh_transport_sg));
    assert_false(prh_transport_nexus_may_block(&prh_transport_mpath));
    assert_true(prh_transport_nexus_may_block(&prh_transport_sim));
    assert_true(prh_transport_nexus_may_block(&rec_transport));
    struct prh_transport older = rec_transport;
    older.nexus_never_blocks = true;
    assert_false(prh_transport_nexus_may_block(&older));
    older.struct_size = (uint32_t)offsetof(struct prh_transport, nexus_never_blocks);
    assert_true(prh_transport_nexus_may_block(&older));
}

static void test_fstat_fd_is_fstat_and_says_why_it_failed(void **state)
{
    (void)state;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat a, b;
    memset(&a, 0x5a, sizeof(a));
    assert_int_equal(prh_fstat_fd(fd, &a), 0);
    assert_int_equal(fstat(fd, &b), 0);
    assert_int_equal(a.st_mode, b.st_mode);
    assert_int_equal(a.st_rdev, b.st_rdev);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_dev, b.st_dev);
    close(fd);
    assert_int_equal(prh_fstat_fd(fd, &a), -EBADF);
    assert_int_equal(prh_fstat_fd(-1, &a), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_finds_all_three),
        cmocka_unit_test(test_nexus_may_block_per_transport),
        cmocka_unit_test(test_registry_mpath_and_sg_available),
        cmocka_unit_test(test_enotty_is_aborted_command_as_doc_example),
        cmocka_unit_test(test_errno_table),
        cmocka_unit_test(test_sense_result_is_fixed_format),
        cmocka_unit_test(test_raw_sense_forwarded_unchanged),
        cmocka_unit_test(test_data_only_for_prin_good_clipped),
        cmocka_unit_test(test_execute_hands_the_fds_stat_to_open_and_names_the_lun),
        cmocka_unit_test(test_execute_st_uses_the_callers_stat_without_another_fstat),
        cmocka_unit_test(test_execute_st_failed_fstat_answers_its_errno_without_open),
        cmocka_unit_test(test_lun_id_of_stat_names_devices_and_files),
        cmocka_unit_test(test_fstat_fd_is_fstat_and_says_why_it_failed),
    };
    return cmocka_run_group_tests_name("transport", tests, NULL, NULL);
}
