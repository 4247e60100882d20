/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox.h - the daemon's sandbox: Landlock (landlock.h: which files may
 * be read or written, no execution, no TCP) under the seccomp filter
 * (seccomp.h: which system calls, ioctls and sockets).  main() calls
 * prh_sandbox_install() once start-up is over (socket, PID file, audit
 * and trace files open, privileges dropped) and before any thread starts;
 * tests/daemon/test_sandbox_attack.c runs the same function and attacks it.
 * See docs/security.md.
 *
 * Under Landlock the daemon may not remove files from the directories of
 * its sockets and PID file (that right would cover every file there, e.g.
 * all of /run).  A small process forked before the sandbox, outside it,
 * removes them (the socket, the control socket, the PID file) at a clean exit (prh_sandbox_exit()); after a crash
 * they stay, as without the sandbox.
 */
#ifndef PRHELPER_SANDBOX_H
#define PRHELPER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct prh_options;

struct prh_sandbox_config {
    const char *transport;   /* "sg", "mpath", "sim" */
    bool landlock;           /* false: --no-sandbox */
    bool seccomp;            /* false: --no-sandbox or --no-seccomp */
    int landlock_max_abi;    /* 0: the newest the kernel offers (tests cap it) */
    const char *state_dir;   /* sim: files read, written, created, removed there */
    const char *metrics_file;  /* its directory: files created and replaced */
    const char *const *extra_syscalls; /* seccomp: the audit/metrics calls */
    /* Landlock ABI 6+: leave other processes' abstract Unix sockets
     * reachable (sg/mpath with multipathd's default or an "@" name). */
    bool abstract_unix;
    /* Removed at a clean exit if they are still these files (NULL: none). */
    const char *socket_path;
    dev_t socket_dev;
    ino_t socket_ino;
    const char *pidfile;
    dev_t pidfile_dev;
    ino_t pidfile_ino;
    const char *control_path; /* --control's socket */
    dev_t control_dev;
    ino_t control_ino;
};

/* The configuration of the options (paths point into o). */
void prh_sandbox_config_init(struct prh_sandbox_config *cfg, const struct prh_options *o,
                             const char *transport);

struct prh_sandbox;

/*
 * Apply cfg to the process: Landlock (if cfg->landlock and the kernel has
 * it; without it one line is logged and the rest goes on), then the
 * seccomp filter (if cfg->seccomp).  The process must have one thread.
 * NULL with a message in errmsg if a layer cannot be installed.
 */
struct prh_sandbox *prh_sandbox_install(const struct prh_sandbox_config *cfg, char *errmsg,
                                        size_t errmsg_len);

/* The Landlock ABI enforced, 0 if none. */
int prh_sandbox_landlock_abi(const struct prh_sandbox *sb);
/* Is the seccomp filter installed? */
bool prh_sandbox_seccomp(const struct prh_sandbox *sb);
/* Does prh_sandbox_exit() remove the socket and PID file (the caller
 * must not try: Landlock would refuse)? */
bool prh_sandbox_removes_files(const struct prh_sandbox *sb);
/* One line for the log: "Landlock ABI 7, seccomp filter (sim)". */
void prh_sandbox_describe(const struct prh_sandbox *sb, char *buf, size_t len);

/* Clean exit: have the socket and PID file removed (waits for it, at
 * most 5 s), free sb.  NULL is ignored. */
void prh_sandbox_exit(struct prh_sandbox *sb);

#endif
