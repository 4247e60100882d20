/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prh-fake-qemu - a process whose /proc/PID/cmdline is whatever argv the
 * test gives it (e.g. "qemu-system-x86_64 -name guest=vm1,..."), so the
 * daemon sees a QEMU peer.  It ignores its arguments.
 *
 * Environment:
 *   PRH_FAKE_QEMU_FD    an fd (one end of a socketpair) back to the test:
 *                       the process lives until the test closes it
 *   PRH_FAKE_QEMU_SOCK  if set, connect to this Unix socket first and pass
 *                       the connected fd to the test over PRH_FAKE_QEMU_FD
 *                       (SCM_RIGHTS): SO_PEERCRED names this process; each
 *                       'c' the test writes later makes one more connection
 * Exit status 0, or 1 if a step failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prh_test_util.h"

/* Connect to path and pass the connection over back; 0 or -1. */
static int connect_and_pass(int back, const char *path)
{
    char byte = 'q';
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    int r = tu_send_fd(back, byte, s);
    close(s);
    return r;
}

int main(void)
{
    const char *fds = getenv("PRH_FAKE_QEMU_FD");
    const char *path = getenv("PRH_FAKE_QEMU_SOCK");
    char byte = 'q';

    if (!fds)
        return 1;
    int back = atoi(fds);
    if (path ? connect_and_pass(back, path) < 0 : write(back, &byte, 1) != 1)
        return 1;
    /* Live until the test lets go; connect again on request. */
    for (;;) {
        ssize_t r = read(back, &byte, 1);
        if (r == 0 || (r < 0 && errno != EINTR))
            return 0;
        if (r == 1 && byte == 'c' && path && connect_and_pass(back, path) < 0)
            return 1;
    }
}
