/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_conflict.c - which commands a reservation lets through:
 * the SPC-4/SBC-3 table (pr-semantics.md section 5), LIO's algorithm
 * (5.1, D17) and the SPC-2 RESERVE/RELEASE interplay (section 8).
 * One test per row of the table; each checks all six types, from a
 * registered and from an unregistered non-holder, plus the holder.
 */
#include <string.h>

#include "sim_helpers.h"

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

/* For every type: holder H (A) reserves; B registered, C not. */
static void check_row(enum pr_sim_profile p, const uint8_t *cdb, size_t len, struct row r)
{
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_lun *lun = th_lun(p);
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 2);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_register(lun, &b, 0, K2));
        assert_good(th_reserve(lun, &a, K1, all_types[i]));
        uint8_t want_b = expected(&r, all_types[i], true) ? SCSI_STATUS_GOOD
                                                          : SCSI_STATUS_RESERVATION_CONFLICT;
        uint8_t want_c = expected(&r, all_types[i], false) ? SCSI_STATUS_GOOD
                                                           : SCSI_STATUS_RESERVATION_CONFLICT;
        /* All-registrants: B holds it too. */
        if (pr_type_is_all_registrants(all_types[i]))
            want_b = SCSI_STATUS_GOOD;
        if (pr_sim_check_access(lun, &b, cdb, len) != want_b ||
            pr_sim_check_access(lun, &c, cdb, len) != want_c)
            fail_msg("opcode %02xh type %s: registered %s (want %s), unregistered %s (want %s)",
                     cdb[0], pr_type_name(all_types[i]),
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

static void cdb_rows(enum pr_sim_profile p, const uint8_t (*cdbs)[16], size_t n, struct row r)
{
    for (size_t i = 0; i < n; i++)
        check_row(p, cdbs[i], 16, r);
}

static void test_conflict_identity_and_status_commands_always_allowed(void **state)
{
    (void)state;
    static const uint8_t cdbs[][16] = {
        { 0x12 },             /* INQUIRY */
        { 0xa0 },             /* REPORT LUNS */
        { 0x03 },             /* REQUEST SENSE */
        { 0x4d },             /* LOG SENSE */
        { 0x5e, 0x00 },       /* PERSISTENT RESERVE IN */
        { 0x86 }, { 0x87 },   /* ACCESS CONTROL IN/OUT */
        { 0xab, 0x01 },       /* READ MEDIA SERIAL NUMBER */
        { 0xa3, 0x0b }, { 0xa3, 0x05 }, { 0xa3, 0x0e }, { 0xa3, 0x0a }, { 0xa3, 0x0f },
        { 0x00 },             /* TEST UNIT READY, ALLOW COMMANDS 001b */
        { 0x25 },             /* READ CAPACITY(10) */
        { 0x9e, 0x10 },       /* READ CAPACITY(16) */
    };
    cdb_rows(PR_SIM_PROFILE_SPC4, cdbs, sizeof(cdbs) / sizeof(cdbs[0]), (struct row)ALLOWED);
}

static void test_conflict_mode_sense_class_blocked_by_exclusive_access(void **state)
{
    (void)state;
    static const uint8_t cdbs[][16] = {
        { 0x1a }, { 0x5a }, { 0x8c }, { 0x3c }, { 0x1c }, { 0xa2 },
        { 0xa3, 0x0c }, { 0xa3, 0x0d }, { 0xa3, 0x10 },
    };
    cdb_rows(PR_SIM_PROFILE_SPC4, cdbs, sizeof(cdbs) / sizeof(cdbs[0]), (struct row)READLIKE);
}

static void test_conflict_reads_blocked_by_exclusive_access(void **state)
{
    (void)state;
    static const uint8_t cdbs[][16] = {
        { 0x08 }, { 0x28 }, { 0xa8 }, { 0x88 },          /* READ(6/10/12/16) */
        { 0x2f }, { 0xaf }, { 0x8f },                    /* VERIFY */
        { 0x34 }, { 0x90 },                              /* PRE-FETCH */
        { 0x9e, 0x12 }, { 0x37 }, { 0xb7 }, { 0x3e }, { 0x9e, 0x11 },
        { 0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0x00, 0x09 },    /* READ(32) */
    };
    cdb_rows(PR_SIM_PROFILE_SPC4, cdbs, sizeof(cdbs) / sizeof(cdbs[0]), (struct row)READLIKE);
}

static void test_conflict_writes_allowed_only_to_registrants_of_ro_ar(void **state)
{
    (void)state;
    static const uint8_t cdbs[][16] = {
        { 0x0a }, { 0x2a }, { 0xaa }, { 0x8a },          /* WRITE */
        { 0x2e }, { 0x41 }, { 0x93 }, { 0x89 }, { 0x8b }, { 0x42 },
        { 0x35 }, { 0x91 }, { 0x04 }, { 0x07 }, { 0x48 },
        { 0x15 }, { 0x55 }, { 0x4c }, { 0x3b }, { 0x8d }, { 0x1d }, { 0xb5 }, { 0xa4 },
        { 0x83 }, { 0x84 },
        { 0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0x00, 0x0b },    /* WRITE(32) */
        { 0xc0 },                                        /* vendor specific */
    };
    cdb_rows(PR_SIM_PROFILE_SPC4, cdbs, sizeof(cdbs) / sizeof(cdbs[0]), (struct row)WRITELIKE);
}

static void test_conflict_start_stop_unit_start_allowed_else_write(void **state)
{
    (void)state;
    static const uint8_t start[][16] = { { 0x1b, 0, 0, 0, 0x01 } };
    static const uint8_t other[][16] = { { 0x1b, 0, 0, 0, 0x00 }, { 0x1b, 0, 0, 0, 0x11 } };
    cdb_rows(PR_SIM_PROFILE_SPC4, start, 1, (struct row)ALLOWED);
    cdb_rows(PR_SIM_PROFILE_SPC4, other, 2, (struct row)WRITELIKE);
}

static void test_conflict_prevent_allow_zero_allowed_else_write(void **state)
{
    (void)state;
    static const uint8_t allow[][16] = { { 0x1e, 0, 0, 0, 0x00 } };
    static const uint8_t prevent[][16] = { { 0x1e, 0, 0, 0, 0x01 } };
    cdb_rows(PR_SIM_PROFILE_SPC4, allow, 1, (struct row)ALLOWED);
    cdb_rows(PR_SIM_PROFILE_SPC4, prevent, 1, (struct row)WRITELIKE);
}

static void test_conflict_pr_out_from_non_holder_by_service_action(void **state)
{
    (void)state;
    /* registered: REGISTER, RIEK, RELEASE, CLEAR, PREEMPT(+ABORT) pass;
     * unregistered: only REGISTER and RIEK. RESERVE and REGISTER AND
     * MOVE conflict for both. */
    static const struct {
        uint8_t sa;
        bool reg, unreg;
    } rows[] = {
        { PR_OUT_REGISTER, true, true },   { PR_OUT_REGISTER_AND_IGNORE, true, true },
        { PR_OUT_RESERVE, false, false },  { PR_OUT_RELEASE, true, false },
        { PR_OUT_CLEAR, true, false },     { PR_OUT_PREEMPT, true, false },
        { PR_OUT_PREEMPT_AND_ABORT, true, false }, { PR_OUT_REGISTER_AND_MOVE, false, false },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_register(lun, &b, 0, K2));
        assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE_RO));
        uint8_t cdb[10] = { 0x5f, rows[i].sa, PR_TYPE_WE_RO, 0, 0, 0, 0, 0, 24, 0 };
        assert_int_equal(pr_sim_check_access(lun, &b, cdb, 10),
                         rows[i].reg ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT);
        assert_int_equal(pr_sim_check_access(lun, &c, cdb, 10),
                         rows[i].unreg ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT);
        pr_sim_lun_free(lun);
    }
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
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_clear(lun, &a, K1));
    const uint8_t tur[6] = { 0 };
    assert_int_equal(pr_sim_check_access(lun, &b, tur, 6), SCSI_STATUS_GOOD);
    assert_int_equal(pr_sim_pending_ua_count(lun, &b), 1);
    /* An unknown nexus is judged as an unregistered stranger. */
    struct pr_sim_nexus z = th_nexus('Z', 1);
    assert_int_equal(pr_sim_check_access(lun, &z, tur, 6), SCSI_STATUS_GOOD);
    pr_sim_lun_free(lun);
}

static void test_lio_d17_we_unregistered_may_issue_non_data_commands(void **state)
{
    (void)state;
    static const uint8_t cdbs[][16] = {
        { 0x35 },                    /* SYNCHRONIZE CACHE(10) */
        { 0x1b, 0, 0, 0, 0x00 },     /* START STOP UNIT (stop) */
        { 0x1e, 0, 0, 0, 0x01 },     /* PREVENT ALLOW, PREVENT=1 */
        { 0x04 },                    /* FORMAT UNIT without data */
        { 0x1d },                    /* SEND DIAGNOSTIC without data */
        { 0x84 },                    /* RECEIVE COPY RESULTS (data-in) */
    };
    for (size_t i = 0; i < sizeof(cdbs) / sizeof(cdbs[0]); i++) {
        struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
        struct pr_sim_nexus a = th_nexus('A', 1), c = th_nexus('C', 2);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
        assert_int_equal(pr_sim_check_access(lun, &c, cdbs[i], 16), SCSI_STATUS_GOOD);
        /* The spc4 table refuses the same command. */
        struct pr_sim_lun *spc = th_lun(PR_SIM_PROFILE_SPC4);
        assert_good(th_register(spc, &a, 0, K1));
        assert_good(th_reserve(spc, &a, K1, PR_TYPE_WE));
        assert_int_equal(pr_sim_check_access(spc, &c, cdbs[i], 16),
                         SCSI_STATUS_RESERVATION_CONFLICT);
        pr_sim_lun_free(spc);
        pr_sim_lun_free(lun);
    }
}

static void test_lio_d17_we_registered_refused_non_data_allowed_tur(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    const uint8_t verify[10] = { 0x2f };
    const uint8_t tur[6] = { 0 };
    assert_int_equal(pr_sim_check_access(lun, &b, verify, 10), SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(pr_sim_check_access(lun, &b, tur, 6), SCSI_STATUS_GOOD);
    assert_good(th_read10(lun, &b));
    assert_conflict(th_write10(lun, &b));
    pr_sim_lun_free(lun);
}

static void test_lio_d17_read_capacity16_conflicts_under_exclusive_access(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1), c = th_nexus('C', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    const uint8_t rc16[16] = { 0x9e, 0x10 };
    const uint8_t rc10[10] = { 0x25 };
    assert_int_equal(pr_sim_check_access(lun, &c, rc16, 16), SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(pr_sim_check_access(lun, &c, rc10, 10), SCSI_STATUS_GOOD);
    pr_sim_lun_free(lun);
}

static void test_lio_d17_mode_sense_allowed_to_registered_under_ea(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    const uint8_t ms[6] = { 0x1a };
    const uint8_t maint_other[12] = { 0xa3, 0x1f };
    assert_int_equal(pr_sim_check_access(lun, &b, ms, 6), SCSI_STATUS_GOOD);
    assert_int_equal(pr_sim_check_access(lun, &c, ms, 6), SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(pr_sim_check_access(lun, &b, maint_other, 12),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    pr_sim_lun_free(lun);
}

static void test_lio_d17_access_matrix_matches_libiscsi(void **state)
{
    (void)state;
    /* READ/WRITE rows of section 5 hold in the lio profile too. */
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_register(lun, &b, 0, K2));
        assert_good(th_reserve(lun, &a, K1, all_types[i]));
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
    (void)state;
    uint8_t isid2[6] = { 0x23, 0xd0, 0, 0, 0, 0x99 };
    for (int lio = 0; lio < 2; lio++) {
        struct pr_sim_lun *lun = th_lun(lio ? PR_SIM_PROFILE_LIO : PR_SIM_PROFILE_SPC4);
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
        struct pr_sim_nexus b2 = b;
        b2.initiator = pr_tid_iscsi(b.initiator.name, isid2);
        assert_good(th_register(lun, &a, 0, K1));
        assert_good(th_register(lun, &b, 0, K2));
        assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA_RO));
        assert_int_equal(th_write10(lun, &b2).status,
                         lio ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT);
        pr_sim_lun_free(lun);
    }
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
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register(lun, &b, 0, K2));
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

static void test_lio_d17_explicitly_listed_commands_pass_exclusive_access(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_LIO);
    struct pr_sim_nexus a = th_nexus('A', 1), c = th_nexus('C', 1);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    const uint8_t rmsn[12] = { 0xab, 0x01 }, sai_other[12] = { 0xab, 0x02 };
    const uint8_t rtpg[12] = { 0xa3, 0x0a }, rsoc[12] = { 0xa3, 0x0c };
    assert_int_equal(pr_sim_check_access(lun, &c, rmsn, 12), SCSI_STATUS_GOOD);
    assert_int_equal(pr_sim_check_access(lun, &c, sai_other, 12), SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(pr_sim_check_access(lun, &c, rtpg, 12), SCSI_STATUS_GOOD);
    assert_int_equal(pr_sim_check_access(lun, &c, rsoc, 12), SCSI_STATUS_RESERVATION_CONFLICT);
    pr_sim_lun_free(lun);
    /* Under WE the MODE SENSE class passes for the unregistered too. */
    lun = th_lun(PR_SIM_PROFILE_LIO);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    assert_int_equal(pr_sim_check_access(lun, &c, rsoc, 12), SCSI_STATUS_GOOD);
    const uint8_t clear[10] = { 0x5f, PR_OUT_CLEAR, 0, 0, 0, 0, 0, 0, 24, 0 };
    assert_int_equal(pr_sim_check_access(lun, &c, clear, 10), SCSI_STATUS_RESERVATION_CONFLICT);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conflict_identity_and_status_commands_always_allowed),
        cmocka_unit_test(test_conflict_mode_sense_class_blocked_by_exclusive_access),
        cmocka_unit_test(test_conflict_reads_blocked_by_exclusive_access),
        cmocka_unit_test(test_conflict_writes_allowed_only_to_registrants_of_ro_ar),
        cmocka_unit_test(test_conflict_start_stop_unit_start_allowed_else_write),
        cmocka_unit_test(test_conflict_prevent_allow_zero_allowed_else_write),
        cmocka_unit_test(test_conflict_pr_out_from_non_holder_by_service_action),
        TH_BOTH(test_conflict_nothing_conflicts_without_reservation),
        cmocka_unit_test(test_conflict_check_access_consumes_no_unit_attention),
        cmocka_unit_test(test_lio_d17_we_unregistered_may_issue_non_data_commands),
        cmocka_unit_test(test_lio_d17_we_registered_refused_non_data_allowed_tur),
        cmocka_unit_test(test_lio_d17_read_capacity16_conflicts_under_exclusive_access),
        cmocka_unit_test(test_lio_d17_mode_sense_allowed_to_registered_under_ea),
        cmocka_unit_test(test_lio_d17_access_matrix_matches_libiscsi),
        cmocka_unit_test(test_lio_d19_other_session_of_registered_initiator_counts_as_registered),
        TH_BOTH(test_spc2_reserve_conflicts_while_registrations_exist),
        TH_BOTH(test_spc2_reserve_by_pr_holder_or_ro_registrant_is_good_noop),
        TH_BOTH(test_spc2_reservation_blocks_other_nexus_and_pr_commands),
        cmocka_unit_test(test_lio_reserve_with_longid_and_extent_is_invalid_opcode),
        TH_BOTH(test_conflict_reserved_pr_out_service_action_is_invalid_not_conflict),
        cmocka_unit_test(test_lio_d17_explicitly_listed_commands_pass_exclusive_access),
    };
    return cmocka_run_group_tests_name("pr_sim.conflict", tests, NULL, NULL);
}
