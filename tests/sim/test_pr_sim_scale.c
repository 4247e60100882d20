/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_scale.c - a LUN with 10,000 registrations works (issue
 * requirement); speed is measured by the benchmark, not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_helpers.h"

#define NREGS 10000

static struct pr_sim_nexus nexus_n(unsigned i)
{
    char name[64];
    snprintf(name, sizeof(name), "iqn.2026-11.scale:host%05u", i);
    uint8_t isid[6] = { 0x40, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
    struct pr_sim_nexus n;
    memset(&n, 0, sizeof(n));
    n.initiator = pr_tid_iscsi(name, isid);
    n.rtpi = (uint16_t)(1 + i % 2);
    return n;
}

static void test_ten_thousand_registrations_register_read_preempt_clear(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    for (unsigned i = 0; i < NREGS; i++) {
        struct pr_sim_nexus n = nexus_n(i);
        assert_good(th_register(lun, &n, 0, 1000 + i));
    }
    assert_int_equal(pr_sim_registration_count(lun), NREGS);
    struct pr_sim_nexus first = nexus_n(0), last = nexus_n(NREGS - 1);
    /* Lookups of any nexus work (the last one registered too). */
    assert_good(th_reserve(lun, &last, 1000 + NREGS - 1, PR_TYPE_WE_RO));
    static uint8_t buf[65535];
    struct pr_sim_result r = th_prin(lun, &first, PR_IN_READ_KEYS, 65535, buf);
    assert_good(r);
    assert_int_equal(r.data_len, 65535);
    assert_int_equal(scsi_get_be32(buf + 4), 8 * NREGS);
    assert_int_equal(scsi_get_be64(buf + 8), 1000);
    r = th_prin(lun, &first, PR_IN_READ_FULL_STATUS, 65535, buf);
    assert_good(r);
    assert_true(scsi_get_be32(buf + 4) > 65535);
    /* Preempt the holder's key: one registration goes, reservation moves. */
    assert_good(th_preempt(lun, &first, 1000, 1000 + NREGS - 1, PR_TYPE_EA, false));
    assert_int_equal(pr_sim_registration_count(lun), NREGS - 1);
    th_expect_reservation(lun, &first, 1000, PR_TYPE_EA);
    /* Every other registrant got RESERVATIONS RELEASED (type changed). */
    struct pr_sim_nexus mid = nexus_n(NREGS / 2);
    th_expect_ua(lun, &mid, SENSE_UA_RESERVATIONS_RELEASED);
    assert_good(th_clear(lun, &first, 1000));
    assert_int_equal(pr_sim_registration_count(lun), 0);
    pr_sim_lun_free(lun);
}

static void test_ten_thousand_registrations_survive_serialize_and_load(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    for (unsigned i = 0; i < NREGS; i++) {
        struct pr_sim_nexus n = nexus_n(i);
        assert_good(th_register_flags(lun, &n, 0, 1 + i, PR_OUT_FLAG_APTPL));
    }
    uint8_t *img;
    size_t len;
    assert_int_equal(pr_sim_serialize(lun, &img, &len), 0);
    struct pr_sim_lun *copy = th_lun(PR_SIM_PROFILE_SPC4);
    char err[128];
    assert_int_equal(pr_sim_deserialize(copy, img, len, err, sizeof(err)), 0);
    assert_int_equal(pr_sim_registration_count(copy), NREGS);
    struct pr_sim_nexus n = nexus_n(4321);
    assert_good(th_register(copy, &n, 4322, 0)); /* found by its identity */
    free(img);
    pr_sim_lun_free(copy);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ten_thousand_registrations_register_read_preempt_clear),
        cmocka_unit_test(test_ten_thousand_registrations_survive_serialize_and_load),
    };
    return cmocka_run_group_tests_name("pr_sim.scale", tests, NULL, NULL);
}
