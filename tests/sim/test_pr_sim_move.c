/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_move.c - REGISTER AND MOVE (SPC-4 5.14.8, 6.16.4;
 * pr-semantics.md 3.9) as a table: one row per validation step and per
 * effect of the move, with LIO's D20 and its same-initiator refusal.
 */
#include <string.h>

#include "sim_table.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull

/* iSCSI ADDITIONAL LENGTH 4 short of the TransportID sent. */
static void transport_id_length_minus_4(uint8_t cdb[10], uint8_t *list, size_t *len)
{
    (void)cdb;
    (void)len;
    scsi_put_be32(list + 20, scsi_get_be32(list + 20) - 4);
}

/* The destination is an FCP initiator; the ports are iSCSI. */
static void fcp_destination(uint8_t cdb[10], uint8_t *list, size_t *len)
{
    struct pr_tid fc = pr_tid_fcp(0x2100001b32000001ull);
    memset(list + 24, 0, PR_TID_MAX_LEN);
    size_t tl = pr_tid_build(&fc, list + 24, PR_TID_MAX_LEN);
    assert_true(tl > 0);
    scsi_put_be32(list + 20, (uint32_t)tl);
    *len = 24 + tl;
    scsi_put_be32(cdb + 5, (uint32_t)*len);
}

/* iSCSI TransportID with format code 10b. */
static void malformed_destination(uint8_t cdb[10], uint8_t *list, size_t *len)
{
    (void)cdb;
    (void)len;
    list[24] = 0x85;
}

/* A1 holds WE_RO with K1; B2 is a stranger. */
#define A_HOLDS_WE_RO { REGISTER("A1", 0, K1) }, { RESERVE("A1", K1, PR_TYPE_WE_RO) }
#define MOVE_TO(dest) REGISTER_AND_MOVE("A1", K1, K2, PR_TYPE_WE_RO, (dest))

static const struct th_row rules[] = {
    /* Step 12: the move itself. */
    { .name = "register_and_move_hands_reservation_to_new_nexus", .clause = "SPC-4 5.14.8",
      .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO },
      .when = { MOVE_TO("B2") },
      .uas = { { "A1", NO_UA }, { "B2", NO_UA } },
      .keys = KEYS(2, 2, K1, K2), .reservation = RESERVATION(K2, PR_TYPE_WE_RO),
      /* B holds it now: it can release it. */
      .then = { { RELEASE("B2", K2, PR_TYPE_WE_RO) } } },
    { .name = "register_and_move_with_unreg_unregisters_sender", .clause = "SPC-4 5.14.8", .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO }, .when = { MOVE_TO("B2"), .flags = PR_MOVE_FLAG_UNREG },
      .uas = { { "A1", NO_UA } }, .keys = KEYS(2, 1, K2), .reservation = RESERVATION(K2, PR_TYPE_WE_RO) },
    { .name = "register_and_move_to_registered_nexus_overwrites_its_key", .clause = "SPC-4 5.14.8",
      .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO, { REGISTER("B2", 0, K3) } }, .when = { MOVE_TO("B2") },
      .keys = KEYS(3, 2, K1, K2), .reservation = RESERVATION(K2, PR_TYPE_WE_RO) },
    { .name = "register_and_move_aptpl_bit_sets_ptpl_a", .clause = "SPC-4 5.14.5", .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO }, .when = { MOVE_TO("B2"), .flags = PR_MOVE_FLAG_APTPL },
      .aptpl = APTPL_ON },
    /* Steps 1-8: the key checks and the parameter list. */
    { .name = "register_and_move_from_unregistered_nexus_conflicts", .clause = "SPC-4 5.14.8",
      .when = { REGISTER_AND_MOVE("A1", 0, K2, PR_TYPE_WE, "B2"), .expect = CONFLICT },
      .keys = NO_KEYS(0) },
    { .name = "register_and_move_with_wrong_key_conflicts", .clause = "SPC-4 5.14.8", .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO }, .when = { REGISTER_AND_MOVE("A1", K3, K2, PR_TYPE_WE_RO, "B2"), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "register_and_move_zero_key_is_invalid", .clause = "SPC-4 6.16.4", .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO },
      .when = { REGISTER_AND_MOVE("A1", K1, 0, PR_TYPE_WE_RO, "B2"), .expect = INVALID_FIELD_IN_PARAM },
      .keys = KEYS(1, 1, K1) },
    { .name = "register_and_move_transport_id_length_mismatch_is_invalid", .clause = "SPC-4 6.16.4",
      .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO },
      .when = { MOVE_TO("B2"), .edit = transport_id_length_minus_4, .expect = INVALID_FIELD_IN_PARAM },
      .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "register_and_move_unknown_target_port_is_invalid", .clause = "SPC-4 6.16.4", .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO }, .when = { MOVE_TO("B7"), .expect = INVALID_FIELD_IN_PARAM },
      .observer = "A1", .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "register_and_move_transport_id_of_other_protocol_is_invalid", .clause = "SPC-4 6.16.4",
      .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO }, .when = { MOVE_TO("B2"), .edit = fcp_destination, .expect = INVALID_FIELD_IN_PARAM },
      .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "register_and_move_malformed_transport_id_is_invalid", .clause = "SPC-4 7.6.4.6", .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO },
      .when = { MOVE_TO("B2"), .edit = malformed_destination, .expect = INVALID_FIELD_IN_PARAM },
      .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "register_and_move_to_the_sending_nexus_is_invalid", .clause = "SPC-4 5.14.8", .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO }, .when = { MOVE_TO("A1"), .expect = INVALID_FIELD_IN_PARAM },
      .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "register_and_move_to_same_initiator_other_port_spc4_is_allowed", .clause = "SPC-4 5.14.8",
      .given = { A_HOLDS_WE_RO }, .when = { MOVE_TO("A2") },
      .then = { { RELEASE("A2", K2, PR_TYPE_WE_RO) } } },
    { .name = "lio_register_and_move_to_same_initiator_other_port_is_invalid", .clause = "pr-semantics 3.9 (LIO)",
      .profiles = TH_LIO,
      .given = { A_HOLDS_WE_RO }, .when = { MOVE_TO("A2"), .expect = INVALID_FIELD_IN_PARAM },
      .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    /* Steps 9-11: a reservation held by the sender, not all-registrants. */
    { .name = "register_and_move_without_reservation_conflicts", .clause = "SPC-4 5.14.8",
      .given = { { REGISTER("A1", 0, K1) } },
      .when = { REGISTER_AND_MOVE("A1", K1, K2, PR_TYPE_WE, "B2"), .expect = CONFLICT },
      .keys = KEYS(1, 1, K1) },
    { .name = "lio_d20_register_and_move_without_reservation_is_invalid_field_in_cdb", .clause = "D20",
      .profiles = TH_LIO,
      .given = { { REGISTER("A1", 0, K1) } },
      .when = { REGISTER_AND_MOVE("A1", K1, K2, PR_TYPE_WE, "B2"), .expect = INVALID_FIELD_IN_CDB },
      .keys = KEYS(1, 1, K1) },
    { .name = "register_and_move_by_registered_non_holder_conflicts", .clause = "SPC-4 5.14.8", .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO, { REGISTER("C1", 0, K3) } },
      .when = { REGISTER_AND_MOVE("C1", K3, K2, PR_TYPE_WE_RO, "B2"), .expect = CONFLICT },
      .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "register_and_move_of_all_registrants_reservation_conflicts", .clause = "SPC-4 5.14.8",
      .profiles = TH_BOTH,
      .given = { { REGISTER("A1", 0, K1) }, { RESERVE("A1", K1, PR_TYPE_EA_AR) } },
      .when = { REGISTER_AND_MOVE("A1", K1, K2, PR_TYPE_EA_AR, "B2"), .expect = CONFLICT },
      .reservation = RESERVATION(0, PR_TYPE_EA_AR) },
    /* The conflict check of section 5 comes before the handler. */
    { .name = "register_and_move_from_unregistered_while_reserved_conflicts", .clause = "SPC-4 5.14.3",
      .profiles = TH_BOTH,
      .given = { A_HOLDS_WE_RO }, .when = { REGISTER_AND_MOVE("B2", 0, K2, PR_TYPE_WE_RO, "A1"), .expect = CONFLICT },
      .observer = "A1", .reservation = RESERVATION(K1, PR_TYPE_WE_RO) },
    { .name = "register_and_move_beyond_limit_reports_insufficient_resources", .clause = "SPC-4 6.16.4",
      .max_registrations = 1,
      .given = { { REGISTER("A1", 0, K1) }, { RESERVE("A1", K1, PR_TYPE_WE) } },
      .when = { REGISTER_AND_MOVE("A1", K1, K2, PR_TYPE_WE, "B2"), .expect = INSUFFICIENT_REG_RESOURCES },
      .reservation = RESERVATION(K1, PR_TYPE_WE) },
};

int main(void)
{
    return th_run_rules("pr_sim.move", rules, sizeof(rules) / sizeof(rules[0]), NULL, 0);
}
