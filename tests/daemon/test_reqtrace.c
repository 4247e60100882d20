/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_reqtrace.c - the per-request JSON trace and its decoders. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "prh_test_util.h"
#include "prhelper/reqtrace.h"
#include "prhelper/transport_id.h"

static char *out_buf;
static size_t out_len;

static FILE *mem(void)
{
    free(out_buf);
    out_buf = NULL;
    return open_memstream(&out_buf, &out_len);
}

static const struct prh_peer peer = { .serial = 7, .has_cred = true, .pid = 99, .uid = 107 };
static const struct timespec when = { .tv_sec = 1700000000, .tv_nsec = 123456000 };

/* A READ KEYS request (allocation length 8192). */
static struct prh_request read_keys_request(void)
{
    struct prh_request req = { .xfer_len = 8192 };
    tu_cdb_prin(req.cdb, PR_IN_READ_KEYS, 8192);
    return req;
}

/* The record of a READ KEYS answered with REPLY, in out_buf. */
static void format_read_keys(const struct prh_peer *p, const char *nexus,
                             const struct prh_reply *reply, const struct prh_exec_info *info)
{
    struct prh_request req = read_keys_request();
    FILE *f = mem();
    prh_reqtrace_format(f, 1, p, nexus, &req, reply, info, &when, 0);
    fclose(f);
}

static void test_pr_out_record_has_client_lun_command_params_status_generations(void **state)
{
    (void)state;
    uint8_t params[24];
    struct prh_request req = { .xfer_len = 24, .params = params };
    struct prh_reply reply;
    struct prh_exec_info info = { .lun = "file-803-12", .gen_known_before = true,
                                  .gen_known_after = true, .gen_before = 4, .gen_after = 5 };
    tu_cdb_prout(req.cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(params, 0, 0xabc, PR_OUT_FLAG_APTPL);
    prh_reply_init(&reply);
    FILE *f = mem();
    prh_reqtrace_format(f, 3, &peer, "iqn.x,i,0x1@1", &req, &reply, &info, &when, 42);
    fclose(f);
    assert_non_null(strstr(out_buf, "{\"seq\":3,\"time\":\"2023-11-14T22:13:20.123456Z\","
                                    "\"client_id\":7,\"peer_pid\":99,\"peer_uid\":107,"
                                    "\"nexus\":\"iqn.x,i,0x1@1\",\"lun\":\"file-803-12\""));
    assert_non_null(strstr(out_buf, "\"command\":{\"op\":\"PERSISTENT RESERVE OUT\","
                                    "\"service_action\":\"REGISTER\",\"sa\":0,\"scope\":0,"));
    assert_non_null(strstr(out_buf, "\"params\":{\"reservation_key\":\"0x0\","
                                    "\"service_action_key\":\"0xabc\",\"spec_i_pt\":false,"
                                    "\"all_tg_pt\":false,\"aptpl\":true}"));
    assert_non_null(strstr(out_buf, "\"status\":\"GOOD\",\"status_code\":0,\"sense\":null,"
                                    "\"data\":null,\"generation_before\":4,"
                                    "\"generation_after\":5,\"disconnected\":false,"
                                    "\"duration_us\":42,\"cdb_hex\":\"5f000000000000001800\""));
    assert_non_null(strstr(out_buf, "\"sense_hex\":\"\",\"data_hex\":\"\"}"));
}

static void test_check_condition_record_decodes_sense_and_keeps_raw_bytes(void **state)
{
    (void)state;
    struct prh_reply reply;
    struct prh_peer anon = { .serial = 1 };
    prh_reply_init(&reply);
    reply.status = SCSI_STATUS_CHECK_CONDITION;
    scsi_sense_build_fixed(reply.sense, sizeof(reply.sense), SENSE_UA_POWER_ON_RESET);
    format_read_keys(&anon, NULL, &reply, NULL);
    assert_non_null(strstr(out_buf, "\"peer_pid\":null,\"peer_uid\":null,\"nexus\":\"\","
                                    "\"lun\":\"\""));
    assert_non_null(strstr(out_buf, "\"status\":\"CHECK CONDITION\",\"status_code\":2,"
                                    "\"sense\":{\"key\":6,\"key_name\":\"UNIT ATTENTION\","
                                    "\"asc\":41,\"ascq\":0,"));
    assert_non_null(strstr(out_buf, "\"data\":null,\"generation_before\":null,"
                                    "\"generation_after\":null"));
    assert_non_null(strstr(out_buf, "\"sense_hex\":\"700006000000000a00000000290000000000\""));
}

static void test_disconnect_record_says_no_reply(void **state)
{
    (void)state;
    struct prh_reply reply;
    struct prh_exec_info info = { .disconnect = true };
    prh_reply_init(&reply);
    format_read_keys(&peer, "n", &reply, &info);
    assert_non_null(strstr(out_buf, "\"status\":\"(no reply)\",\"status_code\":-1,\"sense\":null,"
                                    "\"data\":null"));
    assert_non_null(strstr(out_buf, "\"disconnected\":true"));
}

/* The JSON of PR IN data (service action SA, LEN bytes of D). */
static const char *pr_in_json(unsigned sa, const uint8_t *d, size_t len)
{
    FILE *f = mem();
    prh_json_pr_in_data(f, sa, d, len);
    fclose(f);
    return out_buf;
}

static void test_pr_in_data_decoders_for_every_service_action(void **state)
{
    (void)state;
    uint8_t d[64] = { 0 };
    /* READ KEYS: generation 9, two keys, additional length says three (truncated) */
    scsi_put_be32(d, 9);
    scsi_put_be32(d + 4, 24);
    scsi_put_be64(d + 8, 0xa);
    scsi_put_be64(d + 16, 0xb);
    assert_string_equal(pr_in_json(PR_IN_READ_KEYS, d, 24),
                        "{\"generation\":9,\"additional_length\":24,"
                        "\"keys\":[\"0xa\",\"0xb\"]}");
    /* READ RESERVATION */
    memset(d, 0, sizeof(d));
    scsi_put_be32(d + 4, 16);
    scsi_put_be64(d + 8, 0xa);
    d[21] = PR_TYPE_WE_AR;
    assert_string_equal(pr_in_json(PR_IN_READ_RESERVATION, d, 24),
                        "{\"generation\":0,\"reserved\":true,\"key\":\"0xa\","
                        "\"scope\":0,\"type\":7,\"type_name\":\"Write Exclusive, "
                        "all registrants\"}");
    /* REPORT CAPABILITIES */
    memset(d, 0, sizeof(d));
    d[1] = 8;
    d[2] = PR_CAP_ATP_C | PR_CAP_PTPL_C;
    d[3] = PR_CAP_TMV | PR_CAP_PTPL_A;
    scsi_put_be16(d + 4, PR_TYPE_MASK_WR_EX);
    assert_string_equal(pr_in_json(PR_IN_REPORT_CAPABILITIES, d, 8),
                        "{\"length\":8,\"crh\":false,\"sip_c\":false,\"atp_c\":true,"
                        "\"ptpl_c\":true,\"tmv\":true,\"allow_commands\":0,"
                        "\"ptpl_a\":true,\"type_mask\":512}");
    /* READ FULL STATUS: one iSCSI descriptor */
    memset(d, 0, sizeof(d));
    struct pr_tid tid = pr_tid_iscsi("iqn.a", (const uint8_t[6]){ 0x23, 0xd0, 0, 0, 0, 1 });
    size_t tl = pr_tid_build(&tid, d + 32, sizeof(d) - 32);
    scsi_put_be32(d + 4, (uint32_t)(24 + tl));
    scsi_put_be64(d + 8, 0xa);
    d[20] = PR_FULL_STATUS_R_HOLDER;
    d[21] = PR_TYPE_WE;
    scsi_put_be16(d + 26, 2);
    scsi_put_be32(d + 28, (uint32_t)tl);
    assert_string_equal(pr_in_json(PR_IN_READ_FULL_STATUS, d, 32 + tl),
                        "{\"generation\":0,\"registrations\":[{\"key\":\"0xa\","
                        "\"holder\":true,\"all_tg_pt\":false,\"scope\":0,\"type\":1,"
                        "\"rtpi\":2,\"transport_id\":\"iqn.a,i,0x23d000000001\"}]}");
    /* too short */
    assert_string_equal(pr_in_json(PR_IN_READ_KEYS, d, 4), "null");
    assert_string_equal(pr_in_json(PR_IN_REPORT_CAPABILITIES, d, 1), "null");
}

static void test_params_decoders_for_spec_i_pt_and_register_and_move(void **state)
{
    (void)state;
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER };
    uint8_t p[128] = { 0 };
    struct pr_tid tid = pr_tid_iscsi("iqn.b", NULL);
    size_t tl = pr_tid_build(&tid, p + 28, sizeof(p) - 28);
    p[20] = PR_OUT_FLAG_SPEC_I_PT | PR_OUT_FLAG_ALL_TG_PT;
    scsi_put_be32(p + 24, (uint32_t)tl);
    FILE *f = mem();
    prh_json_params(f, cdb, p, 28 + tl);
    fclose(f);
    assert_non_null(strstr(out_buf, "\"spec_i_pt\":true,\"all_tg_pt\":true,\"aptpl\":false,"
                                    "\"transport_ids\":[\"iqn.b\"]}"));
    memset(p, 0, sizeof(p));
    cdb[1] = PR_OUT_REGISTER_AND_MOVE;
    p[17] = PR_MOVE_FLAG_UNREG;
    scsi_put_be16(p + 18, 2);
    tl = pr_tid_build(&tid, p + 24, sizeof(p) - 24);
    scsi_put_be32(p + 20, (uint32_t)tl);
    f = mem();
    prh_json_params(f, cdb, p, 24 + tl);
    prh_json_params(f, cdb, p, 10); /* too short */
    fclose(f);
    assert_non_null(strstr(out_buf, "\"unreg\":true,\"aptpl\":false,\"rtpi\":2,"
                                    "\"transport_id\":\"iqn.b\"}null"));
    f = mem();
    prh_json_command(f, (const uint8_t[10]){ 0x12 });
    fclose(f);
    assert_string_equal(out_buf, "{\"op\":\"0x12\"}");
}

static void test_open_emit_close_writes_one_line_per_request(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[256], err[256];
    snprintf(path, sizeof(path), "%s/trace", dir);
    struct prh_request req = read_keys_request();
    struct prh_reply reply;
    prh_reply_init(&reply);
    assert_false(prh_reqtrace_enabled());
    prh_reqtrace_emit(&peer, "n", &req, &reply, NULL, &when); /* disabled: nothing */
    assert_int_equal(prh_reqtrace_open("/nonexistent/dir/trace", false, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open the trace file"));
    assert_int_equal(prh_reqtrace_open(path, false, err, sizeof(err)), 0);
    assert_true(prh_reqtrace_enabled());
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600); /* keys are secrets */
    prh_reqtrace_emit(&peer, "n", &req, &reply, NULL, &when);
    prh_reqtrace_emit(&peer, "n", &req, &reply, NULL, &when);
    prh_reqtrace_close();
    assert_false(prh_reqtrace_enabled());
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        assert_int_equal(line[0], '{');
        assert_non_null(strstr(line, "}\n"));
        n++;
    }
    fclose(f);
    assert_int_equal(n, 2);
    tu_tmpdir_free(dir);
}

static int cleanup(void **state)
{
    (void)state;
    free(out_buf);
    out_buf = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pr_out_record_has_client_lun_command_params_status_generations),
        cmocka_unit_test(test_check_condition_record_decodes_sense_and_keeps_raw_bytes),
        cmocka_unit_test(test_disconnect_record_says_no_reply),
        cmocka_unit_test(test_pr_in_data_decoders_for_every_service_action),
        cmocka_unit_test(test_params_decoders_for_spec_i_pt_and_register_and_move),
        cmocka_unit_test(test_open_emit_close_writes_one_line_per_request),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
