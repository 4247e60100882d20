/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sim_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pr_sim_nexus th_nexus_named(const char *name)
{
    if (name == NULL || name[0] < 'A' || name[0] > 'Z' || name[1] < '1' || name[1] > '9')
        fail_msg("nexus \"%s\" is not written <initiator letter><port digit>", name ? name : "");
    return th_nexus(name[0], (uint16_t)(name[1] - '0'));
}

/* Each answer's status and, for CHECK CONDITION, sense. */
void th_answer_expect(enum th_answer want, uint8_t *status, struct scsi_sense *sense)
{
    const struct scsi_sense check_conditions[] = {
        [INVALID_FIELD_IN_CDB] = SENSE_INVALID_FIELD_IN_CDB,
        [INVALID_FIELD_IN_PARAM] = SENSE_INVALID_FIELD_IN_PARAM,
        [PARAM_LIST_LENGTH_ERROR] = SENSE_PARAM_LIST_LENGTH_ERROR,
        [INVALID_RELEASE] = SENSE_INVALID_RELEASE,
        [INSUFFICIENT_REG_RESOURCES] = SENSE_INSUFFICIENT_REG_RESOURCES,
        [NOT_READY_LU_COMM_FAILURE] = SENSE_LUN_COMM_FAILURE,
        [INTERNAL_TARGET_FAILURE] = SENSE_INTERNAL_TARGET_FAILURE,
        [UA_RESERVATIONS_PREEMPTED] = SENSE_UA_RESERVATIONS_PREEMPTED,
        [UA_RESERVATIONS_RELEASED] = SENSE_UA_RESERVATIONS_RELEASED,
        [UA_REGISTRATIONS_PREEMPTED] = SENSE_UA_REGISTRATIONS_PREEMPTED,
        [UA_POWER_ON_RESET] = SENSE_UA_POWER_ON_RESET,
    };
    *status = SCSI_STATUS_GOOD;
    *sense = SENSE_NONE;
    if (want == GOOD) {
        return;
    } else if (want == CONFLICT) {
        *status = SCSI_STATUS_RESERVATION_CONFLICT;
    } else if ((size_t)want < sizeof(check_conditions) / sizeof(check_conditions[0])) {
        *status = SCSI_STATUS_CHECK_CONDITION;
        *sense = check_conditions[want];
    } else {
        fail_msg("answer %d is not in the table", (int)want);
    }
}

/* An answer as a failure message shows it: status [sense]. */
static void answer_text(uint8_t status, struct scsi_sense sense, char *buf, size_t len)
{
    char text[128] = "-";
    if (status == SCSI_STATUS_CHECK_CONDITION)
        scsi_sense_to_string(sense, text, sizeof(text));
    snprintf(buf, len, "%s [%s]", scsi_status_name(status), text);
}

/* ---- one case: a row in one profile ------------------------------------- */

struct th_case {
    const struct th_row *row;
    enum pr_sim_profile profile;
    const char *name;
};

struct pr_sim_lun *th_lun_for(enum pr_sim_profile profile, bool use_deviations, uint32_t deviations,
                              uint32_t max_registrations)
{
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.profile = profile;
    cfg.use_deviations = use_deviations;
    cfg.deviations = deviations;
    cfg.max_registrations = max_registrations;
    return th_lun_config(&cfg);
}

/* The PR OUT command of a step: a 24-byte list, or with spec_i_pt the
 * list with its TransportIDs; then the step's edit. */
static struct pr_sim_result send_step(struct pr_sim_lun *lun, const struct th_step *s)
{
    struct pr_sim_nexus n = th_nexus_named(s->from);
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, s->sa, s->type, 0, 0, 0, 0, 0, 0, 0 };
    uint8_t list[512];
    memset(list, 0, sizeof(list));
    scsi_put_be64(list, s->rk);
    scsi_put_be64(list + 8, s->sark);
    list[20] = s->flags;
    size_t len = 24;
    if (s->move_to != NULL) {
        /* SPC-4 6.16.4: flags at byte 17, RTPI at 18, TransportID at 24. */
        struct pr_sim_nexus dest = th_nexus_named(s->move_to);
        list[20] = 0;
        list[17] = s->flags;
        scsi_put_be16(list + 18, dest.rtpi);
        size_t tl = pr_tid_build(&dest.initiator, list + 24, sizeof(list) - 24);
        assert_true(tl > 0);
        scsi_put_be32(list + 20, (uint32_t)tl);
        len = 24 + tl;
    }
    if (s->spec_i_pt != NULL) {
        list[20] |= PR_OUT_FLAG_SPEC_I_PT;
        len = 28;
        for (const char *p = s->spec_i_pt; *p; p++) {
            struct pr_sim_nexus t = th_nexus(*p, 1);
            size_t tl = pr_tid_build(&t.initiator, list + len, sizeof(list) - len);
            assert_true(tl > 0);
            len += tl;
        }
        scsi_put_be32(list + 24, (uint32_t)(len - 28));
    }
    if (s->set_length)
        len = s->length;
    scsi_put_be32(cdb + 5, (uint32_t)len);
    if (s->edit != NULL)
        s->edit(cdb, list, &len);
    return th_prout_raw(lun, &n, cdb, list, len);
}

void th_expect_answer(const char *name, const char *what, struct pr_sim_result r,
                      enum th_answer want)
{
    uint8_t status;
    struct scsi_sense sense;
    th_answer_expect(want, &status, &sense);
    if (r.status == status &&
        (status != SCSI_STATUS_CHECK_CONDITION || scsi_sense_equal(r.sense, sense)))
        return;
    char got[192], wanted[192];
    answer_text(r.status, r.sense, got, sizeof(got));
    answer_text(status, sense, wanted, sizeof(wanted));
    fail_msg("%s: %s: got %s, want %s", name, what, got, wanted);
}

static void expect_answer(const struct th_case *c, const char *what, struct pr_sim_result r,
                          enum th_answer want)
{
    th_expect_answer(c->name, what, r, want);
}

void th_send_steps(const char *name, struct pr_sim_lun *lun, const struct th_step *steps,
                   size_t max, const char *part)
{
    for (size_t i = 0; i < max && steps[i].from != NULL; i++) {
        char what[48];
        snprintf(what, sizeof(what), "%s step %zu (from %s)", part, i + 1, steps[i].from);
        th_expect_answer(name, what, send_step(lun, &steps[i]), steps[i].expect);
    }
}

static void run_steps(const struct th_case *c, struct pr_sim_lun *lun, const struct th_step *steps,
                      const char *part)
{
    th_send_steps(c->name, lun, steps, TH_MAX_STEPS, part);
}

static void check_uas(const struct th_case *c, struct pr_sim_lun *lun)
{
    static const uint8_t tur[6] = { 0 };
    for (size_t i = 0; i < TH_MAX_UAS && c->row->uas[i].nexus != NULL; i++) {
        const struct th_ua_want *u = &c->row->uas[i];
        struct pr_sim_nexus n = th_nexus_named(u->nexus);
        char what[48];
        snprintf(what, sizeof(what), "unit attention of %s", u->nexus);
        expect_answer(c, what, th_cmd(lun, &n, tur, sizeof(tur)), u->ua);
        if (u->ua != NO_UA) {
            snprintf(what, sizeof(what), "second command of %s", u->nexus);
            expect_answer(c, what, th_cmd(lun, &n, tur, sizeof(tur)), NO_UA);
        }
    }
}

static void check_keys(const struct th_case *c, struct pr_sim_lun *lun, const struct pr_sim_nexus *o)
{
    const struct th_keys_want *w = &c->row->keys;
    if (!w->check)
        return;
    struct th_keys k = th_read_keys(lun, o);
    if (k.generation != w->generation || k.count != w->count)
        fail_msg("%s: READ KEYS generation %u with %u keys, want generation %u with %u keys",
                 c->name, k.generation, k.count, w->generation, w->count);
    for (uint32_t i = 0; i < w->count; i++)
        if (k.keys[i] != w->keys[i])
            fail_msg("%s: READ KEYS key %u is %#llx, want %#llx", c->name, i,
                     (unsigned long long)k.keys[i], (unsigned long long)w->keys[i]);
}

static void check_reservation(const struct th_case *c, struct pr_sim_lun *lun,
                              const struct pr_sim_nexus *o)
{
    const struct th_res_want *w = &c->row->reservation;
    if (w->check == TH_RES_UNCHECKED)
        return;
    struct th_reservation v = th_read_reservation(lun, o);
    if (w->check == TH_RES_NONE && v.reserved)
        fail_msg("%s: READ RESERVATION shows %s with key %#llx, want none", c->name,
                 pr_type_name(v.type), (unsigned long long)v.key);
    if (w->check == TH_RES_HELD &&
        (!v.reserved || v.key != w->key || v.type != w->type || v.scope != 0))
        fail_msg("%s: READ RESERVATION shows %s with key %#llx, want %s with key %#llx", c->name,
                 v.reserved ? pr_type_name(v.type) : "none", (unsigned long long)v.key,
                 pr_type_name(w->type), (unsigned long long)w->key);
}

static void run_case(void **state)
{
    const struct th_case *c = *state;
    const struct th_row *row = c->row;
    struct pr_sim_lun *lun =
        th_lun_for(c->profile, row->use_deviations, row->deviations, row->max_registrations);
    run_steps(c, lun, row->given, "given");
    expect_answer(c, "the command", send_step(lun, &row->when), row->when.expect);
    check_uas(c, lun);
    struct pr_sim_nexus o = th_nexus_named(row->observer ? row->observer : row->when.from);
    check_keys(c, lun, &o);
    check_reservation(c, lun, &o);
    if (row->aptpl != TH_APTPL_UNCHECKED && pr_sim_aptpl_active(lun) != (row->aptpl == APTPL_ON))
        fail_msg("%s: APTPL is %s, want %s", c->name, pr_sim_aptpl_active(lun) ? "on" : "off",
                 row->aptpl == APTPL_ON ? "on" : "off");
    run_steps(c, lun, row->then, "then");
    pr_sim_lun_free(lun);
}

void th_group_add(struct th_group *g, const char *name, const char *suffix, const char *clause,
                  CMUnitTestFunction fn, void *state)
{
    if (g->count == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        struct CMUnitTest *t = realloc(g->tests, cap * sizeof(*t));
        assert_non_null(t);
        g->tests = t;
        g->cap = cap;
    }
    size_t len = strlen(name) + (suffix ? strlen(suffix) : 0) + (clause ? strlen(clause) : 0) + 8;
    char *full = malloc(len);
    assert_non_null(full);
    snprintf(full, len, "%s%s%s%s%s", name, suffix ? suffix : "", clause ? " [" : "",
             clause ? clause : "", clause ? "]" : "");
    struct CMUnitTest *t = &g->tests[g->count++];
    memset(t, 0, sizeof(*t));
    t->name = full;
    t->test_func = fn;
    t->initial_state = state;
}

void th_group_add_rows(struct th_group *g, CMUnitTestFunction fn, const void *rows, size_t nrows,
                       size_t stride)
{
    for (size_t i = 0; i < nrows; i++) {
        const struct th_rule_id *id = (const void *)((const char *)rows + i * stride);
        th_group_add(g, id->name, NULL, id->clause, fn, (void *)id);
    }
}

void th_group_add_tests(struct th_group *g, const struct CMUnitTest *tests, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        th_group_add(g, tests[i].name, NULL, NULL, tests[i].test_func, tests[i].initial_state);
        g->tests[g->count - 1].setup_func = tests[i].setup_func;
        g->tests[g->count - 1].teardown_func = tests[i].teardown_func;
    }
}

int th_group_run(struct th_group *g, const char *group)
{
    int rc = _cmocka_run_group_tests(group, g->tests, g->count, NULL, NULL);
    for (size_t i = 0; i < g->count; i++)
        free((char *)g->tests[i].name);
    free(g->tests);
    memset(g, 0, sizeof(*g));
    return rc;
}

int th_run_tables(const char *group, const struct th_table *tables, size_t ntables,
                  const struct CMUnitTest *tests, size_t ntests)
{
    size_t nprofiled = 0;
    for (size_t i = 0; i < ntables; i++)
        nprofiled += tables[i].both_profiles ? 2 * tables[i].nrows : 0;
    struct th_profiled_row *profiled = calloc(nprofiled + 1, sizeof(*profiled));
    assert_non_null(profiled);
    struct th_group g = { NULL, 0, 0 };
    size_t n = 0;
    for (size_t i = 0; i < ntables; i++) {
        const struct th_table *t = &tables[i];
        if (!t->both_profiles) {
            th_group_add_rows(&g, t->fn, t->rows, t->nrows, t->stride);
            continue;
        }
        for (size_t r = 0; r < t->nrows; r++) {
            const struct th_rule_id *id = (const void *)((const char *)t->rows + r * t->stride);
            for (size_t p = 0; p < 2; p++) {
                profiled[n] = (struct th_profiled_row){ th_profiles[p], id };
                th_group_add(&g, id->name, p == 0 ? "/spc4" : "/lio", id->clause, t->fn,
                             &profiled[n]);
                n++;
            }
        }
    }
    th_group_add_tests(&g, tests, ntests);
    int rc = th_group_run(&g, group);
    free(profiled);
    return rc;
}

int th_run_rules(const char *group, const struct th_row *rows, size_t nrows,
                 const struct CMUnitTest *extra, size_t nextra)
{
    static const struct {
        enum th_profiles bit;
        enum pr_sim_profile profile;
        const char *suffix;
    } profiles[] = { { TH_SPC4, PR_SIM_PROFILE_SPC4, "/spc4" },
                     { TH_LIO, PR_SIM_PROFILE_LIO, "/lio" } };
    struct th_case *cases = calloc(2 * nrows + 1, sizeof(*cases));
    assert_non_null(cases);
    struct th_group g = { NULL, 0, 0 };
    size_t n = 0;
    for (size_t i = 0; i < nrows; i++) {
        enum th_profiles want = rows[i].profiles ? rows[i].profiles : TH_SPC4;
        for (size_t p = 0; p < 2; p++) {
            if (!(want & profiles[p].bit))
                continue;
            cases[n].row = &rows[i];
            cases[n].profile = profiles[p].profile;
            th_group_add(&g, rows[i].name, want == TH_BOTH ? profiles[p].suffix : NULL,
                         rows[i].clause, run_case, &cases[n]);
            cases[n].name = g.tests[g.count - 1].name;
            n++;
        }
    }
    th_group_add_tests(&g, extra, nextra);
    int rc = th_group_run(&g, group);
    free(cases);
    return rc;
}
