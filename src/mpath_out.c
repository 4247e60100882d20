/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mpath_out.c - PERSISTENT RESERVE OUT on a dm-multipath map, with the
 * multipath-tools 0.13/0.14 (libmpathpersist) semantics and the
 * differences docs/mpath.md lists.  Runs with the map locked, after the
 * fence-safe recovery of mpath.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "mpath_internal.h"
#include "prhelper/log.h"
#include "prhelper/multipathd.h"

struct out_ctx {
    struct prh_mpath *mp;
    struct prh_mpath_map *m;
    const struct prh_request *req;
    unsigned sa;
    bool have_keys; /* parameter list long enough for RK / SARK */
    uint64_t rk, sark;
    uint8_t flags;
    unsigned type;
};

static int send_on(struct out_ctx *c, struct mp_path *p, const struct prh_request *req,
                   struct prh_result *res)
{
    /* The parameter list is only read: struct sg_io_hdr cannot say so. */
    return prh_mp_cmd(c->mp, p, req, (uint8_t *)(uintptr_t)req->params, req->xfer_len, res);
}

static const char *dm_name(const struct prh_mpath_map *m, char *buf, size_t len)
{
    snprintf(buf, len, "dm %u:%u", major(m->dev), minor(m->dev));
    return buf;
}

/* ---- multipathd, as libmpathpersist keeps it informed ---------------------- */

static void tell_status(struct out_ctx *c, bool set)
{
    if (c->mp->o.mpathd == NULL)
        return;
    dev_t devs[PRH_DEV_MAX_PATHS];
    size_t n = 0;
    for (size_t i = 0; i < c->m->npaths; i++)
        if (c->m->paths[i].info.running && c->m->paths[i].in_sync)
            devs[n++] = c->m->paths[i].info.dev;
    prh_mpathd_set_status(c->mp->o.mpathd, c->m->dev, set, devs, n);
}

static void tell_hold(struct out_ctx *c, bool set)
{
    if (c->mp->o.mpathd != NULL)
        prh_mpathd_set_hold(c->mp->o.mpathd, c->m->dev, set);
}

static void tell_key(struct out_ctx *c, uint64_t key, bool aptpl)
{
    if (c->mp->o.mpathd != NULL)
        c->m->mpathd_key = prh_mpathd_set_key(c->mp->o.mpathd, c->m->dev, key, aptpl);
}

/* ---- suspend around a self-preempt ----------------------------------------- */

/* libmpathpersist suspends the map while our other paths are without a
 * key (between a self-preempt and their re-registration), so no I/O goes
 * down an unregistered path.  Needs device-mapper control (mpath). */
static bool suspend_map(struct out_ctx *c)
{
    if (!c->mp->o.suspend)
        return false;
    int r = prh_dev_ops()->dm_suspend(c->m->dev, true);
    if (r < 0) {
        char n[32];
        prh_log(1, "mpath: %s: cannot suspend the map around the self-preempt (%s)",
                dm_name(c->m, n, sizeof(n)), strerror(-r));
        return false;
    }
    return true;
}

static void resume_map(struct out_ctx *c, bool suspended)
{
    if (!suspended)
        return;
    int r = prh_dev_ops()->dm_suspend(c->m->dev, false);
    if (r < 0) {
        char n[32];
        prh_error("mpath: %s: cannot resume the map after the self-preempt: %s",
                  dm_name(c->m, n, sizeof(n)), strerror(-r));
    }
}

/*
 * After our own key was preempted through one path: the other paths get
 * it back, through the fence check (mpath.c).  Without a reservation
 * held by the key the device removed the sender's registration too
 * (SPC-4 5.14.11.4.3): the host is then unregistered, as a one-path host
 * would be, and nothing is registered again (libmpathpersist registers
 * every path again regardless; docs/mpath.md).
 */
static void after_self_preempt(struct out_ctx *c)
{
    struct prh_mpath_map *m = c->m;
    struct mp_keys k;
    if (m->key != 0 && prh_mp_read_keys(c->mp, m, m->key, &k) == 0 && k.count == 0) {
        char n[32];
        prh_log(2, "mpath: %s: the preempt of our own key removed every registration of "
                   "it (no reservation was held by it): the host is now unregistered",
                dm_name(m, n, sizeof(n)));
        m->key = 0;
        m->key_known = true;
        m->holding = false;
        for (size_t i = 0; i < m->npaths; i++)
            m->paths[i].in_sync = m->paths[i].info.running;
        return;
    }
    prh_mp_recover(c->mp, m);
}

/*
 * Preempt our own key (or an all-registrants reservation) on one path:
 * every other registration of our key is removed (SPC-4 5.14.11.4), so
 * the other paths are registered again at once, through the fence check.
 * extra, if set, runs on the preempting path before that (RELEASE, or
 * RELEASE and unregister).  0 or -1 with res set.
 */
static int preempt_self(struct out_ctx *c, const struct prh_request *pre,
                        const struct prh_request *then1, const struct prh_request *then2,
                        struct prh_result *res)
{
    struct prh_mpath_map *m = c->m;
    size_t order[PRH_DEV_MAX_PATHS];
    size_t n = prh_mp_order(m, order);
    if (n == 0) {
        *res = prh_mp_no_path();
        return -1;
    }
    bool suspended = suspend_map(c);
    int rc = -1;
    size_t via = 0;
    for (size_t i = 0; i < n; i++) {
        if (send_on(c, &m->paths[order[i]], pre, res) < 0)
            continue; /* path failure: the next path */
        if (prh_result_is_good(res)) {
            via = order[i];
            rc = 0;
        }
        break;
    }
    if (rc == 0) {
        prh_mp_others_out_of_sync(m, via);
        struct prh_result r2;
        const struct prh_request *then[2] = { then1, then2 };
        for (int k = 0; k < 2 && then[k] != NULL && rc == 0; k++) {
            if (send_on(c, &m->paths[via], then[k], &r2) < 0 || !prh_result_is_good(&r2)) {
                *res = r2;
                rc = -1;
            }
        }
        after_self_preempt(c);
    }
    resume_map(c, suspended);
    return rc;
}

static void make_prout(struct prh_request *r, uint8_t p[24], unsigned sa, unsigned type,
                       uint64_t rk, uint64_t sark)
{
    memset(r, 0, sizeof(*r));
    memset(p, 0, 24);
    r->cdb[0] = 0x5f;
    r->cdb[1] = (uint8_t)sa;
    r->cdb[2] = (uint8_t)type;
    scsi_put_be32(&r->cdb[5], 24);
    scsi_put_be64(&p[0], rk);
    scsi_put_be64(&p[8], sark);
    r->fd = -1;
    r->xfer_len = 24;
    r->params = p;
}

/* ---- RELEASE ---------------------------------------------------------------- */

/*
 * RELEASE goes down every usable path: only the holder's nexus releases
 * and a registered non-holder gets GOOD (SPC-4 5.14.13).  If the
 * reservation is still held by our key afterwards, its holder is behind a
 * path we could not reach: our key is preempted on a live path (which
 * moves the reservation there), released there and the other paths are
 * registered again (with unregister, that path is unregistered instead).
 */
static void out_release(struct out_ctx *c, uint64_t key, unsigned type, bool unregister,
                        struct prh_result *res)
{
    struct prh_mpath_map *m = c->m;
    struct prh_request rel;
    uint8_t rp[24];
    if (c->sa == PR_OUT_RELEASE)
        rel = *c->req;
    else
        make_prout(&rel, rp, PR_OUT_RELEASE, type, key, 0); /* LU_SCOPE */
    bool any_good = false, have_error = false, tried = false;
    struct prh_result good = prh_result_status(SCSI_STATUS_GOOD);
    *res = prh_mp_no_path();
    for (size_t i = 0; i < m->npaths; i++) {
        struct mp_path *p = &m->paths[i];
        if (!p->info.running)
            continue;
        tried = true;
        struct prh_result r;
        if (send_on(c, p, &rel, &r) < 0) {
            if (!have_error && !any_good)
                *res = r;
            continue;
        }
        if (prh_result_is_good(&r)) {
            if (!any_good)
                good = r;
            any_good = true;
        } else if (!have_error) {
            have_error = true;
            *res = r;
        }
    }
    if (!tried || have_error || !any_good)
        return;
    *res = good;
    bool reserved;
    uint64_t holder;
    unsigned held_type;
    if (prh_mp_read_reservation(c->mp, m, &reserved, &holder, &held_type) < 0 || !reserved ||
        holder != key || key == 0) {
        m->holding = false;
        return;
    }
    if (held_type != type) {
        /* libmpathpersist: the holder would have refused this type. */
        *res = prh_result_status(SCSI_STATUS_RESERVATION_CONFLICT);
        return;
    }
    char n[32];
    prh_log(1, "mpath: %s: the reservation holder's path is unreachable; moving the "
               "reservation to a live path by preempting our own key, to release it",
            dm_name(m, n, sizeof(n)));
    struct prh_request pre, unreg;
    uint8_t pp[24], up[24];
    make_prout(&pre, pp, PR_OUT_PREEMPT, rel.cdb[2], key, key);
    prh_mp_make_register(&unreg, up, 0, 0);
    struct prh_result r;
    uint64_t saved = m->key;
    bool saved_known = m->key_known;
    if (unregister) {
        /* The recovery after the preempt then clears the other paths
         * instead of giving them the key back. */
        m->key = 0;
        m->key_known = true;
    } else {
        m->key = key;
        m->key_known = true;
    }
    if (preempt_self(c, &pre, &rel, unregister ? &unreg : NULL, &r) < 0) {
        m->key = saved;
        m->key_known = saved_known;
        *res = r;
        return;
    }
    m->holding = false;
}

/* ---- REGISTER / REGISTER AND IGNORE EXISTING KEY ---------------------------- */

/* Roll the paths in done[] back to old_key (REGISTER AND IGNORE). */
static void roll_back(struct out_ctx *c, const bool *done, uint64_t old_key)
{
    for (size_t j = 0; j < c->m->npaths; j++)
        if (done[j])
            prh_mp_set_key(c->mp, c->m, &c->m->paths[j], old_key);
}

/*
 * Every usable path, in order.  Path failures are skipped (the path is
 * registered later, through the fence check).  If some paths took a
 * REGISTER and others refused it (RESERVATION CONFLICT: they held another
 * key, e.g. from before a key change while they were away), those are
 * registered with REGISTER AND IGNORE EXISTING KEY, as libmpathpersist
 * 0.13 does.  A refusal that cannot be completed so (and any refusal of
 * REGISTER AND IGNORE after other paths took it) rolls every path back.
 * If no path took it, the first device answer is returned: nothing
 * changed.
 */
static void fan_out_register(struct out_ctx *c, struct prh_result *res)
{
    struct prh_mpath_map *m = c->m;
    bool was_known = m->key_known;
    uint64_t old_key = c->sa == PR_OUT_REGISTER ? c->rk : (m->key_known ? m->key : 0);
    bool done[PRH_DEV_MAX_PATHS] = { false }, refused[PRH_DEV_MAX_PATHS] = { false };
    struct prh_result verdict[PRH_DEV_MAX_PATHS];
    bool any_done = false, any_refused = false, tried = false;
    size_t first_refused = 0;
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
    *res = prh_mp_no_path();
    for (size_t i = 0; i < m->npaths; i++) {
        struct mp_path *p = &m->paths[i];
        if (!p->info.running) {
            p->in_sync = false;
            continue;
        }
        tried = true;
        if (send_on(c, p, any_done ? &plain : c->req, &verdict[i]) < 0) {
            p->in_sync = false;
            if (!any_done && !any_refused)
                *res = verdict[i];
            continue;
        }
        if (prh_result_is_good(&verdict[i])) {
            if (!any_done)
                first_good = verdict[i];
            done[i] = any_done = true;
            p->in_sync = true;
            continue;
        }
        if (!any_refused)
            first_refused = i;
        refused[i] = any_refused = true;
        if (!any_done && !prh_result_is_conflict(&verdict[i])) {
            /* The first answer is the device's verdict; nothing changed. */
            *res = verdict[i];
            return;
        }
    }
    if (!any_done) {
        if (any_refused)
            *res = verdict[first_refused];
        else if (!tried)
            *res = prh_mp_no_path();
        return;
    }
    for (size_t i = 0; i < m->npaths && any_refused; i++) {
        if (!refused[i])
            continue;
        struct prh_request force;
        uint8_t fp[24];
        prh_mp_make_register(&force, fp, c->sark, c->flags & PR_OUT_FLAG_APTPL);
        struct prh_result r2;
        if (c->sa == PR_OUT_REGISTER && send_on(c, &m->paths[i], &force, &r2) == 0 &&
            prh_result_is_good(&r2)) {
            prh_log(1, "mpath: path %s held another key; registered with REGISTER AND "
                       "IGNORE EXISTING KEY",
                    m->paths[i].info.name);
            done[i] = true;
            m->paths[i].in_sync = true;
            continue;
        }
        char n[32];
        prh_error("mpath: %s: path %s refused %s after other paths took it; rolling back",
                  dm_name(m, n, sizeof(n)), m->paths[i].info.name, pr_out_sa_name(c->sa));
        roll_back(c, done, old_key);
        m->key = old_key;
        m->key_known = was_known || c->sa == PR_OUT_REGISTER;
        *res = verdict[i];
        return;
    }
    m->key = c->sark;
    m->key_known = true;
    m->aptpl = c->flags & PR_OUT_FLAG_APTPL;
    if (c->sark != 0)
        m->ever_registered = true;
    *res = first_good;
}

static void out_register(struct out_ctx *c, struct prh_result *res)
{
    struct prh_mpath_map *m = c->m;
    uint64_t cur = c->sa == PR_OUT_REGISTER ? c->rk : m->key;
    bool cur_known = c->sa == PR_OUT_REGISTER || m->key_known;
    bool old_mpathd_key = m->mpathd_key;
    uint64_t old_key = m->key;
    /* libmpathpersist tells multipathd the new key first, so a path that
     * comes back meanwhile gets it from multipathd. */
    if (c->sark != 0)
        tell_key(c, c->sark, c->flags & PR_OUT_FLAG_APTPL);
    if (c->sark == 0 && cur_known && cur != 0) {
        /* Unregistering while holding the reservation (0.13): release it
         * first, so no path is left unregistered under a reservation and
         * a holder behind a dead path is released too. */
        bool reserved;
        uint64_t holder;
        unsigned type;
        if (prh_mp_read_reservation(c->mp, m, &reserved, &holder, &type) == 0 && reserved &&
            holder == cur) {
            struct prh_result r;
            out_release(c, cur, type, true, &r);
            if (!prh_result_is_good(&r)) {
                *res = r;
                return;
            }
            tell_hold(c, false);
            if (m->key_known && m->key == 0) {
                /* The self-preempt path unregistered everything. */
                *res = r;
                tell_status(c, false);
                return;
            }
        }
    }
    fan_out_register(c, res);
    if (!prh_result_is_good(res)) {
        if (c->sark != 0 && c->mp->o.mpathd != NULL && m->mpathd_key)
            tell_key(c, old_key, m->aptpl);
        m->mpathd_key = old_mpathd_key;
        return;
    }
    if (c->sark == 0) {
        m->holding = false;
        tell_status(c, false);
        if (m->mpathd_key)
            tell_key(c, 0, false);
    } else {
        tell_status(c, true);
    }
}

/* ---- one-path service actions ------------------------------------------------ */

/* The first path that delivers it (in-sync paths first); a RESERVATION
 * CONFLICT from a path that is out of sync tries the next one too.  0
 * delivered on order[*via] (res: the device's answer), -1 none. */
static int send_single(struct out_ctx *c, const struct prh_request *req, bool conflict_next,
                       size_t *via, struct prh_result *res)
{
    struct prh_mpath_map *m = c->m;
    size_t order[PRH_DEV_MAX_PATHS];
    size_t n = prh_mp_order(m, order);
    *res = prh_mp_no_path();
    bool answered = false;
    struct prh_result conflict;
    for (size_t i = 0; i < n; i++) {
        struct mp_path *p = &m->paths[order[i]];
        struct prh_result r;
        if (send_on(c, p, req, &r) < 0) {
            if (!answered)
                *res = r;
            continue;
        }
        if (prh_result_is_conflict(&r) && (conflict_next || !p->in_sync)) {
            answered = true;
            conflict = r;
            *res = r;
            continue;
        }
        *res = r;
        *via = order[i];
        return 0;
    }
    if (answered)
        *res = conflict;
    return answered ? 0 : -1;
}

/* RESERVE (0.13): every path until one succeeds; if all conflict and our
 * key already holds that type (its holder path is unreachable), GOOD. */
static void out_reserve(struct out_ctx *c, struct prh_result *res)
{
    size_t via;
    if (send_single(c, c->req, true, &via, res) < 0)
        return;
    if (prh_result_is_conflict(res) && c->have_keys) {
        bool reserved;
        uint64_t holder;
        unsigned type;
        if (prh_mp_read_reservation(c->mp, c->m, &reserved, &holder, &type) == 0 && reserved &&
            holder == c->rk && type == c->type) {
            prh_log(2, "mpath: RESERVE: already held by key 0x%llx through another path",
                    (unsigned long long)c->rk);
            *res = prh_result_status(SCSI_STATUS_GOOD);
        }
    }
    if (prh_result_is_good(res)) {
        c->m->holding = true;
        tell_hold(c, true);
    }
}

/* PREEMPT (AND ABORT): preempting our own key, or an all-registrants
 * reservation (service action key 0), takes the registrations of our
 * other paths too: they are registered again at once (0.13). */
static void out_preempt(struct out_ctx *c, struct prh_result *res)
{
    struct prh_mpath_map *m = c->m;
    bool reserved = false;
    uint64_t holder = 0;
    unsigned type = 0;
    bool taking = c->have_keys &&
                  prh_mp_read_reservation(c->mp, m, &reserved, &holder, &type) == 0 &&
                  reserved && holder == c->sark;
    bool self = c->have_keys && (c->sark == c->rk || (taking && c->sark == 0));
    if (self) {
        char n[32];
        prh_log(2, "mpath: %s: %s of %s: the other paths are registered again",
                dm_name(m, n, sizeof(n)), pr_out_sa_name(c->sa),
                c->sark == 0 ? "an all-registrants reservation" : "our own key");
        m->key = c->rk;
        m->key_known = true;
        m->ever_registered = true;
        if (preempt_self(c, c->req, NULL, NULL, res) < 0)
            return;
    } else {
        size_t via;
        if (send_single(c, c->req, false, &via, res) < 0)
            return;
    }
    if (prh_result_is_good(res) && taking) {
        m->holding = true;
        tell_hold(c, true);
    }
}

static void out_clear(struct out_ctx *c, struct prh_result *res)
{
    size_t via;
    if (send_single(c, c->req, false, &via, res) < 0 || !prh_result_is_good(res))
        return;
    /* Every registration of every nexus is gone, reachable or not. */
    struct prh_mpath_map *m = c->m;
    m->key = 0;
    m->key_known = true;
    m->ever_registered = false;
    m->holding = false;
    for (size_t i = 0; i < m->npaths; i++)
        m->paths[i].in_sync = true;
    tell_status(c, false);
    if (m->mpathd_key)
        tell_key(c, 0, false);
}

/* REGISTER AND MOVE and anything else: one path.  With UNREG the sending
 * nexus let its key go; the other paths follow. */
static void out_other(struct out_ctx *c, struct prh_result *res)
{
    size_t via;
    if (send_single(c, c->req, false, &via, res) < 0 || !prh_result_is_good(res))
        return;
    struct prh_mpath_map *m = c->m;
    if (c->sa == PR_OUT_REGISTER_AND_MOVE && c->have_keys && (c->req->params[17] & 0x02)) {
        m->key = 0;
        m->key_known = true;
        m->holding = false;
        prh_mp_others_out_of_sync(m, via);
        prh_mp_recover(c->mp, m);
    }
}

void prh_mp_pr_out(struct prh_mpath *mp, struct prh_mpath_map *m, const struct prh_request *req,
                   struct prh_result *res)
{
    struct out_ctx c = { .mp = mp, .m = m, .req = req, .sa = req->cdb[1] & 0x1fu,
                         .type = req->cdb[2] & 0x0fu };
    if (req->xfer_len >= 24 && req->params != NULL) {
        c.have_keys = true;
        c.rk = scsi_get_be64(&req->params[0]);
        c.sark = scsi_get_be64(&req->params[8]);
        c.flags = req->params[20];
    }
    switch (c.have_keys ? c.sa : 0x1fu) {
    case PR_OUT_REGISTER:
    case PR_OUT_REGISTER_AND_IGNORE:
        out_register(&c, res);
        break;
    case PR_OUT_RESERVE:
        out_reserve(&c, res);
        break;
    case PR_OUT_RELEASE:
        out_release(&c, c.rk, c.type, false, res);
        if (prh_result_is_good(res))
            tell_hold(&c, false);
        break;
    case PR_OUT_PREEMPT:
    case PR_OUT_PREEMPT_AND_ABORT:
        out_preempt(&c, res);
        break;
    case PR_OUT_CLEAR:
        out_clear(&c, res);
        break;
    default:
        out_other(&c, res);
        break;
    }
}
