/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcmu_netlink.h - the kernel's "TCM-USER" generic netlink family.
 *
 * target_core_user multicasts TCMU_CMD_ADDED_DEVICE, _REMOVED_DEVICE and
 * _RECONFIG_DEVICE to the family's "config" group (attributes: the UIO
 * device name, its minor, the device index, and for a reconfiguration the
 * new dev_config, dev_size or write-cache setting).  When the device was
 * configured with nl_reply_supported > 0 the kernel waits for the
 * matching *_DONE command carrying TCMU_ATTR_CMD_STATUS and
 * TCMU_ATTR_DEVICE_ID (linux/target_core_user.h).
 *
 * Message building and parsing are pure functions over byte buffers; the
 * socket functions use them.
 */
#ifndef PRHELPER_TCMU_NETLINK_H
#define PRHELPER_TCMU_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCMU_NL_FAMILY_NAME "TCM-USER"
#define TCMU_NL_GROUP_NAME "config"
#define TCMU_NL_BUF 8192

/* Command numbers (enum tcmu_genl_cmd). */
enum tcmu_nl_cmd {
    TCMU_NL_ADDED = 1,
    TCMU_NL_REMOVED = 2,
    TCMU_NL_RECONFIG = 3,
    TCMU_NL_ADDED_DONE = 4,
    TCMU_NL_REMOVED_DONE = 5,
    TCMU_NL_RECONFIG_DONE = 6,
};

struct tcmu_nl_event {
    int cmd;                /* TCMU_NL_ADDED, _REMOVED, _RECONFIG */
    char device[512];       /* UIO device name ("tcm-user/...") */
    bool has_minor;
    uint32_t minor;
    bool has_dev_id;
    uint32_t dev_id;
    bool has_dev_cfg;
    char dev_cfg[512];
    bool has_dev_size;
    uint64_t dev_size;
    bool has_write_cache;
    uint8_t write_cache;
};

/* CTRL_CMD_GETFAMILY for "TCM-USER"; bytes written or 0 if cap is too small. */
size_t tcmu_nl_build_getfamily(uint8_t *buf, size_t cap, uint32_t seq);
/*
 * The controller's answer: the family id and the "config" group id.
 * 0; -ENOENT when the family does not exist (target_core_user not
 * loaded) or has no such group; -EINVAL malformed; other -errno from an
 * error message.
 */
int tcmu_nl_parse_family(const uint8_t *buf, size_t len, uint16_t *family, uint32_t *group);
/*
 * One received datagram: 1 and *ev for a TCMU event of family; 0 for
 * anything else (acks, other families, commands we do not know);
 * -EINVAL for a malformed message.
 */
int tcmu_nl_parse_event(const uint8_t *buf, size_t len, uint16_t family, struct tcmu_nl_event *ev);
/* The *_DONE answer to an event; bytes written or 0. */
size_t tcmu_nl_build_reply(uint8_t *buf, size_t cap, uint16_t family, int done_cmd, int32_t status,
                           uint32_t dev_id, uint32_t seq);

/* ---- the socket ------------------------------------------------------------- */

struct tcmu_nl {
    int fd;
    uint16_t family;
    uint32_t group;
    uint32_t seq;
};

/* Open, resolve the family, join its group.  0, or -errno with errmsg. */
int tcmu_nl_open(struct tcmu_nl *nl, char *errmsg, size_t len);
void tcmu_nl_close(struct tcmu_nl *nl);
/* Read one datagram (non-blocking): 1 event, 0 nothing usable, -errno. */
int tcmu_nl_recv(struct tcmu_nl *nl, struct tcmu_nl_event *ev);
/* Answer an event.  0 or -errno. */
int tcmu_nl_reply(struct tcmu_nl *nl, int event_cmd, int32_t status, uint32_t dev_id);

#endif
