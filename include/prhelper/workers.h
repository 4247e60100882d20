/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workers.h - a small fixed pool of threads for calls that may block
 * (transport open, PR IN/OUT).  Finished jobs are handed back through a
 * queue and an eventfd the event loop watches.
 */
#ifndef PRHELPER_WORKERS_H
#define PRHELPER_WORKERS_H

#include <stddef.h>

struct prh_job {
    void (*run)(struct prh_job *job);
    struct prh_job *next;
};

struct prh_workers;

/* n threads (1..64); NULL with errno set on failure. */
struct prh_workers *prh_workers_new(unsigned n);
/* The eventfd that becomes readable when jobs have finished. */
int prh_workers_done_fd(const struct prh_workers *w);
void prh_workers_submit(struct prh_workers *w, struct prh_job *job);
/* Pop every finished job (oldest first); clears the eventfd. */
struct prh_job *prh_workers_take_done(struct prh_workers *w);
/* Jobs submitted but not yet taken back. */
size_t prh_workers_pending(struct prh_workers *w);
/* Finish queued jobs, join the threads, free.  NULL is fine. */
void prh_workers_free(struct prh_workers *w);

#endif
