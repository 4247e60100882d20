/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.h - the daemon's connections: the main loop accepts on the
 * listening Unix socket and owns signals, timers and shutdown; an elastic
 * pool of threads (workers.h) waits on the client sockets, and the thread
 * that wakes for one reads its request, runs it and replies.  No client
 * waits for another client or another client's device.  One request in
 * flight per connection.  docs/daemon.md has the picture.
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

#define PRH_SERVER_DEFAULT_MAX_CLIENTS 1024u
#define PRH_SERVER_DEFAULT_LINGER_MS 5

struct prh_server_config {
    int listen_fd;                       /* listening, taken over by the server */
    const char *socket_path;             /* unlinked when accepting stops; NULL: keep */
    bool check_socket_inode;             /* unlink only if the path is still ours: */
    dev_t socket_dev;                    /*   the path's st_dev and st_ino when bound */
    ino_t socket_ino;
    const struct prh_transport *transport;
    void *transport_state;
    unsigned workers;                    /* threads kept (MIN); 0: number of CPUs */
    unsigned workers_max;                /* at most this many inside device calls (MAX),
                                            plus one reading the other sockets; 0: 64,
                                            and at least workers */
    unsigned worker_idle_ms;             /* extra threads idle this long exit; 0: 10 s */
    int linger_ms;                       /* after a reply, its thread waits this long for
                                            the client's next request in a read of its
                                            socket (workers.h); 0: 5 ms, < 0: never */
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
    bool untimed;                        /* nobody reads the duration histogram (no
                                            --metrics-file, no --control): skip its
                                            clock reads */
    bool no_peer_pidfd;                  /* tests: as on kernels without SO_PEERPIDFD */
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
/*
 * Remove cfg->socket_path if it still names the socket we bound (with
 * check_socket_inode: st_dev and st_ino match), else leave it: another
 * helper may have taken the path over.  The server calls it when it stops
 * accepting; prhelper's start-up failures call it too.
 */
void prh_server_unlink_socket(const struct prh_server_config *cfg);
/* Thread- and signal-safe request to stop. */
void prh_server_stop(struct prh_server *srv);
void prh_server_free(struct prh_server *srv);

/* Counters, for tests and the trace. */
struct prh_server_stats {
    unsigned long accepted;
    unsigned long requests;
    unsigned long protocol_errors;
    unsigned long rejected;  /* over max_clients, refused by policy, out of fds */
    unsigned long fd_limit;  /* of those: accepted and closed for lack of fds */
    unsigned long timeouts;  /* closed by frame_timeout_ms */
    unsigned long busy_fd_lost; /* requests answered BUSY: their fd did not fit */
    unsigned clients;        /* currently connected */
    unsigned threads;        /* pool threads now */
    unsigned threads_peak;   /* most pool threads at once */
    unsigned long thread_limit_hits; /* a thread was wanted beyond workers_max */
    unsigned long lingered;  /* waits for a client's next request after a reply */
    unsigned long linger_news; /* of them, ended by the client (not the period) */
};
void prh_server_get_stats(struct prh_server *srv, struct prh_server_stats *out);

#endif
