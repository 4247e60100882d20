/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ops_fixture.h - a server on the sim transport with the operations
 * options (audit trail, metrics, access policy), for test_audit.c,
 * test_metrics.c and test_policy.c.  Header only, like prh_test_util.h.
 */
#ifndef PRHELPER_TESTS_OPS_FIXTURE_H
#define PRHELPER_TESTS_OPS_FIXTURE_H

#include <pthread.h>

#include "prh_test_util.h"
#include "prhelper/audit.h"
#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "prhelper/policy.h"
#include "prhelper/server.h"
#include "prhelper/transport.h"

struct ops_fx {
    char *dir;
    char sock[256];
    char audit_path[300];
    void *tstate;
    struct prh_server *srv;
    struct prh_audit *audit;
    struct prh_metrics *metrics;
    struct prh_policy policy;
    const char *sysfs_root;
    pthread_t thread;
    bool running;
};

/*
 * The sim transport, except that every fd a client sends stands for one
 * disk file: these tests send /dev/null, a device number that
 * --allow-device and the audit record can name, but the simulator models
 * only disks (a regular file, a block or an sg device).
 */
static int ops_fx_disk_fd = -1;
static struct prh_transport ops_fx_sim;

static int ops_fx_open(void *state, void *nexus, int fd, const struct stat *st, void **dev,
                       struct prh_result *res)
{
    struct stat disk;

    (void)fd;
    (void)st;
    if (fstat(ops_fx_disk_fd, &disk) < 0)
        return -1;
    return prh_transport_sim.open(state, nexus, ops_fx_disk_fd, &disk, dev, res);
}

static void *ops_fx_thread(void *arg)
{
    prh_server_run(arg);
    return NULL;
}

static inline void ops_fx_init(struct ops_fx *f)
{
    memset(f, 0, sizeof(*f));
    f->dir = tu_tmpdir();
    snprintf(f->sock, sizeof(f->sock), "%s/sock", f->dir);
    snprintf(f->audit_path, sizeof(f->audit_path), "%s/audit.jsonl", f->dir);
    prh_log_set_verbosity(0);
}

/* Start with a file audit trail and metrics (each optional). */
static inline int ops_fx_start(struct ops_fx *f, bool audit, bool metrics)
{
    char err[256], state_dir[300];
    struct prh_transport_options o = { .sim_profile = "spc4" };
    struct sockaddr_un a = { .sun_family = AF_UNIX };

    snprintf(state_dir, sizeof(state_dir), "%s/state", f->dir);
    o.state_dir = state_dir;
    char *disk = tu_disk(f->dir, "disk");
    ops_fx_disk_fd = open(disk, O_RDWR | O_CLOEXEC);
    free(disk);
    ops_fx_sim = prh_transport_sim;
    ops_fx_sim.open = ops_fx_open;
    if (prh_transport_sim.init(&o, &f->tstate, err, sizeof(err)) < 0)
        return -1;
    if (audit && !(f->audit = prh_audit_open(PRH_AUDIT_FILE, f->audit_path, err, sizeof(err))))
        return -1;
    if (metrics && !(f->metrics = prh_metrics_new("sim")))
        return -1;
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    memcpy(a.sun_path, f->sock, strnlen(f->sock, sizeof(a.sun_path) - 1));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 256) < 0)
        return -1;
    struct prh_server_config cfg = {
        .listen_fd = lfd,
        .socket_path = f->sock,
        .transport = &ops_fx_sim,
        .transport_state = f->tstate,
        .workers = 4,
        .signal_fd = -1,
        .drain_timeout_ms = 2000,
        .audit = f->audit,
        .metrics = f->metrics,
        .policy = &f->policy,
        .sysfs_root = f->sysfs_root,
    };
    f->srv = prh_server_new(&cfg);
    if (!f->srv)
        return -1;
    if (pthread_create(&f->thread, NULL, ops_fx_thread, f->srv) != 0)
        return -1;
    f->running = true;
    return 0;
}

static inline void ops_fx_stop(struct ops_fx *f)
{
    if (f->running) {
        prh_server_stop(f->srv);
        pthread_join(f->thread, NULL);
        prh_server_free(f->srv);
        prh_transport_sim.fini(f->tstate);
        f->running = false;
    }
    if (ops_fx_disk_fd >= 0)
        close(ops_fx_disk_fd);
    ops_fx_disk_fd = -1;
    prh_audit_close(f->audit);
    f->audit = NULL;
    prh_metrics_free(f->metrics);
    f->metrics = NULL;
}

static inline void ops_fx_fini(struct ops_fx *f)
{
    ops_fx_stop(f);
    tu_tmpdir_free(f->dir);
}

/* cmocka setup/teardown: *state is a struct ops_fx. */
static inline int ops_fx_setup(void **state)
{
    struct ops_fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    ops_fx_init(f);
    *state = f;
    return 0;
}

static inline int ops_fx_teardown(void **state)
{
    ops_fx_fini(*state);
    free(*state);
    return 0;
}

/* The whole of a file, malloc'd and NUL-terminated ("" if missing). */
static inline char *ops_slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    if (fp) {
        size_t n = fread(buf, 1, (1 << 20) - 1, fp);
        buf[n] = '\0';
        fclose(fp);
    }
    return buf;
}

static inline int ops_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The n-th line (0-based) of s into out. */
static inline bool ops_line(const char *s, int n, char *out, size_t len)
{
    for (int i = 0; i < n; i++) {
        s = strchr(s, '\n');
        if (!s)
            return false;
        s++;
    }
    size_t k = strcspn(s, "\n");
    if (!s[0] || k >= len)
        return false;
    memcpy(out, s, k);
    out[k] = '\0';
    return true;
}

#endif
