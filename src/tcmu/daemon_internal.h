/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_internal.h - prhelper-tcmu's tables, shared by the loop
 * (daemon.c) and the control commands (ctl.c).  Not a public header.
 */
#ifndef PRHELPER_TCMU_DAEMON_INTERNAL_H
#define PRHELPER_TCMU_DAEMON_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "prhelper/fault.h"
#include "prhelper/simlun.h"
#include "prhelper/tcmu_config.h"
#include "prhelper/tcmu_daemon.h"
#include "prhelper/tcmu_ring.h"

struct lun_ref {
    struct lun_ref *next;
    struct prh_simlun *lun;
    unsigned users; /* devices attached */
};

struct tcmu_dev {
    struct tcmu_dev *next;
    unsigned minor;
    struct tcmu_backstore bs;
    char path[TCMU_BACKSTORE_NAME_MAX + 32];      /* "user_0/b0" */
    char who[TCMU_BACKSTORE_NAME_MAX + 300];      /* path and nexus, for faults and logs */
    struct lun_ref *lun;
    int fd;           /* the UIO device: events in, kicks out */
    void *map;
    size_t map_size;
    struct tcmu_ring ring;
    int nl_reply;     /* attrib/nl_reply_supported when it was added */
    bool stalled;     /* a delay fault holds the command at stall_entry */
    uint32_t stall_entry;
    uint64_t stall_until_ms;
    bool broken_logged;
    uint64_t commands;
    uint64_t malformed;
};

/* A device of ours that could not be served (logged once per name). */
struct failed_dev {
    struct failed_dev *next;
    unsigned minor;
    char name[600];
    int nl_reply;
};

struct tcmu_daemon {
    struct tcmu_daemon_config cfg;
    char state_dir[4096];
    char data_dir[4096];
    char sysfs[4096];
    char configfs[4096];
    char devdir[4096];
    pthread_mutex_t lock; /* the tables below; held by the loop while it works */
    struct tcmu_dev *devs;
    struct lun_ref *luns;
    struct failed_dev *failed;
    struct prh_faults *faults;
    struct tcmu_nl *nl;
    uint64_t next_rescan_ms;
};

uint64_t tcmu_now_ms(void);
struct lun_ref *tcmu_lun_find(struct tcmu_daemon *d, const char *name);

#endif
