/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics.c - Prometheus text metrics (see metrics.h). */
#include "prhelper/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prhelper/control.h"
#include "prhelper/scsi.h"

enum result_label {
    R_GOOD,
    R_CHECK_CONDITION,
    R_RESERVATION_CONFLICT,
    R_BUSY,
    R_TASK_SET_FULL,
    R_OTHER,
    R_DENIED,
    R_N,
};
static const char *const result_names[R_N] = {
    "good", "check_condition", "reservation_conflict", "busy", "task_set_full", "other", "denied",
};

enum device_error {
    D_NOT_READY,
    D_MEDIUM_ERROR,
    D_HARDWARE_ERROR,
    D_ABORTED_COMMAND,
    D_BUSY,
    D_TASK_SET_FULL,
    D_N,
};
static const char *const device_error_names[D_N] = {
    "not_ready", "medium_error", "hardware_error", "aborted_command", "busy", "task_set_full",
};

#define N_WIRE 8  /* -1..-7, and 0 for anything else */
#define N_PROTO 9 /* and the frame timeout */
static const char *const proto_names[N_PROTO] = {
    "other", "io", "eof", "features", "no_fd", "too_many_fds", "bad_opcode", "too_long",
    "frame_timeout",
};

static const char *const refusal_names[PRH_REFUSED_NREASONS] = { "policy", "max_clients",
                                                                    "fd_limit" };

/* Seconds; chosen around a ~1 ms SG_IO round trip and the 30 s timeout. */
static const double buckets[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10,
                                  30 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct prh_metrics {
    char transport[32];
    atomic_ulong requests[2][32][R_N]; /* [pr_out][service action][result] */
    atomic_ulong hist[N_BUCKETS + 1];  /* non-cumulative; last = above every bucket */
    atomic_ullong hist_sum_ns;
    atomic_ulong proto[N_PROTO];
    atomic_ulong device_errors[D_N];
    atomic_ulong refused[PRH_REFUSED_NREASONS];
    atomic_ulong audit_errors;
    atomic_ulong partial_devices;
    atomic_long clients;
    atomic_long in_flight;
    atomic_long worker_threads;
    atomic_ulong worker_limit;
    atomic_ulong lingers[2]; /* [0] the period passed, [1] the client's next request */
    atomic_ulong fd_lost;
    time_t start;
};

struct prh_metrics *prh_metrics_new(const char *transport)
{
    struct prh_metrics *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    snprintf(m->transport, sizeof(m->transport), "%s", transport ? transport : "");
    m->start = time(NULL);
    return m;
}

void prh_metrics_free(struct prh_metrics *m)
{
    free(m);
}

void prh_metrics_request(struct prh_metrics *m, const uint8_t *cdb, const struct prh_reply *reply,
                         bool denied, uint64_t latency_ns)
{
    enum result_label r;
    int dev = -1;
    struct scsi_sense s;

    if (!m)
        return;
    switch (reply->status) {
    case SCSI_STATUS_GOOD: r = R_GOOD; break;
    case SCSI_STATUS_CHECK_CONDITION: r = R_CHECK_CONDITION; break;
    case SCSI_STATUS_RESERVATION_CONFLICT: r = R_RESERVATION_CONFLICT; break;
    case SCSI_STATUS_BUSY: r = R_BUSY; dev = D_BUSY; break;
    case SCSI_STATUS_TASK_SET_FULL: r = R_TASK_SET_FULL; dev = D_TASK_SET_FULL; break;
    default: r = R_OTHER; break;
    }
    if (denied)
        r = R_DENIED;
    else if (reply->status == SCSI_STATUS_CHECK_CONDITION &&
             scsi_sense_decode(reply->sense, sizeof(reply->sense), &s)) {
        switch (s.key) {
        case SCSI_SENSE_NOT_READY: dev = D_NOT_READY; break;
        case SCSI_SENSE_MEDIUM_ERROR: dev = D_MEDIUM_ERROR; break;
        case SCSI_SENSE_HARDWARE_ERROR: dev = D_HARDWARE_ERROR; break;
        case SCSI_SENSE_ABORTED_COMMAND: dev = D_ABORTED_COMMAND; break;
        default: break;
        }
    }
    atomic_fetch_add(&m->requests[prh_wire_is_pr_out(cdb)][cdb[1] & 0x1f][r], 1);
    if (dev >= 0)
        atomic_fetch_add(&m->device_errors[dev], 1);
    if (denied)
        return; /* not a device round trip: keep it out of the latency histogram */
    size_t b = 0;
    while (b < N_BUCKETS && (double)latency_ns / 1e9 > buckets[b])
        b++;
    atomic_fetch_add(&m->hist[b], 1);
    atomic_fetch_add(&m->hist_sum_ns, latency_ns);
}

void prh_metrics_protocol_error(struct prh_metrics *m, int wire_err)
{
    if (!m)
        return;
    int i = wire_err == PRH_METRICS_FRAME_TIMEOUT    ? N_PROTO - 1
            : wire_err < 0 && wire_err > -N_WIRE ? -wire_err
                                                  : 0;
    atomic_fetch_add(&m->proto[i], 1);
}

void prh_metrics_connection_refused(struct prh_metrics *m, enum prh_metrics_refusal why)
{
    if (m && why < PRH_REFUSED_NREASONS)
        atomic_fetch_add(&m->refused[why], 1);
}

void prh_metrics_audit_error(struct prh_metrics *m)
{
    if (m)
        atomic_fetch_add(&m->audit_errors, 1);
}

void prh_metrics_partial_device_refused(struct prh_metrics *m)
{
    if (m)
        atomic_fetch_add(&m->partial_devices, 1);
}

void prh_metrics_clients_add(struct prh_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add(&m->clients, delta);
}

void prh_metrics_worker_threads_add(struct prh_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add(&m->worker_threads, delta);
}

void prh_metrics_worker_limit(struct prh_metrics *m)
{
    if (m)
        atomic_fetch_add(&m->worker_limit, 1);
}

void prh_metrics_linger(struct prh_metrics *m, bool by_client)
{
    if (m)
        atomic_fetch_add(&m->lingers[by_client], 1);
}

void prh_metrics_request_fd_lost(struct prh_metrics *m, const uint8_t *cdb)
{
    if (!m)
        return;
    atomic_fetch_add(&m->requests[prh_wire_is_pr_out(cdb)][cdb[1] & 0x1f][R_BUSY], 1);
    atomic_fetch_add(&m->fd_lost, 1);
}

void prh_metrics_in_flight_add(struct prh_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add(&m->in_flight, delta);
}

/* ---- rendering ------------------------------------------------------------------ */

struct out {
    char *buf;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void emit(struct out *o, const char *fmt, ...)
{
    va_list ap;

    for (;;) {
        size_t room = o->cap - o->len;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if ((size_t)n < room) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap ? o->cap * 2 : 8192;
        while (cap - o->len <= (size_t)n)
            cap *= 2;
        char *nb = realloc(o->buf, cap);
        if (!nb) {
            o->failed = true;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
}

/* Prometheus label values: escape \, " and newline. */
static void label_value(char *dst, size_t len, const char *src)
{
    size_t k = 0;
    for (; *src && k + 3 < len; src++) {
        if (*src == '\\' || *src == '"') {
            dst[k++] = '\\';
            dst[k++] = *src;
        } else if (*src == '\n') {
            dst[k++] = '\\';
            dst[k++] = 'n';
        } else {
            dst[k++] = *src;
        }
    }
    dst[k] = '\0';
}

/* "read_keys", "preempt_and_abort"; unknown actions as "0x1f". */
static void sa_label(bool out, unsigned sa, char *buf, size_t len)
{
    const char *n = out ? pr_out_sa_name(sa) : pr_in_sa_name(sa);
    if (strcmp(n, "reserved service action") == 0) {
        snprintf(buf, len, "0x%02x", sa);
        return;
    }
    size_t k = 0;
    for (; *n && k + 1 < len; n++)
        buf[k++] = *n == ' ' ? '_' : (char)(*n >= 'A' && *n <= 'Z' ? *n - 'A' + 'a' : *n);
    buf[k] = '\0';
}

char *prh_metrics_render(struct prh_metrics *m, size_t *len)
{
    struct out o = { 0 };
    char tr[80], sa[64];

    label_value(tr, sizeof(tr), m->transport);
    emit(&o, "# HELP prhelper_requests_total PR IN/OUT commands answered, by operation, "
             "service action and result.\n"
             "# TYPE prhelper_requests_total counter\n");
    for (int out = 0; out < 2; out++)
        for (unsigned a = 0; a < 32; a++)
            for (int r = 0; r < R_N; r++) {
                unsigned long v = atomic_load(&m->requests[out][a][r]);
                if (!v)
                    continue;
                sa_label(out, a, sa, sizeof(sa));
                emit(&o,
                     "prhelper_requests_total{op=\"%s\",service_action=\"%s\",result=\"%s\"} "
                     "%lu\n",
                     out ? "pr_out" : "pr_in", sa, result_names[r], v);
            }

    emit(&o, "# HELP prhelper_request_duration_seconds Time from a request's arrival to its "
             "reply, by transport.\n"
             "# TYPE prhelper_request_duration_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        cum += atomic_load(&m->hist[b]);
        emit(&o, "prhelper_request_duration_seconds_bucket{transport=\"%s\",le=\"%g\"} %lu\n", tr,
             buckets[b], cum);
    }
    cum += atomic_load(&m->hist[N_BUCKETS]);
    emit(&o, "prhelper_request_duration_seconds_bucket{transport=\"%s\",le=\"+Inf\"} %lu\n", tr,
         cum);
    emit(&o, "prhelper_request_duration_seconds_sum{transport=\"%s\"} %.9f\n", tr,
         (double)atomic_load(&m->hist_sum_ns) / 1e9);
    emit(&o, "prhelper_request_duration_seconds_count{transport=\"%s\"} %lu\n", tr, cum);

    emit(&o, "# HELP prhelper_clients_connected Client connections open now.\n"
             "# TYPE prhelper_clients_connected gauge\n"
             "prhelper_clients_connected %ld\n",
         atomic_load(&m->clients));
    emit(&o, "# HELP prhelper_requests_in_flight Requests being executed (complete, not yet "
             "answered).\n"
             "# TYPE prhelper_requests_in_flight gauge\n"
             "prhelper_requests_in_flight %ld\n",
         atomic_load(&m->in_flight));

    emit(&o, "# HELP prhelper_protocol_errors_total Connections closed for a wire protocol "
             "error, by reason.\n"
             "# TYPE prhelper_protocol_errors_total counter\n");
    for (int i = 1; i < N_PROTO; i++)
        emit(&o, "prhelper_protocol_errors_total{reason=\"%s\"} %lu\n", proto_names[i],
             atomic_load(&m->proto[i]));
    if (atomic_load(&m->proto[0]))
        emit(&o, "prhelper_protocol_errors_total{reason=\"other\"} %lu\n",
             atomic_load(&m->proto[0]));

    emit(&o, "# HELP prhelper_device_errors_total Commands the device or the OS failed, by "
             "kind (sense key or status).\n"
             "# TYPE prhelper_device_errors_total counter\n");
    for (int i = 0; i < D_N; i++)
        emit(&o, "prhelper_device_errors_total{kind=\"%s\"} %lu\n", device_error_names[i],
             atomic_load(&m->device_errors[i]));

    emit(&o, "# HELP prhelper_connections_refused_total Connections closed at accept, by "
             "reason.\n"
             "# TYPE prhelper_connections_refused_total counter\n");
    for (int i = 0; i < PRH_REFUSED_NREASONS; i++)
        emit(&o, "prhelper_connections_refused_total{reason=\"%s\"} %lu\n", refusal_names[i],
             atomic_load(&m->refused[i]));

    emit(&o, "# HELP prhelper_worker_threads Threads serving client sockets now "
             "(--workers=MIN:MAX).\n"
             "# TYPE prhelper_worker_threads gauge\n"
             "prhelper_worker_threads %ld\n",
         atomic_load(&m->worker_threads));
    emit(&o, "# HELP prhelper_worker_limit_reached_total Times every one of the MAX threads "
             "was inside a device call when another was wanted.\n"
             "# TYPE prhelper_worker_limit_reached_total counter\n"
             "prhelper_worker_limit_reached_total %lu\n",
         atomic_load(&m->worker_limit));
    emit(&o, "# HELP prhelper_worker_lingers_total Waits of a thread, after answering a "
             "client that sends back to back, in that client's socket for its next request, by "
             "how they ended.\n"
             "# TYPE prhelper_worker_lingers_total counter\n"
             "prhelper_worker_lingers_total{ended_by=\"client\"} %lu\n"
             "prhelper_worker_lingers_total{ended_by=\"period\"} %lu\n",
         atomic_load(&m->lingers[1]), atomic_load(&m->lingers[0]));
    emit(&o, "# HELP prhelper_fd_lost_total Requests answered BUSY because the daemon had no "
             "free file descriptor for the one they carried.\n"
             "# TYPE prhelper_fd_lost_total counter\n"
             "prhelper_fd_lost_total %lu\n",
         atomic_load(&m->fd_lost));
    emit(&o, "# HELP prhelper_audit_errors_total Audit records that could not be written.\n"
             "# TYPE prhelper_audit_errors_total counter\n"
             "prhelper_audit_errors_total %lu\n",
         atomic_load(&m->audit_errors));
    emit(&o, "# HELP prhelper_partial_device_refusals_total PR requests refused because the "
             "fd is only part of a LUN (a partition, a device-mapper device that is not a "
             "multipath map over whole disks).\n"
             "# TYPE prhelper_partial_device_refusals_total counter\n"
             "prhelper_partial_device_refusals_total %lu\n",
         atomic_load(&m->partial_devices));
    emit(&o, "# HELP prhelper_start_time_seconds When the daemon started (Unix time).\n"
             "# TYPE prhelper_start_time_seconds gauge\n"
             "prhelper_start_time_seconds %lld\n",
         (long long)m->start);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    if (len)
        *len = o.len;
    return o.buf;
}

int prh_metrics_write_file(struct prh_metrics *m, const char *path)
{
    char tmp[4096];
    size_t len;
    int ret = 0;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return -ENAMETOOLONG;
    char *text = prh_metrics_render(m, &len);
    if (!text)
        return -ENOMEM;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        ret = -errno;
        free(text);
        return ret;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)n;
    }
    free(text);
    if (!ret && fsync(fd) < 0)
        ret = -errno;
    if (close(fd) < 0 && !ret)
        ret = -errno;
    if (!ret && rename(tmp, path) < 0)
        ret = -errno;
    if (ret)
        unlink(tmp);
    return ret;
}

static int stats_handler(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    size_t len;

    if (req->argc != 1) {
        fprintf(out, "stats takes no arguments\n");
        return -1;
    }
    char *text = prh_metrics_render(opaque, &len);
    if (!text) {
        fprintf(out, "out of memory\n");
        return -1;
    }
    fwrite(text, 1, len, out);
    free(text);
    return 0;
}

int prh_metrics_control_register(struct prh_metrics *m, struct prh_control *ctl)
{
    const struct prh_ctl_command cmd = {
        .name = "stats",
        .args = "",
        .help = "the metrics in the Prometheus text format (prhelper-cli stats)",
        .handler = stats_handler,
        .opaque = m,
    };
    return prh_control_add(ctl, &cmd);
}

struct prh_metrics_writer {
    struct prh_metrics *m;
    char *path;
    unsigned interval_s;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

static void *writer_main(void *arg)
{
    struct prh_metrics_writer *w = arg;
    struct timespec next;

    pthread_mutex_lock(&w->lock);
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!w->stop) {
        next.tv_sec += w->interval_s;
        while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &next) != ETIMEDOUT)
            ;
        if (w->stop)
            break;
        pthread_mutex_unlock(&w->lock);
        prh_metrics_write_file(w->m, w->path);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct prh_metrics_writer *prh_metrics_writer_start(struct prh_metrics *m, const char *path,
                                                    unsigned interval_s)
{
    struct prh_metrics_writer *w = calloc(1, sizeof(*w));
    pthread_condattr_t ca;
    int r;

    if (!w)
        return NULL;
    w->m = m;
    w->interval_s = interval_s ? interval_s : 1;
    w->path = strdup(path);
    if (!w->path) {
        free(w);
        errno = ENOMEM;
        return NULL;
    }
    r = prh_metrics_write_file(m, path);
    if (r < 0) {
        free(w->path);
        free(w);
        errno = -r;
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    r = pthread_create(&w->thread, NULL, writer_main, w);
    if (r) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->path);
        free(w);
        errno = r;
        return NULL;
    }
    return w;
}

void prh_metrics_writer_stop(struct prh_metrics_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    prh_metrics_write_file(w->m, w->path);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->path);
    free(w);
}
