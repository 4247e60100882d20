/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_server.c - the event loop over real Unix sockets with fd passing:
 * the sim transport, and a "gate" transport whose READ FULL STATUS waits
 * for the test (a slow device).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>

#include "prh_test_util.h"
#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "prhelper/server.h"
#include "prhelper/transport.h"
#include "transport_stubs.h"

/* ---- the gate transport -------------------------------------------------- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int gate_waiting;

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

/* Wait (bounded) until n requests are blocked at the gate. */
static bool gate_wait_blocked(int n)
{
    long end = tu_now_ms() + 5000;
    for (;;) {
        pthread_mutex_lock(&gate_lock);
        int w = gate_waiting;
        pthread_mutex_unlock(&gate_lock);
        if (w >= n)
            return true;
        if (tu_now_ms() > end)
            return false;
        tu_sleep_ms(2);
    }
}

static atomic_int gate_nexus_made, gate_nexus_freed;

static void gate_wait(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&gate_lock);
    gate_waiting++;
    while (!gate_open)
        if (pthread_cond_timedwait(&gate_cond, &gate_lock, &until) != 0)
            break;
    gate_waiting--;
    pthread_mutex_unlock(&gate_lock);
}

/* A client bound to "...stall-nexus..." stalls its nexus_new at the gate, as
 * reading the /proc/PID/cmdline of a peer whose argument pages hang does. */
static void *gate_nexus_new(void *state, const struct prh_peer *peer)
{
    (void)state;
    if (peer->addr_len && strstr(peer->addr, "stall-nexus"))
        gate_wait();
    atomic_fetch_add(&gate_nexus_made, 1);
    return malloc(1);
}

static void gate_nexus_free(void *state, void *nexus)
{
    (void)state;
    atomic_fetch_add(&gate_nexus_freed, 1);
    free(nexus);
}

static int gate_open_dev(void *state, void *nexus, int fd, const struct stat *st, void **dev,
                         struct prh_result *res)
{
    (void)state;
    (void)nexus;
    (void)fd;
    (void)st;
    (void)res;
    *dev = NULL;
    return 0;
}

static void gate_pr_in(void *state, void *nexus, void *dev, const struct prh_request *req,
                       uint8_t *data, size_t cap, struct prh_result *res)
{
    (void)state;
    (void)nexus;
    (void)dev;
    (void)cap;
    if ((req->cdb[1] & 0x1f) == PR_IN_READ_FULL_STATUS)
        gate_wait();
    memset(data, 0, req->xfer_len);
    data[3] = 0x42;
    *res = prh_result_status(SCSI_STATUS_GOOD);
    res->data_len = req->xfer_len < 8 ? req->xfer_len : (req->xfer_len == 8192 ? 8192 : 8);
}

static const struct prh_transport gate_transport = {
    STUB_TRANSPORT("gate"),
    .version = "test",
    .nexus_new = gate_nexus_new,
    .nexus_free = gate_nexus_free,
    .open = gate_open_dev,
    .pr_in = gate_pr_in,
    .pr_out = stub_pr_out_good,
};

/* The same, but its nexus_new and nexus_free are declared not to block
 * (as sg's and mpath's): the pool does not count them as device calls. */
static const struct prh_transport *gate_quick_nexus_transport(void)
{
    static struct prh_transport t;
    t = gate_transport;
    t.name = "gate-quick-nexus";
    t.nexus_never_blocks = true;
    return &t;
}

/* ---- fixture ------------------------------------------------------------- */

struct fx {
    char *dir;
    char sock[256];
    char *disk;
    int devfd;
    void *tstate;
    const struct prh_transport *t;
    struct prh_server *srv;
    pthread_t thread;
    bool running;
    int fds_before;
};

static void *server_thread(void *arg)
{
    prh_server_run(arg);
    return NULL;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    size_t len = strlen(path);
    /* A path that does not fit is an error, not a truncated socket name. */
    if (len >= sizeof(a.sun_path))
        return -1;
    memcpy(a.sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 256) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static unsigned fx_frame_timeout_ms; /* 0 in setup(); tests of the timeout set it */
static unsigned fx_workers, fx_workers_max, fx_idle_ms; /* 4, 0, 0 in setup() */
static struct prh_metrics *fx_metrics;                 /* NULL in setup() */
static int fx_linger_ms;                               /* 0 (the default) in setup() */

static int fx_start(struct fx *f, const struct prh_transport *t, unsigned max_clients)
{
    char err[256];
    struct prh_transport_options o = { .state_dir = NULL, .sim_profile = "spc4" };
    char state_dir[300];

    f->t = t;
    if (t->init) {
        snprintf(state_dir, sizeof(state_dir), "%s/state", f->dir);
        o.state_dir = state_dir;
        assert_int_equal(t->init(&o, &f->tstate, err, sizeof(err)), 0);
    }
    struct prh_server_config cfg = {
        .listen_fd = listen_unix(f->sock),
        .socket_path = f->sock,
        .transport = t,
        .transport_state = f->tstate,
        .workers = fx_workers,
        .workers_max = fx_workers_max,
        .worker_idle_ms = fx_idle_ms,
        .max_clients = max_clients,
        .signal_fd = -1,
        .drain_timeout_ms = 2000,
        .frame_timeout_ms = fx_frame_timeout_ms,
        .metrics = fx_metrics,
        .linger_ms = fx_linger_ms,
    };
    assert_true(cfg.listen_fd >= 0);
    f->srv = prh_server_new(&cfg);
    assert_non_null(f->srv);
    assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f->srv), 0);
    f->running = true;
    return 0;
}

/* A PR IN (sa, allocation length alloc) for f's device sent on client s;
 * the answer is left to read.  READ FULL STATUS stalls at the gate. */
static void send_prin(struct fx *f, int s, uint8_t sa, uint16_t alloc)
{
    uint8_t cdb[16];
    tu_cdb_prin(cdb, sa, alloc);
    assert_int_equal(prh_wire_client_send(s, cdb, 16, f->devfd, NULL, 0), 0);
}

/* fx_start, then a client connected to the server that did the handshake (its socket). */
static int fx_start_client(struct fx *f, const struct prh_transport *t, unsigned max_clients)
{
    fx_start(f, t, max_clients);
    return tu_connect_hs(f->sock, NULL);
}

static void fx_stop(struct fx *f)
{
    if (!f->running)
        return;
    gate_set(true);
    prh_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    prh_server_free(f->srv);
    if (f->t->fini)
        f->t->fini(f->tstate);
    f->running = false;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir();
    snprintf(f->sock, sizeof(f->sock), "%s/sock", f->dir);
    f->disk = tu_disk(f->dir, "disk");
    f->devfd = open(f->disk, O_RDWR | O_CLOEXEC);
    f->fds_before = tu_fd_count(0);
    gate_set(false);
    fx_frame_timeout_ms = 0;
    fx_workers = 4;
    fx_workers_max = 0;
    fx_idle_ms = 0;
    fx_metrics = NULL;
    fx_linger_ms = 0;
    atomic_store(&gate_nexus_made, 0);
    atomic_store(&gate_nexus_freed, 0);
    prh_log_set_verbosity(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fx_stop(f);
    close(f->devfd);
    tu_tmpdir_free(f->dir);
    free(f->disk);
    free(f);
    return 0;
}

/* Wait (bounded) until the server has no clients left. */
static void wait_no_clients(struct fx *f)
{
    struct prh_server_stats st;
    long end = tu_now_ms() + 5000;
    do {
        prh_server_get_stats(f->srv, &st);
        if (st.clients == 0)
            return;
        tu_sleep_ms(2);
    } while (tu_now_ms() < end);
    fail_msg("server still has %u clients", st.clients);
}

/* Wait (bounded) until the server has n clients. */
static void wait_clients(struct fx *f, unsigned n)
{
    struct prh_server_stats st;
    long end = tu_now_ms() + 5000;
    do {
        prh_server_get_stats(f->srv, &st);
        if (st.clients == n)
            return;
        tu_sleep_ms(2);
    } while (tu_now_ms() < end);
    fail_msg("server has %u clients, not %u", st.clients, n);
}

/* ---- tests --------------------------------------------------------------- */

static void test_server_sends_features_first(void **state)
{
    struct fx *f = *state;
    uint8_t w[4] = { 1, 1, 1, 1 };
    fx_start(f, &prh_transport_sim, 0);
    int s = tu_connect(f->sock, NULL);
    assert_int_equal(prh_wire_read_all(s, w, 4), 0);
    assert_memory_equal(w, "\0\0\0\0", 4);
    close(s);
}

static void test_server_closes_on_nonzero_features(void **state)
{
    struct fx *f = *state;
    uint8_t w[4];
    fx_start(f, &prh_transport_sim, 0);
    int s = tu_connect(f->sock, NULL);
    assert_int_equal(prh_wire_read_all(s, w, 4), 0);
    assert_int_equal(prh_wire_write_all(s, "\0\0\0\x01", 4), 0);
    assert_true(tu_peer_closed(s, 5000));
    close(s);
}

static void test_server_register_then_read_keys(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int s = fx_start_client(f, &prh_transport_sim, 0);
    assert_int_equal(tu_prout(s, f->devfd, PR_OUT_REGISTER, 0, 0, 0x1234, 0, &r), 0);
    assert_int_equal(r.data_len, 0);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 32, &r), 0);
    assert_int_equal(r.data_len, 16);
    static const uint8_t expect[16] = { 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
    assert_memory_equal(r.data, expect, 16);
    close(s);
}

static void test_server_readonly_fd_prout_invalid_opcode(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    static const uint8_t expect[] = { 0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x20, 0 };
    fx_start(f, &prh_transport_sim, 0);
    int ro = open(f->disk, O_RDONLY | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prout(s, ro, PR_OUT_REGISTER, 0, 0, 1, 0, &r), SCSI_STATUS_CHECK_CONDITION);
    assert_memory_equal(r.sense, expect, sizeof(expect));
    for (size_t i = 18; i < 96; i++)
        assert_int_equal(r.sense[i], 0);
    close(s);
    close(ro);
}

static void test_server_stalled_client_does_not_block_others(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    int a = fx_start_client(f, &prh_transport_sim, 0);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    assert_int_equal(prh_wire_send_fds(a, cdb, 10, &f->devfd, 1), 10); /* half a CDB */
    int b = tu_connect_hs(f->sock, NULL);
    long t0 = tu_now_ms();
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_true(tu_now_ms() - t0 < 2000);
    close(a);
    close(b);
}

static void test_server_slow_device_does_not_block_others(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int a = fx_start_client(f, &gate_transport, 0);
    send_prin(f, a, PR_IN_READ_FULL_STATUS, 64);
    assert_true(gate_wait_blocked(1));
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_int_equal(r.data[3], 0x42);
    gate_set(true);
    assert_int_equal(prh_wire_client_recv(a, &r), 0);
    assert_int_equal(r.data_len, 8);
    close(a);
    close(b);
}

static void test_server_bad_opcode_closes_only_that_client(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16] = { 0x12 };
    int a = fx_start_client(f, &prh_transport_sim, 0);
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(prh_wire_client_send(a, cdb, 16, f->devfd, NULL, 0), 0);
    assert_true(tu_peer_closed(a, 5000));
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(a);
    close(b);
}

static void send_malformed(int s, int kind, int devfd)
{
    uint8_t cdb[16];
    int fds[4] = { devfd, devfd, devfd, devfd };
    switch (kind % 5) {
    case 0: /* no fd */
        tu_cdb_prin(cdb, 0, 8);
        prh_wire_send_fds(s, cdb, 16, NULL, 0);
        break;
    case 1: /* four fds */
        tu_cdb_prin(cdb, 0, 8);
        prh_wire_send_fds(s, cdb, 16, fds, 4);
        break;
    case 2: /* bad opcode */
        tu_cdb_prin(cdb, 0, 8);
        cdb[0] = 0x28;
        prh_wire_send_fds(s, cdb, 16, fds, 1);
        break;
    case 3: /* too long */
        tu_cdb_prout(cdb, 0, 0, 0x4000);
        prh_wire_send_fds(s, cdb, 16, fds, 1);
        break;
    default: /* half a parameter list, then EOF */
        tu_cdb_prout(cdb, 0, 0, 24);
        prh_wire_send_fds(s, cdb, 16, fds, 1);
        prh_wire_write_all(s, "12345", 5);
        break;
    }
}

static void test_server_malformed_requests_leak_no_fd(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    fx_start(f, &prh_transport_sim, 0);
    /* Warm up: the first request creates the LUN. */
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(s);
    wait_no_clients(f);
    int before = tu_fd_count(0);
    for (int i = 0; i < 1000; i++) {
        s = tu_connect_hs(f->sock, NULL);
        assert_true(s >= 0);
        send_malformed(s, i, f->devfd);
        if (i % 5 != 4)
            assert_true(tu_peer_closed(s, 5000));
        close(s);
    }
    wait_no_clients(f);
    assert_int_equal(tu_fd_count(0), before);
    struct prh_server_stats st;
    prh_server_get_stats(f->srv, &st);
    assert_int_equal(st.protocol_errors, 1000);
}

static void test_server_stop_finishes_request_in_flight(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    struct stat sb;
    int idle = fx_start_client(f, &gate_transport, 0);
    int a = tu_connect_hs(f->sock, NULL);
    send_prin(f, a, PR_IN_READ_FULL_STATUS, 64);
    assert_true(gate_wait_blocked(1));
    prh_server_stop(f->srv);
    /* Accepting stops and the socket goes away at once... */
    long end = tu_now_ms() + 5000;
    while (stat(f->sock, &sb) == 0 && tu_now_ms() < end)
        tu_sleep_ms(2);
    assert_int_not_equal(stat(f->sock, &sb), 0);
    assert_true(tu_peer_closed(idle, 5000));
    /* ...while the request in flight still gets its reply. */
    gate_set(true);
    assert_int_equal(prh_wire_client_recv(a, &r), 0);
    assert_int_equal(r.status, 0);
    pthread_join(f->thread, NULL);
    f->running = false;
    prh_server_free(f->srv);
    close(a);
    close(idle);
}

static void test_server_disconnect_during_request(void **state)
{
    struct fx *f = *state;
    int a = fx_start_client(f, &gate_transport, 0);
    send_prin(f, a, PR_IN_READ_FULL_STATUS, 64);
    assert_true(gate_wait_blocked(1));
    close(a);
    tu_sleep_ms(20); /* let the hangup arrive while the request runs */
    gate_set(true);
    wait_no_clients(f);
}

static void test_server_max_clients_refuses_extra(void **state)
{
    struct fx *f = *state;
    uint8_t w[4];
    int a = fx_start_client(f, &prh_transport_sim, 2);
    int b = tu_connect_hs(f->sock, NULL);
    assert_true(a >= 0 && b >= 0);
    int c = tu_connect(f->sock, NULL);
    assert_true(c >= 0);
    assert_int_equal(prh_wire_read_all(c, w, 4), -EPIPE);
    struct prh_server_stats st;
    prh_server_get_stats(f->srv, &st);
    assert_int_equal(st.rejected, 1);
    close(a);
    close(b);
    close(c);
}

static void test_server_pipelined_requests_answered_in_order(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16], p[24];
    int s = fx_start_client(f, &prh_transport_sim, 0);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(p, 0, 0xaa, 0);
    assert_int_equal(prh_wire_client_send(s, cdb, 16, f->devfd, p, 24), 0);
    send_prin(f, s, PR_IN_READ_KEYS, 16);
    assert_int_equal(prh_wire_client_recv(s, &r), 0);
    assert_int_equal(r.data_len, 0);
    assert_int_equal(prh_wire_client_recv(s, &r), 0);
    assert_int_equal(r.data_len, 16);
    assert_true(tu_has_key(&r, 0xaa));
    close(s);
}

static void test_server_allocation_length_clips_data(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int s = fx_start_client(f, &prh_transport_sim, 0);
    assert_int_equal(tu_prout(s, f->devfd, PR_OUT_REGISTER, 0, 0, 5, 0, &r), 0);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 12, &r), 0);
    assert_true(r.data_len <= 12);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 0, &r), 0);
    assert_int_equal(r.data_len, 0);
    close(s);
}

static void test_server_conflict_status_has_no_data(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int a = fx_start_client(f, &prh_transport_sim, 0);
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_REGISTER, 0, 0, 1, 0, &r), 0);
    assert_int_equal(tu_prout(b, f->devfd, PR_OUT_REGISTER, 0, 0, 2, 0, &r), 0);
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_RESERVE, PR_TYPE_EA, 1, 0, 0, &r), 0);
    /* Each connection is its own nexus: b is not the holder. */
    assert_int_equal(tu_prout(b, f->devfd, PR_OUT_RESERVE, PR_TYPE_EA, 2, 0, 0, &r),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(r.data_len, 0);
    close(a);
    close(b);
}

static void test_server_chosen_identity_spans_connections(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    fx_start(f, &prh_transport_sim, 0);
    int a = tu_connect_hs(f->sock, "prhelper-nexus:alpha/1");
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_REGISTER, 0, 0, 7, 0, &r), 0);
    close(a);
    /* Same identity, new connection: it is registered with key 7. */
    a = tu_connect_hs(f->sock, "prhelper-nexus:alpha/2");
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_RESERVE, PR_TYPE_WE, 7, 0, 0, &r), 0);
    close(a);
    /* Another identity is not. */
    int b = tu_connect_hs(f->sock, "prhelper-nexus:beta/1");
    assert_int_equal(tu_prout(b, f->devfd, PR_OUT_RESERVE, PR_TYPE_WE, 7, 0, 0, &r),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    close(b);
}

static void test_server_stats_count_requests(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    struct prh_server_stats st;
    int s = fx_start_client(f, &prh_transport_sim, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    prh_server_get_stats(f->srv, &st);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.clients, 1);
    close(s);
}

static void test_server_new_fails_on_bad_listen_fd(void **state)
{
    struct fx *f = *state;
    struct prh_server_config cfg = { .listen_fd = -1, .transport = &gate_transport,
                                     .signal_fd = -1 };
    (void)f;
    assert_null(prh_server_new(&cfg));
}

static void test_server_signal_fd_stops(void **state)
{
    struct fx *f = *state;
    int sv[2];
    /* Any readable fd that yields a siginfo-sized record stands in. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    struct prh_server_config cfg = {
        .listen_fd = listen_unix(f->sock), .socket_path = f->sock,
        .check_socket_inode = true, .transport = &gate_transport, .signal_fd = sv[0],
    };
    struct stat sb;
    assert_int_equal(stat(f->sock, &sb), 0);
    cfg.socket_dev = sb.st_dev;
    cfg.socket_ino = sb.st_ino;
    f->t = &gate_transport;
    f->srv = prh_server_new(&cfg);
    assert_non_null(f->srv);
    assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f->srv), 0);
    uint8_t si[128] = { 15 };
    assert_int_equal(write(sv[1], si, sizeof(si)), (ssize_t)sizeof(si));
    pthread_join(f->thread, NULL);
    prh_server_free(f->srv);
    assert_int_not_equal(stat(f->sock, &sb), 0);
    close(sv[0]);
    close(sv[1]);
}

static void test_server_leaves_socket_taken_over(void **state)
{
    struct fx *f = *state;
    struct prh_server_config cfg = {
        .listen_fd = listen_unix(f->sock), .socket_path = f->sock,
        .check_socket_inode = true, .socket_ino = 1, .transport = &gate_transport,
        .signal_fd = -1,
    };
    struct stat sb;
    f->srv = prh_server_new(&cfg);
    assert_non_null(f->srv);
    prh_server_stop(f->srv);
    prh_server_run(f->srv);
    prh_server_free(f->srv);
    /* The path's inode is not the one we bound: someone else's now. */
    assert_int_equal(stat(f->sock, &sb), 0);
}

/* Replies the client does not read yet: the server waits for EPOLLOUT. */
static void test_server_unread_replies_wait_for_the_client(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    int a = fx_start_client(f, &gate_transport, 0);
    int sz = 4096;
    setsockopt(a, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8192);
    for (int i = 0; i < 64; i++)
        assert_int_equal(prh_wire_client_send(a, cdb, 16, f->devfd, NULL, 0), 0);
    /* Meanwhile another client is served. */
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(prh_wire_client_recv(a, &r), 0);
        assert_int_equal(r.data_len, 8192);
    }
    close(a);
    close(b);
}

static void test_server_max_clients_existing_clients_unaffected(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int a = fx_start_client(f, &prh_transport_sim, 2);
    int b = tu_connect_hs(f->sock, NULL);
    assert_true(a >= 0 && b >= 0);
    for (int i = 0; i < 20; i++) {
        int c = tu_connect(f->sock, NULL);
        assert_true(c >= 0);
        assert_true(tu_peer_closed(c, 5000)); /* refused: closed without a word */
        close(c);
    }
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_REGISTER, 0, 0, 0xa, 0, &r), 0);
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 64, &r), 0);
    assert_true(tu_has_key(&r, 0xa));
    close(a);
    /* A slot freed by a leaving client is usable again. */
    wait_clients(f, 1);
    int d = tu_connect_hs(f->sock, NULL);
    assert_true(d >= 0);
    assert_int_equal(tu_prin(d, f->devfd, PR_IN_READ_KEYS, 64, &r), 0);
    assert_true(tu_has_key(&r, 0xa));
    close(b);
    close(d);
}

/* Bounded wait for the frame timeout to close s; how long it took, or -1. */
static long closed_after(int s, long limit_ms)
{
    long t0 = tu_now_ms();
    if (!tu_peer_closed(s, (int)limit_ms))
        return -1;
    return tu_now_ms() - t0;
}

static void test_server_frame_timeout_closes_half_sent_request(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    struct prh_server_stats st;
    fx_frame_timeout_ms = 300;
    int idle = fx_start_client(f, &prh_transport_sim, 0);
    int a = tu_connect_hs(f->sock, NULL);
    /* A client's set-up (the sim's /proc read for its identity) runs on a
     * worker after the handshake: one request each, so that no descriptor
     * of it is open while the baseline is counted. */
    assert_int_equal(tu_prin(idle, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_int_equal(tu_prin(a, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    int fds_with_clients = tu_fd_count(0);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    assert_int_equal(prh_wire_send_fds(a, cdb, 10, &f->devfd, 1), 10); /* half a CDB + fd */
    long took = closed_after(a, 5000);
    assert_true(took >= 150 && took < 2000);
    prh_server_get_stats(f->srv, &st);
    assert_int_equal(st.timeouts, 1);
    /* The fd the half frame carried was closed with it. */
    close(a);
    wait_clients(f, 1);
    assert_int_equal(tu_fd_count(0), fds_with_clients - 2);
    /* A CDB without its parameter list times out the same way. */
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(prh_wire_send_fds(b, cdb, 16, &f->devfd, 1), 16);
    assert_true(closed_after(b, 5000) >= 0);
    close(b);
    /* The idle client (between requests) is never timed out. */
    assert_int_equal(tu_prin(idle, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(idle);
}

static void test_server_frame_timeout_closes_silent_handshake(void **state)
{
    struct fx *f = *state;
    uint8_t w[4];
    fx_frame_timeout_ms = 300;
    fx_start(f, &prh_transport_sim, 0);
    int a = tu_connect(f->sock, NULL);
    assert_int_equal(prh_wire_read_all(a, w, 4), 0); /* the helper's word; ours never comes */
    long took = closed_after(a, 5000);
    assert_true(took >= 0 && took < 2000);
    close(a);
}

static void test_server_frame_timeout_closes_unread_reply(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    struct prh_server_stats st;
    fx_frame_timeout_ms = 300;
    fx_start(f, &gate_transport, 0);
    gate_set(true);
    int a = tu_connect_hs(f->sock, NULL);
    int sz = 4096;
    setsockopt(a, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8192);
    for (int i = 0; i < 64; i++)
        assert_int_equal(prh_wire_client_send(a, cdb, 16, f->devfd, NULL, 0), 0);
    /* Replies pile up unread until one cannot be sent: closed after the timeout. */
    long end = tu_now_ms() + 5000;
    do {
        tu_sleep_ms(50);
        prh_server_get_stats(f->srv, &st);
    } while (st.timeouts == 0 && tu_now_ms() < end);
    assert_int_equal(st.timeouts, 1);
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(a);
    close(b);
}

static void test_server_no_frame_timeout_when_zero(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    int a = fx_start_client(f, &prh_transport_sim, 0);
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8);
    assert_int_equal(prh_wire_send_fds(a, cdb, 10, &f->devfd, 1), 10);
    assert_false(tu_peer_closed(a, 700));
    assert_int_equal(prh_wire_write_all(a, cdb + 10, 6), 0); /* the rest, late */
    assert_int_equal(prh_wire_client_recv(a, &r), 0);
    assert_int_equal(r.status, 0);
    close(a);
}

/* At shutdown, a reply nobody reads is abandoned after the drain timeout. */
static void test_server_stop_gives_up_on_unread_reply(void **state)
{
    struct fx *f = *state;
    uint8_t cdb[16];
    int a = fx_start_client(f, &gate_transport, 0);
    int sz = 4096;
    setsockopt(a, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8192);
    for (int i = 0; i < 64; i++)
        assert_int_equal(prh_wire_client_send(a, cdb, 16, f->devfd, NULL, 0), 0);
    tu_sleep_ms(100); /* let the server fill the socket */
    long t0 = tu_now_ms();
    prh_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    f->running = false;
    long took = tu_now_ms() - t0;
    assert_true(took >= 1500 && took < 8000); /* drain_timeout_ms is 2000 */
    prh_server_free(f->srv);
    close(a);
}


/* ---- the request path: pool, order, clean-up, fd exhaustion, memory ------------ */

static struct prh_server_stats stats(struct fx *f)
{
    struct prh_server_stats st;
    prh_server_get_stats(f->srv, &st);
    return st;
}

/* Send a READ FULL STATUS (stalls at the gate) on a new connection. */
static int stalled_client(struct fx *f)
{
    int s = tu_connect_hs(f->sock, NULL);
    assert_true(s >= 0);
    send_prin(f, s, PR_IN_READ_FULL_STATUS, 64);
    return s;
}

/* N clients (stalled_client), back once all N are inside device calls. */
static void stall_clients(struct fx *f, int *stalled, int n)
{
    for (int i = 0; i < n; i++)
        stalled[i] = stalled_client(f);
    assert_true(gate_wait_blocked(n));
}

/* Once the gate is open: each stalled client gets a GOOD answer; closed. */
static void answer_stalled(const int *stalled, int n)
{
    static struct prh_reply r;
    for (int i = 0; i < n; i++) {
        assert_int_equal(prh_wire_client_recv(stalled[i], &r), 0);
        assert_int_equal(r.status, 0);
        close(stalled[i]);
    }
}

/* 64 clients whose device calls hang (one stalled LUN) do not delay a
 * client of another LUN: the pool grows to one thread each plus one. */
static void test_server_64_stalled_clients_do_not_delay_another_lun(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int stalled[64];
    fx_workers = 2;
    fx_start(f, &gate_transport, 0);
    stall_clients(f, stalled, 64);
    int b = tu_connect_hs(f->sock, NULL);
    long t0 = tu_now_ms();
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_true(tu_now_ms() - t0 < 1000);
    assert_int_equal(r.data[3], 0x42);
    /* 64 inside device calls, one more to read the others' sockets. */
    assert_int_equal(stats(f).threads, 65);
    gate_set(true);
    answer_stalled(stalled, 64);
    close(b);
}

/* Setting a connection up (the peer's /proc entries, the transport's
 * nexus_new) counts as a device call: clients whose set-up hangs hold a
 * thread each, and the pool serves others meanwhile. */
static void test_server_stalled_connection_setup_does_not_block_others(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    int stalled[4];
    fx_workers = 1;
    fx_start(f, &gate_transport, 0);
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8);
    for (int i = 0; i < 4; i++) {
        stalled[i] = tu_connect_hs(f->sock, "stall-nexus");
        assert_true(stalled[i] >= 0);
        assert_int_equal(prh_wire_client_send(stalled[i], cdb, 16, f->devfd, NULL, 0), 0);
    }
    assert_true(gate_wait_blocked(4));
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_int_equal(r.data[3], 0x42);
    assert_true(stats(f).threads >= 5); /* one per stalled set-up, and others */
    gate_set(true);
    answer_stalled(stalled, 4);
    close(b);
}

/* The pool grows under stalled device calls and shrinks back when idle. */
static void test_server_pool_grows_under_stalls_and_shrinks_when_idle(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int stalled[8];
    fx_workers = 1;
    fx_idle_ms = 100;
    fx_start(f, &gate_transport, 0);
    assert_int_equal(stats(f).threads, 1);
    stall_clients(f, stalled, 8);
    assert_int_equal(stats(f).threads, 9);
    gate_set(true);
    answer_stalled(stalled, 8);
    long end = tu_now_ms() + 5000;
    while (stats(f).threads > 1 && tu_now_ms() < end)
        tu_sleep_ms(10);
    struct prh_server_stats st = stats(f);
    assert_int_equal(st.threads, 1);
    assert_int_equal(st.threads_peak, 9);
    /* The one left still serves. */
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(b);
}

/* Past MAX stalled device calls the next request waits for a thread, is
 * counted, and is answered once one returns. */
static void test_server_worker_limit_counted_and_requests_wait(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int stalled[3];
    fx_workers = 1;
    fx_workers_max = 2;
    fx_start(f, &gate_transport, 0);
    stall_clients(f, stalled, 3); /* MAX inside device calls + the reader */
    struct prh_server_stats st = stats(f);
    assert_int_equal(st.threads, 3);
    assert_true(st.thread_limit_hits >= 1);
    int b = tu_connect_hs(f->sock, NULL);
    send_prin(f, b, PR_IN_READ_KEYS, 8);
    assert_false(tu_peer_closed(b, 200)); /* nothing read it yet: no reply, no close */
    gate_set(true);
    assert_int_equal(prh_wire_client_recv(b, &r), 0);
    assert_int_equal(r.status, 0);
    answer_stalled(stalled, 3);
    close(b);
}

/* The value of one sample ("name value" line) of a metrics exposition; -1 if absent. */
/* ---- lingering: a thread waits for an answered client's next request ---- */

/* n READ KEYS on s, each sent as soon as the last is answered. */
static void back_to_back(struct fx *f, int s, int n)
{
    static struct prh_reply r;
    for (int i = 0; i < n; i++) {
        assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
        assert_int_equal(r.status, 0);
    }
}

/* A client that sends its next request at once finds a thread waiting in
 * a read of its socket (most of them: each wait lasts 5 ms); once it goes
 * quiet the wait ends and its socket is watched by epoll again. */
static void test_server_lingers_for_a_client_sending_back_to_back(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int s = fx_start_client(f, &prh_transport_sim, 0);
    back_to_back(f, s, 40);
    struct prh_server_stats st = stats(f);
    print_message("40 requests back to back: %lu lingers, %lu ended by the next request\n",
                  st.lingered, st.linger_news);
    assert_true(st.lingered >= 1);
    assert_true(st.linger_news >= 1);
    assert_true(st.linger_news <= st.lingered);
    tu_sleep_ms(100); /* the last wait is over */
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_int_equal(stats(f).requests, 41);
    close(s);
}

/* One request now and then (as a guest sends them) never makes a thread
 * wait: only a client whose last request came within the period after
 * its reply is waited for. */
static void test_server_does_not_linger_for_occasional_requests(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int s = fx_start_client(f, &prh_transport_sim, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
        tu_sleep_ms(40);
    }
    int c[8];
    for (int i = 0; i < 8; i++) {
        c[i] = tu_connect_hs(f->sock, NULL);
        assert_int_equal(tu_prin(c[i], f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    }
    assert_int_equal(stats(f).lingered, 0);
    for (int i = 0; i < 8; i++)
        close(c[i]);
    close(s);
}

/* linger_ms < 0: never. */
static void test_server_linger_off(void **state)
{
    struct fx *f = *state;
    fx_linger_ms = -1;
    int s = fx_start_client(f, &prh_transport_sim, 0);
    back_to_back(f, s, 20);
    assert_int_equal(stats(f).lingered, 0);
    close(s);
}

/* A thread waiting for one client's next request never makes another
 * client wait behind stalled devices: 8 stalled clients, a client sending
 * back to back, and an unrelated READ KEYS answered at once. */
static void test_server_lingering_and_stalled_devices_delay_nobody(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    int stalled[8];
    fx_workers = 2;
    fx_start(f, &gate_transport, 0);
    int a = tu_connect_hs(f->sock, NULL);
    back_to_back(f, a, 10);
    stall_clients(f, stalled, 8);
    int b = tu_connect_hs(f->sock, NULL);
    long t0 = tu_now_ms();
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_true(tu_now_ms() - t0 < 1000);
    back_to_back(f, a, 10);
    assert_int_equal(stats(f).thread_limit_hits, 0);
    gate_set(true);
    answer_stalled(stalled, 8);
    close(a);
    close(b);
}

/* Stopping while a thread waits for a client: over within the drain, the
 * client sees its socket closed. */
static void test_server_stop_ends_a_linger(void **state)
{
    struct fx *f = *state;
    fx_linger_ms = 3000; /* longer than the test's bound below */
    int s = fx_start_client(f, &prh_transport_sim, 0);
    back_to_back(f, s, 5);
    long end = tu_now_ms() + 2000;
    struct prh_server_stats st;
    do {
        st = stats(f);
        tu_sleep_ms(2);
    } while (st.lingered == st.linger_news && tu_now_ms() < end);
    long t0 = tu_now_ms();
    fx_stop(f);
    assert_true(tu_now_ms() - t0 < 2000);
    char b;
    assert_int_equal(read(s, &b, 1), 0);
    close(s);
}

static long metric_sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            return strtol(l + n + 1, NULL, 10);
    return -1;
}

/* Stall MAX + 1 device calls (every thread the pool may have), then let them go. */
static void stall_every_thread_once(struct fx *f)
{
    int stalled[3];
    gate_set(false);
    stall_clients(f, stalled, 3);
    gate_set(true);
    answer_stalled(stalled, 3);
}

/* Reaching MAX twice: one log line ever, and every time counted in
 * prhelper_worker_limit_reached_total (prhelper(8), --workers). */
static void test_server_worker_limit_logged_once_counted_every_time(void **state)
{
    struct fx *f = *state;
    char path[] = "/tmp/prh-server-log-XXXXXX";
    int logfd = mkstemp(path);
    assert_true(logfd >= 0);
    int saved = dup(2);
    fflush(stderr);
    dup2(logfd, 2);
    prh_log_set_verbosity(1);
    fx_metrics = prh_metrics_new("gate");
    fx_workers = 1;
    fx_workers_max = 2;
    fx_start(f, &gate_transport, 0);
    stall_every_thread_once(f);
    stall_every_thread_once(f);
    struct prh_server_stats st = stats(f);
    fx_stop(f);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    prh_log_set_verbosity(0);

    static char log[16384];
    ssize_t got = pread(logfd, log, sizeof(log) - 1, 0);
    close(logfd);
    unlink(path);
    assert_true(got >= 0);
    log[got] = '\0';
    int lines = 0;
    for (const char *p = log; (p = strstr(p, "worker threads are inside device calls")); p++)
        lines++;
    assert_int_equal(lines, 1);
    assert_non_null(strstr(log, "prhelper_worker_limit_reached_total"));

    assert_true(st.thread_limit_hits >= 2); /* once per stall round at least */
    char *text = prh_metrics_render(fx_metrics, NULL);
    assert_non_null(text);
    assert_int_equal(metric_sample(text, "prhelper_worker_limit_reached_total"),
                     (long)st.thread_limit_hits);
    free(text);
    prh_metrics_free(fx_metrics);
    fx_metrics = NULL;
}

/* One connection's requests are answered in the order sent, whichever
 * thread takes each: REGISTER AND IGNORE k, READ KEYS shows k, ... */
static void test_server_one_connections_requests_stay_in_order(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16], p[24];
    fx_workers = 8;
    int s = fx_start_client(f, &prh_transport_sim, 0);
    for (unsigned i = 1; i <= 100; i++) {
        tu_cdb_prout(cdb, PR_OUT_REGISTER_AND_IGNORE, 0, 24);
        tu_params(p, 0, 0x1000 + i, 0);
        assert_int_equal(prh_wire_client_send(s, cdb, 16, f->devfd, p, 24), 0);
        send_prin(f, s, PR_IN_READ_KEYS, 64);
    }
    for (unsigned i = 1; i <= 100; i++) {
        assert_int_equal(prh_wire_client_recv(s, &r), 0);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.data_len, 0);
        assert_int_equal(prh_wire_client_recv(s, &r), 0);
        assert_int_equal(tu_key_count(&r), 1);
        assert_true(tu_has_key(&r, 0x1000 + i));
        assert_int_equal(scsi_get_be32(r.data), i); /* PRgeneration: one per REGISTER */
    }
    close(s);
}

/* A client that leaves while its request runs is cleaned up once, after
 * the device call returns: its nexus freed once, its fd closed once. */
static void test_server_disconnect_during_request_cleaned_up_once(void **state)
{
    struct fx *f = *state;
    fx_start(f, &gate_transport, 0);
    int fds0 = tu_fd_count(0);
    int a = stalled_client(f);
    assert_true(gate_wait_blocked(1));
    close(a);
    tu_sleep_ms(50);
    assert_int_equal(stats(f).clients, 1); /* the request still runs */
    gate_set(true);
    wait_no_clients(f);
    assert_int_equal(atomic_load(&gate_nexus_made), 1);
    assert_int_equal(atomic_load(&gate_nexus_freed), 1);
    assert_int_equal(tu_fd_count(0), fds0);
    /* Nothing refers to the freed client any more: the server goes on. */
    static struct prh_reply r;
    int b = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(b);
}

static long cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1000L + ru.ru_utime.tv_usec / 1000 + ru.ru_stime.tv_sec * 1000L +
           ru.ru_stime.tv_usec / 1000;
}

/* Out of fds at accept: the connection is accepted with the reserve fd and
 * closed (the client sees EOF, not a hang), the loop does not spin, and
 * accepting works again once fds are free. */
static void test_server_emfile_on_accept_does_not_spin(void **state)
{
    struct fx *f = *state;
    static struct tu_fd_fill ff;
    static struct prh_reply r;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    uint8_t w[4];
    fx_start(f, &prh_transport_sim, 0);
    memcpy(a.sun_path, f->sock, strnlen(f->sock, sizeof(a.sun_path) - 1));
    int idle = tu_connect_hs(f->sock, NULL);
    /* The idle client's set-up reads /proc on a worker after the handshake;
     * a request first, so that no descriptor of it closes after the table
     * is filled (a free slot would let c1 in as a normal client). */
    assert_int_equal(tu_prin(idle, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(tu_fill_fd_table(&ff), 0);
    assert_int_equal(connect(c1, (struct sockaddr *)&a, sizeof(a)), 0);
    bool c1_closed = tu_peer_closed(c1, 3000);
    long cpu0 = cpu_ms();
    assert_int_equal(connect(c2, (struct sockaddr *)&a, sizeof(a)), 0);
    tu_sleep_ms(500);
    long spent = cpu_ms() - cpu0;
    bool c2_closed = tu_peer_closed(c2, 3000);
    assert_int_equal(tu_unfill_fd_table(&ff), 0);
    assert_true(c1_closed);
    assert_true(c2_closed);
    assert_true(spent < 250); /* a spinning loop burns the whole 500 ms */
    assert_int_equal(prh_wire_read_all(c1, w, 4), -EPIPE); /* no handshake: refused */
    struct prh_server_stats st = stats(f);
    assert_int_equal(st.fd_limit, 2);
    assert_int_equal(st.rejected, 2);
    close(c1);
    close(c2);
    /* Fds again: accepted and served; the client connected before is too. */
    int b = tu_connect_hs(f->sock, NULL);
    assert_true(b >= 0);
    assert_int_equal(tu_prin(b, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_int_equal(tu_prin(idle, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    close(b);
    close(idle);
}

/* The request's fd does not fit the server's full fd table: BUSY (retry),
 * not "too many file descriptors", and the connection stays usable. */
static void test_server_full_fd_table_answers_busy(void **state)
{
    struct fx *f = *state;
    static struct tu_fd_fill ff;
    static struct prh_reply r;
    uint8_t cdb[16], p[24];
    int s = fx_start_client(f, &prh_transport_sim, 0);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r), 0);
    assert_int_equal(tu_fill_fd_table(&ff), 0);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(p, 0, 0x5a, 0);
    int e1 = prh_wire_client_send(s, cdb, 16, f->devfd, p, 24);
    int e2 = prh_wire_client_recv(s, &r);
    assert_int_equal(tu_unfill_fd_table(&ff), 0);
    assert_int_equal(e1, 0);
    assert_int_equal(e2, 0);
    assert_int_equal(r.status, SCSI_STATUS_BUSY);
    assert_int_equal(r.data_len, 0);
    struct prh_server_stats st = stats(f);
    assert_int_equal(st.busy_fd_lost, 1);
    assert_int_equal(st.protocol_errors, 0);
    /* The REGISTER never ran; sent again it does. */
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 64, &r), 0);
    assert_false(tu_has_key(&r, 0x5a));
    assert_int_equal(tu_prout(s, f->devfd, PR_OUT_REGISTER, 0, 0, 0x5a, 0, &r), 0);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 64, &r), 0);
    assert_true(tu_has_key(&r, 0x5a));
    close(s);
}

/* A transport whose nexus_new does not block (nexus_never_blocks: sg,
 * mpath) has its connections set up outside the pool's device-call count:
 * a burst of new connections starts no thread (each would bring its
 * stack and request buffer, docs/daemon.md "Memory").  Held at the gate
 * here, the set-up is seen not to count: the pool stays at one thread. */
static void test_server_quick_nexus_setup_starts_no_thread(void **state)
{
    struct fx *f = *state;
    static struct prh_reply r;
    uint8_t cdb[16];
    fx_workers = 1;
    fx_start(f, gate_quick_nexus_transport(), 0);
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8);
    int s = tu_connect_hs(f->sock, "stall-nexus");
    assert_true(s >= 0);
    assert_int_equal(prh_wire_client_send(s, cdb, 16, f->devfd, NULL, 0), 0);
    assert_true(gate_wait_blocked(1));
    tu_sleep_ms(50);
    struct prh_server_stats st = stats(f);
    assert_int_equal(st.threads, 1);
    assert_int_equal(st.threads_peak, 1);
    gate_set(true);
    assert_int_equal(prh_wire_client_recv(s, &r), 0);
    assert_int_equal(r.data[3], 0x42);
    close(s);
    wait_no_clients(f);
    /* Only the request's device call counted: one thread started for it
     * (the pool's rule: every thread busy), none for the set-up or the
     * teardown. */
    assert_true(stats(f).threads_peak <= 2);
}

/* The same on the real sg transport: a burst of 64 connections, each set
 * up by the one pool thread when its handshake arrives, starts no
 * thread (each set-up made the pool grow while it counted as a device
 * call: every thread, the only one, was then "busy"). */
static void test_server_sg_connection_burst_starts_no_thread(void **state)
{
    struct fx *f = *state;
    static int socks[64];
    fx_workers = 1;
    fx_start(f, &prh_transport_sg, 0);
    for (int i = 0; i < 64; i++) {
        socks[i] = tu_connect_hs(f->sock, NULL);
        assert_true(socks[i] >= 0);
    }
    wait_clients(f, 64);
    tu_sleep_ms(200); /* the set-ups run after the handshakes arrive */
    struct prh_server_stats st = stats(f);
    assert_int_equal(st.threads, 1);
    assert_int_equal(st.threads_peak, 1);
    for (int i = 0; i < 64; i++)
        close(socks[i]);
    wait_no_clients(f);
    assert_int_equal(stats(f).threads_peak, 1); /* nor does their teardown */
}

/* Heap bytes in use (all arenas). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* An idle connection holds no request buffer: at most 2 KiB of heap
 * each while connected idle, at most 4 KiB (nexus included) after each has
 * sent a request (issue 13's memory targets). */
/* 256 connections on transport t: heap per connection while idle and
 * after one READ KEYS each (status: what the request answers). */
static void memory_per_connection(struct fx *f, const struct prh_transport *t, uint8_t status)
{
    static struct prh_reply r;
    static int socks[256];
    fx_start(f, t, 0);
    /* Warm up: the LUN, the threads' buffers. */
    int w = tu_connect_hs(f->sock, NULL);
    for (int i = 0; i < 8; i++)
        assert_int_equal(tu_prin(w, f->devfd, PR_IN_READ_KEYS, 8, &r), status);
    close(w);
    wait_no_clients(f);
    size_t before = heap_in_use();
    for (int i = 0; i < 256; i++) {
        socks[i] = tu_connect_hs(f->sock, NULL);
        assert_true(socks[i] >= 0);
    }
    wait_clients(f, 256);
    size_t idle = heap_in_use();
    for (int i = 0; i < 256; i++)
        assert_int_equal(tu_prin(socks[i], f->devfd, PR_IN_READ_KEYS, 8, &r), status);
    size_t after = heap_in_use();
    size_t per_idle = idle > before ? (idle - before) / 256 : 0;
    size_t per = after > before ? (after - before) / 256 : 0;
    print_message("%s: heap per connected client: %zu bytes idle, %zu after one request each\n",
                  t->name, per_idle, per);
    assert_true(per_idle <= 2048);
    assert_true(per <= 4096);
    for (int i = 0; i < 256; i++)
        close(socks[i]);
}

/* An idle connection holds no request buffer: at most 2 KiB of heap
 * each while connected idle, at most 4 KiB (nexus included) after each has
 * sent a request (issue 13's memory targets), on sim and on sg. */
static void test_server_idle_connection_costs_under_2_kib(void **state)
{
    memory_per_connection(*state, &prh_transport_sim, SCSI_STATUS_GOOD);
}

/* sg: the fd is a file, not a SCSI device, so each request ends in the
 * transport's open() with an error reply; the connection's records are
 * the same as for a device. */
static void test_server_idle_sg_connection_costs_under_2_kib(void **state)
{
    memory_per_connection(*state, &prh_transport_sg, SCSI_STATUS_CHECK_CONDITION);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_server_sends_features_first),
        T(test_server_closes_on_nonzero_features),
        T(test_server_register_then_read_keys),
        T(test_server_readonly_fd_prout_invalid_opcode),
        T(test_server_stalled_client_does_not_block_others),
        T(test_server_slow_device_does_not_block_others),
        T(test_server_bad_opcode_closes_only_that_client),
        T(test_server_malformed_requests_leak_no_fd),
        T(test_server_stop_finishes_request_in_flight),
        T(test_server_disconnect_during_request),
        T(test_server_max_clients_refuses_extra),
        T(test_server_pipelined_requests_answered_in_order),
        T(test_server_allocation_length_clips_data),
        T(test_server_conflict_status_has_no_data),
        T(test_server_chosen_identity_spans_connections),
        T(test_server_stats_count_requests),
        T(test_server_new_fails_on_bad_listen_fd),
        T(test_server_signal_fd_stops),
        T(test_server_leaves_socket_taken_over),
        T(test_server_unread_replies_wait_for_the_client),
        T(test_server_stop_gives_up_on_unread_reply),
        T(test_server_max_clients_existing_clients_unaffected),
        T(test_server_frame_timeout_closes_half_sent_request),
        T(test_server_frame_timeout_closes_silent_handshake),
        T(test_server_frame_timeout_closes_unread_reply),
        T(test_server_no_frame_timeout_when_zero),
        T(test_server_64_stalled_clients_do_not_delay_another_lun),
        T(test_server_stalled_connection_setup_does_not_block_others),
        T(test_server_pool_grows_under_stalls_and_shrinks_when_idle),
        T(test_server_worker_limit_counted_and_requests_wait),
        T(test_server_worker_limit_logged_once_counted_every_time),
        T(test_server_lingers_for_a_client_sending_back_to_back),
        T(test_server_does_not_linger_for_occasional_requests),
        T(test_server_linger_off),
        T(test_server_lingering_and_stalled_devices_delay_nobody),
        T(test_server_stop_ends_a_linger),
        T(test_server_one_connections_requests_stay_in_order),
        T(test_server_disconnect_during_request_cleaned_up_once),
        T(test_server_emfile_on_accept_does_not_spin),
        T(test_server_full_fd_table_answers_busy),
        T(test_server_quick_nexus_setup_starts_no_thread),
        T(test_server_sg_connection_burst_starts_no_thread),
        T(test_server_idle_connection_costs_under_2_kib),
        T(test_server_idle_sg_connection_costs_under_2_kib),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
