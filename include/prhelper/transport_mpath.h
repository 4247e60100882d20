/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_mpath.h - the "mpath" transport: persistent reservations on
 * every path of a dm-multipath device (docs/mpath.md).
 *
 * The client's fd names the multipath map (dm-N).  The daemon finds the
 * map's paths in /sys/block/dm-N/slaves/, opens each path's block device
 * itself and sends PR commands down them by SG_IO (transport_sg.h's
 * prh_sg_execute(), so the outcome mapping is the sg transport's).
 * REGISTER fans out to every usable path; the other service actions run
 * on one path and the registrations of the other paths are brought back
 * in line.  A path that is offline or fails is skipped, remembered, and
 * registered again by the next PR OUT once it is back.
 *
 * Everything that touches the system goes through struct prh_mpath_ops
 * (sysfs, device-mapper, open) and struct prh_sg_ops (SG_IO), so the unit
 * tests run a fake path layer without root.
 */
#ifndef PRHELPER_TRANSPORT_MPATH_H
#define PRHELPER_TRANSPORT_MPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "prhelper/transport.h"

/* Most paths one map may have (dm-multipath itself has no small limit;
 * paths beyond this are ignored, with a message). */
#define PRH_MPATH_MAX_PATHS 32
/* How often a command is sent again on one path after UNIT ATTENTION. */
#define PRH_MPATH_UA_RETRIES 5

/* One path of a map, as the system reports it. */
struct prh_mpath_path_info {
    char name[32];   /* kernel name: "sdb" */
    dev_t dev;       /* its block device number */
    bool running;    /* /sys/block/<name>/device/state is "running" */
};

struct prh_mpath_ops {
    /* Is block device dev a dm-multipath map?  1 yes, 0 no, -errno. */
    int (*is_multipath)(dev_t dev);
    /* The map's paths, sorted by name; count (<= max) or -errno. */
    int (*list_paths)(dev_t map, struct prh_mpath_path_info *paths, size_t max);
    /* Open a path for SG_IO: fd or -errno (never a different device). */
    int (*open_path)(const struct prh_mpath_path_info *path);
    void (*close_path)(int fd);
};

/* The real ones: sysfs, libdevmapper, /dev/<name>. */
extern const struct prh_mpath_ops prh_mpath_system_ops;
/* Use other ops (NULL: the real ones again).  Not thread-safe: tests only. */
void prh_mpath_set_ops(const struct prh_mpath_ops *ops);
/* Where the real ops look for sysfs and device nodes (NULL: /sys, /dev).
 * Not thread-safe: tests only. */
void prh_mpath_set_roots(const char *sys, const char *dev);

/*
 * Is this block device a dm-multipath map?  sysfs dm/uuid starting with
 * "mpath-" (what multipathd creates), else the first target of its
 * device-mapper table is "multipath" (maps made by hand with dmsetup).
 * 1 yes, 0 no (also: not a device-mapper device), -errno.
 */
int prh_mpath_is_multipath(dev_t dev);

/*
 * The system calls the mpath code makes at run time beyond the sg
 * transport's (NULL-terminated names, for the seccomp filter's
 * extra_syscalls).  The sg transport needs them too: it hands dm-multipath
 * fds to mpath.  ioctl: SG_IO on the paths, and for maps recognised by
 * their table (no "mpath-" uuid) the device-mapper ioctls DM_VERSION and
 * DM_TABLE_STATUS on /dev/mapper/control (without them such a map is
 * served as a single-path device, with a message).
 */
extern const char *const prh_mpath_syscalls[];

/* What the transport knows about one path, for logs and tests. */
struct prh_mpath_path_status {
    char name[32];
    bool in_sync;      /* carries the map's key (or none, if the key is 0) */
    int last_error;    /* last path failure: -errno, 0 none */
};

/*
 * The registration state the transport keeps for a map (state from
 * init): whether the host's key is known, the key, and per path whether
 * it carries it.  Returns the number of paths written to st (<= max), or
 * -ENOENT when the map was never used.
 */
int prh_mpath_map_status(void *state, dev_t map, bool *key_known, uint64_t *key,
                         struct prh_mpath_path_status *st, size_t max);

#endif
