/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_preempt.c - CLEAR, PREEMPT and PREEMPT AND ABORT
 * (SPC-4 5.14.11.2.6, 5.14.11.4, 5.14.11.5; pr-semantics.md 3.7, 3.8),
 * one test per row of the decision table, with D6, D11 and D16.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_helpers.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull
#define K4 0x4444444444444444ull

/* A, B, C registered with K1, K2, K3 (generation 3). */
static struct pr_sim_lun *three(enum pr_sim_profile p, struct pr_sim_nexus *a,
                                struct pr_sim_nexus *b, struct pr_sim_nexus *c)
{
    struct pr_sim_lun *lun = th_lun(p);
    *a = th_nexus('A', 1);
    *b = th_nexus('B', 1);
    *c = th_nexus('C', 2);
    assert_good(th_register(lun, a, 0, K1));
    assert_good(th_register(lun, b, 0, K2));
    assert_good(th_register(lun, c, 0, K3));
    return lun;
}

static void test_clear_removes_everything_and_preempts_others(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(PR_SIM_PROFILE_SPC4, &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_EA_RO));
    assert_good(th_clear(lun, &a, K1));
    th_expect_no_keys(lun, &a, 4);
    th_expect_no_reservation(lun, &a);
    th_expect_ua(lun, &b, SENSE_UA_RESERVATIONS_PREEMPTED);
    th_expect_ua(lun, &c, SENSE_UA_RESERVATIONS_PREEMPTED);
    th_expect_no_ua(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_clear_with_wrong_key_conflicts(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_conflict(th_clear(lun, &a, K2));
    th_expect_keys(lun, &a, 3, 3, K1, K2, K3);
    pr_sim_lun_free(lun);
}

static void test_clear_from_unregistered_nexus_conflicts(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b, c, d = th_nexus('D', 1);
    struct pr_sim_lun *lun = three(PR_SIM_PROFILE_SPC4, &a, &b, &c);
    assert_conflict(th_clear(lun, &d, 0));
    th_expect_keys(lun, &a, 3, 3, K1, K2, K3);
    pr_sim_lun_free(lun);
}

static void test_clear_keeps_aptpl_state(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_clear(lun, &a, K1));
    assert_true(pr_sim_aptpl_active(lun));
    pr_sim_lun_free(lun);
}

static void test_lio_d16_clear_resets_aptpl(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_clear(lun, &a, K1));
    assert_false(pr_sim_aptpl_active(lun));
    pr_sim_lun_free(lun);
}

static void test_preempt_zero_key_without_all_registrants_is_invalid(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_check(th_preempt(lun, &a, K1, 0, PR_TYPE_WE, false), SENSE_INVALID_FIELD_IN_PARAM);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE));
    assert_check(th_preempt(lun, &a, K1, 0, PR_TYPE_WE, false), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_keys(lun, &a, 3, 3, K1, K2, K3);
    pr_sim_lun_free(lun);
}

static void test_preempt_unknown_key_conflicts(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_conflict(th_preempt(lun, &a, K1, K4, PR_TYPE_WE, false));
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE));
    assert_conflict(th_preempt(lun, &a, K1, K4, PR_TYPE_WE, false));
    th_expect_keys(lun, &a, 3, 3, K1, K2, K3);
    pr_sim_lun_free(lun);
}

static void test_preempt_from_unregistered_or_with_wrong_key_conflicts(void **state)
{
    struct pr_sim_nexus a, b, c, d = th_nexus('D', 1);
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_conflict(th_preempt(lun, &d, 0, K2, PR_TYPE_WE, false));
    assert_conflict(th_preempt(lun, &a, K3, K2, PR_TYPE_WE, false));
    th_expect_keys(lun, &a, 3, 3, K1, K2, K3);
    pr_sim_lun_free(lun);
}

static void test_preempt_without_reservation_removes_registrations_only(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 4, 2, K1, K3);
    th_expect_no_reservation(lun, &a);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    th_expect_no_ua(lun, &c);
    pr_sim_lun_free(lun);
}

static void test_preempt_own_key_without_reservation_removes_sender_too(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K1));
    assert_good(th_preempt(lun, &a, K1, K1, PR_TYPE_WE, false));
    th_expect_no_keys(lun, &a, 3);
    th_expect_no_ua(lun, &a);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    pr_sim_lun_free(lun);
}

static void test_preempt_removing_registrations_ignores_type(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(PR_SIM_PROFILE_SPC4, &a, &b, &c);
    assert_good(th_preempt(lun, &a, K1, K2, 0x0f, false));
    th_expect_keys(lun, &a, 4, 2, K1, K3);
    pr_sim_lun_free(lun);
}

static void test_lio_d6_preempt_checks_type_even_when_unused(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(PR_SIM_PROFILE_LIO, &a, &b, &c);
    assert_check(th_preempt(lun, &a, K1, K2, 0x0f, false), SENSE_INVALID_FIELD_IN_CDB);
    th_expect_keys(lun, &a, 3, 3, K1, K2, K3);
    pr_sim_lun_free(lun);
}

static void test_preempt_non_holder_key_leaves_reservation(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_RO));
    assert_good(th_preempt(lun, &a, K1, K3, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 4, 2, K1, K2);
    th_expect_reservation(lun, &a, K2, PR_TYPE_WE_RO);
    th_expect_ua(lun, &c, SENSE_UA_REGISTRATIONS_PREEMPTED);
    th_expect_no_ua(lun, &b);
    pr_sim_lun_free(lun);
}

static void test_preempt_with_holder_key_moves_reservation(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_RO));
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_WE_RO, false));
    th_expect_keys(lun, &a, 4, 2, K1, K3);
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE_RO);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    /* Same type and scope: the others are not told of a release. */
    th_expect_no_ua(lun, &c);
    pr_sim_lun_free(lun);
}

static void test_preempt_with_holder_key_and_new_type_releases_to_others(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_RO));
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_EA, false));
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    th_expect_ua(lun, &c, SENSE_UA_RESERVATIONS_RELEASED);
    th_expect_no_ua(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_preempt_holder_with_invalid_type_is_invalid_field_in_cdb(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE));
    assert_check(th_preempt(lun, &a, K1, K2, 0x02, false), SENSE_INVALID_FIELD_IN_CDB);
    th_expect_reservation(lun, &a, K2, PR_TYPE_WE);
    th_expect_keys(lun, &a, 3, 3, K1, K2, K3);
    pr_sim_lun_free(lun);
}

static void test_preempt_own_reservation_changes_type_and_keeps_registration(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    assert_good(th_preempt(lun, &a, K1, K1, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 4, 3, K1, K2, K3);
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    th_expect_ua(lun, &b, SENSE_UA_RESERVATIONS_RELEASED);
    pr_sim_lun_free(lun);
}

static void test_preempt_holder_key_shared_removes_every_registration_with_it(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_register(lun, &c, 0, K2));
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_EA));
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 4, 1, K1);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    th_expect_ua(lun, &c, SENSE_UA_REGISTRATIONS_PREEMPTED);
    pr_sim_lun_free(lun);
}

static void test_preempt_all_registrants_zero_key_takes_sole_reservation(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_AR));
    assert_good(th_preempt(lun, &a, K1, 0, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 4, 1, K1);
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    th_expect_ua(lun, &c, SENSE_UA_REGISTRATIONS_PREEMPTED);
    pr_sim_lun_free(lun);
}

static void test_preempt_all_registrants_zero_key_invalid_type(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_AR));
    assert_check(th_preempt(lun, &a, K1, 0, 0x04, false), SENSE_INVALID_FIELD_IN_CDB);
    th_expect_reservation(lun, &a, 0, PR_TYPE_WE_AR);
    pr_sim_lun_free(lun);
}

static void test_preempt_all_registrants_key_removes_registrations_keeps_reservation(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(PR_SIM_PROFILE_SPC4, &a, &b, &c);
    /* B reserved first: in SPC every registrant is alike. */
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_AR));
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 4, 2, K1, K3);
    th_expect_reservation(lun, &a, 0, PR_TYPE_WE_AR);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    th_expect_no_ua(lun, &c);
    pr_sim_lun_free(lun);
}

static void test_lio_d11_preempt_designated_ar_holder_replaces_reservation(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(PR_SIM_PROFILE_LIO, &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_AR));
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 4, 2, K1, K3);
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    th_expect_ua(lun, &b, SENSE_UA_REGISTRATIONS_PREEMPTED);
    th_expect_ua(lun, &c, SENSE_UA_RESERVATIONS_RELEASED);
    pr_sim_lun_free(lun);
}

static void test_lio_d11_preempt_other_ar_registrant_keeps_reservation(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(PR_SIM_PROFILE_LIO, &a, &b, &c);
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_WE_AR));
    assert_good(th_preempt(lun, &a, K1, K3, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 4, 2, K1, K2);
    th_expect_reservation(lun, &a, 0, PR_TYPE_WE_AR);
    pr_sim_lun_free(lun);
}

static void test_lio_d11_designated_holder_passes_to_first_remaining(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(PR_SIM_PROFILE_LIO, &a, &b, &c);
    assert_good(th_reserve(lun, &c, K3, PR_TYPE_EA_AR));
    /* C unregisters: the designation goes to A, first in list order. */
    assert_good(th_register(lun, &c, K3, 0));
    assert_good(th_preempt(lun, &b, K2, K1, PR_TYPE_WE, false));
    th_expect_reservation(lun, &b, K2, PR_TYPE_WE);
    pr_sim_lun_free(lun);
}

static void test_preempt_ar_last_registrant_removed_ends_reservation(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA_AR));
    /* A preempting its own key keeps its own registration under AR. */
    assert_good(th_preempt(lun, &a, K1, K1, PR_TYPE_EA, false));
    th_expect_keys(lun, &a, 2, 1, K1);
    th_expect_reservation(lun, &a, 0, PR_TYPE_EA_AR);
    pr_sim_lun_free(lun);
}

static void test_preempt_scope_not_lu_is_invalid(void **state)
{
    struct pr_sim_nexus a, b, c;
    struct pr_sim_lun *lun = three(TH_PROFILE(state), &a, &b, &c);
    bool lio = TH_PROFILE(state) == PR_SIM_PROFILE_LIO;
    assert_check(th_preempt(lun, &a, K1, K2, 0x10 | PR_TYPE_WE, false),
                 lio ? SENSE_INVALID_FIELD_IN_PARAM : SENSE_INVALID_FIELD_IN_CDB);
    th_expect_keys(lun, &a, 3, 3, K1, K2, K3);
    pr_sim_lun_free(lun);
}

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
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
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
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_removes_everything_and_preempts_others),
        TH_BOTH(test_clear_with_wrong_key_conflicts),
        cmocka_unit_test(test_clear_from_unregistered_nexus_conflicts),
        cmocka_unit_test(test_clear_keeps_aptpl_state),
        cmocka_unit_test(test_lio_d16_clear_resets_aptpl),
        TH_BOTH(test_preempt_zero_key_without_all_registrants_is_invalid),
        TH_BOTH(test_preempt_unknown_key_conflicts),
        TH_BOTH(test_preempt_from_unregistered_or_with_wrong_key_conflicts),
        TH_BOTH(test_preempt_without_reservation_removes_registrations_only),
        TH_BOTH(test_preempt_own_key_without_reservation_removes_sender_too),
        cmocka_unit_test(test_preempt_removing_registrations_ignores_type),
        cmocka_unit_test(test_lio_d6_preempt_checks_type_even_when_unused),
        TH_BOTH(test_preempt_non_holder_key_leaves_reservation),
        TH_BOTH(test_preempt_with_holder_key_moves_reservation),
        TH_BOTH(test_preempt_with_holder_key_and_new_type_releases_to_others),
        TH_BOTH(test_preempt_holder_with_invalid_type_is_invalid_field_in_cdb),
        TH_BOTH(test_preempt_own_reservation_changes_type_and_keeps_registration),
        TH_BOTH(test_preempt_holder_key_shared_removes_every_registration_with_it),
        TH_BOTH(test_preempt_all_registrants_zero_key_takes_sole_reservation),
        TH_BOTH(test_preempt_all_registrants_zero_key_invalid_type),
        cmocka_unit_test(test_preempt_all_registrants_key_removes_registrations_keeps_reservation),
        cmocka_unit_test(test_lio_d11_preempt_designated_ar_holder_replaces_reservation),
        cmocka_unit_test(test_lio_d11_preempt_other_ar_registrant_keeps_reservation),
        cmocka_unit_test(test_lio_d11_designated_holder_passes_to_first_remaining),
        cmocka_unit_test(test_preempt_ar_last_registrant_removed_ends_reservation),
        TH_BOTH(test_preempt_scope_not_lu_is_invalid),
        cmocka_unit_test(test_preempt_and_abort_reports_aborted_nexuses),
        cmocka_unit_test(test_preempt_and_abort_that_fails_to_persist_aborts_nothing),
    };
    return cmocka_run_group_tests_name("pr_sim.preempt", tests, NULL, NULL);
}
