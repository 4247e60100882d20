/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_conflict.c - which commands a reservation lets through:
 * the SPC-4/SBC-3 table (pr-semantics.md section 5), LIO's algorithm
 * (5.1, D17) and the SPC-2 RESERVE/RELEASE interplay (section 8).
 * One test per row of the table; each checks all six types, from a
 * registered and from an unregistered non-holder, plus the holder.
 */
#include <string.h>

#include "sim_table.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull

static const unsigned all_types[] = { PR_TYPE_WE, PR_TYPE_EA, PR_TYPE_WE_RO,
                                      PR_TYPE_EA_RO, PR_TYPE_WE_AR, PR_TYPE_EA_AR };

/* Expected answer for a table row: columns WE, EA, RR-reg, WE_RR-unreg, EA_RR-unreg. */
struct row {
    bool we, ea, rr_reg, we_rr_unreg, ea_rr_unreg;
};

static bool expected(const struct row *r, unsigned type, bool registered)
{
    if (type == PR_TYPE_WE)
        return r->we;
    if (type == PR_TYPE_EA)
        return r->ea;
    if (registered)
        return r->rr_reg;
    return pr_type_is_write_exclusive(type) ? r->we_rr_unreg : r->ea_rr_unreg;
}

/* A (K1) holds a reservation of TYPE; B (K2) is registered on port 1;
 * C, on port C_PORT, is not. */
static struct pr_sim_lun *a_holds(enum pr_sim_profile p, unsigned type, uint8_t c_port,
                                  struct pr_sim_nexus *a, struct pr_sim_nexus *b,
                                  struct pr_sim_nexus *c)
{
    struct pr_sim_lun *lun = th_lun(p);
    *a = th_nexus('A', 1), *b = th_nexus('B', 1), *c = th_nexus('C', c_port);
    th_register_pair(lun, a, K1, b, K2);
    assert_good(th_reserve(lun, a, K1, (uint8_t)type));
    return lun;
}

/* For every type: holder H (A) reserves; B registered, C not. */
static void check_row(const char *name, enum pr_sim_profile p, const uint8_t *cdb, size_t len,
                      struct row r)
{
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_nexus a, b, c;
        struct pr_sim_lun *lun = a_holds(p, all_types[i], 2, &a, &b, &c);
        uint8_t want_b = expected(&r, all_types[i], true) ? SCSI_STATUS_GOOD
                                                          : SCSI_STATUS_RESERVATION_CONFLICT;
        uint8_t want_c = expected(&r, all_types[i], false) ? SCSI_STATUS_GOOD
                                                           : SCSI_STATUS_RESERVATION_CONFLICT;
        /* All-registrants: B holds it too. */
        if (pr_type_is_all_registrants(all_types[i]))
            want_b = SCSI_STATUS_GOOD;
        if (pr_sim_check_access(lun, &b, cdb, len) != want_b ||
            pr_sim_check_access(lun, &c, cdb, len) != want_c)
            fail_msg("%s: opcode %02xh type %s: registered %s (want %s), unregistered %s (want %s)",
                     name, cdb[0], pr_type_name(all_types[i]),
                     scsi_status_name(pr_sim_check_access(lun, &b, cdb, len)),
                     scsi_status_name(want_b),
                     scsi_status_name(pr_sim_check_access(lun, &c, cdb, len)),
                     scsi_status_name(want_c));
        /* The holder is never refused; execute agrees with the check. */
        assert_int_equal(pr_sim_check_access(lun, &a, cdb, len), SCSI_STATUS_GOOD);
        assert_int_equal(th_cmd(lun, &c, cdb, len).status, want_c);
        pr_sim_lun_free(lun);
    }
}

#define ALLOWED { true, true, true, true, true }
#define READLIKE { true, false, true, true, false }
#define WRITELIKE { false, false, true, false, false }

/*
 * The SPC-4/SBC-3 table (spc4 profile), one row per command class: every
 * command of the class, under each of the six types, from the holder, a
 * registered and an unregistered non-holder (check_row).
 */
struct class_rule {
    struct th_rule_id id;
    struct row answer;
    size_t ncdbs;
    uint8_t cdbs[32][16];
};

#define SPC_TABLE "SPC-4 5.14.3 table 63, SBC-3 4.18.2"

static const struct class_rule class_rules[] = {
    { { "conflict_identity_and_status_commands_always_allowed", SPC_TABLE }, ALLOWED, 16,
      { { 0x12 },           /* INQUIRY */
        { 0xa0 },           /* REPORT LUNS */
        { 0x03 },           /* REQUEST SENSE */
        { 0x4d },           /* LOG SENSE */
        { 0x5e, 0x00 },     /* PERSISTENT RESERVE IN */
        { 0x86 }, { 0x87 }, /* ACCESS CONTROL IN/OUT */
        { 0xab, 0x01 },     /* READ MEDIA SERIAL NUMBER */
        { 0xa3, 0x0b }, { 0xa3, 0x05 }, { 0xa3, 0x0e }, { 0xa3, 0x0a }, { 0xa3, 0x0f },
        { 0x00 },           /* TEST UNIT READY, ALLOW COMMANDS 001b */
        { 0x25 },           /* READ CAPACITY(10) */
        { 0x9e, 0x10 } } }, /* READ CAPACITY(16) */
    { { "conflict_mode_sense_class_blocked_by_exclusive_access", SPC_TABLE }, READLIKE, 9,
      { { 0x1a }, { 0x5a }, { 0x8c }, { 0x3c }, { 0x1c }, { 0xa2 },
        { 0xa3, 0x0c }, { 0xa3, 0x0d }, { 0xa3, 0x10 } } },
    { { "conflict_reads_blocked_by_exclusive_access", SPC_TABLE }, READLIKE, 15,
      { { 0x08 }, { 0x28 }, { 0xa8 }, { 0x88 },       /* READ(6/10/12/16) */
        { 0x2f }, { 0xaf }, { 0x8f },                 /* VERIFY */
        { 0x34 }, { 0x90 },                           /* PRE-FETCH */
        { 0x9e, 0x12 }, { 0x37 }, { 0xb7 }, { 0x3e }, { 0x9e, 0x11 },
        { 0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0x00, 0x09 } } }, /* READ(32) */
    { { "conflict_writes_allowed_only_to_registrants_of_ro_ar", SPC_TABLE }, WRITELIKE, 27,
      { { 0x0a }, { 0x2a }, { 0xaa }, { 0x8a },       /* WRITE */
        { 0x2e }, { 0x41 }, { 0x93 }, { 0x89 }, { 0x8b }, { 0x42 },
        { 0x35 }, { 0x91 }, { 0x04 }, { 0x07 }, { 0x48 },
        { 0x15 }, { 0x55 }, { 0x4c }, { 0x3b }, { 0x8d }, { 0x1d }, { 0xb5 }, { 0xa4 },
        { 0x83 }, { 0x84 },
        { 0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0x00, 0x0b },  /* WRITE(32) */
        { 0xc0 } } },                                 /* vendor specific */
    { { "conflict_start_stop_unit_start_allowed", SPC_TABLE }, ALLOWED, 1,
      { { 0x1b, 0, 0, 0, 0x01 } } },
    { { "conflict_start_stop_unit_stop_or_eject_is_write", SPC_TABLE }, WRITELIKE, 2,
      { { 0x1b, 0, 0, 0, 0x00 }, { 0x1b, 0, 0, 0, 0x11 } } },
    { { "conflict_prevent_allow_zero_allowed", SPC_TABLE }, ALLOWED, 1,
      { { 0x1e, 0, 0, 0, 0x00 } } },
    { { "conflict_prevent_allow_prevent_is_write", SPC_TABLE }, WRITELIKE, 1,
      { { 0x1e, 0, 0, 0, 0x01 } } },
};

static void test_class_rule(void **state)
{
    const struct class_rule *r = *state;
    for (size_t i = 0; i < r->ncdbs; i++)
        check_row(r->id.name, PR_SIM_PROFILE_SPC4, r->cdbs[i], 16, r->answer);
}

/*
 * Single access decisions: A1 holds a reservation of the row's type, B1
 * is registered, C2 is not; pr_sim_check_access for the row's nexus and
 * CDB must give the row's status.
 */
struct access_rule {
    struct th_rule_id id;
    enum pr_sim_profile profile;
    unsigned type;
    const char *who;
    uint8_t cdb[16];
    size_t len;
    uint8_t want;
};

#define OK SCSI_STATUS_GOOD
#define RC SCSI_STATUS_RESERVATION_CONFLICT
#define SPC4 PR_SIM_PROFILE_SPC4
#define LIO PR_SIM_PROFILE_LIO
#define PR_OUT(sa) { 0x5f, (sa), PR_TYPE_WE_RO, 0, 0, 0, 0, 0, 24, 0 }, 10

static const struct access_rule access_rules[] = {
    /* PR OUT from a non-holder, by service action: registered: REGISTER,
     * RIEK, RELEASE, CLEAR, PREEMPT(+ABORT) pass; unregistered: only
     * REGISTER and RIEK.  RESERVE and REGISTER AND MOVE conflict for both. */
    { { "pr_out_register_from_registered_non_holder_allowed", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "B1", PR_OUT(PR_OUT_REGISTER), OK },
    { { "pr_out_register_from_unregistered_allowed", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "C2", PR_OUT(PR_OUT_REGISTER), OK },
    { { "pr_out_riek_from_registered_non_holder_allowed", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "B1", PR_OUT(PR_OUT_REGISTER_AND_IGNORE), OK },
    { { "pr_out_riek_from_unregistered_allowed", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "C2", PR_OUT(PR_OUT_REGISTER_AND_IGNORE), OK },
    { { "pr_out_reserve_from_registered_non_holder_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "B1", PR_OUT(PR_OUT_RESERVE), RC },
    { { "pr_out_reserve_from_unregistered_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "C2", PR_OUT(PR_OUT_RESERVE), RC },
    { { "pr_out_release_from_registered_non_holder_allowed", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "B1", PR_OUT(PR_OUT_RELEASE), OK },
    { { "pr_out_release_from_unregistered_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "C2", PR_OUT(PR_OUT_RELEASE), RC },
    { { "pr_out_clear_from_registered_non_holder_allowed", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "B1", PR_OUT(PR_OUT_CLEAR), OK },
    { { "pr_out_clear_from_unregistered_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "C2", PR_OUT(PR_OUT_CLEAR), RC },
    { { "pr_out_preempt_from_registered_non_holder_allowed", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "B1", PR_OUT(PR_OUT_PREEMPT), OK },
    { { "pr_out_preempt_from_unregistered_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "C2", PR_OUT(PR_OUT_PREEMPT), RC },
    { { "pr_out_preempt_and_abort_from_registered_non_holder_allowed", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "B1", PR_OUT(PR_OUT_PREEMPT_AND_ABORT), OK },
    { { "pr_out_preempt_and_abort_from_unregistered_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "C2", PR_OUT(PR_OUT_PREEMPT_AND_ABORT), RC },
    { { "pr_out_register_and_move_from_registered_non_holder_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "B1", PR_OUT(PR_OUT_REGISTER_AND_MOVE), RC },
    { { "pr_out_register_and_move_from_unregistered_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE_RO, "C2", PR_OUT(PR_OUT_REGISTER_AND_MOVE), RC },
    /* D17: under WE, LIO lets an unregistered nexus issue commands that
     * move no data; the spc4 table refuses the same commands. */
    { { "lio_d17_we_unregistered_may_issue_synchronize_cache", "D17" }, LIO, PR_TYPE_WE, "C2", { 0x35 }, 10, OK },
    { { "lio_d17_we_unregistered_may_issue_start_stop_unit_stop", "D17" }, LIO, PR_TYPE_WE, "C2", { 0x1b, 0, 0, 0, 0x00 }, 6, OK },
    { { "lio_d17_we_unregistered_may_issue_prevent", "D17" }, LIO, PR_TYPE_WE, "C2", { 0x1e, 0, 0, 0, 0x01 }, 6, OK },
    { { "lio_d17_we_unregistered_may_issue_format_unit_without_data", "D17" }, LIO, PR_TYPE_WE, "C2", { 0x04 }, 6, OK },
    { { "lio_d17_we_unregistered_may_issue_send_diagnostic_without_data", "D17" }, LIO, PR_TYPE_WE, "C2", { 0x1d }, 6, OK },
    { { "lio_d17_we_unregistered_may_issue_receive_copy_results", "D17" }, LIO, PR_TYPE_WE, "C2", { 0x84 }, 16, OK },
    { { "we_unregistered_synchronize_cache_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE, "C2", { 0x35 }, 10, RC },
    { { "we_unregistered_start_stop_unit_stop_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE, "C2", { 0x1b, 0, 0, 0, 0x00 }, 6, RC },
    { { "we_unregistered_prevent_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE, "C2", { 0x1e, 0, 0, 0, 0x01 }, 6, RC },
    { { "we_unregistered_format_unit_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE, "C2", { 0x04 }, 6, RC },
    { { "we_unregistered_send_diagnostic_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE, "C2", { 0x1d }, 6, RC },
    { { "we_unregistered_receive_copy_results_conflicts", SPC_TABLE }, SPC4, PR_TYPE_WE, "C2", { 0x84 }, 16, RC },
    { { "lio_d17_we_registered_refused_verify", "D17" }, LIO, PR_TYPE_WE, "B1", { 0x2f }, 10, RC },
    { { "lio_d17_we_registered_allowed_tur", "D17" }, LIO, PR_TYPE_WE, "B1", { 0x00 }, 6, OK },
    { { "lio_d17_read_capacity16_conflicts_under_exclusive_access", "D17" }, LIO, PR_TYPE_EA, "C2", { 0x9e, 0x10 }, 16, RC },
    { { "lio_d17_read_capacity10_allowed_under_exclusive_access", "D17" }, LIO, PR_TYPE_EA, "C2", { 0x25 }, 10, OK },
    { { "lio_d17_mode_sense_allowed_to_registered_under_ea", "D17" }, LIO, PR_TYPE_EA, "B1", { 0x1a }, 6, OK },
    { { "lio_d17_mode_sense_conflicts_for_unregistered_under_ea", "D17" }, LIO, PR_TYPE_EA, "C2", { 0x1a }, 6, RC },
    { { "lio_d17_maintenance_in_other_conflicts_for_registered_under_ea", "D17" }, LIO, PR_TYPE_EA, "B1", { 0xa3, 0x1f }, 12, RC },
    /* D17: the commands LIO lists by name pass exclusive access. */
    { { "lio_d17_read_media_serial_number_passes_ea", "D17" }, LIO, PR_TYPE_EA, "C2", { 0xab, 0x01 }, 12, OK },
    { { "lio_d17_other_service_action_in_12_conflicts_under_ea", "D17" }, LIO, PR_TYPE_EA, "C2", { 0xab, 0x02 }, 12, RC },
    { { "lio_d17_report_target_port_groups_passes_ea", "D17" }, LIO, PR_TYPE_EA, "C2", { 0xa3, 0x0a }, 12, OK },
    { { "lio_d17_report_supported_opcodes_conflicts_under_ea", "D17" }, LIO, PR_TYPE_EA, "C2", { 0xa3, 0x0c }, 12, RC },
    /* Under WE the MODE SENSE class passes for the unregistered too. */
    { { "lio_d17_report_supported_opcodes_passes_we", "D17" }, LIO, PR_TYPE_WE, "C2", { 0xa3, 0x0c }, 12, OK },
    { { "lio_d17_pr_out_clear_from_unregistered_conflicts_under_we", "D17" }, LIO, PR_TYPE_WE, "C2",
      { 0x5f, PR_OUT_CLEAR, 0, 0, 0, 0, 0, 0, 24, 0 }, 10, RC },
};

static void test_access_rule(void **state)
{
    const struct access_rule *r = *state;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = th_lun_registered(r->profile, &a, K1, &b, K2);
    assert_good(th_reserve(lun, &a, K1, r->type));
    struct pr_sim_nexus who = th_nexus_named(r->who);
    uint8_t got = pr_sim_check_access(lun, &who, r->cdb, r->len);
    if (got != r->want)
        fail_msg("%s: opcode %02xh from %s under %s: %s, want %s", r->id.name, r->cdb[0], r->who,
                 pr_type_name(r->type), scsi_status_name(got), scsi_status_name(r->want));
    pr_sim_lun_free(lun);
}

static void test_conflict_nothing_conflicts_without_reservation(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_write10(lun, &b));
    assert_good(th_read10(lun, &b));
    pr_sim_lun_free(lun);
}

static void test_conflict_check_access_consumes_no_unit_attention(void **state)
{
    (void)state;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = th_lun_registered(PR_SIM_PROFILE_SPC4, &a, K1, &b, K2);
    assert_good(th_clear(lun, &a, K1));
    const uint8_t tur[6] = { 0 };
    assert_int_equal(pr_sim_check_access(lun, &b, tur, 6), SCSI_STATUS_GOOD);
    assert_int_equal(pr_sim_pending_ua_count(lun, &b), 1);
    /* An unknown nexus is judged as an unregistered stranger. */
    struct pr_sim_nexus z = th_nexus('Z', 1);
    assert_int_equal(pr_sim_check_access(lun, &z, tur, 6), SCSI_STATUS_GOOD);
    pr_sim_lun_free(lun);
}

static void test_lio_d17_access_matrix_matches_libiscsi(void **state)
{
    (void)state;
    /* READ/WRITE rows of section 5 hold in the lio profile too. */
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_nexus a, b, c;
        struct pr_sim_lun *lun = a_holds(PR_SIM_PROFILE_LIO, all_types[i], 1, &a, &b, &c);
        unsigned t = all_types[i];
        bool reg_rw = pr_type_is_registrants(t);
        bool reads = pr_type_is_write_exclusive(t);
        assert_int_equal(th_read10(lun, &b).status,
                         reg_rw || reads ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT);
        assert_int_equal(th_write10(lun, &b).status,
                         reg_rw ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT);
        assert_int_equal(th_read10(lun, &c).status,
                         reads ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT);
        assert_conflict(th_write10(lun, &c));
        pr_sim_lun_free(lun);
    }
}

static void test_lio_d19_other_session_of_registered_initiator_counts_as_registered(void **state)
{
    bool lio = TH_PROFILE(state) == PR_SIM_PROFILE_LIO;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_lun *lun = th_lun_registered(TH_PROFILE(state), &a, K1, &b, K2);
    struct pr_sim_nexus b2 = th_other_session(&b, 0x99);
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA_RO));
    assert_int_equal(th_write10(lun, &b2).status,
                     lio ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT);
    pr_sim_lun_free(lun);
}

static const uint8_t reserve6[6] = { SCSI_OP_RESERVE6 };
static const uint8_t release6[6] = { SCSI_OP_RELEASE6 };

static void test_spc2_reserve_conflicts_while_registrations_exist(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), c = th_nexus('C', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_conflict(th_cmd(lun, &c, reserve6, 6));
    assert_conflict(th_cmd(lun, &c, release6, 6));
    /* A registrant without any reservation is not excepted either. */
    assert_conflict(th_cmd(lun, &a, reserve6, 6));
    pr_sim_lun_free(lun);
}

static void test_spc2_reserve_by_pr_holder_or_ro_registrant_is_good_noop(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
    th_register_pair(lun, &a, K1, &b, K2);
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE_RO));
    assert_good(th_cmd(lun, &a, reserve6, 6));
    assert_good(th_cmd(lun, &b, reserve6, 6));
    assert_good(th_cmd(lun, &b, release6, 6));
    /* No SPC-2 reservation was made: C still reads. */
    assert_good(th_read10(lun, &c));
    th_expect_reservation(lun, &a, K1, PR_TYPE_WE_RO);
    pr_sim_lun_free(lun);
}

static void test_spc2_reservation_blocks_other_nexus_and_pr_commands(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    bool lio = TH_PROFILE(state) == PR_SIM_PROFILE_LIO;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_cmd(lun, &a, reserve6, 6));
    assert_conflict(th_register(lun, &b, 0, K2));
    uint8_t buf[64];
    assert_conflict(th_prin(lun, &b, PR_IN_READ_KEYS, 64, buf));
    /* LIO refuses PR commands to the SPC-2 holder too. */
    assert_int_equal(th_prin(lun, &a, PR_IN_READ_KEYS, 64, buf).status,
                     lio ? SCSI_STATUS_RESERVATION_CONFLICT : SCSI_STATUS_GOOD);
    const uint8_t inquiry[6] = { SCSI_OP_INQUIRY };
    assert_good(th_cmd(lun, &b, inquiry, 6));
    /* RELEASE from a non-owner is GOOD and releases nothing. */
    assert_good(th_cmd(lun, &b, release6, 6));
    assert_conflict(th_write10(lun, &b));
    assert_good(th_cmd(lun, &a, release6, 6));
    assert_good(th_write10(lun, &b));
    pr_sim_lun_free(lun);
}

static void test_lio_reserve_with_longid_and_extent_is_invalid_opcode(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1);
    const uint8_t reserve10[10] = { SCSI_OP_RESERVE10, 0x03 };
    assert_check(th_cmd(lun, &a, reserve10, 10), SENSE_INVALID_OPCODE);
    pr_sim_lun_free(lun);
}

static void test_conflict_reserved_pr_out_service_action_is_invalid_not_conflict(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), c = th_nexus('C', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    if (TH_PROFILE(state) == PR_SIM_PROFILE_LIO)
        assert_conflict(th_prout(lun, &c, 0x09, 0, 0, K2, 0)); /* step 4 decides */
    else
        assert_check(th_prout(lun, &c, 0x09, 0, 0, K2, 0), SENSE_INVALID_FIELD_IN_CDB);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_conflict_nothing_conflicts_without_reservation),
        cmocka_unit_test(test_conflict_check_access_consumes_no_unit_attention),
        cmocka_unit_test(test_lio_d17_access_matrix_matches_libiscsi),
        TH_BOTH(test_lio_d19_other_session_of_registered_initiator_counts_as_registered),
        TH_BOTH(test_spc2_reserve_conflicts_while_registrations_exist),
        TH_BOTH(test_spc2_reserve_by_pr_holder_or_ro_registrant_is_good_noop),
        TH_BOTH(test_spc2_reservation_blocks_other_nexus_and_pr_commands),
        cmocka_unit_test(test_lio_reserve_with_longid_and_extent_is_invalid_opcode),
        TH_BOTH(test_conflict_reserved_pr_out_service_action_is_invalid_not_conflict),
    };
    const struct th_table tables[] = {
        TH_TABLE(test_class_rule, class_rules),
        TH_TABLE(test_access_rule, access_rules),
    };
    return th_run_tables("pr_sim.conflict", tables, TH_COUNT(tables), tests, TH_COUNT(tests));
}
