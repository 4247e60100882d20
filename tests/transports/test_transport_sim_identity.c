/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_transport_sim_identity.c - the sim transport's I_T nexus of a
 * client (--sim-identity): a QEMU guest is one initiator across
 * reconnects, restarts and concurrent connections; PR live migration as
 * QEMU 11's destination does it (SPC-4 5.14.11.4); the explicit-nexus API.
 * Peers' /proc entries come from a directory the test writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/syscall.h>

#include "tu_text.h"
#include "fake_qemu.h"
#include "sim_table.h"
#include "sim_transport_fixture.h"
#include "prhelper/control.h"
#include "prhelper/log.h"
#include "prhelper/transport.h"
#include "prhelper/transport_sim.h"

static const struct prh_transport *T = &prh_transport_sim;

#define GUEST_PREFIX PRH_SIM_NAME_PREFIX "guest."

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

/* A process in the fake /proc: NUL-separated argv and a start time. */
static void fake_process(struct stfx *f, long pid, const char *const argv[], unsigned long long start)
{
    char path[600], buf[2048], stat[256];
    size_t n = 0;
    snprintf(path, sizeof(path), "%s/%ld", f->proc, pid);
    mkdir(path, 0755);
    for (size_t i = 0; argv[i]; i++) {
        size_t l = strlen(argv[i]) + 1;
        memcpy(buf + n, argv[i], l);
        n += l;
    }
    snprintf(path, sizeof(path), "%s/%ld/cmdline", f->proc, pid);
    write_file(path, buf, n);
    snprintf(stat, sizeof(stat), "%ld (qemu-kvm) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %llu 0 0\n",
             pid, start);
    snprintf(path, sizeof(path), "%s/%ld/stat", f->proc, pid);
    write_file(path, stat, strlen(stat));
}

static void fake_guest(struct stfx *f, long pid, const char *name_opt, unsigned long long start)
{
    const char *argv[] = { "/usr/bin/qemu-system-x86_64", "-name", name_opt, "-S", NULL };
    fake_process(f, pid, argv, start);
}

/* The sim transport fixture (tests/helpers/sim_transport_fixture.h), its
 * peers' /proc in f->proc. */
static void init_state(struct stfx *f, const char *identity, const char *profile)
{
    stfx_fini(f); /* a test may start the transport again with other options */
    stfx_init(f, (struct prh_transport_options){ .sim_profile = profile, .sim_identity = identity,
                                                  .proc_root = f->proc });
}

static int setup(void **state)
{
    struct stfx *f = stfx_new();
    init_state(f, NULL, "spc4");
    fake_guest(f, 100, "guest=vm1,debug-threads=on", 5000); /* vm1, source */
    fake_guest(f, 200, "guest=vm1,debug-threads=on", 9000); /* vm1, destination / restart */
    fake_guest(f, 300, "vm2", 7000);                        /* bare -name */
    const char *uuid_only[] = { "qemu-kvm", "-uuid", "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
                                NULL };
    fake_process(f, 400, uuid_only, 1);
    const char *tool[] = { "sg_persist", "--in", "-k", NULL };
    fake_process(f, 500, tool, 1);
    *state = f;
    return 0;
}

static void *conn_of(struct stfx *f, long pid, uint64_t serial)
{
    void *n = stfx_nexus(f->st, NULL, serial, (pid_t)pid);
    assert_non_null(n);
    return n;
}

static void *conn_named(struct stfx *f, const char *name, uint64_t serial)
{
    char addr[sizeof(((struct prh_peer *)0)->addr)];
    snprintf(addr, sizeof(addr), "@prhelper-nexus:%s", name);
    return stfx_nexus(f->st, addr, serial, 100);
}

/* The nexus' name; four rotating buffers, so two may be compared. */
static const char *who(struct stfx *f, void *nexus)
{
    static char buf[4][300];
    static unsigned i;
    char *b = buf[i++ % 4];
    T->nexus_describe(f->st, nexus, b, sizeof(buf[0]));
    return b;
}

static int prout(struct stfx *f, void *nexus, uint8_t sa, uint8_t type, uint64_t rk, uint64_t sark)
{
    return stfx_prout(f, nexus, f->disk, sa, type, rk, sark, 0);
}

static struct prh_reply *prin(struct stfx *f, void *nexus, uint8_t sa)
{
    stfx_prin(f, nexus, f->disk, sa);
    return &f->reply;
}

static const char *ctl(struct stfx *f, const char *line)
{
    return stfx_ctl(f, "%s", line);
}

/* ---- who is who ---------------------------------------------------------------------- */

/* Each row: a client (its pid in the fake /proc of setup(), or a chosen
 * name), its connection serial, and the I_T nexus name it gets
 * (docs/daemon.md, I_T nexus scheme; --sim-identity=guest, the default). */
#define WHO "docs/daemon.md, I_T nexus scheme"

struct who_rule {
    struct th_rule_id id;
    long pid;          /* the peer's pid (setup(): 100/200 vm1, 300 vm2, 400 UUID only,
                          500 sg_persist; others have no /proc entry) */
    const char *named; /* or a chosen name ("@prhelper-nexus:<named>", pid 100) */
    uint64_t serial;
    const char *want;
};

static const struct who_rule who_rules[] = {
    { { "identity_guest_name_libvirt_form", WHO }, 100, NULL, 1,
      GUEST_PREFIX "vm1,i,0x800000000001@1" },
    { { "identity_guest_name_bare_form", WHO }, 300, NULL, 2,
      GUEST_PREFIX "vm2,i,0x800000000001@1" },
    { { "identity_guest_uuid_when_no_name", WHO }, 400, NULL, 1,
      PRH_SIM_NAME_PREFIX "uuid.3fa85f64-5717-4562-b3fc-2c963f66afa6,i,0x800000000001@1" },
    { { "identity_non_qemu_peer_is_per_connection", WHO }, 500, NULL, 7,
      PRH_SIM_NAME_PREFIX "pid.500,i,0x800000000007@1" },
    { { "identity_peer_without_proc_entry_is_per_connection", WHO }, 999, NULL, 8,
      PRH_SIM_NAME_PREFIX "pid.999,i,0x800000000008@1" },
    { { "identity_bound_address_wins_over_guest_name", WHO }, 0, "host-a", 1,
      PRH_SIM_NAME_PREFIX "host-a,i,0x800000000001@1" },
};

static void test_who_rule(void **state)
{
    const struct who_rule *r = *state;
    void *fx;
    setup(&fx);
    struct stfx *f = fx;
    void *n = r->named ? conn_named(f, r->named, r->serial) : conn_of(f, r->pid, r->serial);
    const char *got = who(f, n);
    if (strcmp(got, r->want) != 0)
        fail_msg("%s: named '%s', want '%s'", r->id.name, got, r->want);
    T->nexus_free(f->st, n);
    stfx_teardown(&fx);
}

static void test_identity_unclean_guest_names_get_a_hash(void **state)
{
    struct stfx *f = *state;
    fake_guest(f, 600, "guest=Web_1", 1);
    fake_guest(f, 601, "guest=web-1", 1);
    fake_guest(f, 602, "guest=web_1", 1);
    void *a = conn_of(f, 600, 1), *b = conn_of(f, 601, 2), *c = conn_of(f, 602, 3);
    char wa[300], wc[300];
    snprintf(wa, sizeof(wa), "%s", who(f, a));
    snprintf(wc, sizeof(wc), "%s", who(f, c));
    assert_string_equal(who(f, b), GUEST_PREFIX "web-1,i,0x800000000001@1");
    /* Cleaned, and told apart by the hash of the whole name. */
    assert_int_equal(strncmp(wa, GUEST_PREFIX "web-1.", strlen(GUEST_PREFIX "web-1.")), 0);
    assert_int_equal(strncmp(wc, GUEST_PREFIX "web-1.", strlen(GUEST_PREFIX "web-1.")), 0);
    assert_string_not_equal(wa, wc);
    assert_int_equal(strlen(wa), strlen(GUEST_PREFIX "web-1.12345678,i,0x800000000001@1"));
    T->nexus_free(f->st, a);
    T->nexus_free(f->st, b);
    T->nexus_free(f->st, c);
}

static void test_identity_very_long_guest_name_fits_an_iscsi_name(void **state)
{
    struct stfx *f = *state;
    char opt[700] = "guest=";
    memset(opt + 6, 'x', 600);
    opt[606] = '\0';
    fake_guest(f, 610, opt, 1);
    opt[300] = '\0';
    fake_guest(f, 611, opt, 1); /* same first 294 characters */
    void *a = conn_of(f, 610, 1), *b = conn_of(f, 611, 2);
    char wa[300];
    snprintf(wa, sizeof(wa), "%s", who(f, a));
    assert_true(strlen(wa) - strlen(",i,0x800000000001@1") <= PR_TID_ISCSI_NAME_MAX);
    assert_string_not_equal(wa, who(f, b));
    T->nexus_free(f->st, a);
    T->nexus_free(f->st, b);
}

/* A guest's name may hold any byte QEMU takes: newlines, terminal escapes,
 * UTF-8, stray bytes.  Its nexus name is clean iSCSI text, and what the
 * trace and `ctl state` show of it is printable ASCII on its own line. */
static void test_identity_guest_name_with_odd_bytes_shows_only_printable_text(void **state)
{
    struct stfx *f = *state;
    char trace[400], err[128];
    snprintf(trace, sizeof(trace), "prh_transport,file=%s/trace.log", f->dir);
    assert_int_equal(prh_trace_configure(trace, err, sizeof(err)), 0);
    fake_guest(f, 620, "guest=evil\n  9       1        connection  forged\x1b]0;t\x07 caf\xc3\xa9\xff",
               1);
    void *a = conn_of(f, 620, 1);
    const char *w = who(f, a);
    for (const char *p = w; *p; p++)
        assert_true(*p > 0x20 && *p < 0x7f);
    assert_int_equal(strncmp(w, GUEST_PREFIX "evil---9-------1--------connection--forged-",
                             strlen(GUEST_PREFIX "evil---9-------1--------connection--forged-")),
                     0);
    const char *st = ctl(f, "state");
    for (const char *p = st; *p; p++)
        assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
    assert_non_null(strstr(st, "(guest name 'evil\\x0a  9       1        connection  "
                               "forged\\x1b]0;t\\x07 caf\\xc3\\xa9\\xff', pid 620)"));
    assert_null(strstr(st, "\n  9 "));
    prh_trace_reset();
    snprintf(trace, sizeof(trace), "%s/trace.log", f->dir);
    FILE *fp = fopen(trace, "r");
    assert_non_null(fp);
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof(line), fp)) {
        lines++;
        for (const char *p = line; *p; p++)
            assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
        assert_non_null(strstr(line, "source=guest-name (guest name 'evil\\x0a"));
    }
    fclose(fp);
    assert_int_equal(lines, 1);
    T->nexus_free(f->st, a);
}

/* The part of an abstract address after '/' is the client's to choose: it
 * is shown as printable text too. */
static void test_identity_bound_address_with_odd_bytes_shows_only_printable_text(void **state)
{
    struct stfx *f = *state;
    void *a = conn_named(f, "host-a/x\n  9 1 forged\x1b[2J\xff", 1);
    assert_non_null(a);
    assert_string_equal(who(f, a), PRH_SIM_NAME_PREFIX "host-a,i,0x800000000001@1");
    const char *st = ctl(f, "state");
    for (const char *p = st; *p; p++)
        assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
    assert_non_null(strstr(st, "(bound address @prhelper-nexus:host-a/x\\x0a  9 1 forged"
                               "\\x1b[2J\\xff)"));
    T->nexus_free(f->st, a);
}

static void test_identity_modes_process_and_connection(void **state)
{
    struct stfx *f = *state;
    init_state(f, "process", "spc4");
    void *a = conn_of(f, 100, 1), *b = conn_of(f, 100, 2), *c = conn_of(f, 200, 3);
    assert_string_equal(who(f, a), PRH_SIM_NAME_PREFIX "pid.100.5000,i,0x800000000001@1");
    assert_string_equal(who(f, b), who(f, a)); /* one nexus per process */
    assert_string_equal(who(f, c), PRH_SIM_NAME_PREFIX "pid.200.9000,i,0x800000000001@1");
    T->nexus_free(f->st, a);
    T->nexus_free(f->st, b);
    T->nexus_free(f->st, c);
    init_state(f, "connection", "spc4");
    a = conn_of(f, 100, 4);
    assert_string_equal(who(f, a), PRH_SIM_NAME_PREFIX "pid.100,i,0x800000000004@1");
    T->nexus_free(f->st, a);
}

/* The identity mode gives peer (its /proc under proc): a static record. */
static const struct prh_sim_peer_identity *identity_of(enum prh_sim_identity mode,
                                                       const struct prh_peer *peer,
                                                       const char *proc)
{
    static struct prh_sim_peer_identity id;
    prh_sim_peer_identity(mode, peer, proc, &id);
    return &id;
}

static void test_identity_function_reports_source_and_stability(void **state)
{
    struct stfx *f = *state;
    const struct prh_sim_peer_identity *id;
    struct prh_peer peer = { .serial = 3, .has_cred = true, .pid = 100 };
    id = identity_of(PRH_SIM_IDENTITY_GUEST, &peer, f->proc);
    assert_int_equal(id->source, PRH_SIM_SOURCE_GUEST_NAME);
    assert_true(id->stable);
    assert_non_null(strstr(id->detail, "guest name 'vm1'"));
    id = identity_of(PRH_SIM_IDENTITY_CONNECTION, &peer, f->proc);
    assert_int_equal(id->source, PRH_SIM_SOURCE_CONNECTION);
    assert_false(id->stable);
    peer.pid = 999; /* no /proc entry: no start time for "process" either */
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_PROCESS, &peer, f->proc)->source,
                     PRH_SIM_SOURCE_CONNECTION);
    struct prh_peer anon = { .serial = 9 };
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_GUEST, &anon, f->proc)->source,
                     PRH_SIM_SOURCE_CONNECTION);
    assert_string_equal(prh_sim_nexus_source_name(PRH_SIM_SOURCE_GUEST_UUID), "guest-uuid");
    enum prh_sim_identity m;
    assert_true(prh_sim_identity_parse("process", &m));
    assert_int_equal(m, PRH_SIM_IDENTITY_PROCESS);
    assert_false(prh_sim_identity_parse("guests", &m));
    assert_string_equal(prh_sim_identity_name(PRH_SIM_IDENTITY_CONNECTION), "connection");
}

/* A process that exits at once, and a pidfd of it (or -1: no pidfd_open). */
static int exited_child_pidfd(void)
{
#ifdef SYS_pidfd_open
    int release;
    pid_t pid = tu_fork_held(&release);
    assert_true(pid >= 0);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    close(release);
    assert_int_equal(tu_wait_exit(pid, 5000), 0);
    return pidfd;
#else
    return -1;
#endif
}

/* The peer exited while its /proc entries were read: the pid may be another
 * process's now (here: guest vm1's), so the connection is named after
 * nothing it could not have: a per-connection nexus, and the log says why. */
static void test_identity_of_a_peer_gone_while_looked_up_is_per_connection(void **state)
{
    struct stfx *f = *state;
    const struct prh_sim_peer_identity *id;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct prh_peer peer = { .serial = 4, .has_cred = true, .pid = 100, .has_sock = true,
                             .sock = sv[0], .pidfd = -1 };
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_GUEST, &peer, f->proc)->source,
                     PRH_SIM_SOURCE_GUEST_NAME); /* connected: its own name */
    close(sv[1]); /* hung up: without a pidfd, gone */
    id = identity_of(PRH_SIM_IDENTITY_GUEST, &peer, f->proc);
    assert_int_equal(id->source, PRH_SIM_SOURCE_CONNECTION);
    assert_false(id->stable);
    assert_non_null(strstr(id->detail, "pid 100 left while it was looked up"));
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_PROCESS, &peer, f->proc)->source,
                     PRH_SIM_SOURCE_CONNECTION);
    /* Known gone when its pidfd was asked for (no pidfd of an exited process). */
    struct prh_peer gone = { .serial = 5, .has_cred = true, .pid = 100, .exited = true,
                             .pidfd = -1, .sock = -1 };
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_GUEST, &gone, f->proc)->source,
                     PRH_SIM_SOURCE_CONNECTION);
    void *n = T->nexus_new(f->st, &peer);
    assert_non_null(n);
    assert_string_equal(who(f, n), PRH_SIM_NAME_PREFIX "pid.100,i,0x800000000004@1");
    T->nexus_free(f->st, n);

    /* A pidfd decides where there is one: the process lives, hang-up or not. */
    int self = -1;
#ifdef SYS_pidfd_open
    self = (int)syscall(SYS_pidfd_open, getpid(), 0);
#endif
    int dead = exited_child_pidfd();
    if (self < 0 || dead < 0) {
        close(sv[0]);
        skip(); /* no pidfd_open (kernel before 5.3, or a filter) */
    }
    peer.has_pidfd = true;
    peer.pidfd = self;
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_GUEST, &peer, f->proc)->source,
                     PRH_SIM_SOURCE_GUEST_NAME);
    peer.pidfd = dead;
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_GUEST, &peer, f->proc)->source,
                     PRH_SIM_SOURCE_CONNECTION);
    /* An abstract address names the client whatever its process does. */
    snprintf(peer.addr, sizeof(peer.addr), "@prhelper-nexus:host-a");
    peer.addr_len = strlen(peer.addr);
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_GUEST, &peer, f->proc)->source,
                     PRH_SIM_SOURCE_ADDRESS);
    close(self);
    close(dead);
    close(sv[0]);
}

static void test_identity_init_rejects_unknown_mode_and_limits(void **state)
{
    stfx_init_fails(*state, (struct prh_transport_options){ .sim_identity = "vm" }, -EINVAL,
                    "unknown sim identity 'vm'");
    stfx_init_fails(*state, (struct prh_transport_options){ .sim_max_luns = 1000001 }, -EINVAL,
                    NULL);
}

/* ---- one guest, one initiator ---------------------------------------------------------- */

static void test_guest_reconnect_keeps_its_registration_and_may_change_its_key(void **state)
{
    struct stfx *f = *state;
    void *a = conn_of(f, 100, 1);
    assert_int_equal(prout(f, a, PR_OUT_REGISTER, 0, 0, 0xa1), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, a, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa1, 0), SCSI_STATUS_GOOD);
    T->nexus_free(f->st, a);
    a = conn_of(f, 100, 2);
    /* Its own key: the reconnect is the same I_T nexus. */
    assert_int_equal(prout(f, a, PR_OUT_REGISTER, 0, 0xa1, 0xa2), SCSI_STATUS_GOOD);
    struct prh_reply *r = prin(f, a, PR_IN_READ_RESERVATION);
    assert_int_equal(r->status, SCSI_STATUS_GOOD);
    assert_int_equal(scsi_get_be64(r->data + 8), 0xa2);
    assert_int_equal(tu_key_count(prin(f, a, PR_IN_READ_KEYS)), 1);
    T->nexus_free(f->st, a);
}

static void test_guest_restarted_qemu_finds_its_registration(void **state)
{
    struct stfx *f = *state;
    void *a = conn_of(f, 100, 1);
    assert_int_equal(prout(f, a, PR_OUT_REGISTER, 0, 0, 0xa1), SCSI_STATUS_GOOD);
    T->nexus_free(f->st, a);
    /* A new QEMU process (pid 200) of the same guest. */
    void *b = conn_of(f, 200, 2);
    assert_int_equal(prout(f, b, PR_OUT_RESERVE, PR_TYPE_EA, 0xa1, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, b, PR_OUT_REGISTER, 0, 0xa1, 0), SCSI_STATUS_GOOD); /* unregister */
    assert_int_equal(tu_key_count(prin(f, b, PR_IN_READ_KEYS)), 0);
    T->nexus_free(f->st, b);
}

static const char *lun_line(struct stfx *f, const char *cmd)
{
    static char line[160];
    char lun[64];
    int fd = open(f->disk, O_RDONLY | O_CLOEXEC);
    assert_int_equal(prh_lun_id_of_fd(fd, lun, sizeof(lun)), 0);
    close(fd);
    snprintf(line, sizeof(line), "%s %s", cmd, lun);
    return line;
}

static int prout_aptpl(struct stfx *f, void *nexus, uint64_t rk, uint64_t sark)
{
    return stfx_prout(f, nexus, f->disk, PR_OUT_REGISTER, 0, rk, sark, PR_OUT_FLAG_APTPL);
}

/* APTPL: the state file keeps each guest's TransportID, and after a
 * restart of the daemon a new QEMU of the same guest (another pid) is that
 * initiator again: it holds the reservation and may change its own key;
 * a guest named by a hash of its name and one named by its UUID too. */
static void test_guest_aptpl_registration_survives_a_daemon_restart(void **state)
{
    struct stfx *f = *state;
    fake_guest(f, 630, "guest=Web_1", 1);
    fake_guest(f, 631, "guest=Web_1", 2); /* Web_1's QEMU after the restart */
    const char *uuid_again[] = { "qemu-kvm", "-uuid", "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                                 NULL };
    fake_process(f, 401, uuid_again, 2);
    void *a = conn_of(f, 100, 1), *w = conn_of(f, 630, 2), *u = conn_of(f, 400, 3);
    assert_int_equal(prout_aptpl(f, a, 0, 0xa1), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, a, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa1, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout_aptpl(f, w, 0, 0xb1), SCSI_STATUS_GOOD);
    assert_int_equal(prout_aptpl(f, u, 0, 0xc1), SCSI_STATUS_GOOD);
    T->nexus_free(f->st, a);
    T->nexus_free(f->st, w);
    T->nexus_free(f->st, u);
    init_state(f, NULL, "spc4");

    void *b = conn_of(f, 200, 4), *w2 = conn_of(f, 631, 5), *u2 = conn_of(f, 401, 6);
    void *other = conn_of(f, 300, 7); /* vm2 */
    struct prh_reply *r = prin(f, b, PR_IN_READ_RESERVATION);
    assert_int_equal(r->status, SCSI_STATUS_GOOD);
    assert_int_equal(scsi_get_be32(r->data + 4), 16);
    assert_int_equal(scsi_get_be64(r->data + 8), 0xa1);
    assert_int_equal(tu_key_count(prin(f, b, PR_IN_READ_KEYS)), 3);
    /* Each is its own registrant: only it can change its key. */
    assert_int_equal(prout(f, other, PR_OUT_REGISTER, 0, 0xa1, 0xd1),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(prout(f, b, PR_OUT_REGISTER, 0, 0xa1, 0xa2), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, w2, PR_OUT_REGISTER, 0, 0xb1, 0xb2), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, u2, PR_OUT_REGISTER, 0, 0xc1, 0xc2), SCSI_STATUS_GOOD);
    r = prin(f, b, PR_IN_READ_RESERVATION);
    assert_int_equal(scsi_get_be64(r->data + 8), 0xa2); /* still the holder */
    assert_int_equal(tu_key_count(prin(f, b, PR_IN_READ_KEYS)), 3);
    T->nexus_free(f->st, b);
    T->nexus_free(f->st, w2);
    T->nexus_free(f->st, u2);
    T->nexus_free(f->st, other);
}

static void test_guest_two_connections_at_once_are_one_nexus(void **state)
{
    struct stfx *f = *state;
    void *disk1 = conn_of(f, 100, 1), *disk2 = conn_of(f, 200, 2), *other = conn_of(f, 300, 3);
    assert_string_equal(who(f, disk1), who(f, disk2));
    assert_int_equal(prout(f, disk1, PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, disk2, PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, disk1, PR_OUT_REGISTER, 0, 0xa, 0), SCSI_STATUS_GOOD);
    const char *s = ctl(f, "state");
    assert_non_null(strstr(s, "connections: 3"));
    assert_non_null(strstr(s, "guest-name  " GUEST_PREFIX "vm1,i,0x800000000001@1"));
    assert_non_null(strstr(s, "guest name 'vm2', pid 300"));
    /* The guest is now known but unregistered.  One connection closing is
     * no I_T nexus loss: the nexus stays known, so a power cycle still
     * reaches the other connection. */
    T->nexus_free(f->st, disk1);
    assert_non_null(strstr(ctl(f, lun_line(f, "power-cycle")), "power cycled"));
    struct prh_reply *r = prin(f, disk2, PR_IN_READ_KEYS);
    assert_int_equal(r->status, SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(r), SENSE_UA_POWER_ON_RESET));
    /* The last one closing is: the unregistered nexus is forgotten. */
    T->nexus_free(f->st, disk2);
    assert_null(strstr(ctl(f, "--json state"), "guest.vm1"));
    T->nexus_free(f->st, other);
    assert_non_null(strstr(ctl(f, "state"), "connections: 0"));
}

static void test_guest_connections_shown_in_state_json(void **state)
{
    struct stfx *f = *state;
    void *a = conn_of(f, 100, 5);
    const char *s = ctl(f, "--json state");
    tu_assert_contains(s, "\"identity\":\"guest\"", "\"max_registrations\":256");
    assert_non_null(strstr(s, "{\"client\":5,\"pid\":100,\"source\":\"guest-name\",\"nexus\":\""
                              GUEST_PREFIX "vm1,i,0x800000000001@1\""));
    T->nexus_free(f->st, a);
}

/* Two registered clients: host-b (its own abstract address, connection 1,
 * key 0xb), returned, and the process pid on connection serial with key, in *n. */
static void *host_b_and_registered(struct stfx *f, long pid, uint64_t serial, uint64_t key,
                                   void **n)
{
    void *host = conn_named(f, "host-b", 1);
    *n = conn_of(f, pid, serial);
    assert_int_equal(prout(f, host, PR_OUT_REGISTER, 0, 0, 0xb), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, *n, PR_OUT_REGISTER, 0, 0, key), SCSI_STATUS_GOOD);
    return host;
}

static void test_connection_identity_forgets_unit_attentions_of_a_gone_connection(void **state)
{
    struct stfx *f = *state;
    void *tool;
    void *host = host_b_and_registered(f, 500, 2, 0xc, &tool);
    assert_int_equal(prout(f, host, PR_OUT_PREEMPT, PR_TYPE_WE, 0xb, 0xc), SCSI_STATUS_GOOD);
    assert_non_null(strstr(ctl(f, lun_line(f, "--json state")), "pid.500"));
    T->nexus_free(f->st, tool);
    /* Nothing left of it: its REGISTRATIONS PREEMPTED went with it. */
    assert_null(strstr(ctl(f, lun_line(f, "--json state")), "pid.500"));
    T->nexus_free(f->st, host);
}

static void test_guest_gone_keeps_its_unit_attention_for_its_return(void **state)
{
    struct stfx *f = *state;
    void *vm;
    void *host = host_b_and_registered(f, 100, 2, 0xa, &vm);
    T->nexus_free(f->st, vm);
    assert_int_equal(prout(f, host, PR_OUT_PREEMPT, PR_TYPE_WE, 0xb, 0xa), SCSI_STATUS_GOOD);
    vm = conn_of(f, 200, 3); /* restarted */
    struct prh_reply *r = prin(f, vm, PR_IN_READ_KEYS);
    assert_int_equal(r->status, SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(r), SENSE_UA_REGISTRATIONS_PREEMPTED));
    T->nexus_free(f->st, vm);
    T->nexus_free(f->st, host);
}

/* ---- PR live migration (QEMU 11, scsi-block migrate-pr=on) ------------------------------ */

struct migration {
    void *other, *src; /* host-b (key 0xb), the source QEMU (pid 100, key 0xa, WE_RO) */
    void *dst;         /* the destination QEMU (pid 200), connected after */
    uint32_t gen;
};

/* Under identity (NULL: the transport's default) the migration source
 * holds its reservation; the destination QEMU (pid 200) is connected. */
static void migration_start(struct stfx *f, struct migration *m, const char *identity)
{
    if (identity != NULL)
        init_state(f, identity, "spc4");
    m->other = host_b_and_registered(f, 100, 2, 0xa, &m->src);
    assert_int_equal(prout(f, m->src, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    m->gen = scsi_get_be32(prin(f, m->src, PR_IN_READ_KEYS)->data);
    m->dst = conn_of(f, 200, 3);
}

static void migration_end(struct stfx *f, struct migration *m)
{
    void *nexuses[] = { m->dst, m->src, m->other };
    for (size_t i = 0; i < 3; i++)
        if (nexuses[i] != NULL)
            T->nexus_free(f->st, nexuses[i]);
}

/* The destination's two commands (qemu: scsi_generic_pr_state_post_load). */
static void destination_sequence(struct stfx *f, void *dst, uint8_t register_sa)
{
    assert_int_equal(prout(f, dst, register_sa, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, dst, PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0xa, 0xa), SCSI_STATUS_GOOD);
}

static void test_migration_guest_identity_same_nexus_keeps_everything(void **state)
{
    struct stfx *f = *state;
    struct migration m;
    migration_start(f, &m, NULL);
    /* The destination: the same guest, a second process; the source still connected. */
    assert_string_equal(who(f, m.dst), who(f, m.src));
    destination_sequence(f, m.dst, PR_OUT_REGISTER_AND_IGNORE);
    /* SPC-4 5.14.11.4.3: a holder preempting its own key with the same
     * type keeps its registration; other keys are untouched; no UA. */
    struct prh_reply *r = prin(f, m.dst, PR_IN_READ_RESERVATION);
    assert_int_equal(scsi_get_be64(r->data + 8), 0xa);
    assert_int_equal(r->data[21] & 0x0f, PR_TYPE_WE_RO);
    r = prin(f, m.other, PR_IN_READ_KEYS);
    assert_int_equal(r->status, SCSI_STATUS_GOOD); /* host-b: no unit attention */
    assert_int_equal(tu_key_count(r), 2);
    assert_true(tu_has_key(r, 0xa) && tu_has_key(r, 0xb));
    assert_int_equal(scsi_get_be32(r->data), m.gen + 2); /* RIEK and PREEMPT */
    /* The source, still connected, is the same initiator: no UA either. */
    assert_int_equal(prin(f, m.src, PR_IN_READ_KEYS)->status, SCSI_STATUS_GOOD);
    T->nexus_free(f->st, m.src);
    m.src = NULL;
    /* After the source process is gone the guest still holds it. */
    assert_int_equal(prout(f, m.dst, PR_OUT_RELEASE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    migration_end(f, &m);
}

static void test_migration_process_identity_moves_reservation_to_destination(void **state)
{
    struct stfx *f = *state;
    struct migration m;
    migration_start(f, &m, "process");
    assert_string_not_equal(who(f, m.dst), who(f, m.src));
    destination_sequence(f, m.dst, PR_OUT_REGISTER_AND_IGNORE);
    struct prh_reply *r = prin(f, m.other, PR_IN_READ_KEYS);
    assert_int_equal(r->status, SCSI_STATUS_GOOD);
    assert_int_equal(tu_key_count(r), 2); /* host-b, and the destination's 0xa */
    assert_true(tu_has_key(r, 0xa) && tu_has_key(r, 0xb));
    /* The holder is the destination: READ FULL STATUS names it. */
    r = prin(f, m.other, PR_IN_READ_FULL_STATUS);
    uint32_t add = scsi_get_be32(r->data + 4);
    bool dst_holds = false;
    for (uint32_t off = 8; off < 8 + add;) {
        const uint8_t *d = r->data + off;
        uint32_t tl = scsi_get_be32(d + 20);
        if ((d[12] & 1) && strstr((const char *)d + 28, "pid.200.9000"))
            dst_holds = true;
        off += 24 + tl;
    }
    assert_true(dst_holds);
    /* The source lost its registration: REGISTRATIONS PREEMPTED. */
    r = prin(f, m.src, PR_IN_READ_KEYS);
    assert_int_equal(r->status, SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(r), SENSE_UA_REGISTRATIONS_PREEMPTED));
    migration_end(f, &m);
}

static void test_migration_register_with_key_zero_conflicts_on_the_same_nexus(void **state)
{
    struct stfx *f = *state;
    struct migration m;
    migration_start(f, &m, NULL);
    /* A destination that sends REGISTER (00h) with RESERVATION KEY 0, as
     * QEMU's first proposal did: the guest's nexus is registered, so SPC-4
     * 5.14.7 answers RESERVATION CONFLICT; nothing changes. */
    assert_int_equal(prout(f, m.dst, PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_RESERVATION_CONFLICT);
    struct prh_reply *r = prin(f, m.other, PR_IN_READ_KEYS);
    assert_int_equal(tu_key_count(r), 2);
    assert_int_equal(scsi_get_be32(r->data), m.gen);
    migration_end(f, &m);
}

static void test_migration_register_with_key_zero_works_per_process(void **state)
{
    struct stfx *f = *state;
    struct migration m;
    migration_start(f, &m, "process");
    destination_sequence(f, m.dst, PR_OUT_REGISTER);
    struct prh_reply *r = prin(f, m.other, PR_IN_READ_RESERVATION);
    assert_int_equal(scsi_get_be64(r->data + 8), 0xa);
    assert_int_equal(tu_key_count(prin(f, m.other, PR_IN_READ_KEYS)), 2);
    migration_end(f, &m);
}

static void test_migration_without_reservation_preempt_removes_the_key_everywhere(void **state)
{
    struct stfx *f = *state;
    /* QEMU migrates a registered key with no reservation as PREEMPT with
     * TYPE 0.  SPC-4 5.14.11.4.4 (no holder): every registration with
     * that key goes, the sender's included; TYPE is ignored. */
    void *src;
    void *other = host_b_and_registered(f, 100, 2, 0xa, &src);
    void *dst = conn_of(f, 200, 3);
    assert_int_equal(prout(f, dst, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, dst, PR_OUT_PREEMPT, 0, 0xa, 0xa), SCSI_STATUS_GOOD);
    struct prh_reply *r = prin(f, other, PR_IN_READ_KEYS);
    assert_int_equal(tu_key_count(r), 1);
    assert_true(tu_has_key(r, 0xb));
    T->nexus_free(f->st, dst);
    T->nexus_free(f->st, src);
    T->nexus_free(f->st, other);
}

static void test_migration_without_reservation_lio_refuses_type_0(void **state)
{
    struct stfx *f = *state;
    init_state(f, NULL, "lio");
    void *src = conn_of(f, 100, 2);
    assert_int_equal(prout(f, src, PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    void *dst = conn_of(f, 200, 3);
    assert_int_equal(prout(f, dst, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xa), SCSI_STATUS_GOOD);
    /* LIO checks TYPE even when only registrations would go (D6). */
    assert_int_equal(prout(f, dst, PR_OUT_PREEMPT, 0, 0xa, 0xa), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(&f->reply), SENSE_INVALID_FIELD_IN_CDB));
    assert_true(tu_has_key(prin(f, dst, PR_IN_READ_KEYS), 0xa));
    T->nexus_free(f->st, dst);
    T->nexus_free(f->st, src);
}

/* ---- explicit nexuses (prhelper-tcmu) and threads -------------------------------------- */

static void test_explicit_nexus_is_shared_with_a_matching_connection(void **state)
{
    struct stfx *f = *state;
    struct pr_sim_nexus nx = { .initiator = pr_tid_fcp(0x2100001b32a0b0c1ULL), .rtpi = 3 };
    void *e = prh_sim_nexus_new_explicit(f->st, &nx, 77);
    assert_non_null(e);
    assert_string_equal(who(f, e), "fcp,0x2100001b32a0b0c1@3");
    assert_int_equal(prout(f, e, PR_OUT_REGISTER, 0, 0, 0xf1), SCSI_STATUS_GOOD);
    void *e2 = prh_sim_nexus_new_explicit(f->st, &nx, 78);
    assert_int_equal(prout(f, e2, PR_OUT_RESERVE, PR_TYPE_EA, 0xf1, 0), SCSI_STATUS_GOOD);
    assert_non_null(strstr(ctl(f, "state"), "explicit"));
    T->nexus_free(f->st, e);
    T->nexus_free(f->st, e2);
    struct pr_sim_nexus bad = { .initiator = pr_tid_fcp(1), .rtpi = 0 };
    assert_null(prh_sim_nexus_new_explicit(f->st, &bad, 1));
}

struct thread_arg {
    struct stfx *f;
    long pid;
    int rounds;
    int failures;
};

static void *churn(void *p)
{
    struct thread_arg *a = p;
    static _Thread_local struct prh_reply r;
    for (int i = 0; i < a->rounds; i++) {
        struct prh_peer peer = { .serial = (uint64_t)(a->pid * 1000 + i), .has_cred = true,
                                 .pid = (pid_t)a->pid };
        void *n = T->nexus_new(a->f->st, &peer);
        if (!n) {
            a->failures++;
            continue;
        }
        struct prh_request req = { .fd = open(a->f->disk, O_RDONLY | O_CLOEXEC), .xfer_len = 64 };
        tu_cdb_prin(req.cdb, PR_IN_READ_KEYS, 64);
        prh_transport_execute(T, a->f->st, n, &req, &r);
        close(req.fd);
        if (r.status != SCSI_STATUS_GOOD && r.status != SCSI_STATUS_CHECK_CONDITION)
            a->failures++;
        T->nexus_free(a->f->st, n);
    }
    return NULL;
}

static void test_nexus_new_and_free_concurrently_on_one_guest(void **state)
{
    struct stfx *f = *state;
    pthread_t th[6];
    struct thread_arg args[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (struct thread_arg){ .f = f, .pid = i % 2 ? 100 : 200, .rounds = 300 };
        assert_int_equal(pthread_create(&th[i], NULL, churn, &args[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    assert_non_null(strstr(ctl(f, "state"), "connections: 0"));
}

/* ---- a real process ------------------------------------------------------------------- */

static void test_identity_of_a_real_qemu_like_process(void **state)
{
    struct stfx *f = *state;
    struct fake_qemu q;
    const char *argv[] = { "/usr/libexec/qemu-kvm", "-uuid", "00000000-0000-0000-0000-00000000abcd",
                           "-name", "guest=real-vm,debug-threads=on", NULL };
    assert_int_equal(fq_start(&q, NULL, argv), 0);
    const struct prh_sim_peer_identity *id;
    struct prh_peer peer = { .serial = 1, .has_cred = true, .pid = q.pid };
    id = identity_of(PRH_SIM_IDENTITY_GUEST, &peer, NULL);
    assert_int_equal(id->source, PRH_SIM_SOURCE_GUEST_NAME);
    char tid[300];
    pr_tid_to_string(&id->nexus.initiator, tid, sizeof(tid));
    assert_string_equal(tid, GUEST_PREFIX "real-vm,i,0x800000000001");
    assert_int_equal(identity_of(PRH_SIM_IDENTITY_PROCESS, &peer, NULL)->source,
                     PRH_SIM_SOURCE_PROCESS);
    assert_int_equal(fq_stop(&q), 0);
    (void)f;
}

#define TT(t) cmocka_unit_test_setup_teardown(t, setup, stfx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TT(test_identity_unclean_guest_names_get_a_hash),
        TT(test_identity_very_long_guest_name_fits_an_iscsi_name),
        TT(test_identity_guest_name_with_odd_bytes_shows_only_printable_text),
        TT(test_identity_bound_address_with_odd_bytes_shows_only_printable_text),
        TT(test_identity_modes_process_and_connection),
        TT(test_identity_function_reports_source_and_stability),
        TT(test_identity_of_a_peer_gone_while_looked_up_is_per_connection),
        TT(test_identity_init_rejects_unknown_mode_and_limits),
        TT(test_guest_reconnect_keeps_its_registration_and_may_change_its_key),
        TT(test_guest_restarted_qemu_finds_its_registration),
        TT(test_guest_aptpl_registration_survives_a_daemon_restart),
        TT(test_guest_two_connections_at_once_are_one_nexus),
        TT(test_guest_connections_shown_in_state_json),
        TT(test_connection_identity_forgets_unit_attentions_of_a_gone_connection),
        TT(test_guest_gone_keeps_its_unit_attention_for_its_return),
        TT(test_migration_guest_identity_same_nexus_keeps_everything),
        TT(test_migration_process_identity_moves_reservation_to_destination),
        TT(test_migration_register_with_key_zero_conflicts_on_the_same_nexus),
        TT(test_migration_register_with_key_zero_works_per_process),
        TT(test_migration_without_reservation_preempt_removes_the_key_everywhere),
        TT(test_migration_without_reservation_lio_refuses_type_0),
        TT(test_explicit_nexus_is_shared_with_a_matching_connection),
        TT(test_nexus_new_and_free_concurrently_on_one_guest),
        TT(test_identity_of_a_real_qemu_like_process),
    };
    return th_run_table("transport_sim_identity", test_who_rule, who_rules, tests);
}
