/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tcmu_config.c - which TCMU backstores are prhelper-tcmu's and as
 * which I_T nexus (include/prhelper/tcmu_config.h): UIO device names,
 * dev_config strings, initiator forms, errors.
 */
#include <errno.h>
#include <string.h>

#include "sim_helpers.h"

#include "prhelper/tcmu_config.h"

static void test_uio_name_of_ours_gives_backstore_lun_and_nexus(void **state)
{
    (void)state;
    struct tcmu_backstore b;
    char err[256];
    assert_int_equal(tcmu_parse_uio_name("tcm-user/3/b0/prsim/lun0/naa.50014050000000a1@2", &b,
                                         err, sizeof(err)), 1);
    assert_int_equal(b.hba, 3);
    assert_string_equal(b.name, "b0");
    assert_string_equal(b.lun, "lun0");
    assert_string_equal(b.initiator, "naa.50014050000000a1");
    assert_int_equal(b.nexus.rtpi, 2);
    struct pr_tid sas = pr_tid_sas(0x50014050000000a1ull);
    assert_true(pr_tid_equal(&b.nexus.initiator, &sas));
    char path[64], nx[128];
    tcmu_backstore_path(&b, path, sizeof(path));
    assert_string_equal(path, "user_3/b0");
    tcmu_nexus_string(&b.nexus, nx, sizeof(nx));
    assert_non_null(strstr(nx, "@2"));
}

static void test_other_handlers_and_devices_are_not_ours(void **state)
{
    (void)state;
    struct tcmu_backstore b;
    char err[64];
    static const char *names[] = {
        "tcm-user/0/q0/qcow//run/lab-luns/q0.qcow2", /* tcmu-runner's qcow */
        "tcm-user/0/q0",                              /* no dev_config */
        "tcm-user/0/q0/prsimx/lun0/naa.5001405000000000",
        "uio_pci_generic",
        "tcm-user/x/b0/prsim/lun0/naa.5001405000000000",
        "tcm-user/0//prsim/lun0/naa.5001405000000000",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(tcmu_parse_uio_name(names[i], &b, err, sizeof(err)), 0);
}

static void expect_bad(const char *cfg, const char *why)
{
    struct tcmu_backstore b;
    char err[256] = "";
    memset(&b, 0, sizeof(b));
    assert_int_equal(tcmu_parse_dev_config(cfg, &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, why));
}

static void test_malformed_dev_config_of_ours_is_refused_with_a_reason(void **state)
{
    (void)state;
    expect_bad("prsim/lun0", "lacks the initiator");
    expect_bad("prsim", "lacks the initiator");
    expect_bad("prsim/../x/naa.5001405000000000", "invalid LUN name");
    expect_bad("prsim/lun0/naa.5001405000000000@0", "relative target port");
    expect_bad("prsim/lun0/naa.5001405000000000@65536", "relative target port");
    expect_bad("prsim/lun0/naa.5001405000000000@", "relative target port");
    expect_bad("prsim/lun0/naa.5001405000000000@1x", "relative target port");
    expect_bad("prsim/lun0/host-a", "invalid initiator");
    expect_bad("prsim/lun0/naa.50014050000000", "invalid initiator");
    expect_bad("prsim/lun0/iqn.x#12", "invalid initiator");
    expect_bad("prsim/lun0/iqn.has space", "invalid initiator");
}

static void test_dev_config_with_trailing_newline_is_accepted(void **state)
{
    (void)state;
    struct tcmu_backstore b;
    char err[64];
    assert_int_equal(tcmu_parse_dev_config("prsim/l1/iqn.2026-01.test:a\n", &b, err, sizeof(err)), 1);
    assert_string_equal(b.initiator, "iqn.2026-01.test:a");
    assert_int_equal(b.nexus.rtpi, 1);
}

static void test_initiator_forms_give_the_right_transport_ids(void **state)
{
    (void)state;
    struct pr_tid t;
    assert_int_equal(tcmu_parse_initiator("naa.50014050000000A0", &t), 0);
    assert_int_equal(t.proto, PR_TID_PROTO_SAS);
    assert_int_equal(tcmu_parse_initiator("sas.0x5001405000000001", &t), 0);
    assert_int_equal(t.proto, PR_TID_PROTO_SAS);
    assert_int_equal(tcmu_parse_initiator("fcp.21000024ff000001", &t), 0);
    assert_int_equal(t.proto, PR_TID_PROTO_FCP);
    assert_int_equal(tcmu_parse_initiator("iqn.2026-01.test:host-a", &t), 0);
    assert_int_equal(t.proto, PR_TID_PROTO_ISCSI);
    assert_false(t.has_isid);
    assert_string_equal(t.name, "iqn.2026-01.test:host-a");
    assert_int_equal(tcmu_parse_initiator("iqn.2026-01.test:host-a#23d000000001", &t), 0);
    assert_true(t.has_isid);
    assert_int_equal(t.isid[0], 0x23);
    assert_int_equal(t.isid[5], 0x01);
    assert_int_equal(tcmu_parse_initiator("eui.0123456789abcdef", &t), 0);
    assert_int_equal(tcmu_parse_initiator("fcp.", &t), -EINVAL);
    assert_int_equal(tcmu_parse_initiator("sas.123456789012345678", &t), -EINVAL);
    assert_int_equal(tcmu_parse_initiator("xyz", &t), -EINVAL);
}

static void test_too_long_dev_config_is_refused(void **state)
{
    (void)state;
    char cfg[700];
    memset(cfg, 'a', sizeof(cfg));
    memcpy(cfg, "prsim/", 6);
    cfg[sizeof(cfg) - 1] = '\0';
    expect_bad(cfg, "too long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uio_name_of_ours_gives_backstore_lun_and_nexus),
        cmocka_unit_test(test_other_handlers_and_devices_are_not_ours),
        cmocka_unit_test(test_malformed_dev_config_of_ours_is_refused_with_a_reason),
        cmocka_unit_test(test_dev_config_with_trailing_newline_is_accepted),
        cmocka_unit_test(test_initiator_forms_give_the_right_transport_ids),
        cmocka_unit_test(test_too_long_dev_config_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
