/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * request.c - the per-connection and per-request steps around the
 * transport (request.h): peer facts, nexus, device policy, trace,
 * metrics, audit.  server.c owns the sockets; this file never reads or
 * writes one beyond asking the kernel who is on the other end.
 */
#include "prhelper/request.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5, include/uapi/asm-generic/socket.h */
#endif

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long coarse_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void busy(struct prh_pool_thread *t, bool on)
{
    if (t)
        prh_pool_busy(t, on);
}

void prh_request_ctx_init(struct prh_request_ctx *x)
{
    memset(x, 0, sizeof(*x));
    pthread_mutex_init(&x->deny_lock, NULL);
    x->sysfs_root = "/sys";
    x->proc_root = "/proc";
    x->deny_window_ms = -100000;
}

void prh_request_ctx_fini(struct prh_request_ctx *x)
{
    pthread_mutex_destroy(&x->deny_lock);
}

/* ---- the peer ---------------------------------------------------------------- */

static void fill_peer(struct prh_peer *p, int sock)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct sockaddr_un addr;
    socklen_t alen = sizeof(addr);
    uint64_t serial = p->serial;

    memset(p, 0, sizeof(*p));
    p->serial = serial;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        p->has_cred = true;
        p->pid = cred.pid;
        p->uid = cred.uid;
        p->gid = cred.gid;
    }
    memset(&addr, 0, sizeof(addr));
    if (getpeername(sock, (struct sockaddr *)&addr, &alen) == 0 &&
        alen > offsetof(struct sockaddr_un, sun_path)) {
        size_t n = alen - offsetof(struct sockaddr_un, sun_path);
        if (n > sizeof(p->addr) - 1)
            n = sizeof(p->addr) - 1;
        memcpy(p->addr, addr.sun_path, n);
        if (p->addr[0] == '\0')
            p->addr[0] = '@'; /* abstract */
        else
            n = strnlen(p->addr, n);
        p->addr[n] = '\0';
        p->addr_len = n;
    }
}

/* The peer's pidfd (SO_PEERPIDFD), or -1: kernels before 6.5 (ENOPROTOOPT),
 * tests acting as one, a peer gone already (*exited set: some kernels
 * make no pidfd of a process that has exited, EINVAL or ESRCH; newer ones
 * make one that polls as exited). */
static int peer_pidfd(const struct prh_request_ctx *x, const struct prh_peer *peer, int sock,
                      bool *exited)
{
    int pidfd = -1;
    socklen_t len = sizeof(pidfd);

    *exited = false;
    if (x->no_peer_pidfd || !peer->has_cred)
        return -1;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
        *exited = errno == ESRCH || errno == EINVAL;
        return -1;
    }
    return pidfd;
}

/* One pidfd pins the peer for every reader of its /proc entries while
 * the connection is set up (prh_peer_current()). */
static void pin_peer(const struct prh_request_ctx *x, struct prh_peer *peer, int sock)
{
    peer->pidfd = peer_pidfd(x, peer, sock, &peer->exited);
    peer->has_pidfd = peer->pidfd >= 0;
    peer->sock = sock;
    peer->has_sock = true;
}

static void unpin_peer(struct prh_peer *peer)
{
    if (peer->has_pidfd)
        close(peer->pidfd);
    peer->has_pidfd = peer->has_sock = peer->exited = false;
    peer->pidfd = peer->sock = -1;
}

/* The peer's /proc facts, or NULL (out of memory).  If the peer's process
 * exited meanwhile, its PID may name another process now, and the facts
 * are dropped (credentials stay). */
static struct prh_audit_client *peer_facts(struct prh_request_ctx *x, const struct prh_peer *peer)
{
    struct prh_audit_client *ac = malloc(sizeof(*ac));

    if (!ac)
        return NULL;
    prh_audit_client_fill(ac, peer, x->proc_root);
    if ((ac->exe[0] || ac->guest[0]) && !prh_peer_current(peer)) {
        prh_log(2, "client %llu: pid %ld left while it was looked up: its /proc facts are "
                   "not recorded",
                (unsigned long long)peer->serial, (long)peer->pid);
        ac->exe[0] = '\0';
        ac->guest[0] = '\0';
    }
    return ac;
}

int prh_conn_setup(struct prh_request_ctx *x, struct prh_conn *conn, int sock,
                   struct prh_pool_thread *t)
{
    int r = 0;
    /* Only what may block counts as a device call: the audit trail's /proc
     * reads, a transport's nexus_new that may block.  On sg and mpath
     * without an audit trail a burst of connections starts no thread. */
    bool blocks = x->audit || prh_transport_nexus_may_block(x->transport);

    fill_peer(&conn->peer, sock);
    if (blocks)
        busy(t, true);
    pin_peer(x, &conn->peer, sock);
    if (x->audit && !(conn->audit_client = peer_facts(x, &conn->peer)))
        r = -ENOMEM;
    if (r == 0 && !(conn->nexus = x->transport->nexus_new(x->transport_state, &conn->peer)))
        r = -ENOMEM;
    unpin_peer(&conn->peer);
    if (blocks)
        busy(t, false);
    return r;
}

void prh_conn_describe(const struct prh_request_ctx *x, const struct prh_conn *conn, char *buf,
                       size_t len)
{
    if (!len)
        return;
    snprintf(buf, len, "-");
    if (conn->nexus && x->transport->nexus_describe)
        x->transport->nexus_describe(x->transport_state, conn->nexus, buf, len);
}

void prh_conn_teardown(struct prh_request_ctx *x, struct prh_conn *conn,
                       struct prh_pool_thread *t)
{
    if (conn->nexus) {
        bool blocks = prh_transport_nexus_may_block(x->transport);
        if (blocks)
            busy(t, true);
        x->transport->nexus_free(x->transport_state, conn->nexus);
        if (blocks)
            busy(t, false);
        conn->nexus = NULL;
    }
    free(conn->audit_client);
    conn->audit_client = NULL;
}

/* Send one audit record for a connection: its facts (or the credentials
 * alone), the time, and the metric when the sink fails. */
static void audit_record(struct prh_request_ctx *x, const struct prh_conn *conn,
                         struct prh_audit_record *rec)
{
    struct prh_audit_client fallback;

    rec->client = conn->audit_client;
    if (!rec->client) {
        prh_audit_client_fill(&fallback, &conn->peer, "/nonexistent");
        rec->client = &fallback;
    }
    clock_gettime(CLOCK_REALTIME, &rec->time);
    if (prh_audit_emit(x->audit, rec) < 0)
        prh_metrics_audit_error(x->metrics);
}

void prh_conn_refused(struct prh_request_ctx *x, struct prh_conn *conn, int sock,
                      struct prh_pool_thread *t)
{
    unsigned long suppressed;
    bool record;

    /* A flood of refused connections must not turn into a flood of log
     * and audit writes. */
    pthread_mutex_lock(&x->deny_lock);
    long now = coarse_ms();
    if (now - x->deny_window_ms >= 1000) {
        x->deny_window_ms = now;
        x->deny_in_window = 0;
    }
    record = x->deny_in_window < PRH_DENY_RECORDS_PER_S;
    if (record) {
        x->deny_in_window++;
        suppressed = x->deny_suppressed;
        x->deny_suppressed = 0;
    } else {
        x->deny_suppressed++;
    }
    pthread_mutex_unlock(&x->deny_lock);
    if (!record)
        return;
    fill_peer(&conn->peer, sock);
    prh_log(1, "connection from pid %ld uid %ld gid %ld refused by the access policy",
            (long)conn->peer.pid, (long)conn->peer.uid, (long)conn->peer.gid);
    if (!x->audit)
        return;
    busy(t, true);
    pin_peer(x, &conn->peer, sock);
    conn->audit_client = peer_facts(x, &conn->peer);
    unpin_peer(&conn->peer);
    struct prh_audit_record rec = {
        .event = PRH_AUDIT_EV_CLIENT_DENIED,
        .transport = x->transport->name,
        .suppressed = suppressed,
    };
    audit_record(x, conn, &rec);
    busy(t, false);
}

/* ---- one request --------------------------------------------------------- */

/* Operations around one request: device policy, metrics, audit trail. */
struct ops_ctx {
    struct prh_audit_device dev;
    bool denied;
    bool audit; /* a record of this request can be written */
};

/* Whether this request gets an audit record.  One the sink cannot take
 * now (no log daemon) is counted as lost here, before anything is read
 * or formatted for it. */
static bool audited(struct prh_request_ctx *x, const struct prh_request *req)
{
    if (!x->audit || !prh_audit_wanted(req))
        return false;
    if (prh_audit_ready(x->audit))
        return true;
    prh_audit_lost(x->audit);
    prh_metrics_audit_error(x->metrics);
    return false;
}

/* false: the device policy refused the request (reply filled).  st: the
 * request's one fstat() (NULL: it failed). */
static bool ops_before(struct prh_request_ctx *x, const struct prh_conn *conn,
                       const struct prh_request *req, const struct stat *st, bool audit,
                       struct prh_reply *reply, struct ops_ctx *o)
{
    bool rules = prh_policy_has_device_rules(x->policy);

    memset(o, 0, sizeof(*o));
    o->audit = audit;
    if (rules || o->audit)
        prh_audit_device_fill_fd(&o->dev, req->fd, st, x->sysfs_root);
    if (!rules || prh_policy_allows_device(x->policy, &o->dev))
        return true;
    struct prh_result res = prh_result_sense(SENSE_ACCESS_DENIED);
    prh_result_to_reply(&res, req, reply);
    prh_log(2, "client %llu: device %u:%u %s is not in --allow-device, refused",
            (unsigned long long)conn->peer.serial, o->dev.major, o->dev.minor, o->dev.wwid);
    o->denied = true;
    return false;
}

static void ops_after(struct prh_request_ctx *x, const struct prh_conn *conn,
                      const struct prh_request *req, const struct prh_reply *reply,
                      struct ops_ctx *o, uint64_t latency)
{
    prh_metrics_request(x->metrics, req->cdb, reply, o->denied, latency);
    /* A denied PR OUT the sink could not take was counted in audited(). */
    if (!o->audit && !(o->denied && x->audit && !prh_audit_wanted(req)))
        return;
    /* The transport's name of the nexus; none when it names none. */
    char who[256] = "";
    if (conn->nexus && x->transport->nexus_describe)
        prh_conn_describe(x, conn, who, sizeof(who));
    struct prh_audit_record rec = {
        .event = o->denied ? PRH_AUDIT_EV_DEVICE_DENIED : PRH_AUDIT_EV_PR_OUT,
        .transport = x->transport->name,
        .nexus = who,
        .device = &o->dev,
        .req = req,
        .reply = reply,
        .latency_ns = latency,
    };
    audit_record(x, conn, &rec);
}

/*
 * The descriptor that came with the CDB could not be received: this
 * process is out of fds, which is not the client's doing and passes.
 * BUSY asks the initiator to retry (SAM-5 5.3.1: "temporarily unable").
 */
static void fd_lost_reply(struct prh_request_ctx *x, const struct prh_conn *conn,
                          const struct prh_request *req, struct prh_reply *reply)
{
    reply->status = SCSI_STATUS_BUSY;
    prh_log(1, "client %llu: no room for the request's file descriptor (out of open files): "
               "answered BUSY",
            (unsigned long long)conn->peer.serial);
    prh_metrics_request_fd_lost(x->metrics, req->cdb);
}

bool prh_request_run(struct prh_request_ctx *x, struct prh_conn *conn, struct prh_request *req,
                     struct prh_reply *reply, struct prh_pool_thread *t)
{
    const struct prh_transport *tr = x->transport;
    struct prh_exec_info info;
    struct timespec start = { 0 };
    struct ops_ctx ops;
    struct stat sb;

    prh_reply_init(reply);
    if (req->fd < 0) {
        fd_lost_reply(x, conn, req, reply);
        return false;
    }
    bool traced = prh_reqtrace_enabled();
    /* The clock is read only when someone can see the result: the
     * duration histogram (metrics readable), an audit record, the trace. */
    bool audit = audited(x, req);
    bool timed = x->timed || traced || audit;
    uint64_t t0 = timed ? mono_ns() : 0;
    if (traced)
        clock_gettime(CLOCK_REALTIME, &start);
    busy(t, true);
    /* The one fstat() of the request: the device policy, the audit
     * record, the LUN name and the transport's open() all use it. */
    int stat_err = -prh_fstat_fd(req->fd, &sb);
    const struct stat *st = stat_err ? NULL : &sb;
    if (ops_before(x, conn, req, st, audit, reply, &ops))
        prh_transport_execute_st(tr, x->transport_state, conn->nexus, req, st, stat_err, reply,
                                 &info);
    else
        memset(&info, 0, sizeof(info));
    close(req->fd);
    req->fd = -1;
    if (traced) {
        char who[256];
        prh_conn_describe(x, conn, who, sizeof(who));
        prh_reqtrace_emit(&conn->peer, who, req, reply, &info, &start);
    }
    ops_after(x, conn, req, reply, &ops, timed ? mono_ns() - t0 : 0);
    busy(t, false);
    return info.disconnect;
}
