/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.c - epoll event loop and per-client state machine.
 *
 *   HS_SEND --(feature word sent)--> RECV --(request framed)--> EXEC
 *      ^                                                         |
 *      +------- RECV <--(reply sent)-- REPLY <--(worker done)----+
 *
 * Sockets are non-blocking; a client's bytes are consumed only as far as
 * the wire state machine wants them, so a stalled or half-sent frame
 * costs one bounded buffer and nothing else.  Transport calls run on the
 * worker pool.  A client is freed only on this thread, after its nexus
 * has been released on a worker (the transport may block there too).
 */
#include "prhelper/server.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "prhelper/audit.h"
#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "prhelper/policy.h"
#include "prhelper/reqtrace.h"
#include "prhelper/workers.h"

#define PRH_DEFAULT_WORKERS 4
#define PRH_DEFAULT_MAX_CLIENTS 1024
#define PRH_DEFAULT_DRAIN_MS 5000
#define TIMEOUT_SWEEP_MS 200
#define DENY_RECORDS_PER_S 10

enum client_state {
    C_HS_SEND,
    C_RECV,
    C_EXEC,
    C_REPLY,
    C_FREEING,
};

enum job_kind {
    JOB_EXECUTE,
    JOB_FREE_NEXUS,
};

struct client {
    struct prh_job job; /* must stay first: jobs are cast back */
    enum job_kind job_kind;
    struct prh_server *srv;
    struct client *prev, *next;
    int sock;           /* -1 once closed */
    enum client_state state;
    bool closing;       /* socket gone while a job runs */
    long deadline_ms;   /* frame timeout (monotonic ms), 0: none */
    uint8_t hs[PRH_WIRE_FEATURE_SIZE];
    size_t hs_off;
    size_t tx_len, tx_off;
    void *nexus;
    struct prh_peer peer;
    struct prh_audit_client *audit_client; /* with an audit trail: /proc facts at accept */
    uint64_t t_start_ns; /* request complete (monotonic) */
    char who[256];
    struct prh_request req;
    struct prh_wire_rx rx;
    struct prh_reply reply;
    bool drop;          /* the transport asked to close instead of replying */
    uint8_t tx[PRH_WIRE_REPLY_MAX];
};

struct prh_server {
    struct prh_server_config cfg;
    int epfd;
    int stop_fd;
    struct prh_workers *workers;
    struct client *clients;
    struct client *graveyard; /* freed at the end of an epoll batch */
    unsigned nclients;
    uint64_t serial;
    bool stopping;
    bool listen_paused;
    struct timespec drain_deadline;
    unsigned ntimed;    /* clients with a deadline */
    unsigned freed_since_trim;
    bool trim_pending;  /* malloc_trim() after this epoll batch */
    long deny_window_ms; /* refused-connection records: rate limit */
    unsigned deny_in_window;
    unsigned long deny_suppressed;
    long next_sweep_ms;
    /* epoll tags */
    char tag_listen, tag_stop, tag_signal, tag_workers;
    atomic_ulong accepted, requests, protocol_errors, rejected, timeouts;
    atomic_uint clients_now;
};

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * The frame timeout runs while a transfer is half done: from accept until
 * the client's feature word is in, from a request's first byte until its
 * last, and while a reply waits for the client to read it.  Never while
 * the client is idle between requests (QEMU keeps its connection idle
 * for the life of the VM) or while its request executes.
 */
static void update_timer(struct prh_server *srv, struct client *c)
{
    bool want;

    switch (c->state) {
    case C_HS_SEND:
    case C_REPLY:
        want = c->sock >= 0;
        break;
    case C_RECV:
        want = c->rx.state == PRH_RX_FEATURES || prh_wire_rx_mid_frame(&c->rx);
        break;
    default:
        want = false;
        break;
    }
    if (!srv->cfg.frame_timeout_ms || c->sock < 0)
        want = false;
    if (want && !c->deadline_ms) {
        c->deadline_ms = now_ms() + (long)srv->cfg.frame_timeout_ms;
        if (!c->deadline_ms)
            c->deadline_ms = 1;
        srv->ntimed++;
    } else if (!want && c->deadline_ms) {
        c->deadline_ms = 0;
        srv->ntimed--;
    }
}

static void set_events(struct prh_server *srv, struct client *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };

    epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->sock, &ev);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Operations around one request: device policy, metrics, audit trail. */
struct ops_ctx {
    struct prh_audit_device dev;
    bool denied;
};

/* false: the device policy refused the request (reply filled). */
static bool ops_before(struct prh_server *srv, struct client *c, struct ops_ctx *o)
{
    bool rules = prh_policy_has_device_rules(srv->cfg.policy);

    memset(o, 0, sizeof(*o));
    if (rules || (srv->cfg.audit && prh_audit_wanted(&c->req)))
        prh_audit_device_fill(&o->dev, c->req.fd,
                              srv->cfg.sysfs_root ? srv->cfg.sysfs_root : "/sys");
    if (!rules || prh_policy_allows_device(srv->cfg.policy, &o->dev))
        return true;
    struct prh_result res = prh_result_sense(SENSE_ACCESS_DENIED);
    prh_result_to_reply(&res, &c->req, &c->reply);
    prh_log(2, "client %llu: device %u:%u %s is not in --allow-device, refused",
            (unsigned long long)c->peer.serial, o->dev.major, o->dev.minor, o->dev.wwid);
    o->denied = true;
    return false;
}

/* Send one audit record for client c: its client description (or one
 * made from the peer's credentials alone), the time, and the metric when
 * the sink fails. */
static void audit_client_record(struct prh_server *srv, struct client *c,
                                struct prh_audit_record *rec)
{
    struct prh_audit_client fallback;
    rec->client = c->audit_client;
    if (!rec->client) {
        prh_audit_client_fill(&fallback, &c->peer, "/nonexistent");
        rec->client = &fallback;
    }
    clock_gettime(CLOCK_REALTIME, &rec->time);
    if (prh_audit_emit(srv->cfg.audit, rec) < 0)
        prh_metrics_audit_error(srv->cfg.metrics);
}

static void ops_after(struct prh_server *srv, struct client *c, struct ops_ctx *o)
{
    uint64_t latency = mono_ns() - c->t_start_ns;

    prh_metrics_request(srv->cfg.metrics, c->req.cdb, &c->reply, o->denied, latency);
    if (!srv->cfg.audit || !(o->denied || prh_audit_wanted(&c->req)))
        return;
    struct prh_audit_record rec = {
        .event = o->denied ? PRH_AUDIT_EV_DEVICE_DENIED : PRH_AUDIT_EV_PR_OUT,
        .transport = srv->cfg.transport->name,
        .nexus = c->who,
        .device = &o->dev,
        .req = &c->req,
        .reply = &c->reply,
        .latency_ns = latency,
    };
    audit_client_record(srv, c, &rec);
}

static void job_run(struct prh_job *job)
{
    struct client *c = (struct client *)job;
    struct prh_server *srv = c->srv;
    const struct prh_transport *t = srv->cfg.transport;

    if (c->job_kind == JOB_FREE_NEXUS) {
        if (c->nexus)
            t->nexus_free(srv->cfg.transport_state, c->nexus);
        c->nexus = NULL;
        return;
    }
    prh_reply_init(&c->reply);
    struct prh_exec_info info;
    struct timespec start = { 0 };
    bool traced = prh_reqtrace_enabled();
    if (traced)
        clock_gettime(CLOCK_REALTIME, &start);
    struct ops_ctx ops;
    if (ops_before(srv, c, &ops))
        prh_transport_execute_ex(t, srv->cfg.transport_state, c->nexus, &c->req, &c->reply, &info);
    else
        memset(&info, 0, sizeof(info));
    c->drop = info.disconnect;
    if (traced)
        prh_reqtrace_emit(&c->peer, c->who, &c->req, &c->reply, &info, &start);
    ops_after(srv, c, &ops);
    close(c->req.fd);
    c->req.fd = -1;
}

static void client_unlink(struct prh_server *srv, struct client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

/* Close the socket; the memory goes once no job refers to it. */
static void client_close(struct prh_server *srv, struct client *c, const char *why)
{
    if (c->sock >= 0) {
        prh_trace(PRH_TRACE_CLIENT_CLOSE, "client=%llu nexus=%s reason=%s",
                  (unsigned long long)c->peer.serial, c->who, why);
        close(c->sock);
        c->sock = -1;
    }
    prh_wire_rx_reset(&c->rx);
    update_timer(srv, c); /* sock < 0: disarmed */
    if (c->state == C_EXEC) {
        c->closing = true; /* job_done() continues */
        return;
    }
    if (c->state == C_FREEING)
        return;
    c->state = C_FREEING;
    c->job_kind = JOB_FREE_NEXUS;
    prh_workers_submit(srv->workers, &c->job);
}

static void client_destroy(struct prh_server *srv, struct client *c)
{
    /* Small per-connection allocations (nexus, transport records) are
     * spread over the heap and the workers' arenas: give freed memory
     * back when the last client leaves, or every 256 departures. */
    if (srv->nclients == 1 || ++srv->freed_since_trim >= 256) {
        srv->freed_since_trim = 0;
        srv->trim_pending = true;
    }
    srv->nclients--;
    atomic_store(&srv->clients_now, srv->nclients);
    prh_metrics_clients_add(srv->cfg.metrics, -1);
    free(c->audit_client);
    free(c);
    if (srv->listen_paused && !srv->stopping) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &srv->tag_listen };
        if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->cfg.listen_fd, &ev) == 0)
            srv->listen_paused = false;
    }
}

/* Send what the socket takes: true when everything went, false on EAGAIN. */
static int send_some(struct client *c, const uint8_t *buf, size_t len, size_t *off)
{
    while (*off < len) {
        ssize_t n = send(c->sock, buf + *off, len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        *off += (size_t)n;
    }
    return 1;
}

static void client_read(struct prh_server *srv, struct client *c);

/* Ready for the next request (or done, when stopping). */
static void client_idle(struct prh_server *srv, struct client *c)
{
    if (srv->stopping) {
        client_close(srv, c, "shutdown");
        return;
    }
    c->state = C_RECV;
    set_events(srv, c, EPOLLIN);
}

static void client_write(struct prh_server *srv, struct client *c)
{
    int r;

    if (c->state == C_HS_SEND) {
        r = send_some(c, c->hs, sizeof(c->hs), &c->hs_off);
        if (r < 0)
            return client_close(srv, c, "write error");
        if (r == 0)
            return set_events(srv, c, EPOLLOUT);
        prh_wire_rx_init(&c->rx);
        client_idle(srv, c);
        return;
    }
    if (c->state != C_REPLY)
        return;
    r = send_some(c, c->tx, c->tx_len, &c->tx_off);
    if (r < 0)
        return client_close(srv, c, "write error");
    if (r == 0)
        return set_events(srv, c, EPOLLOUT);
    prh_wire_rx_next(&c->rx);
    client_idle(srv, c);
}

static void client_read(struct prh_server *srv, struct client *c)
{
    for (;;) {
        int r = prh_wire_rx_step(&c->rx, c->sock);

        if (r == PRH_WIRE_AGAIN)
            return;
        if (r == PRH_WIRE_CLOSED)
            return client_close(srv, c, "eof");
        if (r < 0) {
            atomic_fetch_add(&srv->protocol_errors, 1);
            prh_metrics_protocol_error(srv->cfg.metrics, r);
            prh_log(1, "%s", prh_wire_error_str(r));
            prh_trace(PRH_TRACE_PROTOCOL_ERROR, "client=%llu error=%s",
                      (unsigned long long)c->peer.serial, prh_wire_error_str(r));
            return client_close(srv, c, "protocol error");
        }
        if (c->rx.state == PRH_RX_CDB) {
            prh_trace(PRH_TRACE_HANDSHAKE, "client=%llu features=0",
                      (unsigned long long)c->peer.serial);
            continue;
        }
        /* A whole request: hand it to a worker, read nothing more. */
        prh_wire_rx_take(&c->rx, &c->req);
        atomic_fetch_add(&srv->requests, 1);
        prh_trace(PRH_TRACE_REQUEST, "client=%llu op=%02x sa=%02x len=%u",
                  (unsigned long long)c->peer.serial, c->req.cdb[0], c->req.cdb[1] & 0x1f,
                  c->req.xfer_len);
        c->state = C_EXEC;
        c->job_kind = JOB_EXECUTE;
        c->t_start_ns = mono_ns();
        prh_metrics_in_flight_add(srv->cfg.metrics, 1);
        set_events(srv, c, 0);
        prh_workers_submit(srv->workers, &c->job);
        return;
    }
}

static void job_done(struct prh_server *srv, struct client *c)
{
    if (c->job_kind == JOB_FREE_NEXUS) {
        /* Freed after this epoll batch: a later event may still name it. */
        client_unlink(srv, c);
        c->next = srv->graveyard;
        srv->graveyard = c;
        return;
    }
    prh_metrics_in_flight_add(srv->cfg.metrics, -1);
    c->state = C_REPLY;
    if (c->drop && !c->closing && c->sock >= 0) {
        c->drop = false;
        client_close(srv, c, "fault injection: closed instead of replying");
        return;
    }
    if (c->closing || c->sock < 0) {
        c->closing = false;
        client_close(srv, c, "closed during request");
        return;
    }
    prh_trace(PRH_TRACE_REPLY, "client=%llu status=%02x size=%u",
              (unsigned long long)c->peer.serial, c->reply.status, c->reply.data_len);
    c->tx_len = prh_wire_encode_reply(&c->reply, c->tx);
    c->tx_off = 0;
    client_write(srv, c);
    update_timer(srv, c);
}

static void fill_peer(struct client *c, uint64_t serial)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct sockaddr_un addr;
    socklen_t alen = sizeof(addr);

    memset(&c->peer, 0, sizeof(c->peer));
    c->peer.serial = serial;
    if (getsockopt(c->sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        c->peer.has_cred = true;
        c->peer.pid = cred.pid;
        c->peer.uid = cred.uid;
        c->peer.gid = cred.gid;
    }
    memset(&addr, 0, sizeof(addr));
    if (getpeername(c->sock, (struct sockaddr *)&addr, &alen) == 0 &&
        alen > offsetof(struct sockaddr_un, sun_path)) {
        size_t n = alen - offsetof(struct sockaddr_un, sun_path);
        if (n > sizeof(c->peer.addr) - 1)
            n = sizeof(c->peer.addr) - 1;
        memcpy(c->peer.addr, addr.sun_path, n);
        if (c->peer.addr[0] == '\0')
            c->peer.addr[0] = '@'; /* abstract */
        else
            n = strnlen(c->peer.addr, n);
        c->peer.addr[n] = '\0';
        c->peer.addr_len = n;
    }
}

/* --allow-uid/--allow-gid said no: audit, count, close; no byte is read. */
static void refuse_client(struct prh_server *srv, struct client *c)
{
    atomic_fetch_add(&srv->rejected, 1);
    prh_metrics_connection_refused(srv->cfg.metrics, PRH_REFUSED_POLICY);
    /* A flood of refused connections must not stall the loop on log and
     * audit writes: at most DENY_RECORDS_PER_S records a second, the
     * rest counted and reported in the next record. */
    long now = now_ms();
    if (now - srv->deny_window_ms >= 1000) {
        srv->deny_window_ms = now;
        srv->deny_in_window = 0;
    }
    if (srv->deny_in_window >= DENY_RECORDS_PER_S) {
        srv->deny_suppressed++;
        close(c->sock);
        free(c->audit_client);
        free(c);
        return;
    }
    srv->deny_in_window++;
    prh_log(1, "connection from pid %ld uid %ld gid %ld refused by the access policy",
            (long)c->peer.pid, (long)c->peer.uid, (long)c->peer.gid);
    if (srv->cfg.audit) {
        struct prh_audit_record rec = {
            .event = PRH_AUDIT_EV_CLIENT_DENIED,
            .transport = srv->cfg.transport->name,
            .suppressed = srv->deny_suppressed,
        };
        srv->deny_suppressed = 0;
        audit_client_record(srv, c, &rec);
    }
    close(c->sock);
    free(c->audit_client);
    free(c);
}

static void accept_clients(struct prh_server *srv)
{
    for (;;) {
        int fd = accept4(srv->cfg.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of fds: stop accepting until a client goes away. */
                struct epoll_event ev = { .events = 0, .data.ptr = &srv->tag_listen };
                prh_log(1, "cannot accept a connection: %s", strerror(errno));
                if (srv->nclients > 0 &&
                    epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->cfg.listen_fd, &ev) == 0)
                    srv->listen_paused = true;
            }
            return;
        }
        if (srv->nclients >= srv->cfg.max_clients) {
            atomic_fetch_add(&srv->rejected, 1);
            prh_metrics_connection_refused(srv->cfg.metrics, PRH_REFUSED_MAX_CLIENTS);
            prh_log(2, "too many clients (%u), connection refused", srv->cfg.max_clients);
            close(fd);
            continue;
        }
        struct client *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = srv;
        c->job.run = job_run;
        c->sock = fd;
        c->req.fd = -1;
        c->rx.fd = -1;
        fill_peer(c, ++srv->serial);
        if (srv->cfg.audit) {
            c->audit_client = malloc(sizeof(*c->audit_client));
            if (c->audit_client)
                prh_audit_client_fill(c->audit_client, &c->peer, "/proc");
        }
        if (!prh_policy_allows_socket(srv->cfg.policy, fd)) {
            refuse_client(srv, c);
            continue;
        }
        c->nexus = srv->cfg.transport->nexus_new(srv->cfg.transport_state, &c->peer);
        if (!c->nexus) {
            close(fd);
            free(c);
            continue;
        }
        if (srv->cfg.transport->nexus_describe)
            srv->cfg.transport->nexus_describe(srv->cfg.transport_state, c->nexus, c->who,
                                               sizeof(c->who));
        struct epoll_event ev = { .events = 0, .data.ptr = c };
        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            srv->cfg.transport->nexus_free(srv->cfg.transport_state, c->nexus);
            close(fd);
            free(c);
            continue;
        }
        c->next = srv->clients;
        if (srv->clients)
            srv->clients->prev = c;
        srv->clients = c;
        srv->nclients++;
        atomic_store(&srv->clients_now, srv->nclients);
        prh_metrics_clients_add(srv->cfg.metrics, 1);
        atomic_fetch_add(&srv->accepted, 1);
        prh_trace(PRH_TRACE_CLIENT_ACCEPT, "client=%llu pid=%ld uid=%ld nexus=%s",
                  (unsigned long long)c->peer.serial, (long)c->peer.pid, (long)c->peer.uid,
                  c->who);
        c->state = C_HS_SEND;
        prh_wire_encode_features(c->hs, PRH_WIRE_FEATURES);
        client_write(srv, c);
        update_timer(srv, c);
    }
}

static void begin_stop(struct prh_server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    close(srv->cfg.listen_fd);
    srv->cfg.listen_fd = -1;
    if (srv->cfg.socket_path) {
        struct stat sb;
        /* Another helper may have taken the path over: leave it alone. */
        if (!srv->cfg.check_socket_inode ||
            (stat(srv->cfg.socket_path, &sb) == 0 && sb.st_dev == srv->cfg.socket_dev &&
             sb.st_ino == srv->cfg.socket_ino))
            unlink(srv->cfg.socket_path);
    }
    clock_gettime(CLOCK_MONOTONIC, &srv->drain_deadline);
    srv->drain_deadline.tv_sec += srv->cfg.drain_timeout_ms / 1000;
    srv->drain_deadline.tv_nsec += (long)(srv->cfg.drain_timeout_ms % 1000) * 1000000L;
    if (srv->drain_deadline.tv_nsec >= 1000000000L) {
        srv->drain_deadline.tv_sec++;
        srv->drain_deadline.tv_nsec -= 1000000000L;
    }
    /* Idle and half-received clients go now; requests in flight finish. */
    for (struct client *c = srv->clients, *next; c; c = next) {
        next = c->next;
        if (c->state == C_RECV || c->state == C_HS_SEND)
            client_close(srv, c, "shutdown");
    }
}

/* Close the clients whose frame timeout passed (at most every sweep period). */
static void sweep_timeouts(struct prh_server *srv)
{
    long now = now_ms();

    if (now < srv->next_sweep_ms)
        return;
    srv->next_sweep_ms = now + TIMEOUT_SWEEP_MS / 2;
    for (struct client *c = srv->clients; c; c = c->next) {
        if (!c->deadline_ms || now < c->deadline_ms)
            continue;
        atomic_fetch_add(&srv->timeouts, 1);
        prh_metrics_protocol_error(srv->cfg.metrics, PRH_METRICS_FRAME_TIMEOUT);
        prh_log(1, "client %llu (%s): %s not completed within %u ms, closing socket.",
                (unsigned long long)c->peer.serial, c->who,
                c->state == C_REPLY     ? "reply"
                : c->state == C_HS_SEND ? "handshake"
                : c->rx.state == PRH_RX_FEATURES ? "handshake"
                                                 : "request",
                srv->cfg.frame_timeout_ms);
        prh_trace(PRH_TRACE_PROTOCOL_ERROR, "client=%llu error=frame timeout",
                  (unsigned long long)c->peer.serial);
        client_close(srv, c, "frame timeout");
    }
}

static bool drain_expired(const struct prh_server *srv)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > srv->drain_deadline.tv_sec ||
           (now.tv_sec == srv->drain_deadline.tv_sec &&
            now.tv_nsec >= srv->drain_deadline.tv_nsec);
}

struct prh_server *prh_server_new(const struct prh_server_config *cfg)
{
    struct prh_server *srv = calloc(1, sizeof(*srv));
    struct epoll_event ev;

    if (!srv)
        return NULL;
    srv->cfg = *cfg;
    /* Each client (~26 KiB) gets its own mapping, unmapped when it goes:
     * after a flood of connections the memory goes back to the system
     * instead of staying in the heap (prh-stress checks RSS). */
    mallopt(M_MMAP_THRESHOLD, (int)sizeof(struct client));
    if (!srv->cfg.workers)
        srv->cfg.workers = PRH_DEFAULT_WORKERS;
    if (!srv->cfg.max_clients)
        srv->cfg.max_clients = PRH_DEFAULT_MAX_CLIENTS;
    if (!srv->cfg.drain_timeout_ms)
        srv->cfg.drain_timeout_ms = PRH_DEFAULT_DRAIN_MS;
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    srv->workers = prh_workers_new(srv->cfg.workers);
    if (srv->epfd < 0 || srv->stop_fd < 0 || !srv->workers)
        goto fail;
    ev.events = EPOLLIN;
    ev.data.ptr = &srv->tag_listen;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, cfg->listen_fd, &ev) < 0)
        goto fail;
    ev.data.ptr = &srv->tag_stop;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stop_fd, &ev) < 0)
        goto fail;
    ev.data.ptr = &srv->tag_workers;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, prh_workers_done_fd(srv->workers), &ev) < 0)
        goto fail;
    if (cfg->signal_fd >= 0) {
        ev.data.ptr = &srv->tag_signal;
        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, cfg->signal_fd, &ev) < 0)
            goto fail;
    }
    return srv;
fail:;
    int e = errno;
    prh_workers_free(srv->workers);
    if (srv->epfd >= 0)
        close(srv->epfd);
    if (srv->stop_fd >= 0)
        close(srv->stop_fd);
    free(srv);
    errno = e;
    return NULL;
}

int prh_server_run(struct prh_server *srv)
{
    struct epoll_event events[64];

    for (;;) {
        if (srv->stopping) {
            if (srv->nclients == 0)
                break;
            if (drain_expired(srv)) {
                /* Replies nobody reads: give up on them. */
                for (struct client *c = srv->clients, *next; c; c = next) {
                    next = c->next;
                    if (c->state == C_REPLY)
                        client_close(srv, c, "shutdown timeout");
                }
            }
        }
        int wait_ms = srv->stopping ? 50 : -1;
        if (srv->ntimed && (wait_ms < 0 || wait_ms > TIMEOUT_SWEEP_MS))
            wait_ms = TIMEOUT_SWEEP_MS;
        int n = epoll_wait(srv->epfd, events, 64, wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            prh_error("epoll_wait: %s", strerror(errno));
            begin_stop(srv);
            continue;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &srv->tag_listen) {
                if (!srv->stopping)
                    accept_clients(srv);
            } else if (tag == &srv->tag_stop) {
                uint64_t v;
                ssize_t r = read(srv->stop_fd, &v, sizeof(v));
                (void)r;
                begin_stop(srv);
            } else if (tag == &srv->tag_signal) {
                struct signalfd_siginfo si;
                if (read(srv->cfg.signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                    prh_trace(PRH_TRACE_SIGNAL, "signal=%u", si.ssi_signo);
                    begin_stop(srv);
                }
            } else if (tag == &srv->tag_workers) {
                struct prh_job *job = prh_workers_take_done(srv->workers);
                while (job) {
                    struct prh_job *next = job->next;
                    job_done(srv, (struct client *)job);
                    job = next;
                }
            } else {
                struct client *c = tag;
                uint32_t e = events[i].events;
                if (c->sock < 0 || c->state == C_FREEING)
                    continue;
                if (c->state == C_EXEC) {
                    /* Only HUP/ERR arrive here: the peer left mid-request. */
                    client_close(srv, c, "hangup during request");
                } else if (c->state == C_RECV && (e & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                    client_read(srv, c);
                } else if (e & (EPOLLERR | EPOLLHUP)) {
                    client_close(srv, c, "hangup");
                } else if (e & EPOLLOUT) {
                    client_write(srv, c);
                }
                update_timer(srv, c);
            }
        }
        if (srv->ntimed)
            sweep_timeouts(srv);
        while (srv->graveyard) {
            struct client *c = srv->graveyard;
            srv->graveyard = c->next;
            client_destroy(srv, c);
        }
        if (srv->trim_pending) {
            srv->trim_pending = false;
            malloc_trim(0);
        }
    }
    return 0;
}

void prh_server_stop(struct prh_server *srv)
{
    uint64_t one = 1;
    ssize_t r = write(srv->stop_fd, &one, sizeof(one));

    (void)r;
}

void prh_server_free(struct prh_server *srv)
{
    if (!srv)
        return;
    /* Jobs still queued reference clients: let them finish first. */
    prh_workers_free(srv->workers);
    while (srv->clients) {
        struct client *c = srv->clients;
        if (c->sock >= 0)
            close(c->sock);
        prh_wire_rx_reset(&c->rx);
        if (c->req.fd >= 0)
            close(c->req.fd);
        if (c->nexus)
            srv->cfg.transport->nexus_free(srv->cfg.transport_state, c->nexus);
        client_unlink(srv, c);
        free(c->audit_client);
        free(c);
    }
    if (srv->cfg.listen_fd >= 0)
        close(srv->cfg.listen_fd);
    close(srv->stop_fd);
    close(srv->epfd);
    free(srv);
}

void prh_server_get_stats(struct prh_server *srv, struct prh_server_stats *out)
{
    out->accepted = atomic_load(&srv->accepted);
    out->requests = atomic_load(&srv->requests);
    out->protocol_errors = atomic_load(&srv->protocol_errors);
    out->rejected = atomic_load(&srv->rejected);
    out->timeouts = atomic_load(&srv->timeouts);
    out->clients = atomic_load(&srv->clients_now);
}
