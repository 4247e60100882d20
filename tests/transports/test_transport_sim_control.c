/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_transport_sim_control.c - the sim transport's control commands
 * (state, fault, power-cycle) and the generation it reports to the
 * request trace, driven through the control table and the generic
 * request path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tu_text.h"
#include "sim_table.h"
#include "sim_transport_fixture.h"
#include "prhelper/control.h"
#include "prhelper/log.h"
#include "prhelper/transport.h"

/* The sim transport fixture (tests/helpers/sim_transport_fixture.h), spc4,
 * with the nexuses host-a (f->a) and host-b (f->b). */
static int setup(void **state)
{
    struct stfx *f = stfx_new();
    stfx_init(f, (struct prh_transport_options){ .sim_profile = "spc4" });
    stfx_hosts(f);
    *state = f;
    return 0;
}

#define ctl stfx_ctl

static int prout(struct stfx *f, void *nexus, uint8_t sa, uint8_t type, uint64_t rk, uint64_t sark,
                 uint8_t flags)
{
    return stfx_prout(f, nexus, f->disk, sa, type, rk, sark, flags);
}

static struct prh_reply *prin(struct stfx *f, void *nexus, uint8_t sa)
{
    stfx_prin(f, nexus, f->disk, sa);
    return &f->reply;
}

/* ---- state ------------------------------------------------------------------ */

static void test_state_lists_luns_and_shows_registrations_holder_type_generation(void **state)
{
    struct stfx *f = *state;
    assert_non_null(strstr(ctl(f, "state"), "no LUN has been used"));
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, 0), 0);
    assert_int_equal(prout(f, f->b, PR_OUT_REGISTER, 0, 0, 0xb, 0), 0);
    assert_int_equal(prout(f, f->a, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0, 0), 0);
    const char *s = ctl(f, "state");
    assert_non_null(strstr(s, f->lun));
    assert_non_null(strstr(s, "0x2 "));
    s = ctl(f, "state %s", f->lun);
    tu_assert_contains(s, "PR generation: 0x2",
                       "reservation:   Write Exclusive, registrants only (5)");
    assert_non_null(strstr(s, "0xa                1      no        yes    "
                              "iqn.2026-01.org.prhelper.sim:host-a,i,0x800000000001"));
    assert_non_null(strstr(s, "0xb                1      no        no     "));
    s = ctl(f, "state %s --json", f->lun);
    assert_non_null(strstr(s, "\"generation\":2,\"aptpl\":false,\"reservation\":{\"type\":5"));
    assert_non_null(strstr(s, "\"holders\":[{\"key\":\"0xa\",\"nexus\":"
                              "\"iqn.2026-01.org.prhelper.sim:host-a,i,0x800000000001@1\"}]"));
    assert_non_null(strstr(s, "{\"key\":\"0xb\",\"nexus\":\"iqn.2026-01.org.prhelper.sim:"
                              "host-b,i,0x800000000001@1\",\"all_tg_pt\":false,\"holder\":false}"));
    s = ctl(f, "state --json");
    assert_non_null(strstr(s, "\"registrations\":2,\"aptpl\":false,\"type\":5}"));
}

static void test_state_shows_pending_unit_attentions_per_nexus(void **state)
{
    struct stfx *f = *state;
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, 0), 0);
    assert_int_equal(prout(f, f->b, PR_OUT_REGISTER, 0, 0, 0xb, 0), 0);
    assert_int_equal(prout(f, f->a, PR_OUT_PREEMPT, PR_TYPE_WE, 0xa, 0xb, 0), 0);
    const char *s = ctl(f, "state %s", f->lun);
    assert_non_null(strstr(s, "host-b,i,0x800000000001@1:\n      UNIT ATTENTION, "
                              "REGISTRATIONS PREEMPTED (2Ah/05h)"));
    assert_null(strstr(s, "host-a,i,0x800000000001@1"));
    s = ctl(f, "state %s --json", f->lun);
    assert_non_null(strstr(s, "\"pending_unit_attentions\":[{\"key\":6,\"asc\":42,\"ascq\":5"));
    assert_non_null(strstr(ctl(f, "power-cycle all"), "power cycled"));
    prin(f, f->a, PR_IN_READ_KEYS);
    prin(f, f->b, PR_IN_READ_KEYS);
    prin(f, f->b, PR_IN_READ_KEYS);
    assert_non_null(strstr(ctl(f, "state %s", f->lun), "  pending unit attentions: none\n"));
}

/* ---- power cycle -------------------------------------------------------------- */

static void test_power_cycle_loses_non_aptpl_state_and_queues_power_on_reset(void **state)
{
    struct stfx *f = *state;
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, 0), 0);
    assert_int_equal(prout(f, f->b, PR_OUT_REGISTER, 0, 0, 0xb, 0), 0);
    assert_non_null(strstr(ctl(f, "power-cycle %s", f->lun), "APTPL off: PR state lost"));
    struct prh_reply *r = prin(f, f->b, PR_IN_READ_KEYS);
    assert_int_equal(r->status, SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(stfx_sense_of(r), SENSE_UA_POWER_ON_RESET));
    r = prin(f, f->a, PR_IN_READ_KEYS);
    assert_true(scsi_sense_equal(stfx_sense_of(r), SENSE_UA_POWER_ON_RESET));
    r = prin(f, f->a, PR_IN_READ_KEYS);
    assert_int_equal(r->status, 0);
    assert_int_equal(tu_key_count(r), 0);
}

static void test_power_cycle_keeps_aptpl_state(void **state)
{
    struct stfx *f = *state;
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, PR_OUT_FLAG_APTPL), 0);
    assert_non_null(strstr(ctl(f, "power-cycle all --json"),
                           "\"aptpl\":true,\"registrations\":1}"));
    prin(f, f->a, PR_IN_READ_KEYS); /* the POWER ON RESET */
    assert_true(tu_has_key(prin(f, f->a, PR_IN_READ_KEYS), 0xa));
}

/* ---- faults --------------------------------------------------------------------- */

static void test_fault_status_hits_the_next_n_matching_commands_only(void **state)
{
    struct stfx *f = *state;
    assert_non_null(strstr(ctl(f, "fault add busy sa=read-keys count=2"), "fault 1 armed"));
    assert_int_equal(prin(f, f->a, PR_IN_READ_RESERVATION)->status, 0); /* not matching */
    assert_int_equal(prin(f, f->a, PR_IN_READ_KEYS)->status, SCSI_STATUS_BUSY);
    assert_non_null(strstr(ctl(f, "fault list"), "1: busy sa=read-keys count=2 (1 more; 1 hit)"));
    assert_int_equal(prin(f, f->b, PR_IN_READ_KEYS)->status, SCSI_STATUS_BUSY);
    assert_int_equal(prin(f, f->a, PR_IN_READ_KEYS)->status, 0);
    assert_non_null(strstr(ctl(f, "fault list"), "no faults armed"));
}

static void test_fault_is_not_executed_so_state_is_unchanged(void **state)
{
    struct stfx *f = *state;
    ctl(f, "fault add conflict sa=register");
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(tu_key_count(prin(f, f->a, PR_IN_READ_KEYS)), 0);
}

static void test_fault_matches_client_by_name_or_connection_number(void **state)
{
    struct stfx *f = *state;
    ctl(f, "fault add task-set-full client=host-b count=always");
    ctl(f, "fault add status 40 client=1");
    assert_int_equal(prin(f, f->a, PR_IN_READ_KEYS)->status, SCSI_STATUS_TASK_ABORTED);
    assert_int_equal(prin(f, f->a, PR_IN_READ_KEYS)->status, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(prin(f, f->b, PR_IN_READ_KEYS)->status, SCSI_STATUS_TASK_SET_FULL);
    assert_non_null(strstr(ctl(f, "fault list --json"),
                           "{\"id\":1,\"spec\":\"task-set-full client=host-b count=always\","
                           "\"remaining\":null,\"hits\":3}"));
    assert_non_null(strstr(ctl(f, "fault clear 1"), "1 fault cleared"));
    assert_int_equal(prin(f, f->b, PR_IN_READ_KEYS)->status, 0);
}

static void test_fault_matches_lun(void **state)
{
    struct stfx *f = *state;
    ctl(f, "fault add busy lun=file-0-0");
    assert_int_equal(prin(f, f->a, PR_IN_READ_KEYS)->status, 0);
    ctl(f, "fault clear");
    ctl(f, "fault add busy lun=%s", f->lun);
    assert_int_equal(prin(f, f->a, PR_IN_READ_KEYS)->status, SCSI_STATUS_BUSY);
}

static void test_fault_sense_actions_answer_check_condition(void **state)
{
    struct stfx *f = *state;
    static const struct {
        const char *action;
        struct scsi_sense sense;
    } cases[] = {
        { "ua-power-on", SENSE_UA_POWER_ON_RESET },
        { "aborted", SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00) },
        { "not-ready", SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x00) },
        { "sense 5/24/0", SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x24, 0x00) },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ctl(f, "fault add %s sa=in", cases[i].action);
        struct prh_reply *r = prin(f, f->a, PR_IN_READ_KEYS);
        assert_int_equal(r->status, SCSI_STATUS_CHECK_CONDITION);
        assert_true(scsi_sense_equal(stfx_sense_of(r), cases[i].sense));
    }
}

static void test_fault_delay_waits_then_runs_the_command(void **state)
{
    struct stfx *f = *state;
    ctl(f, "fault add delay 200 sa=out");
    long t0 = tu_now_ms();
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, 0), 0);
    assert_true(tu_now_ms() - t0 >= 190);
    assert_true(tu_has_key(prin(f, f->a, PR_IN_READ_KEYS), 0xa));
}

static void test_fault_close_drops_the_reply_with_or_without_running_the_command(void **state)
{
    struct stfx *f = *state;
    ctl(f, "fault add close sa=register");
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, 0), -1);
    assert_int_equal(tu_key_count(prin(f, f->a, PR_IN_READ_KEYS)), 0);
    ctl(f, "fault add close-after sa=register");
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, 0), -1);
    assert_true(tu_has_key(prin(f, f->a, PR_IN_READ_KEYS), 0xa));
}

static void test_fault_add_and_clear_answer_in_json(void **state)
{
    struct stfx *f = *state;
    assert_non_null(strstr(ctl(f, "fault add busy --json"), "{\"id\":1}"));
    assert_non_null(strstr(ctl(f, "fault clear --json"), "{\"cleared\":1}"));
}

/* ---- refused lines: a table ------------------------------------------------------ */

/* Each row: a control line the sim transport must refuse, the start of its
 * answer; no fault may be armed by it (docs/daemon.md, "Control socket"). */
#define CONTROL "docs/daemon.md, Control socket"

struct refused_rule {
    struct th_rule_id id;
    const char *line;
    const char *want;
};

#define REFUSED(row, line_) { { row, CONTROL }, line_, "error\n" }

static const struct refused_rule refused_rules[] = {
    { { "state_of_an_unknown_lun_is_an_error", CONTROL }, "state file-0-0",
      "error\nno LUN 'file-0-0'" },
    { { "state_with_two_luns_is_a_usage_error", CONTROL }, "state a b",
      "error\nusage: state [LUN]" },
    { { "power_cycle_needs_a_lun", CONTROL }, "power-cycle", "error\nusage: power-cycle LUN|all" },
    { { "power_cycle_needs_a_known_lun", CONTROL }, "power-cycle file-1-1",
      "error\nno LUN 'file-1-1'" },
    REFUSED("fault_add_needs_an_action", "fault add"),
    REFUSED("fault_add_unknown_action", "fault add explode"),
    REFUSED("fault_add_two_actions", "fault add busy busy"),
    REFUSED("fault_add_unknown_service_action", "fault add busy sa=nope"),
    { { "fault_add_two_service_actions", CONTROL }, "fault add busy sa=register sa=reserve",
      "error\ngive sa= once" },
    REFUSED("fault_add_count_0", "fault add busy count=0"),
    REFUSED("fault_add_count_not_a_number", "fault add busy count=x"),
    REFUSED("fault_add_delay_needs_milliseconds", "fault add delay"),
    REFUSED("fault_add_negative_delay", "fault add delay -1"),
    REFUSED("fault_add_status_2", "fault add status 2"),
    REFUSED("fault_add_status_not_hex", "fault add status zz"),
    REFUSED("fault_add_sense_needs_three_parts", "fault add sense 6/29"),
    REFUSED("fault_add_sense_key_above_f", "fault add sense 10/0/0"),
    REFUSED("fault_clear_unknown_id", "fault clear 99"),
    REFUSED("fault_clear_id_not_a_number", "fault clear x"),
    REFUSED("fault_needs_a_verb", "fault"),
    REFUSED("fault_list_takes_no_argument", "fault list extra"),
    /* prhelper-tcmu's words, not the sim transport's (fault.h): only PR
     * requests reach a helper, so no READ/WRITE filter and no medium error. */
    { { "fault_add_medium_error_is_not_a_helper_fault", CONTROL }, "fault add medium-error",
      "error\nunknown fault action 'medium-error'" },
    { { "fault_add_op_filter_is_not_a_helper_filter", CONTROL }, "fault add busy op=read",
      "error\nunknown filter 'op=read'" },
};

static void test_refused_rule(void **state)
{
    struct stfx *f = stfx_new();
    const struct refused_rule *r = *state;
    stfx_init(f, (struct prh_transport_options){ .sim_profile = "spc4" });
    const char *got = ctl(f, "%s", r->line);
    if (strncmp(got, r->want, strlen(r->want)) != 0)
        fail_msg("%s: '%s' answered '%s', want '%s...'", r->id.name, r->line, got, r->want);
    if (!strstr(ctl(f, "fault list"), "no faults armed"))
        fail_msg("%s: '%s' armed a fault", r->id.name, r->line);
    stfx_free(f);
}

/* ---- the trace's view ------------------------------------------------------------ */

static void test_generation_before_and_after_are_reported_to_the_generic_path(void **state)
{
    struct stfx *f = *state;
    assert_int_equal(prout(f, f->a, PR_OUT_REGISTER, 0, 0, 0xa, 0), 0);
    assert_true(f->info.gen_known_before && f->info.gen_known_after);
    assert_int_equal(f->info.gen_before, 0);
    assert_int_equal(f->info.gen_after, 1);
    assert_string_equal(f->info.lun, f->lun);
    assert_false(f->info.disconnect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T_(name) cmocka_unit_test_setup_teardown(name, setup, stfx_teardown)
        T_(test_state_lists_luns_and_shows_registrations_holder_type_generation),
        T_(test_state_shows_pending_unit_attentions_per_nexus),
        T_(test_power_cycle_loses_non_aptpl_state_and_queues_power_on_reset),
        T_(test_power_cycle_keeps_aptpl_state),
        T_(test_fault_status_hits_the_next_n_matching_commands_only),
        T_(test_fault_is_not_executed_so_state_is_unchanged),
        T_(test_fault_matches_client_by_name_or_connection_number),
        T_(test_fault_matches_lun),
        T_(test_fault_sense_actions_answer_check_condition),
        T_(test_fault_delay_waits_then_runs_the_command),
        T_(test_fault_close_drops_the_reply_with_or_without_running_the_command),
        T_(test_fault_add_and_clear_answer_in_json),
        T_(test_generation_before_and_after_are_reported_to_the_generic_path),
    };
    return th_run_table("transport_sim_control", test_refused_rule, refused_rules, tests);
}
