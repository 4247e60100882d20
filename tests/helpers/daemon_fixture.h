/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_fixture.h - one fixture for every test that starts the built
 * prhelper: a temporary directory with the socket, state, log, control,
 * audit, trace and metrics paths and a stand-in disk; start with options
 * (waits until the sockets exist), stop with a signal, the daemon's
 * stderr (captured in log), and running other programs with their output.
 */
#ifndef PRHELPER_TESTS_DAEMON_FIXTURE_H
#define PRHELPER_TESTS_DAEMON_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "prh_test_util.h"

#define DFX_PATH_MAX 256

struct dfx {
    char *dir;
    char sock[DFX_PATH_MAX], state[DFX_PATH_MAX], pidfile[DFX_PATH_MAX], log[DFX_PATH_MAX],
        ctl[DFX_PATH_MAX], audit[DFX_PATH_MAX], trace[DFX_PATH_MAX], metrics[DFX_PATH_MAX];
    char *disk;
    int devfd; /* the disk, open O_RDWR */
    pid_t pid; /* the daemon, 0 when none runs */
    /* Options dfx_start() adds (set them before it). */
    const char *transport; /* "sim" unless set */
    bool with_ctl;         /* --control=ctl (and wait for it) */
    bool with_audit;       /* --audit=file:audit */
    bool with_trace;       /* --trace-file=trace */
    bool verbose;          /* -v */
};

/* cmocka setup/teardown: *state is a struct dfx; teardown stops a daemon
 * still running (SIGTERM) and removes the directory. */
int dfx_setup(void **state);
int dfx_teardown(void **state);

/* Start prhelper --transport=T --socket --state-dir plus the options the
 * fixture asks for, then the extra arguments (NULL ends them), stderr into
 * log; wait (10 s) until its socket (removed first) and every control
 * socket exist. */
void dfx_start(struct dfx *f, ...);
void dfx_start_argv(struct dfx *f, const char *const *extra);
/* Wait until the socket and (with_ctl) the control socket accept a connection. */
void dfx_wait_connectable(struct dfx *f);
/* Send sig; the daemon's exit status (tu_wait_exit). */
int dfx_stop(struct dfx *f, int sig);

/* The daemon's stderr so far (NUL-terminated, cut to len). */
void dfx_read_log(const struct dfx *f, char *buf, size_t len);
/* A whole file, malloc'd ("" if it can't be read). */
char *dfx_slurp(const char *path);

/* Run argv (NULL-terminated) with stdout+stderr into out (may be NULL);
 * its exit status (tu_wait_exit), bounded by timeout_ms. */
int dfx_run(char *out, size_t outlen, const char *const *argv, int timeout_ms);

/* A datagram socket at <dir>/notify, named in NOTIFY_SOCKET for the next
 * start (unset it after); the socket. */
int dfx_notify_open(const struct dfx *f);
/* The next notification (10 s at most; "" if none) into buf. */
void dfx_notify_read(int s, char *buf, size_t len);

/* Wait (10 s) until pid has n open descriptors; the last count seen. */
int dfx_wait_fd_count(pid_t pid, int n);

#endif
