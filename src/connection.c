/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * connection.c - the per-connection state machine, run by the pool threads
 * (server.h, docs/daemon.md):
 *
 *   HS_SEND --(word sent)--> RECV --(request: run it here)--> reply sent --> RECV
 *                              |                                 | socket full
 *                              +<------------ REPLY <------------+
 *   REFUSED (policy): audit record, close.
 *
 * Each state waits in the shared epoll set, armed for one event
 * (EPOLLONESHOT).  A client belongs to the thread that got its event until
 * that thread re-arms it or closes it, so its state needs no lock.  The
 * main loop (server.c) only ever shutdown()s a client's socket and marks
 * why, under srv->lock, which closing a socket takes too.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "server_internal.h"

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

void prh_client_thread_exit(void *opaque, void *scratch)
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
void prh_client_timer(struct client *c, bool want, enum timer_what what, bool wake)
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
    prh_client_timer(c, false, T_REQUEST, true);
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

/* ---- the states ------------------------------------------------------------------ */

static bool client_recv(struct prh_pool_thread *t, struct client *c, bool wait);

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
        prh_client_timer(c, true, T_REPLY, true);
        return client_arm(t, c, EPOLLOUT);
    }
    buf_release(t, c);
    prh_client_timer(c, false, T_REPLY, true);
    prh_wire_frame_next(&c->rx);
    c->state = C_RECV;
    if (atomic_load(&srv->stopping))
        return client_close(t, c, "shutdown");
    /* Re-arm rather than read on: a client rarely has its next request
     * queued already, and epoll reports it at once if it has.  But a
     * client that sent its last one soon after its reply may be sending
     * the next: wait a little for it in a read of its socket first (the
     * pool decides; one request at a time, as QEMU's guest sends them,
     * never makes a thread wait). */
    c->replied_ms = coarse_ms();
    if (c->linger && c->quick)
        return prh_pool_linger(t, c);
    client_arm(t, c, EPOLLIN);
}

void prh_client_linger_end(void *opaque, struct prh_pool_thread *t, void *data)
{
    (void)opaque;
    client_arm(t, data, EPOLLIN);
}

/* A whole request: run it on this thread and answer. */
static void client_execute(struct prh_pool_thread *t, struct client *c, struct reqbuf *b)
{
    struct prh_server *srv = c->srv;
    struct prh_request req;
    bool lost = c->rx.fd_lost;

    prh_wire_frame_take(&c->rx, b->params, &req);
    /* Quick: within the linger period after the last reply (twice it: the
     * coarse clock moves in ticks of up to 4 ms). */
    c->quick = c->replied_ms && coarse_ms() - c->replied_ms <= 2 * srv->linger_ms;
    prh_client_timer(c, false, T_REQUEST, true);
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

/*
 * Read what c sent and act on it.  wait: c was just answered; its thread
 * sleeps in the first read, up to the linger period (SO_RCVTIMEO), for the
 * next request (the pool's linger, workers.h).  True when that read got
 * anything (data, EOF, an error) rather than the end of the period.
 */
static bool client_recv(struct prh_pool_thread *t, struct client *c, bool wait)
{
    struct prh_server *srv = c->srv;

    for (;; wait = false) {
        struct reqbuf *b = client_buf(t, c);
        if (!b) {
            client_close(t, c, "out of memory");
            return true;
        }
        int r = wait ? prh_wire_frame_step_wait(&c->rx, c->sock, b->params)
                     : prh_wire_frame_step(&c->rx, c->sock, b->params);
        if (wait)
            prh_pool_linger_over(t);

        if (r == PRH_WIRE_AGAIN) {
            bool news = !wait || prh_wire_frame_mid(&c->rx);
            if (c->rx.state == PRH_RX_PARAMS)
                buf_keep(t, c); /* half a parameter list waits in it */
            prh_client_timer(c, c->rx.state == PRH_RX_FEATURES || prh_wire_frame_mid(&c->rx),
                      c->rx.state == PRH_RX_FEATURES ? T_HANDSHAKE : T_REQUEST, true);
            client_arm(t, c, EPOLLIN);
            return news;
        }
        if (r == PRH_WIRE_CLOSED) {
            client_close(t, c, atomic_load(&srv->stopping) ? "shutdown" : "eof");
            return true;
        }
        if (r < 0) {
            atomic_fetch_add(&srv->protocol_errors, 1);
            prh_metrics_protocol_error(srv->cfg.metrics, r);
            prh_log(prh_wire_error_verbosity(r, c->rx.state), "%s", prh_wire_error_str(r));
            prh_trace(PRH_TRACE_PROTOCOL_ERROR, "client=%llu error=%s",
                      (unsigned long long)c->conn.peer.serial, prh_wire_error_str(r));
            client_close(t, c, "protocol error");
            return true;
        }
        if (c->rx.state == PRH_RX_CDB) {
            prh_trace(PRH_TRACE_HANDSHAKE, "client=%llu features=0",
                      (unsigned long long)c->conn.peer.serial);
            continue;
        }
        client_execute(t, c, b);
        return true;
    }
}

/* The pool's linger (workers.h): c was answered and is idle. */
bool prh_client_linger(void *opaque, struct prh_pool_thread *t, void *data)
{
    struct client *c = data;

    (void)opaque;
    if (atomic_load(&c->srv->stopping)) {
        prh_pool_linger_over(t);
        client_close(t, c, "shutdown");
        return false;
    }
    struct prh_metrics *m = c->srv->cfg.metrics; /* c may be freed by the read */
    bool by_client = client_recv(t, c, true);
    prh_metrics_linger(m, by_client);
    return by_client;
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
void prh_client_event(void *opaque, struct prh_pool_thread *t, void *data, uint32_t events)
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
        client_recv(t, c, false);
        return;
    }
}
