/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dev_stubs.h - device-layer operations (struct prh_dev_ops) for the parts
 * a test's fake kernel does not have: no device-mapper suspend, no paths
 * to open.
 */
#ifndef PRHELPER_TESTS_DEV_STUBS_H
#define PRHELPER_TESTS_DEV_STUBS_H

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>

#include "prhelper/device.h"

static inline int stub_dm_suspend(dev_t dev, bool suspend)
{
    (void)dev;
    (void)suspend;
    return -ENOSYS;
}

static inline int stub_open_path(const struct prh_dev_path *p)
{
    (void)p;
    return -ENOENT;
}

static inline void stub_close_path(int fd)
{
    (void)fd;
}

/* A test's device operations in place, with an empty device cache. */
static inline void dev_stubs_install(const struct prh_dev_ops *ops)
{
    prh_dev_set_ops(ops);
    prh_dev_cache_flush();
}

/* A cmocka teardown: the real operations and /sys, /dev, /proc roots again,
 * and an empty cache. */
static inline int dev_stubs_teardown(void **state)
{
    (void)state;
    prh_dev_set_ops(NULL);
    prh_dev_set_roots(NULL, NULL, NULL);
    prh_dev_cache_flush();
    return 0;
}

#endif
