/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_reserve.c - RESERVE and RELEASE (SPC-4 5.14.9, 5.14.11.2;
 * pr-semantics.md 3.5, 3.6) as a table, one row per rule, with the LIO
 * deviations D5, D7, D8 and D15.
 */
#include <string.h>

#include "sim_table.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull

#define A_REGISTERED { REGISTER("A1", 0, K1) }
#define A_AND_B_REGISTERED { REGISTER("A1", 0, K1) }, { REGISTER("B1", 0, K2) }

/* RESERVE of each type: read back (key 0 for all-registrants), no
 * PRgeneration change. */
#define RESERVE_TYPE(name_, type_, key_)                                                         \
    { .name = (name_), .clause = "SPC-4 5.14.9", .profiles = TH_BOTH,                           \
      .given = { A_REGISTERED }, .when = { RESERVE("A1", K1, (type_)) },                         \
      .keys = KEYS(1, 1, K1), .reservation = RESERVATION((key_), (type_)) }
/* Types 0, 2, 4, 9-Fh do not exist (SPC-4 6.15.3.4 table 171). */
#define INVALID_TYPE(name_, type_)                                                               \
    { .name = (name_), .clause = "SPC-4 6.15.3.4", .profiles = TH_BOTH,                         \
      .given = { A_REGISTERED },                                                                 \
      .when = { RESERVE("A1", K1, (type_)), .expect = INVALID_FIELD_IN_CDB },                    \
      .reservation = NO_RESERVATION }
/* RELEASE of a registrants-only or all-registrants reservation tells the
 * other registrants, not the holder, not the unregistered. */
#define RELEASE_TELLS_REGISTRANTS(name_, type_)                                                  \
    { .name = (name_), .clause = "SPC-4 5.14.11.2.2", .profiles = TH_BOTH,                      \
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, (type_)) } },                           \
      .when = { RELEASE("A1", K1, (type_)) },                                                    \
      .uas = { { "B1", UA_RESERVATIONS_RELEASED }, { "A1", NO_UA }, { "C1", NO_UA } } }

static const struct th_row rules[] = {
    /* RESERVE (pr-semantics 3.5). */
    RESERVE_TYPE("reserve_we_and_read_it_back", PR_TYPE_WE, K1),
    RESERVE_TYPE("reserve_ea_and_read_it_back", PR_TYPE_EA, K1),
    RESERVE_TYPE("reserve_we_ro_and_read_it_back", PR_TYPE_WE_RO, K1),
    RESERVE_TYPE("reserve_ea_ro_and_read_it_back", PR_TYPE_EA_RO, K1),
    RESERVE_TYPE("reserve_we_ar_and_read_it_back_with_key_0", PR_TYPE_WE_AR, 0),
    RESERVE_TYPE("reserve_ea_ar_and_read_it_back_with_key_0", PR_TYPE_EA_AR, 0),
    { .name = "reserve_from_unregistered_nexus_conflicts", .clause = "SPC-4 5.14.9",
      .when = { RESERVE("A1", 0, PR_TYPE_WE), .expect = CONFLICT },
      .reservation = NO_RESERVATION },
    { .name = "reserve_with_wrong_key_conflicts", .clause = "SPC-4 5.14.9", .profiles = TH_BOTH,
      .given = { A_REGISTERED }, .when = { RESERVE("A1", K2, PR_TYPE_WE), .expect = CONFLICT },
      .reservation = NO_RESERVATION },
    INVALID_TYPE("reserve_type_0_is_invalid_field_in_cdb", 0x0),
    INVALID_TYPE("reserve_type_2_is_invalid_field_in_cdb", 0x2),
    INVALID_TYPE("reserve_type_4_is_invalid_field_in_cdb", 0x4),
    INVALID_TYPE("reserve_type_9_is_invalid_field_in_cdb", 0x9),
    INVALID_TYPE("reserve_type_ah_is_invalid_field_in_cdb", 0xa),
    INVALID_TYPE("reserve_type_bh_is_invalid_field_in_cdb", 0xb),
    INVALID_TYPE("reserve_type_ch_is_invalid_field_in_cdb", 0xc),
    INVALID_TYPE("reserve_type_dh_is_invalid_field_in_cdb", 0xd),
    INVALID_TYPE("reserve_type_eh_is_invalid_field_in_cdb", 0xe),
    INVALID_TYPE("reserve_type_fh_is_invalid_field_in_cdb", 0xf),
    { .name = "lio_reserve_checks_type_before_registration", .clause = "pr-semantics 3.3 (LIO)", .profiles = TH_LIO,
      .when = { RESERVE("A1", 0, 0x2), .expect = INVALID_FIELD_IN_CDB } },
    { .name = "reserve_scope_not_lu_is_invalid_field_in_cdb", .clause = "SPC-4 6.15.3.4",
      .given = { A_REGISTERED }, .when = { RESERVE("A1", K1, 0x10 | PR_TYPE_WE), .expect = INVALID_FIELD_IN_CDB },
      .reservation = NO_RESERVATION },
    { .name = "lio_d5_reserve_scope_is_invalid_field_in_parameter_list", .clause = "D5", .profiles = TH_LIO,
      .given = { A_REGISTERED }, .when = { RESERVE("A1", K1, 0x20 | PR_TYPE_WE), .expect = INVALID_FIELD_IN_PARAM },
      .reservation = NO_RESERVATION },
    { .name = "reserve_by_holder_with_same_type_is_good_noop", .clause = "SPC-4 5.14.9", .profiles = TH_BOTH,
      .given = { A_REGISTERED, { RESERVE("A1", K1, PR_TYPE_EA) } }, .when = { RESERVE("A1", K1, PR_TYPE_EA) },
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "reserve_by_holder_with_other_type_conflicts", .clause = "SPC-4 5.14.9", .profiles = TH_BOTH,
      .given = { A_REGISTERED, { RESERVE("A1", K1, PR_TYPE_EA) } },
      .when = { RESERVE("A1", K1, PR_TYPE_WE), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "reserve_by_registered_non_holder_conflicts", .clause = "SPC-4 5.14.9", .profiles = TH_BOTH,
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE_RO) } },
      .when = { RESERVE("B1", K2, PR_TYPE_WE_RO), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "reserve_all_registrants_by_second_registrant_same_type_is_good", .clause = "SPC-4 5.14.9",
      .profiles = TH_BOTH,
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE_AR) } },
      .when = { RESERVE("B1", K2, PR_TYPE_WE_AR) },
      .reservation = RESERVATION(0, PR_TYPE_WE_AR) },
    { .name = "reserve_all_registrants_by_second_registrant_other_type_conflicts", .clause = "SPC-4 5.14.9",
      .profiles = TH_BOTH,
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE_AR) }, { RESERVE("B1", K2, PR_TYPE_WE_AR) } },
      .when = { RESERVE("B1", K2, PR_TYPE_EA_AR), .expect = CONFLICT },
      .reservation = RESERVATION(0, PR_TYPE_WE_AR) },
    /* D8: LIO answers NOT READY to an unregistered RESERVE, RELEASE,
     * CLEAR and REGISTER AND MOVE; PREEMPT stays a conflict. */
    { .name = "lio_d8_reserve_from_unregistered_not_ready", .clause = "D8", .profiles = TH_LIO,
      .when = { RESERVE("A1", 0, PR_TYPE_WE), .expect = NOT_READY_LU_COMM_FAILURE } },
    { .name = "lio_d8_release_from_unregistered_not_ready", .clause = "D8", .profiles = TH_LIO,
      .when = { RELEASE("A1", 0, PR_TYPE_WE), .expect = NOT_READY_LU_COMM_FAILURE } },
    { .name = "lio_d8_clear_from_unregistered_not_ready", .clause = "D8", .profiles = TH_LIO,
      .when = { CLEAR("A1", 0), .expect = NOT_READY_LU_COMM_FAILURE } },
    { .name = "lio_d8_register_and_move_from_unregistered_not_ready", .clause = "D8", .profiles = TH_LIO,
      .when = { .from = "A1", .sa = PR_OUT_REGISTER_AND_MOVE, .sark = K1, .expect = NOT_READY_LU_COMM_FAILURE } },
    { .name = "lio_d8_preempt_from_unregistered_still_conflicts", .clause = "D8", .profiles = TH_LIO,
      .when = { PREEMPT("A1", 0, K1, PR_TYPE_WE), .expect = CONFLICT } },
    /* RELEASE (pr-semantics 3.6). */
    { .name = "release_by_holder_ends_reservation_keeps_registrations",
      .clause = "SPC-4 5.14.11.2.2", .profiles = TH_BOTH,
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_EA) } },
      .when = { RELEASE("A1", K1, PR_TYPE_EA) },
      /* WE and EA releases establish no unit attention. */
      .uas = { { "B1", NO_UA } },
      .keys = KEYS(2, 2, K1, K2), .reservation = NO_RESERVATION },
    RELEASE_TELLS_REGISTRANTS("release_of_we_ro_sends_reservations_released", PR_TYPE_WE_RO),
    RELEASE_TELLS_REGISTRANTS("release_of_ea_ro_sends_reservations_released", PR_TYPE_EA_RO),
    RELEASE_TELLS_REGISTRANTS("release_of_we_ar_sends_reservations_released", PR_TYPE_WE_AR),
    RELEASE_TELLS_REGISTRANTS("release_of_ea_ar_sends_reservations_released", PR_TYPE_EA_AR),
    { .name = "release_all_registrants_by_any_registrant", .clause = "SPC-4 5.14.11.2.2", .profiles = TH_BOTH,
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_EA_AR) } },
      .when = { RELEASE("B1", K2, PR_TYPE_EA_AR) },
      .uas = { { "A1", UA_RESERVATIONS_RELEASED } }, .reservation = NO_RESERVATION },
    { .name = "release_by_registered_non_holder_is_good_noop", .clause = "SPC-4 5.14.11.2.2", .profiles = TH_BOTH,
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE_RO) } },
      .when = { RELEASE("B1", K2, PR_TYPE_WE_RO) },
      .uas = { { "A1", NO_UA } }, .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "release_with_no_reservation_is_good_noop", .clause = "SPC-4 5.14.11.2.2", .profiles = TH_BOTH,
      .given = { A_REGISTERED }, .when = { RELEASE("A1", K1, PR_TYPE_WE) },
      .keys = KEYS(1, 1, K1) },
    { .name = "release_with_wrong_key_and_no_reservation_conflicts", .clause = "SPC-4 5.14.11.2.2",
      .given = { A_AND_B_REGISTERED }, .when = { RELEASE("A1", K3, PR_TYPE_WE), .expect = CONFLICT },
      .reservation = NO_RESERVATION },
    { .name = "release_by_holder_with_wrong_key_conflicts", .clause = "SPC-4 5.14.11.2.2",
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE) } },
      .when = { RELEASE("A1", K3, PR_TYPE_WE), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_WE) },
    { .name = "release_by_non_holder_with_wrong_key_conflicts", .clause = "SPC-4 5.14.11.2.2",
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE) } },
      .when = { RELEASE("B1", K3, PR_TYPE_WE), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_WE) },
    { .name = "lio_d7_release_with_wrong_key_and_no_reservation_is_good", .clause = "D7", .profiles = TH_LIO,
      .given = { A_AND_B_REGISTERED }, .when = { RELEASE("A1", K3, PR_TYPE_WE) },
      .reservation = NO_RESERVATION },
    { .name = "lio_d7_release_non_holder_with_wrong_key_is_good", .clause = "D7", .profiles = TH_LIO,
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE) } }, .when = { RELEASE("B1", K3, PR_TYPE_WE) },
      .reservation = RESERVATION(K1, PR_TYPE_WE) },
    /* The holder is checked. */
    { .name = "lio_d7_release_by_holder_with_wrong_key_conflicts", .clause = "D7", .profiles = TH_LIO,
      .given = { A_AND_B_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE) } },
      .when = { RELEASE("A1", K3, PR_TYPE_WE), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_WE) },
    { .name = "release_by_holder_with_other_type_is_invalid_release", .clause = "SPC-4 5.14.11.2.2",
      .given = { A_REGISTERED, { RESERVE("A1", K1, PR_TYPE_EA) } },
      .when = { RELEASE("A1", K1, PR_TYPE_WE), .expect = INVALID_RELEASE },
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "lio_d15_release_type_mismatch_conflicts", .clause = "D15", .profiles = TH_LIO,
      .given = { A_REGISTERED, { RESERVE("A1", K1, PR_TYPE_EA) } },
      .when = { RELEASE("A1", K1, PR_TYPE_WE), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    /* D5: a scope LIO does not check becomes a mismatch too. */
    { .name = "lio_d15_release_scope_mismatch_conflicts", .clause = "D15, D5", .profiles = TH_LIO,
      .given = { A_REGISTERED, { RESERVE("A1", K1, PR_TYPE_EA) } },
      .when = { RELEASE("A1", K1, 0x10 | PR_TYPE_EA), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "release_scope_not_lu_is_invalid_field_in_cdb", .clause = "SPC-4 6.15.3.4",
      .given = { A_REGISTERED, { RESERVE("A1", K1, PR_TYPE_EA) } },
      .when = { RELEASE("A1", K1, 0x10 | PR_TYPE_EA), .expect = INVALID_FIELD_IN_CDB },
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "release_from_unregistered_nexus_without_reservation_conflicts", .clause = "SPC-4 5.14.11.2.2",
      .when = { RELEASE("B1", 0, PR_TYPE_WE), .expect = CONFLICT } },
    { .name = "release_from_unregistered_nexus_conflicts", .clause = "SPC-4 5.14.11.2.2",
      .given = { A_REGISTERED, { RESERVE("A1", K1, PR_TYPE_WE) } },
      .when = { RELEASE("B1", 0, PR_TYPE_WE), .expect = CONFLICT },
      .observer = "A1", .reservation = RESERVATION(K1, PR_TYPE_WE) },
    /* Service actions (SPC-4 6.16.1). */
    { .name = "replace_lost_reservation_is_not_supported", .clause = "SPC-4 6.16.1", .profiles = TH_BOTH,
      .when = { .from = "A1", .sa = PR_OUT_REPLACE_LOST_RESERVATION, .type = PR_TYPE_WE, .sark = K1, .expect = INVALID_FIELD_IN_CDB },
      .keys = NO_KEYS(0) },
    { .name = "reserved_service_action_judged_before_list_length_in_spc4", .clause = "SPC-4 6.16.1",
      .when = { .from = "A1", .sa = 0x09, LIST_LENGTH(0), .expect = INVALID_FIELD_IN_CDB } },
    { .name = "lio_reads_list_length_before_service_action", .clause = "pr-semantics 3.3 (LIO)", .profiles = TH_LIO,
      .when = { .from = "A1", .sa = 0x09, LIST_LENGTH(0), .expect = PARAM_LIST_LENGTH_ERROR } },
};

/* Every reserved service action (09h-1Fh) is INVALID FIELD IN CDB. */
static void test_reserved_service_actions_are_invalid_field_in_cdb(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    for (uint8_t sa = 9; sa < 0x20; sa++)
        assert_check(th_prout(lun, &a, sa, 0, 0, K1, 0), SENSE_INVALID_FIELD_IN_CDB);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest extra[] = {
        TH_BOTH(test_reserved_service_actions_are_invalid_field_in_cdb),
    };
    return th_run_rules("pr_sim.reserve", rules, sizeof(rules) / sizeof(rules[0]), extra,
                        sizeof(extra) / sizeof(extra[0]));
}
