/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_devcache.c - facts about block devices remembered by (st_rdev,
 * disk sequence number): the device class verdicts (device.c) and the
 * audit trail's WWIDs (audit.c) share it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prhelper/devcache.h"

struct fact {
    char text[24];
    unsigned n;
};

PRH_DEVCACHE_DEFINE(facts, 4, struct fact);

static int reset(void **state)
{
    (void)state;
    prh_devcache_flush(&facts);
    return 0;
}

static struct fact fact(const char *text, unsigned n)
{
    struct fact f = { .n = n };
    snprintf(f.text, sizeof(f.text), "%s", text);
    return f;
}

static bool found(dev_t rdev, uint64_t seq, const char *text)
{
    struct fact got;
    memset(&got, 0xa5, sizeof(got));
    if (!prh_devcache_get(&facts, rdev, seq, &got))
        return false;
    assert_string_equal(got.text, text);
    return true;
}

static void test_devcache_value_found_by_number_and_sequence(void **state)
{
    (void)state;
    struct fact f = fact("disk-a", 7), got;
    prh_devcache_put(&facts, makedev(8, 16), 41, &f);
    assert_true(prh_devcache_get(&facts, makedev(8, 16), 41, &got));
    assert_memory_equal(&got, &f, sizeof(f)); /* the whole value, copied */
    assert_false(prh_devcache_get(&facts, makedev(8, 32), 41, &got));
}

/* The number now names another disk: what was learnt of the old one is
 * not its answer. */
static void test_devcache_new_sequence_is_a_miss(void **state)
{
    (void)state;
    struct fact f = fact("disk-a", 1);
    prh_devcache_put(&facts, makedev(8, 16), 41, &f);
    assert_false(found(makedev(8, 16), 42, ""));
}

/* A new entry for a number replaces the old one in place: re-created LUNs
 * do not push other devices out. */
static void test_devcache_same_number_replaces_its_entry(void **state)
{
    (void)state;
    struct fact f;
    for (unsigned i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "other-%u", i);
        f = fact(name, i);
        prh_devcache_put(&facts, makedev(8, 32 + 16 * i), 1, &f);
    }
    for (uint64_t seq = 41; seq < 51; seq++) {
        f = fact("recreated", (unsigned)seq);
        prh_devcache_put(&facts, makedev(8, 16), seq, &f);
    }
    assert_true(found(makedev(8, 16), 50, "recreated"));
    assert_false(found(makedev(8, 16), 49, ""));
    for (unsigned i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "other-%u", i);
        assert_true(found(makedev(8, 32 + 16 * i), 1, name));
    }
}

/* More devices than slots: the oldest goes, the others stay. */
static void test_devcache_full_ring_forgets_the_oldest(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "disk-%u", i);
        struct fact f = fact(name, i);
        prh_devcache_put(&facts, makedev(8, 16 * i), 1, &f);
    }
    assert_false(found(makedev(8, 0), 1, ""));
    for (unsigned i = 1; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "disk-%u", i);
        assert_true(found(makedev(8, 16 * i), 1, name));
    }
}

static void test_devcache_flush_forgets_everything(void **state)
{
    (void)state;
    struct fact f = fact("disk-a", 1);
    prh_devcache_put(&facts, makedev(8, 16), 41, &f);
    prh_devcache_flush(&facts);
    assert_false(found(makedev(8, 16), 41, ""));
}

/* Not a block device: no sequence number, so nothing is cached. */
static void test_disk_seq_of_a_pipe_is_an_error(void **state)
{
    (void)state;
    int p[2];
    uint64_t seq = 0;
    assert_int_equal(pipe(p), 0);
    int r = prh_disk_seq(p[0], &seq);
    assert_true(r < 0);
    assert_int_not_equal(r, -EBADF);
    close(p[0]);
    close(p[1]);
    assert_int_equal(prh_disk_seq(p[0], &seq), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_devcache_value_found_by_number_and_sequence, reset),
        cmocka_unit_test_setup(test_devcache_new_sequence_is_a_miss, reset),
        cmocka_unit_test_setup(test_devcache_same_number_replaces_its_entry, reset),
        cmocka_unit_test_setup(test_devcache_full_ring_forgets_the_oldest, reset),
        cmocka_unit_test_setup(test_devcache_flush_forgets_everything, reset),
        cmocka_unit_test_setup(test_disk_seq_of_a_pipe_is_an_error, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
