/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_workers.c - the elastic pool: threads wait on one epoll set, the
 * pool grows while every thread is inside a (stalled) device call, shrinks
 * back when idle, stops at max and says so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prh_test_util.h"
#include "tu_text.h"
#include "prhelper/workers.h"

#define NSOCK 12

/* A socket whose event "runs a device call" that waits for the gate. */
struct conn {
    int fds[2]; /* [0] registered, [1] the test writes here */
    atomic_int handled;
    bool lingers;       /* lhandle(): ask the pool to linger on it after each event */
    int delay_ms;       /* lhandle(): each event takes this long */
    atomic_int lingered_on; /* linger() calls for it */
    atomic_int given_back;  /* linger_end() calls for it */
};

struct fx {
    int epfd;
    struct prh_pool *pool;
    struct conn conns[NSOCK];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;           /* the gate */
    int blocked;         /* handlers waiting at the gate */
    atomic_int limit_calls;
    atomic_int exits_with_scratch;
    atomic_int thread_delta;
};

static void arm(struct fx *f, struct conn *c)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = c };
    assert_int_equal(epoll_ctl(f->epfd, EPOLL_CTL_MOD, c->fds[0], &ev), 0);
}

static void handle(void *opaque, struct prh_pool_thread *t, void *data, uint32_t events)
{
    struct fx *f = opaque;
    struct conn *c = data;
    char b;
    (void)events;

    if (!*prh_pool_scratch(t))
        *prh_pool_scratch(t) = malloc(16);
    if (read(c->fds[0], &b, 1) != 1)
        return;
    prh_pool_busy(t, true);
    pthread_mutex_lock(&f->lock);
    f->blocked++;
    pthread_cond_broadcast(&f->cond);
    while (!f->open)
        pthread_cond_wait(&f->cond, &f->lock);
    f->blocked--;
    pthread_mutex_unlock(&f->lock);
    prh_pool_busy(t, false);
    atomic_fetch_add(&c->handled, 1);
    arm(f, c);
}

static void on_limit(void *opaque, unsigned max)
{
    struct fx *f = opaque;
    (void)max;
    atomic_fetch_add(&f->limit_calls, 1);
}

static void thread_exit(void *opaque, void *scratch)
{
    struct fx *f = opaque;
    if (scratch)
        atomic_fetch_add(&f->exits_with_scratch, 1);
    free(scratch);
}

static void threads_changed(void *opaque, int delta)
{
    struct fx *f = opaque;
    atomic_fetch_add(&f->thread_delta, delta);
}

static void gate(struct fx *f, bool open)
{
    pthread_mutex_lock(&f->lock);
    f->open = open;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* Wait (bounded) until n handlers are blocked at the gate. */
static bool wait_blocked(struct fx *f, int n, int ms)
{
    long end = tu_now_ms() + ms;
    pthread_mutex_lock(&f->lock);
    while (f->blocked < n && tu_now_ms() < end) {
        pthread_mutex_unlock(&f->lock);
        tu_sleep_ms(2);
        pthread_mutex_lock(&f->lock);
    }
    bool ok = f->blocked >= n;
    pthread_mutex_unlock(&f->lock);
    return ok;
}

static unsigned threads_now(struct fx *f)
{
    struct prh_pool_stats st;
    prh_pool_get_stats(f->pool, &st);
    return st.threads;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->epfd = epoll_create1(EPOLL_CLOEXEC);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    for (int i = 0; i < NSOCK; i++) {
        struct conn *c = &f->conns[i];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                                    c->fds), 0);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = c };
        assert_int_equal(epoll_ctl(f->epfd, EPOLL_CTL_ADD, c->fds[0], &ev), 0);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    gate(f, true);
    prh_pool_free(f->pool);
    for (int i = 0; i < NSOCK; i++) {
        close(f->conns[i].fds[0]);
        close(f->conns[i].fds[1]);
    }
    close(f->epfd);
    free(f);
    return 0;
}

static void start(struct fx *f, unsigned min, unsigned max, unsigned idle_ms)
{
    struct prh_pool_config cfg = {
        .epfd = f->epfd, .min = min, .max = max, .idle_ms = idle_ms, .handle = handle,
        .thread_exit = thread_exit, .on_limit = on_limit, .threads_changed = threads_changed,
        .opaque = f,
    };
    f->pool = prh_pool_new(&cfg);
    assert_non_null(f->pool);
    assert_int_equal(threads_now(f), min);
}

static void poke(struct fx *f, int i)
{
    assert_int_equal(write(f->conns[i].fds[1], "x", 1), 1);
}

static void test_pool_rejects_bad_sizes(void **state)
{
    struct fx *f = *state;
    struct prh_pool_config cfg = { .epfd = f->epfd, .min = 0, .max = 4, .handle = handle };
    assert_null(prh_pool_new(&cfg));
    cfg.min = 5;
    assert_null(prh_pool_new(&cfg));
    cfg.min = 1;
    cfg.max = PRH_POOL_MAX_THREADS + 1;
    assert_null(prh_pool_new(&cfg));
    cfg.max = 4;
    cfg.handle = NULL;
    assert_null(prh_pool_new(&cfg));
    assert_int_equal(errno, EINVAL);
    prh_pool_free(NULL);
}

/* Every thread stalled in a device call: one more starts each time, so
 * a ready socket always finds a thread; the stalled ones pin only their own. */
static void test_pool_grows_under_stalled_device_calls(void **state)
{
    struct fx *f = *state;
    start(f, 1, 16, 60000);
    for (int i = 0; i < 8; i++)
        poke(f, i);
    assert_true(wait_blocked(f, 8, 5000));
    struct prh_pool_stats st;
    prh_pool_get_stats(f->pool, &st);
    assert_int_equal(st.busy, 8);
    assert_int_equal(st.threads, 9); /* 8 inside a device call, one waiting */
    assert_int_equal(atomic_load(&f->limit_calls), 0);
    gate(f, true);
    long end = tu_now_ms() + 5000;
    for (int i = 0; i < 8; i++)
        while (atomic_load(&f->conns[i].handled) < 1 && tu_now_ms() < end)
            tu_sleep_ms(2);
    for (int i = 0; i < 8; i++)
        assert_int_equal(atomic_load(&f->conns[i].handled), 1);
}

/* Threads above min that stay idle exit; min stay. */
static void test_pool_shrinks_when_idle(void **state)
{
    struct fx *f = *state;
    start(f, 2, 16, 100);
    for (int i = 0; i < 6; i++)
        poke(f, i);
    assert_true(wait_blocked(f, 6, 5000));
    assert_int_equal(threads_now(f), 7);
    /* Stalled threads never time out, and the one waiting stays. */
    tu_sleep_ms(400);
    assert_int_equal(threads_now(f), 7);
    gate(f, true);
    long end = tu_now_ms() + 5000;
    while (threads_now(f) > 2 && tu_now_ms() < end)
        tu_sleep_ms(10);
    struct prh_pool_stats st;
    prh_pool_get_stats(f->pool, &st);
    assert_int_equal(st.threads, 2);
    assert_int_equal(st.peak, 7);
    assert_int_equal(st.exited, 5);
    assert_int_equal(atomic_load(&f->thread_delta), 2);
    /* Each exiting thread handed back its scratch. */
    assert_true(atomic_load(&f->exits_with_scratch) >= 4); /* the 6 that handled one */
    /* Still serving. */
    poke(f, 7);
    end = tu_now_ms() + 5000;
    while (atomic_load(&f->conns[7].handled) < 1 && tu_now_ms() < end)
        tu_sleep_ms(2);
    assert_int_equal(atomic_load(&f->conns[7].handled), 1);
}

/* At max, the next stalled call finds no spare thread: reported, and the
 * socket waits for a thread instead of being lost. */
static void test_pool_limit_is_reported_and_requests_wait(void **state)
{
    struct fx *f = *state;
    start(f, 1, 3, 60000);
    for (int i = 0; i < 4; i++)
        poke(f, i);
    assert_true(wait_blocked(f, 3, 5000));
    tu_sleep_ms(100);
    pthread_mutex_lock(&f->lock);
    int blocked = f->blocked;
    pthread_mutex_unlock(&f->lock);
    assert_int_equal(blocked, 3);
    struct prh_pool_stats st;
    prh_pool_get_stats(f->pool, &st);
    assert_int_equal(st.threads, 3);
    assert_true(st.limit_hits >= 1);
    assert_true(atomic_load(&f->limit_calls) >= 1);
    gate(f, true);
    long end = tu_now_ms() + 5000;
    for (int i = 0; i < 4; i++)
        while (atomic_load(&f->conns[i].handled) < 1 && tu_now_ms() < end)
            tu_sleep_ms(2);
    for (int i = 0; i < 4; i++)
        assert_int_equal(atomic_load(&f->conns[i].handled), 1);
}

/* One socket's events are handled one at a time and in order. */
static void test_pool_one_socket_is_handled_by_one_thread_at_a_time(void **state)
{
    struct fx *f = *state;
    gate(f, true);
    start(f, 4, 8, 60000);
    for (int i = 0; i < 50; i++)
        poke(f, 0);
    long end = tu_now_ms() + 5000;
    while (atomic_load(&f->conns[0].handled) < 50 && tu_now_ms() < end)
        tu_sleep_ms(2);
    assert_int_equal(atomic_load(&f->conns[0].handled), 50);
}

/* Free stops every thread, also those above min, and hands back scratch. */
static void test_pool_free_stops_every_thread(void **state)
{
    struct fx *f = *state;
    start(f, 3, 8, 60000);
    for (int i = 0; i < 3; i++)
        poke(f, i);
    assert_true(wait_blocked(f, 3, 5000));
    gate(f, true);
    prh_pool_free(f->pool);
    f->pool = NULL;
    assert_int_equal(atomic_load(&f->thread_delta), 0);
    assert_int_equal(atomic_load(&f->exits_with_scratch), 3);
}

/* ---- prh_pool_limit_process_memory(): the first test, before any thread ---- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_MALLOC 1 /* its malloc replaces glibc's: no arenas to count */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER_MALLOC 1
#endif
#endif

#ifndef SANITIZER_MALLOC
#define ARENA_THREADS 8

static pthread_barrier_t arena_barrier;
/* Where the blocks go: a compiler may drop a malloc()/free() pair whose
 * block nobody sees (clang -O2 does), and then no arena is taken. */
static void *volatile arena_blocks[ARENA_THREADS];

/* Each thread's first malloc() takes an arena: a new one while the limit allows. */
static void *arena_thread(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    arena_blocks[i] = malloc(64);
    pthread_barrier_wait(&arena_barrier); /* all threads hold a block at once */
    free(arena_blocks[i]);
    return NULL;
}

/* The number of malloc arenas (malloc_info()'s <heap> elements). */
static int count_arenas(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(malloc_info(0, f), 0);
    fclose(f);
    int n = 0;
    for (const char *p = text; (p = strstr(p, "<heap nr=")) != NULL; p++)
        n++;
    free(text);
    return n;
}
#endif

/* Transparent huge pages off for the process (THP_enabled: 0 in its
 * status, as PR_GET_THP_DISABLE says), and at most two malloc arenas
 * however many threads allocate at once. */
static void test_pool_limit_process_memory(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 0);
    assert_int_equal(prh_pool_limit_process_memory(), 0);
    assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 1);
    char status[8192];
    tu_read_text("/proc/self/status", status, sizeof(status));
    const char *thp = strstr(status, "THP_enabled:");
    if (thp) /* Linux 5.0+ */
        assert_int_equal(atoi(thp + strlen("THP_enabled:")), 0);
#ifndef SANITIZER_MALLOC
    pthread_t th[ARENA_THREADS];
    pthread_barrier_init(&arena_barrier, NULL, ARENA_THREADS);
    for (int i = 0; i < ARENA_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, arena_thread, (void *)(uintptr_t)i), 0);
    for (int i = 0; i < ARENA_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&arena_barrier);
    int arenas = count_arenas();
    print_message("malloc arenas after %d threads allocated at once: %d\n", ARENA_THREADS,
                  arenas);
    assert_true(arenas >= 1);
    assert_true(arenas <= 2);
#endif
}

/* ---- lingering ---------------------------------------------------------- */

/* No gate: each event is handled (delay_ms), then either re-armed or, for
 * a conn that lingers, left to the pool (prh_pool_linger()). */
static void lhandle(void *opaque, struct prh_pool_thread *t, void *data, uint32_t events)
{
    struct fx *f = opaque;
    struct conn *c = data;
    char b;
    (void)events;

    if (read(c->fds[0], &b, 1) != 1) {
        arm(f, c);
        return;
    }
    if (c->delay_ms)
        tu_sleep_ms(c->delay_ms);
    atomic_fetch_add(&c->handled, 1);
    if (c->lingers)
        prh_pool_linger(t, c);
    else
        arm(f, c);
}

/* The pool's linger: wait up to 300 ms for a byte (the server's
 * SO_RCVTIMEO), then handle it as lhandle() would, or re-arm. */
static bool linger(void *opaque, struct prh_pool_thread *t, void *data)
{
    struct fx *f = opaque;
    struct conn *c = data;
    struct pollfd pfd = { .fd = c->fds[0], .events = POLLIN };

    atomic_fetch_add(&c->lingered_on, 1);
    int n = poll(&pfd, 1, 300);
    prh_pool_linger_over(t);
    if (n != 1) {
        arm(f, c);
        return false;
    }
    lhandle(opaque, t, data, EPOLLIN);
    return true;
}

static void linger_end(void *opaque, struct prh_pool_thread *t, void *data)
{
    struct fx *f = opaque;
    struct conn *c = data;
    (void)t;
    atomic_fetch_add(&c->given_back, 1);
    arm(f, c);
}

static void start_lingering(struct fx *f, unsigned min, unsigned max)
{
    struct prh_pool_config cfg = {
        .epfd = f->epfd, .min = min, .max = max, .idle_ms = 60000, .handle = lhandle,
        .linger = linger, .linger_end = linger_end, .opaque = f,
    };
    f->pool = prh_pool_new(&cfg);
    assert_non_null(f->pool);
}

static bool wait_handled(struct conn *c, int n)
{
    long end = tu_now_ms() + 5000;
    while (atomic_load(&c->handled) < n && tu_now_ms() < end)
        tu_sleep_ms(1);
    return atomic_load(&c->handled) >= n;
}

static struct prh_pool_stats pool_stats(struct fx *f)
{
    struct prh_pool_stats st;
    prh_pool_get_stats(f->pool, &st);
    return st;
}

/* One linger callback without the other is refused. */
static void test_pool_linger_callbacks_come_in_pairs(void **state)
{
    struct fx *f = *state;
    struct prh_pool_config cfg = { .epfd = f->epfd, .min = 1, .max = 2, .handle = lhandle,
                                   .linger = linger };
    assert_null(prh_pool_new(&cfg));
    assert_int_equal(errno, EINVAL);
    cfg.linger = NULL;
    cfg.linger_end = linger_end;
    assert_null(prh_pool_new(&cfg));
}

/* After an event the thread waits on the same object: its next event is
 * taken by that wait, not by epoll; when nothing comes it is re-armed
 * and still served. */
static void test_pool_lingers_on_the_object_it_served(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->conns[0];
    c->lingers = true;
    start_lingering(f, 2, 4);
    poke(f, 0);
    assert_true(wait_handled(c, 1));
    long end = tu_now_ms() + 2000;
    while (pool_stats(f).lingering != 1 && tu_now_ms() < end)
        tu_sleep_ms(1);
    assert_int_equal(pool_stats(f).lingering, 1);
    poke(f, 0);
    assert_true(wait_handled(c, 2));
    struct prh_pool_stats st = pool_stats(f);
    assert_true(st.lingered >= 1);
    assert_true(st.linger_news >= 1);
    /* Nothing more: the wait ends, the object is re-armed. */
    end = tu_now_ms() + 3000;
    while ((pool_stats(f).lingering || atomic_load(&c->lingered_on) < 2) && tu_now_ms() < end)
        tu_sleep_ms(5);
    assert_int_equal(pool_stats(f).lingering, 0);
    tu_sleep_ms(50);
    poke(f, 0);
    assert_true(wait_handled(c, 3));
    assert_int_equal(atomic_load(&c->given_back), 0);
}

/* A thread never lingers when no other thread would be left waiting for
 * sockets: with one thread the object goes back at once. */
static void test_pool_does_not_linger_as_the_last_free_thread(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->conns[0];
    c->lingers = true;
    start_lingering(f, 1, 1);
    for (int i = 1; i <= 3; i++) {
        poke(f, 0);
        assert_true(wait_handled(c, i));
    }
    long end = tu_now_ms() + 2000;
    while (atomic_load(&c->given_back) < 3 && tu_now_ms() < end)
        tu_sleep_ms(1);
    assert_int_equal(atomic_load(&c->given_back), 3);
    assert_int_equal(atomic_load(&c->lingered_on), 0);
    assert_int_equal(pool_stats(f).lingered, 0);
}

/* Sockets already ready go first: the object it would linger on is given
 * back and the thread serves a ready one. */
static void test_pool_serves_ready_sockets_before_lingering(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->conns[0];
    c->lingers = true;
    c->delay_ms = 50;
    for (int i = 1; i <= 4; i++)
        f->conns[i].delay_ms = 50;
    start_lingering(f, 2, 2);
    poke(f, 0);
    tu_sleep_ms(10); /* one thread is in conn 0's event now */
    for (int i = 1; i <= 4; i++)
        poke(f, i);
    for (int i = 1; i <= 4; i++)
        assert_true(wait_handled(&f->conns[i], 1));
    /* With 3 still ready when conn 0's event ended, it went back. */
    assert_true(atomic_load(&c->given_back) >= 1);
    assert_int_equal(atomic_load(&c->handled), 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: it must run before this process starts any thread. */
        cmocka_unit_test(test_pool_limit_process_memory),
        T(test_pool_rejects_bad_sizes),
        T(test_pool_grows_under_stalled_device_calls),
        T(test_pool_shrinks_when_idle),
        T(test_pool_limit_is_reported_and_requests_wait),
        T(test_pool_one_socket_is_handled_by_one_thread_at_a_time),
        T(test_pool_free_stops_every_thread),
        T(test_pool_linger_callbacks_come_in_pairs),
        T(test_pool_lingers_on_the_object_it_served),
        T(test_pool_does_not_linger_as_the_last_free_thread),
        T(test_pool_serves_ready_sockets_before_lingering),
    };
    return cmocka_run_group_tests_name("workers", tests, NULL, NULL);
}
