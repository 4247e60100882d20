/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_scsi.c - the byte-level SCSI module (include/prhelper/scsi.h):
 * big-endian helpers, sense building and decoding (SPC-4 4.5,
 * pr-semantics.md 3.3), name tables, reservation-type predicates and CDB
 * data direction.  One test per behaviour.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sim_helpers.h"

#include "prhelper/scsi.h"

/* ---- big-endian helpers ------------------------------------------------ */

static void test_be16_put_writes_most_significant_byte_first(void **state)
{
    (void)state;
    uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };
    scsi_put_be16(b + 1, 0x1234);
    assert_int_equal(b[0], 0xee);
    assert_int_equal(b[1], 0x12);
    assert_int_equal(b[2], 0x34);
    assert_int_equal(b[3], 0xee);
}

static void test_be16_get_reads_most_significant_byte_first(void **state)
{
    (void)state;
    const uint8_t b[2] = { 0xab, 0xcd };
    assert_int_equal(scsi_get_be16(b), 0xabcd);
}

static void test_be16_round_trips_edge_values(void **state)
{
    (void)state;
    static const uint16_t v[] = { 0, 1, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xfffe, 0xffff };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t b[2];
        scsi_put_be16(b, v[i]);
        assert_int_equal(scsi_get_be16(b), v[i]);
    }
}

static void test_be32_put_writes_most_significant_byte_first(void **state)
{
    (void)state;
    uint8_t b[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };
    scsi_put_be32(b + 1, 0x12345678u);
    static const uint8_t want[6] = { 0xee, 0x12, 0x34, 0x56, 0x78, 0xee };
    assert_memory_equal(b, want, sizeof(want));
}

static void test_be32_get_reads_most_significant_byte_first(void **state)
{
    (void)state;
    const uint8_t b[4] = { 0xde, 0xad, 0xbe, 0xef };
    assert_int_equal(scsi_get_be32(b), 0xdeadbeefu);
}

static void test_be32_round_trips_edge_values(void **state)
{
    (void)state;
    static const uint32_t v[] = { 0, 1, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffffu,
                                  0x80000000u, 0xfffffffeu, 0xffffffffu, 0x01020304u };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t b[4];
        scsi_put_be32(b, v[i]);
        assert_int_equal(scsi_get_be32(b), v[i]);
    }
}

static void test_be64_put_writes_most_significant_byte_first(void **state)
{
    (void)state;
    uint8_t b[10];
    memset(b, 0xee, sizeof(b));
    scsi_put_be64(b + 1, 0x0102030405060708ull);
    static const uint8_t want[10] = { 0xee, 1, 2, 3, 4, 5, 6, 7, 8, 0xee };
    assert_memory_equal(b, want, sizeof(want));
}

static void test_be64_get_reads_most_significant_byte_first(void **state)
{
    (void)state;
    const uint8_t b[8] = { 0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xff };
    assert_true(scsi_get_be64(b) == 0x80112233445566ffull);
}

static void test_be64_round_trips_edge_values(void **state)
{
    (void)state;
    static const uint64_t v[] = { 0, 1, 0xffffffffull, 0x100000000ull, 0x7fffffffffffffffull,
                                  0x8000000000000000ull, 0xffffffffffffffffull,
                                  0x1122334455667788ull };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t b[8];
        scsi_put_be64(b, v[i]);
        assert_true(scsi_get_be64(b) == v[i]);
    }
}

static void test_be_get_does_not_sign_extend_high_bytes(void **state)
{
    (void)state;
    const uint8_t b[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    assert_int_equal(scsi_get_be16(b), 0xffff);
    assert_int_equal(scsi_get_be32(b), 0xffffffffu);
    assert_true(scsi_get_be64(b) == UINT64_MAX);
    const uint8_t c[8] = { 0, 0, 0, 0x80, 0, 0, 0, 0x80 };
    assert_true(scsi_get_be64(c) == 0x0000008000000080ull);
}

/* ---- sense: equality ------------------------------------------------- */

static void test_sense_equal_compares_key_asc_and_ascq(void **state)
{
    (void)state;
    assert_true(scsi_sense_equal(SENSE_INVALID_FIELD_IN_CDB, SCSI_SENSE_CODE(5, 0x24, 0)));
    assert_false(scsi_sense_equal(SENSE_INVALID_FIELD_IN_CDB, SCSI_SENSE_CODE(6, 0x24, 0)));
    assert_false(scsi_sense_equal(SENSE_INVALID_FIELD_IN_PARAM, SENSE_INVALID_RELEASE));
    assert_false(scsi_sense_equal(SENSE_INVALID_FIELD_IN_CDB, SENSE_INVALID_FIELD_IN_PARAM));
}

static void test_named_sense_codes_match_the_doc_table(void **state)
{
    (void)state;
    /* pr-semantics.md 3.3 */
    struct {
        struct scsi_sense s;
        uint8_t key, asc, ascq;
    } t[] = {
        { SENSE_INVALID_FIELD_IN_CDB, 5, 0x24, 0x00 },
        { SENSE_PARAM_LIST_LENGTH_ERROR, 5, 0x1a, 0x00 },
        { SENSE_INVALID_FIELD_IN_PARAM, 5, 0x26, 0x00 },
        { SENSE_INVALID_RELEASE, 5, 0x26, 0x04 },
        { SENSE_INSUFFICIENT_REG_RESOURCES, 5, 0x55, 0x04 },
        { SENSE_INVALID_OPCODE, 5, 0x20, 0x00 },
        { SENSE_LUN_COMM_FAILURE, 2, 0x08, 0x00 },
        { SENSE_UA_RESERVATIONS_PREEMPTED, 6, 0x2a, 0x03 },
        { SENSE_UA_RESERVATIONS_RELEASED, 6, 0x2a, 0x04 },
        { SENSE_UA_REGISTRATIONS_PREEMPTED, 6, 0x2a, 0x05 },
        { SENSE_UA_POWER_ON_RESET, 6, 0x29, 0x00 },
        { SENSE_INTERNAL_TARGET_FAILURE, 4, 0x44, 0x00 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        assert_int_equal(t[i].s.key, t[i].key);
        assert_int_equal(t[i].s.asc, t[i].asc);
        assert_int_equal(t[i].s.ascq, t[i].ascq);
    }
}

/* ---- sense: building ------------------------------------------------- */

static void test_sense_build_fixed_layout_is_70h_with_key_length_asc_ascq(void **state)
{
    (void)state;
    uint8_t b[SCSI_SENSE_FIXED_LEN];
    memset(b, 0xa5, sizeof(b));
    size_t n = scsi_sense_build_fixed(b, sizeof(b), SENSE_INVALID_RELEASE);
    assert_int_equal(n, 18);
    assert_int_equal(SCSI_SENSE_FIXED_LEN, 18);
    uint8_t want[18] = { 0 };
    want[0] = 0x70;
    want[2] = 0x05;
    want[7] = 0x0a;
    want[12] = 0x26;
    want[13] = 0x04;
    assert_memory_equal(b, want, sizeof(want));
}

static void test_sense_build_fixed_zero_fills_the_rest_of_a_larger_buffer(void **state)
{
    (void)state;
    uint8_t b[64];
    memset(b, 0xa5, sizeof(b));
    size_t n = scsi_sense_build_fixed(b, sizeof(b), SENSE_UA_POWER_ON_RESET);
    assert_int_equal(n, 18);
    assert_int_equal(b[0], 0x70);
    assert_int_equal(b[2], 0x06);
    assert_int_equal(b[7], 0x0a);
    assert_int_equal(b[12], 0x29);
    assert_int_equal(b[13], 0x00);
    for (size_t i = 0; i < sizeof(b); i++)
        if (i != 0 && i != 2 && i != 7 && i != 12)
            assert_int_equal(b[i], 0);
}

static void test_sense_build_fixed_every_key_lands_in_byte_2(void **state)
{
    (void)state;
    for (unsigned k = 0; k < 16; k++) {
        uint8_t b[18];
        assert_int_equal(scsi_sense_build_fixed(b, sizeof(b), SCSI_SENSE_CODE((uint8_t)k, 0x11, 0x22)),
                         18);
        assert_int_equal(b[2], k);
        assert_int_equal(b[12], 0x11);
        assert_int_equal(b[13], 0x22);
    }
}

static void test_sense_build_fixed_too_small_buffer_returns_0_and_zero_fills(void **state)
{
    (void)state;
    for (size_t len = 0; len < SCSI_SENSE_FIXED_LEN; len++) {
        uint8_t *b = malloc(len ? len : 1);
        assert_non_null(b);
        memset(b, 0xa5, len);
        assert_int_equal(scsi_sense_build_fixed(b, len, SENSE_INVALID_FIELD_IN_CDB), 0);
        for (size_t i = 0; i < len; i++)
            assert_int_equal(b[i], 0);
        free(b);
    }
}

static void test_sense_build_desc_layout_is_72h_with_key_asc_ascq_no_descriptors(void **state)
{
    (void)state;
    uint8_t b[SCSI_SENSE_DESC_LEN];
    memset(b, 0xa5, sizeof(b));
    size_t n = scsi_sense_build_desc(b, sizeof(b), SENSE_UA_REGISTRATIONS_PREEMPTED);
    assert_int_equal(n, 8);
    const uint8_t want[8] = { 0x72, 0x06, 0x2a, 0x05, 0, 0, 0, 0 };
    assert_memory_equal(b, want, sizeof(want));
}

static void test_sense_build_desc_zero_fills_the_rest_of_a_larger_buffer(void **state)
{
    (void)state;
    uint8_t b[32];
    memset(b, 0xa5, sizeof(b));
    assert_int_equal(scsi_sense_build_desc(b, sizeof(b), SENSE_INTERNAL_TARGET_FAILURE), 8);
    assert_int_equal(b[0], 0x72);
    assert_int_equal(b[1], 0x04);
    assert_int_equal(b[2], 0x44);
    assert_int_equal(b[3], 0x00);
    for (size_t i = 4; i < sizeof(b); i++)
        assert_int_equal(b[i], 0);
}

static void test_sense_build_desc_too_small_buffer_returns_0_and_zero_fills(void **state)
{
    (void)state;
    for (size_t len = 0; len < SCSI_SENSE_DESC_LEN; len++) {
        uint8_t b[8];
        memset(b, 0xa5, sizeof(b));
        assert_int_equal(scsi_sense_build_desc(b, len, SENSE_INVALID_FIELD_IN_CDB), 0);
        for (size_t i = 0; i < len; i++)
            assert_int_equal(b[i], 0);
        /* Nothing beyond len is touched. */
        for (size_t i = len; i < sizeof(b); i++)
            assert_int_equal(b[i], 0xa5);
    }
}

static void test_sense_build_selects_format_by_descriptor_flag(void **state)
{
    (void)state;
    uint8_t f[32], d[32], ref[32];
    assert_int_equal(scsi_sense_build(f, sizeof(f), SENSE_PARAM_LIST_LENGTH_ERROR, false), 18);
    assert_int_equal(scsi_sense_build_fixed(ref, sizeof(ref), SENSE_PARAM_LIST_LENGTH_ERROR), 18);
    assert_memory_equal(f, ref, sizeof(f));
    assert_int_equal(scsi_sense_build(d, sizeof(d), SENSE_PARAM_LIST_LENGTH_ERROR, true), 8);
    assert_int_equal(scsi_sense_build_desc(ref, sizeof(ref), SENSE_PARAM_LIST_LENGTH_ERROR), 8);
    assert_memory_equal(d, ref, sizeof(d));
}

static void test_sense_build_then_decode_round_trips_both_formats(void **state)
{
    (void)state;
    const struct scsi_sense all[] = {
        SENSE_NONE, SENSE_INVALID_OPCODE, SENSE_INVALID_FIELD_IN_CDB,
        SENSE_PARAM_LIST_LENGTH_ERROR, SENSE_INVALID_FIELD_IN_PARAM, SENSE_INVALID_RELEASE,
        SENSE_INSUFFICIENT_REG_RESOURCES, SENSE_LUN_COMM_FAILURE, SENSE_UA_POWER_ON_RESET,
        SENSE_UA_RESERVATIONS_PREEMPTED, SENSE_UA_RESERVATIONS_RELEASED,
        SENSE_UA_REGISTRATIONS_PREEMPTED, SENSE_INTERNAL_TARGET_FAILURE,
        SCSI_SENSE_CODE(0xe, 0xff, 0xff),
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        for (int desc = 0; desc < 2; desc++) {
            uint8_t b[32];
            size_t n = scsi_sense_build(b, sizeof(b), all[i], desc != 0);
            struct scsi_sense out;
            assert_true(scsi_sense_decode(b, n, &out));
            assert_true(scsi_sense_equal(out, all[i]));
        }
    }
}

/* ---- sense: decoding ------------------------------------------------- */

static void test_sense_decode_fixed_70h(void **state)
{
    (void)state;
    uint8_t b[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0x00, 0, 0, 0, 0 };
    struct scsi_sense s;
    assert_true(scsi_sense_decode(b, sizeof(b), &s));
    assert_true(scsi_sense_equal(s, SENSE_INVALID_FIELD_IN_CDB));
}

static void test_sense_decode_fixed_71h_deferred(void **state)
{
    (void)state;
    uint8_t b[18] = { 0x71, 0, 0x06, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x2a, 0x04, 0, 0, 0, 0 };
    struct scsi_sense s;
    assert_true(scsi_sense_decode(b, sizeof(b), &s));
    assert_true(scsi_sense_equal(s, SENSE_UA_RESERVATIONS_RELEASED));
}

static void test_sense_decode_fixed_ignores_valid_bit_and_flag_bits_of_byte_2(void **state)
{
    (void)state;
    /* Byte 0 bit 7 is VALID; byte 2 bits 7-4 are FILEMARK/EOM/ILI/SDAT_OVFL. */
    uint8_t b[18] = { 0xf0, 0, 0xe5, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x26, 0x00, 0, 0, 0, 0 };
    struct scsi_sense s;
    assert_true(scsi_sense_decode(b, sizeof(b), &s));
    assert_true(scsi_sense_equal(s, SENSE_INVALID_FIELD_IN_PARAM));
}

static void test_sense_decode_descriptor_72h(void **state)
{
    (void)state;
    uint8_t b[8] = { 0x72, 0x05, 0x1a, 0x00, 0, 0, 0, 0 };
    struct scsi_sense s;
    assert_true(scsi_sense_decode(b, sizeof(b), &s));
    assert_true(scsi_sense_equal(s, SENSE_PARAM_LIST_LENGTH_ERROR));
}

static void test_sense_decode_descriptor_73h_deferred(void **state)
{
    (void)state;
    uint8_t b[8] = { 0x73, 0xf4, 0x44, 0x00, 0, 0, 0, 0 };
    struct scsi_sense s;
    assert_true(scsi_sense_decode(b, sizeof(b), &s));
    assert_true(scsi_sense_equal(s, SENSE_INTERNAL_TARGET_FAILURE));
}

static void test_sense_decode_descriptor_short_buffer_is_rejected(void **state)
{
    (void)state;
    uint8_t b[8] = { 0x72, 0x05, 0x24, 0x00, 0, 0, 0, 0 };
    for (size_t len = 0; len < 4; len++) {
        struct scsi_sense s = SCSI_SENSE_CODE(9, 9, 9);
        assert_false(scsi_sense_decode(b, len, &s));
        assert_true(scsi_sense_equal(s, SENSE_NONE));
    }
    struct scsi_sense s;
    assert_true(scsi_sense_decode(b, 4, &s));
    assert_true(scsi_sense_equal(s, SENSE_INVALID_FIELD_IN_CDB));
}

static void test_sense_decode_fixed_shorter_than_3_bytes_is_rejected(void **state)
{
    (void)state;
    uint8_t b[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0x00, 0, 0, 0, 0 };
    for (size_t len = 0; len < 3; len++) {
        struct scsi_sense s = SCSI_SENSE_CODE(9, 9, 9);
        assert_false(scsi_sense_decode(b, len, &s));
        assert_true(scsi_sense_equal(s, SENSE_NONE));
    }
}

static void test_sense_decode_fixed_truncated_before_asc_gives_key_only(void **state)
{
    (void)state;
    uint8_t b[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0x01, 0, 0, 0, 0 };
    for (size_t len = 3; len < 14; len++) {
        struct scsi_sense s = SCSI_SENSE_CODE(9, 9, 9);
        assert_true(scsi_sense_decode(b, len, &s));
        assert_int_equal(s.key, 5);
        assert_int_equal(s.asc, 0);
        assert_int_equal(s.ascq, 0);
    }
    struct scsi_sense s;
    assert_true(scsi_sense_decode(b, 14, &s));
    assert_true(scsi_sense_equal(s, SCSI_SENSE_CODE(5, 0x24, 0x01)));
}

static void test_sense_decode_fixed_additional_length_too_short_for_asc_gives_key_only(void **state)
{
    (void)state;
    /* ADDITIONAL SENSE LENGTH 5 ends before byte 12. */
    uint8_t b[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 0x05, 0, 0, 0, 0, 0x24, 0x00, 0, 0, 0, 0 };
    struct scsi_sense s;
    assert_true(scsi_sense_decode(b, sizeof(b), &s));
    assert_int_equal(s.key, 5);
    assert_int_equal(s.asc, 0);
    assert_int_equal(s.ascq, 0);
    b[7] = 6; /* now covers bytes 8-13 */
    assert_true(scsi_sense_decode(b, sizeof(b), &s));
    assert_true(scsi_sense_equal(s, SENSE_INVALID_FIELD_IN_CDB));
}

static void test_sense_decode_garbage_response_codes_are_rejected(void **state)
{
    (void)state;
    static const uint8_t codes[] = { 0x00, 0x01, 0x12, 0x6f, 0x74, 0x75, 0x7e, 0x7f, 0x80, 0xff };
    for (size_t i = 0; i < sizeof(codes); i++) {
        uint8_t b[18] = { 0 };
        b[0] = codes[i];
        b[1] = 0x05;
        b[2] = 0x05;
        b[3] = 0x24;
        b[7] = 0x0a;
        b[12] = 0x24;
        struct scsi_sense s = SCSI_SENSE_CODE(9, 9, 9);
        assert_false(scsi_sense_decode(b, sizeof(b), &s));
        assert_true(scsi_sense_equal(s, SENSE_NONE));
    }
}

static void test_sense_decode_null_buffer_is_rejected(void **state)
{
    (void)state;
    struct scsi_sense s = SCSI_SENSE_CODE(9, 9, 9);
    assert_false(scsi_sense_decode(NULL, 18, &s));
    assert_true(scsi_sense_equal(s, SENSE_NONE));
}

/* ---- names ------------------------------------------------------------ */

static void test_sense_to_string_names_key_and_asc(void **state)
{
    (void)state;
    char buf[128];
    char *p = scsi_sense_to_string(SENSE_INVALID_FIELD_IN_CDB, buf, sizeof(buf));
    assert_ptr_equal(p, buf);
    assert_string_equal(buf, "ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h)");
    scsi_sense_to_string(SENSE_INTERNAL_TARGET_FAILURE, buf, sizeof(buf));
    assert_string_equal(buf, "HARDWARE ERROR, INTERNAL TARGET FAILURE (44h/00h)");
    scsi_sense_to_string(SENSE_UA_REGISTRATIONS_PREEMPTED, buf, sizeof(buf));
    assert_string_equal(buf, "UNIT ATTENTION, REGISTRATIONS PREEMPTED (2Ah/05h)");
}

static void test_sense_to_string_unknown_asc_shows_key_and_hex_codes(void **state)
{
    (void)state;
    char buf[128];
    scsi_sense_to_string(SCSI_SENSE_CODE(SCSI_SENSE_MEDIUM_ERROR, 0x99, 0x42), buf, sizeof(buf));
    assert_string_equal(buf, "MEDIUM ERROR (99h/42h)");
}

static void test_sense_to_string_truncates_to_buffer_and_terminates(void **state)
{
    (void)state;
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    char *p = scsi_sense_to_string(SENSE_INVALID_FIELD_IN_CDB, buf, 8);
    assert_ptr_equal(p, buf);
    assert_string_equal(buf, "ILLEGAL");
    assert_int_equal(buf[8], 'x');
}

static void test_sense_key_names_every_key(void **state)
{
    (void)state;
    static const char *const want[16] = {
        "NO SENSE",     "RECOVERED ERROR", "NOT READY",       "MEDIUM ERROR",
        "HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
        "BLANK CHECK",  "VENDOR SPECIFIC", "COPY ABORTED",    "ABORTED COMMAND",
        NULL,           "VOLUME OVERFLOW", "MISCOMPARE",      NULL,
    };
    for (unsigned k = 0; k < 16; k++) {
        const char *n = scsi_sense_key_name(k);
        assert_non_null(n);
        assert_true(n[0] != '\0');
        if (want[k] != NULL)
            assert_string_equal(n, want[k]);
    }
}

static void test_sense_key_name_out_of_range_is_not_null(void **state)
{
    (void)state;
    static const unsigned bad[] = { 16, 17, 0xff, 0x100, UINT_MAX };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *n = scsi_sense_key_name(bad[i]);
        assert_non_null(n);
        assert_true(n[0] != '\0');
        for (unsigned k = 0; k < 16; k++)
            assert_string_not_equal(n, scsi_sense_key_name(k));
    }
}

static void test_asc_names_cover_every_project_sense_code(void **state)
{
    (void)state;
    struct {
        struct scsi_sense s;
        const char *name;
    } t[] = {
        { SENSE_INVALID_OPCODE, "INVALID COMMAND OPERATION CODE" },
        { SENSE_INVALID_FIELD_IN_CDB, "INVALID FIELD IN CDB" },
        { SENSE_PARAM_LIST_LENGTH_ERROR, "PARAMETER LIST LENGTH ERROR" },
        { SENSE_INVALID_FIELD_IN_PARAM, "INVALID FIELD IN PARAMETER LIST" },
        { SENSE_INVALID_RELEASE, "INVALID RELEASE OF PERSISTENT RESERVATION" },
        { SENSE_INSUFFICIENT_REG_RESOURCES, "INSUFFICIENT REGISTRATION RESOURCES" },
        { SENSE_LUN_COMM_FAILURE, "LOGICAL UNIT COMMUNICATION FAILURE" },
        { SENSE_UA_POWER_ON_RESET, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED" },
        { SENSE_UA_RESERVATIONS_PREEMPTED, "RESERVATIONS PREEMPTED" },
        { SENSE_UA_RESERVATIONS_RELEASED, "RESERVATIONS RELEASED" },
        { SENSE_UA_REGISTRATIONS_PREEMPTED, "REGISTRATIONS PREEMPTED" },
        { SENSE_INTERNAL_TARGET_FAILURE, "INTERNAL TARGET FAILURE" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_string_equal(scsi_asc_name(t[i].s.asc, t[i].s.ascq), t[i].name);
}

static void test_asc_name_unknown_pair_is_empty_string(void **state)
{
    (void)state;
    assert_string_equal(scsi_asc_name(0x99, 0x42), "");
    assert_string_equal(scsi_asc_name(0x24, 0x01), ""); /* known ASC, unknown ASCQ */
    assert_string_equal(scsi_asc_name(0x124, 0x00), ""); /* not truncated to 24h */
    assert_string_equal(scsi_asc_name(UINT_MAX, UINT_MAX), "");
}

static void test_status_names_every_status(void **state)
{
    (void)state;
    struct {
        unsigned st;
        const char *name;
    } t[] = {
        { SCSI_STATUS_GOOD, "GOOD" },
        { SCSI_STATUS_CHECK_CONDITION, "CHECK CONDITION" },
        { SCSI_STATUS_CONDITION_MET, "CONDITION MET" },
        { SCSI_STATUS_BUSY, "BUSY" },
        { SCSI_STATUS_RESERVATION_CONFLICT, "RESERVATION CONFLICT" },
        { SCSI_STATUS_TASK_SET_FULL, "TASK SET FULL" },
        { SCSI_STATUS_ACA_ACTIVE, "ACA ACTIVE" },
        { SCSI_STATUS_TASK_ABORTED, "TASK ABORTED" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_string_equal(scsi_status_name(t[i].st), t[i].name);
    assert_int_equal(SCSI_STATUS_RESERVATION_CONFLICT, 0x18);
    assert_int_equal(SCSI_STATUS_CHECK_CONDITION, 0x02);
}

static void test_status_name_unknown_is_distinct_and_not_null(void **state)
{
    (void)state;
    static const unsigned known[] = { 0x00, 0x02, 0x04, 0x08, 0x18, 0x28, 0x30, 0x40 };
    static const unsigned bad[] = { 0x01, 0x10, 0x14, 0x22, 0xff, 0x102, UINT_MAX };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *n = scsi_status_name(bad[i]);
        assert_non_null(n);
        assert_true(n[0] != '\0');
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            assert_string_not_equal(n, scsi_status_name(known[k]));
    }
}

static void test_pr_type_names_every_value_0_to_15(void **state)
{
    (void)state;
    static const unsigned valid[] = { 1, 3, 5, 6, 7, 8 };
    assert_string_equal(pr_type_name(PR_TYPE_WE), "Write Exclusive");
    assert_string_equal(pr_type_name(PR_TYPE_EA), "Exclusive Access");
    assert_string_equal(pr_type_name(PR_TYPE_WE_RO), "Write Exclusive, registrants only");
    assert_string_equal(pr_type_name(PR_TYPE_EA_RO), "Exclusive Access, registrants only");
    assert_string_equal(pr_type_name(PR_TYPE_WE_AR), "Write Exclusive, all registrants");
    assert_string_equal(pr_type_name(PR_TYPE_EA_AR), "Exclusive Access, all registrants");
    for (unsigned t = 0; t < 16; t++) {
        const char *n = pr_type_name(t);
        assert_non_null(n);
        assert_true(n[0] != '\0');
        if (pr_type_is_valid(t))
            continue;
        /* Obsolete, reserved and "none" never read as a real type. */
        for (size_t k = 0; k < sizeof(valid) / sizeof(valid[0]); k++)
            assert_string_not_equal(n, pr_type_name(valid[k]));
    }
    /* The six real types all have different names. */
    for (size_t i = 0; i < 6; i++)
        for (size_t j = i + 1; j < 6; j++)
            assert_string_not_equal(pr_type_name(valid[i]), pr_type_name(valid[j]));
}

static void test_pr_type_name_out_of_range_is_not_null(void **state)
{
    (void)state;
    static const unsigned bad[] = { 16, 0x101, 0x103, UINT_MAX };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *n = pr_type_name(bad[i]);
        assert_non_null(n);
        assert_true(n[0] != '\0');
        /* Not aliased to the type of its low four bits. */
        static const unsigned valid[] = { 1, 3, 5, 6, 7, 8 };
        for (size_t k = 0; k < sizeof(valid) / sizeof(valid[0]); k++)
            assert_string_not_equal(n, pr_type_name(valid[k]));
    }
}

static void test_pr_in_sa_names_every_service_action(void **state)
{
    (void)state;
    assert_string_equal(pr_in_sa_name(PR_IN_READ_KEYS), "READ KEYS");
    assert_string_equal(pr_in_sa_name(PR_IN_READ_RESERVATION), "READ RESERVATION");
    assert_string_equal(pr_in_sa_name(PR_IN_REPORT_CAPABILITIES), "REPORT CAPABILITIES");
    assert_string_equal(pr_in_sa_name(PR_IN_READ_FULL_STATUS), "READ FULL STATUS");
}

static void test_pr_in_sa_name_out_of_range_is_reserved(void **state)
{
    (void)state;
    static const unsigned bad[] = { 4, 5, 0x1f, 0x20, 0x100, UINT_MAX };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *n = pr_in_sa_name(bad[i]);
        assert_non_null(n);
        assert_true(n[0] != '\0');
        for (unsigned k = 0; k < 4; k++)
            assert_string_not_equal(n, pr_in_sa_name(k));
    }
}

static void test_pr_out_sa_names_every_service_action(void **state)
{
    (void)state;
    static const char *const want[] = {
        "REGISTER", "RESERVE", "RELEASE", "CLEAR", "PREEMPT", "PREEMPT AND ABORT",
        "REGISTER AND IGNORE EXISTING KEY", "REGISTER AND MOVE", "REPLACE LOST RESERVATION",
    };
    for (unsigned sa = 0; sa < sizeof(want) / sizeof(want[0]); sa++)
        assert_string_equal(pr_out_sa_name(sa), want[sa]);
}

static void test_pr_out_sa_name_out_of_range_is_reserved(void **state)
{
    (void)state;
    static const unsigned bad[] = { 9, 0xa, 0x1f, 0x20, 0x100, UINT_MAX };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *n = pr_out_sa_name(bad[i]);
        assert_non_null(n);
        assert_true(n[0] != '\0');
        for (unsigned k = 0; k <= 8; k++)
            assert_string_not_equal(n, pr_out_sa_name(k));
    }
}

/* ---- reservation-type predicates -------------------------------------- */

static void test_pr_type_is_valid_only_for_1_3_5_6_7_8(void **state)
{
    (void)state;
    for (unsigned t = 0; t < 16; t++) {
        bool want = t == 1 || t == 3 || t == 5 || t == 6 || t == 7 || t == 8;
        if (pr_type_is_valid(t) != want)
            fail_msg("pr_type_is_valid(%u) = %d, want %d", t, !want, want);
    }
    assert_false(pr_type_is_valid(0x101));
    assert_false(pr_type_is_valid(0x13));
    assert_false(pr_type_is_valid(UINT_MAX));
}

static void test_pr_type_is_all_registrants_only_for_7_and_8(void **state)
{
    (void)state;
    for (unsigned t = 0; t < 16; t++) {
        bool want = t == 7 || t == 8;
        if (pr_type_is_all_registrants(t) != want)
            fail_msg("pr_type_is_all_registrants(%u) = %d, want %d", t, !want, want);
    }
    assert_false(pr_type_is_all_registrants(0x107));
}

static void test_pr_type_is_registrants_only_for_5_6_7_8(void **state)
{
    (void)state;
    for (unsigned t = 0; t < 16; t++) {
        bool want = t == 5 || t == 6 || t == 7 || t == 8;
        if (pr_type_is_registrants(t) != want)
            fail_msg("pr_type_is_registrants(%u) = %d, want %d", t, !want, want);
    }
    assert_false(pr_type_is_registrants(0x105));
}

static void test_pr_type_is_write_exclusive_only_for_1_5_7(void **state)
{
    (void)state;
    for (unsigned t = 0; t < 16; t++) {
        bool want = t == 1 || t == 5 || t == 7;
        if (pr_type_is_write_exclusive(t) != want)
            fail_msg("pr_type_is_write_exclusive(%u) = %d, want %d", t, !want, want);
    }
    assert_false(pr_type_is_write_exclusive(0x101));
}

/* ---- CDB data direction ------------------------------------------------ */

static enum scsi_data_dir dir_of(uint8_t op, size_t len)
{
    uint8_t cdb[32] = { 0 };
    cdb[0] = op;
    return scsi_cdb_data_direction(cdb, len);
}

static void test_cdb_direction_data_in_opcodes(void **state)
{
    (void)state;
    /* REQUEST SENSE, READ(6), INQUIRY, MODE SENSE(6), READ CAPACITY(10),
     * READ(10), PR IN, REPORT LUNS, READ(12), READ(16), MODE SENSE(10). */
    static const uint8_t ops[] = { 0x03, 0x08, 0x12, 0x1a, 0x25, 0x28, 0x5e, 0xa0, 0xa8, 0x88,
                                   0x5a };
    for (size_t i = 0; i < sizeof(ops); i++)
        if (dir_of(ops[i], 16) != SCSI_DIR_FROM_DEVICE)
            fail_msg("opcode %02xh is not data-in", ops[i]);
}

static void test_cdb_direction_data_out_opcodes(void **state)
{
    (void)state;
    /* WRITE(6), MODE SELECT(6), WRITE(10), WRITE AND VERIFY(10), WRITE
     * BUFFER, PR OUT, WRITE(16), WRITE(12), REASSIGN BLOCKS. */
    static const uint8_t ops[] = { 0x0a, 0x15, 0x2a, 0x2e, 0x3b, 0x5f, 0x8a, 0xaa, 0x07 };
    for (size_t i = 0; i < sizeof(ops); i++)
        if (dir_of(ops[i], 16) != SCSI_DIR_TO_DEVICE)
            fail_msg("opcode %02xh is not data-out", ops[i]);
}

static void test_cdb_direction_no_data_opcodes(void **state)
{
    (void)state;
    /* TEST UNIT READY, RESERVE(6), RELEASE(6), START STOP UNIT,
     * SYNCHRONIZE CACHE(10), RESERVE(10), RELEASE(10). */
    static const uint8_t ops[] = { 0x00, 0x16, 0x17, 0x1b, 0x35, 0x56, 0x57 };
    for (size_t i = 0; i < sizeof(ops); i++)
        if (dir_of(ops[i], 16) != SCSI_DIR_NONE)
            fail_msg("opcode %02xh is not no-data", ops[i]);
}

static void test_cdb_direction_cdb_shorter_than_6_is_none(void **state)
{
    (void)state;
    assert_int_equal(dir_of(0x28, 5), SCSI_DIR_NONE);
    assert_int_equal(dir_of(0x2a, 0), SCSI_DIR_NONE);
}

static void test_cdb_direction_log_select_depends_on_parameter_list_length(void **state)
{
    (void)state;
    uint8_t cdb[10] = { 0x4c, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal(scsi_cdb_data_direction(cdb, 10), SCSI_DIR_NONE);
    cdb[8] = 0x10;
    assert_int_equal(scsi_cdb_data_direction(cdb, 10), SCSI_DIR_TO_DEVICE);
    cdb[8] = 0;
    cdb[7] = 0x01;
    assert_int_equal(scsi_cdb_data_direction(cdb, 10), SCSI_DIR_TO_DEVICE);
    /* The length field is not inside a 6-byte CDB. */
    assert_int_equal(scsi_cdb_data_direction(cdb, 6), SCSI_DIR_NONE);
}

static void test_cdb_direction_send_diagnostic_depends_on_parameter_list_length(void **state)
{
    (void)state;
    uint8_t cdb[6] = { 0x1d, 0x04, 0, 0, 0, 0 };
    assert_int_equal(scsi_cdb_data_direction(cdb, 6), SCSI_DIR_NONE);
    cdb[4] = 0x08;
    assert_int_equal(scsi_cdb_data_direction(cdb, 6), SCSI_DIR_TO_DEVICE);
}

static void test_cdb_direction_format_unit_depends_on_fmtdata(void **state)
{
    (void)state;
    uint8_t cdb[6] = { 0x04, 0, 0, 0, 0, 0 };
    assert_int_equal(scsi_cdb_data_direction(cdb, 6), SCSI_DIR_NONE);
    cdb[1] = 0x10;
    assert_int_equal(scsi_cdb_data_direction(cdb, 6), SCSI_DIR_TO_DEVICE);
}

static void test_cdb_direction_verify_depends_on_bytchk(void **state)
{
    (void)state;
    static const uint8_t ops[] = { 0x2f, 0xaf, 0x8f };
    for (size_t i = 0; i < sizeof(ops); i++) {
        uint8_t cdb[16] = { 0 };
        cdb[0] = ops[i];
        assert_int_equal(scsi_cdb_data_direction(cdb, 16), SCSI_DIR_NONE);
        cdb[1] = 0x02;
        assert_int_equal(scsi_cdb_data_direction(cdb, 16), SCSI_DIR_TO_DEVICE);
        cdb[1] = 0x04;
        assert_int_equal(scsi_cdb_data_direction(cdb, 16), SCSI_DIR_TO_DEVICE);
    }
}

static void test_cdb_direction_sanitize_depends_on_parameter_list_length(void **state)
{
    (void)state;
    uint8_t cdb[10] = { 0x48, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal(scsi_cdb_data_direction(cdb, 10), SCSI_DIR_NONE);
    cdb[8] = 0x08;
    assert_int_equal(scsi_cdb_data_direction(cdb, 10), SCSI_DIR_TO_DEVICE);
}

static void test_cdb_direction_variable_length_by_service_action(void **state)
{
    (void)state;
    uint8_t cdb[32] = { 0x7f };
    cdb[7] = 0x18;
    scsi_put_be16(cdb + 8, 0x0009); /* READ(32) */
    assert_int_equal(scsi_cdb_data_direction(cdb, 32), SCSI_DIR_FROM_DEVICE);
    scsi_put_be16(cdb + 8, 0x000b); /* WRITE(32) */
    assert_int_equal(scsi_cdb_data_direction(cdb, 32), SCSI_DIR_TO_DEVICE);
    scsi_put_be16(cdb + 8, 0x000a); /* VERIFY(32), BYTCHK 0 */
    assert_int_equal(scsi_cdb_data_direction(cdb, 32), SCSI_DIR_NONE);
    cdb[10] = 0x02; /* BYTCHK 01b */
    assert_int_equal(scsi_cdb_data_direction(cdb, 32), SCSI_DIR_TO_DEVICE);
    /* Too short to hold the service action. */
    assert_int_equal(scsi_cdb_data_direction(cdb, 9), SCSI_DIR_NONE);
}

static void test_cdb_direction_unknown_opcode_is_none(void **state)
{
    (void)state;
    static const uint8_t ops[] = { 0x02, 0x06, 0xc0, 0xff };
    for (size_t i = 0; i < sizeof(ops); i++)
        assert_int_equal(dir_of(ops[i], 16), SCSI_DIR_NONE);
}

/* ---- layouts --------------------------------------------------------- */

static void test_pr_structs_put_fields_at_their_spc_offsets(void **state)
{
    (void)state;
    assert_int_equal(offsetof(struct scsi_pr_out_cdb, parameter_list_length), 5);
    assert_int_equal(offsetof(struct scsi_pr_out_cdb, scope_type), 2);
    assert_int_equal(offsetof(struct scsi_pr_in_cdb, allocation_length), 7);
    assert_int_equal(offsetof(struct scsi_pr_out_basic, flags), 20);
    assert_int_equal(offsetof(struct scsi_pr_out_move, flags), 17);
    assert_int_equal(offsetof(struct scsi_pr_out_move, rtpi), 18);
    assert_int_equal(offsetof(struct scsi_pr_out_move, transport_id_length), 20);
    assert_int_equal(offsetof(struct scsi_pr_in_reservation, scope_type), 21);
    assert_int_equal(offsetof(struct scsi_pr_in_full_status_desc, flags), 12);
    assert_int_equal(offsetof(struct scsi_pr_in_full_status_desc, scope_type), 13);
    assert_int_equal(offsetof(struct scsi_pr_in_full_status_desc, rtpi), 18);
    assert_int_equal(offsetof(struct scsi_pr_in_full_status_desc, additional_descriptor_length),
                     20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be16_put_writes_most_significant_byte_first),
        cmocka_unit_test(test_be16_get_reads_most_significant_byte_first),
        cmocka_unit_test(test_be16_round_trips_edge_values),
        cmocka_unit_test(test_be32_put_writes_most_significant_byte_first),
        cmocka_unit_test(test_be32_get_reads_most_significant_byte_first),
        cmocka_unit_test(test_be32_round_trips_edge_values),
        cmocka_unit_test(test_be64_put_writes_most_significant_byte_first),
        cmocka_unit_test(test_be64_get_reads_most_significant_byte_first),
        cmocka_unit_test(test_be64_round_trips_edge_values),
        cmocka_unit_test(test_be_get_does_not_sign_extend_high_bytes),
        cmocka_unit_test(test_sense_equal_compares_key_asc_and_ascq),
        cmocka_unit_test(test_named_sense_codes_match_the_doc_table),
        cmocka_unit_test(test_sense_build_fixed_layout_is_70h_with_key_length_asc_ascq),
        cmocka_unit_test(test_sense_build_fixed_zero_fills_the_rest_of_a_larger_buffer),
        cmocka_unit_test(test_sense_build_fixed_every_key_lands_in_byte_2),
        cmocka_unit_test(test_sense_build_fixed_too_small_buffer_returns_0_and_zero_fills),
        cmocka_unit_test(test_sense_build_desc_layout_is_72h_with_key_asc_ascq_no_descriptors),
        cmocka_unit_test(test_sense_build_desc_zero_fills_the_rest_of_a_larger_buffer),
        cmocka_unit_test(test_sense_build_desc_too_small_buffer_returns_0_and_zero_fills),
        cmocka_unit_test(test_sense_build_selects_format_by_descriptor_flag),
        cmocka_unit_test(test_sense_build_then_decode_round_trips_both_formats),
        cmocka_unit_test(test_sense_decode_fixed_70h),
        cmocka_unit_test(test_sense_decode_fixed_71h_deferred),
        cmocka_unit_test(test_sense_decode_fixed_ignores_valid_bit_and_flag_bits_of_byte_2),
        cmocka_unit_test(test_sense_decode_descriptor_72h),
        cmocka_unit_test(test_sense_decode_descriptor_73h_deferred),
        cmocka_unit_test(test_sense_decode_descriptor_short_buffer_is_rejected),
        cmocka_unit_test(test_sense_decode_fixed_shorter_than_3_bytes_is_rejected),
        cmocka_unit_test(test_sense_decode_fixed_truncated_before_asc_gives_key_only),
        cmocka_unit_test(test_sense_decode_fixed_additional_length_too_short_for_asc_gives_key_only),
        cmocka_unit_test(test_sense_decode_garbage_response_codes_are_rejected),
        cmocka_unit_test(test_sense_decode_null_buffer_is_rejected),
        cmocka_unit_test(test_sense_to_string_names_key_and_asc),
        cmocka_unit_test(test_sense_to_string_unknown_asc_shows_key_and_hex_codes),
        cmocka_unit_test(test_sense_to_string_truncates_to_buffer_and_terminates),
        cmocka_unit_test(test_sense_key_names_every_key),
        cmocka_unit_test(test_sense_key_name_out_of_range_is_not_null),
        cmocka_unit_test(test_asc_names_cover_every_project_sense_code),
        cmocka_unit_test(test_asc_name_unknown_pair_is_empty_string),
        cmocka_unit_test(test_status_names_every_status),
        cmocka_unit_test(test_status_name_unknown_is_distinct_and_not_null),
        cmocka_unit_test(test_pr_type_names_every_value_0_to_15),
        cmocka_unit_test(test_pr_type_name_out_of_range_is_not_null),
        cmocka_unit_test(test_pr_in_sa_names_every_service_action),
        cmocka_unit_test(test_pr_in_sa_name_out_of_range_is_reserved),
        cmocka_unit_test(test_pr_out_sa_names_every_service_action),
        cmocka_unit_test(test_pr_out_sa_name_out_of_range_is_reserved),
        cmocka_unit_test(test_pr_type_is_valid_only_for_1_3_5_6_7_8),
        cmocka_unit_test(test_pr_type_is_all_registrants_only_for_7_and_8),
        cmocka_unit_test(test_pr_type_is_registrants_only_for_5_6_7_8),
        cmocka_unit_test(test_pr_type_is_write_exclusive_only_for_1_5_7),
        cmocka_unit_test(test_cdb_direction_data_in_opcodes),
        cmocka_unit_test(test_cdb_direction_data_out_opcodes),
        cmocka_unit_test(test_cdb_direction_no_data_opcodes),
        cmocka_unit_test(test_cdb_direction_cdb_shorter_than_6_is_none),
        cmocka_unit_test(test_cdb_direction_log_select_depends_on_parameter_list_length),
        cmocka_unit_test(test_cdb_direction_send_diagnostic_depends_on_parameter_list_length),
        cmocka_unit_test(test_cdb_direction_format_unit_depends_on_fmtdata),
        cmocka_unit_test(test_cdb_direction_verify_depends_on_bytchk),
        cmocka_unit_test(test_cdb_direction_sanitize_depends_on_parameter_list_length),
        cmocka_unit_test(test_cdb_direction_variable_length_by_service_action),
        cmocka_unit_test(test_cdb_direction_unknown_opcode_is_none),
        cmocka_unit_test(test_pr_structs_put_fields_at_their_spc_offsets),
    };
    return cmocka_run_group_tests_name("scsi", tests, NULL, NULL);
}
