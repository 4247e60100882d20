/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp.h - the daemon's syscall filter (libseccomp), the system-call
 * layer of the sandbox (sandbox.h), installed once the socket, the PID
 * file and the privilege drop are done, before the server starts: from
 * then on the process, all threads included (TSYNC), may make only the
 * system calls its steady state needs.  See docs/security.md.
 *
 *  - every transport: the event loop (epoll, accept4, recvmsg/sendmsg,
 *    eventfd/signalfd reads), memory, futexes, clocks, fstat of client
 *    fds, sd_notify (socket(AF_UNIX, SOCK_DGRAM) + sendmsg), exit;
 *    threads: clone() with pthread_create()'s flags only, clone3() fails
 *    with ENOSYS (glibc then uses clone()); ioctl only by number
 *    (prh_seccomp_ioctls(): TCGETS); no socket family but AF_UNIX;
 *  - sg: ioctl SG_IO and BLKGETDISKSEQ, and the device layer's calls
 *    (prh_dev_syscalls, device.h): sysfs reads and read-only opens of
 *    existing path devices, never a file written or created (no
 *    O_WRONLY/O_RDWR/O_CREAT/O_TRUNC/O_APPEND);
 *    socket(AF_UNIX, SOCK_STREAM) + connect for multipathd;
 *  - sim: the state directory's file calls (openat, rename, unlink,
 *    fsync, ...); ioctl only TCGETS (stdio);
 *  - mpath: sg's set plus ioctl DM_TABLE_STATUS and DM_DEV_SUSPEND on
 *    /dev/mapper/control (opened at start-up).
 *
 * Calls that only an attacker would make (execve, ptrace, fork, clone of
 * a process, mount, module loading, bpf, setuid, ...) kill the process
 * (SCMP_ACT_KILL_PROCESS); any other call outside the set fails with
 * EPERM, so an overlooked rare path degrades into an error reply rather
 * than killing the helper of every VM.
 */
#ifndef PRHELPER_SECCOMP_H
#define PRHELPER_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

struct prh_seccomp_config {
    const char *transport;              /* "sg", "sim", "mpath"; other names: sim's set */
    const char *const *extra_syscalls;  /* NULL-terminated names a module adds, or NULL */
};

/*
 * Install the filter on every thread of the process (TSYNC).  0, or
 * -errno with a message in errmsg.
 */
int prh_seccomp_install(const struct prh_seccomp_config *cfg, char *errmsg, size_t errmsg_len);

/* Is syscall name (e.g. "openat") allowed for cfg?  For tests and docs. */
bool prh_seccomp_allows(const struct prh_seccomp_config *cfg, const char *name);
/* The ioctl request numbers transport t may issue (TCGETS, SG_IO, ...):
 * count written to out (<= max). */
size_t prh_seccomp_ioctls(const char *transport, unsigned long *out, size_t max);
/* Does calling name kill the process (rather than fail with EPERM)? */
bool prh_seccomp_kills(const char *name);

#endif
