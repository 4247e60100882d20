/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_e2e_guest.c - the built prhelper on the sim transport with QEMU-like
 * clients: child processes whose command line carries "-name guest=..."
 * (tests/helpers/fake_qemu.h).  A guest keeps its registrations across reconnects
 * and QEMU restarts on the default settings; QEMU 11's PR live migration;
 * the TransportID in ctl state, the audit record and the request trace;
 * the registration and LUN bounds; non-disk fds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "tu_text.h"
#include "fake_qemu.h"
#include "daemon_fixture.h"

#ifndef PRH_DAEMON_BIN
#error "PRH_DAEMON_BIN comes from src/CMakeLists.txt"
#endif

#define VM1 "iqn.2026-01.org.prhelper.sim:guest.vm1,i,0x800000000001@1"

/* The daemon fixture (tests/helpers/daemon_fixture.h) with the control
 * socket, the audit file, the trace file and -v. */
static int setup(void **state)
{
    dfx_setup(state);
    struct dfx *f = *state;
    f->with_ctl = f->with_audit = f->with_trace = f->verbose = true;
    return 0;
}

/* Run argv with stdout+stderr into out (static); exit status. */
static int run(const char *const *argv, char **out)
{
    static char buf[16384];
    *out = buf;
    return dfx_run(buf, sizeof(buf), argv, 30000);
}

static const char *ctl(struct dfx *f, const char *a1, const char *a2)
{
    char c[300];
    char *out;
    snprintf(c, sizeof(c), "--control=%s", f->ctl);
    const char *argv[] = { PRH_CLI_BIN, c, "ctl", a1, a2, NULL };
    assert_int_equal(run(argv, &out), 0);
    return out;
}

static int cli(struct dfx *f, const char *dev, const char *a1, const char *a2, char **out)
{
    char k[300];
    snprintf(k, sizeof(k), "--socket=%s", f->sock);
    const char *argv[] = { PRH_CLI_BIN, k, dev, a1, a2, NULL };
    return run(argv, out);
}

static struct prh_reply r;

static void guest(struct dfx *f, struct fake_qemu *q, const char *name)
{
    assert_int_equal(fq_start_guest(q, f->sock, name), 0);
}

/* ---- one guest, one initiator, on the default settings ----------------------------------- */

static void test_e2e_guest_keeps_registration_across_reconnect_and_restart(void **state)
{
    struct dfx *f = *state;
    struct fake_qemu q;
    dfx_start(f, NULL);
    guest(f, &q, "vm1");
    assert_int_equal(tu_prout(q.conn, f->devfd, PR_OUT_REGISTER, 0, 0, 0xa1, 0, &r),
                     SCSI_STATUS_GOOD);
    assert_int_equal(tu_prout(q.conn, f->devfd, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa1, 0, 0, &r),
                     SCSI_STATUS_GOOD);
    /* The connection drops and the same QEMU comes back (as after a
     * helper restart): its own key still works, so it can change it. */
    close(q.conn);
    q.conn = fq_reconnect(&q);
    assert_true(q.conn >= 0);
    assert_int_equal(tu_prout(q.conn, f->devfd, PR_OUT_REGISTER, 0, 0xa1, 0xa2, 0, &r),
                     SCSI_STATUS_GOOD);
    assert_int_equal(fq_close(&q), 0);
    /* QEMU restarted: a new process of the guest finds its reservation. */
    guest(f, &q, "vm1");
    assert_int_equal(tu_prin(q.conn, f->devfd, PR_IN_READ_RESERVATION, 64, &r), SCSI_STATUS_GOOD);
    assert_int_equal(scsi_get_be64(r.data + 8), 0xa2);
    assert_int_equal(tu_prout(q.conn, f->devfd, PR_OUT_RELEASE, PR_TYPE_WE_RO, 0xa2, 0, 0, &r),
                     SCSI_STATUS_GOOD);
    const char *st = ctl(f, "state", f->disk);
    tu_assert_contains(st, "0xa2", "iqn.2026-01.org.prhelper.sim:guest.vm1,i,0x800000000001");
    st = ctl(f, "state", NULL);
    assert_non_null(strstr(st, "connections: 1"));
    assert_non_null(strstr(st, "guest-name  " VM1));
    assert_int_equal(fq_close(&q), 0);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);

    /* The TransportID in the audit record and the request trace. */
    char *audit = dfx_slurp(f->audit);
    assert_non_null(strstr(audit, "\"nexus\":\"" VM1 "\""));
    assert_non_null(strstr(audit, "\"guest\":\"vm1\""));
    free(audit);
    char *trace = dfx_slurp(f->trace);
    assert_non_null(strstr(trace, "\"nexus\":\"" VM1 "\""));
    free(trace);
}

static void test_e2e_guest_two_guests_are_two_initiators(void **state)
{
    struct dfx *f = *state;
    struct fake_qemu a, b;
    dfx_start(f, NULL);
    guest(f, &a, "vm1");
    guest(f, &b, "vm2");
    assert_int_equal(tu_prout(a.conn, f->devfd, PR_OUT_REGISTER, 0, 0, 0xa, 0, &r),
                     SCSI_STATUS_GOOD);
    assert_int_equal(tu_prout(b.conn, f->devfd, PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0, 0, &r),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    fq_close(&a);
    fq_close(&b);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

/* ---- PR live migration --------------------------------------------------------------- */

struct mig {
    int other;
    struct fake_qemu src, dst;
};

static void mig_start(struct dfx *f, struct mig *m)
{
    m->other = tu_connect_hs(f->sock, "prhelper-nexus:host-b/e2e");
    assert_true(m->other >= 0);
    assert_int_equal(tu_prout(m->other, f->devfd, PR_OUT_REGISTER, 0, 0, 0xb, 0, &r),
                     SCSI_STATUS_GOOD);
    guest(f, &m->src, "vm1");
    assert_int_equal(tu_prout(m->src.conn, f->devfd, PR_OUT_REGISTER, 0, 0, 0xa, 0, &r),
                     SCSI_STATUS_GOOD);
    assert_int_equal(tu_prout(m->src.conn, f->devfd, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0, 0, &r),
                     SCSI_STATUS_GOOD);
    /* The destination QEMU on the same host, while the source is connected:
     * REGISTER AND IGNORE EXISTING KEY, then PREEMPT with its own key and type. */
    guest(f, &m->dst, "vm1");
    assert_int_equal(tu_prout(m->dst.conn, f->devfd, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xa, 0, &r),
                     SCSI_STATUS_GOOD);
    assert_int_equal(tu_prout(m->dst.conn, f->devfd, PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0xa, 0xa, 0,
                              &r),
                     SCSI_STATUS_GOOD);
}

static void mig_end(struct dfx *f, struct mig *m)
{
    close(m->other);
    fq_close(&m->src);
    fq_close(&m->dst);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

static void test_e2e_guest_live_migration_on_one_host(void **state)
{
    struct dfx *f = *state;
    struct mig m;
    dfx_start(f, NULL);
    mig_start(f, &m);
    /* One initiator: the reservation and its key stay; host-b untouched,
     * without a unit attention. */
    assert_int_equal(tu_prin(m.other, f->devfd, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_GOOD);
    assert_int_equal(tu_key_count(&r), 2);
    assert_true(tu_has_key(&r, 0xa) && tu_has_key(&r, 0xb));
    assert_int_equal(tu_prin(m.dst.conn, f->devfd, PR_IN_READ_RESERVATION, 64, &r),
                     SCSI_STATUS_GOOD);
    assert_int_equal(scsi_get_be64(r.data + 8), 0xa);
    assert_int_equal(r.data[21], PR_TYPE_WE_RO);
    /* The source goes away; the destination keeps the guest's reservation. */
    fq_close(&m.src);
    assert_int_equal(tu_prout(m.dst.conn, f->devfd, PR_OUT_RELEASE, PR_TYPE_WE_RO, 0xa, 0, 0, &r),
                     SCSI_STATUS_GOOD);
    mig_end(f, &m);
}

static void test_e2e_process_identity_live_migration_moves_the_reservation(void **state)
{
    struct dfx *f = *state;
    struct mig m;
    dfx_start(f, "--sim-identity=process", NULL);
    mig_start(f, &m);
    assert_int_equal(tu_prin(m.other, f->devfd, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_GOOD);
    assert_int_equal(tu_key_count(&r), 2);
    /* The source process was preempted. */
    assert_int_equal(tu_prin(m.src.conn, f->devfd, PR_IN_READ_KEYS, 64, &r),
                     SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r.sense[12], 0x2a);
    assert_int_equal(r.sense[13], 0x05);
    char want[64];
    snprintf(want, sizeof(want), "pid.%ld.", (long)m.dst.pid);
    const char *st = ctl(f, "state", f->disk);
    assert_non_null(strstr(st, want));
    mig_end(f, &m);
}

/* ---- hostile command lines -------------------------------------------------------------- */

/* What a client's command line may hold: a guest name with a newline and a
 * terminal escape (one initiator, shown as printable text, one audit line
 * per record), and a -name of 100 KB, past what is read of a command line
 * (not a guest: a per-connection nexus).  The daemon answers both. */
static void test_e2e_hostile_guest_names_are_served_and_shown_safely(void **state)
{
    struct dfx *f = *state;
    struct fake_qemu a, b;
    dfx_start(f, NULL);
    const char *odd[] = { "/usr/bin/qemu-system-x86_64", "-name",
                          "guest=x\n  7 1 guest-name iqn.forged\x1b[2J\xff", NULL };
    assert_int_equal(fq_start(&a, f->sock, odd), 0);
    assert_int_equal(tu_prout(a.conn, f->devfd, PR_OUT_REGISTER, 0, 0, 0xa1, 0, &r),
                     SCSI_STATUS_GOOD);
    size_t big = 100 * 1024;
    char *name = malloc(big + 7);
    assert_non_null(name);
    memcpy(name, "guest=", 6);
    memset(name + 6, 'n', big);
    name[big + 6] = '\0';
    const char *longname[] = { "/usr/bin/qemu-system-x86_64", "-name", name, NULL };
    assert_int_equal(fq_start(&b, f->sock, longname), 0);
    assert_int_equal(tu_prout(b.conn, f->devfd, PR_OUT_REGISTER, 0, 0, 0xb1, 0, &r),
                     SCSI_STATUS_GOOD);
    const char *st = ctl(f, "state", NULL);
    for (const char *p = st; *p; p++)
        assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
    assert_non_null(strstr(st, "connections: 2"));
    assert_null(strstr(st, "\n  7 1 "));
    assert_non_null(strstr(st, "(guest name 'x\\x0a  7 1 guest-name iqn.forged\\x1b[2J\\xff'"));
    char want[64];
    snprintf(want, sizeof(want), "connection  iqn.2026-01.org.prhelper.sim:pid.%ld,", (long)b.pid);
    assert_non_null(strstr(st, want));
    assert_int_equal(fq_close(&a), 0);
    assert_int_equal(fq_close(&b), 0);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    free(name);

    /* Two PR OUT records (and the connections'), each one line of JSON. */
    char *audit = dfx_slurp(f->audit);
    assert_null(strchr(audit, 0x1b));
    assert_non_null(strstr(audit, "\"guest\":\"x\\u000a  7 1 guest-name iqn.forged\\u001b[2J"
                                  "\\u00ff\""));
    int lines = 0, registers = 0;
    for (char *line = strtok(audit, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        assert_true(line[0] == '{' && line[strlen(line) - 1] == '}');
        registers += strstr(line, "\"service_action\":\"REGISTER\"") != NULL;
    }
    assert_int_equal(registers, 2);
    assert_true(lines >= 2);
    free(audit);
}

/* ---- bounds and non-disks -------------------------------------------------------------- */

static void test_e2e_registration_limit_answers_insufficient_registration_resources(void **state)
{
    struct dfx *f = *state;
    char *out;
    dfx_start(f, "--sim-max-registrations=1", NULL);
    int a = tu_connect_hs(f->sock, "prhelper-nexus:a/1");
    assert_int_equal(tu_prout(a, f->devfd, PR_OUT_REGISTER, 0, 0, 1, 0, &r), SCSI_STATUS_GOOD);
    assert_int_equal(cli(f, f->disk, "register", "0x2", &out), 2);
    assert_non_null(strstr(out, "INSUFFICIENT REGISTRATION RESOURCES"));
    close(a);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    char *log = dfx_slurp(f->log);
    assert_non_null(strstr(log, "(--sim-max-registrations)"));
    free(log);
}

static void test_e2e_lun_limit_and_non_disks_are_refused_with_a_log(void **state)
{
    struct dfx *f = *state;
    char *out;
    dfx_start(f, "--sim-max-luns=1", NULL);
    assert_int_equal(cli(f, f->disk, "register", "0x1", &out), 0);
    char *other = tu_disk(f->dir, "other");
    assert_int_equal(cli(f, other, "read-keys", NULL, &out), 2);
    assert_non_null(strstr(out, "INSUFFICIENT RESOURCES"));
    assert_int_equal(cli(f, "/dev/null", "read-keys", NULL, &out), 2);
    assert_non_null(strstr(out, "LOGICAL UNIT NOT SUPPORTED"));
    assert_int_equal(cli(f, f->dir, "read-keys", NULL, &out), 2);
    assert_non_null(strstr(out, "LOGICAL UNIT NOT SUPPORTED"));
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    char *log = dfx_slurp(f->log);
    tu_assert_contains(log, "the LUN table is full (--sim-max-luns=1",
                       "character device 1:3, not an sg device", "a directory, not a disk");
    free(log);
    free(other);
}

#define TT(t) cmocka_unit_test_setup_teardown(t, setup, dfx_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        TT(test_e2e_guest_keeps_registration_across_reconnect_and_restart),
        TT(test_e2e_guest_two_guests_are_two_initiators),
        TT(test_e2e_guest_live_migration_on_one_host),
        TT(test_e2e_process_identity_live_migration_moves_the_reservation),
        TT(test_e2e_hostile_guest_names_are_served_and_shown_safely),
        TT(test_e2e_registration_limit_answers_insufficient_registration_resources),
        TT(test_e2e_lun_limit_and_non_disks_are_refused_with_a_log),
    };
    return cmocka_run_group_tests_name("e2e_guest", tests, NULL, NULL);
}
