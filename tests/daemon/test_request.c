/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_request.c - the per-connection steps of request.c: the peer's /proc
 * facts are kept only while they are about the process that connected
 * (SO_PEERPIDFD on 6.5+, the connection still open before), and the
 * transport's nexus is made and freed once; one request stats its fd
 * once for the device policy, the audit record and the transport.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <seccomp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "tu_text.h"
#include "prh_test_util.h"
#include "prhelper/audit.h"
#include "prhelper/log.h"
#include "prhelper/policy.h"
#include "prhelper/request.h"
#include "transport_stubs.h"

/* Every stat of a client fd by the code under test (linked with
 * --wrap=prh_fstat_fd: the request path stats through it only). */
int __real_prh_fstat_fd(int fd, struct stat *st);
int __wrap_prh_fstat_fd(int fd, struct stat *st);
static int fstat_calls;
int __wrap_prh_fstat_fd(int fd, struct stat *st)
{
    fstat_calls++;
    return __real_prh_fstat_fd(fd, st);
}

static int made, freed;

/* What nexus_new saw of the peer: can it check that pid is still the peer? */
static struct {
    bool has_pidfd, has_sock, current;
    int sock;
} seen;

static void *nx_new(void *state, const struct prh_peer *peer)
{
    (void)state;
    made++;
    seen.has_pidfd = peer->has_pidfd;
    seen.has_sock = peer->has_sock;
    seen.sock = peer->sock;
    seen.current = prh_peer_current(peer);
    return malloc(1);
}

static void nx_free(void *state, void *nexus)
{
    (void)state;
    freed++;
    free(nexus);
}

static void nx_describe(void *state, void *nexus, char *buf, size_t len)
{
    (void)state;
    (void)nexus;
    snprintf(buf, len, "test-nexus");
}

static const struct prh_transport nx_transport = {
    STUB_TRANSPORT("test"),
    .nexus_new = nx_new,
    .nexus_free = nx_free,
    .nexus_describe = nx_describe,
    /* For the one-request tests: opens recorded, PR OUT always GOOD. */
    .open = stub_open_recording,
    .pr_out = stub_pr_out_good,
};

static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* With a pidfd: current while the process lives, not once it has exited. */
static void test_peer_facts_current_follows_the_pidfd(void **state)
{
    int release, sv[2];
    (void)state;
    pid_t pid = tu_fork_held(&release);
    assert_true(pid >= 0);
    int pidfd = pidfd_of(pid);
    if (pidfd < 0) {
        close(release);
        waitpid(pid, NULL, 0);
        skip(); /* kernel before 5.3 */
    }
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_true(prh_peer_facts_current(pidfd, sv[0]));
    close(release);
    assert_int_equal(tu_wait_exit(pid, 5000), 0);
    assert_false(prh_peer_facts_current(pidfd, sv[0]));
    close(pidfd);
    close(sv[0]);
    close(sv[1]);
}

/* Without one (before Linux 6.5): current while the peer has not hung up. */
static void test_peer_facts_current_without_pidfd_follows_the_connection(void **state)
{
    int sv[2];
    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_true(prh_peer_facts_current(-1, sv[0]));
    close(sv[1]);
    assert_false(prh_peer_facts_current(-1, sv[0]));
    close(sv[0]);
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static bool have_so_peerpidfd(void)
{
    int sv[2], fd = -1;
    socklen_t len = sizeof(fd);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    bool ok = getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0;
    if (ok)
        close(fd);
    close(sv[0]);
    close(sv[1]);
    return ok;
}

static void setup_ctx(struct prh_request_ctx *x, struct prh_audit **a, bool no_pidfd)
{
    char err[128];
    prh_request_ctx_init(x);
    *a = prh_audit_open(PRH_AUDIT_NONE, NULL, err, sizeof(err));
    assert_non_null(*a);
    x->transport = &nx_transport;
    x->audit = *a;
    x->no_peer_pidfd = no_pidfd;
}

/* A context (setup_ctx) and a connected socket pair, the peer's end sv[1]
 * already closed (-1) when HUNG_UP. */
static void ctx_and_pair(struct prh_request_ctx *x, struct prh_audit **a, bool no_pidfd, int sv[2],
                         bool hung_up)
{
    setup_ctx(x, a, no_pidfd);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    if (hung_up) {
        close(sv[1]);
        sv[1] = -1;
    }
}

/* The connection torn down, the pair closed, the context freed. */
static void ctx_and_pair_free(struct prh_request_ctx *x, struct prh_audit *a, struct prh_conn *conn,
                              const int sv[2])
{
    prh_conn_teardown(x, conn, NULL);
    close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    prh_audit_close(a);
    prh_request_ctx_fini(x);
}

/* Set-up reads the peer's facts (here: this process, through a socketpair)
 * and makes the nexus; teardown frees it once. */
static void test_conn_setup_reads_facts_and_makes_the_nexus(void **state)
{
    struct prh_request_ctx x;
    struct prh_audit *a;
    struct prh_conn conn = { .peer.serial = 7 };
    char exe[300], who[64];
    int sv[2];
    (void)state;
    made = freed = 0;
    ctx_and_pair(&x, &a, false, sv, false);
    prh_conn_describe(&x, &conn, who, sizeof(who));
    assert_string_equal(who, "-");
    assert_int_equal(prh_conn_setup(&x, &conn, sv[0], NULL), 0);
    assert_int_equal(conn.peer.serial, 7);
    assert_true(conn.peer.has_cred);
    assert_int_equal(conn.peer.pid, getpid());
    assert_non_null(conn.audit_client);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    assert_string_equal(conn.audit_client->exe, exe);
    prh_conn_describe(&x, &conn, who, sizeof(who));
    assert_string_equal(who, "test-nexus");
    assert_int_equal(made, 1);
    prh_conn_teardown(&x, &conn, NULL);
    prh_conn_teardown(&x, &conn, NULL); /* safe twice: freed once */
    assert_int_equal(freed, 1);
    assert_null(conn.audit_client);
    close(sv[0]);
    close(sv[1]);
    prh_audit_close(a);
    prh_request_ctx_fini(&x);
}

/* The peer hung up before its facts were read: without a pidfd they may
 * be another process's (a reused PID), so they are dropped; with one, the
 * process is known to be alive and they are kept. */
static void test_conn_setup_drops_facts_of_a_peer_gone_without_pidfd(void **state)
{
    struct prh_request_ctx x;
    struct prh_audit *a;
    int sv[2];
    (void)state;
    prh_log_set_verbosity(0);
    for (int with_pidfd = 0; with_pidfd < 2; with_pidfd++) {
        struct prh_conn conn = { .peer.serial = 1 };
        ctx_and_pair(&x, &a, !with_pidfd, sv, true);
        assert_int_equal(prh_conn_setup(&x, &conn, sv[0], NULL), 0);
        assert_int_equal(conn.peer.pid, getpid()); /* the credentials stay */
        if (with_pidfd) {
            /* The pidfd shows the process alive: its facts stay.  Before
             * 6.5 there is no pidfd and the rule without one applies. */
            if (have_so_peerpidfd())
                assert_string_not_equal(conn.audit_client->exe, "");
            else
                assert_string_equal(conn.audit_client->exe, "");
        } else {
            assert_string_equal(conn.audit_client->exe, "");
            assert_string_equal(conn.audit_client->guest, "");
        }
        ctx_and_pair_free(&x, a, &conn, sv);
    }
}

/* nexus_new gets what tells whether the peer's pid is still the peer (the
 * sim transport reads its /proc entries): the connection, and its pidfd
 * where the kernel has SO_PEERPIDFD; they are cleared once it returns. */
static void test_conn_setup_lets_nexus_new_check_the_peer(void **state)
{
    struct prh_request_ctx x;
    struct prh_audit *a;
    int sv[2];
    (void)state;
    prh_log_set_verbosity(0);
    for (int hung_up = 0; hung_up < 2; hung_up++) {
        for (int no_pidfd = 0; no_pidfd < 2; no_pidfd++) {
            struct prh_conn conn = { .peer.serial = 1 };
            ctx_and_pair(&x, &a, no_pidfd, sv, hung_up);
            memset(&seen, 0, sizeof(seen));
            assert_int_equal(prh_conn_setup(&x, &conn, sv[0], NULL), 0);
            assert_true(seen.has_sock);
            assert_int_equal(seen.sock, sv[0]);
            bool pidfd = !no_pidfd && have_so_peerpidfd();
            assert_int_equal(seen.has_pidfd, pidfd);
            /* With a pidfd this live process is current, hung up or not. */
            assert_int_equal(seen.current, pidfd || !hung_up);
            assert_false(conn.peer.has_pidfd);
            assert_false(conn.peer.has_sock);
            assert_true(prh_peer_current(&conn.peer)); /* nothing to check with */
            ctx_and_pair_free(&x, a, &conn, sv);
        }
    }
}

/* A connection made by a process that handed it to another (this one) and
 * exited: the accepted socket, with its peer gone; the socket stays open. */
static int connection_of_an_exited_peer(int *kept)
{
    static unsigned seq;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int sv[2];
    snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "prh-test-exited.%ld.%u", (long)getpid(),
             seq++);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                                 strlen(a.sun_path + 1));
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, alen), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, alen) < 0)
            _exit(1);
        _exit(prh_wire_send_fds(sv[1], "x", 1, &c, 1) == 1 ? 0 : 1);
    }
    close(sv[1]);
    int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    assert_true(s >= 0);
    assert_int_equal(tu_wait_exit(pid, 5000), 0);
    *kept = tu_recv_fd(sv[0]);
    assert_true(*kept >= 0);
    close(sv[0]);
    close(l);
    return s;
}

/* The peer exited, but its connection lives on in another process (no
 * hang-up): with SO_PEERPIDFD the peer is known gone, its pid no longer
 * names it.  Without (kernels before 6.5) this cannot be told, as
 * docs/daemon.md says. */
static void test_conn_setup_peer_exited_with_its_socket_handed_on(void **state)
{
    struct prh_request_ctx x;
    struct prh_audit *a;
    (void)state;
    prh_log_set_verbosity(0);
    for (int no_pidfd = 0; no_pidfd < 2; no_pidfd++) {
        struct prh_conn conn = { .peer.serial = 1 };
        int kept;
        int s = connection_of_an_exited_peer(&kept);
        setup_ctx(&x, &a, no_pidfd);
        memset(&seen, 0, sizeof(seen));
        assert_int_equal(prh_conn_setup(&x, &conn, s, NULL), 0);
        assert_true(conn.peer.has_cred);
        bool pidfd = !no_pidfd && have_so_peerpidfd();
        assert_int_equal(seen.current, !pidfd);
        if (pidfd) /* its facts are not recorded either */
            assert_string_equal(conn.audit_client->exe, "");
        assert_false(conn.peer.exited); /* for nexus_new only */
        prh_conn_teardown(&x, &conn, NULL);
        close(s);
        close(kept);
        prh_audit_close(a);
        prh_request_ctx_fini(&x);
    }
}

/* ---- one request ---------------------------------------------------------- */

/* What run_register saw: fstat() calls, the reply, the audit file. */
struct policy_case {
    int fstats;
    struct prh_reply reply;
    char audit[4096];
};

/* A REGISTER on /dev/null (1:3) with --allow-device allow and an audit
 * file: the policy, the record and the transport's open() see the one
 * fstat().  The result is a static record. */
static const struct policy_case *run_register(const char *allow)
{
    static struct policy_case c;
    struct policy_case *pc = &c;
    memset(pc, 0, sizeof(*pc));
    char err[128], path[] = "/tmp/prh-test-request-audit.XXXXXX";
    struct prh_request_ctx x;
    struct prh_conn conn = { .peer.serial = 3 };
    static struct prh_policy policy;
    int afd = mkstemp(path);
    assert_true(afd >= 0);
    close(afd);
    memset(&policy, 0, sizeof(policy));
    assert_int_equal(prh_policy_add_device(&policy, allow, err, sizeof(err)), 0);
    prh_request_ctx_init(&x);
    x.transport = &nx_transport;
    x.policy = &policy;
    x.audit = prh_audit_open(PRH_AUDIT_FILE, path, err, sizeof(err));
    assert_non_null(x.audit);
    x.sysfs_root = "/nonexistent";
    conn.nexus = malloc(1);
    static uint8_t params[24];
    struct prh_request req = { .xfer_len = 24, .params = params };
    tu_cdb_prout(req.cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(params, 0, 0x77, 0);
    req.fd = open("/dev/null", O_RDWR | O_CLOEXEC); /* PR OUT needs a writable fd */
    assert_true(req.fd >= 0);
    memset(stub_opens(), 0, sizeof(*stub_opens()));
    fstat_calls = 0;
    assert_false(prh_request_run(&x, &conn, &req, &pc->reply, NULL));
    pc->fstats = fstat_calls;
    assert_int_equal(req.fd, -1); /* closed by the request */
    prh_audit_close(x.audit);
    prh_request_ctx_fini(&x);
    free(conn.nexus);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(pc->audit, 1, sizeof(pc->audit) - 1, f);
    pc->audit[n] = '\0';
    fclose(f);
    unlink(path);
    return pc;
}

static void test_request_stats_its_fd_once_for_policy_audit_and_transport(void **state)
{
    (void)state;
    const struct policy_case *pc = run_register("1:3");
    assert_int_equal(pc->fstats, 1);
    assert_int_equal(pc->reply.status, SCSI_STATUS_GOOD);
    assert_int_equal(stub_opens()->opens, 1);
    assert_true(S_ISCHR(stub_opens()->seen.st_mode));
    assert_int_equal(stub_opens()->seen.st_rdev, makedev(1, 3));
    /* The audit record names the device from the same stat, and the nexus. */
    tu_assert_contains(pc->audit, "1:3", "test-nexus");
}

static void test_request_refused_by_device_policy_stats_once_and_never_opens(void **state)
{
    (void)state;
    const struct policy_case *pc = run_register("8:16");
    assert_int_equal(pc->fstats, 1);
    assert_int_equal(stub_opens()->opens, 0);
    assert_int_equal(pc->reply.status, SCSI_STATUS_CHECK_CONDITION);
    assert_non_null(strstr(pc->audit, "1:3"));
}

/*
 * The request's stat is the fstat system call, never glibc's fstat()
 * (newfstatat(fd, "", AT_EMPTY_PATH), a path lookup that cost 7x as much
 * in the lab VM): in a child where newfstatat and statx fail with ENOSYS
 * a REGISTER still reaches the transport with the fd's stat.  The exit
 * status says which check failed.
 */
static int register_without_path_stats(void)
{
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    if (!f || seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(newfstatat), 0) < 0 ||
        seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(statx), 0) < 0 ||
        seccomp_load(f) < 0)
        return 10;
    seccomp_release(f);
    struct stat probe;
    if (fstat(0, &probe) == 0 || errno != ENOSYS)
        return 11; /* the filter must catch glibc's fstat() */
    struct prh_request_ctx x;
    struct prh_conn conn = { .peer.serial = 4 };
    struct prh_reply reply;
    static uint8_t params[24];
    struct prh_request req = { .xfer_len = 24, .params = params };
    prh_request_ctx_init(&x);
    x.transport = &nx_transport;
    tu_cdb_prout(req.cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(params, 0, 0x77, 0);
    req.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (req.fd < 0)
        return 12;
    memset(stub_opens(), 0, sizeof(*stub_opens()));
    prh_request_run(&x, &conn, &req, &reply, NULL);
    if (reply.status != SCSI_STATUS_GOOD)
        return 13;
    if (stub_opens()->opens != 1 || !S_ISCHR(stub_opens()->seen.st_mode) ||
        stub_opens()->seen.st_rdev != makedev(1, 3))
        return 14;
    return 0;
}

static void test_request_stats_with_the_fstat_syscall_not_a_path_lookup(void **state)
{
    (void)state;
#if defined(__x86_64__) && !defined(__ILP32__)
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(register_without_path_stats());
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
#else
    skip(); /* elsewhere prh_fstat_fd() is glibc's fstat() */
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_facts_current_follows_the_pidfd),
        cmocka_unit_test(test_peer_facts_current_without_pidfd_follows_the_connection),
        cmocka_unit_test(test_conn_setup_reads_facts_and_makes_the_nexus),
        cmocka_unit_test(test_conn_setup_drops_facts_of_a_peer_gone_without_pidfd),
        cmocka_unit_test(test_conn_setup_lets_nexus_new_check_the_peer),
        cmocka_unit_test(test_conn_setup_peer_exited_with_its_socket_handed_on),
        cmocka_unit_test(test_request_stats_its_fd_once_for_policy_audit_and_transport),
        cmocka_unit_test(test_request_refused_by_device_policy_stats_once_and_never_opens),
        cmocka_unit_test(test_request_stats_with_the_fstat_syscall_not_a_path_lookup),
    };
    return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}
