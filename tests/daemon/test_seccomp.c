/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_seccomp.c - the syscall filter, installed in a forked child (a
 * filter cannot be removed): what it allows works, what it forbids fails
 * with EPERM or kills the process with SIGSYS, on every thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <scsi/sg.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "prh_test_util.h"
#include "prhelper/seccomp.h"

/* Run fn(arg) in a child under the filter for transport; its wait status. */
static int in_filtered_child(const char *transport, int (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct prh_seccomp_config cfg = { .transport = transport };
        if (prh_seccomp_install(&cfg, err, sizeof(err)) < 0)
            _exit(100);
        _exit(fn(arg));
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static int exit_code(int st)
{
    if (!WIFEXITED(st))
        fail_msg("child died of signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    return WEXITSTATUS(st);
}

/* 0 if the call succeeded, 1 if it failed with EPERM, 2 otherwise. */
static int outcome(long r)
{
    if (r >= 0)
        return 0;
    return errno == EPERM ? 1 : 2;
}

static int try_inet_socket(void *arg)
{
    (void)arg;
    return outcome(socket(AF_INET, SOCK_STREAM, 0));
}

static void test_seccomp_inet_socket_refused_eperm(void **state)
{
    (void)state;
    assert_int_equal(exit_code(in_filtered_child("sim", try_inet_socket, NULL)), 1);
    assert_int_equal(exit_code(in_filtered_child("sg", try_inet_socket, NULL)), 1);
}

static int try_unix_sockets(void *arg)
{
    (void)arg;
    int dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* sd_notify */
    int stream = socket(AF_UNIX, SOCK_STREAM, 0);
    return (dgram >= 0 ? 0 : 4) | outcome(stream);
}

static void test_seccomp_only_unix_datagram_sockets(void **state)
{
    (void)state;
    assert_int_equal(exit_code(in_filtered_child("sim", try_unix_sockets, NULL)), 1);
}

static int try_execve(void *arg)
{
    (void)arg;
    char *const argv[] = { (char *)"/bin/true", NULL };
    execv("/bin/true", argv);
    return errno == EPERM ? 1 : 2;
}

static void test_seccomp_execve_kills_the_process(void **state)
{
    (void)state;
    int st = in_filtered_child("sim", try_execve, NULL);
    if (prh_seccomp_kills("execve")) {
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGSYS);
    } else {
        /* sanitizer builds: the runtime's symbolizer may exec; still not /bin/true's 0 */
        assert_true(!WIFEXITED(st) || WEXITSTATUS(st) != 0);
    }
}

static int try_ptrace(void *arg)
{
    (void)arg;
    return outcome(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static void test_seccomp_ptrace_kills_the_process(void **state)
{
    (void)state;
    int st = in_filtered_child("sg", try_ptrace, NULL);
    if (!prh_seccomp_kills("ptrace"))
        skip(); /* LeakSanitizer needs ptrace: allowed in sanitizer builds */
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);
}

static int try_fork(void *arg)
{
    (void)arg;
    long r = syscall(SYS_fork);
    if (r == 0)
        _exit(0);
    return outcome(r);
}

static void test_seccomp_fork_kills_the_process(void **state)
{
    (void)state;
    int st = in_filtered_child("sim", try_fork, NULL);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);
}

static int try_state_file_calls(void *arg)
{
    const char *dir = arg;
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/x.tmp", dir);
    snprintf(b, sizeof(b), "%s/x.prstate", dir);
    int fd = open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return outcome(fd);
    if (write(fd, "x", 1) != 1 || fsync(fd) < 0 || close(fd) < 0 || rename(a, b) < 0)
        return 3;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
        return 3;
    close(dfd);
    return unlink(b) == 0 ? 0 : 3;
}

/* try_state_file_calls in a new directory under transport's filter: its exit code. */
static int state_file_calls_under(const char *transport)
{
    char *dir = tu_tmpdir();
    int code = exit_code(in_filtered_child(transport, try_state_file_calls, dir));
    tu_tmpdir_free(dir);
    return code;
}

static void test_seccomp_sim_may_write_its_state_dir(void **state)
{
    (void)state;
    assert_int_equal(state_file_calls_under("sim"), 0);
}

/* The request's stat of a client fd is the fstat system call
 * (prh_fstat_fd()): every transport's filter lets it through. */
static void test_seccomp_every_transport_allows_the_fstat_syscall(void **state)
{
    (void)state;
    static const char *const transports[] = { "sg", "mpath", "sim" };
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
        struct prh_seccomp_config cfg = { .transport = transports[i] };
        assert_true(prh_seccomp_allows(&cfg, "fstat"));
    }
}

static void test_seccomp_sg_may_not_open_files(void **state)
{
    (void)state;
    struct prh_seccomp_config cfg = { .transport = "sg" };
    /* Sanitizer and coverage builds write reports at exit: open allowed there. */
    assert_int_equal(state_file_calls_under("sg"), prh_seccomp_allows(&cfg, "openat") ? 0 : 1);
}

static int try_ioctls(void *arg)
{
    int fd = *(int *)arg;
    sg_io_hdr_t hdr;
    memset(&hdr, 0, sizeof(hdr));
    errno = 0;
    long r = ioctl(fd, SG_IO, &hdr); /* a regular file: ENOTTY if it gets through */
    int sgio = r < 0 && errno == EPERM ? 1 : 0;
    errno = 0;
    r = ioctl(fd, FIONREAD, &(int){ 0 });
    int fionread = r < 0 && errno == EPERM ? 2 : 0;
    return sgio | fionread;
}

/* try(&fd), fd open on a regular file, under transport's filter: its exit code. */
static int on_a_file_under(const char *transport, int (*try)(void *))
{
    char *dir = tu_tmpdir();
    char *disk = tu_disk(dir, "d");
    int fd = open(disk, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    int code = exit_code(in_filtered_child(transport, try, &fd));
    close(fd);
    free(disk);
    tu_tmpdir_free(dir);
    return code;
}

static void test_seccomp_ioctl_only_sg_io_for_sg(void **state)
{
    (void)state;
    /* sg: SG_IO passes the filter (the file answers ENOTTY), FIONREAD does not. */
    assert_int_equal(on_a_file_under("sg", try_ioctls), 2);
    /* sim: neither. */
    assert_int_equal(on_a_file_under("sim", try_ioctls), 3);
}

/* Each ioctl the device transports issue passes the filter (a regular
 * file answers ENOTTY); others fail with EPERM.  Bit i set: ioctl i was
 * refused by the filter. */
static const unsigned long device_ioctls[] = { SG_IO, BLKGETDISKSEQ, DM_TABLE_STATUS,
                                               DM_DEV_SUSPEND, FIONREAD, BLKGETSIZE64,
                                               DM_DEV_REMOVE };

static int try_device_ioctls(void *arg)
{
    int fd = *(int *)arg, refused = 0;
    char buf[512] = { 0 };
    for (int i = 0; i < 7; i++) {
        errno = 0;
        if (ioctl(fd, device_ioctls[i], buf) < 0 && errno == EPERM)
            refused |= 1 << i;
    }
    return refused;
}

static void test_seccomp_device_transports_issue_only_their_ioctls(void **state)
{
    (void)state;
    /* sg: SG_IO and BLKGETDISKSEQ; no device-mapper, nothing else. */
    assert_int_equal(on_a_file_under("sg", try_device_ioctls),
                     1 << 2 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6);
    /* mpath: also DM_TABLE_STATUS and DM_DEV_SUSPEND, no other dm ioctl. */
    assert_int_equal(on_a_file_under("mpath", try_device_ioctls), 1 << 4 | 1 << 5 | 1 << 6);
    unsigned long l[8];
    assert_int_equal(prh_seccomp_ioctls("mpath", l, 8), 5);
    assert_int_equal(prh_seccomp_ioctls("sg", l, 8), 3);
    assert_int_equal(prh_seccomp_ioctls("sim", l, 8), 1);
}

static int try_sockets(void *arg)
{
    (void)arg;
    int stream = outcome(socket(AF_UNIX, SOCK_STREAM, 0));
    int dgram = outcome(socket(AF_UNIX, SOCK_DGRAM, 0));
    int inet = outcome(socket(AF_INET, SOCK_STREAM, 0));
    return stream | dgram << 2 | inet << 4;
}

static void test_seccomp_unix_stream_socket_for_multipathd_only_in_device_transports(void **state)
{
    (void)state;
    /* 1: refused with EPERM (2 bits each: stream, datagram, inet). */
    assert_int_equal(exit_code(in_filtered_child("sg", try_sockets, NULL)), 1 << 4);
    assert_int_equal(exit_code(in_filtered_child("mpath", try_sockets, NULL)), 1 << 4);
    assert_int_equal(exit_code(in_filtered_child("sim", try_sockets, NULL)), 1 | 1 << 4);
}

static void test_seccomp_mpath_may_not_create_files(void **state)
{
    (void)state;
    struct prh_seccomp_config cfg = { .transport = "mpath" };
    assert_int_equal(state_file_calls_under("mpath"), prh_seccomp_allows(&cfg, "rename") ? 0 : 1);
}

/* Bits: 1 a read-only open failed, 2 read-write succeeded, 4 write-only
 * succeeded, 8 a read-only open with O_TRUNC succeeded. */
static int try_opening_existing_file(void *arg)
{
    const char *file = arg;
    int r = 0, fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        r |= 1;
    else
        close(fd);
    if ((fd = open(file, O_RDWR | O_CLOEXEC)) >= 0) {
        r |= 2;
        close(fd);
    }
    if ((fd = open(file, O_WRONLY | O_CLOEXEC)) >= 0) {
        r |= 4;
        close(fd);
    }
    if ((fd = open(file, O_RDONLY | O_TRUNC | O_CLOEXEC)) >= 0) {
        r |= 8;
        close(fd);
    }
    return r;
}

/* sg and mpath open sysfs and path nodes read-only (SG_IO needs no write
 * access): an existing file such as /etc/shadow cannot be opened for
 * writing under their filter (issue #15's Landlock layer builds on it). */
static void test_seccomp_device_transports_open_existing_files_read_only(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *disk = tu_disk(dir, "d");
    struct prh_seccomp_config cfg = { .transport = "sg" };
    /* Sanitizer and coverage builds write reports at exit: opens allowed there. */
    int want = prh_seccomp_allows(&cfg, "rename") ? 2 | 4 | 8 : 0;
    assert_int_equal(exit_code(in_filtered_child("sg", try_opening_existing_file, disk)), want);
    assert_int_equal(exit_code(in_filtered_child("mpath", try_opening_existing_file, disk)),
                     want);
    tu_tmpdir_free(dir);
    free(disk);
}

static void *thread_try_inet(void *arg)
{
    int *go = arg;
    while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
        tu_sleep_ms(1);
    long r = socket(AF_INET, SOCK_DGRAM, 0);
    return (void *)(intptr_t)outcome(r);
}

/* Threads that exist before the filter (the workers) get it too. */
static void test_seccomp_applies_to_existing_threads(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static int go;
        pthread_t th;
        void *res;
        char err[256];
        struct prh_seccomp_config cfg = { .transport = "sim" };
        if (pthread_create(&th, NULL, thread_try_inet, &go) != 0)
            _exit(10);
        if (prh_seccomp_install(&cfg, err, sizeof(err)) < 0)
            _exit(11);
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
        pthread_join(th, &res);
        _exit((int)(intptr_t)res);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(exit_code(st), 1);
}

static void *thread_returns_tid(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)gettid();
}

/* The worker pool creates and ends threads after the filter, in every
 * transport. */
static int try_threads_in_rounds(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        pthread_t th;
        void *res;
        if (pthread_create(&th, NULL, thread_returns_tid, NULL) != 0)
            return 1;
        if (pthread_join(th, &res) != 0 || (intptr_t)res == gettid())
            return 2;
    }
    return 0;
}

static void test_seccomp_threads_created_after_the_filter(void **state)
{
    (void)state;
    assert_int_equal(exit_code(in_filtered_child("sim", try_threads_in_rounds, NULL)), 0);
    assert_int_equal(exit_code(in_filtered_child("sg", try_threads_in_rounds, NULL)), 0);
    assert_int_equal(exit_code(in_filtered_child("mpath", try_threads_in_rounds, NULL)), 0);
}

/* clone3() passes its flags in memory the filter cannot read: ENOSYS,
 * so glibc falls back to clone(), whose flags the filter checks. */
static int try_clone3(void *arg)
{
    (void)arg;
    long r = syscall(SYS_clone3, NULL, 0L);
    return r < 0 && errno == ENOSYS ? 0 : 1;
}

static void test_seccomp_clone3_fails_with_enosys(void **state)
{
    (void)state;
    struct prh_seccomp_config cfg = { .transport = "sg" };
    if (prh_seccomp_allows(&cfg, "clone3"))
        skip(); /* sanitizer builds allow clone and clone3 outright */
    assert_int_equal(exit_code(in_filtered_child("sim", try_clone3, NULL)), 0);
    assert_int_equal(exit_code(in_filtered_child("sg", try_clone3, NULL)), 0);
}

/* clone() of a process (no CLONE_THREAD), as fork() does: it kills. */
static int try_clone_process(void *arg)
{
    (void)arg;
    long r = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0);
    if (r == 0)
        _exit(0);
    return outcome(r);
}

static void test_seccomp_clone_of_a_process_kills(void **state)
{
    (void)state;
    struct prh_seccomp_config cfg = { .transport = "sg" };
    if (prh_seccomp_allows(&cfg, "fork") || prh_seccomp_allows(&cfg, "ptrace"))
        skip(); /* sanitizer builds: LeakSanitizer clones a tracer process */
    int st = in_filtered_child("sg", try_clone_process, NULL);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* A thread in a new namespace: the thread flags with one more. */
static int try_clone_thread_in_namespace(void *arg)
{
    (void)arg;
    unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                          CLONE_NEWNET;
    long r = syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (r == 0)
        syscall(SYS_exit, 0);
    return outcome(r);
}

static void test_seccomp_clone_with_other_flags_refused(void **state)
{
    (void)state;
    struct prh_seccomp_config cfg = { .transport = "sg" };
    if (prh_seccomp_allows(&cfg, "ptrace"))
        skip(); /* sanitizer builds allow clone outright */
    assert_int_equal(exit_code(in_filtered_child("sim", try_clone_thread_in_namespace, NULL)), 1);
}

static void test_seccomp_extra_syscalls_allowed(void **state)
{
    (void)state;
    const char *extra[] = { "connect", NULL };
    struct prh_seccomp_config cfg = { .transport = "sim", .extra_syscalls = extra };
    struct prh_seccomp_config plain = { .transport = "sim" };
    assert_true(prh_seccomp_allows(&cfg, "connect"));
    assert_false(prh_seccomp_allows(&plain, "connect"));
    assert_true(prh_seccomp_allows(&plain, "epoll_wait"));
    assert_true(prh_seccomp_allows(&plain, "recvmsg"));
    assert_false(prh_seccomp_allows(&plain, "bind"));
    assert_false(prh_seccomp_allows(&plain, "listen"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seccomp_inet_socket_refused_eperm),
        cmocka_unit_test(test_seccomp_only_unix_datagram_sockets),
        cmocka_unit_test(test_seccomp_execve_kills_the_process),
        cmocka_unit_test(test_seccomp_ptrace_kills_the_process),
        cmocka_unit_test(test_seccomp_fork_kills_the_process),
        cmocka_unit_test(test_seccomp_sim_may_write_its_state_dir),
        cmocka_unit_test(test_seccomp_every_transport_allows_the_fstat_syscall),
        cmocka_unit_test(test_seccomp_sg_may_not_open_files),
        cmocka_unit_test(test_seccomp_ioctl_only_sg_io_for_sg),
        cmocka_unit_test(test_seccomp_device_transports_issue_only_their_ioctls),
        cmocka_unit_test(test_seccomp_unix_stream_socket_for_multipathd_only_in_device_transports),
        cmocka_unit_test(test_seccomp_mpath_may_not_create_files),
        cmocka_unit_test(test_seccomp_device_transports_open_existing_files_read_only),
        cmocka_unit_test(test_seccomp_applies_to_existing_threads),
        cmocka_unit_test(test_seccomp_extra_syscalls_allowed),
        cmocka_unit_test(test_seccomp_threads_created_after_the_filter),
        cmocka_unit_test(test_seccomp_clone3_fails_with_enosys),
        cmocka_unit_test(test_seccomp_clone_of_a_process_kills),
        cmocka_unit_test(test_seccomp_clone_with_other_flags_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
