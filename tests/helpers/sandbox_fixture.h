/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox_fixture.h - a forked child that becomes the daemon as main()
 * leaves it after start-up: options parsed by prh_cli_parse(), audit file
 * and PID file open, socket bound, privileges dropped to the transport's
 * capabilities, then prh_sandbox_install() -- the daemon's own functions,
 * in the daemon's order.  For test_sandbox.c and test_sandbox_attack.c.
 * Header only, like prh_test_util.h.
 */
#ifndef PRHELPER_TESTS_SANDBOX_FIXTURE_H
#define PRHELPER_TESTS_SANDBOX_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>

#include "prh_test_util.h"
#include "prhelper/audit.h"
#include "prhelper/cli.h"
#include "prhelper/control.h"
#include "prhelper/landlock.h"
#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "prhelper/privs.h"
#include "prhelper/sandbox.h"
#include "prhelper/seccomp.h"
#include "prhelper/transport.h"

/* How the daemon is started. */
enum sbx_mode {
    SBX_DEFAULT,    /* both layers */
    SBX_NO_SECCOMP, /* --no-seccomp: Landlock only */
    SBX_NO_SANDBOX, /* --no-sandbox: neither (the attacks must work here) */
};

struct sbx_case {
    const char *transport;
    enum sbx_mode mode;
    int max_abi; /* Landlock ABI cap, 0: the kernel's newest */
    const char *extra; /* one more option, or NULL */
};

/* Paths of one test, all under a fresh directory. */
struct sbx_env {
    char dir[64];
    char state[256], metrics[256], audit[256], pidfile[256], sock[108], ctl[108];
    char outside[256]; /* a directory the sandbox grants nothing in */
    char victim[300];  /* outside/victim: a file the attacks aim at */
    int tcp_port;      /* the test's own TCP listener on 127.0.0.1, 0: none */
    int tcp_fd;
};

/* What the child holds once it is the started daemon. */
struct sbx_daemon {
    struct prh_options o;
    const struct prh_transport *t;
    struct prh_audit *audit;
    struct prh_metrics *metrics;
    struct prh_sandbox *sandbox;
    struct prh_control *control; /* --control, not served */
    int listen_fd, pid_fd;
    pid_t sleeper; /* a process of the same credentials, outside the sandbox */
};

/* The cases that modes default and --no-seccomp make with each transport
 * (sim, sg, mpath) and each Landlock ABI cap of ABIS this kernel has, in
 * that order: *c is the next one from index *i on; false after the last. */
static inline bool sbx_next_case(size_t *i, const int *abis, size_t nabis, struct sbx_case *c)
{
    static const char *const transports[] = { "sim", "sg", "mpath" };
    for (; *i < 3 * 2 * nabis; ++*i) {
        size_t t = *i / (2 * nabis), mode = *i / nabis % 2, a = *i % nabis;
        if (abis[a] > 0 && prh_landlock_abi(NULL) < abis[a])
            continue;
        *c = (struct sbx_case){ transports[t], mode ? SBX_NO_SECCOMP : SBX_DEFAULT, abis[a], NULL };
        ++*i;
        return true;
    }
    return false;
}

static inline const char *sbx_mode_name(enum sbx_mode m)
{
    return m == SBX_DEFAULT ? "default" : m == SBX_NO_SECCOMP ? "--no-seccomp" : "--no-sandbox";
}

static inline void sbx_env_init(struct sbx_env *e)
{
    char *d = tu_tmpdir();
    assert_non_null(d);
    snprintf(e->dir, sizeof(e->dir), "%s", d);
    free(d);
    snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
    snprintf(e->metrics, sizeof(e->metrics), "%s/metrics/prhelper.prom", e->dir);
    snprintf(e->audit, sizeof(e->audit), "%s/audit.jsonl", e->dir);
    snprintf(e->pidfile, sizeof(e->pidfile), "%s/run/prhelper.pid", e->dir);
    snprintf(e->sock, sizeof(e->sock), "%s/run/prhelper.sock", e->dir);
    snprintf(e->ctl, sizeof(e->ctl), "%s/run/prhelper.ctl", e->dir);
    snprintf(e->outside, sizeof(e->outside), "%s/outside", e->dir);
    snprintf(e->victim, sizeof(e->victim), "%s/victim", e->outside);
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/metrics", e->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/run", e->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkdir(e->state, 0700), 0);
    assert_int_equal(mkdir(e->outside, 0700), 0);

    /* A TCP listener the attacks try to reach (none without loopback). */
    e->tcp_port = 0;
    e->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    if (e->tcp_fd >= 0 && bind(e->tcp_fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        listen(e->tcp_fd, 64) == 0 && getsockname(e->tcp_fd, (struct sockaddr *)&a, &alen) == 0)
        e->tcp_port = ntohs(a.sin_port);
}

/* The victim file, (re)created before every attack. */
static inline void sbx_env_reset_victim(const struct sbx_env *e)
{
    int fd = open(e->victim, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "victim\n", 7), 7);
    close(fd);
}

static inline void sbx_env_free(struct sbx_env *e)
{
    if (e->tcp_fd >= 0)
        close(e->tcp_fd);
    tu_rm_rf(e->dir);
}

/* A block device node in /dev, or NULL (none visible here). */
static inline const char *sbx_block_device(dev_t *rdev)
{
    static char path[300];
    DIR *d = opendir("/dev");
    struct dirent *de;
    const char *found = NULL;
    while (d && (de = readdir(d)) && !found) {
        struct stat st;
        snprintf(path, sizeof(path), "/dev/%s", de->d_name);
        if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
            *rdev = st.st_rdev;
            found = path;
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* In the child: die with a message the parent sees as exit status 100. */
static inline __attribute__((noreturn)) void sbx_die(const char *what, const char *why)
{
    fprintf(stderr, "sandbox fixture: %s: %s\n", what, why);
    _exit(100);
}

/*
 * In a forked child: start as main() does and enter the sandbox of c.
 * Never returns on failure (exit status 100).
 */
static inline void sbx_enter(const struct sbx_env *e, const struct sbx_case *c,
                             struct sbx_daemon *dm)
{
    char targ[64], sarg[300], marg[300], aarg[300], carg[300], err[512];
    char *argv[16];
    int n = 0;
    memset(dm, 0, sizeof(*dm));
    snprintf(targ, sizeof(targ), "--transport=%s", c->transport);
    snprintf(sarg, sizeof(sarg), "--state-dir=%s", e->state);
    snprintf(marg, sizeof(marg), "--metrics-file=%s", e->metrics);
    snprintf(aarg, sizeof(aarg), "--audit=file:%s", e->audit);
    snprintf(carg, sizeof(carg), "--control=%s", e->ctl);
    argv[n++] = (char *)"prhelper";
    argv[n++] = targ;
    argv[n++] = sarg;
    argv[n++] = marg;
    argv[n++] = aarg;
    argv[n++] = carg;
    argv[n++] = (char *)"-k";
    argv[n++] = (char *)e->sock;
    argv[n++] = (char *)"-f";
    argv[n++] = (char *)e->pidfile;
    if (c->mode == SBX_NO_SECCOMP)
        argv[n++] = (char *)"--no-seccomp";
    if (c->mode == SBX_NO_SANDBOX)
        argv[n++] = (char *)"--no-sandbox";
    if (c->extra)
        argv[n++] = (char *)c->extra;
    argv[n] = NULL;
    if (prh_cli_parse(n, argv, &dm->o, stderr) != PRH_CLI_RUN)
        sbx_die("options", "not accepted");
    dm->t = prh_transport_find(dm->o.transport);
    if (!dm->t)
        sbx_die("transport", dm->o.transport);

    /* What main() opens while privileged: the socket, the control
     * socket, the audit file, the metrics registry, the PID file. */
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", dm->o.socket_path);
    unlink(a.sun_path); /* left by the previous attack (a "crash") */
    dm->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (dm->listen_fd < 0 || bind(dm->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(dm->listen_fd, 8) < 0)
        sbx_die("socket", strerror(errno));
    dm->control = prh_control_new();
    if (!dm->control || prh_control_listen(dm->control, dm->o.control_path, err, sizeof(err)) < 0)
        sbx_die("control socket", dm->control ? err : "out of memory");
    dm->audit = prh_audit_open(dm->o.audit_sink, dm->o.audit_path, err, sizeof(err));
    dm->metrics = prh_metrics_new(dm->t->name);
    if (!dm->audit || !dm->metrics)
        sbx_die("audit/metrics", err);
    dm->pid_fd = open(dm->o.pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (dm->pid_fd < 0 || dprintf(dm->pid_fd, "%ld\n", (long)getpid()) < 0)
        sbx_die("pid file", strerror(errno));

    struct prh_privs privs = { .keep = dm->t->capabilities };
    if (prh_privs_drop(&privs, err, sizeof(err)) < 0)
        sbx_die("privilege drop", err);
    /* Same credentials as the daemon, but not in its sandbox.  It ends
     * when the child does (EOF on its pipe): a parent-death signal would
     * not reach it, Landlock scopes signals (ABI 6). */
    int life[2];
    if (pipe2(life, O_CLOEXEC) < 0)
        sbx_die("pipe", strerror(errno));
    dm->sleeper = fork();
    if (dm->sleeper == 0) {
        char byte;
        int keep = dup2(life[0], 3);
        close_range(4, ~0u, 0); /* holds none of the test's pipes open */
        while (keep == 3 && read(3, &byte, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(life[0]);
    struct prh_sandbox_config sbc;
    struct stat st;
    prh_sandbox_config_init(&sbc, &dm->o, dm->t->name);
    sbc.landlock_max_abi = c->max_abi;
    if (stat(dm->o.socket_path, &st) == 0) {
        sbc.socket_path = dm->o.socket_path;
        sbc.socket_dev = st.st_dev;
        sbc.socket_ino = st.st_ino;
    }
    prh_control_socket_file(dm->control, &sbc.control_path, &sbc.control_dev, &sbc.control_ino);
    if (fstat(dm->pid_fd, &st) == 0) {
        sbc.pidfile = dm->o.pidfile;
        sbc.pidfile_dev = st.st_dev;
        sbc.pidfile_ino = st.st_ino;
    }
    dm->sandbox = prh_sandbox_install(&sbc, err, sizeof(err));
    if (!dm->sandbox)
        sbx_die("prh_sandbox_install", err);
}

/* The Landlock ABI c gets on this kernel (0: none). */
static inline int sbx_case_abi(const struct sbx_case *c)
{
    if (c->mode == SBX_NO_SANDBOX)
        return 0;
    int abi = prh_landlock_abi(NULL);
    if (abi > PRH_LANDLOCK_ABI_KNOWN)
        abi = PRH_LANDLOCK_ABI_KNOWN;
    return c->max_abi > 0 && abi > c->max_abi ? c->max_abi : abi;
}

static inline void sbx_case_name(const struct sbx_case *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s%s%s, Landlock ABI %d", c->transport, sbx_mode_name(c->mode),
             c->extra ? " " : "", c->extra ? c->extra : "", sbx_case_abi(c));
}

#endif
