/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_policy.c - --allow-uid, --allow-gid, --allow-device: parsing,
 * matching, and what the server does with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops_fixture.h"

static void test_policy_add_uid_number_and_name(void **state)
{
    (void)state;
    struct prh_policy p = { 0 };
    char err[256];
    assert_int_equal(prh_policy_add_uid(&p, "107", err, sizeof(err)), 0);
    assert_int_equal(prh_policy_add_uid(&p, "root", err, sizeof(err)), 0);
    assert_int_equal(p.nuids, 2);
    assert_int_equal(p.uids[0], 107);
    assert_int_equal(p.uids[1], 0);
    assert_int_equal(prh_policy_add_gid(&p, "36", err, sizeof(err)), 0);
    assert_int_equal(prh_policy_add_gid(&p, "root", err, sizeof(err)), 0);
    assert_int_equal(p.gids[0], 36);
    assert_int_equal(p.gids[1], 0);
}

static void test_policy_add_unknown_user_or_group_fails(void **state)
{
    (void)state;
    struct prh_policy p = { 0 };
    char err[256];
    assert_int_equal(prh_policy_add_uid(&p, "no-such-user-prh", err, sizeof(err)), -1);
    assert_string_equal(err, "--allow-uid: unknown user 'no-such-user-prh'");
    assert_int_equal(prh_policy_add_gid(&p, "no-such-group-prh", err, sizeof(err)), -1);
    assert_string_equal(err, "--allow-gid: unknown group 'no-such-group-prh'");
    assert_int_equal(prh_policy_add_uid(&p, "-1", err, sizeof(err)), -1);
    assert_int_equal(prh_policy_add_uid(&p, "99999999999", err, sizeof(err)), -1);
    assert_int_equal(p.nuids, 0);
    assert_int_equal(p.ngids, 0);
}

static void test_policy_add_too_many_entries_fails(void **state)
{
    (void)state;
    static struct prh_policy p;
    char err[256];
    memset(&p, 0, sizeof(p));
    for (int i = 0; i < PRH_POLICY_MAX; i++) {
        assert_int_equal(prh_policy_add_uid(&p, "1", err, sizeof(err)), 0);
        assert_int_equal(prh_policy_add_gid(&p, "1", err, sizeof(err)), 0);
        assert_int_equal(prh_policy_add_device(&p, "8:0", err, sizeof(err)), 0);
    }
    assert_int_equal(prh_policy_add_uid(&p, "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too many --allow-uid"));
    assert_int_equal(prh_policy_add_gid(&p, "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too many --allow-gid"));
    assert_int_equal(prh_policy_add_device(&p, "8:0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too many --allow-device"));
}

static void test_policy_add_device_forms(void **state)
{
    (void)state;
    struct prh_policy p = { 0 };
    char err[256];
    assert_int_equal(prh_policy_add_device(&p, "8:16", err, sizeof(err)), 0);
    assert_false(p.devices[0].by_wwid);
    assert_int_equal(p.devices[0].major, 8);
    assert_int_equal(p.devices[0].minor, 16);
    assert_int_equal(prh_policy_add_device(&p, "naa.6001405abc", err, sizeof(err)), 0);
    assert_true(p.devices[1].by_wwid);
    assert_string_equal(p.devices[1].wwid, "naa.6001405abc");
    assert_int_equal(prh_policy_add_device(&p, "t10.LIO-ORG_x:y", err, sizeof(err)), 0);
    assert_true(p.devices[2].by_wwid);
    static const char *const bad[] = { "8:", "8:x", "8:16:1", "99999:0", "", "a b", "1:99999999" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (prh_policy_add_device(&p, bad[i], err, sizeof(err)) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(err, "needs a WWID or MAJOR:MINOR"));
    }
    assert_int_equal(p.ndevices, 3);
}

static void test_policy_empty_allows_everyone_and_every_device(void **state)
{
    (void)state;
    struct prh_policy p = { 0 };
    struct prh_audit_device d = { .known = true };
    assert_false(prh_policy_has_peer_rules(&p));
    assert_false(prh_policy_has_device_rules(&p));
    assert_false(prh_policy_has_peer_rules(NULL));
    assert_true(prh_policy_allows_peer(&p, false, 0, 0, NULL, 0));
    assert_true(prh_policy_allows_device(&p, &d));
    assert_true(prh_policy_allows_device(NULL, &d));
    assert_true(prh_policy_allows_socket(NULL, -1));
}

static void test_policy_peer_matches_uid_gid_or_supplementary_group(void **state)
{
    (void)state;
    struct prh_policy p = { 0 };
    p.uids[p.nuids++] = 107;
    p.gids[p.ngids++] = 36;
    gid_t groups[] = { 5, 36 };
    assert_true(prh_policy_allows_peer(&p, true, 107, 1000, NULL, 0));
    assert_true(prh_policy_allows_peer(&p, true, 1000, 36, NULL, 0));
    assert_true(prh_policy_allows_peer(&p, true, 1000, 1000, groups, 2));
    assert_false(prh_policy_allows_peer(&p, true, 1000, 1000, groups, 1));
    assert_false(prh_policy_allows_peer(&p, true, 0, 0, NULL, 0)); /* not even root */
    assert_false(prh_policy_allows_peer(&p, false, 107, 36, NULL, 0));
}

static void test_policy_device_matches_majmin_or_wwid(void **state)
{
    (void)state;
    struct prh_policy p = { 0 };
    char err[128];
    struct prh_audit_device d = { .known = true, .is_dev = true, .major = 8, .minor = 16 };
    assert_int_equal(prh_policy_add_device(&p, "8:32", err, sizeof(err)), 0);
    assert_int_equal(prh_policy_add_device(&p, "36001405ABC", err, sizeof(err)), 0);
    assert_false(prh_policy_allows_device(&p, &d));
    d.minor = 32;
    assert_true(prh_policy_allows_device(&p, &d));
    d.minor = 48;
    snprintf(d.wwid, sizeof(d.wwid), "naa.6001405abc"); /* multipath form, any case */
    assert_true(prh_policy_allows_device(&p, &d));
    snprintf(d.wwid, sizeof(d.wwid), "naa.6001405abd");
    assert_false(prh_policy_allows_device(&p, &d));
    snprintf(d.wwid, sizeof(d.wwid), "eui.6001405abc"); /* eui. is prefix 2 */
    assert_false(prh_policy_allows_device(&p, &d));
    /* A regular file has no major:minor to match. */
    struct prh_audit_device file = { .known = true };
    assert_false(prh_policy_allows_device(&p, &file));
}

/* ---- the server --------------------------------------------------------------------- */

static void test_policy_server_disallowed_uid_cannot_issue_a_command(void **state)
{
    struct ops_fx *f = *state;
    uint8_t cdb[16], w[4];
    f->policy.uids[f->policy.nuids++] = getuid() + 1;
    f->policy.gids[f->policy.ngids++] = getgid() + 1;
    assert_int_equal(ops_fx_start(f, false, true), 0);
    int s = tu_connect(f->sock, NULL);
    assert_true(s >= 0);
    /* Closed before the feature word: not a byte of the protocol. */
    assert_int_equal(prh_wire_read_all(s, w, 4), -EPIPE);
    int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 64);
    int r = prh_wire_client_send(s, cdb, 16, dev, NULL, 0);
    assert_true(r == -EPIPE || r == -ECONNRESET || r == 0);
    assert_true(tu_peer_closed(s, 2000));
    close(s);
    close(dev);
    struct prh_server_stats st;
    prh_server_get_stats(f->srv, &st);
    assert_int_equal(st.requests, 0);
    assert_int_equal(st.accepted, 0);
    char *text = prh_metrics_render(f->metrics, NULL);
    assert_non_null(strstr(text, "prhelper_connections_refused_total{reason=\"policy\"} 1\n"));
    free(text);
}

static void test_policy_server_allowed_gid_is_served(void **state)
{
    struct ops_fx *f = *state;
    static struct prh_reply r;
    f->policy.uids[f->policy.nuids++] = getuid() + 1;
    f->policy.gids[f->policy.ngids++] = getgid();
    assert_int_equal(ops_fx_start(f, false, false), 0);
    int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    assert_true(s >= 0);
    assert_int_equal(tu_prin(s, dev, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_GOOD);
    close(s);
    close(dev);
}

static void assert_access_denied(const struct prh_reply *r)
{
    struct scsi_sense s;
    assert_int_equal(r->status, SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_decode(r->sense, sizeof(r->sense), &s));
    assert_true(scsi_sense_equal(s, SENSE_ACCESS_DENIED));
    assert_int_equal(r->data_len, 0);
}

static void test_policy_server_device_not_allowed_gets_access_denied(void **state)
{
    struct ops_fx *f = *state;
    static struct prh_reply r;
    char err[128];
    assert_int_equal(prh_policy_add_device(&f->policy, "1:3", err, sizeof(err)), 0);
    assert_int_equal(ops_fx_start(f, false, true), 0);
    int ok = open("/dev/null", O_RDWR | O_CLOEXEC);
    int other = open("/dev/zero", O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    tu_prout(s, other, PR_OUT_REGISTER, 0, 0, 0x77, 0, &r);
    assert_access_denied(&r);
    tu_prin(s, other, PR_IN_READ_KEYS, 64, &r);
    assert_access_denied(&r);
    /* The refused REGISTER never reached the device. */
    assert_int_equal(tu_prout(s, ok, PR_OUT_REGISTER, 0, 0, 0x11, 0, &r), SCSI_STATUS_GOOD);
    assert_int_equal(tu_prin(s, ok, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_GOOD);
    assert_int_equal(tu_key_count(&r), 1);
    assert_true(tu_has_key(&r, 0x11));
    /* The same connection goes on working after a refusal. */
    close(s);
    close(ok);
    close(other);
    char *text = prh_metrics_render(f->metrics, NULL);
    assert_non_null(strstr(text, "prhelper_requests_total{op=\"pr_out\",service_action=\"register\","
                                 "result=\"denied\"} 1\n"));
    assert_non_null(strstr(text, "prhelper_requests_total{op=\"pr_in\",service_action=\"read_keys\","
                                 "result=\"denied\"} 1\n"));
    free(text);
}

static void test_policy_server_device_allowed_by_wwid(void **state)
{
    struct ops_fx *f = *state;
    static struct prh_reply r;
    char err[128], cmd[600];
    char *root = tu_tmpdir();
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/dev/char/1:3/device && printf 'naa.6001405feed\\n' > "
                               "%s/dev/char/1:3/device/wwid",
             root, root);
    assert_int_equal(system(cmd), 0);
    f->sysfs_root = root;
    assert_int_equal(prh_policy_add_device(&f->policy, "36001405FEED", err, sizeof(err)), 0);
    assert_int_equal(ops_fx_start(f, false, false), 0);
    int ok = open("/dev/null", O_RDWR | O_CLOEXEC);
    int other = open("/dev/zero", O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, ok, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_GOOD);
    tu_prin(s, other, PR_IN_READ_KEYS, 64, &r);
    assert_access_denied(&r);
    close(s);
    close(ok);
    close(other);
    ops_fx_stop(f);
    tu_tmpdir_free(root);
}

#define TS(t) cmocka_unit_test_setup_teardown(t, ops_fx_setup, ops_fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_add_uid_number_and_name),
        cmocka_unit_test(test_policy_add_unknown_user_or_group_fails),
        cmocka_unit_test(test_policy_add_too_many_entries_fails),
        cmocka_unit_test(test_policy_add_device_forms),
        cmocka_unit_test(test_policy_empty_allows_everyone_and_every_device),
        cmocka_unit_test(test_policy_peer_matches_uid_gid_or_supplementary_group),
        cmocka_unit_test(test_policy_device_matches_majmin_or_wwid),
        TS(test_policy_server_disallowed_uid_cannot_issue_a_command),
        TS(test_policy_server_allowed_gid_is_served),
        TS(test_policy_server_device_not_allowed_gets_access_denied),
        TS(test_policy_server_device_allowed_by_wwid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
