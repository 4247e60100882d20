/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prh_stress.c - hostile clients against the built prhelper (sim
 * transport) while well-behaved "canary" clients keep checking their
 * answers and latency.  Prints a report; exits 1 if the daemon crashed,
 * a canary got a wrong answer or waited too long, or the daemon's fd
 * count / RSS did not come back to the baseline.
 *
 *   prh-stress [--short] [--daemon=PATH] [--clients=N] [--report=FILE]
 *
 * Phases (each against the running daemon, canaries running throughout):
 *  1. N concurrent connections (default 1000), each handshaken and
 *     answered once while all are open;
 *  2. slow senders: frames sent one byte at a time;
 *  3. disconnects at every byte offset of a handshake + PR OUT frame;
 *  4. fds of every wrong kind: directory, pipe, socket, O_PATH,
 *     /dev/null, a read-only fd for PR OUT, 253 fds in one message;
 *  5. oversize lengths (PR OUT parameter lists and PR IN allocation
 *     lengths above 8192);
 *  6. garbage after the handshake;
 *  7. clients that never read their replies.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "prh_test_util.h"

#ifndef PRH_DAEMON_BIN
#error "PRH_DAEMON_BIN comes from src/CMakeLists.txt"
#endif

static const char *daemon_bin = PRH_DAEMON_BIN;
static char *dir, sock[300], *disk_canary, *disk_hostile;
static pid_t daemon_pid;
static atomic_bool stop_canaries;
static atomic_ulong canary_requests, canary_wrong;
static atomic_long canary_max_ms;
static long latencies[1 << 20];
static atomic_ulong nlat;
static FILE *report;

#define say(...)                                                                                   \
    do {                                                                                           \
        printf(__VA_ARGS__);                                                                       \
        if (report)                                                                                \
            fprintf(report, __VA_ARGS__);                                                          \
    } while (0)

static long proc_value(pid_t pid, const char *field)
{
    char path[64], buf[8192];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *p = strstr(buf, field);
    return p ? atol(p + strlen(field) + 1) : -1;
}

static bool daemon_alive(void)
{
    int st;
    return waitpid(daemon_pid, &st, WNOHANG) == 0;
}

/* ---- canaries ------------------------------------------------------------ */

static void note_latency(long ms)
{
    unsigned long i = atomic_fetch_add(&nlat, 1);
    if (i < sizeof(latencies) / sizeof(latencies[0]))
        latencies[i] = ms;
    long cur = atomic_load(&canary_max_ms);
    while (ms > cur && !atomic_compare_exchange_weak(&canary_max_ms, &cur, ms))
        ;
}

static void *canary(void *arg)
{
    int idx = (int)(intptr_t)arg;
    char id[64];
    struct prh_reply *r = malloc(sizeof(*r));
    snprintf(id, sizeof(id), "prhelper-nexus:canary-%d", idx);
    int dev = open(disk_canary, O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(sock, id);
    uint64_t key = 0;
    for (unsigned long it = 0; !atomic_load(&stop_canaries); it++) {
        if (s < 0) {
            atomic_fetch_add(&canary_wrong, 1);
            break;
        }
        long t0 = tu_now_ms();
        if (it % 8 == 0) {
            /* A new key through REGISTER AND IGNORE EXISTING KEY. */
            uint64_t next = ((uint64_t)(idx + 1) << 32) | (it + 1);
            if (tu_prout(s, dev, PR_OUT_REGISTER_AND_IGNORE, 0, 0, next, 0, r) != 0)
                atomic_fetch_add(&canary_wrong, 1);
            key = next;
        } else {
            /* Our key is there, the old ones are gone. */
            if (tu_prin(s, dev, PR_IN_READ_KEYS, 8192, r) != 0 || !tu_has_key(r, key) ||
                tu_has_key(r, key - 1))
                atomic_fetch_add(&canary_wrong, 1);
        }
        note_latency(tu_now_ms() - t0);
        atomic_fetch_add(&canary_requests, 1);
        tu_sleep_ms(2);
    }
    if (s >= 0)
        close(s);
    close(dev);
    free(r);
    return NULL;
}

/* ---- hostile phases ------------------------------------------------------ */

static int hostile_dev(int flags)
{
    return open(disk_hostile, flags | O_CLOEXEC);
}

static int phase_concurrent(int n)
{
    int *fds = calloc((size_t)n, sizeof(int));
    static struct prh_reply r;
    int dev = hostile_dev(O_RDWR), ok = 0, bad = 0;
    uint8_t cdb[16];
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 64);
    for (int i = 0; i < n; i++)
        fds[i] = tu_connect_hs(sock, NULL);
    for (int i = 0; i < n; i++)
        if (fds[i] < 0 || prh_wire_client_send(fds[i], cdb, 16, dev, NULL, 0) < 0)
            bad++;
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0 && prh_wire_client_recv(fds[i], &r) == 0 && r.status == 0)
            ok++;
        if (fds[i] >= 0)
            close(fds[i]);
    }
    say("  1. %d concurrent connections: %d answered GOOD while all were open (%d failed)\n", n,
        ok, n - ok);
    close(dev);
    free(fds);
    return ok == n && bad == 0 ? 0 : 1;
}

static int phase_slow_senders(int n)
{
    static struct prh_reply r;
    int dev = hostile_dev(O_RDWR), ok = 0;
    int *fds = calloc((size_t)n, sizeof(int));
    uint8_t cdb[16];
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 64);
    for (int i = 0; i < n; i++) {
        fds[i] = tu_connect_hs(sock, NULL);
        if (fds[i] >= 0)
            prh_wire_send_fds(fds[i], cdb, 1, &dev, 1);
    }
    /* Every client sends the rest of its CDB one byte at a time, interleaved. */
    for (int b = 1; b < 16; b++) {
        for (int i = 0; i < n; i++)
            if (fds[i] >= 0 && prh_wire_write_all(fds[i], cdb + b, 1) < 0) {
                close(fds[i]);
                fds[i] = -1;
            }
        tu_sleep_ms(20);
    }
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0 && prh_wire_client_recv(fds[i], &r) == 0 && r.status == 0)
            ok++;
        if (fds[i] >= 0)
            close(fds[i]);
    }
    say("  2. %d slow senders (1 byte per 20 ms): %d answered correctly\n", n, ok);
    close(dev);
    free(fds);
    return ok == n ? 0 : 1;
}

static int phase_disconnects(int rounds)
{
    uint8_t frame[4 + 16 + 24];
    int dev = hostile_dev(O_RDWR), n = 0;
    memset(frame, 0, 4);
    tu_cdb_prout(frame + 4, PR_OUT_REGISTER, 0, 24);
    tu_params(frame + 20, 0, 0xdead, 0);
    for (int r = 0; r < rounds; r++) {
        for (size_t off = 0; off <= sizeof(frame); off++) {
            int s = tu_connect(sock, NULL);
            uint8_t w[4];
            if (s < 0)
                continue;
            if (prh_wire_read_all(s, w, 4) == 0) {
                size_t hs = off < 4 ? off : 4;
                if (hs)
                    prh_wire_write_all(s, frame, hs);
                if (off > 4) {
                    size_t cdb = off - 4 < 16 ? off - 4 : 16;
                    prh_wire_send_fds(s, frame + 4, cdb, &dev, 1);
                }
                if (off > 20)
                    prh_wire_write_all(s, frame + 20, off - 20);
            }
            close(s);
            n++;
        }
    }
    say("  3. %d connections closed at every byte offset (0..%zu) of handshake + PR OUT\n", n,
        sizeof(frame));
    close(dev);
    return 0;
}

/* Send one PR IN or PR OUT with fd; 1 if answered, 0 if closed, -1 on a local error. */
static int one_request(int fd, bool out, const uint8_t *params, struct prh_reply *r)
{
    uint8_t cdb[16], p[24];
    int s = tu_connect_hs(sock, NULL);
    if (s < 0)
        return -1;
    if (out) {
        tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
        memcpy(p, params, 24);
    } else {
        tu_cdb_prin(cdb, PR_IN_READ_KEYS, 64);
    }
    int rc = prh_wire_client_send(s, cdb, 16, fd, out ? p : NULL, out ? 24 : 0);
    if (rc == 0)
        rc = prh_wire_client_recv(s, r) == 0 ? 1 : 0;
    else
        rc = 0;
    close(s);
    return rc;
}

static int phase_wrong_fds(void)
{
    static struct prh_reply r;
    uint8_t p[24];
    int pipefd[2], sp[2], bad = 0;
    tu_params(p, 0, 0xbad, 0);
    if (pipe2(pipefd, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
        return 1;
    struct {
        const char *what;
        int fd;
    } kinds[] = {
        { "directory", open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) },
        { "pipe", pipefd[0] },
        { "socket", sp[0] },
        { "O_PATH", open(disk_hostile, O_PATH | O_CLOEXEC) },
        { "/dev/null", open("/dev/null", O_RDWR | O_CLOEXEC) },
    };
    say("  4. wrong fds:");
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        int a = one_request(kinds[i].fd, false, NULL, &r);
        int b = one_request(kinds[i].fd, true, p, &r);
        say(" %s (PR IN %s, PR OUT %s)", kinds[i].what, a > 0 ? "answered" : "closed",
            b > 0 ? "answered" : "closed");
        if (a < 0 || b < 0)
            bad++;
        close(kinds[i].fd);
    }
    /* PR OUT on a read-only fd: CHECK CONDITION, ILLEGAL REQUEST 20h/00h. */
    int ro = hostile_dev(O_RDONLY);
    if (one_request(ro, true, p, &r) != 1 || r.status != SCSI_STATUS_CHECK_CONDITION ||
        (r.sense[2] & 0xf) != 0x5 || r.sense[12] != 0x20)
        bad++;
    say(";\n     read-only fd for PR OUT: %s", bad ? "WRONG" : "CHECK CONDITION 5/20h/00h");
    close(ro);
    /* 253 fds in one message: the connection is closed, every fd dropped. */
    int many[253];
    for (int i = 0; i < 253; i++)
        many[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int s = tu_connect_hs(sock, NULL);
    uint8_t cdb[16];
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 64);
    prh_wire_send_fds(s, cdb, 16, many, 253);
    bool closed = tu_peer_closed(s, 5000);
    close(s);
    for (int i = 0; i < 253; i++)
        close(many[i]);
    say("; 253 fds in one message: %s\n", closed ? "connection closed" : "NOT CLOSED");
    close(pipefd[1]);
    close(sp[1]);
    return bad || !closed;
}

static int phase_oversize(void)
{
    int dev = hostile_dev(O_RDWR), closed = 0, n = 0;
    const unsigned lens[] = { 8193, 8200, 16384, 65535 };
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int out = 0; out < 2; out++) {
            uint8_t cdb[16];
            if (out)
                tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, (uint16_t)lens[i]);
            else
                tu_cdb_prin(cdb, PR_IN_READ_KEYS, (uint16_t)lens[i]);
            int s = tu_connect_hs(sock, NULL);
            prh_wire_client_send(s, cdb, 16, dev, NULL, 0);
            closed += tu_peer_closed(s, 5000);
            n++;
            close(s);
        }
    }
    say("  5. oversize lengths (8193..65535, PR IN and PR OUT): %d of %d connections closed\n",
        closed, n);
    close(dev);
    return closed == n ? 0 : 1;
}

static int phase_garbage(int n)
{
    unsigned seed = 7;
    int closed = 0;
    for (int i = 0; i < n; i++) {
        uint8_t junk[64];
        for (size_t j = 0; j < sizeof(junk); j++)
            junk[j] = (uint8_t)rand_r(&seed);
        if (junk[0] == 0x5e || junk[0] == 0x5f)
            junk[0] = 0x00;
        int s = tu_connect_hs(sock, NULL);
        if (s < 0)
            continue;
        prh_wire_write_all(s, junk, sizeof(junk));
        closed += tu_peer_closed(s, 5000);
        close(s);
    }
    say("  6. garbage after the handshake: %d of %d connections closed\n", closed, n);
    return closed == n ? 0 : 1;
}

static int phase_never_read(int n)
{
    int dev = hostile_dev(O_RDWR);
    int *fds = calloc((size_t)n, sizeof(int));
    uint8_t cdb[16];
    tu_cdb_prin(cdb, PR_IN_READ_FULL_STATUS, 8192);
    for (int i = 0; i < n; i++) {
        fds[i] = tu_connect_hs(sock, NULL);
        int sz = 4096;
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        for (int k = 0; k < 32; k++)
            if (prh_wire_client_send(fds[i], cdb, 16, dev, NULL, 0) < 0)
                break;
    }
    tu_sleep_ms(500); /* canaries keep running meanwhile */
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    say("  7. %d clients sending 32 requests each and never reading a reply\n", n);
    close(dev);
    free(fds);
    return 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    bool shortmode = false;
    int clients = 1000;
    static const struct option opts[] = {
        { "short", no_argument, NULL, 's' },   { "daemon", required_argument, NULL, 'd' },
        { "clients", required_argument, NULL, 'c' }, { "report", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },    { NULL, 0, NULL, 0 },
    };
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 's': shortmode = true; break;
        case 'd': daemon_bin = optarg; break;
        case 'c': clients = atoi(optarg); break;
        case 'r': report = fopen(optarg, "w"); break;
        default:
            printf("usage: %s [--short] [--daemon=PATH] [--clients=N] [--report=FILE]\n",
                   argv[0]);
            return c == 'h' ? 0 : 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl); /* the daemon inherits it too */
    if (rl.rlim_cur < (rlim_t)clients + 400) {
        printf("prh-stress: RLIMIT_NOFILE %llu is too low for %d clients\n",
               (unsigned long long)rl.rlim_cur, clients);
        return 2;
    }
    dir = tu_tmpdir();
    snprintf(sock, sizeof(sock), "%s/prh.sock", dir);
    disk_canary = tu_disk(dir, "canary-disk");
    disk_hostile = tu_disk(dir, "hostile-disk");
    char sockopt[400], stateopt[400], maxopt[64];
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", sock);
    snprintf(stateopt, sizeof(stateopt), "--state-dir=%s/state", dir);
    snprintf(maxopt, sizeof(maxopt), "--max-clients=%d", clients + 100);
    daemon_pid = fork();
    if (daemon_pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        execl(daemon_bin, daemon_bin, "--transport=sim", sockopt, stateopt, maxopt,
              "--frame-timeout=2", "-q", (char *)NULL);
        _exit(127);
    }
    long end = tu_now_ms() + 10000;
    struct stat sb;
    while (stat(sock, &sb) != 0 && tu_now_ms() < end)
        tu_sleep_ms(5);
    /* Warm up (first LUN use, worker stacks), then the baseline. */
    static struct prh_reply r;
    int dev = open(disk_canary, O_RDWR | O_CLOEXEC);
    int w = tu_connect_hs(sock, NULL);
    tu_prin(w, dev, PR_IN_READ_KEYS, 64, &r);
    close(w);
    close(dev);
    dev = hostile_dev(O_RDWR);
    w = tu_connect_hs(sock, NULL);
    tu_prin(w, dev, PR_IN_READ_KEYS, 64, &r);
    close(w);
    close(dev);
    tu_sleep_ms(200);
    int fd_base = tu_fd_count(daemon_pid);
    long rss_base = proc_value(daemon_pid, "VmRSS");

    say("prh-stress: prhelper pid %ld, %s mode, %d clients\n", (long)daemon_pid,
        shortmode ? "short" : "full", clients);
    pthread_t th[4];
    int ncanary = 4;
    for (int i = 0; i < ncanary; i++)
        pthread_create(&th[i], NULL, canary, (void *)(intptr_t)i);
    long t0 = tu_now_ms();
    int failures = 0, rounds = shortmode ? 1 : 5;
    for (int round = 0; round < rounds; round++) {
        failures += phase_concurrent(clients);
        failures += phase_slow_senders(shortmode ? 50 : 200);
        failures += phase_disconnects(shortmode ? 2 : 10);
        failures += phase_wrong_fds();
        failures += phase_oversize();
        failures += phase_garbage(shortmode ? 50 : 500);
        failures += phase_never_read(shortmode ? 20 : 100);
    }
    long rss_peak = proc_value(daemon_pid, "VmHWM");
    atomic_store(&stop_canaries, true);
    for (int i = 0; i < ncanary; i++)
        pthread_join(th[i], NULL);
    long took = tu_now_ms() - t0;

    /* Everything closed: the daemon gives back its fds and memory. */
    int fd_after = -1;
    long rss_after = -1;
    end = tu_now_ms() + 10000;
    do {
        tu_sleep_ms(100);
        fd_after = tu_fd_count(daemon_pid);
        rss_after = proc_value(daemon_pid, "VmRSS");
    } while ((fd_after != fd_base || rss_after > rss_base + 4096) && tu_now_ms() < end);
    bool alive = daemon_alive();
    unsigned long nl = atomic_load(&nlat);
    if (nl > sizeof(latencies) / sizeof(latencies[0]))
        nl = sizeof(latencies) / sizeof(latencies[0]);
    qsort(latencies, nl, sizeof(long), cmp_long);
    long p50 = nl ? latencies[nl / 2] : -1, p99 = nl ? latencies[nl * 99 / 100] : -1;
    long maxl = atomic_load(&canary_max_ms);
    unsigned long wrong = atomic_load(&canary_wrong);
    say("canaries: %d well-behaved clients, %lu requests, %lu wrong answers, latency p50 %ld ms, "
        "p99 %ld ms, max %ld ms\n",
        ncanary, atomic_load(&canary_requests), wrong, p50, p99, maxl);
    say("daemon: %s; fds %d before, %d after; RSS %ld KiB before, %ld KiB peak, %ld KiB after\n",
        alive ? "alive" : "CRASHED", fd_base, fd_after, rss_base, rss_peak, rss_after);
    bool ok = alive && failures == 0 && wrong == 0 && maxl < 2000 && fd_after == fd_base &&
              rss_after <= rss_base + 4096;
    say("result: %s (%ld ms; 0 crashes, 0 wrong answers, max canary latency < 2000 ms, fds and "
        "RSS (+4 MiB) back to baseline required)\n",
        ok ? "PASS" : "FAIL", took);
    if (alive) {
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
    }
    tu_rm_rf(dir);
    if (report)
        fclose(report);
    return ok ? 0 : 1;
}
