/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_multipathd.h - a stand-in for multipathd's command socket in a
 * thread: the framing of libmpathcmd (size_t length, then that many
 * bytes, NUL-terminated, both ways), one command per connection, every
 * command recorded, replies as a configurable multipathd version would
 * give them.  Header only (static inline).
 */
#ifndef PRHELPER_TESTS_FAKE_MULTIPATHD_H
#define PRHELPER_TESTS_FAKE_MULTIPATHD_H

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prh_test_util.h"

struct fake_mpathd {
    char path[108];
    int lfd;
    pthread_t thread;
    volatile bool stop;
    /* set by the thread once it runs: fmd_start_at() waits for it, so that a
     * test forking right after never forks while the thread is still being
     * set up (an ASan build's child then inherited a held allocator lock
     * and hung) */
    atomic_bool running;
    pthread_mutex_t lock;
    char cmds[64][256];
    int ncmds;
    /* behaviour */
    bool knows_hold;      /* setprhold/unsetprhold (0.13+) */
    bool knows_pathlist;  /* setprstatus ... pathlist (0.14+) */
    bool key_file;        /* "reservation_key file" in its configuration */
    bool deny;            /* a non-root client: "permission deny" */
    char prkey[32];       /* getprkey answer */
    char *tmpdir;         /* fmd_start_in_tmpdir()'s: fmd_stop() removes it */
};

static inline bool fmd_read(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static inline void fmd_reply(int fd, const char *text)
{
    size_t len = strlen(text) + 1;
    if (write(fd, &len, sizeof(len)) != (ssize_t)sizeof(len) ||
        write(fd, text, len) != (ssize_t)len)
        return;
}

static inline void fmd_serve(struct fake_mpathd *m, int fd)
{
    size_t len;
    char cmd[256];
    if (!fmd_read(fd, &len, sizeof(len)) || len == 0 || len > sizeof(cmd) ||
        !fmd_read(fd, cmd, len))
        return;
    cmd[len - 1] = '\0';
    pthread_mutex_lock(&m->lock);
    if (m->ncmds < 64)
        snprintf(m->cmds[m->ncmds++], sizeof(m->cmds[0]), "%s", cmd);
    pthread_mutex_unlock(&m->lock);
    if (strcmp(cmd, "show config") == 0) {
        fmd_reply(fd, m->key_file ? "defaults {\n\tverbosity 2\n\treservation_key file\n}\n"
                                  : "defaults {\n\tverbosity 2\n}\n");
    } else if (m->deny) {
        fmd_reply(fd, "fail\npermission deny: need to be root\n");
    } else if ((strstr(cmd, "setprhold") != NULL && !m->knows_hold) ||
               (strstr(cmd, "pathlist") != NULL && !m->knows_pathlist)) {
        fmd_reply(fd, "fail\nmultipath-tools v0.9.4 (fake)\nCLI commands reference:\n");
    } else if (strncmp(cmd, "setprkey", 8) == 0 && !m->key_file) {
        fmd_reply(fd, "fail\n");
    } else if (strncmp(cmd, "getprkey", 8) == 0) {
        fmd_reply(fd, m->prkey[0] ? m->prkey : "none\n");
    } else {
        fmd_reply(fd, "ok\n");
    }
}

static inline void *fmd_thread(void *arg)
{
    struct fake_mpathd *m = arg;
    atomic_store(&m->running, true);
    while (!m->stop) {
        struct pollfd p = { .fd = m->lfd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(m->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        fmd_serve(m, fd);
        close(fd);
    }
    return NULL;
}

/* Start on the socket name: a path, or "@..." for an abstract name (as
 * multipathd's own, without a trailing NUL), or "@" alone for a unique
 * abstract name the kernel picks (m->path then holds it): the abstract
 * namespace is the network namespace's, shared with other test runs. */
static inline void fmd_start_at(struct fake_mpathd *m, const char *name)
{
    memset(m, 0, sizeof(*m));
    atomic_init(&m->running, false);
    pthread_mutex_init(&m->lock, NULL);
    snprintf(m->path, sizeof(m->path), "%s", name);
    m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    socklen_t len = sizeof(a);
    if (strcmp(name, "@") == 0) {
        len = sizeof(sa_family_t); /* autobind */
    } else if (name[0] == '@') {
        size_t n = strnlen(name, sizeof(a.sun_path) - 1);
        memcpy(a.sun_path + 1, name + 1, n - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", name);
        unlink(name);
    }
    if (bind(m->lfd, (struct sockaddr *)&a, len) < 0 || listen(m->lfd, 8) < 0)
        abort();
    if (len == sizeof(sa_family_t)) {
        struct sockaddr_un got;
        socklen_t glen = sizeof(got);
        if (getsockname(m->lfd, (struct sockaddr *)&got, &glen) < 0 ||
            glen <= offsetof(struct sockaddr_un, sun_path) + 1)
            abort();
        size_t n = glen - offsetof(struct sockaddr_un, sun_path) - 1;
        snprintf(m->path, sizeof(m->path), "@%.*s", (int)n, got.sun_path + 1);
    }
    pthread_create(&m->thread, NULL, fmd_thread, m);
    while (!atomic_load(&m->running))
        sched_yield();
}

/* Start on a pathname socket in dir. */
static inline void fmd_start(struct fake_mpathd *m, const char *dir)
{
    char path[108];
    snprintf(path, sizeof(path), "%.90s/mpathd.sock", dir);
    fmd_start_at(m, path);
}

/* Start one that knows every command (hold, pathlist, a key file: 0.14
 * and later) on a pathname socket in a new temporary directory. */
static inline void fmd_start_in_tmpdir(struct fake_mpathd *m)
{
    char *dir = tu_tmpdir();
    fmd_start(m, dir);
    m->tmpdir = dir;
    m->knows_hold = m->knows_pathlist = m->key_file = true;
}

static inline void fmd_stop(struct fake_mpathd *m)
{
    m->stop = true;
    pthread_join(m->thread, NULL);
    close(m->lfd);
    if (m->path[0] != '@')
        unlink(m->path);
    pthread_mutex_destroy(&m->lock);
    if (m->tmpdir)
        tu_tmpdir_free(m->tmpdir);
    m->tmpdir = NULL;
}

/* Was a command starting with prefix received?  Its index, or -1. */
static inline int fmd_find(struct fake_mpathd *m, const char *prefix)
{
    int at = -1;
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->ncmds && at < 0; i++)
        if (strncmp(m->cmds[i], prefix, strlen(prefix)) == 0)
            at = i;
    pthread_mutex_unlock(&m->lock);
    return at;
}

static inline void fmd_clear(struct fake_mpathd *m)
{
    pthread_mutex_lock(&m->lock);
    m->ncmds = 0;
    pthread_mutex_unlock(&m->lock);
}

#endif
