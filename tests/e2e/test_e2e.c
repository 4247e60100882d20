/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_e2e.c - the built prhelper on the sim transport, driven from the
 * outside: 128 concurrent clients, stalled and vanishing clients, fd
 * floods, 1,000 malformed requests, signals, restarts with APTPL state,
 * socket activation, -d/-f, and prhelper-cli's exit codes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "tu_text.h"
#include "daemon_fixture.h"
#include "prhelper/control.h"

#ifndef PRH_DAEMON_BIN
#error "PRH_DAEMON_BIN comes from src/CMakeLists.txt"
#endif

/* The daemon fixture (tests/helpers/daemon_fixture.h), by this file's names. */
#define fx dfx
#define setup dfx_setup
#define teardown dfx_teardown
#define start_daemon(f, extra1, extra2) dfx_start((f), (extra1), (extra2), NULL)
#define stop_daemon dfx_stop
#define wait_fd_count dfx_wait_fd_count
#define run(out, outlen, argv) dfx_run((out), (outlen), (argv), 30000)

/* ---- 128 concurrent clients --------------------------------------------- */

#define NCLIENTS 128
#define NLOOPS 10

struct worker_arg {
    struct fx *f;
    int idx;
    int errors;
};

static void *client_worker(void *p)
{
    struct worker_arg *w = p;
    struct prh_reply *r = malloc(sizeof(*r));
    int s = tu_connect_hs(w->f->sock, NULL);
    if (s < 0) {
        w->errors++;
        free(r);
        return NULL;
    }
    for (int j = 0; j < NLOOPS; j++) {
        uint64_t key = (uint64_t)(w->idx + 1) << 16 | (uint64_t)(j + 1);
        if (tu_prout(s, w->f->devfd, PR_OUT_REGISTER_AND_IGNORE, 0, 0, key, 0, r) != 0)
            w->errors++;
        if (tu_prin(s, w->f->devfd, PR_IN_READ_KEYS, 8192, r) != 0 || !tu_has_key(r, key))
            w->errors++;
        if (j > 0 && tu_has_key(r, (uint64_t)(w->idx + 1) << 16 | (uint64_t)j))
            w->errors++; /* the old key of this nexus must be gone */
    }
    close(s);
    free(r);
    return NULL;
}

static void test_e2e_128_concurrent_clients(void **state)
{
    struct fx *f = *state;
    pthread_t th[NCLIENTS];
    struct worker_arg args[NCLIENTS];
    static struct prh_reply r;

    start_daemon(f, "-q", NULL);
    for (int i = 0; i < NCLIENTS; i++) {
        args[i] = (struct worker_arg){ .f = f, .idx = i };
        assert_int_equal(pthread_create(&th[i], NULL, client_worker, &args[i]), 0);
    }
    int errors = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        pthread_join(th[i], NULL);
        errors += args[i].errors;
    }
    assert_int_equal(errors, 0);
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8192, &r), 0);
    assert_int_equal(tu_key_count(&r), NCLIENTS);
    /* spc4: PRgeneration counts every REGISTER AND IGNORE. */
    assert_int_equal(scsi_get_be32(r.data), NCLIENTS * NLOOPS);
    for (int i = 0; i < NCLIENTS; i++)
        assert_true(tu_has_key(&r, (uint64_t)(i + 1) << 16 | NLOOPS));
    close(s);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

/* ---- misbehaving clients ------------------------------------------------ */

/* The malformed requests send_bad() cycles through. */
static const struct bad_request {
    bool prout;        /* a PR OUT CDB (else PR IN) */
    uint16_t alloc;    /* PR IN allocation length */
    bool opcode_00h;   /* opcode byte 00h: not a PR command */
    size_t first;      /* bytes of the CDB sent first */
    size_t first_fds;  /* fds riding on them */
    size_t second_fds; /* fds on the rest of the CDB (0: the rest is not sent) */
} bad_requests[6] = {
    { false, 8, false, 16, 0, 0 },      /* no device fd */
    { false, 8, false, 16, 253, 0 },    /* 253 fds */
    { false, 8, true, 16, 1, 0 },       /* not a PR command */
    { false, 0xffff, false, 16, 1, 0 }, /* allocation length too large */
    { true, 0, false, 9, 1, 2 },        /* fds on a second CDB fragment */
    { true, 0, false, 9, 1, 0 },        /* half a CDB: the daemon waits for the rest */
};

static void send_bad(int s, int kind, int devfd)
{
    const struct bad_request *b = &bad_requests[kind % 6];
    uint8_t cdb[16];
    int fds[253];
    for (int i = 0; i < 253; i++)
        fds[i] = devfd;
    if (b->prout)
        tu_cdb_prout(cdb, 0, 0, 24);
    else
        tu_cdb_prin(cdb, 0, b->alloc);
    if (b->opcode_00h)
        cdb[0] = 0x00;
    prh_wire_send_fds(s, cdb, b->first, b->first_fds ? fds : NULL, b->first_fds);
    if (b->second_fds)
        prh_wire_send_fds(s, cdb + b->first, 16 - b->first, fds, b->second_fds);
}

/* Start the daemon (-q) and return its open fds once one client was served. */
static int start_quiet_and_count_fds(struct fx *f)
{
    start_daemon(f, "-q", NULL);
    static struct prh_reply r;
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(s);
    tu_sleep_ms(50);
    int before = tu_fd_count(f->pid);
    assert_true(before > 0);
    return before;
}

/* The daemon's open fds come back to BEFORE (every client's closed). */
static void expect_fds_back_to(struct fx *f, int before)
{
    assert_int_equal(wait_fd_count(f->pid, before), before);
}

static void test_e2e_fd_count_unchanged_after_1000_malformed(void **state)
{
    struct fx *f = *state;
    int before = start_quiet_and_count_fds(f);
    for (int i = 0; i < 1000; i++) {
        int s = tu_connect_hs(f->sock, NULL);
        assert_true(s >= 0);
        send_bad(s, i, f->devfd);
        if (i % 6 != 5)
            assert_true(tu_peer_closed(s, 5000));
        close(s);
    }
    expect_fds_back_to(f, before);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

/* fds riding on a PR OUT parameter list are dropped, as qemu-pr-helper's
 * kernel drops them (wire-protocol.md 3.3): the request is answered with
 * the CDB's fd and none of them stays open. */
static void test_e2e_fds_with_parameters_dropped_request_answered(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16], params[24] = { 0 };
    int fds[3] = { f->devfd, f->devfd, f->devfd };
    int before = start_quiet_and_count_fds(f);
    int s = tu_connect_hs(f->sock, "prhelper-nexus:fds");
    tu_cdb_prout(cdb, PR_OUT_REGISTER_AND_IGNORE, 0, 24);
    scsi_put_be64(params + 8, 0x5a);
    assert_int_equal(prh_wire_send_fds(s, cdb, 16, fds, 1), 16);
    assert_int_equal(prh_wire_send_fds(s, params, 10, fds, 3), 10);
    assert_int_equal(prh_wire_send_fds(s, params + 10, 14, fds, 1), 14);
    assert_int_equal(prh_wire_client_recv(s, &r), 0);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8192, &r), 0);
    assert_true(tu_has_key(&r, 0x5a));
    close(s);
    expect_fds_back_to(f, before);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

static void test_e2e_fd_flood_is_closed(void **state)
{
    struct fx *f = *state;
    int before = start_quiet_and_count_fds(f);
    int socks[20];
    for (int i = 0; i < 20; i++) {
        socks[i] = tu_connect_hs(f->sock, NULL);
        send_bad(socks[i], 1, f->devfd);
    }
    for (int i = 0; i < 20; i++) {
        assert_true(tu_peer_closed(socks[i], 5000));
        close(socks[i]);
    }
    expect_fds_back_to(f, before);
}

static void test_e2e_disconnect_mid_frame(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    int before = start_quiet_and_count_fds(f);
    for (int i = 0; i < 100; i++) {
        int s = tu_connect_hs(f->sock, NULL);
        tu_cdb_prout(cdb, 0, 0, 24);
        if (i % 2)
            prh_wire_send_fds(s, cdb, 7, &f->devfd, 1); /* inside the CDB */
        else
            prh_wire_send_fds(s, cdb, 16, &f->devfd, 1); /* before the parameters */
        close(s);
    }
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(s);
    expect_fds_back_to(f, before);
}

static void test_e2e_stalled_client_does_not_delay_others(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    start_daemon(f, "-q", NULL);
    int stalled[8];
    for (int i = 0; i < 8; i++) {
        stalled[i] = tu_connect_hs(f->sock, NULL);
        tu_cdb_prout(cdb, 0, 0, 24);
        prh_wire_send_fds(stalled[i], cdb, 16, &f->devfd, 1);
        prh_wire_write_all(stalled[i], "half", 4);
    }
    int never = tu_connect(f->sock, NULL); /* never reads the handshake */
    int s = tu_connect_hs(f->sock, NULL);
    long t0 = tu_now_ms();
    for (int i = 0; i < 50; i++)
        assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_true(tu_now_ms() - t0 < 5000);
    close(s);
    close(never);
    for (int i = 0; i < 8; i++)
        close(stalled[i]);
    /* Stalled clients do not keep the daemon from stopping. */
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

/* ---- the elastic pool under the syscall filter ---------------------------- */

/* "Threads:" of /proc/PID/status, -1 if unreadable. */
static int thread_count(pid_t pid)
{
    char path[64], line[128];
    int n = -1;
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(fp);
    return n;
}

/* Eight requests stalled in a slow device (a sim delay fault) make the
 * daemon, under its own syscall filter, start threads (clone with
 * CLONE_THREAD): a client of another LUN is answered while they wait, and
 * the daemon lives on to answer them all. */
static void test_e2e_pool_grows_for_a_slow_device_under_the_syscall_filter(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    char ctl[300], copt[320];
    uint8_t cdb[16];
    int stalled[8];
    snprintf(ctl, sizeof(ctl), "%s/ctl", f->dir);
    snprintf(copt, sizeof(copt), "--control=%s", ctl);
    start_daemon(f, copt, "--workers=1:16");
    int before = thread_count(f->pid);
    assert_true(before > 0);
    char *fault[] = { "fault", "add", "delay", "8000", "sa=full-status", "count=8" };
    char *body = NULL;
    assert_int_equal(prh_control_call(ctl, 6, fault, false, &body), 0);
    free(body);
    for (int i = 0; i < 8; i++) {
        stalled[i] = tu_connect_hs(f->sock, NULL);
        assert_true(stalled[i] >= 0);
        tu_cdb_prin(cdb, PR_IN_READ_FULL_STATUS, 64);
        assert_int_equal(prh_wire_client_send(stalled[i], cdb, 16, f->devfd, NULL, 0), 0);
    }
    /* One thread per stalled call, one spare: the pool grew by eight. */
    long end = tu_now_ms() + 6000;
    while (thread_count(f->pid) < before + 8 && tu_now_ms() < end)
        tu_sleep_ms(20);
    assert_true(thread_count(f->pid) >= before + 8);
    char *disk2 = tu_disk(f->dir, "disk2");
    int fd2 = open(disk2, O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, fd2, PR_IN_READ_KEYS, 8, &r), 0);
    assert_int_equal(r.status, 0);
    /* ... answered while every stalled request still waits. */
    for (int i = 0; i < 8; i++) {
        struct pollfd pf = { .fd = stalled[i], .events = POLLIN };
        assert_int_equal(poll(&pf, 1, 0), 0);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(prh_wire_client_recv(stalled[i], &r), 0);
        assert_int_equal(r.status, 0);
        close(stalled[i]);
    }
    assert_int_equal(waitpid(f->pid, NULL, WNOHANG), 0); /* the filter did not kill it */
    close(s);
    close(fd2);
    free(disk2);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

/* The daemon runs with transparent huge pages off (THP_enabled: 0 in its
 * status, Linux 5.0+), so that a thread's stack or malloc arena never
 * makes 2 MiB resident where a few KiB are used (docs/daemon.md,
 * "Memory"); and it serves so. */
static void test_e2e_transparent_huge_pages_off(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    char path[64], line[128];
    int thp = -1;
    start_daemon(f, NULL, NULL);
    int s = tu_connect_hs(f->sock, NULL);
    assert_true(s >= 0);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)f->pid);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    bool seen = false;
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "THP_enabled: %d", &thp) == 1) {
            seen = true;
            break;
        }
    fclose(fp);
    if (!seen) {
        close(s);
        assert_int_equal(stop_daemon(f, SIGTERM), 0);
        skip(); /* a kernel before 5.0 does not say */
    }
    assert_int_equal(thp, 0);
    close(s);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

/* ---- signals, restart, files -------------------------------------------- */

static void test_e2e_signals_exit_zero_and_clean_up(void **state)
{
    struct fx *f = *state;
    const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
    struct stat sb;
    char opt[300];
    snprintf(opt, sizeof(opt), "--pidfile=%s", f->pidfile);
    for (size_t i = 0; i < 3; i++) {
        start_daemon(f, opt, NULL);
        /* As in qemu-pr-helper, the PID file is written just after the
         * socket appears: wait for it (bounded) rather than race. */
        for (int t = 0; t < 500 && stat(f->pidfile, &sb) != 0; t++)
            usleep(10000);
        assert_int_equal(stat(f->pidfile, &sb), 0);
        int idle = tu_connect_hs(f->sock, NULL);
        assert_int_equal(stop_daemon(f, sigs[i]), 0);
        assert_int_not_equal(stat(f->sock, &sb), 0);
        assert_int_not_equal(stat(f->pidfile, &sb), 0);
        assert_true(tu_peer_closed(idle, 1000));
        close(idle);
    }
}

/* The open-files soft limit a process runs with (from /proc/PID/limits). */
static unsigned long long soft_nofile(pid_t pid)
{
    char path[64], line[256];
    unsigned long long soft = 0;
    snprintf(path, sizeof(path), "/proc/%ld/limits", (long)pid);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp))
        if (strncmp(line, "Max open files", 14) == 0)
            soft = strtoull(line + 14, NULL, 10);
    fclose(fp);
    return soft;
}

static void test_e2e_max_clients_raises_open_files_limit(void **state)
{
    struct fx *f = *state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2 * 3000 + 64)
        skip();
    start_daemon(f, "--max-clients=3000", NULL);
    assert_true(soft_nofile(f->pid) >= 2 * 3000 + 64);
}

static void test_e2e_restart_keeps_aptpl_state(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    start_daemon(f, "-q", NULL);
    int a = tu_connect_hs(f->sock, "prhelper-nexus:node-a/1");
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_REGISTER, 0, 0, 0xa, PR_OUT_FLAG_APTPL, &r), 0);
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0, 0, &r), 0);
    close(a);
    int b = tu_connect_hs(f->sock, "prhelper-nexus:node-b/1");
    assert_int_equal(tu_prout(b, f->devfd, PR_OUT_REGISTER, 0, 0, 0xb, PR_OUT_FLAG_APTPL, &r), 0);
    close(b);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);

    start_daemon(f, "-q", NULL);
    a = tu_connect_hs(f->sock, "prhelper-nexus:node-a/2");
    assert_int_equal(tu_prin(a, f->devfd, PR_IN_READ_KEYS, 8192, &r), 0);
    assert_int_equal(tu_key_count(&r), 2);
    assert_true(tu_has_key(&r, 0xa) && tu_has_key(&r, 0xb));
    assert_int_equal(tu_prin(a, f->devfd, PR_IN_READ_RESERVATION, 8192, &r), 0);
    assert_int_equal(scsi_get_be64(r.data + 8), 0xa);
    assert_int_equal(r.data[21] & 0xf, PR_TYPE_WE_RO);
    /* The holder is still node-a: it can release. */
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_RELEASE, PR_TYPE_WE_RO, 0xa, 0, 0, &r), 0);
    close(a);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

static void test_e2e_second_instance_takes_path_over(void **state)
{
    struct fx *f = *state;
    struct stat sb;
    start_daemon(f, "-q", NULL);
    pid_t first = f->pid;
    unlink(f->sock); /* start_daemon waits for the path to appear */
    start_daemon(f, "-q", NULL);
    pid_t second = f->pid;
    /* The first one stops without removing the second one's socket. */
    kill(first, SIGTERM);
    assert_int_equal(tu_wait_exit(first, 10000), 0);
    assert_int_equal(stat(f->sock, &sb), 0);
    f->pid = second;
    int s = tu_connect_hs(f->sock, NULL);
    assert_true(s >= 0);
    close(s);
}

static void test_e2e_daemonize_writes_pidfile(void **state)
{
    struct fx *f = *state;
    char out[4096], sockopt[300], stateopt[300], pidopt[300], buf[32] = "";
    snprintf(sockopt, sizeof(sockopt), "-k%s", f->sock);
    snprintf(stateopt, sizeof(stateopt), "--state-dir=%s", f->state);
    snprintf(pidopt, sizeof(pidopt), "-f%s", f->pidfile);
    const char *argv[] = { PRH_DAEMON_BIN, "-d", "--transport=sim", sockopt, stateopt, pidopt,
                           NULL };
    assert_int_equal(run(out, sizeof(out), argv), 0);
    struct stat sb;
    assert_int_equal(stat(f->sock, &sb), 0); /* there when the parent returns */
    int fd = open(f->pidfile, O_RDONLY);
    assert_true(fd >= 0);
    assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
    close(fd);
    pid_t pid = (pid_t)atol(buf);
    assert_true(pid > 1);
    assert_int_equal(kill(pid, 0), 0);
    /* A second instance with the same PID file is refused. */
    const char *argv2[] = { PRH_DAEMON_BIN, "--transport=sim", "-k/tmp/prh-unused.sock",
                            stateopt, pidopt, NULL };
    assert_int_equal(run(out, sizeof(out), argv2), 1);
    assert_non_null(strstr(out, "another instance is running"));
    kill(pid, SIGTERM);
    long end = tu_now_ms() + 10000;
    while (kill(pid, 0) == 0 && tu_now_ms() < end)
        tu_sleep_ms(10);
    assert_int_not_equal(kill(pid, 0), 0);
    assert_int_not_equal(stat(f->pidfile, &sb), 0);
    assert_int_not_equal(stat(f->sock, &sb), 0);
}

/* One datagram from the daemon on the notify socket (bounded), or "". */
/* README: "reports READY=1 / STOPPING=1" to systemd (Type=notify units),
 * under the default sandbox. */
static void test_e2e_notifies_systemd_ready_and_stopping(void **state)
{
    struct fx *f = *state;
    char buf[512], pid[32];
    int s = dfx_notify_open(f);
    start_daemon(f, "-q", NULL);
    unsetenv("NOTIFY_SOCKET");
    dfx_notify_read(s, buf, sizeof(buf));
    snprintf(pid, sizeof(pid), "MAINPID=%ld", (long)f->pid);
    if (strncmp(buf, "READY=1\n", 8) != 0 || !strstr(buf, pid))
        fail_msg("got '%s'", buf);
    /* Ready means serving. */
    int c = tu_connect_hs(f->sock, NULL);
    assert_true(c >= 0);
    close(c);
    kill(f->pid, SIGTERM);
    dfx_notify_read(s, buf, sizeof(buf));
    assert_string_equal(buf, "STOPPING=1");
    assert_int_equal(tu_wait_exit(f->pid, 10000), 0);
    f->pid = 0;
    close(s);
}

static void test_e2e_socket_activation_serves(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char stateopt[300];
    snprintf(stateopt, sizeof(stateopt), "--state-dir=%s", f->state);
    memcpy(a.sun_path, f->sock, strlen(f->sock) + 1);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 16), 0);
    f->pid = fork();
    if (f->pid == 0) {
        char pidbuf[32];
        int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dup2(fd, 2);
        dup2(l, 3);
        snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
        setenv("LISTEN_PID", pidbuf, 1);
        setenv("LISTEN_FDS", "1", 1);
        execl(PRH_DAEMON_BIN, PRH_DAEMON_BIN, "--transport=sim", stateopt, (char *)NULL);
        _exit(127);
    }
    close(l);
    int s = tu_connect_hs(f->sock, NULL);
    assert_true(s >= 0);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(s);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
    /* systemd owns an activated socket: it stays. */
    struct stat sb;
    assert_int_equal(stat(f->sock, &sb), 0);
}

static int run_activated(struct fx *f, const char *nfds, const char *extra, char *out,
                         size_t outlen)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char pidbuf[32];
        dup2(p[1], 2);
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        dup2(l, 3);
        dup2(l, 4);
        snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
        setenv("LISTEN_PID", pidbuf, 1);
        setenv("LISTEN_FDS", nfds, 1);
        execl(PRH_DAEMON_BIN, PRH_DAEMON_BIN, "--transport=sim", extra, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    for (ssize_t n; got < outlen - 1 && (n = read(p[0], out + got, outlen - 1 - got)) > 0;)
        got += (size_t)n;
    out[got] = '\0';
    close(p[0]);
    (void)f;
    return tu_wait_exit(pid, 10000);
}

static void test_e2e_socket_activation_errors(void **state)
{
    struct fx *f = *state;
    char out[1024], stateopt[300];
    snprintf(stateopt, sizeof(stateopt), "--state-dir=%s", f->state);
    assert_int_equal(run_activated(f, "2", stateopt, out, sizeof(out)), 1);
    if (!strstr(out, "does not support socket activation with LISTEN_FDS > 1"))
        fail_msg("got '%s'", out);
    assert_int_equal(run_activated(f, "1", "-k/tmp/x.sock", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "Unix socket can't be set when using socket activation"));
    /* fd 3 is a socket that is not listening. */
    assert_int_equal(run_activated(f, "1", stateopt, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "Failed to use socket activation"));
}

/* ---- command line of the binary ----------------------------------------- */

static void test_e2e_help_and_version_exit_zero(void **state)
{
    char out[8192];
    (void)state;
    const char *h[] = { PRH_DAEMON_BIN, "--help", NULL };
    assert_int_equal(run(out, sizeof(out), h), 0);
    /* As qemu-pr-helper: argv[0] as it was given (cli.md section 1). */
    assert_memory_equal(out, "Usage: " PRH_DAEMON_BIN " [OPTIONS]\n",
                        strlen("Usage: " PRH_DAEMON_BIN " [OPTIONS]\n"));
    const char *v[] = { PRH_DAEMON_BIN, "-V", NULL };
    assert_int_equal(run(out, sizeof(out), v), 0);
    assert_memory_equal(out, PRH_DAEMON_BIN " " PRH_VERSION "\n",
                        strlen(PRH_DAEMON_BIN " " PRH_VERSION "\n"));
    const char *b[] = { PRH_DAEMON_BIN, "--bogus", NULL };
    assert_int_equal(run(out, sizeof(out), b), 1);
    assert_string_equal(out, PRH_DAEMON_BIN ": unrecognized option '--bogus'\nprhelper: Try `"
                             PRH_DAEMON_BIN " --help' for more information.\n");
}

static void test_e2e_startup_errors_exit_one_with_message(void **state)
{
    struct fx *f = *state;
    char out[4096], stateopt[300], bad_sock[400];
    snprintf(stateopt, sizeof(stateopt), "--state-dir=%s", f->state);
    snprintf(bad_sock, sizeof(bad_sock), "-k%s/no/such/dir/s", f->dir);
    const struct {
        const char *argv[6];
        const char *msg;
    } cases[] = {
        { { PRH_DAEMON_BIN, "-k", "rel.sock", NULL }, "prhelper: socket path must be absolute" },
        { { PRH_DAEMON_BIN, "--bogus", NULL }, "unrecognized option '--bogus'" },
        { { PRH_DAEMON_BIN, "--sg-timeout=0", NULL }, "--sg-timeout needs seconds from 1 to 3600" },
        { { PRH_DAEMON_BIN, "--transport=nvme", NULL }, "unknown transport 'nvme'" },
        { { PRH_DAEMON_BIN, "--transport=sim", stateopt, "-u", "no-such-user-xyz", NULL },
          "invalid user 'no-such-user-xyz'" },
        { { PRH_DAEMON_BIN, "--transport=sim", stateopt, "-g", "no-such-group-xyz", NULL },
          "invalid group 'no-such-group-xyz'" },
        { { PRH_DAEMON_BIN, "--transport=sim", stateopt, "-T", "file=/no/such/dir/t", NULL },
          "cannot open trace file" },
        { { PRH_DAEMON_BIN, "--transport=sim", stateopt, bad_sock, NULL }, "Failed to bind socket" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(run(out, sizeof(out), cases[i].argv), 1);
        if (!strstr(out, cases[i].msg))
            fail_msg("case %zu: '%s' not in '%s'", i, cases[i].msg, out);
    }
}

static void test_e2e_trace_option_writes_file(void **state)
{
    struct fx *f = *state;
    char opt[400], path[300], buf[4096] = "";
    static struct prh_reply r;
    snprintf(path, sizeof(path), "%s/trace", f->dir);
    snprintf(opt, sizeof(opt), "--trace=enable=prh_request,file=%s", path);
    start_daemon(f, opt, NULL);
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(s);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
    close(fd);
    assert_non_null(strstr(buf, "prh_request client=1 op=5e sa=00 len=8"));
}

static void test_e2e_privileges_dropped(void **state)
{
    struct fx *f = *state;
    char path[64], buf[4096] = "";
    if (geteuid() != 0)
        skip();
    chmod(f->dir, 0755); /* nobody must reach the state directory */
    start_daemon(f, "-u", "nobody");
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)f->pid);
    /* Wait (bounded) for the drop, which follows the socket's creation. */
    long end = tu_now_ms() + 5000;
    do {
        int fd = open(path, O_RDONLY);
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        if (strstr(buf, "Uid:\t65534"))
            break;
        tu_sleep_ms(10);
    } while (tu_now_ms() < end);
    assert_non_null(strstr(buf, "Uid:\t65534\t65534\t65534\t65534"));
    /* -u alone: nobody's primary group, not root's (docs/daemon.md). */
    tu_assert_contains(buf, "Gid:\t65534\t65534\t65534\t65534", "CapEff:\t0000000000000000",
                       "CapBnd:\t0000000000000000");
    const char *g = strstr(buf, "Groups:");
    assert_non_null(g);
    for (g += 7; *g != '\n'; g++)
        assert_true(*g == ' ' || *g == '\t'); /* no supplementary group */
    /* And it still works, APTPL files included. */
    static struct prh_reply r;
    int s = tu_connect_hs(f->sock, "prhelper-nexus:x");
    assert_int_equal(tu_prout(s, f->devfd, PR_OUT_REGISTER, 0, 0, 1, PR_OUT_FLAG_APTPL, &r), 0);
    close(s);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
    /* Made by root in root's directory before the drop: nobody cannot
     * remove it, as qemu-pr-helper cannot (prhelper(8), -f). */
    struct stat sb;
    assert_int_equal(stat(f->sock, &sb), 0);
}

/* Started by an unprivileged user, qemu-pr-helper (libcap-ng build) exits 1
 * with "Failed to drop privileges"; prhelper has nothing to drop and serves
 * (docs/daemon.md: deliberate differences). */
static void test_e2e_unprivileged_start_serves(void **state)
{
    struct fx *f = *state;
    char sockopt[300], stateopt[300];
    static struct prh_reply r;
    if (geteuid() != 0)
        skip(); /* the suite itself runs unprivileged then: every test is this case */
    chmod(f->dir, 0777);
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", f->sock);
    snprintf(stateopt, sizeof(stateopt), "--state-dir=%s", f->state);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        dup2(fd, 2);
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(126);
        execl(PRH_DAEMON_BIN, PRH_DAEMON_BIN, "--transport=sim", sockopt, stateopt, (char *)NULL);
        _exit(127);
    }
    long end = tu_now_ms() + 10000;
    struct stat sb;
    while (stat(f->sock, &sb) != 0) {
        assert_true(tu_now_ms() < end);
        assert_int_equal(waitpid(f->pid, NULL, WNOHANG), 0);
        tu_sleep_ms(5);
    }
    assert_int_equal(sb.st_uid, 65534);
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(s);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
    assert_int_not_equal(stat(f->sock, &sb), 0); /* its own directory: removed */
}

/* ---- prhelper-cli -------------------------------------------------------- */

static int cli(struct fx *f, char *out, size_t len, const char *who, const char *a1,
               const char *a2, const char *a3, const char *a4)
{
    char sockopt[300], idopt[64];
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", f->sock);
    snprintf(idopt, sizeof(idopt), "--initiator=%s", who);
    const char *argv[] = { PRH_CLI_BIN, sockopt, idopt, a1, a2, a3, a4, NULL };
    return run(out, len, argv);
}

static void test_e2e_cli_exit_codes_and_output(void **state)
{
    struct fx *f = *state;
    char out[8192];
    start_daemon(f, "-q", NULL);
    assert_int_equal(cli(f, out, sizeof(out), "A", f->disk, "register", "0xa", NULL), 0);
    assert_string_equal(out, "register: GOOD\n");
    assert_int_equal(cli(f, out, sizeof(out), "B", f->disk, "register", "0xb", NULL), 0);
    assert_int_equal(cli(f, out, sizeof(out), "A", "--key=0xa", f->disk, "reserve", "we-ro"), 0);
    assert_int_equal(cli(f, out, sizeof(out), "B", "--key=0xb", f->disk, "reserve", "we-ro"), 24);
    assert_string_equal(out, "reserve: RESERVATION CONFLICT\n");
    assert_int_equal(cli(f, out, sizeof(out), "A", "--key=0xa", f->disk, "reserve", "2"), 2);
    assert_non_null(strstr(out, "reserve: CHECK CONDITION, ILLEGAL REQUEST"));
    assert_int_equal(cli(f, out, sizeof(out), "A", "--json", f->disk, "read-keys", NULL), 0);
    tu_assert_contains(out, "\"status\":\"GOOD\"", "\"keys\":[\"0xa\",\"0xb\"]");
    assert_int_equal(cli(f, out, sizeof(out), "A", f->disk, "read-reservation", NULL, NULL), 0);
    assert_non_null(strstr(out, "reserved by key 0xa"));
    assert_int_equal(cli(f, out, sizeof(out), "A", "--key=0xa", f->disk, "preempt-abort", "0xb"),
                     1); /* missing TYPE: usage error */
    assert_int_equal(cli(f, out, sizeof(out), "A", f->disk, "full-status", NULL, NULL), 0);
    assert_non_null(strstr(out, "iqn.2026-01.org.prhelper.sim:a,i,0x800000000001"));
    assert_int_equal(cli(f, out, sizeof(out), "A", "--json", f->disk, "capabilities", NULL), 0);
    assert_non_null(strstr(out, "\"ptpl_c\":true"));
    assert_int_equal(cli(f, out, sizeof(out), "A", f->disk, "frobnicate", NULL, NULL), 1);
    assert_non_null(strstr(out, "unknown command 'frobnicate'"));
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
    assert_int_equal(cli(f, out, sizeof(out), "A", f->disk, "read-keys", NULL, NULL), 1);
    assert_non_null(strstr(out, "cannot connect to"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_e2e_128_concurrent_clients),
        T(test_e2e_fd_count_unchanged_after_1000_malformed),
        T(test_e2e_fd_flood_is_closed),
        T(test_e2e_fds_with_parameters_dropped_request_answered),
        T(test_e2e_disconnect_mid_frame),
        T(test_e2e_stalled_client_does_not_delay_others),
        T(test_e2e_pool_grows_for_a_slow_device_under_the_syscall_filter),
        T(test_e2e_transparent_huge_pages_off),
        T(test_e2e_signals_exit_zero_and_clean_up),
        T(test_e2e_restart_keeps_aptpl_state),
        T(test_e2e_max_clients_raises_open_files_limit),
        T(test_e2e_second_instance_takes_path_over),
        T(test_e2e_daemonize_writes_pidfile),
        T(test_e2e_notifies_systemd_ready_and_stopping),
        T(test_e2e_socket_activation_serves),
        T(test_e2e_socket_activation_errors),
        T(test_e2e_help_and_version_exit_zero),
        T(test_e2e_startup_errors_exit_one_with_message),
        T(test_e2e_trace_option_writes_file),
        T(test_e2e_privileges_dropped),
        T(test_e2e_unprivileged_start_serves),
        T(test_e2e_cli_exit_codes_and_output),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("e2e", tests, NULL, NULL);
}
