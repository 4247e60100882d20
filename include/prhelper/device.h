/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * device.h - the device layer the "sg" and "mpath" transports share: what
 * a client's fd is (a whole disk, a dm-multipath map over whole disks, or
 * only part of a LUN), SG_IO and its outcome mapping, and the paths of a
 * map as the system reports them.
 *
 * Raw SG_IO is used, not libsgutils2's sg_pt: the wire contract
 * (wire-protocol.md 5.3) is defined on the sg_io_hdr fields themselves
 * (errno, host_status, driver_status, status, sense as the device wrote
 * it), and sg_pt folds host and driver status into categories.
 *
 * Every system call goes through struct prh_dev_ops so the unit tests can
 * stand a fake kernel in for the real one.  The client's fstat() comes
 * from the caller (prh_transport_execute_ex()).
 */
#ifndef PRHELPER_DEVICE_H
#define PRHELPER_DEVICE_H

#include <scsi/sg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "prhelper/transport.h"

/* SG_IO timeout when --sg-timeout is not given: QEMU's own scsi-generic
 * uses 30 s; qemu-pr-helper's 1 ms is far too short for an array that is
 * failing over. */
#define PRH_SG_DEFAULT_TIMEOUT_MS 30000u

/* Linux host byte values (include/scsi/scsi_status.h, DID_*). */
enum prh_sg_host_status {
    PRH_DID_OK = 0x00,
    PRH_DID_NO_CONNECT = 0x01,
    PRH_DID_BUS_BUSY = 0x02,
    PRH_DID_TIME_OUT = 0x03,
    PRH_DID_BAD_TARGET = 0x04,
    PRH_DID_ABORT = 0x05,
    PRH_DID_ERROR = 0x07,
    PRH_DID_RESET = 0x08,
    PRH_DID_TRANSPORT_DISRUPTED = 0x0e,
    PRH_DID_TARGET_FAILURE = 0x10,
    PRH_DID_NEXUS_FAILURE = 0x11,
    PRH_DID_ALLOC_FAILURE = 0x12,
    PRH_DID_MEDIUM_ERROR = 0x13,
};

/* Linux driver byte: DRIVER_TIMEOUT. */
#define PRH_SG_DRIVER_TIMEOUT 0x06
/* The sg character device major (include/uapi/linux/major.h). */
#define PRH_SCSI_GENERIC_MAJOR 21
/* Most paths one map may have (dm-multipath itself has no small limit;
 * paths beyond this are ignored, with a message). */
#define PRH_DEV_MAX_PATHS 32

/* What a block device is, from sysfs (/sys/dev/block/M:m). */
struct prh_dev_block_info {
    bool partition;        /* has a "partition" attribute */
    bool dm;               /* has a "dm" directory */
    char dm_uuid[132];     /* dm/uuid, "" if none */
    uint64_t sectors;      /* "size" (512-byte sectors), 0 if unknown */
};

/* The active table of a device-mapper device (DM_TABLE_STATUS). */
struct prh_dev_dm_table {
    unsigned targets;      /* number of targets */
    char type[16];         /* the first target's type ("multipath", "linear") */
    uint64_t start, length;/* the first target's extent, in sectors */
};

/* One path of a map, as the system reports it. */
struct prh_dev_path {
    char name[32];         /* kernel name: "sdb" */
    dev_t dev;             /* its block device number */
    bool running;          /* /sys/block/<name>/device/state is "running" */
    int host;              /* SCSI host number (the initiator port), -1 unknown */
    bool partition;        /* a partition (never a path of a multipath map) */
    uint64_t sectors;      /* size, 0 if unknown */
    char wwid[96];         /* device/wwid: the LUN it reaches, "" if unknown */
};

/* The system calls of the device layer; tests replace them. */
struct prh_dev_ops {
    int (*sg_io)(int fd, struct sg_io_hdr *hdr);
    /* ioctl(BLKGETDISKSEQ): the disk's sequence number, which changes
     * whenever the dev_t names another disk or map.  0 or -errno. */
    int (*disk_seq)(int fd, uint64_t *seq);
    /* sysfs facts of block device dev.  0 or -errno (-ENOENT: gone). */
    int (*block_info)(dev_t dev, struct prh_dev_block_info *bi);
    /* DM_TABLE_STATUS of dev.  0, -EACCES/-ENOSYS when the table cannot
     * be read here (no CAP_SYS_ADMIN, no control node), -ENXIO if dev is
     * not a device-mapper device, other -errno. */
    int (*dm_table)(dev_t dev, struct prh_dev_dm_table *t);
    /* Suspend (noflush) or resume a map.  0 or -errno (-ENOSYS: no
     * device-mapper control here). */
    int (*dm_suspend)(dev_t dev, bool suspend);
    /* The map's paths (slaves), sorted by name; count (<= max) or -errno. */
    int (*list_paths)(dev_t map, struct prh_dev_path *paths, size_t max);
    /* Open a path for SG_IO: fd or -errno (never a different device). */
    int (*open_path)(const struct prh_dev_path *path);
    void (*close_path)(int fd);
};

/* The real ones: sysfs, /dev/mapper/control, /dev/<name>. */
extern const struct prh_dev_ops prh_dev_system_ops;
/* Use other ops (NULL: the real ones again).  Not thread-safe: tests only. */
void prh_dev_set_ops(const struct prh_dev_ops *ops);
const struct prh_dev_ops *prh_dev_ops(void);
/* Where the real ops look for sysfs, device nodes and /proc/devices
 * (NULL: /sys, /dev, /proc).  Not thread-safe: tests only. */
void prh_dev_set_roots(const char *sys, const char *dev, const char *proc);

/*
 * Start-up, before the privilege drop: learn device-mapper's block major
 * from /proc/devices and, with want_dm_control, open /dev/mapper/control
 * for DM_TABLE_STATUS / DM_DEV_SUSPEND (those need CAP_SYS_ADMIN at run
 * time too; only the mpath transport keeps it).  Never fails: what is
 * missing is logged and the layer works without it.
 */
void prh_dev_init(bool want_dm_control);
void prh_dev_fini(void);
/* device-mapper's block major, 0 if unknown (then every block device
 * is probed for a dm directory). */
unsigned prh_dev_dm_major(void);

/*
 * The system calls the device layer, the multipath code and the
 * multipathd client make at run time beyond every transport's base set
 * (NULL-terminated names, for the seccomp filter): open/openat of sysfs
 * attributes and path nodes (the filter allows them read-only, for
 * existing files only), getdents64 (a map's slaves), read, close, fstat/newfstatat,
 * nanosleep (NOT READY 04h/07h retries), connect (multipathd's socket).
 * ioctl and socket are allowed by argument in seccomp.c: ioctl SG_IO and
 * BLKGETDISKSEQ (plus DM_TABLE_STATUS and DM_DEV_SUSPEND for mpath),
 * socket(AF_UNIX, SOCK_STREAM) for multipathd.
 */
extern const char *const prh_dev_syscalls[];

/* ---- what a client's fd is ----------------------------------------------- */

enum prh_dev_kind {
    PRH_DEV_NOT_SCSI,   /* neither a block device nor an sg node: no SG_IO */
    PRH_DEV_DISK,       /* a whole disk or an sg node: SG_IO on the fd */
    PRH_DEV_MULTIPATH,  /* a dm-multipath map over whole disks */
    PRH_DEV_PARTIAL,    /* part of a LUN: a partition, or a device-mapper
                         * device that is not a multipath map over whole
                         * disks (linear/LVM, crypt, ...) */
};

struct prh_dev_class {
    enum prh_dev_kind kind;
    dev_t rdev;
    bool seq_known;         /* BLKGETDISKSEQ answered */
    uint64_t seq;
    char dm_uuid[132];      /* device-mapper devices */
    char why[96];           /* PARTIAL/NOT_SCSI: what it is, for the log */
};

/*
 * Classify the device behind fd (st: its fstat()).  Block devices are
 * probed in sysfs (and, for device-mapper devices, by their table when it
 * can be read) once per (st_rdev, disk sequence number): later requests
 * for the same disk or map cost one BLKGETDISKSEQ ioctl.  0, or -errno
 * when the probe failed (the request is then answered with that errno).
 */
int prh_dev_classify(int fd, const struct stat *st, struct prh_dev_class *c);
/* Forget every cached verdict (tests). */
void prh_dev_cache_flush(void);

/*
 * Is this fd something SG_IO may be sent to?  A block device, or an sg
 * character device.  Anything else is refused before any ioctl with the
 * answer qemu-pr-helper's failed SG_IO gives (ENOTTY).
 */
int prh_sg_check_fd(const struct stat *st);

/* ---- SG_IO ---------------------------------------------------------------- */

/*
 * Turn a finished SG_IO into an outcome (wire-protocol.md 5.3 steps 2-4):
 * host status first, then the driver's timeout bit, then the device's
 * status byte with its sense forwarded unchanged.  dxfer_len is what was
 * asked for; the data length is dxfer_len - resid.
 */
void prh_sg_result_from_hdr(const struct sg_io_hdr *hdr, const uint8_t *sense,
                            uint32_t dxfer_len, struct prh_result *res);

/* Build the sg_io_hdr of one PR request (cmd_len from the opcode group). */
void prh_sg_build_hdr(struct sg_io_hdr *hdr, const struct prh_request *req, uint8_t *data,
                      uint32_t dxfer_len, uint8_t *sense, unsigned timeout_ms);

/*
 * Send one PR request down fd by SG_IO and map the outcome into res.
 * Returns 0 when the device answered (res holds its status and sense,
 * GOOD or not), -1 when the path failed to deliver it (the ioctl failed,
 * a host status other than DID_OK or DID_NEXUS_FAILURE, or the driver
 * timed out); res is set either way.
 */
int prh_sg_execute(int fd, const struct prh_request *req, uint8_t *data, uint32_t dxfer_len,
                   unsigned timeout_ms, struct prh_result *res);

/* The sense of a CHECK CONDITION outcome (helper-built or the device's),
 * decoded; false for any other outcome. */
bool prh_result_sense_of(const struct prh_result *res, struct scsi_sense *s);
/* The device answered GOOD / RESERVATION CONFLICT. */
bool prh_result_is_good(const struct prh_result *res);
bool prh_result_is_conflict(const struct prh_result *res);

/* How often a command is sent again on one path after UNIT ATTENTION, and
 * after NOT READY, LOGICAL UNIT NOT READY, OPERATION IN PROGRESS (04h/07h;
 * 1 ms apart), as libmpathpersist does. */
#define PRH_DEV_RETRIES 5

/*
 * One command on one path of a map: open the path, SG_IO, close.  0: the
 * device answered (res, which may be an error of its own); -1: the path
 * failed (res says how): it could not be opened, prh_sg_execute() failed
 * to deliver, or the answer was NOT READY (ALUA standby, transitioning,
 * unavailable, or any other NOT READY: libmpathpersist tries the next
 * path for all of them).  Unit attentions are consumed and the command
 * sent again (at most PRH_DEV_RETRIES times; then the last one is the
 * device's answer).
 */
int prh_dev_path_cmd(const struct prh_dev_path *p, const struct prh_request *req,
                     uint8_t *data, uint32_t len, unsigned timeout_ms, struct prh_result *res);

#endif
