/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * request.h - what happens around one request and one connection besides
 * moving bytes (server.c does that): who the peer is (SO_PEERCRED, its
 * address, /proc facts for the audit trail), the transport's I_T nexus,
 * --allow-device, the transport call, the request trace, metrics and the
 * audit trail.
 *
 * Everything here runs on a pool thread, never on the thread that accepts
 * connections: /proc reads, a transport's nexus_new and an audit sink may
 * block.  Calls that may block are bracketed with prh_pool_busy(), so the
 * pool grows while they are stalled: the device calls, the audit trail's
 * /proc reads, and nexus_new/nexus_free where the transport says they may
 * block (the transport's nexus_never_blocks).
 */
#ifndef PRHELPER_REQUEST_H
#define PRHELPER_REQUEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prhelper/transport.h"
#include "prhelper/wire.h"

struct prh_audit;
struct prh_audit_client;
struct prh_metrics;
struct prh_policy;
struct prh_pool_thread;

/* What every request of a server shares (set up once, then read-only but
 * for the refused-connection rate limit). */
struct prh_request_ctx {
    const struct prh_transport *transport;
    void *transport_state;
    struct prh_audit *audit;          /* NULL: no audit trail */
    struct prh_metrics *metrics;      /* NULL: none */
    const struct prh_policy *policy;  /* NULL: allow all */
    const char *sysfs_root;           /* "/sys" */
    const char *proc_root;            /* "/proc" */
    bool timed;                       /* measure each request's duration (metrics
                                         readable: --metrics-file or --control) */
    bool no_peer_pidfd;               /* tests: behave as on a kernel before 6.5 */
    /* --allow-uid/--allow-gid refusal records: at most DENY_RECORDS_PER_S a
     * second, the rest counted into the next record. */
    pthread_mutex_t deny_lock;
    long deny_window_ms;
    unsigned deny_in_window;
    unsigned long deny_suppressed;
};

/* One connection's identity, filled by prh_conn_setup(). */
struct prh_conn {
    struct prh_peer peer;                  /* serial set at accept */
    void *nexus;                           /* the transport's; NULL before setup */
    struct prh_audit_client *audit_client; /* /proc facts; NULL without an audit trail */
};

/* Records of refused connections per second (the rest are counted). */
#define PRH_DENY_RECORDS_PER_S 10

void prh_request_ctx_init(struct prh_request_ctx *x);
void prh_request_ctx_fini(struct prh_request_ctx *x);

/*
 * The first time a pool thread handles a connection: its credentials and
 * address, the /proc facts of the peer for the audit trail (checked
 * against PID reuse, see prh_peer_current()), the transport's nexus, which
 * may check its own reads of /proc the same way (conn->peer carries the
 * peer's pidfd and socket during nexus_new only).
 * 0, or -ENOMEM (close the connection).
 */
int prh_conn_setup(struct prh_request_ctx *x, struct prh_conn *conn, int sock,
                   struct prh_pool_thread *t);
/* The transport's name of the nexus, for logs ("-" before setup). */
void prh_conn_describe(const struct prh_request_ctx *x, const struct prh_conn *conn, char *buf,
                       size_t len);
/* Release the nexus (may block in the transport) and the facts. */
void prh_conn_teardown(struct prh_request_ctx *x, struct prh_conn *conn,
                       struct prh_pool_thread *t);

/*
 * A connection --allow-uid/--allow-gid refused (counted at accept): its
 * log line and audit record, rate-limited.  No byte was read from it.
 */
void prh_conn_refused(struct prh_request_ctx *x, struct prh_conn *conn, int sock,
                      struct prh_pool_thread *t);

/*
 * Run one request: --allow-device, the transport (or, for a request whose
 * fd was lost to a full fd table, BUSY), the request trace, metrics, the
 * audit trail.  Fills reply, closes req->fd.  Returns true when the
 * transport asked to close the connection instead of replying.
 */
bool prh_request_run(struct prh_request_ctx *x, struct prh_conn *conn, struct prh_request *req,
                     struct prh_reply *reply, struct prh_pool_thread *t);

#endif
