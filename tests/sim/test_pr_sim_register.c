/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_register.c - REGISTER and REGISTER AND IGNORE EXISTING KEY
 * (SPC-4 5.14.7, 6.16.2, 6.16.3; pr-semantics.md 3.4), as a table: one
 * row per rule (sim_table.h), named in docs/conformance.md.  Rules that
 * need a loop or a TransportID the table cannot write stay functions
 * below the table.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_table.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull

/* ---- edits of the command (malformed lists and lengths) ------------------ */

/* The CDB announces 24 bytes, 12 arrive. */
static void list_cut_to_12_bytes(uint8_t cdb[10], uint8_t *list, size_t *len)
{
    (void)cdb;
    (void)list;
    *len = 12;
}

/* 0x00010018 is not 24: bytes 5-6 count (SPC-4 6.16.1). */
static void length_with_byte_6_set(uint8_t cdb[10], uint8_t *list, size_t *len)
{
    (void)list;
    (void)len;
    cdb[6] = 1;
}

static void transport_id_length_plus_4(uint8_t cdb[10], uint8_t *list, size_t *len)
{
    (void)cdb;
    (void)len;
    scsi_put_be32(list + 24, scsi_get_be32(list + 24) + 4);
}

/* iSCSI ADDITIONAL LENGTH not a multiple of 4. */
static void malformed_iscsi_transport_id(uint8_t cdb[10], uint8_t *list, size_t *len)
{
    (void)cdb;
    (void)len;
    list[28 + 3] = 0x13;
}

/* The TransportID list names an FCP initiator; the ports are iSCSI. */
static void fcp_transport_id(uint8_t cdb[10], uint8_t *list, size_t *len)
{
    struct pr_tid fc = pr_tid_fcp(0x500143802426baf4ull);
    size_t tl = pr_tid_build(&fc, list + 28, PR_TID_MAX_LEN);
    assert_true(tl > 0);
    scsi_put_be32(list + 24, (uint32_t)tl);
    *len = 28 + tl;
    scsi_put_be32(cdb + 5, (uint32_t)*len);
}

/* ---- the rules ----------------------------------------------------------- */

#define GIVEN_A_HOLDS(type)                                                                      \
    { REGISTER("A1", 0, K1) }, { REGISTER("B1", 0, K2) }, { RESERVE("A1", K1, (type)) }
#define UNREGISTER_HOLDER_A(type, ua_of_b)                                                       \
    .given = { GIVEN_A_HOLDS(type) }, .when = { REGISTER("A1", K1, 0) }, .observer = "B1",     \
    .uas = { { "B1", (ua_of_b) }, { "A1", NO_UA } }, .reservation = NO_RESERVATION

static const struct th_row rules[] = {
    /* Registering from an unregistered nexus. */
    { .name = "register_from_unregistered_nexus_adds_key", .clause = "SPC-4 5.14.7",
      .when = { REGISTER("A1", 0, K1) },
      .keys = KEYS(1, 1, K1) },
    { .name = "register_unregistered_with_nonzero_reservation_key_conflicts", .clause = "SPC-4 5.14.7",
      .when = { REGISTER("A1", K2, K1), .expect = CONFLICT },
      .keys = NO_KEYS(0) },
    { .name = "register_ignore_unregistered_ignores_reservation_key", .clause = "SPC-4 5.14.7",
      .when = { REGISTER_IGNORE("A1", K3, K1) },
      .keys = KEYS(1, 1, K1) },
    { .name = "register_zero_key_from_unregistered_is_noop", .clause = "SPC-4 5.14.7", .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, 0) } }, .when = { REGISTER_IGNORE("A1", 0, 0) },
      .keys = NO_KEYS(0) },
    /* Registered sender: the key check, key changes. */
    { .name = "register_with_wrong_reservation_key_conflicts", .clause = "SPC-4 5.14.7", .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) } }, .when = { REGISTER("A1", K2, K3), .expect = CONFLICT },
      .keys = KEYS(1, 1, K1) },
    /* libiscsi ProutRegister.Simple: a re-register with RK=0 conflicts. */
    { .name = "register_again_with_zero_reservation_key_conflicts", .clause = "SPC-4 5.14.7", .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) } }, .when = { REGISTER("A1", 0, K3), .expect = CONFLICT },
      .keys = KEYS(1, 1, K1) },
    { .name = "register_key_change_keeps_reservation_with_new_key", .clause = "SPC-4 5.14.7", .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) }, { RESERVE("A1", K1, PR_TYPE_WE) } }, .when = { REGISTER("A1", K1, K2) },
      .keys = KEYS(2, 1, K2), .reservation = RESERVATION(K2, PR_TYPE_WE) },
    { .name = "register_ignore_changes_key_without_checking_it", .clause = "SPC-4 5.14.7", .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) } }, .when = { REGISTER_IGNORE("A1", K3, K2) },
      .keys = KEYS(2, 1, K2) },
    { .name = "keys_are_shared_between_nexuses_and_listed_per_nexus", .clause = "SPC-4 6.15.2", .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) } }, .when = { REGISTER("B2", 0, K1) },
      .keys = KEYS(2, 2, K1, K1) },
    /* Unregistering (service action key 0). */
    { .name = "unregister_removes_registration_and_bumps_generation", .clause = "SPC-4 6.15.2",
      .given = { { REGISTER("A1", 0, K1) } }, .when = { REGISTER("A1", K1, 0) },
      .keys = NO_KEYS(2) },
    { .name = "lio_d14_unregister_keeps_generation", .clause = "D14", .profiles = TH_LIO,
      .given = { { REGISTER("A1", 0, K1) } }, .when = { REGISTER("A1", K1, 0) },
      .keys = NO_KEYS(1) },
    { .name = "unregister_by_holder_of_we_ro_releases_with_ua", .clause = "SPC-4 5.14.11.2.3", .profiles = TH_BOTH,
      UNREGISTER_HOLDER_A(PR_TYPE_WE_RO, UA_RESERVATIONS_RELEASED) },
    { .name = "unregister_by_holder_of_ea_ro_releases_with_ua", .clause = "SPC-4 5.14.11.2.3", .profiles = TH_BOTH,
      UNREGISTER_HOLDER_A(PR_TYPE_EA_RO, UA_RESERVATIONS_RELEASED) },
    { .name = "unregister_by_holder_of_we_releases_silently", .clause = "SPC-4 5.14.11.2.3", .profiles = TH_BOTH,
      UNREGISTER_HOLDER_A(PR_TYPE_WE, NO_UA) },
    { .name = "unregister_by_holder_of_ea_releases_silently", .clause = "SPC-4 5.14.11.2.3", .profiles = TH_BOTH,
      UNREGISTER_HOLDER_A(PR_TYPE_EA, NO_UA) },
    { .name = "unregister_of_one_all_registrants_holder_keeps_reservation", .clause = "SPC-4 5.14.10",
      .profiles = TH_BOTH,
      .given = { GIVEN_A_HOLDS(PR_TYPE_EA_AR) }, .when = { REGISTER("A1", K1, 0) },
      .observer = "B1", .uas = { { "B1", NO_UA } }, .reservation = RESERVATION(0, PR_TYPE_EA_AR) },
    { .name = "unregister_of_last_all_registrants_holder_ends_reservation", .clause = "SPC-4 5.14.10",
      .profiles = TH_BOTH,
      .given = { GIVEN_A_HOLDS(PR_TYPE_EA_AR), { REGISTER("A1", K1, 0) } }, .when = { REGISTER("B1", K2, 0) },
      .reservation = NO_RESERVATION },
    /* APTPL: the last valid value decides. */
    { .name = "register_aptpl_bit_sets_ptpl_a", .clause = "SPC-4 5.14.5", .profiles = TH_BOTH,
      .when = { REGISTER("A1", 0, K1), .flags = FLAG_APTPL },
      .aptpl = APTPL_ON },
    { .name = "register_without_aptpl_bit_clears_ptpl_a", .clause = "SPC-4 5.14.5", .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_APTPL } }, .when = { REGISTER("A1", K1, K2) },
      .aptpl = APTPL_OFF },
    /* ALL_TG_PT: one registration per target port. */
    { .name = "register_all_tg_pt_registers_on_every_target_port", .clause = "SPC-4 5.14.7",
      .when = { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT },
      .observer = "A2", .keys = KEYS(1, 2, K1, K1), .then = { { RESERVE("A2", K1, PR_TYPE_WE) } } },
    { .name = "lio_d12_all_tg_pt_bumps_generation_per_registration", .clause = "D12", .profiles = TH_LIO,
      .when = { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT },
      .keys = KEYS(2, 2, K1, K1) },
    { .name = "all_tg_pt_key_change_applies_to_every_port", .clause = "SPC-4 5.14.7",
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT } },
      .when = { REGISTER("A1", K1, K2), .flags = FLAG_ALL_TG_PT },
      .keys = KEYS(2, 2, K2, K2) },
    /* Even through RIEK (RK 0) the whole registration goes in SPC. */
    { .name = "all_tg_pt_unregister_removes_every_port", .clause = "SPC-4 5.14.7",
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT } },
      .when = { REGISTER_IGNORE("A1", 0, 0), .flags = FLAG_ALL_TG_PT },
      .keys = NO_KEYS(2) },
    /* D12 +2, D14 +0 on unregister; the port-2 registration remains. */
    { .name = "lio_d13_riek_unregister_leaves_sibling_ports", .clause = "D13", .profiles = TH_LIO,
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT } },
      .when = { REGISTER_IGNORE("A1", 0, 0), .flags = FLAG_ALL_TG_PT },
      .observer = "A2", .keys = KEYS(2, 1, K1) },
    /* REGISTER with RK = key removes siblings with that key. */
    { .name = "lio_d13_register_unregister_removes_sibling_ports", .clause = "D13", .profiles = TH_LIO,
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT }, { REGISTER_IGNORE("A1", 0, 0), .flags = FLAG_ALL_TG_PT } },
      .when = { REGISTER("A2", K1, 0), .flags = FLAG_ALL_TG_PT },
      .keys = NO_KEYS(2) },
    { .name = "lio_d10_register_without_all_tg_pt_on_all_tg_pt_registration_invalid", .clause = "D10",
      .profiles = TH_LIO,
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT } },
      .when = { REGISTER("A1", K1, K2), .expect = INVALID_FIELD_IN_CDB },
      .keys = KEYS(2, 2, K1, K1) },
    { .name = "lio_unregister_refused_while_sibling_holds_reservation", .clause = "pr-semantics 3.4.2 (LIO)",
      .profiles = TH_LIO,
      .given = { { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT }, { RESERVE("A2", K1, PR_TYPE_WE) } },
      .when = { REGISTER("A1", K1, 0), .flags = FLAG_ALL_TG_PT, .expect = CONFLICT },
      .keys = KEYS(2, 2, K1, K1), .reservation = RESERVATION(K1, PR_TYPE_WE) },
    /* SPEC_I_PT: the sender and every TransportID, all or nothing. */
    { .name = "spec_i_pt_registers_sender_and_each_transport_id", .clause = "SPC-4 6.16.3",
      .when = { REGISTER("A1", 0, K1), .spec_i_pt = "BC" },
      .keys = KEYS(1, 3, K1, K1, K1), .then = { { RESERVE("B1", K1, PR_TYPE_EA) } } },
    { .name = "spec_i_pt_with_all_tg_pt_registers_on_every_port", .clause = "SPC-4 6.16.3",
      .when = { REGISTER("A1", 0, K1), .flags = FLAG_ALL_TG_PT, .spec_i_pt = "B" },
      .keys = KEYS(1, 4, K1, K1, K1, K1), .then = { { RESERVE("B2", K1, PR_TYPE_WE) } } },
    { .name = "spec_i_pt_from_registered_nexus_is_invalid", .clause = "SPC-4 6.16.3", .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) } },
      .when = { REGISTER("A1", K1, K2), .spec_i_pt = "B", .expect = INVALID_FIELD_IN_PARAM },
      .keys = KEYS(1, 1, K1) },
    { .name = "spec_i_pt_with_register_and_ignore_is_invalid", .clause = "SPC-4 6.16.3", .profiles = TH_BOTH,
      .when = { REGISTER_IGNORE("A1", 0, K2), .spec_i_pt = "B", .expect = INVALID_FIELD_IN_PARAM },
      .keys = NO_KEYS(0) },
    { .name = "spec_i_pt_list_shorter_than_28_is_invalid", .clause = "SPC-4 6.16.3", .profiles = TH_BOTH,
      .when = { REGISTER("A1", 0, K1), .spec_i_pt = "", LIST_LENGTH(24), .expect = INVALID_FIELD_IN_PARAM },
      .keys = NO_KEYS(0) },
    { .name = "spec_i_pt_length_mismatch_is_invalid", .clause = "SPC-4 6.16.3", .profiles = TH_BOTH,
      .when = { REGISTER("A1", 0, K1), .spec_i_pt = "B", .edit = transport_id_length_plus_4, .expect = INVALID_FIELD_IN_PARAM },
      .keys = NO_KEYS(0) },
    { .name = "spec_i_pt_malformed_transport_id_registers_nobody", .clause = "SPC-4 6.16.3", .profiles = TH_BOTH,
      .when = { REGISTER("A1", 0, K1), .spec_i_pt = "B", .edit = malformed_iscsi_transport_id, .expect = INVALID_FIELD_IN_PARAM },
      .keys = NO_KEYS(0) },
    { .name = "spec_i_pt_transport_id_of_other_protocol_is_invalid", .clause = "SPC-4 6.16.3", .profiles = TH_BOTH,
      .when = { REGISTER("A1", 0, K1), .spec_i_pt = "", .edit = fcp_transport_id, .expect = INVALID_FIELD_IN_PARAM },
      .keys = NO_KEYS(0) },
    { .name = "spec_i_pt_already_registered_transport_id_is_invalid", .clause = "SPC-4 6.16.3",
      .given = { { REGISTER("B1", 0, K2) } },
      .when = { REGISTER("A1", 0, K1), .spec_i_pt = "B", .expect = INVALID_FIELD_IN_PARAM },
      .keys = KEYS(1, 1, K2) },
    /* D12: +1 per registration created (A and C). */
    { .name = "lio_d18_spec_i_pt_skips_already_registered_transport_id", .clause = "D18", .profiles = TH_LIO,
      .given = { { REGISTER("B1", 0, K2) } }, .when = { REGISTER("A1", 0, K1), .spec_i_pt = "BC" },
      .keys = KEYS(3, 3, K2, K1, K1) },
    /* SPC: a nexus named twice is an invalid list; LIO skips it (D18). */
    { .name = "spec_i_pt_same_transport_id_twice", .clause = "SPC-4 6.16.3",
      .when = { REGISTER("A1", 0, K1), .spec_i_pt = "BB", .expect = INVALID_FIELD_IN_PARAM },
      .keys = NO_KEYS(0) },
    { .name = "lio_d18_spec_i_pt_same_transport_id_twice", .clause = "D18", .profiles = TH_LIO,
      .when = { REGISTER("A1", 0, K1), .spec_i_pt = "BB" },
      .keys = KEYS(2, 2, K1, K1) },
    /* Resources: REGISTER and SPEC_I_PT against the same limit. */
    { .name = "register_beyond_limit_reports_insufficient_resources", .clause = "SPC-4 6.16.2", .max_registrations = 2,
      .given = { { REGISTER("A1", 0, K1) }, { REGISTER("B1", 0, K2) } },
      .when = { REGISTER("C1", 0, K3), .expect = INSUFFICIENT_REG_RESOURCES },
      .observer = "A1", .keys = KEYS(2, 2, K1, K2) },
    { .name = "spec_i_pt_beyond_limit_registers_nobody", .clause = "SPC-4 6.16.2", .max_registrations = 2,
      .given = { { REGISTER("A1", 0, K1) }, { REGISTER("B1", 0, K2) }, { REGISTER("B1", K2, 0) } },
      .when = { REGISTER("C1", 0, K3), .spec_i_pt = "B", .expect = INSUFFICIENT_REG_RESOURCES },
      .observer = "A1", .keys = KEYS(3, 1, K1) },
    /* Parameter list length (SPC-4 6.16.1, 6.16.3). */
    { .name = "register_list_length_23_is_length_error", .clause = "SPC-4 6.16.3", .profiles = TH_BOTH,
      .when = { REGISTER("A1", 0, K1), LIST_LENGTH(23), .expect = PARAM_LIST_LENGTH_ERROR },
      .keys = NO_KEYS(0) },
    { .name = "register_list_length_32_is_length_error", .clause = "SPC-4 6.16.3", .profiles = TH_BOTH,
      .when = { REGISTER("A1", 0, K1), LIST_LENGTH(32), .expect = PARAM_LIST_LENGTH_ERROR },
      .keys = NO_KEYS(0) },
    { .name = "d9_length_0_as_invalid_field_in_parameter_list", .clause = "D9", .use_deviations = true,
      .deviations = PR_DEV_D9_LENGTH_AS_INVALID_PARAM,
      .when = { REGISTER("A1", 0, 0), LIST_LENGTH(0), .expect = INVALID_FIELD_IN_PARAM },
      .keys = NO_KEYS(0) },
    { .name = "d9_length_32_as_invalid_field_in_parameter_list", .clause = "D9", .use_deviations = true,
      .deviations = PR_DEV_D9_LENGTH_AS_INVALID_PARAM,
      .when = { REGISTER("A1", 0, 0), LIST_LENGTH(32), .expect = INVALID_FIELD_IN_PARAM },
      .keys = NO_KEYS(0) },
    { .name = "parameter_list_shorter_than_announced_is_length_error", .clause = "SPC-4 6.16.1",
      .when = { REGISTER("A1", 0, 0), .edit = list_cut_to_12_bytes, .expect = PARAM_LIST_LENGTH_ERROR },
      .keys = NO_KEYS(0) },
    { .name = "parameter_list_length_uses_all_four_cdb_bytes", .clause = "SPC-4 6.16.1",
      .when = { REGISTER("A1", 0, K1), .edit = length_with_byte_6_set, .expect = PARAM_LIST_LENGTH_ERROR },
      .keys = NO_KEYS(0) },
};

/* ---- rules that need more than a row -------------------------------------- */

static void test_all_tg_pt_registration_is_flagged(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a1 = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a1, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    struct pr_sim_registration_view v;
    assert_true(pr_sim_registration_at(lun, 1, &v));
    assert_true(v.all_tg_pt);
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
    const struct CMUnitTest extra[] = {
        cmocka_unit_test(test_all_tg_pt_registration_is_flagged),
        cmocka_unit_test(test_spec_i_pt_iscsi_device_name_covers_every_port_of_that_device),
        cmocka_unit_test(test_every_key_change_bumps_generation_once),
        cmocka_unit_test(test_many_nexuses_come_and_go),
    };
    return th_run_rules("pr_sim.register", rules, sizeof(rules) / sizeof(rules[0]), extra,
                        sizeof(extra) / sizeof(extra[0]));
}
