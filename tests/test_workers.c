/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_workers.c - the worker pool: jobs run off-thread and come back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

#include "prhelper/workers.h"

struct counted {
    struct prh_job job;
    pthread_t ran_on;
    int ran;
};

static void run_job(struct prh_job *job)
{
    struct counted *c = (struct counted *)job;
    c->ran_on = pthread_self();
    c->ran++;
}

static void test_workers_rejects_bad_sizes(void **state)
{
    (void)state;
    errno = 0;
    assert_null(prh_workers_new(0));
    assert_int_equal(errno, EINVAL);
    assert_null(prh_workers_new(65));
    prh_workers_free(NULL);
}

static void test_workers_run_jobs_and_hand_them_back(void **state)
{
    struct prh_workers *w = prh_workers_new(3);
    struct counted jobs[50];
    int back = 0;
    (void)state;
    assert_non_null(w);
    for (int i = 0; i < 50; i++) {
        jobs[i] = (struct counted){ .job.run = run_job };
        prh_workers_submit(w, &jobs[i].job);
    }
    struct pollfd p = { .fd = prh_workers_done_fd(w), .events = POLLIN };
    for (int tries = 0; back < 50 && tries < 1000; tries++) {
        poll(&p, 1, 10);
        for (struct prh_job *j = prh_workers_take_done(w); j; j = j->next)
            back++;
    }
    assert_int_equal(back, 50);
    assert_int_equal(prh_workers_pending(w), 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(jobs[i].ran, 1);
        assert_false(pthread_equal(jobs[i].ran_on, pthread_self()));
    }
    prh_workers_free(w);
}

static void test_workers_free_finishes_queued_jobs(void **state)
{
    struct prh_workers *w = prh_workers_new(1);
    struct counted jobs[20];
    (void)state;
    for (int i = 0; i < 20; i++) {
        jobs[i] = (struct counted){ .job.run = run_job };
        prh_workers_submit(w, &jobs[i].job);
    }
    prh_workers_free(w);
    for (int i = 0; i < 20; i++)
        assert_int_equal(jobs[i].ran, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workers_rejects_bad_sizes),
        cmocka_unit_test(test_workers_run_jobs_and_hand_them_back),
        cmocka_unit_test(test_workers_free_finishes_queued_jobs),
    };
    return cmocka_run_group_tests_name("workers", tests, NULL, NULL);
}
