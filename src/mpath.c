/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mpath.c - the map registry, a map's identity and paths, fence-safe path
 * recovery and PR IN.  PR OUT is in mpath_out.c; docs/mpath.md describes
 * the algorithm.
 *
 * A map's commands run under the map's mutex on a worker thread: two
 * clients of the same map take turns, other maps and other clients run in
 * parallel, and the event loop never waits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "mpath_internal.h"
#include "prhelper/log.h"
#include "prhelper/multipathd.h"

/* ---- registry ------------------------------------------------------------- */

struct prh_mpath *prh_mpath_new(const struct prh_mpath_options *o)
{
    struct prh_mpath *mp = calloc(1, sizeof(*mp));
    if (mp == NULL)
        return NULL;
    mp->o = *o;
    if (mp->o.timeout_ms == 0)
        mp->o.timeout_ms = PRH_SG_DEFAULT_TIMEOUT_MS;
    pthread_mutex_init(&mp->lock, NULL);
    return mp;
}

void prh_mpath_free(struct prh_mpath *mp)
{
    if (mp == NULL)
        return;
    while (mp->maps != NULL) {
        struct prh_mpath_map *m = mp->maps;
        mp->maps = m->next;
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
    pthread_mutex_destroy(&mp->lock);
    free(mp);
}

void prh_mp_drop_state(struct prh_mpath_map *m, const char *why)
{
    if (m->key_known || m->ever_registered || m->npaths > 0)
        prh_log(1, "mpath: dm %u:%u: %s: its reservation state is dropped", major(m->dev),
                minor(m->dev), why);
    m->key_known = false;
    m->key = 0;
    m->aptpl = 0;
    m->ever_registered = false;
    m->holding = false;
    m->mpathd_key = false;
    m->npaths = 0;
    m->wwid[0] = '\0';
    m->identified = false;
}

/* Maps of other dev_ts that are gone (or are other maps now) lose their
 * state; a map in use (locked) exists.  Run when a new map is seen. */
static void sweep_gone_maps(struct prh_mpath *mp, const struct prh_mpath_map *except)
{
    for (struct prh_mpath_map *m = mp->maps; m != NULL; m = m->next) {
        if (m == except || pthread_mutex_trylock(&m->lock) != 0)
            continue;
        if (m->identified) {
            struct prh_dev_block_info bi;
            int r = prh_dev_ops()->block_info(m->dev, &bi);
            if (r == -ENOENT)
                prh_mp_drop_state(m, "the map is gone");
            else if (r == 0 && strcmp(bi.dm_uuid, m->uuid) != 0)
                prh_mp_drop_state(m, "the dev_t names another map now");
        }
        pthread_mutex_unlock(&m->lock);
    }
}

struct prh_mpath_map *prh_mpath_get(struct prh_mpath *mp, const struct prh_dev_class *c)
{
    pthread_mutex_lock(&mp->lock);
    struct prh_mpath_map *m;
    for (m = mp->maps; m != NULL; m = m->next)
        if (m->dev == c->rdev)
            break;
    if (m == NULL) {
        m = calloc(1, sizeof(*m));
        if (m != NULL) {
            m->dev = c->rdev;
            pthread_mutex_init(&m->lock, NULL);
            m->next = mp->maps;
            mp->maps = m;
            sweep_gone_maps(mp, m);
        }
    }
    pthread_mutex_unlock(&mp->lock);
    return m;
}

int prh_mpath_map_status(struct prh_mpath *mp, dev_t map, struct prh_mpath_status *ms,
                         struct prh_mpath_path_status *st, size_t max)
{
    pthread_mutex_lock(&mp->lock);
    struct prh_mpath_map *m;
    for (m = mp->maps; m != NULL; m = m->next)
        if (m->dev == map)
            break;
    pthread_mutex_unlock(&mp->lock);
    if (m == NULL)
        return -ENOENT;
    pthread_mutex_lock(&m->lock);
    ms->key_known = m->key_known;
    ms->key = m->key;
    ms->holding = m->holding;
    ms->ever_registered = m->ever_registered;
    size_t n = m->npaths < max ? m->npaths : max;
    for (size_t i = 0; i < n; i++) {
        snprintf(st[i].name, sizeof(st[i].name), "%s", m->paths[i].info.name);
        st[i].in_sync = m->paths[i].in_sync;
        st[i].last_error = m->paths[i].last_error;
    }
    pthread_mutex_unlock(&m->lock);
    return (int)n;
}

/* ---- identity and paths ---------------------------------------------------- */

/* Map identity (issue: dev_t alone is not enough: a removed map's minor is
 * reused by the next map created).  Called with the map locked. */
static void check_identity(struct prh_mpath_map *m, const struct prh_dev_class *c)
{
    if (m->identified) {
        if (c->seq_known && m->seq_known && c->seq != m->seq)
            prh_mp_drop_state(m, "the map was removed and another one created in its place");
        else if (strcmp(c->dm_uuid, m->uuid) != 0)
            prh_mp_drop_state(m, "its dm uuid changed");
    }
    m->identified = true;
    m->seq_known = c->seq_known;
    m->seq = c->seq;
    snprintf(m->uuid, sizeof(m->uuid), "%s", c->dm_uuid);
}

static const struct mp_path *find_path(const struct prh_mpath_map *m, const struct prh_dev_path *p)
{
    for (size_t j = 0; j < m->npaths; j++)
        if (m->paths[j].info.dev == p->dev && strcmp(m->paths[j].info.name, p->name) == 0)
            return &m->paths[j];
    return NULL;
}

/* Re-read the map's paths from the system, keeping what we knew of each.
 * Paths that reach another LUN than before drop the state. */
static int refresh_paths(struct prh_mpath_map *m)
{
    struct prh_dev_path info[PRH_DEV_MAX_PATHS];
    int n = prh_dev_ops()->list_paths(m->dev, info, PRH_DEV_MAX_PATHS);
    if (n < 0)
        return n;
    bool common = false;
    for (int i = 0; i < n; i++) {
        if (m->wwid[0] && info[i].wwid[0] && strcmp(info[i].wwid, m->wwid) != 0) {
            char why[256];
            snprintf(why, sizeof(why), "path %s reaches LUN %s, the map's was %s", info[i].name,
                     info[i].wwid, m->wwid);
            prh_mp_drop_state(m, why);
            break;
        }
        common = common || find_path(m, &info[i]) != NULL;
    }
    if (m->npaths > 0 && n > 0 && !common && m->wwid[0] == '\0')
        prh_mp_drop_state(m, "none of its paths is one it had");
    /* A path we know nothing of may carry anything: it is registered (or
     * cleared) through the fence check like a returning one. */
    bool owed = (m->key_known && m->key != 0) || m->ever_registered;
    struct mp_path next[PRH_DEV_MAX_PATHS];
    for (int i = 0; i < n; i++) {
        struct mp_path *p = &next[i];
        memset(p, 0, sizeof(*p));
        p->info = info[i];
        const struct mp_path *old = find_path(m, &info[i]);
        p->in_sync = old != NULL ? old->in_sync : !owed;
        p->last_error = old != NULL ? old->last_error : 0;
        if (!p->info.running) {
            /* It may miss changes while away: checked when it is back. */
            if (owed)
                p->in_sync = false;
            if (p->last_error == 0)
                p->last_error = -ENOLINK;
        }
        if (m->wwid[0] == '\0' && info[i].wwid[0])
            snprintf(m->wwid, sizeof(m->wwid), "%s", info[i].wwid);
    }
    memcpy(m->paths, next, (size_t)n * sizeof(next[0]));
    m->npaths = (size_t)n;
    return 0;
}

/* ---- commands on paths ----------------------------------------------------- */

struct prh_result prh_mp_no_path(void)
{
    return prh_result_sense(SENSE_ABORTED_LUN_COMM_FAILURE);
}

int prh_mp_cmd(struct prh_mpath *mp, struct mp_path *p, const struct prh_request *req,
               uint8_t *data, uint32_t len, struct prh_result *res)
{
    int r = prh_dev_path_cmd(&p->info, req, data, len, mp->o.timeout_ms, res);
    if (r < 0)
        p->last_error = res->kind == PRH_RESULT_ERRNO ? -res->err : -EIO;
    else
        p->last_error = 0;
    return r;
}

void prh_mp_make_register(struct prh_request *sub, uint8_t params[24], uint64_t sark,
                          uint8_t flags)
{
    memset(sub, 0, sizeof(*sub));
    memset(params, 0, 24);
    sub->cdb[0] = 0x5f;
    sub->cdb[1] = PR_OUT_REGISTER_AND_IGNORE;
    scsi_put_be32(&sub->cdb[5], 24);
    scsi_put_be64(&params[8], sark);
    params[20] = flags;
    sub->fd = -1;
    sub->xfer_len = 24;
    sub->params = params;
}

bool prh_mp_set_key(struct prh_mpath *mp, struct prh_mpath_map *m, struct mp_path *p,
                    uint64_t key)
{
    struct prh_request sub;
    uint8_t params[24];
    struct prh_result res;
    prh_mp_make_register(&sub, params, key, key != 0 ? m->aptpl : 0);
    if (prh_mp_cmd(mp, p, &sub, params, 24, &res) == 0 && prh_result_is_good(&res)) {
        p->in_sync = true;
        prh_log(2, "mpath: path %s now carries key 0x%llx", p->info.name,
                (unsigned long long)key);
        return true;
    }
    p->in_sync = false;
    if (p->last_error == 0)
        p->last_error = -EIO;
    prh_error("mpath: dm %u:%u: could not set key 0x%llx on path %s; will try again",
              major(m->dev), minor(m->dev), (unsigned long long)key, p->info.name);
    return false;
}

size_t prh_mp_order(const struct prh_mpath_map *m, size_t order[PRH_DEV_MAX_PATHS])
{
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < m->npaths; i++)
            if (m->paths[i].info.running && m->paths[i].in_sync == (pass == 0))
                order[n++] = i;
    return n;
}

/* One PR IN on the first path that answers.  0 or -1. */
static int pr_in_any(struct prh_mpath *mp, struct prh_mpath_map *m, uint8_t sa, uint8_t *data,
                     uint16_t len, struct prh_result *res)
{
    struct prh_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.cdb[0] = 0x5e;
    rq.cdb[1] = sa;
    scsi_put_be16(&rq.cdb[7], len);
    rq.fd = -1;
    rq.xfer_len = len;
    size_t order[PRH_DEV_MAX_PATHS];
    size_t n = prh_mp_order(m, order);
    *res = prh_mp_no_path();
    for (size_t i = 0; i < n; i++) {
        memset(data, 0, len);
        if (prh_mp_cmd(mp, &m->paths[order[i]], &rq, data, len, res) == 0)
            return prh_result_is_good(res) ? 0 : -1;
    }
    return -1;
}

int prh_mp_read_keys(struct prh_mpath *mp, struct prh_mpath_map *m, uint64_t key,
                     struct mp_keys *k)
{
    static const uint16_t alloc = 8192;
    uint8_t *data = malloc(alloc);
    struct prh_result res;
    memset(k, 0, sizeof(*k));
    if (data == NULL)
        return -1;
    int r = pr_in_any(mp, m, PR_IN_READ_KEYS, data, alloc, &res);
    if (r == 0 && res.data_len >= 8) {
        k->generation = scsi_get_be32(&data[0]);
        uint32_t addl = scsi_get_be32(&data[4]);
        size_t have = (res.data_len - 8) / 8;
        k->total = addl / 8 < have ? addl / 8 : have;
        for (size_t i = 0; i < k->total; i++)
            k->count += scsi_get_be64(&data[8 + 8 * i]) == key;
    } else {
        r = -1;
    }
    free(data);
    return r;
}

int prh_mp_read_reservation(struct prh_mpath *mp, struct prh_mpath_map *m, bool *reserved,
                            uint64_t *key, unsigned *type)
{
    uint8_t data[24];
    struct prh_result res;
    if (pr_in_any(mp, m, PR_IN_READ_RESERVATION, data, sizeof(data), &res) < 0)
        return -1;
    *reserved = res.data_len >= 24 && scsi_get_be32(&data[4]) >= 16;
    *key = *reserved ? scsi_get_be64(&data[8]) : 0;
    *type = *reserved ? data[21] & 0x0fu : 0;
    return 0;
}

void prh_mp_others_out_of_sync(struct prh_mpath_map *m, size_t keep)
{
    for (size_t i = 0; i < m->npaths; i++)
        m->paths[i].in_sync = i == keep;
}

/* ---- fence-safe recovery --------------------------------------------------- */

/* Take the registrations of paths back off (REGISTER AND IGNORE, key 0). */
static void clear_paths(struct prh_mpath *mp, struct prh_mpath_map *m, const bool *which)
{
    for (size_t i = 0; i < m->npaths; i++)
        if (which[i] && !prh_mp_set_key(mp, m, &m->paths[i], 0))
            m->paths[i].in_sync = false; /* cleared when it can be */
}

static void forget_key(struct prh_mpath_map *m, const char *why)
{
    prh_error("mpath: dm %u:%u: key 0x%llx %s: it is forgotten and no path is registered "
              "with it again",
              major(m->dev), minor(m->dev), (unsigned long long)m->key, why);
    m->key = 0;
    m->key_known = true;
    m->holding = false;
}

/*
 * Running paths that missed a change (they were away, failed a command or
 * are new) get the map's key back, but only if READ KEYS shows it is still
 * on the LUN: if another host preempted (or cleared) it meanwhile, the key
 * is forgotten and the paths are cleared instead (a path that was away
 * may still carry an older key of ours).  After registering, READ KEYS
 * again: if the key may have been preempted in between, the registrations
 * just made are taken back (multipath-tools 0.13 does the same check).
 */
void prh_mp_recover(struct prh_mpath *mp, struct prh_mpath_map *m)
{
    bool cand[PRH_DEV_MAX_PATHS] = { false };
    size_t ncand = 0, nsync = 0;
    for (size_t i = 0; i < m->npaths; i++) {
        const struct mp_path *p = &m->paths[i];
        if (p->info.running && !p->in_sync) {
            cand[i] = true;
            ncand++;
        } else if (p->in_sync) {
            nsync++;
        }
    }
    if (ncand == 0 || !m->key_known)
        return;
    if (m->key == 0) {
        /* No key of ours on the LUN: a path that was away may hold an old one. */
        if (m->ever_registered)
            clear_paths(mp, m, cand);
        else
            for (size_t i = 0; i < m->npaths; i++)
                m->paths[i].in_sync = m->paths[i].in_sync || cand[i];
        return;
    }
    struct mp_keys before, after;
    if (prh_mp_read_keys(mp, m, m->key, &before) < 0) {
        prh_log(1, "mpath: dm %u:%u: READ KEYS failed on every path: paths that missed a "
                   "change are not registered now",
                major(m->dev), minor(m->dev));
        return;
    }
    if (before.count == 0) {
        forget_key(m, "is no longer registered on the LUN (preempted or cleared by another "
                      "host)");
        clear_paths(mp, m, cand);
        return;
    }
    bool done[PRH_DEV_MAX_PATHS] = { false };
    size_t nnew = 0;
    for (size_t i = 0; i < m->npaths; i++) {
        if (cand[i] && prh_mp_set_key(mp, m, &m->paths[i], m->key)) {
            done[i] = true;
            nnew++;
        }
    }
    if (nnew == 0)
        return;
    bool safe = false;
    if (prh_mp_read_keys(mp, m, m->key, &after) == 0) {
        /* Nothing but our registrations happened in between (SPC-4
         * 6.16.2: each REGISTER AND IGNORE adds one to PRgeneration), or
         * our registrations made earlier are all still there. */
        safe = after.generation == before.generation + (uint32_t)nnew ||
               (nsync > 0 && after.count >= nsync + nnew);
    }
    if (!safe) {
        forget_key(m, "may have been preempted while paths were registered again");
        clear_paths(mp, m, done);
    }
}

/* ---- PR IN and PR OUT entry points ---------------------------------------- */

static int prepare(struct prh_mpath *mp, struct prh_mpath_map *m, const struct prh_dev_class *c,
                   struct prh_result *res)
{
    check_identity(m, c);
    int r = refresh_paths(m);
    if (r < 0) {
        *res = prh_result_errno(-r);
        return -1;
    }
    prh_mp_recover(mp, m);
    return 0;
}

void prh_mpath_pr_in(struct prh_mpath *mp, struct prh_mpath_map *m, const struct prh_dev_class *c,
                     const struct prh_request *req, uint8_t *data, uint32_t len,
                     struct prh_result *res)
{
    pthread_mutex_lock(&m->lock);
    if (prepare(mp, m, c, res) == 0) {
        size_t order[PRH_DEV_MAX_PATHS];
        size_t n = prh_mp_order(m, order);
        *res = prh_mp_no_path();
        for (size_t i = 0; i < n; i++)
            if (prh_mp_cmd(mp, &m->paths[order[i]], req, data, len, res) == 0)
                break;
    }
    pthread_mutex_unlock(&m->lock);
}

void prh_mpath_pr_out(struct prh_mpath *mp, struct prh_mpath_map *m,
                      const struct prh_dev_class *c, const struct prh_request *req,
                      struct prh_result *res)
{
    pthread_mutex_lock(&m->lock);
    if (prepare(mp, m, c, res) == 0)
        prh_mp_pr_out(mp, m, req, res);
    pthread_mutex_unlock(&m->lock);
    res->data_len = 0;
}
