/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privs.c - privilege drop with libcap-ng (cli.md section 4). */
#include "prhelper/privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int prh_privs_drop(const struct prh_privs *p, char *errmsg, size_t len)
{
    bool id_change = p->change_uid || p->change_gid;
    int r;

    /* An unprivileged process has nothing to give up and cannot change
     * ids or the bounding set: nothing to do, unless ids were asked for. */
    if (!id_change && capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE) {
        return 0;
    }

    capng_clear(CAPNG_SELECT_BOTH);
    for (int cap = 0; cap <= CAP_LAST_CAP && cap < 64; cap++) {
        if (!(p->keep & (1ull << cap)))
            continue;
        if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, (unsigned)cap) < 0) {
            snprintf(errmsg, len, "cannot keep capability %d", cap);
            return -EINVAL;
        }
    }
    if (id_change || geteuid() == 0) {
        uid_t uid = p->change_uid ? p->uid : getuid();
        gid_t gid = p->change_gid ? p->gid : getgid();
        r = capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
        if (r < 0) {
            snprintf(errmsg, len, "%s (capng_change_id returned %d)",
                     errno ? strerror(errno) : "cannot change ids", r);
            return errno ? -errno : -EPERM;
        }
    } else {
        r = capng_apply(CAPNG_SELECT_BOTH);
        if (r < 0) {
            snprintf(errmsg, len, "cannot apply capabilities (capng_apply returned %d)", r);
            return -EPERM;
        }
    }
    /* Nothing this process runs later may gain privileges back. */
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    return 0;
}
