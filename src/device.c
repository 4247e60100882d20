/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * device.c - the device layer of the sg and mpath transports (device.h):
 * the system (sysfs, /dev/mapper/control, path nodes, SG_IO), what a
 * client's fd is, and one command on one path.
 *
 * System calls made at run time (for the seccomp filter, seccomp.c):
 *   ioctl(SG_IO)           on client fds and path fds
 *   ioctl(BLKGETDISKSEQ)   on client block-device fds (the verdict cache)
 *   ioctl(DM_TABLE_STATUS, DM_DEV_SUSPEND) on the /dev/mapper/control fd
 *                          opened at start-up (mpath only: CAP_SYS_ADMIN)
 *   openat O_RDONLY        sysfs attributes and the slaves directory
 *   openat O_RDONLY|O_NONBLOCK  /dev/sdX (the paths of a map)
 *   read, getdents64, fstat/newfstatat, close, nanosleep (NOT READY 04h/07h)
 * Every open at run time is read-only: the filter refuses any other.
 */
#include "prhelper/device.h"
#include "prhelper/devcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "prhelper/log.h"

/* ---- where the system is ------------------------------------------------- */

static const char *sys_root = "/sys";
static const char *dev_root = "/dev";
static const char *proc_root = "/proc";

void prh_dev_set_roots(const char *sys, const char *dev, const char *proc)
{
    sys_root = sys != NULL ? sys : "/sys";
    dev_root = dev != NULL ? dev : "/dev";
    proc_root = proc != NULL ? proc : "/proc";
}

static unsigned dm_major;
static int dm_control = -1;

/* Read a small attribute, trailing newline and blanks stripped.  0 or -errno. */
static int read_attr(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int err = errno;
    close(fd);
    if (n < 0)
        return -err;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return 0;
}

static bool attr_exists(const char *path)
{
    char buf[8];
    return read_attr(path, buf, sizeof(buf)) == 0;
}

static uint64_t read_u64_attr(const char *path)
{
    char buf[32];
    if (read_attr(path, buf, sizeof(buf)) < 0)
        return 0;
    return strtoull(buf, NULL, 10);
}

void prh_dev_init(bool want_dm_control)
{
    char path[PATH_MAX], line[128];
    snprintf(path, sizeof(path), "%s/devices", proc_root);
    FILE *f = fopen(path, "re");
    bool block = false;
    dm_major = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        unsigned maj;
        char name[64];
        if (strncmp(line, "Block devices:", 14) == 0)
            block = true;
        else if (block && sscanf(line, "%u %63s", &maj, name) == 2 &&
                 strcmp(name, "device-mapper") == 0)
            dm_major = maj;
    }
    if (f != NULL)
        fclose(f);
    if (dm_major == 0)
        prh_log(2, "device-mapper is not loaded: every block device is checked for a dm map");
    if (want_dm_control && dm_control < 0) {
        snprintf(path, sizeof(path), "%s/mapper/control", dev_root);
        dm_control = open(path, O_RDWR | O_CLOEXEC);
        if (dm_control < 0)
            prh_log(1, "cannot open %s (%s): multipath maps are recognised by their "
                       "\"mpath-\" uuid only, and are not suspended around a self-preempt",
                    path, strerror(errno));
    }
}

void prh_dev_fini(void)
{
    if (dm_control >= 0)
        close(dm_control);
    dm_control = -1;
}

unsigned prh_dev_dm_major(void)
{
    return dm_major;
}

/* ---- the real system calls ----------------------------------------------- */

static int system_sg_io(int fd, struct sg_io_hdr *hdr)
{
    return ioctl(fd, SG_IO, hdr);
}

static int system_block_info(dev_t dev, struct prh_dev_block_info *bi)
{
    char base[PATH_MAX], path[PATH_MAX + 32];
    memset(bi, 0, sizeof(*bi));
    snprintf(base, sizeof(base), "%s/dev/block/%u:%u", sys_root, major(dev), minor(dev));
    snprintf(path, sizeof(path), "%s/size", base);
    char buf[32];
    int r = read_attr(path, buf, sizeof(buf));
    if (r < 0)
        return r == -ENOTDIR ? -ENOENT : r;
    bi->sectors = strtoull(buf, NULL, 10);
    snprintf(path, sizeof(path), "%s/partition", base);
    bi->partition = attr_exists(path);
    /* Only device-mapper's major has maps (when it is known). */
    r = -ENOENT;
    if (dm_major == 0 || major(dev) == dm_major) {
        snprintf(path, sizeof(path), "%s/dm/uuid", base);
        r = read_attr(path, bi->dm_uuid, sizeof(bi->dm_uuid));
    }
    bi->dm = r == 0;
    if (r < 0)
        bi->dm_uuid[0] = '\0';
    return 0;
}

/* One ioctl on /dev/mapper/control for device dev (struct dm_ioctl + data). */
struct dm_buf {
    struct dm_ioctl dm;
    char data[8192];
};

static int dm_call(unsigned long cmd, dev_t dev, uint32_t flags, struct dm_buf *b)
{
    if (dm_control < 0)
        return -ENOSYS;
    memset(&b->dm, 0, sizeof(b->dm));
    b->dm.version[0] = DM_VERSION_MAJOR;
    b->dm.data_size = sizeof(*b);
    b->dm.data_start = sizeof(b->dm);
    b->dm.dev = (uint64_t)dev; /* glibc's makedev() is the kernel's "huge" encoding */
    b->dm.flags = flags;
    return ioctl(dm_control, cmd, b) < 0 ? -errno : 0;
}

static int system_dm_table(dev_t dev, struct prh_dev_dm_table *t)
{
    struct dm_buf *b = malloc(sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    memset(t, 0, sizeof(*t));
    int r = dm_call(DM_TABLE_STATUS, dev, DM_STATUS_TABLE_FLAG, b);
    if (r == 0) {
        t->targets = b->dm.target_count;
        if (t->targets > 0 && b->dm.data_start + sizeof(struct dm_target_spec) <= sizeof(*b)) {
            struct dm_target_spec spec;
            memcpy(&spec, (const char *)b + b->dm.data_start, sizeof(spec));
            t->start = spec.sector_start;
            t->length = spec.length;
            snprintf(t->type, sizeof(t->type), "%.*s", (int)sizeof(spec.target_type),
                     spec.target_type);
        }
    }
    free(b);
    return r;
}

static int system_dm_suspend(dev_t dev, bool suspend)
{
    struct dm_buf *b = malloc(sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    /* noflush: I/O waiting for a path stays queued rather than failing. */
    int r = dm_call(DM_DEV_SUSPEND, dev, DM_NOFLUSH_FLAG | (suspend ? DM_SUSPEND_FLAG : 0), b);
    free(b);
    return r;
}

static int path_cmp(const void *a, const void *b)
{
    const struct prh_dev_path *x = a, *y = b;
    size_t lx = strlen(x->name), ly = strlen(y->name);
    if (lx != ly)
        return lx < ly ? -1 : 1; /* sdz before sdaa, as the kernel names them */
    return strcmp(x->name, y->name);
}

static int system_list_paths(dev_t map, struct prh_dev_path *paths, size_t max)
{
    char path[PATH_MAX], buf[64];
    snprintf(path, sizeof(path), "%s/dev/block/%u:%u/slaves", sys_root, major(map), minor(map));
    DIR *d = opendir(path);
    if (d == NULL)
        return -errno;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == max) {
            prh_error("mpath: dm %u:%u has more than %zu paths; the rest are ignored",
                      major(map), minor(map), max);
            break;
        }
        struct prh_dev_path *p = &paths[n];
        memset(p, 0, sizeof(*p));
        size_t len = strlen(e->d_name);
        if (len >= sizeof(p->name))
            continue;
        memcpy(p->name, e->d_name, len + 1);
        unsigned ma, mi;
        snprintf(path, sizeof(path), "%s/class/block/%s/dev", sys_root, p->name);
        if (read_attr(path, buf, sizeof(buf)) < 0 || sscanf(buf, "%u:%u", &ma, &mi) != 2)
            continue; /* the path went away meanwhile */
        p->dev = makedev(ma, mi);
        snprintf(path, sizeof(path), "%s/class/block/%s/device/state", sys_root, p->name);
        int r = read_attr(path, buf, sizeof(buf));
        /* No state attribute (not SCSI): let SG_IO decide. */
        p->running = r < 0 || strcmp(buf, "running") == 0;
        p->host = -1;
        snprintf(path, sizeof(path), "%s/class/block/%s/partition", sys_root, p->name);
        p->partition = attr_exists(path);
        snprintf(path, sizeof(path), "%s/class/block/%s/size", sys_root, p->name);
        p->sectors = read_u64_attr(path);
        snprintf(path, sizeof(path), "%s/class/block/%s/device/wwid", sys_root, p->name);
        if (read_attr(path, p->wwid, sizeof(p->wwid)) < 0)
            p->wwid[0] = '\0';
        n++;
    }
    closedir(d);
    qsort(paths, n, sizeof(paths[0]), path_cmp);
    return (int)n;
}

static int system_open_path(const struct prh_dev_path *p)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dev_root, p->name);
    /* Read-only, as libmpathpersist opens paths: SG_IO runs any command,
     * PR OUT included, on a read-only fd with CAP_SYS_RAWIO
     * (scsi_cmd_allowed()), closing a device opened for writing makes udev
     * send a change event, and both the sandbox (Landlock) and the seccomp
     * filter allow read-only opens only (docs/security.md). */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != p->dev) {
        /* /dev/<name> is not the path's device: never send PR elsewhere. */
        close(fd);
        return -ENODEV;
    }
    return fd;
}

static void system_close_path(int fd)
{
    close(fd);
}

const struct prh_dev_ops prh_dev_system_ops = {
    .sg_io = system_sg_io,
    .disk_seq = prh_disk_seq,
    .block_info = system_block_info,
    .dm_table = system_dm_table,
    .dm_suspend = system_dm_suspend,
    .list_paths = system_list_paths,
    .open_path = system_open_path,
    .close_path = system_close_path,
};

static const struct prh_dev_ops *ops = &prh_dev_system_ops;

const char *const prh_dev_syscalls[] = {
    /* open/openat: existing files only (sysfs, /dev/sdX), never O_CREAT */
    "open", "openat", "read", "close", "getdents64", "fstat", "newfstatat",
    "nanosleep", "clock_nanosleep", "connect", "poll", "sendto", "recvfrom", "getsockopt",
    NULL,
};

void prh_dev_set_ops(const struct prh_dev_ops *o)
{
    ops = o != NULL ? o : &prh_dev_system_ops;
}

const struct prh_dev_ops *prh_dev_ops(void)
{
    return ops;
}

/* ---- what a client's fd is ------------------------------------------------ */

int prh_sg_check_fd(const struct stat *st)
{
    if (S_ISBLK(st->st_mode))
        return 0;
    if (S_ISCHR(st->st_mode) && major(st->st_rdev) == PRH_SCSI_GENERIC_MAJOR)
        return 0;
    /* Not a SCSI device: SG_IO is not even tried (an ioctl number means
     * something else to other drivers).  qemu-pr-helper's SG_IO fails
     * with ENOTTY here, so the client sees the same answer. */
    return -ENOTTY;
}

/* Verdicts by (st_rdev, disk sequence number) (devcache.h). */
PRH_DEVCACHE_DEFINE(class_cache, 128, struct prh_dev_class);

void prh_dev_cache_flush(void)
{
    prh_devcache_flush(&class_cache);
}

/* What a device-mapper device that is not a multipath map is, for the log. */
static void name_dm_owner(const char *uuid, char *why, size_t len)
{
    static const struct { const char *prefix, *what; } owners[] = {
        { "LVM-", "an LVM logical volume" },
        { "CRYPT-", "a dm-crypt device" },
        { "part", "a partition of a map (kpartx)" },
        { "DMRAID-", "a dmraid device" },
        { "stratis-", "a Stratis device" },
    };
    for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
        if (strncmp(uuid, owners[i].prefix, strlen(owners[i].prefix)) == 0) {
            snprintf(why, len, "%s", owners[i].what);
            return;
        }
    }
    snprintf(why, len, "a device-mapper device that is not a multipath map");
}

static int classify_dm(struct prh_dev_class *c, const struct prh_dev_block_info *bi)
{
    struct prh_dev_dm_table t;
    int r = ops->dm_table(c->rdev, &t);
    bool table_known = r == 0;
    if (r < 0 && r != -EACCES && r != -EPERM && r != -ENOSYS && r != -ENXIO)
        prh_log(1, "device: DM_TABLE_STATUS of %u:%u failed: %s", major(c->rdev),
                minor(c->rdev), strerror(-r));
    if (table_known) {
        /* dm-multipath passes SG_IO to a path only when its one target
         * covers the whole map; anything else reaches part of a LUN. */
        if (t.targets != 1 || strcmp(t.type, "multipath") != 0) {
            c->kind = PRH_DEV_PARTIAL;
            if (t.targets == 1)
                snprintf(c->why, sizeof(c->why), "a device-mapper device with a %s table",
                         t.type);
            else
                snprintf(c->why, sizeof(c->why), "a device-mapper device with %u targets",
                         t.targets);
            return 0;
        }
        if (t.start != 0 || (bi->sectors != 0 && t.length != bi->sectors)) {
            c->kind = PRH_DEV_PARTIAL;
            snprintf(c->why, sizeof(c->why), "a multipath target over part of the map");
            return 0;
        }
    } else if (strncmp(bi->dm_uuid, "mpath-", 6) != 0) {
        c->kind = PRH_DEV_PARTIAL;
        name_dm_owner(bi->dm_uuid, c->why, sizeof(c->why));
        if (bi->dm_uuid[0] == '\0' || strncmp(c->why, "a device-mapper", 15) == 0)
            snprintf(c->why, sizeof(c->why),
                     "a device-mapper device without an \"mpath-\" uuid whose table "
                     "cannot be read here");
        return 0;
    }
    /* A multipath map: every path must be a whole disk of the map's size. */
    struct prh_dev_path paths[PRH_DEV_MAX_PATHS];
    int n = ops->list_paths(c->rdev, paths, PRH_DEV_MAX_PATHS);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        if (paths[i].partition ||
            (paths[i].sectors != 0 && bi->sectors != 0 && paths[i].sectors != bi->sectors)) {
            c->kind = PRH_DEV_PARTIAL;
            snprintf(c->why, sizeof(c->why), "a multipath map over part of %s",
                     paths[i].name);
            return 0;
        }
    }
    c->kind = PRH_DEV_MULTIPATH;
    return 0;
}

int prh_dev_classify(int fd, const struct stat *st, struct prh_dev_class *c)
{
    memset(c, 0, sizeof(*c));
    c->rdev = st->st_rdev;
    if (prh_sg_check_fd(st) < 0) {
        c->kind = PRH_DEV_NOT_SCSI;
        snprintf(c->why, sizeof(c->why), "neither a block device nor an sg node");
        return 0;
    }
    if (!S_ISBLK(st->st_mode)) {
        c->kind = PRH_DEV_DISK; /* an sg node is always a whole device */
        return 0;
    }
    c->seq_known = ops->disk_seq(fd, &c->seq) == 0;
    if (c->seq_known && prh_devcache_get(&class_cache, c->rdev, c->seq, c))
        return 0;
    struct prh_dev_block_info bi;
    int r = ops->block_info(c->rdev, &bi);
    if (r < 0) {
        prh_log(1, "device: cannot read sysfs of block device %u:%u (%s): refused",
                major(c->rdev), minor(c->rdev), strerror(-r));
        return r;
    }
    snprintf(c->dm_uuid, sizeof(c->dm_uuid), "%s", bi.dm_uuid);
    if (bi.partition) {
        c->kind = PRH_DEV_PARTIAL;
        snprintf(c->why, sizeof(c->why), "a partition");
    } else if (bi.dm || (dm_major != 0 && major(c->rdev) == dm_major)) {
        r = classify_dm(c, &bi);
        if (r < 0)
            return r;
    } else {
        c->kind = PRH_DEV_DISK;
    }
    if (c->seq_known)
        prh_devcache_put(&class_cache, c->rdev, c->seq, c);
    return 0;
}

/* ---- SG_IO ------------------------------------------------------------------ */

/* wire-protocol.md 5.3 step 2: the host byte (QEMU scsi_sense_from_host_status). */
static bool host_status_result(uint16_t host, struct prh_result *res)
{
    switch (host) {
    case PRH_DID_OK:
        return false;
    case PRH_DID_NO_CONNECT:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x05, 0x00));
        return true;
    case PRH_DID_BUS_BUSY:
        *res = prh_result_status(SCSI_STATUS_BUSY);
        return true;
    case PRH_DID_TIME_OUT:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x2e, 0x02));
        return true;
    case PRH_DID_BAD_TARGET:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00));
        return true;
    case PRH_DID_ABORT:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x2f, 0x02));
        return true;
    case PRH_DID_RESET:
        *res = prh_result_sense(SENSE_UA_POWER_ON_RESET);
        return true;
    case PRH_DID_TRANSPORT_DISRUPTED:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x29, 0x07));
        return true;
    case PRH_DID_TARGET_FAILURE:
        *res = prh_result_sense(SENSE_INTERNAL_TARGET_FAILURE);
        return true;
    case PRH_DID_NEXUS_FAILURE:
        *res = prh_result_status(SCSI_STATUS_RESERVATION_CONFLICT);
        return true;
    case PRH_DID_ALLOC_FAILURE:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_DATA_PROTECT, 0x27, 0x07));
        return true;
    case PRH_DID_MEDIUM_ERROR:
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00));
        return true;
    default:
        /* QEMU answers GOOD (with no data) for every other host byte
         * (DID_ERROR, DID_SOFT_ERROR, ...), hiding a failed command.  We
         * report it as ABORTED COMMAND, I/O PROCESS TERMINATED, the same
         * answer as a failed ioctl (docs/compat.md). */
        *res = prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x06));
        return true;
    }
}

void prh_sg_result_from_hdr(const struct sg_io_hdr *hdr, const uint8_t *sense,
                            uint32_t dxfer_len, struct prh_result *res)
{
    if (host_status_result(hdr->host_status, res))
        return;
    /* Step 3: the driver timed the command out. */
    if (hdr->driver_status & PRH_SG_DRIVER_TIMEOUT) {
        *res = prh_result_status(SCSI_STATUS_BUSY);
        return;
    }
    /* Step 4: the device's own status, with its sense unchanged. */
    memset(res, 0, sizeof(*res));
    res->kind = PRH_RESULT_RAW_SENSE;
    res->status = hdr->status;
    size_t n = hdr->sb_len_wr;
    if (n > sizeof(res->raw_sense))
        n = sizeof(res->raw_sense);
    if (sense != NULL && n > 0)
        memcpy(res->raw_sense, sense, n);
    res->raw_sense_len = n;
    int resid = hdr->resid;
    if (resid < 0 || (uint32_t)resid > dxfer_len)
        resid = 0; /* a nonsense residual: trust the allocation length */
    res->data_len = dxfer_len - (uint32_t)resid;
}

void prh_sg_build_hdr(struct sg_io_hdr *hdr, const struct prh_request *req, uint8_t *data,
                      uint32_t dxfer_len, uint8_t *sense, unsigned timeout_ms)
{
    memset(hdr, 0, sizeof(*hdr));
    hdr->interface_id = 'S';
    /* PERSISTENT RESERVE IN/OUT are 10-byte (group 2) CDBs; the wire
     * always carries 16 bytes, zero-padded. */
    hdr->cmd_len = 10;
    hdr->cmdp = (unsigned char *)req->cdb;
    hdr->mx_sb_len = PRH_WIRE_SENSE_SIZE;
    hdr->sbp = sense;
    hdr->dxfer_len = dxfer_len;
    hdr->dxferp = data;
    hdr->dxfer_direction = dxfer_len == 0 ? SG_DXFER_NONE
                           : prh_wire_is_pr_out(req->cdb) ? SG_DXFER_TO_DEV
                                                          : SG_DXFER_FROM_DEV;
    hdr->timeout = timeout_ms;
}

int prh_sg_execute(int fd, const struct prh_request *req, uint8_t *data, uint32_t dxfer_len,
                   unsigned timeout_ms, struct prh_result *res)
{
    struct sg_io_hdr hdr;
    uint8_t sense[PRH_WIRE_SENSE_SIZE] = { 0 };
    prh_sg_build_hdr(&hdr, req, data, dxfer_len, sense, timeout_ms);
    if (ops->sg_io(fd, &hdr) < 0) {
        *res = prh_result_errno(errno);
        return -1;
    }
    prh_sg_result_from_hdr(&hdr, sense, dxfer_len, res);
    if ((hdr.host_status != PRH_DID_OK && hdr.host_status != PRH_DID_NEXUS_FAILURE) ||
        (hdr.host_status == PRH_DID_OK && (hdr.driver_status & PRH_SG_DRIVER_TIMEOUT)))
        return -1;
    return 0;
}

bool prh_result_sense_of(const struct prh_result *res, struct scsi_sense *s)
{
    if (res->status != SCSI_STATUS_CHECK_CONDITION)
        return false;
    if (res->kind == PRH_RESULT_SENSE) {
        *s = res->sense;
        return true;
    }
    return res->kind == PRH_RESULT_RAW_SENSE &&
           scsi_sense_decode(res->raw_sense, res->raw_sense_len, s);
}

bool prh_result_is_good(const struct prh_result *res)
{
    return (res->kind == PRH_RESULT_STATUS || res->kind == PRH_RESULT_RAW_SENSE) &&
           res->status == SCSI_STATUS_GOOD;
}

bool prh_result_is_conflict(const struct prh_result *res)
{
    return (res->kind == PRH_RESULT_STATUS || res->kind == PRH_RESULT_RAW_SENSE) &&
           res->status == SCSI_STATUS_RESERVATION_CONFLICT;
}

int prh_dev_path_cmd(const struct prh_dev_path *p, const struct prh_request *req,
                     uint8_t *data, uint32_t len, unsigned timeout_ms, struct prh_result *res)
{
    int fd = ops->open_path(p);
    if (fd < 0) {
        *res = prh_result_errno(-fd);
        prh_log(2, "mpath: cannot open path %s: %s", p->name, strerror(-fd));
        return -1;
    }
    int r = 0;
    for (int attempt = 0;; attempt++) {
        if (prh_sg_execute(fd, req, data, len, timeout_ms, res) < 0) {
            r = -1;
            break;
        }
        struct scsi_sense sk;
        if (!prh_result_sense_of(res, &sk))
            break;
        if (sk.key == SCSI_SENSE_UNIT_ATTENTION && attempt < PRH_DEV_RETRIES) {
            prh_log(2, "mpath: path %s: unit attention %02xh/%02xh consumed, retrying",
                    p->name, sk.asc, sk.ascq);
            continue;
        }
        if (sk.key == SCSI_SENSE_NOT_READY) {
            if (sk.asc == 0x04 && sk.ascq == 0x07 && attempt < PRH_DEV_RETRIES) {
                struct timespec ms = { 0, 1000000 };
                nanosleep(&ms, NULL);
                continue;
            }
            r = -1; /* this path cannot serve the LUN now: another may */
        }
        break;
    }
    ops->close_path(fd);
    if (r < 0) {
        /* Why, for the log: the answer the path's failure maps to. */
        struct scsi_sense why;
        if (res->kind == PRH_RESULT_ERRNO)
            prh_log(2, "mpath: path %s failed the command (%s); skipped", p->name,
                    strerror(res->err));
        else if (prh_result_sense_of(res, &why))
            prh_log(2, "mpath: path %s failed the command (sense %xh/%02xh/%02xh); skipped",
                    p->name, why.key, why.asc, why.ascq);
        else
            prh_log(2, "mpath: path %s failed the command (status %02xh); skipped", p->name,
                    res->status);
    }
    return r;
}
