/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tcmu_netlink.c - the "TCM-USER" generic netlink messages
 * (include/prhelper/tcmu_netlink.h): the family query, the controller's
 * answer, kernel events, our *_DONE replies, malformed input; and the
 * socket on a host without target_core_user.
 */
#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "sim_helpers.h"

#include "prhelper/tcmu_netlink.h"

/* A message under construction (the kernel's side). */
struct kmsg {
    uint8_t b[2048];
    size_t len;
};

static void k_start(struct kmsg *m, uint16_t type, uint8_t cmd)
{
    memset(m, 0, sizeof(*m));
    struct nlmsghdr h = { .nlmsg_type = type };
    struct genlmsghdr g = { .cmd = cmd, .version = 2 };
    memcpy(m->b, &h, sizeof(h));
    memcpy(m->b + 16, &g, sizeof(g));
    m->len = 20;
}

static size_t k_attr(struct kmsg *m, uint16_t type, const void *d, size_t n)
{
    size_t at = m->len;
    struct nlattr a = { .nla_len = (uint16_t)(4 + n), .nla_type = type };
    memcpy(m->b + at, &a, 4);
    memcpy(m->b + at + 4, d, n);
    m->len += (4 + n + 3) & ~(size_t)3;
    return at;
}

static void k_nest_end(struct kmsg *m, size_t at)
{
    uint16_t len = (uint16_t)(m->len - at);
    memcpy(m->b + at, &len, 2);
}

static void k_finish(struct kmsg *m)
{
    uint32_t len = (uint32_t)m->len;
    memcpy(m->b, &len, 4);
}

static void test_getfamily_asks_for_tcm_user(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = tcmu_nl_build_getfamily(buf, sizeof(buf), 7);
    assert_true(n > 20);
    struct nlmsghdr h;
    memcpy(&h, buf, sizeof(h));
    assert_int_equal(h.nlmsg_len, n);
    assert_int_equal(h.nlmsg_type, GENL_ID_CTRL);
    assert_int_equal(h.nlmsg_seq, 7);
    assert_int_equal(buf[16], CTRL_CMD_GETFAMILY);
    assert_int_equal(buf[22], CTRL_ATTR_FAMILY_NAME);
    assert_string_equal((const char *)buf + 24, "TCM-USER");
    assert_int_equal(tcmu_nl_build_getfamily(buf, 10, 1), 0);
}

static void family_answer(struct kmsg *m, bool with_group)
{
    uint16_t id = 0x1d;
    uint32_t gid = 9, other = 3;
    k_start(m, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY);
    k_attr(m, CTRL_ATTR_FAMILY_NAME, "TCM-USER", 9);
    k_attr(m, CTRL_ATTR_FAMILY_ID, &id, 2);
    size_t groups = k_attr(m, CTRL_ATTR_MCAST_GROUPS, "", 0);
    size_t g1 = k_attr(m, 1, "", 0);
    k_attr(m, CTRL_ATTR_MCAST_GRP_NAME, "other", 6);
    k_attr(m, CTRL_ATTR_MCAST_GRP_ID, &other, 4);
    k_nest_end(m, g1);
    if (with_group) {
        size_t g2 = k_attr(m, 2, "", 0);
        k_attr(m, CTRL_ATTR_MCAST_GRP_ID, &gid, 4);
        k_attr(m, CTRL_ATTR_MCAST_GRP_NAME, "config", 7);
        k_nest_end(m, g2);
    }
    k_nest_end(m, groups);
    k_finish(m);
}

/* tcmu_nl_parse_family's answer for len bytes at b (the family found is not looked at). */
static int family_parse_result(const void *b, size_t len)
{
    uint16_t fam;
    uint32_t grp;
    return tcmu_nl_parse_family(b, len, &fam, &grp);
}

static void test_family_answer_gives_family_and_config_group(void **state)
{
    (void)state;
    struct kmsg m;
    uint16_t fam = 0;
    uint32_t grp = 0;
    family_answer(&m, true);
    assert_int_equal(tcmu_nl_parse_family(m.b, m.len, &fam, &grp), 0);
    assert_int_equal(fam, 0x1d);
    assert_int_equal(grp, 9);
}

static void test_family_without_config_group_is_not_found(void **state)
{
    (void)state;
    struct kmsg m;
    family_answer(&m, false);
    assert_int_equal(family_parse_result(m.b, m.len), -ENOENT);
}

static void test_family_error_answer_gives_its_errno(void **state)
{
    (void)state;
    uint8_t b[36] = { 0 };
    struct nlmsghdr h = { .nlmsg_len = 36, .nlmsg_type = NLMSG_ERROR };
    int err = -ENOENT;
    memcpy(b, &h, sizeof(h));
    memcpy(b + 16, &err, 4);
    assert_int_equal(family_parse_result(b, sizeof(b)), -ENOENT);
    assert_int_equal(family_parse_result(b, 18), -EINVAL);
}

static void test_malformed_family_answers_are_refused(void **state)
{
    (void)state;
    struct kmsg m;
    family_answer(&m, true);
    assert_int_equal(family_parse_result(m.b, 8), -EINVAL);
    assert_int_equal(family_parse_result(m.b, m.len - 4), -EINVAL); /* len > buffer */
    uint16_t bad = 200; /* an attribute longer than the message */
    memcpy(m.b + 20, &bad, 2);
    assert_int_equal(family_parse_result(m.b, m.len), -EINVAL);
    family_answer(&m, true);
    struct nlmsghdr h;
    memcpy(&h, m.b, sizeof(h));
    h.nlmsg_type = 0x33;
    memcpy(m.b, &h, sizeof(h));
    assert_int_equal(family_parse_result(m.b, m.len), -EINVAL);
}

static void added_event(struct kmsg *m, uint16_t family, uint8_t cmd)
{
    const char name[] = "tcm-user/0/b0/prsim/lun0/naa.50014050000000a0@1";
    uint32_t minor = 4, id = 17;
    k_start(m, family, cmd);
    k_attr(m, 1, name, sizeof(name));
    k_attr(m, 2, &minor, 4);
    k_attr(m, 8, &id, 4);
    k_finish(m);
}

/* tcmu_nl_parse_event's answer for the message, the family 0x1d's (the
 * event, when there is one, in *ev). */
static int event_parse_result(const struct kmsg *m, size_t len, struct tcmu_nl_event *ev)
{
    return tcmu_nl_parse_event(m->b, len, 0x1d, ev);
}

/* The event the message is: it must parse as one. */
static const struct tcmu_nl_event *event_of(const struct kmsg *m)
{
    static struct tcmu_nl_event ev;
    assert_int_equal(event_parse_result(m, m->len, &ev), 1);
    return &ev;
}

/* An optional attribute of an event: present (has), with the value want. */
static void assert_attr(bool has, uint64_t got, uint64_t want)
{
    assert_true(has);
    assert_int_equal(got, want);
}

static void test_added_event_gives_device_minor_and_id(void **state)
{
    (void)state;
    struct kmsg m;
    added_event(&m, 0x1d, 1);
    const struct tcmu_nl_event *ev = event_of(&m);
    assert_int_equal(ev->cmd, TCMU_NL_ADDED);
    assert_string_equal(ev->device, "tcm-user/0/b0/prsim/lun0/naa.50014050000000a0@1");
    assert_attr(ev->has_minor, ev->minor, 4);
    assert_attr(ev->has_dev_id, ev->dev_id, 17);
    assert_false(ev->has_dev_cfg);
}

static void test_reconfig_event_carries_config_size_and_cache(void **state)
{
    (void)state;
    struct kmsg m;
    const char name[] = "tcm-user/0/b0/prsim/lun0/naa.50014050000000a0";
    const char cfg[] = "prsim/lun1/naa.50014050000000a0";
    uint32_t minor = 1;
    uint64_t size = 1 << 20;
    uint8_t wc = 1;
    k_start(&m, 0x1d, 3);
    k_attr(&m, 1, name, sizeof(name));
    k_attr(&m, 2, &minor, 4);
    k_attr(&m, 4, cfg, sizeof(cfg));
    k_attr(&m, 5, &size, 8);
    k_attr(&m, 6, &wc, 1);
    k_attr(&m, 99, &wc, 1); /* unknown attributes are skipped */
    k_finish(&m);
    const struct tcmu_nl_event *ev = event_of(&m);
    assert_int_equal(ev->cmd, TCMU_NL_RECONFIG);
    assert_true(ev->has_dev_cfg);
    assert_string_equal(ev->dev_cfg, cfg);
    assert_attr(ev->has_dev_size, ev->dev_size, 1 << 20);
    assert_attr(ev->has_write_cache, ev->write_cache, 1);
    assert_false(ev->has_dev_id);
}

static void test_other_messages_are_not_events(void **state)
{
    (void)state;
    struct kmsg m;
    struct tcmu_nl_event ev;
    added_event(&m, 0x1e, 1); /* another family */
    assert_int_equal(event_parse_result(&m, m.len, &ev), 0);
    added_event(&m, 0x1d, 4); /* a *_DONE (our own kind) */
    assert_int_equal(event_parse_result(&m, m.len, &ev), 0);
}

static void test_malformed_events_are_refused(void **state)
{
    (void)state;
    struct kmsg m;
    struct tcmu_nl_event ev;
    uint32_t minor = 1;
    k_start(&m, 0x1d, 1); /* no device name */
    k_attr(&m, 2, &minor, 4);
    k_finish(&m);
    assert_int_equal(event_parse_result(&m, m.len, &ev), -EINVAL);
    k_start(&m, 0x1d, 1); /* a name without its NUL */
    k_attr(&m, 1, "abcd", 4);
    k_attr(&m, 2, &minor, 4);
    k_finish(&m);
    assert_int_equal(event_parse_result(&m, m.len, &ev), -EINVAL);
    k_start(&m, 0x1d, 1); /* no minor */
    k_attr(&m, 1, "x", 2);
    k_finish(&m);
    assert_int_equal(event_parse_result(&m, m.len, &ev), -EINVAL);
    added_event(&m, 0x1d, 1);
    assert_int_equal(event_parse_result(&m, 18, &ev), -EINVAL);
    k_start(&m, 0x1d, 1); /* no genl header */
    m.len = 16;
    k_finish(&m);
    assert_int_equal(event_parse_result(&m, m.len, &ev), -EINVAL);
}

static void test_reply_carries_status_and_device_id(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = tcmu_nl_build_reply(buf, sizeof(buf), 0x1d, TCMU_NL_ADDED_DONE, -22, 17, 5);
    assert_int_equal(n, 16 + 4 + 8 + 8);
    struct nlmsghdr h;
    memcpy(&h, buf, sizeof(h));
    assert_int_equal(h.nlmsg_type, 0x1d);
    assert_int_equal(h.nlmsg_len, n);
    assert_int_equal(buf[16], TCMU_NL_ADDED_DONE);
    assert_int_equal(buf[17], 2);
    int32_t status;
    uint32_t id;
    assert_int_equal(buf[22], 7);
    memcpy(&status, buf + 24, 4);
    assert_int_equal(status, -22);
    assert_int_equal(buf[30], 8);
    memcpy(&id, buf + 32, 4);
    assert_int_equal(id, 17);
    assert_int_equal(tcmu_nl_build_reply(buf, 30, 0x1d, 4, 0, 1, 1), 0);
}

static void test_open_without_target_core_user_says_so(void **state)
{
    (void)state;
    struct tcmu_nl nl;
    char err[256] = "";
    /* The host running the unit tests has no TCM-USER family (the lab VM
     * has one, and is tested there).  Without netlink at all (a
     * container), the error is about the socket. */
    int r = tcmu_nl_open(&nl, err, sizeof(err));
    if (r == 0) {
        tcmu_nl_close(&nl);
        skip();
    }
    assert_true(r < 0);
    assert_true(strlen(err) > 0);
    if (r == -ENOENT)
        assert_non_null(strstr(err, "target_core_user"));
    assert_int_equal(nl.fd, -1);
    tcmu_nl_close(&nl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getfamily_asks_for_tcm_user),
        cmocka_unit_test(test_family_answer_gives_family_and_config_group),
        cmocka_unit_test(test_family_without_config_group_is_not_found),
        cmocka_unit_test(test_family_error_answer_gives_its_errno),
        cmocka_unit_test(test_malformed_family_answers_are_refused),
        cmocka_unit_test(test_added_event_gives_device_minor_and_id),
        cmocka_unit_test(test_reconfig_event_carries_config_size_and_cache),
        cmocka_unit_test(test_other_messages_are_not_events),
        cmocka_unit_test(test_malformed_events_are_refused),
        cmocka_unit_test(test_reply_carries_status_and_device_id),
        cmocka_unit_test(test_open_without_target_core_user_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
