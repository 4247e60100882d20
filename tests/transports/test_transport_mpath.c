/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_transport_mpath.c - PR on a dm-multipath map through the sg and
 * mpath transports, over the fake path layer of mpath_fixture.h: fan-out,
 * failover, completion and rollback, unit attentions, one-path service
 * actions, concurrency.  Fence-safe recovery and map identity are in
 * test_mpath_fence.c, the multipath-tools 0.13/0.14 rules and multipathd
 * in test_mpath_semantics.c.
 */
#include "mpath_fixture.h"

/* ---- detection and open ------------------------------------------------ */

static void test_mpath_non_multipath_fd_is_plain_sg_io(void **state)
{
    (void)state;
    assert_int_equal(prout_on(fk.plain_fd, PR_OUT_REGISTER, 0, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(fk.ncalls, 1);
    assert_int_equal(fk.calls[0].path, -1);
    assert_int_equal(fk.opens, 0);
}

static void test_mpath_detection_error_fails_request_without_sg_io(void **state)
{
    (void)state;
    fk.bi_err = EACCES;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(fk.ncalls, 0);
}

static void test_mpath_path_listing_error_fails_request(void **state)
{
    (void)state;
    fk.list_err = ENOENT;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(fk.ncalls, 0);
}

static void test_mpath_map_status_of_unused_map_is_enoent(void **state)
{
    (void)state;
    struct prh_mpath_status ms;
    struct prh_mpath_path_status st[1];
    assert_int_equal(prh_mpath_map_status(prh_mpath_of(fk.state), MAP_DEV, &ms, st, 1),
                     -ENOENT);
}

static void test_sg_transport_hands_multipath_fd_to_mpath(void **state)
{
    (void)state;
    void *sg;
    char err[64];
    struct prh_transport_options o = { .multipathd_socket = "none" };
    assert_int_equal(prh_transport_sg.init(&o, &sg, err, sizeof(err)), 0);
    uint8_t cdb[10] = { 0x5f, PR_OUT_REGISTER };
    uint8_t p[24] = { 0 };
    scsi_put_be32(&cdb[5], 24);
    scsi_put_be64(&p[8], 0xa);
    assert_int_equal(send_raw(&prh_transport_sg, sg, fk.map_fd, cdb, p, 24), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_OUT_REGISTER, 0x5f), 1);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER, 0x5f), 1);
    assert_int_equal(array_keys().count, 2);
    /* PR IN goes to a path too, and a plain fd stays plain. */
    uint8_t in[10] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 64 };
    assert_int_equal(send_raw(&prh_transport_sg, sg, fk.map_fd, in, NULL, 64), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_IN_READ_KEYS, 0x5e), 1);
    assert_int_equal(send_raw(&prh_transport_sg, sg, fk.plain_fd, in, NULL, 64), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(-1, PR_IN_READ_KEYS, 0x5e), 1);
    prh_transport_sg.fini(sg);
}

/* ---- REGISTER ---------------------------------------------------------- */

static void test_mpath_register_reaches_every_path(void **state)
{
    (void)state;
    add_path("sdd", 48);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(k.keys[i], 0xa);
        assert_int_equal(calls_of(i, PR_OUT_REGISTER, 0x5f), 1);
    }
    struct prh_mpath_status ms;
    assert_true(path_status(2, &ms).in_sync);
    assert_true(ms.key_known);
    assert_int_equal(ms.key, 0xa);
}

static void test_mpath_unregister_reaches_every_path(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 0);
}

static void test_mpath_register_skips_offline_path_and_reregisters_when_back(void **state)
{
    (void)state;
    fk.paths[1].running = false;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 1);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER, 0x5f), 0);
    assert_false(path_status(1, NULL).in_sync);
    fk.paths[1].running = true;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    assert_int_equal(k.keys[1], 0xa);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 1);
    assert_true(path_status(1, NULL).in_sync);
}

static void test_mpath_returning_path_gets_key_changed_while_it_was_away(void **state)
{
    (void)state;
    register_both(0xa);
    change_key_with_path_away(0, 0xa, 0xb);
    fk.paths[0].running = true;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xb, 0), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    assert_int_equal(k.keys[0], 0xb);
    assert_int_equal(k.keys[1], 0xb);
}

static void test_mpath_register_path_failure_mid_command_skipped_and_recorded(void **state)
{
    (void)state;
    inject(1, INJ_ERRNO, EIO, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 1);
    struct prh_mpath_path_status st = path_status(1, NULL);
    assert_false(st.in_sync);
    assert_int_equal(st.last_error, -EIO);
    /* The next PR OUT registers it. */
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 2);
    assert_int_equal(path_status(1, NULL).last_error, 0);
}

static void test_mpath_register_path_open_failure_skipped(void **state)
{
    (void)state;
    fk.open_err[0] = ENXIO;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER, 0x5f), 1);
    assert_int_equal(path_status(0, NULL).last_error, -ENXIO);
    assert_false(path_status(0, NULL).in_sync);
}

static void test_mpath_register_every_path_failing_returns_path_error(void **state)
{
    (void)state;
    inject(0, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    inject(1, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    prout(PR_OUT_REGISTER, 0, 0, 0xa);
    assert_reply_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x05, 0x00));
    assert_int_equal(array_keys().count, 0);
}

static void test_mpath_no_usable_path_is_lun_communication_failure(void **state)
{
    (void)state;
    fk.paths[0].running = fk.paths[1].running = false;
    const struct scsi_sense want = SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00);
    prout(PR_OUT_REGISTER, 0, 0, 0xa);
    assert_reply_sense(want);
    prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0);
    assert_reply_sense(want);
    prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0);
    assert_reply_sense(want);
    prin(PR_IN_READ_KEYS, 64);
    assert_reply_sense(want);
    assert_int_equal(fk.ncalls, 0);
}

static void test_mpath_register_conflict_on_every_path_changes_nothing(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0x99, 0xb), SCSI_STATUS_RESERVATION_CONFLICT);
    /* A conflict may be one stale path's: the others are asked too. */
    assert_int_equal(calls_of(1, PR_OUT_REGISTER, 0x5f), 1);
    assert_int_equal(calls_of(0, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 0);
    struct th_keys k = array_keys();
    assert_int_equal(k.keys[0], 0xa);
    assert_int_equal(k.keys[1], 0xa);
}

static void test_mpath_register_refused_on_later_path_rolls_back_with_its_sense(void **state)
{
    (void)state;
    register_both(0xa);
    /* The REGISTER and the forced completion are both refused. */
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    prout(PR_OUT_REGISTER, 0, 0xa, 0xb);
    assert_reply_sense(SENSE_NO_RESOURCES);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    assert_int_equal(k.keys[0], 0xa);
    assert_int_equal(k.keys[1], 0xa);
    struct prh_mpath_status ms;
    assert_true(path_status(0, &ms).in_sync);
    assert_int_equal(ms.key, 0xa);
}

static void test_mpath_register_rollback_skips_failed_path_and_spares_later_ones(void **state)
{
    (void)state;
    add_path("sdd", 48);
    register_both(0xa);
    inject(1, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE); /* path failure */
    inject(2, INJ_SENSE, 0, SENSE_NO_RESOURCES);         /* device refuses */
    inject(2, INJ_SENSE, 0, SENSE_NO_RESOURCES);         /* and the completion */
    prout(PR_OUT_REGISTER, 0, 0xa, 0xb);
    assert_reply_sense(SENSE_NO_RESOURCES);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(k.keys[i], 0xa);
    /* Path 0 was rolled back (one REGISTER AND IGNORE), path 1 is out of
     * sync (its REGISTER may or may not have happened). */
    assert_int_equal(calls_of(0, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 1);
    assert_false(path_status(1, NULL).in_sync);
    assert_true(path_status(2, NULL).in_sync);
}

static void test_mpath_register_ignore_refused_on_later_path_rolls_back(void **state)
{
    (void)state;
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    prout(PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xa);
    assert_reply_sense(SENSE_NO_RESOURCES);
    assert_int_equal(array_keys().count, 0);
}

static void test_mpath_register_on_path_with_other_key_is_completed(void **state)
{
    (void)state;
    paths_carry(0xa, 0x5);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0xb), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    assert_int_equal(k.keys[0], 0xb);
    assert_int_equal(k.keys[1], 0xb);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 1);
}

static void test_mpath_rollback_failure_is_retried_by_next_pr_out(void **state)
{
    (void)state;
    register_both(0xa);
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    inject(0, INJ_NONE, 0, SENSE_NONE);           /* the REGISTER itself */
    inject(0, INJ_ERRNO, EIO, SENSE_NONE);        /* the rollback */
    prout(PR_OUT_REGISTER, 0, 0xa, 0xb);
    assert_reply_sense(SENSE_NO_RESOURCES);
    assert_false(path_status(0, NULL).in_sync);
    assert_int_equal(array_keys().keys[0], 0xb); /* not yet rolled back */
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.keys[0], 0xa);
    assert_int_equal(k.keys[1], 0xa);
}

/* PR OUT cdb on the map with parameter list p (128 bytes) whose
 * TransportID t goes at p[at], its length in the 4 bytes before it; the
 * CDB's PARAMETER LIST LENGTH covers the list.  Must be GOOD; the length. */
static uint32_t send_with_tid(uint8_t cdb[10], uint8_t p[128], size_t at, const struct pr_tid *t)
{
    size_t n = pr_tid_build(t, &p[at], 128 - at);
    assert_true(n > 0);
    scsi_put_be32(&p[at - 4], (uint32_t)n);
    uint32_t len = (uint32_t)(at + n);
    scsi_put_be32(&cdb[5], len);
    assert_int_equal(send_raw(fk.t, fk.state, fk.map_fd, cdb, p, len), SCSI_STATUS_GOOD);
    return len;
}

static void test_mpath_register_spec_i_pt_only_on_first_path(void **state)
{
    (void)state;
    uint8_t cdb[10] = { 0x5f, PR_OUT_REGISTER };
    uint8_t p[128] = { 0 };
    scsi_put_be64(&p[8], 0xa);
    p[20] = PR_OUT_FLAG_SPEC_I_PT;
    struct pr_tid z = pr_tid_iscsi("iqn.2026-11.test:Z", (const uint8_t[6]){ 0x23, 0xd0, 0, 0, 0, 'Z' });
    uint32_t len = send_with_tid(cdb, p, 28, &z);
    assert_int_equal(fk.calls[0].len, len);
    assert_int_equal(fk.calls[0].flags, PR_OUT_FLAG_SPEC_I_PT);
    assert_int_equal(fk.calls[1].path, 1);
    assert_int_equal(fk.calls[1].len, 24);
    assert_int_equal(fk.calls[1].flags, 0);
    assert_int_equal(array_keys().count, 3);
}

/* ---- unit attentions --------------------------------------------------- */

static void test_mpath_unit_attention_consumed_and_retried(void **state)
{
    (void)state;
    inject(0, INJ_SENSE, 0, SENSE_UA_POWER_ON_RESET);
    inject(0, INJ_SENSE, 0, SENSE_UA_RESERVATIONS_PREEMPTED);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(reply.data_len, 8);
    assert_int_equal(calls_of(0, PR_IN_READ_KEYS, 0x5e), 3);
    assert_int_equal(calls_of(1, PR_IN_READ_KEYS, 0x5e), 0);
}

static void test_mpath_unit_attention_beyond_retries_passed_through_unchanged(void **state)
{
    (void)state;
    for (int i = 0; i <= PRH_DEV_RETRIES; i++)
        inject(0, INJ_SENSE, 0, SENSE_UA_REGISTRATIONS_PREEMPTED);
    prin(PR_IN_READ_KEYS, 64);
    assert_reply_sense(SENSE_UA_REGISTRATIONS_PREEMPTED);
}

/* ---- PR IN ------------------------------------------------------------- */

static void test_mpath_pr_in_fails_over_on_transport_error(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_HOST, PRH_DID_TRANSPORT_DISRUPTED, SENSE_NONE);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(reply.data_len, 24);
    assert_int_equal(calls_of(1, PR_IN_READ_KEYS, 0x5e), 1);
}

static void test_mpath_pr_in_fails_over_from_standby_path(void **state)
{
    (void)state;
    inject(0, INJ_SENSE, 0, SENSE_STANDBY);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_IN_READ_KEYS, 0x5e), 1);
}

static void test_mpath_pr_in_fails_over_on_driver_timeout(void **state)
{
    (void)state;
    inject(0, INJ_ERRNO, ETIMEDOUT, SENSE_NONE);
    assert_int_equal(prin(PR_IN_READ_RESERVATION, 64), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_IN_READ_RESERVATION, 0x5e), 1);
}

static void test_mpath_pr_in_every_path_failing_returns_last_error(void **state)
{
    (void)state;
    inject(0, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    inject(1, INJ_HOST, PRH_DID_TIME_OUT, SENSE_NONE);
    prin(PR_IN_READ_KEYS, 64);
    assert_reply_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x2e, 0x02));
}

static void test_mpath_pr_in_device_error_is_not_failed_over(void **state)
{
    (void)state;
    inject(0, INJ_SENSE, 0, SENSE_INVALID_FIELD_IN_CDB);
    prin(PR_IN_READ_KEYS, 64);
    assert_reply_sense(SENSE_INVALID_FIELD_IN_CDB);
    assert_int_equal(calls_of(1, PR_IN_READ_KEYS, 0x5e), 0);
}

static void test_mpath_pr_in_failover_order_skips_offline_paths(void **state)
{
    (void)state;
    add_path("sdd", 48);
    fk.paths[0].running = false;
    inject(1, INJ_ERRNO, EIO, SENSE_NONE);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(fk.ncalls, 2);
    assert_int_equal(fk.calls[0].path, 1);
    assert_int_equal(fk.calls[1].path, 2);
}

static void test_mpath_read_full_status_shows_every_path_nexus(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prin(PR_IN_READ_FULL_STATUS, 1024), SCSI_STATUS_GOOD);
    uint32_t add = scsi_get_be32(&reply.data[4]);
    assert_true(add > 48); /* two descriptors with TransportIDs */
    assert_int_equal(scsi_get_be64(&reply.data[8]), 0xa);
}

/* ---- one-path service actions ------------------------------------------ */

static void test_mpath_reserve_goes_down_one_path(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_OUT_RESERVE, 0x5f), 1);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 0);
    expect_array_reservation(0xa, PR_TYPE_WE);
}

/* Key 0xa on both paths; path 0's RESERVE meets a host error (kind:
 * before or after reaching the device); the RESERVE is GOOD, and was
 * sent on path 1 too. */
static void reserve_with_path0_failing(enum inject_kind kind, int host_status)
{
    register_both(0xa);
    inject(0, kind, host_status, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 1);
}

static void test_mpath_reserve_fails_over_on_path_error(void **state)
{
    (void)state;
    reserve_with_path0_failing(INJ_HOST, PRH_DID_NO_CONNECT);
}

static void test_mpath_reserve_that_reached_device_before_path_died_is_good(void **state)
{
    (void)state;
    /* Path 1 conflicts (path 0's nexus holds it); READ RESERVATION says ours. */
    reserve_with_path0_failing(INJ_HOST_AFTER, PRH_DID_TRANSPORT_DISRUPTED);
    assert_int_equal(calls_of(0, PR_IN_READ_RESERVATION, 0x5e) +
                         calls_of(1, PR_IN_READ_RESERVATION, 0x5e),
                     1);
}

static void test_mpath_reserve_held_through_another_path_is_good(void **state)
{
    (void)state;
    register_both(0xa);
    fk.paths[0].running = false;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = true;
    fk.ncalls = 0;
    /* Path 0's nexus is not the holder: it conflicts, path 1 says GOOD. */
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_OUT_RESERVE, 0x5f), 1);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 1);
    /* Another type is a real conflict. */
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_EA_RO, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
}

static void test_mpath_reserve_conflict_from_other_host_is_returned(void **state)
{
    (void)state;
    register_both(0xa);
    other_host_reserves(0xf, PR_TYPE_WE);
    inject(0, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
}

static void test_mpath_release_reaches_holder_on_any_path(void **state)
{
    (void)state;
    register_both(0xa);
    fk.paths[0].running = false;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = true; /* the holder is path 1's nexus */
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    expect_array_reservation(0, 0);
}

static void test_mpath_release_with_holder_path_down_moves_and_releases(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = false; /* the holder's path */
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    expect_array_reservation(0, 0);
    assert_int_equal(calls_of(1, PR_OUT_PREEMPT, 0x5f), 1);
    assert_int_equal(array_keys().count, 1);
    fk.paths[0].running = true;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 2);
}

static void test_mpath_release_device_error_wins_over_non_holder_good(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    prout(PR_OUT_RELEASE, PR_TYPE_EA, 0xa, 0); /* wrong type, to the holder */
    assert_reply_sense(SENSE_INVALID_RELEASE);
    expect_array_reservation(0xa, PR_TYPE_WE);
}

static void test_mpath_release_every_path_failing_returns_path_error(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_ERRNO, EIO, SENSE_NONE);
    inject(1, INJ_ERRNO, EIO, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_CHECK_CONDITION);
}

static void test_mpath_preempt_other_host_goes_down_one_path(void **state)
{
    (void)state;
    register_both(0xa);
    other_host_reserves(0xf, PR_TYPE_WE);
    fk.ncalls = 0;
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0xa, 0xf), SCSI_STATUS_GOOD);
    /* READ RESERVATION (does it take the reservation?), then the PREEMPT. */
    assert_int_equal(calls_of(0, PR_OUT_PREEMPT, 0x5f), 1);
    assert_int_equal(calls_of(1, PR_OUT_PREEMPT, 0x5f), 0);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 0);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    expect_array_reservation(0xa, PR_TYPE_WE_RO);
}

static void test_mpath_preempt_own_key_reregisters_other_paths(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_EA_RO, 0xa, 0xa), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    /* The first try meets the REGISTRATIONS PREEMPTED unit attention. */
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 2);
    expect_array_reservation(0xa, PR_TYPE_EA_RO);
}

static void test_mpath_clear_leaves_no_key_on_any_path(void **state)
{
    (void)state;
    register_both(0xa);
    fk.paths[1].running = false;
    assert_int_equal(prout(PR_OUT_CLEAR, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 0);
    fk.paths[1].running = true;
    fk.ncalls = 0;
    /* Nothing to give the returning path: CLEAR reached its nexus too. */
    prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 0);
    assert_map_key_gone();
}

static void test_mpath_register_and_move_unreg_unregisters_other_paths(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    struct pr_sim_nexus z = other_host();
    uint8_t cdb[10] = { 0x5f, PR_OUT_REGISTER_AND_MOVE, PR_TYPE_WE };
    uint8_t p[128] = { 0 };
    scsi_put_be64(&p[0], 0xa);
    scsi_put_be64(&p[8], 0xf);
    p[17] = 0x02; /* UNREG */
    scsi_put_be16(&p[18], 2);
    send_with_tid(cdb, p, 24, &z.initiator);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 1);
    assert_int_equal(k.keys[0], 0xf);
    expect_array_reservation(0xf, PR_TYPE_WE);
}

static void test_mpath_pr_out_device_error_on_one_path_op_is_returned(void **state)
{
    (void)state;
    register_both(0xa);
    prout(PR_OUT_RESERVE, 0x2 /* obsolete type */, 0xa, 0);
    assert_reply_sense(SENSE_INVALID_FIELD_IN_CDB);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 0);
}

/* ---- concurrency ------------------------------------------------------- */

static void *register_thread(void *arg)
{
    (void)arg;
    static uint8_t status;
    status = prout(PR_OUT_REGISTER, 0, 0, 0xa);
    return &status;
}

static void test_mpath_busy_map_does_not_block_other_devices(void **state)
{
    (void)state;
    fk.block_path0 = true;
    tu_gate_close(&blk);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, register_thread, NULL), 0);
    tu_gate_wait_entered(&blk);
    /* The map's REGISTER hangs on path 0; a plain device is served. */
    uint8_t cdb[10] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 64 };
    void *n = fk.t->nexus_new(fk.state, NULL);
    struct prh_request req;
    memset(&req, 0, sizeof(req));
    memcpy(req.cdb, cdb, 10);
    req.fd = fk.plain_fd;
    req.xfer_len = 64;
    static struct prh_reply other;
    struct stat sb;
    assert_int_equal(fake_fstat(fk.plain_fd, &sb), 0);
    prh_transport_execute_st(fk.t, fk.state, n, &req, &sb, 0, &other, NULL);
    fk.t->nexus_free(fk.state, n);
    assert_int_equal(other.status, SCSI_STATUS_GOOD);
    tu_gate_open(&blk);
    void *ret;
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_int_equal(*(uint8_t *)ret, SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 2);
}

static void test_mpath_nexus_is_the_hosts_own(void **state)
{
    (void)state;
    char buf[64];
    void *n = prh_transport_mpath.nexus_new(fk.state, NULL);
    assert_non_null(n);
    prh_transport_mpath.nexus_describe(fk.state, n, buf, sizeof(buf));
    assert_non_null(strstr(buf, "every path"));
    prh_transport_mpath.nexus_free(fk.state, n);
}

static void test_mpath_plain_fd_must_be_sg_capable(void **state)
{
    (void)state;
    uint8_t cdb[10] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 64 };
    int bad = open("/dev/null", O_RDONLY); /* a character device, not sg */
    assert_true(bad >= 0);
    send_raw(fk.t, fk.state, bad, cdb, NULL, 64);
    close(bad);
    assert_int_equal(reply.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(fk.ncalls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mpath_non_multipath_fd_is_plain_sg_io),
        T(test_mpath_detection_error_fails_request_without_sg_io),
        T(test_mpath_path_listing_error_fails_request),
        T(test_mpath_map_status_of_unused_map_is_enoent),
        T(test_sg_transport_hands_multipath_fd_to_mpath),
        T(test_mpath_register_reaches_every_path),
        T(test_mpath_unregister_reaches_every_path),
        T(test_mpath_register_skips_offline_path_and_reregisters_when_back),
        T(test_mpath_returning_path_gets_key_changed_while_it_was_away),
        T(test_mpath_register_path_failure_mid_command_skipped_and_recorded),
        T(test_mpath_register_path_open_failure_skipped),
        T(test_mpath_register_every_path_failing_returns_path_error),
        T(test_mpath_no_usable_path_is_lun_communication_failure),
        T(test_mpath_register_conflict_on_every_path_changes_nothing),
        T(test_mpath_register_refused_on_later_path_rolls_back_with_its_sense),
        T(test_mpath_register_rollback_skips_failed_path_and_spares_later_ones),
        T(test_mpath_register_ignore_refused_on_later_path_rolls_back),
        T(test_mpath_register_on_path_with_other_key_is_completed),
        T(test_mpath_rollback_failure_is_retried_by_next_pr_out),
        T(test_mpath_register_spec_i_pt_only_on_first_path),
        T(test_mpath_unit_attention_consumed_and_retried),
        T(test_mpath_unit_attention_beyond_retries_passed_through_unchanged),
        T(test_mpath_pr_in_fails_over_on_transport_error),
        T(test_mpath_pr_in_fails_over_from_standby_path),
        T(test_mpath_pr_in_fails_over_on_driver_timeout),
        T(test_mpath_pr_in_every_path_failing_returns_last_error),
        T(test_mpath_pr_in_device_error_is_not_failed_over),
        T(test_mpath_pr_in_failover_order_skips_offline_paths),
        T(test_mpath_read_full_status_shows_every_path_nexus),
        T(test_mpath_reserve_goes_down_one_path),
        T(test_mpath_reserve_fails_over_on_path_error),
        T(test_mpath_reserve_that_reached_device_before_path_died_is_good),
        T(test_mpath_reserve_held_through_another_path_is_good),
        T(test_mpath_reserve_conflict_from_other_host_is_returned),
        T(test_mpath_release_reaches_holder_on_any_path),
        T(test_mpath_release_with_holder_path_down_moves_and_releases),
        T(test_mpath_release_device_error_wins_over_non_holder_good),
        T(test_mpath_release_every_path_failing_returns_path_error),
        T(test_mpath_preempt_other_host_goes_down_one_path),
        T(test_mpath_preempt_own_key_reregisters_other_paths),
        T(test_mpath_clear_leaves_no_key_on_any_path),
        T(test_mpath_register_and_move_unreg_unregisters_other_paths),
        T(test_mpath_pr_out_device_error_on_one_path_op_is_returned),
        T(test_mpath_busy_map_does_not_block_other_devices),
        T(test_mpath_nexus_is_the_hosts_own),
        T(test_mpath_plain_fd_must_be_sg_capable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
