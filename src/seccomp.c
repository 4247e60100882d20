/* SPDX-License-Identifier: GPL-2.0-or-later */
/* seccomp.c - the daemon's syscall allow-list (seccomp.h, docs/security.md). */
#include "prhelper/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <scsi/sg.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "prhelper/device.h"

#if defined(__SANITIZE_ADDRESS__)
#define PRH_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRH_SANITIZER_BUILD 1
#endif
#endif

/* Every transport, once started. */
static const char *const base_calls[] = {
    /* event loop and sockets already open; the server, the control socket
     * and the worker pool create their epoll and eventfd under the filter
     * (it is installed before any thread: sandbox.h) */
    "epoll_create1", "eventfd2", "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
    "accept4", "accept", "read",
    "readv", "write", "writev", "recvmsg", "recvfrom", "sendmsg", "sendto", "shutdown",
    "close", "getsockopt", "setsockopt", "getpeername", "getsockname", "poll", "ppoll",
    "fcntl", "dup", "dup2", "dup3", "pread64", "pwrite64", "lseek",
    /* fstat of client fds; stat/unlink of our socket path and PID file at exit */
    "fstat", "newfstatat", "stat", "lstat", "statx", "unlink", "unlinkat",
    /* memory, threads, time */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list",
    "rseq", "sched_yield", "sched_getaffinity", "clock_gettime", "clock_getres",
    "clock_nanosleep", "nanosleep", "gettimeofday", "time", "getrandom", "restart_syscall",
    /* ids, signals, exit (abort() included) */
    "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "rt_sigprocmask",
    "rt_sigreturn", "rt_sigaction", "tgkill", "exit", "exit_group",
    /* sd_notify / the journal: a datagram to the socket named in NOTIFY_SOCKET */
    "memfd_create",
    NULL,
};

/* sim: the APTPL state directory (open, write, fsync, rename). */
static const char *const file_calls[] = {
    "open", "openat", "creat", "rename", "renameat", "renameat2", "fsync", "fdatasync",
    "ftruncate", "fchmod", "fchown", "umask", "getdents64", "mkdir", "mkdirat", "link", "linkat",
    "access", "faccessat", "faccessat2",
    NULL,
};

/* Runtime of ASan/LSan builds (leak check at exit, reports). */
static const char *const sanitizer_calls[] = {
    "clone", "clone3", "ptrace", "wait4", "waitid", "prctl", "sigaltstack", "readlink",
    "readlinkat", "getppid", "kill", "uname", "getrlimit", "prlimit64", "pipe", "pipe2",
    "dup2", "dup3", "sched_setaffinity", "process_vm_readv", "execve", "getdents", "access",
    "faccessat", "faccessat2", "mincore", "msync",
    NULL,
};

/* Only an attacker makes these: the process dies at once (clone: when it
 * is not a thread, see add_clone_rules()). */
static const char *const kill_calls[] = {
    "execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "process_vm_readv",
    "process_vm_writev", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "mount", "umount2", "pivot_root", "chroot", "setns", "unshare", "bpf",
    "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "iopl", "ioperm",
    "reboot", "swapon", "swapoff", "setuid", "setgid", "setreuid", "setregid", "setresuid",
    "setresgid", "setgroups", "setfsuid", "setfsgid", "capset", "personality",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init", "move_mount", "fsopen",
    "fsmount", "open_tree",
    NULL,
};

/*
 * The worker pool starts threads after the filter is in (workers.h), so
 * clone() is allowed for a thread and kills the process otherwise (a
 * fork).  A thread is clone() with pthread_create()'s sharing flags and
 * none of the flags that would make it more: a namespace (mpath keeps
 * CAP_SYS_ADMIN), CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT, CLONE_PIDFD;
 * such a clone() fails with EPERM.  clone3() passes its flags in memory a
 * filter cannot read: it fails with ENOSYS, and glibc's pthread_create()
 * then uses clone().
 */
#define PRH_THREAD_CLONE_FLAGS                                                               \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define PRH_CLONE_CHECKED_FLAGS                                                              \
    (PRH_THREAD_CLONE_FLAGS | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |      \
     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_PTRACE | CLONE_VFORK | CLONE_PARENT |  \
     CLONE_UNTRACED | CLONE_PIDFD)

#ifndef PRH_SANITIZER_BUILD /* sanitizer runtimes fork: clone stays allowed there */
static int add_clone_rules(scmp_filter_ctx ctx)
{
    int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, PRH_CLONE_CHECKED_FLAGS,
                                     PRH_THREAD_CLONE_FLAGS));
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    return r;
}
#endif

static bool in_list(const char *const *list, const char *name)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static bool wants_files(const char *t)
{
#if defined(PRH_SANITIZER_BUILD) || defined(PRH_COVERAGE_BUILD)
    (void)t;
    return true; /* leak reports and .gcda files are written at exit */
#else
    return strcmp(t, "sg") != 0 && strcmp(t, "mpath") != 0;
#endif
}

/* sg and mpath (one device transport, device.h): sysfs reads, the paths
 * of dm-multipath maps, multipathd's socket (prh_dev_syscalls).
 * open/openat only for existing files: nothing is created, truncated or
 * appended to. */
static bool serves_mpath(const char *t)
{
    return strcmp(t, "sg") == 0 || strcmp(t, "mpath") == 0;
}

static bool sanitizer_allows(const char *name)
{
#ifdef PRH_SANITIZER_BUILD
    return in_list(sanitizer_calls, name);
#else
    (void)name;
    (void)sanitizer_calls;
    return false;
#endif
}

bool prh_seccomp_kills(const char *name)
{
    /* clone3 fails with ENOSYS instead (add_clone_rules()). */
    return in_list(kill_calls, name) && !sanitizer_allows(name) && strcmp(name, "clone3") != 0;
}

bool prh_seccomp_allows(const struct prh_seccomp_config *cfg, const char *name)
{
    const char *t = cfg->transport ? cfg->transport : "sim";

    if (in_list(base_calls, name) || in_list(cfg->extra_syscalls, name) ||
        sanitizer_allows(name))
        return true;
    if (wants_files(t) && in_list(file_calls, name))
        return true;
    /* Allowed with argument checks (see add_conditional()). */
    if (strcmp(name, "ioctl") == 0 || strcmp(name, "socket") == 0)
        return true;
    /* open/openat are conditional (existing files only): not listed. */
    if (serves_mpath(t) && in_list(prh_dev_syscalls, name) && strcmp(name, "open") != 0 &&
        strcmp(name, "openat") != 0)
        return true;
    return false;
}

static int add_list(scmp_filter_ctx ctx, uint32_t action, const char *const *list,
                    const char **bad)
{
    for (; list && *list; list++) {
        int nr = seccomp_syscall_resolve_name(*list);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a syscall on this architecture */
        int r = seccomp_rule_add(ctx, action, nr, 0);
        if (r < 0 && r != -EEXIST) {
            *bad = *list;
            return r;
        }
    }
    return 0;
}

static int add_mpath_calls(scmp_filter_ctx ctx)
{
    /* Read-only opens of existing files only: sysfs, and the path nodes,
     * which SG_IO needs no write access to (device.c).  O_TMPFILE
     * contains O_DIRECTORY, which opendir() needs. */
    const unsigned long creating =
        O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY);
    int r = 0;
    for (const char *const *p = prh_dev_syscalls; *p && r == 0; p++) {
        int nr = seccomp_syscall_resolve_name(*p);
        if (nr == __NR_SCMP_ERROR)
            continue;
        if (strcmp(*p, "openat") == 0)
            r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                 SCMP_A2(SCMP_CMP_MASKED_EQ, creating, 0));
        else if (strcmp(*p, "open") == 0)
            r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                 SCMP_A1(SCMP_CMP_MASKED_EQ, creating, 0));
        else
            r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (r == -EEXIST)
            r = 0; /* already allowed outright (file_calls) */
    }
    return r;
}

size_t prh_seccomp_ioctls(const char *t, unsigned long *out, size_t max)
{
    /* The ioctls the code issues, by request number: stdio asks whether
     * a stream is a terminal; sg and mpath send SG_IO and BLKGETDISKSEQ
     * (device.h); mpath reads device-mapper tables and suspends maps. */
    unsigned long all[5];
    size_t n = 0;
    all[n++] = TCGETS;
    if (serves_mpath(t)) {
        all[n++] = SG_IO;
        all[n++] = BLKGETDISKSEQ;
    }
    if (strcmp(t, "mpath") == 0) {
        all[n++] = DM_TABLE_STATUS;
        all[n++] = DM_DEV_SUSPEND;
    }
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = all[i];
    return n < max ? n : max;
}

/* ioctl and socket, allowed only with the transport's arguments. */
static int add_conditional(scmp_filter_ctx ctx, const char *t)
{
    int r;

    if (serves_mpath(t)) {
        r = add_mpath_calls(ctx);
        if (r < 0)
            return r;
    }

    /* sd_notify()/the journal: AF_UNIX datagram sockets only. */
    /* (No other family: no TCP, no raw or netlink socket.) */
    r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
    if (r < 0)
        return r;
    if (serves_mpath(t))
        /* multipathd's command socket (multipathd.h): a Unix stream. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
                             SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
    unsigned long ioctls[8];
    size_t n = prh_seccomp_ioctls(t, ioctls, 8);
    for (size_t i = 0; i < n && r == 0; i++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i]));
    return r;
}

int prh_seccomp_install(const struct prh_seccomp_config *cfg, char *errmsg, size_t len)
{
    const char *t = cfg->transport ? cfg->transport : "sim";
    const char *bad = NULL;
    int r;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));

    if (!ctx) {
        snprintf(errmsg, len, "seccomp_init failed");
        return -ENOMEM;
    }
    r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (r == 0) {
        /* Kill rules first: an allow rule for the same call wins below. */
        for (const char *const *k = kill_calls; *k && r == 0; k++) {
            if (sanitizer_allows(*k) || in_list(cfg->extra_syscalls, *k))
                continue;
            if (strcmp(*k, "clone") == 0 || strcmp(*k, "clone3") == 0)
                continue; /* add_clone_rules() */
            int nr = seccomp_syscall_resolve_name(*k);
            if (nr != __NR_SCMP_ERROR)
                r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
            if (r < 0)
                bad = *k;
        }
    }
#ifndef PRH_SANITIZER_BUILD
    if (r == 0 && (r = add_clone_rules(ctx)) < 0)
        bad = "clone";
#endif
    if (r == 0)
        r = add_list(ctx, SCMP_ACT_ALLOW, base_calls, &bad);
    if (r == 0 && wants_files(t))
        r = add_list(ctx, SCMP_ACT_ALLOW, file_calls, &bad);
#ifdef PRH_SANITIZER_BUILD
    if (r == 0)
        r = add_list(ctx, SCMP_ACT_ALLOW, sanitizer_calls, &bad);
#endif
    if (r == 0)
        r = add_list(ctx, SCMP_ACT_ALLOW, cfg->extra_syscalls, &bad);
    if (r == 0)
        r = add_conditional(ctx, t);
    if (r == 0)
        r = seccomp_load(ctx);
    if (r < 0) {
        if (bad)
            snprintf(errmsg, len, "cannot build the seccomp filter (%s): %s", bad, strerror(-r));
        else
            snprintf(errmsg, len, "cannot install the seccomp filter: %s", strerror(-r));
    }
    seccomp_release(ctx);
    return r < 0 ? r : 0;
}
