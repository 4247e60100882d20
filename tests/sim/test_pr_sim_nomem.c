/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_nomem.c - the simulator under allocation failure.
 *
 * This executable is linked with --wrap=malloc,calloc,realloc (see
 * CMakeLists.txt): the simulator's allocations go through the wrappers
 * below, which fail the Nth one.  For each operation every N is tried in
 * turn; each run must end GOOD, or in the documented CHECK CONDITION with
 * the LUN exactly as before, and (under ASan) leak nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_table.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);

/* -1: never fail; otherwise the number of allocations left to succeed. */
static long alloc_budget = -1;
static bool alloc_failed;

static bool take_allocation(void)
{
    if (alloc_budget < 0)
        return true;
    if (alloc_budget == 0) {
        alloc_budget = -1; /* one failure, then normal service */
        alloc_failed = true;
        return false;
    }
    alloc_budget--;
    return true;
}

void *__wrap_malloc(size_t size)
{
    return take_allocation() ? __real_malloc(size) : NULL;
}

void *__wrap_calloc(size_t n, size_t size)
{
    return take_allocation() ? __real_calloc(n, size) : NULL;
}

void *__wrap_realloc(void *p, size_t size)
{
    return take_allocation() ? __real_realloc(p, size) : NULL;
}

static void fail_allocation(long n)
{
    alloc_failed = false;
    alloc_budget = n;
}

static void allocations_normal(void)
{
    alloc_budget = -1;
}

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull

/* A LUN with three iSCSI ports, A registered (K1) and known nexus B; cfg
 * (zeroed here) is its configuration, with persist as its persist hook. */
static struct pr_sim_lun *fixture(struct pr_sim_config *cfg, pr_sim_persist_fn persist,
                                  struct pr_sim_nexus *a, struct pr_sim_nexus *b)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->persist = persist;
    struct pr_sim_lun *lun = pr_sim_lun_new(cfg);
    assert_non_null(lun);
    for (uint16_t p = 1; p <= 3; p++)
        assert_int_equal(pr_sim_lun_add_port(lun, p, PR_TID_PROTO_ISCSI), 0);
    *a = th_nexus('A', 1);
    *b = th_nexus('B', 1);
    assert_good(th_register(lun, a, 0, K1));
    th_expect_no_ua(lun, b);
    return lun;
}

static bool is_resource_error(struct pr_sim_result r)
{
    return r.status == SCSI_STATUS_CHECK_CONDITION &&
           (scsi_sense_equal(r.sense, SENSE_INSUFFICIENT_REG_RESOURCES) ||
            scsi_sense_equal(r.sense, SENSE_INTERNAL_TARGET_FAILURE));
}

static void test_nomem_lun_new_returns_null(void **state)
{
    (void)state;
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    fail_allocation(0);
    assert_null(pr_sim_lun_new(&cfg));
    allocations_normal();
}

/* The fixture's LUN and nexuses, as the all-or-nothing rules use them. */
struct nomem_lun {
    struct pr_sim_lun *lun;
    struct pr_sim_nexus a, b;
};

/* A command that must be all or nothing: with every allocation it makes
 * failing in turn (the 1st, the 2nd, ...) it fails with the LUN exactly
 * as before (unchanged); with none failing it is GOOD (after_good). */
struct nomem_rule {
    struct th_rule_id id;
    bool aptpl;                                    /* a persist hook on the LUN */
    void (*given)(struct nomem_lun *x);            /* beyond the fixture (or NULL) */
    struct pr_sim_result (*when)(struct nomem_lun *x);
    bool internal_failure; /* fails with INTERNAL TARGET FAILURE, else a resource error */
    void (*after_good)(struct nomem_lun *x);
    void (*unchanged)(struct nomem_lun *x);
};

static int persist_ok(void *opaque, const uint8_t *image, size_t len)
{
    (void)opaque;
    (void)image;
    (void)len;
    return 0;
}

static void test_nomem_rule(void **state)
{
    const struct nomem_rule *rule = *state;
    for (long n = 0;; n++) {
        struct pr_sim_config cfg;
        struct nomem_lun x;
        x.lun = fixture(&cfg, rule->aptpl ? persist_ok : NULL, &x.a, &x.b);
        if (rule->given)
            rule->given(&x);
        fail_allocation(n);
        struct pr_sim_result r = rule->when(&x);
        allocations_normal();
        bool failed = alloc_failed;
        if (!failed) {
            assert_good(r);
            rule->after_good(&x);
        } else if (rule->internal_failure) {
            assert_check(r, SENSE_INTERNAL_TARGET_FAILURE);
        } else if (!is_resource_error(r)) {
            fail_msg("%s: allocation %ld failing: status %#x, not a resource error", rule->id.name,
                     n, r.status);
        }
        if (failed)
            rule->unchanged(&x);
        pr_sim_lun_free(x.lun);
        if (!failed)
            break;
    }
}

static void a_alone_registered(struct nomem_lun *x)
{
    th_expect_keys(x->lun, &x->a, 1, 1, K1);
}

/* B registers K2 on all three ports. */
static struct pr_sim_result b_registers_all_tg_pt(struct nomem_lun *x)
{
    return th_register_flags(x->lun, &x->b, 0, K2, PR_OUT_FLAG_ALL_TG_PT);
}

static void b_registered_on_three_ports(struct nomem_lun *x)
{
    th_expect_keys(x->lun, &x->a, 2, 4, K1, K2, K2, K2);
}

/* B registers K2 with SPEC_I_PT and ALL_TG_PT for C, D and E. */
static struct pr_sim_result b_registers_spec_i_pt(struct nomem_lun *x)
{
    struct pr_sim_nexus c = th_nexus('C', 1), d = th_nexus('D', 1), e = th_nexus('E', 1);
    uint8_t list[512] = { 0 };
    scsi_put_be64(list + 8, K2);
    list[20] = PR_OUT_FLAG_SPEC_I_PT | PR_OUT_FLAG_ALL_TG_PT;
    size_t off = 28;
    const struct pr_tid tids[] = { c.initiator, d.initiator, e.initiator };
    for (size_t i = 0; i < 3; i++)
        off += pr_tid_build(&tids[i], list + off, sizeof(list) - off);
    scsi_put_be32(list + 24, (uint32_t)(off - 28));
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER, 0, 0, 0, 0, 0,
                        0, (uint8_t)off, 0 };
    scsi_put_be32(cdb + 5, (uint32_t)off);
    return th_prout_raw(x->lun, &x->b, cdb, list, off);
}

static void thirteen_registrations(struct nomem_lun *x)
{
    assert_int_equal(pr_sim_registration_count(x->lun), 13);
}

/* APTPL on: A and B registered, B holds Exclusive Access, Registrants Only. */
static void aptpl_b_holds_ea_ro(struct nomem_lun *x)
{
    assert_good(th_register_flags(x->lun, &x->a, K1, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(x->lun, &x->b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(x->lun, &x->b, K2, PR_TYPE_EA_RO));
}

static struct pr_sim_result a_preempts_b(struct nomem_lun *x)
{
    return th_preempt(x->lun, &x->a, K1, K2, PR_TYPE_WE, false);
}

static void a_holds_we(struct nomem_lun *x)
{
    th_expect_reservation(x->lun, &x->a, K1, PR_TYPE_WE);
}

static void b_still_holds_ea_ro(struct nomem_lun *x)
{
    th_expect_keys(x->lun, &x->a, 3, 2, K1, K2);
    th_expect_reservation(x->lun, &x->a, K2, PR_TYPE_EA_RO);
    th_expect_no_ua(x->lun, &x->b);
}

static void a_holds_we_with_k1(struct nomem_lun *x)
{
    assert_good(th_reserve(x->lun, &x->a, K1, PR_TYPE_WE));
}

/* A moves its Write Exclusive reservation to a new nexus Q on port 2 (key K2). */
static struct pr_sim_result a_moves_to_new_nexus(struct nomem_lun *x)
{
    struct pr_sim_nexus dest = th_nexus('Q', 2);
    uint8_t list[512] = { 0 };
    scsi_put_be64(list, K1);
    scsi_put_be64(list + 8, K2);
    scsi_put_be16(list + 18, 2);
    size_t tl = pr_tid_build(&dest.initiator, list + 24, sizeof(list) - 24);
    scsi_put_be32(list + 20, (uint32_t)tl);
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER_AND_MOVE, PR_TYPE_WE };
    scsi_put_be32(cdb + 5, (uint32_t)(24 + tl));
    return th_prout_raw(x->lun, &x->a, cdb, list, 24 + tl);
}

static void k2_holds_we(struct nomem_lun *x)
{
    th_expect_reservation(x->lun, &x->a, K2, PR_TYPE_WE);
}

static void a_still_holds_we(struct nomem_lun *x)
{
    th_expect_reservation(x->lun, &x->a, K1, PR_TYPE_WE);
    th_expect_keys(x->lun, &x->a, 1, 1, K1);
}

/* SPC-4 5.14.7 / pr-semantics 3.3, 3.4.1, 3.9: a PR OUT command that runs
 * out of memory changes nothing. */
static const struct nomem_rule nomem_rules[] = {
    { .id = { "nomem_all_tg_pt_register_is_all_or_nothing", "pr-semantics 3.4" },
      .when = b_registers_all_tg_pt, .after_good = b_registered_on_three_ports,
      .unchanged = a_alone_registered },
    { .id = { "nomem_spec_i_pt_register_is_all_or_nothing", "pr-semantics 3.4.1" },
      .when = b_registers_spec_i_pt, .after_good = thirteen_registrations,
      .unchanged = a_alone_registered },
    { .id = { "nomem_aptpl_command_leaves_state_unchanged", "pr-semantics 3.3" }, .aptpl = true,
      .given = aptpl_b_holds_ea_ro, .when = a_preempts_b, .internal_failure = true,
      .after_good = a_holds_we, .unchanged = b_still_holds_ea_ro },
    { .id = { "nomem_register_and_move_to_new_nexus", "pr-semantics 3.9" },
      .given = a_holds_we_with_k1, .when = a_moves_to_new_nexus, .after_good = k2_holds_we,
      .unchanged = a_still_holds_we },
};

static void test_nomem_new_nexus_command_fails_cleanly(void **state)
{
    (void)state;
    struct pr_sim_config cfg;
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = fixture(&cfg, NULL, &a, &b);
    /* 70 new nexuses (the hash table grows on the way); each REGISTER is
     * tried with its 1st, 2nd, ... allocation failing until it succeeds. */
    for (int i = 0; i < 70; i++) {
        struct pr_sim_nexus x = th_nexus((char)('0' + i), (uint16_t)(1 + i % 3));
        for (long n = 0;; n++) {
            fail_allocation(n);
            struct pr_sim_result r = th_register(lun, &x, 0, K2);
            allocations_normal();
            if (!alloc_failed) {
                assert_good(r);
                break;
            }
            assert_true(is_resource_error(r));
            assert_int_equal(pr_sim_registration_count(lun), 1 + (size_t)i);
        }
    }
    assert_int_equal(pr_sim_registration_count(lun), 71);
    pr_sim_lun_free(lun);
}

static void test_nomem_serialize_and_deserialize_report_enomem(void **state)
{
    (void)state;
    struct pr_sim_config cfg;
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = fixture(&cfg, NULL, &a, &b);
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
    uint8_t *img;
    size_t len;
    fail_allocation(0);
    assert_int_equal(pr_sim_serialize(lun, &img, &len), -12);
    allocations_normal();
    assert_int_equal(pr_sim_serialize(lun, &img, &len), 0);
    for (long n = 0;; n++) {
        struct pr_sim_lun *copy = pr_sim_lun_new(&cfg);
        char err[128];
        fail_allocation(n);
        int rc = pr_sim_deserialize(copy, img, len, err, sizeof(err));
        allocations_normal();
        if (!alloc_failed) {
            assert_int_equal(rc, 0);
            assert_int_equal(pr_sim_registration_count(copy), 2);
            pr_sim_lun_free(copy);
            break;
        }
        assert_int_equal(rc, -12);
        assert_string_equal(err, "out of memory");
        assert_int_equal(pr_sim_registration_count(copy), 0);
        pr_sim_lun_free(copy);
    }
    free(img);
    pr_sim_lun_free(lun);
}

static void test_nomem_queue_ua_and_add_port_report_enomem(void **state)
{
    (void)state;
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    struct pr_sim_nexus z = th_nexus('Z', 1);
    fail_allocation(0);
    assert_int_equal(pr_sim_queue_ua(lun, &z, SENSE_UA_POWER_ON_RESET), -12);
    fail_allocation(0);
    assert_int_equal(pr_sim_lun_add_port(lun, 9, PR_TID_PROTO_SAS), -12);
    /* A command on an unknown port cannot add it: internal failure. */
    fail_allocation(0);
    assert_check(th_cmd(lun, &z, (const uint8_t[6]){ 0 }, 6), SENSE_INTERNAL_TARGET_FAILURE);
    allocations_normal();
    assert_int_equal(pr_sim_queue_ua(lun, &z, SENSE_UA_POWER_ON_RESET), 0);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nomem_lun_new_returns_null),
        cmocka_unit_test(test_nomem_new_nexus_command_fails_cleanly),
        cmocka_unit_test(test_nomem_serialize_and_deserialize_report_enomem),
        cmocka_unit_test(test_nomem_queue_ua_and_add_port_report_enomem),
    };
    return th_run_table("pr_sim.nomem", test_nomem_rule, nomem_rules, tests);
}
