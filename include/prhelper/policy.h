/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy.h - who may connect (--allow-uid, --allow-gid) and which
 * devices PR commands may reach (--allow-device).  An empty list allows
 * everything of its kind.
 *
 * Peers are matched on SO_PEERCRED (uid, primary gid) and SO_PEERGROUPS
 * (supplementary groups).  Devices are matched on the major:minor of the
 * fd the client passes, or on its WWID from sysfs (case-insensitive; a
 * "naa."/"eui."/"t10." WWID also matches the multipath form with the
 * 3/2/1 prefix, e.g. naa.6001405abc matches 36001405abc).
 */
#ifndef PRHELPER_POLICY_H
#define PRHELPER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "prhelper/audit.h"
#include "prhelper/scsi.h"

#define PRH_POLICY_MAX 64

/* The sense a --allow-device refusal returns: ILLEGAL REQUEST,
 * ACCESS DENIED - NO ACCESS RIGHTS (20h/02h, SPC-4 access controls). */
#define SENSE_ACCESS_DENIED SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x20, 0x02)

struct prh_policy_device {
    bool by_wwid;
    unsigned major, minor;
    char wwid[128];
};

struct prh_policy {
    uid_t uids[PRH_POLICY_MAX];
    size_t nuids;
    gid_t gids[PRH_POLICY_MAX];
    size_t ngids;
    struct prh_policy_device devices[PRH_POLICY_MAX];
    size_t ndevices;
};

/* Add one entry (user/group name or number; WWID or MAJ:MIN).
 * 0, or -1 with a message in errmsg. */
int prh_policy_add_uid(struct prh_policy *p, const char *user, char *errmsg, size_t len);
int prh_policy_add_gid(struct prh_policy *p, const char *group, char *errmsg, size_t len);
int prh_policy_add_device(struct prh_policy *p, const char *dev, char *errmsg, size_t len);

bool prh_policy_has_peer_rules(const struct prh_policy *p);
bool prh_policy_has_device_rules(const struct prh_policy *p);

/* Peer check: has_cred false never matches a non-empty list. */
bool prh_policy_allows_peer(const struct prh_policy *p, bool has_cred, uid_t uid, gid_t gid,
                            const gid_t *groups, size_t ngroups);
/* Peer check on a connected socket (SO_PEERCRED + SO_PEERGROUPS). */
bool prh_policy_allows_socket(const struct prh_policy *p, int sock);
bool prh_policy_allows_device(const struct prh_policy *p, const struct prh_audit_device *d);

#endif
