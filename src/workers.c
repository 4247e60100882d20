/* SPDX-License-Identifier: GPL-2.0-or-later */
/* workers.c - fixed thread pool; finished jobs come back through an eventfd. */
#include "prhelper/workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PRH_WORKERS_MAX 64

struct prh_workers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct prh_job *queue_head, *queue_tail;
    struct prh_job *done_head, *done_tail;
    size_t pending;
    bool stopping;
    int done_fd;
    unsigned nthreads;
    pthread_t threads[PRH_WORKERS_MAX];
};

static void push(struct prh_job **head, struct prh_job **tail, struct prh_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void *worker_main(void *arg)
{
    struct prh_workers *w = arg;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->queue_head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->lock);
        struct prh_job *job = w->queue_head;
        if (!job)
            break; /* stopping and the queue is empty */
        w->queue_head = job->next;
        if (!w->queue_head)
            w->queue_tail = NULL;
        pthread_mutex_unlock(&w->lock);

        job->run(job);

        pthread_mutex_lock(&w->lock);
        push(&w->done_head, &w->done_tail, job);
        uint64_t one = 1;
        ssize_t n = write(w->done_fd, &one, sizeof(one));
        (void)n; /* the counter cannot overflow in practice; EAGAIN is harmless */
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct prh_workers *prh_workers_new(unsigned n)
{
    struct prh_workers *w;
    sigset_t all, old;

    if (n == 0 || n > PRH_WORKERS_MAX) {
        errno = EINVAL;
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->done_fd < 0) {
        int e = errno;
        free(w);
        errno = e;
        return NULL;
    }
    /* Workers never take signals: the event loop owns them. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < n; i++) {
        int r = pthread_create(&w->threads[i], NULL, worker_main, w);
        if (r != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            prh_workers_free(w);
            errno = r;
            return NULL;
        }
        w->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return w;
}

int prh_workers_done_fd(const struct prh_workers *w)
{
    return w->done_fd;
}

void prh_workers_submit(struct prh_workers *w, struct prh_job *job)
{
    pthread_mutex_lock(&w->lock);
    push(&w->queue_head, &w->queue_tail, job);
    w->pending++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

struct prh_job *prh_workers_take_done(struct prh_workers *w)
{
    uint64_t v;
    ssize_t n = read(w->done_fd, &v, sizeof(v));

    (void)n;
    pthread_mutex_lock(&w->lock);
    struct prh_job *jobs = w->done_head;
    for (struct prh_job *j = jobs; j; j = j->next)
        w->pending--;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    return jobs;
}

size_t prh_workers_pending(struct prh_workers *w)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->pending;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void prh_workers_free(struct prh_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    close(w->done_fd);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
