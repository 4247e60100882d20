/* SPDX-License-Identifier: GPL-2.0-or-later */
/* policy.c - the access policy (see policy.h). */
#include "prhelper/policy.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

int prh_policy_add_uid(struct prh_policy *p, const char *user, char *errmsg, size_t len)
{
    unsigned long v;
    struct passwd *pw;

    if (p->nuids == PRH_POLICY_MAX) {
        snprintf(errmsg, len, "too many --allow-uid options (at most %d)", PRH_POLICY_MAX);
        return -1;
    }
    if (parse_uint(user, UINT_MAX - 1, &v)) {
        p->uids[p->nuids++] = (uid_t)v;
        return 0;
    }
    pw = getpwnam(user);
    if (!pw) {
        snprintf(errmsg, len, "--allow-uid: unknown user '%s'", user);
        return -1;
    }
    p->uids[p->nuids++] = pw->pw_uid;
    return 0;
}

int prh_policy_add_gid(struct prh_policy *p, const char *group, char *errmsg, size_t len)
{
    unsigned long v;
    struct group *gr;

    if (p->ngids == PRH_POLICY_MAX) {
        snprintf(errmsg, len, "too many --allow-gid options (at most %d)", PRH_POLICY_MAX);
        return -1;
    }
    if (parse_uint(group, UINT_MAX - 1, &v)) {
        p->gids[p->ngids++] = (gid_t)v;
        return 0;
    }
    gr = getgrnam(group);
    if (!gr) {
        snprintf(errmsg, len, "--allow-gid: unknown group '%s'", group);
        return -1;
    }
    p->gids[p->ngids++] = gr->gr_gid;
    return 0;
}

int prh_policy_add_device(struct prh_policy *p, const char *dev, char *errmsg, size_t len)
{
    struct prh_policy_device *d;
    const char *colon = strchr(dev, ':');

    if (p->ndevices == PRH_POLICY_MAX) {
        snprintf(errmsg, len, "too many --allow-device options (at most %d)", PRH_POLICY_MAX);
        return -1;
    }
    d = &p->devices[p->ndevices];
    memset(d, 0, sizeof(*d));
    if (colon && dev[0] >= '0' && dev[0] <= '9') {
        char maj[16];
        unsigned long a, b;
        size_t n = (size_t)(colon - dev);
        if (n >= sizeof(maj))
            goto bad;
        memcpy(maj, dev, n);
        maj[n] = '\0';
        if (!parse_uint(maj, 4095, &a) || !parse_uint(colon + 1, 1048575, &b))
            goto bad;
        d->major = (unsigned)a;
        d->minor = (unsigned)b;
    } else {
        if (!dev[0] || strlen(dev) >= sizeof(d->wwid) || strpbrk(dev, " \t\n"))
            goto bad;
        d->by_wwid = true;
        snprintf(d->wwid, sizeof(d->wwid), "%s", dev);
    }
    p->ndevices++;
    return 0;
bad:
    snprintf(errmsg, len, "--allow-device needs a WWID or MAJOR:MINOR, not '%s'", dev);
    return -1;
}

bool prh_policy_has_peer_rules(const struct prh_policy *p)
{
    return p && (p->nuids || p->ngids);
}

bool prh_policy_has_device_rules(const struct prh_policy *p)
{
    return p && p->ndevices;
}

bool prh_policy_allows_peer(const struct prh_policy *p, bool has_cred, uid_t uid, gid_t gid,
                            const gid_t *groups, size_t ngroups)
{
    if (!prh_policy_has_peer_rules(p))
        return true;
    if (!has_cred)
        return false;
    for (size_t i = 0; i < p->nuids; i++)
        if (p->uids[i] == uid)
            return true;
    for (size_t i = 0; i < p->ngids; i++) {
        if (p->gids[i] == gid)
            return true;
        for (size_t j = 0; j < ngroups; j++)
            if (p->gids[i] == groups[j])
                return true;
    }
    return false;
}

bool prh_policy_allows_socket(const struct prh_policy *p, int sock)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    gid_t groups[256];
    socklen_t glen = sizeof(groups);
    size_t ngroups = 0;
    bool has_cred;

    if (!prh_policy_has_peer_rules(p))
        return true;
    has_cred = getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
    if (p->ngids && getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
        ngroups = glen / sizeof(gid_t);
    return prh_policy_allows_peer(p, has_cred, has_cred ? cred.uid : 0, has_cred ? cred.gid : 0,
                                  groups, ngroups);
}

/* "naa.6001..." also matches "36001..." (multipath's WWID form). */
static bool wwid_match(const char *rule, const char *wwid)
{
    static const char *const prefixes[][2] = { { "naa.", "3" }, { "eui.", "2" }, { "t10.", "1" } };

    if (strcasecmp(rule, wwid) == 0)
        return true;
    for (size_t i = 0; i < 3; i++) {
        const char *sys = prefixes[i][0], *mp = prefixes[i][1];
        if (strncasecmp(wwid, sys, 4) == 0 && rule[0] == mp[0] &&
            strcasecmp(rule + 1, wwid + 4) == 0)
            return true;
    }
    return false;
}

bool prh_policy_allows_device(const struct prh_policy *p, const struct prh_audit_device *d)
{
    if (!prh_policy_has_device_rules(p))
        return true;
    for (size_t i = 0; i < p->ndevices; i++) {
        const struct prh_policy_device *r = &p->devices[i];
        if (r->by_wwid) {
            if (d->wwid[0] && wwid_match(r->wwid, d->wwid))
                return true;
        } else if (d->is_dev && d->major == r->major && d->minor == r->minor) {
            return true;
        }
    }
    return false;
}
