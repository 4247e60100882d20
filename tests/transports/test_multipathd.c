/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_multipathd.c - the multipathd client (multipathd.h) against a fake
 * multipathd: libmpathcmd framing, the commands libmpathpersist sends,
 * what an older multipathd does not know, and a multipathd that is
 * absent, refuses or hangs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/sysmacros.h>

#include "fake_multipathd.h"
#include "prh_test_util.h"
#include "prhelper/multipathd.h"

static struct fake_mpathd fmd;
static struct prh_mpathd *cl;

static int setup(void **state)
{
    (void)state;
    fmd_start_in_tmpdir(&fmd);
    cl = prh_mpathd_new(fmd.path, 2000);
    assert_non_null(cl);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    prh_mpathd_free(cl);
    fmd_stop(&fmd);
    return 0;
}

static void test_mpathd_command_round_trip_in_libmpathcmd_framing(void **state)
{
    (void)state;
    char reply[64];
    assert_int_equal(prh_mpathd_command(cl, "setprstatus map dm-3", reply, sizeof(reply)), 1);
    assert_string_equal(reply, "ok\n");
    assert_int_equal(fmd_find(&fmd, "setprstatus map dm-3"), 0);
}

static void test_mpathd_set_key_sends_hex_key_and_aptpl(void **state)
{
    (void)state;
    assert_true(prh_mpathd_set_key(cl, makedev(253, 4), 0xabc, false));
    assert_true(fmd_find(&fmd, "setprkey map dm-4 key 0xabc") >= 0);
    assert_true(prh_mpathd_set_key(cl, makedev(253, 4), 0x1234, true));
    assert_true(fmd_find(&fmd, "setprkey map dm-4 key 0x1234:aptpl") >= 0);
    prh_mpathd_set_key(cl, makedev(253, 4), 0, false);
    assert_true(fmd_find(&fmd, "unsetprkey map dm-4") >= 0);
}

static void test_mpathd_no_key_file_no_setprkey(void **state)
{
    (void)state;
    /* Only maps with "reservation_key file" take a key from us (as
     * libmpathpersist, which checks prkey_source); without it multipathd
     * would only write /etc/multipath/prkeys for nothing. */
    fmd.key_file = false;
    prh_mpathd_free(cl);
    cl = prh_mpathd_new(fmd.path, 2000);
    assert_false(prh_mpathd_set_key(cl, makedev(253, 4), 0xabc, false));
    assert_int_equal(fmd_find(&fmd, "setprkey"), -1);
    assert_true(fmd_find(&fmd, "show config") >= 0);
}

static void test_mpathd_status_with_pathlist_of_dev_numbers(void **state)
{
    (void)state;
    dev_t paths[2] = { makedev(8, 16), makedev(8, 32) };
    prh_mpathd_set_status(cl, makedev(253, 0), true, paths, 2);
    assert_true(fmd_find(&fmd, "setprstatus map dm-0 pathlist \"8:16 8:32\"") >= 0);
    prh_mpathd_set_status(cl, makedev(253, 0), false, NULL, 0);
    assert_true(fmd_find(&fmd, "unsetprstatus map dm-0") >= 0);
}

static void test_mpathd_older_multipathd_gets_plain_setprstatus_and_no_hold(void **state)
{
    (void)state;
    fmd.knows_pathlist = fmd.knows_hold = false; /* 0.9.4 */
    dev_t paths[1] = { makedev(8, 16) };
    prh_mpathd_set_status(cl, makedev(253, 0), true, paths, 1);
    assert_true(fmd_find(&fmd, "setprstatus map dm-0 pathlist") >= 0);
    assert_true(fmd_find(&fmd, "setprstatus map dm-0") >= 0);
    prh_mpathd_set_hold(cl, makedev(253, 0), true);
    fmd_clear(&fmd);
    /* Learnt: not sent to this multipathd again. */
    prh_mpathd_set_status(cl, makedev(253, 0), true, paths, 1);
    prh_mpathd_set_hold(cl, makedev(253, 0), false);
    assert_int_equal(fmd_find(&fmd, "setprstatus map dm-0 pathlist"), -1);
    assert_int_equal(fmd_find(&fmd, "setprstatus map dm-0"), 0);
    assert_int_equal(fmd_find(&fmd, "unsetprhold"), -1);
}

static void test_mpathd_hold_commands(void **state)
{
    (void)state;
    prh_mpathd_set_hold(cl, makedev(253, 2), true);
    prh_mpathd_set_hold(cl, makedev(253, 2), false);
    assert_true(fmd_find(&fmd, "setprhold map dm-2") >= 0);
    assert_true(fmd_find(&fmd, "unsetprhold map dm-2") >= 0);
}

static void test_mpathd_get_key(void **state)
{
    (void)state;
    uint64_t key = 1;
    assert_int_equal(prh_mpathd_get_key(cl, makedev(253, 0), &key), 1);
    assert_int_equal(key, 0);
    snprintf(fmd.prkey, sizeof(fmd.prkey), "0x5a:aptpl\n");
    assert_int_equal(prh_mpathd_get_key(cl, makedev(253, 0), &key), 1);
    assert_int_equal(key, 0x5a);
}

static void test_mpathd_refusal_is_not_success(void **state)
{
    (void)state;
    fmd.deny = true;
    char reply[64];
    assert_int_equal(prh_mpathd_command(cl, "setprstatus map dm-0", reply, sizeof(reply)), 0);
    assert_non_null(strstr(reply, "permission deny"));
    assert_false(prh_mpathd_set_key(cl, makedev(253, 0), 0xa, false));
}

static void test_mpathd_absent_is_an_error_code_only(void **state)
{
    (void)state;
    struct prh_mpathd *none = prh_mpathd_new("/nonexistent/multipathd.socket", 100);
    assert_true(prh_mpathd_command(none, "setprstatus map dm-0", NULL, 0) < 0);
    assert_false(prh_mpathd_set_key(none, makedev(253, 0), 0xa, false));
    prh_mpathd_set_status(none, makedev(253, 0), true, NULL, 0);
    prh_mpathd_set_hold(none, makedev(253, 0), true);
    prh_mpathd_free(none);
    struct prh_mpathd *abs = prh_mpathd_new("@/prhelper-test/no-such-multipathd", 100);
    assert_int_equal(prh_mpathd_command(abs, "show config", NULL, 0), -ECONNREFUSED);
    prh_mpathd_free(abs);
}

static void test_mpathd_abstract_socket_name(void **state)
{
    (void)state;
    char name[108];
    snprintf(name, sizeof(name), "@/prhelper-test/mpathd-%d", (int)getpid());
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    memcpy(a.sun_path + 1, name + 1, strlen(name) - 1);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))),
                     0);
    assert_int_equal(listen(lfd, 4), 0);
    struct prh_mpathd *c = prh_mpathd_new(name, 300);
    /* Connects (the abstract name matched); nobody answers: timeout. */
    long t0 = tu_now_ms();
    assert_int_equal(prh_mpathd_command(c, "show config", NULL, 0), -ETIMEDOUT);
    assert_true(tu_now_ms() - t0 < 2000);
    prh_mpathd_free(c);
    close(lfd);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_mpathd_command_round_trip_in_libmpathcmd_framing),
        T(test_mpathd_set_key_sends_hex_key_and_aptpl),
        T(test_mpathd_no_key_file_no_setprkey),
        T(test_mpathd_status_with_pathlist_of_dev_numbers),
        T(test_mpathd_older_multipathd_gets_plain_setprstatus_and_no_hold),
        T(test_mpathd_hold_commands),
        T(test_mpathd_get_key),
        T(test_mpathd_refusal_is_not_success),
        T(test_mpathd_absent_is_an_error_code_only),
        T(test_mpathd_abstract_socket_name),
    };
    return cmocka_run_group_tests_name("multipathd", tests, NULL, NULL);
}
