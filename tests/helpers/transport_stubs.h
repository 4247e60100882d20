/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_stubs.h - struct prh_transport operations for the parts a
 * test's transport does not look at: a PR IN or PR OUT that is GOOD with
 * no data, a close with nothing to free; an open that records what it
 * was handed.
 */
#ifndef PRHELPER_TESTS_TRANSPORT_STUBS_H
#define PRHELPER_TESTS_TRANSPORT_STUBS_H

#include <sys/stat.h>

#include "prhelper/scsi.h"
#include "prhelper/transport.h"

static inline void stub_pr_in_good(void *state, void *nexus, void *dev,
                                   const struct prh_request *req, uint8_t *data, size_t cap,
                                   struct prh_result *res)
{
    (void)state;
    (void)nexus;
    (void)dev;
    (void)req;
    (void)data;
    (void)cap;
    *res = prh_result_status(SCSI_STATUS_GOOD);
}

static inline void stub_pr_out_good(void *state, void *nexus, void *dev,
                                    const struct prh_request *req, struct prh_result *res)
{
    (void)state;
    (void)nexus;
    (void)dev;
    (void)req;
    *res = prh_result_status(SCSI_STATUS_GOOD);
}

/* What stub_open_recording() saw: how many opens, the last fstat(). */
struct stub_open_record {
    int opens;
    struct stat seen;
};

static inline struct stub_open_record *stub_opens(void)
{
    static struct stub_open_record r;
    return &r;
}

static inline int stub_open_recording(void *state, void *nexus, int fd, const struct stat *st,
                                      void **dev, struct prh_result *res)
{
    (void)state;
    (void)nexus;
    (void)fd;
    (void)res;
    stub_opens()->opens++;
    stub_opens()->seen = *st;
    *dev = NULL;
    return 0;
}

static inline void stub_close(void *state, void *nexus, void *dev)
{
    (void)state;
    (void)nexus;
    (void)dev;
}

/* What every test transport's initializer starts with: its size and API
 * version (the server checks both), its name, that it is available, and a
 * close with nothing to free (stub_close). */
#define STUB_TRANSPORT(name_)                                                                    \
    .struct_size = sizeof(struct prh_transport), .api_version = PRH_TRANSPORT_API_VERSION,       \
    .name = (name_), .available = true, .close = stub_close

#endif
