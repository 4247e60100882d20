/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_move.c - REGISTER AND MOVE (SPC-4 5.14.8, 6.16.4;
 * pr-semantics.md 3.9), one test per validation step, with D8 and D20.
 */
#include <string.h>

#include "sim_helpers.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull

/* A REGISTER AND MOVE list: keys, flags, RTPI and one TransportID. */
static size_t move_list(uint8_t *buf, size_t cap, uint64_t rk, uint64_t sark, uint8_t flags,
                        uint16_t rtpi, const struct pr_tid *dest)
{
    memset(buf, 0, cap);
    scsi_put_be64(buf, rk);
    scsi_put_be64(buf + 8, sark);
    buf[17] = flags;
    scsi_put_be16(buf + 18, rtpi);
    size_t tl = pr_tid_build(dest, buf + 24, cap - 24);
    scsi_put_be32(buf + 20, (uint32_t)tl);
    return 24 + tl;
}

static struct pr_sim_result move(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                 unsigned type, const uint8_t *list, size_t len)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER_AND_MOVE, (uint8_t)type,
                        0, 0, 0, 0, 0, 0, 0 };
    scsi_put_be32(cdb + 5, (uint32_t)len);
    return th_prout_raw(lun, n, cdb, list, len);
}

/* A holds WE_RO with K1; B is a stranger on port 2. */
static struct pr_sim_lun *holder(enum pr_sim_profile p, struct pr_sim_nexus *a,
                                 struct pr_sim_nexus *b)
{
    struct pr_sim_lun *lun = th_lun(p);
    *a = th_nexus('A', 1);
    *b = th_nexus('B', 2);
    assert_good(th_register(lun, a, 0, K1));
    assert_good(th_reserve(lun, a, K1, PR_TYPE_WE_RO));
    return lun;
}

static void test_register_and_move_hands_reservation_to_new_nexus(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &b.initiator);
    assert_good(move(lun, &a, PR_TYPE_WE_RO, list, len));
    th_expect_keys(lun, &a, 2, 2, K1, K2);
    th_expect_reservation(lun, &a, K2, PR_TYPE_WE_RO);
    /* No unit attention anywhere. */
    th_expect_no_ua(lun, &a);
    th_expect_no_ua(lun, &b);
    /* B holds it now: it can release it. */
    assert_good(th_release(lun, &b, K2, PR_TYPE_WE_RO));
    pr_sim_lun_free(lun);
}

static void test_register_and_move_with_unreg_unregisters_sender(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, PR_MOVE_FLAG_UNREG, 2, &b.initiator);
    assert_good(move(lun, &a, PR_TYPE_WE_RO, list, len));
    th_expect_keys(lun, &a, 2, 1, K2);
    th_expect_reservation(lun, &a, K2, PR_TYPE_WE_RO);
    th_expect_no_ua(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_to_registered_nexus_overwrites_its_key(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    assert_good(th_register(lun, &b, 0, K3));
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &b.initiator);
    assert_good(move(lun, &a, PR_TYPE_WE_RO, list, len));
    th_expect_keys(lun, &a, 3, 2, K1, K2);
    th_expect_reservation(lun, &a, K2, PR_TYPE_WE_RO);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_aptpl_bit_sets_ptpl_a(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, PR_MOVE_FLAG_APTPL, 2, &b.initiator);
    assert_good(move(lun, &a, PR_TYPE_WE_RO, list, len));
    assert_true(pr_sim_aptpl_active(lun));
    pr_sim_lun_free(lun);
}

static void test_register_and_move_from_unregistered_nexus_conflicts(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), 0, K2, 0, 2, &b.initiator);
    assert_conflict(move(lun, &a, PR_TYPE_WE, list, len));
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_with_wrong_key_conflicts(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K3, K2, 0, 2, &b.initiator);
    assert_conflict(move(lun, &a, PR_TYPE_WE_RO, list, len));
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE_RO);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_zero_key_is_invalid(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, 0, 0, 2, &b.initiator);
    assert_check(move(lun, &a, PR_TYPE_WE_RO, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_keys(lun, &a, 1, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_transport_id_length_mismatch_is_invalid(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &b.initiator);
    scsi_put_be32(list + 20, (uint32_t)(len - 24 - 4));
    assert_check(move(lun, &a, PR_TYPE_WE_RO, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_unknown_target_port_is_invalid(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 7, &b.initiator);
    assert_check(move(lun, &a, PR_TYPE_WE_RO, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_transport_id_of_other_protocol_is_invalid(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    struct pr_tid fc = pr_tid_fcp(0x2100001b32000001ull);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &fc);
    assert_check(move(lun, &a, PR_TYPE_WE_RO, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_malformed_transport_id_is_invalid(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &b.initiator);
    list[24] = 0x85; /* iSCSI with format code 10b */
    assert_check(move(lun, &a, PR_TYPE_WE_RO, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_to_the_sending_nexus_is_invalid(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 1, &a.initiator);
    assert_check(move(lun, &a, PR_TYPE_WE_RO, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE_RO);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_to_same_initiator_other_port_spc4_is_allowed(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(PR_SIM_PROFILE_SPC4, &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &a.initiator);
    assert_good(move(lun, &a, PR_TYPE_WE_RO, list, len));
    struct pr_sim_nexus a2 = th_nexus('A', 2);
    assert_good(th_release(lun, &a2, K2, PR_TYPE_WE_RO));
    pr_sim_lun_free(lun);
}

static void test_lio_register_and_move_to_same_initiator_other_port_is_invalid(void **state)
{
    (void)state;
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(PR_SIM_PROFILE_LIO, &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &a.initiator);
    assert_check(move(lun, &a, PR_TYPE_WE_RO, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_without_reservation_conflicts(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register(lun, &a, 0, K1));
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &b.initiator);
    assert_conflict(move(lun, &a, PR_TYPE_WE, list, len));
    th_expect_keys(lun, &a, 1, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_lio_d20_register_and_move_without_reservation_is_invalid_field_in_cdb(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register(lun, &a, 0, K1));
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &b.initiator);
    assert_check(move(lun, &a, PR_TYPE_WE, list, len), SENSE_INVALID_FIELD_IN_CDB);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_by_registered_non_holder_conflicts(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    struct pr_sim_nexus c = th_nexus('C', 1);
    assert_good(th_register(lun, &c, 0, K3));
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K3, K2, 0, 2, &b.initiator);
    assert_conflict(move(lun, &c, PR_TYPE_WE_RO, list, len));
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE_RO);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_of_all_registrants_reservation_conflicts(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA_AR));
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &b.initiator);
    assert_conflict(move(lun, &a, PR_TYPE_EA_AR, list, len));
    th_expect_reservation(lun, &a, 0, PR_TYPE_EA_AR);
    pr_sim_lun_free(lun);
}

static void test_register_and_move_from_unregistered_while_reserved_conflicts(void **state)
{
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = holder(TH_PROFILE(state), &a, &b);
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), 0, K2, 0, 1, &a.initiator);
    /* The conflict check of section 5 comes before the handler. */
    assert_conflict(move(lun, &b, PR_TYPE_WE_RO, list, len));
    pr_sim_lun_free(lun);
}

static void test_register_and_move_beyond_limit_reports_insufficient_resources(void **state)
{
    (void)state;
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_registrations = 1;
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    assert_int_equal(pr_sim_lun_add_port(lun, 2, PR_TID_PROTO_ISCSI), 0);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    uint8_t list[512];
    size_t len = move_list(list, sizeof(list), K1, K2, 0, 2, &b.initiator);
    assert_check(move(lun, &a, PR_TYPE_WE, list, len), SENSE_INSUFFICIENT_REG_RESOURCES);
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_register_and_move_hands_reservation_to_new_nexus),
        TH_BOTH(test_register_and_move_with_unreg_unregisters_sender),
        TH_BOTH(test_register_and_move_to_registered_nexus_overwrites_its_key),
        TH_BOTH(test_register_and_move_aptpl_bit_sets_ptpl_a),
        cmocka_unit_test(test_register_and_move_from_unregistered_nexus_conflicts),
        TH_BOTH(test_register_and_move_with_wrong_key_conflicts),
        TH_BOTH(test_register_and_move_zero_key_is_invalid),
        TH_BOTH(test_register_and_move_transport_id_length_mismatch_is_invalid),
        TH_BOTH(test_register_and_move_unknown_target_port_is_invalid),
        TH_BOTH(test_register_and_move_transport_id_of_other_protocol_is_invalid),
        TH_BOTH(test_register_and_move_malformed_transport_id_is_invalid),
        TH_BOTH(test_register_and_move_to_the_sending_nexus_is_invalid),
        cmocka_unit_test(test_register_and_move_to_same_initiator_other_port_spc4_is_allowed),
        cmocka_unit_test(test_lio_register_and_move_to_same_initiator_other_port_is_invalid),
        cmocka_unit_test(test_register_and_move_without_reservation_conflicts),
        cmocka_unit_test(test_lio_d20_register_and_move_without_reservation_is_invalid_field_in_cdb),
        TH_BOTH(test_register_and_move_by_registered_non_holder_conflicts),
        TH_BOTH(test_register_and_move_of_all_registrants_reservation_conflicts),
        TH_BOTH(test_register_and_move_from_unregistered_while_reserved_conflicts),
        cmocka_unit_test(test_register_and_move_beyond_limit_reports_insufficient_resources),
    };
    return cmocka_run_group_tests_name("pr_sim.move", tests, NULL, NULL);
}
