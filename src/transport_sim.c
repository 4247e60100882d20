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
#include <time.h>
#include <unistd.h>

#include "prhelper/control.h"
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
    bool save_blocked; /* an unusable state file could not be moved aside */
};

/* What an injected fault does to a matching command. */
enum sim_fault_action {
    FAULT_STATUS,      /* answer with a status byte, command not run */
    FAULT_SENSE,       /* CHECK CONDITION with sense, command not run */
    FAULT_DELAY,       /* wait, then run the command */
    FAULT_CLOSE,       /* close the connection, command not run */
    FAULT_CLOSE_AFTER, /* run the command, then close instead of replying */
};

struct sim_fault {
    struct sim_fault *next;
    unsigned id;
    char lun[SIM_LUN_NAME_MAX]; /* "" any */
    char client[128];           /* "" any; connection number or part of the nexus name */
    int op;                     /* -1 any, else PR IN / PR OUT opcode */
    int sa;                     /* -1 any */
    unsigned remaining;         /* commands still to hit; 0 with forever */
    bool forever;
    unsigned hits;
    enum sim_fault_action action;
    uint8_t status;
    struct scsi_sense sense;
    unsigned delay_ms;
    char spec[160];             /* as given, for fault list */
};

struct sim_state {
    char *state_dir;
    enum pr_sim_profile profile;
    pthread_mutex_t lock; /* the LUN table */
    struct sim_lun *buckets[SIM_LUN_BUCKETS];
    pthread_mutex_t fault_lock;
    struct sim_fault *faults;
    unsigned next_fault_id;
};

struct sim_conn {
    struct pr_sim_nexus nexus;
    uint64_t serial;
    char who[PR_TID_MAX_LEN + 16];
    bool chosen; /* a stable identity the client may present again */
    struct sim_lun **luns; /* LUNs this nexus has used */
    size_t nluns, cap;
};

/* ---- LUNs ---------------------------------------------------------------- */

static int sim_persist(void *opaque, const uint8_t *image, size_t len)
{
    struct sim_lun *l = opaque;
    /* Never replace a state file we could neither load nor keep aside. */
    int r = l->save_blocked ? -EEXIST : pr_sim_store_save(l->st->state_dir, l->name, image, len);

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
    int stale = pr_sim_store_remove_stale(st->state_dir, l->name);
    if (stale > 0)
        prh_log(2, "removed %d temporary APTPL file(s) of %s left by an interrupted save", stale,
                l->name);
    int r = pr_sim_store_load(st->state_dir, l->name, lun, msg, sizeof(msg));
    if (r == -ENOMEM) {
        prh_error("ignoring saved APTPL state: %s", msg[0] ? msg : strerror(-r));
        pr_sim_lun_free(lun);
        return lun_create(st, l);
    }
    if (r < 0) {
        /* Unusable (corrupt, newer format, not a file, unreadable): keep
         * it aside for inspection; the LUN starts without registrations. */
        char aside[4200];
        int a = pr_sim_store_set_aside(st->state_dir, l->name, aside, sizeof(aside));
        if (a == 0) {
            prh_error("APTPL state of %s is unusable: %s; kept aside as %s; the LUN starts "
                      "with no registrations",
                      l->name, msg[0] ? msg : strerror(-r), aside);
        } else {
            l->save_blocked = true;
            prh_error("APTPL state of %s is unusable: %s; cannot move it aside (%s): "
                      "APTPL changes to this LUN fail until the file is removed and prhelper restarted",
                      l->name, msg[0] ? msg : strerror(-r), strerror(-a));
        }
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

static void describe_conn(struct sim_conn *c)
{
    char tid[PR_TID_MAX_LEN + 8];

    pr_tid_to_string(&c->nexus.initiator, tid, sizeof(tid));
    snprintf(c->who, sizeof(c->who), "%s@%u", tid, c->nexus.rtpi);
}

static void *sim_nexus_new(void *state, const struct prh_peer *peer)
{
    struct sim_conn *c = calloc(1, sizeof(*c));
    char name[PR_TID_ISCSI_NAME_MAX + 1];
    uint8_t isid[6] = { 0x80, 0x00 };

    (void)state;
    if (!c)
        return NULL;
    c->serial = peer->serial;
    if (nexus_from_addr(peer, &c->nexus)) {
        c->chosen = true;
        describe_conn(c);
        return c;
    }
    if (peer->has_cred)
        snprintf(name, sizeof(name), SIM_NAME_PREFIX "pid.%ld", (long)peer->pid);
    else
        snprintf(name, sizeof(name), SIM_NAME_PREFIX "anonymous");
    scsi_put_be32(isid + 2, (uint32_t)peer->serial);
    c->nexus.initiator = pr_tid_iscsi(name, isid);
    c->nexus.rtpi = 1;
    describe_conn(c);
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

static int sim_open(void *state, void *nexus, int fd, const struct stat *st, void **dev,
                    struct prh_result *res)
{
    (void)fd;
    char name[SIM_LUN_NAME_MAX];
    /* The LUN name of an fd (see the comment at the top): the same id the
     * request trace uses. */
    prh_lun_id_of_stat(st, name, sizeof(name));
    struct sim_lun *l = lun_get(state, name);
    if (!l || remember_lun(nexus, l) < 0) {
        *res = prh_result_errno(ENOMEM);
        return -1;
    }
    *dev = l;
    return 0;
}

/* ---- fault injection ----------------------------------------------------- */

static bool fault_matches(const struct sim_fault *f, const struct sim_conn *c,
                          const struct sim_lun *l, const uint8_t *cdb)
{
    if (f->lun[0] && strcmp(f->lun, l->name) != 0)
        return false;
    if (f->op >= 0 && cdb[0] != f->op)
        return false;
    if (f->sa >= 0 && (cdb[1] & 0x1f) != f->sa)
        return false;
    if (f->client[0]) {
        char num[24];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)c->serial);
        if (strcmp(f->client, num) != 0 && !strstr(c->who, f->client))
            return false;
    }
    return true;
}

/* The first armed fault matching this command, consumed; false if none. */
static bool fault_take(struct sim_state *st, const struct sim_conn *c, const struct sim_lun *l,
                       const uint8_t *cdb, struct sim_fault *out)
{
    bool hit = false;

    pthread_mutex_lock(&st->fault_lock);
    for (struct sim_fault **pp = &st->faults; *pp; pp = &(*pp)->next) {
        struct sim_fault *f = *pp;
        if (!fault_matches(f, c, l, cdb))
            continue;
        f->hits++;
        *out = *f;
        hit = true;
        if (!f->forever && --f->remaining == 0) {
            *pp = f->next;
            free(f);
        }
        break;
    }
    pthread_mutex_unlock(&st->fault_lock);
    if (hit)
        prh_trace(PRH_TRACE_TRANSPORT, "lun=%s fault=%u nexus=%s %s", l->name, out->id, c->who,
                  out->spec);
    return hit;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void sim_run(struct sim_conn *c, struct sim_lun *l, const struct prh_request *req,
                    uint8_t *data, size_t cap, struct prh_result *res)
{
    struct pr_sim_result r;
    struct sim_fault f;
    bool faulted = fault_take(l->st, c, l, req->cdb, &f);

    if (faulted) {
        switch (f.action) {
        case FAULT_STATUS:
            *res = prh_result_status(f.status);
            return;
        case FAULT_SENSE:
            *res = prh_result_sense(f.sense);
            return;
        case FAULT_CLOSE:
            *res = (struct prh_result){ .kind = PRH_RESULT_DISCONNECT };
            return;
        case FAULT_DELAY:
            sleep_ms(f.delay_ms);
            break;
        case FAULT_CLOSE_AFTER:
            break;
        }
    }

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
    if (faulted && f.action == FAULT_CLOSE_AFTER)
        *res = (struct prh_result){ .kind = PRH_RESULT_DISCONNECT };
}

static bool sim_generation(void *state, void *nexus, void *dev, uint32_t *gen)
{
    struct sim_lun *l = dev;

    (void)state;
    (void)nexus;
    pthread_mutex_lock(&l->lock);
    *gen = pr_sim_generation(l->lun);
    pthread_mutex_unlock(&l->lock);
    return true;
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
    pthread_mutex_init(&st->fault_lock, NULL);
    st->next_fault_id = 1;
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
    while (st->faults) {
        struct sim_fault *f = st->faults;
        st->faults = f->next;
        free(f);
    }
    pthread_mutex_destroy(&st->fault_lock);
    pthread_mutex_destroy(&st->lock);
    free(st->state_dir);
    free(st);
}

/* ---- control commands (prhelper --control; docs/daemon.md) -------------- */

/* The LUNs known now, in table order (malloc'd array, *n entries). */
static struct sim_lun **lun_snapshot(struct sim_state *st, size_t *n)
{
    struct sim_lun **v = NULL;
    size_t cnt = 0, cap = 0;

    pthread_mutex_lock(&st->lock);
    for (unsigned b = 0; b < SIM_LUN_BUCKETS; b++)
        for (struct sim_lun *l = st->buckets[b]; l; l = l->next) {
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 16;
                struct sim_lun **p = realloc(v, nc * sizeof(*p));
                if (!p)
                    goto out;
                v = p;
                cap = nc;
            }
            v[cnt++] = l;
        }
out:
    pthread_mutex_unlock(&st->lock);
    *n = cnt;
    return v;
}

static struct sim_lun *lun_find(struct sim_state *st, const char *name)
{
    struct sim_lun *l;

    pthread_mutex_lock(&st->lock);
    for (l = st->buckets[lun_hash(name)]; l; l = l->next)
        if (strcmp(l->name, name) == 0)
            break;
    pthread_mutex_unlock(&st->lock);
    return l;
}

static void nexus_string(const struct pr_sim_nexus *n, char *buf, size_t len)
{
    char tid[PR_TID_MAX_LEN + 8];

    pr_tid_to_string(&n->initiator, tid, sizeof(tid));
    snprintf(buf, len, "%s@%u", tid, n->rtpi);
}

static void print_lun_detail(struct sim_state *st, struct sim_lun *l, bool json, FILE *out)
{
    struct pr_sim_registration_view rv;
    struct pr_sim_nexus nx;
    struct scsi_sense s;
    char who[PR_TID_MAX_LEN + 16], text[160];

    pthread_mutex_lock(&l->lock);
    struct pr_sim_lun *lun = l->lun;
    unsigned type = pr_sim_reservation_type(lun);
    uint32_t gen = pr_sim_generation(lun);
    bool aptpl = pr_sim_aptpl_active(lun);
    if (json) {
        fputs("{\"lun\":", out);
        prh_json_string(out, l->name);
        fprintf(out, ",\"profile\":\"%s\",\"generation\":%u,\"aptpl\":%s,\"reservation\":",
                pr_sim_profile_name(st->profile), gen, aptpl ? "true" : "false");
        if (type == PR_TYPE_NONE) {
            fputs("null", out);
        } else {
            fprintf(out, "{\"type\":%u,\"type_name\":", type);
            prh_json_string(out, pr_type_name(type));
            fputs(",\"holders\":[", out);
            bool first = true;
            for (size_t i = 0; pr_sim_registration_at(lun, i, &rv); i++)
                if (rv.holder) {
                    nexus_string(&rv.nexus, who, sizeof(who));
                    fprintf(out, "%s{\"key\":\"0x%llx\",\"nexus\":", first ? "" : ",",
                            (unsigned long long)rv.key);
                    prh_json_string(out, who);
                    fputc('}', out);
                    first = false;
                }
            fputs("]}", out);
        }
        fputs(",\"registrations\":[", out);
        for (size_t i = 0; pr_sim_registration_at(lun, i, &rv); i++) {
            nexus_string(&rv.nexus, who, sizeof(who));
            fprintf(out, "%s{\"key\":\"0x%llx\",\"nexus\":", i ? "," : "",
                    (unsigned long long)rv.key);
            prh_json_string(out, who);
            fprintf(out, ",\"all_tg_pt\":%s,\"holder\":%s}", rv.all_tg_pt ? "true" : "false",
                    rv.holder ? "true" : "false");
        }
        fputs("],\"nexuses\":[", out);
        for (size_t i = 0; pr_sim_nexus_at(lun, i, &nx); i++) {
            nexus_string(&nx, who, sizeof(who));
            fprintf(out, "%s{\"nexus\":", i ? "," : "");
            prh_json_string(out, who);
            fputs(",\"pending_unit_attentions\":[", out);
            for (size_t j = 0; pr_sim_pending_ua_at(lun, &nx, j, &s); j++) {
                fprintf(out, "%s{\"key\":%u,\"asc\":%u,\"ascq\":%u,\"text\":", j ? "," : "", s.key,
                        s.asc, s.ascq);
                prh_json_string(out, scsi_sense_to_string(s, text, sizeof(text)));
                fputc('}', out);
            }
            fputs("]}", out);
        }
        fputs("]}\n", out);
        pthread_mutex_unlock(&l->lock);
        return;
    }
    fprintf(out, "LUN %s (profile %s)\n", l->name, pr_sim_profile_name(st->profile));
    fprintf(out, "  PR generation: 0x%x\n", gen);
    fprintf(out, "  APTPL:         %s\n", aptpl ? "active" : "off");
    if (type == PR_TYPE_NONE)
        fprintf(out, "  reservation:   none\n");
    else
        fprintf(out, "  reservation:   %s (%u)\n", pr_type_name(type), type);
    fprintf(out, "  registrations: %zu\n", pr_sim_registration_count(lun));
    if (pr_sim_registration_count(lun) > 0) {
        fprintf(out, "    %-18s %-6s %-9s %-6s %s\n", "KEY", "RTPI", "ALL_TG_PT", "HOLDER",
                "INITIATOR PORT");
        for (size_t i = 0; pr_sim_registration_at(lun, i, &rv); i++) {
            char key[24], tid[PR_TID_MAX_LEN + 8];
            snprintf(key, sizeof(key), "0x%llx", (unsigned long long)rv.key);
            pr_tid_to_string(&rv.nexus.initiator, tid, sizeof(tid));
            fprintf(out, "    %-18s %-6u %-9s %-6s %s\n", key, rv.nexus.rtpi,
                    rv.all_tg_pt ? "yes" : "no", rv.holder ? "yes" : "no", tid);
        }
    }
    /* Only nexuses with something pending: whether an idle unregistered
     * nexus is still remembered depends on when its connection closed. */
    size_t shown = 0;
    for (size_t i = 0; pr_sim_nexus_at(lun, i, &nx); i++) {
        if (!pr_sim_pending_ua_at(lun, &nx, 0, &s))
            continue;
        if (shown++ == 0)
            fprintf(out, "  pending unit attentions:\n");
        nexus_string(&nx, who, sizeof(who));
        fprintf(out, "    %s:\n", who);
        for (size_t j = 0; pr_sim_pending_ua_at(lun, &nx, j, &s); j++)
            fprintf(out, "      %s\n", scsi_sense_to_string(s, text, sizeof(text)));
    }
    if (!shown)
        fprintf(out, "  pending unit attentions: none\n");
    pthread_mutex_unlock(&l->lock);
}

static int ctl_state(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_state *st = opaque;
    size_t n;

    if (req->argc > 2) {
        fprintf(out, "usage: state [LUN]\n");
        return -1;
    }
    if (req->argc == 2) {
        struct sim_lun *l = lun_find(st, req->argv[1]);
        if (!l) {
            fprintf(out, "no LUN '%.64s' has been used since the daemon started "
                         "(see 'state' for the list)\n", req->argv[1]);
            return -1;
        }
        print_lun_detail(st, l, req->json, out);
        return 0;
    }
    struct sim_lun **v = lun_snapshot(st, &n);
    if (req->json)
        fputs("{\"luns\":[", out);
    else if (n == 0)
        fprintf(out, "no LUN has been used since the daemon started\n");
    else
        fprintf(out, "%-28s %-10s %-5s %-6s %s\n", "LUN", "GENERATION", "REGS", "APTPL",
                "RESERVATION");
    for (size_t i = 0; i < n; i++) {
        struct sim_lun *l = v[i];
        pthread_mutex_lock(&l->lock);
        unsigned type = pr_sim_reservation_type(l->lun);
        uint32_t gen = pr_sim_generation(l->lun);
        size_t regs = pr_sim_registration_count(l->lun);
        bool aptpl = pr_sim_aptpl_active(l->lun);
        pthread_mutex_unlock(&l->lock);
        if (req->json) {
            fprintf(out, "%s{\"lun\":", i ? "," : "");
            prh_json_string(out, l->name);
            fprintf(out, ",\"generation\":%u,\"registrations\":%zu,\"aptpl\":%s,\"type\":%u}",
                    gen, regs, aptpl ? "true" : "false", type);
        } else {
            char g[16];
            snprintf(g, sizeof(g), "0x%x", gen);
            fprintf(out, "%-28s %-10s %-5zu %-6s %s\n", l->name, g, regs,
                    aptpl ? "yes" : "no", type == PR_TYPE_NONE ? "none" : pr_type_name(type));
        }
    }
    if (req->json)
        fputs("]}\n", out);
    free(v);
    return 0;
}

static int ctl_power_cycle(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_state *st = opaque;
    size_t n = 0;
    struct sim_lun **v;

    if (req->argc != 2) {
        fprintf(out, "usage: power-cycle LUN|all\n");
        return -1;
    }
    if (strcmp(req->argv[1], "all") == 0) {
        v = lun_snapshot(st, &n);
    } else {
        struct sim_lun *l = lun_find(st, req->argv[1]);
        if (!l) {
            fprintf(out, "no LUN '%.64s' has been used since the daemon started\n",
                    req->argv[1]);
            return -1;
        }
        v = malloc(sizeof(*v));
        if (!v) {
            fprintf(out, "out of memory\n");
            return -1;
        }
        v[0] = l;
        n = 1;
    }
    if (req->json)
        fputs("{\"power_cycled\":[", out);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->lock);
        bool kept = pr_sim_aptpl_active(v[i]->lun);
        pr_sim_power_cycle(v[i]->lun);
        size_t regs = pr_sim_registration_count(v[i]->lun);
        pthread_mutex_unlock(&v[i]->lock);
        prh_log(2, "control: power cycle of LUN %s", v[i]->name);
        if (req->json) {
            fprintf(out, "%s{\"lun\":", i ? "," : "");
            prh_json_string(out, v[i]->name);
            fprintf(out, ",\"aptpl\":%s,\"registrations\":%zu}", kept ? "true" : "false", regs);
        } else {
            fprintf(out, "%s: power cycled; %s, %zu registration%s kept; POWER ON RESET "
                         "pending for every nexus\n",
                    v[i]->name, kept ? "APTPL active" : "APTPL off: PR state lost", regs,
                    regs == 1 ? "" : "s");
        }
    }
    if (req->json)
        fputs("]}\n", out);
    free(v);
    return 0;
}

/* ---- faults ---- */

static const struct {
    const char *name;
    int op, sa;
} fault_sas[] = {
    { "any", -1, -1 },
    { "in", SCSI_OP_PERSISTENT_RESERVE_IN, -1 },
    { "out", SCSI_OP_PERSISTENT_RESERVE_OUT, -1 },
    { "read-keys", SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_READ_KEYS },
    { "read-reservation", SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_READ_RESERVATION },
    { "capabilities", SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_REPORT_CAPABILITIES },
    { "full-status", SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_READ_FULL_STATUS },
    { "register", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER },
    { "reserve", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_RESERVE },
    { "release", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_RELEASE },
    { "clear", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_CLEAR },
    { "preempt", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_PREEMPT },
    { "preempt-abort", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_PREEMPT_AND_ABORT },
    { "register-ignore", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER_AND_IGNORE },
    { "register-move", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER_AND_MOVE },
    { "replace-lost", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REPLACE_LOST_RESERVATION },
};

static const struct {
    const char *name;
    enum sim_fault_action action;
    uint8_t status;
    struct scsi_sense sense;
} fault_actions[] = {
    { "busy", FAULT_STATUS, SCSI_STATUS_BUSY, { 0 } },
    { "conflict", FAULT_STATUS, SCSI_STATUS_RESERVATION_CONFLICT, { 0 } },
    { "task-set-full", FAULT_STATUS, SCSI_STATUS_TASK_SET_FULL, { 0 } },
    { "ua-power-on", FAULT_SENSE, 0, SENSE_UA_POWER_ON_RESET },
    { "aborted", FAULT_SENSE, 0, SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00) },
    { "not-ready", FAULT_SENSE, 0, SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x00) },
    { "close", FAULT_CLOSE, 0, { 0 } },
    { "close-after", FAULT_CLOSE_AFTER, 0, { 0 } },
};

static bool parse_uint(const char *s, int base, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(s, &end, base);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return false;
    *out = v;
    return true;
}

static const char fault_usage[] =
    "usage: fault add ACTION [lun=LUN] [client=WHO] [sa=SA] [count=N|always]\n"
    "  ACTION: busy, conflict, task-set-full, ua-power-on, aborted, not-ready, close,\n"
    "          close-after, delay MS, status HEX, sense KEY/ASC/ASCQ (hex)\n"
    "  SA: any, in, out, read-keys, read-reservation, capabilities, full-status,\n"
    "      register, reserve, release, clear, preempt, preempt-abort, register-ignore,\n"
    "      register-move, replace-lost\n"
    "       fault list | fault clear [ID]\n";

static int fault_add(struct sim_state *st, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_fault f = { .op = -1, .sa = -1, .remaining = 1 };
    bool have_action = false;
    unsigned long v;
    size_t off = 0;

    for (int i = 2; i < req->argc; i++) {
        const char *w = req->argv[i];
        if (off < sizeof(f.spec))
            off += (size_t)snprintf(f.spec + off, sizeof(f.spec) - off, "%s%s", off ? " " : "", w);
        if (strncmp(w, "lun=", 4) == 0) {
            if (strlen(w + 4) >= sizeof(f.lun) || !w[4]) {
                fprintf(out, "invalid LUN '%.64s'\n", w + 4);
                return -1;
            }
            strcpy(f.lun, w + 4);
        } else if (strncmp(w, "client=", 7) == 0) {
            if (strlen(w + 7) >= sizeof(f.client) || !w[7]) {
                fprintf(out, "invalid client '%.64s'\n", w + 7);
                return -1;
            }
            strcpy(f.client, w + 7);
        } else if (strncmp(w, "sa=", 3) == 0) {
            size_t k;
            for (k = 0; k < sizeof(fault_sas) / sizeof(fault_sas[0]); k++)
                if (strcmp(w + 3, fault_sas[k].name) == 0)
                    break;
            if (k == sizeof(fault_sas) / sizeof(fault_sas[0])) {
                fprintf(out, "unknown service action '%.40s'\n%s", w + 3, fault_usage);
                return -1;
            }
            f.op = fault_sas[k].op;
            f.sa = fault_sas[k].sa;
        } else if (strncmp(w, "count=", 6) == 0) {
            if (strcmp(w + 6, "always") == 0) {
                f.forever = true;
            } else if (!parse_uint(w + 6, 10, 1000000, &v) || v == 0) {
                fprintf(out, "count must be 1..1000000 or 'always', not '%.40s'\n", w + 6);
                return -1;
            } else {
                f.remaining = (unsigned)v;
            }
        } else if (have_action) {
            fprintf(out, "more than one action ('%.40s')\n%s", w, fault_usage);
            return -1;
        } else if (strcmp(w, "delay") == 0 || strcmp(w, "status") == 0 ||
                   strcmp(w, "sense") == 0) {
            const char *arg = i + 1 < req->argc ? req->argv[++i] : "";
            if (off < sizeof(f.spec))
                off += (size_t)snprintf(f.spec + off, sizeof(f.spec) - off, " %s", arg);
            have_action = true;
            if (w[0] == 'd') {
                if (!parse_uint(arg, 10, 600000, &v)) {
                    fprintf(out, "delay needs milliseconds 0..600000, not '%.40s'\n", arg);
                    return -1;
                }
                f.action = FAULT_DELAY;
                f.delay_ms = (unsigned)v;
            } else if (w[1] == 't') {
                if (!parse_uint(arg, 16, 0xff, &v) || v == SCSI_STATUS_CHECK_CONDITION) {
                    fprintf(out, "status needs a hex status byte other than 02 (use sense), "
                                 "not '%.40s'\n", arg);
                    return -1;
                }
                f.action = FAULT_STATUS;
                f.status = (uint8_t)v;
            } else {
                char buf[32];
                unsigned long k, a, q;
                snprintf(buf, sizeof(buf), "%s", arg);
                char *p1 = strchr(buf, '/'), *p2 = p1 ? strchr(p1 + 1, '/') : NULL;
                if (p1)
                    *p1 = '\0';
                if (p2)
                    *p2 = '\0';
                if (!p1 || !p2 || !parse_uint(buf, 16, 0xf, &k) ||
                    !parse_uint(p1 + 1, 16, 0xff, &a) || !parse_uint(p2 + 1, 16, 0xff, &q)) {
                    fprintf(out, "sense needs KEY/ASC/ASCQ in hex (e.g. 6/29/00), not '%.40s'\n",
                            arg);
                    return -1;
                }
                f.action = FAULT_SENSE;
                f.sense = SCSI_SENSE_CODE((uint8_t)k, (uint8_t)a, (uint8_t)q);
            }
        } else {
            size_t k;
            for (k = 0; k < sizeof(fault_actions) / sizeof(fault_actions[0]); k++)
                if (strcmp(w, fault_actions[k].name) == 0)
                    break;
            if (k == sizeof(fault_actions) / sizeof(fault_actions[0])) {
                fprintf(out, "unknown fault action '%.40s'\n%s", w, fault_usage);
                return -1;
            }
            have_action = true;
            f.action = fault_actions[k].action;
            f.status = fault_actions[k].status;
            f.sense = fault_actions[k].sense;
        }
    }
    if (!have_action) {
        fprintf(out, "fault add needs an action\n%s", fault_usage);
        return -1;
    }
    struct sim_fault *nf = malloc(sizeof(*nf));
    if (!nf) {
        fprintf(out, "out of memory\n");
        return -1;
    }
    *nf = f;
    pthread_mutex_lock(&st->fault_lock);
    nf->id = st->next_fault_id++;
    struct sim_fault **pp = &st->faults; /* appended: the oldest matching fault fires first */
    while (*pp)
        pp = &(*pp)->next;
    *pp = nf;
    unsigned id = nf->id;
    pthread_mutex_unlock(&st->fault_lock);
    if (req->json)
        fprintf(out, "{\"id\":%u}\n", id);
    else
        fprintf(out, "fault %u armed: %s\n", id, f.spec);
    return 0;
}

static int ctl_fault(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_state *st = opaque;
    const char *sub = req->argc >= 2 ? req->argv[1] : "";

    if (strcmp(sub, "add") == 0)
        return fault_add(st, req, out);
    if (strcmp(sub, "list") == 0 && req->argc == 2) {
        pthread_mutex_lock(&st->fault_lock);
        if (req->json)
            fputs("{\"faults\":[", out);
        else if (!st->faults)
            fputs("no faults armed\n", out);
        for (struct sim_fault *f = st->faults; f; f = f->next) {
            if (req->json) {
                fprintf(out, "%s{\"id\":%u,\"spec\":", f == st->faults ? "" : ",", f->id);
                prh_json_string(out, f->spec);
                if (f->forever)
                    fprintf(out, ",\"remaining\":null,\"hits\":%u}", f->hits);
                else
                    fprintf(out, ",\"remaining\":%u,\"hits\":%u}", f->remaining, f->hits);
            } else if (f->forever) {
                fprintf(out, "%u: %s (always; %u hit%s)\n", f->id, f->spec, f->hits,
                        f->hits == 1 ? "" : "s");
            } else {
                fprintf(out, "%u: %s (%u more; %u hit%s)\n", f->id, f->spec, f->remaining,
                        f->hits, f->hits == 1 ? "" : "s");
            }
        }
        if (req->json)
            fputs("]}\n", out);
        pthread_mutex_unlock(&st->fault_lock);
        return 0;
    }
    if (strcmp(sub, "clear") == 0 && req->argc <= 3) {
        unsigned long id = 0;
        unsigned removed = 0;
        if (req->argc == 3 && (!parse_uint(req->argv[2], 10, 0xffffffffUL, &id) || id == 0)) {
            fprintf(out, "fault clear needs a fault id, not '%.40s'\n", req->argv[2]);
            return -1;
        }
        pthread_mutex_lock(&st->fault_lock);
        for (struct sim_fault **pp = &st->faults; *pp;) {
            struct sim_fault *f = *pp;
            if (id == 0 || f->id == id) {
                *pp = f->next;
                free(f);
                removed++;
            } else {
                pp = &f->next;
            }
        }
        pthread_mutex_unlock(&st->fault_lock);
        if (id && !removed) {
            fprintf(out, "no fault %lu (see 'fault list')\n", id);
            return -1;
        }
        if (req->json)
            fprintf(out, "{\"cleared\":%u}\n", removed);
        else
            fprintf(out, "%u fault%s cleared\n", removed, removed == 1 ? "" : "s");
        return 0;
    }
    fputs(fault_usage, out);
    return -1;
}

/* access LUN INITIATOR...: who may read and write now (the conflict table). */
static int ctl_access(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    static const uint8_t read10[10] = { 0x28 }, write10[10] = { 0x2a };
    struct sim_state *st = opaque;
    struct pr_sim_registration_view rv;

    if (req->argc < 3) {
        fprintf(out, "usage: access LUN INITIATOR[@RTPI]...\n");
        return -1;
    }
    struct sim_lun *l = lun_find(st, req->argv[1]);
    if (!l) {
        fprintf(out, "no LUN '%.64s' has been used since the daemon started\n", req->argv[1]);
        return -1;
    }
    struct pr_sim_nexus *nx = calloc((size_t)req->argc, sizeof(*nx));
    if (!nx) {
        fprintf(out, "out of memory\n");
        return -1;
    }
    for (int i = 2; i < req->argc; i++) {
        struct prh_peer peer = { 0 };
        int n = snprintf(peer.addr, sizeof(peer.addr), SIM_NEXUS_ADDR_PREFIX "%s", req->argv[i]);
        peer.addr_len = n > 0 && (size_t)n < sizeof(peer.addr) ? (size_t)n : 0;
        if (!nexus_from_addr(&peer, &nx[i])) {
            fprintf(out, "invalid initiator '%.64s' (NAME or NAME@RTPI, as prhelper-cli -I)\n",
                    req->argv[i]);
            free(nx);
            return -1;
        }
    }
    if (req->json)
        fputs("{\"lun\":", out);
    if (req->json) {
        prh_json_string(out, l->name);
        fputs(",\"initiators\":[", out);
    } else {
        fprintf(out, "%-24s %-18s %-5s %s\n", "INITIATOR", "KEY", "READ", "WRITE");
    }
    pthread_mutex_lock(&l->lock);
    for (int i = 2; i < req->argc; i++) {
        bool rd = pr_sim_check_access(l->lun, &nx[i], read10, 10) == SCSI_STATUS_GOOD;
        bool wr = pr_sim_check_access(l->lun, &nx[i], write10, 10) == SCSI_STATUS_GOOD;
        char key[24] = "-";
        for (size_t k = 0; pr_sim_registration_at(l->lun, k, &rv); k++)
            if (pr_tid_equal(&rv.nexus.initiator, &nx[i].initiator) &&
                (rv.all_tg_pt || rv.nexus.rtpi == nx[i].rtpi)) {
                snprintf(key, sizeof(key), "0x%llx", (unsigned long long)rv.key);
                break;
            }
        if (req->json) {
            fprintf(out, "%s{\"initiator\":", i > 2 ? "," : "");
            prh_json_string(out, req->argv[i]);
            fputs(",\"key\":", out);
            if (key[0] == '-')
                fputs("null", out);
            else
                prh_json_string(out, key);
            fprintf(out, ",\"read\":%s,\"write\":%s}", rd ? "true" : "false",
                    wr ? "true" : "false");
        } else {
            fprintf(out, "%-24s %-18s %-5s %s\n", req->argv[i], key, rd ? "yes" : "no",
                    wr ? "yes" : "no");
        }
    }
    pthread_mutex_unlock(&l->lock);
    if (req->json)
        fputs("]}\n", out);
    free(nx);
    return 0;
}

static int sim_control_register(void *state, struct prh_control *ctl)
{
    const struct prh_ctl_command cmds[] = {
        { .name = "state", .args = "[LUN]",
          .help = "registrations, reservation, generation, pending unit attentions",
          .handler = ctl_state, .opaque = state },
        { .name = "fault", .args = "add ACTION [FILTERS] | list | clear [ID]",
          .help = "make matching commands fail, wait or drop the connection",
          .handler = ctl_fault, .opaque = state },
        { .name = "access", .args = "LUN INITIATOR[@RTPI]...",
          .help = "who may read and write now (READ(10)/WRITE(10) against the reservation)",
          .handler = ctl_access, .opaque = state },
        { .name = "power-cycle", .args = "LUN|all",
          .help = "power loss: non-APTPL state lost, POWER ON RESET to every nexus",
          .handler = ctl_power_cycle, .opaque = state },
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int r = prh_control_add(ctl, &cmds[i]);
        if (r < 0)
            return r;
    }
    return 0;
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
    .control_register = sim_control_register,
    .generation = sim_generation,
};
