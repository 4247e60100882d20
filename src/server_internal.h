/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server_internal.h - what server.c (the main loop) and connection.c (the
 * per-connection state machine the pool threads run) share: the client and
 * server records.  Not an interface: nothing outside those two files
 * includes it (server.h is the module's header).
 */
#ifndef PRHELPER_SERVER_INTERNAL_H
#define PRHELPER_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "prhelper/request.h"
#include "prhelper/server.h"
#include "prhelper/wire.h"
#include "prhelper/workers.h"

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
    bool linger;                /* its SO_RCVTIMEO is set: a thread may wait in a read */
    bool quick;                 /* its last request came within the linger period */
    long replied_ms;            /* coarse clock when its last reply went out; 0: none */
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
    struct timeval linger; /* SO_RCVTIMEO of the client sockets; 0: no lingering */
    long linger_ms;        /* the same in ms */
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
static inline long coarse_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* connection.c: one event of one client, on a pool thread (the pool's handle). */
void prh_client_event(void *opaque, struct prh_pool_thread *t, void *data, uint32_t events);
/* connection.c: a pool thread ends; scratch is its request buffer. */
void prh_client_thread_exit(void *opaque, void *scratch);
/* The pool's linger callbacks (workers.h) for a client that was answered. */
bool prh_client_linger(void *opaque, struct prh_pool_thread *t, void *data);
void prh_client_linger_end(void *opaque, struct prh_pool_thread *t, void *data);
/* connection.c: start (want) or stop c's frame timer; wake: tell the main
 * loop, which may sleep without a timeout (not when it calls this itself). */
void prh_client_timer(struct client *c, bool want, enum timer_what what, bool wake);

#endif
