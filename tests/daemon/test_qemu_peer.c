/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_qemu_peer.c - a QEMU peer's guest name, UUID and start time as
 * /proc shows them (qemu_peer.h), read the way QEMU parses its options.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "prh_test_util.h"
#include "prhelper/qemu_peer.h"

/* argv as /proc/PID/cmdline shows it: NUL-separated, NUL-terminated. */
static size_t cmdline_of(const char *const *argv, size_t argc, char *buf)
{
    size_t n = 0;
    for (size_t i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]) + 1;
        memcpy(buf + n, argv[i], l);
        n += l;
    }
    return n;
}

static bool guest_of(const char *const *argv, size_t argc, char *out, size_t len)
{
    char buf[2048];
    return prh_qemu_guest_name(buf, cmdline_of(argv, argc, buf), out, len, NULL);
}

static bool uuid_of(const char *const *argv, size_t argc, char out[PRH_QEMU_UUID_LEN])
{
    char buf[2048];
    return prh_qemu_uuid(buf, cmdline_of(argv, argc, buf), out);
}

static void test_qemu_guest_name_libvirt_form(void **state)
{
    (void)state;
    char g[64];
    const char *argv[] = { "/usr/bin/qemu-system-x86_64", "-name", "guest=db-1,debug-threads=on",
                           "-S" };
    assert_true(guest_of(argv, 4, g, sizeof(g)));
    assert_string_equal(g, "db-1");
}

static void test_qemu_guest_name_implied_key_and_escaped_comma(void **state)
{
    (void)state;
    char g[64];
    const char *a1[] = { "qemu", "-name", "web,,front,process=qemu-web" };
    assert_true(guest_of(a1, 3, g, sizeof(g)));
    assert_string_equal(g, "web,front");
    const char *a2[] = { "qemu", "--name", "process=x,guest=late" };
    assert_true(guest_of(a2, 3, g, sizeof(g)));
    assert_string_equal(g, "late");
    const char *a4[] = { "qemu", "-name=eq" };
    assert_true(guest_of(a4, 2, g, sizeof(g)));
    assert_string_equal(g, "eq");
    const char *a5[] = { "qemu", "--name=guest=eq2" };
    assert_true(guest_of(a5, 2, g, sizeof(g)));
    assert_string_equal(g, "eq2");
    /* QEMU takes the last -name. */
    const char *a3[] = { "qemu", "-name", "first", "-name", "second" };
    assert_true(guest_of(a3, 5, g, sizeof(g)));
    assert_string_equal(g, "second");
    /* A comma pair at the very end is one comma. */
    const char *a6[] = { "qemu", "-name", "guest=end,," };
    assert_true(guest_of(a6, 3, g, sizeof(g)));
    assert_string_equal(g, "end,");
}

static void test_qemu_guest_name_absent_or_truncated(void **state)
{
    (void)state;
    char g[64] = "";
    const char *a1[] = { "sg_persist", "--out", "--register" };
    assert_false(guest_of(a1, 3, g, sizeof(g)));
    const char *a2[] = { "qemu", "-name" }; /* no value */
    assert_false(guest_of(a2, 2, g, sizeof(g)));
    const char *a3[] = { "qemu", "-name", "process=only" };
    assert_false(guest_of(a3, 3, g, sizeof(g)));
    const char *a4[] = { "qemu", "---name", "x", "-names", "y" }; /* other options */
    assert_false(guest_of(a4, 5, g, sizeof(g)));
    /* A command line cut in the middle of its last argument. */
    assert_false(prh_qemu_guest_name("qemu\0-name\0vm", 13, g, sizeof(g), NULL));
    /* Nothing is written when there is no name. */
    assert_string_equal(g, "");
}

static void test_qemu_guest_name_long_name_cut_with_full_length(void **state)
{
    (void)state;
    char name[400], opt[420], g[16];
    size_t full = 0;
    memset(name, 'a', 299);
    name[299] = '\0';
    snprintf(opt, sizeof(opt), "guest=%s", name);
    const char *argv[] = { "qemu", "-name", opt };
    char buf[1024];
    size_t n = cmdline_of(argv, 3, buf);
    assert_true(prh_qemu_guest_name(buf, n, g, sizeof(g), &full));
    assert_int_equal(strlen(g), 15);
    assert_int_equal(full, 299);
}

static void test_qemu_uuid_forms_and_last_wins(void **state)
{
    (void)state;
    char u[PRH_QEMU_UUID_LEN];
    const char *a1[] = { "qemu", "-uuid", "3FA85F64-5717-4562-B3FC-2C963F66AFA6" };
    assert_true(uuid_of(a1, 3, u));
    assert_string_equal(u, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    const char *a2[] = { "qemu", "--uuid=00000000-0000-0000-0000-000000000001", "-uuid",
                         "11111111-2222-3333-4444-555555555555" };
    assert_true(uuid_of(a2, 4, u));
    assert_string_equal(u, "11111111-2222-3333-4444-555555555555");
}

static void test_qemu_uuid_malformed_ignored(void **state)
{
    (void)state;
    char u[PRH_QEMU_UUID_LEN] = "unchanged";
    const char *bad[] = { "3fa85f64571745623b3fc2c963f66afa6", "3fa85f64-5717-4562-b3fc-2c963f66afa",
                          "3fa85f64-5717-4562-b3fc-2c963f66afa6x", "zfa85f64-5717-4562-b3fc-2c963f66afa6",
                          "3fa85f64+5717-4562-b3fc-2c963f66afa6" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = { "qemu", "-uuid", bad[i] };
        assert_false(uuid_of(argv, 3, u));
    }
    const char *none[] = { "qemu", "-uuid" };
    assert_false(uuid_of(none, 2, u));
    assert_string_equal(u, "unchanged");
}

/* ---- /proc ---------------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static char *fake_proc(long pid, const void *cmdline, size_t len, const char *stat)
{
    char *dir = tu_tmpdir(), path[512];
    snprintf(path, sizeof(path), "%s/%ld", dir, pid);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%ld/cmdline", dir, pid);
    if (cmdline)
        write_file(path, cmdline, len);
    snprintf(path, sizeof(path), "%s/%ld/stat", dir, pid);
    if (stat)
        write_file(path, stat, strlen(stat));
    return dir;
}

static void test_qemu_peer_read_guest_uuid_argv0_start(void **state)
{
    (void)state;
    static const char cmd[] = "/usr/bin/qemu-system-x86_64\0-name\0guest=vm7,debug-threads=on\0"
                              "-uuid\0aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\0";
    /* comm with spaces and a ')' of its own */
    const char *stat = "4242 (qemu) (x y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 "
                       "20 21\n";
    char *dir = fake_proc(4242, cmd, sizeof(cmd) - 1, stat);
    struct prh_qemu_peer q;
    prh_qemu_peer_read(dir, 4242, &q);
    assert_true(q.cmdline_read && q.has_guest && q.has_uuid && q.has_start_time);
    assert_string_equal(q.guest, "vm7");
    assert_int_equal(q.guest_len, 3);
    assert_string_equal(q.uuid, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    assert_string_equal(q.argv0, "/usr/bin/qemu-system-x86_64");
    assert_int_equal(q.start_time, 987654);
    tu_tmpdir_free(dir);
}

static void test_qemu_peer_read_gone_or_unparsable(void **state)
{
    (void)state;
    char *dir = fake_proc(7, NULL, 0, "7 (x) S 1 2\n"); /* too few fields */
    struct prh_qemu_peer q;
    unsigned long long t;
    prh_qemu_peer_read(dir, 7, &q);
    assert_false(q.cmdline_read || q.has_guest || q.has_uuid || q.has_start_time);
    assert_int_equal(prh_qemu_start_time(dir, 7, &t), -EINVAL);
    assert_int_equal(prh_qemu_start_time(dir, 8, &t), -ENOENT);
    char buf[16];
    assert_int_equal(prh_qemu_read_cmdline(dir, 8, buf, sizeof(buf)), -ENOENT);
    tu_tmpdir_free(dir);
}

/* A -name longer than what is read of a command line (a hostile one, or
 * one libvirt would never write): not taken cut, since two guests whose
 * names start alike would be one; an earlier -uuid still names the guest. */
static void test_qemu_peer_read_name_past_the_cmdline_cap_is_not_taken(void **state)
{
    (void)state;
    static const char head[] = "qemu\0-uuid\0aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\0-name\0guest=";
    size_t len = sizeof(head) - 1 + PRH_QEMU_CMDLINE_MAX + 2;
    char *cmd = malloc(len);
    assert_non_null(cmd);
    memcpy(cmd, head, sizeof(head) - 1);
    memset(cmd + sizeof(head) - 1, 'v', len - (sizeof(head) - 1));
    cmd[len - 1] = '\0';
    char *dir = fake_proc(9, cmd, len, "9 (qemu) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 5 0\n");
    struct prh_qemu_peer q;
    prh_qemu_peer_read(dir, 9, &q);
    assert_true(q.cmdline_read);
    assert_false(q.has_guest);
    assert_string_equal(q.guest, "");
    assert_true(q.has_uuid);
    /* The same name whole (under the cap) is taken, cut with its length. */
    cmd[PRH_QEMU_CMDLINE_MAX - 1] = '\0';
    tu_tmpdir_free(dir);
    dir = fake_proc(9, cmd, PRH_QEMU_CMDLINE_MAX, "9 (qemu) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 "
                                                  "16 17 18 5 0\n");
    prh_qemu_peer_read(dir, 9, &q);
    assert_true(q.has_guest);
    assert_int_equal(strlen(q.guest), PRH_QEMU_GUEST_MAX - 1);
    assert_int_equal(q.guest_len, PRH_QEMU_CMDLINE_MAX - 1 - (sizeof(head) - 1));
    tu_tmpdir_free(dir);
    free(cmd);
}

/* Names hold any bytes; what is shown of them is printable ASCII. */
static void test_qemu_printable_escapes_odd_bytes_and_cuts_whole_escapes(void **state)
{
    (void)state;
    char out[64];
    prh_qemu_printable("vm-1", out, sizeof(out));
    assert_string_equal(out, "vm-1");
    prh_qemu_printable("a\nb\x1b[2J\\\x7f\xc3\xa9\xff", out, sizeof(out));
    assert_string_equal(out, "a\\x0ab\\x1b[2J\\x5c\\x7f\\xc3\\xa9\\xff");
    prh_qemu_printable("ab\n", out, 6); /* "ab" and no half of "\x0a" */
    assert_string_equal(out, "ab");
    prh_qemu_printable("abcdef", out, 4);
    assert_string_equal(out, "abc");
    out[0] = 'x';
    prh_qemu_printable("abc", out, 0); /* no room: untouched */
    assert_int_equal(out[0], 'x');
}

static void test_qemu_peer_reads_this_process(void **state)
{
    (void)state;
    struct prh_qemu_peer q;
    prh_qemu_peer_read("/proc", getpid(), &q);
    assert_true(q.cmdline_read && q.has_start_time);
    assert_false(q.has_guest);
    assert_non_null(strstr(q.argv0, "test_qemu_peer"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_guest_name_libvirt_form),
        cmocka_unit_test(test_qemu_guest_name_implied_key_and_escaped_comma),
        cmocka_unit_test(test_qemu_guest_name_absent_or_truncated),
        cmocka_unit_test(test_qemu_guest_name_long_name_cut_with_full_length),
        cmocka_unit_test(test_qemu_uuid_forms_and_last_wins),
        cmocka_unit_test(test_qemu_uuid_malformed_ignored),
        cmocka_unit_test(test_qemu_peer_read_guest_uuid_argv0_start),
        cmocka_unit_test(test_qemu_peer_read_gone_or_unparsable),
        cmocka_unit_test(test_qemu_peer_read_name_past_the_cmdline_cap_is_not_taken),
        cmocka_unit_test(test_qemu_printable_escapes_odd_bytes_and_cuts_whole_escapes),
        cmocka_unit_test(test_qemu_peer_reads_this_process),
    };
    return cmocka_run_group_tests_name("qemu_peer", tests, NULL, NULL);
}
