/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_security.c - the built prhelper's defences, driven from the
 * outside (docs/security.md): the socket's mode and group, the frame
 * timeout, the seccomp filter, capabilities, SIGKILL during APTPL
 * updates, a corrupt state file kept aside, a failing state write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "prh_test_util.h"
#include "prhelper/pr_sim.h"
#include "prhelper/pr_sim_store.h"

#ifndef PRH_DAEMON_BIN
#error "PRH_DAEMON_BIN comes from src/CMakeLists.txt"
#endif

struct fx {
    char *dir;
    char sock[256];
    char state[256];
    char log[256];
    char *disk;
    int devfd;
    pid_t pid;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir();
    snprintf(f->sock, sizeof(f->sock), "%s/prh.sock", f->dir);
    snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
    snprintf(f->log, sizeof(f->log), "%s/stderr", f->dir);
    f->disk = tu_disk(f->dir, "disk");
    f->devfd = open(f->disk, O_RDWR | O_CLOEXEC);
    *state = f;
    return 0;
}

/* Wait for pid to exit (bounded); its exit status, 128+signal, or -1 (killed). */
static int wait_exit(pid_t pid, int ms)
{
    int st;
    long end = tu_now_ms() + ms;
    while (tu_now_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        tu_sleep_ms(2);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        wait_exit(f->pid, 10000);
    }
    close(f->devfd);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f->disk);
    free(f);
    return 0;
}

/* Start prhelper --transport=sim with up to 4 extra args (NULL ends them). */
static void start_daemon(struct fx *f, const char *a1, const char *a2, const char *a3,
                         const char *a4)
{
    char sockopt[300], stateopt[300];
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", f->sock);
    snprintf(stateopt, sizeof(stateopt), "--state-dir=%s", f->state);
    const char *argv[] = { PRH_DAEMON_BIN, "--transport=sim", sockopt, stateopt, a1, a2, a3, a4,
                           NULL };
    unlink(f->sock);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    long end = tu_now_ms() + 10000;
    struct stat sb;
    while (stat(f->sock, &sb) != 0) {
        assert_true(tu_now_ms() < end);
        assert_int_equal(waitpid(f->pid, NULL, WNOHANG), 0);
        tu_sleep_ms(2);
    }
}

static int stop_daemon(struct fx *f, int sig)
{
    kill(f->pid, sig);
    int r = wait_exit(f->pid, 10000);
    f->pid = 0;
    return r;
}

/* The daemon's stderr so far. */
static void read_log(struct fx *f, char *buf, size_t len)
{
    int fd = open(f->log, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
}

/* ---- the socket ---------------------------------------------------------- */

static void test_security_socket_created_0600_by_default(void **state)
{
    struct fx *f = *state;
    struct stat sb;
    mode_t old = umask(0); /* the mode must not depend on the umask */
    start_daemon(f, NULL, NULL, NULL, NULL);
    umask(old);
    assert_int_equal(stat(f->sock, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

static void test_security_socket_mode_and_group_applied(void **state)
{
    struct fx *f = *state;
    struct stat sb;
    char grp[32];
    /* root may give the socket to any group; others only to their own. */
    unsigned gid = geteuid() == 0 ? 65534u : (unsigned)getegid();
    snprintf(grp, sizeof(grp), "--socket-group=%u", gid);
    start_daemon(f, grp, NULL, NULL, NULL);
    assert_int_equal(stat(f->sock, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0660);
    assert_int_equal(sb.st_gid, gid);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
    start_daemon(f, grp, "--socket-mode=0640", NULL, NULL);
    assert_int_equal(stat(f->sock, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    assert_int_equal(stop_daemon(f, SIGTERM), 0);
}

static void test_security_socket_group_unknown_refused(void **state)
{
    struct fx *f = *state;
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
    assert_int_equal(wait_exit(f->pid, 10000), 1);
    f->pid = 0;
    read_log(f, buf, sizeof(buf));
    assert_non_null(strstr(buf, "invalid group 'no-such-group-xyz'"));
    struct stat sb;
    assert_int_not_equal(stat(f->sock, &sb), 0);
}

static void test_security_socket_options_refused_with_activation(void **state)
{
    struct fx *f = *state;
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
    assert_int_equal(wait_exit(f->pid, 10000), 1);
    f->pid = 0;
    read_log(f, buf, sizeof(buf));
    assert_non_null(strstr(buf, "--socket-mode and --socket-group can't be used with socket "
                                "activation"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_security_socket_created_0600_by_default),
        T(test_security_socket_mode_and_group_applied),
        T(test_security_socket_group_unknown_refused),
        T(test_security_socket_options_refused_with_activation),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
