/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devcache.h - what was learnt about a block device (from sysfs: its
 * class, its WWID), remembered by (st_rdev, disk sequence number).
 *
 * Why the pair: a device number is reused when a disk or a map goes and
 * another comes (a LUN re-created, a multipath map replaced on the same
 * minor); the disk sequence number (BLKGETDISKSEQ, Linux 5.15+) is new
 * for every disk the kernel creates, so an entry is right for as long as
 * it can be found, without watching uevents.  A device without a sequence
 * number (older kernels, sg nodes) is not cached: its facts are read
 * every time.
 *
 * A cache is a fixed ring of slots, each a key and a value of the user's
 * type (copied in and out); a new entry for a device number replaces the
 * old one (that number names another disk now), otherwise the oldest
 * entry goes.  Thread-safe (one mutex per cache).
 *
 *   PRH_DEVCACHE_DEFINE(wwids, 64, struct my_value);
 *   if (!prh_devcache_get(&wwids, rdev, seq, &v)) { read v; prh_devcache_put(&wwids, rdev, seq, &v); }
 */
#ifndef PRHELPER_DEVCACHE_H
#define PRHELPER_DEVCACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct prh_devcache_key {
    dev_t rdev;
    uint64_t seq;
};

struct prh_devcache {
    pthread_mutex_t lock;
    size_t slots, value_size;
    size_t used, next;             /* under lock */
    struct prh_devcache_key *keys; /* slots */
    unsigned char *values;         /* slots x value_size */
};

/* A static cache NAME of SLOTS values of TYPE. */
#define PRH_DEVCACHE_DEFINE(name, nslots, type)                                                   \
    static struct prh_devcache_key name##_keys[nslots];                                           \
    static type name##_values[nslots];                                                            \
    static struct prh_devcache name = { PTHREAD_MUTEX_INITIALIZER, (nslots), sizeof(type), 0, 0,  \
                                        name##_keys, (unsigned char *)name##_values }

/* The value remembered for (rdev, seq), copied to value: false if none. */
bool prh_devcache_get(struct prh_devcache *c, dev_t rdev, uint64_t seq, void *value);
/* Remember value for (rdev, seq). */
void prh_devcache_put(struct prh_devcache *c, dev_t rdev, uint64_t seq, const void *value);
/* Forget everything (tests; a sysfs root that changed). */
void prh_devcache_flush(struct prh_devcache *c);

/* ioctl(fd, BLKGETDISKSEQ): 0 and *seq, or -errno (ENOTTY: not a block
 * device, or a kernel older than 5.15). */
int prh_disk_seq(int fd, uint64_t *seq);

#endif
