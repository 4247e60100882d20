/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.c - prhelper-tcmu's devices, LUNs and loop
 * (include/prhelper/tcmu_daemon.h).
 *
 * Kernel facts used here (drivers/target/target_core_user.c): the UIO
 * device is opened by one process at a time (a second open gets EBUSY);
 * its one map is the whole mailbox + ring + data area and must be mapped
 * whole; a read() returns the event count, a write() makes the kernel
 * collect completions; commands left on the ring by a handler that went
 * away stay there until someone answers them (or the kernel's
 * cmd_time_out, 30 s by default, fails them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon_internal.h"
#include "prhelper/log.h"
#include "prhelper/transport_sim.h"

#define TMR_LUN_RESET 5 /* TCMU_TMR_LUN_RESET */

uint64_t tcmu_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int copy_path(char *dst, size_t cap, const char *src, const char *dflt)
{
    return snprintf(dst, cap, "%s", src ? src : dflt) < (int)cap ? 0 : -1;
}

struct tcmu_daemon *tcmu_daemon_new(const struct tcmu_daemon_config *cfg, char *errmsg, size_t len)
{
    if (cfg->state_dir == NULL || cfg->state_dir[0] != '/') {
        snprintf(errmsg, len, "the state directory must be an absolute path");
        return NULL;
    }
    if (cfg->data_dir != NULL && cfg->data_dir[0] != '/') {
        snprintf(errmsg, len, "the data directory must be an absolute path");
        return NULL;
    }
    struct tcmu_daemon *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(errmsg, len, "out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    if (copy_path(d->state_dir, sizeof(d->state_dir), cfg->state_dir, "") < 0 ||
        copy_path(d->data_dir, sizeof(d->data_dir), cfg->data_dir, cfg->state_dir) < 0 ||
        copy_path(d->sysfs, sizeof(d->sysfs), cfg->sysfs, "/sys") < 0 ||
        copy_path(d->configfs, sizeof(d->configfs), cfg->configfs, "/sys/kernel/config") < 0 ||
        copy_path(d->devdir, sizeof(d->devdir), cfg->devdir, "/dev") < 0) {
        snprintf(errmsg, len, "a directory path is too long");
        free(d);
        return NULL;
    }
    const char *dirs[2] = { d->state_dir, d->data_dir };
    for (int i = 0; i < 2; i++) {
        int r = pr_sim_store_make_dir(dirs[i], 0700);
        if (r < 0) {
            snprintf(errmsg, len, "cannot create directory '%s': %s", dirs[i], strerror(-r));
            free(d);
            return NULL;
        }
    }
    d->faults = prh_faults_new(PRH_FAULTS_LUN_COMMANDS);
    if (d->faults == NULL) {
        snprintf(errmsg, len, "out of memory");
        free(d);
        return NULL;
    }
    if (d->cfg.rescan_ms == 0)
        d->cfg.rescan_ms = 1000;
    d->cfg.state_dir = d->state_dir;
    d->cfg.data_dir = d->data_dir;
    /* Recursive: the public entry points lock, and the loop calls them
     * with the lock held. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&d->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    return d;
}

void tcmu_daemon_set_netlink(struct tcmu_daemon *d, struct tcmu_nl *nl)
{
    d->nl = nl;
}

/* ---- small file reads (sysfs, configfs) ------------------------------------------ */

static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, cap - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

static int read_u64(const char *path, uint64_t *v)
{
    char buf[64], *end;
    int r = read_small(path, buf, sizeof(buf));
    if (r < 0)
        return r;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 0);
    if (errno || end == buf || *end)
        return -EINVAL;
    *v = x;
    return 0;
}

static int attrib_path(const struct tcmu_daemon *d, const struct tcmu_backstore *bs,
                       const char *attr, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/target/core/user_%u/%s/attrib/%s", d->configfs, bs->hba,
                     bs->name, attr);
    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

/* attrib/nl_reply_supported: > 0 when the kernel waits for our answers. */
static int nl_reply_of(const struct tcmu_daemon *d, const struct tcmu_backstore *bs)
{
    char path[8192], buf[32];
    if (attrib_path(d, bs, "nl_reply_supported", path, sizeof(path)) < 0 ||
        read_small(path, buf, sizeof(buf)) < 0)
        return 0;
    return atoi(buf);
}

/* ---- LUNs ---------------------------------------------------------------------------- */

struct lun_ref *tcmu_lun_find(struct tcmu_daemon *d, const char *name)
{
    for (struct lun_ref *l = d->luns; l; l = l->next)
        if (strcmp(prh_simlun_name(l->lun), name) == 0)
            return l;
    return NULL;
}

/* The LUN a backstore names, opened with its size on first use. */
static struct lun_ref *lun_get(struct tcmu_daemon *d, const struct tcmu_backstore *bs,
                               char *errmsg, size_t len)
{
    char path[8192];
    uint64_t size = 0, bsize = 512;

    if (attrib_path(d, bs, "dev_size", path, sizeof(path)) < 0 || read_u64(path, &size) < 0 ||
        size == 0) {
        snprintf(errmsg, len, "cannot read a dev_size from %s (write dev_size=BYTES to the "
                 "backstore's control file)", path);
        return NULL;
    }
    if (attrib_path(d, bs, "hw_block_size", path, sizeof(path)) == 0 &&
        read_u64(path, &bsize) < 0)
        bsize = 512;
    struct lun_ref *l = tcmu_lun_find(d, bs->lun);
    if (l != NULL) {
        if (prh_simlun_size(l->lun) != size || prh_simlun_block_size(l->lun) != bsize) {
            snprintf(errmsg, len, "LUN %s is %" PRIu64 " bytes in blocks of %u, but this "
                     "backstore says %" PRIu64 " in blocks of %" PRIu64 ": every backstore of "
                     "a LUN must have the same dev_size and hw_block_size", bs->lun,
                     prh_simlun_size(l->lun), prh_simlun_block_size(l->lun), size, bsize);
            return NULL;
        }
        return l;
    }
    struct prh_simlun_config lc = {
        .name = bs->lun,
        .state_dir = d->state_dir,
        .data_dir = d->data_dir,
        .profile = d->cfg.profile,
        .size = size,
        .block_size = (uint32_t)bsize,
        .write_cache = d->cfg.write_cache,
        /* 0: the same default bound as prhelper --transport=sim. */
        .max_registrations = d->cfg.max_registrations ? d->cfg.max_registrations
                                                      : PRH_SIM_DEFAULT_MAX_REGISTRATIONS,
    };
    if (bsize > 65536) {
        snprintf(errmsg, len, "hw_block_size %" PRIu64 " is not supported", bsize);
        return NULL;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        snprintf(errmsg, len, "out of memory");
        return NULL;
    }
    l->lun = prh_simlun_open(&lc, errmsg, len);
    if (l->lun == NULL) {
        free(l);
        return NULL;
    }
    l->next = d->luns;
    d->luns = l;
    prh_log(1, "LUN %s: %" PRIu64 " bytes, blocks of %" PRIu64 ", profile %s", bs->lun, size,
            bsize, pr_sim_profile_name(d->cfg.profile));
    return l;
}

static void lun_put(struct tcmu_daemon *d, struct lun_ref *l)
{
    if (--l->users > 0)
        return;
    for (struct lun_ref **pp = &d->luns; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    prh_log(1, "LUN %s: its last backstore is gone; closed", prh_simlun_name(l->lun));
    prh_simlun_close(l->lun);
    free(l);
}

/* ---- devices ---------------------------------------------------------------------------- */

static struct tcmu_dev *dev_find(struct tcmu_daemon *d, unsigned minor)
{
    for (struct tcmu_dev *v = d->devs; v; v = v->next)
        if (v->minor == minor)
            return v;
    return NULL;
}

static void dev_close(struct tcmu_dev *v)
{
    tcmu_ring_detach(&v->ring);
    if (v->map != NULL && v->map != MAP_FAILED)
        munmap(v->map, v->map_size);
    if (v->fd >= 0)
        close(v->fd);
    free(v);
}

/* Open and map the UIO device of v. */
static int dev_open(struct tcmu_daemon *d, struct tcmu_dev *v, char *errmsg, size_t len)
{
    char path[8192], mpath[8192];
    uint64_t size = 0;

    snprintf(path, sizeof(path), "%s/uio%u", d->devdir, v->minor);
    v->fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (v->fd < 0) {
        int e = errno;
        snprintf(errmsg, len, e == EBUSY ? "%s is open in another process (is tcmu-runner "
                                           "serving it?)" : "cannot open %s: %s",
                 path, strerror(e));
        return -e;
    }
    int mfd = v->fd;
    if (d->cfg.fake_uio) {
        snprintf(mpath, sizeof(mpath), "%s/uio%u.map", d->devdir, v->minor);
        mfd = open(mpath, O_RDWR | O_CLOEXEC);
        if (mfd < 0) {
            int e = errno;
            snprintf(errmsg, len, "cannot open %s: %s", mpath, strerror(e));
            return -e;
        }
    }
    snprintf(mpath, sizeof(mpath), "%s/class/uio/uio%u/maps/map0/size", d->sysfs, v->minor);
    int r = read_u64(mpath, &size);
    if (r < 0 || size < TCMU_RING_MAILBOX_SIZE || size > ((uint64_t)1 << 40)) {
        snprintf(errmsg, len, "cannot read a map size from %s", mpath);
        if (mfd != v->fd)
            close(mfd);
        return r < 0 ? r : -EINVAL;
    }
    v->map_size = (size_t)size;
    v->map = mmap(NULL, v->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    int e = errno;
    if (mfd != v->fd)
        close(mfd);
    if (v->map == MAP_FAILED) {
        v->map = NULL;
        snprintf(errmsg, len, "cannot map %s (%zu bytes): %s", path, v->map_size, strerror(e));
        return -e;
    }
    if (tcmu_ring_attach(&v->ring, v->map, v->map_size) < 0) {
        snprintf(errmsg, len, "%s: %s", path, v->ring.errmsg);
        return -EPROTO;
    }
    return 0;
}

static void forget_failure(struct tcmu_daemon *d, unsigned minor)
{
    for (struct failed_dev **pp = &d->failed; *pp; pp = &(*pp)->next)
        if ((*pp)->minor == minor) {
            struct failed_dev *f = *pp;
            *pp = f->next;
            free(f);
            return;
        }
}

/* Remember a failed device; true when it is news (to be logged). */
static bool note_failure(struct tcmu_daemon *d, unsigned minor, const char *name, int nl_reply)
{
    for (struct failed_dev *f = d->failed; f; f = f->next)
        if (f->minor == minor) {
            if (strcmp(f->name, name) == 0)
                return false;
            snprintf(f->name, sizeof(f->name), "%s", name);
            f->nl_reply = nl_reply;
            return true;
        }
    struct failed_dev *f = calloc(1, sizeof(*f));
    if (f != NULL) {
        f->minor = minor;
        f->nl_reply = nl_reply;
        snprintf(f->name, sizeof(f->name), "%s", name);
        f->next = d->failed;
        d->failed = f;
    }
    return true;
}

static void service(struct tcmu_daemon *d, struct tcmu_dev *v);
static int remove_locked(struct tcmu_daemon *d, unsigned minor);

static int add_locked(struct tcmu_daemon *d, unsigned minor, const char *uio_name, char *errmsg,
                      size_t len)
{
    struct tcmu_backstore bs;
    char nx[PR_TID_MAX_LEN + 16];

    int p = tcmu_parse_uio_name(uio_name, &bs, errmsg, len);
    if (p == 0)
        return 0;
    if (p < 0)
        return -EINVAL;
    struct tcmu_dev *old = dev_find(d, minor);
    if (old != NULL) {
        if (strcmp(old->bs.name, bs.name) == 0 && old->bs.hba == bs.hba)
            return 0;
        remove_locked(d, minor); /* the minor was reused */
    }
    struct tcmu_dev *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        snprintf(errmsg, len, "out of memory");
        return -ENOMEM;
    }
    v->fd = -1;
    v->minor = minor;
    v->bs = bs;
    tcmu_backstore_path(&bs, v->path, sizeof(v->path));
    tcmu_nexus_string(&bs.nexus, nx, sizeof(nx));
    snprintf(v->who, sizeof(v->who), "%s %s", v->path, nx);
    v->nl_reply = nl_reply_of(d, &bs);
    int r = dev_open(d, v, errmsg, len);
    if (r < 0) {
        dev_close(v);
        return r;
    }
    v->lun = lun_get(d, &bs, errmsg, len);
    if (v->lun == NULL) {
        dev_close(v);
        return -EINVAL;
    }
    v->lun->users++;
    /* Kept in UIO minor order, so 'ctl devices' and 'ctl access' list the
     * backstores in the order they were created, however they were found. */
    struct tcmu_dev **pp = &d->devs;
    while (*pp && (*pp)->minor < minor)
        pp = &(*pp)->next;
    v->next = *pp;
    *pp = v;
    forget_failure(d, minor);
    prh_log(1, "serving %s (uio%u) as nexus %s of LUN %s", v->path, minor, nx, bs.lun);
    uint32_t queued = tcmu_ring_pending_bytes(&v->ring);
    if (queued > 0)
        prh_log(1, "%s: answering commands left on its ring (%u bytes)", v->path, queued);
    service(d, v);
    return 1;
}

static int remove_locked(struct tcmu_daemon *d, unsigned minor)
{
    for (struct tcmu_dev **pp = &d->devs; *pp; pp = &(*pp)->next) {
        struct tcmu_dev *v = *pp;
        if (v->minor != minor)
            continue;
        *pp = v->next;
        /* The nexus is lost unless another backstore stands for it too. */
        bool shared = false;
        for (struct tcmu_dev *o = d->devs; o; o = o->next)
            if (o->lun == v->lun && pr_tid_equal(&o->bs.nexus.initiator, &v->bs.nexus.initiator) &&
                o->bs.nexus.rtpi == v->bs.nexus.rtpi)
                shared = true;
        if (!shared)
            prh_simlun_nexus_loss(v->lun->lun, &v->bs.nexus);
        prh_log(1, "no longer serving %s (uio%u)", v->path, minor);
        lun_put(d, v->lun);
        dev_close(v);
        return 0;
    }
    return -ENOENT;
}

static int add_logged(struct tcmu_daemon *d, unsigned minor, const char *name)
{
    char err[512] = "";
    int r = add_locked(d, minor, name, err, sizeof(err));
    if (r < 0) {
        struct tcmu_backstore bs;
        char e2[8];
        int nl = tcmu_parse_uio_name(name, &bs, e2, sizeof(e2)) > 0 ? nl_reply_of(d, &bs) : 0;
        if (note_failure(d, minor, name, nl))
            prh_error("cannot serve uio%u (%s): %s", minor, name, err);
    }
    return r;
}

static int scan_locked(struct tcmu_daemon *d)
{
    char path[8192], name[600];
    int added = 0;

    snprintf(path, sizeof(path), "%s/class/uio", d->sysfs);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return 0; /* no UIO devices at all */
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        char *end;
        if (strncmp(e->d_name, "uio", 3) != 0)
            continue;
        unsigned long minor = strtoul(e->d_name + 3, &end, 10);
        if (end == e->d_name + 3 || *end || minor > 0xfffff)
            continue;
        snprintf(path, sizeof(path), "%s/class/uio/%s/name", d->sysfs, e->d_name);
        if (read_small(path, name, sizeof(name)) < 0)
            continue;
        if (add_logged(d, (unsigned)minor, name) > 0)
            added++;
    }
    closedir(dir);
    /* Backstores removed without an event reaching us (no netlink): the
     * kernel keeps the UIO device while we hold it open, so look at
     * configfs, where rmdir takes the backstore away at once. */
    for (struct tcmu_dev *v = d->devs, *next; v; v = next) {
        next = v->next;
        snprintf(path, sizeof(path), "%s/target/core/user_%u/%s", d->configfs, v->bs.hba,
                 v->bs.name);
        if (access(path, F_OK) < 0 && errno == ENOENT)
            remove_locked(d, v->minor);
    }
    return added;
}

int tcmu_daemon_add(struct tcmu_daemon *d, unsigned minor, const char *uio_name, char *errmsg,
                    size_t len)
{
    pthread_mutex_lock(&d->lock);
    int r = add_locked(d, minor, uio_name, errmsg, len);
    pthread_mutex_unlock(&d->lock);
    return r;
}

int tcmu_daemon_remove(struct tcmu_daemon *d, unsigned minor)
{
    pthread_mutex_lock(&d->lock);
    int r = remove_locked(d, minor);
    pthread_mutex_unlock(&d->lock);
    return r;
}

int tcmu_daemon_scan(struct tcmu_daemon *d)
{
    pthread_mutex_lock(&d->lock);
    int r = scan_locked(d);
    pthread_mutex_unlock(&d->lock);
    return r;
}

/* ---- kernel events ------------------------------------------------------------------------ */

static int reconfigure(struct tcmu_daemon *d, struct tcmu_dev *v, const struct tcmu_nl_event *ev)
{
    char err[256];

    if (ev->has_dev_cfg) {
        struct tcmu_backstore nb = v->bs;
        if (tcmu_parse_dev_config(ev->dev_cfg, &nb, err, sizeof(err)) <= 0 ||
            strcmp(nb.lun, v->bs.lun) != 0 ||
            !pr_tid_equal(&nb.nexus.initiator, &v->bs.nexus.initiator) ||
            nb.nexus.rtpi != v->bs.nexus.rtpi) {
            prh_error("%s: refusing to change dev_config to '%s' while served (remove and "
                      "re-create the backstore instead)", v->path, ev->dev_cfg);
            return -EINVAL;
        }
    }
    if (ev->has_dev_size && ev->dev_size != prh_simlun_size(v->lun->lun)) {
        prh_error("%s: refusing to resize to %" PRIu64 " bytes: LUN %s is shared by all its "
                  "backstores", v->path, ev->dev_size, v->bs.lun);
        return -EINVAL;
    }
    (void)d;
    return 0;
}

void tcmu_daemon_event(struct tcmu_daemon *d, const struct tcmu_nl_event *ev)
{
    int status = 0, nl_reply = 0;
    bool ours = false;

    pthread_mutex_lock(&d->lock);
    struct tcmu_dev *v = dev_find(d, ev->minor);
    switch (ev->cmd) {
    case TCMU_NL_ADDED: {
        struct tcmu_backstore bs;
        char err[8];
        ours = tcmu_parse_uio_name(ev->device, &bs, err, sizeof(err)) != 0;
        if (!ours)
            break;
        status = add_logged(d, ev->minor, ev->device);
        status = status < 0 ? status : 0;
        v = dev_find(d, ev->minor);
        nl_reply = v ? v->nl_reply : nl_reply_of(d, &bs);
        break;
    }
    case TCMU_NL_REMOVED:
        if (v != NULL) {
            ours = true;
            nl_reply = v->nl_reply;
            remove_locked(d, ev->minor);
        } else {
            for (struct failed_dev *f = d->failed; f; f = f->next)
                if (f->minor == ev->minor) {
                    ours = true;
                    nl_reply = f->nl_reply;
                }
            forget_failure(d, ev->minor);
        }
        break;
    case TCMU_NL_RECONFIG:
        if (v != NULL) {
            ours = true;
            nl_reply = nl_reply_of(d, &v->bs);
            status = reconfigure(d, v, ev);
        }
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&d->lock);
    /* Answer only where the kernel waits: it logs an error for answers
     * it did not ask for. */
    if (ours && nl_reply > 0 && ev->has_dev_id && d->nl != NULL) {
        int r = tcmu_nl_reply(d->nl, ev->cmd, status, ev->dev_id);
        if (r < 0)
            prh_error("cannot answer the kernel's event about %s: %s", ev->device, strerror(-r));
    }
}

/* ---- answering the ring ---------------------------------------------------------------------- */

static void complete(struct tcmu_dev *v, const struct tcmu_ring_cmd *cmd, uint8_t status,
                     struct scsi_sense sense, uint32_t read_len)
{
    uint8_t buf[SCSI_SENSE_FIXED_LEN];
    size_t n = 0;

    if (status == SCSI_STATUS_CHECK_CONDITION)
        n = scsi_sense_build_fixed(buf, sizeof(buf), sense);
    tcmu_ring_complete(&v->ring, cmd, status, n ? buf : NULL, n, read_len);
}

/* Execute one command; false when it is held back by a delay fault. */
static bool answer(struct tcmu_daemon *d, struct tcmu_dev *v, const struct tcmu_ring_cmd *cmd)
{
    struct prh_simlun_result r;
    struct prh_fault f;
    char text[96];

    v->commands++;
    if (cmd->malformed != NULL) {
        v->malformed++;
        prh_error("%s: malformed ring entry (command id %u): %s; answered with HARDWARE ERROR",
                  v->path, cmd->cmd_id, cmd->malformed);
        complete(v, cmd, SCSI_STATUS_CHECK_CONDITION, SENSE_INTERNAL_TARGET_FAILURE, 0);
        return true;
    }
    if (v->stalled && v->stall_entry == cmd->entry_off) {
        if (tcmu_now_ms() < v->stall_until_ms) {
            v->commands--;
            return false;
        }
        v->stalled = false; /* the delay is over: run it without another fault */
    } else if (prh_faults_take(d->faults, v->bs.lun, v->who, 0, cmd->cdb, cmd->cdb_len, &f)) {
        prh_log(2, "%s: fault %u (%s) on opcode %02xh", v->path, f.id, f.spec, cmd->cdb[0]);
        switch (f.action) {
        case PRH_FAULT_STATUS:
            complete(v, cmd, f.status, SENSE_NONE, 0);
            return true;
        case PRH_FAULT_SENSE:
            complete(v, cmd, SCSI_STATUS_CHECK_CONDITION, f.sense, 0);
            return true;
        case PRH_FAULT_DELAY:
            v->stalled = true;
            v->stall_entry = cmd->entry_off;
            v->stall_until_ms = tcmu_now_ms() + f.delay_ms;
            v->commands--;
            return false;
        case PRH_FAULT_CLOSE:
        case PRH_FAULT_CLOSE_AFTER:
            break; /* not in this table's vocabulary: a kernel LUN has no connection */
        }
    }
    prh_simlun_execute(v->lun->lun, &v->bs.nexus, cmd->cdb, cmd->cdb_len, &cmd->data, &r);
    if (r.status == SCSI_STATUS_GOOD &&
        scsi_cdb_data_direction(cmd->cdb, cmd->cdb_len) == SCSI_DIR_FROM_DEVICE)
        prh_sgl_zero_from(&cmd->data, r.data_in_len); /* never hand back stale bytes */
    if (prh_log_verbosity() >= 3)
        prh_log(3, "%s: opcode %02xh -> %s%s%s", v->path, cmd->cdb[0], scsi_status_name(r.status),
                r.status == SCSI_STATUS_CHECK_CONDITION ? " " : "",
                r.status == SCSI_STATUS_CHECK_CONDITION
                    ? scsi_sense_to_string(r.sense, text, sizeof(text))
                    : "");
    complete(v, cmd, r.status, r.sense, (uint32_t)r.data_in_len);
    return true;
}

/* A LUN reset arrived through v: LIO raises its unit attention for v's
 * sessions only; the LUN's other backstores are its other nexuses. */
static void lun_reset(struct tcmu_daemon *d, struct tcmu_dev *v)
{
    const struct pr_sim_nexus *others[64];
    size_t n = 0;

    for (struct tcmu_dev *w = d->devs; w; w = w->next) {
        if (w == v || w->lun != v->lun)
            continue;
        if (n == sizeof(others) / sizeof(others[0])) {
            prh_simlun_reset(v->lun->lun, others, n);
            n = 0;
        }
        others[n++] = &w->bs.nexus;
    }
    prh_simlun_reset(v->lun->lun, others, n);
}

/* Answer what is on v's ring; kick the kernel if anything was answered. */
static void service(struct tcmu_daemon *d, struct tcmu_dev *v)
{
    struct tcmu_ring_cmd cmd;
    struct tcmu_ring_tmr tmr;
    unsigned done = 0;

    for (;;) {
        enum tcmu_ring_kind k = tcmu_ring_next(&v->ring, &cmd, &tmr);
        if (k == TCMU_RING_EMPTY)
            break;
        if (k == TCMU_RING_BROKEN) {
            if (!v->broken_logged)
                prh_error("%s: its command ring is broken (%s): its commands now time out in "
                          "the kernel; re-create the backstore", v->path, v->ring.errmsg);
            v->broken_logged = true;
            break;
        }
        if (k == TCMU_RING_TMR) {
            prh_log(2, "%s: task management function %u for %u command(s)", v->path, tmr.type,
                    tmr.cmd_count);
            if (tmr.type == TMR_LUN_RESET)
                lun_reset(d, v);
            done++;
            continue;
        }
        if (!answer(d, v, &cmd))
            break;
        done++;
    }
    if (done > 0) {
        uint32_t one = 1;
        if (write(v->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            prh_error("%s: cannot notify the kernel: %s", v->path, strerror(errno));
    }
}

void tcmu_daemon_service_all(struct tcmu_daemon *d)
{
    pthread_mutex_lock(&d->lock);
    for (struct tcmu_dev *v = d->devs; v; v = v->next)
        service(d, v);
    pthread_mutex_unlock(&d->lock);
}

/* Drain the UIO event count (or a fake FIFO's bytes). */
static void drain(struct tcmu_dev *v)
{
    uint32_t buf[16];
    for (int i = 0; i < 64; i++)
        if (read(v->fd, buf, sizeof(buf)) <= 0)
            break;
}

int tcmu_daemon_run(struct tcmu_daemon *d, int stop_fd)
{
    struct pollfd *pfd = NULL;
    unsigned *minors = NULL;
    size_t cap = 0;
    int rc = 0;

    d->next_rescan_ms = tcmu_now_ms() + d->cfg.rescan_ms;
    for (;;) {
        pthread_mutex_lock(&d->lock);
        size_t n = 0, need = 2 + tcmu_daemon_device_count(d);
        if (need > cap) {
            struct pollfd *np = realloc(pfd, need * sizeof(*np));
            unsigned *nm = realloc(minors, need * sizeof(*nm));
            if (np)
                pfd = np;
            if (nm)
                minors = nm;
            if (!np || !nm) {
                pthread_mutex_unlock(&d->lock);
                rc = -ENOMEM;
                break;
            }
            cap = need;
        }
        pfd[n++] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = d->nl ? d->nl->fd : -1, .events = POLLIN };
        uint64_t now = tcmu_now_ms(), wake = UINT64_MAX;
        if (d->nl == NULL)
            wake = d->next_rescan_ms;
        for (struct tcmu_dev *v = d->devs; v; v = v->next) {
            minors[n] = v->minor;
            pfd[n++] = (struct pollfd){ .fd = v->fd, .events = POLLIN };
            if (v->stalled && v->stall_until_ms < wake)
                wake = v->stall_until_ms;
        }
        pthread_mutex_unlock(&d->lock);
        int timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0 : (int)(wake - now);
        int r = poll(pfd, (nfds_t)n, timeout);
        if (r < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (r > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
            break;
        if (r > 0 && d->nl && (pfd[1].revents & POLLIN)) {
            struct tcmu_nl_event ev;
            int got;
            while ((got = tcmu_nl_recv(d->nl, &ev)) > 0)
                tcmu_daemon_event(d, &ev);
        }
        pthread_mutex_lock(&d->lock);
        now = tcmu_now_ms();
        for (size_t i = 2; i < n && r > 0; i++) {
            struct tcmu_dev *v = dev_find(d, minors[i]);
            if (v == NULL || pfd[i].revents == 0)
                continue;
            if (pfd[i].revents & (POLLNVAL | POLLERR | POLLHUP)) {
                /* uio reports an error once the device is unregistered. */
                prh_error("%s: its UIO device went away", v->path);
                remove_locked(d, v->minor);
                continue;
            }
            drain(v);
            service(d, v);
        }
        for (struct tcmu_dev *v = d->devs; v; v = v->next)
            if (v->stalled && v->stall_until_ms <= now)
                service(d, v);
        if (d->nl == NULL && now >= d->next_rescan_ms) {
            scan_locked(d);
            d->next_rescan_ms = now + d->cfg.rescan_ms;
        }
        pthread_mutex_unlock(&d->lock);
    }
    free(pfd);
    free(minors);
    return rc;
}

size_t tcmu_daemon_device_count(struct tcmu_daemon *d)
{
    size_t n = 0;
    pthread_mutex_lock(&d->lock);
    for (struct tcmu_dev *v = d->devs; v; v = v->next)
        n++;
    pthread_mutex_unlock(&d->lock);
    return n;
}

size_t tcmu_daemon_lun_count(struct tcmu_daemon *d)
{
    size_t n = 0;
    pthread_mutex_lock(&d->lock);
    for (struct lun_ref *l = d->luns; l; l = l->next)
        n++;
    pthread_mutex_unlock(&d->lock);
    return n;
}

void tcmu_daemon_free(struct tcmu_daemon *d)
{
    if (d == NULL)
        return;
    while (d->devs) {
        struct tcmu_dev *v = d->devs;
        d->devs = v->next;
        dev_close(v);
    }
    while (d->luns) {
        struct lun_ref *l = d->luns;
        d->luns = l->next;
        prh_simlun_close(l->lun);
        free(l);
    }
    while (d->failed) {
        struct failed_dev *f = d->failed;
        d->failed = f->next;
        free(f);
    }
    prh_faults_free(d->faults);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
