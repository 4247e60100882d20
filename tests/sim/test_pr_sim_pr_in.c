/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_pr_in.c - PERSISTENT RESERVE IN data formats and unit
 * attentions (SPC-4 6.15, SAM-5 5.14; pr-semantics.md 2 and 6).
 */
#include <string.h>

#include "sim_table.h"

#define K1 0x1122334455667788ull
#define K2 0x2222222222222222ull

/* A registers K1 and reserves with type; READ RESERVATION (24 bytes) from A. */
static struct pr_sim_result read_reservation_after_a_reserves(enum pr_sim_profile profile,
                                                              uint8_t type, uint8_t buf[24])
{
    struct pr_sim_lun *lun = th_lun(profile);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, type));
    struct pr_sim_result r = th_prin(lun, &a, PR_IN_READ_RESERVATION, 24, buf);
    pr_sim_lun_free(lun);
    return r;
}

static void test_read_reservation_bytes_match_worked_example(void **state)
{
    uint8_t buf[24];
    struct pr_sim_result r = read_reservation_after_a_reserves(TH_PROFILE(state), PR_TYPE_EA, buf);
    assert_good(r);
    static const uint8_t want[24] = { 0, 0, 0, 1, 0, 0, 0, 0x10, 0x11, 0x22, 0x33, 0x44,
                                      0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0, 0x03, 0, 0 };
    assert_int_equal(r.data_len, 24);
    assert_memory_equal(buf, want, 24);
}

static void test_read_reservation_all_registrants_reports_key_zero(void **state)
{
    uint8_t buf[24];
    assert_good(read_reservation_after_a_reserves(TH_PROFILE(state), PR_TYPE_WE_AR, buf));
    static const uint8_t key0[8] = { 0 };
    assert_memory_equal(buf + 8, key0, 8);
    assert_int_equal(buf[21], 0x07);
}

static void test_report_capabilities_bytes_follow_aptpl(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t buf[8];
    static const uint8_t off[8] = { 0x00, 0x08, 0x1d, 0x90, 0xea, 0x01, 0x00, 0x00 };
    static const uint8_t on[8] = { 0x00, 0x08, 0x1d, 0x91, 0xea, 0x01, 0x00, 0x00 };
    struct pr_sim_result r = th_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, 8, buf);
    assert_good(r);
    assert_int_equal(r.data_len, 8);
    assert_memory_equal(buf, off, 8);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, 8, buf));
    assert_memory_equal(buf, on, 8);
    pr_sim_lun_free(lun);
}

/* A (K1) and B (K2) register; HOLDER ('A' or 'B') then reserves TYPE. */
static void a_b_registered(struct pr_sim_lun *lun, const struct pr_sim_nexus *a,
                           const struct pr_sim_nexus *b, char holder, unsigned type)
{
    th_register_pair(lun, a, K1, b, K2);
    if (holder == 'A')
        assert_good(th_reserve(lun, a, K1, type));
    else
        assert_good(th_reserve(lun, b, K2, type));
}

static void test_read_full_status_describes_each_nexus_and_holder(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    a_b_registered(lun, &a, &b, 'B', PR_TYPE_WE_RO);
    uint8_t buf[1024], tida[PR_TID_MAX_LEN], tidb[PR_TID_MAX_LEN];
    size_t la = pr_tid_build(&a.initiator, tida, sizeof(tida));
    size_t lb = pr_tid_build(&b.initiator, tidb, sizeof(tidb));
    struct pr_sim_result r = th_prin(lun, &a, PR_IN_READ_FULL_STATUS, sizeof(buf), buf);
    assert_good(r);
    size_t addlen = 24 + la + 24 + lb;
    assert_int_equal(r.data_len, 8 + addlen);
    assert_int_equal(scsi_get_be32(buf), 2);
    assert_int_equal(scsi_get_be32(buf + 4), addlen);
    const uint8_t *d = buf + 8;
    assert_int_equal(scsi_get_be64(d), K1);
    assert_int_equal(d[12], 0);    /* not a holder, not ALL_TG_PT */
    assert_int_equal(d[13], 0);    /* scope/type only for holders */
    assert_int_equal(scsi_get_be16(d + 18), 1);
    assert_int_equal(scsi_get_be32(d + 20), la);
    assert_memory_equal(d + 24, tida, la);
    d += 24 + la;
    assert_int_equal(scsi_get_be64(d), K2);
    assert_int_equal(d[12], PR_FULL_STATUS_R_HOLDER);
    assert_int_equal(d[13], PR_TYPE_WE_RO);
    assert_int_equal(scsi_get_be16(d + 18), 2);
    assert_memory_equal(d + 24, tidb, lb);
    pr_sim_lun_free(lun);
}

static void test_read_full_status_all_registrants_every_descriptor_is_holder(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    a_b_registered(lun, &a, &b, 'A', PR_TYPE_EA_AR);
    uint8_t buf[1024];
    assert_good(th_prin(lun, &a, PR_IN_READ_FULL_STATUS, sizeof(buf), buf));
    const uint8_t *d = buf + 8;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(d[12] & PR_FULL_STATUS_R_HOLDER, PR_FULL_STATUS_R_HOLDER);
        assert_int_equal(d[13], PR_TYPE_EA_AR);
        d += 24 + scsi_get_be32(d + 20);
    }
    pr_sim_lun_free(lun);
}

static void test_read_full_status_all_tg_pt_descriptors_flagged(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    bool lio = TH_PROFILE(state) == PR_SIM_PROFILE_LIO;
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    uint8_t buf[1024];
    assert_good(th_prin(lun, &a, PR_IN_READ_FULL_STATUS, sizeof(buf), buf));
    const uint8_t *d = buf + 8;
    for (uint16_t port = 1; port <= 2; port++) {
        assert_int_equal(d[12], PR_FULL_STATUS_ALL_TG_PT);
        /* RTPI is undefined with ALL_TG_PT: spc4 gives the port, LIO 0. */
        assert_int_equal(scsi_get_be16(d + 18), lio ? 0 : port);
        d += 24 + scsi_get_be32(d + 20);
    }
    pr_sim_lun_free(lun);
}

static void test_pr_in_reserved_service_action_is_invalid_field_in_cdb(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t buf[64];
    for (uint8_t sa = 4; sa < 0x20; sa++)
        assert_check(th_prin(lun, &a, sa, sizeof(buf), buf), SENSE_INVALID_FIELD_IN_CDB);
    pr_sim_lun_free(lun);
}

static void test_pr_in_never_changes_generation(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    uint8_t buf[256];
    for (uint8_t sa = 0; sa < 4; sa++)
        assert_good(th_prin(lun, &a, sa, sizeof(buf), buf));
    assert_int_equal(pr_sim_generation(lun), 1);
    pr_sim_lun_free(lun);
}

/*
 * PR IN answers by allocation length (SPC-4 6.15; pr-semantics.md 2.2)
 * and LIO's D1-D3: the state (given), the service action and allocation
 * length, and the answer: status, bytes transferred, ADDITIONAL LENGTH
 * and, where a row says so, the reservation key bytes.
 */
struct prin_rule {
    struct th_rule_id id;
    enum pr_sim_profile profile;
    bool use_deviations;
    uint32_t deviations;
    struct th_step given[4];
    uint8_t sa;
    uint16_t alloc;
    enum th_answer expect;
    int data_len;         /* -1: not checked */
    int64_t addlen;       /* -1: not checked */
    bool key_zero;        /* bytes 8-15 are 0 */
};

#define A_AND_B_REGISTERED { REGISTER("A1", 0, K1) }, { REGISTER("B1", 0, K2) }

static const struct prin_rule prin_rules[] = {
    /* The full ADDITIONAL LENGTH, whatever the allocation length. */
    { { "pr_in_truncation_keeps_full_additional_length", "SPC-4 6.15.1; pr-semantics 2.2" },
      PR_SIM_PROFILE_SPC4, false, 0, { A_AND_B_REGISTERED },
      PR_IN_READ_KEYS, 12, GOOD, 12, 16, false },
    /* Allocation length 0 is not an error and transfers nothing. */
    { { "pr_in_allocation_length_0_transfers_nothing", "SPC-4 6.15.1; pr-semantics 2.2" },
      PR_SIM_PROFILE_SPC4, false, 0, { A_AND_B_REGISTERED },
      PR_IN_READ_FULL_STATUS, 0, GOOD, 0, -1, false },
    { { "lio_d1_read_keys_allocation_length_7_is_invalid_field_in_cdb", "D1" },
      PR_SIM_PROFILE_LIO, false, 0, { { 0 } },
      PR_IN_READ_KEYS, 7, INVALID_FIELD_IN_CDB, -1, -1, false },
    { { "lio_d1_report_capabilities_allocation_length_5_is_invalid_field_in_cdb", "D1" },
      PR_SIM_PROFILE_LIO, false, 0, { { 0 } },
      PR_IN_REPORT_CAPABILITIES, 5, INVALID_FIELD_IN_CDB, -1, -1, false },
    { { "lio_d1_report_capabilities_allocation_length_6_is_good", "D1" },
      PR_SIM_PROFILE_LIO, false, 0, { { 0 } },
      PR_IN_REPORT_CAPABILITIES, 6, GOOD, 6, -1, false },
    { { "d2_read_keys_additional_length_counts_returned_keys", "D2" },
      PR_SIM_PROFILE_SPC4, true, PR_DEV_D2_READ_KEYS_LEN_RETURNED, { A_AND_B_REGISTERED },
      PR_IN_READ_KEYS, 16, GOOD, 16, 8, false },
    { { "lio_d3_short_read_reservation_sends_key_as_zero", "D3" },
      PR_SIM_PROFILE_LIO, false, 0, { { REGISTER("A1", 0, K1) }, { RESERVE("A1", K1, PR_TYPE_WE) } },
      PR_IN_READ_RESERVATION, 16, GOOD, 16, 16, true },
};

static void test_prin_rule(void **state)
{
    const struct prin_rule *r = *state;
    struct pr_sim_lun *lun = th_lun_for(r->profile, r->use_deviations, r->deviations, 0);
    th_send_steps(r->id.name, lun, r->given, sizeof(r->given) / sizeof(r->given[0]), "given");
    struct pr_sim_nexus a = th_nexus('A', 1);
    uint8_t buf[256];
    memset(buf, 0xee, sizeof(buf));
    struct pr_sim_result res = th_prin(lun, &a, r->sa, r->alloc, buf);
    th_expect_answer(r->id.name, "PERSISTENT RESERVE IN", res, r->expect);
    if (r->data_len >= 0 && res.data_len != (size_t)r->data_len)
        fail_msg("%s: %u bytes transferred, want %d", r->id.name, (unsigned)res.data_len,
                 r->data_len);
    if (r->data_len >= 0 && (size_t)r->data_len < sizeof(buf) && buf[r->data_len] != 0xee)
        fail_msg("%s: byte %d written past the transfer", r->id.name, r->data_len);
    if (r->addlen >= 0 && scsi_get_be32(buf + 4) != (uint32_t)r->addlen)
        fail_msg("%s: ADDITIONAL LENGTH %u, want %lld", r->id.name, scsi_get_be32(buf + 4),
                 (long long)r->addlen);
    if (r->key_zero && scsi_get_be64(buf + 8) != 0)
        fail_msg("%s: reservation key %#llx, want 0", r->id.name,
                 (unsigned long long)scsi_get_be64(buf + 8));
    pr_sim_lun_free(lun);
}

/* The first bytes of the first key arrive when the list is cut. */
static void test_pr_in_truncation_sends_the_first_bytes_of_the_data(void **state)
{
    (void)state;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = th_lun_registered(PR_SIM_PROFILE_SPC4, &a, K1, &b, K2);
    uint8_t buf[64];
    assert_good(th_prin(lun, &a, PR_IN_READ_KEYS, 12, buf));
    static const uint8_t part[4] = { 0x11, 0x22, 0x33, 0x44 };
    assert_memory_equal(buf + 8, part, 4);
    pr_sim_lun_free(lun);
}

static void test_pr_in_data_clipped_to_caller_buffer(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register(lun, &a, 0, K1));
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0x20, 0, 0 };
    uint8_t buf[10];
    struct pr_sim_result r;
    pr_sim_execute(lun, &a, cdb, 10, NULL, 0, buf, sizeof(buf), &r);
    assert_good(r);
    assert_int_equal(r.data_len, 10);
    pr_sim_lun_free(lun);
}

static void test_lio_d4_full_status_stops_at_first_descriptor_that_does_not_fit(void **state)
{
    (void)state;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = th_lun_registered(PR_SIM_PROFILE_LIO, &a, K1, &b, K2);
    uint8_t tid[PR_TID_MAX_LEN];
    size_t d = 24 + pr_tid_build(&a.initiator, tid, sizeof(tid));
    uint8_t buf[1024];
    struct pr_sim_result r = th_prin(lun, &a, PR_IN_READ_FULL_STATUS, (uint16_t)(8 + d + 10), buf);
    assert_good(r);
    assert_int_equal(scsi_get_be32(buf + 4), d);
    assert_int_equal(r.data_len, 8 + d);
    pr_sim_lun_free(lun);
}

/* A (K1) and B (K2) register, then A's CLEAR leaves B a RESERVATIONS
 * PREEMPTED unit attention (SPC-4 5.14.11.2.6). */
static struct pr_sim_lun *cleared_by_a(enum pr_sim_profile profile, const struct pr_sim_nexus *a,
                                       const struct pr_sim_nexus *b)
{
    struct pr_sim_lun *lun = th_lun_registered(profile, a, K1, b, K2);
    assert_good(th_clear(lun, a, K1));
    return lun;
}

static void test_unit_attention_reported_once_then_cleared(void **state)
{
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = cleared_by_a(TH_PROFILE(state), &a, &b);
    /* A PR IN is not exempt: it reports the UA. */
    uint8_t buf[64];
    assert_check(th_prin(lun, &b, PR_IN_READ_KEYS, sizeof(buf), buf),
                 SENSE_UA_RESERVATIONS_PREEMPTED);
    assert_good(th_prin(lun, &b, PR_IN_READ_KEYS, sizeof(buf), buf));
    pr_sim_lun_free(lun);
}

static void test_unit_attention_not_reported_to_inquiry_or_report_luns(void **state)
{
    (void)state;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = cleared_by_a(PR_SIM_PROFILE_SPC4, &a, &b);
    const uint8_t inquiry[6] = { SCSI_OP_INQUIRY }, luns[12] = { SCSI_OP_REPORT_LUNS };
    assert_good(th_cmd(lun, &b, inquiry, 6));
    assert_good(th_cmd(lun, &b, luns, 12));
    th_expect_ua(lun, &b, SENSE_UA_RESERVATIONS_PREEMPTED);
    pr_sim_lun_free(lun);
}

static void test_request_sense_returns_unit_attention_as_data(void **state)
{
    (void)state;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = cleared_by_a(PR_SIM_PROFILE_SPC4, &a, &b);
    const uint8_t rs[6] = { SCSI_OP_REQUEST_SENSE, 0, 0, 0, 18, 0 };
    uint8_t buf[32];
    struct pr_sim_result r;
    pr_sim_execute(lun, &b, rs, 6, NULL, 0, buf, sizeof(buf), &r);
    assert_good(r);
    assert_int_equal(r.data_len, 18);
    struct scsi_sense s;
    assert_true(scsi_sense_decode(buf, r.data_len, &s));
    assert_true(scsi_sense_equal(s, SENSE_UA_RESERVATIONS_PREEMPTED));
    th_expect_no_ua(lun, &b);
    /* With nothing pending: NO SENSE; descriptor format on DESC=1. */
    const uint8_t rs_desc[6] = { SCSI_OP_REQUEST_SENSE, 1, 0, 0, 8, 0 };
    pr_sim_execute(lun, &b, rs_desc, 6, NULL, 0, buf, sizeof(buf), &r);
    assert_good(r);
    assert_int_equal(r.data_len, 8);
    assert_int_equal(buf[0], 0x72);
    pr_sim_lun_free(lun);
}

static void test_unit_attention_comes_before_reservation_conflict(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    a_b_registered(lun, &a, &b, 'B', PR_TYPE_EA);
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_EA, false));
    assert_check(th_write10(lun, &b), SENSE_UA_REGISTRATIONS_PREEMPTED);
    assert_conflict(th_write10(lun, &b));
    pr_sim_lun_free(lun);
}

static void test_several_unit_attentions_come_out_one_per_command(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_int_equal(pr_sim_queue_ua(lun, &a, SENSE_UA_POWER_ON_RESET), 0);
    assert_int_equal(pr_sim_queue_ua(lun, &a, SENSE_UA_RESERVATIONS_RELEASED), 0);
    assert_int_equal(pr_sim_queue_ua(lun, &a, SENSE_UA_POWER_ON_RESET), 0); /* same: once */
    assert_int_equal(pr_sim_pending_ua_count(lun, &a), 2);
    const uint8_t tur[6] = { 0 };
    assert_check(th_cmd(lun, &a, tur, 6), SENSE_UA_POWER_ON_RESET);
    assert_check(th_cmd(lun, &a, tur, 6), SENSE_UA_RESERVATIONS_RELEASED);
    assert_good(th_cmd(lun, &a, tur, 6));
    pr_sim_lun_free(lun);
}

static void test_unit_attention_queue_is_bounded(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    for (uint8_t q = 0; q < 40; q++)
        assert_int_equal(pr_sim_queue_ua(lun, &a, SCSI_SENSE_CODE(6, 0x3f, q)), 0);
    assert_int_equal(pr_sim_pending_ua_count(lun, &a), 16);
    /* The oldest conditions are the ones kept. */
    assert_check(th_cmd(lun, &a, (const uint8_t[6]){ 0 }, 6), SCSI_SENSE_CODE(6, 0x3f, 0));
    pr_sim_lun_free(lun);
}

static void test_lio_d19_unit_attention_reaches_every_session_of_initiator(void **state)
{
    bool lio = TH_PROFILE(state) == PR_SIM_PROFILE_LIO;
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_nexus b2 = th_other_session(&b, 0x77);
    th_expect_no_ua(lun, &b2); /* b2 is a known nexus now */
    th_register_pair(lun, &a, K1, &b, K2);
    assert_good(th_clear(lun, &a, K1));
    assert_int_equal(pr_sim_pending_ua_count(lun, &b2), lio ? 1 : 0);
    pr_sim_lun_free(lun);
}

/* A registers (FLAGS: APTPL or not) and reserves Exclusive Access; the
 * LUN is power-cycled; A's next command reports POWER ON RESET. */
static void power_cycle_after_a_reserves(struct pr_sim_lun *lun, const struct pr_sim_nexus *a,
                                         uint8_t flags)
{
    assert_good(th_register_flags(lun, a, 0, K1, flags));
    assert_good(th_reserve(lun, a, K1, PR_TYPE_EA));
    pr_sim_power_cycle(lun);
    th_expect_ua(lun, a, SENSE_UA_POWER_ON_RESET);
}

static void test_power_cycle_without_aptpl_drops_state_and_sets_power_on_ua(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    power_cycle_after_a_reserves(lun, &a, 0);
    th_expect_no_keys(lun, &a, 0);
    th_expect_no_reservation(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_power_cycle_with_aptpl_keeps_registrations_and_reservation(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    power_cycle_after_a_reserves(lun, &a, PR_OUT_FLAG_APTPL);
    th_expect_keys(lun, &a, 0, 1, K1);
    th_expect_reservation(lun, &a, K1, PR_TYPE_EA);
    pr_sim_lun_free(lun);
}

static void test_nexus_loss_forgets_a_nexus_that_holds_nothing(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    th_expect_no_ua(lun, &b);
    assert_good(th_register(lun, &a, 0, K1));
    pr_sim_nexus_loss(lun, &b);
    pr_sim_nexus_loss(lun, &a); /* registered: kept */
    pr_sim_power_cycle(lun);
    /* Only the nexus still known gets POWER ON RESET. */
    assert_int_equal(pr_sim_pending_ua_count(lun, &a), 1);
    assert_int_equal(pr_sim_pending_ua_count(lun, &b), 0);
    pr_sim_lun_free(lun);
}

static void test_nexus_forget_drops_unit_attentions_of_a_gone_nexus(void **state)
{
    (void)state;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = cleared_by_a(PR_SIM_PROFILE_SPC4, &a, &b);
    pr_sim_nexus_loss(lun, &b); /* a UA keeps b known */
    assert_int_equal(pr_sim_pending_ua_count(lun, &b), 1);
    pr_sim_nexus_forget(lun, &b);
    assert_int_equal(pr_sim_pending_ua_count(lun, &b), 0);
    pr_sim_power_cycle(lun);
    assert_int_equal(pr_sim_pending_ua_count(lun, &b), 0); /* forgotten */
    pr_sim_nexus_forget(lun, &b); /* unknown: harmless */
    /* A registered nexus keeps its registration. */
    th_clear_ua(lun, &a);
    assert_good(th_register(lun, &a, 0, K1));
    pr_sim_nexus_forget(lun, &a);
    th_expect_keys(lun, &b, 1, 1, K1);
    pr_sim_lun_free(lun);
}

static void test_invalid_nexus_or_short_cdb_gets_check_condition(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus bad;
    memset(&bad, 0, sizeof(bad));
    bad.rtpi = 1;
    bad.initiator.proto = PR_TID_PROTO_ISCSI; /* empty name */
    const uint8_t tur[6] = { 0 };
    assert_check(th_cmd(lun, &bad, tur, 6), SENSE_INTERNAL_TARGET_FAILURE);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_check(th_cmd(lun, &a, tur, 3), SENSE_INVALID_OPCODE);
    const uint8_t prin[6] = { SCSI_OP_PERSISTENT_RESERVE_IN };
    assert_check(th_cmd(lun, &a, prin, 6), SENSE_INVALID_FIELD_IN_CDB);
    struct pr_sim_nexus zero = th_nexus('A', 0);
    assert_check(th_cmd(lun, &zero, tur, 6), SENSE_INTERNAL_TARGET_FAILURE);
    pr_sim_lun_free(lun);
}

static void test_profile_names_parse_and_print(void **state)
{
    (void)state;
    enum pr_sim_profile p;
    assert_true(pr_sim_profile_parse("lio", &p));
    assert_int_equal(p, PR_SIM_PROFILE_LIO);
    assert_true(pr_sim_profile_parse("spc4", &p));
    assert_int_equal(p, PR_SIM_PROFILE_SPC4);
    assert_false(pr_sim_profile_parse("spc5", &p));
    assert_string_equal(pr_sim_profile_name(PR_SIM_PROFILE_LIO), "lio");
    assert_string_equal(pr_sim_profile_name(PR_SIM_PROFILE_SPC4), "spc4");
    assert_int_equal(pr_sim_profile_deviations(PR_SIM_PROFILE_SPC4), 0);
    uint32_t lio = pr_sim_profile_deviations(PR_SIM_PROFILE_LIO);
    assert_int_equal(lio & (PR_DEV_D2_READ_KEYS_LEN_RETURNED | PR_DEV_D9_LENGTH_AS_INVALID_PARAM), 0);
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    assert_int_equal(pr_sim_lun_deviations(lun), lio);
    assert_int_equal(pr_sim_lun_add_port(lun, 0, PR_TID_PROTO_ISCSI), -22);
    pr_sim_lun_free(lun);
    pr_sim_lun_free(NULL);
}

static void test_registration_views_report_order_and_holder(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    a_b_registered(lun, &a, &b, 'B', PR_TYPE_WE);
    struct pr_sim_registration_view v;
    assert_int_equal(pr_sim_registration_count(lun), 2);
    assert_true(pr_sim_registration_at(lun, 0, &v));
    assert_int_equal(v.key, K1);
    assert_false(v.holder);
    assert_true(pr_sim_registration_at(lun, 1, &v));
    assert_int_equal(v.nexus.rtpi, 2);
    assert_true(v.holder);
    assert_false(pr_sim_registration_at(lun, 2, &v));
    assert_int_equal(pr_sim_reservation_type(lun), PR_TYPE_WE);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_read_reservation_bytes_match_worked_example),
        TH_BOTH(test_read_reservation_all_registrants_reports_key_zero),
        TH_BOTH(test_report_capabilities_bytes_follow_aptpl),
        cmocka_unit_test(test_read_full_status_describes_each_nexus_and_holder),
        TH_BOTH(test_read_full_status_all_registrants_every_descriptor_is_holder),
        TH_BOTH(test_read_full_status_all_tg_pt_descriptors_flagged),
        TH_BOTH(test_pr_in_reserved_service_action_is_invalid_field_in_cdb),
        TH_BOTH(test_pr_in_never_changes_generation),
        cmocka_unit_test(test_pr_in_truncation_sends_the_first_bytes_of_the_data),
        cmocka_unit_test(test_pr_in_data_clipped_to_caller_buffer),
        cmocka_unit_test(test_lio_d4_full_status_stops_at_first_descriptor_that_does_not_fit),
        TH_BOTH(test_unit_attention_reported_once_then_cleared),
        cmocka_unit_test(test_unit_attention_not_reported_to_inquiry_or_report_luns),
        cmocka_unit_test(test_request_sense_returns_unit_attention_as_data),
        TH_BOTH(test_unit_attention_comes_before_reservation_conflict),
        cmocka_unit_test(test_several_unit_attentions_come_out_one_per_command),
        cmocka_unit_test(test_unit_attention_queue_is_bounded),
        TH_BOTH(test_lio_d19_unit_attention_reaches_every_session_of_initiator),
        TH_BOTH(test_power_cycle_without_aptpl_drops_state_and_sets_power_on_ua),
        TH_BOTH(test_power_cycle_with_aptpl_keeps_registrations_and_reservation),
        cmocka_unit_test(test_nexus_loss_forgets_a_nexus_that_holds_nothing),
        cmocka_unit_test(test_nexus_forget_drops_unit_attentions_of_a_gone_nexus),
        cmocka_unit_test(test_invalid_nexus_or_short_cdb_gets_check_condition),
        cmocka_unit_test(test_profile_names_parse_and_print),
        cmocka_unit_test(test_registration_views_report_order_and_holder),
    };
    return th_run_table("pr_sim.pr_in", test_prin_rule, prin_rules, tests);
}
