/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_mpath_fence.c - a fence is never undone: a path that comes back is
 * registered again only when READ KEYS shows the map's key still on the
 * LUN, a preempt racing with that is detected, and the state of a map
 * that was replaced (same dev_t, another map) or whose paths reach
 * another LUN is dropped (issue #14 items 2 and 3).
 */
#include "mpath_fixture.h"

/* Another host preempts key victim and takes a WE-RO reservation. */
static uint64_t preempt_victim;
static void other_host_preempts(void)
{
    struct pr_sim_nexus z = other_host();
    th_register(fk.lun, &z, 0, 0xf);
    assert_good(th_preempt(fk.lun, &z, 0xf, preempt_victim, PR_TYPE_WE_RO, false));
}

/* hook runs just before the map registers path p again (its REGISTER AND
 * IGNORE), i.e. after the READ KEYS that let it do so. */
static void before_reregistration_on(int p, void (*hook)(void))
{
    fk.hook = hook;
    fk.hook_path = p;
    fk.hook_opcode = 0x5f;
    fk.hook_sa = PR_OUT_REGISTER_AND_IGNORE;
}

/* The map's state was dropped: path 0 knows no key, path p was not
 * registered with the old key 0xa. */
static void assert_map_state_dropped(int p)
{
    assert_false(map_status().key_known);
    assert_int_equal(registrations_sent(p, 0xa), 0);
}

static void test_fence_returned_path_not_registered_after_preempt(void **state)
{
    (void)state;
    /* The review's case: key 0xa on sdb+sdc, sdc goes down, node Z
     * preempts 0xa, sdc comes back, the fenced guest sends a PR OUT. */
    register_both(0xa);
    path_away(1); /* we see sdc down */
    preempt_victim = 0xa;
    other_host_preempts();
    fk.paths[1].running = true;
    fk.ncalls = 0;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(count_key(0xa), 0);
    assert_int_equal(registrations_sent(1, 0xa), 0);
    assert_true(calls_of(0, PR_IN_READ_KEYS, 0x5e) > 0); /* the check was made */
    assert_map_key_gone();
    assert_false(map_status().holding);
    /* And never later either. */
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0xa), SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(count_key(0xa), 0);
}

static void test_fence_pr_in_also_checks_before_registering(void **state)
{
    (void)state;
    register_both(0xa);
    path_away(1);
    preempt_victim = 0xa;
    other_host_preempts();
    fk.paths[1].running = true;
    assert_int_equal(prin(PR_IN_READ_RESERVATION, 64), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xa), 0);
    assert_int_equal(registrations_sent(1, 0xa), 0);
}

static void test_fence_returned_path_registered_when_key_still_there(void **state)
{
    (void)state;
    register_both(0xa);
    path_away(1);
    /* sdc lost its registration meanwhile (e.g. its nexus was reset). */
    struct pr_sim_nexus c = path_nexus(1);
    th_clear_ua(fk.lun, &c);
    assert_good(th_register(fk.lun, &c, 0xa, 0));
    fk.paths[1].running = true;
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xa), 2);
    assert_int_equal(registrations_sent(1, 0xa), 1);
    assert_true(path_status(1, NULL).in_sync);
}

static void test_fence_stale_key_on_returned_path_is_cleared(void **state)
{
    (void)state;
    /* sdc is away while the key changes 0xa -> 0xb: it keeps 0xa.  Then
     * another host preempts 0xb.  When sdc is back, its stale 0xa would
     * let the fenced host write: it must be removed, not kept. */
    register_both(0xa);
    change_key_with_path_away(1, 0xa, 0xb);
    assert_int_equal(count_key(0xa), 1);
    preempt_victim = 0xb;
    other_host_preempts();
    fk.paths[1].running = true;
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xa), 0);
    assert_int_equal(count_key(0xb), 0);
    assert_int_equal(registrations_sent(1, 0), 1);
    assert_int_equal(array_keys().count, 1); /* only the other host's 0xf */
}

static void test_fence_read_keys_failure_registers_nothing(void **state)
{
    (void)state;
    register_both(0xa);
    path_away(1);
    fk.paths[1].running = true;
    inject(0, INJ_ERRNO, EIO, SENSE_NONE); /* READ KEYS on sdb */
    inject(1, INJ_ERRNO, EIO, SENSE_NONE); /* and on sdc */
    fk.ncalls = 0;
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(registrations_sent(1, 0xa), 0);
    assert_false(path_status(1, NULL).in_sync);
    /* The next command checks again and registers. */
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(registrations_sent(1, 0xa), 1);
}

static void test_fence_preempt_racing_with_reregistration_is_undone(void **state)
{
    (void)state;
    register_both(0xa);
    path_away(1);
    fk.paths[1].running = true;
    /* Z preempts 0xa after our READ KEYS saw it, just before the
     * REGISTER AND IGNORE reaches sdc. */
    preempt_victim = 0xa;
    before_reregistration_on(1, other_host_preempts);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_null(fk.hook);
    assert_int_equal(count_key(0xa), 0);
    assert_int_equal(registrations_sent(1, 0), 1);
    assert_int_equal(map_status().key, 0);
}

static void other_host_registers(void)
{
    struct pr_sim_nexus z = other_host();
    assert_good(th_register(fk.lun, &z, 0, 0xf));
}

static void test_fence_other_hosts_registration_during_recovery_is_harmless(void **state)
{
    (void)state;
    register_both(0xa);
    path_away(1);
    fk.paths[1].running = true;
    before_reregistration_on(1, other_host_registers);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    /* PRgeneration moved by two, but sdb still carries 0xa: no preempt. */
    assert_int_equal(count_key(0xa), 2);
    assert_true(path_status(1, NULL).in_sync);
}

static void test_fence_all_paths_returning_when_unsure_takes_registrations_back(void **state)
{
    (void)state;
    /* Both paths were away; when they come back no registration of ours
     * is known to have survived, so an unexplained PRgeneration change
     * during the re-registration counts as a possible preempt. */
    register_both(0xa);
    fk.paths[0].running = fk.paths[1].running = false;
    prin(PR_IN_READ_KEYS, 64);
    fk.paths[0].running = fk.paths[1].running = true;
    before_reregistration_on(0, other_host_registers);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xa), 0);
    /* Without interference the same return is quiet. */
    fk.ncalls = 0;
    assert_int_equal(prout(PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xb), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xb), 2);
    fk.paths[0].running = fk.paths[1].running = false;
    prin(PR_IN_READ_KEYS, 64);
    fk.paths[0].running = fk.paths[1].running = true;
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xb), 2);
}

static void test_fence_clear_by_other_host_is_not_undone(void **state)
{
    (void)state;
    register_both(0xa);
    path_away(0);
    struct pr_sim_nexus z = other_host();
    assert_good(th_register(fk.lun, &z, 0, 0xf));
    assert_good(th_clear(fk.lun, &z, 0xf));
    fk.paths[0].running = true;
    prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0);
    assert_int_equal(array_keys().count, 0);
    assert_int_equal(registrations_sent(0, 0xa), 0);
}

/* ---- map identity ------------------------------------------------------ */

static void test_identity_new_map_on_same_dev_does_not_inherit_the_key(void **state)
{
    (void)state;
    register_both(0xa);
    /* The map is removed; another LUN's map takes the same minor (new
     * disk sequence number and uuid), its paths are new too. */
    struct pr_sim_lun *old = fk.lun;
    fk.lun = th_lun(PR_SIM_PROFILE_SPC4);
    fk.map_seq = 43;
    snprintf(fk.uuid, sizeof(fk.uuid), "mpath-other-lun");
    for (int i = 0; i < fk.npaths; i++) {
        snprintf(fk.paths[i].wwid, sizeof(fk.paths[i].wwid), "naa.6001405lun2");
        struct pr_sim_nexus n = path_nexus(i);
        th_clear_ua(fk.lun, &n);
    }
    fk.ncalls = 0;
    /* The guest of the new LUN registers its own key: no conflict, and
     * the old key is given to no path. */
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xc), SCSI_STATUS_GOOD);
    assert_int_equal(registrations_sent(0, 0xa) + registrations_sent(1, 0xa), 0);
    assert_int_equal(count_key(0xc), 2);
    assert_int_equal(count_key(0xa), 0);
    pr_sim_lun_free(old);
}

static void test_identity_dropped_when_only_sequence_number_changes(void **state)
{
    (void)state;
    register_both(0xa);
    path_away(1);
    fk.paths[1].running = true;
    fk.map_seq = 99; /* same uuid, another map instance */
    prin(PR_IN_READ_KEYS, 64);
    assert_map_state_dropped(1);
}

static void test_identity_dropped_when_paths_reach_another_lun(void **state)
{
    (void)state;
    register_both(0xa);
    path_away(0);
    /* A table reload points the map at another LUN (same uuid). */
    for (int i = 0; i < fk.npaths; i++)
        snprintf(fk.paths[i].wwid, sizeof(fk.paths[i].wwid), "naa.6001405lun9");
    fk.paths[0].running = true;
    prin(PR_IN_READ_KEYS, 64);
    assert_map_state_dropped(0);
}

static void test_identity_path_added_to_same_lun_keeps_state(void **state)
{
    (void)state;
    register_both(0xa);
    add_path("sdd", 48);
    prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0);
    assert_int_equal(count_key(0xa), 3);
    assert_int_equal(registrations_sent(2, 0xa), 1);
}

static void test_identity_state_of_gone_map_dropped_when_next_map_appears(void **state)
{
    (void)state;
    register_both(0xa);
    /* Another map is used for the first time: the registry looks at the
     * maps it knows; MAP_DEV's uuid changed in sysfs: dropped. */
    snprintf(fk.uuid, sizeof(fk.uuid), "mpath-replaced");
    uint8_t cdb[10] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 64 };
    send_raw(fk.t, fk.state, fk.map2_fd, cdb, NULL, 64); /* no paths: no path */
    struct prh_mpath_status ms;
    struct prh_mpath_path_status st[NPATH_MAX];
    assert_int_equal(prh_mpath_map_status(prh_mpath_of(fk.state), MAP_DEV, &ms, st, NPATH_MAX),
                     0);
    assert_false(ms.key_known);
}

/* A daemon restart: the transport's state goes and comes back empty, as
 * in a new process (the map's key lives in memory only). */
static void restart_transport(void)
{
    fk.t->fini(fk.state);
    fk.state = NULL;
    prh_dev_cache_flush();
    fixture_init_transport(NULL);
}

static void test_fence_restart_registers_nothing_from_memory_after_preempt(void **state)
{
    (void)state;
    /* Issue #14 item 2, the restart rule: key 0xa on sdb+sdc, sdc down,
     * the daemon restarts, node Z preempts 0xa, sdc comes back: the
     * fenced guest's commands must not put 0xa back on any path. */
    register_both(0xa);
    path_away(1);
    restart_transport();
    preempt_victim = 0xa;
    other_host_preempts();
    fk.paths[1].running = true;
    fk.ncalls = 0;
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0xa), SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(registrations_sent(0, 0xa), 0);
    assert_int_equal(registrations_sent(1, 0xa), 0);
    assert_int_equal(count_key(0xa), 0);
}

static void test_fence_restart_then_key_still_there_waits_for_a_register(void **state)
{
    (void)state;
    /* The key survives on sdb only (sdc lost its registration while the
     * daemon was down).  A restarted daemon knows no key: a PR IN
     * re-registers nothing; the guest's next REGISTER (IGNORE) through
     * prhelper brings sdc in line. */
    register_both(0xa);
    restart_transport();
    struct pr_sim_nexus c = path_nexus(1);
    assert_good(th_register(fk.lun, &c, 0xa, 0));
    assert_int_equal(count_key(0xa), 1);
    fk.ncalls = 0;
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(registrations_sent(1, 0xa), 0);
    assert_int_equal(count_key(0xa), 1);
    assert_int_equal(prout(PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(count_key(0xa), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fence_returned_path_not_registered_after_preempt),
        T(test_fence_pr_in_also_checks_before_registering),
        T(test_fence_returned_path_registered_when_key_still_there),
        T(test_fence_stale_key_on_returned_path_is_cleared),
        T(test_fence_read_keys_failure_registers_nothing),
        T(test_fence_preempt_racing_with_reregistration_is_undone),
        T(test_fence_other_hosts_registration_during_recovery_is_harmless),
        T(test_fence_all_paths_returning_when_unsure_takes_registrations_back),
        T(test_fence_clear_by_other_host_is_not_undone),
        T(test_fence_restart_registers_nothing_from_memory_after_preempt),
        T(test_fence_restart_then_key_still_there_waits_for_a_register),
        T(test_identity_new_map_on_same_dev_does_not_inherit_the_key),
        T(test_identity_dropped_when_only_sequence_number_changes),
        T(test_identity_dropped_when_paths_reach_another_lun),
        T(test_identity_path_added_to_same_lun_keeps_state),
        T(test_identity_state_of_gone_map_dropped_when_next_map_appears),
    };
    return cmocka_run_group_tests_name("mpath.fence", tests, NULL, NULL);
}
