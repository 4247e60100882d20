/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prh_test_util.h - small helpers shared by the daemon's tests (header
 * only: the top-level CMake builds each tests/<layer>/test_*.c on its own).
 * Every wait here is bounded.
 */
#ifndef PRHELPER_TESTS_PRH_TEST_UTIL_H
#define PRHELPER_TESTS_PRH_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "prhelper/scsi.h"
#include "prhelper/wire.h"

/* Number of open fds of a process (pid 0: this one). */
static inline int tu_fd_count(pid_t pid)
{
    char path[64];
    int n = 0;

    if (pid)
        snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    else
        snprintf(path, sizeof(path), "/proc/self/fd");
    DIR *d = opendir(path);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - (pid ? 0 : 1); /* not the DIR's own fd */
}

static inline long tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline void tu_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* One byte with room for one descriptor (SCM_RIGHTS). */
struct tu_fd_msg {
    char byte;
    struct iovec iov;
    struct msghdr m;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u; /* last: clang counts CMSG_SPACE() as a variable size */
};

static inline void tu_fd_msg_init(struct tu_fd_msg *x, char byte)
{
    memset(x, 0, sizeof(*x));
    x->byte = byte;
    x->iov = (struct iovec){ .iov_base = &x->byte, .iov_len = 1 };
    x->m = (struct msghdr){ .msg_iov = &x->iov, .msg_iovlen = 1, .msg_control = x->u.buf,
                            .msg_controllen = sizeof(x->u.buf) };
}

/* Receive one byte and the descriptor passed with it (SCM_RIGHTS, made
 * O_CLOEXEC): the descriptor; -1 when no byte came, -2 when it came alone. */
static inline int tu_recv_fd(int sock)
{
    struct tu_fd_msg x;
    int fd;
    tu_fd_msg_init(&x, 0);
    if (recvmsg(sock, &x.m, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&x.m);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        return -2;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

/* Send one byte with fd (SCM_RIGHTS); 0 or -1. */
static inline int tu_send_fd(int sock, char byte, int fd)
{
    struct tu_fd_msg x;
    tu_fd_msg_init(&x, byte);
    struct cmsghdr *c = CMSG_FIRSTHDR(&x.m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &x.m, 0) == 1 ? 0 : -1;
}

/* A child process that lives until the caller closes *release (the write
 * end of a pipe), then exits 0; its pid. */
static inline pid_t tu_fork_held(int *release)
{
    int p[2];
    char c;
    *release = -1;
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        _exit(read(p[0], &c, 1) < 0);
    }
    close(p[0]);
    *release = p[1];
    return pid;
}

/* A fresh temporary directory (mkdtemp). */
/* Wait (bounded) for child pid to exit: its exit status, 128+signal, or
 * -1 when it had to be killed. */
static inline int tu_wait_exit(pid_t pid, int ms)
{
    int st;
    long end = tu_now_ms() + ms;
    while (tu_now_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        tu_sleep_ms(2);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* A gate: a thread that reaches it (tu_gate_pass) stops there until the
 * test opens it; the test can wait until one has arrived.  It holds a call
 * in progress, to show what else goes on meanwhile. */
struct tu_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered, open;
};
#define TU_GATE_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false }

static inline void tu_gate_close(struct tu_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->entered = g->open = false;
    pthread_mutex_unlock(&g->lock);
}

static inline void tu_gate_pass(struct tu_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->entered = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static inline void tu_gate_wait_entered(struct tu_gate *g)
{
    pthread_mutex_lock(&g->lock);
    while (!g->entered)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static inline void tu_gate_open(struct tu_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static inline char *tu_tmpdir(void)
{
    char tmpl[] = "/tmp/prhelper-test.XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void tu_rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    int r = system(cmd);
    (void)r;
}

/* Remove a tu_tmpdir() and free its name. */
static inline void tu_tmpdir_free(char *dir)
{
    tu_rm_rf(dir);
    free(dir);
}

/* A 4 KiB regular file that stands in for a disk. */
static inline char *tu_disk(const char *dir, const char *name)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (ftruncate(fd, 4096) < 0) { /* a size is not needed by the sim */ }
        close(fd);
    }
    return path;
}

/* Connect to a Unix socket path; bind to abstract name first if given. */
static inline int tu_connect(const char *path, const char *abstract)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (abstract) {
        /* Abstract addresses are shared by every process of the network
         * namespace (other test runs at once): made unique after the '/'
         * the daemon ignores ("prhelper-nexus:a/1" -> "...a/1.PID.N"). */
        static unsigned seq;
        struct sockaddr_un me = { .sun_family = AF_UNIX };
        char name[sizeof(me.sun_path)];
        int w = snprintf(name, sizeof(name), "%s%s%ld.%u", abstract,
                         strchr(abstract, '/') ? "." : "/", (long)getpid(),
                         __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
        if (w < 0 || (size_t)w >= sizeof(me.sun_path) - 1)
            w = snprintf(name, sizeof(name), "%.*s", (int)sizeof(me.sun_path) - 2, abstract);
        size_t n = (size_t)w;
        memcpy(me.sun_path + 1, name, n);
        if (bind(fd, (struct sockaddr *)&me,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0) {
            close(fd);
            return -1;
        }
    }
    snprintf(a.sun_path, sizeof(a.sun_path), "%.*s", (int)sizeof(a.sun_path) - 1, path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Connect and do the client handshake. */
static inline int tu_connect_hs(const char *path, const char *abstract)
{
    int fd = tu_connect(path, abstract);
    if (fd >= 0 && prh_wire_client_handshake(fd, NULL) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* True if the peer closed: recv returns 0 (or ECONNRESET) within ms. */
static inline bool tu_peer_closed(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint8_t b[256];

    long end = tu_now_ms() + ms;
    while (tu_now_ms() < end) {
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n > 0)
            return false; /* data: not a silent close */
    }
    return false;
}

/* Build PR IN / PR OUT CDBs (16 bytes, zero padded). */
static inline void tu_cdb_prin(uint8_t cdb[16], uint8_t sa, uint16_t alloc)
{
    memset(cdb, 0, 16);
    cdb[0] = SCSI_OP_PERSISTENT_RESERVE_IN;
    cdb[1] = sa;
    scsi_put_be16(cdb + 7, alloc);
}

static inline void tu_cdb_prout(uint8_t cdb[16], uint8_t sa, uint8_t type, uint16_t len)
{
    memset(cdb, 0, 16);
    cdb[0] = SCSI_OP_PERSISTENT_RESERVE_OUT;
    cdb[1] = sa;
    cdb[2] = type;
    scsi_put_be16(cdb + 7, len);
}

static inline void tu_params(uint8_t p[24], uint64_t rk, uint64_t sark, uint8_t flags)
{
    memset(p, 0, 24);
    scsi_put_be64(p, rk);
    scsi_put_be64(p + 8, sark);
    p[20] = flags;
}

/* One full PR OUT (basic 24-byte list) on an open connection; status or -errno. */
static inline int tu_prout(int sock, int devfd, uint8_t sa, uint8_t type, uint64_t rk,
                           uint64_t sark, uint8_t flags, struct prh_reply *reply)
{
    uint8_t cdb[16], p[24];
    tu_cdb_prout(cdb, sa, type, 24);
    tu_params(p, rk, sark, flags);
    int r = prh_wire_client_send(sock, cdb, 16, devfd, p, 24);
    if (r == 0)
        r = prh_wire_client_recv(sock, reply);
    return r < 0 ? r : reply->status;
}

static inline int tu_prin(int sock, int devfd, uint8_t sa, uint16_t alloc, struct prh_reply *reply)
{
    uint8_t cdb[16];
    tu_cdb_prin(cdb, sa, alloc);
    int r = prh_wire_client_send(sock, cdb, 16, devfd, NULL, 0);
    if (r == 0)
        r = prh_wire_client_recv(sock, reply);
    return r < 0 ? r : reply->status;
}

/* Is key in a READ KEYS reply? */
static inline bool tu_has_key(const struct prh_reply *r, uint64_t key)
{
    if (r->data_len < 8)
        return false;
    uint32_t add = scsi_get_be32(r->data + 4);
    for (uint32_t off = 8; off + 8 <= r->data_len && off < 8 + add; off += 8)
        if (scsi_get_be64(r->data + off) == key)
            return true;
    return false;
}

static inline uint32_t tu_key_count(const struct prh_reply *r)
{
    return r->data_len < 8 ? 0 : scsi_get_be32(r->data + 4) / 8;
}

/* This process's fd table full: a soft RLIMIT_NOFILE a little above the
 * fds open now, every free slot taken by a dup of fd 0 (0, or -1 if the
 * table could not be filled); tu_unfill_fd_table() gives them back and
 * restores the limit. */
struct tu_fd_fill {
    struct rlimit saved;
    int fds[4096];
    int n;
};

static inline int tu_fill_fd_table(struct tu_fd_fill *f)
{
    struct rlimit rl;
    f->n = 0;
    if (getrlimit(RLIMIT_NOFILE, &f->saved) != 0)
        return -1;
    rl = f->saved;
    rl.rlim_cur = (rlim_t)tu_fd_count(0) + 64;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    for (;;) {
        int d = dup(0);
        if (d < 0)
            return errno == EMFILE ? 0 : -1;
        if (f->n == (int)(sizeof(f->fds) / sizeof(f->fds[0]))) {
            close(d);
            return -1;
        }
        f->fds[f->n++] = d;
    }
}

static inline int tu_unfill_fd_table(struct tu_fd_fill *f)
{
    while (f->n > 0)
        close(f->fds[--f->n]);
    return setrlimit(RLIMIT_NOFILE, &f->saved);
}

#endif
