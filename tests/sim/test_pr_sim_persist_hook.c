/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_persist_hook.c - the persist hook (SPC-4 5.14.5: what
 * APTPL keeps must reach the store before the command completes): when it
 * is called, what it is given, and the rollback when it fails (SPC-4
 * 5.14.1: a command that fails changes nothing; table rollback_rules).
 * When it is called and what it is given is the table hook_rules.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_image.h"

/* ========================================================================= */
/* the persist hook                                                           */
/* ========================================================================= */

/*
 * When the hook is called and what it is given: the starting state, the
 * command, the number of hook calls in all, and the last image (loaded
 * into a fresh LUN) or the stub written when APTPL goes off.
 */
struct image_want {
    bool check;
    size_t regs;
    unsigned type;
    enum th_aptpl_check aptpl;
    uint64_t first_key;   /* 0: not checked */
    const char *first_of; /* the first registration's nexus, NULL: not checked */
};

struct hook_rule {
    struct th_rule_id id;
    enum pr_sim_profile profile;
    struct th_step given[4];
    struct th_step when;
    int calls;
    enum th_aptpl_check lun_aptpl;
    size_t lun_regs; /* with lun_regs_check */
    bool lun_regs_check;
    struct image_want image;
    bool stub; /* header and an empty reservation record, flags 0, no registrations */
};

#define APTPL_REGISTER(who, rk_, sark_) { REGISTER((who), (rk_), (sark_)), .flags = FLAG_APTPL }
#define SPC4 PR_SIM_PROFILE_SPC4

static const struct hook_rule hook_rules[] = {
    { { "persist_hook_called_on_register_with_aptpl", "SPC-4 5.14.5" }, SPC4,
      .when = APTPL_REGISTER("A1", 0, K1), .calls = 1,
      .image = { true, 1, PR_TYPE_NONE, APTPL_ON, K1, "A1" } },
    { { "persist_hook_called_on_key_change_with_aptpl", "SPC-4 5.14.5" }, SPC4,
      .given = { APTPL_REGISTER("A1", 0, K1) },
      .when = APTPL_REGISTER("A1", K1, K2), .calls = 2,
      .image = { true, 1, PR_TYPE_NONE, APTPL_ON, K2, "A1" } },
    { { "persist_hook_called_on_register_ignore_with_aptpl", "SPC-4 5.14.5" }, SPC4,
      .given = { APTPL_REGISTER("A1", 0, K1), APTPL_REGISTER("A1", K1, K2) },
      .when = { REGISTER_IGNORE("A1", 0, K3), .flags = FLAG_APTPL }, .calls = 3,
      .image = { true, 1, PR_TYPE_NONE, APTPL_ON, K3, "A1" } },
    { { "persist_hook_called_on_reserve_while_aptpl_active", "SPC-4 5.14.5" }, SPC4,
      .given = { APTPL_REGISTER("A1", 0, K1) },
      .when = { RESERVE("A1", K1, PR_TYPE_WE_AR) }, .calls = 2,
      .image = { true, 1, PR_TYPE_WE_AR, APTPL_ON, 0, NULL } },
    { { "persist_hook_called_on_release_while_aptpl_active", "SPC-4 5.14.5" }, SPC4,
      .given = { APTPL_REGISTER("A1", 0, K1), { RESERVE("A1", K1, PR_TYPE_EA) } },
      .when = { RELEASE("A1", K1, PR_TYPE_EA) }, .calls = 3,
      .image = { true, 1, PR_TYPE_NONE, APTPL_ON, 0, NULL } },
    { { "persist_hook_called_on_preempt_while_aptpl_active", "SPC-4 5.14.5" }, SPC4,
      .given = { APTPL_REGISTER("A1", 0, K1), APTPL_REGISTER("B2", 0, K2),
                 { RESERVE("A1", K1, PR_TYPE_WE) } },
      .when = { PREEMPT("B2", K2, K1, PR_TYPE_EA) }, .calls = 4,
      .image = { true, 1, PR_TYPE_EA, APTPL_ON, K2, "B2" } },
    /* D16 off: APTPL untouched. */
    { { "persist_hook_clear_spc4_writes_empty_image_keeping_aptpl", "SPC-4 5.14.11.2.6" }, SPC4,
      .given = { APTPL_REGISTER("A1", 0, K1) },
      .when = { CLEAR("A1", K1) }, .calls = 2, .lun_aptpl = APTPL_ON,
      .image = { true, 0, PR_TYPE_NONE, APTPL_ON, 0, NULL } },
    { { "persist_hook_clear_lio_writes_stub_with_aptpl_off", "D16" }, PR_SIM_PROFILE_LIO,
      .given = { APTPL_REGISTER("A1", 0, K1) },
      .when = { CLEAR("A1", K1) }, .calls = 2, .lun_aptpl = APTPL_OFF, .stub = true },
    /* APTPL bit 0: the image holds nothing; memory keeps the registrations. */
    { { "persist_hook_turning_aptpl_off_writes_image_without_registrations", "SPC-4 5.14.5" }, SPC4,
      .given = { APTPL_REGISTER("A1", 0, K1), APTPL_REGISTER("B2", 0, K2),
                 { RESERVE("A1", K1, PR_TYPE_EA) } },
      .when = { REGISTER("B2", K2, K3) }, .calls = 4, .lun_aptpl = APTPL_OFF,
      .lun_regs = 2, .lun_regs_check = true, .stub = true,
      .image = { true, 0, PR_TYPE_NONE, APTPL_OFF, 0, NULL } },
};

static void test_hook_rule(void **state)
{
    const struct hook_rule *r = *state;
    const char *name = r->id.name;
    struct recorder rec;
    struct pr_sim_lun *lun = img_recorded_lun(r->profile, &rec);
    th_send_steps(name, lun, r->given, sizeof(r->given) / sizeof(r->given[0]), "given");
    th_send_steps(name, lun, &r->when, 1, "the command");
    if (rec.calls != r->calls)
        fail_msg("%s: %d hook calls, want %d", name, rec.calls, r->calls);
    if (r->lun_aptpl != TH_APTPL_UNCHECKED && pr_sim_aptpl_active(lun) != (r->lun_aptpl == APTPL_ON))
        fail_msg("%s: the LUN's APTPL is %d", name, pr_sim_aptpl_active(lun));
    if (r->lun_regs_check && pr_sim_registration_count(lun) != r->lun_regs)
        fail_msg("%s: the LUN has %zu registrations, want %zu", name,
                 pr_sim_registration_count(lun), r->lun_regs);
    if (r->stub && (rec.last_len != HDR_LEN + RES_LEN || scsi_get_be32(rec.last + OFF_FLAGS) != 0 ||
                    scsi_get_be32(rec.last + OFF_REG_COUNT) != 0))
        fail_msg("%s: the image is not the empty stub (%zu bytes)", name, rec.last_len);
    if (r->image.check) {
        struct pr_sim_lun *img = img_load_last(&rec);
        if (pr_sim_registration_count(img) != r->image.regs ||
            pr_sim_reservation_type(img) != r->image.type ||
            pr_sim_aptpl_active(img) != (r->image.aptpl == APTPL_ON))
            fail_msg("%s: image has %zu registrations, type %u, APTPL %d; want %zu, %u, %d", name,
                     pr_sim_registration_count(img), pr_sim_reservation_type(img),
                     pr_sim_aptpl_active(img), r->image.regs, r->image.type,
                     r->image.aptpl == APTPL_ON);
        struct pr_sim_registration_view v;
        memset(&v, 0, sizeof(v));
        bool have = pr_sim_registration_at(img, 0, &v);
        if (r->image.first_key != 0 && (!have || v.key != r->image.first_key))
            fail_msg("%s: the image's first key is not %#llx", name,
                     (unsigned long long)r->image.first_key);
        if (r->image.first_of != NULL) {
            struct pr_sim_nexus first = th_nexus_named(r->image.first_of);
            if (!have || !pr_tid_equal(&v.nexus.initiator, &first.initiator))
                fail_msg("%s: the image's first registration is not %s's", name,
                         r->image.first_of);
        }
        pr_sim_lun_free(img);
    }
    img_recorded_free(lun, &rec);
}

/* The hook tests' LUN: spc4, its persist hook recording each image. */
struct hooked {
    struct recorder rec;
    struct pr_sim_lun *lun;
};

static int hooked_setup(void **state)
{
    static struct hooked h;
    h.lun = img_recorded_lun(PR_SIM_PROFILE_SPC4, &h.rec);
    *state = &h;
    return 0;
}

static int hooked_teardown(void **state)
{
    struct hooked *h = *state;
    img_recorded_free(h->lun, &h->rec);
    return 0;
}

static void test_persist_hook_image_equals_serialize_after_command(void **state)
{
    struct hooked *h = *state;
    struct pr_sim_lun *lun = h->lun;
    img_aptpl_pair(lun, 'B', PR_TYPE_EA_RO);
    size_t len;
    uint8_t *img = img_serialize(lun, &len);
    assert_int_equal(h->rec.last_len, len);
    assert_memory_equal(h->rec.last, img, len);
    free(img);
}

static void test_persist_hook_not_called_after_aptpl_turned_off(void **state)
{
    struct hooked *h = *state;
    struct pr_sim_lun *lun = h->lun;
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &a, K1, K2, 0));
    int calls = h->rec.calls;
    assert_good(th_reserve(lun, &a, K2, PR_TYPE_WE));
    assert_good(th_release(lun, &a, K2, PR_TYPE_WE));
    assert_good(th_register(lun, &a, K2, K3));
    assert_int_equal(h->rec.calls, calls);
}

static void test_power_cycle_does_not_call_persist_hook(void **state)
{
    struct hooked *h = *state;
    struct pr_sim_lun *lun = h->lun;
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    int calls = h->rec.calls;
    pr_sim_power_cycle(lun);
    assert_int_equal(h->rec.calls, calls);
}

static void test_persist_hook_not_called_when_aptpl_never_on(void **state)
{
    struct hooked *h = *state;
    struct pr_sim_lun *lun = h->lun;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register_ignore(lun, &b, K2));
    assert_good(th_register(lun, &a, K1, K3));
    assert_good(th_reserve(lun, &a, K3, PR_TYPE_WE));
    assert_good(th_release(lun, &a, K3, PR_TYPE_WE));
    assert_good(th_reserve(lun, &a, K3, PR_TYPE_EA));
    assert_good(th_preempt(lun, &b, K2, K3, PR_TYPE_WE_RO, false));
    th_clear_ua(lun, &a);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_preempt(lun, &a, K1, K2, PR_TYPE_EA, true));
    th_clear_ua(lun, &b);
    assert_good(th_register(lun, &b, 0, K2));
    assert_good(th_clear(lun, &a, K1));
    assert_int_equal(h->rec.calls, 0);
    assert_null(h->rec.last);
}

static void test_persist_hook_not_called_for_failed_or_unchanging_commands(void **state)
{
    struct hooked *h = *state;
    struct pr_sim_lun *lun = h->lun;
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    int calls = h->rec.calls;
    /* Conflicts and errors. */
    assert_conflict(th_reserve(lun, &b, K2, PR_TYPE_WE));
    assert_conflict(th_register_flags(lun, &b, K3, K4, PR_OUT_FLAG_APTPL));
    assert_check(th_reserve(lun, &a, K1, 0x2), SENSE_INVALID_FIELD_IN_CDB);
    /* GOOD without a change: same RESERVE again, RELEASE by a non-holder,
     * REGISTER of key 0 by an unregistered nexus. */
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    assert_good(th_release(lun, &b, K2, PR_TYPE_WE));
    struct pr_sim_nexus c = th_nexus('C', 1);
    assert_good(th_register_flags(lun, &c, 0, 0, PR_OUT_FLAG_APTPL));
    /* PR IN. */
    (void)th_read_keys(lun, &a);
    assert_int_equal(h->rec.calls, calls);
}

/* ---- failing hook: rollback -------------------------------------------------- */

static const int persist_errors[] = { -ENOSPC, -EIO };

/*
 * Setup with a working hook: A@1 K1 holds WE_RO, B@2 K2, C@1 K3, APTPL
 * on; a UA pending on C; D@2 known but unregistered.  Then the hook
 * starts failing with err.
 */
struct fx {
    struct recorder rec;
    struct pr_sim_lun *lun;
    struct pr_sim_nexus a, b, c, d;
    struct pr_sim_nexus watch[4];
};

static void fx_setup(struct fx *f, int err)
{
    static const uint8_t tur[6] = { 0 };
    memset(f, 0, sizeof(*f));
    f->lun = th_lun_hooked(PR_SIM_PROFILE_SPC4, img_record_persist, &f->rec);
    f->a = th_nexus('A', 1);
    f->b = th_nexus('B', 2);
    f->c = th_nexus('C', 1);
    f->d = th_nexus('D', 2);
    assert_good(th_register_flags(f->lun, &f->a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(f->lun, &f->b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(f->lun, &f->c, 0, K3, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(f->lun, &f->a, K1, PR_TYPE_WE_RO));
    assert_good(th_cmd(f->lun, &f->d, tur, sizeof(tur)));
    assert_int_equal(pr_sim_queue_ua(f->lun, &f->c, SENSE_UA_RESERVATIONS_PREEMPTED), 0);
    f->watch[0] = f->a;
    f->watch[1] = f->b;
    f->watch[2] = f->c;
    f->watch[3] = f->d;
    f->rec.rc = err;
}

static void fx_teardown(struct fx *f)
{
    free(f->rec.last);
    pr_sim_lun_free(f->lun);
}

/* Run cmd on a fresh fixture per error code: HARDWARE ERROR 44h/00h, one
 * hook call, nothing changed; then the same command with a working hook
 * must succeed (the rolled-back state is sound). */
typedef struct pr_sim_result (*fx_cmd)(struct fx *f);

static void expect_rollback(fx_cmd cmd)
{
    for (size_t e = 0; e < sizeof(persist_errors) / sizeof(persist_errors[0]); e++) {
        struct fx f;
        fx_setup(&f, persist_errors[e]);
        struct snap before = img_take_snap(f.lun, f.watch, 4);
        int calls = f.rec.calls;
        struct pr_sim_result r = cmd(&f);
        assert_check(r, SENSE_INTERNAL_TARGET_FAILURE);
        assert_int_equal(f.rec.calls, calls + 1);
        struct snap after = img_take_snap(f.lun, f.watch, 4);
        assert_snap_equal(&before, &after);
        /* Retry with the disk back. */
        f.rec.rc = 0;
        assert_good(cmd(&f));
        assert_int_equal(f.rec.calls, calls + 2);
        fx_teardown(&f);
    }
}

static struct pr_sim_result cmd_register_new(struct fx *f)
{
    return th_register_flags(f->lun, &f->d, 0, K4, PR_OUT_FLAG_APTPL);
}

static struct pr_sim_result cmd_key_change(struct fx *f)
{
    return th_register_flags(f->lun, &f->b, K2, K5, PR_OUT_FLAG_APTPL);
}

static struct pr_sim_result cmd_unregister(struct fx *f)
{
    return th_register_flags(f->lun, &f->b, K2, 0, PR_OUT_FLAG_APTPL);
}

static struct pr_sim_result cmd_unregister_holder(struct fx *f)
{
    return th_register_flags(f->lun, &f->a, K1, 0, PR_OUT_FLAG_APTPL);
}

static struct pr_sim_result cmd_aptpl_off(struct fx *f)
{
    return th_register_flags(f->lun, &f->b, K2, K5, 0);
}

static struct pr_sim_result cmd_release(struct fx *f)
{
    return th_release(f->lun, &f->a, K1, PR_TYPE_WE_RO);
}

static struct pr_sim_result cmd_preempt(struct fx *f)
{
    return th_preempt(f->lun, &f->b, K2, K1, PR_TYPE_EA, false);
}

static struct pr_sim_result cmd_preempt_and_abort(struct fx *f)
{
    return th_preempt(f->lun, &f->b, K2, K1, PR_TYPE_WE_RO, true);
}

static struct pr_sim_result cmd_clear(struct fx *f)
{
    return th_clear(f->lun, &f->b, K2);
}

static struct pr_sim_result cmd_register_and_move(struct fx *f)
{
    uint8_t param[24 + PR_TID_MAX_LEN];
    memset(param, 0, sizeof(param));
    scsi_put_be64(param, K1);
    scsi_put_be64(param + 8, K6);
    param[17] = PR_MOVE_FLAG_APTPL;
    scsi_put_be16(param + 18, f->d.rtpi);
    size_t tl = pr_tid_build(&f->d.initiator, param + 24, PR_TID_MAX_LEN);
    assert_true(tl > 0);
    scsi_put_be32(param + 20, (uint32_t)tl);
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER_AND_MOVE, 0 };
    scsi_put_be32(cdb + 5, (uint32_t)(24 + tl));
    return th_prout_raw(f->lun, &f->a, cdb, param, 24 + tl);
}

/* SPC-4 5.14.1: a command that fails changes nothing.  One row per PR OUT
 * service action whose change must reach the store first. */
struct rollback_rule {
    struct th_rule_id id;
    fx_cmd cmd;
};

static const struct rollback_rule rollback_rules[] = {
    { { "failing_persist_on_new_registration_rolls_back", "SPC-4 5.14.1" }, cmd_register_new },
    { { "failing_persist_on_key_change_rolls_back", "SPC-4 5.14.1" }, cmd_key_change },
    { { "failing_persist_on_unregister_rolls_back", "SPC-4 5.14.1" }, cmd_unregister },
    { { "failing_persist_on_holder_unregister_rolls_back_release_and_uas", "SPC-4 5.14.1" },
      cmd_unregister_holder },
    { { "failing_persist_when_turning_aptpl_off_rolls_back", "SPC-4 5.14.1" }, cmd_aptpl_off },
    { { "failing_persist_on_release_rolls_back_reservation_and_uas", "SPC-4 5.14.1" }, cmd_release },
    { { "failing_persist_on_preempt_rolls_back", "SPC-4 5.14.1" }, cmd_preempt },
    { { "failing_persist_on_preempt_and_abort_rolls_back", "SPC-4 5.14.1" }, cmd_preempt_and_abort },
    { { "failing_persist_on_clear_rolls_back", "SPC-4 5.14.1" }, cmd_clear },
    { { "failing_persist_on_register_and_move_rolls_back", "SPC-4 5.14.1" }, cmd_register_and_move },
};

static void test_rollback_rule(void **state)
{
    const struct rollback_rule *r = *state;
    expect_rollback(r->cmd);
}

static void test_failing_persist_on_reserve_rolls_back(void **state)
{
    (void)state;
    for (size_t e = 0; e < sizeof(persist_errors) / sizeof(persist_errors[0]); e++) {
        struct recorder rec;
        struct pr_sim_lun *lun = img_recorded_lun(PR_SIM_PROFILE_SPC4, &rec);
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
        assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
        assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
        struct pr_sim_nexus watch[2] = { a, b };
        struct snap before = img_take_snap(lun, watch, 2);
        rec.rc = persist_errors[e];
        assert_check(th_reserve(lun, &a, K1, PR_TYPE_EA), SENSE_INTERNAL_TARGET_FAILURE);
        struct snap after = img_take_snap(lun, watch, 2);
        assert_snap_equal(&before, &after);
        /* No reservation: B may write. */
        assert_good(th_write10(lun, &b));
        rec.rc = 0;
        assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
        assert_conflict(th_write10(lun, &b));
        img_recorded_free(lun, &rec);
    }
}

static void test_failing_persist_when_turning_aptpl_on_leaves_lun_empty(void **state)
{
    (void)state;
    for (size_t e = 0; e < sizeof(persist_errors) / sizeof(persist_errors[0]); e++) {
        struct recorder rec = { 0, persist_errors[e], NULL, 0 };
        struct pr_sim_lun *lun = th_lun_hooked(PR_SIM_PROFILE_SPC4, img_record_persist, &rec);
        struct pr_sim_nexus a = th_nexus('A', 1);
        assert_check(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL | PR_OUT_FLAG_ALL_TG_PT),
                     SENSE_INTERNAL_TARGET_FAILURE);
        assert_int_equal(rec.calls, 1);
        assert_int_equal(pr_sim_registration_count(lun), 0);
        assert_false(pr_sim_aptpl_active(lun));
        assert_int_equal(pr_sim_generation(lun), 0);
        th_expect_no_keys(lun, &a, 0);
        img_recorded_free(lun, &rec);
    }
}

static void test_failing_persist_keeps_generation_visible_to_pr_in(void **state)
{
    (void)state;
    struct fx f;
    fx_setup(&f, -EIO);
    struct th_keys before = th_read_keys(f.lun, &f.b);
    assert_check(cmd_key_change(&f), SENSE_INTERNAL_TARGET_FAILURE);
    struct th_keys after = th_read_keys(f.lun, &f.b);
    assert_int_equal(after.generation, before.generation);
    assert_int_equal(after.count, before.count);
    for (uint32_t i = 0; i < before.count; i++)
        assert_true(after.keys[i] == before.keys[i]);
    /* C still gets its pending UA first. */
    th_expect_ua(f.lun, &f.c, SENSE_UA_RESERVATIONS_PREEMPTED);
    fx_teardown(&f);
}

#define HOOKED(t) cmocka_unit_test_setup_teardown(t, hooked_setup, hooked_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        HOOKED(test_persist_hook_image_equals_serialize_after_command),
        HOOKED(test_persist_hook_not_called_after_aptpl_turned_off),
        HOOKED(test_power_cycle_does_not_call_persist_hook),
        HOOKED(test_persist_hook_not_called_when_aptpl_never_on),
        HOOKED(test_persist_hook_not_called_for_failed_or_unchanging_commands),
        cmocka_unit_test(test_failing_persist_on_reserve_rolls_back),
        cmocka_unit_test(test_failing_persist_when_turning_aptpl_on_leaves_lun_empty),
        cmocka_unit_test(test_failing_persist_keeps_generation_visible_to_pr_in),
    };
    const struct th_table tables[] = {
        TH_TABLE(test_hook_rule, hook_rules),
        TH_TABLE(test_rollback_rule, rollback_rules),
    };
    return th_run_tables("pr_sim.persist_hook", tables, TH_COUNT(tables), tests, TH_COUNT(tests));
}
