/* SPDX-License-Identifier: GPL-2.0-or-later */
/* devcache.c - facts about block devices by (st_rdev, disk sequence number) (devcache.h). */
#include "prhelper/devcache.h"

#include <errno.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>

bool prh_devcache_get(struct prh_devcache *c, dev_t rdev, uint64_t seq, void *value)
{
    bool hit = false;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->used && !hit; i++) {
        if (c->keys[i].rdev == rdev && c->keys[i].seq == seq) {
            memcpy(value, c->values + i * c->value_size, c->value_size);
            hit = true;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void prh_devcache_put(struct prh_devcache *c, dev_t rdev, uint64_t seq, const void *value)
{
    pthread_mutex_lock(&c->lock);
    size_t slot = c->next;
    for (size_t i = 0; i < c->used; i++)
        if (c->keys[i].rdev == rdev) /* the number names another disk now */
            slot = i;
    if (slot == c->next) {
        c->next = (c->next + 1) % c->slots;
        if (c->used < c->slots)
            c->used++;
    }
    c->keys[slot].rdev = rdev;
    c->keys[slot].seq = seq;
    memcpy(c->values + slot * c->value_size, value, c->value_size);
    pthread_mutex_unlock(&c->lock);
}

void prh_devcache_flush(struct prh_devcache *c)
{
    pthread_mutex_lock(&c->lock);
    c->used = c->next = 0;
    pthread_mutex_unlock(&c->lock);
}

int prh_disk_seq(int fd, uint64_t *seq)
{
    return ioctl(fd, BLKGETDISKSEQ, seq) < 0 ? -errno : 0;
}
