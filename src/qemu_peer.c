/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qemu_peer.c - a QEMU peer's name, UUID and start time from /proc (qemu_peer.h). */
#include "prhelper/qemu_peer.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

/* The value of one QEMU option ("-name X", "--name X", "-name=X", "--name=X")
 * at argument arg; NULL if arg is not that option.  *next skips a value
 * taken from the following argument.  end bounds the command line. */
static const char *option_value(const char *opt, const char *arg, const char *after,
                                const char *end, const char **next)
{
    size_t ol = strlen(opt);

    for (int dashes = 1; dashes <= 2; dashes++) {
        if (strncmp(arg, "--", (size_t)dashes) != 0 || arg[dashes] == '-')
            continue;
        const char *p = arg + dashes;
        if (strncmp(p, opt, ol) != 0)
            continue;
        if (p[ol] == '=')
            return p + ol + 1;
        if (p[ol] != '\0')
            continue;
        /* The value is the next argument, which must be NUL-terminated. */
        if (after >= end || strnlen(after, (size_t)(end - after)) == (size_t)(end - after))
            return NULL;
        *next = after + strlen(after) + 1;
        return after;
    }
    return NULL;
}

/*
 * The guest name inside one -name value: QemuOpts items separated by a
 * single ',' (",," is a literal comma); the first item without '=' is the
 * implied "guest" key.  Copies into out (cut), sets *full and *hash.
 */
static bool name_value(const char *opt, char *out, size_t outlen, size_t *full, unsigned *hash)
{
    bool first = true;
    const char *p = opt;

    while (*p) {
        /* One item: [p, q) with ",," pairs inside. */
        const char *q = p;
        while (*q && !(q[0] == ',' && q[1] != ','))
            q += q[0] == ',' ? 2 : 1;
        const char *eq = memchr(p, '=', (size_t)(q - p));
        const char *val = NULL;
        if (!eq && first)
            val = p;
        else if (eq && eq - p == 5 && strncmp(p, "guest", 5) == 0)
            val = eq + 1;
        first = false;
        if (val && val < q) {
            size_t n = 0;
            unsigned h = FNV_OFFSET;
            for (const char *s = val; s < q; s++) {
                if (s[0] == ',')
                    s++; /* ",," is one comma */
                if (n + 1 < outlen)
                    out[n] = *s;
                n++;
                h = (h ^ (unsigned char)*s) * FNV_PRIME;
            }
            out[n + 1 < outlen ? n : outlen - 1] = '\0';
            *full = n;
            *hash = h;
            return true;
        }
        p = *q ? q + 1 : q;
    }
    return false;
}

/* Walk the arguments; the last occurrence of opt whose value parse() accepts wins. */
static bool find_guest(const char *cmdline, size_t len, char *out, size_t outlen, size_t *full,
                       unsigned *hash)
{
    const char *p = cmdline, *end = cmdline + len;
    bool found = false;

    if (outlen == 0)
        return false;
    while (p < end) {
        const char *arg = p;
        size_t n = strnlen(arg, (size_t)(end - p));
        if (n == (size_t)(end - arg))
            break; /* unterminated last argument: ignore */
        p += n + 1;
        const char *next = p;
        const char *val = option_value("name", arg, p, end, &next);
        p = next;
        if (val && name_value(val, out, outlen, full, hash))
            found = true;
    }
    return found;
}

bool prh_qemu_guest_name(const char *cmdline, size_t len, char *out, size_t outlen,
                         size_t *full_len)
{
    size_t full = 0;
    unsigned hash;
    char tmp[PRH_QEMU_GUEST_MAX];

    /* Parse into a scratch buffer so that out is only written on success. */
    bool ok = find_guest(cmdline, len, tmp, sizeof(tmp) < outlen ? sizeof(tmp) : outlen, &full,
                         &hash);
    if (ok) {
        snprintf(out, outlen, "%s", tmp);
        if (full_len)
            *full_len = full;
    }
    return ok;
}

static bool canonical_uuid(const char *s, char out[PRH_QEMU_UUID_LEN])
{
    for (size_t i = 0; i < PRH_QEMU_UUID_LEN - 1; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    if (s[PRH_QEMU_UUID_LEN - 1] != '\0')
        return false;
    out[PRH_QEMU_UUID_LEN - 1] = '\0';
    return true;
}

bool prh_qemu_uuid(const char *cmdline, size_t len, char out[PRH_QEMU_UUID_LEN])
{
    const char *p = cmdline, *end = cmdline + len;
    char tmp[PRH_QEMU_UUID_LEN];
    bool found = false;

    while (p < end) {
        const char *arg = p;
        size_t n = strnlen(arg, (size_t)(end - p));
        if (n == (size_t)(end - arg))
            break;
        p += n + 1;
        const char *next = p;
        const char *val = option_value("uuid", arg, p, end, &next);
        p = next;
        if (val && canonical_uuid(val, tmp)) {
            memcpy(out, tmp, sizeof(tmp));
            found = true;
        }
    }
    return found;
}

ssize_t prh_qemu_read_cmdline(const char *proc_root, pid_t pid, char *buf, size_t cap)
{
    char path[300];
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/%ld/cmdline", proc_root, (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while (len < cap) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    return (ssize_t)len;
}

int prh_qemu_start_time(const char *proc_root, pid_t pid, unsigned long long *out)
{
    char path[300], buf[1024];

    snprintf(path, sizeof(path), "%s/%ld/stat", proc_root, (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n;
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and ')', so fields
     * count from the last ')'; starttime is field 22, the 20th after it. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    p++;
    for (int field = 3; field < 22; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -EINVAL;
        p += strcspn(p, " ");
    }
    while (*p == ' ')
        p++;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
        return -EINVAL;
    *out = v;
    return 0;
}

void prh_qemu_printable(const char *s, char *out, size_t outlen)
{
    size_t n = 0;

    if (outlen == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[5];
        bool plain = *p >= 0x20 && *p < 0x7f && *p != '\\';
        if (plain)
            esc[0] = (char)*p, esc[1] = '\0';
        else
            snprintf(esc, sizeof(esc), "\\x%02x", *p);
        size_t l = strlen(esc);
        if (n + l >= outlen)
            break;
        memcpy(out + n, esc, l);
        n += l;
    }
    out[n] = '\0';
}

void prh_qemu_peer_read(const char *proc_root, pid_t pid, struct prh_qemu_peer *out)
{
    memset(out, 0, sizeof(*out));
    out->has_start_time = prh_qemu_start_time(proc_root, pid, &out->start_time) == 0;
    char *buf = malloc(PRH_QEMU_CMDLINE_MAX);
    if (!buf)
        return;
    ssize_t n = prh_qemu_read_cmdline(proc_root, pid, buf, PRH_QEMU_CMDLINE_MAX);
    if (n >= 0) {
        size_t len = (size_t)n;
        out->cmdline_read = true;
        out->has_guest = find_guest(buf, len, out->guest, sizeof(out->guest), &out->guest_len,
                                    &out->guest_hash);
        if (!out->has_guest)
            out->guest[0] = '\0';
        out->has_uuid = prh_qemu_uuid(buf, len, out->uuid);
        if (len > 0 && memchr(buf, '\0', len))
            snprintf(out->argv0, sizeof(out->argv0), "%s", buf);
    }
    free(buf);
}
