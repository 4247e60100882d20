/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workers.c - the elastic pool: threads that wait in epoll_wait() on the
 * shared epoll set and handle one event each (workers.h).
 *
 * The hot path touches two atomics (busy in, busy out) and nothing else
 * of the pool: no lock, no condition variable, no eventfd.  The mutex is
 * taken only to start or end a thread.
 */
#include "prhelper/workers.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum slot_state {
    SLOT_FREE,    /* never used, or joined */
    SLOT_RUNNING, /* a thread runs here */
    SLOT_EXITED,  /* its thread has returned (or is returning): join it */
};

struct prh_pool_thread {
    struct prh_pool *pool;
    pthread_t tid;
    enum slot_state state; /* under pool->lock */
    void *scratch;
    void *linger;          /* set by prh_pool_linger() during handle() */
    bool lingering;        /* counted in pool->lingering */
};

struct prh_pool {
    struct prh_pool_config cfg;
    pthread_mutex_t lock;
    int stop_fd;           /* readable (level-triggered) once stopping: wakes every thread */
    char stop_tag;
    atomic_bool stopping;
    atomic_uint nthreads;  /* counted threads; changed under lock */
    atomic_uint busy;      /* threads inside a device call */
    atomic_uint lingering; /* threads waiting in cfg.linger() */
    atomic_ulong lingered, linger_news;
    atomic_ulong limit_hits;
    unsigned peak;         /* under lock */
    unsigned long started, exited;
    struct prh_pool_thread *slots; /* cfg.max */
};

static void *pool_thread(void *arg);

/* Start one thread (lock held).  0 or an errno. */
static int spawn_locked(struct prh_pool *p)
{
    struct prh_pool_thread *t = NULL;
    sigset_t all, old;

    for (unsigned i = 0; i < p->cfg.max; i++) {
        if (p->slots[i].state == SLOT_EXITED) {
            pthread_join(p->slots[i].tid, NULL);
            p->slots[i].state = SLOT_FREE;
        }
        if (p->slots[i].state == SLOT_FREE) {
            t = &p->slots[i];
            break;
        }
    }
    if (!t)
        return EAGAIN;
    t->pool = p;
    t->scratch = NULL;
    t->linger = NULL;
    t->lingering = false;
    /* Pool threads never take signals: the main loop owns them. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = pthread_create(&t->tid, NULL, pool_thread, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        return r;
    t->state = SLOT_RUNNING;
    unsigned n = atomic_fetch_add(&p->nthreads, 1) + 1;
    if (n > p->peak)
        p->peak = n;
    p->started++;
    if (p->cfg.threads_changed)
        p->cfg.threads_changed(p->cfg.opaque, 1);
    return 0;
}

/* Leave the pool: the count drops now, the slot is joined later. */
static void *thread_leaves(struct prh_pool_thread *t, bool counted)
{
    struct prh_pool *p = t->pool;

    if (!counted) {
        pthread_mutex_lock(&p->lock);
        atomic_fetch_sub(&p->nthreads, 1);
        pthread_mutex_unlock(&p->lock);
    }
    if (p->cfg.threads_changed)
        p->cfg.threads_changed(p->cfg.opaque, -1);
    if (p->cfg.thread_exit)
        p->cfg.thread_exit(p->cfg.opaque, t->scratch);
    t->scratch = NULL;
    pthread_mutex_lock(&p->lock);
    t->state = SLOT_EXITED;
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Claim a lingering place: only while another thread is left free to
 * wait in epoll_wait() (neither in a device call nor lingering). */
static bool linger_begin(struct prh_pool *p, struct prh_pool_thread *t)
{
    if (atomic_load(&p->stopping))
        return false;
    unsigned l = atomic_fetch_add(&p->lingering, 1) + 1;
    if (atomic_load(&p->busy) + l + 1 > atomic_load(&p->nthreads)) {
        atomic_fetch_sub(&p->lingering, 1);
        return false;
    }
    t->lingering = true;
    return true;
}

void prh_pool_linger_over(struct prh_pool_thread *t)
{
    if (t->lingering) {
        t->lingering = false;
        atomic_fetch_sub(&t->pool->lingering, 1);
    }
}

/* Handle one event, then whatever the handler asked to linger on.  false
 * when the pool is stopping (the thread leaves). */
static bool serve(struct prh_pool *p, struct prh_pool_thread *t, void *obj, uint32_t events)
{
    prh_pool_takeover(obj);
    p->cfg.handle(p->cfg.opaque, t, obj, events);
    while (t->linger) {
        void *c = t->linger;
        struct epoll_event ev;

        t->linger = NULL;
        /* A socket already ready goes first: lingering must not favour
         * the clients that were just served. */
        if (epoll_wait(p->cfg.epfd, &ev, 1, 0) == 1) {
            p->cfg.linger_end(p->cfg.opaque, t, c);
            if (ev.data.ptr == &p->stop_tag)
                return false;
            prh_pool_takeover(ev.data.ptr);
            p->cfg.handle(p->cfg.opaque, t, ev.data.ptr, ev.events);
            continue;
        }
        if (!linger_begin(p, t)) {
            p->cfg.linger_end(p->cfg.opaque, t, c);
            break;
        }
        atomic_fetch_add(&p->lingered, 1);
        if (p->cfg.linger(p->cfg.opaque, t, c))
            atomic_fetch_add(&p->linger_news, 1);
        prh_pool_linger_over(t);
    }
    return true;
}

static void *pool_thread(void *arg)
{
    struct prh_pool_thread *t = arg;
    struct prh_pool *p = t->pool;

    for (;;) {
        struct epoll_event ev;
        int n = epoll_wait(p->cfg.epfd, &ev, 1, (int)p->cfg.idle_ms);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return thread_leaves(t, false); /* the epoll set is gone */
        }
        if (n == 0) {
            /* Idle: an extra thread goes, unless it is the last one
             * neither inside a device call nor lingering (the one a ready
             * socket needs). */
            pthread_mutex_lock(&p->lock);
            unsigned threads = atomic_load(&p->nthreads);
            bool leave = !atomic_load(&p->stopping) && threads > p->cfg.min &&
                         threads - 1 > atomic_load(&p->busy) + atomic_load(&p->lingering);
            if (leave) {
                atomic_fetch_sub(&p->nthreads, 1);
                p->exited++;
            }
            pthread_mutex_unlock(&p->lock);
            if (leave)
                return thread_leaves(t, true);
            continue;
        }
        if (ev.data.ptr == &p->stop_tag || !serve(p, t, ev.data.ptr, ev.events))
            return thread_leaves(t, false);
    }
}

void prh_pool_linger(struct prh_pool_thread *t, void *obj)
{
    if (!t->pool->cfg.linger_end)
        abort(); /* nobody could give obj back: the caller's bug */
    t->linger = obj;
}

void prh_pool_busy(struct prh_pool_thread *t, bool busy)
{
    struct prh_pool *p = t->pool;

    if (!busy) {
        atomic_fetch_sub(&p->busy, 1);
        return;
    }
    unsigned b = atomic_fetch_add(&p->busy, 1) + 1;
    if (b + atomic_load(&p->lingering) < atomic_load(&p->nthreads))
        return; /* someone still waits for sockets */
    pthread_mutex_lock(&p->lock);
    unsigned n = atomic_load(&p->nthreads);
    b = atomic_load(&p->busy);
    if (!atomic_load(&p->stopping) && b + atomic_load(&p->lingering) >= n) {
        /* Only device calls make the limit: a lingering thread is back
         * within its period. */
        if ((n >= p->cfg.max || spawn_locked(p) != 0) && b >= n) {
            atomic_fetch_add(&p->limit_hits, 1);
            if (p->cfg.on_limit)
                p->cfg.on_limit(p->cfg.opaque, n);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

void **prh_pool_scratch(struct prh_pool_thread *t)
{
    return &t->scratch;
}

int prh_pool_limit_process_memory(void)
{
    int r = 0;

    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
        r = -errno;
    /* glibc's mallopt() takes it always; a malloc that replaces glibc's
     * (a sanitizer's) ignores it, which is no reason to complain. */
    (void)mallopt(M_ARENA_MAX, 2);
    return r;
}

struct prh_pool *prh_pool_new(const struct prh_pool_config *cfg)
{
    if (!cfg->handle || cfg->min == 0 || cfg->max < cfg->min || cfg->max > PRH_POOL_MAX_THREADS ||
        !cfg->linger != !cfg->linger_end) {
        errno = EINVAL;
        return NULL;
    }
    struct prh_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = *cfg;
    if (!p->cfg.idle_ms)
        p->cfg.idle_ms = PRH_POOL_DEFAULT_IDLE_MS;
    if (p->cfg.idle_ms > (unsigned)INT32_MAX)
        p->cfg.idle_ms = (unsigned)INT32_MAX;
    pthread_mutex_init(&p->lock, NULL);
    p->slots = calloc(cfg->max, sizeof(*p->slots));
    p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &p->stop_tag };
    if (!p->slots || p->stop_fd < 0 || epoll_ctl(cfg->epfd, EPOLL_CTL_ADD, p->stop_fd, &ev) < 0)
        goto fail;
    pthread_mutex_lock(&p->lock);
    int r = 0;
    for (unsigned i = 0; i < cfg->min && r == 0; i++)
        r = spawn_locked(p);
    pthread_mutex_unlock(&p->lock);
    if (r != 0) {
        prh_pool_free(p);
        errno = r;
        return NULL;
    }
    return p;
fail:;
    int e = errno ? errno : ENOMEM;
    if (p->stop_fd >= 0)
        close(p->stop_fd);
    free(p->slots);
    pthread_mutex_destroy(&p->lock);
    free(p);
    errno = e;
    return NULL;
}

void prh_pool_get_stats(struct prh_pool *p, struct prh_pool_stats *out)
{
    pthread_mutex_lock(&p->lock);
    out->threads = atomic_load(&p->nthreads);
    out->busy = atomic_load(&p->busy);
    out->peak = p->peak;
    out->started = p->started;
    out->exited = p->exited;
    out->limit_hits = atomic_load(&p->limit_hits);
    out->lingering = atomic_load(&p->lingering);
    out->lingered = atomic_load(&p->lingered);
    out->linger_news = atomic_load(&p->linger_news);
    pthread_mutex_unlock(&p->lock);
}

void prh_pool_free(struct prh_pool *p)
{
    if (!p)
        return;
    uint64_t one = 1;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stopping, true); /* from here no thread is started */
    pthread_mutex_unlock(&p->lock);
    ssize_t w = write(p->stop_fd, &one, sizeof(one));
    (void)w; /* a fresh eventfd takes one write */
    for (unsigned i = 0; i < p->cfg.max; i++) {
        pthread_mutex_lock(&p->lock);
        enum slot_state st = p->slots[i].state;
        pthread_mutex_unlock(&p->lock);
        if (st != SLOT_FREE)
            pthread_join(p->slots[i].tid, NULL);
    }
    epoll_ctl(p->cfg.epfd, EPOLL_CTL_DEL, p->stop_fd, NULL);
    close(p->stop_fd);
    free(p->slots);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
