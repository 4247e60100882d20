// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prhelper-bench - drive any qemu-pr-helper compatible socket with N
 * concurrent clients x M requests of a workload mix and report latency
 * percentiles, throughput and the helper's RSS, fds and threads from
 * /proc.  --raw issues the same CDBs by SG_IO on the device (the floor
 * of the device itself), --floor runs them against a forked minimal echo
 * server that only receives the CDB with its fd and answers (the floor of
 * the socket round trip).  See docs/performance.md.
 *
 * Clients are threads with blocking sockets, one connection each, one
 * request in flight per connection: what N QEMU processes do.  The device
 * is opened once per client and its fd rides on every request.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <scsi/sg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prhelper/bench.h"
#include "prhelper/scsi.h"
#include "prhelper/wire.h"

#define SG_TIMEOUT_MS 30000u
#define CONNECT_RETRY_NS (10ull * 1000000000ull)
static const struct timeval io_timeout = { 60, 0 };

static const char *prog = "prhelper-bench";

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/*
 * connect() to a Unix socket, retrying EAGAIN: qemu-pr-helper listens
 * with a backlog of 1, and a full backlog makes connect() fail with EAGAIN
 * where QEMU's blocking connect would wait.  Returns the socket or -errno.
 */
static int connect_unix(const char *path)
{
    struct sockaddr_un sa;
    uint64_t deadline = now_ns() + CONNECT_RETRY_NS;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    for (;;) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e;
        if (s < 0)
            return -errno;
        if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return s;
        e = errno;
        close(s);
        if ((e != EAGAIN && e != EINTR) || now_ns() > deadline)
            return -e;
        sleep_ms(1);
    }
}

static pid_t peer_pid(int s)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    return getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 ? cr.pid : 0;
}

/* ---- the echo server (the floor) ----------------------------------------- */

/* Receive exactly len bytes, collecting SCM_RIGHTS fds (closed at once,
 * counted in *nfds).  0, or -1 on EOF/error. */
static int recv_with_fds(int s, uint8_t *buf, size_t len, int *nfds)
{
    size_t got = 0;

    while (got < len) {
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int) * 4)];
        } ctl;
        struct iovec iov = { buf + got, len - got };
        struct msghdr msg = { 0 };
        ssize_t n;

        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl.b;
        msg.msg_controllen = sizeof(ctl.b);
        n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                close(fd);
                (*nfds)++;
            }
        }
        got += (size_t)n;
    }
    return 0;
}

static void *echo_conn(void *arg)
{
    int s = (int)(intptr_t)arg;
    uint8_t word[PRH_WIRE_FEATURE_SIZE] = { 0 };
    uint8_t cdb[PRH_WIRE_CDB_SIZE];
    static uint8_t params_sink[PRH_WIRE_DATA_SIZE]; /* contents never read */
    uint8_t out[PRH_WIRE_REPLY_HEADER_SIZE + 8];

    if (prh_wire_write_all(s, word, sizeof(word)) || prh_wire_read_all(s, word, sizeof(word)) ||
        scsi_get_be32(word) != 0)
        goto out;
    for (;;) {
        int nfds = 0;
        uint32_t len;
        size_t reply_len = PRH_WIRE_REPLY_HEADER_SIZE;

        if (recv_with_fds(s, cdb, sizeof(cdb), &nfds) || nfds != 1 || prh_wire_check_cdb(cdb))
            break;
        len = prh_wire_cdb_xfer_len(cdb);
        if (prh_wire_is_pr_out(cdb) && len && prh_wire_read_all(s, params_sink, len))
            break;
        memset(out, 0, sizeof(out));
        if (!prh_wire_is_pr_out(cdb)) {
            /* what READ KEYS of an unregistered LUN returns: 8 bytes */
            uint32_t data = len < 8 ? len : 8;
            scsi_put_be32(&out[4], data);
            reply_len += data;
        }
        if (prh_wire_write_all(s, out, reply_len))
            break;
    }
out:
    close(s);
    return NULL;
}

static volatile sig_atomic_t echo_stop;
static void on_term(int sig)
{
    (void)sig;
    echo_stop = 1;
}

/* ready_fd (-1: none) gets one byte once the socket listens. */
static int run_echo_server(const char *path, int ready_fd)
{
    struct sockaddr_un sa;
    pthread_attr_t attr;
    struct sigaction act;
    int ls;

    memset(&act, 0, sizeof(act));
    act.sa_handler = on_term;
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "%s: socket path too long: %s\n", prog, path);
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 128)) {
        fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, path, strerror(errno));
        return 1;
    }
    if (ready_fd >= 0 && (write(ready_fd, "1", 1) != 1 || close(ready_fd) < 0))
        return 1;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    while (!echo_stop) {
        pthread_t t;
        int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (s < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                sleep_ms(10);
                continue;
            }
            break;
        }
        if (pthread_create(&t, &attr, echo_conn, (void *)(intptr_t)s))
            close(s);
    }
    unlink(path);
    close(ls);
    return 0;
}

/* ---- clients ------------------------------------------------------------- */

struct client {
    unsigned idx;
    int sock;
    int devfd;
    pthread_t thread;
    uint64_t *lat;
    uint64_t start_ns, end_ns; /* the measured requests' span, this client's */
    struct prh_bench_counts counts;
    struct prh_reply *reply;
    int error;   /* -errno of the first failure */
};

struct run {
    const struct prh_bench_opts *o;
    struct client *clients;
    pthread_barrier_t start, done;
};

/* One command on a helper socket or by SG_IO; the status and sense key. */
static int exec_cmd(struct run *r, struct client *c, const struct prh_bench_cmd *cmd,
                    uint8_t *status, unsigned *sense_key)
{
    struct scsi_sense s = SENSE_NONE;
    int e;

    if (r->o->mode == PRH_BENCH_RAW) {
        uint8_t sense[PRH_WIRE_SENSE_SIZE] = { 0 };
        struct sg_io_hdr h;
        bool out = cmd->cdb[0] == SCSI_OP_PERSISTENT_RESERVE_OUT;

        memset(&h, 0, sizeof(h));
        h.interface_id = 'S';
        h.cmd_len = sizeof(cmd->cdb);
        h.cmdp = (unsigned char *)cmd->cdb;
        h.mx_sb_len = sizeof(sense);
        h.sbp = sense;
        h.timeout = SG_TIMEOUT_MS;
        h.dxfer_direction = out ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV;
        h.dxferp = out ? (void *)cmd->params : c->reply->data;
        h.dxfer_len = out ? (unsigned)cmd->params_len : PRH_BENCH_ALLOC_LEN;
        if (ioctl(c->devfd, SG_IO, &h) < 0)
            return -errno;
        if (h.host_status || (h.driver_status & 0x06) == 0x06)
            return -EIO;
        *status = h.status;
        if (h.status == SCSI_STATUS_CHECK_CONDITION)
            scsi_sense_decode(sense, h.sb_len_wr, &s);
        *sense_key = s.key;
        return 0;
    }
    e = prh_wire_client_send(c->sock, cmd->cdb, sizeof(cmd->cdb), c->devfd, cmd->params,
                             cmd->params_len);
    if (!e)
        e = prh_wire_client_recv(c->sock, c->reply);
    if (e)
        return e;
    *status = c->reply->status;
    if (c->reply->status == SCSI_STATUS_CHECK_CONDITION)
        scsi_sense_decode(c->reply->sense, sizeof(c->reply->sense), &s);
    *sense_key = s.key;
    return 0;
}

static void run_unmeasured(struct run *r, struct client *c, const struct prh_bench_cmd *cmds,
                           size_t n)
{
    for (size_t i = 0; i < n && !c->error; i++) {
        uint8_t st;
        unsigned key;
        /* a unit attention (a new nexus) is retried once */
        for (int tries = 0; tries < 2 && !c->error; tries++) {
            c->error = exec_cmd(r, c, &cmds[i], &st, &key);
            if (c->error || !(st == SCSI_STATUS_CHECK_CONDITION &&
                              key == SCSI_SENSE_UNIT_ATTENTION))
                break;
        }
    }
}

struct client_arg {
    struct run *run;
    struct client *c;
};

static void *client_thread(void *arg)
{
    struct client_arg *a = arg;
    struct run *r = a->run;
    struct client *c = a->c;
    const struct prh_bench_opts *o = r->o;
    struct prh_bench_cmd cmds[2], cmd;
    uint64_t key = prh_bench_key(o, c->idx);
    size_t n;

    prh_bench_cmd_prologue(o->mix, key, cmds, &n);
    run_unmeasured(r, c, cmds, n);
    for (unsigned i = 0; i < o->warmup && !c->error; i++) {
        prh_bench_cmd_step(o->mix, key, i, &cmd);
        run_unmeasured(r, c, &cmd, 1);
    }
    pthread_barrier_wait(&r->start);
    c->start_ns = now_ns();
    for (unsigned i = 0; i < o->requests && !c->error; i++) {
        uint8_t st;
        unsigned sense_key;
        uint64_t t0;

        prh_bench_cmd_step(o->mix, key, i, &cmd);
        t0 = now_ns();
        c->error = exec_cmd(r, c, &cmd, &st, &sense_key);
        if (c->error)
            break;
        c->lat[i] = now_ns() - t0;
        prh_bench_count(&c->counts, st, sense_key);
    }
    c->end_ns = now_ns();
    pthread_barrier_wait(&r->done);
    if (!c->error) {
        prh_bench_cmd_epilogue(o->mix, key, cmds, &n);
        run_unmeasured(r, c, cmds, n);
    }
    return NULL;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_proc(const char *what, const struct prh_bench_proc *p)
{
    printf("  %-22s RSS %6ld KiB  fds %5ld  threads %4ld\n", what, p->rss_kib, p->fds, p->threads);
}

static int run_clients(const struct prh_bench_opts *o, const char *socket_path, pid_t pid)
{
    struct run r = { .o = o };
    struct client_arg *args;
    struct prh_bench_proc before, idle, after, closed;
    struct prh_bench_cpu cpu0, cpu1;
    struct prh_bench_counts tot = { 0 };
    struct prh_bench_stats st;
    pthread_attr_t attr;
    uint64_t *all;
    struct prh_bench_span span = { 0, 0 };
    size_t nlat = 0;
    int errors = 0, first_error = 0, rc = 0;
    double wall, idle_per_client = -1;

    r.clients = calloc(o->clients, sizeof(*r.clients));
    args = calloc(o->clients, sizeof(*args));
    all = calloc((size_t)o->clients * o->requests, sizeof(*all));
    if (!r.clients || !args || !all) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    if (o->mode != PRH_BENCH_RAW && pid == 0) {
        int s = connect_unix(socket_path);
        if (s < 0) {
            fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, socket_path, strerror(-s));
            return 1;
        }
        pid = peer_pid(s);
        close(s);
        sleep_ms(100);
    }
    prh_bench_proc_sample(pid, &before);
    for (unsigned i = 0; i < o->clients; i++) {
        struct client *c = &r.clients[i];
        c->idx = i;
        c->sock = -1;
        c->reply = malloc(sizeof(*c->reply));
        c->lat = all + (size_t)i * o->requests;
        c->devfd = open(o->device, O_RDWR | O_CLOEXEC);
        if (!c->reply || c->devfd < 0) {
            fprintf(stderr, "%s: cannot open %s: %s\n", prog, o->device,
                    c->reply ? strerror(errno) : "out of memory");
            return 1;
        }
        if (o->mode == PRH_BENCH_RAW)
            continue;
        c->sock = connect_unix(socket_path);
        if (c->sock < 0) {
            fprintf(stderr, "%s: client %u cannot connect to %s: %s\n", prog, i, socket_path,
                    strerror(-c->sock));
            return 1;
        }
        /* a helper that accepted nothing more (out of fds, --max-clients)
         * or hangs must not hang the benchmark */
        setsockopt(c->sock, SOL_SOCKET, SO_RCVTIMEO, &io_timeout, sizeof(io_timeout));
        setsockopt(c->sock, SOL_SOCKET, SO_SNDTIMEO, &io_timeout, sizeof(io_timeout));
        int e = prh_wire_client_handshake(c->sock, NULL);
        if (e) {
            fprintf(stderr, "%s: client %u: handshake failed: %s%s\n", prog, i, strerror(-e),
                    e == -EAGAIN ? " (no answer within 60 s: is the helper out of fds "
                                   "or at its client limit?)"
                                 : "");
            return 1;
        }
    }
    sleep_ms(100);
    prh_bench_proc_sample(pid, &idle);
    if (before.rss_kib >= 0 && idle.rss_kib >= 0)
        idle_per_client = (double)(idle.rss_kib - before.rss_kib) / o->clients;

    pthread_barrier_init(&r.start, NULL, o->clients + 1);
    pthread_barrier_init(&r.done, NULL, o->clients + 1);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (unsigned i = 0; i < o->clients; i++) {
        args[i].run = &r;
        args[i].c = &r.clients[i];
        if (pthread_create(&r.clients[i].thread, &attr, client_thread, &args[i])) {
            fprintf(stderr, "%s: cannot start client thread %u\n", prog, i);
            exit(1);
        }
    }
    pthread_barrier_wait(&r.start);
    prh_bench_cpu_sample(pid, &cpu0);
    pthread_barrier_wait(&r.done);
    prh_bench_cpu_sample(pid, &cpu1);
    for (unsigned i = 0; i < o->clients; i++) {
        struct client *c = &r.clients[i];
        pthread_join(c->thread, NULL);
        prh_bench_span_add(&span, c->start_ns, c->end_ns);
    }
    prh_bench_proc_sample(pid, &after);
    for (unsigned i = 0; i < o->clients; i++) {
        struct client *c = &r.clients[i];
        unsigned done = (unsigned)(c->counts.good + c->counts.conflict + c->counts.unit_attention +
                                   c->counts.check + c->counts.other);
        /* compact the samples of this client */
        memmove(all + nlat, c->lat, done * sizeof(*all));
        nlat += done;
        tot.good += c->counts.good;
        tot.conflict += c->counts.conflict;
        tot.unit_attention += c->counts.unit_attention;
        tot.check += c->counts.check;
        tot.other += c->counts.other;
        if (c->error) {
            errors++;
            if (!first_error)
                first_error = c->error;
        }
        if (c->sock >= 0)
            close(c->sock);
        close(c->devfd);
        free(c->reply);
    }
    sleep_ms(200);
    prh_bench_proc_sample(pid, &closed);
    prh_bench_stats_compute(all, nlat, &st);
    wall = prh_bench_span_seconds(&span);
    /* Where the CPU went while the measured requests ran: the helper's CPU
     * time and context switches per request, the machine's busy share. */
    long ticks_per_s = sysconf(_SC_CLK_TCK);
    double cpu_us = -1, cs_per_req = -1, ics_per_req = -1, busy_pct = -1;
    if (nlat && cpu0.helper_ticks >= 0 && cpu1.helper_ticks >= 0 && ticks_per_s > 0)
        cpu_us = (double)(cpu1.helper_ticks - cpu0.helper_ticks) * 1e6 / (double)ticks_per_s /
                 (double)nlat;
    if (nlat && cpu0.helper_cs >= 0 && cpu1.helper_cs >= cpu0.helper_cs)
        cs_per_req = (double)(cpu1.helper_cs - cpu0.helper_cs) / (double)nlat;
    /* Preemptions apart: under TCG each costs a switch away and back. */
    if (nlat && cpu0.helper_ics >= 0 && cpu1.helper_ics >= cpu0.helper_ics)
        ics_per_req = (double)(cpu1.helper_ics - cpu0.helper_ics) / (double)nlat;
    if (cpu1.sys_total > cpu0.sys_total)
        busy_pct = 100.0 * (double)(cpu1.sys_busy - cpu0.sys_busy) /
                   (double)(cpu1.sys_total - cpu0.sys_total);

    if (o->tsv) {
        printf("label\tmode\tmix\tclients\trequests\tdone\twall_s\trps\tmin_us\tp50_us\tp90_us\t"
               "p99_us\tmax_us\tmean_us\tgood\tconflict\tua\tcheck\tother\terrors\t"
               "rss_before_kib\trss_idle_kib\trss_after_kib\trss_closed_kib\tidle_kib_per_client\t"
               "fds_before\tfds_idle\tfds_after\tfds_closed\tthreads_after\t"
               "helper_cpu_us_per_req\thelper_cs_per_req\tsys_busy_pct\thelper_preempt_per_req\n");
        printf("%s\t%s\t%s\t%u\t%u\t%zu\t%.4f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t"
               "%llu\t%llu\t%llu\t%llu\t%llu\t%d\t%ld\t%ld\t%ld\t%ld\t%.2f\t%ld\t%ld\t%ld\t%ld\t%ld\t"
               "%.1f\t%.2f\t%.1f\t%.2f\n",
               o->label, prh_bench_mode_name(o->mode), prh_bench_mix_name(o->mix), o->clients,
               o->requests, nlat, wall, wall > 0 ? (double)nlat / wall : 0.0, us(st.min),
               us(st.p50), us(st.p90), us(st.p99), us(st.max), st.mean / 1000.0,
               (unsigned long long)tot.good, (unsigned long long)tot.conflict,
               (unsigned long long)tot.unit_attention, (unsigned long long)tot.check,
               (unsigned long long)tot.other, errors, before.rss_kib, idle.rss_kib,
               after.rss_kib, closed.rss_kib, idle_per_client, before.fds, idle.fds, after.fds,
               closed.fds, after.threads, cpu_us, cs_per_req, busy_pct, ics_per_req);
    } else {
        printf("%s: %s, mix %s, %u client%s x %u requests (%u warm-up) on %s%s%s\n", prog,
               o->label, prh_bench_mix_name(o->mix), o->clients, o->clients == 1 ? "" : "s",
               o->requests, o->warmup, o->device, o->mode == PRH_BENCH_RAW ? "" : " via ",
               o->mode == PRH_BENCH_RAW ? "" : socket_path);
        printf("  requests %zu in %.3f s: %.1f requests/s\n", nlat, wall,
               wall > 0 ? (double)nlat / wall : 0.0);
        printf("  latency (us): min %.1f  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  mean %.1f\n",
               us(st.min), us(st.p50), us(st.p90), us(st.p99), us(st.max), st.mean / 1000.0);
        printf("  replies: good %llu, reservation conflict %llu, unit attention %llu, "
               "other check condition %llu, other status %llu; clients failed %d\n",
               (unsigned long long)tot.good, (unsigned long long)tot.conflict,
               (unsigned long long)tot.unit_attention, (unsigned long long)tot.check,
               (unsigned long long)tot.other, errors);
        if (pid > 0) {
            printf("  helper pid %d:\n", (int)pid);
            print_proc("before connecting", &before);
            print_proc("all connected, idle", &idle);
            print_proc("after the run", &after);
            print_proc("after disconnecting", &closed);
            printf("  idle memory per connected client: %.2f KiB\n", idle_per_client);
            printf("  while measured: helper CPU %.1f us and %.2f context switches per request, "
                   "machine %.1f %% busy\n",
                   cpu_us, cs_per_req, busy_pct);
        }
    }
    if (errors) {
        fprintf(stderr, "%s: %d client%s failed, first error: %s\n", prog, errors,
                errors == 1 ? "" : "s", strerror(-first_error));
        rc = 1;
    }
    if (tot.check || tot.other) {
        fprintf(stderr, "%s: %llu unexpected CHECK CONDITION or other status replies\n", prog,
                (unsigned long long)(tot.check + tot.other));
        rc = 1;
    }
    free(all);
    free(args);
    free(r.clients);
    return rc;
}

static int run_floor(const struct prh_bench_opts *o)
{
    char path[108], ready;
    pid_t child;
    int rc, status, p[2];

    snprintf(path, sizeof(path), "/tmp/prhelper-bench-echo.%d.sock", (int)getpid());
    unlink(path);
    if (pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        return 1;
    }
    child = fork();
    if (child < 0) {
        fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
        return 1;
    }
    if (child == 0) {
        close(p[0]);
        _exit(run_echo_server(path, p[1]));
    }
    /* The socket file appears at bind(), before listen(): wait for the
     * server to say it listens (a loaded host can take seconds), or for
     * its exit (EOF). */
    close(p[1]);
    ssize_t n;
    while ((n = read(p[0], &ready, 1)) < 0 && errno == EINTR)
        ;
    close(p[0]);
    if (n != 1) {
        fprintf(stderr, "%s: the echo server exited\n", prog);
        waitpid(child, &status, 0);
        return 1;
    }
    rc = run_clients(o, path, child);
    kill(child, SIGTERM);
    waitpid(child, &status, 0);
    unlink(path);
    return rc;
}

int main(int argc, char **argv)
{
    struct prh_bench_opts o;
    char err[256];

    if (argv[0] && strrchr(argv[0], '/'))
        prog = strrchr(argv[0], '/') + 1;
    else if (argv[0])
        prog = argv[0];
    if (prh_bench_parse_args(argc, argv, &o, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog, err, prog);
        return 2;
    }
    if (o.help) {
        prh_bench_usage(stdout, prog);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    switch (o.mode) {
    case PRH_BENCH_ECHO_SERVER:
        return run_echo_server(o.socket, -1);
    case PRH_BENCH_FLOOR:
        return run_floor(&o);
    case PRH_BENCH_RAW:
        return run_clients(&o, NULL, 0);
    case PRH_BENCH_HELPER:
    default:
        return run_clients(&o, o.socket, o.pid);
    }
}
