/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_sg_persist.c - conformance tests: what the device answers to
 * the commands sg3_utils' sg_persist sends (pr-semantics.md, "Conformance
 * checklist", section B), checked byte for byte against the layouts of
 * sections 2.3-2.6 and the worked examples of section 4.
 *
 * The CDBs are built the way section B describes sg_persist building them
 * (written from that description, not from sg3_utils code):
 *   - PR IN: service action in byte 1, allocation length in bytes 7-8
 *     (8192 = 20 00 unless -l/-m says otherwise);
 *   - PR OUT: service action in byte 1, TYPE in byte 2 low nibble, SCOPE 0,
 *     parameter list length as a 16-bit value in bytes 7-8 with bytes 5-6
 *     zero; basic list 24 bytes, SPEC_I_PT TransportIDs at byte 28 with
 *     their length at 24-27; REGISTER AND MOVE list per section 3.2.
 *
 * Each test runs in both profiles ("name/spc4", "name/lio").  Documented
 * differences (section 9) are selected per profile and named:
 *   D1-D4  allocation length handling (PR IN truncation);
 *   D8     NOT READY for some unregistered PR OUT without a reservation;
 *   D12    one PRgeneration increment per registration created (LIO);
 *   D14    no PRgeneration increment on unregister (LIO).
 *
 * Decisions where the doc leaves room (noted again at the test):
 *   - READ FULL STATUS byte 13 (scope/type) of a non-holder descriptor is
 *     expected to be 0 in both profiles (the doc: "meaningful only when
 *     R_HOLDER=1"; LIO does not write it, i.e. 0).
 *   - ALL_TG_PT registrations are reported the way the doc says LIO picks
 *     (section 9, "Choices SPC leaves open"): one descriptor per target port,
 *     each with ALL_TG_PT=1, in both profiles; SPC allows it.  The RTPI of
 *     such a descriptor is checked to be 0 only in lio (SPC: undefined).
 *   - D4 (lio READ FULL STATUS under truncation): the doc fixes the header
 *     and the descriptors returned, not how many (zero) bytes follow them;
 *     the test accepts a transfer length between "header + returned
 *     descriptors" and min(alloc, full length), the extra bytes being zero.
 *   - D3 (lio READ RESERVATION alloc 8..21): "key bytes sent as zero", so
 *     alloc bytes are transferred, header correct, the rest zero.
 *   - REGISTER AND MOVE bumps PRgeneration once in both profiles (section
 *     3.10 table: "REGISTER AND MOVE +1" for LIO too, although the
 *     destination registration is created by it; D12 is read as covering
 *     ALL_TG_PT and SPEC_I_PT only, as its section 3.4.1 text says).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "prhelper/pr_sim.h"
#include "prhelper/scsi.h"
#include "sim_helpers.h"

/* ---- profiles ----------------------------------------------------------- */

/* TH_BOTH (sim_helpers.h) registers each test once per profile. */

/* ---- keys ----------------------------------------------------------------- */

#define K1 0x0102030405060708ULL
#define K2 0xa1a2a3a4a5a6a7a8ULL
#define K3 0x3132333435363738ULL
#define K4 0x00000000deadbeefULL
#define KEX 0x1122334455667788ULL /* the key of the section 4 examples */

/* ---- byte comparison with a readable failure ----------------------------- */

static void hex(char *out, size_t outlen, const uint8_t *p, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 4 < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%02x%s", p[i], (i % 8 == 7) ? "  " : " ");
}

static void expect_bytes_at(const uint8_t *got, size_t got_len, const uint8_t *want,
                            size_t want_len, int line)
{
    if (got_len == want_len && memcmp(got, want, want_len) == 0)
        return;
    static char g[2048], w[2048];
    hex(g, sizeof(g), got, got_len);
    hex(w, sizeof(w), want, want_len);
    fail_msg("line %d: data mismatch\n got  %zu bytes: %s\n want %zu bytes: %s", line, got_len, g,
             want_len, w);
}
#define expect_bytes(got, got_len, want, want_len) \
    expect_bytes_at((got), (got_len), (want), (want_len), __LINE__)

/* ---- the commands, as sg_persist sends them ------------------------------ */

#define BUFSZ 16384
static uint8_t inbuf[BUFSZ];

/*
 * PR IN with allocation length alloc.  The data-in buffer offered is
 * larger than alloc: the device must clip to the allocation length itself.
 */
static struct pr_sim_result sg_prin(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                    uint8_t sa, uint16_t alloc)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_IN, sa, 0, 0, 0, 0, 0, 0, 0, 0 };
    cdb[7] = (uint8_t)(alloc >> 8);
    cdb[8] = (uint8_t)alloc;
    struct pr_sim_result r;
    memset(inbuf, 0xa5, sizeof(inbuf));
    memset(&r, 0xee, sizeof(r));
    pr_sim_execute(lun, n, cdb, sizeof(cdb), NULL, 0, inbuf, sizeof(inbuf), &r);
    if (r.status == SCSI_STATUS_GOOD) {
        assert_true(r.data_len <= alloc);
        for (size_t i = alloc; i < alloc + 64u && i < BUFSZ; i++)
            assert_int_equal(inbuf[i], 0xa5); /* nothing past the allocation length */
    }
    return r;
}

/* PR OUT: TYPE in byte 2 (SCOPE 0), 16-bit parameter list length in 7-8. */
static struct pr_sim_result sg_prout(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                     uint8_t sa, unsigned type, const uint8_t *param, size_t len)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, sa, (uint8_t)(type & 0x0f), 0, 0, 0, 0,
                        0, 0, 0 };
    cdb[7] = (uint8_t)(len >> 8);
    cdb[8] = (uint8_t)len;
    assert_int_equal(cdb[5], 0);
    assert_int_equal(cdb[6], 0);
    struct pr_sim_result r;
    pr_sim_execute(lun, n, cdb, sizeof(cdb), param, len, NULL, 0, &r);
    return r;
}

/* Basic 24-byte list: -K rk, -S sark, byte 20 flags (-X, -Y, -Z). */
static struct pr_sim_result sg_basic(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                     uint8_t sa, unsigned type, uint64_t rk, uint64_t sark,
                                     uint8_t flags)
{
    uint8_t param[24];
    memset(param, 0, sizeof(param));
    scsi_put_be64(param, rk);
    scsi_put_be64(param + 8, sark);
    param[20] = flags;
    return sg_prout(lun, n, sa, type, param, sizeof(param));
}

static struct pr_sim_result inquiry(struct pr_sim_lun *lun, const struct pr_sim_nexus *n)
{
    static const uint8_t cdb[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 36, 0 };
    return th_cmd(lun, n, cdb, sizeof(cdb));
}

/* ---- expected PR IN images (sections 2.3-2.6) ----------------------------- */

/* READ KEYS image for keys[0..n). */
static size_t img_keys(uint8_t *out, uint32_t gen, size_t n, const uint64_t *keys)
{
    scsi_put_be32(out, gen);
    scsi_put_be32(out + 4, (uint32_t)(8 * n));
    for (size_t i = 0; i < n; i++)
        scsi_put_be64(out + 8 + 8 * i, keys[i]);
    return 8 + 8 * n;
}

/* READ RESERVATION image: type 0 = no reservation. */
static size_t img_resv(uint8_t *out, uint32_t gen, uint64_t key, unsigned type)
{
    memset(out, 0, 24);
    scsi_put_be32(out, gen);
    if (type == PR_TYPE_NONE)
        return 8;
    scsi_put_be32(out + 4, 16);
    scsi_put_be64(out + 8, pr_type_is_all_registrants(type) ? 0 : key);
    out[21] = (uint8_t)(PR_SCOPE_LU << 4 | type);
    return 24;
}

/*
 * The iSCSI TransportID of th_nexus(c, ...): format 01b (byte 0 = 45h),
 * "iqn.2026-11.test:<c>,i,0x23d0000000<hex c>" NUL-terminated and padded
 * to a multiple of 4: 35 characters + NUL = 36, so 40 bytes in all.
 */
#define TID_LEN 40
static size_t tid_iscsi(uint8_t *out, char c)
{
    char text[64];
    snprintf(text, sizeof(text), "iqn.2026-11.test:%c,i,0x23d0000000%02x", c, (unsigned)c);
    assert_int_equal(strlen(text), 35);
    memset(out, 0, TID_LEN);
    out[0] = 0x45;
    out[2] = 0;
    out[3] = 36;
    memcpy(out + 4, text, 35);
    return TID_LEN;
}

#define DESC_LEN (24 + TID_LEN)
/* One READ FULL STATUS descriptor (section 2.6). */
static size_t img_desc(uint8_t *out, uint64_t key, bool all_tg_pt, bool holder, unsigned type,
                       uint16_t rtpi, char initiator)
{
    memset(out, 0, DESC_LEN);
    scsi_put_be64(out, key);
    out[12] = (uint8_t)((all_tg_pt ? PR_FULL_STATUS_ALL_TG_PT : 0) |
                        (holder ? PR_FULL_STATUS_R_HOLDER : 0));
    out[13] = holder ? (uint8_t)(PR_SCOPE_LU << 4 | type) : 0;
    scsi_put_be16(out + 18, rtpi);
    scsi_put_be32(out + 20, TID_LEN);
    tid_iscsi(out + 24, initiator);
    return DESC_LEN;
}

static void img_fs_header(uint8_t *out, uint32_t gen, size_t ndesc)
{
    scsi_put_be32(out, gen);
    scsi_put_be32(out + 4, (uint32_t)(ndesc * DESC_LEN));
}

static const uint8_t caps_default[8] = { 0x00, 0x08, 0x1d, 0x90, 0xea, 0x01, 0x00, 0x00 };
static const uint8_t caps_aptpl[8] = { 0x00, 0x08, 0x1d, 0x91, 0xea, 0x01, 0x00, 0x00 };

/* PR IN at alloc 8192 from n: GOOD and exactly want[0..len). */
static void expect_prin(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint8_t sa,
                        const uint8_t *want, size_t len, int line)
{
    struct pr_sim_result r = sg_prin(lun, n, sa, 8192);
    th_assert_result(r, SCSI_STATUS_GOOD, SENSE_NONE, __FILE__, line);
    expect_bytes_at(inbuf, r.data_len, want, len, line);
}
#define expect_prin(lun, n, sa, want, len) expect_prin((lun), (n), (sa), (want), (len), __LINE__)

static void expect_keys_at(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint32_t gen,
                           size_t count, int line, const uint64_t *keys)
{
    uint8_t want[8 + 8 * 16];
    size_t len = img_keys(want, gen, count, keys);
    (expect_prin)(lun, n, PR_IN_READ_KEYS, want, len, line);
    assert_int_equal(pr_sim_generation(lun), gen);
}
/* Variadic so that a compound literal { K1, K2 } may be passed. */
#define expect_keys(lun, n, gen, count, ...) \
    expect_keys_at((lun), (n), (gen), (count), __LINE__, __VA_ARGS__)

static void expect_resv_at(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint32_t gen,
                           uint64_t key, unsigned type, int line)
{
    uint8_t want[24];
    size_t len = img_resv(want, gen, key, type);
    (expect_prin)(lun, n, PR_IN_READ_RESERVATION, want, len, line);
}
#define expect_resv(lun, n, gen, key, type) \
    expect_resv_at((lun), (n), (gen), (key), (type), __LINE__)

/* ---- LUN with persistence and abort hooks ---------------------------------- */

struct hooks {
    unsigned persist_calls;
    unsigned abort_calls;
    struct pr_sim_nexus aborted[8];
};

static int persist_hook(void *opaque, const uint8_t *image, size_t len)
{
    struct hooks *h = opaque;
    (void)image;
    assert_true(len > 0);
    h->persist_calls++;
    return 0;
}

static void abort_hook(void *opaque, const struct pr_sim_nexus *n)
{
    struct hooks *h = opaque;
    if (h->abort_calls < 8)
        h->aborted[h->abort_calls] = *n;
    h->abort_calls++;
}

static struct pr_sim_lun *lun_with_hooks(enum pr_sim_profile p, struct hooks *h)
{
    struct pr_sim_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    memset(h, 0, sizeof(*h));
    cfg.profile = p;
    cfg.persist = persist_hook;
    cfg.on_abort = abort_hook;
    cfg.opaque = h;
    return th_lun_config(&cfg);
}

/* ======================================================================== */
/* `sg_persist DEV` (default -k) and the -k output counts                    */
/* ======================================================================== */

static void test_sg_persist_read_keys_default(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    static const uint8_t cdb[10] = { 0x5e, 0x00, 0, 0, 0, 0, 0, 0x20, 0x00, 0 };
    struct pr_sim_result r;

    /* "there are NO registered reservation keys": ADDITIONAL LENGTH 0. */
    assert_good(inquiry(lun, &a));
    memset(inbuf, 0xa5, sizeof(inbuf));
    pr_sim_execute(lun, &a, cdb, sizeof(cdb), NULL, 0, inbuf, sizeof(inbuf), &r);
    assert_good(r);
    static const uint8_t none[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    expect_bytes(inbuf, r.data_len, none, sizeof(none));

    /* "1 registered reservation key follows": ADDITIONAL LENGTH 8. */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(inquiry(lun, &a));
    pr_sim_execute(lun, &a, cdb, sizeof(cdb), NULL, 0, inbuf, sizeof(inbuf), &r);
    assert_good(r);
    static const uint8_t one[16] = { 0, 0, 0, 1, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
    expect_bytes(inbuf, r.data_len, one, sizeof(one));

    /* "2 registered reservation keys follow": ADDITIONAL LENGTH 16. */
    assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, 0, K2, 0));
    assert_good(inquiry(lun, &b));
    pr_sim_execute(lun, &b, cdb, sizeof(cdb), NULL, 0, inbuf, sizeof(inbuf), &r);
    assert_good(r);
    static const uint8_t two[24] = { 0,    0,    0,    2,    0,    0,    0,    16,
                                     1,    2,    3,    4,    5,    6,    7,    8,
                                     0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8 };
    expect_bytes(inbuf, r.data_len, two, sizeof(two));
    assert_int_equal(scsi_get_be32(inbuf + 4) / 8, 2);
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -r, -R, -L: READ RESERVATION, RESERVE, RELEASE                           */
/* ======================================================================== */

static void test_sg_persist_read_reservation_each_type(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);
    static const unsigned types[6] = { PR_TYPE_WE, PR_TYPE_EA, PR_TYPE_WE_RO,
                                       PR_TYPE_EA_RO, PR_TYPE_WE_AR, PR_TYPE_EA_AR };

    /* "there is NO reservation held". */
    expect_resv(lun, &a, 0, 0, PR_TYPE_NONE);
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    expect_resv(lun, &a, 1, 0, PR_TYPE_NONE);

    for (size_t i = 0; i < 6; i++) {
        /* sg_persist -o -R -K k1 -T t */
        assert_good(sg_basic(lun, &a, PR_OUT_RESERVE, types[i], K1, 0, 0));
        /* "Reservation follows" (ADDITIONAL LENGTH >= 16), byte 21 type. */
        expect_resv(lun, &a, 1, K1, types[i]);
        /* sg_persist -o -L -K k1 -T t */
        assert_good(sg_basic(lun, &a, PR_OUT_RELEASE, types[i], K1, 0, 0));
        expect_resv(lun, &a, 1, 0, PR_TYPE_NONE);
        th_expect_no_pending_ua(lun, &a);
    }
    expect_keys(lun, &a, 1, 1, (const uint64_t[]){ K1 });
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* Section 4 worked examples, byte for byte                                  */
/* ======================================================================== */

/* The 10-byte PR OUT cdb with the 24-byte parameter list, from n: GOOD. */
static void prout_bytes_good(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                             const uint8_t cdb[10], const uint8_t list[24])
{
    struct pr_sim_result r;
    pr_sim_execute(lun, n, cdb, 10, list, 24, NULL, 0, &r);
    assert_good(r);
}

/* READ RESERVATION with ALLOCATION LENGTH 24 from n: GOOD, exactly want. */
static void expect_read_reservation_24(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                       const uint8_t want[24])
{
    struct pr_sim_result r = sg_prin(lun, n, PR_IN_READ_RESERVATION, 24);
    assert_good(r);
    expect_bytes(inbuf, r.data_len, want, 24);
}

static void test_sg_persist_worked_examples(void **state)
{
    struct hooks h;
    struct pr_sim_lun *lun = lun_with_hooks(TH_PROFILE(state), &h);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);
    struct pr_sim_result r;

    /* REGISTER key 0x1122334455667788, APTPL=0. */
    static const uint8_t reg_cdb[10] = { 0x5f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00 };
    static const uint8_t reg_data[24] = { 0,    0,    0,    0,    0,    0,    0,    0,
                                          0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                          0,    0,    0,    0,    0,    0,    0,    0 };
    prout_bytes_good(lun, &a, reg_cdb, reg_data);

    /* RESERVE type EA with that key. */
    static const uint8_t res_cdb[10] = { 0x5f, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00 };
    static const uint8_t key_data[24] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                          0,    0,    0,    0,    0,    0,    0,    0,
                                          0,    0,    0,    0,    0,    0,    0,    0 };
    prout_bytes_good(lun, &a, res_cdb, key_data);

    /* READ RESERVATION, alloc 24. */
    static const uint8_t rr_ea[24] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
                                       0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                       0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00 };
    expect_read_reservation_24(lun, &a, rr_ea);

    /* Same after RESERVE type 7 (WE_AR): key bytes 00, byte 21 = 07. */
    static const uint8_t rel_cdb[10] = { 0x5f, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00 };
    prout_bytes_good(lun, &a, rel_cdb, key_data);
    static const uint8_t res7_cdb[10] = { 0x5f, 0x01, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00 };
    prout_bytes_good(lun, &a, res7_cdb, key_data);
    static const uint8_t rr_wear[24] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
                                         0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                         0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00 };
    expect_read_reservation_24(lun, &a, rr_wear);
    static const uint8_t rel7_cdb[10] = { 0x5f, 0x02, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00 };
    prout_bytes_good(lun, &a, rel7_cdb, key_data);

    /* READ KEYS with two registrations, alloc 8: 00 00 00 02 00 00 00 10. */
    assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, 0, K2, 0));
    r = sg_prin(lun, &a, PR_IN_READ_KEYS, 8);
    assert_good(r);
    static const uint8_t rk8[8] = { 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x10 };
    expect_bytes(inbuf, r.data_len, rk8, sizeof(rk8));

    /* REPORT CAPABILITIES with APTPL active: 00 08 1D 91 EA 01 00 00
     * (section 2.5: the simulator's default equals LIO's). */
    r = sg_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, 8192);
    assert_good(r);
    expect_bytes(inbuf, r.data_len, caps_default, sizeof(caps_default));
    /* key "change" to the same key with APTPL=1 (sg_persist -Z). */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, KEX, KEX, PR_OUT_FLAG_APTPL));
    r = sg_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, 8192);
    assert_good(r);
    expect_bytes(inbuf, r.data_len, caps_aptpl, sizeof(caps_aptpl));
    expect_keys(lun, &a, 3, 2, (const uint64_t[]){ KEX, K2 });
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -c: REPORT CAPABILITIES                                                   */
/* ======================================================================== */

static void test_sg_persist_report_capabilities(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_nexus a = th_nexus('A', 1);

    /*
     * LENGTH 0008h (sg_persist insists on byte 1 = 8), CRH SIP_C ATP_C
     * PTPL_C, RLR_C=0 (REPLACE LOST RESERVATION unsupported, section 3.1),
     * TMV=1 so the six type-mask bits are printed, ALLOW COMMANDS 001b,
     * PTPL_A=0.  Same with and without a persistence hook.
     */
    struct pr_sim_lun *lun = th_lun(p);
    expect_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, caps_default, sizeof(caps_default));
    pr_sim_lun_free(lun);

    struct hooks h;
    lun = lun_with_hooks(p, &h);
    expect_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, caps_default, sizeof(caps_default));
    assert_int_equal(inbuf[1], 8);
    assert_true(inbuf[3] & PR_CAP_TMV);
    assert_int_equal(scsi_get_be16(inbuf + 4),
                     PR_TYPE_MASK_WR_EX_AR | PR_TYPE_MASK_EX_AC_RO | PR_TYPE_MASK_WR_EX_RO |
                         PR_TYPE_MASK_EX_AC | PR_TYPE_MASK_WR_EX | PR_TYPE_MASK_EX_AC_AR);
    assert_int_equal(pr_sim_generation(lun), 0);
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -o -G -K -S -Z: REGISTER with APTPL                                       */
/* ======================================================================== */

static void test_sg_persist_register_aptpl(void **state)
{
    struct hooks h;
    struct pr_sim_lun *lun = lun_with_hooks(TH_PROFILE(state), &h);
    struct pr_sim_nexus a = th_nexus('A', 1);

    assert_false(pr_sim_aptpl_active(lun));
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, PR_OUT_FLAG_APTPL));
    assert_true(pr_sim_aptpl_active(lun));
    assert_true(h.persist_calls >= 1);
    expect_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, caps_aptpl, sizeof(caps_aptpl));
    expect_keys(lun, &a, 1, 1, (const uint64_t[]){ K1 });

    /* Power loss with APTPL: registration kept, PRgeneration restarts at 0
     * (3.10, 7), PTPL_A stays 1, POWER ON RESET UA. */
    pr_sim_power_cycle(lun);
    th_expect_single_ua(lun, &a, SENSE_UA_POWER_ON_RESET);
    expect_keys(lun, &a, 0, 1, (const uint64_t[]){ K1 });
    expect_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, caps_aptpl, sizeof(caps_aptpl));

    /* Key change with APTPL=0: PTPL_A := 0. */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, K1, K2, 0));
    assert_false(pr_sim_aptpl_active(lun));
    expect_prin(lun, &a, PR_IN_REPORT_CAPABILITIES, caps_default, sizeof(caps_default));
    expect_keys(lun, &a, 1, 1, (const uint64_t[]){ K2 });

    /* ... and power loss now drops the registration. */
    pr_sim_power_cycle(lun);
    th_expect_single_ua(lun, &a, SENSE_UA_POWER_ON_RESET);
    expect_keys(lun, &a, 0, 0, NULL);
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -o -G -Y: REGISTER with ALL_TG_PT                                         */
/* ======================================================================== */

static void test_sg_persist_register_all_tg_pt(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_lun *lun = th_lun(p);
    struct pr_sim_nexus a1 = th_nexus('A', 1), a2 = th_nexus('A', 2), b = th_nexus('B', 1);

    assert_good(sg_basic(lun, &a1, PR_OUT_REGISTER, 0, 0, K1, PR_OUT_FLAG_ALL_TG_PT));
    /* Two I_T nexuses registered (ports 1 and 2): two keys.  PRgeneration
     * +1 (SPC), +2 in LIO (D12: once per registration created). */
    uint32_t gen = TH_IS_LIO(p) ? 2 : 1;
    expect_keys(lun, &b, gen, 2, (const uint64_t[]){ K1, K1 });
    assert_int_equal(pr_sim_registration_count(lun), 2);

    /* -s: one descriptor per port, ALL_TG_PT=1 (LIO's pick, section 9).
     * RTPI: LIO leaves it 0; SPC says it is undefined when ALL_TG_PT=1,
     * so in spc4 bytes 18-19 are not compared (the simulator writes the
     * port's RTPI there, which is allowed). */
    uint8_t want[8 + 2 * DESC_LEN];
    img_fs_header(want, gen, 2);
    img_desc(want + 8, K1, true, false, 0, 0, 'A');
    img_desc(want + 8 + DESC_LEN, K1, true, false, 0, 0, 'A');
    struct pr_sim_result r = sg_prin(lun, &b, PR_IN_READ_FULL_STATUS, 8192);
    assert_good(r);
    if (!TH_IS_LIO(p) && r.data_len == sizeof(want)) {
        memcpy(want + 8 + 18, inbuf + 8 + 18, 2);
        memcpy(want + 8 + DESC_LEN + 18, inbuf + 8 + DESC_LEN + 18, 2);
    }
    expect_bytes(inbuf, r.data_len, want, sizeof(want));

    /* The nexus on port 2 is registered: it may reserve with K1. */
    assert_good(sg_basic(lun, &a2, PR_OUT_RESERVE, PR_TYPE_WE, K1, 0, 0));
    expect_resv(lun, &b, gen, K1, PR_TYPE_WE);
    assert_good(th_write10(lun, &a2));
    assert_conflict(th_write10(lun, &a1)); /* registered, not the holder */
    assert_good(sg_basic(lun, &a2, PR_OUT_RELEASE, PR_TYPE_WE, K1, 0, 0));

    /* Unregister with -Y (as the registration was made): every I_T nexus
     * of it goes (SPC; LIO removes siblings whose key equals RK). */
    assert_good(sg_basic(lun, &a1, PR_OUT_REGISTER, 0, K1, 0, PR_OUT_FLAG_ALL_TG_PT));
    gen += TH_IS_LIO(p) ? 0 : 1; /* D14 */
    expect_keys(lun, &b, gen, 0, NULL);
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -o -G -X TIDS: REGISTER with SPEC_I_PT                                    */
/* ======================================================================== */

static void test_sg_persist_register_spec_i_pt(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_lun *lun = th_lun(p);
    struct pr_sim_nexus a = th_nexus('A', 1), b1 = th_nexus('B', 1), b2 = th_nexus('B', 2);
    struct pr_sim_nexus c = th_nexus('C', 1);

    /* B has logged in on both ports (known to the LU), not registered. */
    assert_good(th_tur(lun, &b1));
    assert_good(th_tur(lun, &b2));

    /* List: 24 bytes + TRANSPORTID PARAMETER DATA LENGTH (bytes 24-27) +
     * B's iSCSI TransportID at byte 28: 28 + 40 = 68 = 44h. */
    uint8_t param[28 + TID_LEN];
    memset(param, 0, sizeof(param));
    scsi_put_be64(param + 8, K1);
    param[20] = PR_OUT_FLAG_SPEC_I_PT;
    scsi_put_be32(param + 24, TID_LEN);
    tid_iscsi(param + 28, 'B');
    assert_int_equal(sizeof(param), 0x44);
    assert_good(sg_prout(lun, &a, PR_OUT_REGISTER, 0, param, sizeof(param)));

    /* Sender and B, both with K1, on the receiving port 1.  PRgeneration
     * +1 (SPC: once per command), +2 in LIO (D12). */
    uint32_t gen = TH_IS_LIO(p) ? 2 : 1;
    expect_keys(lun, &c, gen, 2, (const uint64_t[]){ K1, K1 });
    assert_int_equal(pr_sim_registration_count(lun), 2);
    th_expect_no_pending_ua(lun, &a);
    th_expect_no_pending_ua(lun, &b1);

    /* READ FULL STATUS: the two descriptors (order not fixed by the doc). */
    struct pr_sim_result r = sg_prin(lun, &c, PR_IN_READ_FULL_STATUS, 8192);
    assert_good(r);
    assert_int_equal(r.data_len, 8 + 2 * DESC_LEN);
    uint8_t hdr[8], da[DESC_LEN], db[DESC_LEN];
    img_fs_header(hdr, gen, 2);
    expect_bytes(inbuf, 8, hdr, 8);
    img_desc(da, K1, false, false, 0, 1, 'A');
    img_desc(db, K1, false, false, 0, 1, 'B');
    bool a_first = memcmp(inbuf + 8, da, DESC_LEN) == 0;
    expect_bytes(inbuf + 8, DESC_LEN, a_first ? da : db, DESC_LEN);
    expect_bytes(inbuf + 8 + DESC_LEN, DESC_LEN, a_first ? db : da, DESC_LEN);

    /* B is registered on port 1 (key change works) but not on port 2. */
    assert_conflict(sg_basic(lun, &b2, PR_OUT_REGISTER, 0, K1, K3, 0));
    assert_good(sg_basic(lun, &b1, PR_OUT_REGISTER, 0, K1, K2, 0));
    gen++;
    expect_keys(lun, &c, gen, 2, a_first ? (const uint64_t[]){ K1, K2 } : (const uint64_t[]){ K2, K1 });

    /* SPEC_I_PT from a registered nexus: INVALID FIELD IN PARAMETER LIST. */
    scsi_put_be64(param, K1);
    scsi_put_be64(param + 8, K3);
    tid_iscsi(param + 28, 'C');
    assert_check(sg_prout(lun, &a, PR_OUT_REGISTER, 0, param, sizeof(param)),
                 SENSE_INVALID_FIELD_IN_PARAM);
    expect_keys(lun, &c, gen, 2, a_first ? (const uint64_t[]){ K1, K2 } : (const uint64_t[]){ K2, K1 });
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -o -I -S: REGISTER AND IGNORE EXISTING KEY                                */
/* ======================================================================== */

static void test_sg_persist_register_and_ignore(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_lun *lun = th_lun(p);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);

    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    /* -I -S k3 without -K: RK 0, ignored; the key is replaced. */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER_AND_IGNORE, 0, 0, K3, 0));
    expect_keys(lun, &a, 2, 1, (const uint64_t[]){ K3 });
    /* From an unregistered nexus with a nonsense -K: registers. */
    assert_good(sg_basic(lun, &b, PR_OUT_REGISTER_AND_IGNORE, 0, 0x5555, K4, 0));
    expect_keys(lun, &a, 3, 2, (const uint64_t[]){ K3, K4 });
    /* -I -S 0: unregister. */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0, 0));
    expect_keys(lun, &b, TH_IS_LIO(p) ? 3 : 4, 1, (const uint64_t[]){ K4 });
    /* -I -S 0 from an unregistered nexus: GOOD, nothing happens. */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0, 0));
    expect_keys(lun, &b, TH_IS_LIO(p) ? 3 : 4, 1, (const uint64_t[]){ K4 });
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -o -C -K: CLEAR                                                            */
/* ======================================================================== */

static void test_sg_persist_clear(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);

    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, 0, K2, 0));
    assert_good(sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_EA_RO, K1, 0, 0));
    expect_resv(lun, &b, 2, K1, PR_TYPE_EA_RO);

    /* Wrong key: conflict, no change. */
    assert_conflict(sg_basic(lun, &a, PR_OUT_CLEAR, 0, K2, 0, 0));
    expect_keys(lun, &b, 2, 2, (const uint64_t[]){ K1, K2 });

    /* B (registered non-holder) clears (section 5: allowed). */
    assert_good(sg_basic(lun, &b, PR_OUT_CLEAR, 0, K2, 0, 0));
    th_expect_single_ua(lun, &a, SENSE_UA_RESERVATIONS_PREEMPTED);
    th_expect_no_pending_ua(lun, &b);
    expect_keys(lun, &b, 3, 0, NULL);
    expect_resv(lun, &a, 3, 0, PR_TYPE_NONE);
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -o -P / -A: PREEMPT, PREEMPT AND ABORT                                    */
/* ======================================================================== */

static void preempt_scenario(enum pr_sim_profile p, bool abort)
{
    struct hooks h;
    struct pr_sim_lun *lun = lun_with_hooks(p, &h);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 2);

    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, 0, K2, 0));
    assert_good(sg_basic(lun, &c, PR_OUT_REGISTER, 0, 0, K3, 0));
    assert_good(sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_WE, K1, 0, 0));

    /* -P changes the type to EA, -A keeps WE. */
    unsigned type = abort ? PR_TYPE_WE : PR_TYPE_EA;
    assert_good(sg_basic(lun, &b, abort ? PR_OUT_PREEMPT_AND_ABORT : PR_OUT_PREEMPT, type, K2, K1,
                         0));

    /* A: REGISTRATIONS PREEMPTED.  C (remaining registrant): RESERVATIONS
     * RELEASED only when the type changed.  B, the sender: nothing. */
    th_expect_no_pending_ua(lun, &b);
    th_expect_single_ua(lun, &a, SENSE_UA_REGISTRATIONS_PREEMPTED);
    if (abort)
        th_expect_no_pending_ua(lun, &c);
    else
        th_expect_single_ua(lun, &c, SENSE_UA_RESERVATIONS_RELEASED);

    if (abort) {
        /* Only the preempted nexus's tasks are aborted. */
        assert_int_equal(h.abort_calls, 1);
        assert_true(pr_tid_equal(&h.aborted[0].initiator, &a.initiator));
        assert_int_equal(h.aborted[0].rtpi, 1);
    } else {
        assert_int_equal(h.abort_calls, 0);
    }

    expect_keys(lun, &c, 4, 2, (const uint64_t[]){ K2, K3 });
    expect_resv(lun, &c, 4, K2, type);
    uint8_t want[8 + 2 * DESC_LEN];
    img_fs_header(want, 4, 2);
    img_desc(want + 8, K2, false, true, type, 1, 'B');
    img_desc(want + 8 + DESC_LEN, K3, false, false, 0, 2, 'C');
    expect_prin(lun, &c, PR_IN_READ_FULL_STATUS, want, sizeof(want));

    assert_good(th_write10(lun, &b));
    assert_conflict(th_write10(lun, &a));
    pr_sim_lun_free(lun);
}

static void test_sg_persist_preempt(void **state)
{
    preempt_scenario(TH_PROFILE(state), false);
}

static void test_sg_persist_preempt_and_abort(void **state)
{
    preempt_scenario(TH_PROFILE(state), true);
}

/* -A -S 0 under an all-registrants reservation (3.8): the sender takes a
 * reservation of the CDB type alone; every other registrant is removed
 * (REGISTRATIONS PREEMPTED) and its tasks are aborted. */
/* READ FULL STATUS (PRgeneration gen) shows B alone: key K2, holding
 * Exclusive Access, on target port rtpi. */
static void expect_full_status_b_alone_holds_ea(struct pr_sim_lun *lun,
                                                const struct pr_sim_nexus *n, uint32_t gen,
                                                uint16_t rtpi)
{
    uint8_t want[8 + DESC_LEN];
    img_fs_header(want, gen, 1);
    img_desc(want + 8, K2, false, true, PR_TYPE_EA, rtpi, 'B');
    expect_prin(lun, n, PR_IN_READ_FULL_STATUS, want, sizeof(want));
}

static void test_sg_persist_preempt_and_abort_all_registrants_zero_key(void **state)
{
    struct hooks h;
    struct pr_sim_lun *lun = lun_with_hooks(TH_PROFILE(state), &h);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 2);

    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, 0, K2, 0));
    assert_good(sg_basic(lun, &c, PR_OUT_REGISTER, 0, 0, K3, 0));
    assert_good(sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_EA_AR, K1, 0, 0));

    assert_good(sg_basic(lun, &b, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_EA, K2, 0, 0));
    th_expect_no_pending_ua(lun, &b);
    th_expect_single_ua(lun, &a, SENSE_UA_REGISTRATIONS_PREEMPTED);
    th_expect_single_ua(lun, &c, SENSE_UA_REGISTRATIONS_PREEMPTED);
    assert_int_equal(h.abort_calls, 2);
    bool got_a = false, got_c = false;
    for (unsigned i = 0; i < 2; i++) {
        if (pr_tid_equal(&h.aborted[i].initiator, &a.initiator) && h.aborted[i].rtpi == 1)
            got_a = true;
        if (pr_tid_equal(&h.aborted[i].initiator, &c.initiator) && h.aborted[i].rtpi == 2)
            got_c = true;
    }
    assert_true(got_a && got_c);

    expect_keys(lun, &b, 4, 1, (const uint64_t[]){ K2 });
    expect_resv(lun, &b, 4, K2, PR_TYPE_EA);
    expect_full_status_b_alone_holds_ea(lun, &b, 4, 1);
    assert_conflict(th_read10(lun, &a));
    assert_conflict(th_read10(lun, &c));
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -o -M -K -S -T -Q -X [-U] [-Z]: REGISTER AND MOVE                          */
/* ======================================================================== */

/* REGISTER AND MOVE list: UNREG/APTPL byte 17, RTPI 18-19, TID length
 * 20-23, the one TransportID at 24: 24 + 40 = 64 = 40h bytes. */
static struct pr_sim_result sg_move(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                    unsigned type, uint64_t rk, uint64_t sark, uint16_t rtpi,
                                    char dest, uint8_t flags)
{
    uint8_t param[24 + TID_LEN];
    memset(param, 0, sizeof(param));
    scsi_put_be64(param, rk);
    scsi_put_be64(param + 8, sark);
    param[17] = flags;
    scsi_put_be16(param + 18, rtpi);
    scsi_put_be32(param + 20, TID_LEN);
    tid_iscsi(param + 24, dest);
    assert_int_equal(sizeof(param), 0x40);
    return sg_prout(lun, n, PR_OUT_REGISTER_AND_MOVE, type, param, sizeof(param));
}

static void test_sg_persist_register_and_move(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b2 = th_nexus('B', 2), c = th_nexus('C', 1);

    assert_good(th_tur(lun, &b2)); /* the destination nexus exists */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_WE, K1, 0, 0));

    assert_good(sg_move(lun, &a, PR_TYPE_WE, K1, K2, 2, 'B', 0));
    /* No UAs (3.9 step 12); PRgeneration +1; A stays registered. */
    th_expect_no_pending_ua(lun, &a);
    th_expect_no_pending_ua(lun, &b2);
    expect_keys(lun, &c, 2, 2, (const uint64_t[]){ K1, K2 });
    expect_resv(lun, &c, 2, K2, PR_TYPE_WE);
    uint8_t want[8 + 2 * DESC_LEN];
    img_fs_header(want, 2, 2);
    img_desc(want + 8, K1, false, false, 0, 1, 'A');
    img_desc(want + 8 + DESC_LEN, K2, false, true, PR_TYPE_WE, 2, 'B');
    expect_prin(lun, &c, PR_IN_READ_FULL_STATUS, want, sizeof(want));

    assert_good(th_write10(lun, &b2));
    assert_conflict(th_write10(lun, &a));

    /* A is no longer the holder: moving again is a conflict (3.9 step 10). */
    assert_conflict(sg_move(lun, &a, PR_TYPE_WE, K1, K3, 1, 'C', 0));
    expect_keys(lun, &c, 2, 2, (const uint64_t[]){ K1, K2 });
    pr_sim_lun_free(lun);
}

static void test_sg_persist_register_and_move_unreg_aptpl(void **state)
{
    struct hooks h;
    struct pr_sim_lun *lun = lun_with_hooks(TH_PROFILE(state), &h);
    struct pr_sim_nexus a = th_nexus('A', 1), b2 = th_nexus('B', 2);

    assert_good(th_tur(lun, &b2));
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_EA, K1, 0, 0));
    assert_false(pr_sim_aptpl_active(lun));

    /* -U -Z: the sender is unregistered (no UA), APTPL := 1. */
    assert_good(sg_move(lun, &a, PR_TYPE_EA, K1, K2, 2, 'B', PR_MOVE_FLAG_UNREG | PR_MOVE_FLAG_APTPL));
    th_expect_no_pending_ua(lun, &a);
    th_expect_no_pending_ua(lun, &b2);
    assert_true(pr_sim_aptpl_active(lun));
    assert_true(h.persist_calls >= 1);
    expect_keys(lun, &b2, 2, 1, (const uint64_t[]){ K2 });
    expect_resv(lun, &b2, 2, K2, PR_TYPE_EA);
    expect_prin(lun, &b2, PR_IN_REPORT_CAPABILITIES, caps_aptpl, sizeof(caps_aptpl));
    expect_full_status_b_alone_holds_ea(lun, &b2, 2, 2);
    assert_conflict(th_read10(lun, &a));
    assert_good(th_read10(lun, &b2));
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -o -z -S -T: REPLACE LOST RESERVATION                                      */
/* ======================================================================== */

static void test_sg_persist_replace_lost_reservation(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1);

    /* Unsupported by default in both profiles (RLR_C=0, section 3.1):
     * ILLEGAL REQUEST, INVALID FIELD IN CDB; nothing changes. */
    assert_check(sg_basic(lun, &a, PR_OUT_REPLACE_LOST_RESERVATION, PR_TYPE_WE, 0, K1, 0),
                 SENSE_INVALID_FIELD_IN_CDB);
    expect_keys(lun, &a, 0, 0, NULL);
    expect_resv(lun, &a, 0, 0, PR_TYPE_NONE);

    /* Same from the registered holder. */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_EA, K1, 0, 0));
    assert_check(sg_basic(lun, &a, PR_OUT_REPLACE_LOST_RESERVATION, PR_TYPE_WE, 0, K2, 0),
                 SENSE_INVALID_FIELD_IN_CDB);
    expect_keys(lun, &a, 1, 1, (const uint64_t[]){ K1 });
    expect_resv(lun, &a, 1, K1, PR_TYPE_EA);
    th_expect_no_pending_ua(lun, &a);
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -s: READ FULL STATUS                                                      */
/* ======================================================================== */

static void test_sg_persist_read_full_status(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 2);
    uint8_t want[8 + 2 * DESC_LEN];

    /* Empty. */
    img_fs_header(want, 0, 0);
    expect_prin(lun, &a, PR_IN_READ_FULL_STATUS, want, 8);

    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, 0, K2, 0));

    /* No reservation: two plain descriptors, creation order, RTPI set. */
    img_fs_header(want, 2, 2);
    img_desc(want + 8, K1, false, false, 0, 1, 'A');
    img_desc(want + 8 + DESC_LEN, K2, false, false, 0, 2, 'B');
    expect_prin(lun, &b, PR_IN_READ_FULL_STATUS, want, sizeof(want));

    /* EA held by A: R_HOLDER and scope/type on A's descriptor only. */
    assert_good(sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_EA, K1, 0, 0));
    img_desc(want + 8, K1, false, true, PR_TYPE_EA, 1, 'A');
    expect_prin(lun, &b, PR_IN_READ_FULL_STATUS, want, sizeof(want));
    assert_good(sg_basic(lun, &a, PR_OUT_RELEASE, PR_TYPE_EA, K1, 0, 0));

    /* WE_AR: every registrant is a holder. */
    assert_good(sg_basic(lun, &b, PR_OUT_RESERVE, PR_TYPE_WE_AR, K2, 0, 0));
    img_desc(want + 8, K1, false, true, PR_TYPE_WE_AR, 1, 'A');
    img_desc(want + 8 + DESC_LEN, K2, false, true, PR_TYPE_WE_AR, 2, 'B');
    expect_prin(lun, &a, PR_IN_READ_FULL_STATUS, want, sizeof(want));

    /* sg_persist walks with ADDITIONAL DESCRIPTOR LENGTH at offset 20. */
    size_t off = 8, n = 0;
    while (off + 24 <= 8 + scsi_get_be32(inbuf + 4)) {
        off += 24 + scsi_get_be32(inbuf + off + 20);
        n++;
    }
    assert_int_equal(n, 2);
    assert_int_equal(off, sizeof(want));
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -H: the untruncated ADDITIONAL LENGTH                                      */
/* ======================================================================== */

static void test_sg_persist_hex_additional_length(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_lun *lun = th_lun(p);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
    struct pr_sim_result r;

    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, 0, K2, 0));
    assert_good(sg_basic(lun, &c, PR_OUT_REGISTER, 0, 0, K3, 0));

    /* READ KEYS -l 16: ADDITIONAL LENGTH 24 > alloc - 8 ("too large,
     * truncate"): full length in both profiles (D2 is off in lio). */
    r = sg_prin(lun, &a, PR_IN_READ_KEYS, 16);
    assert_good(r);
    static const uint8_t rk16[16] = { 0, 0, 0, 3, 0, 0, 0, 24, 1, 2, 3, 4, 5, 6, 7, 8 };
    expect_bytes(inbuf, r.data_len, rk16, sizeof(rk16));

    /* READ FULL STATUS -l 32: SPC keeps ADDITIONAL LENGTH = 3 descriptors;
     * LIO (D4) counts only the returned ones: none fits. */
    r = sg_prin(lun, &a, PR_IN_READ_FULL_STATUS, 32);
    assert_good(r);
    uint8_t full[8 + DESC_LEN];
    img_fs_header(full, 3, TH_IS_LIO(p) ? 0 : 3);
    img_desc(full + 8, K1, false, false, 0, 1, 'A');
    if (!TH_IS_LIO(p)) {
        expect_bytes(inbuf, r.data_len, full, 32);
    } else {
        assert_true(r.data_len >= 8 && r.data_len <= 32);
        expect_bytes(inbuf, 8, full, 8);
        for (size_t i = 8; i < r.data_len; i++)
            assert_int_equal(inbuf[i], 0);
    }
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -l LEN / -m LEN: allocation lengths, section 2.2, D1-D4                    */
/* ======================================================================== */

/* Two registrations (A on port 1, B on port 2), A holds WE_RO. */
static struct pr_sim_lun *sweep_lun(enum pr_sim_profile p, struct pr_sim_nexus *a,
                                    struct pr_sim_nexus *b)
{
    struct pr_sim_lun *lun = th_lun(p);
    *a = th_nexus('A', 1);
    *b = th_nexus('B', 2);
    assert_good(sg_basic(lun, a, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, b, PR_OUT_REGISTER, 0, 0, K2, 0));
    assert_good(sg_basic(lun, a, PR_OUT_RESERVE, PR_TYPE_WE_RO, K1, 0, 0));
    return lun;
}

static void expect_truncated(struct pr_sim_result r, uint16_t alloc, const uint8_t *full,
                             size_t full_len)
{
    assert_good(r);
    size_t n = alloc < full_len ? alloc : full_len;
    expect_bytes(inbuf, r.data_len, full, n);
}

/* Generic SPC sweep for allocation lengths 0 .. full_len + 8. */
static void sweep_spc(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint8_t sa,
                      const uint8_t *full, size_t full_len)
{
    for (uint16_t alloc = 0; alloc <= full_len + 8; alloc++)
        expect_truncated(sg_prin(lun, n, sa, alloc), alloc, full, full_len);
}

static void test_sg_persist_alloc_len_read_keys(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = sweep_lun(p, &a, &b);
    uint8_t full[24];
    size_t len = img_keys(full, 2, 2, (const uint64_t[]){ K1, K2 });

    if (!TH_IS_LIO(p)) {
        sweep_spc(lun, &a, PR_IN_READ_KEYS, full, len);
    } else {
        for (uint16_t alloc = 0; alloc <= len + 8; alloc++) {
            struct pr_sim_result r = sg_prin(lun, &a, PR_IN_READ_KEYS, alloc);
            if (alloc < 8) /* D1 */
                assert_check(r, SENSE_INVALID_FIELD_IN_CDB);
            else /* D2 off: full ADDITIONAL LENGTH */
                expect_truncated(r, alloc, full, len);
        }
    }
    /* No registrations: 8 bytes. */
    pr_sim_lun_free(lun);
    lun = th_lun(p);
    img_keys(full, 0, 0, NULL);
    for (uint16_t alloc = TH_IS_LIO(p) ? 8 : 0; alloc <= 24; alloc++)
        expect_truncated(sg_prin(lun, &a, PR_IN_READ_KEYS, alloc), alloc, full, 8);
    pr_sim_lun_free(lun);
}

static void test_sg_persist_alloc_len_read_reservation(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = sweep_lun(p, &a, &b);
    uint8_t full[24];
    size_t len = img_resv(full, 2, K1, PR_TYPE_WE_RO);

    if (!TH_IS_LIO(p)) {
        sweep_spc(lun, &b, PR_IN_READ_RESERVATION, full, len);
    } else {
        for (uint16_t alloc = 0; alloc <= len + 8; alloc++) {
            struct pr_sim_result r = sg_prin(lun, &b, PR_IN_READ_RESERVATION, alloc);
            if (alloc < 8) { /* D1 */
                assert_check(r, SENSE_INVALID_FIELD_IN_CDB);
            } else if (alloc <= 21) { /* D3: header right, key bytes zero */
                assert_good(r);
                uint8_t want[24];
                memset(want, 0, sizeof(want));
                memcpy(want, full, 8);
                expect_bytes(inbuf, r.data_len, want, alloc);
            } else {
                expect_truncated(r, alloc, full, len);
            }
        }
    }
    /* No reservation: 8 bytes. */
    assert_good(sg_basic(lun, &a, PR_OUT_RELEASE, PR_TYPE_WE_RO, K1, 0, 0));
    len = img_resv(full, 2, 0, PR_TYPE_NONE);
    for (uint16_t alloc = TH_IS_LIO(p) ? 8 : 0; alloc <= 24; alloc++)
        expect_truncated(sg_prin(lun, &a, PR_IN_READ_RESERVATION, alloc), alloc, full, len);
    pr_sim_lun_free(lun);
}

static void test_sg_persist_alloc_len_report_capabilities(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = sweep_lun(p, &a, &b);

    for (uint16_t alloc = 0; alloc <= 24; alloc++) {
        struct pr_sim_result r = sg_prin(lun, &b, PR_IN_REPORT_CAPABILITIES, alloc);
        if (TH_IS_LIO(p) && alloc < 6) /* D1: REPORT CAPABILITIES below 6 */
            assert_check(r, SENSE_INVALID_FIELD_IN_CDB);
        else
            expect_truncated(r, alloc, caps_default, sizeof(caps_default));
    }
    pr_sim_lun_free(lun);
}

static void test_sg_persist_alloc_len_read_full_status(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_nexus a, b;
    struct pr_sim_lun *lun = sweep_lun(p, &a, &b);
    uint8_t full[8 + 2 * DESC_LEN];
    img_fs_header(full, 2, 2);
    img_desc(full + 8, K1, false, true, PR_TYPE_WE_RO, 1, 'A');
    img_desc(full + 8 + DESC_LEN, K2, false, false, 0, 2, 'B');

    if (!TH_IS_LIO(p)) {
        sweep_spc(lun, &b, PR_IN_READ_FULL_STATUS, full, sizeof(full));
    } else {
        for (uint16_t alloc = 0; alloc <= sizeof(full) + 8; alloc++) {
            struct pr_sim_result r = sg_prin(lun, &b, PR_IN_READ_FULL_STATUS, alloc);
            if (alloc < 8) { /* D1 */
                assert_check(r, SENSE_INVALID_FIELD_IN_CDB);
                continue;
            }
            /* D4 as real LIO does it (seen through the lab's differential
             * test, 6.1 kernel): a descriptor is counted while ADDITIONAL
             * LENGTH so far + its TransportID length <= the allocation
             * length; the transfer is then cut at the allocation length. */
            assert_good(r);
            size_t tidlen = DESC_LEN - 24, fit = 0;
            while (fit < 2 && fit * DESC_LEN + tidlen <= alloc)
                fit++;
            uint8_t want[sizeof(full)];
            memcpy(want, full, sizeof(full));
            scsi_put_be32(want + 4, (uint32_t)(fit * DESC_LEN));
            size_t used = 8 + fit * DESC_LEN;
            if (used > alloc)
                used = alloc;
            if (r.data_len != used)
                fail_msg("alloc %u: transferred %u, want %zu", alloc, r.data_len, used);
            expect_bytes(inbuf, used, want, used);
            for (size_t i = used; i < r.data_len; i++)
                assert_int_equal(inbuf[i], 0);
        }
    }
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* PR OUT length field: 16-bit (sg_persist) vs 32-bit (bytes 5-8)             */
/* ======================================================================== */

static void test_sg_persist_prout_length_is_32_bit(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_lun *lun = th_lun(p);
    struct pr_sim_nexus a = th_nexus('A', 1);
    struct pr_sim_result r;

    /* sg_persist form (00 00 | 00 18) and libiscsi form decode alike. */
    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));
    expect_keys(lun, &a, 1, 1, (const uint64_t[]){ K1 });

    /* Bytes 5-8 = 00 01 00 18 is 65560, not 24: a device that read only
     * bytes 7-8 would accept it.  Section 3.1/3.3: the 32-bit value is not
     * 24 and SPEC_I_PT=0 -> PARAMETER LIST LENGTH ERROR; nothing changes. */
    static uint8_t big[0x10018];
    memset(big, 0, sizeof(big));
    scsi_put_be64(big, K1);
    scsi_put_be64(big + 8, K2);
    static const uint8_t cdb[10] = { 0x5f, 0x00, 0, 0, 0, 0x00, 0x01, 0x00, 0x18, 0 };
    pr_sim_execute(lun, &a, cdb, 10, big, sizeof(big), NULL, 0, &r);
    assert_check(r, SENSE_PARAM_LIST_LENGTH_ERROR);
    expect_keys(lun, &a, 1, 1, (const uint64_t[]){ K1 });
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -s: TransportIDs of other protocols (FCP, SAS) and iSCSI format 00b        */
/* ======================================================================== */

/* A READ FULL STATUS descriptor's fixed part for key on port rtpi, with a
 * 24-byte TransportID whose first byte is tid_byte0. */
static void fs_desc_24(uint8_t *d, uint64_t key, uint16_t rtpi, uint8_t tid_byte0)
{
    scsi_put_be64(d, key);
    scsi_put_be16(d + 18, rtpi);
    scsi_put_be32(d + 20, 24);
    d[24 + 0] = tid_byte0;
}

static void test_sg_persist_read_full_status_transport_ids(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    assert_int_equal(pr_sim_lun_add_port(lun, 3, PR_TID_PROTO_FCP), 0);
    assert_int_equal(pr_sim_lun_add_port(lun, 4, PR_TID_PROTO_SAS), 0);
    struct pr_sim_nexus f, s, n;
    memset(&f, 0, sizeof(f));
    memset(&s, 0, sizeof(s));
    memset(&n, 0, sizeof(n));
    f.initiator = pr_tid_fcp(0x21000024ff7a1b2cULL);
    f.rtpi = 3;
    s.initiator = pr_tid_sas(0x5000c50012345678ULL);
    s.rtpi = 4;
    n.initiator = pr_tid_iscsi("iqn.2026-11.test:N", NULL); /* no ISID */
    n.rtpi = 1;

    assert_good(sg_basic(lun, &f, PR_OUT_REGISTER, 0, 0, K1, 0));
    assert_good(sg_basic(lun, &s, PR_OUT_REGISTER, 0, 0, K2, 0));
    assert_good(sg_basic(lun, &n, PR_OUT_REGISTER, 0, 0, K3, 0));
    assert_good(sg_basic(lun, &s, PR_OUT_RESERVE, PR_TYPE_EA_RO, K2, 0, 0));

    /* Descriptor = 24 + TransportID; FCP and SAS TransportIDs are 24
     * bytes; the iSCSI 00b one is 4 + "iqn.2026-11.test:N" + NUL padded
     * to 20 = 24 bytes (section 2.6). */
    uint8_t want[8 + 3 * 48];
    memset(want, 0, sizeof(want));
    scsi_put_be32(want, 3);
    scsi_put_be32(want + 4, 3 * 48);
    uint8_t *d = want + 8;
    /* FCP: byte 0 = 00h, N_PORT_NAME in bytes 8-15. */
    fs_desc_24(d, K1, 3, 0x00);
    scsi_put_be64(d + 24 + 8, 0x21000024ff7a1b2cULL);
    d += 48;
    /* SAS: byte 0 = 06h, SAS address in bytes 4-11; the EA_RO holder. */
    fs_desc_24(d, K2, 4, 0x06);
    d[12] = PR_FULL_STATUS_R_HOLDER;
    d[13] = PR_TYPE_EA_RO;
    scsi_put_be64(d + 24 + 4, 0x5000c50012345678ULL);
    d += 48;
    /* iSCSI format 00b: byte 0 = 05h, ADDITIONAL LENGTH 20, the name. */
    fs_desc_24(d, K3, 1, 0x05);
    d[24 + 3] = 20;
    memcpy(d + 24 + 4, "iqn.2026-11.test:N", 18);
    expect_prin(lun, &s, PR_IN_READ_FULL_STATUS, want, sizeof(want));
    pr_sim_lun_free(lun);
}

/* The remaining fixed-size TransportIDs sg_persist -s decodes (2.6). */
static void test_sg_persist_read_full_status_transport_ids_spi_sbp_srp_sop(void **state)
{
    struct pr_sim_lun *lun = th_lun(TH_PROFILE(state));
    static const uint8_t protos[4] = { PR_TID_PROTO_SPI, PR_TID_PROTO_SBP, PR_TID_PROTO_SRP,
                                       PR_TID_PROTO_SOP };
    struct pr_sim_nexus nx[4];
    for (size_t i = 0; i < 4; i++) {
        uint16_t rtpi = (uint16_t)(10 + i);
        assert_int_equal(pr_sim_lun_add_port(lun, rtpi, (enum pr_tid_protocol)protos[i]), 0);
        memset(&nx[i], 0, sizeof(nx[i]));
        nx[i].initiator.proto = protos[i];
        nx[i].rtpi = rtpi;
        for (size_t j = 0; j < 16; j++)
            nx[i].initiator.id[j] = (uint8_t)(0x10 * (i + 1) + j);
        if (protos[i] == PR_TID_PROTO_SPI)
            nx[i].initiator.spi_rtpi = 0x0a0b;
        assert_good(sg_basic(lun, &nx[i], PR_OUT_REGISTER, 0, 0, K1 + i, 0));
    }

    uint8_t want[8 + 4 * 48];
    memset(want, 0, sizeof(want));
    scsi_put_be32(want, 4);
    scsi_put_be32(want + 4, 4 * 48);
    for (size_t i = 0; i < 4; i++) {
        uint8_t *d = want + 8 + 48 * i, *t = d + 24;
        const uint8_t *id = nx[i].initiator.id;
        scsi_put_be64(d, K1 + i);
        scsi_put_be16(d + 18, nx[i].rtpi);
        scsi_put_be32(d + 20, 24);
        t[0] = protos[i];
        switch (protos[i]) {
        case PR_TID_PROTO_SPI: /* SCSI address 2-3, relative port id 6-7 */
            memcpy(t + 2, id, 2);
            scsi_put_be16(t + 6, 0x0a0b);
            break;
        case PR_TID_PROTO_SBP: /* EUI-64 8-15 */
            memcpy(t + 8, id, 8);
            break;
        case PR_TID_PROTO_SRP: /* initiator port identifier 8-23 */
            memcpy(t + 8, id, 16);
            break;
        case PR_TID_PROTO_SOP: /* routing id 2-3 */
            memcpy(t + 2, id, 2);
            break;
        }
    }
    expect_prin(lun, &nx[0], PR_IN_READ_FULL_STATUS, want, sizeof(want));
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* -X iqn... without ",i,0x": an iSCSI format 00b TransportID in SPEC_I_PT    */
/* ======================================================================== */

static void test_sg_persist_register_spec_i_pt_name_only(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_lun *lun = th_lun(p);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1), c = th_nexus('C', 1);
    struct pr_sim_nexus b_other = b; /* a second session (ISID) of B */
    static const uint8_t isid2[6] = { 0x23, 0xd0, 0, 0, 0, 0x99 };
    b_other.initiator = pr_tid_iscsi("iqn.2026-11.test:B", isid2);
    assert_good(th_tur(lun, &b));
    assert_good(th_tur(lun, &b_other));

    uint8_t param[28 + 24];
    memset(param, 0, sizeof(param));
    scsi_put_be64(param + 8, K1);
    param[20] = PR_OUT_FLAG_SPEC_I_PT;
    scsi_put_be32(param + 24, 24);
    param[28] = 0x05; /* iSCSI, format 00b */
    param[31] = 20;
    memcpy(param + 32, "iqn.2026-11.test:B", 18);
    assert_good(sg_prout(lun, &a, PR_OUT_REGISTER, 0, param, sizeof(param)));

    /*
     * Section 1.1 simulator rule: a name-only TransportID means "every port
     * of that initiator device on the chosen target port", and section 2.3
     * (SPC): one READ KEYS entry per registered I_T nexus.  So in spc4 the
     * sender and both B sessions are three registrations, PRgeneration +1
     * once for the command, and each B session's registration is its own:
     * a key change from one session leaves the other's key alone.
     */
    if (!TH_IS_LIO(p)) {
        expect_keys(lun, &c, 1, 3, (const uint64_t[]){ K1, K1, K1 });
        assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, K1, K2, 0));
        assert_good(sg_basic(lun, &b_other, PR_OUT_REGISTER, 0, K1, K3, 0));
        struct th_keys k = th_read_keys(lun, &c);
        assert_int_equal(k.generation, 3);
        assert_int_equal(k.count, 3);
        unsigned seen = 0;
        for (uint32_t i = 0; i < k.count; i++)
            seen |= k.keys[i] == K1 ? 1u : k.keys[i] == K2 ? 2u : k.keys[i] == K3 ? 4u : 8u;
        assert_int_equal(seen, 7);
    } else {
        /* lio: the doc does not fix how LIO-with-D19 represents a name-only
         * registration (one per node ACL vs one per session); assert only
         * that B's session is registered (a key change is GOOD). */
        uint32_t g0 = pr_sim_generation(lun);
        assert_good(sg_basic(lun, &b, PR_OUT_REGISTER, 0, K1, K2, 0));
        assert_int_equal(pr_sim_generation(lun), g0 + 1);
    }
    pr_sim_lun_free(lun);
}

/* ======================================================================== */
/* error messages / exit statuses: the device answers behind them             */
/* ======================================================================== */

static void test_sg_persist_error_answers(void **state)
{
    enum pr_sim_profile p = TH_PROFILE(state);
    struct pr_sim_lun *lun = th_lun(p);
    struct pr_sim_nexus a = th_nexus('A', 1), b = th_nexus('B', 1);

    /* exit 2 NOT READY (lio D8) / 24 RESERVATION CONFLICT (spc4):
     * RESERVE from an unregistered nexus, nothing reserved. */
    struct pr_sim_result r = sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_WE, 0, 0, 0);
    if (TH_IS_LIO(p))
        assert_check(r, SENSE_LUN_COMM_FAILURE);
    else
        assert_conflict(r);

    assert_good(sg_basic(lun, &a, PR_OUT_REGISTER, 0, 0, K1, 0));

    /* exit 24 "reservation conflict": REGISTER with the wrong -K. */
    assert_conflict(sg_basic(lun, &a, PR_OUT_REGISTER, 0, K2, K3, 0));

    /* exit 5 "bad field in cdb": PR IN service action 05h, RESERVE with an
     * obsolete type (2h), PR OUT service action 09h. */
    assert_check(sg_prin(lun, &a, 0x05, 8192), SENSE_INVALID_FIELD_IN_CDB);
    assert_check(sg_basic(lun, &a, PR_OUT_RESERVE, 0x2, K1, 0, 0), SENSE_INVALID_FIELD_IN_CDB);
    assert_check(sg_basic(lun, &a, 0x09, 0, K1, 0, 0), SENSE_INVALID_FIELD_IN_CDB);

    /* exit 5 (ILLEGAL REQUEST): a 20-byte list is a PARAMETER LIST
     * LENGTH ERROR (D9 off in lio). */
    uint8_t shortlist[20];
    memset(shortlist, 0, sizeof(shortlist));
    scsi_put_be64(shortlist, K1);
    assert_check(sg_prout(lun, &a, PR_OUT_REGISTER, 0, shortlist, sizeof(shortlist)),
                 SENSE_PARAM_LIST_LENGTH_ERROR);

    /* exit 19 "bad field parameter list": PREEMPT with -S 0 and no
     * reservation (3.8), SPEC_I_PT on a non-REGISTER service action. */
    assert_check(sg_basic(lun, &a, PR_OUT_PREEMPT, PR_TYPE_WE, K1, 0, 0),
                 SENSE_INVALID_FIELD_IN_PARAM);
    assert_check(sg_basic(lun, &a, PR_OUT_RESERVE, PR_TYPE_WE, K1, 0, PR_OUT_FLAG_SPEC_I_PT),
                 SENSE_INVALID_FIELD_IN_PARAM);

    /* None of the errors changed anything. */
    expect_keys(lun, &a, 1, 1, (const uint64_t[]){ K1 });
    expect_resv(lun, &a, 1, 0, PR_TYPE_NONE);

    /* exit 6 UNIT ATTENTION: the INQUIRY sg_persist sends first neither
     * reports nor clears it; the PR IN gets it, once. */
    assert_int_equal(pr_sim_queue_ua(lun, &b, SENSE_UA_RESERVATIONS_PREEMPTED), 0);
    assert_good(inquiry(lun, &b));
    assert_check(sg_prin(lun, &b, PR_IN_READ_KEYS, 8192), SENSE_UA_RESERVATIONS_PREEMPTED);
    expect_keys(lun, &b, 1, 1, (const uint64_t[]){ K1 });

    /* exit 9 "command not supported" would need INVALID COMMAND OPERATION
     * CODE: PR IN/OUT are always supported, so it must never appear. */
    r = sg_prin(lun, &b, PR_IN_READ_KEYS, 8192);
    assert_int_equal(r.status, SCSI_STATUS_GOOD);
    pr_sim_lun_free(lun);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_sg_persist_read_keys_default),
        TH_BOTH(test_sg_persist_read_reservation_each_type),
        TH_BOTH(test_sg_persist_worked_examples),
        TH_BOTH(test_sg_persist_report_capabilities),
        TH_BOTH(test_sg_persist_register_aptpl),
        TH_BOTH(test_sg_persist_register_all_tg_pt),
        TH_BOTH(test_sg_persist_register_spec_i_pt),
        TH_BOTH(test_sg_persist_register_and_ignore),
        TH_BOTH(test_sg_persist_clear),
        TH_BOTH(test_sg_persist_preempt),
        TH_BOTH(test_sg_persist_preempt_and_abort),
        TH_BOTH(test_sg_persist_preempt_and_abort_all_registrants_zero_key),
        TH_BOTH(test_sg_persist_register_and_move),
        TH_BOTH(test_sg_persist_register_and_move_unreg_aptpl),
        TH_BOTH(test_sg_persist_replace_lost_reservation),
        TH_BOTH(test_sg_persist_read_full_status),
        TH_BOTH(test_sg_persist_hex_additional_length),
        TH_BOTH(test_sg_persist_alloc_len_read_keys),
        TH_BOTH(test_sg_persist_alloc_len_read_reservation),
        TH_BOTH(test_sg_persist_alloc_len_report_capabilities),
        TH_BOTH(test_sg_persist_alloc_len_read_full_status),
        TH_BOTH(test_sg_persist_prout_length_is_32_bit),
        TH_BOTH(test_sg_persist_read_full_status_transport_ids),
        TH_BOTH(test_sg_persist_read_full_status_transport_ids_spi_sbp_srp_sop),
        TH_BOTH(test_sg_persist_register_spec_i_pt_name_only),
        TH_BOTH(test_sg_persist_error_answers),
    };
    return cmocka_run_group_tests_name("pr_sim.sg_persist", tests, NULL, NULL);
}
