/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_persist.c - APTPL persistence (SPC-4 5.14.5,
 * pr-semantics.md 7): the state image (pr_sim_serialize /
 * pr_sim_deserialize), power cycles, the persist hook and its rollback,
 * and the file store (pr_sim_store.h).  One test per behaviour.
 *
 * The image layout checked here is the one documented in sim/persist.c:
 * a 32-byte header (magic "PRSIMST\n", version, flags, body length, body
 * CRC-32, registration count, header CRC-32), an 8-byte reservation
 * record (type, scope, 2 reserved, holder index or FFFFFFFFh) and per
 * registration a 16-byte record (key, RTPI, flags, reserved, TransportID
 * length, 2 reserved) followed by the TransportID; big-endian throughout.
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

#include "sim_table.h"

#include "prhelper/pr_sim.h"
#include "prhelper/pr_sim_store.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull
#define K4 0x4444444444444444ull
#define K5 0x5555555555555555ull
#define K6 0x6666666666666666ull

#define HDR_LEN 32u
#define RES_LEN 8u
#define REG_LEN 16u
#define OFF_MAGIC 0u
#define OFF_VERSION 8u
#define OFF_FLAGS 12u
#define OFF_BODY_LEN 16u
#define OFF_BODY_CRC 20u
#define OFF_REG_COUNT 24u
#define OFF_HDR_CRC 28u
#define NO_HOLDER 0xffffffffu
#define IMG_FLAG_APTPL 0x1u

/* ---- image helpers -------------------------------------------------------- */

/* CRC-32 (IEEE 802.3, reflected, EDB88320h), written independently of
 * sim/persist.c and checked against the standard check value. */
static uint32_t crc32_ref(const uint8_t *p, size_t n)
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
static void fix_crcs(uint8_t *img, size_t len)
{
    scsi_put_be32(img + OFF_BODY_CRC, crc32_ref(img + HDR_LEN, len - HDR_LEN));
    scsi_put_be32(img + OFF_HDR_CRC, crc32_ref(img, OFF_HDR_CRC));
}

struct img_reg {
    uint64_t key;
    uint16_t rtpi;
    uint8_t flags;
    uint8_t tid[PR_TID_MAX_LEN];
    size_t tid_len;
};

static struct img_reg img_reg_of(uint64_t key, const struct pr_sim_nexus *n, bool all_tg_pt)
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
static uint8_t *build_image(uint32_t version, uint32_t flags, uint8_t type, uint8_t scope,
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
    fix_crcs(img, len);
    *out_len = len;
    return img;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    assert_non_null(c);
    if (len)
        memcpy(c, p, len);
    return c;
}

static uint8_t *serialize(const struct pr_sim_lun *lun, size_t *len)
{
    uint8_t *img = NULL;
    assert_int_equal(pr_sim_serialize(lun, &img, len), 0);
    assert_non_null(img);
    return img;
}

/* ---- LUN helpers ----------------------------------------------------------- */

static struct pr_sim_nexus fcp_nexus(uint64_t wwpn, uint16_t rtpi)
{
    struct pr_sim_nexus n;
    memset(&n, 0, sizeof(n));
    n.initiator = pr_tid_fcp(wwpn);
    n.rtpi = rtpi;
    return n;
}

static struct pr_sim_nexus sas_nexus(uint64_t addr, uint16_t rtpi)
{
    struct pr_sim_nexus n;
    memset(&n, 0, sizeof(n));
    n.initiator = pr_tid_sas(addr);
    n.rtpi = rtpi;
    return n;
}

static struct pr_sim_nexus iscsi_device_nexus(const char *name, uint16_t rtpi)
{
    struct pr_sim_nexus n;
    memset(&n, 0, sizeof(n));
    n.initiator = pr_tid_iscsi(name, NULL);
    n.rtpi = rtpi;
    return n;
}

static struct pr_sim_lun *lun_with_config(enum pr_sim_profile profile, pr_sim_persist_fn persist,
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
static struct pr_sim_lun *bare_lun(enum pr_sim_profile profile)
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
struct rich {
    struct pr_sim_nexus a, b, b2, f, s, d;
};

static struct rich rich_nexuses(void)
{
    struct rich x;
    x.a = th_nexus('A', 1);
    x.b = th_nexus('B', 1);
    x.b2 = th_nexus('B', 2);
    x.f = fcp_nexus(0x21000024ff000001ull, 3);
    x.s = sas_nexus(0x5000c50000000001ull, 4);
    x.d = iscsi_device_nexus("iqn.2026-11.test:device", 2);
    return x;
}

static void make_rich(struct pr_sim_lun *lun, const struct rich *x)
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
#define SNAP_MAX_REGS 16
#define SNAP_MAX_WATCH 8
struct snap {
    uint32_t generation;
    bool aptpl;
    unsigned type;
    size_t count;
    struct pr_sim_registration_view regs[SNAP_MAX_REGS];
    size_t nwatch;
    struct pr_sim_nexus watch[SNAP_MAX_WATCH];
    size_t ua[SNAP_MAX_WATCH];
};

static struct snap take_snap(const struct pr_sim_lun *lun, const struct pr_sim_nexus *watch,
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

#define assert_snap_equal(a, b) snap_equal_at((a), (b), __FILE__, __LINE__)
static void snap_equal_at(const struct snap *a, const struct snap *b, const char *file, int line)
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
static struct pr_sim_lun *make_target(struct pr_sim_nexus watch[2])
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
#define expect_rejected(img, len, want_rc) expect_rejected_at((img), (len), (want_rc), __FILE__, __LINE__)
static void expect_rejected_at(const uint8_t *img, size_t len, int want_rc, const char *file,
                               int line)
{
    struct pr_sim_nexus watch[2];
    struct pr_sim_lun *lun = make_target(watch);
    struct snap before = take_snap(lun, watch, 2);
    /* An exact-size copy, so that ASan sees any read past the end. */
    uint8_t *copy = dup_bytes(img, len);
    char msg[256];
    memset(msg, 0, sizeof(msg));
    int rc = pr_sim_deserialize(lun, copy, len, msg, sizeof(msg));
    free(copy);
    if (rc != want_rc)
        fail_msg("%s:%d: pr_sim_deserialize returned %d (%s), want %d", file, line, rc, msg,
                 want_rc);
    if (msg[0] == '\0')
        fail_msg("%s:%d: no error message", file, line);
    struct snap after = take_snap(lun, watch, 2);
    snap_equal_at(&before, &after, file, line);
    pr_sim_lun_free(lun);
}

/* A small valid APTPL image: A@1 K1 holder of WE, B@2 K2. */
static uint8_t *small_valid_image(size_t *len)
{
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    struct img_reg regs[2] = { img_reg_of(K1, &a, false), img_reg_of(K2, &b, false) };
    return build_image(1, IMG_FLAG_APTPL, PR_TYPE_WE, 0, 0, regs, 2, len);
}

/* ---- persist hook recorder ------------------------------------------------ */

struct recorder {
    int calls;
    int rc;
    uint8_t *last;
    size_t last_len;
};

static int record_persist(void *opaque, const uint8_t *image, size_t len)
{
    struct recorder *r = opaque;
    r->calls++;
    free(r->last);
    r->last = dup_bytes(image, len);
    r->last_len = len;
    return r->rc;
}

/* Load the recorder's last image into a fresh LUN. */
static struct pr_sim_lun *load_last(const struct recorder *rec)
{
    assert_non_null(rec->last);
    struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    int rc = pr_sim_deserialize(lun, rec->last, rec->last_len, msg, sizeof(msg));
    if (rc != 0)
        fail_msg("persisted image does not load: %d %s", rc, msg);
    return lun;
}

/* ========================================================================= */
/* serialize / deserialize                                                    */
/* ========================================================================= */

static void test_crc_reference_matches_standard_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc32_ref((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

static void test_serialize_layout_matches_documented_format(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    size_t len;
    uint8_t *img = serialize(lun, &len);
    size_t want_len;
    uint8_t *want = small_valid_image(&want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(img, want, len);
    free(img);
    free(want);
    pr_sim_lun_free(lun);
}

static void test_round_trip_keeps_registrations_of_every_protocol_in_order(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    struct snap before = take_snap(src, NULL, 0);
    size_t len;
    uint8_t *img = serialize(src, &len);

    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    assert_int_equal(pr_sim_deserialize(dst, img, len, msg, sizeof(msg)), 0);
    struct snap after = take_snap(dst, NULL, 0);
    before.generation = 0; /* not persisted */
    assert_snap_equal(&before, &after);

    const struct pr_sim_nexus *order[6] = { &x.a, &x.b, &x.b2, &x.f, &x.s, &x.d };
    const uint64_t keys[6] = { K1, K2, K2, K3, K4, K5 };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(after.regs[i].key, keys[i]);
        assert_int_equal(after.regs[i].nexus.rtpi, order[i]->rtpi);
        assert_true(pr_tid_equal(&after.regs[i].nexus.initiator, &order[i]->initiator));
    }
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_round_trip_keeps_all_tg_pt_flag(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    size_t len;
    uint8_t *img = serialize(src, &len);
    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    const bool want[6] = { false, true, true, false, false, false };
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_registration_view v;
        assert_true(pr_sim_registration_at(dst, i, &v));
        assert_int_equal(v.all_tg_pt, want[i]);
    }
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_round_trip_keeps_reservation_holder_type_and_scope(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    size_t len;
    uint8_t *img = serialize(src, &len);
    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    assert_int_equal(pr_sim_reservation_type(dst), PR_TYPE_WE_RO);
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_registration_view v;
        assert_true(pr_sim_registration_at(dst, i, &v));
        assert_int_equal(v.holder, i == 0);
    }
    /* Visible through PR IN, and the holder is still the holder. */
    th_expect_reservation(dst, &x.b, K1, PR_TYPE_WE_RO);
    struct pr_sim_nexus c = th_nexus('C', 1);
    assert_conflict(th_write10(dst, &c));
    assert_good(th_write10(dst, &x.f)); /* registrant of WE_RO */
    assert_good(th_release(dst, &x.a, K1, PR_TYPE_WE_RO));
    th_expect_no_reservation(dst, &x.a);
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_round_trip_keeps_all_registrants_reservation(void **state)
{
    (void)state;
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register_flags(src, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(src, &b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(src, &b, K2, PR_TYPE_EA_AR));
    size_t len;
    uint8_t *img = serialize(src, &len);
    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    assert_int_equal(pr_sim_reservation_type(dst), PR_TYPE_EA_AR);
    struct snap s = take_snap(dst, NULL, 0);
    assert_int_equal(s.count, 2);
    assert_true(s.regs[0].holder);
    assert_true(s.regs[1].holder);
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_round_trip_keeps_aptpl_active(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    size_t len;
    uint8_t *img = serialize(src, &len);
    assert_int_equal(scsi_get_be32(img + OFF_FLAGS), IMG_FLAG_APTPL);
    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    assert_true(pr_sim_aptpl_active(dst));
    /* PTPL_A in REPORT CAPABILITIES. */
    uint8_t caps[8];
    assert_good(th_prin(dst, &x.a, PR_IN_REPORT_CAPABILITIES, sizeof(caps), caps));
    assert_int_equal(caps[3] & PR_CAP_PTPL_A, PR_CAP_PTPL_A);
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_reserialize_after_load_gives_identical_image(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    size_t len, len2;
    uint8_t *img = serialize(src, &len);
    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    uint8_t *img2 = serialize(dst, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(img, img2, len);
    free(img);
    free(img2);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_loaded_lun_declares_ports_for_all_tg_pt_and_move(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    size_t len;
    uint8_t *img = serialize(src, &len);
    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    /* The registrations' ports exist: a new ALL_TG_PT registration over
     * iSCSI reaches both iSCSI ports 1 and 2. */
    struct pr_sim_nexus e = th_nexus('E', 1);
    assert_good(th_register_flags(dst, &e, 0, K6, PR_OUT_FLAG_ALL_TG_PT | PR_OUT_FLAG_APTPL));
    assert_int_equal(pr_sim_registration_count(dst), 8);
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_image_without_aptpl_holds_nothing(void **state)
{
    (void)state;
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register(src, &a, 0, K1));
    assert_good(th_register(src, &b, 0, K2));
    assert_good(th_reserve(src, &a, K1, PR_TYPE_EA));
    size_t len;
    uint8_t *img = serialize(src, &len);
    assert_int_equal(len, HDR_LEN + RES_LEN);
    assert_int_equal(scsi_get_be32(img + OFF_FLAGS), 0);
    assert_int_equal(scsi_get_be32(img + OFF_REG_COUNT), 0);
    assert_int_equal(img[HDR_LEN], PR_TYPE_NONE);
    assert_int_equal(scsi_get_be32(img + HDR_LEN + 4), NO_HOLDER);

    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    assert_int_equal(pr_sim_registration_count(dst), 0);
    assert_int_equal(pr_sim_reservation_type(dst), PR_TYPE_NONE);
    assert_false(pr_sim_aptpl_active(dst));
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_generation_restarts_at_0_after_load_spc4(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    assert_true(pr_sim_generation(src) > 0);
    size_t len;
    uint8_t *img = serialize(src, &len);
    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    assert_int_equal(pr_sim_generation(dst), 0);
    th_expect_keys(dst, &x.a, 0, 6, K1, K2, K2, K3, K4, K5);
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_generation_equals_registration_count_after_load_lio(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    size_t len;
    uint8_t *img = serialize(src, &len);
    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_LIO);
    assert_int_equal(pr_sim_deserialize(dst, img, len, NULL, 0), 0);
    assert_int_equal(pr_sim_generation(dst), 6);
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_serialize_does_not_change_the_lun(void **state)
{
    (void)state;
    struct pr_sim_nexus watch[2];
    struct pr_sim_lun *lun = make_target(watch);
    struct snap before = take_snap(lun, watch, 2);
    size_t len;
    uint8_t *img = serialize(lun, &len);
    struct snap after = take_snap(lun, watch, 2);
    assert_snap_equal(&before, &after);
    free(img);
    pr_sim_lun_free(lun);
}

/* ---- corruption ------------------------------------------------------------ */

static void test_deserialize_accepts_hand_built_valid_image(void **state)
{
    (void)state;
    /* The builder used by the corruption tests makes loadable images. */
    size_t len;
    uint8_t *img = small_valid_image(&len);
    struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    assert_int_equal(pr_sim_deserialize(lun, img, len, msg, sizeof(msg)), 0);
    assert_int_equal(pr_sim_registration_count(lun), 2);
    assert_int_equal(pr_sim_reservation_type(lun), PR_TYPE_WE);
    free(img);
    pr_sim_lun_free(lun);
}

static void test_deserialize_bad_magic_is_rejected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = small_valid_image(&len);
    for (size_t i = 0; i < 8; i++) {
        uint8_t *c = dup_bytes(img, len);
        c[i] ^= 0x20;
        expect_rejected(c, len, -EINVAL);
        fix_crcs(c, len); /* even with consistent checksums */
        expect_rejected(c, len, -EINVAL);
        free(c);
    }
    free(img);
}

static void test_deserialize_header_crc_mismatch_is_rejected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = small_valid_image(&len);
    for (size_t i = OFF_HDR_CRC; i < HDR_LEN; i++) {
        img[i] ^= 0x01;
        expect_rejected(img, len, -EINVAL);
        img[i] ^= 0x01;
    }
    free(img);
}

static void test_deserialize_any_flipped_header_bit_is_rejected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = small_valid_image(&len);
    for (size_t i = 0; i < HDR_LEN; i++)
        for (unsigned bit = 0; bit < 8; bit++) {
            img[i] ^= (uint8_t)(1u << bit);
            expect_rejected(img, len, -EINVAL);
            img[i] ^= (uint8_t)(1u << bit);
        }
    free(img);
}

static void test_deserialize_any_flipped_body_byte_is_rejected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = small_valid_image(&len);
    for (size_t i = HDR_LEN; i < len; i++) {
        img[i] ^= 0x80;
        expect_rejected(img, len, -EINVAL);
        img[i] ^= 0x80;
    }
    free(img);
}

static void test_deserialize_newer_version_message_names_versions(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = small_valid_image(&len);
    scsi_put_be32(img + OFF_VERSION, 7);
    fix_crcs(img, len);
    struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    assert_int_equal(pr_sim_deserialize(lun, img, len, msg, sizeof(msg)), -EPROTONOSUPPORT);
    assert_non_null(strstr(msg, "7"));
    free(img);
    pr_sim_lun_free(lun);
}

static void test_deserialize_truncated_at_every_length_is_rejected(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    size_t len;
    uint8_t *img = serialize(src, &len);
    for (size_t n = 0; n < len; n++)
        expect_rejected(img, n, -EINVAL);
    free(img);
    pr_sim_lun_free(src);
}

static void test_deserialize_truncated_with_consistent_header_is_rejected(void **state)
{
    (void)state;
    /* Cut inside the last registration, header rewritten to match. */
    size_t len;
    uint8_t *img = small_valid_image(&len);
    for (size_t cut = 1; cut < REG_LEN + 28; cut++) {
        size_t n = len - cut;
        if (n < HDR_LEN + RES_LEN)
            break;
        uint8_t *c = dup_bytes(img, n);
        scsi_put_be32(c + OFF_BODY_LEN, (uint32_t)(n - HDR_LEN));
        fix_crcs(c, n);
        expect_rejected(c, n, -EINVAL);
        free(c);
    }
    free(img);
}

static void test_deserialize_trailing_bytes_are_rejected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = small_valid_image(&len);
    for (size_t extra = 1; extra <= 24; extra++) {
        uint8_t *c = calloc(1, len + extra);
        assert_non_null(c);
        memcpy(c, img, len);
        /* As appended to the file: */
        expect_rejected(c, len + extra, -EINVAL);
        /* And with a header that claims them: */
        scsi_put_be32(c + OFF_BODY_LEN, (uint32_t)(len + extra - HDR_LEN));
        fix_crcs(c, len + extra);
        expect_rejected(c, len + extra, -EINVAL);
        free(c);
    }
    free(img);
}

static void test_deserialize_duplicate_nexus_is_rejected(void **state)
{
    (void)state;
    struct pr_sim_nexus a = th_nexus('A', 1);
    struct img_reg regs[2] = { img_reg_of(K1, &a, false), img_reg_of(K2, &a, false) };
    size_t len;
    uint8_t *img = build_image(1, IMG_FLAG_APTPL, PR_TYPE_NONE, 0, NO_HOLDER, regs, 2, &len);
    expect_rejected(img, len, -EINVAL);
    free(img);
}

static void test_deserialize_duplicate_nexus_spelled_differently_is_rejected(void **state)
{
    (void)state;
    /* Same port, ISID in upper case in the second record. */
    struct pr_sim_nexus a = th_nexus('A', 1);
    struct img_reg regs[2] = { img_reg_of(K1, &a, false), img_reg_of(K2, &a, false) };
    char *text = (char *)regs[1].tid + 4;
    char *isid = strstr(text, ",i,0x");
    assert_non_null(isid);
    for (char *p = isid + 5; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_not_equal(memcmp(regs[0].tid, regs[1].tid, regs[0].tid_len), 0);
    size_t len;
    uint8_t *img = build_image(1, IMG_FLAG_APTPL, PR_TYPE_NONE, 0, NO_HOLDER, regs, 2, &len);
    expect_rejected(img, len, -EINVAL);
    free(img);
}

static void test_deserialize_same_initiator_on_two_ports_is_not_a_duplicate(void **state)
{
    (void)state;
    struct pr_sim_nexus a1 = th_nexus('A', 1), a2 = th_nexus('A', 2);
    struct img_reg regs[2] = { img_reg_of(K1, &a1, true), img_reg_of(K1, &a2, true) };
    size_t len;
    uint8_t *img = build_image(1, IMG_FLAG_APTPL, PR_TYPE_NONE, 0, NO_HOLDER, regs, 2, &len);
    struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(lun, img, len, NULL, 0), 0);
    assert_int_equal(pr_sim_registration_count(lun), 2);
    free(img);
    pr_sim_lun_free(lun);
}

/* ---- corruption: one row per field a loader must not trust ---------------- */

/*
 * A spoilt image and what pr_sim_deserialize must answer: -EINVAL (or
 * -EPROTONOSUPPORT for a newer version), a message, and an untouched LUN.
 * The images are the small valid one (A@1 K1 holder of WE, B@2 K2) with
 * one header field rewritten and the CRCs made consistent again, or
 * hand-built with one reservation or registration field out of range.
 */
struct image_rule {
    struct th_rule_id id;
    uint8_t *(*make)(const struct image_rule *r, size_t *len);
    size_t field;       /* with_header_field: offset of the be32 field */
    uint32_t value;     /* its value */
    int32_t delta;      /* with_body_length_delta */
    uint8_t type;       /* with_reservation: the reservation record */
    uint8_t scope;
    uint32_t holder;
    size_t nregs;       /* 0 or 2 registrations (A@1 K1, B@2 K2) */
    bool no_aptpl;      /* image flags 0 */
    uint64_t key;       /* with_registration: A@1's record */
    bool rtpi_0;
    uint8_t reg_flags;
    uint8_t tid_protocol; /* 0: as built */
    size_t tid_len;       /* 0: as built */
    bool tid_len_0;
    int want;
};

static uint8_t *with_header_field(const struct image_rule *r, size_t *len)
{
    uint8_t *img = small_valid_image(len);
    scsi_put_be32(img + r->field, r->value);
    fix_crcs(img, *len);
    return img;
}

static uint8_t *with_body_length_delta(const struct image_rule *r, size_t *len)
{
    uint8_t *img = small_valid_image(len);
    uint32_t body = scsi_get_be32(img + OFF_BODY_LEN);
    scsi_put_be32(img + OFF_BODY_LEN, (uint32_t)((int64_t)body + r->delta));
    fix_crcs(img, *len);
    return img;
}

/* A wrong body CRC under a header CRC that covers it. */
static uint8_t *with_body_crc_flipped(const struct image_rule *r, size_t *len)
{
    uint8_t *img = small_valid_image(len);
    scsi_put_be32(img + OFF_BODY_CRC, scsi_get_be32(img + OFF_BODY_CRC) ^ r->value);
    scsi_put_be32(img + OFF_HDR_CRC, crc32_ref(img, OFF_HDR_CRC));
    return img;
}

static uint8_t *with_reservation(const struct image_rule *r, size_t *len)
{
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    struct img_reg regs[2] = { img_reg_of(K1, &a, false), img_reg_of(K2, &b, false) };
    return build_image(1, r->no_aptpl ? 0 : IMG_FLAG_APTPL, r->type, r->scope, r->holder, regs,
                       r->nregs, len);
}

/* One registration record (no reservation), one field spoilt. */
static uint8_t *with_registration(const struct image_rule *r, size_t *len)
{
    struct pr_sim_nexus a = th_nexus('A', 1);
    struct pr_sim_nexus s = sas_nexus(0x5000c50000000001ull, 4);
    struct img_reg reg = img_reg_of(r->key, r->tid_protocol || r->tid_len || r->tid_len_0 ? &s : &a, false);
    if (r->rtpi_0)
        reg.rtpi = 0;
    reg.flags = r->reg_flags;
    if (r->tid_protocol)
        reg.tid[0] = r->tid_protocol;
    if (r->tid_len || r->tid_len_0)
        reg.tid_len = r->tid_len;
    return build_image(1, IMG_FLAG_APTPL, PR_TYPE_NONE, 0, NO_HOLDER, &reg, 1, len);
}

#define HEADER(f, v) .make = with_header_field, .field = (f), .value = (v)
#define BODY_LENGTH(d) .make = with_body_length_delta, .delta = (d)
#define RESERVATION_RECORD(t, s, h) .make = with_reservation, .type = (t), .scope = (s), \
                                    .holder = (h), .nregs = 2
#define REGISTRATION_RECORD .make = with_registration, .key = K1
#define IMG "image format (sim/persist.c)"

static const struct image_rule image_rules[] = {
    { { "version_0_is_rejected", IMG }, HEADER(OFF_VERSION, 0), .want = -EINVAL },
    { { "newer_version_2_is_eprotonosupport", IMG }, HEADER(OFF_VERSION, 2), .want = -EPROTONOSUPPORT },
    { { "newer_version_3_is_eprotonosupport", IMG }, HEADER(OFF_VERSION, 3), .want = -EPROTONOSUPPORT },
    { { "newer_version_100h_is_eprotonosupport", IMG }, HEADER(OFF_VERSION, 0x100), .want = -EPROTONOSUPPORT },
    { { "newer_version_ffffffffh_is_eprotonosupport", IMG }, HEADER(OFF_VERSION, 0xffffffffu), .want = -EPROTONOSUPPORT },
    { { "unknown_flag_2_is_rejected", IMG }, HEADER(OFF_FLAGS, 0x2), .want = -EINVAL },
    { { "unknown_flag_3_is_rejected", IMG }, HEADER(OFF_FLAGS, 0x3), .want = -EINVAL },
    { { "unknown_flag_80000001h_is_rejected", IMG }, HEADER(OFF_FLAGS, 0x80000001u), .want = -EINVAL },
    { { "unknown_flags_ffffffffh_are_rejected", IMG }, HEADER(OFF_FLAGS, 0xffffffffu), .want = -EINVAL },
    /* SPC-4 5.14.5: without APTPL nothing is kept, so nothing may be loaded. */
    { { "registrations_without_aptpl_flag_are_rejected", "SPC-4 5.14.5" }, HEADER(OFF_FLAGS, 0), .want = -EINVAL },
    { { "reservation_without_aptpl_flag_is_rejected", "SPC-4 5.14.5" },
      .make = with_reservation, .type = PR_TYPE_WE, .holder = 0, .no_aptpl = true, .want = -EINVAL },
    { { "body_crc_mismatch_is_rejected", IMG }, .make = with_body_crc_flipped, .value = 0x00010000u, .want = -EINVAL },
    { { "body_length_one_short_is_rejected", IMG }, BODY_LENGTH(-1), .want = -EINVAL },
    { { "body_length_one_long_is_rejected", IMG }, BODY_LENGTH(1), .want = -EINVAL },
    { { "body_length_a_record_short_is_rejected", IMG }, BODY_LENGTH(-16), .want = -EINVAL },
    { { "body_length_4096_long_is_rejected", IMG }, BODY_LENGTH(4096), .want = -EINVAL },
    { { "registration_count_3_of_2_is_rejected", IMG }, HEADER(OFF_REG_COUNT, 3), .want = -EINVAL },
    { { "registration_count_4_of_2_is_rejected", IMG }, HEADER(OFF_REG_COUNT, 4), .want = -EINVAL },
    { { "registration_count_ffffffffh_is_rejected", IMG }, HEADER(OFF_REG_COUNT, 0xffffffffu), .want = -EINVAL },
    /* One registration too few leaves a record unread: trailing bytes. */
    { { "registration_count_1_of_2_is_rejected", IMG }, HEADER(OFF_REG_COUNT, 1), .want = -EINVAL },
    /* Count 0 with a holder also makes the reservation invalid. */
    { { "registration_count_0_of_2_is_rejected", IMG }, HEADER(OFF_REG_COUNT, 0), .want = -EINVAL },
    { { "holder_index_2_of_2_is_rejected", IMG }, RESERVATION_RECORD(PR_TYPE_WE, 0, 2), .want = -EINVAL },
    { { "holder_index_3_of_2_is_rejected", IMG }, RESERVATION_RECORD(PR_TYPE_WE, 0, 3), .want = -EINVAL },
    { { "holder_index_7fffffffh_is_rejected", IMG }, RESERVATION_RECORD(PR_TYPE_WE, 0, 0x7fffffffu), .want = -EINVAL },
    { { "holder_index_fffffffeh_is_rejected", IMG }, RESERVATION_RECORD(PR_TYPE_WE, 0, 0xfffffffeu), .want = -EINVAL },
    { { "holder_without_registrations_is_rejected", IMG },
      .make = with_reservation, .type = PR_TYPE_EA, .holder = 0, .want = -EINVAL },
    /* SPC-4 6.15.3.4 table 171: only types 1, 3, 5, 6, 7, 8 exist; scope is LU_SCOPE (0h) only. */
    { { "type_2_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(0x2, 0, 0), .want = -EINVAL },
    { { "type_4_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(0x4, 0, 0), .want = -EINVAL },
    { { "type_9_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(0x9, 0, 0), .want = -EINVAL },
    { { "type_ah_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(0xa, 0, 0), .want = -EINVAL },
    { { "type_fh_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(0xf, 0, 0), .want = -EINVAL },
    { { "type_10h_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(0x10, 0, 0), .want = -EINVAL },
    { { "type_11h_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(0x11, 0, 0), .want = -EINVAL },
    { { "type_ffh_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(0xff, 0, 0), .want = -EINVAL },
    { { "holder_without_type_is_rejected", IMG }, RESERVATION_RECORD(PR_TYPE_NONE, 0, 1), .want = -EINVAL },
    { { "type_without_holder_is_rejected", IMG }, RESERVATION_RECORD(PR_TYPE_EA_RO, 0, NO_HOLDER), .want = -EINVAL },
    { { "scope_1_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(PR_TYPE_WE, 1, 0), .want = -EINVAL },
    { { "scope_2_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(PR_TYPE_WE, 2, 0), .want = -EINVAL },
    { { "scope_fh_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(PR_TYPE_WE, 0xf, 0), .want = -EINVAL },
    { { "scope_ffh_is_rejected", "SPC-4 6.15.3.4" }, RESERVATION_RECORD(PR_TYPE_WE, 0xff, 0), .want = -EINVAL },
    /* SPC-4 5.14.7: a registration has a non-zero key. */
    { { "zero_key_is_rejected", "SPC-4 5.14.7" }, .make = with_registration, .key = 0, .want = -EINVAL },
    /* SPC-4 7.7.3.7: relative target port identifier 0 is reserved. */
    { { "rtpi_0_is_rejected", "SPC-4 7.7.3.7" }, REGISTRATION_RECORD, .rtpi_0 = true, .want = -EINVAL },
    { { "registration_flag_2_is_rejected", IMG }, REGISTRATION_RECORD, .reg_flags = 0x2, .want = -EINVAL },
    { { "registration_flags_3_are_rejected", IMG }, REGISTRATION_RECORD, .reg_flags = 0x3, .want = -EINVAL },
    { { "registration_flag_80h_is_rejected", IMG }, REGISTRATION_RECORD, .reg_flags = 0x80, .want = -EINVAL },
    /* SPC-4 7.6.4: TransportIDs of the supported protocols, whole. */
    { { "transport_id_of_ssa_is_rejected", "SPC-4 7.6.4" }, REGISTRATION_RECORD, .tid_protocol = 0x02, .want = -EINVAL },
    { { "transport_id_length_0_is_rejected", "SPC-4 7.6.4" }, REGISTRATION_RECORD, .tid_len_0 = true, .want = -EINVAL },
    { { "transport_id_recorded_longer_than_it_is_rejected", "SPC-4 7.6.4" }, REGISTRATION_RECORD, .tid_len = 28, .want = -EINVAL },
    { { "transport_id_recorded_shorter_than_it_is_rejected", "SPC-4 7.6.4" }, REGISTRATION_RECORD, .tid_len = 20, .want = -EINVAL },
};

static void test_image_rule(void **state)
{
    const struct image_rule *r = *state;
    size_t len;
    uint8_t *img = r->make(r, &len);
    expect_rejected_at(img, len, r->want, r->id.name, 0);
    free(img);
}

static void test_deserialize_null_image_is_rejected(void **state)
{
    (void)state;
    expect_rejected_at(NULL, 0, -EINVAL, __FILE__, __LINE__);
    struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[64] = "";
    assert_int_equal(pr_sim_deserialize(lun, NULL, 100, msg, sizeof(msg)), -EINVAL);
    assert_true(msg[0] != '\0');
    pr_sim_lun_free(lun);
}

static void test_deserialize_without_message_buffer_still_fails_cleanly(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = small_valid_image(&len);
    img[0] ^= 1;
    struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
    assert_int_equal(pr_sim_deserialize(lun, img, len, NULL, 0), -EINVAL);
    char one[1] = { 'x' };
    assert_int_equal(pr_sim_deserialize(lun, img, len, one, sizeof(one)), -EINVAL);
    assert_int_equal(one[0], '\0');
    assert_int_equal(pr_sim_registration_count(lun), 0);
    free(img);
    pr_sim_lun_free(lun);
}

/* ========================================================================= */
/* power cycle                                                                */
/* ========================================================================= */

static void test_power_cycle_with_aptpl_keeps_registrations_and_reservation(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(lun, &x);
    struct snap before = take_snap(lun, NULL, 0);
    pr_sim_power_cycle(lun);
    struct snap after = take_snap(lun, NULL, 0);
    before.generation = 0;
    assert_snap_equal(&before, &after);
    assert_true(pr_sim_aptpl_active(lun));
    pr_sim_lun_free(lun);
}

static void test_power_cycle_with_aptpl_matches_reload_of_image(void **state)
{
    (void)state;
    struct rich x = rich_nexuses();
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(lun, &x);
    size_t len, len2;
    uint8_t *img = serialize(lun, &len);
    pr_sim_power_cycle(lun);
    uint8_t *img2 = serialize(lun, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(img, img2, len);
    free(img);
    free(img2);
    pr_sim_lun_free(lun);
}

static void test_power_cycle_without_aptpl_drops_registrations_and_reservation(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register(lun, &a, 0, K1));
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_ALL_TG_PT));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    pr_sim_power_cycle(lun);
    assert_int_equal(pr_sim_registration_count(lun), 0);
    assert_int_equal(pr_sim_reservation_type(lun), PR_TYPE_NONE);
    assert_false(pr_sim_aptpl_active(lun));
    th_clear_ua(lun, &b);
    th_expect_no_keys(lun, &b, 0);
    th_expect_no_reservation(lun, &b);
    pr_sim_lun_free(lun);
}

static void test_power_cycle_after_aptpl_turned_off_drops_state(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &a, K1, K2, 0)); /* last APTPL = 0 */
    assert_false(pr_sim_aptpl_active(lun));
    pr_sim_power_cycle(lun);
    assert_int_equal(pr_sim_registration_count(lun), 0);
    pr_sim_lun_free(lun);
}

static void test_power_cycle_resets_generation_with_and_without_aptpl(void **state)
{
    (void)state;
    for (int aptpl = 0; aptpl < 2; aptpl++) {
        struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
        struct pr_sim_nexus a = th_nexus('A', 1);
        uint8_t f = aptpl ? PR_OUT_FLAG_APTPL : 0;
        assert_good(th_register_flags(lun, &a, 0, K1, f));
        assert_good(th_register_flags(lun, &a, K1, K2, f));
        assert_good(th_register_flags(lun, &a, K2, K3, f));
        assert_int_equal(pr_sim_generation(lun), 3);
        pr_sim_power_cycle(lun);
        assert_int_equal(pr_sim_generation(lun), 0);
        th_clear_ua(lun, &a);
        struct th_keys k = th_read_keys(lun, &a);
        assert_int_equal(k.generation, 0);
        assert_int_equal(k.count, aptpl ? 1 : 0);
        pr_sim_lun_free(lun);
    }
}

static void test_power_cycle_queues_power_on_reset_for_every_known_nexus(void **state)
{
    (void)state;
    static const uint8_t tur[6] = { 0 };
    for (int aptpl = 0; aptpl < 2; aptpl++) {
        struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2), c = th_nexus('C', 1);
        uint8_t f = aptpl ? PR_OUT_FLAG_APTPL : 0;
        assert_good(th_register_flags(lun, &a, 0, K1, f));
        assert_good(th_register_flags(lun, &b, 0, K2, f));
        assert_good(th_cmd(lun, &c, tur, sizeof(tur))); /* known, unregistered */
        pr_sim_power_cycle(lun);
        const struct pr_sim_nexus *all[3] = { &a, &b, &c };
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(pr_sim_pending_ua_count(lun, all[i]), 1);
            th_expect_ua(lun, all[i], SENSE_UA_POWER_ON_RESET);
        }
        pr_sim_lun_free(lun);
    }
}

static void test_power_cycle_replaces_older_unit_attentions(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_int_equal(pr_sim_queue_ua(lun, &a, SENSE_UA_RESERVATIONS_PREEMPTED), 0);
    assert_int_equal(pr_sim_queue_ua(lun, &a, SENSE_UA_REGISTRATIONS_PREEMPTED), 0);
    pr_sim_power_cycle(lun);
    assert_int_equal(pr_sim_pending_ua_count(lun, &a), 1);
    th_expect_ua(lun, &a, SENSE_UA_POWER_ON_RESET);
    pr_sim_lun_free(lun);
}

static void test_power_cycle_twice_queues_power_on_reset_once(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    pr_sim_power_cycle(lun);
    pr_sim_power_cycle(lun);
    assert_int_equal(pr_sim_pending_ua_count(lun, &a), 1);
    th_expect_ua(lun, &a, SENSE_UA_POWER_ON_RESET);
    th_expect_no_ua(lun, &a);
    pr_sim_lun_free(lun);
}

static void test_power_cycle_does_not_call_persist_hook(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    int calls = rec.calls;
    pr_sim_power_cycle(lun);
    assert_int_equal(rec.calls, calls);
    free(rec.last);
    pr_sim_lun_free(lun);
}

/* ========================================================================= */
/* the persist hook                                                           */
/* ========================================================================= */

static void test_persist_hook_called_on_register_with_aptpl(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_int_equal(rec.calls, 1);
    struct pr_sim_lun *img = load_last(&rec);
    assert_true(pr_sim_aptpl_active(img));
    assert_int_equal(pr_sim_registration_count(img), 1);
    struct pr_sim_registration_view v;
    assert_true(pr_sim_registration_at(img, 0, &v));
    assert_true(v.key == K1);
    assert_true(pr_tid_equal(&v.nexus.initiator, &a.initiator));
    pr_sim_lun_free(img);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_image_equals_serialize_after_command(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &b, K2, PR_TYPE_EA_RO));
    size_t len;
    uint8_t *img = serialize(lun, &len);
    assert_int_equal(rec.last_len, len);
    assert_memory_equal(rec.last, img, len);
    free(img);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_called_on_key_change_and_register_ignore_with_aptpl(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &a, K1, K2, PR_OUT_FLAG_APTPL));
    assert_int_equal(rec.calls, 2);
    assert_good(th_prout(lun, &a, PR_OUT_REGISTER_AND_IGNORE, 0, 0, K3, PR_OUT_FLAG_APTPL));
    assert_int_equal(rec.calls, 3);
    struct pr_sim_lun *img = load_last(&rec);
    struct pr_sim_registration_view v;
    assert_true(pr_sim_registration_at(img, 0, &v));
    assert_true(v.key == K3);
    pr_sim_lun_free(img);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_called_on_reserve_while_aptpl_active(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE_AR));
    assert_int_equal(rec.calls, 2);
    struct pr_sim_lun *img = load_last(&rec);
    assert_int_equal(pr_sim_reservation_type(img), PR_TYPE_WE_AR);
    pr_sim_lun_free(img);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_called_on_release_while_aptpl_active(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    assert_good(th_release(lun, &a, K1, PR_TYPE_EA));
    assert_int_equal(rec.calls, 3);
    struct pr_sim_lun *img = load_last(&rec);
    assert_int_equal(pr_sim_reservation_type(img), PR_TYPE_NONE);
    assert_int_equal(pr_sim_registration_count(img), 1);
    pr_sim_lun_free(img);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_called_on_preempt_while_aptpl_active(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    assert_good(th_preempt(lun, &b, K2, K1, PR_TYPE_EA, false));
    assert_int_equal(rec.calls, 4);
    struct pr_sim_lun *img = load_last(&rec);
    assert_int_equal(pr_sim_registration_count(img), 1);
    assert_int_equal(pr_sim_reservation_type(img), PR_TYPE_EA);
    pr_sim_lun_free(img);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_clear_spc4_writes_empty_image_keeping_aptpl(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_clear(lun, &a, K1));
    assert_int_equal(rec.calls, 2);
    assert_true(pr_sim_aptpl_active(lun)); /* D16 off: APTPL untouched */
    struct pr_sim_lun *img = load_last(&rec);
    assert_int_equal(pr_sim_registration_count(img), 0);
    assert_true(pr_sim_aptpl_active(img));
    pr_sim_lun_free(img);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_clear_lio_writes_stub_with_aptpl_off(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_LIO, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_clear(lun, &a, K1));
    assert_int_equal(rec.calls, 2);
    assert_false(pr_sim_aptpl_active(lun)); /* D16 */
    assert_int_equal(rec.last_len, HDR_LEN + RES_LEN);
    assert_int_equal(scsi_get_be32(rec.last + OFF_FLAGS), 0);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_turning_aptpl_off_writes_image_without_registrations(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
    int calls = rec.calls;
    assert_good(th_register_flags(lun, &b, K2, K3, 0)); /* APTPL bit 0 */
    assert_int_equal(rec.calls, calls + 1);
    assert_false(pr_sim_aptpl_active(lun));
    assert_int_equal(pr_sim_registration_count(lun), 2); /* memory keeps them */
    assert_int_equal(rec.last_len, HDR_LEN + RES_LEN);
    assert_int_equal(scsi_get_be32(rec.last + OFF_FLAGS), 0);
    assert_int_equal(scsi_get_be32(rec.last + OFF_REG_COUNT), 0);
    struct pr_sim_lun *img = load_last(&rec);
    assert_int_equal(pr_sim_registration_count(img), 0);
    assert_int_equal(pr_sim_reservation_type(img), PR_TYPE_NONE);
    assert_false(pr_sim_aptpl_active(img));
    pr_sim_lun_free(img);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_not_called_after_aptpl_turned_off(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &a, K1, K2, 0));
    int calls = rec.calls;
    assert_good(th_reserve(lun, &a, K2, PR_TYPE_WE));
    assert_good(th_release(lun, &a, K2, PR_TYPE_WE));
    assert_good(th_register(lun, &a, K2, K3));
    assert_int_equal(rec.calls, calls);
    free(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_not_called_when_aptpl_never_on(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
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
    assert_int_equal(rec.calls, 0);
    assert_null(rec.last);
    pr_sim_lun_free(lun);
}

static void test_persist_hook_not_called_for_failed_or_unchanging_commands(void **state)
{
    (void)state;
    struct recorder rec = { 0, 0, NULL, 0 };
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &a, K1, PR_TYPE_WE));
    int calls = rec.calls;
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
    assert_int_equal(rec.calls, calls);
    free(rec.last);
    pr_sim_lun_free(lun);
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
    f->lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &f->rec);
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
        struct snap before = take_snap(f.lun, f.watch, 4);
        int calls = f.rec.calls;
        struct pr_sim_result r = cmd(&f);
        assert_check(r, SENSE_INTERNAL_TARGET_FAILURE);
        assert_int_equal(f.rec.calls, calls + 1);
        struct snap after = take_snap(f.lun, f.watch, 4);
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
        struct recorder rec = { 0, 0, NULL, 0 };
        struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
        struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
        assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
        assert_good(th_register_flags(lun, &b, 0, K2, PR_OUT_FLAG_APTPL));
        struct pr_sim_nexus watch[2] = { a, b };
        struct snap before = take_snap(lun, watch, 2);
        rec.rc = persist_errors[e];
        assert_check(th_reserve(lun, &a, K1, PR_TYPE_EA), SENSE_INTERNAL_TARGET_FAILURE);
        struct snap after = take_snap(lun, watch, 2);
        assert_snap_equal(&before, &after);
        /* No reservation: B may write. */
        assert_good(th_write10(lun, &b));
        rec.rc = 0;
        assert_good(th_reserve(lun, &a, K1, PR_TYPE_EA));
        assert_conflict(th_write10(lun, &b));
        free(rec.last);
        pr_sim_lun_free(lun);
    }
}

static void test_failing_persist_when_turning_aptpl_on_leaves_lun_empty(void **state)
{
    (void)state;
    for (size_t e = 0; e < sizeof(persist_errors) / sizeof(persist_errors[0]); e++) {
        struct recorder rec = { 0, persist_errors[e], NULL, 0 };
        struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, record_persist, &rec);
        struct pr_sim_nexus a = th_nexus('A', 1);
        assert_check(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL | PR_OUT_FLAG_ALL_TG_PT),
                     SENSE_INTERNAL_TARGET_FAILURE);
        assert_int_equal(rec.calls, 1);
        assert_int_equal(pr_sim_registration_count(lun), 0);
        assert_false(pr_sim_aptpl_active(lun));
        assert_int_equal(pr_sim_generation(lun), 0);
        th_expect_no_keys(lun, &a, 0);
        free(rec.last);
        pr_sim_lun_free(lun);
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

/* ========================================================================= */
/* the file store                                                             */
/* ========================================================================= */

struct tmpdir {
    char path[64];
};

static int tmpdir_setup(void **state)
{
    struct tmpdir *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -1;
    snprintf(t->path, sizeof(t->path), "/tmp/prh-persist-XXXXXX");
    if (mkdtemp(t->path) == NULL) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

/* Remove dir and what the tests put in it (files, one level of dirs). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[4096];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                remove_tree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int tmpdir_teardown(void **state)
{
    struct tmpdir *t = *state;
    remove_tree(t->path);
    free(t);
    return 0;
}

static const char *dir_of(void **state)
{
    return ((struct tmpdir *)*state)->path;
}

/* Names in dir (sorted is not needed: tests check count and membership). */
static size_t dir_entries(const char *dir, char names[][256], size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < max)
            snprintf(names[n], 256, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (len)
        assert_int_equal(fwrite(p, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void state_path(void **state, const char *name, char *buf, size_t len)
{
    assert_int_equal(pr_sim_store_path(dir_of(state), name, buf, len), 0);
}

static void test_store_save_then_load_restores_state(void **state)
{
    struct rich x = rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    make_rich(src, &x);
    size_t len;
    uint8_t *img = serialize(src, &len);
    assert_int_equal(pr_sim_store_save(dir_of(state), "lun0", img, len), 0);

    struct pr_sim_lun *dst = bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[512] = "";
    int rc = pr_sim_store_load(dir_of(state), "lun0", dst, msg, sizeof(msg));
    if (rc != 0)
        fail_msg("load failed: %d %s", rc, msg);
    struct snap a = take_snap(src, NULL, 0), b = take_snap(dst, NULL, 0);
    a.generation = 0;
    assert_snap_equal(&a, &b);
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_store_save_writes_the_image_bytes_exactly(void **state)
{
    size_t len;
    uint8_t *img = small_valid_image(&len);
    assert_int_equal(pr_sim_store_save(dir_of(state), "lun0", img, len), 0);
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    size_t flen;
    uint8_t *file = read_file(path, &flen);
    assert_int_equal(flen, len);
    assert_memory_equal(file, img, len);
    free(file);
    free(img);
}

static void test_store_save_overwrites_previous_state(void **state)
{
    size_t len1, len2;
    uint8_t *img1 = small_valid_image(&len1);
    struct pr_sim_lun *empty = th_lun(PR_SIM_PROFILE_SPC4);
    uint8_t *img2 = serialize(empty, &len2);
    assert_int_equal(pr_sim_store_save(dir_of(state), "lun0", img1, len1), 0);
    assert_int_equal(pr_sim_store_save(dir_of(state), "lun0", img2, len2), 0);
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    size_t flen;
    uint8_t *file = read_file(path, &flen);
    assert_int_equal(flen, len2);
    assert_memory_equal(file, img2, len2);
    free(file);
    free(img1);
    free(img2);
    pr_sim_lun_free(empty);
}

static void test_store_save_leaves_no_temp_files(void **state)
{
    size_t len;
    uint8_t *img = small_valid_image(&len);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pr_sim_store_save(dir_of(state), "lun0", img, len), 0);
        assert_int_equal(pr_sim_store_save(dir_of(state), "lun1", img, len), 0);
    }
    char names[8][256];
    size_t n = dir_entries(dir_of(state), names, 8);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], "lun0.prstate") != 0 && strcmp(names[i], "lun1.prstate") != 0)
            fail_msg("unexpected file '%s' left in the state directory", names[i]);
    free(img);
}

static void test_store_failed_save_leaves_no_temp_files(void **state)
{
    /* The state file's place is taken by a directory: rename fails. */
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
    char inner[4200];
    snprintf(inner, sizeof(inner), "%s/keep", path);
    write_file(inner, (const uint8_t *)"x", 1);
    size_t len;
    uint8_t *img = small_valid_image(&len);
    int rc = pr_sim_store_save(dir_of(state), "lun0", img, len);
    assert_true(rc < 0);
    char names[8][256];
    size_t n = dir_entries(dir_of(state), names, 8);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "lun0.prstate");
    free(img);
}

static void test_store_save_file_is_private(void **state)
{
    size_t len;
    uint8_t *img = small_valid_image(&len);
    assert_int_equal(pr_sim_store_save(dir_of(state), "lun0", img, len), 0);
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    /* Not readable or writable by group or others (LIO writes 0600). */
    assert_int_equal(sb.st_mode & 077, 0);
    free(img);
}

static void test_store_load_missing_file_is_empty_lun(void **state)
{
    struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    assert_int_equal(pr_sim_store_load(dir_of(state), "nosuch", lun, msg, sizeof(msg)), 0);
    assert_int_equal(pr_sim_registration_count(lun), 0);
    assert_int_equal(pr_sim_reservation_type(lun), PR_TYPE_NONE);
    assert_false(pr_sim_aptpl_active(lun));
    assert_int_equal(pr_sim_generation(lun), 0);
    char names[4][256];
    assert_int_equal(dir_entries(dir_of(state), names, 4), 0); /* nothing created */
    pr_sim_lun_free(lun);
}

/* Load must fail with want_rc, name the file, leave it and the LUN as
 * they were. */
static void expect_load_rejected(void **state, const char *name, int want_rc)
{
    char path[4096];
    state_path(state, name, path, sizeof(path));
    struct stat sb0;
    assert_int_equal(stat(path, &sb0), 0);
    size_t len0 = 0;
    uint8_t *before = S_ISREG(sb0.st_mode) && sb0.st_size < (1 << 20) ? read_file(path, &len0)
                                                                       : NULL;
    struct pr_sim_nexus watch[2];
    struct pr_sim_lun *lun = make_target(watch);
    struct snap s0 = take_snap(lun, watch, 2);
    char msg[8192];
    memset(msg, 0, sizeof(msg));
    int rc = pr_sim_store_load(dir_of(state), name, lun, msg, sizeof(msg));
    if (rc != want_rc)
        fail_msg("pr_sim_store_load returned %d (%s), want %d", rc, msg, want_rc);
    if (strstr(msg, path) == NULL)
        fail_msg("message '%s' does not name %s", msg, path);
    struct snap s1 = take_snap(lun, watch, 2);
    assert_snap_equal(&s0, &s1);
    struct stat sb1;
    assert_int_equal(stat(path, &sb1), 0);
    assert_int_equal(sb1.st_size, sb0.st_size);
    assert_int_equal(sb1.st_mode, sb0.st_mode);
    assert_int_equal(sb1.st_ino, sb0.st_ino);
    if (before != NULL) {
        size_t len1;
        uint8_t *after = read_file(path, &len1);
        assert_int_equal(len1, len0);
        if (len0)
            assert_memory_equal(after, before, len0);
        free(after);
        free(before);
    }
    pr_sim_lun_free(lun);
}

static void test_store_load_corrupt_file_names_file_and_leaves_it_unchanged(void **state)
{
    size_t len;
    uint8_t *img = small_valid_image(&len);
    img[len - 1] ^= 0x5a; /* body CRC no longer matches */
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, img, len);
    expect_load_rejected(state, "lun0", -EINVAL);
    char names[4][256];
    assert_int_equal(dir_entries(dir_of(state), names, 4), 1);
    free(img);
}

static void test_store_set_aside_renames_and_never_replaces(void **state)
{
    char path[4096], aside1[4200], aside2[4200];
    char names[4][256];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, (const uint8_t *)"one", 3);
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), "lun0", aside1, sizeof(aside1)), 0);
    assert_non_null(strstr(aside1, "/lun0.prstate.corrupt-"));
    assert_int_equal(access(path, F_OK), -1);
    write_file(path, (const uint8_t *)"two", 3);
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), "lun0", aside2, sizeof(aside2)), 0);
    assert_string_not_equal(aside1, aside2); /* same second: a "-1" suffix, not a replacement */
    size_t len;
    uint8_t *a = read_file(aside1, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(a, "one", 3);
    free(a);
    a = read_file(aside2, &len);
    assert_memory_equal(a, "two", 3);
    free(a);
    assert_int_equal(dir_entries(dir_of(state), names, 4), 2);
}

static void test_store_remove_stale_only_temporary_files_of_the_lun(void **state)
{
    char path[4096], p[4200];
    char names[8][256];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, (const uint8_t *)"state", 5);
    snprintf(p, sizeof(p), "%s.tmpAbC123", path);
    write_file(p, (const uint8_t *)"half", 4);
    snprintf(p, sizeof(p), "%s.tmpXyZ789", path);
    write_file(p, (const uint8_t *)"half", 4);
    snprintf(p, sizeof(p), "%s.tmpTOOLONG1", path); /* not mkstemp's: kept */
    write_file(p, (const uint8_t *)"x", 1);
    snprintf(p, sizeof(p), "%s/lun1.prstate.tmpAbC123", dir_of(state)); /* another LUN's */
    write_file(p, (const uint8_t *)"x", 1);
    assert_int_equal(pr_sim_store_remove_stale(dir_of(state), "lun0"), 2);
    assert_int_equal(dir_entries(dir_of(state), names, 8), 3);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(pr_sim_store_remove_stale(dir_of(state), "lun0"), 0);
    assert_int_equal(pr_sim_store_remove_stale(dir_of(state), ".x"), -EINVAL);
    assert_int_equal(pr_sim_store_remove_stale("/nonexistent-dir-xyz", "lun0"), -ENOENT);
}

static void test_store_set_aside_errors(void **state)
{
    char out[4200], small[16];
    char path[4096];
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), "lun0", out, sizeof(out)), -ENOENT);
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), ".bad", out, sizeof(out)), -EINVAL);
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, (const uint8_t *)"x", 1);
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), "lun0", small, sizeof(small)),
                     -ENAMETOOLONG);
    assert_int_equal(access(path, F_OK), 0); /* nothing moved */
}

static void test_store_load_truncated_file_is_corrupt(void **state)
{
    size_t len;
    uint8_t *img = small_valid_image(&len);
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, img, len / 2);
    expect_load_rejected(state, "lun0", -EINVAL);
    free(img);
}

static void test_store_load_empty_file_is_corrupt(void **state)
{
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, NULL, 0);
    expect_load_rejected(state, "lun0", -EINVAL);
}

static void test_store_load_newer_version_file_is_eprotonosupport(void **state)
{
    size_t len;
    uint8_t *img = small_valid_image(&len);
    scsi_put_be32(img + OFF_VERSION, 2);
    fix_crcs(img, len);
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, img, len);
    expect_load_rejected(state, "lun0", -EPROTONOSUPPORT);
    free(img);
}

static void test_store_load_oversize_file_is_efbig(void **state)
{
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    /* Sparse: no disk space needed. */
    assert_int_equal(ftruncate(fd, (off_t)PR_SIM_STORE_MAX_FILE + 1), 0);
    assert_int_equal(close(fd), 0);
    expect_load_rejected(state, "lun0", -EFBIG);
}

static void test_store_load_directory_in_place_of_file_is_error(void **state)
{
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
    struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[8192] = "";
    int rc = pr_sim_store_load(dir_of(state), "lun0", lun, msg, sizeof(msg));
    assert_true(rc < 0);
    assert_non_null(strstr(msg, path));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    pr_sim_lun_free(lun);
}

/* A FIFO (or any non-regular file) where the state file belongs: an error
 * naming the file, returned promptly -- opening it must not block. */
static void test_store_load_fifo_in_place_of_file_is_error_without_blocking(void **state)
{
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    assert_int_equal(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
        char msg[8192] = "";
        int rc = pr_sim_store_load(dir_of(state), "lun0", lun, msg, sizeof(msg));
        _exit(rc < 0 && strstr(msg, path) != NULL ? 0 : 1);
    }
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 300 && done == 0; i++) { /* 3 s */
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0)
            usleep(10000);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("pr_sim_store_load blocked on a FIFO at %s", path);
    }
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("pr_sim_store_load did not fail with a message naming %s", path);
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
}

static void test_store_name_valid_accepts_allowed_names(void **state)
{
    (void)state;
    static const char *const ok[] = { "lun0", "a", "A_b-1.2", "iqn.2026-11.test:disk1",
                                      "0", "x.", "a..b" };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!pr_sim_store_name_valid(ok[i]))
            fail_msg("'%s' rejected", ok[i]);
    char longest[PR_SIM_STORE_NAME_MAX + 1];
    memset(longest, 'n', PR_SIM_STORE_NAME_MAX);
    longest[PR_SIM_STORE_NAME_MAX] = '\0';
    assert_true(pr_sim_store_name_valid(longest));
}

static void test_store_name_valid_rejects_invalid_names(void **state)
{
    (void)state;
    static const char *const bad[] = { "", ".", "..", ".hidden", "a/b", "/abs", "../x", "a b",
                                       "lun\n", "lun*", "lün", "a\\b", "x?", "~root" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (pr_sim_store_name_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    char toolong[PR_SIM_STORE_NAME_MAX + 2];
    memset(toolong, 'n', PR_SIM_STORE_NAME_MAX + 1);
    toolong[PR_SIM_STORE_NAME_MAX + 1] = '\0';
    assert_false(pr_sim_store_name_valid(toolong));
}

static void test_store_save_and_load_reject_invalid_names(void **state)
{
    static const char *const bad[] = { "", ".hidden", "a/b", "../escape", "a b" };
    size_t len;
    uint8_t *img = small_valid_image(&len);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pr_sim_store_save(dir_of(state), bad[i], img, len), -EINVAL);
        struct pr_sim_lun *lun = bare_lun(PR_SIM_PROFILE_SPC4);
        char msg[512] = "";
        assert_int_equal(pr_sim_store_load(dir_of(state), bad[i], lun, msg, sizeof(msg)), -EINVAL);
        assert_true(msg[0] != '\0');
        pr_sim_lun_free(lun);
        char path[4096];
        assert_int_equal(pr_sim_store_path(dir_of(state), bad[i], path, sizeof(path)), -EINVAL);
    }
    char names[4][256];
    assert_int_equal(dir_entries(dir_of(state), names, 4), 0);
    /* Nothing escaped into the parent either. */
    struct stat sb;
    assert_int_not_equal(stat("/tmp/escape.prstate", &sb), 0);
    free(img);
}

static void test_store_path_is_dir_slash_name_dot_prstate(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(pr_sim_store_path("/var/lib/prh", "lun0", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/var/lib/prh/lun0.prstate");
}

static void test_store_path_too_long_is_enametoolong(void **state)
{
    (void)state;
    char buf[24];
    /* "/var/lib/prh/lun0.prstate" is 25 characters + NUL. */
    assert_int_equal(pr_sim_store_path("/var/lib/prh", "lun0", buf, sizeof(buf)), -ENAMETOOLONG);
    char exact[26];
    assert_int_equal(pr_sim_store_path("/var/lib/prh", "lun0", exact, sizeof(exact)), 0);
}

static void test_store_save_to_missing_directory_fails(void **state)
{
    char missing[4096];
    snprintf(missing, sizeof(missing), "%s/does-not-exist", dir_of(state));
    size_t len;
    uint8_t *img = small_valid_image(&len);
    int rc = pr_sim_store_save(missing, "lun0", img, len);
    assert_int_equal(rc, -ENOENT);
    struct stat sb;
    assert_int_not_equal(stat(missing, &sb), 0);
    free(img);
}

static void test_store_persist_hook_state_survives_restart(void **state)
{
    struct pr_sim_store_binding *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    snprintf(b->dir, sizeof(b->dir), "%s", dir_of(state));
    snprintf(b->name, sizeof(b->name), "lun7");
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, pr_sim_store_persist, b);
    struct pr_sim_nexus a = th_nexus('A', 1), c = th_nexus('C', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &c, 0, K3, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &c, K3, PR_TYPE_EA_RO));
    struct snap before = take_snap(lun, NULL, 0);
    pr_sim_lun_free(lun); /* power loss */

    struct pr_sim_lun *again = lun_with_config(PR_SIM_PROFILE_SPC4, pr_sim_store_persist, b);
    char msg[512] = "";
    assert_int_equal(pr_sim_store_load(b->dir, b->name, again, msg, sizeof(msg)), 0);
    struct snap after = take_snap(again, NULL, 0);
    before.generation = 0;
    assert_snap_equal(&before, &after);
    char names[4][256];
    assert_int_equal(dir_entries(dir_of(state), names, 4), 1);
    assert_string_equal(names[0], "lun7.prstate");
    pr_sim_lun_free(again);
    free(b);
}

static void test_store_persist_hook_missing_directory_fails_pr_out(void **state)
{
    struct pr_sim_store_binding *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    snprintf(b->dir, sizeof(b->dir), "%s/gone", dir_of(state));
    snprintf(b->name, sizeof(b->name), "lun0");
    struct pr_sim_lun *lun = lun_with_config(PR_SIM_PROFILE_SPC4, pr_sim_store_persist, b);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_check(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL),
                 SENSE_INTERNAL_TARGET_FAILURE);
    assert_int_equal(pr_sim_registration_count(lun), 0);
    assert_false(pr_sim_aptpl_active(lun));
    pr_sim_lun_free(lun);
    free(b);
}

#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_reference_matches_standard_check_value),
        cmocka_unit_test(test_serialize_layout_matches_documented_format),
        cmocka_unit_test(test_round_trip_keeps_registrations_of_every_protocol_in_order),
        cmocka_unit_test(test_round_trip_keeps_all_tg_pt_flag),
        cmocka_unit_test(test_round_trip_keeps_reservation_holder_type_and_scope),
        cmocka_unit_test(test_round_trip_keeps_all_registrants_reservation),
        cmocka_unit_test(test_round_trip_keeps_aptpl_active),
        cmocka_unit_test(test_reserialize_after_load_gives_identical_image),
        cmocka_unit_test(test_loaded_lun_declares_ports_for_all_tg_pt_and_move),
        cmocka_unit_test(test_image_without_aptpl_holds_nothing),
        cmocka_unit_test(test_generation_restarts_at_0_after_load_spc4),
        cmocka_unit_test(test_generation_equals_registration_count_after_load_lio),
        cmocka_unit_test(test_serialize_does_not_change_the_lun),
        cmocka_unit_test(test_deserialize_accepts_hand_built_valid_image),
        cmocka_unit_test(test_deserialize_bad_magic_is_rejected),
        cmocka_unit_test(test_deserialize_header_crc_mismatch_is_rejected),
        cmocka_unit_test(test_deserialize_any_flipped_header_bit_is_rejected),
        cmocka_unit_test(test_deserialize_any_flipped_body_byte_is_rejected),
        cmocka_unit_test(test_deserialize_newer_version_message_names_versions),
        cmocka_unit_test(test_deserialize_truncated_at_every_length_is_rejected),
        cmocka_unit_test(test_deserialize_truncated_with_consistent_header_is_rejected),
        cmocka_unit_test(test_deserialize_trailing_bytes_are_rejected),
        cmocka_unit_test(test_deserialize_duplicate_nexus_is_rejected),
        cmocka_unit_test(test_deserialize_duplicate_nexus_spelled_differently_is_rejected),
        cmocka_unit_test(test_deserialize_same_initiator_on_two_ports_is_not_a_duplicate),
        cmocka_unit_test(test_deserialize_null_image_is_rejected),
        cmocka_unit_test(test_deserialize_without_message_buffer_still_fails_cleanly),
        cmocka_unit_test(test_power_cycle_with_aptpl_keeps_registrations_and_reservation),
        cmocka_unit_test(test_power_cycle_with_aptpl_matches_reload_of_image),
        cmocka_unit_test(test_power_cycle_without_aptpl_drops_registrations_and_reservation),
        cmocka_unit_test(test_power_cycle_after_aptpl_turned_off_drops_state),
        cmocka_unit_test(test_power_cycle_resets_generation_with_and_without_aptpl),
        cmocka_unit_test(test_power_cycle_queues_power_on_reset_for_every_known_nexus),
        cmocka_unit_test(test_power_cycle_replaces_older_unit_attentions),
        cmocka_unit_test(test_power_cycle_twice_queues_power_on_reset_once),
        cmocka_unit_test(test_power_cycle_does_not_call_persist_hook),
        cmocka_unit_test(test_persist_hook_called_on_register_with_aptpl),
        cmocka_unit_test(test_persist_hook_image_equals_serialize_after_command),
        cmocka_unit_test(test_persist_hook_called_on_key_change_and_register_ignore_with_aptpl),
        cmocka_unit_test(test_persist_hook_called_on_reserve_while_aptpl_active),
        cmocka_unit_test(test_persist_hook_called_on_release_while_aptpl_active),
        cmocka_unit_test(test_persist_hook_called_on_preempt_while_aptpl_active),
        cmocka_unit_test(test_persist_hook_clear_spc4_writes_empty_image_keeping_aptpl),
        cmocka_unit_test(test_persist_hook_clear_lio_writes_stub_with_aptpl_off),
        cmocka_unit_test(test_persist_hook_turning_aptpl_off_writes_image_without_registrations),
        cmocka_unit_test(test_persist_hook_not_called_after_aptpl_turned_off),
        cmocka_unit_test(test_persist_hook_not_called_when_aptpl_never_on),
        cmocka_unit_test(test_persist_hook_not_called_for_failed_or_unchanging_commands),
        cmocka_unit_test(test_failing_persist_on_reserve_rolls_back),
        cmocka_unit_test(test_failing_persist_when_turning_aptpl_on_leaves_lun_empty),
        cmocka_unit_test(test_failing_persist_keeps_generation_visible_to_pr_in),
        STORE_TEST(test_store_save_then_load_restores_state),
        STORE_TEST(test_store_save_writes_the_image_bytes_exactly),
        STORE_TEST(test_store_save_overwrites_previous_state),
        STORE_TEST(test_store_save_leaves_no_temp_files),
        STORE_TEST(test_store_failed_save_leaves_no_temp_files),
        STORE_TEST(test_store_save_file_is_private),
        STORE_TEST(test_store_load_missing_file_is_empty_lun),
        STORE_TEST(test_store_load_corrupt_file_names_file_and_leaves_it_unchanged),
        STORE_TEST(test_store_load_truncated_file_is_corrupt),
        STORE_TEST(test_store_set_aside_renames_and_never_replaces),
        STORE_TEST(test_store_set_aside_errors),
        STORE_TEST(test_store_remove_stale_only_temporary_files_of_the_lun),
        STORE_TEST(test_store_load_empty_file_is_corrupt),
        STORE_TEST(test_store_load_newer_version_file_is_eprotonosupport),
        STORE_TEST(test_store_load_oversize_file_is_efbig),
        STORE_TEST(test_store_load_directory_in_place_of_file_is_error),
        STORE_TEST(test_store_load_fifo_in_place_of_file_is_error_without_blocking),
        cmocka_unit_test(test_store_name_valid_accepts_allowed_names),
        cmocka_unit_test(test_store_name_valid_rejects_invalid_names),
        STORE_TEST(test_store_save_and_load_reject_invalid_names),
        cmocka_unit_test(test_store_path_is_dir_slash_name_dot_prstate),
        cmocka_unit_test(test_store_path_too_long_is_enametoolong),
        STORE_TEST(test_store_save_to_missing_directory_fails),
        STORE_TEST(test_store_persist_hook_state_survives_restart),
        STORE_TEST(test_store_persist_hook_missing_directory_fails_pr_out),
    };
    struct th_group g = { NULL, 0, 0 };
    TH_ADD_TABLE(&g, test_image_rule, image_rules);
    TH_ADD_TABLE(&g, test_rollback_rule, rollback_rules);
    th_group_add_tests(&g, tests, sizeof(tests) / sizeof(tests[0]));
    return th_group_run(&g, "pr_sim.persist");
}
