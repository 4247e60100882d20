/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audit.c - the audit trail (see audit.h and docs/operations.md). */
#include "prhelper/audit.h"
#include "prhelper/devcache.h"
#include "prhelper/qemu_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

/* snprintf() that may truncate on purpose (bounded fields). */
__attribute__((format(printf, 3, 4))) static void fmt(char *dst, size_t len, const char *f, ...)
{
    va_list ap;

    va_start(ap, f);
    vsnprintf(dst, len, f, ap);
    va_end(ap);
}

/* Reading /proc and sysfs needs open/openat without O_CREAT: the sg and
 * mpath filters allow that already, sim's allows open outright. */
#define PRH_OPS_COMMON_SYSCALLS                                                                   \
    "read", "readlink", "readlinkat", "access", "faccessat", "faccessat2", "write", "fdatasync", \
        "sendto", "sendmsg", "connect", "memfd_create", "fcntl", "futex", "clock_nanosleep"

const char *const prh_ops_syscalls[] = { PRH_OPS_COMMON_SYSCALLS, NULL };

const char *const prh_ops_metrics_file_syscalls[] = {
    PRH_OPS_COMMON_SYSCALLS, "open", "openat", "fsync", "rename", "renameat", "renameat2",
    "unlink", "unlinkat", NULL,
};

/* journalctl MESSAGE_ID=... finds every audit record. */
#define PRH_AUDIT_MESSAGE_ID "5f7a0c4e2b9d4f3a8e61c0d2a4b7e913"

int prh_audit_parse(const char *spec, enum prh_audit_sink *sink, const char **path,
                    char *errmsg, size_t errmsg_len)
{
    *path = NULL;
    if (strcmp(spec, "journal") == 0) {
        *sink = PRH_AUDIT_JOURNAL;
    } else if (strcmp(spec, "syslog") == 0) {
        *sink = PRH_AUDIT_SYSLOG;
    } else if (strcmp(spec, "none") == 0) {
        *sink = PRH_AUDIT_NONE;
    } else if (strncmp(spec, "file:", 5) == 0) {
        if (spec[5] != '/') {
            snprintf(errmsg, errmsg_len, "--audit=file:PATH needs an absolute path, not '%s'",
                     spec + 5);
            return -1;
        }
        *sink = PRH_AUDIT_FILE;
        *path = spec + 5;
    } else {
        snprintf(errmsg, errmsg_len,
                 "unknown audit sink '%s' (expected journal, syslog, file:PATH or none)", spec);
        return -1;
    }
    return 0;
}

enum prh_audit_sink prh_audit_default_sink(void)
{
    /* systemd sets INVOCATION_ID for every unit it starts (v232+). */
    const char *id = getenv("INVOCATION_ID");
    return id && *id ? PRH_AUDIT_JOURNAL : PRH_AUDIT_SYSLOG;
}

const char *prh_audit_sink_name(enum prh_audit_sink sink)
{
    switch (sink) {
    case PRH_AUDIT_NONE: return "none";
    case PRH_AUDIT_JOURNAL: return "journal";
    case PRH_AUDIT_SYSLOG: return "syslog";
    case PRH_AUDIT_FILE: return "file";
    case PRH_AUDIT_DEFAULT:
    default: return "default";
    }
}

/* ---- who and what ---------------------------------------------------------- */

void prh_audit_client_fill(struct prh_audit_client *c, const struct prh_peer *peer,
                           const char *proc_root)
{
    char path[256];

    memset(c, 0, sizeof(*c));
    c->serial = peer->serial;
    c->has_cred = peer->has_cred;
    c->pid = peer->pid;
    c->uid = peer->uid;
    c->gid = peer->gid;
    if (!peer->has_cred || peer->pid <= 0)
        return;
    snprintf(path, sizeof(path), "%s/%ld/exe", proc_root, (long)peer->pid);
    ssize_t n = readlink(path, c->exe, sizeof(c->exe) - 1);
    c->exe[n > 0 ? n : 0] = '\0';

    char *buf = malloc(PRH_QEMU_CMDLINE_MAX);
    ssize_t len = buf ? prh_qemu_read_cmdline(proc_root, peer->pid, buf, PRH_QEMU_CMDLINE_MAX) : -1;
    if (len >= 0) {
        if (!prh_qemu_guest_name(buf, (size_t)len, c->guest, sizeof(c->guest), NULL))
            c->guest[0] = '\0';
        /* /proc/PID/exe needs ptrace access (same uid and no fewer
         * capabilities than the peer): after the privilege drop, argv[0]. */
        if (!c->exe[0] && len > 0 && memchr(buf, '\0', (size_t)len))
            fmt(c->exe, sizeof(c->exe), "%s", buf);
    }
    free(buf);
}

static bool read_attr(const char *path, char *out, size_t outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, out, outlen - 1);
    close(fd);
    if (n <= 0)
        return false;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\0'))
        out[--n] = '\0';
    return n > 0;
}

void prh_audit_device_fill(struct prh_audit_device *d, int fd, const char *sysfs_root)
{
    struct stat sb;

    prh_audit_device_fill_stat(d, fstat(fd, &sb) == 0 ? &sb : NULL, sysfs_root);
}

void prh_audit_device_fill_stat(struct prh_audit_device *d, const struct stat *sb,
                                const char *sysfs_root)
{
    char base[128], path[192], buf[sizeof(d->wwid) + 8];

    memset(d, 0, sizeof(*d));
    if (!sb)
        return;
    d->known = true;
    if (!S_ISBLK(sb->st_mode) && !S_ISCHR(sb->st_mode))
        return;
    d->is_dev = true;
    d->major = major(sb->st_rdev);
    d->minor = minor(sb->st_rdev);
    snprintf(base, sizeof(base), "%s/dev/%s/%u:%u", sysfs_root,
             S_ISBLK(sb->st_mode) ? "block" : "char", d->major, d->minor);
    snprintf(path, sizeof(path), "%s/device/wwid", base);
    if (read_attr(path, buf, sizeof(buf)))
        goto found;
    snprintf(path, sizeof(path), "%s/partition", base);
    if (access(path, F_OK) == 0) {
        snprintf(path, sizeof(path), "%s/../device/wwid", base);
        if (read_attr(path, buf, sizeof(buf)))
            goto found;
    }
    snprintf(path, sizeof(path), "%s/dm/uuid", base);
    if (read_attr(path, buf, sizeof(buf)) && strncmp(buf, "mpath-", 6) == 0) {
        memmove(buf, buf + 6, strlen(buf + 6) + 1);
        goto found;
    }
    snprintf(path, sizeof(path), "%s/wwid", base);
    if (read_attr(path, buf, sizeof(buf)))
        goto found;
    return;
found:
    fmt(d->wwid, sizeof(d->wwid), "%s", buf);
}

/* ---- the WWID cache ------------------------------------------------------- */

/* A block device's WWID by (st_rdev, disk sequence number) (devcache.h):
 * the sysfs read it saves costs ~155 us in the lab guest, the ioctl ~3 us. */
typedef char wwid_t[sizeof(((struct prh_audit_device *)0)->wwid)];
PRH_DEVCACHE_DEFINE(wwid_cache, 64, wwid_t);

static int (*disk_seq_fn)(int fd, uint64_t *seq) = prh_disk_seq;

void prh_audit_set_disk_seq(int (*disk_seq)(int fd, uint64_t *seq))
{
    disk_seq_fn = disk_seq ? disk_seq : prh_disk_seq;
}

void prh_audit_device_cache_flush(void)
{
    prh_devcache_flush(&wwid_cache);
}

void prh_audit_device_fill_fd(struct prh_audit_device *d, int fd, const struct stat *sb,
                              const char *sysfs_root)
{
    uint64_t seq;

    if (!sb || !S_ISBLK(sb->st_mode) || disk_seq_fn(fd, &seq) < 0) {
        prh_audit_device_fill_stat(d, sb, sysfs_root);
        return;
    }
    memset(d, 0, sizeof(*d));
    if (prh_devcache_get(&wwid_cache, sb->st_rdev, seq, d->wwid)) {
        d->known = d->is_dev = true;
        d->major = major(sb->st_rdev);
        d->minor = minor(sb->st_rdev);
        return;
    }
    prh_audit_device_fill_stat(d, sb, sysfs_root);
    /* No WWID yet (a disk still being probed): asked again next time. */
    if (d->wwid[0])
        prh_devcache_put(&wwid_cache, sb->st_rdev, seq, d->wwid);
}

bool prh_audit_wanted(const struct prh_request *req)
{
    return prh_wire_is_pr_out(req->cdb);
}

/* ---- one list of items, three renderings ------------------------------------ */

struct item {
    const char *key;
    bool num;
    char val[300];
};

#define MAX_ITEMS 24

struct items {
    struct item it[MAX_ITEMS];
    size_t n;
    char message[900];
    int priority;
};

__attribute__((format(printf, 4, 5))) static void add(struct items *l, const char *key, bool num,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (l->n == MAX_ITEMS)
        return;
    struct item *i = &l->it[l->n++];
    i->key = key;
    i->num = num;
    va_start(ap, fmt);
    vsnprintf(i->val, sizeof(i->val), fmt, ap);
    va_end(ap);
}

static const char *event_name(enum prh_audit_event e)
{
    switch (e) {
    case PRH_AUDIT_EV_PR_OUT: return "pr_out";
    case PRH_AUDIT_EV_DEVICE_DENIED: return "device_denied";
    case PRH_AUDIT_EV_CLIENT_DENIED: return "client_denied";
    }
    return "unknown";
}

static void collect(const struct prh_audit_record *r, struct items *l)
{
    struct tm tm;
    char ts[64], who[520], dev[160], res[200];
    const struct prh_audit_client *c = r->client;
    const struct prh_audit_device *d = r->device;

    memset(l, 0, sizeof(*l));
    gmtime_r(&r->time.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    add(l, "time", false, "%s.%06ldZ", ts, r->time.tv_nsec / 1000);
    add(l, "event", false, "%s", event_name(r->event));
    if (r->transport)
        add(l, "transport", false, "%s", r->transport);
    if (c) {
        add(l, "client", true, "%llu", (unsigned long long)c->serial);
        if (c->has_cred) {
            add(l, "pid", true, "%ld", (long)c->pid);
            add(l, "uid", true, "%lu", (unsigned long)c->uid);
            add(l, "gid", true, "%lu", (unsigned long)c->gid);
        }
        if (c->exe[0])
            add(l, "exe", false, "%s", c->exe);
        if (c->guest[0])
            add(l, "guest", false, "%s", c->guest);
    }
    if (r->nexus && r->nexus[0])
        add(l, "nexus", false, "%s", r->nexus);
    /* The message is one line of plain text whatever the peer's name holds
     * (the fields above carry the bytes, escaped as each format needs). */
    char shown[300];
    if (c && c->guest[0]) {
        prh_qemu_printable(c->guest, shown, sizeof(shown));
        snprintf(who, sizeof(who), "guest %s (pid %ld, uid %lu)", shown, (long)c->pid,
                 (unsigned long)c->uid);
    } else if (c && c->has_cred) {
        prh_qemu_printable(c->exe[0] ? c->exe : "?", shown, sizeof(shown));
        fmt(who, sizeof(who), "pid %ld (%s, uid %lu)", (long)c->pid, shown,
            (unsigned long)c->uid);
    }
    else
        snprintf(who, sizeof(who), "an unknown peer");
    if (r->nexus && r->nexus[0]) {
        size_t wl = strlen(who);
        fmt(who + wl, sizeof(who) - wl, " as %s", r->nexus);
    }

    if (r->event == PRH_AUDIT_EV_CLIENT_DENIED) {
        add(l, "result", false, "denied");
        add(l, "reason", false, "peer credentials not allowed");
        if (r->suppressed)
            add(l, "suppressed", true, "%lu", r->suppressed);
        fmt(l->message, sizeof(l->message), "connection from %s refused by the access policy%s",
            who, r->suppressed ? " (more refusals left out: see PRH_SUPPRESSED)" : "");
        l->priority = LOG_WARNING;
        return;
    }

    dev[0] = '\0';
    if (d && d->is_dev) {
        add(l, "device", false, "%u:%u", d->major, d->minor);
        snprintf(dev, sizeof(dev), " on %u:%u", d->major, d->minor);
    }
    if (d && d->wwid[0]) {
        add(l, "wwid", false, "%s", d->wwid);
        size_t dl = strlen(dev);
        snprintf(dev + dl, sizeof(dev) - dl, " (%s)", d->wwid);
    }
    const struct prh_request *q = r->req;
    bool out = prh_wire_is_pr_out(q->cdb);
    unsigned sa = q->cdb[1] & 0x1f;
    const char *saname = out ? pr_out_sa_name(sa) : pr_in_sa_name(sa);
    add(l, "op", false, "%s", out ? "PR OUT" : "PR IN");
    add(l, "service_action", false, "%s", saname);
    char keys[80] = "";
    if (out) {
        unsigned type = q->cdb[2] & 0x0f;
        add(l, "scope", true, "%u", q->cdb[2] >> 4);
        add(l, "type", false, "%s", type ? pr_type_name(type) : "none");
        if (q->params && q->xfer_len >= 16) {
            uint64_t k = scsi_get_be64(q->params), sk = scsi_get_be64(q->params + 8);
            add(l, "key", false, "0x%016llx", (unsigned long long)k);
            add(l, "sa_key", false, "0x%016llx", (unsigned long long)sk);
            snprintf(keys, sizeof(keys), " key 0x%llx sa_key 0x%llx", (unsigned long long)k,
                     (unsigned long long)sk);
        }
    }
    const struct prh_reply *p = r->reply;
    struct scsi_sense s;
    char sense[160] = "";
    add(l, "status", false, "%s", scsi_status_name(p->status));
    if (p->status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_decode(p->sense, sizeof(p->sense), &s)) {
        scsi_sense_to_string(s, sense, sizeof(sense));
        add(l, "sense", false, "%s", sense);
    }
    const char *result = r->event == PRH_AUDIT_EV_DEVICE_DENIED ? "denied"
                         : p->status == SCSI_STATUS_GOOD         ? "ok"
                                                                 : "refused";
    add(l, "result", false, "%s", result);
    if (r->event == PRH_AUDIT_EV_DEVICE_DENIED)
        add(l, "reason", false, "device not allowed");
    add(l, "latency_us", true, "%llu", (unsigned long long)(r->latency_ns / 1000));
    snprintf(res, sizeof(res), "%s%s%s", scsi_status_name(p->status), sense[0] ? ", " : "", sense);
    fmt(l->message, sizeof(l->message), "%s %s%s by %s%s: %s%s", out ? "PR OUT" : "PR IN",
             saname, keys, who, dev, res,
             r->event == PRH_AUDIT_EV_DEVICE_DENIED ? " (device not allowed)" : "");
    l->priority = p->status == SCSI_STATUS_GOOD ? LOG_NOTICE : LOG_WARNING;
}

/* Append to buf at *off, keeping the count of what would have been written. */
__attribute__((format(printf, 4, 5))) static void put(char *buf, size_t len, size_t *off,
                                                      const char *fmt, ...)
{
    va_list ap;
    size_t room = *off < len ? len - *off : 0;

    va_start(ap, fmt);
    int n = vsnprintf(room ? buf + *off : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        *off += (size_t)n;
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */

    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Values come from peers (a guest's name, argv[0]): control characters
 * are escaped, UTF-8 is kept, and a byte that is not UTF-8 becomes \u00XX
 * (JSON must be UTF-8) or \xXX. */
static void put_escaped(char *buf, size_t len, size_t *off, const char *s, bool json)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned char ch = *p;
        size_t u = ch >= 0x80 ? utf8_len(p) : 0;
        if (u) {
            put(buf, len, off, "%.*s", (int)u, (const char *)p);
            p += u;
            continue;
        }
        if (ch == '"' || ch == '\\')
            put(buf, len, off, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            put(buf, len, off, json ? "\\u%04x" : "\\x%02x", ch);
        else
            put(buf, len, off, "%c", ch);
        p++;
    }
}

size_t prh_audit_format_json(const struct prh_audit_record *r, char *buf, size_t len)
{
    struct items l;
    size_t off = 0;

    collect(r, &l);
    put(buf, len, &off, "{");
    for (size_t i = 0; i < l.n; i++) {
        put(buf, len, &off, "%s\"%s\":", i ? "," : "", l.it[i].key);
        if (l.it[i].num) {
            put(buf, len, &off, "%s", l.it[i].val);
        } else {
            put(buf, len, &off, "\"");
            put_escaped(buf, len, &off, l.it[i].val, true);
            put(buf, len, &off, "\"");
        }
    }
    put(buf, len, &off, "}\n");
    return off;
}

size_t prh_audit_format_text(const struct prh_audit_record *r, char *buf, size_t len)
{
    struct items l;
    size_t off = 0;

    collect(r, &l);
    put(buf, len, &off, "audit:");
    for (size_t i = 0; i < l.n; i++) {
        const char *v = l.it[i].val;
        bool quote = l.it[i].num ? false : (v[strcspn(v, " \"\\=")] != '\0' || !*v);
        put(buf, len, &off, " %s=%s", l.it[i].key, quote ? "\"" : "");
        put_escaped(buf, len, &off, v, false);
        if (quote)
            put(buf, len, &off, "\"");
    }
    return off;
}

void prh_audit_journal_fields(const struct prh_audit_record *r, struct prh_audit_fields *f)
{
    struct items l;

    collect(r, &l);
    f->n = 0;
    fmt(f->text[f->n++], sizeof(f->text[0]), "MESSAGE=%s", l.message);
    snprintf(f->text[f->n++], sizeof(f->text[0]), "MESSAGE_ID=" PRH_AUDIT_MESSAGE_ID);
    snprintf(f->text[f->n++], sizeof(f->text[0]), "PRIORITY=%d", l.priority);
    snprintf(f->text[f->n++], sizeof(f->text[0]), "SYSLOG_IDENTIFIER=prhelper");
    for (size_t i = 0; i < l.n && f->n < PRH_AUDIT_JOURNAL_MAX_FIELDS; i++) {
        char key[40];
        size_t k = 0;
        for (const char *s = l.it[i].key; *s && k + 1 < sizeof(key); s++)
            key[k++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
        key[k] = '\0';
        fmt(f->text[f->n++], sizeof(f->text[0]), "PRH_%s=%s", key, l.it[i].val);
    }
    for (size_t i = 0; i < f->n; i++) {
        f->iov[i].iov_base = f->text[i];
        f->iov[i].iov_len = strlen(f->text[i]);
    }
}

/* ---- sinks ------------------------------------------------------------------ */

struct prh_audit {
    enum prh_audit_sink sink;
    int fd;                 /* file sink; syslog: the datagram socket or -1 */
    char log_path[108];     /* syslog: the socket (default /dev/log) */
    pthread_mutex_t lock;
    atomic_ulong errors;    /* records lost */
    atomic_bool up;         /* syslog: fd is connected (read without lock) */
    bool congested;         /* syslog: the last send found the socket full */
};

/* Connect the syslog socket; a->lock held (or not yet shared).  A path
 * that does not exist (no syslog daemon: containers, rescue systems, the
 * lab guest) fails on one access() rather than socket() + connect() +
 * close() per record: those cost ~100 us natively on every PR OUT
 * (measured with perf, docs/performance.md). */
static void syslog_connect(struct prh_audit *a)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    a->congested = false;
    atomic_store(&a->up, false);
    if (access(a->log_path, F_OK) != 0)
        return;
    a->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memcpy(addr.sun_path, a->log_path, strnlen(a->log_path, sizeof(addr.sun_path) - 1));
    if (a->fd >= 0 && connect(a->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        close(a->fd);
        a->fd = -1;
    }
    atomic_store(&a->up, a->fd >= 0);
}

/* A syslog daemon that does not read (stopped, swamped) must not stall the
 * PR OUT being audited, nor every other one behind a->lock: a full socket
 * gets this long, then the record is counted as lost, and so is every
 * record that finds it still full (no wait: the queue behind the lock
 * would add up) until one gets through. */
#define PRH_AUDIT_SYSLOG_WAIT_MS 100

static ssize_t syslog_send_bounded(struct prh_audit *a, const char *buf, size_t len)
{
    ssize_t n = send(a->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN && !a->congested) {
        struct pollfd p = { .fd = a->fd, .events = POLLOUT };
        int r = poll(&p, 1, PRH_AUDIT_SYSLOG_WAIT_MS);
        if (r > 0)
            n = send(a->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        else if (r == 0)
            errno = EAGAIN;
    }
    a->congested = n < 0 && errno == EAGAIN;
    return n;
}

/* One RFC 3164 datagram: "<PRI>prhelper[PID]: audit: ...". */
static int syslog_send(struct prh_audit *a, int priority, const char *text)
{
    char buf[2200];
    int n = snprintf(buf, sizeof(buf), "<%d>prhelper[%ld]: %s", LOG_AUTHPRIV | priority,
                     (long)getpid(), text); /* after -d forked */
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    int ret = 0;

    pthread_mutex_lock(&a->lock);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (a->fd < 0)
            syslog_connect(a);
        if (a->fd < 0) {
            ret = -ENOTCONN;
            break;
        }
        if (syslog_send_bounded(a, buf, len) == (ssize_t)len) {
            ret = 0;
            break;
        }
        ret = -errno;
        if (ret == -EAGAIN)
            break; /* connected, just full: keep the socket */
        /* The syslog daemon restarted: reconnect once. */
        close(a->fd);
        a->fd = -1;
        atomic_store(&a->up, false);
    }
    if (ret)
        atomic_fetch_add(&a->errors, 1);
    pthread_mutex_unlock(&a->lock);
    return ret;
}

struct prh_audit *prh_audit_open(enum prh_audit_sink sink, const char *path, char *errmsg,
                                 size_t errmsg_len)
{
    struct prh_audit *a = calloc(1, sizeof(*a));

    if (!a) {
        snprintf(errmsg, errmsg_len, "audit: out of memory");
        return NULL;
    }
    if (sink == PRH_AUDIT_DEFAULT)
        sink = prh_audit_default_sink();
    a->sink = sink;
    a->fd = -1;
    atomic_init(&a->errors, 0);
    atomic_init(&a->up, false);
    pthread_mutex_init(&a->lock, NULL);
    switch (sink) {
    case PRH_AUDIT_FILE: {
        struct stat sb;
        a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                     0640);
        if (a->fd < 0 || fstat(a->fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
            snprintf(errmsg, errmsg_len, "Cannot open audit file '%s': %s", path,
                     a->fd < 0 ? strerror(errno) : "not a regular file");
            prh_audit_close(a);
            return NULL;
        }
        break;
    }
    case PRH_AUDIT_SYSLOG:
        /* Connected now, before privileges go; a host without a syslog
         * daemon does not stop the helper (records are counted as errors
         * and the socket is retried). */
        fmt(a->log_path, sizeof(a->log_path), "%s", path ? path : "/dev/log");
        syslog_connect(a);
        break;
    default:
        break;
    }
    return a;
}

bool prh_audit_active(const struct prh_audit *a)
{
    return a && a->sink != PRH_AUDIT_NONE;
}

#define PRH_JOURNAL_SOCKET "/run/systemd/journal/socket"

bool prh_audit_ready(struct prh_audit *a)
{
    if (!prh_audit_active(a))
        return false;
    switch (a->sink) {
    case PRH_AUDIT_SYSLOG: return atomic_load(&a->up) || access(a->log_path, F_OK) == 0;
    case PRH_AUDIT_JOURNAL: return access(PRH_JOURNAL_SOCKET, F_OK) == 0;
    default: return true;
    }
}

void prh_audit_lost(struct prh_audit *a)
{
    if (a)
        atomic_fetch_add(&a->errors, 1);
}

int prh_audit_emit(struct prh_audit *a, const struct prh_audit_record *r)
{
    int ret = 0;

    if (!a || a->sink == PRH_AUDIT_NONE)
        return 0;
    switch (a->sink) {
    case PRH_AUDIT_FILE: {
        char buf[4096];
        size_t n = prh_audit_format_json(r, buf, sizeof(buf));
        if (n >= sizeof(buf)) {
            n = sizeof(buf) - 1;
            buf[n - 1] = '\n'; /* cannot happen with bounded items */
        }
        pthread_mutex_lock(&a->lock);
        ssize_t w = write(a->fd, buf, n);
        if (w < 0)
            ret = -errno;
        else if ((size_t)w != n)
            ret = -EIO;
        else if (fdatasync(a->fd) < 0)
            ret = -errno;
        if (ret)
            atomic_fetch_add(&a->errors, 1);
        pthread_mutex_unlock(&a->lock);
        return ret;
    }
    case PRH_AUDIT_SYSLOG: {
        char buf[2048];
        struct items l;
        /* No syslog daemon: the record is lost either way; format nothing,
         * and take no lock (every PR OUT would queue behind the access()). */
        if (!prh_audit_ready(a)) {
            prh_audit_lost(a);
            return -ENOTCONN;
        }
        collect(r, &l);
        prh_audit_format_text(r, buf, sizeof(buf));
        return syslog_send(a, l.priority, buf);
    }
    case PRH_AUDIT_JOURNAL: {
        struct prh_audit_fields *f = malloc(sizeof(*f));
        /* sd_journal_sendv() drops records silently when journald is not
         * running: count that as an error. */
        if (access(PRH_JOURNAL_SOCKET, F_OK) != 0) {
            ret = -errno;
            free(f);
        } else if (!f) {
            ret = -ENOMEM;
        } else {
            prh_audit_journal_fields(r, f);
            int rc = sd_journal_sendv(f->iov, (int)f->n);
            if (rc < 0)
                ret = rc;
            free(f);
        }
        if (ret)
            atomic_fetch_add(&a->errors, 1);
        return ret;
    }
    default:
        return 0;
    }
}

unsigned long prh_audit_errors(const struct prh_audit *a)
{
    return a ? atomic_load(&((struct prh_audit *)a)->errors) : 0;
}

void prh_audit_close(struct prh_audit *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
