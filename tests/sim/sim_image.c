/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sim_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- image helpers -------------------------------------------------------- */

/* CRC-32 (IEEE 802.3, reflected, EDB88320h), written independently of
 * sim/persist.c and checked against the standard check value. */
uint32_t img_crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1u) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    return crc ^ 0xffffffffu;
}

/* Recompute the body CRC (over everything after the header) and then the
 * header CRC, as a writer would. */
void img_fix_crcs(uint8_t *img, size_t len)
{
    scsi_put_be32(img + OFF_BODY_CRC, img_crc32(img + HDR_LEN, len - HDR_LEN));
    scsi_put_be32(img + OFF_HDR_CRC, img_crc32(img, OFF_HDR_CRC));
}


struct img_reg img_reg_of(uint64_t key, const struct pr_sim_nexus *n, bool all_tg_pt)
{
    struct img_reg r;
    memset(&r, 0, sizeof(r));
    r.key = key;
    r.rtpi = n->rtpi;
    r.flags = all_tg_pt ? 1 : 0;
    r.tid_len = pr_tid_build(&n->initiator, r.tid, sizeof(r.tid));
    assert_true(r.tid_len > 0);
    return r;
}

/* Build an image by hand: consistent lengths and CRCs. */
uint8_t *img_build(uint32_t version, uint32_t flags, uint8_t type, uint8_t scope,
                            uint32_t holder, const struct img_reg *regs, size_t count,
                            size_t *out_len)
{
    size_t body = RES_LEN;
    for (size_t i = 0; i < count; i++)
        body += REG_LEN + regs[i].tid_len;
    size_t len = HDR_LEN + body;
    uint8_t *img = calloc(1, len);
    assert_non_null(img);
    memcpy(img + OFF_MAGIC, "PRSIMST\n", 8);
    scsi_put_be32(img + OFF_VERSION, version);
    scsi_put_be32(img + OFF_FLAGS, flags);
    scsi_put_be32(img + OFF_BODY_LEN, (uint32_t)body);
    scsi_put_be32(img + OFF_REG_COUNT, (uint32_t)count);
    uint8_t *p = img + HDR_LEN;
    p[0] = type;
    p[1] = scope;
    scsi_put_be32(p + 4, holder);
    p += RES_LEN;
    for (size_t i = 0; i < count; i++) {
        scsi_put_be64(p, regs[i].key);
        scsi_put_be16(p + 8, regs[i].rtpi);
        p[10] = regs[i].flags;
        scsi_put_be16(p + 12, (uint16_t)regs[i].tid_len);
        p += REG_LEN;
        memcpy(p, regs[i].tid, regs[i].tid_len);
        p += regs[i].tid_len;
    }
    img_fix_crcs(img, len);
    *out_len = len;
    return img;
}

uint8_t *img_dup(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    assert_non_null(c);
    if (len)
        memcpy(c, p, len);
    return c;
}

void img_aptpl_pair(struct pr_sim_lun *lun, char holder, unsigned type)
{
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
    if (holder == 'A')
        assert_good(th_reserve(lun, &a, K1, type));
    else
        assert_good(th_reserve(lun, &b, K2, type));
}

uint8_t *img_serialize(const struct pr_sim_lun *lun, size_t *len)
{
    uint8_t *img = NULL;
    assert_int_equal(pr_sim_serialize(lun, &img, len), 0);
    assert_non_null(img);
    return img;
}

/* ---- LUN helpers ----------------------------------------------------------- */

/* A nexus of initiator tid on target port rtpi. */
static struct pr_sim_nexus nexus_of(struct pr_tid tid, uint16_t rtpi)
{
    struct pr_sim_nexus n;
    memset(&n, 0, sizeof(n));
    n.initiator = tid;
    n.rtpi = rtpi;
    return n;
}

struct pr_sim_nexus th_fcp_nexus(uint64_t wwpn, uint16_t rtpi)
{
    return nexus_of(pr_tid_fcp(wwpn), rtpi);
}

struct pr_sim_nexus th_sas_nexus(uint64_t addr, uint16_t rtpi)
{
    return nexus_of(pr_tid_sas(addr), rtpi);
}

struct pr_sim_nexus th_iscsi_device_nexus(const char *name, uint16_t rtpi)
{
    return nexus_of(pr_tid_iscsi(name, NULL), rtpi);
}

struct pr_sim_lun *th_lun_hooked(enum pr_sim_profile profile, pr_sim_persist_fn persist,
                                          void *opaque)
{
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.profile = profile;
    cfg.persist = persist;
    cfg.opaque = opaque;
    return th_lun_config(&cfg);
}

/* A bare LUN (no declared ports) as after power-on. */
struct pr_sim_lun *th_bare_lun(enum pr_sim_profile profile)
{
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.profile = profile;
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    assert_non_null(lun);
    return lun;
}

/*
 * The "rich" LUN: registrations over iSCSI (ports, a name-only device),
 * FCP and SAS, one ALL_TG_PT registration (two nexuses), a WE_RO
 * reservation held by A, APTPL on.  Registration order:
 *   A@1 K1, B@1 K2 (ALL_TG_PT), B@2 K2 (ALL_TG_PT), F@3 K3, S@4 K4, D@2 K5
 */

struct rich img_rich_nexuses(void)
{
    struct rich x;
    x.a = th_nexus('A', 1);
    x.b = th_nexus('B', 1);
    x.b2 = th_nexus('B', 2);
    x.f = th_fcp_nexus(0x21000024ff000001ull, 3);
    x.s = th_sas_nexus(0x5000c50000000001ull, 4);
    x.d = th_iscsi_device_nexus("iqn.2026-11.test:device", 2);
    return x;
}

void img_make_rich(struct pr_sim_lun *lun, const struct rich *x)
{
    assert_int_equal(pr_sim_lun_add_port(lun, 3, PR_TID_PROTO_FCP), 0);
    assert_int_equal(pr_sim_lun_add_port(lun, 4, PR_TID_PROTO_SAS), 0);
    assert_good(th_register_flags(lun, &x->a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &x->b, 0, K2, PR_OUT_FLAG_APTPL | PR_OUT_FLAG_ALL_TG_PT));
    assert_good(th_register_flags(lun, &x->f, 0, K3, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &x->s, 0, K4, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &x->d, 0, K5, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &x->a, K1, PR_TYPE_WE_RO));
    assert_int_equal(pr_sim_registration_count(lun), 6);
    assert_true(pr_sim_aptpl_active(lun));
}

/* Everything observable about a LUN's PR state, for "unchanged" checks. */

struct snap img_take_snap(const struct pr_sim_lun *lun, const struct pr_sim_nexus *watch,
                             size_t nwatch)
{
    struct snap s;
    memset(&s, 0, sizeof(s));
    s.generation = pr_sim_generation(lun);
    s.aptpl = pr_sim_aptpl_active(lun);
    s.type = pr_sim_reservation_type(lun);
    s.count = pr_sim_registration_count(lun);
    assert_true(s.count <= SNAP_MAX_REGS);
    for (size_t i = 0; i < s.count; i++)
        assert_true(pr_sim_registration_at(lun, i, &s.regs[i]));
    struct pr_sim_registration_view extra;
    assert_false(pr_sim_registration_at(lun, s.count, &extra));
    assert_true(nwatch <= SNAP_MAX_WATCH);
    s.nwatch = nwatch;
    for (size_t i = 0; i < nwatch; i++) {
        s.watch[i] = watch[i];
        s.ua[i] = pr_sim_pending_ua_count(lun, &watch[i]);
    }
    return s;
}

static bool views_equal(const struct pr_sim_registration_view *x,
                        const struct pr_sim_registration_view *y)
{
    return x->key == y->key && x->nexus.rtpi == y->nexus.rtpi &&
           pr_tid_equal(&x->nexus.initiator, &y->nexus.initiator) &&
           x->all_tg_pt == y->all_tg_pt && x->holder == y->holder;
}

void img_snap_equal_at(const struct snap *a, const struct snap *b, const char *file, int line)
{
    if (a->generation != b->generation)
        fail_msg("%s:%d: generation %u, want %u", file, line, b->generation, a->generation);
    if (a->aptpl != b->aptpl)
        fail_msg("%s:%d: APTPL %d, want %d", file, line, b->aptpl, a->aptpl);
    if (a->type != b->type)
        fail_msg("%s:%d: reservation type %u, want %u", file, line, b->type, a->type);
    if (a->count != b->count)
        fail_msg("%s:%d: %zu registrations, want %zu", file, line, b->count, a->count);
    for (size_t i = 0; i < a->count; i++)
        if (!views_equal(&a->regs[i], &b->regs[i]))
            fail_msg("%s:%d: registration %zu differs (key %#llx holder %d, want key %#llx "
                     "holder %d)",
                     file, line, i, (unsigned long long)b->regs[i].key, b->regs[i].holder,
                     (unsigned long long)a->regs[i].key, a->regs[i].holder);
    assert_int_equal(a->nwatch, b->nwatch);
    for (size_t i = 0; i < a->nwatch; i++)
        if (a->ua[i] != b->ua[i])
            fail_msg("%s:%d: nexus %zu has %zu pending UAs, want %zu", file, line, i, b->ua[i],
                     a->ua[i]);
}

/* A populated target for "the LUN is unchanged" checks: A (holder of WE)
 * and B registered, APTPL off, generation 2, a UA pending on B. */
struct pr_sim_lun *img_make_target(struct pr_sim_nexus watch[2])
{
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    watch[0] = th_nexus('X', 1);
    watch[1] = th_nexus('Y', 2);
    assert_good(th_register(lun, &watch[0], 0, K5));
    assert_good(th_register(lun, &watch[1], 0, K6));
    assert_good(th_reserve(lun, &watch[0], K5, PR_TYPE_WE));
    assert_int_equal(pr_sim_queue_ua(lun, &watch[1], SENSE_UA_RESERVATIONS_PREEMPTED), 0);
    return lun;
}

/* Deserialize must fail with want_rc, say why, and change nothing. */
void img_expect_rejected_at(const uint8_t *img, size_t len, int want_rc, const char *file,
                               int line)
{
    struct pr_sim_nexus watch[2];
    struct pr_sim_lun *lun = img_make_target(watch);
    struct snap before = img_take_snap(lun, watch, 2);
    /* An exact-size copy, so that ASan sees any read past the end. */
    uint8_t *copy = img_dup(img, len);
    char msg[256];
    memset(msg, 0, sizeof(msg));
    int rc = pr_sim_deserialize(lun, copy, len, msg, sizeof(msg));
    free(copy);
    if (rc != want_rc)
        fail_msg("%s:%d: pr_sim_deserialize returned %d (%s), want %d", file, line, rc, msg,
                 want_rc);
    if (msg[0] == '\0')
        fail_msg("%s:%d: no error message", file, line);
    struct snap after = img_take_snap(lun, watch, 2);
    img_snap_equal_at(&before, &after, file, line);
    pr_sim_lun_free(lun);
}

/* A small valid APTPL image: A@1 K1 holder of WE, B@2 K2. */
uint8_t *img_small_valid(size_t *len)
{
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    struct img_reg regs[2] = { img_reg_of(K1, &a, false), img_reg_of(K2, &b, false) };
    return img_build(1, IMG_FLAG_APTPL, PR_TYPE_WE, 0, 0, regs, 2, len);
}

/* ---- persist hook recorder ------------------------------------------------ */


int img_record_persist(void *opaque, const uint8_t *image, size_t len)
{
    struct recorder *r = opaque;
    r->calls++;
    free(r->last);
    r->last = img_dup(image, len);
    r->last_len = len;
    return r->rc;
}

/* Load the recorder's last image into a fresh LUN. */
struct pr_sim_lun *img_load_last(const struct recorder *rec)
{
    assert_non_null(rec->last);
    struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    int rc = pr_sim_deserialize(lun, rec->last, rec->last_len, msg, sizeof(msg));
    if (rc != 0)
        fail_msg("persisted image does not load: %d %s", rc, msg);
    return lun;
}

struct pr_sim_lun *img_recorded_lun(enum pr_sim_profile profile, struct recorder *rec)
{
    memset(rec, 0, sizeof(*rec));
    return th_lun_hooked(profile, img_record_persist, rec);
}

void img_recorded_free(struct pr_sim_lun *lun, struct recorder *rec)
{
    free(rec->last);
    rec->last = NULL;
    pr_sim_lun_free(lun);
}
