/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_mpath_semantics.c - the multipath-tools 0.13/0.14 (libmpathpersist)
 * rules on a map (issue #14 item 4) and multipathd kept informed (item
 * 5), over the fake path layer of mpath_fixture.h and fake_multipathd.h.
 */
#include "prh_test_util.h" /* before mpath_fixture.h's global reply */
#include "fake_multipathd.h"
#include "mpath_fixture.h"

static int index_of(int path, uint8_t opcode, uint8_t sa, uint64_t sark, bool any_sark)
{
    for (int i = 0; i < fk.ncalls; i++)
        if (fk.calls[i].path == path && fk.calls[i].opcode == opcode &&
            fk.calls[i].sa == sa && (any_sark || fk.calls[i].sark == sark))
            return i;
    return -1;
}

static int index_of_path(int path)
{
    for (int i = 0; i < fk.ncalls; i++)
        if (fk.calls[i].path == path)
            return i;
    return -1;
}

/* ---- self-preempt and all-registrants preempt ------------------------ */

static void test_self_preempt_suspends_reregisters_every_path_and_resumes(void **state)
{
    (void)state;
    add_path("sdd", 48);
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.ncalls = 0;
    /* QEMU 11 sends this on the destination of a live migration. */
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0xa, 0xa), SCSI_STATUS_GOOD);
    int susp = index_of_path(-2), pre = index_of(0, 0x5f, PR_OUT_PREEMPT, 0, true);
    int reg1 = index_of(1, 0x5f, PR_OUT_REGISTER_AND_IGNORE, 0xa, false);
    int reg2 = index_of(2, 0x5f, PR_OUT_REGISTER_AND_IGNORE, 0xa, false);
    int res = index_of_path(-3);
    assert_true(susp >= 0 && susp < pre && pre < reg1 && reg1 < reg2 && reg2 < res);
    assert_int_equal(count_key(0xa), 3);
    struct pr_sim_nexus z = other_host();
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_WE_RO);
}

static void test_self_preempt_under_sg_reregisters_without_suspend(void **state)
{
    (void)state;
    teardown(NULL);
    fixture_start(&prh_transport_sg, NULL);
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_WE, 0xa, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(index_of_path(-2), -1);
    assert_int_equal(count_key(0xa), 2);
}

static void test_self_preempt_goes_on_when_the_map_cannot_be_suspended(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.suspend_err = EPERM;
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_WE, 0xa, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(index_of_path(-3), -1); /* nothing to resume */
    assert_int_equal(count_key(0xa), 2);
}

static void test_self_preempt_failing_resumes_the_map(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_NONE, 0, SENSE_NONE); /* READ RESERVATION */
    inject(0, INJ_SENSE, 0, SENSE_INVALID_FIELD_IN_CDB);
    prout(PR_OUT_PREEMPT, PR_TYPE_WE, 0xa, 0xa);
    assert_reply_sense(SENSE_INVALID_FIELD_IN_CDB);
    assert_true(index_of_path(-3) > index_of_path(-2));
    assert_int_equal(count_key(0xa), 2);
}

static void test_self_preempt_without_reservation_leaves_host_unregistered(void **state)
{
    (void)state;
    /* SPC-4: with no reservation held by the key, PREEMPT removes every
     * registration with it, the sender's included.  A one-path host is
     * then unregistered; so is the map (no error, nothing re-registered). */
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_WE, 0xa, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xa), 0);
    assert_int_equal(registrations_sent(1, 0xa), 0);
    assert_map_key_gone();
}

static void test_all_registrants_preempt_reregisters_every_path(void **state)
{
    (void)state;
    register_both(0xa);
    struct pr_sim_nexus z = other_host();
    assert_good(th_register(fk.lun, &z, 0, 0xf));
    assert_good(th_reserve(fk.lun, &z, 0xf, PR_TYPE_WE_AR));
    fk.ncalls = 0;
    /* PREEMPT with service action key 0 of an all-registrants
     * reservation removes every other registration, ours too. */
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xa), 2);
    assert_int_equal(count_key(0xf), 0);
    assert_true(index_of_path(-2) >= 0);
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_WE_RO);
    assert_true(map_status().holding);
}

/* ---- RESERVE and RELEASE --------------------------------------------------- */

static void test_reserve_held_by_failed_path_succeeds(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = false; /* the holder's path fails */
    fk.ncalls = 0;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 1);
    assert_int_equal(calls_of(1, PR_IN_READ_RESERVATION, 0x5e), 1);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_EA, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
}

static void test_reserve_any_path_succeeding_is_good(void **state)
{
    (void)state;
    add_path("sdd", 48);
    register_both(0xa);
    fk.paths[0].running = fk.paths[1].running = false;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD); /* via sdd */
    fk.paths[0].running = fk.paths[1].running = true;
    fk.ncalls = 0;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(2, PR_OUT_RESERVE, 0x5f), 1);
    assert_int_equal(calls_of(0, PR_IN_READ_RESERVATION, 0x5e) +
                         calls_of(1, PR_IN_READ_RESERVATION, 0x5e) +
                         calls_of(2, PR_IN_READ_RESERVATION, 0x5e),
                     0);
}

static void test_release_with_failed_holder_path_and_other_type_conflicts(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = false;
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_EA, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    struct pr_sim_nexus z = other_host();
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_WE);
    assert_int_equal(calls_of(1, PR_OUT_PREEMPT, 0x5f), 0);
}

static void test_release_with_failed_holder_path_suspends_map(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = false;
    fk.ncalls = 0;
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    int susp = index_of_path(-2), pre = index_of(1, 0x5f, PR_OUT_PREEMPT, 0, true);
    int rel = index_of(1, 0x5f, PR_OUT_RELEASE, 0, true), res = index_of_path(-3);
    /* RELEASE first goes to the live path (GOOD, not the holder). */
    assert_true(rel >= 0 && rel < susp && susp < pre && pre < res);
    struct pr_sim_nexus z = other_host();
    th_expect_no_reservation(fk.lun, &z);
}

/* ---- unregister while holding -------------------------------------------- */

static void test_unregister_while_holding_releases_first(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    fk.ncalls = 0;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0), SCSI_STATUS_GOOD);
    int rel = index_of(0, 0x5f, PR_OUT_RELEASE, 0, true);
    int unreg = index_of(0, 0x5f, PR_OUT_REGISTER, 0, false);
    assert_true(rel >= 0 && rel < unreg);
    struct pr_sim_nexus z = other_host();
    th_expect_no_reservation(fk.lun, &z);
    assert_int_equal(array_keys().count, 0);
}

static void test_unregister_while_holder_path_is_down_releases_and_unregisters(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = false;
    assert_int_equal(prout(PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0), SCSI_STATUS_GOOD);
    struct pr_sim_nexus z = other_host();
    th_expect_no_reservation(fk.lun, &z);
    /* The holder's stale registration went with the self-preempt. */
    assert_int_equal(array_keys().count, 0);
    assert_map_key_gone();
    assert_false(map_status().holding);
    /* Nothing is given back to the holder's path when it returns. */
    fk.paths[0].running = true;
    fk.ncalls = 0;
    prin(PR_IN_READ_KEYS, 64);
    assert_int_equal(registrations_sent(0, 0xa), 0);
}

/* ---- REGISTER and failover --------------------------------------------------- */

static void test_register_conflict_on_first_path_completed_when_another_took_it(void **state)
{
    (void)state;
    /* sdb still carries 0x5 from before (we never saw it), sdc 0xa. */
    paths_carry(0x5, 0xa);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0xb), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_OUT_REGISTER, 0x5f), 1);
    assert_int_equal(registrations_sent(0, 0xb), 1);
    assert_int_equal(count_key(0xb), 2);
}

static void test_pr_out_fails_over_on_not_ready(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_SENSE, 0, SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x00));
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 1);
    struct prh_mpath_path_status st = path_status(0, NULL);
    assert_int_equal(st.last_error, -EIO);
}

static void test_not_ready_in_progress_is_retried_on_the_same_path(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_SENSE, 0, SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x07));
    inject(0, INJ_SENSE, 0, SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x07));
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_OUT_RESERVE, 0x5f), 3);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 0);
}

static void test_preempt_and_abort_of_other_host_and_of_self(void **state)
{
    (void)state;
    /* PREEMPT AND ABORT hangs LIO in the lab: the simulator only. */
    register_both(0xa);
    struct pr_sim_nexus z = other_host();
    assert_good(th_register(fk.lun, &z, 0, 0xf));
    assert_int_equal(prout(PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_EA, 0xa, 0xf), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xf), 0);
    assert_int_equal(count_key(0xa), 2);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_EA, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout(PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_WE, 0xa, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xa), 2);
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_WE);
}

/* ---- multipathd kept informed ------------------------------------------------- */

static struct fake_mpathd fmd;

static int setup_mpathd(void **state)
{
    (void)state;
    fmd_start_in_tmpdir(&fmd);
    struct prh_transport_options o = { .multipathd_socket = fmd.path };
    fixture_start(&prh_transport_mpath, &o);
    return 0;
}

static int teardown_mpathd(void **state)
{
    teardown(state);
    fmd_stop(&fmd);
    return 0;
}

static void test_multipathd_told_key_status_and_hold(void **state)
{
    (void)state;
    register_both(0xa);
    assert_true(fmd_find(&fmd, "setprkey map dm-0 key 0xa") >= 0);
    assert_true(fmd_find(&fmd, "setprstatus map dm-0 pathlist \"8:16 8:32\"") >= 0);
    assert_true(fmd_find(&fmd, "setprkey") < fmd_find(&fmd, "setprstatus"));
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_true(fmd_find(&fmd, "setprhold map dm-0") >= 0);
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_true(fmd_find(&fmd, "unsetprhold map dm-0") >= 0);
    assert_int_equal(prout(PR_OUT_CLEAR, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_true(fmd_find(&fmd, "unsetprstatus map dm-0") >= 0);
    assert_true(fmd_find(&fmd, "unsetprkey map dm-0") >= 0);
}

static void test_multipathd_key_restored_when_register_fails(void **state)
{
    (void)state;
    register_both(0xa);
    fmd_clear(&fmd);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0x99, 0xb), SCSI_STATUS_RESERVATION_CONFLICT);
    int set = fmd_find(&fmd, "setprkey map dm-0 key 0xb");
    int back = fmd_find(&fmd, "setprkey map dm-0 key 0xa");
    assert_true(set >= 0 && back > set);
    assert_int_equal(fmd_find(&fmd, "setprstatus"), -1);
}

static void test_multipathd_older_version_still_works(void **state)
{
    (void)state;
    fmd.knows_hold = fmd.knows_pathlist = false;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_true(fmd_find(&fmd, "setprstatus map dm-0") >= 0);
    struct pr_sim_nexus z = other_host();
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_WE);
}

static void test_multipathd_absent_changes_nothing(void **state)
{
    (void)state;
    teardown(NULL);
    struct prh_transport_options o = { .multipathd_socket = "/nonexistent/multipathd.sock" };
    fixture_start(&prh_transport_mpath, &o);
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout(PR_OUT_CLEAR, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 0);
}

int main(void)
{
#define M(f) cmocka_unit_test_setup_teardown(f, setup_mpathd, teardown_mpathd)
    const struct CMUnitTest tests[] = {
        T(test_self_preempt_suspends_reregisters_every_path_and_resumes),
        T(test_self_preempt_under_sg_reregisters_without_suspend),
        T(test_self_preempt_goes_on_when_the_map_cannot_be_suspended),
        T(test_self_preempt_failing_resumes_the_map),
        T(test_self_preempt_without_reservation_leaves_host_unregistered),
        T(test_all_registrants_preempt_reregisters_every_path),
        T(test_reserve_held_by_failed_path_succeeds),
        T(test_reserve_any_path_succeeding_is_good),
        T(test_release_with_failed_holder_path_and_other_type_conflicts),
        T(test_release_with_failed_holder_path_suspends_map),
        T(test_unregister_while_holding_releases_first),
        T(test_unregister_while_holder_path_is_down_releases_and_unregisters),
        T(test_register_conflict_on_first_path_completed_when_another_took_it),
        T(test_pr_out_fails_over_on_not_ready),
        T(test_not_ready_in_progress_is_retried_on_the_same_path),
        T(test_preempt_and_abort_of_other_host_and_of_self),
        M(test_multipathd_told_key_status_and_hold),
        M(test_multipathd_key_restored_when_register_fails),
        M(test_multipathd_older_version_still_works),
        T(test_multipathd_absent_changes_nothing),
    };
    return cmocka_run_group_tests_name("mpath.semantics", tests, NULL, NULL);
}
