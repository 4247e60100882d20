/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multipathd.c - a client of multipathd's command socket (multipathd.h).
 *
 * System calls (seccomp.c): socket(AF_UNIX, SOCK_STREAM), connect,
 * getsockopt(SO_PEERCRED), sendto, poll, recvfrom, close.
 */
#include "prhelper/multipathd.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "prhelper/log.h"

/* Longest reply read ("show config" is the longest we ask for). */
#define MAX_REPLY (1u << 20)

struct prh_mpathd {
    char socket[108];        /* "" : the default names */
    unsigned timeout_ms;
    pthread_mutex_t lock;    /* what we learnt of the multipathd process: */
    pid_t pid;               /* the one that answered last, 0 none */
    bool no_hold, no_pathlist; /* it does not know setprhold / pathlist */
    int file_keys;           /* "reservation_key file" configured: -1 unknown */
    bool told_present, told_denied;
};

struct prh_mpathd *prh_mpathd_new(const char *socket, unsigned timeout_ms)
{
    struct prh_mpathd *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    if (socket != NULL)
        snprintf(d->socket, sizeof(d->socket), "%s", socket);
    d->timeout_ms = timeout_ms ? timeout_ms : PRH_MPATHD_TIMEOUT_MS;
    d->file_keys = -1;
    pthread_mutex_init(&d->lock, NULL);
    return d;
}

void prh_mpathd_free(struct prh_mpathd *d)
{
    if (d == NULL)
        return;
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static int connect_one(const char *name)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    socklen_t len;
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof(a.sun_path))
        return -EINVAL;
    if (name[0] == '@') {
        /* Abstract: no trailing NUL in the name. */
        memcpy(a.sun_path + 1, name + 1, n - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        memcpy(a.sun_path, name, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, len) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = sendto(fd, p, len, MSG_NOSIGNAL, NULL, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, void *buf, size_t len, long deadline)
{
    char *p = buf;
    while (len > 0) {
        long left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        ssize_t n = recvfrom(fd, p, len, 0, NULL, NULL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One exchange; *reply malloc'd and NUL-terminated.  0 or -errno. */
static int exchange(struct prh_mpathd *d, const char *cmd, char **reply)
{
    *reply = NULL;
    int fd = -ENOENT;
    if (d->socket[0]) {
        fd = connect_one(d->socket);
    } else {
        fd = connect_one(PRH_MPATHD_PATHNAME_SOCKET);
        if (fd < 0)
            fd = connect_one(PRH_MPATHD_ABSTRACT_SOCKET);
    }
    if (fd < 0)
        return fd;
    struct ucred cred = { 0 };
    socklen_t cl = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
        cred.pid = 0;
    pthread_mutex_lock(&d->lock);
    if (cred.pid != d->pid) {
        /* Another multipathd process: learn what it supports anew. */
        d->pid = cred.pid;
        d->no_hold = d->no_pathlist = false;
        d->file_keys = -1;
    }
    if (!d->told_present) {
        d->told_present = true;
        prh_log(2, "multipathd (pid %ld) is running: it is kept informed of reservations",
                (long)cred.pid);
    }
    pthread_mutex_unlock(&d->lock);
    long deadline = now_ms() + (long)d->timeout_ms;
    size_t len = strlen(cmd) + 1;
    int r = send_all(fd, &len, sizeof(len));
    if (r == 0)
        r = send_all(fd, cmd, len);
    size_t rlen = 0;
    if (r == 0)
        r = recv_all(fd, &rlen, sizeof(rlen), deadline);
    if (r == 0 && (rlen == 0 || rlen > MAX_REPLY))
        r = -ERANGE;
    char *buf = NULL;
    if (r == 0 && (buf = malloc(rlen + 1)) == NULL)
        r = -ENOMEM;
    if (r == 0)
        r = recv_all(fd, buf, rlen, deadline);
    close(fd);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[rlen] = '\0';
    *reply = buf;
    return 0;
}

int prh_mpathd_command(struct prh_mpathd *d, const char *cmd, char *reply, size_t len)
{
    char *r;
    int e = exchange(d, cmd, &r);
    if (e < 0) {
        prh_log(3, "multipathd: \"%s\": %s", cmd, strerror(-e));
        return e;
    }
    if (reply != NULL && len > 0)
        snprintf(reply, len, "%s", r);
    int ok = strncmp(r, "ok", 2) == 0;
    if (!ok && strstr(r, "permission deny") != NULL) {
        pthread_mutex_lock(&d->lock);
        bool first = !d->told_denied;
        d->told_denied = true;
        pthread_mutex_unlock(&d->lock);
        if (first)
            prh_error("multipathd refuses our commands (it takes them from root only): it "
                      "is not told about reservations");
    }
    prh_log(ok ? 3 : 2, "multipathd: \"%s\": %.60s", cmd, r);
    free(r);
    return ok;
}

/* A "fail" that is not about the map or permissions: an unknown command. */
static bool unknown_command(const char *reply)
{
    return strncmp(reply, "fail", 4) == 0 && strstr(reply, "device not found") == NULL &&
           strstr(reply, "permission") == NULL && strstr(reply, "timeout") == NULL;
}

/* Does multipathd's configuration use "reservation_key file" anywhere?
 * Only then does libmpathpersist send setprkey; without it multipathd
 * would record our key in /etc/multipath/prkeys for nothing. */
static bool uses_key_file(struct prh_mpathd *d)
{
    pthread_mutex_lock(&d->lock);
    int known = d->file_keys;
    pthread_mutex_unlock(&d->lock);
    if (known >= 0)
        return known;
    char *r;
    if (exchange(d, "show config", &r) < 0)
        return false;
    bool found = false;
    for (char *line = strtok(r, "\n"); line != NULL && !found; line = strtok(NULL, "\n")) {
        char key[32], val[32];
        if (sscanf(line, " %31s %31s", key, val) == 2 && strcmp(key, "reservation_key") == 0)
            found = strcmp(val, "file") == 0 || strcmp(val, "\"file\"") == 0;
    }
    free(r);
    pthread_mutex_lock(&d->lock);
    d->file_keys = found;
    pthread_mutex_unlock(&d->lock);
    return found;
}

bool prh_mpathd_set_key(struct prh_mpathd *d, dev_t map, uint64_t key, bool aptpl)
{
    char cmd[96];
    if (!uses_key_file(d))
        return false;
    if (key == 0)
        snprintf(cmd, sizeof(cmd), "unsetprkey map dm-%u", minor(map));
    else
        snprintf(cmd, sizeof(cmd), "setprkey map dm-%u key 0x%llx%s", minor(map),
                 (unsigned long long)key, aptpl ? ":aptpl" : "");
    return prh_mpathd_command(d, cmd, NULL, 0) == 1;
}

void prh_mpathd_set_status(struct prh_mpathd *d, dev_t map, bool set, const dev_t *paths,
                           size_t npaths)
{
    char cmd[128 + 24 * 32], reply[256];
    int n = snprintf(cmd, sizeof(cmd), "%ssetprstatus map dm-%u", set ? "" : "un", minor(map));
    pthread_mutex_lock(&d->lock);
    bool pathlist = set && npaths > 0 && !d->no_pathlist;
    pthread_mutex_unlock(&d->lock);
    if (pathlist) {
        /* 0.14: the paths already registered, so multipathd skips them;
         * it compares them with each path's "major:minor". */
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " pathlist \"");
        for (size_t i = 0; i < npaths && (size_t)n < sizeof(cmd) - 24; i++)
            n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "%s%u:%u", i ? " " : "",
                          major(paths[i]), minor(paths[i]));
        snprintf(cmd + n, sizeof(cmd) - (size_t)n, "\"");
    }
    int r = prh_mpathd_command(d, cmd, reply, sizeof(reply));
    if (r == 0 && pathlist && unknown_command(reply)) {
        pthread_mutex_lock(&d->lock);
        d->no_pathlist = true;
        pthread_mutex_unlock(&d->lock);
        snprintf(cmd, sizeof(cmd), "setprstatus map dm-%u", minor(map));
        prh_mpathd_command(d, cmd, NULL, 0);
    }
}

void prh_mpathd_set_hold(struct prh_mpathd *d, dev_t map, bool set)
{
    pthread_mutex_lock(&d->lock);
    bool skip = d->no_hold;
    pthread_mutex_unlock(&d->lock);
    if (skip)
        return;
    char cmd[64], reply[256];
    snprintf(cmd, sizeof(cmd), "%ssetprhold map dm-%u", set ? "" : "un", minor(map));
    if (prh_mpathd_command(d, cmd, reply, sizeof(reply)) == 0 && unknown_command(reply)) {
        pthread_mutex_lock(&d->lock);
        d->no_hold = true;
        pthread_mutex_unlock(&d->lock);
        prh_log(2, "multipathd does not know setprhold (before 0.13): not sent again");
    }
}

int prh_mpathd_get_key(struct prh_mpathd *d, dev_t map, uint64_t *key)
{
    char cmd[64], reply[128];
    snprintf(cmd, sizeof(cmd), "getprkey map dm-%u", minor(map));
    if (prh_mpathd_command(d, cmd, reply, sizeof(reply)) < 0)
        return 0;
    if (strncmp(reply, "none", 4) == 0) {
        *key = 0;
        return 1;
    }
    char *end;
    unsigned long long k = strtoull(reply, &end, 16);
    if (end == reply || (*end != '\0' && *end != '\n' && *end != ':'))
        return 0;
    *key = k;
    return 1;
}
