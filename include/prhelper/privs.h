/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * privs.h - dropping privileges with libcap-ng once the socket is set up:
 * keep only the capabilities the transport needs, switch to -u/-g,
 * drop supplementary groups, clear the bounding set.
 */
#ifndef PRHELPER_PRIVS_H
#define PRHELPER_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct prh_privs {
    uint64_t keep;     /* bit n = capability n */
    bool change_uid;
    uid_t uid;
    bool change_gid;
    gid_t gid;
};

/*
 * Drop.  Must run before any other thread exists (capabilities are per
 * thread).  Unprivileged callers with nothing to drop and no id change
 * succeed without doing anything.  0, or -errno with a message.
 */
int prh_privs_drop(const struct prh_privs *p, char *errmsg, size_t errmsg_len);

#endif
