/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_qemu.h - child processes that look like QEMU to the daemon: they
 * run tests/helpers/fake_qemu.c with the argv a test chooses, so their
 * /proc/PID/cmdline carries "-name guest=..." or "-uuid ...".  Header only,
 * like prh_test_util.h.  Every wait is bounded.
 */
#ifndef PRHELPER_TESTS_FAKE_QEMU_H
#define PRHELPER_TESTS_FAKE_QEMU_H

#include "prh_test_util.h"

#ifndef PRH_FAKE_QEMU_BIN
#error "PRH_FAKE_QEMU_BIN comes from the top-level CMakeLists.txt"
#endif

struct fake_qemu {
    pid_t pid;
    int ctl;  /* the test's end: closing it ends the process */
    int conn; /* with a socket: the connection the process made, else -1 */
};

/*
 * Start a fake QEMU with argv (NULL-terminated; argv[0] is what /proc
 * shows, e.g. "/usr/bin/qemu-system-x86_64").  With sock, it connects to
 * it and hands the connection over; the handshake is done here.  0 or -1.
 */
static inline int fq_start(struct fake_qemu *q, const char *sock, const char *const argv[])
{
    int sp[2];
    char fdnum[16];

    q->pid = -1;
    q->ctl = q->conn = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int keep = dup(sp[1]); /* without O_CLOEXEC: inherited */
        snprintf(fdnum, sizeof(fdnum), "%d", keep);
        setenv("PRH_FAKE_QEMU_FD", fdnum, 1);
        if (sock)
            setenv("PRH_FAKE_QEMU_SOCK", sock, 1);
        else
            unsetenv("PRH_FAKE_QEMU_SOCK");
        execv(PRH_FAKE_QEMU_BIN, (char *const *)argv);
        _exit(127);
    }
    close(sp[1]);
    q->pid = pid;
    q->ctl = sp[0];
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(q->ctl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int fd = tu_recv_fd(q->ctl);
    if (fd == -1)
        return -1;
    if (sock) {
        if (fd < 0)
            return -1;
        q->conn = fd;
        setsockopt(q->conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(q->conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (prh_wire_client_handshake(q->conn, NULL) < 0)
            return -1;
    }
    return 0;
}

/* A new connection from the same process (as QEMU reconnects); its fd, handshake done. */
static inline int fq_reconnect(struct fake_qemu *q)
{
    char byte = 'c';
    if (write(q->ctl, &byte, 1) != 1)
        return -1;
    int fd = tu_recv_fd(q->ctl);
    if (fd < 0)
        return -1;
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (prh_wire_client_handshake(fd, NULL) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A fake QEMU of guest name (libvirt's form) connected to sock. */
static inline int fq_start_guest(struct fake_qemu *q, const char *sock, const char *guest)
{
    char name[300];
    snprintf(name, sizeof(name), "guest=%s,debug-threads=on", guest);
    const char *argv[] = { "/usr/bin/qemu-system-x86_64", "-name", name, "-S", "-machine",
                           "pc-q35-11.0", NULL };
    return fq_start(q, sock, argv);
}

/* End the process (its connection stays open while the test holds conn). Exit status. */
static inline int fq_stop(struct fake_qemu *q)
{
    int st = -1;
    if (q->ctl >= 0)
        close(q->ctl);
    q->ctl = -1;
    if (q->pid > 0)
        st = tu_wait_exit(q->pid, 10000);
    q->pid = -1;
    return st;
}

/* Close the connection (if any) and end the process. */
static inline int fq_close(struct fake_qemu *q)
{
    if (q->conn >= 0)
        close(q->conn);
    q->conn = -1;
    return fq_stop(q);
}

#endif
