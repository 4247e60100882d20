/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_mpath.c - persistent reservations across every path of a
 * dm-multipath map.  The algorithm is described in docs/mpath.md.
 *
 * Per map the transport keeps the host's reservation key (once a
 * REGISTER through us made it known) and, per path, whether the path
 * carries it.  A map's commands run under the map's mutex on a worker
 * thread: two clients of the same map take turns, other maps and other
 * clients run in parallel, and the event loop never waits.
 *
 * System calls made at run time, by the mpath transport and by the sg
 * transport too (it hands dm-multipath fds over), for a seccomp filter:
 *   openat/open   O_RDONLY of sysfs attributes (/sys/dev/block/M:m/dm/uuid,
 *                 /sys/class/block/sdX/dev, .../device/state) and of the
 *                 slaves directory; O_RDWR|O_NONBLOCK of /dev/sdX (paths)
 *   getdents64    readdir of /sys/dev/block/M:m/slaves
 *   read, close, fstat/newfstatat, futex
 *   ioctl(SG_IO)  on the path fds
 * and only for a device-mapper map whose dm/uuid has no known prefix
 * (a multipath table made by hand without --uuid mpath-...), through
 * libdevmapper: uname, open/ioctl of /dev/mapper/control (DM_VERSION,
 * DM_TABLE_STATUS; CAP_SYS_ADMIN).  If that fails the map is treated as
 * single-path (logged).  The list is prh_mpath_syscalls.
 */
#include "prhelper/transport_mpath.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <libdevmapper.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prhelper/log.h"
#include "prhelper/transport_sg.h"

/* ---- the system: sysfs, libdevmapper, /dev ---------------------------- */

static const char *sys_root = "/sys";
static const char *dev_root = "/dev";

void prh_mpath_set_roots(const char *sys, const char *dev)
{
    sys_root = sys != NULL ? sys : "/sys";
    dev_root = dev != NULL ? dev : "/dev";
}

/* Read a small sysfs attribute, newline stripped.  0 or -errno. */
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

/* libdevmapper prints its own errors on stderr: keep them for -v 3. */
__attribute__((format(printf, 5, 6))) static void dm_quiet_log(int level, const char *file,
                                                                int line, int dm_errno,
                                                                const char *fmt, ...)
{
    (void)level;
    (void)file;
    (void)line;
    (void)dm_errno;
    if (prh_log_verbosity() < 3)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    prh_log(3, "libdevmapper: %s", msg);
}

static pthread_once_t dm_once = PTHREAD_ONCE_INIT;

static void dm_setup(void)
{
    dm_log_with_errno_init(dm_quiet_log);
    dm_udev_set_sync_support(0);
}

/* The first target type of a device-mapper table: 1 multipath, 0 other. */
static int dm_table_is_multipath(dev_t dev)
{
    pthread_once(&dm_once, dm_setup);
    struct dm_task *dmt = dm_task_create(DM_DEVICE_TABLE);
    if (dmt == NULL)
        return -ENOMEM;
    int r = -EIO;
    if (!dm_task_set_major(dmt, (int)major(dev)) || !dm_task_set_minor(dmt, (int)minor(dev)))
        goto out;
    dm_task_no_open_count(dmt);
    if (!dm_task_run(dmt))
        goto out;
    uint64_t start, length;
    char *type = NULL, *params = NULL;
    dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
    r = type != NULL && strcmp(type, "multipath") == 0;
out:
    dm_task_destroy(dmt);
    return r;
}

static int system_is_multipath(dev_t dev)
{
    char path[PATH_MAX], uuid[160];
    snprintf(path, sizeof(path), "%s/dev/block/%u:%u/dm/uuid", sys_root, major(dev), minor(dev));
    int r = read_attr(path, uuid, sizeof(uuid));
    if (r == -ENOENT || r == -ENOTDIR)
        return 0; /* not a device-mapper device */
    if (r == 0 && strncmp(uuid, "mpath-", 6) == 0)
        return 1;
    /* Maps other tools own are never multipath: no device-mapper ioctl. */
    static const char *const others[] = { "LVM-", "CRYPT-", "part", "DMRAID-", "stratis-" };
    for (size_t i = 0; r == 0 && i < sizeof(others) / sizeof(others[0]); i++)
        if (strncmp(uuid, others[i], strlen(others[i])) == 0)
            return 0;
    r = dm_table_is_multipath(dev);
    if (r < 0) {
        prh_log(1, "mpath: cannot read the device-mapper table of dm %u:%u (%s); "
                   "treated as a single-path device",
                major(dev), minor(dev), strerror(-r));
        return 0;
    }
    return r;
}

static int path_cmp(const void *a, const void *b)
{
    const struct prh_mpath_path_info *x = a, *y = b;
    size_t lx = strlen(x->name), ly = strlen(y->name);
    if (lx != ly)
        return lx < ly ? -1 : 1; /* sdz before sdaa, as the kernel names them */
    return strcmp(x->name, y->name);
}

static int system_list_paths(dev_t map, struct prh_mpath_path_info *paths, size_t max)
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
        struct prh_mpath_path_info *p = &paths[n];
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
        n++;
    }
    closedir(d);
    qsort(paths, n, sizeof(paths[0]), path_cmp);
    return (int)n;
}

static int system_open_path(const struct prh_mpath_path_info *p)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dev_root, p->name);
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
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

const struct prh_mpath_ops prh_mpath_system_ops = {
    .is_multipath = system_is_multipath,
    .list_paths = system_list_paths,
    .open_path = system_open_path,
    .close_path = system_close_path,
};

const char *const prh_mpath_syscalls[] = {
    /* open/openat: existing files only (sysfs, /dev/sdX), never O_CREAT */
    "open", "openat", "read", "close", "getdents64", "fstat", "newfstatat",
    /* libdevmapper, for maps without an "mpath-" uuid */
    "uname", "stat",
    NULL,
};

static const struct prh_mpath_ops *mp_ops = &prh_mpath_system_ops;

void prh_mpath_set_ops(const struct prh_mpath_ops *ops)
{
    mp_ops = ops != NULL ? ops : &prh_mpath_system_ops;
}

int prh_mpath_is_multipath(dev_t dev)
{
    return mp_ops->is_multipath(dev);
}

/* ---- state ------------------------------------------------------------- */

struct mp_path {
    char name[32];
    dev_t dev;
    bool running;
    bool in_sync;
    int last_error;
};

struct mp_map {
    dev_t dev;
    pthread_mutex_t lock;
    bool key_known;
    uint64_t key;
    uint8_t aptpl;  /* APTPL bit of the last REGISTER, reused to re-register */
    struct mp_path paths[PRH_MPATH_MAX_PATHS];
    size_t npaths;
    struct mp_map *next;
};

struct mp_state {
    unsigned timeout_ms;
    pthread_mutex_t lock;
    struct mp_map *maps;
};

/* One open: a map, or (map NULL) a plain device handled like sg. */
struct mp_dev {
    int fd;
    struct mp_map *map;
};

static int mp_init(const struct prh_transport_options *opts, void **state, char *errmsg,
                   size_t errmsg_len)
{
    (void)errmsg;
    (void)errmsg_len;
    struct mp_state *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->timeout_ms = opts != NULL && opts->sg_timeout_ms != 0 ? opts->sg_timeout_ms
                                                             : PRH_SG_DEFAULT_TIMEOUT_MS;
    pthread_mutex_init(&s->lock, NULL);
    *state = s;
    return 0;
}

static void mp_fini(void *state)
{
    struct mp_state *s = state;
    if (s == NULL)
        return;
    while (s->maps != NULL) {
        struct mp_map *m = s->maps;
        s->maps = m->next;
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static struct mp_map *map_find(struct mp_state *s, dev_t dev, bool create)
{
    pthread_mutex_lock(&s->lock);
    struct mp_map *m;
    for (m = s->maps; m != NULL; m = m->next)
        if (m->dev == dev)
            break;
    if (m == NULL && create) {
        m = calloc(1, sizeof(*m));
        if (m != NULL) {
            m->dev = dev;
            pthread_mutex_init(&m->lock, NULL);
            m->next = s->maps;
            s->maps = m;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return m;
}

int prh_mpath_map_status(void *state, dev_t map, bool *key_known, uint64_t *key,
                         struct prh_mpath_path_status *st, size_t max)
{
    struct mp_map *m = map_find(state, map, false);
    if (m == NULL)
        return -ENOENT;
    pthread_mutex_lock(&m->lock);
    *key_known = m->key_known;
    *key = m->key;
    size_t n = m->npaths < max ? m->npaths : max;
    for (size_t i = 0; i < n; i++) {
        snprintf(st[i].name, sizeof(st[i].name), "%s", m->paths[i].name);
        st[i].in_sync = m->paths[i].in_sync;
        st[i].last_error = m->paths[i].last_error;
    }
    pthread_mutex_unlock(&m->lock);
    return (int)n;
}

/* ---- nexus: the host's own, as for sg ---------------------------------- */

static char mp_nexus_token;

static void *mp_nexus_new(void *state, const struct prh_peer *peer)
{
    (void)state;
    (void)peer;
    return &mp_nexus_token;
}

static void mp_nexus_free(void *state, void *nexus)
{
    (void)state;
    (void)nexus;
}

static void mp_nexus_describe(void *state, void *nexus, char *buf, size_t len)
{
    (void)state;
    (void)nexus;
    snprintf(buf, len, "host initiator ports of every path");
}

/* ---- the path layer ---------------------------------------------------- */

/* No path could take the command: what libmpathpersist's callers answer
 * for a failure that is not the device's (wire-protocol.md 7.3). */
static struct prh_result no_path_result(void)
{
    return prh_result_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00));
}

static bool result_sense(const struct prh_result *res, struct scsi_sense *s)
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

static bool result_good(const struct prh_result *res)
{
    return (res->kind == PRH_RESULT_STATUS || res->kind == PRH_RESULT_RAW_SENSE) &&
           res->status == SCSI_STATUS_GOOD;
}

static bool result_conflict(const struct prh_result *res)
{
    return (res->kind == PRH_RESULT_STATUS || res->kind == PRH_RESULT_RAW_SENSE) &&
           res->status == SCSI_STATUS_RESERVATION_CONFLICT;
}

/*
 * One command on one path.  0: the device answered (res, which may be an
 * error of its own); -1: the path failed (res says how).  Unit attentions
 * are consumed and the command sent again; NOT READY "LUN not accessible"
 * (ALUA standby, transitioning, unavailable) counts as a path failure.
 */
static int path_cmd(struct mp_state *s, struct mp_path *p, const struct prh_request *req,
                    uint8_t *data, uint32_t len, struct prh_result *res)
{
    struct prh_mpath_path_info info;
    snprintf(info.name, sizeof(info.name), "%s", p->name);
    info.dev = p->dev;
    info.running = p->running;
    int fd = mp_ops->open_path(&info);
    if (fd < 0) {
        *res = prh_result_errno(-fd);
        p->last_error = fd;
        prh_log(2, "mpath: cannot open path %s: %s", p->name, strerror(-fd));
        return -1;
    }
    int r = 0;
    for (int attempt = 0;; attempt++) {
        if (prh_sg_execute(fd, req, data, len, s->timeout_ms, res) < 0) {
            r = -1;
            break;
        }
        struct scsi_sense sk;
        if (!result_sense(res, &sk))
            break;
        if (sk.key == SCSI_SENSE_UNIT_ATTENTION && attempt < PRH_MPATH_UA_RETRIES) {
            prh_log(2, "mpath: path %s: unit attention %02xh/%02xh consumed, retrying",
                    p->name, sk.asc, sk.ascq);
            continue;
        }
        if (sk.key == SCSI_SENSE_NOT_READY && sk.asc == 0x04 &&
            (sk.ascq == 0x0a || sk.ascq == 0x0b || sk.ascq == 0x0c))
            r = -1;
        break;
    }
    mp_ops->close_path(fd);
    if (r < 0) {
        p->last_error = res->kind == PRH_RESULT_ERRNO ? -res->err : -EIO;
        prh_log(2, "mpath: path %s failed the command; skipped", p->name);
    } else {
        p->last_error = 0;
    }
    return r;
}

/* Re-read the map's paths from the system, keeping what we knew of each. */
static int refresh_paths(struct mp_map *m)
{
    struct prh_mpath_path_info info[PRH_MPATH_MAX_PATHS];
    int n = mp_ops->list_paths(m->dev, info, PRH_MPATH_MAX_PATHS);
    if (n < 0)
        return n;
    struct mp_path next[PRH_MPATH_MAX_PATHS];
    for (int i = 0; i < n; i++) {
        struct mp_path *p = &next[i];
        memset(p, 0, sizeof(*p));
        /* Path names are kernel device names (sdX): bounded copy. */
        snprintf(p->name, sizeof(p->name), "%.*s", (int)sizeof(p->name) - 1, info[i].name);
        p->dev = info[i].dev;
        p->running = info[i].running;
        /* A path we have not seen carries the key only if no key is
         * known (then there is nothing to give it). */
        p->in_sync = !m->key_known;
        for (size_t j = 0; j < m->npaths; j++) {
            if (m->paths[j].dev == p->dev && strcmp(m->paths[j].name, p->name) == 0) {
                p->in_sync = m->paths[j].in_sync;
                p->last_error = m->paths[j].last_error;
                break;
            }
        }
        if (!p->running) {
            /* It re-registers when it is back (harmless if nothing
             * changed meanwhile). */
            if (m->key_known)
                p->in_sync = false;
            if (p->last_error == 0)
                p->last_error = -ENOLINK;
        }
    }
    memcpy(m->paths, next, (size_t)n * sizeof(next[0]));
    m->npaths = (size_t)n;
    return 0;
}

/* A REGISTER AND IGNORE EXISTING KEY request giving the path key sark. */
static void make_register(struct prh_request *sub, uint8_t params[24], const uint8_t *cdb,
                          uint64_t sark, uint8_t flags)
{
    memset(sub, 0, sizeof(*sub));
    memset(params, 0, 24);
    sub->cdb[0] = cdb[0];
    sub->cdb[1] = PR_OUT_REGISTER_AND_IGNORE;
    scsi_put_be32(&sub->cdb[5], 24);
    scsi_put_be64(&params[8], sark);
    params[20] = flags;
    sub->fd = -1;
    sub->xfer_len = 24;
    sub->params = params;
}

static void set_path_key(struct mp_state *s, struct mp_map *m, struct mp_path *p, uint64_t key,
                         uint8_t aptpl)
{
    static const uint8_t pr_out_cdb[1] = { 0x5f };
    struct prh_request sub;
    uint8_t params[24];
    struct prh_result res;
    make_register(&sub, params, pr_out_cdb, key, aptpl);
    if (path_cmd(s, p, &sub, params, 24, &res) == 0 && result_good(&res)) {
        p->in_sync = true;
        prh_log(2, "mpath: path %s now carries key 0x%llx", p->name, (unsigned long long)key);
    } else {
        p->in_sync = false;
        if (p->last_error == 0)
            p->last_error = -EIO;
        prh_error("mpath: dm %u:%u: could not set key 0x%llx on path %s; will try again",
                  major(m->dev), minor(m->dev), (unsigned long long)key, p->name);
    }
}

/* Give every usable path that missed a change the map's key. */
static void resync(struct mp_state *s, struct mp_map *m)
{
    if (!m->key_known)
        return;
    for (size_t i = 0; i < m->npaths; i++) {
        struct mp_path *p = &m->paths[i];
        if (p->running && !p->in_sync)
            set_path_key(s, m, p, m->key, m->aptpl);
    }
}

/* ---- PR IN ------------------------------------------------------------- */

static int plain_fd_check(const struct stat *st, struct prh_result *res)
{
    int r = prh_sg_check_fd(st);
    if (r < 0) {
        *res = prh_result_errno(-r);
        return -1;
    }
    return 0;
}

static int mp_open(void *state, void *nexus, int fd, const struct stat *st, void **dev,
                   struct prh_result *res)
{
    (void)nexus;
    struct mp_map *m = NULL;
    if (S_ISBLK(st->st_mode)) {
        int r = mp_ops->is_multipath(st->st_rdev);
        if (r < 0) {
            *res = prh_result_errno(-r);
            return -1;
        }
        if (r == 1) {
            m = map_find(state, st->st_rdev, true);
            if (m == NULL) {
                *res = prh_result_errno(ENOMEM);
                return -1;
            }
        }
    }
    if (m == NULL && plain_fd_check(st, res) < 0)
        return -1;
    struct mp_dev *d = malloc(sizeof(*d));
    if (d == NULL) {
        *res = prh_result_errno(ENOMEM);
        return -1;
    }
    d->fd = fd;
    d->map = m;
    *dev = d;
    return 0;
}

static void mp_close(void *state, void *nexus, void *dev)
{
    (void)state;
    (void)nexus;
    free(dev);
}

static void map_pr_in(struct mp_state *s, struct mp_map *m, const struct prh_request *req,
                      uint8_t *data, uint32_t len, struct prh_result *res)
{
    int r = refresh_paths(m);
    if (r < 0) {
        *res = prh_result_errno(-r);
        return;
    }
    bool tried = false;
    for (size_t i = 0; i < m->npaths; i++) {
        struct mp_path *p = &m->paths[i];
        if (!p->running)
            continue;
        tried = true;
        if (path_cmd(s, p, req, data, len, res) == 0)
            return;
    }
    if (!tried)
        *res = no_path_result();
}

static void mp_pr_in(void *state, void *nexus, void *dev, const struct prh_request *req,
                     uint8_t *data, size_t cap, struct prh_result *res)
{
    (void)nexus;
    struct mp_state *s = state;
    struct mp_dev *d = dev;
    uint32_t len = req->xfer_len < cap ? req->xfer_len : (uint32_t)cap;
    if (d->map == NULL) {
        prh_sg_execute(d->fd, req, data, len, s->timeout_ms, res);
        return;
    }
    pthread_mutex_lock(&d->map->lock);
    map_pr_in(s, d->map, req, data, len, res);
    pthread_mutex_unlock(&d->map->lock);
}

/* ---- PR OUT ------------------------------------------------------------ */

struct out_ctx {
    struct mp_state *s;
    struct mp_map *m;
    const struct prh_request *req;
    unsigned sa;
    bool have_keys; /* parameter list long enough for RK / SARK */
    uint64_t rk, sark;
    uint8_t flags;
};

static int send_on(struct out_ctx *c, struct mp_path *p, const struct prh_request *req,
                   struct prh_result *res)
{
    /* The parameter list is only read: struct sg_io_hdr cannot say so. */
    return path_cmd(c->s, p, req, (uint8_t *)(uintptr_t)req->params, req->xfer_len, res);
}

/*
 * REGISTER / REGISTER AND IGNORE EXISTING KEY: every usable path, in
 * order.  Path failures are skipped (the path re-registers later); a
 * device error after some paths took the new key is completed on that
 * path (REGISTER AND IGNORE) or, failing that, rolled back everywhere.
 */
static void out_register(struct out_ctx *c, struct prh_result *res)
{
    struct mp_map *m = c->m;
    bool was_known = m->key_known;
    uint64_t old_key = c->sa == PR_OUT_REGISTER ? c->rk : (m->key_known ? m->key : 0);
    bool done[PRH_MPATH_MAX_PATHS] = { false };
    bool any_done = false, tried = false;
    struct prh_result first_good = prh_result_status(SCSI_STATUS_GOOD);

    /* SPEC_I_PT registers other initiators too: only once, on the first
     * path that takes it; the other paths get the plain 24-byte list. */
    struct prh_request plain = *c->req;
    uint8_t plain_params[24];
    if (c->flags & PR_OUT_FLAG_SPEC_I_PT) {
        memcpy(plain_params, c->req->params, 24);
        plain_params[20] &= (uint8_t)~PR_OUT_FLAG_SPEC_I_PT;
        scsi_put_be32(&plain.cdb[5], 24);
        plain.xfer_len = 24;
        plain.params = plain_params;
    }

    for (size_t i = 0; i < m->npaths; i++) {
        struct mp_path *p = &m->paths[i];
        if (!p->running) {
            p->in_sync = false;
            prh_log(2, "mpath: path %s is not running; it registers when it is back",
                    p->name);
            continue;
        }
        tried = true;
        const struct prh_request *req = any_done ? &plain : c->req;
        struct prh_result r;
        if (send_on(c, p, req, &r) < 0) {
            p->in_sync = false;
            *res = r;
            continue;
        }
        if (result_good(&r)) {
            if (!any_done)
                first_good = r;
            done[i] = any_done = true;
            p->in_sync = true;
            continue;
        }
        if (!any_done) {
            /* The first answer is the device's verdict; nothing changed. */
            *res = r;
            return;
        }
        /* The paths disagreed: this one did not carry what the others
         * did.  Complete it by force, else roll the others back. */
        if (c->sa == PR_OUT_REGISTER) {
            struct prh_request force;
            uint8_t fp[24];
            make_register(&force, fp, c->req->cdb, c->sark, c->flags & PR_OUT_FLAG_APTPL);
            struct prh_result r2;
            if (send_on(c, p, &force, &r2) == 0 && result_good(&r2)) {
                prh_log(1, "mpath: path %s held another key; REGISTER completed on it",
                        p->name);
                done[i] = true;
                p->in_sync = true;
                continue;
            }
        }
        prh_error("mpath: dm %u:%u: path %s refused %s after other paths took it; "
                  "rolling back",
                  major(m->dev), minor(m->dev), p->name, pr_out_sa_name(c->sa));
        for (size_t j = 0; j < i; j++)
            if (done[j])
                set_path_key(c->s, m, &m->paths[j], old_key, m->aptpl);
        m->key = old_key;
        m->key_known = was_known || c->sa == PR_OUT_REGISTER;
        *res = r;
        return;
    }
    if (!any_done) {
        if (!tried)
            *res = no_path_result();
        return;
    }
    m->key = c->sark;
    m->key_known = true;
    m->aptpl = c->flags & PR_OUT_FLAG_APTPL;
    *res = first_good;
}

/* READ RESERVATION on path p: 1 held by key with type, 0 not, -1 error. */
static int reservation_is(struct out_ctx *c, struct mp_path *p, uint64_t key, unsigned type)
{
    struct prh_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.cdb[0] = 0x5e;
    rq.cdb[1] = PR_IN_READ_RESERVATION;
    scsi_put_be16(&rq.cdb[7], 24);
    rq.fd = -1;
    rq.xfer_len = 24;
    uint8_t data[24] = { 0 };
    struct prh_result r;
    if (path_cmd(c->s, p, &rq, data, 24, &r) < 0 || !result_good(&r))
        return -1;
    if (r.data_len < 24 || scsi_get_be32(&data[4]) < 16)
        return 0;
    return scsi_get_be64(&data[8]) == key && (data[21] & 0x0f) == type;
}

/* After a successful one-path command: keep the other paths' keys right. */
static void after_single(struct out_ctx *c, size_t sent_on)
{
    struct mp_map *m = c->m;
    switch (c->sa) {
    case PR_OUT_PREEMPT:
    case PR_OUT_PREEMPT_AND_ABORT:
        if (!c->have_keys || c->sark != c->rk)
            return;
        /* Preempting our own key removed it from every other nexus. */
        m->key = c->rk;
        m->key_known = true;
        break;
    case PR_OUT_CLEAR:
        /* Every registration of every nexus is gone, reachable or not. */
        m->key = 0;
        m->key_known = true;
        for (size_t i = 0; i < m->npaths; i++)
            m->paths[i].in_sync = true;
        return;
    case PR_OUT_REGISTER_AND_MOVE:
        if (!c->have_keys || !(c->req->params[17] & 0x02))
            return;
        /* UNREG: the sending nexus let its key go; the others follow. */
        m->key = 0;
        m->key_known = true;
        break;
    default:
        return;
    }
    for (size_t i = 0; i < m->npaths; i++)
        m->paths[i].in_sync = i == sent_on;
    resync(c->s, m);
}

/* RESERVE, CLEAR, PREEMPT (AND ABORT), REGISTER AND MOVE and the rest:
 * the first path that delivers it; on to the next on path failures. */
static void out_single(struct out_ctx *c, struct prh_result *res)
{
    struct mp_map *m = c->m;
    bool tried = false, failed_before = false;
    for (size_t i = 0; i < m->npaths; i++) {
        struct mp_path *p = &m->paths[i];
        if (!p->running)
            continue;
        tried = true;
        if (send_on(c, p, c->req, res) < 0) {
            failed_before = true;
            continue;
        }
        /* The reservation may be held by this host already through
         * another of its paths (an earlier RESERVE, or one that reached
         * the device before its path failed): the device sees another
         * nexus and conflicts; the host holds what it asked for. */
        if (c->sa == PR_OUT_RESERVE && result_conflict(res) && c->have_keys &&
            reservation_is(c, p, c->rk, c->req->cdb[2] & 0x0fu) == 1) {
            prh_log(2, "mpath: RESERVE: already held by key 0x%llx through another path%s",
                    (unsigned long long)c->rk,
                    failed_before ? " (it reached the device before its path failed)" : "");
            *res = prh_result_status(SCSI_STATUS_GOOD);
        }
        if (result_good(res))
            after_single(c, i);
        return;
    }
    if (!tried)
        *res = no_path_result();
}

/*
 * RELEASE: only the holder's nexus releases, and the holder is whichever
 * path RESERVE went down, so it goes down every usable path (a registered
 * non-holder gets GOOD and nothing happens).  If the holder's path is
 * unreachable, the reservation is moved to a live path by preempting our
 * own key, released there, and the other paths re-registered.
 */
static void out_release(struct out_ctx *c, struct prh_result *res)
{
    struct mp_map *m = c->m;
    bool any_good = false, missed = false, tried = false;
    bool have_error = false;
    struct prh_result good = prh_result_status(SCSI_STATUS_GOOD);
    size_t live = 0;
    for (size_t i = 0; i < m->npaths; i++) {
        struct mp_path *p = &m->paths[i];
        if (!p->running) {
            missed = true;
            continue;
        }
        tried = true;
        struct prh_result r;
        if (send_on(c, p, c->req, &r) < 0) {
            missed = true;
            if (!have_error && !any_good)
                *res = r;
            continue;
        }
        if (result_good(&r)) {
            if (!any_good) {
                good = r;
                live = i;
            }
            any_good = true;
        } else if (!have_error) {
            have_error = true;
            *res = r;
        }
    }
    if (!tried) {
        *res = no_path_result();
        return;
    }
    if (have_error || !any_good)
        return;
    *res = good;
    unsigned type = c->req->cdb[2] & 0x0fu;
    if (!missed || !c->have_keys || reservation_is(c, &m->paths[live], c->rk, type) != 1)
        return;
    /* Still held by our key: the holder nexus is behind a dead path. */
    prh_log(1, "mpath: the reservation holder's path is down; moving the reservation "
               "to path %s to release it", m->paths[live].name);
    struct prh_request pre = *c->req;
    uint8_t pp[24] = { 0 };
    pre.cdb[1] = PR_OUT_PREEMPT;
    scsi_put_be32(&pre.cdb[5], 24);
    scsi_put_be64(&pp[0], c->rk);
    scsi_put_be64(&pp[8], c->rk);
    pre.params = pp;
    pre.xfer_len = 24;
    struct prh_result r;
    if (send_on(c, &m->paths[live], &pre, &r) < 0 || !result_good(&r)) {
        *res = r;
        return;
    }
    m->key = c->rk;
    m->key_known = true;
    for (size_t i = 0; i < m->npaths; i++)
        m->paths[i].in_sync = i == live;
    if (send_on(c, &m->paths[live], c->req, &r) < 0 || !result_good(&r))
        *res = r;
    resync(c->s, m);
}

static void map_pr_out(struct mp_state *s, struct mp_map *m, const struct prh_request *req,
                       struct prh_result *res)
{
    int r = refresh_paths(m);
    if (r < 0) {
        *res = prh_result_errno(-r);
        return;
    }
    struct out_ctx c = { .s = s, .m = m, .req = req, .sa = req->cdb[1] & 0x1fu };
    if (req->xfer_len >= 24 && req->params != NULL) {
        c.have_keys = true;
        c.rk = scsi_get_be64(&req->params[0]);
        c.sark = scsi_get_be64(&req->params[8]);
        c.flags = req->params[20];
    }
    resync(s, m);
    if ((c.sa == PR_OUT_REGISTER || c.sa == PR_OUT_REGISTER_AND_IGNORE) && c.have_keys)
        out_register(&c, res);
    else if (c.sa == PR_OUT_RELEASE)
        out_release(&c, res);
    else
        out_single(&c, res);
}

static void mp_pr_out(void *state, void *nexus, void *dev, const struct prh_request *req,
                      struct prh_result *res)
{
    (void)nexus;
    struct mp_state *s = state;
    struct mp_dev *d = dev;
    if (d->map == NULL) {
        prh_sg_execute(d->fd, req, (uint8_t *)(uintptr_t)req->params, req->xfer_len,
                       s->timeout_ms, res);
    } else {
        pthread_mutex_lock(&d->map->lock);
        map_pr_out(s, d->map, req, res);
        pthread_mutex_unlock(&d->map->lock);
    }
    res->data_len = 0;
}

const struct prh_transport prh_transport_mpath = {
    .struct_size = sizeof(struct prh_transport),
    .api_version = PRH_TRANSPORT_API_VERSION,
    .name = "mpath",
    .version = PRH_VERSION,
    .description = "persistent reservations on every path of a dm-multipath device",
    .available = true,
    .capabilities = 1ull << CAP_SYS_RAWIO | 1ull << CAP_SYS_ADMIN,
    .init = mp_init,
    .fini = mp_fini,
    .nexus_new = mp_nexus_new,
    .nexus_free = mp_nexus_free,
    .nexus_describe = mp_nexus_describe,
    .open = mp_open,
    .pr_in = mp_pr_in,
    .pr_out = mp_pr_out,
    .close = mp_close,
};
