/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.h - the event loop: accepts connections on a listening Unix
 * socket, runs each through the handshake / request / reply state
 * machine without ever blocking on one of them, and hands requests to a
 * worker pool.  One request in flight per connection.
 */
#ifndef PRHELPER_SERVER_H
#define PRHELPER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "prhelper/transport.h"

struct prh_audit;
struct prh_metrics;
struct prh_policy;

struct prh_server_config {
    int listen_fd;                       /* listening, taken over by the server */
    const char *socket_path;             /* unlinked when accepting stops; NULL: keep */
    bool check_socket_inode;             /* unlink only if the path is still ours: */
    dev_t socket_dev;                    /*   the path's st_dev and st_ino when bound */
    ino_t socket_ino;
    const struct prh_transport *transport;
    void *transport_state;
    unsigned workers;                    /* 0: default (4) */
    unsigned max_clients;                /* 0: default (1024) */
    int signal_fd;                       /* signalfd to watch, or -1 */
    unsigned drain_timeout_ms;           /* replies after stop; 0: 5000 */
    unsigned frame_timeout_ms;           /* handshake, request or reply left half-
                                            transferred this long closes the client;
                                            0: no timeout */
    struct prh_audit *audit;             /* audit trail; NULL: none */
    struct prh_metrics *metrics;         /* NULL: none */
    const struct prh_policy *policy;     /* --allow-*; NULL: allow all */
    const char *sysfs_root;              /* WWIDs are read here; NULL: "/sys" */
};

struct prh_server;

/* NULL with errno set on failure (listen_fd is not closed then). */
struct prh_server *prh_server_new(const struct prh_server_config *cfg);
/*
 * Serve until a signal arrives on signal_fd or prh_server_stop() is
 * called; then stop accepting, unlink the socket, finish requests in
 * flight and send their replies, close every client.  Returns 0.
 */
int prh_server_run(struct prh_server *srv);
/* Thread- and signal-safe request to stop. */
void prh_server_stop(struct prh_server *srv);
void prh_server_free(struct prh_server *srv);

/* Counters, for tests and the trace. */
struct prh_server_stats {
    unsigned long accepted;
    unsigned long requests;
    unsigned long protocol_errors;
    unsigned long rejected;  /* over max_clients */
    unsigned long timeouts;  /* closed by frame_timeout_ms */
    unsigned clients;        /* currently connected */
};
void prh_server_get_stats(struct prh_server *srv, struct prh_server_stats *out);

#endif
