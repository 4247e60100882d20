/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_transport_id.c - SCSI TransportIDs (include/prhelper/transport_id.h,
 * SPC-4 7.6.4, pr-semantics.md 2.6): exact byte layouts of every supported
 * protocol, the iSCSI ADDITIONAL LENGTH rules, identity comparisons and
 * the human form.  One test per behaviour.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_table.h"

#include "prhelper/scsi.h"
#include "prhelper/transport_id.h"

static const uint8_t ISID1[6] = { 0x23, 0xd0, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t ISID2[6] = { 0x23, 0xd0, 0x00, 0x00, 0x00, 0x02 };

/* Parse must succeed, consume exactly len bytes. */
static struct pr_tid parse_ok(const uint8_t *buf, size_t len)
{
    struct pr_tid t;
    size_t used = 12345;
    int rc = pr_tid_parse(buf, len, &t, &used);
    if (rc != 0)
        fail_msg("pr_tid_parse returned %d, want 0", rc);
    assert_int_equal(used, len);
    return t;
}

static void expect_parse_rejected(const uint8_t *buf, size_t len)
{
    struct pr_tid t;
    size_t used = 12345;
    assert_int_equal(pr_tid_parse(buf, len, &t, &used), -EINVAL);
}

/* An iSCSI TransportID: byte 0, ADDITIONAL LENGTH addlen, then text
 * (copied without its NUL; the rest is zero). */
static size_t make_iscsi(uint8_t *buf, size_t cap, uint8_t byte0, uint16_t addlen, const char *text)
{
    memset(buf, 0, cap);
    buf[0] = byte0;
    scsi_put_be16(buf + 2, addlen);
    size_t n = strlen(text);
    assert_true(4 + n <= cap);
    memcpy(buf + 4, text, n);
    return 4 + (size_t)addlen;
}

/* ---- FCP ---------------------------------------------------------------- */

static void test_fcp_build_puts_wwpn_at_bytes_8_to_15(void **state)
{
    (void)state;
    struct pr_tid t = pr_tid_fcp(0x21000024ff3c4d5eull);
    uint8_t buf[PR_TID_MAX_LEN];
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 24);
    uint8_t want[24] = { 0 };
    want[0] = 0x00;
    scsi_put_be64(want + 8, 0x21000024ff3c4d5eull);
    assert_memory_equal(buf, want, 24);
}

static void test_fcp_parse_reads_wwpn_from_bytes_8_to_15(void **state)
{
    (void)state;
    uint8_t b[24] = { 0 };
    scsi_put_be64(b + 8, 0x500143802426baf4ull);
    struct pr_tid t = parse_ok(b, sizeof(b));
    assert_int_equal(t.proto, PR_TID_PROTO_FCP);
    assert_int_equal(t.format, 0);
    assert_false(t.has_isid);
    assert_true(scsi_get_be64(t.id) == 0x500143802426baf4ull);
    struct pr_tid want = pr_tid_fcp(0x500143802426baf4ull);
    assert_true(pr_tid_equal(&t, &want));
}

/* ---- SPI ---------------------------------------------------------------- */

static void test_spi_build_puts_address_at_2_and_rtpi_at_6(void **state)
{
    (void)state;
    struct pr_tid t;
    memset(&t, 0, sizeof(t));
    t.proto = PR_TID_PROTO_SPI;
    scsi_put_be16(t.id, 0x0007);
    t.spi_rtpi = 0x0102;
    uint8_t buf[PR_TID_MAX_LEN];
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 24);
    uint8_t want[24] = { 0x01, 0, 0x00, 0x07, 0, 0, 0x01, 0x02 };
    assert_memory_equal(buf, want, 24);
}

static void test_spi_parse_reads_address_and_rtpi(void **state)
{
    (void)state;
    uint8_t b[24] = { 0x01, 0, 0x00, 0x05, 0, 0, 0x00, 0x03 };
    struct pr_tid t = parse_ok(b, sizeof(b));
    assert_int_equal(t.proto, PR_TID_PROTO_SPI);
    assert_int_equal(scsi_get_be16(t.id), 5);
    assert_int_equal(t.spi_rtpi, 3);
}

/* ---- SBP ---------------------------------------------------------------- */

static void test_sbp_build_and_parse_eui64_at_bytes_8_to_15(void **state)
{
    (void)state;
    uint8_t b[24] = { 0x03 };
    scsi_put_be64(b + 8, 0x0011223344556677ull);
    struct pr_tid t = parse_ok(b, sizeof(b));
    assert_int_equal(t.proto, PR_TID_PROTO_SBP);
    assert_true(scsi_get_be64(t.id) == 0x0011223344556677ull);
    uint8_t out[PR_TID_MAX_LEN];
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(pr_tid_build(&t, out, sizeof(out)), 24);
    assert_memory_equal(out, b, 24);
}

/* ---- SRP ---------------------------------------------------------------- */

static void test_srp_build_and_parse_16_byte_port_id_at_bytes_8_to_23(void **state)
{
    (void)state;
    uint8_t b[24] = { 0x04 };
    for (int i = 0; i < 16; i++)
        b[8 + i] = (uint8_t)(0xf0 + i);
    struct pr_tid t = parse_ok(b, sizeof(b));
    assert_int_equal(t.proto, PR_TID_PROTO_SRP);
    assert_memory_equal(t.id, b + 8, 16);
    uint8_t out[PR_TID_MAX_LEN];
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(pr_tid_build(&t, out, sizeof(out)), 24);
    assert_memory_equal(out, b, 24);
}

/* ---- SAS ---------------------------------------------------------------- */

static void test_sas_build_puts_address_at_bytes_4_to_11(void **state)
{
    (void)state;
    struct pr_tid t = pr_tid_sas(0x5000c50012345678ull);
    uint8_t buf[PR_TID_MAX_LEN];
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 24);
    uint8_t want[24] = { 0x06 };
    scsi_put_be64(want + 4, 0x5000c50012345678ull);
    assert_memory_equal(buf, want, 24);
}

static void test_sas_parse_reads_address_from_bytes_4_to_11(void **state)
{
    (void)state;
    uint8_t b[24] = { 0x06 };
    scsi_put_be64(b + 4, 0x5000c50012345678ull);
    struct pr_tid t = parse_ok(b, sizeof(b));
    assert_int_equal(t.proto, PR_TID_PROTO_SAS);
    struct pr_tid want = pr_tid_sas(0x5000c50012345678ull);
    assert_true(pr_tid_equal(&t, &want));
}

/* ---- SOP ---------------------------------------------------------------- */

static void test_sop_build_and_parse_routing_id_at_bytes_2_to_3(void **state)
{
    (void)state;
    uint8_t b[24] = { 0x0a, 0, 0x12, 0x34 };
    struct pr_tid t = parse_ok(b, sizeof(b));
    assert_int_equal(t.proto, PR_TID_PROTO_SOP);
    assert_int_equal(scsi_get_be16(t.id), 0x1234);
    uint8_t out[PR_TID_MAX_LEN];
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(pr_tid_build(&t, out, sizeof(out)), 24);
    assert_memory_equal(out, b, 24);
}

/* ---- fixed-length rules -------------------------------------------------- */

static void test_fixed_length_protocols_need_24_bytes(void **state)
{
    (void)state;
    static const uint8_t protos[] = { 0x0, 0x1, 0x3, 0x4, 0x6, 0xa };
    for (size_t i = 0; i < sizeof(protos); i++) {
        uint8_t *b = calloc(1, 23);
        assert_non_null(b);
        b[0] = protos[i];
        expect_parse_rejected(b, 23);
        free(b);
    }
    uint8_t z[1] = { 0 };
    expect_parse_rejected(z, 0);
}

static void test_fixed_length_parse_consumes_exactly_24_of_a_longer_buffer(void **state)
{
    (void)state;
    uint8_t b[48] = { 0x06 };
    scsi_put_be64(b + 4, 1);
    b[24] = 0x06;
    scsi_put_be64(b + 28, 2);
    struct pr_tid t;
    size_t used;
    assert_int_equal(pr_tid_parse(b, sizeof(b), &t, &used), 0);
    assert_int_equal(used, 24);
    assert_true(scsi_get_be64(t.id) == 1);
    assert_int_equal(pr_tid_parse(b + used, sizeof(b) - used, &t, &used), 0);
    assert_true(scsi_get_be64(t.id) == 2);
}

static void test_unsupported_protocols_are_rejected(void **state)
{
    (void)state;
    /* SSA, ADT, ATA, UAS, PCIe, reserved Ch-Eh, none Fh. */
    static const uint8_t protos[] = { 0x2, 0x7, 0x8, 0x9, 0xb, 0xc, 0xd, 0xe, 0xf };
    for (size_t i = 0; i < sizeof(protos); i++) {
        uint8_t b[PR_TID_MAX_LEN] = { 0 };
        b[0] = protos[i];
        scsi_put_be16(b + 2, 20);
        expect_parse_rejected(b, sizeof(b));
    }
}

static void test_nonzero_format_code_rejected_for_fixed_protocols(void **state)
{
    (void)state;
    static const uint8_t protos[] = { 0x0, 0x1, 0x3, 0x4, 0x6, 0xa };
    for (size_t i = 0; i < sizeof(protos); i++)
        for (unsigned fmt = 1; fmt < 4; fmt++) {
            uint8_t b[24] = { 0 };
            b[0] = (uint8_t)(fmt << 6 | protos[i]);
            b[8] = 1;
            expect_parse_rejected(b, sizeof(b));
        }
}

static void test_iscsi_format_codes_10b_and_11b_are_rejected(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = make_iscsi(b, sizeof(b), 0x85, 24, "iqn.2026-11.test:a");
    expect_parse_rejected(b, n);
    n = make_iscsi(b, sizeof(b), 0xc5, 24, "iqn.2026-11.test:a");
    expect_parse_rejected(b, n);
}

static void test_build_rejects_unsupported_protocol(void **state)
{
    (void)state;
    static const uint8_t protos[] = { 0x2, 0x7, 0x8, 0x9, 0xb, 0xf };
    for (size_t i = 0; i < sizeof(protos); i++) {
        struct pr_tid t;
        memset(&t, 0, sizeof(t));
        t.proto = protos[i];
        t.id[0] = 1;
        uint8_t buf[PR_TID_MAX_LEN];
        assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 0);
    }
}

static void test_build_rejects_buffer_smaller_than_24(void **state)
{
    (void)state;
    struct pr_tid t = pr_tid_sas(1);
    uint8_t buf[24];
    assert_int_equal(pr_tid_build(&t, buf, 23), 0);
    assert_int_equal(pr_tid_build(&t, buf, 24), 24);
}

/* ---- iSCSI format 00b ------------------------------------------------- */

static void test_iscsi_name_only_build_layout(void **state)
{
    (void)state;
    /* 22 chars + NUL = 23, padded to 24. */
    struct pr_tid t = pr_tid_iscsi("iqn.2026-11.test:abcde", NULL);
    uint8_t buf[PR_TID_MAX_LEN];
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 28);
    uint8_t want[28] = { 0x05, 0x00, 0x00, 24 };
    memcpy(want + 4, "iqn.2026-11.test:abcde", 22);
    assert_memory_equal(buf, want, sizeof(want));
}

static void test_iscsi_build_pads_additional_length_to_multiple_of_4(void **state)
{
    (void)state;
    /* name lengths 19..26: text with NUL 20..27 -> 20, 24, 24, 24, 24, 28, 28, 28 */
    char name[64];
    for (size_t len = 19; len <= 26; len++) {
        memset(name, 'x', len);
        memcpy(name, "iqn.", 4);
        name[len] = '\0';
        struct pr_tid t = pr_tid_iscsi(name, NULL);
        uint8_t buf[PR_TID_MAX_LEN];
        size_t n = pr_tid_build(&t, buf, sizeof(buf));
        size_t addlen = (len + 1 + 3) / 4 * 4;
        assert_int_equal(n, 4 + addlen);
        assert_int_equal(scsi_get_be16(buf + 2), addlen);
        assert_int_equal(buf[4 + len], 0);
        for (size_t i = 4 + len; i < n; i++)
            assert_int_equal(buf[i], 0);
    }
}

static void test_iscsi_build_short_name_gets_minimum_additional_length_20(void **state)
{
    (void)state;
    struct pr_tid t = pr_tid_iscsi("iqn.a", NULL);
    uint8_t buf[PR_TID_MAX_LEN];
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 24);
    assert_int_equal(scsi_get_be16(buf + 2), 20);
    uint8_t want[24] = { 0x05, 0, 0, 20, 'i', 'q', 'n', '.', 'a' };
    assert_memory_equal(buf, want, sizeof(want));
}

static void test_iscsi_name_only_parse(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = make_iscsi(b, sizeof(b), 0x05, 24, "iqn.2026-11.test:abcde");
    struct pr_tid t = parse_ok(b, n);
    assert_int_equal(t.proto, PR_TID_PROTO_ISCSI);
    assert_int_equal(t.format, 0);
    assert_false(t.has_isid);
    assert_string_equal(t.name, "iqn.2026-11.test:abcde");
}

static void test_iscsi_parse_consumes_4_plus_additional_length(void **state)
{
    (void)state;
    uint8_t b[128];
    make_iscsi(b, sizeof(b), 0x05, 40, "iqn.a");
    b[44] = 0x06; /* a SAS TransportID follows */
    scsi_put_be64(b + 48, 0x77);
    struct pr_tid t;
    size_t used;
    assert_int_equal(pr_tid_parse(b, 44 + 24, &t, &used), 0);
    assert_int_equal(used, 44);
    assert_string_equal(t.name, "iqn.a");
    assert_int_equal(pr_tid_parse(b + used, 24, &t, &used), 0);
    assert_int_equal(t.proto, PR_TID_PROTO_SAS);
}

/*
 * iSCSI TransportIDs parse refuses (SPC-4 7.6.4.6): one row each, the
 * TransportID as make_iscsi() writes it (byte 0: 05h name only, 45h with
 * ISID; ADDITIONAL LENGTH; the text, without its NUL) and the bytes handed
 * to the parser (0: the TransportID's own 4 + ADDITIONAL LENGTH).
 */
#define TID7646(name) { (name), "SPC-4 7.6.4.6" }
static const struct iscsi_reject_row {
    struct th_rule_id id;
    uint8_t byte0;
    uint16_t addlen;
    const char *text;
    size_t len;
} iscsi_rejects[] = {
    { TID7646("iscsi_additional_length_21_not_a_multiple_of_4"), 0x05, 21, "iqn.a", 64 },
    { TID7646("iscsi_additional_length_22_not_a_multiple_of_4"), 0x05, 22, "iqn.a", 64 },
    { TID7646("iscsi_additional_length_23_not_a_multiple_of_4"), 0x05, 23, "iqn.a", 64 },
    { TID7646("iscsi_additional_length_25_not_a_multiple_of_4"), 0x05, 25, "iqn.a", 64 },
    { TID7646("iscsi_additional_length_27_not_a_multiple_of_4"), 0x05, 27, "iqn.a", 64 },
    { TID7646("iscsi_additional_length_0_below_20"), 0x05, 0, "iqn", 64 },
    { TID7646("iscsi_additional_length_4_below_20"), 0x05, 4, "iqn", 64 },
    { TID7646("iscsi_additional_length_8_below_20"), 0x05, 8, "iqn", 64 },
    { TID7646("iscsi_additional_length_12_below_20"), 0x05, 12, "iqn", 64 },
    { TID7646("iscsi_additional_length_16_below_20"), 0x05, 16, "iqn", 64 },
    /* The name fills all 20 bytes: no NUL. */
    { TID7646("iscsi_name_without_nul"), 0x05, 20, "iqn.2026-11.test:abc", 0 },
    /* Byte 24 is 0, but outside the TransportID. */
    { TID7646("iscsi_nul_just_past_additional_length_does_not_count"), 0x05, 20, "iqn.2026-11.test:abc", 32 },
    { TID7646("iscsi_empty_name"), 0x05, 20, "", 0 },
    { TID7646("iscsi_name_with_space"), 0x05, 24, "iqn.2026-11.test a", 0 },
    { TID7646("iscsi_name_with_control_character"), 0x05, 24, "iqn.2026-11.test\001a", 0 },
    { TID7646("iscsi_port_missing_separator"), 0x45, 36, "iqn.2026-11.test:a23d000000001", 0 },
    { TID7646("iscsi_port_isid_without_0x"), 0x45, 36, "iqn.2026-11.test:a,i,23d000000001", 0 },
    { TID7646("iscsi_port_isid_not_hex"), 0x45, 40, "iqn.2026-11.test:a,i,0x23d00000000g", 0 },
    { TID7646("iscsi_port_isid_of_11_digits"), 0x45, 40, "iqn.2026-11.test:a,i,0x23d00000000", 0 },
    { TID7646("iscsi_port_isid_of_13_digits"), 0x45, 40, "iqn.2026-11.test:a,i,0x23d0000000011", 0 },
    { TID7646("iscsi_port_isid_of_no_digits"), 0x45, 40, "iqn.2026-11.test:a,i,0x", 0 },
    { TID7646("iscsi_port_isid_with_space"), 0x45, 40, "iqn.2026-11.test:a,i,0x23d0 0000001", 0 },
    { TID7646("iscsi_port_isid_with_sign"), 0x45, 40, "iqn.2026-11.test:a,i,0x-23d00000001", 0 },
    { TID7646("iscsi_port_empty_name"), 0x45, 20, ",i,0x23d000000001", 0 },
    /* No room for the NUL. */
    { TID7646("iscsi_port_without_nul"), 0x45, 36, "iqn.2026-11.test:ab,i,0x23d000000001", 0 },
};

static void test_iscsi_reject_rule(void **state)
{
    const struct iscsi_reject_row *r = *state;
    uint8_t b[64];
    size_t n = make_iscsi(b, sizeof(b), r->byte0, r->addlen, r->text);
    size_t len = r->len ? r->len : n;
    struct pr_tid t;
    size_t used;
    int rc = pr_tid_parse(b, len, &t, &used);
    if (rc != -EINVAL)
        fail_msg("%s: pr_tid_parse of %zu bytes returned %d, want %d (-EINVAL)", r->id.name, len, rc,
                 -EINVAL);
}

/* The lowest ADDITIONAL LENGTH, 20, is accepted. */
static void test_iscsi_additional_length_20_is_accepted(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = make_iscsi(b, sizeof(b), 0x05, 20, "iqn");
    parse_ok(b, n);
}

static void test_iscsi_additional_length_beyond_buffer_is_rejected(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = make_iscsi(b, sizeof(b), 0x05, 24, "iqn.2026-11.test:abc");
    assert_int_equal(n, 28);
    for (size_t avail = 0; avail < n; avail++) {
        uint8_t *copy = malloc(avail ? avail : 1);
        assert_non_null(copy);
        memcpy(copy, b, avail);
        expect_parse_rejected(copy, avail);
        free(copy);
    }
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, b, n);
    parse_ok(copy, n);
    free(copy);
}

static void test_iscsi_name_of_223_bytes_is_accepted(void **state)
{
    (void)state;
    uint8_t b[PR_TID_MAX_LEN + 16];
    char name[PR_TID_ISCSI_NAME_MAX + 1];
    memset(name, 'n', PR_TID_ISCSI_NAME_MAX);
    memcpy(name, "iqn.", 4);
    name[PR_TID_ISCSI_NAME_MAX] = '\0';
    size_t n = make_iscsi(b, sizeof(b), 0x05, 224, name);
    struct pr_tid t = parse_ok(b, n);
    assert_string_equal(t.name, name);
}

static void test_iscsi_name_longer_than_223_bytes_is_rejected(void **state)
{
    (void)state;
    uint8_t b[PR_TID_MAX_LEN + 16];
    char name[PR_TID_ISCSI_NAME_MAX + 2];
    memset(name, 'n', PR_TID_ISCSI_NAME_MAX + 1);
    memcpy(name, "iqn.", 4);
    name[PR_TID_ISCSI_NAME_MAX + 1] = '\0';
    size_t n = make_iscsi(b, sizeof(b), 0x05, 228, name);
    expect_parse_rejected(b, n);
}

/* ---- iSCSI format 01b -------------------------------------------------- */

static void test_iscsi_port_build_layout_with_lowercase_isid(void **state)
{
    (void)state;
    const uint8_t isid[6] = { 0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45 };
    struct pr_tid t = pr_tid_iscsi("iqn.2026-11.test:a", isid);
    uint8_t buf[PR_TID_MAX_LEN];
    memset(buf, 0xa5, sizeof(buf));
    /* 18 + 5 + 12 + NUL = 36, already a multiple of 4 */
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 40);
    uint8_t want[40] = { 0x45, 0x00, 0x00, 36 };
    memcpy(want + 4, "iqn.2026-11.test:a,i,0xabcdef012345", 35);
    assert_memory_equal(buf, want, sizeof(want));
}

static void test_iscsi_port_build_pads_with_nul(void **state)
{
    (void)state;
    struct pr_tid t = pr_tid_iscsi("iqn.x", ISID1);
    uint8_t buf[PR_TID_MAX_LEN];
    memset(buf, 0xa5, sizeof(buf));
    /* 5 + 5 + 12 + NUL = 23 -> 24 */
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 28);
    uint8_t want[28] = { 0x45, 0, 0, 24 };
    memcpy(want + 4, "iqn.x,i,0x23d000000001", 22);
    assert_memory_equal(buf, want, sizeof(want));
}

static void test_iscsi_port_parse(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = make_iscsi(b, sizeof(b), 0x45, 36, "iqn.2026-11.test:a,i,0x23d000000001");
    struct pr_tid t = parse_ok(b, n);
    assert_int_equal(t.proto, PR_TID_PROTO_ISCSI);
    assert_int_equal(t.format, 1);
    assert_true(t.has_isid);
    assert_string_equal(t.name, "iqn.2026-11.test:a");
    assert_memory_equal(t.isid, ISID1, 6);
}

static void test_iscsi_port_uppercase_isid_equals_lowercase(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = make_iscsi(b, sizeof(b), 0x45, 36, "iqn.2026-11.test:a,i,0x23D0000000AB");
    struct pr_tid up = parse_ok(b, n);
    n = make_iscsi(b, sizeof(b), 0x45, 36, "iqn.2026-11.test:a,i,0x23d0000000ab");
    struct pr_tid low = parse_ok(b, n);
    assert_true(pr_tid_equal(&up, &low));
    /* And the canonical bytes are the same, lower-case. */
    uint8_t cu[PR_TID_MAX_LEN], cl[PR_TID_MAX_LEN];
    size_t lu = pr_tid_build(&up, cu, sizeof(cu));
    size_t ll = pr_tid_build(&low, cl, sizeof(cl));
    assert_int_equal(lu, ll);
    assert_memory_equal(cu, cl, lu);
    assert_memory_equal(cu + 4, "iqn.2026-11.test:a,i,0x23d0000000ab", 35);
}

static void test_iscsi_max_name_with_isid_fits_in_max_len(void **state)
{
    (void)state;
    char name[PR_TID_ISCSI_NAME_MAX + 1];
    memset(name, 'm', PR_TID_ISCSI_NAME_MAX);
    memcpy(name, "iqn.", 4);
    name[PR_TID_ISCSI_NAME_MAX] = '\0';
    struct pr_tid t = pr_tid_iscsi(name, ISID2);
    uint8_t buf[PR_TID_MAX_LEN];
    size_t n = pr_tid_build(&t, buf, sizeof(buf));
    assert_int_equal(n, PR_TID_MAX_LEN);
    struct pr_tid back = parse_ok(buf, n);
    assert_true(pr_tid_equal(&t, &back));
    assert_string_equal(back.name, name);
}

static void test_iscsi_build_rejects_buffer_too_small(void **state)
{
    (void)state;
    struct pr_tid t = pr_tid_iscsi("iqn.2026-11.test:a", ISID1);
    uint8_t buf[PR_TID_MAX_LEN];
    assert_int_equal(pr_tid_build(&t, buf, 39), 0);
    assert_int_equal(pr_tid_build(&t, buf, 40), 40);
}

static void test_iscsi_build_rejects_empty_name(void **state)
{
    (void)state;
    struct pr_tid t = pr_tid_iscsi("", NULL);
    uint8_t buf[PR_TID_MAX_LEN];
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 0);
    t = pr_tid_iscsi("", ISID1);
    assert_int_equal(pr_tid_build(&t, buf, sizeof(buf)), 0);
}

static void test_build_then_parse_round_trips_every_protocol(void **state)
{
    (void)state;
    struct pr_tid ids[8];
    memset(ids, 0, sizeof(ids));
    ids[0] = pr_tid_fcp(0x21000024ff000001ull);
    ids[1].proto = PR_TID_PROTO_SPI;
    scsi_put_be16(ids[1].id, 6);
    ids[1].spi_rtpi = 2;
    ids[2].proto = PR_TID_PROTO_SBP;
    scsi_put_be64(ids[2].id, 0x0800460102030405ull);
    ids[3].proto = PR_TID_PROTO_SRP;
    for (int i = 0; i < 16; i++)
        ids[3].id[i] = (uint8_t)(i * 17);
    ids[4] = pr_tid_iscsi("iqn.2026-11.test:rt", NULL);
    ids[5] = pr_tid_iscsi("iqn.2026-11.test:rt", ISID1);
    ids[6] = pr_tid_sas(0x5000c500aabbccddull);
    ids[7].proto = PR_TID_PROTO_SOP;
    scsi_put_be16(ids[7].id, 0x0304);
    for (size_t i = 0; i < 8; i++) {
        uint8_t buf[PR_TID_MAX_LEN];
        size_t n = pr_tid_build(&ids[i], buf, sizeof(buf));
        assert_true(n >= 24);
        assert_int_equal(n % 4, 0);
        struct pr_tid back = parse_ok(buf, n);
        if (!pr_tid_equal(&ids[i], &back))
            fail_msg("protocol %u does not round-trip", ids[i].proto);
        uint8_t again[PR_TID_MAX_LEN];
        assert_int_equal(pr_tid_build(&back, again, sizeof(again)), n);
        assert_memory_equal(buf, again, n);
    }
}

/* ---- identity ---------------------------------------------------------- */

static void test_equal_same_protocol_and_name(void **state)
{
    (void)state;
    struct pr_tid a = pr_tid_fcp(0x1234), b = pr_tid_fcp(0x1234), c = pr_tid_fcp(0x1235);
    assert_true(pr_tid_equal(&a, &b));
    assert_false(pr_tid_equal(&a, &c));
    struct pr_tid i1 = pr_tid_iscsi("iqn.a", ISID1), i2 = pr_tid_iscsi("iqn.a", ISID1);
    assert_true(pr_tid_equal(&i1, &i2));
}

static void test_equal_false_across_protocols_with_same_bytes(void **state)
{
    (void)state;
    struct pr_tid f = pr_tid_fcp(0x5000c50012345678ull);
    struct pr_tid s = pr_tid_sas(0x5000c50012345678ull);
    assert_false(pr_tid_equal(&f, &s));
    assert_false(pr_tid_same_device(&f, &s));
}

static void test_equal_iscsi_different_isid_is_different_port(void **state)
{
    (void)state;
    struct pr_tid a = pr_tid_iscsi("iqn.a", ISID1), b = pr_tid_iscsi("iqn.a", ISID2);
    assert_false(pr_tid_equal(&a, &b));
}

static void test_equal_iscsi_name_only_differs_from_port(void **state)
{
    (void)state;
    struct pr_tid dev = pr_tid_iscsi("iqn.a", NULL), port = pr_tid_iscsi("iqn.a", ISID1);
    assert_false(pr_tid_equal(&dev, &port));
    assert_false(pr_tid_equal(&port, &dev));
}

static void test_equal_iscsi_different_names_differ(void **state)
{
    (void)state;
    struct pr_tid a = pr_tid_iscsi("iqn.a", ISID1), b = pr_tid_iscsi("iqn.b", ISID1);
    assert_false(pr_tid_equal(&a, &b));
    struct pr_tid c = pr_tid_iscsi("iqn.a", NULL), d = pr_tid_iscsi("iqn.ab", NULL);
    assert_false(pr_tid_equal(&c, &d));
}

static void test_equal_spi_compares_relative_port_id(void **state)
{
    (void)state;
    struct pr_tid a, b;
    memset(&a, 0, sizeof(a));
    a.proto = PR_TID_PROTO_SPI;
    scsi_put_be16(a.id, 7);
    a.spi_rtpi = 1;
    b = a;
    assert_true(pr_tid_equal(&a, &b));
    b.spi_rtpi = 2;
    assert_false(pr_tid_equal(&a, &b));
}

static void test_same_device_iscsi_ignores_isid(void **state)
{
    (void)state;
    struct pr_tid a = pr_tid_iscsi("iqn.a", ISID1), b = pr_tid_iscsi("iqn.a", ISID2),
                  d = pr_tid_iscsi("iqn.a", NULL);
    assert_true(pr_tid_same_device(&a, &b));
    assert_true(pr_tid_same_device(&a, &d));
    assert_true(pr_tid_same_device(&d, &b));
}

static void test_same_device_iscsi_different_names_differ(void **state)
{
    (void)state;
    struct pr_tid a = pr_tid_iscsi("iqn.a", ISID1), b = pr_tid_iscsi("iqn.b", ISID1);
    assert_false(pr_tid_same_device(&a, &b));
}

static void test_same_device_other_protocols_is_equal(void **state)
{
    (void)state;
    struct pr_tid a = pr_tid_sas(9), b = pr_tid_sas(9), c = pr_tid_sas(10);
    assert_true(pr_tid_same_device(&a, &b));
    assert_false(pr_tid_same_device(&a, &c));
    struct pr_tid f = pr_tid_fcp(9), g = pr_tid_fcp(10);
    assert_false(pr_tid_same_device(&f, &g));
}

/* ---- human form --------------------------------------------------------- */

static void test_to_string_iscsi_port(void **state)
{
    (void)state;
    char buf[PR_TID_MAX_LEN + 32];
    struct pr_tid t = pr_tid_iscsi("iqn.2026-11.test:a", ISID1);
    assert_ptr_equal(pr_tid_to_string(&t, buf, sizeof(buf)), buf);
    assert_string_equal(buf, "iqn.2026-11.test:a,i,0x23d000000001");
}

static void test_to_string_iscsi_name_only(void **state)
{
    (void)state;
    char buf[PR_TID_MAX_LEN + 32];
    struct pr_tid t = pr_tid_iscsi("iqn.2026-11.test:a", NULL);
    assert_string_equal(pr_tid_to_string(&t, buf, sizeof(buf)), "iqn.2026-11.test:a");
}

static void test_to_string_fcp_and_sas(void **state)
{
    (void)state;
    char buf[64];
    struct pr_tid f = pr_tid_fcp(0x21000024ff3c4d5eull);
    assert_string_equal(pr_tid_to_string(&f, buf, sizeof(buf)), "fcp,0x21000024ff3c4d5e");
    struct pr_tid s = pr_tid_sas(0x5000c50000000001ull);
    assert_string_equal(pr_tid_to_string(&s, buf, sizeof(buf)), "sas,0x5000c50000000001");
}

static void test_to_string_truncates_to_buffer(void **state)
{
    (void)state;
    char buf[16];
    memset(buf, 'x', sizeof(buf));
    struct pr_tid t = pr_tid_iscsi("iqn.2026-11.test:a", ISID1);
    pr_tid_to_string(&t, buf, 8);
    assert_string_equal(buf, "iqn.202");
    assert_int_equal(buf[8], 'x');
}

static void test_string_round_trip_iscsi_fcp_sas(void **state)
{
    (void)state;
    struct pr_tid ids[] = {
        pr_tid_iscsi("iqn.2026-11.test:a", ISID1),
        pr_tid_iscsi("iqn.2026-11.test:a", NULL),
        pr_tid_iscsi("eui.0123456789abcdef", ISID2),
        pr_tid_iscsi("naa.60014055f1d2c3b4", NULL),
        pr_tid_fcp(0x21000024ff3c4d5eull),
        pr_tid_fcp(0),
        pr_tid_fcp(UINT64_MAX),
        pr_tid_sas(0x5000c50000000001ull),
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char buf[PR_TID_MAX_LEN + 32];
        pr_tid_to_string(&ids[i], buf, sizeof(buf));
        struct pr_tid back;
        int rc = pr_tid_from_string(buf, &back);
        if (rc != 0 || !pr_tid_equal(&ids[i], &back))
            fail_msg("'%s' does not round-trip (rc %d)", buf, rc);
    }
}

static void test_from_string_uppercase_isid_equals_lowercase(void **state)
{
    (void)state;
    struct pr_tid up, low;
    assert_int_equal(pr_tid_from_string("iqn.2026-11.test:a,i,0x23D0000000AB", &up), 0);
    assert_int_equal(pr_tid_from_string("iqn.2026-11.test:a,i,0x23d0000000ab", &low), 0);
    assert_true(up.has_isid);
    assert_int_equal(up.format, 1);
    assert_true(pr_tid_equal(&up, &low));
}

static void test_from_string_fcp_without_0x_prefix(void **state)
{
    (void)state;
    struct pr_tid t;
    assert_int_equal(pr_tid_from_string("fcp,21000024ff3c4d5e", &t), 0);
    struct pr_tid want = pr_tid_fcp(0x21000024ff3c4d5eull);
    assert_true(pr_tid_equal(&t, &want));
}

static void test_from_string_rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "foo",
        "iscsi:iqn.a",
        "fcp,",
        "fcp,0x",
        "fcp,0xzz",
        "fcp,0x12345678901234567", /* 17 digits */
        "fcp,0x12 34",
        "sas,",
        "sas,xyz",
        "iqn.a,i,0x123",           /* short ISID */
        "iqn.a,i,0x23d00000000g",  /* bad hex */
        "iqn.a,i,0x23d0000000011", /* long ISID */
        "iqn.a,i,0x",
        "iqn.a b",
        "iqn.a\tb",
    };
    int accepted = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pr_tid t;
        if (pr_tid_from_string(bad[i], &t) != -EINVAL) {
            print_error("pr_tid_from_string accepted '%s'\n", bad[i]);
            accepted++;
        }
    }
    if (accepted != 0)
        fail_msg("%d malformed strings accepted", accepted);
}

/* The address is hex digits only: strtoull-style sign, leading blanks or
 * a second "0x" are not a WWPN / SAS address. */
static void test_from_string_rejects_sign_blank_and_second_0x_in_address(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "fcp,-1", "fcp,+1", "fcp, 1", "fcp,0x0x12", "sas,-0x5", "sas,0x 12", "fcp,0x-1",
    };
    int accepted = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pr_tid t;
        if (pr_tid_from_string(bad[i], &t) != -EINVAL) {
            char back[64];
            print_error("pr_tid_from_string accepted '%s' as %s\n", bad[i],
                        pr_tid_to_string(&t, back, sizeof(back)));
            accepted++;
        }
    }
    if (accepted != 0)
        fail_msg("%d malformed addresses accepted", accepted);
}

/* Whatever the human form accepts must be carriable on the wire: its
 * canonical TransportID parses back to the same port. */
static void test_from_string_accepts_only_names_the_wire_format_carries(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "iqn.2026-11.test:a", "iqn.2026-11.test:a,i,0x23d000000001", "eui.0123456789abcdef",
        "naa.60014055f1d2c3b4", "iqn.a,b", "iqn.a,b,i,0x23d000000001", "iqn.a,,",
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        struct pr_tid t;
        if (pr_tid_from_string(inputs[i], &t) != 0)
            continue; /* rejecting is fine */
        uint8_t buf[PR_TID_MAX_LEN];
        size_t n = pr_tid_build(&t, buf, sizeof(buf));
        struct pr_tid back;
        size_t used;
        if (n == 0 || pr_tid_parse(buf, n, &back, &used) != 0 || used != n ||
            !pr_tid_equal(&t, &back)) {
            print_error("'%s' accepted by pr_tid_from_string but its TransportID does not "
                        "parse back\n",
                        inputs[i]);
            bad++;
        }
    }
    if (bad != 0)
        fail_msg("%d strings accepted that the wire format cannot carry", bad);
}

static void test_from_string_rejects_name_longer_than_223(void **state)
{
    (void)state;
    char s[PR_TID_ISCSI_NAME_MAX + 32];
    memset(s, 'n', PR_TID_ISCSI_NAME_MAX + 1);
    memcpy(s, "iqn.", 4);
    s[PR_TID_ISCSI_NAME_MAX + 1] = '\0';
    struct pr_tid t;
    assert_int_equal(pr_tid_from_string(s, &t), -EINVAL);
    strcpy(s + PR_TID_ISCSI_NAME_MAX + 1, ",i,0x23d000000001");
    assert_int_equal(pr_tid_from_string(s, &t), -EINVAL);
    s[PR_TID_ISCSI_NAME_MAX] = '\0';
    assert_int_equal(pr_tid_from_string(s, &t), 0);
    assert_int_equal(strlen(t.name), PR_TID_ISCSI_NAME_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fcp_build_puts_wwpn_at_bytes_8_to_15),
        cmocka_unit_test(test_fcp_parse_reads_wwpn_from_bytes_8_to_15),
        cmocka_unit_test(test_spi_build_puts_address_at_2_and_rtpi_at_6),
        cmocka_unit_test(test_spi_parse_reads_address_and_rtpi),
        cmocka_unit_test(test_sbp_build_and_parse_eui64_at_bytes_8_to_15),
        cmocka_unit_test(test_srp_build_and_parse_16_byte_port_id_at_bytes_8_to_23),
        cmocka_unit_test(test_sas_build_puts_address_at_bytes_4_to_11),
        cmocka_unit_test(test_sas_parse_reads_address_from_bytes_4_to_11),
        cmocka_unit_test(test_sop_build_and_parse_routing_id_at_bytes_2_to_3),
        cmocka_unit_test(test_fixed_length_protocols_need_24_bytes),
        cmocka_unit_test(test_fixed_length_parse_consumes_exactly_24_of_a_longer_buffer),
        cmocka_unit_test(test_unsupported_protocols_are_rejected),
        cmocka_unit_test(test_nonzero_format_code_rejected_for_fixed_protocols),
        cmocka_unit_test(test_iscsi_format_codes_10b_and_11b_are_rejected),
        cmocka_unit_test(test_build_rejects_unsupported_protocol),
        cmocka_unit_test(test_build_rejects_buffer_smaller_than_24),
        cmocka_unit_test(test_iscsi_name_only_build_layout),
        cmocka_unit_test(test_iscsi_build_pads_additional_length_to_multiple_of_4),
        cmocka_unit_test(test_iscsi_build_short_name_gets_minimum_additional_length_20),
        cmocka_unit_test(test_iscsi_name_only_parse),
        cmocka_unit_test(test_iscsi_parse_consumes_4_plus_additional_length),
        cmocka_unit_test(test_iscsi_additional_length_20_is_accepted),
        cmocka_unit_test(test_iscsi_additional_length_beyond_buffer_is_rejected),
        cmocka_unit_test(test_iscsi_name_of_223_bytes_is_accepted),
        cmocka_unit_test(test_iscsi_name_longer_than_223_bytes_is_rejected),
        cmocka_unit_test(test_iscsi_port_build_layout_with_lowercase_isid),
        cmocka_unit_test(test_iscsi_port_build_pads_with_nul),
        cmocka_unit_test(test_iscsi_port_parse),
        cmocka_unit_test(test_iscsi_port_uppercase_isid_equals_lowercase),
        cmocka_unit_test(test_iscsi_max_name_with_isid_fits_in_max_len),
        cmocka_unit_test(test_iscsi_build_rejects_buffer_too_small),
        cmocka_unit_test(test_iscsi_build_rejects_empty_name),
        cmocka_unit_test(test_build_then_parse_round_trips_every_protocol),
        cmocka_unit_test(test_equal_same_protocol_and_name),
        cmocka_unit_test(test_equal_false_across_protocols_with_same_bytes),
        cmocka_unit_test(test_equal_iscsi_different_isid_is_different_port),
        cmocka_unit_test(test_equal_iscsi_name_only_differs_from_port),
        cmocka_unit_test(test_equal_iscsi_different_names_differ),
        cmocka_unit_test(test_equal_spi_compares_relative_port_id),
        cmocka_unit_test(test_same_device_iscsi_ignores_isid),
        cmocka_unit_test(test_same_device_iscsi_different_names_differ),
        cmocka_unit_test(test_same_device_other_protocols_is_equal),
        cmocka_unit_test(test_to_string_iscsi_port),
        cmocka_unit_test(test_to_string_iscsi_name_only),
        cmocka_unit_test(test_to_string_fcp_and_sas),
        cmocka_unit_test(test_to_string_truncates_to_buffer),
        cmocka_unit_test(test_string_round_trip_iscsi_fcp_sas),
        cmocka_unit_test(test_from_string_uppercase_isid_equals_lowercase),
        cmocka_unit_test(test_from_string_fcp_without_0x_prefix),
        cmocka_unit_test(test_from_string_rejects_malformed),
        cmocka_unit_test(test_from_string_rejects_sign_blank_and_second_0x_in_address),
        cmocka_unit_test(test_from_string_accepts_only_names_the_wire_format_carries),
        cmocka_unit_test(test_from_string_rejects_name_longer_than_223),
    };
    return th_run_table("transport_id", test_iscsi_reject_rule, iscsi_rejects, tests);
}
