/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_inspect.c - the simulator's read-only views used by state
 * inspection (prhelper-cli ctl state): known nexuses and their pending
 * unit attentions.
 */
#include "sim_helpers.h"

static void test_nexus_at_lists_every_known_nexus_and_stops(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2), seen;
    bool saw_a = false, saw_b = false;

    assert_false(pr_sim_nexus_at(lun, 0, &seen));
    th_register(lun, &a, 0, 0xa);
    th_clear_ua(lun, &b);
    for (size_t i = 0; pr_sim_nexus_at(lun, i, &seen); i++) {
        saw_a |= pr_tid_equal(&seen.initiator, &a.initiator) && seen.rtpi == 1;
        saw_b |= pr_tid_equal(&seen.initiator, &b.initiator) && seen.rtpi == 2;
        assert_true(i < 2);
    }
    assert_true(saw_a && saw_b);
    pr_sim_lun_free(lun);
}

static void test_nexus_count_follows_known_nexuses(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);

    assert_int_equal(pr_sim_nexus_count(lun), 0);
    th_register(lun, &a, 0, 0xa);
    assert_int_equal(pr_sim_nexus_count(lun), 1);
    assert_int_equal(pr_sim_queue_ua(lun, &b, SENSE_UA_POWER_ON_RESET), 0);
    assert_int_equal(pr_sim_nexus_count(lun), 2);
    /* Forgotten with its unit attention: only the registered one stays. */
    pr_sim_nexus_forget(lun, &b);
    pr_sim_nexus_forget(lun, &a);
    assert_int_equal(pr_sim_nexus_count(lun), 1);
    pr_sim_lun_free(lun);
}

static void test_pending_ua_at_reports_oldest_first_then_nothing(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), unknown = th_nexus('C', 1);
    struct scsi_sense s;

    assert_int_equal(pr_sim_queue_ua(lun, &a, SENSE_UA_POWER_ON_RESET), 0);
    assert_int_equal(pr_sim_queue_ua(lun, &a, SENSE_UA_RESERVATIONS_PREEMPTED), 0);
    assert_true(pr_sim_pending_ua_at(lun, &a, 0, &s));
    assert_true(scsi_sense_equal(s, SENSE_UA_POWER_ON_RESET));
    assert_true(pr_sim_pending_ua_at(lun, &a, 1, &s));
    assert_true(scsi_sense_equal(s, SENSE_UA_RESERVATIONS_PREEMPTED));
    assert_false(pr_sim_pending_ua_at(lun, &a, 2, &s));
    assert_false(pr_sim_pending_ua_at(lun, &unknown, 0, &s));
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nexus_at_lists_every_known_nexus_and_stops),
        cmocka_unit_test(test_nexus_count_follows_known_nexuses),
        cmocka_unit_test(test_pending_ua_at_reports_oldest_first_then_nothing),
    };
    return cmocka_run_group_tests_name("pr_sim.inspect", tests, NULL, NULL);
}
