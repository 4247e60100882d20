/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.c - the daemon's main loop (server.h): accept, signals, frame
 * timeouts, shutdown.  The connections themselves are served by the pool
 * threads (connection.c, workers.c):
 *
 *   main loop (one thread)               pool threads (workers.c), any number
 *   ------------------------------------ ----------------------------------------
 *   accept4; --max-clients, --allow-uid  epoll_wait(client set) -> one socket
 *   send the 4-byte feature word         first event: prh_conn_setup() (request.c)
 *   EPOLL_CTL_ADD, EPOLLONESHOT          RECV: frame -> prh_request_run() -> reply
 *   signals, stop, frame timeouts        re-arm: one epoll_ctl(EPOLL_CTL_MOD)
 *
 * The main loop never does blocking work: /proc reads, the transport's
 * nexus and every device call happen on pool threads.  It only ever
 * shutdown()s a client's socket (frame timeout, stop) and marks why, under
 * srv->lock, which a thread closing a socket also holds: the socket it
 * shuts down is still that client's.
 */
#include "prhelper/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prhelper/audit.h"
#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "prhelper/policy.h"
#include "server_internal.h"

#define PRH_DEFAULT_DRAIN_MS 5000
#define SWEEP_MS 100       /* frame timeouts are checked this often (while any runs) */
#define PAUSED_RETRY_MS 200 /* accepting paused for lack of fds: retried this often */
#define STOP_POLL_MS 50

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
    prh_client_timer(c, false, T_HANDSHAKE, false);
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
        prh_client_timer(c, true, T_HANDSHAKE, false);
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
        /* Blocking: every read and write passes MSG_DONTWAIT, but for the
         * linger's read (SO_RCVTIMEO bounds it, client_linger_wait()). */
        int fd = accept4(srv->cfg.listen_fd, NULL, NULL, SOCK_CLOEXEC);
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
        c->linger = srv->linger.tv_sec || srv->linger.tv_usec;
        if (c->linger && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &srv->linger,
                                    sizeof(srv->linger)) < 0)
            c->linger = false; /* it would not wake: never wait on it */
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
    /* --audit=none: no /proc or sysfs reads for records nobody writes. */
    srv->rq.audit = prh_audit_active(cfg->audit) ? cfg->audit : NULL;
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
    if (srv->cfg.linger_ms >= 0) {
        int ms = srv->cfg.linger_ms ? srv->cfg.linger_ms : PRH_SERVER_DEFAULT_LINGER_MS;
        srv->linger.tv_sec = ms / 1000;
        srv->linger.tv_usec = (suseconds_t)(ms % 1000) * 1000;
        srv->linger_ms = ms;
    }
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
        .handle = prh_client_event,
        .thread_exit = prh_client_thread_exit,
        .on_limit = on_limit,
        .threads_changed = threads_changed,
        .linger = prh_client_linger,
        .linger_end = prh_client_linger_end,
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
    out->lingered = ps.lingered;
    out->linger_news = ps.linger_news;
    out->thread_limit_hits = ps.limit_hits;
}
