/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * landlock.h - the file-system and network layer of the sandbox (the
 * Landlock LSM, Linux 5.13+), under the seccomp filter (seccomp.h).  See
 * sandbox.h for who uses it and docs/security.md for what it forbids.
 *
 * A ruleset names what stays possible beneath a few directories (read,
 * write, create, remove, device ioctls); everything else Landlock can
 * restrict is denied: opening any other file for reading or writing,
 * creating, removing or renaming anywhere else, executing anything, TCP
 * bind and connect (ABI 4+), signals to processes outside the sandbox
 * (ABI 6+) and ptrace of them (every ABI).
 *
 * Best effort by ABI: the newest the kernel offers is used, down to 1;
 * access rights the kernel does not know are left out of the ruleset and
 * of every rule (they stay unrestricted: docs/security.md lists which).
 * landlock_restrict_self() restricts the calling thread and the threads
 * and processes it creates later, not threads that already exist: it must
 * run while the process has one thread.
 */
#ifndef PRHELPER_LANDLOCK_H
#define PRHELPER_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The newest ABI this code knows: 7 (Linux 6.15; 7 added only audit
 * logging flags, so 6's rights are the newest). */
#define PRH_LANDLOCK_ABI_KNOWN 7

/* What a rule allows beneath its directory (rights the kernel lacks are
 * dropped).  Read: open files for reading, list directories. */
#define PRH_LL_READ 0x1u
/* Open files for writing (and truncate them, ABI 3+). */
#define PRH_LL_WRITE 0x2u
/* Create and remove (or rename within the tree) regular files. */
#define PRH_LL_CREATE_REMOVE 0x4u
/* Create directories (coverage builds: gcov's output tree). */
#define PRH_LL_MAKE_DIR 0x8u
/* ioctl on device files opened beneath (ABI 5+; before 5 unrestricted). */
#define PRH_LL_DEV_IOCTL 0x10u

struct prh_landlock_rule {
    const char *path;  /* a directory (its whole tree) or one file */
    unsigned access;   /* PRH_LL_* */
    bool optional;     /* a missing path is skipped, not an error */
};

struct prh_landlock_ruleset {
    const struct prh_landlock_rule *rules;
    size_t nrules;
    /* Leave connecting to abstract Unix sockets of other processes
     * allowed (multipathd's, an abstract NOTIFY_SOCKET); else denied
     * (ABI 6+). */
    bool abstract_unix;
    /* Use at most this ABI (0: the newest the kernel offers).  Tests use
     * it to run the kernel's older ABIs. */
    int max_abi;
};

/*
 * The kernel's Landlock ABI: >= 1, 0 when Landlock is not available
 * (kernel without it, or not in its active LSM list), with the reason in
 * why (may be NULL).
 */
int prh_landlock_abi(const char **why);

/* The kernel's access masks handled at ABI abi (1..PRH_LANDLOCK_ABI_KNOWN;
 * higher ABIs give the known maximum). */
uint64_t prh_landlock_fs_handled(int abi);
uint64_t prh_landlock_net_handled(int abi);
uint64_t prh_landlock_scopes(int abi, bool abstract_unix);
/* The kernel rights a rule's PRH_LL_* access becomes at abi. */
uint64_t prh_landlock_fs_rights(unsigned access, int abi);

/*
 * Restrict the calling thread (and what it creates later) to rs.  Sets
 * no_new_privs first.  Returns the ABI enforced (>= 1), 0 when the kernel
 * has no Landlock (nothing done; *why says why), or -errno with a message
 * in errmsg: a rule's path cannot be opened, a rule would grant writing
 * beneath "/", or the process has more than one thread.
 */
int prh_landlock_restrict(const struct prh_landlock_ruleset *rs, const char **why, char *errmsg,
                          size_t errmsg_len);

#endif
