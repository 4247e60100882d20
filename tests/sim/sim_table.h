/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim_table.h - rule tables for the simulator tests.  A row is one rule
 * as the standard states it: the clause (SPC-4 or pr-semantics.md, or
 * the LIO deviation D1-D20 of docs/conformance.md), the starting state
 * (commands that must each be GOOD), the command, its expected
 * status/sense, and the state after it (READ KEYS, READ RESERVATION,
 * unit attentions, APTPL).  th_run_rules() makes every row (once per
 * profile it names) its own cmocka case, named after the row, so a
 * failure names the rule it breaks.
 *
 * Nexuses are written "A1": initiator A (th_nexus('A', 1)) on target
 * port 1.
 */
#ifndef PRHELPER_TESTS_SIM_TABLE_H
#define PRHELPER_TESTS_SIM_TABLE_H

#include "sim_helpers.h"

/* The answers a row can expect: status and, for CHECK CONDITION, sense. */
enum th_answer {
    GOOD = 0,
    CONFLICT,
    INVALID_FIELD_IN_CDB,
    INVALID_FIELD_IN_PARAM,
    PARAM_LIST_LENGTH_ERROR,
    INVALID_RELEASE,
    INSUFFICIENT_REG_RESOURCES,
    NOT_READY_LU_COMM_FAILURE,
    INTERNAL_TARGET_FAILURE,
    /* Unit attentions (the next command's answer). */
    UA_RESERVATIONS_PREEMPTED,
    UA_RESERVATIONS_RELEASED,
    UA_REGISTRATIONS_PREEMPTED,
    UA_POWER_ON_RESET,
};
#define NO_UA GOOD

/* Profiles a row runs in (TH_BOTH: twice, named <row>/spc4 and <row>/lio). */
enum th_profiles { TH_SPC4 = 1, TH_LIO = 2, TH_BOTH = 3 };

struct th_step;
/* Edits a PR OUT command before it is sent (a malformed list, a length). */
typedef void (*th_edit_fn)(uint8_t cdb[10], uint8_t *list, size_t *len);

/* One PR OUT command and its expected answer (GOOD unless said). */
struct th_step {
    const char *from; /* "A1" */
    uint8_t sa;
    uint8_t type;
    uint64_t rk, sark;
    uint8_t flags;
    const char *spec_i_pt; /* SPEC_I_PT TransportIDs: "BC" = initiators B and C */
    const char *move_to;   /* REGISTER AND MOVE: destination nexus (flags: byte 17) */
    bool set_length;       /* send and announce length bytes of the list */
    size_t length;
    th_edit_fn edit;
    enum th_answer expect;
};

#define REGISTER(who, rk_, sark_) .from = (who), .sa = PR_OUT_REGISTER, .rk = (rk_), .sark = (sark_)
#define REGISTER_IGNORE(who, rk_, sark_)                                              \
    .from = (who), .sa = PR_OUT_REGISTER_AND_IGNORE, .rk = (rk_), .sark = (sark_)
#define RESERVE(who, rk_, type_) .from = (who), .sa = PR_OUT_RESERVE, .type = (type_), .rk = (rk_)
#define RELEASE(who, rk_, type_) .from = (who), .sa = PR_OUT_RELEASE, .type = (type_), .rk = (rk_)
#define CLEAR(who, rk_) .from = (who), .sa = PR_OUT_CLEAR, .rk = (rk_)
#define PREEMPT(who, rk_, sark_, type_)                                                       \
    .from = (who), .sa = PR_OUT_PREEMPT, .type = (type_), .rk = (rk_), .sark = (sark_)

#define FLAG_APTPL PR_OUT_FLAG_APTPL
#define FLAG_ALL_TG_PT PR_OUT_FLAG_ALL_TG_PT

#define REGISTER_AND_MOVE(who, rk_, sark_, type_, dest)                                    \
    .from = (who), .sa = PR_OUT_REGISTER_AND_MOVE, .type = (type_), .rk = (rk_), .sark = (sark_), \
    .move_to = (dest)
#define LIST_LENGTH(n) .set_length = true, .length = (n)

#define TH_MAX_STEPS 8
#define TH_MAX_KEYS 8
#define TH_MAX_UAS 4

/* READ KEYS after the command (as seen by the row's observer). */
struct th_keys_want {
    bool check;
    uint32_t generation;
    uint32_t count;
    uint64_t keys[TH_MAX_KEYS];
};
#define KEYS(gen, n, ...) { true, (gen), (n), { __VA_ARGS__ } }
#define NO_KEYS(gen) { true, (gen), 0, { 0 } }

/* READ RESERVATION after the command. */
enum th_res_check { TH_RES_UNCHECKED = 0, TH_RES_NONE, TH_RES_HELD };
struct th_res_want {
    enum th_res_check check;
    uint64_t key;
    unsigned type;
};
#define NO_RESERVATION { TH_RES_NONE, 0, 0 }
#define RESERVATION(key, type) { TH_RES_HELD, (key), (type) }

/* The unit attention a nexus reports next (then none), or NO_UA. */
struct th_ua_want {
    const char *nexus;
    enum th_answer ua;
};

enum th_aptpl_check { TH_APTPL_UNCHECKED = 0, APTPL_ON, APTPL_OFF };

struct th_row {
    const char *name;   /* the rule, as the case is named */
    const char *clause; /* "SPC-4 5.14.7", "pr-semantics 3.4", "D14" */
    enum th_profiles profiles;
    uint32_t deviations; /* with use_deviations: an spc4 LUN with these on */
    bool use_deviations;
    uint32_t max_registrations; /* 0: the simulator's default */
    struct th_step given[TH_MAX_STEPS];
    struct th_step when;
    /* State after the command. */
    const char *observer; /* who reads it (the sender of when if NULL) */
    struct th_ua_want uas[TH_MAX_UAS];
    struct th_keys_want keys;
    struct th_res_want reservation;
    enum th_aptpl_check aptpl;
    /* Commands that show the state in use (each with its answer). */
    struct th_step then[TH_MAX_STEPS];
};

/* Run the rows of a table, then the extra (non-table) tests, as one group. */
int th_run_rules(const char *group, const struct th_row *rows, size_t nrows,
                 const struct CMUnitTest *extra, size_t nextra);

/*
 * Tables of other shapes (a row type whose first member is a struct
 * th_rule_id): a group of cmocka cases built at run time, one per row,
 * named "<name> [<clause>]", the row being the case's state.
 */
struct th_rule_id {
    const char *name;
    const char *clause;
};
struct th_group {
    struct CMUnitTest *tests;
    size_t count, cap;
};
/* A case named "<name><suffix> [<clause>]" (suffix and clause may be NULL). */
void th_group_add(struct th_group *g, const char *name, const char *suffix, const char *clause,
                  CMUnitTestFunction fn, void *state);
/* One case per row; rows are stride bytes apart and start with a th_rule_id. */
void th_group_add_rows(struct th_group *g, CMUnitTestFunction fn, const void *rows, size_t nrows,
                       size_t stride);
void th_group_add_tests(struct th_group *g, const struct CMUnitTest *tests, size_t n);
/* Run the group (cmocka group name), free it, return the failure count. */
int th_group_run(struct th_group *g, const char *group);

/* A table and the function that runs one of its rows. */
struct th_table {
    CMUnitTestFunction fn;
    const void *rows;
    size_t nrows, stride;
    bool both_profiles; /* each row twice, <name>/spc4 and <name>/lio */
};
#define TH_TABLE(fn, table)                                                                       \
    { (fn), (table), sizeof(table) / sizeof((table)[0]), sizeof((table)[0]), false }
/* A table whose rows run in both profiles: the case's state is a struct
 * th_profiled_row, TH_PROFILE(state) its profile, TH_ROW(state) its row. */
#define TH_TABLE_BOTH(fn, table)                                                                  \
    { (fn), (table), sizeof(table) / sizeof((table)[0]), sizeof((table)[0]), true }
struct th_profiled_row {
    enum pr_sim_profile profile; /* first: TH_PROFILE(state) reads it */
    const void *row;
};
#define TH_ROW(state) (((const struct th_profiled_row *)*(state))->row)
#define TH_COUNT(array) (sizeof(array) / sizeof((array)[0]))
/* Run the rows of each table, then the tests, as one cmocka group. */
int th_run_tables(const char *group, const struct th_table *tables, size_t ntables,
                  const struct CMUnitTest *tests, size_t ntests);

/* Run one table's rows, then the tests (an array), as one cmocka group. */
#define th_run_table(group, fn, rows, tests)                                                      \
    th_run_tables((group), (const struct th_table[]){ TH_TABLE((fn), (rows)) }, 1, (tests),       \
                  TH_COUNT(tests))

/* Helpers the table runner uses, for tables of other shapes too. */
struct pr_sim_lun *th_lun_for(enum pr_sim_profile profile, bool use_deviations, uint32_t deviations,
                              uint32_t max_registrations);
/* Send steps[] (up to the first without .from); each must get its answer. */
void th_send_steps(const char *name, struct pr_sim_lun *lun, const struct th_step *steps,
                   size_t max, const char *part);
void th_expect_answer(const char *name, const char *what, struct pr_sim_result r,
                      enum th_answer want);
struct pr_sim_nexus th_nexus_named(const char *name);
void th_answer_expect(enum th_answer want, uint8_t *status, struct scsi_sense *sense);

#endif
