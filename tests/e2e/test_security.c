/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_security.c - the built prhelper's defences, driven from the
 * outside (docs/security.md): the socket's mode and group, the frame
 * timeout, the sandbox (Landlock, seccomp), capabilities, SIGKILL during APTPL
 * updates, a corrupt state file kept aside, a failing state write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mount.h>
#include <sys/wait.h>

#include "daemon_fixture.h"
#include "prhelper/control.h"
#include "prhelper/landlock.h"
#include "prhelper/pr_sim.h"
#include "prhelper/pr_sim_store.h"

#ifndef PRH_DAEMON_BIN
#error "PRH_DAEMON_BIN comes from src/CMakeLists.txt"
#endif

/* The daemon fixture (tests/helpers/daemon_fixture.h), and the tiny tmpfs
 * and the read-only state directory some tests leave behind. */
static int teardown(void **state)
{
    struct dfx *f = *state;
    if (f->pid > 0)
        dfx_stop(f, SIGTERM);
    if (geteuid() == 0)
        umount2(f->state, MNT_DETACH); /* the tiny tmpfs, if a test mounted one */
    chmod(f->state, 0700);
    return dfx_teardown(state);
}

/* ---- the socket ---------------------------------------------------------- */

static void test_security_socket_created_0600_by_default(void **state)
{
    struct dfx *f = *state;
    struct stat sb;
    mode_t old = umask(0); /* the mode must not depend on the umask */
    dfx_start(f, NULL);
    umask(old);
    assert_int_equal(stat(f->sock, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

static void test_security_socket_mode_and_group_applied(void **state)
{
    struct dfx *f = *state;
    struct stat sb;
    char grp[32];
    /* root may give the socket to any group; others only to their own. */
    unsigned gid = geteuid() == 0 ? 65534u : (unsigned)getegid();
    snprintf(grp, sizeof(grp), "--socket-group=%u", gid);
    dfx_start(f, grp, NULL);
    assert_int_equal(stat(f->sock, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0660);
    assert_int_equal(sb.st_gid, gid);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    dfx_start(f, grp, "--socket-mode=0640", NULL);
    assert_int_equal(stat(f->sock, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

static void test_security_socket_group_unknown_refused(void **state)
{
    struct dfx *f = *state;
    char buf[4096];
    char sockopt[300];
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", f->sock);
    f->pid = fork();
    if (f->pid == 0) {
        int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dup2(fd, 2);
        execl(PRH_DAEMON_BIN, PRH_DAEMON_BIN, "--transport=sim", sockopt,
              "--socket-group=no-such-group-xyz", (char *)NULL);
        _exit(127);
    }
    assert_int_equal(tu_wait_exit(f->pid, 10000), 1);
    f->pid = 0;
    dfx_read_log(f, buf, sizeof(buf));
    assert_non_null(strstr(buf, "invalid group 'no-such-group-xyz'"));
    struct stat sb;
    assert_int_not_equal(stat(f->sock, &sb), 0);
}

static void test_security_socket_options_refused_with_activation(void **state)
{
    struct dfx *f = *state;
    char buf[4096];
    f->pid = fork();
    if (f->pid == 0) {
        char pidbuf[32];
        int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dup2(fd, 2);
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        dup2(l, 3);
        snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
        setenv("LISTEN_PID", pidbuf, 1);
        setenv("LISTEN_FDS", "1", 1);
        execl(PRH_DAEMON_BIN, PRH_DAEMON_BIN, "--transport=sim", "--socket-mode=0660",
              (char *)NULL);
        _exit(127);
    }
    assert_int_equal(tu_wait_exit(f->pid, 10000), 1);
    f->pid = 0;
    dfx_read_log(f, buf, sizeof(buf));
    assert_non_null(strstr(buf, "--socket-mode and --socket-group can't be used with socket "
                                "activation"));
}


/* ---- capabilities and the seccomp filter --------------------------------- */

/* The value of "Field:\t..." in /proc/<pid>/status, after start-up. */
static void proc_status_field(pid_t pid, const char *field, char *out, size_t len)
{
    char path[64], buf[8192];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *p = strstr(buf, field);
    assert_non_null(p);
    p += strlen(field);
    while (*p == ':' || *p == '\t' || *p == ' ')
        p++;
    size_t i = 0;
    while (p[i] && p[i] != '\n' && i + 1 < len) {
        out[i] = p[i];
        i++;
    }
    out[i] = '\0';
}

/* The daemon has answered one request: start-up (and the filter) is over. */
static void wait_serving(struct dfx *f)
{
    static struct prh_reply r;
    int s = tu_connect_hs(f->sock, NULL);
    assert_true(s >= 0);
    assert_true(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 8, &r) >= 0); /* any reply (sg: not a disk) */
    close(s);
}

/* Start prhelper --transport=T -q [extra]. */
static void start_transport(struct dfx *f, const char *transport, const char *extra)
{
    f->transport = transport;
    dfx_start(f, "-q", extra, NULL);
    f->transport = NULL;
}

/* Start transport; its effective, permitted and bounding capability sets
 * once it serves are eff, prm and bnd (hex, as /proc shows them). */
static void expect_caps(struct dfx *f, const char *transport, const char *eff, const char *prm,
                        const char *bnd)
{
    char got[3][64];
    start_transport(f, transport, NULL);
    wait_serving(f); /* sg: a regular file is answered without SG_IO */
    proc_status_field(f->pid, "CapEff", got[0], sizeof(got[0]));
    proc_status_field(f->pid, "CapPrm", got[1], sizeof(got[1]));
    proc_status_field(f->pid, "CapBnd", got[2], sizeof(got[2]));
    assert_string_equal(got[0], eff);
    assert_string_equal(got[1], prm);
    assert_string_equal(got[2], bnd);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

static void test_security_capabilities_only_what_the_transport_needs(void **state)
{
    struct dfx *f = *state;
    if (geteuid() != 0)
        skip(); /* an unprivileged daemon has nothing to drop */
    /* sim: no capability at all, even as root. */
    expect_caps(f, "sim", "0000000000000000", "0000000000000000", "0000000000000000");
    /* sg: CAP_SYS_RAWIO (17) alone, nothing in the bounding set. */
    expect_caps(f, "sg", "0000000000020000", "0000000000020000", "0000000000000000");
}

static void test_security_seccomp_filter_on_by_default(void **state)
{
    struct dfx *f = *state;
    char v[64];
    start_transport(f, "sim", NULL);
    wait_serving(f);
    proc_status_field(f->pid, "Seccomp", v, sizeof(v));
    assert_string_equal(v, "2"); /* SECCOMP_MODE_FILTER */
    proc_status_field(f->pid, "NoNewPrivs", v, sizeof(v));
    assert_string_equal(v, "1");
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    start_transport(f, "sg", NULL);
    wait_serving(f);
    proc_status_field(f->pid, "Seccomp", v, sizeof(v));
    assert_string_equal(v, "2");
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    start_transport(f, "sim", "--no-seccomp");
    wait_serving(f);
    proc_status_field(f->pid, "Seccomp", v, sizeof(v));
    assert_string_equal(v, "0");
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

/* The daemon's own line about its sandbox, for each option. */
static void sandbox_line(struct dfx *f, const char *opt, char *out, size_t len)
{
    char buf[8192];
    unlink(f->log);
    dfx_start(f, "-v", "-v", opt, NULL);
    wait_serving(f);
    dfx_read_log(f, buf, sizeof(buf));
    const char *p = strstr(buf, "sandbox: ");
    assert_non_null(p);
    p += strlen("sandbox: ");
    snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
}

/* The comm of the daemon's one child process ("" if none). */
static void child_comm(pid_t pid, char *out, size_t len)
{
    char path[96], buf[64];
    out[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    snprintf(path, sizeof(path), "/proc/%ld/comm", atol(buf));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, out, len - 1) : -1;
    if (fd >= 0)
        close(fd);
    out[n > 0 ? strcspn(out, "\n") : 0] = '\0';
}

/* Landlock and seccomp by default (Landlock at the kernel's newest ABI),
 * --no-seccomp keeps Landlock, --no-sandbox turns both off; the exit
 * cleaner runs beside a Landlock'd daemon and removes its socket. */
static void test_security_sandbox_on_by_default(void **state)
{
    struct dfx *f = *state;
    char line[256], want[256], comm[64], v[16];
    int abi = prh_landlock_abi(NULL);
    if (abi > PRH_LANDLOCK_ABI_KNOWN)
        abi = PRH_LANDLOCK_ABI_KNOWN;

    sandbox_line(f, NULL, line, sizeof(line));
    if (abi > 0)
        snprintf(want, sizeof(want), "Landlock ABI %d, seccomp filter (sim)", abi);
    else
        snprintf(want, sizeof(want), "no Landlock, seccomp filter (sim)");
    assert_string_equal(line, want);
    /* It names itself just after the fork: give it a moment. */
    for (long end = tu_now_ms() + 3000; tu_now_ms() < end; tu_sleep_ms(10)) {
        child_comm(f->pid, comm, sizeof(comm));
        if (strcmp(comm, "prhelper") != 0)
            break;
    }
    assert_string_equal(comm, abi > 0 ? "prhelper-exit" : "");
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    assert_int_not_equal(access(f->sock, F_OK), 0);

    sandbox_line(f, "--no-seccomp", line, sizeof(line));
    if (abi > 0)
        snprintf(want, sizeof(want), "Landlock ABI %d, no seccomp filter (sim)", abi);
    else
        snprintf(want, sizeof(want), "no Landlock, no seccomp filter (sim)");
    assert_string_equal(line, want);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);

    sandbox_line(f, "--no-sandbox", line, sizeof(line));
    assert_string_equal(line, "no Landlock, no seccomp filter (sim)");
    proc_status_field(f->pid, "Seccomp", v, sizeof(v));
    assert_string_equal(v, "0");
    child_comm(f->pid, comm, sizeof(comm));
    assert_string_equal(comm, "");
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    assert_int_not_equal(access(f->sock, F_OK), 0);
}

/*
 * The control socket's restart executes the program again: Landlock
 * (no execute right) and seccomp (execve kills) forbid it, so it is
 * offered only with --no-sandbox (prhelper(8), docs/daemon.md); crash
 * stays everywhere.  Asking a sandboxed daemon to restart is an unknown
 * command, and the daemon goes on serving.
 */
static void test_security_restart_offered_only_without_the_sandbox(void **state)
{
    struct dfx *f = *state;
    char ctlpath[300], ctlopt[320];
    snprintf(ctlpath, sizeof(ctlpath), "%s/ctl", f->dir);
    snprintf(ctlopt, sizeof(ctlopt), "--control=%s", ctlpath);
    const char *const modes[] = { NULL, "--no-seccomp", "--no-sandbox" };
    for (size_t m = 0; m < 3; m++) {
        bool offered = m == 2;
        char *help[] = { (char *)"help" }, *restart[] = { (char *)"restart" }, *body = NULL;
        dfx_start(f, ctlopt, modes[m], NULL);
        wait_serving(f);
        assert_int_equal(prh_control_call(ctlpath, 1, help, false, &body), 0);
        assert_non_null(strstr(body, "crash"));
        if (offered)
            assert_non_null(strstr(body, "restart"));
        else
            assert_null(strstr(body, "restart"));
        free(body);
        body = NULL;
        if (!offered) {
            assert_int_equal(prh_control_call(ctlpath, 1, restart, false, &body), 1);
            free(body);
            wait_serving(f); /* still the same daemon, still serving */
        }
        assert_int_equal(dfx_stop(f, SIGTERM), 0);
        /* removed at exit, by the exit cleaner under Landlock */
        assert_int_not_equal(access(ctlpath, F_OK), 0);
    }
}

/* sd_notify() still works under the filter: READY=1 then STOPPING=1 arrive. */
static void test_security_sd_notify_works_under_seccomp(void **state)
{
    struct dfx *f = *state;
    char buf[512];
    int ns = dfx_notify_open(f);
    start_transport(f, "sim", NULL);
    unsetenv("NOTIFY_SOCKET");
    dfx_notify_read(ns, buf, sizeof(buf));
    assert_non_null(strstr(buf, "READY=1"));
    kill(f->pid, SIGTERM);
    dfx_notify_read(ns, buf, sizeof(buf));
    assert_non_null(strstr(buf, "STOPPING=1"));
    assert_int_equal(tu_wait_exit(f->pid, 10000), 0);
    f->pid = 0;
    close(ns);
}

/* ---- crash-safe APTPL state ---------------------------------------------- */

/* The one state file in dir (name without ".prstate" into name); false if none. */
static bool find_state_file(const char *dir, char *name, size_t len, int *tmp_files)
{
    bool found = false;
    DIR *d = opendir(dir);
    *tmp_files = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (strstr(e->d_name, ".prstate.tmp"))
            (*tmp_files)++;
        else if (l > 8 && strcmp(e->d_name + l - 8, ".prstate") == 0) {
            assert_false(found);
            snprintf(name, len, "%.*s", (int)(l - 8), e->d_name);
            found = true;
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* The key the state file holds (loads cleanly or fails the test); 0 if no file. */
static uint64_t key_on_disk(struct dfx *f, int *tmp_files)
{
    char name[256], msg[512] = "";
    if (!find_state_file(f->state, name, sizeof(name), tmp_files))
        return 0;
    struct pr_sim_config cfg = { .profile = PR_SIM_PROFILE_SPC4 };
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    int rc = pr_sim_store_load(f->state, name, lun, msg, sizeof(msg));
    if (rc != 0)
        fail_msg("state file torn: %s", msg);
    assert_true(pr_sim_aptpl_active(lun));
    assert_int_equal(pr_sim_registration_count(lun), 1);
    struct pr_sim_registration_view v;
    assert_true(pr_sim_registration_at(lun, 0, &v));
    pr_sim_lun_free(lun);
    return v.key;
}

static void test_security_sigkill_during_aptpl_updates_loses_nothing(void **state)
{
    struct dfx *f = *state;
    static struct prh_reply r;
    const char *env = getenv("PRH_KILL_ITERATIONS");
    int iterations = env ? atoi(env) : 300;
    uint64_t acked = 0, next = 1;
    int max_tmp = 0, tmp = 0, torn_checks = 0;
    unsigned seed = 12345;
    for (int i = 0; i < iterations; i++) {
        dfx_start(f, "-q", NULL);
        int s = tu_connect_hs(f->sock, "prhelper-nexus:killer");
        assert_true(s >= 0);
        /* The daemon restored exactly what the disk holds. */
        assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 64, &r), 0);
        assert_int_equal(tu_key_count(&r), acked ? 1 : 0);
        if (acked)
            assert_true(tu_has_key(&r, acked));
        /* A few acknowledged updates... */
        int done = (int)(rand_r(&seed) % 4);
        for (int k = 0; k < done; k++, next++) {
            assert_int_equal(tu_prout(s, f->devfd, PR_OUT_REGISTER_AND_IGNORE, 0, 0, next,
                                      PR_OUT_FLAG_APTPL, &r),
                             0);
            acked = next;
        }
        /* ...then one more (APTPL), killed at a random point of its life. */
        uint8_t cdb[16], p[24];
        tu_cdb_prout(cdb, PR_OUT_REGISTER_AND_IGNORE, 0, 24);
        tu_params(p, 0, next, PR_OUT_FLAG_APTPL);
        assert_int_equal(prh_wire_client_send(s, cdb, 16, f->devfd, p, 24), 0);
        uint64_t inflight = next++;
        long us = (long)(rand_r(&seed) % 3000);
        struct timespec ts = { 0, us * 1000 };
        nanosleep(&ts, NULL);
        kill(f->pid, SIGKILL);
        assert_int_equal(tu_wait_exit(f->pid, 10000), 128 + SIGKILL);
        f->pid = 0;
        close(s);
        uint64_t on_disk = key_on_disk(f, &tmp);
        torn_checks++;
        if (tmp > max_tmp)
            max_tmp = tmp;
        /* Either the old state or the new one, never anything else. */
        if (on_disk != acked && on_disk != inflight)
            fail_msg("iteration %d: disk holds key %llu, expected %llu (old) or %llu (new)", i,
                     (unsigned long long)on_disk, (unsigned long long)acked,
                     (unsigned long long)inflight);
        acked = on_disk;
    }
    print_message("%d SIGKILLs, every state file loaded whole; stale temporary files at "
                  "most %d\n",
                  torn_checks, max_tmp);
    /* Leftovers of interrupted saves are removed when the LUN is restored:
     * at most the one of the last kill is ever there. */
    assert_true(max_tmp <= 1);
}


/* An APTPL PR OUT that cannot be saved: HARDWARE ERROR 44h/00h, memory unchanged. */
static void expect_save_failure_then_recovery(struct dfx *f, void (*unblock)(struct dfx *))
{
    static struct prh_reply r;
    int s = tu_connect_hs(f->sock, "prhelper-nexus:disk-full");
    assert_int_equal(tu_prout(s, f->devfd, PR_OUT_REGISTER, 0, 0, 0xa, PR_OUT_FLAG_APTPL, &r),
                     SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r.sense[2] & 0x0f, 0x4); /* HARDWARE ERROR */
    assert_int_equal(r.sense[12], 0x44);       /* INTERNAL TARGET FAILURE */
    assert_int_equal(r.sense[13], 0x00);
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 64, &r), 0);
    assert_int_equal(tu_key_count(&r), 0); /* memory agrees with the disk */
    unblock(f);
    assert_int_equal(tu_prout(s, f->devfd, PR_OUT_REGISTER, 0, 0, 0xa, PR_OUT_FLAG_APTPL, &r), 0);
    close(s);
    /* And it is on disk: a SIGKILL loses nothing. */
    assert_int_equal(dfx_stop(f, SIGKILL), 128 + SIGKILL);
    dfx_start(f, "-q", NULL);
    s = tu_connect_hs(f->sock, "prhelper-nexus:disk-full");
    assert_int_equal(tu_prin(s, f->devfd, PR_IN_READ_KEYS, 64, &r), 0);
    assert_true(tu_has_key(&r, 0xa));
    close(s);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

static void remove_filler(struct dfx *f)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/filler", f->state);
    assert_int_equal(unlink(path), 0);
}

static void test_security_full_disk_fails_pr_out_keeps_memory(void **state)
{
    struct dfx *f = *state;
    char path[400];
    static char block[4096];
    if (geteuid() != 0)
        skip(); /* mounting the tiny tmpfs needs root */
    assert_int_equal(mkdir(f->state, 0700), 0);
    if (mount("prhelper-test", f->state, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") < 0)
        skip();
    dfx_start(f, "-q", NULL);
    /* Fill the file system to the last block: the next save gets ENOSPC. */
    snprintf(path, sizeof(path), "%s/filler", f->state);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    while (write(fd, block, sizeof(block)) > 0)
        ;
    while (write(fd, block, 1) > 0)
        ;
    assert_int_equal(errno, ENOSPC);
    close(fd);
    expect_save_failure_then_recovery(f, remove_filler);
    umount2(f->state, MNT_DETACH);
}

static void make_writable(struct dfx *f)
{
    assert_int_equal(chmod(f->state, 0700), 0);
}

static void test_security_unwritable_state_dir_fails_pr_out_keeps_memory(void **state)
{
    struct dfx *f = *state;
    dfx_start(f, "-q", NULL);
    /* Even a root daemon has no CAP_DAC_OVERRIDE left (sim keeps no capability). */
    assert_int_equal(chmod(f->state, 0500), 0);
    expect_save_failure_then_recovery(f, make_writable);
}

#define T(f) cmocka_unit_test_setup_teardown(f, dfx_setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_security_socket_created_0600_by_default),
        T(test_security_socket_mode_and_group_applied),
        T(test_security_socket_group_unknown_refused),
        T(test_security_socket_options_refused_with_activation),
        T(test_security_capabilities_only_what_the_transport_needs),
        T(test_security_seccomp_filter_on_by_default),
        T(test_security_sandbox_on_by_default),
        T(test_security_restart_offered_only_without_the_sandbox),
        T(test_security_sd_notify_works_under_seccomp),
        T(test_security_sigkill_during_aptpl_updates_loses_nothing),
        T(test_security_full_disk_fails_pr_out_keeps_memory),
        T(test_security_unwritable_state_dir_fails_pr_out_keeps_memory),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
