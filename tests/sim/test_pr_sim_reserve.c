/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_reserve.c - RESERVE and RELEASE (SPC-4 5.14.9, 5.14.11.2;
 * pr-semantics.md 3.5, 3.6), one test per rule, with the LIO deviations
 * D5, D7, D8 and D15.
 */
#include <string.h>

#include "sim_helpers.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull

static const unsigned all_types[] = { PR_TYPE_WE, PR_TYPE_EA, PR_TYPE_WE_RO,
                                      PR_TYPE_EA_RO, PR_TYPE_WE_AR, PR_TYPE_EA_AR };

static void test_reserve_each_type_and_read_it_back(void **state)
{
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
        struct pr_sim_nexus a = th_nexus('A', 1);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_reserve(lun, &a, K1, all_types[i]));
        th_expect_reservation(lun, &a, pr_type_is_all_registrants(all_types[i]) ? 0 : K1,
                              all_types[i]);
        /* RESERVE does not change PRgeneration. */
        th_expect_keys(lun, &a, 1, 1, K1);
        pr_sim_lun_free(lun);
    }
}

static void test_reserve_from_unregistered_nexus_conflicts(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_conflict(th_reserve(lun, &a, 0, PR_TYPE_WE));
    th_expect_no_reservation(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_lio_d8_reserve_release_clear_move_from_unregistered_not_ready(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_check(th_reserve(lun, &a, 0, PR_TYPE_WE), SENSE_LUN_COMM_FAILURE);
    assert_check(th_release(lun, &a, 0, PR_TYPE_WE), SENSE_LUN_COMM_FAILURE);
    assert_check(th_clear(lun, &a, 0), SENSE_LUN_COMM_FAILURE);
    assert_check(th_prout(lun, &a, PR_OUT_REGISTER_AND_MOVE, 0, 0, K1, 0),
                 SENSE_LUN_COMM_FAILURE);
    /* PREEMPT stays a conflict in LIO too. */
    assert_conflict(th_preempt(lun, &a, 0, K1, PR_TYPE_WE, false));
    pr_sim_lun_free(lun);
}

static void test_reserve_with_wrong_key_conflicts(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_conflict(th_reserve(lun, &a, K2, PR_TYPE_WE));
    th_expect_no_reservation(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_reserve_invalid_type_is_invalid_field_in_cdb(void **state)
{
    for (unsigned type = 0; type < 16; type++) {
        if (pr_type_is_valid(type))
            continue;
        struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
        struct pr_sim_nexus a = th_nexus('A', 1);
        assert_good(th_register(lun, &a, 0, K1));
        assert_check(th_reserve(lun, &a, K1, type), SENSE_INVALID_FIELD_IN_CDB);
        th_expect_no_reservation(lun, &a);
        pr_sim_lun_free(lun);
    }
}

static void test_lio_reserve_checks_type_before_registration(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_check(th_reserve(lun, &a, 0, 2), SENSE_INVALID_FIELD_IN_CDB);
    pr_sim_lun_free(lun);
}

static void test_reserve_scope_not_lu_is_invalid_field_in_cdb(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_check(th_prout(lun, &a, PR_OUT_RESERVE, 0x10 | PR_TYPE_WE, K1, 0, 0),
                 SENSE_INVALID_FIELD_IN_CDB);
    th_expect_no_reservation(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_lio_d5_reserve_scope_is_invalid_field_in_parameter_list(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_check(th_prout(lun, &a, PR_OUT_RESERVE, 0x20 | PR_TYPE_WE, K1, 0, 0),
                 SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_no_reservation(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_reserve_by_holder_with_same_type_is_good_noop(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    pr_sim_lun_free(lun);
}

static void test_reserve_by_holder_with_other_type_conflicts(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    assert_conflict(th_reserve(lun, &a, K1, PR_TYPE_WE));
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    pr_sim_lun_free(lun);
}

static void test_reserve_by_registered_non_holder_conflicts(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE_RO));
    assert_conflict(th_reserve(lun, &b, K2, PR_TYPE_WE_RO));
    th_expect_reservation(lun, &b, K1, PR_TYPE_WE_RO);
    pr_sim_lun_free(lun);
}

static void test_reserve_all_registrants_by_second_registrant_same_type_is_good(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE_AR));
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_AR));
    assert_conflict(th_reserve(lun, &b, K2, PR_TYPE_EA_AR));
    th_expect_reservation(lun, &b, 0, PR_TYPE_WE_AR);
    pr_sim_lun_free(lun);
}

static void test_release_by_holder_ends_reservation_keeps_registrations(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    assert_good(th_release(lun, &a, K1, PR_TYPE_EA));
    th_expect_no_reservation(lun, &a);
    th_expect_keys(lun, &a, 2, 2, K1, K2);
    /* WE and EA releases establish no unit attention. */
    th_expect_no_ua(lun, &b);
    pr_sim_lun_free(lun);
}

static void test_release_of_registrants_types_sends_reservations_released(void **state)
{
    const unsigned types[] = { PR_TYPE_WE_RO, PR_TYPE_EA_RO, PR_TYPE_WE_AR, PR_TYPE_EA_AR };
    for (size_t i = 0; i < 4; i++) {
        struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_register(lun, &b, 0, K2));
        assert_good(th_reserve(lun, &a, K1, types[i]));
        assert_good(th_release(lun, &a, K1, types[i]));
        th_expect_ua(lun, &b, SENSE_UA_RESERVATIONS_RELEASED);
        th_expect_no_ua(lun, &a);
        /* An unregistered nexus is not told. */
        th_expect_no_ua(lun, &c);
        pr_sim_lun_free(lun);
    }
}

static void test_release_all_registrants_by_any_registrant(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA_AR));
    assert_good(th_release(lun, &b, K2, PR_TYPE_EA_AR));
    th_expect_no_reservation(lun, &b);
    th_expect_ua(lun, &a, SENSE_UA_RESERVATIONS_RELEASED);
    pr_sim_lun_free(lun);
}

static void test_release_by_registered_non_holder_is_good_noop(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE_RO));
    assert_good(th_release(lun, &b, K2, PR_TYPE_WE_RO));
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE_RO);
    th_expect_no_ua(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_release_with_no_reservation_is_good_noop(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_release(lun, &a, K1, PR_TYPE_WE));
    th_expect_keys(lun, &a, 1, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_release_with_wrong_key_conflicts(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_conflict(th_release(lun, &a, K3, PR_TYPE_WE)); /* no reservation */
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    assert_conflict(th_release(lun, &a, K3, PR_TYPE_WE)); /* holder */
    assert_conflict(th_release(lun, &b, K3, PR_TYPE_WE)); /* non-holder */
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE);
    pr_sim_lun_free(lun);
}

static void test_lio_d7_release_non_holder_with_wrong_key_is_good(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_release(lun, &a, K3, PR_TYPE_WE)); /* no reservation */
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    assert_good(th_release(lun, &b, K3, PR_TYPE_WE)); /* non-holder */
    assert_conflict(th_release(lun, &a, K3, PR_TYPE_WE)); /* the holder is checked */
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE);
    pr_sim_lun_free(lun);
}

static void test_release_by_holder_with_other_type_is_invalid_release(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    assert_check(th_release(lun, &a, K1, PR_TYPE_WE), SENSE_INVALID_RELEASE);
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    pr_sim_lun_free(lun);
}

static void test_lio_d15_release_type_mismatch_conflicts(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    assert_conflict(th_release(lun, &a, K1, PR_TYPE_WE));
    /* D5: a scope LIO does not check becomes a mismatch too. */
    assert_conflict(th_prout(lun, &a, PR_OUT_RELEASE, 0x10 | PR_TYPE_EA, K1, 0, 0));
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    pr_sim_lun_free(lun);
}

static void test_release_scope_not_lu_is_invalid_field_in_cdb(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    assert_check(th_prout(lun, &a, PR_OUT_RELEASE, 0x10 | PR_TYPE_EA, K1, 0, 0),
                 SENSE_INVALID_FIELD_IN_CDB);
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    pr_sim_lun_free(lun);
}

static void test_release_from_unregistered_nexus_conflicts(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_conflict(th_release(lun, &b, 0, PR_TYPE_WE));
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    assert_conflict(th_release(lun, &b, 0, PR_TYPE_WE));
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE);
    pr_sim_lun_free(lun);
}

static void test_replace_lost_reservation_is_not_supported(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_check(th_prout(lun, &a, PR_OUT_REPLACE_LOST_RESERVATION, PR_TYPE_WE, 0, K1, 0),
                 SENSE_INVALID_FIELD_IN_CDB);
    for (uint8_t sa = 9; sa < 0x20; sa++)
        assert_check(th_prout(lun, &a, sa, 0, 0, K1, 0), SENSE_INVALID_FIELD_IN_CDB);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_reserved_service_action_judged_before_list_length_in_spc4(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, 0x09, 0, 0, 0, 0, 0, 0, 0, 0 };
    assert_check(th_prout_raw(lun, &a, cdb, NULL, 0), SENSE_INVALID_FIELD_IN_CDB);
    pr_sim_lun_free(lun);
}

static void test_lio_reads_list_length_before_service_action(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, 0x09, 0, 0, 0, 0, 0, 0, 0, 0 };
    assert_check(th_prout_raw(lun, &a, cdb, NULL, 0), SENSE_PARAM_LIST_LENGTH_ERROR);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_reserve_each_type_and_read_it_back),
        cmocka_unit_test(test_reserve_from_unregistered_nexus_conflicts),
        cmocka_unit_test(test_lio_d8_reserve_release_clear_move_from_unregistered_not_ready),
        TH_BOTH(test_reserve_with_wrong_key_conflicts),
        TH_BOTH(test_reserve_invalid_type_is_invalid_field_in_cdb),
        cmocka_unit_test(test_lio_reserve_checks_type_before_registration),
        cmocka_unit_test(test_reserve_scope_not_lu_is_invalid_field_in_cdb),
        cmocka_unit_test(test_lio_d5_reserve_scope_is_invalid_field_in_parameter_list),
        TH_BOTH(test_reserve_by_holder_with_same_type_is_good_noop),
        TH_BOTH(test_reserve_by_holder_with_other_type_conflicts),
        TH_BOTH(test_reserve_by_registered_non_holder_conflicts),
        TH_BOTH(test_reserve_all_registrants_by_second_registrant_same_type_is_good),
        TH_BOTH(test_release_by_holder_ends_reservation_keeps_registrations),
        TH_BOTH(test_release_of_registrants_types_sends_reservations_released),
        TH_BOTH(test_release_all_registrants_by_any_registrant),
        TH_BOTH(test_release_by_registered_non_holder_is_good_noop),
        TH_BOTH(test_release_with_no_reservation_is_good_noop),
        cmocka_unit_test(test_release_with_wrong_key_conflicts),
        cmocka_unit_test(test_lio_d7_release_non_holder_with_wrong_key_is_good),
        cmocka_unit_test(test_release_by_holder_with_other_type_is_invalid_release),
        cmocka_unit_test(test_lio_d15_release_type_mismatch_conflicts),
        cmocka_unit_test(test_release_scope_not_lu_is_invalid_field_in_cdb),
        cmocka_unit_test(test_release_from_unregistered_nexus_conflicts),
        TH_BOTH(test_replace_lost_reservation_is_not_supported),
        cmocka_unit_test(test_reserved_service_action_judged_before_list_length_in_spc4),
        cmocka_unit_test(test_lio_reads_list_length_before_service_action),
    };
    return cmocka_run_group_tests_name("pr_sim.reserve", tests, NULL, NULL);
}
