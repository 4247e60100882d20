/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netlink.c - the "TCM-USER" generic netlink family
 * (include/prhelper/tcmu_netlink.h), spoken with a plain netlink socket:
 * a handful of fixed messages do not need libnl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "prhelper/tcmu_netlink.h"

/* TCMU attribute numbers (enum tcmu_genl_attr). */
enum {
    ATTR_DEVICE = 1,
    ATTR_MINOR = 2,
    ATTR_DEV_CFG = 4,
    ATTR_DEV_SIZE = 5,
    ATTR_WRITECACHE = 6,
    ATTR_CMD_STATUS = 7,
    ATTR_DEVICE_ID = 8,
};

#define TCMU_GENL_VERSION 2

_Static_assert(sizeof(struct nlmsghdr) == 16, "netlink header");
_Static_assert(sizeof(struct genlmsghdr) == 4, "genl header");
_Static_assert(sizeof(struct nlattr) == 4, "attribute header");

static size_t align4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* ---- building --------------------------------------------------------------- */

struct msg {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

static void put_attr(struct msg *m, uint16_t type, const void *data, size_t n)
{
    size_t total = align4(sizeof(struct nlattr) + n);
    if (m->len + total > m->cap || sizeof(struct nlattr) + n > 0xffff) {
        m->overflow = true;
        return;
    }
    struct nlattr a = { .nla_len = (uint16_t)(sizeof(a) + n), .nla_type = type };
    memset(m->buf + m->len, 0, total);
    memcpy(m->buf + m->len, &a, sizeof(a));
    memcpy(m->buf + m->len + sizeof(a), data, n);
    m->len += total;
}

static void start(struct msg *m, uint8_t *buf, size_t cap, uint16_t type, uint8_t cmd,
                  uint8_t version, uint32_t seq)
{
    m->buf = buf;
    m->cap = cap;
    m->len = NLMSG_HDRLEN + GENL_HDRLEN;
    m->overflow = cap < m->len;
    if (m->overflow)
        return;
    struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = seq };
    struct genlmsghdr g = { .cmd = cmd, .version = version };
    memset(buf, 0, m->len);
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + NLMSG_HDRLEN, &g, sizeof(g));
}

static size_t finish(struct msg *m)
{
    if (m->overflow)
        return 0;
    uint32_t len = (uint32_t)m->len;
    memcpy(m->buf, &len, sizeof(len)); /* nlmsg_len is the first field */
    return m->len;
}

size_t tcmu_nl_build_getfamily(uint8_t *buf, size_t cap, uint32_t seq)
{
    struct msg m;

    start(&m, buf, cap, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, seq);
    put_attr(&m, CTRL_ATTR_FAMILY_NAME, TCMU_NL_FAMILY_NAME, sizeof(TCMU_NL_FAMILY_NAME));
    return finish(&m);
}

size_t tcmu_nl_build_reply(uint8_t *buf, size_t cap, uint16_t family, int done_cmd, int32_t status,
                           uint32_t dev_id, uint32_t seq)
{
    struct msg m;

    start(&m, buf, cap, family, (uint8_t)done_cmd, TCMU_GENL_VERSION, seq);
    put_attr(&m, ATTR_CMD_STATUS, &status, sizeof(status));
    put_attr(&m, ATTR_DEVICE_ID, &dev_id, sizeof(dev_id));
    return finish(&m);
}

/* ---- parsing ----------------------------------------------------------------- */

/* The first netlink message of a datagram: its header and payload. */
static int first_message(const uint8_t *buf, size_t len, struct nlmsghdr *h, const uint8_t **payload,
                         size_t *plen)
{
    if (len < NLMSG_HDRLEN)
        return -EINVAL;
    memcpy(h, buf, sizeof(*h));
    if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len)
        return -EINVAL;
    *payload = buf + NLMSG_HDRLEN;
    *plen = h->nlmsg_len - NLMSG_HDRLEN;
    return 0;
}

/* Walk attributes: fn(type, data, n) for each; -EINVAL if one overruns. */
typedef int (*attr_fn)(void *opaque, uint16_t type, const uint8_t *data, size_t n);

static int walk_attrs(const uint8_t *p, size_t len, attr_fn fn, void *opaque)
{
    while (len >= sizeof(struct nlattr)) {
        struct nlattr a;
        memcpy(&a, p, sizeof(a));
        if (a.nla_len < sizeof(a) || a.nla_len > len)
            return -EINVAL;
        int r = fn(opaque, (uint16_t)(a.nla_type & NLA_TYPE_MASK), p + sizeof(a), a.nla_len - sizeof(a));
        if (r)
            return r;
        size_t step = align4(a.nla_len);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return 0;
}

static bool get_u32(const uint8_t *d, size_t n, uint32_t *v)
{
    if (n < 4)
        return false;
    memcpy(v, d, 4);
    return true;
}

/* A string attribute: NUL-terminated within its length, fits out. */
static bool get_str(const uint8_t *d, size_t n, char *out, size_t cap)
{
    size_t s = strnlen((const char *)d, n);
    if (s == n || s >= cap)
        return false;
    memcpy(out, d, s + 1);
    return true;
}

struct family_ctx {
    uint16_t family;
    bool have_family;
    uint32_t group;
    bool have_group;
};

struct group_info {
    char name[32];
    bool named;
    uint32_t id;
    bool has_id;
};

static int group_attr(void *opaque, uint16_t type, const uint8_t *d, size_t n)
{
    struct group_info *g = opaque;
    if (type == CTRL_ATTR_MCAST_GRP_NAME)
        g->named = get_str(d, n, g->name, sizeof(g->name));
    else if (type == CTRL_ATTR_MCAST_GRP_ID)
        g->has_id = get_u32(d, n, &g->id);
    return 0;
}

static int groups_attr(void *opaque, uint16_t type, const uint8_t *d, size_t n)
{
    struct family_ctx *c = opaque;
    struct group_info g;
    (void)type; /* each group is a nested attribute numbered by position */
    memset(&g, 0, sizeof(g));
    if (walk_attrs(d, n, group_attr, &g) < 0)
        return -EINVAL;
    if (g.named && g.has_id && strcmp(g.name, TCMU_NL_GROUP_NAME) == 0) {
        c->group = g.id;
        c->have_group = true;
    }
    return 0;
}

static int family_attr(void *opaque, uint16_t type, const uint8_t *d, size_t n)
{
    struct family_ctx *c = opaque;
    if (type == CTRL_ATTR_FAMILY_ID && n >= 2) {
        memcpy(&c->family, d, 2);
        c->have_family = true;
    } else if (type == CTRL_ATTR_MCAST_GROUPS) {
        return walk_attrs(d, n, groups_attr, c);
    }
    return 0;
}

int tcmu_nl_parse_family(const uint8_t *buf, size_t len, uint16_t *family, uint32_t *group)
{
    struct nlmsghdr h;
    const uint8_t *p;
    size_t plen;

    if (first_message(buf, len, &h, &p, &plen) < 0)
        return -EINVAL;
    if (h.nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr e;
        if (plen < sizeof(e.error))
            return -EINVAL;
        memcpy(&e.error, p, sizeof(e.error));
        return e.error < 0 ? e.error : -EINVAL;
    }
    if (h.nlmsg_type != GENL_ID_CTRL || plen < GENL_HDRLEN)
        return -EINVAL;
    struct family_ctx c = { 0 };
    if (walk_attrs(p + GENL_HDRLEN, plen - GENL_HDRLEN, family_attr, &c) < 0)
        return -EINVAL;
    if (!c.have_family || !c.have_group)
        return -ENOENT;
    *family = c.family;
    *group = c.group;
    return 0;
}

static int event_attr(void *opaque, uint16_t type, const uint8_t *d, size_t n)
{
    struct tcmu_nl_event *ev = opaque;
    switch (type) {
    case ATTR_DEVICE:
        if (!get_str(d, n, ev->device, sizeof(ev->device)))
            return -EINVAL;
        break;
    case ATTR_MINOR:
        ev->has_minor = get_u32(d, n, &ev->minor);
        break;
    case ATTR_DEVICE_ID:
        ev->has_dev_id = get_u32(d, n, &ev->dev_id);
        break;
    case ATTR_DEV_CFG:
        if (!get_str(d, n, ev->dev_cfg, sizeof(ev->dev_cfg)))
            return -EINVAL;
        ev->has_dev_cfg = true;
        break;
    case ATTR_DEV_SIZE:
        if (n >= 8) {
            memcpy(&ev->dev_size, d, 8);
            ev->has_dev_size = true;
        }
        break;
    case ATTR_WRITECACHE:
        if (n >= 1) {
            ev->write_cache = d[0];
            ev->has_write_cache = true;
        }
        break;
    default:
        break;
    }
    return 0;
}

int tcmu_nl_parse_event(const uint8_t *buf, size_t len, uint16_t family, struct tcmu_nl_event *ev)
{
    struct nlmsghdr h;
    const uint8_t *p;
    size_t plen;

    memset(ev, 0, sizeof(*ev));
    if (first_message(buf, len, &h, &p, &plen) < 0)
        return -EINVAL;
    if (h.nlmsg_type != family)
        return 0; /* acks, errors, other families */
    if (plen < GENL_HDRLEN)
        return -EINVAL;
    struct genlmsghdr g;
    memcpy(&g, p, sizeof(g));
    if (g.cmd != TCMU_NL_ADDED && g.cmd != TCMU_NL_REMOVED && g.cmd != TCMU_NL_RECONFIG)
        return 0;
    ev->cmd = g.cmd;
    if (walk_attrs(p + GENL_HDRLEN, plen - GENL_HDRLEN, event_attr, ev) < 0)
        return -EINVAL;
    if (ev->device[0] == '\0' || !ev->has_minor)
        return -EINVAL;
    return 1;
}

/* ---- the socket ------------------------------------------------------------------- */

int tcmu_nl_open(struct tcmu_nl *nl, char *errmsg, size_t len)
{
    uint8_t buf[TCMU_NL_BUF];
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    struct timeval tv = { .tv_sec = 2 };

    memset(nl, 0, sizeof(*nl));
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (nl->fd < 0) {
        int e = errno;
        snprintf(errmsg, len, "cannot open a generic netlink socket: %s", strerror(e));
        return -e;
    }
    int r;
    if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        r = -errno;
        snprintf(errmsg, len, "cannot set up the netlink socket: %s", strerror(-r));
        goto fail;
    }
    size_t n = tcmu_nl_build_getfamily(buf, sizeof(buf), ++nl->seq);
    if (send(nl->fd, buf, n, 0) < 0) {
        r = -errno;
        snprintf(errmsg, len, "cannot ask for the %s netlink family: %s", TCMU_NL_FAMILY_NAME,
                 strerror(-r));
        goto fail;
    }
    ssize_t got = recv(nl->fd, buf, sizeof(buf), 0);
    if (got < 0) {
        r = -errno;
        snprintf(errmsg, len, "no answer about the %s netlink family: %s", TCMU_NL_FAMILY_NAME,
                 strerror(-r));
        goto fail;
    }
    r = tcmu_nl_parse_family(buf, (size_t)got, &nl->family, &nl->group);
    if (r < 0) {
        snprintf(errmsg, len, r == -ENOENT
                                  ? "the kernel has no %s netlink family (is target_core_user loaded?)"
                                  : "bad answer about the %s netlink family",
                 TCMU_NL_FAMILY_NAME);
        goto fail;
    }
    unsigned grp = nl->group;
    if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0) {
        r = -errno;
        snprintf(errmsg, len, "cannot join the %s \"%s\" group: %s", TCMU_NL_FAMILY_NAME,
                 TCMU_NL_GROUP_NAME, strerror(-r));
        goto fail;
    }
    int fl = fcntl(nl->fd, F_GETFL);
    if (fl < 0 || fcntl(nl->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        r = -errno;
        snprintf(errmsg, len, "cannot make the netlink socket non-blocking: %s", strerror(-r));
        goto fail;
    }
    return 0;
fail:
    close(nl->fd);
    nl->fd = -1;
    return r;
}

void tcmu_nl_close(struct tcmu_nl *nl)
{
    if (nl->fd >= 0)
        close(nl->fd);
    nl->fd = -1;
}

int tcmu_nl_recv(struct tcmu_nl *nl, struct tcmu_nl_event *ev)
{
    uint8_t buf[TCMU_NL_BUF];
    ssize_t got = recv(nl->fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (got < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    int r = tcmu_nl_parse_event(buf, (size_t)got, nl->family, ev);
    return r < 0 ? 0 : r;
}

int tcmu_nl_reply(struct tcmu_nl *nl, int event_cmd, int32_t status, uint32_t dev_id)
{
    uint8_t buf[256];
    /* *_DONE is the event's number plus three (enum tcmu_genl_cmd). */
    size_t n = tcmu_nl_build_reply(buf, sizeof(buf), nl->family, event_cmd + 3, status, dev_id,
                                   ++nl->seq);
    if (n == 0)
        return -EINVAL;
    if (send(nl->fd, buf, n, 0) < 0)
        return -errno;
    return 0;
}
