/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox.c - Landlock under seccomp, and the exit cleaner (sandbox.h, docs/security.md). */
#include "prhelper/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prhelper/audit.h"
#include "prhelper/cli.h"
#include "prhelper/landlock.h"
#include "prhelper/log.h"
#include "prhelper/seccomp.h"

struct prh_sandbox {
    int landlock_abi;   /* 0: not enforced */
    bool seccomp;
    const char *transport;
    pid_t cleaner;      /* 0: none */
    int done_fd;        /* to the cleaner: one byte = clean exit, then EOF */
    int gone_fd;        /* from the cleaner: EOF once it has finished */
};

/* Transports that reach devices: sysfs identity, /dev path nodes of
 * dm-multipath maps, and multipathd. */
static bool serves_devices(const char *t)
{
    return strcmp(t, "sg") == 0 || strcmp(t, "mpath") == 0;
}

void prh_sandbox_config_init(struct prh_sandbox_config *cfg, const struct prh_options *o,
                             const char *transport)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->transport = transport;
    cfg->landlock = !o->no_sandbox;
    cfg->seccomp = !o->no_sandbox && !o->no_seccomp;
    cfg->state_dir = o->state_dir;
    cfg->metrics_file = o->metrics_file;
    /* The audit trail and the metrics file need a few calls more
     * (prh_ops_syscalls, audit.h). */
    cfg->extra_syscalls = o->metrics_file ? prh_ops_metrics_file_syscalls : prh_ops_syscalls;
    /* multipathd's socket may be abstract (multipathd.h) unless the
     * option names a path or turns it off. */
    const char *mpathd = o->multipathd_socket;
    cfg->abstract_unix = transport && serves_devices(transport) && (!mpathd || mpathd[0] == '@');
}

#define MAX_RULES 8

/*
 * What the daemon may still do with files once started (docs/security.md):
 * read /proc (peers' cmdline for the audit trail and the sim nexus name)
 * and /sys (device identity, multipath maps); sg/mpath: open /dev nodes
 * read-only and ioctl them (the paths of a map; SG_IO needs no write
 * access with CAP_SYS_RAWIO); /dev/mapper/control, which needs write
 * access, was opened at start-up (device.c): no rule, so nothing in /dev
 * can be opened for writing; sim: everything of regular files in its state
 * directory; the metrics file's directory: create and replace files.
 * The audit file, trace files and the PID file are written through
 * descriptors opened before the sandbox: no rule.
 */
static size_t build_rules(const struct prh_sandbox_config *cfg, const char *t,
                          struct prh_landlock_rule *rules, char *metrics_dir, size_t dirlen)
{
    size_t n = 0;

    rules[n++] = (struct prh_landlock_rule){ "/proc", PRH_LL_READ, true };
    rules[n++] = (struct prh_landlock_rule){ "/sys", PRH_LL_READ, true };
    if (serves_devices(t)) {
        rules[n++] = (struct prh_landlock_rule){ "/dev", PRH_LL_READ | PRH_LL_DEV_IOCTL, true };
    } else if (cfg->state_dir) {
        rules[n++] = (struct prh_landlock_rule){ cfg->state_dir,
                                                 PRH_LL_READ | PRH_LL_WRITE |
                                                     PRH_LL_CREATE_REMOVE,
                                                 false };
    }
    if (cfg->metrics_file) {
        const char *slash = strrchr(cfg->metrics_file, '/');
        if (!slash)
            snprintf(metrics_dir, dirlen, ".");
        else if (slash == cfg->metrics_file)
            snprintf(metrics_dir, dirlen, "/");
        else
            snprintf(metrics_dir, dirlen, "%.*s", (int)(slash - cfg->metrics_file),
                     cfg->metrics_file);
        /* optional: a missing directory fails the metrics writer's first
         * write, with its own message */
        rules[n++] = (struct prh_landlock_rule){ metrics_dir, PRH_LL_WRITE | PRH_LL_CREATE_REMOVE,
                                                 true };
    }
#ifdef PRH_COVERAGE_DIR
    /* gcov writes .gcda files under the build tree at exit. */
    rules[n++] = (struct prh_landlock_rule){ PRH_COVERAGE_DIR,
                                             PRH_LL_READ | PRH_LL_WRITE | PRH_LL_CREATE_REMOVE |
                                                 PRH_LL_MAKE_DIR,
                                             true };
#endif
    return n;
}

/* ---- the exit cleaner ---------------------------------------------------- */

static void remove_if_same(const char *path, dev_t dev, ino_t ino)
{
    struct stat st;
    if (path && stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
        unlink(path);
}

/* The cleaner's own filter: wait, compare, unlink, exit. */
static void cleaner_seccomp(void)
{
    static const char *const calls[] = {
        "read", "close", "stat", "newfstatat", "statx", "unlink", "unlinkat", "exit",
        "exit_group", "rt_sigreturn", NULL,
    };
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return;
    for (const char *const *c = calls; *c; c++) {
        int nr = seccomp_syscall_resolve_name(*c);
        if (nr != __NR_SCMP_ERROR)
            seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    seccomp_load(ctx);
    seccomp_release(ctx);
}

static __attribute__((noreturn)) void cleaner_main(const struct prh_sandbox_config *cfg,
                                                   int done_rd, int gone_wr)
{
    sigset_t all;
    char c;

    /* Only the daemon's end of the pipe ends it (SIGKILL aside): a
     * SIGTERM to the process group must not leave the files behind. */
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    prctl(PR_SET_NAME, "prhelper-exit", 0, 0, 0);
    /* Hold nothing of the daemon's: not its socket, not its stdio (a
     * caller reading the daemon's output until EOF must not wait for us). */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    }
    int lo = done_rd < gone_wr ? done_rd : gone_wr, hi = done_rd ^ gone_wr ^ lo;
    close_range(STDERR_FILENO + 1, (unsigned)lo - 1, 0);
    close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
    close_range((unsigned)hi + 1, ~0u, 0);
    cleaner_seccomp();

    ssize_t n;
    do {
        n = read(done_rd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) {
        remove_if_same(cfg->socket_path, cfg->socket_dev, cfg->socket_ino);
        remove_if_same(cfg->pidfile, cfg->pidfile_dev, cfg->pidfile_ino);
        remove_if_same(cfg->control_path, cfg->control_dev, cfg->control_ino);
    }
    _exit(0);
}

/* Fork the cleaner (outside the Landlock domain about to be created). */
static int start_cleaner(struct prh_sandbox *sb, const struct prh_sandbox_config *cfg)
{
    int done[2], gone[2];

    if (pipe2(done, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(gone, O_CLOEXEC) < 0) {
        int e = errno;
        close(done[0]);
        close(done[1]);
        return -e;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(done[0]);
        close(done[1]);
        close(gone[0]);
        close(gone[1]);
        return -e;
    }
    if (pid == 0)
        cleaner_main(cfg, done[0], gone[1]);
    close(done[0]);
    close(gone[1]);
    sb->cleaner = pid;
    sb->done_fd = done[1];
    sb->gone_fd = gone[0];
    return 0;
}

/* ---- install --------------------------------------------------------------- */

/* sd_notify() to an abstract socket ("@..." in NOTIFY_SOCKET) must stay
 * possible (Landlock ABI 6 scopes abstract Unix sockets). */
static bool abstract_notify_socket(void)
{
    const char *n = getenv("NOTIFY_SOCKET");
    return n && n[0] == '@';
}

struct prh_sandbox *prh_sandbox_install(const struct prh_sandbox_config *cfg, char *errmsg,
                                        size_t len)
{
    const char *t = cfg->transport ? cfg->transport : "sim";
    struct prh_sandbox *sb = calloc(1, sizeof(*sb));
    int r = 0;

    if (!sb) {
        snprintf(errmsg, len, "sandbox: out of memory");
        return NULL;
    }
    sb->transport = t;
    sb->done_fd = sb->gone_fd = -1;
    /* Files glibc reads on first use, read now: the time zone (syslog's
     * timestamps). */
    tzset();

    if (cfg->landlock) {
        const char *why = NULL;
        struct prh_landlock_rule rules[MAX_RULES];
        char metrics_dir[4096];
        struct prh_landlock_ruleset rs = {
            .rules = rules,
            .nrules = build_rules(cfg, t, rules, metrics_dir, sizeof(metrics_dir)),
            .abstract_unix = cfg->abstract_unix || abstract_notify_socket(),
            .max_abi = cfg->landlock_max_abi,
        };
        bool cleanup = cfg->socket_path || cfg->pidfile || cfg->control_path;
        if (cleanup && prh_landlock_abi(NULL) > 0 && (r = start_cleaner(sb, cfg)) < 0)
            snprintf(errmsg, len, "sandbox: cannot start the exit cleaner: %s", strerror(-r));
        if (r == 0)
            r = prh_landlock_restrict(&rs, &why, errmsg, len);
        if (r == 0)
            prh_log(1, "Landlock is not available (%s): running without file-system and "
                       "network rules; the seccomp filter still applies",
                    why ? why : "unknown reason");
        if (r > 0) {
            sb->landlock_abi = r;
            r = 0;
        }
    }
    if (r == 0 && cfg->seccomp) {
        struct prh_seccomp_config sc = { .transport = t, .extra_syscalls = cfg->extra_syscalls };
        r = prh_seccomp_install(&sc, errmsg, len);
        sb->seccomp = r == 0;
    }
    if (r < 0) {
        /* Start-up fails: the cleaner removes the socket and PID file now
         * (the caller's own unlink() may be refused by Landlock). */
        prh_sandbox_exit(sb);
        return NULL;
    }
    return sb;
}

int prh_sandbox_landlock_abi(const struct prh_sandbox *sb)
{
    return sb->landlock_abi;
}

bool prh_sandbox_seccomp(const struct prh_sandbox *sb)
{
    return sb->seccomp;
}

bool prh_sandbox_removes_files(const struct prh_sandbox *sb)
{
    return sb->cleaner > 0;
}

void prh_sandbox_describe(const struct prh_sandbox *sb, char *buf, size_t len)
{
    char ll[64];
    if (sb->landlock_abi > 0)
        snprintf(ll, sizeof(ll), "Landlock ABI %d", sb->landlock_abi);
    else
        snprintf(ll, sizeof(ll), "no Landlock");
    snprintf(buf, len, "%s, %s (%s)", ll, sb->seccomp ? "seccomp filter" : "no seccomp filter",
             sb->transport);
}

void prh_sandbox_exit(struct prh_sandbox *sb)
{
    if (!sb)
        return;
    if (sb->cleaner > 0) {
        ssize_t n;
        do {
            n = write(sb->done_fd, "x", 1);
        } while (n < 0 && errno == EINTR);
        close(sb->done_fd);
        /* Wait until it is done (its end closes when it exits). */
        struct pollfd p = { .fd = sb->gone_fd, .events = POLLIN };
        char c;
        while (poll(&p, 1, 5000) > 0 && read(sb->gone_fd, &c, 1) > 0)
            ;
        close(sb->gone_fd);
    }
    free(sb);
}
