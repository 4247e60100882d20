/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workers.h - the elastic pool of threads that serve client sockets.
 *
 * Every thread waits in epoll_wait() on one shared epoll set and takes one
 * event at a time (sockets are registered EPOLLONESHOT by their owner, so
 * an event belongs to the thread that got it until the socket is re-armed).
 * The thread that wakes does the whole job: read, run the device call,
 * reply, re-arm.  Nothing is handed from thread to thread.
 *
 * Lingering: a handler that has answered a request may ask the pool to
 * wait on that object a little before re-arming it (prh_pool_linger()):
 * a client that sends its next request at once then finds this thread
 * asleep in a read of its own socket, where the kernel wakes a reader much
 * faster than it wakes a thread asleep in epoll_wait() or poll() (about
 * twice as fast: docs/performance.md).  The pool lingers only while no
 * other socket is ready and at least one other thread is left waiting in
 * epoll_wait(), so lingering never makes a ready socket wait for it.
 *
 * Size: min threads always; one more is started when a thread enters a
 * device call (prh_pool_busy()) and every thread is then inside one or
 * lingering, so a socket that becomes ready always finds a thread waiting,
 * up to max.  A
 * thread above min that waits idle_ms without an event exits.  Wanting a
 * thread beyond max calls on_limit (the server logs it once and counts it).
 */
#ifndef PRHELPER_WORKERS_H
#define PRHELPER_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

#define PRH_POOL_MAX_THREADS 1024u
#define PRH_POOL_DEFAULT_MAX 64u       /* as QEMU's thread pool */
#define PRH_POOL_DEFAULT_IDLE_MS 10000u /* as QEMU's thread pool */

struct prh_pool;
struct prh_pool_thread;

struct prh_pool_config {
    int epfd;          /* the shared epoll set (the pool adds its stop eventfd) */
    unsigned min;      /* threads kept (1..max) */
    unsigned max;      /* at most (min..PRH_POOL_MAX_THREADS) */
    unsigned idle_ms;  /* an extra thread idle this long exits; 0: default */
    /* One event (data.ptr and events of an epoll_event), on a pool thread. */
    void (*handle)(void *opaque, struct prh_pool_thread *t, void *data, uint32_t events);
    /* Optional: a thread ends; its scratch (prh_pool_scratch()) is the caller's to free. */
    void (*thread_exit)(void *opaque, void *scratch);
    /* Optional: a thread was wanted but max are running, all in device calls. */
    void (*on_limit)(void *opaque, unsigned max);
    /* Optional: the number of threads changed by delta (metrics). */
    void (*threads_changed)(void *opaque, int delta);
    /*
     * Optional, both or neither (see prh_pool_linger()).  linger: wait for
     * obj's news no longer than its linger period, calling
     * prh_pool_linger_over() when the wait ends, and then do what handle()
     * would (it may call prh_pool_linger() again), or re-arm obj when the
     * period passed; true when news came.  linger_end: the pool will not
     * wait on obj: re-arm it as the handler would have.
     */
    bool (*linger)(void *opaque, struct prh_pool_thread *t, void *obj);
    void (*linger_end)(void *opaque, struct prh_pool_thread *t, void *obj);
    void *opaque;
};

/*
 * Keep the memory of a process whose threads come and go small; call it
 * once, before the process starts any thread (main(), before the sandbox:
 * prctl is not in the syscall filter).  Transparent huge pages off for
 * the process (PR_SET_THP_DISABLE, inherited by its children): with THP
 * "always" the first touch of a thread stack or an allocator arena can
 * make 2 MiB resident where 4 KiB were needed.  At most two malloc arenas
 * (M_ARENA_MAX): glibc gives each new thread an arena of its own, up to
 * 8 per CPU, and what a burst of threads leaves in them stays resident;
 * the hot path allocates nothing (the request buffer is the thread's, the
 * connection's records are made once), so two arenas do not contend.
 * 0, or -errno when prctl() failed (the arenas are limited either way).
 */
int prh_pool_limit_process_memory(void);

/* Start min threads; NULL with errno set on failure. */
struct prh_pool *prh_pool_new(const struct prh_pool_config *cfg);
/*
 * The calling pool thread enters (true) or leaves (false) a call that may
 * block (a device).  Entering may start a thread (see above).
 */
void prh_pool_busy(struct prh_pool_thread *t, bool busy);
/*
 * From handle(), instead of re-arming obj: when handle() returns, the pool
 * either waits on obj (linger) or gives it back (linger_end) at once:
 * the latter when another socket is ready (served first), when no other
 * thread would be left waiting for sockets, when the pool is stopping or
 * (The pool must have the linger callbacks.)  Either way obj stays the
 * calling thread's.
 */
void prh_pool_linger(struct prh_pool_thread *t, void *obj);
/* From the linger callback: its wait is over (the thread no longer counts
 * as lingering); the pool calls it too once the callback returns. */
void prh_pool_linger_over(struct prh_pool_thread *t);
/* One pointer of the calling thread's own (NULL at first), e.g. a buffer. */
void **prh_pool_scratch(struct prh_pool_thread *t);

struct prh_pool_stats {
    unsigned threads;       /* running now */
    unsigned busy;          /* inside a device call now */
    unsigned peak;          /* most threads at once */
    unsigned long started;  /* threads started since prh_pool_new() */
    unsigned long exited;   /* threads that ended idle */
    unsigned long limit_hits; /* a thread was wanted beyond max */
    unsigned lingering;     /* waiting on the object they last served, now */
    unsigned long lingered; /* linger waits since prh_pool_new() */
    unsigned long linger_news; /* of them, ended by news (not the period) */
};
void prh_pool_get_stats(struct prh_pool *p, struct prh_pool_stats *out);

/*
 * The kernel orders what a thread wrote to an object before handing it to
 * epoll (epoll_ctl) before what the thread epoll_wait() gives it to reads;
 * ThreadSanitizer cannot see that.  Call prh_pool_handoff(obj) before
 * epoll_ctl(); the pool takes it over after epoll_wait().  No code in other
 * builds.
 */
#if defined(__SANITIZE_THREAD__)
#define PRH_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PRH_TSAN_BUILD 1
#endif
#endif
#ifdef PRH_TSAN_BUILD
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define prh_pool_handoff(obj) __tsan_release(obj)
#define prh_pool_takeover(obj) __tsan_acquire(obj)
#else
#define prh_pool_handoff(obj) ((void)(obj))
#define prh_pool_takeover(obj) ((void)(obj))
#endif

/*
 * Stop: every thread finishes the event it is handling and exits; then
 * join them all and free.  NULL is fine.  Not from a pool thread.
 */
void prh_pool_free(struct prh_pool *p);

#endif
