/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_sim.c - the "sim" transport: every client fd stands for a
 * simulated logical unit, every connection is an I_T nexus.
 *
 * LUN identity (fstat of the client's fd): a block or character device
 * is its st_rdev ("blk-8-16", "chr-21-0"), anything else its st_dev and
 * st_ino ("file-803-1234"), so any file or device stands in for a disk.
 *
 * Nexus identity (docs/daemon.md, "I_T nexus scheme"): a connection from
 * a client that did not bind its socket (QEMU) is the iSCSI port
 * iqn.2026-01.org.prhelper.sim:pid.<peer pid>,i,0x8000<serial> on
 * relative target port 1: one initiator device per client process, one
 * port per connection.  A client that binds its socket to the abstract
 * address "\0prhelper-nexus:NAME[@RTPI][/anything]" presents the stable
 * port NAME (an iSCSI name, or a short word that becomes
 * iqn.2026-01.org.prhelper.sim:word) with ISID 800000000001 on target
 * port RTPI (default 1).  prhelper-cli --initiator uses this.
 *
 * APTPL state: one file per LUN in --state-dir (pr_sim_store.h:
 * <lun>.prstate, written atomically by the simulator's persistence hook)
 * and loaded when the LUN is first used after the daemon starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prhelper/log.h"
#include "prhelper/pr_sim.h"
#include "prhelper/pr_sim_store.h"
#include "prhelper/transport.h"

#define SIM_NAME_PREFIX "iqn.2026-01.org.prhelper.sim:"
#define SIM_NEXUS_ADDR_PREFIX "@prhelper-nexus:"
#define SIM_LUN_BUCKETS 64
#define SIM_LUN_NAME_MAX 64

struct sim_lun {
    struct sim_lun *next;
    pthread_mutex_t lock; /* serialises every call on lun */
    struct pr_sim_lun *lun;
    struct sim_state *st;
    char name[SIM_LUN_NAME_MAX];
};

struct sim_state {
    char *state_dir;
    enum pr_sim_profile profile;
    pthread_mutex_t lock; /* the LUN table */
    struct sim_lun *buckets[SIM_LUN_BUCKETS];
};

struct sim_conn {
    struct pr_sim_nexus nexus;
    bool chosen; /* a stable identity the client may present again */
    struct sim_lun **luns; /* LUNs this nexus has used */
    size_t nluns, cap;
};

/* ---- LUNs ---------------------------------------------------------------- */

static int sim_persist(void *opaque, const uint8_t *image, size_t len)
{
    struct sim_lun *l = opaque;
    int r = pr_sim_store_save(l->st->state_dir, l->name, image, len);

    prh_trace(PRH_TRACE_SIM_PERSIST, "lun=%s bytes=%zu result=%d", l->name, len, r);
    if (r < 0)
        prh_error("cannot save APTPL state of %s in %s: %s", l->name, l->st->state_dir,
                  strerror(-r));
    return r;
}

static void sim_abort(void *opaque, const struct pr_sim_nexus *nexus)
{
    struct sim_lun *l = opaque;
    char who[PR_TID_MAX_LEN + 16];

    /* One request in flight per connection and the LUN is locked while a
     * command runs, so there is never another task to abort. */
    pr_tid_to_string(&nexus->initiator, who, sizeof(who));
    prh_trace(PRH_TRACE_TRANSPORT, "lun=%s preempt-and-abort nexus=%s@%u", l->name, who,
              nexus->rtpi);
}

static unsigned lun_hash(const char *name)
{
    unsigned h = 5381;

    for (const char *p = name; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h % SIM_LUN_BUCKETS;
}

static struct pr_sim_lun *lun_create(struct sim_state *st, struct sim_lun *l)
{
    struct pr_sim_config cfg = {
        .profile = st->profile,
        .persist = sim_persist,
        .on_abort = sim_abort,
        .opaque = l,
    };
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);

    if (lun && pr_sim_lun_add_port(lun, 1, PR_TID_PROTO_ISCSI) < 0) {
        pr_sim_lun_free(lun);
        return NULL;
    }
    return lun;
}

/* Load the APTPL image; a missing, corrupt or non-APTPL image leaves the LUN empty. */
static struct pr_sim_lun *lun_restore(struct sim_state *st, struct sim_lun *l)
{
    struct pr_sim_lun *lun = lun_create(st, l);
    char msg[512] = "";

    if (!lun)
        return NULL;
    int r = pr_sim_store_load(st->state_dir, l->name, lun, msg, sizeof(msg));
    if (r < 0) {
        prh_error("ignoring saved APTPL state: %s", msg[0] ? msg : strerror(-r));
        pr_sim_lun_free(lun);
        return lun_create(st, l);
    }
    if (pr_sim_registration_count(lun) > 0 && !pr_sim_aptpl_active(lun)) {
        /* Saved as APTPL was turned off: nothing survives power-on. */
        pr_sim_lun_free(lun);
        return lun_create(st, l);
    }
    if (pr_sim_registration_count(lun) > 0)
        prh_log(2, "restored APTPL state of %s: %zu registrations", l->name,
                pr_sim_registration_count(lun));
    return lun;
}

static struct sim_lun *lun_get(struct sim_state *st, const char *name)
{
    unsigned h = lun_hash(name);
    struct sim_lun *l;

    pthread_mutex_lock(&st->lock);
    for (l = st->buckets[h]; l; l = l->next)
        if (strcmp(l->name, name) == 0)
            goto out;
    l = calloc(1, sizeof(*l));
    if (!l)
        goto out;
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->st = st;
    pthread_mutex_init(&l->lock, NULL);
    l->lun = lun_restore(st, l);
    if (!l->lun) {
        pthread_mutex_destroy(&l->lock);
        free(l);
        l = NULL;
        goto out;
    }
    l->next = st->buckets[h];
    st->buckets[h] = l;
out:
    pthread_mutex_unlock(&st->lock);
    return l;
}

/* The LUN name of an fd: see the comment at the top. */
static int lun_name_of_fd(int fd, char *buf, size_t len)
{
    struct stat sb;

    if (fstat(fd, &sb) < 0)
        return -errno;
    if (S_ISBLK(sb.st_mode))
        snprintf(buf, len, "blk-%u-%u", major(sb.st_rdev), minor(sb.st_rdev));
    else if (S_ISCHR(sb.st_mode))
        snprintf(buf, len, "chr-%u-%u", major(sb.st_rdev), minor(sb.st_rdev));
    else
        snprintf(buf, len, "file-%llx-%llu", (unsigned long long)sb.st_dev,
                 (unsigned long long)sb.st_ino);
    return 0;
}

/* ---- nexus --------------------------------------------------------------- */

/* Lower-case, and anything outside [a-z0-9.:-] becomes '-'. */
static void sanitize_name(char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == ':' ||
              c == '-'))
            c = '-';
        *s = c;
    }
}

static bool has_iscsi_prefix(const char *s)
{
    return strncmp(s, "iqn.", 4) == 0 || strncmp(s, "eui.", 4) == 0 ||
           strncmp(s, "naa.", 4) == 0;
}

/*
 * A chosen identity "NAME[@RTPI][/...]" from the peer's abstract address.
 * Returns false when the address does not carry one, or it is malformed.
 */
static bool nexus_from_addr(const struct prh_peer *peer, struct pr_sim_nexus *out)
{
    static const uint8_t chosen_isid[6] = { 0x80, 0, 0, 0, 0, 0x01 };
    size_t plen = strlen(SIM_NEXUS_ADDR_PREFIX);
    char spec[108], name[PR_TID_ISCSI_NAME_MAX + 1];
    unsigned long rtpi = 1;

    if (peer->addr_len <= plen || memcmp(peer->addr, SIM_NEXUS_ADDR_PREFIX, plen) != 0)
        return false;
    size_t n = peer->addr_len - plen;
    memcpy(spec, peer->addr + plen, n);
    spec[n] = '\0';
    spec[strcspn(spec, "/")] = '\0';
    char *at = strrchr(spec, '@');
    if (at) {
        char *end;
        *at = '\0';
        rtpi = strtoul(at + 1, &end, 10);
        if (*end || rtpi == 0 || rtpi > 0xffff)
            return false;
    }
    if (spec[0] == '\0')
        return false;
    int w = snprintf(name, sizeof(name), "%s%s", has_iscsi_prefix(spec) ? "" : SIM_NAME_PREFIX,
                     spec);
    if (w < 0 || (size_t)w >= sizeof(name))
        return false;
    sanitize_name(name);
    out->initiator = pr_tid_iscsi(name, chosen_isid);
    out->rtpi = (uint16_t)rtpi;
    return true;
}

static void *sim_nexus_new(void *state, const struct prh_peer *peer)
{
    struct sim_conn *c = calloc(1, sizeof(*c));
    char name[PR_TID_ISCSI_NAME_MAX + 1];
    uint8_t isid[6] = { 0x80, 0x00 };

    (void)state;
    if (!c)
        return NULL;
    if (nexus_from_addr(peer, &c->nexus)) {
        c->chosen = true;
        return c;
    }
    if (peer->has_cred)
        snprintf(name, sizeof(name), SIM_NAME_PREFIX "pid.%ld", (long)peer->pid);
    else
        snprintf(name, sizeof(name), SIM_NAME_PREFIX "anonymous");
    scsi_put_be32(isid + 2, (uint32_t)peer->serial);
    c->nexus.initiator = pr_tid_iscsi(name, isid);
    c->nexus.rtpi = 1;
    return c;
}

static void sim_nexus_free(void *state, void *nexus)
{
    struct sim_conn *c = nexus;

    (void)state;
    /* I_T nexus loss on every LUN it used (ends SPC-2 reservations).  A
     * per-connection identity never comes back: its pending unit
     * attentions go too, so the LUN forgets it unless it is registered. */
    for (size_t i = 0; i < c->nluns; i++) {
        pthread_mutex_lock(&c->luns[i]->lock);
        if (c->chosen)
            pr_sim_nexus_loss(c->luns[i]->lun, &c->nexus);
        else
            pr_sim_nexus_forget(c->luns[i]->lun, &c->nexus);
        pthread_mutex_unlock(&c->luns[i]->lock);
    }
    free(c->luns);
    free(c);
}

static void sim_nexus_describe(void *state, void *nexus, char *buf, size_t len)
{
    const struct sim_conn *c = nexus;
    char tid[PR_TID_MAX_LEN + 32];

    (void)state;
    pr_tid_to_string(&c->nexus.initiator, tid, sizeof(tid));
    snprintf(buf, len, "%s@%u", tid, c->nexus.rtpi);
}

static int remember_lun(struct sim_conn *c, struct sim_lun *l)
{
    for (size_t i = 0; i < c->nluns; i++)
        if (c->luns[i] == l)
            return 0;
    if (c->nluns == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        struct sim_lun **p = realloc(c->luns, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        c->luns = p;
        c->cap = cap;
    }
    c->luns[c->nluns++] = l;
    return 0;
}

/* ---- commands ------------------------------------------------------------ */

static int sim_open(void *state, void *nexus, int fd, void **dev, struct prh_result *res)
{
    char name[SIM_LUN_NAME_MAX];
    int r = lun_name_of_fd(fd, name, sizeof(name));

    if (r < 0) {
        *res = prh_result_errno(-r);
        return -1;
    }
    struct sim_lun *l = lun_get(state, name);
    if (!l || remember_lun(nexus, l) < 0) {
        *res = prh_result_errno(ENOMEM);
        return -1;
    }
    *dev = l;
    return 0;
}

static void sim_run(struct sim_conn *c, struct sim_lun *l, const struct prh_request *req,
                    uint8_t *data, size_t cap, struct prh_result *res)
{
    struct pr_sim_result r;

    /* PR IN and PR OUT CDBs are 10 bytes; bytes 10-15 are padding. */
    pthread_mutex_lock(&l->lock);
    pr_sim_execute(l->lun, &c->nexus, req->cdb, 10, req->params, req->params ? req->xfer_len : 0,
                   data, cap, &r);
    pthread_mutex_unlock(&l->lock);
    if (r.status == SCSI_STATUS_CHECK_CONDITION)
        *res = prh_result_sense(r.sense);
    else
        *res = prh_result_status(r.status);
    res->data_len = r.status == SCSI_STATUS_GOOD ? r.data_len : 0;
}

static void sim_pr_in(void *state, void *nexus, void *dev, const struct prh_request *req,
                      uint8_t *data, size_t cap, struct prh_result *res)
{
    (void)state;
    sim_run(nexus, dev, req, data, cap, res);
}

static void sim_pr_out(void *state, void *nexus, void *dev, const struct prh_request *req,
                       struct prh_result *res)
{
    (void)state;
    sim_run(nexus, dev, req, NULL, 0, res);
}

static void sim_close(void *state, void *nexus, void *dev)
{
    /* LUNs live as long as the daemon: their state is the point. */
    (void)state;
    (void)nexus;
    (void)dev;
}

/* ---- life cycle ---------------------------------------------------------- */

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int sim_init(const struct prh_transport_options *opts, void **state, char *errmsg,
                    size_t len)
{
    struct sim_state *st;
    const char *profile = opts->sim_profile ? opts->sim_profile : "spc4";
    enum pr_sim_profile p;

    if (!pr_sim_profile_parse(profile, &p)) {
        snprintf(errmsg, len, "unknown simulator profile '%s' (expected spc4 or lio)", profile);
        return -EINVAL;
    }
    if (!opts->state_dir || opts->state_dir[0] != '/') {
        snprintf(errmsg, len, "state directory must be an absolute path");
        return -EINVAL;
    }
    int r = mkdir_p(opts->state_dir, 0700);
    if (r < 0) {
        snprintf(errmsg, len, "cannot create state directory '%s': %s", opts->state_dir,
                 strerror(-r));
        return r;
    }
    if (opts->chown_state && chown(opts->state_dir, opts->owner_uid, opts->owner_gid) < 0) {
        r = -errno;
        snprintf(errmsg, len, "cannot give state directory '%s' to %u:%u: %s", opts->state_dir,
                 (unsigned)opts->owner_uid, (unsigned)opts->owner_gid, strerror(errno));
        return r;
    }
    st = calloc(1, sizeof(*st));
    if (!st || !(st->state_dir = strdup(opts->state_dir))) {
        free(st);
        snprintf(errmsg, len, "out of memory");
        return -ENOMEM;
    }
    st->profile = p;
    pthread_mutex_init(&st->lock, NULL);
    *state = st;
    return 0;
}

static void sim_fini(void *state)
{
    struct sim_state *st = state;

    if (!st)
        return;
    for (unsigned i = 0; i < SIM_LUN_BUCKETS; i++) {
        struct sim_lun *l = st->buckets[i];
        while (l) {
            struct sim_lun *next = l->next;
            pr_sim_lun_free(l->lun);
            pthread_mutex_destroy(&l->lock);
            free(l);
            l = next;
        }
    }
    pthread_mutex_destroy(&st->lock);
    free(st->state_dir);
    free(st);
}

const struct prh_transport prh_transport_sim = {
    .struct_size = sizeof(struct prh_transport),
    .api_version = PRH_TRANSPORT_API_VERSION,
    .name = "sim",
    .version = PRH_VERSION,
    .description = "SPC-4 persistent-reservation simulator; any file or device is a LUN",
    .available = true,
    .capabilities = 0,
    .init = sim_init,
    .fini = sim_fini,
    .nexus_new = sim_nexus_new,
    .nexus_free = sim_nexus_free,
    .nexus_describe = sim_nexus_describe,
    .open = sim_open,
    .pr_in = sim_pr_in,
    .pr_out = sim_pr_out,
    .close = sim_close,
};
