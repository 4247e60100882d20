/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_sim.c - the "sim" transport: every disk-like client fd stands
 * for a simulated logical unit, every client for an I_T nexus
 * (transport_sim.h; docs/daemon.md, "The sim transport").
 *
 * LUN identity (prh_lun_id_of_fd()): a block or sg device is its st_rdev
 * ("blk-8-16", "chr-21-0"), a regular file its st_dev and st_ino
 * ("file-803-1234").  Anything else is not a disk and gets LOGICAL UNIT
 * NOT SUPPORTED without touching the LUN table.
 *
 * Bounds: --sim-max-registrations per LUN (the simulator answers the next
 * one with 55h/04h, SPC-4 6.16), --sim-max-luns LUNs (a new LUN beyond
 * it first evicts one with no PR state, else gets 55h/03h), and the
 * nexuses a LUN remembers only for their unit attentions.
 *
 * APTPL state: one file per LUN in --state-dir (pr_sim_store.h), loaded
 * the first time the LUN is used, under the LUN's lock only.
 *
 * The control-socket commands and injected faults are in
 * transport_sim_control.c, identities in transport_sim_identity.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prhelper/log.h"
#include "prhelper/pr_sim_store.h"
#include "transport_sim_internal.h"

/* Nexuses a LUN remembers beyond its registrations only for their unit
 * attentions (gone, unregistered): past this, one that goes is forgotten. */
#define SIM_SPARE_NEXUSES 1024u

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
    char who[SIM_WHO_MAX];

    /* One request in flight per connection and the LUN is locked while a
     * command runs, so there is never another task to abort. */
    sim_nexus_string(nexus, who, sizeof(who));
    prh_trace(PRH_TRACE_TRANSPORT, "lun=%s preempt-and-abort nexus=%s", l->name, who);
}

static unsigned str_hash(const char *s)
{
    unsigned h = 5381;

    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
}

static struct pr_sim_lun *lun_create(struct sim_state *st, struct sim_lun *l)
{
    struct pr_sim_config cfg = {
        .profile = st->profile,
        .max_registrations = st->max_registrations,
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

/* A LUN nobody holds whose simulator state is as after power-on with
 * nothing saved: forgetting it changes nothing but its PRgeneration. */
static bool lun_evictable(struct sim_lun *l)
{
    if (l->refs != 0 || l->save_blocked || pthread_mutex_trylock(&l->lock) != 0)
        return false;
    bool empty = !l->lun || (pr_sim_registration_count(l->lun) == 0 &&
                             pr_sim_reservation_type(l->lun) == PR_TYPE_NONE &&
                             pr_sim_nexus_count(l->lun) == 0);
    pthread_mutex_unlock(&l->lock);
    return empty;
}

static void lun_destroy(struct sim_lun *l)
{
    pr_sim_lun_free(l->lun);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Table full: drop one LUN without PR state (under st->lock).  false if none. */
static bool lun_evict_one(struct sim_state *st)
{
    for (unsigned b = 0; b < SIM_LUN_BUCKETS; b++)
        for (struct sim_lun **pp = &st->buckets[b]; *pp; pp = &(*pp)->next) {
            struct sim_lun *l = *pp;
            if (!lun_evictable(l))
                continue;
            *pp = l->next;
            st->nluns--;
            prh_log(2, "LUN table full (--sim-max-luns=%u): forgot %s, which had no PR state",
                    st->max_luns, l->name);
            lun_destroy(l);
            return true;
        }
    return false;
}

/*
 * The LUN named name, loaded, with a reference for the caller; NULL with
 * -ENOSPC (table full of LUNs with PR state) or -ENOMEM in *err.  The
 * state file is read under the LUN's lock alone: other LUNs go on.
 */
static struct sim_lun *lun_get(struct sim_state *st, const char *name, int *err)
{
    unsigned h = str_hash(name) % SIM_LUN_BUCKETS;
    struct sim_lun *l;

    pthread_mutex_lock(&st->lock);
    for (l = st->buckets[h]; l; l = l->next)
        if (strcmp(l->name, name) == 0)
            break;
    if (!l) {
        if (st->nluns >= st->max_luns && !lun_evict_one(st)) {
            pthread_mutex_unlock(&st->lock);
            *err = -ENOSPC;
            return NULL;
        }
        l = calloc(1, sizeof(*l));
        if (!l) {
            pthread_mutex_unlock(&st->lock);
            *err = -ENOMEM;
            return NULL;
        }
        snprintf(l->name, sizeof(l->name), "%s", name);
        l->st = st;
        pthread_mutex_init(&l->lock, NULL);
        l->next = st->buckets[h];
        st->buckets[h] = l;
        st->nluns++;
    }
    l->refs++;
    pthread_mutex_unlock(&st->lock);

    pthread_mutex_lock(&l->lock);
    if (!l->lun)
        l->lun = st->restore(st, l);
    bool ok = l->lun != NULL;
    pthread_mutex_unlock(&l->lock);
    if (!ok) {
        sim_lun_put(l);
        *err = -ENOMEM;
        return NULL;
    }
    return l;
}

static void lun_ref(struct sim_lun *l)
{
    pthread_mutex_lock(&l->st->lock);
    l->refs++;
    pthread_mutex_unlock(&l->st->lock);
}

void sim_lun_put(struct sim_lun *l)
{
    pthread_mutex_lock(&l->st->lock);
    l->refs--;
    pthread_mutex_unlock(&l->st->lock);
}

void sim_lun_put_all(struct sim_lun **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sim_lun_put(v[i]);
    free(v);
}

struct sim_lun *sim_lun_find(struct sim_state *st, const char *name)
{
    struct sim_lun *l;

    pthread_mutex_lock(&st->lock);
    for (l = st->buckets[str_hash(name) % SIM_LUN_BUCKETS]; l; l = l->next)
        if (strcmp(l->name, name) == 0) {
            l->refs++;
            break;
        }
    pthread_mutex_unlock(&st->lock);
    return l;
}

struct sim_lun **sim_lun_snapshot(struct sim_state *st, size_t *n)
{
    struct sim_lun **v = NULL;
    size_t cnt = 0;

    pthread_mutex_lock(&st->lock);
    if (st->nluns && (v = malloc(st->nluns * sizeof(*v)))) {
        for (unsigned b = 0; b < SIM_LUN_BUCKETS; b++)
            for (struct sim_lun *l = st->buckets[b]; l; l = l->next) {
                l->refs++;
                v[cnt++] = l;
            }
    }
    pthread_mutex_unlock(&st->lock);
    *n = cnt;
    return v;
}

/* ---- I_T nexuses ------------------------------------------------------------ */

void sim_nexus_string(const struct pr_sim_nexus *n, char *buf, size_t len)
{
    char tid[PR_TID_MAX_LEN + 8];

    pr_tid_to_string(&n->initiator, tid, sizeof(tid));
    snprintf(buf, len, "%s@%u", tid, n->rtpi);
}

/*
 * The shared I_T nexus for nx, with a reference (st->nexus_lock held).
 * While an earlier holder of the same nexus is being closed (its I_T
 * nexus loss is reported), wait: the new connection starts after it.
 */
static struct sim_itn *itn_acquire(struct sim_state *st, const struct pr_sim_nexus *nx,
                                   bool stable)
{
    char who[SIM_WHO_MAX];
    unsigned h;

    sim_nexus_string(nx, who, sizeof(who));
    h = str_hash(who) % SIM_ITN_BUCKETS;
    for (;;) {
        struct sim_itn *t;
        for (t = st->itns[h]; t; t = t->next)
            if (pr_tid_equal(&t->nexus.initiator, &nx->initiator) && t->nexus.rtpi == nx->rtpi)
                break;
        if (t && t->closing) {
            pthread_cond_wait(&st->nexus_gone, &st->nexus_lock);
            continue;
        }
        if (t) {
            t->refs++;
            t->stable |= stable;
            return t;
        }
        t = calloc(1, sizeof(*t));
        if (!t)
            return NULL;
        t->nexus = *nx;
        snprintf(t->who, sizeof(t->who), "%s", who);
        t->stable = stable;
        t->refs = 1;
        pthread_mutex_init(&t->lock, NULL);
        t->next = st->itns[h];
        st->itns[h] = t;
        return t;
    }
}

/* The last connection of an I_T nexus is gone: I_T nexus loss on every LUN it used. */
static void itn_close(struct sim_state *st, struct sim_itn *t)
{
    for (size_t i = 0; i < t->nluns; i++) {
        struct sim_lun *l = t->luns[i];
        pthread_mutex_lock(&l->lock);
        if (!t->stable) {
            /* Never presented again: its unit attentions go too, so the
             * LUN forgets it unless it is registered. */
            pr_sim_nexus_forget(l->lun, &t->nexus);
        } else {
            pr_sim_nexus_loss(l->lun, &t->nexus);
            /* Kept for its unit attentions alone: bounded. */
            if (pr_sim_nexus_count(l->lun) > st->max_registrations + SIM_SPARE_NEXUSES) {
                pr_sim_nexus_forget(l->lun, &t->nexus);
                prh_log(3, "%s: %s forgotten with its unit attentions (too many remembered)",
                        l->name, t->who);
            }
        }
        pthread_mutex_unlock(&l->lock);
        sim_lun_put(l);
    }
    pthread_mutex_lock(&st->nexus_lock);
    unsigned h = str_hash(t->who) % SIM_ITN_BUCKETS;
    for (struct sim_itn **pp = &st->itns[h]; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    pthread_cond_broadcast(&st->nexus_gone);
    pthread_mutex_unlock(&st->nexus_lock);
    pthread_mutex_destroy(&t->lock);
    free(t->luns);
    free(t);
}

static struct sim_conn *conn_new(struct sim_state *st, const struct pr_sim_nexus *nx, bool stable,
                                 enum prh_sim_nexus_source source, const char *detail,
                                 const struct prh_peer *peer, uint64_t serial)
{
    size_t dlen = strlen(detail);
    struct sim_conn *c = calloc(1, sizeof(*c) + dlen + 1);

    if (!c)
        return NULL;
    c->serial = serial;
    c->source = source;
    memcpy(c->detail, detail, dlen + 1);
    if (peer) {
        c->has_cred = peer->has_cred;
        c->pid = (long)peer->pid;
    }
    pthread_mutex_lock(&st->nexus_lock);
    c->itn = itn_acquire(st, nx, stable);
    if (c->itn) {
        c->next = st->conns;
        if (st->conns)
            st->conns->prev = c;
        st->conns = c;
    }
    pthread_mutex_unlock(&st->nexus_lock);
    if (!c->itn) {
        free(c);
        return NULL;
    }
    prh_trace(PRH_TRACE_TRANSPORT, "client=%llu nexus=%s source=%s (%s)",
              (unsigned long long)serial, c->itn->who, prh_sim_nexus_source_name(source),
              c->detail);
    return c;
}

static void *sim_nexus_new(void *state, const struct prh_peer *peer)
{
    struct sim_state *st = state;
    struct prh_sim_peer_identity id;

    prh_sim_peer_identity(st->identity, peer, st->proc_root, &id);
    return conn_new(st, &id.nexus, id.stable, id.source, id.detail, peer, peer->serial);
}

void *prh_sim_nexus_new_explicit(void *state, const struct pr_sim_nexus *nexus, uint64_t serial)
{
    uint8_t tid[PR_TID_MAX_LEN];
    char detail[64];

    if (nexus->rtpi == 0 || pr_tid_build(&nexus->initiator, tid, sizeof(tid)) == 0)
        return NULL;
    snprintf(detail, sizeof(detail), "explicit, client %llu", (unsigned long long)serial);
    return conn_new(state, nexus, true, PRH_SIM_SOURCE_EXPLICIT, detail, NULL, serial);
}

static void sim_nexus_free(void *state, void *nexus)
{
    struct sim_state *st = state;
    struct sim_conn *c = nexus;
    struct sim_itn *t = c->itn;

    pthread_mutex_lock(&st->nexus_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        st->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bool last = --t->refs == 0;
    if (last)
        t->closing = true;
    pthread_mutex_unlock(&st->nexus_lock);
    free(c);
    if (last)
        itn_close(st, t);
}

static void sim_nexus_describe(void *state, void *nexus, char *buf, size_t len)
{
    const struct sim_conn *c = nexus;

    (void)state;
    snprintf(buf, len, "%s", c->itn->who);
}

/* Remember that t used l (the I_T nexus loss goes there); 0 or -ENOMEM. */
static int remember_lun(struct sim_itn *t, struct sim_lun *l)
{
    int r = 0;
    bool kept = false;

    lun_ref(l); /* the nexus' own reference, if l is new to it */
    pthread_mutex_lock(&t->lock);
    bool known = false;
    for (size_t i = 0; i < t->nluns && !known; i++)
        known = t->luns[i] == l;
    if (!known) {
        if (t->nluns == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 4;
            struct sim_lun **p = realloc(t->luns, cap * sizeof(*p));
            if (!p)
                r = -ENOMEM;
            else {
                t->luns = p;
                t->cap = cap;
            }
        }
        if (r == 0) {
            t->luns[t->nluns++] = l;
            kept = true;
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (!kept)
        sim_lun_put(l);
    return r;
}

/* ---- commands ------------------------------------------------------------ */

static int sim_open(void *state, void *nexus, int fd, const struct stat *st, void **dev,
                    struct prh_result *res)
{
    struct sim_state *s = state;
    struct sim_conn *c = nexus;
    char name[SIM_LUN_NAME_MAX], why[96];

    /* Only disks are LUNs; an O_PATH fd cannot even be read. */
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) {
        *res = prh_result_errno(errno);
        return -1;
    }
    if (flags & O_PATH)
        snprintf(why, sizeof(why), "an O_PATH descriptor");
    if ((flags & O_PATH) || prh_sim_lun_check(st, why, sizeof(why)) < 0) {
        prh_log(2, "client %llu (%s): the fd is %s, not a disk: LOGICAL UNIT NOT SUPPORTED",
                (unsigned long long)c->serial, c->itn->who, why);
        *res = prh_result_sense(SENSE_LUN_NOT_SUPPORTED);
        return -1;
    }
    /* The LUN name of an fd: the same id the request trace uses. */
    prh_lun_id_of_stat(st, name, sizeof(name));
    int r = 0;
    struct sim_lun *l = lun_get(s, name, &r);
    if (!l) {
        if (r == -ENOSPC) {
            prh_error("client %llu: LUN %s refused: the LUN table is full (--sim-max-luns=%u, "
                      "every LUN has PR state)",
                      (unsigned long long)c->serial, name, s->max_luns);
            *res = prh_result_sense(SENSE_INSUFFICIENT_RESOURCES);
        } else {
            *res = prh_result_errno(-r);
        }
        return -1;
    }
    if (remember_lun(c->itn, l) < 0) {
        sim_lun_put(l);
        *res = prh_result_errno(ENOMEM);
        return -1;
    }
    *dev = l;
    return 0;
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
    struct prh_fault f;
    bool faulted = sim_fault_take(l->st, c, l, req->cdb, &f);

    if (faulted) {
        switch (f.action) {
        case PRH_FAULT_STATUS:
            *res = prh_result_status(f.status);
            return;
        case PRH_FAULT_SENSE:
            *res = prh_result_sense(f.sense);
            return;
        case PRH_FAULT_CLOSE:
            *res = (struct prh_result){ .kind = PRH_RESULT_DISCONNECT };
            return;
        case PRH_FAULT_DELAY:
            sleep_ms(f.delay_ms);
            break;
        case PRH_FAULT_CLOSE_AFTER:
            break;
        }
    }

    /* PR IN and PR OUT CDBs are 10 bytes; bytes 10-15 are padding. */
    pthread_mutex_lock(&l->lock);
    pr_sim_execute(l->lun, &c->itn->nexus, req->cdb, 10, req->params,
                   req->params ? req->xfer_len : 0, data, cap, &r);
    pthread_mutex_unlock(&l->lock);
    if (r.status == SCSI_STATUS_CHECK_CONDITION)
        *res = prh_result_sense(r.sense);
    else
        *res = prh_result_status(r.status);
    res->data_len = r.status == SCSI_STATUS_GOOD ? r.data_len : 0;
    if (r.status == SCSI_STATUS_CHECK_CONDITION &&
        scsi_sense_equal(r.sense, SENSE_INSUFFICIENT_REG_RESOURCES))
        prh_log(2, "%s: registration from %s refused: %u registrations "
                   "(--sim-max-registrations)",
                l->name, c->itn->who, l->st->max_registrations);
    if (faulted && f.action == PRH_FAULT_CLOSE_AFTER)
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
    /* The LUN stays: its state is the point (the nexus holds it too). */
    (void)state;
    (void)nexus;
    sim_lun_put(dev);
}

/* ---- life cycle ---------------------------------------------------------- */

static int sim_init(const struct prh_transport_options *opts, void **state, char *errmsg,
                    size_t len)
{
    struct sim_state *st;
    const char *profile = opts->sim_profile ? opts->sim_profile : "spc4";
    const char *identity = opts->sim_identity ? opts->sim_identity : "guest";
    enum pr_sim_profile p;
    enum prh_sim_identity id;

    if (!pr_sim_profile_parse(profile, &p)) {
        snprintf(errmsg, len, "unknown simulator profile '%s' (expected spc4 or lio)", profile);
        return -EINVAL;
    }
    if (!prh_sim_identity_parse(identity, &id)) {
        snprintf(errmsg, len, "unknown sim identity '%s' (expected guest, process or connection)",
                 identity);
        return -EINVAL;
    }
    if (opts->sim_max_registrations > PRH_SIM_MAX_LIMIT || opts->sim_max_luns > PRH_SIM_MAX_LIMIT) {
        snprintf(errmsg, len, "sim limits are at most %u", PRH_SIM_MAX_LIMIT);
        return -EINVAL;
    }
    if (!opts->state_dir || opts->state_dir[0] != '/') {
        snprintf(errmsg, len, "state directory must be an absolute path");
        return -EINVAL;
    }
    int r = pr_sim_store_make_dir(opts->state_dir, 0700);
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
    if (!st || !(st->state_dir = strdup(opts->state_dir)) ||
        !(st->proc_root = strdup(opts->proc_root ? opts->proc_root : "/proc")) ||
        !(st->faults = prh_faults_new(PRH_FAULTS_HELPER_REQUESTS))) {
        if (st) {
            free(st->state_dir);
            free(st->proc_root);
        }
        free(st);
        snprintf(errmsg, len, "out of memory");
        return -ENOMEM;
    }
    st->profile = p;
    st->identity = id;
    st->max_registrations = opts->sim_max_registrations ? opts->sim_max_registrations
                                                        : PRH_SIM_DEFAULT_MAX_REGISTRATIONS;
    st->max_luns = opts->sim_max_luns ? opts->sim_max_luns : PRH_SIM_DEFAULT_MAX_LUNS;
    st->restore = lun_restore;
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->nexus_lock, NULL);
    pthread_cond_init(&st->nexus_gone, NULL);
    *state = st;
    return 0;
}

static void sim_fini(void *state)
{
    struct sim_state *st = state;

    if (!st)
        return;
    /* Connections the caller did not free (a crash path): their memory. */
    while (st->conns) {
        struct sim_conn *c = st->conns;
        st->conns = c->next;
        free(c);
    }
    for (unsigned i = 0; i < SIM_ITN_BUCKETS; i++)
        while (st->itns[i]) {
            struct sim_itn *t = st->itns[i];
            st->itns[i] = t->next;
            pthread_mutex_destroy(&t->lock);
            free(t->luns);
            free(t);
        }
    for (unsigned i = 0; i < SIM_LUN_BUCKETS; i++) {
        struct sim_lun *l = st->buckets[i];
        while (l) {
            struct sim_lun *next = l->next;
            lun_destroy(l);
            l = next;
        }
    }
    prh_faults_free(st->faults);
    pthread_cond_destroy(&st->nexus_gone);
    pthread_mutex_destroy(&st->nexus_lock);
    pthread_mutex_destroy(&st->lock);
    free(st->proc_root);
    free(st->state_dir);
    free(st);
}

const struct prh_transport prh_transport_sim = {
    .struct_size = sizeof(struct prh_transport),
    .api_version = PRH_TRANSPORT_API_VERSION,
    .name = "sim",
    .version = PRH_VERSION,
    .description = "SPC-4 persistent-reservation simulator; any file or disk device is a LUN",
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
    /* nexus_never_blocks stays false: nexus_new reads the peer's /proc
     * entries (--sim-identity guest or process), and nexus_free takes each
     * LUN's lock, which an APTPL save holds across its file writes. */
};
