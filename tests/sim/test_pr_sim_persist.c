/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_persist.c - the APTPL state image (SPC-4 5.14.5,
 * pr-semantics.md 7): pr_sim_serialize / pr_sim_deserialize, the table of
 * fields a loader must not trust (image_rules), and power cycles.  The
 * persist hook is tested in test_pr_sim_persist_hook.c, the file store in
 * test_pr_sim_store.c; the image layout is described in sim_image.h.
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

#include "sim_image.h"

#define IMG "image format (sim/persist.c)"

/* ========================================================================= */
/* img_serialize / deserialize                                                    */
/* ========================================================================= */

static void test_crc_reference_matches_standard_check_value(void **state)
{
    (void)state;
    assert_int_equal(img_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

static void test_serialize_layout_matches_documented_format(void **state)
{
    (void)state;
    struct pr_sim_lun *lun = th_lun(PR_SIM_PROFILE_SPC4);
    img_aptpl_pair(lun, 'A', PR_TYPE_WE);
    size_t len;
    uint8_t *img = img_serialize(lun, &len);
    size_t want_len;
    uint8_t *want = img_small_valid(&want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(img, want, len);
    free(img);
    free(want);
    pr_sim_lun_free(lun);
}

/* ---- what an image keeps and what it does not: a table --------------------- */

/*
 * Each row: the starting state (a source), the command (serialize, then
 * load into a bare LUN of the row's profile, or power-cycle the LUN), and
 * the state after it (the row's check).  SPC-4 5.14.5 / pr-semantics 7:
 * the registrations (TransportID, RTPI, key, ALL_TG_PT), the reservation
 * (holder, type, scope) and APTPL survive; PRgeneration and unit
 * attentions do not.
 */
#define APTPL "SPC-4 5.14.5, pr-semantics 7"
#define PRGEN "SPC-4 6.15.2 (PRgeneration restarts at 0)"

/* A LUN with state, its image, and (reload rows) the LUN loaded from it. */
struct reload {
    struct rich x;                  /* the rich source's nexuses */
    struct pr_sim_nexus a, b, c;    /* the small sources' nexuses: A1, B2, C1 */
    struct pr_sim_lun *src, *dst;   /* dst: the loaded LUN (reload rows) */
    uint8_t *img;                   /* src's image before the command */
    size_t len;
    struct snap before;             /* src before the command */
    unsigned keys_kept;             /* the keys a power cycle must keep */
};

/* ---- starting states ---- */

static void src_rich(struct reload *r)
{
    r->x = img_rich_nexuses();
    img_make_rich(r->src, &r->x);
    r->keys_kept = 6;
}

/* A and B registered with APTPL; B holds an All Registrants reservation. */
static void src_all_registrants(struct reload *r)
{
    assert_good(th_register_flags(r->src, &r->a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(r->src, &r->b, 0, K2, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(r->src, &r->b, K2, PR_TYPE_EA_AR));
}

/* A and B registered without APTPL (B with ALL_TG_PT); A holds Exclusive Access. */
static void src_no_aptpl(struct reload *r)
{
    assert_good(th_register(r->src, &r->a, 0, K1));
    assert_good(th_register_flags(r->src, &r->b, 0, K2, PR_OUT_FLAG_ALL_TG_PT));
    assert_good(th_reserve(r->src, &r->a, K1, PR_TYPE_EA));
}

/* A registered with APTPL, then changed its key with APTPL 0 (the last value decides). */
static void src_aptpl_turned_off(struct reload *r)
{
    assert_good(th_register_flags(r->src, &r->a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(r->src, &r->a, K1, K2, 0));
    assert_false(pr_sim_aptpl_active(r->src));
}

/* A registered and changed its key twice (generation 3), with or without APTPL. */
static void three_keys(struct reload *r, uint8_t flags)
{
    assert_good(th_register_flags(r->src, &r->a, 0, K1, flags));
    assert_good(th_register_flags(r->src, &r->a, K1, K2, flags));
    assert_good(th_register_flags(r->src, &r->a, K2, K3, flags));
    assert_int_equal(pr_sim_generation(r->src), 3);
    r->keys_kept = flags ? 1 : 0;
}
static void src_three_keys_aptpl(struct reload *r) { three_keys(r, PR_OUT_FLAG_APTPL); }
static void src_three_keys(struct reload *r) { three_keys(r, 0); }

/* A and B registered, C known (it sent TEST UNIT READY), with or without APTPL. */
static void two_registered_one_known(struct reload *r, uint8_t flags)
{
    static const uint8_t tur[6] = { 0 };
    assert_good(th_register_flags(r->src, &r->a, 0, K1, flags));
    assert_good(th_register_flags(r->src, &r->b, 0, K2, flags));
    assert_good(th_cmd(r->src, &r->c, tur, sizeof(tur)));
}
static void src_known_aptpl(struct reload *r) { two_registered_one_known(r, PR_OUT_FLAG_APTPL); }
static void src_known(struct reload *r) { two_registered_one_known(r, 0); }

/* A registered with APTPL. */
static void src_one_aptpl(struct reload *r)
{
    assert_good(th_register_flags(r->src, &r->a, 0, K1, PR_OUT_FLAG_APTPL));
}

/* A registered with APTPL, two unit attentions pending for it. */
static void src_one_aptpl_two_uas(struct reload *r)
{
    src_one_aptpl(r);
    assert_int_equal(pr_sim_queue_ua(r->src, &r->a, SENSE_UA_RESERVATIONS_PREEMPTED), 0);
    assert_int_equal(pr_sim_queue_ua(r->src, &r->a, SENSE_UA_REGISTRATIONS_PREEMPTED), 0);
}

static void reload_begin(struct reload *r, void (*source)(struct reload *))
{
    memset(r, 0, sizeof(*r));
    r->a = th_nexus('A', 1);
    r->b = th_nexus('B', 2);
    r->c = th_nexus('C', 1);
    r->src = th_lun(PR_SIM_PROFILE_SPC4);
    source(r);
    r->before = img_take_snap(r->src, NULL, 0);
    r->img = img_serialize(r->src, &r->len);
}

static void reload_end(struct reload *r)
{
    free(r->img);
    pr_sim_lun_free(r->src);
    if (r->dst)
        pr_sim_lun_free(r->dst);
}

/* ---- serialize, then load: what the loaded LUN holds ---- */

static void loaded_keeps_registrations_in_order(struct reload *r)
{
    struct snap after = img_take_snap(r->dst, NULL, 0);
    r->before.generation = 0; /* not persisted */
    assert_snap_equal(&r->before, &after);
    const struct pr_sim_nexus *order[6] = { &r->x.a, &r->x.b, &r->x.b2, &r->x.f, &r->x.s, &r->x.d };
    const uint64_t keys[6] = { K1, K2, K2, K3, K4, K5 };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(after.regs[i].key, keys[i]);
        assert_int_equal(after.regs[i].nexus.rtpi, order[i]->rtpi);
        assert_true(pr_tid_equal(&after.regs[i].nexus.initiator, &order[i]->initiator));
    }
}

static void loaded_keeps_all_tg_pt(struct reload *r)
{
    const bool want[6] = { false, true, true, false, false, false };
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_registration_view v;
        assert_true(pr_sim_registration_at(r->dst, i, &v));
        assert_int_equal(v.all_tg_pt, want[i]);
    }
}

static void loaded_keeps_holder_type_and_scope(struct reload *r)
{
    assert_int_equal(pr_sim_reservation_type(r->dst), PR_TYPE_WE_RO);
    for (size_t i = 0; i < 6; i++) {
        struct pr_sim_registration_view v;
        assert_true(pr_sim_registration_at(r->dst, i, &v));
        assert_int_equal(v.holder, i == 0);
    }
    /* Visible through PR IN, and the holder is still the holder. */
    th_expect_reservation(r->dst, &r->x.b, K1, PR_TYPE_WE_RO);
    struct pr_sim_nexus c = th_nexus('C', 1);
    assert_conflict(th_write10(r->dst, &c));
    assert_good(th_write10(r->dst, &r->x.f)); /* registrant of WE_RO */
    assert_good(th_release(r->dst, &r->x.a, K1, PR_TYPE_WE_RO));
    th_expect_no_reservation(r->dst, &r->x.a);
}

static void loaded_keeps_all_registrants_reservation(struct reload *r)
{
    assert_int_equal(pr_sim_reservation_type(r->dst), PR_TYPE_EA_AR);
    struct snap s = img_take_snap(r->dst, NULL, 0);
    assert_int_equal(s.count, 2);
    assert_true(s.regs[0].holder);
    assert_true(s.regs[1].holder);
}

static void loaded_keeps_aptpl_active(struct reload *r)
{
    assert_int_equal(scsi_get_be32(r->img + OFF_FLAGS), IMG_FLAG_APTPL);
    assert_true(pr_sim_aptpl_active(r->dst));
    /* PTPL_A in REPORT CAPABILITIES. */
    uint8_t caps[8];
    assert_good(th_prin(r->dst, &r->x.a, PR_IN_REPORT_CAPABILITIES, sizeof(caps), caps));
    assert_int_equal(caps[3] & PR_CAP_PTPL_A, PR_CAP_PTPL_A);
}

static void loaded_reserializes_to_the_same_image(struct reload *r)
{
    size_t len2;
    uint8_t *img2 = img_serialize(r->dst, &len2);
    assert_int_equal(r->len, len2);
    assert_memory_equal(r->img, img2, r->len);
    free(img2);
}

static void loaded_declares_ports_for_all_tg_pt_and_move(struct reload *r)
{
    /* The registrations' ports exist: a new ALL_TG_PT registration over
     * iSCSI reaches both iSCSI ports 1 and 2. */
    struct pr_sim_nexus e = th_nexus('E', 1);
    assert_good(th_register_flags(r->dst, &e, 0, K6, PR_OUT_FLAG_ALL_TG_PT | PR_OUT_FLAG_APTPL));
    assert_int_equal(pr_sim_registration_count(r->dst), 8);
}

static void loaded_holds_nothing_without_aptpl(struct reload *r)
{
    assert_int_equal(r->len, HDR_LEN + RES_LEN);
    assert_int_equal(scsi_get_be32(r->img + OFF_FLAGS), 0);
    assert_int_equal(scsi_get_be32(r->img + OFF_REG_COUNT), 0);
    assert_int_equal(r->img[HDR_LEN], PR_TYPE_NONE);
    assert_int_equal(scsi_get_be32(r->img + HDR_LEN + 4), NO_HOLDER);
    assert_int_equal(pr_sim_registration_count(r->dst), 0);
    assert_int_equal(pr_sim_reservation_type(r->dst), PR_TYPE_NONE);
    assert_false(pr_sim_aptpl_active(r->dst));
}

static void loaded_generation_restarts_at_0(struct reload *r)
{
    assert_true(pr_sim_generation(r->src) > 0);
    assert_int_equal(pr_sim_generation(r->dst), 0);
    th_expect_keys(r->dst, &r->x.a, 0, 6, K1, K2, K2, K3, K4, K5);
}

static void loaded_generation_is_the_registration_count(struct reload *r)
{
    assert_int_equal(pr_sim_generation(r->dst), 6);
}

struct reload_rule {
    struct th_rule_id id;
    void (*source)(struct reload *r);
    enum pr_sim_profile loader; /* the loaded LUN's profile */
    void (*check)(struct reload *r);
};

#define SPC4 PR_SIM_PROFILE_SPC4
#define LIO PR_SIM_PROFILE_LIO

static const struct reload_rule reload_rules[] = {
    { { "round_trip_keeps_registrations_of_every_protocol_in_order", APTPL }, src_rich, SPC4,
      loaded_keeps_registrations_in_order },
    { { "round_trip_keeps_all_tg_pt_flag", APTPL }, src_rich, SPC4, loaded_keeps_all_tg_pt },
    { { "round_trip_keeps_reservation_holder_type_and_scope", APTPL }, src_rich, SPC4,
      loaded_keeps_holder_type_and_scope },
    { { "round_trip_keeps_all_registrants_reservation", "SPC-4 5.14.5, 5.14.10.2" },
      src_all_registrants, SPC4, loaded_keeps_all_registrants_reservation },
    { { "round_trip_keeps_aptpl_active", "SPC-4 5.14.5 (PTPL_A)" }, src_rich, SPC4,
      loaded_keeps_aptpl_active },
    { { "reserialize_after_load_gives_identical_image", IMG }, src_rich, SPC4,
      loaded_reserializes_to_the_same_image },
    { { "loaded_lun_declares_ports_for_all_tg_pt_and_move", IMG }, src_rich, SPC4,
      loaded_declares_ports_for_all_tg_pt_and_move },
    { { "image_without_aptpl_holds_nothing", APTPL }, src_no_aptpl, SPC4,
      loaded_holds_nothing_without_aptpl },
    { { "generation_restarts_at_0_after_load_spc4", PRGEN },
      src_rich, SPC4, loaded_generation_restarts_at_0 },
    { { "generation_equals_registration_count_after_load_lio", "pr-semantics 7 [LIO]" }, src_rich, LIO,
      loaded_generation_is_the_registration_count },
};

static void test_reload_rule(void **state)
{
    const struct reload_rule *rule = *state;
    struct reload r;
    char msg[256] = "";
    reload_begin(&r, rule->source);
    r.dst = th_bare_lun(rule->loader);
    if (pr_sim_deserialize(r.dst, r.img, r.len, msg, sizeof(msg)) != 0)
        fail_msg("%s: the image does not load: %s", rule->id.name, msg);
    rule->check(&r);
    reload_end(&r);
}

static void test_serialize_does_not_change_the_lun(void **state)
{
    (void)state;
    struct pr_sim_nexus watch[2];
    struct pr_sim_lun *lun = img_make_target(watch);
    struct snap before = img_take_snap(lun, watch, 2);
    size_t len;
    uint8_t *img = img_serialize(lun, &len);
    struct snap after = img_take_snap(lun, watch, 2);
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
    uint8_t *img = img_small_valid(&len);
    struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    assert_int_equal(pr_sim_deserialize(lun, img, len, msg, sizeof(msg)), 0);
    assert_int_equal(pr_sim_registration_count(lun), 2);
    assert_int_equal(pr_sim_reservation_type(lun), PR_TYPE_WE);
    free(img);
    pr_sim_lun_free(lun);
}

/*
 * Every byte of a range spoilt in turn (every bit of it, or one mask),
 * with the CRCs left alone or made consistent again: each image must be
 * refused.  The magic is checked even under consistent checksums; the
 * CRCs catch the rest.
 */
struct flip_rule {
    struct th_rule_id id;
    size_t first, end; /* end 0: the end of the image */
    uint8_t mask;      /* 0: each of the eight bits in turn */
    bool fix_crcs;
};

static const struct flip_rule flip_rules[] = {
    { { "deserialize_bad_magic_is_rejected", IMG }, OFF_MAGIC, OFF_MAGIC + 8, 0x20, false },
    { { "deserialize_bad_magic_with_consistent_crcs_is_rejected", IMG }, OFF_MAGIC, OFF_MAGIC + 8,
      0x20, true },
    { { "deserialize_header_crc_mismatch_is_rejected", IMG }, OFF_HDR_CRC, HDR_LEN, 0x01, false },
    { { "deserialize_any_flipped_header_bit_is_rejected", IMG }, 0, HDR_LEN, 0, false },
    { { "deserialize_any_flipped_body_byte_is_rejected", IMG }, HDR_LEN, 0, 0x80, false },
};

static void test_flip_rule(void **state)
{
    const struct flip_rule *r = *state;
    size_t len;
    uint8_t *img = img_small_valid(&len);
    for (size_t i = r->first; i < (r->end ? r->end : len); i++)
        for (unsigned bit = 0; bit < 8; bit++) {
            uint8_t mask = (uint8_t)(r->mask ? r->mask : 1u << bit);
            uint8_t *c = img_dup(img, len);
            c[i] = (uint8_t)(c[i] ^ mask);
            if (r->fix_crcs)
                img_fix_crcs(c, len);
            img_expect_rejected_at(c, len, -EINVAL, r->id.name, (int)i);
            free(c);
            if (r->mask)
                break;
        }
    free(img);
}

static void test_deserialize_newer_version_message_names_versions(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = img_small_valid(&len);
    scsi_put_be32(img + OFF_VERSION, 7);
    img_fix_crcs(img, len);
    struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    assert_int_equal(pr_sim_deserialize(lun, img, len, msg, sizeof(msg)), -EPROTONOSUPPORT);
    assert_non_null(strstr(msg, "7"));
    free(img);
    pr_sim_lun_free(lun);
}

static void test_deserialize_truncated_at_every_length_is_rejected(void **state)
{
    (void)state;
    struct rich x = img_rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    img_make_rich(src, &x);
    size_t len;
    uint8_t *img = img_serialize(src, &len);
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
    uint8_t *img = img_small_valid(&len);
    for (size_t cut = 1; cut < REG_LEN + 28; cut++) {
        size_t n = len - cut;
        if (n < HDR_LEN + RES_LEN)
            break;
        uint8_t *c = img_dup(img, n);
        scsi_put_be32(c + OFF_BODY_LEN, (uint32_t)(n - HDR_LEN));
        img_fix_crcs(c, n);
        expect_rejected(c, n, -EINVAL);
        free(c);
    }
    free(img);
}

static void test_deserialize_trailing_bytes_are_rejected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = img_small_valid(&len);
    for (size_t extra = 1; extra <= 24; extra++) {
        uint8_t *c = calloc(1, len + extra);
        assert_non_null(c);
        memcpy(c, img, len);
        /* As appended to the file: */
        expect_rejected(c, len + extra, -EINVAL);
        /* And with a header that claims them: */
        scsi_put_be32(c + OFF_BODY_LEN, (uint32_t)(len + extra - HDR_LEN));
        img_fix_crcs(c, len + extra);
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
    uint8_t *img = img_build(1, IMG_FLAG_APTPL, PR_TYPE_NONE, 0, NO_HOLDER, regs, 2, &len);
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
    uint8_t *img = img_build(1, IMG_FLAG_APTPL, PR_TYPE_NONE, 0, NO_HOLDER, regs, 2, &len);
    expect_rejected(img, len, -EINVAL);
    free(img);
}

static void test_deserialize_same_initiator_on_two_ports_is_not_a_duplicate(void **state)
{
    (void)state;
    struct pr_sim_nexus a1 = th_nexus('A', 1), a2 = th_nexus('A', 2);
    struct img_reg regs[2] = { img_reg_of(K1, &a1, true), img_reg_of(K1, &a2, true) };
    size_t len;
    uint8_t *img = img_build(1, IMG_FLAG_APTPL, PR_TYPE_NONE, 0, NO_HOLDER, regs, 2, &len);
    struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
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
    uint8_t *img = img_small_valid(len);
    scsi_put_be32(img + r->field, r->value);
    img_fix_crcs(img, *len);
    return img;
}

static uint8_t *with_body_length_delta(const struct image_rule *r, size_t *len)
{
    uint8_t *img = img_small_valid(len);
    uint32_t body = scsi_get_be32(img + OFF_BODY_LEN);
    scsi_put_be32(img + OFF_BODY_LEN, (uint32_t)((int64_t)body + r->delta));
    img_fix_crcs(img, *len);
    return img;
}

/* A wrong body CRC under a header CRC that covers it. */
static uint8_t *with_body_crc_flipped(const struct image_rule *r, size_t *len)
{
    uint8_t *img = img_small_valid(len);
    scsi_put_be32(img + OFF_BODY_CRC, scsi_get_be32(img + OFF_BODY_CRC) ^ r->value);
    scsi_put_be32(img + OFF_HDR_CRC, img_crc32(img, OFF_HDR_CRC));
    return img;
}

static uint8_t *with_reservation(const struct image_rule *r, size_t *len)
{
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    struct img_reg regs[2] = { img_reg_of(K1, &a, false), img_reg_of(K2, &b, false) };
    return img_build(1, r->no_aptpl ? 0 : IMG_FLAG_APTPL, r->type, r->scope, r->holder, regs,
                       r->nregs, len);
}

/* One registration record (no reservation), one field spoilt. */
static uint8_t *with_registration(const struct image_rule *r, size_t *len)
{
    struct pr_sim_nexus a = th_nexus('A', 1);
    struct pr_sim_nexus s = th_sas_nexus(0x5000c50000000001ull, 4);
    struct img_reg reg = img_reg_of(r->key, r->tid_protocol || r->tid_len || r->tid_len_0 ? &s : &a, false);
    if (r->rtpi_0)
        reg.rtpi = 0;
    reg.flags = r->reg_flags;
    if (r->tid_protocol)
        reg.tid[0] = r->tid_protocol;
    if (r->tid_len || r->tid_len_0)
        reg.tid_len = r->tid_len;
    return img_build(1, IMG_FLAG_APTPL, PR_TYPE_NONE, 0, NO_HOLDER, &reg, 1, len);
}

#define HEADER(f, v) .make = with_header_field, .field = (f), .value = (v)
#define BODY_LENGTH(d) .make = with_body_length_delta, .delta = (d)
#define RESERVATION_RECORD(t, s, h) .make = with_reservation, .type = (t), .scope = (s), \
                                    .holder = (h), .nregs = 2
#define REGISTRATION_RECORD .make = with_registration, .key = K1

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
    img_expect_rejected_at(img, len, r->want, r->id.name, 0);
    free(img);
}

static void test_deserialize_null_image_is_rejected(void **state)
{
    (void)state;
    img_expect_rejected_at(NULL, 0, -EINVAL, __FILE__, __LINE__);
    struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[64] = "";
    assert_int_equal(pr_sim_deserialize(lun, NULL, 100, msg, sizeof(msg)), -EINVAL);
    assert_true(msg[0] != '\0');
    pr_sim_lun_free(lun);
}

static void test_deserialize_without_message_buffer_still_fails_cleanly(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = img_small_valid(&len);
    img[0] ^= 1;
    struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
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

/* ---- power-cycle the LUN: what it holds then ---- */

static void cycled_keeps_registrations_and_reservation(struct reload *r)
{
    struct snap after = img_take_snap(r->src, NULL, 0);
    r->before.generation = 0;
    assert_snap_equal(&r->before, &after);
    assert_true(pr_sim_aptpl_active(r->src));
}

static void cycled_matches_reload_of_image(struct reload *r)
{
    size_t len2;
    uint8_t *img2 = img_serialize(r->src, &len2);
    assert_int_equal(r->len, len2);
    assert_memory_equal(r->img, img2, r->len);
    free(img2);
}

static void cycled_drops_registrations_and_reservation(struct reload *r)
{
    assert_int_equal(pr_sim_registration_count(r->src), 0);
    assert_int_equal(pr_sim_reservation_type(r->src), PR_TYPE_NONE);
    assert_false(pr_sim_aptpl_active(r->src));
    th_clear_ua(r->src, &r->b);
    th_expect_no_keys(r->src, &r->b, 0);
    th_expect_no_reservation(r->src, &r->b);
}

static void cycled_drops_state(struct reload *r)
{
    assert_int_equal(pr_sim_registration_count(r->src), 0);
}

static void cycled_generation_is_0(struct reload *r)
{
    assert_int_equal(pr_sim_generation(r->src), 0);
    th_clear_ua(r->src, &r->a);
    struct th_keys k = th_read_keys(r->src, &r->a);
    assert_int_equal(k.generation, 0);
    assert_int_equal(k.count, r->keys_kept);
}

static void cycled_power_on_reset_for_every_known_nexus(struct reload *r)
{
    const struct pr_sim_nexus *all[3] = { &r->a, &r->b, &r->c };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(pr_sim_pending_ua_count(r->src, all[i]), 1);
        th_expect_ua(r->src, all[i], SENSE_UA_POWER_ON_RESET);
    }
}

static void cycled_power_on_reset_only(struct reload *r)
{
    assert_int_equal(pr_sim_pending_ua_count(r->src, &r->a), 1);
    th_expect_ua(r->src, &r->a, SENSE_UA_POWER_ON_RESET);
    th_expect_no_ua(r->src, &r->a);
}

struct cycle_rule {
    struct th_rule_id id;
    void (*source)(struct reload *r);
    unsigned cycles;
    void (*check)(struct reload *r);
};

#define POR "SPC-4 5.14.5, POWER ON RESET 29h/00h"

static const struct cycle_rule cycle_rules[] = {
    { { "power_cycle_with_aptpl_keeps_registrations_and_reservation", APTPL }, src_rich, 1,
      cycled_keeps_registrations_and_reservation },
    { { "power_cycle_with_aptpl_matches_reload_of_image", APTPL }, src_rich, 1,
      cycled_matches_reload_of_image },
    { { "power_cycle_without_aptpl_drops_registrations_and_reservation", APTPL }, src_no_aptpl, 1,
      cycled_drops_registrations_and_reservation },
    { { "power_cycle_after_aptpl_turned_off_drops_state", APTPL " (the last APTPL decides)" },
      src_aptpl_turned_off, 1, cycled_drops_state },
    { { "power_cycle_resets_generation_with_aptpl", PRGEN },
      src_three_keys_aptpl, 1, cycled_generation_is_0 },
    { { "power_cycle_resets_generation_without_aptpl", PRGEN },
      src_three_keys, 1, cycled_generation_is_0 },
    { { "power_cycle_queues_power_on_reset_for_every_known_nexus_with_aptpl", POR },
      src_known_aptpl, 1, cycled_power_on_reset_for_every_known_nexus },
    { { "power_cycle_queues_power_on_reset_for_every_known_nexus_without_aptpl", POR }, src_known,
      1, cycled_power_on_reset_for_every_known_nexus },
    { { "power_cycle_replaces_older_unit_attentions", POR }, src_one_aptpl_two_uas, 1,
      cycled_power_on_reset_only },
    { { "power_cycle_twice_queues_power_on_reset_once", POR }, src_one_aptpl, 2,
      cycled_power_on_reset_only },
};

static void test_cycle_rule(void **state)
{
    const struct cycle_rule *rule = *state;
    struct reload r;
    reload_begin(&r, rule->source);
    for (unsigned i = 0; i < rule->cycles; i++)
        pr_sim_power_cycle(r.src);
    rule->check(&r);
    reload_end(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_reference_matches_standard_check_value),
        cmocka_unit_test(test_serialize_layout_matches_documented_format),
        cmocka_unit_test(test_serialize_does_not_change_the_lun),
        cmocka_unit_test(test_deserialize_accepts_hand_built_valid_image),
        cmocka_unit_test(test_deserialize_newer_version_message_names_versions),
        cmocka_unit_test(test_deserialize_truncated_at_every_length_is_rejected),
        cmocka_unit_test(test_deserialize_truncated_with_consistent_header_is_rejected),
        cmocka_unit_test(test_deserialize_trailing_bytes_are_rejected),
        cmocka_unit_test(test_deserialize_duplicate_nexus_is_rejected),
        cmocka_unit_test(test_deserialize_duplicate_nexus_spelled_differently_is_rejected),
        cmocka_unit_test(test_deserialize_same_initiator_on_two_ports_is_not_a_duplicate),
        cmocka_unit_test(test_deserialize_null_image_is_rejected),
        cmocka_unit_test(test_deserialize_without_message_buffer_still_fails_cleanly),
    };
    const struct th_table tables[] = {
        TH_TABLE(test_reload_rule, reload_rules),
        TH_TABLE(test_cycle_rule, cycle_rules),
        TH_TABLE(test_flip_rule, flip_rules),
        TH_TABLE(test_image_rule, image_rules),
    };
    return th_run_tables("pr_sim.persist", tables, TH_COUNT(tables), tests, TH_COUNT(tests));
}
