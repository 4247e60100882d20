/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_register.c - REGISTER and REGISTER AND IGNORE EXISTING KEY
 * (SPC-4 5.14.7, pr-semantics.md 3.4), one test per rule.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_helpers.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull

static void test_register_from_unregistered_nexus_adds_key(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    th_expect_keys(lun, &a, 1, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_register_unregistered_with_nonzero_reservation_key_conflicts(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_conflict(th_register(lun, &a, K2, K1));
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_register_ignore_unregistered_ignores_reservation_key(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_prout(lun, &a, PR_OUT_REGISTER_AND_IGNORE, 0, K3, K1, 0));
    th_expect_keys(lun, &a, 1, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_register_zero_key_from_unregistered_is_noop(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, 0));
    assert_good(th_register_ignore(lun, &a, 0));
    /* Generation unchanged: nothing happened. */
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_register_with_wrong_reservation_key_conflicts(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_conflict(th_register(lun, &a, K2, K3));
    /* libiscsi ProutRegister.Simple: a re-register with RK=0 conflicts. */
    assert_conflict(th_register(lun, &a, 0, K3));
    th_expect_keys(lun, &a, 1, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_register_key_change_keeps_reservation_with_new_key(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    assert_good(th_register(lun, &a, K1, K2));
    th_expect_keys(lun, &a, 2, 1, K2);
    th_expect_reservation(lun, &a, K2, PR_TYPE_WE);
    pr_sim_lun_free(lun);
}

static void test_register_ignore_changes_key_without_checking_it(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_prout(lun, &a, PR_OUT_REGISTER_AND_IGNORE, 0, K3, K2, 0));
    th_expect_keys(lun, &a, 2, 1, K2);
    pr_sim_lun_free(lun);
}

static void test_keys_are_shared_between_nexuses_and_listed_per_nexus(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K1));
    th_expect_keys(lun, &b, 2, 2, K1, K1);
    pr_sim_lun_free(lun);
}

static void test_unregister_removes_registration_and_bumps_generation(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &a, K1, 0));
    th_expect_no_keys(lun, &a, 2);
    pr_sim_lun_free(lun);
}

static void test_lio_d14_unregister_keeps_generation(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &a, K1, 0));
    th_expect_no_keys(lun, &a, 1);
    pr_sim_lun_free(lun);
}

static void test_unregister_by_holder_of_registrants_only_releases_with_ua(void **state)
{
    const unsigned types[] = { PR_TYPE_WE_RO, PR_TYPE_EA_RO };
    for (size_t i = 0; i < 2; i++) {
        struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_register(lun, &b, 0, K2));
        assert_good(th_reserve(lun, &a, K1, types[i]));
        assert_good(th_register(lun, &a, K1, 0));
        th_expect_ua(lun, &b, SENSE_UA_RESERVATIONS_RELEASED);
        th_expect_no_reservation(lun, &b);
        th_expect_no_ua(lun, &a);
        pr_sim_lun_free(lun);
    }
}

static void test_unregister_by_holder_of_we_or_ea_releases_silently(void **state)
{
    const unsigned types[] = { PR_TYPE_WE, PR_TYPE_EA };
    for (size_t i = 0; i < 2; i++) {
        struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_register(lun, &b, 0, K2));
        assert_good(th_reserve(lun, &a, K1, types[i]));
        assert_good(th_register(lun, &a, K1, 0));
        th_expect_no_ua(lun, &b);
        th_expect_no_reservation(lun, &b);
        pr_sim_lun_free(lun);
    }
}

static void test_unregister_of_one_all_registrants_holder_keeps_reservation(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA_AR));
    assert_good(th_register(lun, &a, K1, 0));
    th_expect_no_ua(lun, &b);
    th_expect_reservation(lun, &b, 0, PR_TYPE_EA_AR);
    /* The last registrant leaving ends it. */
    assert_good(th_register(lun, &b, K2, 0));
    th_expect_no_reservation(lun, &b);
    pr_sim_lun_free(lun);
}

static void test_register_aptpl_bit_sets_ptpl_a(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_true(pr_sim_aptpl_active(lun));
    /* The last valid APTPL value decides (SPC-4 5.14.5). */
    assert_good(th_register_flags(lun, &a, K1, K2, 0));
    assert_false(pr_sim_aptpl_active(lun));
    pr_sim_lun_free(lun);
}

static void test_register_all_tg_pt_registers_on_every_target_port(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a1 = th_nexus('A', 1), a2 = th_nexus('A', 2);
    assert_good(th_register_flags(lun, &a1, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    /* One key per I_T nexus; one increment per command in SPC. */
    th_expect_keys(lun, &a2, 1, 2, K1, K1);
    /* The nexus on port 2 is registered: it can reserve. */
    assert_good(th_reserve(lun, &a2, K1, PR_TYPE_WE));
    struct pr_sim_registration_view v;
    assert_true(pr_sim_registration_at(lun, 1, &v));
    assert_true(v.all_tg_pt);
    pr_sim_lun_free(lun);
}

static void test_lio_d12_all_tg_pt_bumps_generation_per_registration(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a1 = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a1, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    th_expect_keys(lun, &a1, 2, 2, K1, K1);
    pr_sim_lun_free(lun);
}

static void test_all_tg_pt_key_change_applies_to_every_port(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a1 = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a1, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    assert_good(th_register_flags(lun, &a1, K1, K2, PR_OUT_FLAG_ALL_TG_PT));
    th_expect_keys(lun, &a1, 2, 2, K2, K2);
    pr_sim_lun_free(lun);
}

static void test_all_tg_pt_unregister_removes_every_port(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a1 = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a1, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    /* Even through RIEK (RK 0) the whole registration goes in SPC. */
    assert_good(th_prout(lun, &a1, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0, PR_OUT_FLAG_ALL_TG_PT));
    th_expect_no_keys(lun, &a1, 2);
    pr_sim_lun_free(lun);
}

static void test_lio_d13_riek_unregister_leaves_sibling_ports(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a1 = th_nexus('A', 1), a2 = th_nexus('A', 2);
    assert_good(th_register_flags(lun, &a1, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    assert_good(th_prout(lun, &a1, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0, PR_OUT_FLAG_ALL_TG_PT));
    /* D12 +2, D14 +0 on unregister; the port-2 registration remains. */
    th_expect_keys(lun, &a2, 2, 1, K1);
    /* REGISTER with RK = key removes siblings with that key. */
    assert_good(th_register_flags(lun, &a2, K1, 0, PR_OUT_FLAG_ALL_TG_PT));
    th_expect_no_keys(lun, &a2, 2);
    pr_sim_lun_free(lun);
}

static void test_lio_d10_register_without_all_tg_pt_on_all_tg_pt_registration_invalid(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a1 = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a1, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    assert_check(th_register(lun, &a1, K1, K2), SENSE_INVALID_FIELD_IN_CDB);
    th_expect_keys(lun, &a1, 2, 2, K1, K1);
    pr_sim_lun_free(lun);
}

static void test_lio_unregister_refused_while_sibling_holds_reservation(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a1 = th_nexus('A', 1), a2 = th_nexus('A', 2);
    assert_good(th_register_flags(lun, &a1, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    assert_good(th_reserve(lun, &a2, K1, PR_TYPE_WE));
    assert_conflict(th_register_flags(lun, &a1, K1, 0, PR_OUT_FLAG_ALL_TG_PT));
    th_expect_keys(lun, &a1, 2, 2, K1, K1);
    th_expect_reservation(lun, &a1, K1, PR_TYPE_WE);
    pr_sim_lun_free(lun);
}

/* Build a REGISTER parameter list with SPEC_I_PT and the TransportIDs. */
static size_t spec_i_pt_list(uint8_t *buf, size_t cap, uint64_t sark, uint8_t flags,
                             const struct pr_tid *tids, size_t ntids)
{
    memset(buf, 0, cap);
    scsi_put_be64(buf + 8, sark);
    buf[20] = (uint8_t)(PR_OUT_FLAG_SPEC_I_PT | flags);
    size_t off = 28;
    for (size_t i = 0; i < ntids; i++)
        off += pr_tid_build(&tids[i], buf + off, cap - off);
    scsi_put_be32(buf + 24, (uint32_t)(off - 28));
    return off;
}

static struct pr_sim_result register_raw(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                         uint8_t sa, const uint8_t *list, size_t len)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, sa, 0, 0, 0, 0, 0, 0, 0, 0 };
    scsi_put_be32(cdb + 5, (uint32_t)len);
    return th_prout_raw(lun, n, cdb, list, len);
}

static void test_spec_i_pt_registers_sender_and_each_transport_id(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
    struct pr_tid tids[2] = { b.initiator, c.initiator };
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K1, 0, tids, 2);
    assert_good(register_raw(lun, &a, PR_OUT_REGISTER, list, len));
    th_expect_keys(lun, &a, 1, 3, K1, K1, K1);
    /* B is registered: its RESERVE works with K1. */
    assert_good(th_reserve(lun, &b, K1, PR_TYPE_EA));
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_with_all_tg_pt_registers_on_every_port(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b2 = th_nexus('B', 2);
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K1, PR_OUT_FLAG_ALL_TG_PT, &b2.initiator, 1);
    assert_good(register_raw(lun, &a, PR_OUT_REGISTER, list, len));
    th_expect_keys(lun, &a, 1, 4, K1, K1, K1, K1);
    assert_good(th_reserve(lun, &b2, K1, PR_TYPE_WE));
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_iscsi_device_name_covers_every_port_of_that_device(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_tid device = pr_tid_iscsi(b.initiator.name, NULL);
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K2, 0, &device, 1);
    assert_good(register_raw(lun, &a, PR_OUT_REGISTER, list, len));
    /* B's port (with ISID) acts through the device-wide registration. */
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_EA));
    th_expect_reservation(lun, &a, K2, PR_TYPE_EA);
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_from_registered_nexus_is_invalid(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K2, 0, &b.initiator, 1);
    scsi_put_be64(list, K1);
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_keys(lun, &a, 1, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_with_register_and_ignore_is_invalid(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K2, 0, &b.initiator, 1);
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER_AND_IGNORE, list, len),
                 SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_list_shorter_than_28_is_invalid(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t list[28] = { 0 };
    scsi_put_be64(list + 8, K1);
    list[20] = PR_OUT_FLAG_SPEC_I_PT;
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, 24), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_length_mismatch_is_invalid(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K1, 0, &b.initiator, 1);
    scsi_put_be32(list + 24, (uint32_t)(len - 28 + 4));
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_malformed_transport_id_registers_nobody(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K1, 0, &b.initiator, 1);
    list[28 + 3] = 0x13; /* iSCSI ADDITIONAL LENGTH not a multiple of 4 */
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_transport_id_of_other_protocol_is_invalid(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    struct pr_tid fc = pr_tid_fcp(0x500143802426baf4ull);
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K1, 0, &fc, 1);
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_already_registered_transport_id_is_invalid(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &b, 0, K2));
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K1, 0, &b.initiator, 1);
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, len), SENSE_INVALID_FIELD_IN_PARAM);
    th_expect_keys(lun, &a, 1, 1, K2);
    pr_sim_lun_free(lun);
}

static void test_lio_d18_spec_i_pt_skips_already_registered_transport_id(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
    assert_good(th_register(lun, &b, 0, K2));
    struct pr_tid tids[2] = { b.initiator, c.initiator };
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K1, 0, tids, 2);
    assert_good(register_raw(lun, &a, PR_OUT_REGISTER, list, len));
    /* D12: +1 per registration created (A and C). */
    th_expect_keys(lun, &a, 3, 3, K2, K1, K1);
    pr_sim_lun_free(lun);
}

static void test_register_beyond_limit_reports_insufficient_resources(void **state)
{
    (void)state;
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_registrations = 2;
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    assert_non_null(lun);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_check(th_register(lun, &c, 0, K3), SENSE_INSUFFICIENT_REG_RESOURCES);
    /* SPEC_I_PT is all or nothing against the same limit. */
    assert_good(th_register(lun, &b, K2, 0));
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K3, 0, &b.initiator, 1);
    assert_check(register_raw(lun, &c, PR_OUT_REGISTER, list, len),
                 SENSE_INSUFFICIENT_REG_RESOURCES);
    th_expect_keys(lun, &a, 3, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_register_list_length_not_24_is_length_error(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t list[32] = { 0 };
    scsi_put_be64(list + 8, K1);
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, 23), SENSE_PARAM_LIST_LENGTH_ERROR);
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, 32), SENSE_PARAM_LIST_LENGTH_ERROR);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_d9_length_errors_as_invalid_field_in_parameter_list(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun_with(PR_DEV_D9_LENGTH_AS_INVALID_PARAM);
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t list[32] = { 0 };
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, 0), SENSE_INVALID_FIELD_IN_PARAM);
    assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, 32), SENSE_INVALID_FIELD_IN_PARAM);
    pr_sim_lun_free(lun);
}

static void test_parameter_list_shorter_than_announced_is_length_error(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t list[24] = { 0 };
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
    struct pr_sim_result r;
    pr_sim_execute(lun, &a, cdb, sizeof(cdb), list, 12, NULL, 0, &r);
    assert_check(r, SENSE_PARAM_LIST_LENGTH_ERROR);
    pr_sim_lun_free(lun);
}

static void test_parameter_list_length_uses_all_four_cdb_bytes(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t list[24] = { 0 };
    scsi_put_be64(list + 8, K1);
    /* 0x00010018 is not 24: bytes 5-6 count (SPC-4 6.16.1). */
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, 0, 0, 0, 0, 0, 1, 0, 24, 0 };
    struct pr_sim_result r;
    pr_sim_execute(lun, &a, cdb, sizeof(cdb), list, sizeof(list), NULL, 0, &r);
    assert_check(r, SENSE_PARAM_LIST_LENGTH_ERROR);
    th_expect_no_keys(lun, &a, 0);
    pr_sim_lun_free(lun);
}

static void test_every_key_change_bumps_generation_once(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, 1));
    for (uint64_t k = 1; k < 1000; k++)
        assert_good(th_register(lun, &a, k, k + 1));
    th_expect_keys(lun, &a, 1000, 1, 1000);
    pr_sim_lun_free(lun);
}

static void test_spec_i_pt_same_transport_id_twice(void **state)
{
    bool lio = TH_PROFILE(state) == PR_SIM_PROFILE_LIO;
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_tid tids[2] = { b.initiator, b.initiator };
    uint8_t list[512];
    size_t len = spec_i_pt_list(list, sizeof(list), K1, 0, tids, 2);
    /* SPC: a nexus named twice is an invalid list; LIO skips it (D18). */
    if (lio) {
        assert_good(register_raw(lun, &a, PR_OUT_REGISTER, list, len));
        th_expect_keys(lun, &a, 2, 2, K1, K1);
    } else {
        assert_check(register_raw(lun, &a, PR_OUT_REGISTER, list, len),
                     SENSE_INVALID_FIELD_IN_PARAM);
        th_expect_no_keys(lun, &a, 0);
    }
    pr_sim_lun_free(lun);
}

static struct pr_sim_nexus numbered_nexus(int i)
{
    struct pr_sim_nexus x = th_nexus('X', (uint16_t)(1 + i % 3));
    x.initiator.isid[4] = (uint8_t)(i >> 8);
    x.initiator.isid[5] = (uint8_t)i;
    return x;
}

static void test_many_nexuses_come_and_go(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    const uint8_t tur[6] = { 0 };
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            struct pr_sim_nexus x = numbered_nexus(i);
            assert_good(th_cmd(lun, &x, tur, sizeof(tur)));
        }
        for (int i = 199; i >= 0; i--) {
            struct pr_sim_nexus x = numbered_nexus(i);
            pr_sim_nexus_loss(lun, &x);
        }
    }
    /* Losing an unknown nexus is harmless. */
    struct pr_sim_nexus z = th_nexus('Z', 9);
    pr_sim_nexus_loss(lun, &z);
    pr_sim_power_cycle(lun);
    assert_int_equal(pr_sim_pending_ua_count(lun, &z), 0);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_from_unregistered_nexus_adds_key),
        cmocka_unit_test(test_register_unregistered_with_nonzero_reservation_key_conflicts),
        cmocka_unit_test(test_register_ignore_unregistered_ignores_reservation_key),
        TH_BOTH(test_register_zero_key_from_unregistered_is_noop),
        TH_BOTH(test_register_with_wrong_reservation_key_conflicts),
        TH_BOTH(test_register_key_change_keeps_reservation_with_new_key),
        TH_BOTH(test_register_ignore_changes_key_without_checking_it),
        TH_BOTH(test_keys_are_shared_between_nexuses_and_listed_per_nexus),
        cmocka_unit_test(test_unregister_removes_registration_and_bumps_generation),
        cmocka_unit_test(test_lio_d14_unregister_keeps_generation),
        TH_BOTH(test_unregister_by_holder_of_registrants_only_releases_with_ua),
        TH_BOTH(test_unregister_by_holder_of_we_or_ea_releases_silently),
        TH_BOTH(test_unregister_of_one_all_registrants_holder_keeps_reservation),
        TH_BOTH(test_register_aptpl_bit_sets_ptpl_a),
        cmocka_unit_test(test_register_all_tg_pt_registers_on_every_target_port),
        cmocka_unit_test(test_lio_d12_all_tg_pt_bumps_generation_per_registration),
        cmocka_unit_test(test_all_tg_pt_key_change_applies_to_every_port),
        cmocka_unit_test(test_all_tg_pt_unregister_removes_every_port),
        cmocka_unit_test(test_lio_d13_riek_unregister_leaves_sibling_ports),
        cmocka_unit_test(test_lio_d10_register_without_all_tg_pt_on_all_tg_pt_registration_invalid),
        cmocka_unit_test(test_lio_unregister_refused_while_sibling_holds_reservation),
        cmocka_unit_test(test_spec_i_pt_registers_sender_and_each_transport_id),
        cmocka_unit_test(test_spec_i_pt_with_all_tg_pt_registers_on_every_port),
        cmocka_unit_test(test_spec_i_pt_iscsi_device_name_covers_every_port_of_that_device),
        TH_BOTH(test_spec_i_pt_from_registered_nexus_is_invalid),
        TH_BOTH(test_spec_i_pt_with_register_and_ignore_is_invalid),
        TH_BOTH(test_spec_i_pt_list_shorter_than_28_is_invalid),
        TH_BOTH(test_spec_i_pt_length_mismatch_is_invalid),
        TH_BOTH(test_spec_i_pt_malformed_transport_id_registers_nobody),
        TH_BOTH(test_spec_i_pt_transport_id_of_other_protocol_is_invalid),
        cmocka_unit_test(test_spec_i_pt_already_registered_transport_id_is_invalid),
        cmocka_unit_test(test_lio_d18_spec_i_pt_skips_already_registered_transport_id),
        cmocka_unit_test(test_register_beyond_limit_reports_insufficient_resources),
        TH_BOTH(test_register_list_length_not_24_is_length_error),
        cmocka_unit_test(test_d9_length_errors_as_invalid_field_in_parameter_list),
        cmocka_unit_test(test_parameter_list_shorter_than_announced_is_length_error),
        cmocka_unit_test(test_parameter_list_length_uses_all_four_cdb_bytes),
        cmocka_unit_test(test_every_key_change_bumps_generation_once),
        TH_BOTH(test_spec_i_pt_same_transport_id_twice),
        cmocka_unit_test(test_many_nexuses_come_and_go),
    };
    return cmocka_run_group_tests_name("pr_sim.register", tests, NULL, NULL);
}
