/* SPDX-License-Identifier: GPL-2.0-or-later */
/* landlock.c - the Landlock layer of the sandbox (landlock.h, docs/security.md). */
#include "prhelper/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Debian 12's <linux/landlock.h> (linux-libc-dev 6.1) stops at ABI 2.  The
 * later values, from the kernel's include/uapi/linux/landlock.h:
 *   ABI 3 (Linux 6.2):  LANDLOCK_ACCESS_FS_TRUNCATE          1 << 14
 *   ABI 4 (Linux 6.7):  handled_access_net, LANDLOCK_RULE_NET_PORT = 2,
 *                       LANDLOCK_ACCESS_NET_BIND_TCP 1 << 0, _CONNECT_TCP 1 << 1
 *   ABI 5 (Linux 6.10): LANDLOCK_ACCESS_FS_IOCTL_DEV         1 << 15
 *   ABI 6 (Linux 6.12): scoped, LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET 1 << 0,
 *                       LANDLOCK_SCOPE_SIGNAL 1 << 1
 *   ABI 7 (Linux 6.15): landlock_restrict_self() logging flags only.
 */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* The kernel's struct landlock_ruleset_attr as of ABI 6 (the installed
 * header has only its first member).  The size passed tells the kernel
 * which members this program knows. */
struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4+ */
    uint64_t scoped;             /* ABI 6+ */
};
_Static_assert(sizeof(struct ll_ruleset_attr) == 24, "landlock_ruleset_attr, ABI 6 layout");
_Static_assert(sizeof(struct landlock_path_beneath_attr) == 12, "packed path_beneath_attr");

/* Rights a rule on a single file (not a directory) may carry. */
#define LL_FILE_RIGHTS                                                                        \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* Rights that change what is in the file system. */
#define LL_WRITING_RIGHTS                                                                    \
    (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                            \
     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR)

static long ll_create_ruleset(const struct ll_ruleset_attr *attr, size_t size, uint32_t flags)
{
    return syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

int prh_landlock_abi(const char **why)
{
    long abi = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    const char *reason = NULL;

    if (abi >= 1)
        return (int)abi;
    switch (errno) {
    case ENOSYS:
        reason = "the kernel was built without Landlock";
        break;
    case EOPNOTSUPP:
        reason = "Landlock is not in the kernel's active LSM list (lsm= boot parameter)";
        break;
    case EPERM:
        reason = "the Landlock system calls are blocked (a seccomp filter of the service "
                 "manager or container?)";
        break;
    default:
        reason = strerror(errno);
        break;
    }
    if (why)
        *why = reason;
    return 0;
}

uint64_t prh_landlock_fs_handled(int abi)
{
    uint64_t fs = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2)
        fs |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return fs;
}

uint64_t prh_landlock_net_handled(int abi)
{
    return abi >= 4 ? LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP : 0;
}

uint64_t prh_landlock_scopes(int abi, bool abstract_unix)
{
    if (abi < 6)
        return 0;
    return LANDLOCK_SCOPE_SIGNAL | (abstract_unix ? 0 : LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET);
}

uint64_t prh_landlock_fs_rights(unsigned access, int abi)
{
    uint64_t r = 0;
    if (access & PRH_LL_READ)
        r |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    if (access & PRH_LL_WRITE)
        r |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
    if (access & PRH_LL_CREATE_REMOVE)
        r |= LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE;
    if (access & PRH_LL_MAKE_DIR)
        r |= LANDLOCK_ACCESS_FS_MAKE_DIR;
    if (access & PRH_LL_DEV_IOCTL)
        r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return r & prh_landlock_fs_handled(abi);
}

/* Threads of this process (/proc/self/status), or -1 when unknown. */
static int thread_count(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = strstr(buf, "\nThreads:");
    int count;
    return p && sscanf(p + 9, "%d", &count) == 1 ? count : -1;
}

static int add_rule(int rfd, const struct prh_landlock_rule *rule, int abi, char *errmsg,
                    size_t len)
{
    struct landlock_path_beneath_attr pb = { 0 };
    struct stat st, root;
    int r = 0;

    pb.parent_fd = open(rule->path, O_PATH | O_CLOEXEC);
    if (pb.parent_fd < 0) {
        if (rule->optional && errno == ENOENT)
            return 0;
        r = -errno;
        snprintf(errmsg, len, "sandbox: cannot open '%s' for a Landlock rule: %s", rule->path,
                 strerror(errno));
        return r;
    }
    pb.allowed_access = prh_landlock_fs_rights(rule->access, abi);
    if (fstat(pb.parent_fd, &st) < 0) {
        r = -errno;
    } else {
        if (!S_ISDIR(st.st_mode))
            pb.allowed_access &= LL_FILE_RIGHTS;
        /* Writing beneath the root directory would be writing anywhere. */
        if ((pb.allowed_access & LL_WRITING_RIGHTS) && stat("/", &root) == 0 &&
            root.st_dev == st.st_dev && root.st_ino == st.st_ino) {
            snprintf(errmsg, len,
                     "sandbox: '%s' is the root directory: allowing writes there would allow "
                     "them everywhere (give it a directory of its own)",
                     rule->path);
            r = -EINVAL;
        } else if (pb.allowed_access &&
                   syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
            r = -errno;
        }
    }
    if (r < 0 && r != -EINVAL)
        snprintf(errmsg, len, "sandbox: cannot add a Landlock rule for '%s': %s", rule->path,
                 strerror(-r));
    close(pb.parent_fd);
    return r;
}

int prh_landlock_restrict(const struct prh_landlock_ruleset *rs, const char **why, char *errmsg,
                          size_t len)
{
    int abi = prh_landlock_abi(why);

    if (abi == 0)
        return 0;
    if (abi > PRH_LANDLOCK_ABI_KNOWN)
        abi = PRH_LANDLOCK_ABI_KNOWN;
    if (rs->max_abi > 0 && abi > rs->max_abi)
        abi = rs->max_abi;
    int threads = thread_count();
    if (threads > 1) {
        snprintf(errmsg, len,
                 "sandbox: Landlock must be applied while the process has one thread (it has "
                 "%d): it restricts only the calling thread and those it creates",
                 threads);
        return -EBUSY;
    }

    struct ll_ruleset_attr attr = {
        .handled_access_fs = prh_landlock_fs_handled(abi),
        .handled_access_net = prh_landlock_net_handled(abi),
        .scoped = prh_landlock_scopes(abi, rs->abstract_unix),
    };
    size_t size = abi >= 6 ? sizeof(attr) : abi >= 4 ? 16 : 8;
    int rfd = (int)ll_create_ruleset(&attr, size, 0);
    if (rfd < 0) {
        int e = errno;
        snprintf(errmsg, len, "sandbox: cannot create a Landlock ruleset (ABI %d): %s", abi,
                 strerror(e));
        return -e;
    }
    int r = 0;
    for (size_t i = 0; i < rs->nrules && r == 0; i++)
        r = add_rule(rfd, &rs->rules[i], abi, errmsg, len);
    /* Landlock needs no_new_privs (or CAP_SYS_ADMIN); the privilege drop
     * sets it too, but not for a process that had nothing to drop. */
    if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        r = -errno;
    if (r == 0 && syscall(SYS_landlock_restrict_self, rfd, 0) < 0) {
        r = -errno;
        snprintf(errmsg, len, "sandbox: cannot enforce the Landlock ruleset: %s",
                 strerror(errno));
    }
    close(rfd);
    return r < 0 ? r : abi;
}
