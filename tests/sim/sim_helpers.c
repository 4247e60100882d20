/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sim_helpers.h"

#include <stdio.h>
#include <string.h>

struct pr_sim_nexus th_nexus(char initiator, uint16_t rtpi)
{
    char name[64];
    uint8_t isid[6] = { 0x23, 0xd0, 0x00, 0x00, 0x00, (uint8_t)initiator };
    snprintf(name, sizeof(name), "iqn.2026-11.test:%c", initiator);
    struct pr_sim_nexus n;
    memset(&n, 0, sizeof(n));
    n.initiator = pr_tid_iscsi(name, isid);
    n.rtpi = rtpi;
    return n;
}

struct pr_sim_lun *th_lun_config(const struct pr_sim_config *cfg)
{
    struct pr_sim_lun *lun = pr_sim_lun_new(cfg);
    assert_non_null(lun);
    assert_int_equal(pr_sim_lun_add_port(lun, 1, PR_TID_PROTO_ISCSI), 0);
    assert_int_equal(pr_sim_lun_add_port(lun, 2, PR_TID_PROTO_ISCSI), 0);
    return lun;
}

struct pr_sim_lun *th_lun(enum pr_sim_profile profile)
{
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.profile = profile;
    return th_lun_config(&cfg);
}

struct pr_sim_result th_prout_raw(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                  const uint8_t cdb[10], const uint8_t *param, size_t len)
{
    struct pr_sim_result r;
    pr_sim_execute(lun, n, cdb, 10, param, len, NULL, 0, &r);
    return r;
}

struct pr_sim_result th_prout(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint8_t sa,
                              uint8_t scope_type, uint64_t rk, uint64_t sark, uint8_t flags)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, sa, scope_type, 0, 0, 0, 0, 0, 24, 0 };
    uint8_t param[24] = { 0 };
    scsi_put_be64(param, rk);
    scsi_put_be64(param + 8, sark);
    param[20] = flags;
    return th_prout_raw(lun, n, cdb, param, sizeof(param));
}

struct pr_sim_result th_prin(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint8_t sa,
                             uint16_t alloc, uint8_t *buf)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_IN, sa, 0, 0, 0, 0, 0, 0, 0, 0 };
    scsi_put_be16(cdb + 7, alloc);
    struct pr_sim_result r;
    pr_sim_execute(lun, n, cdb, 10, NULL, 0, buf, alloc, &r);
    return r;
}

struct pr_sim_result th_cmd(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                            const uint8_t *cdb, size_t cdb_len)
{
    struct pr_sim_result r;
    uint8_t buf[256];
    pr_sim_execute(lun, n, cdb, cdb_len, NULL, 0, buf, sizeof(buf), &r);
    return r;
}

void th_clear_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    static const uint8_t tur[6] = { 0 };
    for (int i = 0; i < 32; i++) {
        struct pr_sim_result r = th_cmd(lun, n, tur, sizeof(tur));
        if (r.status != SCSI_STATUS_CHECK_CONDITION || r.sense.key != SCSI_SENSE_UNIT_ATTENTION)
            return;
    }
    fail_msg("unit attentions never cleared");
}

struct pr_sim_result th_register(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk,
                                 uint64_t sark)
{
    return th_prout(lun, n, PR_OUT_REGISTER, 0, rk, sark, 0);
}

void th_register_pair(struct pr_sim_lun *lun, const struct pr_sim_nexus *a, uint64_t ka,
                      const struct pr_sim_nexus *b, uint64_t kb)
{
    assert_good(th_register(lun, a, 0, ka));
    assert_good(th_register(lun, b, 0, kb));
}

struct pr_sim_lun *th_lun_registered(enum pr_sim_profile profile, const struct pr_sim_nexus *a,
                                     uint64_t ka, const struct pr_sim_nexus *b, uint64_t kb)
{
    struct pr_sim_lun *lun = th_lun(profile);
    th_register_pair(lun, a, ka, b, kb);
    return lun;
}

struct pr_sim_result th_register_ignore(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                        uint64_t sark)
{
    return th_prout(lun, n, PR_OUT_REGISTER_AND_IGNORE, 0, 0, sark, 0);
}

struct pr_sim_result th_reserve(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk,
                                unsigned type)
{
    return th_prout(lun, n, PR_OUT_RESERVE, (uint8_t)type, rk, 0, 0);
}

struct pr_sim_result th_release(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk,
                                unsigned type)
{
    return th_prout(lun, n, PR_OUT_RELEASE, (uint8_t)type, rk, 0, 0);
}

struct pr_sim_result th_clear(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk)
{
    return th_prout(lun, n, PR_OUT_CLEAR, 0, rk, 0, 0);
}

struct pr_sim_result th_preempt(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk,
                                uint64_t sark, unsigned type, bool abort)
{
    return th_prout(lun, n, abort ? PR_OUT_PREEMPT_AND_ABORT : PR_OUT_PREEMPT, (uint8_t)type, rk,
                    sark, 0);
}

struct th_keys th_read_keys(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    static uint8_t buf[8192];
    struct th_keys k;
    memset(&k, 0, sizeof(k));
    struct pr_sim_result r = th_prin(lun, n, PR_IN_READ_KEYS, sizeof(buf), buf);
    assert_good(r);
    assert_true(r.data_len >= 8);
    k.generation = scsi_get_be32(buf);
    uint32_t addlen = scsi_get_be32(buf + 4);
    assert_int_equal(addlen % 8, 0);
    assert_int_equal(r.data_len, 8 + addlen);
    k.count = addlen / 8;
    for (uint32_t i = 0; i < k.count && i < 64; i++)
        k.keys[i] = scsi_get_be64(buf + 8 + 8 * i);
    return k;
}

struct th_reservation th_read_reservation(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    uint8_t buf[64];
    struct th_reservation v;
    memset(&v, 0, sizeof(v));
    struct pr_sim_result r = th_prin(lun, n, PR_IN_READ_RESERVATION, sizeof(buf), buf);
    assert_good(r);
    v.generation = scsi_get_be32(buf);
    uint32_t addlen = scsi_get_be32(buf + 4);
    if (addlen == 0) {
        assert_int_equal(r.data_len, 8);
        return v;
    }
    assert_int_equal(addlen, 16);
    assert_int_equal(r.data_len, 24);
    v.reserved = true;
    v.key = scsi_get_be64(buf + 8);
    v.scope = buf[21] >> 4;
    v.type = buf[21] & 0x0f;
    return v;
}

void th_assert_result(struct pr_sim_result r, uint8_t status, struct scsi_sense sense,
                      const char *file, int line)
{
    char got[128], want[128];
    if (r.status != status ||
        (status == SCSI_STATUS_CHECK_CONDITION && !scsi_sense_equal(r.sense, sense))) {
        scsi_sense_to_string(r.sense, got, sizeof(got));
        scsi_sense_to_string(sense, want, sizeof(want));
        fail_msg("%s:%d: got %s [%s], want %s [%s]", file, line, scsi_status_name(r.status),
                 r.status == SCSI_STATUS_CHECK_CONDITION ? got : "-", scsi_status_name(status),
                 status == SCSI_STATUS_CHECK_CONDITION ? want : "-");
    }
}

struct pr_sim_result th_read10(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    const uint8_t cdb[10] = { SCSI_OP_READ10, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
    return th_cmd(lun, n, cdb, sizeof(cdb));
}

struct pr_sim_result th_write10(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    const uint8_t cdb[10] = { SCSI_OP_WRITE10, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
    return th_cmd(lun, n, cdb, sizeof(cdb));
}

const enum pr_sim_profile th_profiles[2] = { PR_SIM_PROFILE_SPC4, PR_SIM_PROFILE_LIO };

void th_expect_keys_at(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint32_t gen,
                       uint32_t count, const uint64_t *keys, const char *file, int line)
{
    struct th_keys k = th_read_keys(lun, n);
    if (k.generation != gen || k.count != count)
        fail_msg("%s:%d: READ KEYS generation %u count %u, want generation %u count %u", file,
                 line, k.generation, k.count, gen, count);
    for (uint32_t i = 0; i < count; i++)
        if (k.keys[i] != keys[i])
            fail_msg("%s:%d: key %u is %#llx, want %#llx", file, line, i,
                     (unsigned long long)k.keys[i], (unsigned long long)keys[i]);
}

void th_expect_no_reservation(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    struct th_reservation v = th_read_reservation(lun, n);
    assert_false(v.reserved);
}

void th_expect_reservation(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t key,
                           unsigned type)
{
    struct th_reservation v = th_read_reservation(lun, n);
    assert_true(v.reserved);
    assert_int_equal(v.key, key);
    assert_int_equal(v.type, type);
    assert_int_equal(v.scope, 0);
}

void th_expect_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, struct scsi_sense ua)
{
    static const uint8_t tur[6] = { 0 };
    assert_check(th_cmd(lun, n, tur, sizeof(tur)), ua);
    assert_good(th_cmd(lun, n, tur, sizeof(tur)));
}

void th_expect_no_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    static const uint8_t tur[6] = { 0 };
    assert_good(th_cmd(lun, n, tur, sizeof(tur)));
}

struct pr_sim_nexus th_other_session(const struct pr_sim_nexus *n, uint8_t tag)
{
    const uint8_t isid[6] = { 0x23, 0xd0, 0, 0, 0, tag };
    struct pr_sim_nexus other = *n;
    other.initiator = pr_tid_iscsi(n->initiator.name, isid);
    return other;
}

struct pr_sim_result th_tur(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    static const uint8_t cdb[6] = { SCSI_OP_TEST_UNIT_READY, 0, 0, 0, 0, 0 };
    return th_cmd(lun, n, cdb, sizeof(cdb));
}

void th_expect_single_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                         struct scsi_sense ua)
{
    assert_int_equal(pr_sim_pending_ua_count(lun, n), 1);
    assert_check(th_tur(lun, n), ua);
    assert_int_equal(pr_sim_pending_ua_count(lun, n), 0);
    assert_good(th_tur(lun, n));
}

void th_expect_no_pending_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    assert_int_equal(pr_sim_pending_ua_count(lun, n), 0);
}

struct pr_sim_lun *th_lun_with(uint32_t deviations)
{
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.use_deviations = true;
    cfg.deviations = deviations;
    return th_lun_config(&cfg);
}

struct pr_sim_result th_register_flags(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                       uint64_t rk, uint64_t sark, uint8_t flags)
{
    return th_prout(lun, n, PR_OUT_REGISTER, 0, rk, sark, flags);
}
