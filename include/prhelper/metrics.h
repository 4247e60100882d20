/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.h - counters, gauges and a latency histogram, rendered in the
 * Prometheus text exposition format (version 0.0.4).  Updates are
 * lock-free atomics from any thread; rendering reads them without
 * stopping anyone.
 *
 * Published as a file (node_exporter textfile-collector convention:
 * written to PATH.tmp.PID, fsync'd, renamed over PATH) every N seconds
 * and at exit, and over the control socket (prhelper-cli stats).
 */
#ifndef PRHELPER_METRICS_H
#define PRHELPER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prhelper/wire.h"

struct prh_metrics;

/* transport: the label of the duration histogram.  NULL on ENOMEM. */
struct prh_metrics *prh_metrics_new(const char *transport);
void prh_metrics_free(struct prh_metrics *m);

/* One request done: its CDB, the reply sent, whether the device policy
 * refused it, and how long it took. */
void prh_metrics_request(struct prh_metrics *m, const uint8_t *cdb, const struct prh_reply *reply,
                         bool denied, uint64_t latency_ns);
/* A connection closed for a wire error (enum prh_wire_error), or for
 * PRH_METRICS_FRAME_TIMEOUT (--frame-timeout). */
#define PRH_METRICS_FRAME_TIMEOUT (-1000)
void prh_metrics_protocol_error(struct prh_metrics *m, int wire_err);

enum prh_metrics_refusal {
    PRH_REFUSED_POLICY,      /* --allow-uid / --allow-gid */
    PRH_REFUSED_MAX_CLIENTS, /* --max-clients */
    PRH_REFUSED_FD_LIMIT,    /* out of file descriptors: accepted and closed */
    PRH_REFUSED_NREASONS,
};
void prh_metrics_connection_refused(struct prh_metrics *m, enum prh_metrics_refusal why);
void prh_metrics_audit_error(struct prh_metrics *m);
/* A PR request refused because its fd is only part of a LUN (device.h). */
void prh_metrics_partial_device_refused(struct prh_metrics *m);
/* Gauges. */
void prh_metrics_clients_add(struct prh_metrics *m, int delta);
void prh_metrics_in_flight_add(struct prh_metrics *m, int delta);
/* The pool's thread count changed by delta. */
void prh_metrics_worker_threads_add(struct prh_metrics *m, int delta);
/* Every one of --workers MAX threads was busy when another was wanted. */
void prh_metrics_worker_limit(struct prh_metrics *m);
/* A thread waited in a client's socket for its next request (the linger,
 * docs/daemon.md); by_client: the client sent it (or closed), not the
 * period passing. */
void prh_metrics_linger(struct prh_metrics *m, bool by_client);
/* A request answered BUSY because its fd did not fit in the fd table. */
void prh_metrics_request_fd_lost(struct prh_metrics *m, const uint8_t *cdb);

/* The exposition text, malloc'd and NUL-terminated; NULL on ENOMEM. */
char *prh_metrics_render(struct prh_metrics *m, size_t *len);

/* Write atomically to path (see above).  0, or -errno. */
int prh_metrics_write_file(struct prh_metrics *m, const char *path);

/*
 * A thread that writes the file every interval_s seconds; stop writes it
 * a last time.  NULL with errno on failure (the first write is done
 * before returning, so a bad path is reported at startup).
 */
struct prh_metrics_writer;
struct prh_control;

/* Add the "stats" control command (prhelper-cli stats).  0 or -errno. */
int prh_metrics_control_register(struct prh_metrics *m, struct prh_control *ctl);

struct prh_metrics_writer *prh_metrics_writer_start(struct prh_metrics *m, const char *path,
                                                    unsigned interval_s);
void prh_metrics_writer_stop(struct prh_metrics_writer *w);

#endif
