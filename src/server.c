/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.c - the connections of the daemon (server.h): the main loop and
 * the per-connection state machine the pool threads run.
 *
 *   main loop (one thread)               pool threads (workers.c), any number
 *   ------------------------------------ ----------------------------------------
 *   accept4; --max-clients, --allow-uid  epoll_wait(client set) -> one socket
 *   send the 4-byte feature word         first event: prh_conn_setup() (request.c)
 *   EPOLL_CTL_ADD, EPOLLONESHOT          RECV: frame -> prh_request_run() -> reply
 *   signals, stop, frame timeouts        re-arm: one epoll_ctl(EPOLL_CTL_MOD)
 *
 * Client states (each waits in the epoll set, armed for one event):
 *
 *   HS_SEND --(word sent)--> RECV --(request: run it here)--> reply sent --> RECV
 *                              |                                 | socket full
 *                              +<------------ REPLY <------------+
 *   REFUSED (policy): audit record, close.
 *
 * A client belongs to the thread that got its event until that thread
 * re-arms it (EPOLLONESHOT: no other event can arrive meanwhile) or
 * closes it, so its state needs no lock.  The main thread only ever
 * shutdown()s a client's socket (frame timeout, stop) and marks why, under
 * srv->lock, which a thread closing a socket also holds: the socket the
 * main thread shuts down is still that client's.
 */
#include "prhelper/server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
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
#include <time.h>
#include <unistd.h>

#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "prhelper/policy.h"
#include "prhelper/request.h"
#include "prhelper/workers.h"

#define PRH_DEFAULT_DRAIN_MS 5000
#define SWEEP_MS 100       /* frame timeouts are checked this often (while any runs) */
#define PAUSED_RETRY_MS 200 /* accepting paused for lack of fds: retried this often */
#define STOP_POLL_MS 50

enum client_state {
    C_HS_SEND, /* the feature word did not fit at once: EPOLLOUT */
    C_RECV,    /* reading the handshake or a request: EPOLLIN */
    C_REPLY,   /* a reply did not fit: EPOLLOUT */
    C_REFUSED, /* refused by the access policy: EPOLLOUT (at once) */
};

/* Why the main thread shut a client's socket down. */
enum kick {
    KICK_NONE,
    KICK_TIMEOUT, /* --frame-timeout */
    KICK_DRAIN,   /* stopping: a reply nobody reads */
};

/* What a client's frame timer is running for (the log line). */
enum timer_what { T_HANDSHAKE, T_REQUEST, T_REPLY };

/* The buffers of one request: a pool thread's own, lent to a client only
 * while its frame or reply waits half-done (docs/daemon.md, "Memory"). */
struct reqbuf {
    struct prh_reply reply;
    uint8_t hdr[PRH_WIRE_REPLY_HEADER_SIZE];
    uint8_t params[PRH_WIRE_DATA_SIZE];
};

struct client {
    struct prh_server *srv;
    struct client *prev, *next; /* srv->clients, under srv->lock */
    uint64_t serial;            /* connection number, for the main loop's log lines */
    int sock;
    uint8_t state;              /* enum client_state */
    bool ready;                 /* prh_conn_setup() done */
    uint8_t hs_off;             /* feature word bytes sent */
    atomic_uchar kicked;        /* enum kick, set by the main thread */
    atomic_uchar out_waiting;   /* armed for EPOLLOUT (a reply the drain may give up) */
    atomic_uchar timer_what;    /* enum timer_what */
    atomic_long deadline_ms;    /* frame timeout (coarse monotonic ms), 0: none */
    uint32_t tx_len, tx_off;    /* the reply being sent */
    struct prh_wire_frame rx;   /* 32 bytes */
    struct reqbuf *buf;         /* only while a frame or a reply waits half-done */
    struct prh_conn conn;       /* peer, nexus, audit facts (request.h) */
};

struct prh_server {
    struct prh_server_config cfg;
    struct prh_request_ctx rq;
    int main_ep;          /* listening socket, signals, stop, wake: the main loop's */
    int client_ep;        /* client sockets: the pool's */
    int stop_fd;          /* prh_server_stop() */
    int wake_fd;          /* a pool thread started a frame timer: recompute the wait */
    int reserve_fd;       /* kept to be closed when accept4() runs out of fds */
    struct prh_pool *pool;
    pthread_mutex_t lock; /* clients, and closing a client's socket */
    struct client *clients;
    atomic_uint nclients;
    uint64_t serial;      /* main thread */
    atomic_bool stopping;
    bool listen_paused;   /* main thread: out of fds and no reserve */
    long drain_deadline_ms;
    long next_sweep_ms;
    long fd_limit_window_ms;
    unsigned long fd_limit_unlogged;
    atomic_uint ntimed;   /* clients whose frame timer runs */
    atomic_bool limit_logged;
    atomic_uint departures;
    char tag_listen, tag_stop, tag_signal, tag_wake;
    atomic_ulong accepted, requests, protocol_errors, rejected, fd_limit, timeouts, fd_lost;
};

/* Deadlines need milliseconds, not a precise clock: the coarse one is read
 * without a system call everywhere (vDSO), even where the precise one is
 * not (the lab VM's HPET). */
static long coarse_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- per-thread request buffers -------------------------------------------- */

static struct reqbuf *thread_buf(struct prh_pool_thread *t)
{
    void **slot = prh_pool_scratch(t);

    if (!*slot)
        *slot = malloc(sizeof(struct reqbuf));
    return *slot;
}

/* The buffer of c's current request: its own while one is lent, else the thread's. */
static struct reqbuf *client_buf(struct prh_pool_thread *t, struct client *c)
{
    return c->buf ? c->buf : thread_buf(t);
}

/* c must wait with a half-done frame or reply: it keeps the buffer. */
static void buf_keep(struct prh_pool_thread *t, struct client *c)
{
    if (!c->buf) {
        void **slot = prh_pool_scratch(t);
        c->buf = *slot;
        *slot = NULL;
    }
}

/* c is done with a lent buffer: back to this thread, or freed. */
static void buf_release(struct prh_pool_thread *t, struct client *c)
{
    if (!c->buf)
        return;
    void **slot = prh_pool_scratch(t);
    if (!*slot)
        *slot = c->buf;
    else
        free(c->buf);
    c->buf = NULL;
}

static void thread_exit(void *opaque, void *scratch)
{
    (void)opaque;
    free(scratch);
}

/* ---- timers, arming, closing --------------------------------------------------- */

/*
 * The frame timeout runs while a transfer is half done: from accept until
 * the client's feature word is in, from a request's first byte until its
 * last, and while a reply waits for the client to read it.  Never while
 * the client is idle between requests (QEMU keeps its connection idle
 * for the life of the VM) or while its request executes.
 */
static void set_timer(struct client *c, bool want, enum timer_what what, bool wake)
{
    struct prh_server *srv = c->srv;
    long d = atomic_load(&c->deadline_ms);

    if (!srv->cfg.frame_timeout_ms)
        want = false;
    if (want && !d) {
        long v = coarse_ms() + (long)srv->cfg.frame_timeout_ms;
        atomic_store(&c->timer_what, (unsigned char)what);
        atomic_store(&c->deadline_ms, v ? v : 1);
        if (atomic_fetch_add(&srv->ntimed, 1) == 0 && wake) {
            uint64_t one = 1; /* the main loop may sleep without a timeout */
            ssize_t n = write(srv->wake_fd, &one, sizeof(one));
            (void)n;
        }
    } else if (!want && d) {
        atomic_store(&c->deadline_ms, 0);
        atomic_fetch_sub(&srv->ntimed, 1);
    }
}

static void client_close(struct prh_pool_thread *t, struct client *c, const char *why);

/* Wait for the next event of c: the last thing a thread does with c. */
static void client_arm(struct prh_pool_thread *t, struct client *c, uint32_t events)
{
    struct epoll_event ev = { .events = events | EPOLLONESHOT, .data.ptr = c };
    int ep = c->srv->client_ep, sock = c->sock;

    atomic_store(&c->out_waiting, (events & EPOLLOUT) != 0);
    /* From here c may be another thread's: no more reads of it. */
    prh_pool_handoff(c);
    if (epoll_ctl(ep, EPOLL_CTL_MOD, sock, &ev) < 0)
        client_close(t, c, "cannot wait for the socket"); /* not armed: still ours */
}

static void client_close(struct prh_pool_thread *t, struct client *c, const char *why)
{
    struct prh_server *srv = c->srv;

    if (why && prh_trace_enabled(PRH_TRACE_CLIENT_CLOSE)) {
        char who[256];
        prh_conn_describe(&srv->rq, &c->conn, who, sizeof(who));
        prh_trace(PRH_TRACE_CLIENT_CLOSE, "client=%llu nexus=%s reason=%s",
                  (unsigned long long)c->conn.peer.serial, who, why);
    }
    set_timer(c, false, T_REQUEST, true);
    pthread_mutex_lock(&srv->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->sock);
    pthread_mutex_unlock(&srv->lock);
    prh_wire_frame_reset(&c->rx);
    buf_release(t, c);
    prh_conn_teardown(&srv->rq, &c->conn, t);
    free(c);
    prh_metrics_clients_add(srv->cfg.metrics, -1);
    unsigned left = atomic_fetch_sub(&srv->nclients, 1) - 1;
    /* Small per-connection allocations (nexus, transport records) are
     * spread over the threads' arenas: give freed memory back when the
     * last client leaves, or every 256 departures. */
    if (left == 0 || atomic_fetch_add(&srv->departures, 1) % 256 == 255)
        malloc_trim(0);
}

/* ---- the state machine (pool threads) ---------------------------------------- */

static void client_recv(struct prh_pool_thread *t, struct client *c);

/* Send what the socket takes of the reply; then the next request. */
static void client_send_reply(struct prh_pool_thread *t, struct client *c, struct reqbuf *b)
{
    struct prh_server *srv = c->srv;
    size_t off = c->tx_off;
    int r = prh_wire_send_reply(c->sock, b->hdr, b->reply.data, c->tx_len, &off);

    c->tx_off = (uint32_t)off;
    if (r < 0)
        return client_close(t, c, "write error");
    if (r == 0) {
        buf_keep(t, c);
        c->state = C_REPLY;
        set_timer(c, true, T_REPLY, true);
        return client_arm(t, c, EPOLLOUT);
    }
    buf_release(t, c);
    set_timer(c, false, T_REPLY, true);
    prh_wire_frame_next(&c->rx);
    c->state = C_RECV;
    if (atomic_load(&srv->stopping))
        return client_close(t, c, "shutdown");
    /* Re-arm rather than read on: a client rarely has its next request
     * queued already, and epoll reports it at once if it has. */
    client_arm(t, c, EPOLLIN);
}

/* A whole request: run it on this thread and answer. */
static void client_execute(struct prh_pool_thread *t, struct client *c, struct reqbuf *b)
{
    struct prh_server *srv = c->srv;
    struct prh_request req;
    bool lost = c->rx.fd_lost;

    prh_wire_frame_take(&c->rx, b->params, &req);
    set_timer(c, false, T_REQUEST, true);
    atomic_fetch_add(&srv->requests, 1);
    if (lost)
        atomic_fetch_add(&srv->fd_lost, 1);
    prh_trace(PRH_TRACE_REQUEST, "client=%llu op=%02x sa=%02x len=%u",
              (unsigned long long)c->conn.peer.serial, req.cdb[0], req.cdb[1] & 0x1f,
              req.xfer_len);
    prh_metrics_in_flight_add(srv->cfg.metrics, 1);
    bool drop = prh_request_run(&srv->rq, &c->conn, &req, &b->reply, t);
    prh_metrics_in_flight_add(srv->cfg.metrics, -1);
    if (drop)
        return client_close(t, c, "fault injection: closed instead of replying");
    prh_trace(PRH_TRACE_REPLY, "client=%llu status=%02x size=%u",
              (unsigned long long)c->conn.peer.serial, b->reply.status, b->reply.data_len);
    c->tx_len = (uint32_t)prh_wire_encode_reply_header(&b->reply, b->hdr);
    c->tx_off = 0;
    client_send_reply(t, c, b);
}

static void client_recv(struct prh_pool_thread *t, struct client *c)
{
    struct prh_server *srv = c->srv;

    for (;;) {
        struct reqbuf *b = client_buf(t, c);
        if (!b)
            return client_close(t, c, "out of memory");
        int r = prh_wire_frame_step(&c->rx, c->sock, b->params);

        if (r == PRH_WIRE_AGAIN) {
            if (c->rx.state == PRH_RX_PARAMS)
                buf_keep(t, c); /* half a parameter list waits in it */
            set_timer(c, c->rx.state == PRH_RX_FEATURES || prh_wire_frame_mid(&c->rx),
                      c->rx.state == PRH_RX_FEATURES ? T_HANDSHAKE : T_REQUEST, true);
            return client_arm(t, c, EPOLLIN);
        }
        if (r == PRH_WIRE_CLOSED)
            return client_close(t, c, "eof");
        if (r < 0) {
            atomic_fetch_add(&srv->protocol_errors, 1);
            prh_metrics_protocol_error(srv->cfg.metrics, r);
            prh_log(1, "%s", prh_wire_error_str(r));
            prh_trace(PRH_TRACE_PROTOCOL_ERROR, "client=%llu error=%s",
                      (unsigned long long)c->conn.peer.serial, prh_wire_error_str(r));
            return client_close(t, c, "protocol error");
        }
        if (c->rx.state == PRH_RX_CDB) {
            prh_trace(PRH_TRACE_HANDSHAKE, "client=%llu features=0",
                      (unsigned long long)c->conn.peer.serial);
            continue;
        }
        return client_execute(t, c, b);
    }
}

static void client_send_word(struct prh_pool_thread *t, struct client *c)
{
    uint8_t word[PRH_WIRE_FEATURE_SIZE];

    prh_wire_encode_features(word, PRH_WIRE_FEATURES);
    while (c->hs_off < sizeof(word)) {
        ssize_t n = send(c->sock, word + c->hs_off, sizeof(word) - c->hs_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return client_arm(t, c, EPOLLOUT);
        if (n < 0)
            return client_close(t, c, "write error");
        c->hs_off = (uint8_t)(c->hs_off + n);
    }
    c->state = C_RECV;
    client_arm(t, c, EPOLLIN);
}

/* One event of one client, on a pool thread. */
static void client_event(void *opaque, struct prh_pool_thread *t, void *data, uint32_t events)
{
    struct prh_server *srv = opaque;
    struct client *c = data;

    (void)events; /* the state says what to do; errors show up in the I/O */
    switch (atomic_load(&c->kicked)) {
    case KICK_TIMEOUT:
        return client_close(t, c, "frame timeout");
    case KICK_DRAIN:
        return client_close(t, c, "shutdown timeout");
    default:
        break;
    }
    if (c->state == C_REFUSED) {
        prh_conn_refused(&srv->rq, &c->conn, c->sock, t);
        return client_close(t, c, NULL);
    }
    /* Stopping: idle and half-received clients go; replies finish. */
    if (atomic_load(&srv->stopping) && c->state != C_REPLY)
        return client_close(t, c, "shutdown");
    if (!c->ready) {
        if (prh_conn_setup(&srv->rq, &c->conn, c->sock, t) < 0)
            return client_close(t, c, "out of memory");
        c->ready = true;
        if (prh_trace_enabled(PRH_TRACE_CLIENT_ACCEPT)) {
            char who[256];
            prh_conn_describe(&srv->rq, &c->conn, who, sizeof(who));
            prh_trace(PRH_TRACE_CLIENT_ACCEPT, "client=%llu pid=%ld uid=%ld nexus=%s",
                      (unsigned long long)c->conn.peer.serial, (long)c->conn.peer.pid,
                      (long)c->conn.peer.uid, who);
        }
    }
    switch (c->state) {
    case C_HS_SEND:
        return client_send_word(t, c);
    case C_REPLY:
        return client_send_reply(t, c, c->buf);
    case C_RECV:
    default:
        return client_recv(t, c);
    }
}

/* ---- the main loop -------------------------------------------------------------- */

static void on_limit(void *opaque, unsigned threads)
{
    struct prh_server *srv = opaque;

    prh_metrics_worker_limit(srv->cfg.metrics);
    if (!atomic_exchange(&srv->limit_logged, true))
        prh_log(1, "all %u worker threads are inside device calls (more than --workers MAX, "
                   "%u): other clients wait until one returns (logged once; counted in "
                   "prhelper_worker_limit_reached_total)",
                threads, srv->cfg.workers_max);
}

static void threads_changed(void *opaque, int delta)
{
    struct prh_server *srv = opaque;

    prh_metrics_worker_threads_add(srv->cfg.metrics, delta);
}

static void listen_events(struct prh_server *srv, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = &srv->tag_listen };

    if (epoll_ctl(srv->main_ep, EPOLL_CTL_MOD, srv->cfg.listen_fd, &ev) == 0)
        srv->listen_paused = events == 0;
}

/*
 * accept4() ran out of descriptors.  Closing the reserve descriptor makes
 * room to accept the waiting connection and close it at once (the client
 * sees EOF instead of hanging in the backlog, and the listening socket
 * stops being readable, so the loop does not spin); then the reserve is
 * taken again.  false: no reserve, or still no room.
 */
static bool drop_with_reserve(struct prh_server *srv, int err)
{
    if (srv->reserve_fd < 0)
        srv->reserve_fd = fcntl(srv->main_ep, F_DUPFD_CLOEXEC, 0);
    if (srv->reserve_fd < 0)
        return false;
    close(srv->reserve_fd);
    int fd = accept4(srv->cfg.listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    srv->reserve_fd = fcntl(srv->main_ep, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return false;
    atomic_fetch_add(&srv->rejected, 1);
    atomic_fetch_add(&srv->fd_limit, 1);
    prh_metrics_connection_refused(srv->cfg.metrics, PRH_REFUSED_FD_LIMIT);
    long now = coarse_ms();
    if (now - srv->fd_limit_window_ms >= 1000) {
        prh_log(1, "out of file descriptors (%s, %u clients connected): connection refused"
                   "%s",
                strerror(err), atomic_load(&srv->nclients),
                srv->fd_limit_unlogged ? " (and more since the last message)" : "");
        srv->fd_limit_window_ms = now;
        srv->fd_limit_unlogged = 0;
    } else {
        srv->fd_limit_unlogged++;
    }
    return true;
}

/* A new client the pool never saw: undo accept_clients(). */
static void forget_client(struct prh_server *srv, struct client *c)
{
    set_timer(c, false, T_HANDSHAKE, false);
    pthread_mutex_lock(&srv->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->sock);
    pthread_mutex_unlock(&srv->lock);
    atomic_fetch_sub(&srv->nclients, 1);
    prh_metrics_clients_add(srv->cfg.metrics, -1);
    free(c);
}

/* Policy, the feature word, the epoll set.  false: drop it. */
static bool start_client(struct prh_server *srv, struct client *c)
{
    uint32_t events = EPOLLIN;

    if (!prh_policy_allows_socket(srv->cfg.policy, c->sock)) {
        /* The record (with /proc reads) is written by a pool thread. */
        atomic_fetch_add(&srv->rejected, 1);
        prh_metrics_connection_refused(srv->cfg.metrics, PRH_REFUSED_POLICY);
        c->state = C_REFUSED;
        events = EPOLLOUT;
    } else {
        /* The word fits a fresh socket; if not, a pool thread sends the rest. */
        uint8_t word[PRH_WIRE_FEATURE_SIZE];
        prh_wire_encode_features(word, PRH_WIRE_FEATURES);
        ssize_t n = send(c->sock, word, sizeof(word), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        c->hs_off = (uint8_t)(n > 0 ? n : 0);
        c->state = c->hs_off == sizeof(word) ? C_RECV : C_HS_SEND;
        if (c->state == C_HS_SEND)
            events = EPOLLOUT;
        set_timer(c, true, T_HANDSHAKE, false);
        atomic_fetch_add(&srv->accepted, 1);
    }
    atomic_store(&c->out_waiting, (events & EPOLLOUT) != 0);
    struct epoll_event ev = { .events = events | EPOLLONESHOT, .data.ptr = c };
    int sock = c->sock;
    prh_pool_handoff(c);
    return epoll_ctl(srv->client_ep, EPOLL_CTL_ADD, sock, &ev) == 0;
}

static void accept_clients(struct prh_server *srv)
{
    for (;;) {
        int fd = accept4(srv->cfg.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EINTR || e == ECONNABORTED)
                continue;
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                if (drop_with_reserve(srv, e))
                    continue;
                /* No room at all: stop watching the socket, retry on a timer. */
                prh_log(1, "cannot accept a connection: %s", strerror(e));
                listen_events(srv, 0);
            }
            return;
        }
        if (atomic_load(&srv->nclients) >= srv->cfg.max_clients) {
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
        c->sock = fd;
        c->serial = c->conn.peer.serial = ++srv->serial;
        prh_wire_frame_init(&c->rx);
        /* Counted before its first byte goes out: whoever sees the
         * handshake also sees the client in the stats. */
        pthread_mutex_lock(&srv->lock);
        c->next = srv->clients;
        if (srv->clients)
            srv->clients->prev = c;
        srv->clients = c;
        pthread_mutex_unlock(&srv->lock);
        atomic_fetch_add(&srv->nclients, 1);
        prh_metrics_clients_add(srv->cfg.metrics, 1);
        if (!start_client(srv, c))
            forget_client(srv, c);
    }
}

/* Shut down the sockets of the clients kick() selects, marking why. */
static void kick_clients(struct prh_server *srv, long now, bool drain)
{
    pthread_mutex_lock(&srv->lock);
    for (struct client *c = srv->clients; c; c = c->next) {
        if (atomic_load(&c->kicked) != KICK_NONE)
            continue;
        if (drain) {
            if (!atomic_load(&c->out_waiting))
                continue;
            atomic_store(&c->kicked, KICK_DRAIN);
        } else {
            long d = atomic_load(&c->deadline_ms);
            if (!d || now < d)
                continue;
            atomic_store(&c->kicked, KICK_TIMEOUT);
            atomic_fetch_add(&srv->timeouts, 1);
            prh_metrics_protocol_error(srv->cfg.metrics, PRH_METRICS_FRAME_TIMEOUT);
            unsigned what = atomic_load(&c->timer_what);
            prh_log(1, "client %llu: %s not completed within %u ms, closing socket.",
                    (unsigned long long)c->serial,
                    what == T_REPLY ? "reply" : what == T_HANDSHAKE ? "handshake" : "request",
                    srv->cfg.frame_timeout_ms);
            prh_trace(PRH_TRACE_PROTOCOL_ERROR, "client=%llu error=frame timeout",
                      (unsigned long long)c->serial);
        }
        /* Its pool thread wakes (EOF, HUP) and closes it. */
        shutdown(c->sock, SHUT_RDWR);
    }
    pthread_mutex_unlock(&srv->lock);
}

static void begin_stop(struct prh_server *srv)
{
    if (atomic_load(&srv->stopping))
        return;
    atomic_store(&srv->stopping, true);
    epoll_ctl(srv->main_ep, EPOLL_CTL_DEL, srv->cfg.listen_fd, NULL);
    close(srv->cfg.listen_fd);
    srv->cfg.listen_fd = -1;
    srv->listen_paused = false;
    prh_server_unlink_socket(&srv->cfg);
    srv->drain_deadline_ms = coarse_ms() + (long)srv->cfg.drain_timeout_ms;
    /* Wake the idle and half-received clients (EOF): their threads close
     * them.  A request in flight still sends its reply (SHUT_RD only). */
    pthread_mutex_lock(&srv->lock);
    for (struct client *c = srv->clients; c; c = c->next)
        shutdown(c->sock, SHUT_RD);
    pthread_mutex_unlock(&srv->lock);
}

void prh_server_unlink_socket(const struct prh_server_config *cfg)
{
    struct stat sb;

    if (!cfg->socket_path)
        return;
    /* Another helper may have taken the path over: leave it alone. */
    if (!cfg->check_socket_inode || (stat(cfg->socket_path, &sb) == 0 &&
                                     sb.st_dev == cfg->socket_dev && sb.st_ino == cfg->socket_ino))
        unlink(cfg->socket_path);
}

static unsigned ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : n > (long)PRH_POOL_DEFAULT_MAX ? PRH_POOL_DEFAULT_MAX : (unsigned)n;
}

struct prh_server *prh_server_new(const struct prh_server_config *cfg)
{
    struct prh_server *srv = calloc(1, sizeof(*srv));
    struct epoll_event ev;

    if (!srv)
        return NULL;
    srv->cfg = *cfg;
    srv->main_ep = srv->client_ep = srv->stop_fd = srv->wake_fd = srv->reserve_fd = -1;
    pthread_mutex_init(&srv->lock, NULL);
    prh_request_ctx_init(&srv->rq);
    srv->rq.transport = cfg->transport;
    srv->rq.transport_state = cfg->transport_state;
    srv->rq.audit = cfg->audit;
    srv->rq.metrics = cfg->metrics;
    srv->rq.policy = cfg->policy;
    if (cfg->sysfs_root)
        srv->rq.sysfs_root = cfg->sysfs_root;
    srv->rq.timed = !cfg->untimed;
    srv->rq.no_peer_pidfd = cfg->no_peer_pidfd;
    if (!srv->cfg.workers)
        srv->cfg.workers = ncpus();
    if (!srv->cfg.workers_max)
        srv->cfg.workers_max = PRH_POOL_DEFAULT_MAX;
    if (srv->cfg.workers_max < srv->cfg.workers)
        srv->cfg.workers_max = srv->cfg.workers;
    if (srv->cfg.workers_max >= PRH_POOL_MAX_THREADS)
        srv->cfg.workers_max = PRH_POOL_MAX_THREADS - 1;
    if (!srv->cfg.max_clients)
        srv->cfg.max_clients = PRH_SERVER_DEFAULT_MAX_CLIENTS;
    if (!srv->cfg.drain_timeout_ms)
        srv->cfg.drain_timeout_ms = PRH_DEFAULT_DRAIN_MS;
    srv->main_ep = epoll_create1(EPOLL_CLOEXEC);
    srv->client_ep = epoll_create1(EPOLL_CLOEXEC);
    srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->main_ep < 0 || srv->client_ep < 0 || srv->stop_fd < 0 || srv->wake_fd < 0)
        goto fail;
    srv->reserve_fd = fcntl(srv->main_ep, F_DUPFD_CLOEXEC, 0);
    ev.events = EPOLLIN;
    ev.data.ptr = &srv->tag_listen;
    if (srv->reserve_fd < 0 || epoll_ctl(srv->main_ep, EPOLL_CTL_ADD, cfg->listen_fd, &ev) < 0)
        goto fail;
    ev.data.ptr = &srv->tag_stop;
    if (epoll_ctl(srv->main_ep, EPOLL_CTL_ADD, srv->stop_fd, &ev) < 0)
        goto fail;
    ev.data.ptr = &srv->tag_wake;
    if (epoll_ctl(srv->main_ep, EPOLL_CTL_ADD, srv->wake_fd, &ev) < 0)
        goto fail;
    if (cfg->signal_fd >= 0) {
        ev.data.ptr = &srv->tag_signal;
        if (epoll_ctl(srv->main_ep, EPOLL_CTL_ADD, cfg->signal_fd, &ev) < 0)
            goto fail;
    }
    struct prh_pool_config pc = {
        .epfd = srv->client_ep,
        .min = srv->cfg.workers,
        /* MAX threads inside device calls, and one more to read the
         * other clients' sockets: MAX stalled devices stall nobody else. */
        .max = srv->cfg.workers_max + 1,
        .idle_ms = srv->cfg.worker_idle_ms,
        .handle = client_event,
        .thread_exit = thread_exit,
        .on_limit = on_limit,
        .threads_changed = threads_changed,
        .opaque = srv,
    };
    srv->pool = prh_pool_new(&pc);
    if (!srv->pool)
        goto fail;
    return srv;
fail:;
    int e = errno;
    int fds[] = { srv->main_ep, srv->client_ep, srv->stop_fd, srv->wake_fd, srv->reserve_fd };
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    prh_request_ctx_fini(&srv->rq);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
    errno = e;
    return NULL;
}

int prh_server_run(struct prh_server *srv)
{
    struct epoll_event events[8];

    for (;;) {
        if (atomic_load(&srv->stopping)) {
            if (atomic_load(&srv->nclients) == 0)
                break;
            if (coarse_ms() >= srv->drain_deadline_ms)
                kick_clients(srv, 0, true); /* replies nobody reads: give up on them */
        }
        int wait_ms = atomic_load(&srv->stopping) ? STOP_POLL_MS : -1;
        int every = srv->listen_paused ? PAUSED_RETRY_MS : atomic_load(&srv->ntimed) ? SWEEP_MS : -1;
        if (every > 0 && (wait_ms < 0 || wait_ms > every))
            wait_ms = every;
        int n = epoll_wait(srv->main_ep, events, 8, wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            prh_error("epoll_wait: %s", strerror(errno));
            begin_stop(srv);
            continue;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            uint64_t v;
            if (tag == &srv->tag_listen) {
                if (!atomic_load(&srv->stopping))
                    accept_clients(srv);
            } else if (tag == &srv->tag_stop) {
                ssize_t r = read(srv->stop_fd, &v, sizeof(v));
                (void)r;
                begin_stop(srv);
            } else if (tag == &srv->tag_wake) {
                ssize_t r = read(srv->wake_fd, &v, sizeof(v));
                (void)r; /* the wait is recomputed above */
            } else if (tag == &srv->tag_signal) {
                struct signalfd_siginfo si;
                if (read(srv->cfg.signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                    prh_trace(PRH_TRACE_SIGNAL, "signal=%u", si.ssi_signo);
                    begin_stop(srv);
                }
            }
        }
        long now = coarse_ms();
        if (atomic_load(&srv->ntimed) && now >= srv->next_sweep_ms) {
            srv->next_sweep_ms = now + SWEEP_MS / 2;
            kick_clients(srv, now, false);
        }
        if (srv->listen_paused && !atomic_load(&srv->stopping))
            listen_events(srv, EPOLLIN); /* try again; paused again if still no room */
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
    /* Threads finish what they handle (a device call included) first. */
    prh_pool_free(srv->pool);
    while (srv->clients) {
        struct client *c = srv->clients;
        srv->clients = c->next;
        close(c->sock);
        prh_wire_frame_reset(&c->rx);
        free(c->buf);
        prh_conn_teardown(&srv->rq, &c->conn, NULL);
        free(c);
    }
    if (srv->cfg.listen_fd >= 0)
        close(srv->cfg.listen_fd);
    close(srv->stop_fd);
    close(srv->wake_fd);
    if (srv->reserve_fd >= 0)
        close(srv->reserve_fd);
    close(srv->client_ep);
    close(srv->main_ep);
    prh_request_ctx_fini(&srv->rq);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}

void prh_server_get_stats(struct prh_server *srv, struct prh_server_stats *out)
{
    struct prh_pool_stats ps;

    prh_pool_get_stats(srv->pool, &ps);
    out->accepted = atomic_load(&srv->accepted);
    out->requests = atomic_load(&srv->requests);
    out->protocol_errors = atomic_load(&srv->protocol_errors);
    out->rejected = atomic_load(&srv->rejected);
    out->fd_limit = atomic_load(&srv->fd_limit);
    out->timeouts = atomic_load(&srv->timeouts);
    out->busy_fd_lost = atomic_load(&srv->fd_lost);
    out->clients = atomic_load(&srv->nclients);
    out->threads = ps.threads;
    out->threads_peak = ps.peak;
    out->thread_limit_hits = ps.limit_hits;
}
