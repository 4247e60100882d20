/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_preempt.c - CLEAR, PREEMPT and PREEMPT AND ABORT
 * (SPC-4 5.14.11.2.6, 5.14.11.4, 5.14.11.5; pr-semantics.md 3.7, 3.8)
 * as a table: one row per row of the decision table, with D5, D6, D11
 * and D16.  The abort hook tests stay functions.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_table.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull
#define K4 0x4444444444444444ull

/* A1, B1, C2 registered with K1, K2, K3 (generation 3). */
#define THREE { REGISTER("A1", 0, K1) }, { REGISTER("B1", 0, K2) }, { REGISTER("C2", 0, K3) }
#define ALL_THREE_KEYS KEYS(3, 3, K1, K2, K3)

static const struct th_row rules[] = {
    /* CLEAR (pr-semantics 3.7). */
    { .name = "clear_removes_everything_and_preempts_others", .clause = "SPC-4 5.14.11.2.6",
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_EA_RO) } }, .when = { CLEAR("A1", K1) },
      .uas = { { "B1", UA_RESERVATIONS_PREEMPTED }, { "C2", UA_RESERVATIONS_PREEMPTED }, { "A1", NO_UA } },
      .keys = NO_KEYS(4), .reservation = NO_RESERVATION },
    { .name = "clear_with_wrong_key_conflicts", .clause = "SPC-4 5.14.11.2.6", .profiles = TH_BOTH,
      .given = { THREE }, .when = { CLEAR("A1", K2), .expect = CONFLICT },
      .keys = ALL_THREE_KEYS },
    { .name = "clear_from_unregistered_nexus_conflicts", .clause = "SPC-4 5.14.11.2.6",
      .given = { THREE }, .when = { CLEAR("D1", 0), .expect = CONFLICT },
      .observer = "A1", .keys = ALL_THREE_KEYS },
    { .name = "clear_keeps_aptpl_state", .clause = "SPC-4 5.14.11.2.6",
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_APTPL } }, .when = { CLEAR("A1", K1) },
      .aptpl = APTPL_ON },
    { .name = "lio_d16_clear_resets_aptpl", .clause = "D16", .profiles = TH_LIO,
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_APTPL } }, .when = { CLEAR("A1", K1) },
      .aptpl = APTPL_OFF },
    /* PREEMPT: the checks (pr-semantics 3.8). */
    { .name = "preempt_zero_key_without_reservation_is_invalid", .clause = "SPC-4 5.14.11.4.1", .profiles = TH_BOTH,
      .given = { THREE }, .when = { PREEMPT("A1", K1, 0, PR_TYPE_WE), .expect = INVALID_FIELD_IN_PARAM },
      .keys = ALL_THREE_KEYS },
    { .name = "preempt_zero_key_without_all_registrants_is_invalid", .clause = "SPC-4 5.14.11.4.1",
      .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE) } },
      .when = { PREEMPT("A1", K1, 0, PR_TYPE_WE), .expect = INVALID_FIELD_IN_PARAM },
      .keys = ALL_THREE_KEYS },
    { .name = "preempt_unknown_key_without_reservation_conflicts", .clause = "SPC-4 5.14.11.4", .profiles = TH_BOTH,
      .given = { THREE }, .when = { PREEMPT("A1", K1, K4, PR_TYPE_WE), .expect = CONFLICT },
      .keys = ALL_THREE_KEYS },
    { .name = "preempt_unknown_key_conflicts", .clause = "SPC-4 5.14.11.4", .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE) } },
      .when = { PREEMPT("A1", K1, K4, PR_TYPE_WE), .expect = CONFLICT },
      .keys = ALL_THREE_KEYS },
    { .name = "preempt_from_unregistered_conflicts", .clause = "SPC-4 5.14.11.4", .profiles = TH_BOTH,
      .given = { THREE }, .when = { PREEMPT("D1", 0, K2, PR_TYPE_WE), .expect = CONFLICT },
      .observer = "A1", .keys = ALL_THREE_KEYS },
    { .name = "preempt_with_wrong_key_conflicts", .clause = "SPC-4 5.14.11.4", .profiles = TH_BOTH,
      .given = { THREE }, .when = { PREEMPT("A1", K3, K2, PR_TYPE_WE), .expect = CONFLICT },
      .keys = ALL_THREE_KEYS },
    { .name = "preempt_scope_not_lu_is_invalid", .clause = "SPC-4 6.15.3.4",
      .given = { THREE }, .when = { PREEMPT("A1", K1, K2, 0x10 | PR_TYPE_WE), .expect = INVALID_FIELD_IN_CDB },
      .keys = ALL_THREE_KEYS },
    { .name = "lio_d5_preempt_scope_is_invalid_field_in_parameter_list", .clause = "D5", .profiles = TH_LIO,
      .given = { THREE }, .when = { PREEMPT("A1", K1, K2, 0x10 | PR_TYPE_WE), .expect = INVALID_FIELD_IN_PARAM },
      .keys = ALL_THREE_KEYS },
    /* No reservation, or not the holder's key: registrations only. */
    { .name = "preempt_without_reservation_removes_registrations_only", .clause = "SPC-4 5.14.11.4.2",
      .profiles = TH_BOTH,
      .given = { THREE }, .when = { PREEMPT("A1", K1, K2, PR_TYPE_EA) },
      .uas = { { "B1", UA_REGISTRATIONS_PREEMPTED }, { "C2", NO_UA } }, .keys = KEYS(4, 2, K1, K3),
      .reservation = NO_RESERVATION },
    { .name = "preempt_own_key_without_reservation_removes_sender_too", .clause = "SPC-4 5.14.11.4.2",
      .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) }, { REGISTER("B1", 0, K1) } }, .when = { PREEMPT("A1", K1, K1, PR_TYPE_WE) },
      .uas = { { "A1", NO_UA }, { "B1", UA_REGISTRATIONS_PREEMPTED } }, .keys = NO_KEYS(3) },
    { .name = "preempt_removing_registrations_ignores_type", .clause = "SPC-4 5.14.11.4.2",
      .given = { THREE }, .when = { PREEMPT("A1", K1, K2, 0x0f) },
      .keys = KEYS(4, 2, K1, K3) },
    { .name = "lio_d6_preempt_checks_type_even_when_unused", .clause = "D6", .profiles = TH_LIO,
      .given = { THREE }, .when = { PREEMPT("A1", K1, K2, 0x0f), .expect = INVALID_FIELD_IN_CDB },
      .keys = ALL_THREE_KEYS },
    { .name = "preempt_non_holder_key_leaves_reservation", .clause = "SPC-4 5.14.11.4.2", .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE_RO) } }, .when = { PREEMPT("A1", K1, K3, PR_TYPE_EA) },
      .uas = { { "C2", UA_REGISTRATIONS_PREEMPTED }, { "B1", NO_UA } }, .keys = KEYS(4, 2, K1, K2),
      .reservation = RESERVATION(K2, PR_TYPE_WE_RO) },
    /* The holder's key: the reservation changes hands. */
    { .name = "preempt_with_holder_key_moves_reservation", .clause = "SPC-4 5.14.11.4.3",
      .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE_RO) } },
      .when = { PREEMPT("A1", K1, K2, PR_TYPE_WE_RO) },
      /* Same type and scope: the others are not told of a release. */
      .uas = { { "B1", UA_REGISTRATIONS_PREEMPTED }, { "C2", NO_UA } },
      .keys = KEYS(4, 2, K1, K3), .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "preempt_with_holder_key_and_new_type_releases_to_others", .clause = "SPC-4 5.14.11.4.3",
      .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE_RO) } }, .when = { PREEMPT("A1", K1, K2, PR_TYPE_EA) },
      .uas = { { "B1", UA_REGISTRATIONS_PREEMPTED }, { "C2", UA_RESERVATIONS_RELEASED }, { "A1", NO_UA } },
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "preempt_holder_with_invalid_type_is_invalid_field_in_cdb", .clause = "SPC-4 6.15.3.4",
      .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE) } },
      .when = { PREEMPT("A1", K1, K2, 0x02), .expect = INVALID_FIELD_IN_CDB },
      .keys = ALL_THREE_KEYS, .reservation = RESERVATION(K2, PR_TYPE_WE) },
    { .name = "preempt_own_reservation_changes_type_and_keeps_registration", .clause = "SPC-4 5.14.11.4.3",
      .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("A1", K1, PR_TYPE_WE) } }, .when = { PREEMPT("A1", K1, K1, PR_TYPE_EA) },
      .uas = { { "B1", UA_RESERVATIONS_RELEASED } }, .keys = KEYS(4, 3, K1, K2, K3),
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "preempt_holder_key_shared_removes_every_registration_with_it", .clause = "SPC-4 5.14.11.4.3",
      .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) }, { REGISTER("B1", 0, K2) }, { REGISTER("C1", 0, K2) }, { RESERVE("B1", K2, PR_TYPE_EA) } },
      .when = { PREEMPT("A1", K1, K2, PR_TYPE_EA) },
      .uas = { { "B1", UA_REGISTRATIONS_PREEMPTED }, { "C1", UA_REGISTRATIONS_PREEMPTED } }, .keys = KEYS(4, 1, K1) },
    /* All-registrants reservations. */
    { .name = "preempt_all_registrants_zero_key_takes_sole_reservation", .clause = "SPC-4 5.14.11.4.4",
      .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE_AR) } }, .when = { PREEMPT("A1", K1, 0, PR_TYPE_EA) },
      .uas = { { "B1", UA_REGISTRATIONS_PREEMPTED }, { "C2", UA_REGISTRATIONS_PREEMPTED } }, .keys = KEYS(4, 1, K1),
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "preempt_all_registrants_zero_key_invalid_type", .clause = "SPC-4 6.15.3.4", .profiles = TH_BOTH,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE_AR) } },
      .when = { PREEMPT("A1", K1, 0, 0x04), .expect = INVALID_FIELD_IN_CDB },
      .reservation = RESERVATION(0, PR_TYPE_WE_AR) },
    /* B reserved first: in SPC every registrant is alike. */
    { .name = "preempt_all_registrants_key_removes_registrations_keeps_reservation", .clause = "SPC-4 5.14.11.4.4",
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE_AR) } }, .when = { PREEMPT("A1", K1, K2, PR_TYPE_EA) },
      .uas = { { "B1", UA_REGISTRATIONS_PREEMPTED }, { "C2", NO_UA } }, .keys = KEYS(4, 2, K1, K3),
      .reservation = RESERVATION(0, PR_TYPE_WE_AR) },
    { .name = "lio_d11_preempt_designated_ar_holder_replaces_reservation", .clause = "D11", .profiles = TH_LIO,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE_AR) } }, .when = { PREEMPT("A1", K1, K2, PR_TYPE_EA) },
      .uas = { { "B1", UA_REGISTRATIONS_PREEMPTED }, { "C2", UA_RESERVATIONS_RELEASED } }, .keys = KEYS(4, 2, K1, K3),
      .reservation = RESERVATION(K1, PR_TYPE_EA) },
    { .name = "lio_d11_preempt_other_ar_registrant_keeps_reservation", .clause = "D11", .profiles = TH_LIO,
      .given = { THREE, { RESERVE("B1", K2, PR_TYPE_WE_AR) } }, .when = { PREEMPT("A1", K1, K3, PR_TYPE_EA) },
      .keys = KEYS(4, 2, K1, K2), .reservation = RESERVATION(0, PR_TYPE_WE_AR) },
    /* C unregisters: the designation goes to A, first in list order. */
    { .name = "lio_d11_designated_holder_passes_to_first_remaining", .clause = "D11", .profiles = TH_LIO,
      .given = { THREE, { RESERVE("C2", K3, PR_TYPE_EA_AR) }, { REGISTER("C2", K3, 0) } },
      .when = { PREEMPT("B1", K2, K1, PR_TYPE_WE) },
      .reservation = RESERVATION(K2, PR_TYPE_WE) },
    /* A preempting its own key keeps its own registration under AR. */
    { .name = "preempt_ar_last_registrant_removed_ends_reservation", .clause = "SPC-4 5.14.11.4.4",
      .given = { { REGISTER("A1", 0, K1) }, { RESERVE("A1", K1, PR_TYPE_EA_AR) } },
      .when = { PREEMPT("A1", K1, K1, PR_TYPE_EA) },
      .keys = KEYS(2, 1, K1), .reservation = RESERVATION(0, PR_TYPE_EA_AR) },
};

struct abort_log {
    int count;
    struct pr_sim_nexus last;
};

static void record_abort(void *opaque, const struct pr_sim_nexus *nexus)
{
    struct abort_log *log = opaque;
    log->count++;
    log->last = *nexus;
}

static void test_preempt_and_abort_reports_aborted_nexuses(void **state)
{
    (void)state;
    struct abort_log log;
    memset(&log, 0, sizeof(log));
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.on_abort = record_abort;
    cfg.opaque = &log;
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    th_register_pair(lun, &a, K1, &b, K2);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_RO));
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_WE_RO, true));
    assert_int_equal(log.count, 1);
    assert_string_equal(log.last.initiator.name, b.initiator.name);
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE_RO);
    th_expect_keys(lun, &a, 3, 1, K1);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    /* The fenced nexus cannot write any more. */
    assert_conflict(th_write10(lun, &b));
    assert_good(th_read10(lun, &b));
    /* PREEMPT (no abort) reports nothing. */
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_WE_RO, false));
    assert_int_equal(log.count, 1);
    pr_sim_lun_free(lun);
}

static int persist_fails(void *opaque, const uint8_t *image, size_t len)
{
    (void)opaque;
    (void)image;
    (void)len;
    return -28; /* ENOSPC */
}

static struct abort_log failing_log;

static void record_abort_failing(void *opaque, const struct pr_sim_nexus *nexus)
{
    (void)opaque;
    failing_log.count++;
    failing_log.last = *nexus;
}

static void test_preempt_and_abort_that_fails_to_persist_aborts_nothing(void **state)
{
    (void)state;
    memset(&failing_log, 0, sizeof(failing_log));
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.on_abort = record_abort_failing;
    cfg.persist = persist_fails;
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    th_register_pair(lun, &a, K1, &b, K2);
    /* APTPL on from now: every change must be saved, and saving fails. */
    assert_check(th_prout(lun, &a, PR_OUT_REGISTER, 0, K1, K1, PR_OUT_FLAG_APTPL),
                 SENSE_INTERNAL_TARGET_FAILURE);
    assert_false(pr_sim_aptpl_active(lun));
    struct pr_sim_result r = th_prout(lun, &a, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_WE, K1, K2, 0);
    assert_good(r); /* APTPL is off: nothing to save, the preempt commits */
    assert_int_equal(failing_log.count, 1);
    pr_sim_lun_free(lun);

    /* With APTPL active and the write failing, the victim is not aborted. */
    memset(&failing_log, 0, sizeof(failing_log));
    lun = pr_sim_lun_new(&cfg);
    uint8_t *img;
    size_t len;
    struct pr_sim_lun *src = pr_sim_lun_new(NULL);
    assert_good(th_register(src, &a, 0, K1));
    assert_good(th_prout(src, &b, PR_OUT_REGISTER, 0, 0, K2, PR_OUT_FLAG_APTPL));
    assert_int_equal(pr_sim_serialize(src, &img, &len), 0);
    assert_int_equal(pr_sim_deserialize(lun, img, len, NULL, 0), 0);
    free(img);
    pr_sim_lun_free(src);
    assert_check(th_preempt(lun, &a, K1, K2, PR_TYPE_WE, true), SENSE_INTERNAL_TARGET_FAILURE);
    assert_int_equal(failing_log.count, 0);
    th_expect_keys(lun, &a, 0, 2, K1, K2);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest extra[] = {
        cmocka_unit_test(test_preempt_and_abort_reports_aborted_nexuses),
        cmocka_unit_test(test_preempt_and_abort_that_fails_to_persist_aborts_nothing),
    };
    return th_run_rules("pr_sim.preempt", rules, sizeof(rules) / sizeof(rules[0]), extra,
                        sizeof(extra) / sizeof(extra[0]));
}
