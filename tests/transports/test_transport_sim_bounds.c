/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_transport_sim_bounds.c - the sim transport's bounded state:
 * --sim-max-registrations (SPC-4 6.16: INSUFFICIENT REGISTRATION
 * RESOURCES), --sim-max-luns, the nexuses remembered for their unit
 * attentions; only disks are LUNs; a LUN's state file is read without
 * the LUN-table lock (white box: transport_sim_internal.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/sysmacros.h>

#include "../src/transport_sim_internal.h"
#include "sim_transport_fixture.h"
#include "prhelper/control.h"
#include "prhelper/log.h"
#include "prhelper/transport.h"
#include "prhelper/transport_sim.h"

static const struct prh_transport *T = &prh_transport_sim;

/* The sim transport fixture (tests/helpers/sim_transport_fixture.h) with
 * these bounds (0: the default). */
static void init_state(struct stfx *f, unsigned max_regs, unsigned max_luns)
{
    stfx_fini(f); /* a test may start the transport again with other options */
    stfx_init(f, (struct prh_transport_options){ .sim_max_registrations = max_regs,
                                                  .sim_max_luns = max_luns });
}

static int setup(void **state)
{
    struct stfx *f = stfx_new();
    init_state(f, 0, 0);
    *state = f;
    return 0;
}

static void *host(struct stfx *f, unsigned n)
{
    struct pr_sim_nexus nx = { .rtpi = 1 };
    char name[64];
    snprintf(name, sizeof(name), PRH_SIM_NAME_PREFIX "host-%u", n);
    nx.initiator = pr_tid_iscsi(name, (const uint8_t[6]){ 0x80, 0, 0, 0, 0, 1 });
    void *h = prh_sim_nexus_new_explicit(f->st, &nx, n);
    assert_non_null(h);
    return h;
}

static int prout(struct stfx *f, void *nexus, const char *disk, uint8_t sa, uint8_t type,
                 uint64_t rk, uint64_t sark)
{
    return stfx_prout(f, nexus, disk, sa, type, rk, sark, 0);
}

static int prout_fd(struct stfx *f, void *nexus, int fd, uint8_t sa, uint8_t type, uint64_t rk,
                    uint64_t sark)
{
    return stfx_prout_fd(f, nexus, fd, sa, type, rk, sark, 0);
}

#define prin stfx_prin
#define prin_fd stfx_prin_fd
static const char *ctl(struct stfx *f, const char *line)
{
    return stfx_ctl(f, "%s", line);
}

/* ---- registrations ---------------------------------------------------------------- */

static void test_registration_beyond_the_limit_is_insufficient_resources(void **state)
{
    struct stfx *f = *state;
    init_state(f, 2, 0);
    char *disk = tu_disk(f->dir, "d");
    void *a = host(f, 1), *b = host(f, 2), *c = host(f, 3);
    assert_int_equal(prout(f, a, disk, PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, b, disk, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xb), SCSI_STATUS_GOOD);
    /* SPC-4 6.16.2 / 6.16.4: CHECK CONDITION, ILLEGAL REQUEST, 55h/04h. */
    assert_int_equal(prout(f, c, disk, PR_OUT_REGISTER, 0, 0, 0xc), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(&f->reply), SENSE_INSUFFICIENT_REG_RESOURCES));
    assert_int_equal(prout(f, c, disk, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xc),
                     SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(&f->reply), SENSE_INSUFFICIENT_REG_RESOURCES));
    /* A key change needs no new registration; an unregister makes room. */
    assert_int_equal(prout(f, b, disk, PR_OUT_REGISTER, 0, 0xb, 0xbb), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, a, disk, PR_OUT_REGISTER, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, c, disk, PR_OUT_REGISTER, 0, 0, 0xc), SCSI_STATUS_GOOD);
    assert_int_equal(prin(f, c, disk, PR_IN_READ_KEYS), SCSI_STATUS_GOOD);
    assert_int_equal(tu_key_count(&f->reply), 2);
    T->nexus_free(f->st, a);
    T->nexus_free(f->st, b);
    T->nexus_free(f->st, c);
    free(disk);
}

static void test_default_limit_is_256_registrations_per_lun(void **state)
{
    struct stfx *f = *state;
    char *disk = tu_disk(f->dir, "d"), *other = tu_disk(f->dir, "e");
    void *h[PRH_SIM_DEFAULT_MAX_REGISTRATIONS + 1];
    for (unsigned i = 0; i <= PRH_SIM_DEFAULT_MAX_REGISTRATIONS; i++) {
        h[i] = host(f, i);
        int want = i < PRH_SIM_DEFAULT_MAX_REGISTRATIONS ? SCSI_STATUS_GOOD
                                                          : SCSI_STATUS_CHECK_CONDITION;
        assert_int_equal(prout(f, h[i], disk, PR_OUT_REGISTER, 0, 0, 1 + i), want);
    }
    assert_true(scsi_sense_equal(stfx_sense_of(&f->reply), SENSE_INSUFFICIENT_REG_RESOURCES));
    /* The limit is per LUN. */
    assert_int_equal(prout(f, h[PRH_SIM_DEFAULT_MAX_REGISTRATIONS], other, PR_OUT_REGISTER, 0, 0,
                           1),
                     SCSI_STATUS_GOOD);
    for (unsigned i = 0; i <= PRH_SIM_DEFAULT_MAX_REGISTRATIONS; i++)
        T->nexus_free(f->st, h[i]);
    free(disk);
    free(other);
}

static void test_nexuses_kept_only_for_unit_attentions_are_bounded(void **state)
{
    struct stfx *f = *state;
    init_state(f, 1, 0);
    char *disk = tu_disk(f->dir, "d");
    enum { N = 1100 };
    static void *h[N];
    for (unsigned i = 0; i < N; i++) {
        h[i] = host(f, i);
        assert_int_equal(prin(f, h[i], disk, PR_IN_READ_KEYS), SCSI_STATUS_GOOD);
    }
    char line[128];
    int fd = open(disk, O_RDONLY | O_CLOEXEC);
    char lun[64];
    prh_lun_id_of_fd(fd, lun, sizeof(lun));
    close(fd);
    snprintf(line, sizeof(line), "power-cycle %s", lun);
    ctl(f, line); /* POWER ON RESET pending for all of them */
    for (unsigned i = 0; i < N; i++)
        T->nexus_free(f->st, h[i]);
    snprintf(line, sizeof(line), "--json state %s", lun);
    const char *s = ctl(f, line);
    size_t kept = 0;
    for (const char *p = s; (p = strstr(p, "{\"nexus\":")); p++)
        kept++;
    /* max registrations + 1024 spare: the rest were forgotten. */
    assert_int_equal(kept, 1 + 1024);
    free(disk);
}

/* ---- LUNs --------------------------------------------------------------------------- */

static void test_lun_table_full_of_luns_with_state_refuses_a_new_one(void **state)
{
    struct stfx *f = *state;
    init_state(f, 0, 2);
    char *d1 = tu_disk(f->dir, "1"), *d2 = tu_disk(f->dir, "2"), *d3 = tu_disk(f->dir, "3");
    void *a = host(f, 1);
    assert_int_equal(prout(f, a, d1, PR_OUT_REGISTER, 0, 0, 1), SCSI_STATUS_GOOD);
    assert_int_equal(prout(f, a, d2, PR_OUT_REGISTER, 0, 0, 2), SCSI_STATUS_GOOD);
    assert_int_equal(prin(f, a, d3, PR_IN_READ_KEYS), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(&f->reply), SENSE_INSUFFICIENT_RESOURCES));
    T->nexus_free(f->st, a);
    /* Registrations outlive the connection: still full. */
    a = host(f, 2);
    assert_int_equal(prin(f, a, d3, PR_IN_READ_KEYS), SCSI_STATUS_CHECK_CONDITION);
    /* Unregistered, and nobody holds it: d2 can go for d3. */
    void *b = host(f, 1);
    assert_int_equal(prout(f, b, d2, PR_OUT_REGISTER, 0, 2, 0), SCSI_STATUS_GOOD);
    T->nexus_free(f->st, b);
    assert_int_equal(prin(f, a, d3, PR_IN_READ_KEYS), SCSI_STATUS_GOOD);
    const char *s = ctl(f, "state");
    assert_non_null(strstr(s, "at most 256 registrations per LUN, 2 LUNs"));
    T->nexus_free(f->st, a);
    free(d1);
    free(d2);
    free(d3);
}

static void test_lun_in_use_is_not_evicted(void **state)
{
    struct stfx *f = *state;
    init_state(f, 0, 1);
    char *d1 = tu_disk(f->dir, "1"), *d2 = tu_disk(f->dir, "2");
    void *a = host(f, 1), *b = host(f, 2);
    /* a used d1 and is still connected: d1 stays, d2 cannot come in. */
    assert_int_equal(prin(f, a, d1, PR_IN_READ_KEYS), SCSI_STATUS_GOOD);
    assert_int_equal(prin(f, b, d2, PR_IN_READ_KEYS), SCSI_STATUS_CHECK_CONDITION);
    T->nexus_free(f->st, a);
    assert_int_equal(prin(f, b, d2, PR_IN_READ_KEYS), SCSI_STATUS_GOOD);
    T->nexus_free(f->st, b);
    free(d1);
    free(d2);
}

/* ---- only disks ---------------------------------------------------------------------- */

static void expect_not_a_lun(struct stfx *f, void *n, int fd)
{
    assert_true(fd >= 0);
    assert_int_equal(prin_fd(f, n, fd, PR_IN_READ_KEYS), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(&f->reply), SENSE_LUN_NOT_SUPPORTED));
    close(fd);
}

static void test_fds_that_are_not_disks_get_lun_not_supported_and_touch_nothing(void **state)
{
    struct stfx *f = *state;
    void *n = host(f, 1);
    int sv[2], p[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    expect_not_a_lun(f, n, sv[0]);
    close(sv[1]);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    expect_not_a_lun(f, n, p[0]);
    assert_int_equal(prout_fd(f, n, p[1], PR_OUT_REGISTER, 0, 0, 1), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(&f->reply), SENSE_LUN_NOT_SUPPORTED));
    close(p[1]);
    expect_not_a_lun(f, n, open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    expect_not_a_lun(f, n, open("/dev/null", O_RDWR | O_CLOEXEC));
    char *disk = tu_disk(f->dir, "d");
    expect_not_a_lun(f, n, open(disk, O_PATH | O_CLOEXEC));
    /* No LUN was made for any of them. */
    assert_non_null(strstr(ctl(f, "state"), "no LUN has been used since the daemon started"));
    assert_int_equal(prin(f, n, disk, PR_IN_READ_KEYS), SCSI_STATUS_GOOD);
    T->nexus_free(f->st, n);
    free(disk);
}

static void test_lun_check_accepts_files_block_and_sg_devices_only(void **state)
{
    (void)state;
    /* why: the words of the refusal (NULL: accepted, or words not checked). */
    static const struct {
        const char *name;
        mode_t mode;
        unsigned major, minor;
        int rc;
        const char *why;
    } rows[] = {
        { "regular file", S_IFREG | 0600, 0, 0, 0, NULL },
        { "block device", S_IFBLK | 0660, 8, 16, 0, NULL },
        { "sg device", S_IFCHR | 0660, 21, 2, 0, NULL },
        { "other character device", S_IFCHR | 0666, 1, 3, -1, "character device 1:3, not an sg device" },
        { "socket", S_IFSOCK, 0, 0, -1, "a socket" },
        { "pipe", S_IFIFO, 0, 0, -1, "a pipe" },
        { "directory", S_IFDIR, 0, 0, -1, "a directory" },
        { "symbolic link", S_IFLNK, 0, 0, -1, NULL },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char why[96] = "";
        struct stat st = { .st_mode = rows[i].mode, .st_rdev = makedev(rows[i].major, rows[i].minor) };
        int rc = prh_sim_lun_check(&st, why, sizeof(why));
        if (rc != rows[i].rc || (rows[i].why && strcmp(why, rows[i].why) != 0))
            fail_msg("%s: %d \"%s\", want %d \"%s\"", rows[i].name, rc, why, rows[i].rc,
                     rows[i].why ? rows[i].why : "");
    }
}

/* ---- state files are read without the table lock ---------------------------------------- */

static struct {
    struct tu_gate g;
    const char *slow; /* LUN name whose load waits */
    struct pr_sim_lun *(*real)(struct sim_state *, struct sim_lun *);
} gate = { TU_GATE_INIT, NULL, NULL };

static struct pr_sim_lun *slow_restore(struct sim_state *st, struct sim_lun *l)
{
    if (strcmp(l->name, gate.slow) == 0)
        tu_gate_pass(&gate.g);
    return gate.real(st, l);
}

struct slow_arg {
    struct stfx *f;
    void *n;
    const char *disk;
    int status;
};

static void *slow_command(void *p)
{
    struct slow_arg *a = p;
    static _Thread_local struct prh_reply r;
    struct prh_request req = { .fd = open(a->disk, O_RDONLY | O_CLOEXEC), .xfer_len = 64 };
    tu_cdb_prin(req.cdb, PR_IN_READ_KEYS, 64);
    prh_transport_execute(T, a->f->st, a->n, &req, &r);
    close(req.fd);
    __atomic_store_n(&a->status, r.status, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_loading_a_lun_state_file_does_not_hold_the_lun_table(void **state)
{
    struct stfx *f = *state;
    char *slow = tu_disk(f->dir, "slow"), *quick = tu_disk(f->dir, "quick");
    char name[64];
    int fd = open(slow, O_RDONLY | O_CLOEXEC);
    prh_lun_id_of_fd(fd, name, sizeof(name));
    close(fd);
    struct sim_state *st = f->st;
    gate.slow = name;
    gate.real = st->restore;
    tu_gate_close(&gate.g);
    st->restore = slow_restore;

    void *a = host(f, 1), *b = host(f, 2);
    struct slow_arg arg = { .f = f, .n = a, .disk = slow, .status = -1 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, slow_command, &arg), 0);
    tu_gate_wait_entered(&gate.g);
    /* The slow LUN is loading: a new LUN can be made and used (within
     * 5 s; under a held table lock it would wait for the load). */
    struct slow_arg qarg = { .f = f, .n = b, .disk = quick, .status = -1 };
    pthread_t qth;
    assert_int_equal(pthread_create(&qth, NULL, slow_command, &qarg), 0);
    long end = tu_now_ms() + 5000;
    while (__atomic_load_n(&qarg.status, __ATOMIC_SEQ_CST) == -1 && tu_now_ms() < end)
        tu_sleep_ms(5);
    bool quick_done = __atomic_load_n(&qarg.status, __ATOMIC_SEQ_CST) == SCSI_STATUS_GOOD;
    if (!quick_done) /* let both finish before failing */
        tu_gate_open(&gate.g);
    pthread_join(qth, NULL);
    assert_true(quick_done);
    assert_int_equal(prout(f, b, quick, PR_OUT_REGISTER, 0, 0, 7), SCSI_STATUS_GOOD);
    char line[100], qname[64];
    fd = open(quick, O_RDONLY | O_CLOEXEC);
    prh_lun_id_of_fd(fd, qname, sizeof(qname));
    close(fd);
    snprintf(line, sizeof(line), "state %s", qname);
    assert_non_null(strstr(ctl(f, line), "registrations: 1"));
    tu_gate_open(&gate.g);
    pthread_join(th, NULL);
    assert_int_equal(arg.status, SCSI_STATUS_GOOD);
    T->nexus_free(f->st, a);
    T->nexus_free(f->st, b);
    free(slow);
    free(quick);
}

#define TT(t) cmocka_unit_test_setup_teardown(t, setup, stfx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TT(test_registration_beyond_the_limit_is_insufficient_resources),
        TT(test_default_limit_is_256_registrations_per_lun),
        TT(test_nexuses_kept_only_for_unit_attentions_are_bounded),
        TT(test_lun_table_full_of_luns_with_state_refuses_a_new_one),
        TT(test_lun_in_use_is_not_evicted),
        TT(test_fds_that_are_not_disks_get_lun_not_supported_and_touch_nothing),
        TT(test_lun_check_accepts_files_block_and_sg_devices_only),
        TT(test_loading_a_lun_state_file_does_not_hold_the_lun_table),
    };
    return cmocka_run_group_tests_name("transport_sim_bounds", tests, NULL, NULL);
}
