/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_sandbox.c - what still works in the daemon's sandbox (state file
 * save, audit append, metrics rewrite, the PID file and socket removed at
 * exit, /proc and /sys reads, path nodes opened, threads created later),
 * multipathd and syslog sockets connected at run time,
 * and how the sandbox is set up: options, Landlock ABI by ABI, a kernel
 * without Landlock, a process that already has threads.  The attacks are
 * in test_sandbox_attack.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <seccomp.h>

#include "fake_multipathd.h"
#include "sandbox_fixture.h"
#include "prhelper/multipathd.h"
#include "prhelper/pr_sim_store.h"
#include "prhelper/device.h"

/* Run fn in a child that entered the sandbox of c; its exit status
 * (fn's return value; 100: set-up failed). */
static int in_sandbox(const struct sbx_env *e, const struct sbx_case *c,
                      int (*fn)(const struct sbx_env *, struct sbx_daemon *))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sbx_daemon dm;
        sbx_enter(e, c, &dm);
        _exit(fn(e, &dm));
    }
    /* A bound for a hung child, not a timing check: an ASan build on a
     * loaded 2-core host took more than 20 s for one mpath case. */
    return tu_wait_exit(pid, 90000);
}

/* ---- what still works ------------------------------------------------------ */

enum {
    OK_STATE = 1 << 0,
    OK_AUDIT = 1 << 1,
    OK_METRICS = 1 << 2,
    OK_PROC = 1 << 3,
    OK_SYS = 1 << 4,
    OK_PATH = 1 << 5,
    OK_THREADS = 1 << 6,
    /* connect() at run time: the syslog sink, multipathd (sg/mpath);
     * one bit: an exit status holds eight */
    OK_CONNECT = 1 << 7,
};

/* Outside the sandbox, in the parent: a syslog daemon's datagram socket
 * and multipathd on its two kinds of socket name (pathname, abstract). */
static char syslog_path[108];
static char mpathd_path[108], mpathd_abstract[108];

static int audit_append(struct prh_audit *audit, const char *transport)
{
    struct prh_audit_client cl = { .serial = 1 };
    struct prh_audit_record r = { .event = PRH_AUDIT_EV_CLIENT_DENIED,
                                  .transport = transport,
                                  .client = &cl };
    clock_gettime(CLOCK_REALTIME, &r.time);
    return prh_audit_emit(audit, &r) == 0 && prh_audit_emit(audit, &r) == 0;
}

/* What a worker thread does: an allowed action and a forbidden one. */
static void *thread_work(void *arg)
{
    const struct sbx_env *e = arg;
    int fd = open(e->victim, O_WRONLY | O_CLOEXEC);
    bool refused = fd < 0;
    if (fd >= 0)
        close(fd);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)getpid());
    fd = open(path, O_RDONLY | O_CLOEXEC);
    bool read_ok = fd >= 0;
    if (fd >= 0)
        close(fd);
    return (void *)(intptr_t)(refused && read_ok);
}

/* Threads created and ended after the sandbox (the elastic worker pool):
 * each is confined too. */
static bool threads_after_the_sandbox(const struct sbx_env *e)
{
    for (int round = 0; round < 20; round++) {
        pthread_t th[4];
        for (int i = 0; i < 4; i++)
            if (pthread_create(&th[i], NULL, thread_work, (void *)e) != 0)
                return false;
        for (int i = 0; i < 4; i++) {
            void *res;
            if (pthread_join(th[i], &res) != 0 || !res)
                return false;
        }
    }
    return true;
}

static int allowed_actions(const struct sbx_env *e, struct sbx_daemon *dm)
{
    int ok = 0;
    bool sim = strcmp(dm->t->name, "sim") == 0;
    const uint8_t image[] = "state";
    char path[300];

    if (!sim ||
        (pr_sim_store_save(e->state, "lun0", image, sizeof(image)) == 0 &&
         pr_sim_store_save(e->state, "lun0", image, sizeof(image)) == 0 &&
         pr_sim_store_path(e->state, "lun0", path, sizeof(path)) == 0 && access(path, F_OK) == 0))
        ok |= OK_STATE;
    if (audit_append(dm->audit, dm->t->name))
        ok |= OK_AUDIT;
    /* The syslog sink connects again at run time when syslog restarted
     * (socket + connect under the filter, audit.c): a sink opened now
     * makes the same calls. */
    char err[256];
    struct prh_audit *sl = prh_audit_open(PRH_AUDIT_SYSLOG, syslog_path, err, sizeof(err));
    bool syslog_ok = sl && audit_append(sl, dm->t->name) && prh_audit_errors(sl) == 0;
    prh_audit_close(sl);
    /* sg/mpath: multipathd is told of every key and reservation change
     * (socket(AF_UNIX, SOCK_STREAM), connect, sendto, poll, recvfrom),
     * on a pathname socket and on its default, abstract, name. */
    int told = 0;
    for (int i = 0; i < 2 && !sim; i++) {
        struct prh_mpathd *md = prh_mpathd_new(i ? mpathd_abstract : mpathd_path, 5000);
        if (md && prh_mpathd_command(md, "setprstatus map dm-3", NULL, 0) == 1)
            told++;
        prh_mpathd_free(md);
    }
    if (syslog_ok && (sim || told == 2))
        ok |= OK_CONNECT;
    if (prh_metrics_write_file(dm->metrics, e->metrics) == 0 &&
        prh_metrics_write_file(dm->metrics, e->metrics) == 0)
        ok |= OK_METRICS;
    /* The audit trail's and the sim nexus name's source: a peer's cmdline
     * (the sleeper: another process, outside the sandbox). */
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)dm->sleeper);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char buf[64];
    if (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
        ok |= OK_PROC;
    if (fd >= 0)
        close(fd);
    fd = open("/sys/dev/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 || errno == ENOENT)
        ok |= OK_SYS;
    if (fd >= 0)
        close(fd);
    /* sg/mpath: a multipath path node, opened as the path layer does. */
    struct prh_dev_path p = { 0 };
    const char *dev = sbx_block_device(&p.dev);
    if (sim || !dev) {
        ok |= OK_PATH;
    } else {
        snprintf(p.name, sizeof(p.name), "%s", dev + strlen("/dev/"));
        int pfd = prh_dev_system_ops.open_path(&p);
        if (pfd >= 0) {
            ok |= OK_PATH;
            close(pfd);
        }
    }
    if (threads_after_the_sandbox(e))
        ok |= OK_THREADS;
    prh_sandbox_exit(dm->sandbox);
    return ok;
}

static void test_sandbox_allowed_actions_still_work(void **state)
{
    (void)state;
    static const int abis[] = { 0, 4, 2, 1 };
    const int all = OK_STATE | OK_AUDIT | OK_METRICS | OK_PROC | OK_SYS | OK_PATH | OK_THREADS |
                    OK_CONNECT;
    size_t failures = 0;
    struct fake_mpathd fmd_path, fmd_abstract;
    struct sbx_case c;
    for (size_t i = 0; sbx_next_case(&i, abis, 4, &c);) {
        struct sbx_env e;
        char name[96];
        sbx_env_init(&e);
        sbx_env_reset_victim(&e);
        sbx_case_name(&c, name, sizeof(name));
        snprintf(syslog_path, sizeof(syslog_path), "%s/log", e.dir);
        int syslogd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un la = { .sun_family = AF_UNIX };
        snprintf(la.sun_path, sizeof(la.sun_path), "%s", syslog_path);
        assert_int_equal(bind(syslogd, (struct sockaddr *)&la, sizeof(la)), 0);
        snprintf(mpathd_abstract, sizeof(mpathd_abstract), "@/prhelper-test/sbx-%d",
                 (int)getpid());
        fmd_start(&fmd_path, e.dir);
        fmd_start_at(&fmd_abstract, mpathd_abstract);
        snprintf(mpathd_path, sizeof(mpathd_path), "%s", fmd_path.path);
        int got = in_sandbox(&e, &c, allowed_actions);
        if (got != all) {
            print_error("%s: allowed actions 0x%x, want 0x%x (state 1, audit 2, "
                        "metrics 4, /proc 8, /sys 16, path 32, threads 64, "
                        "syslog and multipathd connect 128)\n",
                        name, got, all);
            failures++;
        }
        fmd_stop(&fmd_path);
        fmd_stop(&fmd_abstract);
        close(syslogd);
        struct stat st;
        if (stat(e.audit, &st) != 0 || st.st_size == 0 || stat(e.metrics, &st) != 0) {
            print_error("%s: audit or metrics file missing\n", name);
            failures++;
        }
        sbx_env_free(&e);
    }
    if (failures)
        fail_msg("%zu case(s) failed", failures);
}

/* ---- Unix sockets connected at run time ------------------------------------ */

/*
 * Two modules connect() after start-up, under the sandbox: the audit
 * trail's syslog sink reconnects when the syslog daemon restarts
 * (audit.c), and the sg/mpath transports open one multipathd connection
 * per command (multipathd.c), on its pathname or its abstract socket.
 * seccomp: socket(AF_UNIX) (SOCK_DGRAM; SOCK_STREAM for sg/mpath) and
 * connect; Landlock: ABI 1-7 have no right for connecting to a pathname
 * socket, and ABI 6's abstract-socket scope is left off for sg/mpath.
 */
enum {
    CONNECT_SYSLOG_FIRST = 1 << 0,     /* the record before the restart */
    CONNECT_SYSLOG_RECONNECT = 1 << 1, /* the one after: a new connect() */
    CONNECT_MPATHD_PATH = 1 << 2,
    CONNECT_MPATHD_ABSTRACT = 1 << 3,
};

struct connect_run {
    char syslog[108], mpathd_path[108], mpathd_abstract[108];
    int to_parent, from_parent; /* the child's ends */
    int parent_fds[3];          /* the parent's: closed in the child */
};

static int syslog_listener(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* One datagram within ms, starting with "<" (RFC 3164 priority). */
static bool syslog_received(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char buf[2300];
    return poll(&p, 1, ms) == 1 && recv(fd, buf, sizeof(buf), 0) > 0 && buf[0] == '<';
}

static __attribute__((noreturn)) void connect_child(const struct sbx_env *e,
                                                   const struct sbx_case *c,
                                                   const struct connect_run *run)
{
    struct sbx_daemon dm;
    char err[256], byte = 'x';
    int ok = 0;
    /* Not the parent's syslog socket: its restart must be one. */
    for (int i = 0; i < 3; i++)
        close(run->parent_fds[i]);
    /* Connected before the sandbox, as main() opens the audit trail. */
    struct prh_audit *sys = prh_audit_open(PRH_AUDIT_SYSLOG, run->syslog, err, sizeof(err));
    if (!sys)
        sbx_die("syslog audit", err);
    sbx_enter(e, c, &dm);
    struct prh_audit_client cl = { .serial = 1 };
    struct prh_audit_record r = { .event = PRH_AUDIT_EV_CLIENT_DENIED,
                                  .transport = dm.t->name,
                                  .client = &cl };
    clock_gettime(CLOCK_REALTIME, &r.time);
    if (prh_audit_emit(sys, &r) == 0)
        ok |= CONNECT_SYSLOG_FIRST;
    /* The parent restarts its "syslog daemon" meanwhile. */
    if (write(run->to_parent, &byte, 1) != 1 || read(run->from_parent, &byte, 1) != 1)
        _exit(101);
    if (prh_audit_emit(sys, &r) == 0)
        ok |= CONNECT_SYSLOG_RECONNECT;
    if (strcmp(c->transport, "sim") != 0) {
        char reply[64];
        struct prh_mpathd *d = prh_mpathd_new(run->mpathd_path, 5000);
        if (d && prh_mpathd_command(d, "setprstatus map dm-0", reply, sizeof(reply)) == 1)
            ok |= CONNECT_MPATHD_PATH;
        prh_mpathd_free(d);
        d = prh_mpathd_new(run->mpathd_abstract, 5000);
        if (d && prh_mpathd_command(d, "unsetprstatus map dm-0", reply, sizeof(reply)) == 1)
            ok |= CONNECT_MPATHD_ABSTRACT;
        prh_mpathd_free(d);
    } else {
        ok |= CONNECT_MPATHD_PATH | CONNECT_MPATHD_ABSTRACT; /* sim has no multipathd */
    }
    prh_sandbox_exit(dm.sandbox);
    _exit(ok);
}

/* The connects, one case: the bits that worked. */
static int connects_in_sandbox(const struct sbx_env *e, const struct sbx_case *c)
{
    struct connect_run run;
    struct fake_mpathd path_mpathd, abstract_mpathd;
    int up[2], down[2], got = 0;
    char byte;

    snprintf(run.syslog, sizeof(run.syslog), "%s/syslog.sock", e->dir);
    snprintf(run.mpathd_path, sizeof(run.mpathd_path), "%s/mpathd.sock", e->dir);
    int log_fd = syslog_listener(run.syslog);
    fmd_start_at(&path_mpathd, run.mpathd_path);
    fmd_start_at(&abstract_mpathd, "@"); /* a name of its own: see fmd_start_at() */
    snprintf(run.mpathd_abstract, sizeof(run.mpathd_abstract), "%s", abstract_mpathd.path);
    assert_int_equal(pipe2(up, O_CLOEXEC), 0);
    assert_int_equal(pipe2(down, O_CLOEXEC), 0);
    run.to_parent = up[1];
    run.from_parent = down[0];
    run.parent_fds[0] = log_fd;
    run.parent_fds[1] = up[0];
    run.parent_fds[2] = down[1];
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        connect_child(e, c, &run);
    close(up[1]);
    close(down[0]);
    struct pollfd p = { .fd = up[0], .events = POLLIN };
    if (poll(&p, 1, 20000) == 1 && read(up[0], &byte, 1) == 1) {
        if (syslog_received(log_fd, 0))
            got |= CONNECT_SYSLOG_FIRST;
        /* The syslog daemon restarts: a new socket at the same path. */
        close(log_fd);
        log_fd = syslog_listener(run.syslog);
        assert_int_equal(write(down[1], "x", 1), 1);
    }
    int st = tu_wait_exit(pid, 20000);
    if (syslog_received(log_fd, 0))
        got |= CONNECT_SYSLOG_RECONNECT;
    close(log_fd);
    close(up[0]);
    close(down[1]);
    fmd_stop(&path_mpathd);
    fmd_stop(&abstract_mpathd);
    if (st == 100)
        fail_msg("the child could not become the daemon (see its message above)");
    if (st < 0 || st >= 100)
        return -st;
    /* syslog: the child's send worked and the record arrived. */
    const int syslog_bits = CONNECT_SYSLOG_FIRST | CONNECT_SYSLOG_RECONNECT;
    return (st & ~syslog_bits) | (st & got & syslog_bits);
}

static void test_sandbox_unix_connects_at_run_time_still_work(void **state)
{
    (void)state;
    static const int abis[] = { 0, 6, 4, 2, 1 };
    const int all = CONNECT_SYSLOG_FIRST | CONNECT_SYSLOG_RECONNECT | CONNECT_MPATHD_PATH |
                    CONNECT_MPATHD_ABSTRACT;
    size_t failures = 0;
    struct sbx_case c;
    for (size_t i = 0; sbx_next_case(&i, abis, sizeof(abis) / sizeof(abis[0]), &c);) {
        struct sbx_env e;
        char name[96];
        sbx_env_init(&e);
        sbx_case_name(&c, name, sizeof(name));
        int got = connects_in_sandbox(&e, &c);
        if (got != all) {
            print_error("%s: run-time connects 0x%x, want 0x%x (syslog 1, syslog "
                        "reconnect 2, multipathd path 4, multipathd abstract 8)\n",
                        name, got, all);
            failures++;
        }
        sbx_env_free(&e);
    }
    if (failures)
        fail_msg("%zu case(s) failed", failures);
}

/* ---- the PID file and the socket --------------------------------------------- */

static int clean_exit(const struct sbx_env *e, struct sbx_daemon *dm)
{
    (void)e;
    int removes = prh_sandbox_removes_files(dm->sandbox);
    prh_control_free(dm->control); /* as main(): its unlink is refused */
    prh_sandbox_exit(dm->sandbox);
    return removes;
}

static void test_sandbox_socket_and_pid_file_removed_at_a_clean_exit(void **state)
{
    (void)state;
    struct sbx_env e;
    struct sbx_case c = { "sim", SBX_DEFAULT, 0, NULL };
    sbx_env_init(&e);
    /* Landlock refuses the daemon itself removing them (the socket, the
     * control socket, the PID file): the cleaner does. */
    assert_int_equal(in_sandbox(&e, &c, clean_exit), prh_landlock_abi(NULL) > 0);
    assert_int_not_equal(access(e.sock, F_OK), 0);
    assert_int_not_equal(access(e.pidfile, F_OK), 0);
    assert_int_not_equal(access(e.ctl, F_OK), 0);
    sbx_env_free(&e);
}

static int crash(const struct sbx_env *e, struct sbx_daemon *dm)
{
    (void)e;
    (void)dm;
    raise(SIGKILL);
    return 0;
}

/* After a crash both stay, as without the sandbox (docs/daemon.md). */
static void test_sandbox_socket_and_pid_file_stay_after_a_crash(void **state)
{
    (void)state;
    struct sbx_env e;
    struct sbx_case c = { "sim", SBX_DEFAULT, 0, NULL };
    sbx_env_init(&e);
    assert_int_equal(in_sandbox(&e, &c, crash), 128 + SIGKILL);
    tu_sleep_ms(200); /* the cleaner, had it acted, would have by now */
    assert_int_equal(access(e.sock, F_OK), 0);
    assert_int_equal(access(e.pidfile, F_OK), 0);
    assert_int_equal(access(e.ctl, F_OK), 0);
    sbx_env_free(&e);
}

/* A second instance that took the socket path over keeps it. */
static void test_sandbox_cleaner_spares_a_socket_path_taken_over(void **state)
{
    (void)state;
    struct sbx_env e;
    struct sbx_case c = { "sim", SBX_DEFAULT, 0, NULL };
    int go[2], ready[2];
    char byte;
    sbx_env_init(&e);
    assert_int_equal(pipe2(go, O_CLOEXEC), 0);
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct sbx_daemon dm;
        close(go[1]);
        close(ready[0]);
        sbx_enter(&e, &c, &dm);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &byte, 1) != 1)
            _exit(3);
        prh_sandbox_exit(dm.sandbox);
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    assert_int_equal(read(ready[0], &byte, 1), 1);
    /* Another instance binds the same path (bound elsewhere, renamed in). */
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.new", e.sock);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(rename(tmp, e.sock), 0);
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
    close(ready[0]);
    assert_int_equal(tu_wait_exit(pid, 10000), 0);
    assert_int_equal(access(e.sock, F_OK), 0);        /* the other instance's */
    assert_int_not_equal(access(e.pidfile, F_OK), 0); /* ours, removed */
    sbx_env_free(&e);
}

/* ---- set-up ------------------------------------------------------------------ */

static void parse(struct prh_options *o, const char *a1, const char *a2)
{
    char *argv[] = { (char *)"prhelper", (char *)a1, (char *)a2, NULL };
    int argc = a1 ? (a2 ? 3 : 2) : 1;
    assert_int_equal(prh_cli_parse(argc, argv, o, stderr), PRH_CLI_RUN);
}

static void test_sandbox_options_choose_the_layers(void **state)
{
    (void)state;
    struct prh_options o;
    struct prh_sandbox_config cfg;

    /* Whether an abstract Unix socket may be reached: sim reaches none;
     * sg/mpath: multipathd's second default name is abstract. */
    static const struct {
        const char *option, *transport;
        bool abstract_unix;
    } abstract[] = {
        { "--transport=sim", "sim", false },
        { "--transport=sg", "sg", true },
        { "--multipathd-socket=@/my/multipathd", "mpath", true },
        { "--multipathd-socket=/run/multipathd.socket", "mpath", false },
        { "--multipathd-socket=none", "sg", false },
    };
    for (size_t i = 0; i < sizeof(abstract) / sizeof(abstract[0]); i++) {
        parse(&o, abstract[i].option, NULL);
        prh_sandbox_config_init(&cfg, &o, abstract[i].transport);
        if (cfg.abstract_unix != abstract[i].abstract_unix)
            fail_msg("%s (%s): abstract_unix %d, want %d", abstract[i].option,
                     abstract[i].transport, cfg.abstract_unix, abstract[i].abstract_unix);
        /* Both layers by default. */
        assert_true(cfg.landlock);
        assert_true(cfg.seccomp);
    }
    /* (the last row: --multipathd-socket=none, sg) */
    assert_ptr_equal(cfg.extra_syscalls, prh_ops_syscalls);
    assert_null(cfg.metrics_file);

    parse(&o, "--no-seccomp", NULL);
    prh_sandbox_config_init(&cfg, &o, "sg");
    assert_true(cfg.landlock);
    assert_false(cfg.seccomp);

    parse(&o, "--no-sandbox", NULL);
    prh_sandbox_config_init(&cfg, &o, "sg");
    assert_false(cfg.landlock);
    assert_false(cfg.seccomp);

    parse(&o, "--metrics-file=/tmp/x/m.prom", "--state-dir=/tmp/s");
    prh_sandbox_config_init(&cfg, &o, "sim");
    assert_ptr_equal(cfg.extra_syscalls, prh_ops_metrics_file_syscalls);
    assert_string_equal(cfg.metrics_file, "/tmp/x/m.prom");
    assert_string_equal(cfg.state_dir, "/tmp/s");
}

/* Each ABI handles what its kernel knows, nothing more (a right the
 * kernel does not know makes it refuse the whole ruleset). */
static void test_landlock_rights_follow_the_kernel_abi(void **state)
{
    (void)state;
    assert_int_equal(prh_landlock_fs_handled(1), (1ull << 13) - 1);
    assert_int_equal(prh_landlock_fs_handled(2), (1ull << 14) - 1);
    assert_int_equal(prh_landlock_fs_handled(3), (1ull << 15) - 1);
    assert_int_equal(prh_landlock_fs_handled(4), (1ull << 15) - 1);
    assert_int_equal(prh_landlock_fs_handled(5), (1ull << 16) - 1);
    assert_int_equal(prh_landlock_fs_handled(7), (1ull << 16) - 1);
    assert_int_equal(prh_landlock_net_handled(3), 0);
    assert_int_equal(prh_landlock_net_handled(4), 3);
    assert_int_equal(prh_landlock_scopes(5, false), 0);
    assert_int_equal(prh_landlock_scopes(6, false), 3);
    assert_int_equal(prh_landlock_scopes(6, true), 2); /* signals only */
    /* write: WRITE_FILE, and TRUNCATE from ABI 3; ioctl from ABI 5 */
    assert_int_equal(prh_landlock_fs_rights(PRH_LL_WRITE, 2), 1ull << 1);
    assert_int_equal(prh_landlock_fs_rights(PRH_LL_WRITE, 3), 1ull << 1 | 1ull << 14);
    assert_int_equal(prh_landlock_fs_rights(PRH_LL_DEV_IOCTL, 4), 0);
    assert_int_equal(prh_landlock_fs_rights(PRH_LL_DEV_IOCTL, 5), 1ull << 15);
    assert_int_equal(prh_landlock_fs_rights(PRH_LL_READ, 1), 1ull << 2 | 1ull << 3);
    assert_int_equal(prh_landlock_fs_rights(PRH_LL_CREATE_REMOVE, 1), 1ull << 8 | 1ull << 5);
}

/* Without Landlock: one line, and the seccomp filter still applies. */
static void test_sandbox_without_landlock_logs_one_line_and_keeps_seccomp(void **state)
{
    (void)state;
    struct sbx_env e;
    char log[300], text[4096];
    sbx_env_init(&e);
    snprintf(log, sizeof(log), "%s/stderr", e.dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        dup2(fd, STDERR_FILENO);
        /* A kernel without Landlock, as seen from user space. */
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset), 0);
        if (seccomp_load(ctx) < 0)
            _exit(10);
        struct prh_options o;
        struct prh_sandbox_config cfg;
        char err[256];
        char sd[300];
        snprintf(sd, sizeof(sd), "--state-dir=%s", e.state);
        char *argv[] = { (char *)"prhelper", (char *)"--transport=sim", sd, NULL };
        if (prh_cli_parse(3, argv, &o, stderr) != PRH_CLI_RUN)
            _exit(11);
        prh_sandbox_config_init(&cfg, &o, "sim");
        cfg.pidfile = e.pidfile; /* nothing for a cleaner to do without Landlock */
        struct prh_sandbox *sb = prh_sandbox_install(&cfg, err, sizeof(err));
        if (!sb)
            _exit(12);
        if (prh_sandbox_landlock_abi(sb) != 0 || !prh_sandbox_seccomp(sb) ||
            prh_sandbox_removes_files(sb))
            _exit(13);
        if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM)
            _exit(14);
        _exit(0);
    }
    assert_int_equal(tu_wait_exit(pid, 10000), 0);
    int fd = open(log, O_RDONLY | O_CLOEXEC);
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    assert_non_null(strstr(text, "Landlock is not available (the kernel was built without "
                                 "Landlock)"));
    assert_non_null(strstr(text, "the seccomp filter still applies"));
    assert_int_equal(strchr(text, '\n') - text + 1, strlen(text)); /* one line */
    sbx_env_free(&e);
}

static void *idle(void *arg)
{
    int fd = *(int *)arg;
    char byte;
    ssize_t n = read(fd, &byte, 1);
    (void)n;
    return NULL;
}

/* Landlock would restrict only the calling thread: refused with threads. */
static void test_sandbox_refused_once_threads_exist(void **state)
{
    (void)state;
    if (prh_landlock_abi(NULL) == 0)
        skip(); /* no Landlock here: nothing restricts per thread */
    struct sbx_env e;
    sbx_env_init(&e);
    pid_t pid = fork();
    if (pid == 0) {
        struct prh_options o;
        struct prh_sandbox_config cfg;
        char err[256];
        int p[2];
        pthread_t th;
        char *argv[] = { (char *)"prhelper", (char *)"--transport=sg", NULL };
        if (prh_cli_parse(2, argv, &o, stderr) != PRH_CLI_RUN || pipe(p) < 0 ||
            pthread_create(&th, NULL, idle, &p[0]) != 0)
            _exit(10);
        prh_sandbox_config_init(&cfg, &o, "sg");
        if (prh_sandbox_install(&cfg, err, sizeof(err)))
            _exit(11);
        _exit(strstr(err, "one thread") ? 0 : 12);
    }
    assert_int_equal(tu_wait_exit(pid, 10000), 0);
    sbx_env_free(&e);
}

/* Writing beneath "/" would be writing anywhere: refused. */
static void test_sandbox_refuses_a_writable_root_directory(void **state)
{
    (void)state;
    if (prh_landlock_abi(NULL) == 0)
        skip();
    pid_t pid = fork();
    if (pid == 0) {
        struct prh_sandbox_config cfg = { .transport = "sim", .landlock = true,
                                          .metrics_file = "/prhelper.prom" };
        char err[256];
        if (prh_sandbox_install(&cfg, err, sizeof(err)))
            _exit(11);
        _exit(strstr(err, "root directory") ? 0 : 12);
    }
    assert_int_equal(tu_wait_exit(pid, 10000), 0);
}

static int describe(const struct sbx_env *e, struct sbx_daemon *dm)
{
    (void)e;
    char buf[128], want[128];
    int abi = prh_sandbox_landlock_abi(dm->sandbox);
    prh_sandbox_describe(dm->sandbox, buf, sizeof(buf));
    if (abi > 0)
        snprintf(want, sizeof(want), "Landlock ABI %d, seccomp filter (sg)", abi);
    else
        snprintf(want, sizeof(want), "no Landlock, seccomp filter (sg)");
    return strcmp(buf, want) == 0 && abi == (prh_landlock_abi(NULL) > 2 ? 2 : abi) ? 0 : 1;
}

static void test_sandbox_uses_the_abi_cap(void **state)
{
    (void)state;
    struct sbx_env e;
    struct sbx_case c = { "sg", SBX_DEFAULT, 2, NULL };
    sbx_env_init(&e);
    assert_int_equal(in_sandbox(&e, &c, describe), 0);
    sbx_env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox_allowed_actions_still_work),
        cmocka_unit_test(test_sandbox_unix_connects_at_run_time_still_work),
        cmocka_unit_test(test_sandbox_socket_and_pid_file_removed_at_a_clean_exit),
        cmocka_unit_test(test_sandbox_socket_and_pid_file_stay_after_a_crash),
        cmocka_unit_test(test_sandbox_cleaner_spares_a_socket_path_taken_over),
        cmocka_unit_test(test_sandbox_options_choose_the_layers),
        cmocka_unit_test(test_landlock_rights_follow_the_kernel_abi),
        cmocka_unit_test(test_sandbox_without_landlock_logs_one_line_and_keeps_seccomp),
        cmocka_unit_test(test_sandbox_refused_once_threads_exist),
        cmocka_unit_test(test_sandbox_refuses_a_writable_root_directory),
        cmocka_unit_test(test_sandbox_uses_the_abi_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
