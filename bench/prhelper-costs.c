// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prhelper-costs - what the pieces of one request cost on this machine:
 * a system call, the stat of the device fd (the fstat system call and
 * glibc's fstat(), which is newfstatat(fd, "", AT_EMPTY_PATH)), the
 * BLKGETDISKSEQ ioctl, an EPOLLONESHOT re-arm with a ready epoll_wait, a
 * descriptor passed over a Unix socket and closed, one SG_IO READ KEYS,
 * and a hand-off to a sleeping thread (its wake-up and the context switch).
 *
 * scripts/bench runs it in the lab VM beside the helpers (costs.tsv), so
 * that the report can say what a context switch or an fstat costs there:
 * under TCG they differ from a real machine by an order of magnitude, and
 * not by the same factor for each.
 *
 * Usage: prhelper-costs [-n CALLS] DEVICE
 * Output: TSV, one row per item: item, microseconds per call (the fastest
 * of 5 batches of CALLS), calls per batch, what it measures.  An item the
 * device does not support is reported as "-" (a plain file has no SG_IO).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <scsi/sg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef BLKGETDISKSEQ
#define BLKGETDISKSEQ _IOR(0x12, 128, uint64_t) /* Linux 5.15 */
#endif

#define BATCHES 5

struct item {
    const char *name;
    const char *what;
    /* One call; 0, or -1 when the item does not work here. */
    int (*one)(void);
    unsigned div; /* calls per one() for the per-call figure (hand-off: 2) */
};

static int dev_fd = -1;
static int ep_fd = -1, ep_pipe[2] = { -1, -1 };
static int pass_sv[2] = { -1, -1 };
static int ping_sv[2] = { -1, -1 };

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int one_syscall(void)
{
    return syscall(SYS_getppid) > 0 ? 0 : -1;
}

static int one_fstat_syscall(void)
{
    struct stat st;
#ifdef SYS_fstat
    return syscall(SYS_fstat, dev_fd, &st) == 0 ? 0 : -1;
#else
    return fstat(dev_fd, &st);
#endif
}

static int one_fstat_glibc(void)
{
    struct stat st;
    return fstat(dev_fd, &st);
}

static int one_diskseq(void)
{
    uint64_t seq;
    return ioctl(dev_fd, BLKGETDISKSEQ, &seq);
}

static int one_epoll_rearm(void)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT }, out;
    if (epoll_ctl(ep_fd, EPOLL_CTL_MOD, ep_pipe[0], &ev) < 0)
        return -1;
    return epoll_wait(ep_fd, &out, 1, 0) == 1 ? 0 : -1;
}

/* The client's sendmsg with the fd, the helper's recvmsg and close. */
static int one_fd_pass(void)
{
    char byte = 'x';
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &dev_fd, sizeof(int));
    if (sendmsg(pass_sv[0], &m, MSG_NOSIGNAL) != 1)
        return -1;
    m.msg_controllen = sizeof(u.buf);
    if (recvmsg(pass_sv[1], &m, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return close(fd);
}

static int one_sg_io(void)
{
    uint8_t cdb[10] = { 0x5e, 0x00, 0, 0, 0, 0, 0, 0x00, 0x08, 0 }; /* READ KEYS, 8 bytes */
    uint8_t data[8], sense[32];
    struct sg_io_hdr h;
    memset(&h, 0, sizeof(h));
    h.interface_id = 'S';
    h.dxfer_direction = SG_DXFER_FROM_DEV;
    h.cmd_len = sizeof(cdb);
    h.cmdp = cdb;
    h.dxferp = data;
    h.dxfer_len = sizeof(data);
    h.sbp = sense;
    h.mx_sb_len = sizeof(sense);
    h.timeout = 30000;
    if (ioctl(dev_fd, SG_IO, &h) < 0)
        return -1;
    return h.status == 0 && h.host_status == 0 && h.driver_status == 0 ? 0 : -1;
}

/* The other side of the hand-off: answers every byte. */
static void *echo_thread(void *arg)
{
    (void)arg;
    char b;
    while (read(ping_sv[1], &b, 1) == 1)
        if (write(ping_sv[1], &b, 1) != 1)
            break;
    return NULL;
}

/* A byte to a thread asleep in read(), which answers: two hand-offs. */
static int one_handoff(void)
{
    char b = 'p';
    if (write(ping_sv[0], &b, 1) != 1)
        return -1;
    return read(ping_sv[0], &b, 1) == 1 ? 0 : -1;
}

static const struct item items[] = {
    { "syscall", "getppid(): entering and leaving the kernel", one_syscall, 1 },
    { "fstat-syscall", "the fstat system call on the device fd", one_fstat_syscall, 1 },
    { "fstat-glibc", "glibc's fstat() on the device fd (newfstatat, AT_EMPTY_PATH)",
      one_fstat_glibc, 1 },
    { "blkgetdiskseq", "ioctl(BLKGETDISKSEQ) on the device fd", one_diskseq, 1 },
    { "epoll-rearm", "epoll_ctl(EPOLL_CTL_MOD, EPOLLONESHOT) and a ready epoll_wait",
      one_epoll_rearm, 1 },
    { "fd-pass", "sendmsg of the device fd (SCM_RIGHTS), recvmsg, close: no wait",
      one_fd_pass, 1 },
    { "sg-io", "ioctl(SG_IO) READ KEYS on the device, waiting for its answer", one_sg_io, 1 },
    { "hand-off", "a byte to a thread asleep in read(): its wake-up and the switch",
      one_handoff, 2 },
};

static int setup(const char *dev)
{
    dev_fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (dev_fd < 0) {
        fprintf(stderr, "prhelper-costs: %s: %s\n", dev, strerror(errno));
        return -1;
    }
    ep_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
    pthread_t tid;
    if (ep_fd < 0 || pipe2(ep_pipe, O_CLOEXEC) < 0 || write(ep_pipe[1], "x", 1) != 1 ||
        epoll_ctl(ep_fd, EPOLL_CTL_ADD, ep_pipe[0], &ev) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pass_sv) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ping_sv) < 0 ||
        pthread_create(&tid, NULL, echo_thread, NULL) != 0) {
        fprintf(stderr, "prhelper-costs: setting up: %s\n", strerror(errno));
        return -1;
    }
    pthread_detach(tid);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: prhelper-costs [-n CALLS] DEVICE\n"
               "What a system call, an fstat, an epoll re-arm, a passed fd, one SG_IO\n"
               "READ KEYS and a thread hand-off cost here (TSV: item, us per call,\n"
               "calls per batch, what it measures; the fastest of %d batches).\n",
            BATCHES);
}

int main(int argc, char **argv)
{
    unsigned long calls = 2000;
    int opt;

    while ((opt = getopt(argc, argv, "n:h")) != -1) {
        switch (opt) {
        case 'n': {
            char *end;
            errno = 0;
            calls = strtoul(optarg, &end, 10);
            if (errno || *end || calls == 0 || calls > 10000000) {
                fprintf(stderr, "prhelper-costs: -n wants 1 to 10000000, not '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    if (setup(argv[optind]) < 0)
        return 1;
    printf("item\tus_per_call\tcalls\twhat\n");
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        const struct item *it = &items[i];
        double best = -1;
        for (int b = 0; b < BATCHES && best != -2; b++) {
            double t0 = now_us();
            for (unsigned long k = 0; k < calls; k++) {
                if (it->one() < 0) {
                    best = -2; /* not here */
                    break;
                }
            }
            double us = (now_us() - t0) / (double)calls / it->div;
            if (best != -2 && (best < 0 || us < best))
                best = us;
        }
        if (best < 0)
            printf("%s\t-\t%lu\t%s\n", it->name, calls, it->what);
        else
            printf("%s\t%.2f\t%lu\t%s\n", it->name, best, calls, it->what);
        fflush(stdout);
    }
    return 0;
}
