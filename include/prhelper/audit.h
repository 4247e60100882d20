/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.h - the audit trail: one structured record per state-changing or
 * refused PR OUT, per request refused by the device policy, and per
 * connection refused by the access policy.
 *
 * Sinks: the systemd journal (sd_journal_send, one PRH_* field per
 * item), syslog (LOG_AUTHPRIV, "key=value" text), or a file of JSON
 * lines (O_APPEND, one write() per record, fdatasync'd before the reply
 * goes out).  Records are built on worker threads; prh_audit_emit() is
 * thread-safe.  docs/operations.md shows how to query them.
 */
#ifndef PRHELPER_AUDIT_H
#define PRHELPER_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "prhelper/scsi.h"
#include "prhelper/transport.h"
#include "prhelper/wire.h"

enum prh_audit_sink {
    PRH_AUDIT_DEFAULT, /* journal under systemd, else syslog */
    PRH_AUDIT_NONE,
    PRH_AUDIT_JOURNAL,
    PRH_AUDIT_SYSLOG,
    PRH_AUDIT_FILE,
};

/* Parse --audit=journal|syslog|file:PATH|none.  0, or -1 with errmsg. */
int prh_audit_parse(const char *spec, enum prh_audit_sink *sink, const char **path,
                    char *errmsg, size_t errmsg_len);
/* PRH_AUDIT_DEFAULT resolved: journal when started by systemd. */
enum prh_audit_sink prh_audit_default_sink(void);
const char *prh_audit_sink_name(enum prh_audit_sink sink);

/* Who sent a command: SO_PEERCRED plus what /proc says about the pid. */
struct prh_audit_client {
    uint64_t serial;
    bool has_cred;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    char exe[256];    /* /proc/PID/exe target, else argv[0], else "" */
    char guest[128];  /* QEMU's -name guest=..., "" if none (qemu_peer.h) */
};

/* Fill from a peer; reads /proc/PID/{exe,cmdline} (proc_root: "/proc"). */
void prh_audit_client_fill(struct prh_audit_client *c, const struct prh_peer *peer,
                           const char *proc_root);

/* The device behind a client's fd. */
struct prh_audit_device {
    bool known;       /* fstat() answered */
    bool is_dev;      /* a block or character device: major/minor are its rdev */
    unsigned major, minor;
    char wwid[128];   /* from sysfs, "" if none */
};

/*
 * Fill from an fd: fstat(), then sysfs_root/dev/{block,char}/M:m/device/wwid
 * or .../dm/uuid (a dm-multipath map: "mpath-WWID").  sysfs_root: "/sys".
 */
void prh_audit_device_fill(struct prh_audit_device *d, int fd, const char *sysfs_root);
/* The same from an fstat() the caller already took (NULL: it failed), so
 * one request stats its fd once (prh_transport_execute_st()). */
void prh_audit_device_fill_stat(struct prh_audit_device *d, const struct stat *sb,
                                const char *sysfs_root);
/*
 * The same for a request: a block device's WWID is remembered per device
 * number and disk sequence number (ioctl BLKGETDISKSEQ, which changes
 * whenever the number names another disk or map), so a LUN's PR OUTs read
 * sysfs once: that read costs ~155 us in the lab guest, the ioctl ~3 us
 * (docs/performance.md).  sg nodes, kernels before 5.15 and transports
 * whose seccomp filter refuses the ioctl (sim) read sysfs every time.
 */
void prh_audit_device_fill_fd(struct prh_audit_device *d, int fd, const struct stat *sb,
                              const char *sysfs_root);
/* Forget every remembered WWID (tests; a changed sysfs_root). */
void prh_audit_device_cache_flush(void);
/* Tests: replace ioctl(BLKGETDISKSEQ) (NULL: the real one again).  0 or -errno. */
void prh_audit_set_disk_seq(int (*disk_seq)(int fd, uint64_t *seq));

enum prh_audit_event {
    PRH_AUDIT_EV_PR_OUT,         /* a PR OUT ran (or was refused by the device) */
    PRH_AUDIT_EV_DEVICE_DENIED,  /* --allow-device refused a PR IN/OUT */
    PRH_AUDIT_EV_CLIENT_DENIED,  /* --allow-uid/--allow-gid refused a connection */
};

struct prh_audit_record {
    enum prh_audit_event event;
    struct timespec time;                 /* CLOCK_REALTIME */
    const char *transport;
    const struct prh_audit_client *client;
    const char *nexus;                    /* the transport's I_T nexus (sim:
                                             "TransportID@RTPI"), NULL if none */
    const struct prh_audit_device *device; /* NULL for CLIENT_DENIED */
    const struct prh_request *req;         /* NULL for CLIENT_DENIED */
    const struct prh_reply *reply;         /* NULL for CLIENT_DENIED */
    uint64_t latency_ns;
    unsigned long suppressed;              /* CLIENT_DENIED: records left out
                                              (rate limit) since the last one */
};

/* Which requests are audited: every PR OUT (GOOD: state changed; anything
 * else: refused). */
bool prh_audit_wanted(const struct prh_request *req);

/*
 * Renderings of one record.  The JSON line ends with '\n'; the text line
 * is "key=value ..." for syslog.  Both return the length (as snprintf,
 * truncated output when len is too small).
 */
size_t prh_audit_format_json(const struct prh_audit_record *r, char *buf, size_t len);
size_t prh_audit_format_text(const struct prh_audit_record *r, char *buf, size_t len);

/* Journal fields ("NAME=value") into storage; returns the count (<= max). */
#define PRH_AUDIT_JOURNAL_MAX_FIELDS 32
struct prh_audit_fields {
    char text[PRH_AUDIT_JOURNAL_MAX_FIELDS][640];
    struct iovec iov[PRH_AUDIT_JOURNAL_MAX_FIELDS];
    size_t n;
};
void prh_audit_journal_fields(const struct prh_audit_record *r, struct prh_audit_fields *f);

struct prh_audit;

/*
 * Open a sink (before the privilege drop: the file is opened, and the
 * syslog socket connected, here).  path: the file of PRH_AUDIT_FILE; for
 * PRH_AUDIT_SYSLOG the datagram socket (NULL: /dev/log; a missing one is
 * looked for, with one access(), at each record).  NULL with errmsg on failure.
 * PRH_AUDIT_NONE gives a valid handle that records nothing.
 */
struct prh_audit *prh_audit_open(enum prh_audit_sink sink, const char *path, char *errmsg,
                                 size_t errmsg_len);
/* Whether a writes records (not NULL, not PRH_AUDIT_NONE): the server
 * reads /proc and sysfs for the record only then. */
bool prh_audit_active(const struct prh_audit *a);
/*
 * Whether a record written now could reach the sink: the file sink always;
 * syslog while connected or its socket exists; the journal while
 * journald's socket exists.  When it cannot, the caller skips building
 * the record (device facts, clock) and counts it with prh_audit_lost():
 * a host without a log daemon pays one access() per PR OUT.
 */
bool prh_audit_ready(struct prh_audit *a);
/* Count one record that was not written. */
void prh_audit_lost(struct prh_audit *a);
/* Write one record; 0, or -errno (also counted in prh_audit_errors()). */
int prh_audit_emit(struct prh_audit *a, const struct prh_audit_record *r);
unsigned long prh_audit_errors(const struct prh_audit *a);
void prh_audit_close(struct prh_audit *a);

/*
 * The system calls the audit trail and the metrics file make after
 * start-up, for the seccomp filter's extra_syscalls (NULL-terminated):
 * prh_ops_syscalls always, prh_ops_metrics_file_syscalls (a superset)
 * with --metrics-file.
 *  - per audited request: openat(O_RDONLY)/read/readlinkat of
 *    /proc/PID/{cmdline,exe} at accept, of /sys/dev/.../{wwid,dm/uuid}
 *    and faccessat (the transports' filters allow read-only opens);
 *    ioctl(BLKGETDISKSEQ) on block devices (sg, mpath; sim's filter
 *    refuses it and the WWID is read every time);
 *  - file sink: write + fdatasync on the fd opened at start-up;
 *  - syslog sink: sendto on the socket connected at start-up (poll()
 *    for at most 100 ms while it is full), faccessat of the socket's
 *    path while it is not connected, socket(AF_UNIX, SOCK_DGRAM) +
 *    connect("/dev/log") when it exists again;
 *  - journal sink: socket(AF_UNIX, SOCK_DGRAM) + sendmsg, memfd_create
 *    + fcntl(F_ADD_SEALS) for records over the datagram limit;
 *  - metrics file: openat(O_CREAT) of PATH.tmp.PID, write, fsync,
 *    rename over PATH (unlink on failure), futex/clock_nanosleep.
 */
extern const char *const prh_ops_syscalls[];
extern const char *const prh_ops_metrics_file_syscalls[];

#endif
