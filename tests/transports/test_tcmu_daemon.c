/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tcmu_daemon.c - prhelper-tcmu's core (include/prhelper/tcmu_daemon.h)
 * on a fake sysfs, configfs and /dev (tests/helpers/tcmu_fake_sys.h): discovery,
 * two backstores as two I_T nexuses of one LUN, fencing and unit
 * attentions through the rings, malformed entries, queued commands at
 * start, refused configurations, removal, faults, kernel events, control
 * commands, and the loop itself.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tu_text.h"
#include "sim_helpers.h"
#include "tcmu_fake_sys.h"

#include "prhelper/tcmu_daemon.h"
#include "prhelper/transport_sim.h"

#define CFG_A "prsim/lun0/naa.50014050000000a0@1"
#define CFG_B "prsim/lun0/naa.50014050000000a1@2"
#define SIZE (8ull << 20)

struct fixture {
    struct fake_sys s;
    struct tcmu_daemon *d;
    struct tcmu_daemon_config cfg;
    struct prh_control *control; /* control_of()'s, freed by teardown */
    int loop_stop, loop_rc;      /* loop_thread()'s stop fd and result */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    fs_init(&f->s);
    fs_add(&f->s, 0, "b0", CFG_A, SIZE);
    fs_add(&f->s, 1, "b1", CFG_B, SIZE);
    f->cfg = (struct tcmu_daemon_config){
        .state_dir = f->s.state,
        .sysfs = f->s.sys,
        .configfs = f->s.cfg,
        .devdir = f->s.dev,
        .fake_uio = true,
        .rescan_ms = 20,
    };
    f->d = tcmu_daemon_new(&f->cfg, err, sizeof(err));
    assert_non_null(f->d);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    prh_control_free(f->control);
    tcmu_daemon_free(f->d);
    fs_cleanup(&f->s);
    free(f);
    return 0;
}

static struct fake_answer answer_of(struct fixture *f, unsigned minor, long off)
{
    return fake_read_answer(f->s.map[minor], off);
}

/* Queue, serve, and return the answer of one command. */
static struct fake_answer cmd(struct fixture *f, unsigned minor, const uint8_t *cdb, size_t n,
                              const void *out, size_t len)
{
    long off = fs_cmd(&f->s, minor, cdb, n, out, len);
    tcmu_daemon_service_all(f->d);
    assert_true(fs_answered(&f->s, minor));
    return answer_of(f, minor, off);
}

static struct fake_answer prout(struct fixture *f, unsigned minor, uint8_t sa, uint8_t type,
                                uint64_t rk, uint64_t sark, uint8_t flags)
{
    const uint8_t cdb[10] = { 0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0 };
    uint8_t p[24] = { 0 };
    scsi_put_be64(p, rk);
    scsi_put_be64(p + 8, sark);
    p[20] = flags;
    return cmd(f, minor, cdb, 10, p, sizeof(p));
}

static struct fake_answer write10(struct fixture *f, unsigned minor, uint32_t lba, uint8_t fill)
{
    uint8_t cdb[10] = { 0x2a }, data[512];
    scsi_put_be32(cdb + 2, lba);
    scsi_put_be16(cdb + 7, 1);
    memset(data, fill, sizeof(data));
    return cmd(f, minor, cdb, 10, data, sizeof(data));
}

static struct fake_answer read10(struct fixture *f, unsigned minor, uint32_t lba)
{
    uint8_t cdb[10] = { 0x28 };
    scsi_put_be32(cdb + 2, lba);
    scsi_put_be16(cdb + 7, 1);
    return cmd(f, minor, cdb, 10, NULL, 512);
}

static const uint8_t tur[6] = { 0 };

/* ---- discovery ---------------------------------------------------------------------- */

static void test_scan_serves_our_backstores_and_leaves_others_alone(void **state)
{
    struct fixture *f = *state;
    fs_add(&f->s, 2, "q0", "qcow//run/lab-luns/q0.qcow2", SIZE);
    assert_int_equal(tcmu_daemon_scan(f->d), 2);
    assert_int_equal(tcmu_daemon_device_count(f->d), 2);
    assert_int_equal(tcmu_daemon_lun_count(f->d), 1);
    assert_int_equal(tcmu_daemon_scan(f->d), 0); /* nothing new */
    char path[300];
    snprintf(path, sizeof(path), "%s/lun0.img", f->s.state);
    assert_int_equal(access(path, F_OK), 0);
}

static void test_commands_queued_before_start_are_answered_at_once(void **state)
{
    struct fixture *f = *state;
    long a = fs_cmd(&f->s, 0, tur, 6, NULL, 0);
    long b = fs_cmd(&f->s, 0, tur, 6, NULL, 0);
    assert_int_equal(tcmu_daemon_scan(f->d), 2);
    assert_true(fs_answered(&f->s, 0));
    assert_int_equal(answer_of(f, 0, a).status, 0);
    assert_int_equal(answer_of(f, 0, b).status, 0);
}

/* ---- one LUN, two nexuses -------------------------------------------------------------- */

static void test_data_written_through_one_backstore_is_read_through_the_other(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    assert_int_equal(write10(f, 0, 5, 0x3c).status, 0);
    struct fake_answer a = read10(f, 1, 5);
    assert_int_equal(a.status, 0);
    assert_int_equal(fs_data(&f->s, 1)[0], 0x3c);
    assert_int_equal(fs_data(&f->s, 1)[511], 0x3c);
}

static void test_fenced_backstore_write_gets_reservation_conflict(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    assert_int_equal(prout(f, 0, 0, 0, 0, 0xa, 0).status, 0);
    assert_int_equal(prout(f, 0, 1, 0x01, 0xa, 0, 0).status, 0);
    assert_int_equal(write10(f, 1, 0, 0x11).status, 0x18);
    assert_int_equal(write10(f, 0, 0, 0x22).status, 0);
    assert_int_equal(read10(f, 1, 0).status, 0);
    assert_int_equal(fs_data(&f->s, 1)[0], 0x22);
}

static void test_unit_attention_goes_to_the_preempted_backstore_only(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    prout(f, 0, 0, 0, 0, 0xa, 0);
    prout(f, 1, 0, 0, 0, 0xb, 0);
    prout(f, 0, 1, 0x01, 0xa, 0, 0);
    assert_int_equal(prout(f, 1, 4, 0x01, 0xb, 0xa, 0).status, 0); /* B preempts A */
    assert_int_equal(cmd(f, 1, tur, 6, NULL, 0).status, 0);
    struct fake_answer a = cmd(f, 0, tur, 6, NULL, 0);
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[0], 0x70);
    assert_int_equal(a.sense[2] & 0x0f, 6);
    assert_int_equal(a.sense[12], 0x2a);
    assert_int_equal(a.sense[13], 0x05);
    assert_int_equal(cmd(f, 0, tur, 6, NULL, 0).status, 0);
}

static char *ctl(struct prh_control *c, const char *line, int want);
static struct prh_control *control_of(struct fixture *f, bool scan);

static void assert_ua(struct fake_answer a, uint8_t asc, uint8_t ascq)
{
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[2] & 0x0f, 6);
    assert_int_equal(a.sense[12], asc);
    assert_int_equal(a.sense[13], ascq);
}

/* SPC-4 5.13.11.2: releasing a registrants-only reservation tells the
 * other registrants (RESERVATIONS RELEASED, 2Ah/04h) -- on B's backstore,
 * once, and never on the releaser's. */
static void test_released_unit_attention_goes_to_the_other_registrant_only(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    prout(f, 0, 0, 0, 0, 0xa, 0);
    prout(f, 1, 0, 0, 0, 0xb, 0);
    assert_int_equal(prout(f, 0, 1, 0x05, 0xa, 0, 0).status, 0);
    assert_int_equal(prout(f, 0, 2, 0x05, 0xa, 0, 0).status, 0); /* A releases */
    assert_int_equal(cmd(f, 0, tur, 6, NULL, 0).status, 0);
    assert_ua(cmd(f, 1, tur, 6, NULL, 0), 0x2a, 0x04);
    assert_int_equal(cmd(f, 1, tur, 6, NULL, 0).status, 0);
}

/* After a power cycle every backstore of the LUN reports POWER ON, RESET
 * (29h/00h) once, each on its own next command. */
static void test_power_on_unit_attention_goes_to_every_backstore_once(void **state)
{
    struct fixture *f = *state;
    struct prh_control *c = control_of(f, true);
    cmd(f, 0, tur, 6, NULL, 0);
    cmd(f, 1, tur, 6, NULL, 0);
    free(ctl(c, "power-cycle lun0", 0));
    assert_ua(cmd(f, 0, tur, 6, NULL, 0), 0x29, 0x00);
    assert_int_equal(cmd(f, 0, tur, 6, NULL, 0).status, 0);
    /* A's command did not take B's: B still has its own. */
    assert_ua(cmd(f, 1, tur, 6, NULL, 0), 0x29, 0x00);
    assert_int_equal(cmd(f, 1, tur, 6, NULL, 0).status, 0);
}

static void test_read_full_status_reports_each_backstore_as_its_nexus(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    prout(f, 0, 0, 0, 0, 0x11, 0);
    prout(f, 1, 0, 0, 0, 0x22, 0);
    const uint8_t cdb[10] = { 0x5e, 0x03, 0, 0, 0, 0, 0, 0x10, 0, 0 };
    struct fake_answer a = cmd(f, 1, cdb, 10, NULL, 4096);
    assert_int_equal(a.status, 0);
    assert_int_equal(a.uflags & 0x2, 0x2);
    assert_int_equal(a.read_len, 8 + 2 * 48);
    const uint8_t *d = fs_data(&f->s, 1);
    assert_int_equal(scsi_get_be16(d + 8 + 18), 1);
    assert_int_equal(scsi_get_be16(d + 8 + 48 + 18), 2);
    assert_int_equal(d[8 + 24] & 0x0f, 6); /* SAS TransportID, as tcm_loop's */
    assert_int_equal(scsi_get_be64(d + 8 + 24 + 4), 0x50014050000000a0ull);
    /* Bytes past the answer are zeroed, not left as they were. */
    assert_int_equal(d[200], 0);
}

static void test_inquiry_reports_its_length_and_the_same_serial_on_both(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    const uint8_t inq[6] = { 0x12, 1, 0x80, 0, 255, 0 };
    struct fake_answer a = cmd(f, 0, inq, 6, NULL, 255);
    assert_int_equal(a.read_len, 4 + strlen("prsim-lun0"));
    assert_memory_equal(fs_data(&f->s, 0) + 4, "prsim-lun0", 10);
    cmd(f, 1, inq, 6, NULL, 255);
    assert_memory_equal(fs_data(&f->s, 1) + 4, "prsim-lun0", 10);
}

static void test_unknown_opcode_is_answered_invalid_operation_code(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    const uint8_t c[10] = { 0xc5 };
    struct fake_answer a = cmd(f, 0, c, 10, NULL, 0);
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[2] & 0x0f, 5);
    assert_int_equal(a.sense[12], 0x20);
}

static void test_oversize_and_zero_length_transfers_are_answered(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    uint8_t c[10] = { 0x28 };
    scsi_put_be16(c + 7, 4096); /* inside the LUN, past the maximum transfer length */
    struct fake_answer a = cmd(f, 0, c, 10, NULL, 4096);
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[12], 0x24);
    scsi_put_be16(c + 7, 0);
    a = cmd(f, 0, c, 10, NULL, 0);
    assert_int_equal(a.status, 0);
}

static void test_malformed_entry_is_answered_and_the_ring_goes_on(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    uint8_t *m = f->s.map[0];
    const uint64_t bad[1][2] = { { 0, 64 } }; /* data segment over the mailbox */
    long off = fake_push_cmd(m, 900, tur, 6, bad, 1);
    long next = fs_cmd(&f->s, 0, tur, 6, NULL, 0);
    tcmu_daemon_service_all(f->d);
    struct fake_answer a = answer_of(f, 0, off);
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[2] & 0x0f, 4); /* HARDWARE ERROR */
    assert_int_equal(a.sense[12], 0x44);
    assert_int_equal(answer_of(f, 0, next).status, 0);
}

static void test_broken_ring_stops_that_device_only(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    long off = fs_cmd(&f->s, 0, tur, 6, NULL, 0);
    fake_st32(f->s.map[0], FAKE_MB_SIZE + (size_t)off, FAKE_OP_CMD); /* length 0 */
    tcmu_daemon_service_all(f->d);
    tcmu_daemon_service_all(f->d); /* logged once, no crash, no spin */
    assert_false(fs_answered(&f->s, 0));
    assert_int_equal(cmd(f, 1, tur, 6, NULL, 0).status, 0);
}

static void test_lun_reset_tmr_ends_an_spc2_reservation(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    const uint8_t reserve6[6] = { 0x16 };
    assert_int_equal(cmd(f, 0, reserve6, 6, NULL, 0).status, 0);
    assert_int_equal(write10(f, 1, 0, 1).status, 0x18);
    fake_push_tmr(f->s.map[0], 5, NULL, 0);
    tcmu_daemon_service_all(f->d);
    assert_true(fs_answered(&f->s, 0));
    assert_int_equal(cmd(f, 1, tur, 6, NULL, 0).status, 0x02); /* the reset's unit attention */
    assert_int_equal(write10(f, 1, 0, 1).status, 0);
}

/* SAM-5: a LUN reset gives every I_T nexus a unit attention.  LIO raises
 * it only for the backstore the TMR came through; the LUN's other
 * backstores are other nexuses of the same LUN, so the daemon queues it
 * for them. */
static void test_lun_reset_tmr_gives_the_other_nexuses_a_reset_unit_attention(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    fake_push_tmr(f->s.map[0], 5, NULL, 0);
    tcmu_daemon_service_all(f->d);
    struct fake_answer a = cmd(f, 1, tur, 6, NULL, 0);
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[2] & 0x0f, 6); /* UNIT ATTENTION */
    assert_int_equal(a.sense[12], 0x29);
    assert_int_equal(a.sense[13], 0x03);
    assert_int_equal(cmd(f, 1, tur, 6, NULL, 0).status, 0);
    /* The nexus the reset came through gets LIO's own unit attention. */
    assert_int_equal(cmd(f, 0, tur, 6, NULL, 0).status, 0);
}

/* The same bound as prhelper --transport=sim (transport_sim.h): a LUN
 * holds PRH_SIM_DEFAULT_MAX_REGISTRATIONS registrations unless told
 * otherwise, and the next gets INSUFFICIENT REGISTRATION RESOURCES. */
static void test_a_lun_holds_the_sim_default_number_of_registrations(void **state)
{
    struct fixture *f = *state;
    enum { OTHERS = PRH_SIM_DEFAULT_MAX_REGISTRATIONS - 1 };
    static uint8_t p[28 + OTHERS * 24];
    uint8_t cdb[10] = { 0x5f, 0 };
    tcmu_daemon_scan(f->d);
    /* Nexus A registers itself and, with SPEC_I_PT, OTHERS SAS ports. */
    memset(p, 0, sizeof(p));
    scsi_put_be64(p + 8, 0xa);
    p[20] = PR_OUT_FLAG_SPEC_I_PT;
    scsi_put_be32(p + 24, OTHERS * 24);
    for (unsigned i = 0; i < OTHERS; i++) {
        p[28 + i * 24] = 0x06; /* SAS */
        scsi_put_be64(p + 28 + i * 24 + 4, 0x5001405099000000ull + i);
    }
    scsi_put_be32(cdb + 5, sizeof(p));
    assert_int_equal(cmd(f, 0, cdb, 10, p, sizeof(p)).status, 0);
    struct fake_answer a = prout(f, 1, 0, 0, 0, 0xb, 0);
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[2] & 0x0f, 5);
    assert_int_equal(a.sense[12], 0x55);
    assert_int_equal(a.sense[13], 0x04);
}

/* ---- refused configurations ------------------------------------------------------------ */

static void test_backstore_with_another_size_than_its_lun_is_refused(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    tcmu_daemon_scan(f->d);
    fs_add(&f->s, 2, "b2", "prsim/lun0/naa.50014050000000a2@3", SIZE * 2);
    assert_int_equal(tcmu_daemon_add(f->d, 2, "tcm-user/0/b2/prsim/lun0/naa.50014050000000a2@3",
                                     err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "same dev_size"));
    assert_int_equal(tcmu_daemon_device_count(f->d), 2);
}

static void test_backstore_without_dev_size_is_refused(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    fs_add(&f->s, 2, "b2", "prsim/lun9/naa.50014050000000a2", SIZE);
    fs_set_attrib(&f->s, "b2", "dev_size", "0\n");
    assert_true(tcmu_daemon_add(f->d, 2, "tcm-user/0/b2/prsim/lun9/naa.50014050000000a2", err,
                                sizeof(err)) < 0);
    assert_non_null(strstr(err, "dev_size"));
    assert_int_equal(tcmu_daemon_lun_count(f->d), 0);
}

static void test_backstore_whose_device_is_missing_is_refused(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    assert_true(tcmu_daemon_add(f->d, 7, "tcm-user/0/b7/prsim/lun0/naa.50014050000000a7", err,
                                sizeof(err)) < 0);
    assert_non_null(strstr(err, "uio7"));
}

static void test_malformed_dev_config_of_ours_is_refused(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    assert_int_equal(tcmu_daemon_add(f->d, 0, "tcm-user/0/b0/prsim/lun0/nobody", err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "invalid initiator"));
    assert_int_equal(tcmu_daemon_add(f->d, 0, "tcm-user/0/b0/qcow/x", err, sizeof(err)), 0);
}

static void test_state_directory_must_be_absolute(void **state)
{
    (void)state;
    char err[256] = "";
    struct tcmu_daemon_config c = { .state_dir = "relative" };
    assert_null(tcmu_daemon_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "absolute"));
    c.state_dir = "/tmp";
    c.data_dir = "rel";
    assert_null(tcmu_daemon_new(&c, err, sizeof(err)));
    c.data_dir = NULL;
    c.state_dir = "/proc/nonexistent/x";
    assert_null(tcmu_daemon_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create"));
}

/* ---- removal and events ---------------------------------------------------------------------- */

static void test_removed_backstore_is_released_and_its_lun_closed_with_the_last(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    fs_remove_configfs(&f->s, "b0");
    tcmu_daemon_scan(f->d);
    assert_int_equal(tcmu_daemon_device_count(f->d), 1);
    assert_int_equal(tcmu_daemon_lun_count(f->d), 1);
    assert_int_equal(tcmu_daemon_remove(f->d, 1), 0);
    assert_int_equal(tcmu_daemon_lun_count(f->d), 0);
    assert_int_equal(tcmu_daemon_remove(f->d, 1), -ENOENT);
}

static struct tcmu_nl_event event(int cmd_, unsigned minor, const char *name)
{
    struct tcmu_nl_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.cmd = cmd_;
    ev.minor = minor;
    ev.has_minor = true;
    ev.dev_id = 3;
    ev.has_dev_id = true;
    snprintf(ev.device, sizeof(ev.device), "%s", name);
    return ev;
}

static void test_added_and_removed_events_serve_and_release(void **state)
{
    struct fixture *f = *state;
    struct tcmu_nl_event ev = event(TCMU_NL_ADDED, 0, "tcm-user/0/b0/" CFG_A);
    tcmu_daemon_event(f->d, &ev);
    assert_int_equal(tcmu_daemon_device_count(f->d), 1);
    ev = event(TCMU_NL_ADDED, 5, "tcm-user/0/q/qcow/x");
    tcmu_daemon_event(f->d, &ev);
    assert_int_equal(tcmu_daemon_device_count(f->d), 1);
    ev = event(TCMU_NL_REMOVED, 0, "tcm-user/0/b0/" CFG_A);
    tcmu_daemon_event(f->d, &ev);
    assert_int_equal(tcmu_daemon_device_count(f->d), 0);
    ev = event(TCMU_NL_ADDED, 6, "tcm-user/0/b6/prsim/lun0/naa.50014050000000a6");
    tcmu_daemon_event(f->d, &ev); /* no such device: refused, remembered */
    ev = event(TCMU_NL_REMOVED, 6, "tcm-user/0/b6/prsim/lun0/naa.50014050000000a6");
    tcmu_daemon_event(f->d, &ev);
    assert_int_equal(tcmu_daemon_device_count(f->d), 0);
}

static void test_reconfig_to_another_lun_or_size_is_refused_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    tcmu_daemon_scan(f->d);
    struct tcmu_nl_event ev = event(TCMU_NL_RECONFIG, 0, "tcm-user/0/b0/" CFG_A);
    ev.has_dev_cfg = true;
    snprintf(ev.dev_cfg, sizeof(ev.dev_cfg), "prsim/other/naa.50014050000000a0@1");
    tcmu_daemon_event(f->d, &ev);
    ev.has_dev_cfg = false;
    ev.has_dev_size = true;
    ev.dev_size = SIZE * 4;
    tcmu_daemon_event(f->d, &ev);
    ev.dev_size = SIZE;
    ev.has_write_cache = true;
    tcmu_daemon_event(f->d, &ev);
    assert_int_equal(tcmu_daemon_device_count(f->d), 2);
    assert_int_equal(write10(f, 0, 0, 1).status, 0);
}

/* ---- control commands and faults ---------------------------------------------------------------- */

static char *ctl(struct prh_control *c, const char *line, int want)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    int r = prh_control_dispatch(c, line, getpid(), getuid(), out);
    fclose(out);
    if (r != want)
        fprintf(stderr, "'%s' -> %d: %s\n", line, r, buf);
    assert_int_equal(r, want);
    return buf;
}

/* The control command LINE succeeds and its answer says each string given. */
#define ctl_says(c, line, ...)                                                                     \
    do {                                                                                           \
        char *ctl_out_ = ctl((c), (line), 0);                                                      \
        tu_assert_contains(ctl_out_, __VA_ARGS__);                                                 \
        free(ctl_out_);                                                                            \
    } while (0)

/* Each control command given answers WANT (0: done, -1: refused). */
static void ctl_each(struct prh_control *c, int want, const char *const *lines)
{
    for (; *lines; lines++)
        free(ctl(c, *lines, want));
}
#define ctl_ok(c, ...) ctl_each((c), 0, (const char *const[]){ __VA_ARGS__, NULL })
#define ctl_refused(c, ...) ctl_each((c), -1, (const char *const[]){ __VA_ARGS__, NULL })

/* A control socket's commands for the daemon (after a scan when SCAN);
 * the fixture's teardown frees it. */
static struct prh_control *control_of(struct fixture *f, bool scan)
{
    assert_null(f->control); /* one a test */
    struct prh_control *c = prh_control_new();
    assert_non_null(c);
    assert_int_equal(tcmu_daemon_control_register(f->d, c), 0);
    if (scan)
        tcmu_daemon_scan(f->d);
    f->control = c;
    return c;
}

/* One line per backstore in UIO minor order (the order they were created),
 * whatever order the scan found them in: the tutorial shows this output. */
static void test_control_lists_backstores_in_uio_order(void **state)
{
    struct fixture *f = *state;
    struct prh_control *c = control_of(f, true);
    char *o = ctl(c, "devices", 0);
    char *b0 = strstr(o, "user_0/b0"), *b1 = strstr(o, "user_0/b1");
    assert_non_null(b0);
    assert_non_null(b1);
    assert_true(b0 < b1);
    free(o);
    o = ctl(c, "access lun0", 0);
    b0 = strstr(o, "user_0/b0");
    b1 = strstr(o, "user_0/b1");
    assert_non_null(b0);
    assert_non_null(b1);
    assert_true(b0 < b1);
    free(o);
}

static void test_control_commands_show_devices_state_and_access(void **state)
{
    struct fixture *f = *state;
    struct prh_control *c = control_of(f, false);
    ctl_says(c, "devices", "no backstores");
    ctl_says(c, "state", "no LUN");
    tcmu_daemon_scan(f->d);
    prout(f, 0, 0, 0, 0, 0xa, 0);
    prout(f, 0, 1, 0x03, 0xa, 0, 0);
    ctl_says(c, "devices", "user_0/b0", "user_0/b1");
    ctl_says(c, "devices --json", "\"backstore\":\"user_0/b1\"");
    ctl_says(c, "state", "lun0", "Exclusive Access");
    ctl_says(c, "state lun0", "0xa ", "holder");
    ctl_says(c, "state lun0 --json", "\"key\":\"0xa\"", "\"backstore\":\"user_0/b0\"");
    ctl_says(c, "state --json", "\"backstores\":2");
    /* b0 holds Exclusive Access: it reads and writes, b1 does neither. */
    ctl_says(c, "access lun0", "0xa                yes   yes", "-                  no    no");
    ctl_says(c, "access lun0 --json", "\"read\":false");
    ctl_refused(c, "state nope", "access nope", "access", "state a b", "devices x");
}

static void test_power_cycle_loses_non_aptpl_state_and_reports_power_on(void **state)
{
    struct fixture *f = *state;
    struct prh_control *c = control_of(f, true);
    prout(f, 0, 0, 0, 0, 0xa, 0);
    cmd(f, 1, tur, 6, NULL, 0);
    ctl_says(c, "power-cycle lun0", "PR state lost");
    struct fake_answer a = cmd(f, 1, tur, 6, NULL, 0);
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[12], 0x29);
    ctl_says(c, "power-cycle all --json", "\"registrations\":0");
    ctl_refused(c, "power-cycle nope", "power-cycle");
}

static void test_faults_answer_instead_of_executing_for_matching_commands(void **state)
{
    struct fixture *f = *state;
    struct prh_control *c = control_of(f, true);
    ctl_ok(c, "fault add busy op=write client=user_0/b1 count=2",
           "fault add sense 3/11/00 op=read lun=lun0", "fault add conflict sa=register");
    assert_int_equal(write10(f, 0, 0, 1).status, 0);  /* b0: not the client */
    assert_int_equal(write10(f, 1, 0, 1).status, 0x08);
    assert_int_equal(write10(f, 1, 0, 1).status, 0x08);
    assert_int_equal(write10(f, 1, 0, 1).status, 0); /* spent */
    struct fake_answer a = read10(f, 0, 0);
    assert_int_equal(a.status, 0x02);
    assert_int_equal(a.sense[2] & 0x0f, 3);
    assert_int_equal(prout(f, 0, 0, 0, 0, 0xa, 0).status, 0x18);
    ctl_says(c, "fault list", "no faults");
    ctl_refused(c, "fault add always-wrong", "fault add busy op=zz", "fault add busy sa=nope",
                "fault add busy op=read sa=register", "fault add busy sa=register sa=reserve",
                "fault add busy count=0",
                "fault add busy weird=1", "fault add busy conflict", "fault add", "fault add delay",
                "fault add status 02", "fault add sense 6/29", "fault add busy lun=",
                "fault clear 99", "fault clear x", "fault",
                /* the sim transport's actions: a kernel LUN has no connection to close */
                "fault add close", "fault add close-after sa=register");
    char *why = ctl(c, "fault add close", -1);
    tu_assert_contains(why, "unknown fault action 'close'");
    free(why);
    free(ctl(c, "fault add status 28 count=always", 0));
    ctl_says(c, "fault list --json", "\"remaining\":null");
    assert_int_equal(cmd(f, 0, tur, 6, NULL, 0).status, 0x28);
    ctl_says(c, "fault list", "always; 1 hit");
    ctl_says(c, "fault clear --json", "\"cleared\":1");
}

static void test_delay_fault_holds_the_command_then_runs_it(void **state)
{
    struct fixture *f = *state;
    struct prh_control *c = control_of(f, true);
    free(ctl(c, "fault add delay 150 client=b0", 0));
    long off = fs_cmd(&f->s, 0, tur, 6, NULL, 0);
    tcmu_daemon_service_all(f->d);
    assert_false(fs_answered(&f->s, 0));
    ctl_says(c, "devices", "delayed");
    assert_int_equal(cmd(f, 1, tur, 6, NULL, 0).status, 0); /* the other backstore goes on */
    tu_sleep_ms(200);
    tcmu_daemon_service_all(f->d);
    assert_true(fs_answered(&f->s, 0));
    assert_int_equal(answer_of(f, 0, off).status, 0);
}

/* ---- the loop ------------------------------------------------------------------------------------ */

/* tcmu_daemon_run on the fixture's daemon until loop_stop is readable. */
static void *loop_thread(void *p)
{
    struct fixture *f = p;
    f->loop_rc = tcmu_daemon_run(f->d, f->loop_stop);
    return NULL;
}

static void test_loop_answers_on_events_serves_delays_and_stops(void **state)
{
    struct fixture *f = *state;
    int stop[2];
    pthread_t t;
    assert_int_equal(pipe(stop), 0);
    f->loop_stop = stop[0];
    tcmu_daemon_scan(f->d);
    assert_int_equal(pthread_create(&t, NULL, loop_thread, f), 0);
    fs_cmd(&f->s, 0, tur, 6, NULL, 0);
    fs_kick(&f->s, 0);
    assert_true(fs_wait_answered(&f->s, 0, 5000));
    /* A backstore added later is found by the periodic rescan. */
    fs_add(&f->s, 3, "b3", "prsim/lun1/naa.50014050000000b0", SIZE);
    long off = fs_cmd(&f->s, 3, tur, 6, NULL, 0);
    assert_true(fs_wait_answered(&f->s, 3, 5000));
    assert_int_equal(fake_read_answer(f->s.map[3], off).status, 0);
    /* A delayed command is answered when its time is up, without an event. */
    struct prh_control *c = control_of(f, false);
    free(ctl(c, "fault add delay 100", 0));
    fs_cmd(&f->s, 1, tur, 6, NULL, 0);
    fs_kick(&f->s, 1);
    assert_true(fs_wait_answered(&f->s, 1, 5000));
    /* Removal while running. */
    fs_remove_configfs(&f->s, "b3");
    long end = tu_now_ms() + 5000;
    while (tcmu_daemon_device_count(f->d) != 2 && tu_now_ms() < end)
        tu_sleep_ms(10);
    assert_int_equal(tcmu_daemon_device_count(f->d), 2);
    assert_int_equal(write(stop[1], "x", 1), 1);
    pthread_join(t, NULL);
    assert_int_equal(f->loop_rc, 0);
    close(stop[0]);
    close(stop[1]);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_scan_serves_our_backstores_and_leaves_others_alone),
        T(test_commands_queued_before_start_are_answered_at_once),
        T(test_data_written_through_one_backstore_is_read_through_the_other),
        T(test_fenced_backstore_write_gets_reservation_conflict),
        T(test_unit_attention_goes_to_the_preempted_backstore_only),
        T(test_released_unit_attention_goes_to_the_other_registrant_only),
        T(test_power_on_unit_attention_goes_to_every_backstore_once),
        T(test_read_full_status_reports_each_backstore_as_its_nexus),
        T(test_inquiry_reports_its_length_and_the_same_serial_on_both),
        T(test_unknown_opcode_is_answered_invalid_operation_code),
        T(test_oversize_and_zero_length_transfers_are_answered),
        T(test_malformed_entry_is_answered_and_the_ring_goes_on),
        T(test_broken_ring_stops_that_device_only),
        T(test_lun_reset_tmr_ends_an_spc2_reservation),
        T(test_lun_reset_tmr_gives_the_other_nexuses_a_reset_unit_attention),
        T(test_a_lun_holds_the_sim_default_number_of_registrations),
        T(test_backstore_with_another_size_than_its_lun_is_refused),
        T(test_backstore_without_dev_size_is_refused),
        T(test_backstore_whose_device_is_missing_is_refused),
        T(test_malformed_dev_config_of_ours_is_refused),
        cmocka_unit_test(test_state_directory_must_be_absolute),
        T(test_removed_backstore_is_released_and_its_lun_closed_with_the_last),
        T(test_added_and_removed_events_serve_and_release),
        T(test_reconfig_to_another_lun_or_size_is_refused_and_changes_nothing),
        T(test_control_lists_backstores_in_uio_order),
        T(test_control_commands_show_devices_state_and_access),
        T(test_power_cycle_loses_non_aptpl_state_and_reports_power_on),
        T(test_faults_answer_instead_of_executing_for_matching_commands),
        T(test_delay_fault_holds_the_command_then_runs_it),
        T(test_loop_answers_on_events_serves_delays_and_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
