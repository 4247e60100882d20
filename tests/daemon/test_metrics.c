/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_metrics.c - Prometheus text metrics: the format, the counters,
 * the atomic file, and numbers that move under load. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops_fixture.h"
#include "prhelper/control.h"

/*
 * A strict reader of the text exposition format 0.0.4: every line is
 * "# HELP name text", "# TYPE name counter|gauge|histogram", or a sample
 * "name{k="v",...} value" whose family was TYPEd before; histogram
 * buckets are cumulative with le ascending, end with +Inf, and _count
 * equals the +Inf bucket.  Returns NULL, or what is wrong.
 */
static const char *check_exposition(const char *text)
{
    static char why[700];
    char typed[64][80];
    size_t ntyped = 0;
    double last_le = -1, last_bucket = -1, inf_bucket = -1;
    const char *line = text;

    if (!*text || text[strlen(text) - 1] != '\n')
        return "does not end with a newline";
    while (*line) {
        size_t len = strcspn(line, "\n");
        char l[512];
        if (len >= sizeof(l))
            return "line too long";
        memcpy(l, line, len);
        l[len] = '\0';
        line += len + 1;
        if (strncmp(l, "# HELP ", 7) == 0)
            continue;
        if (strncmp(l, "# TYPE ", 7) == 0) {
            char name[80], type[32];
            if (sscanf(l + 7, "%79s %31s", name, type) != 2 ||
                (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "histogram")))
                return snprintf(why, sizeof(why), "bad TYPE line: %s", l), why;
            snprintf(typed[ntyped++], sizeof(typed[0]), "%s", name);
            last_le = -1;
            continue;
        }
        if (l[0] == '#')
            return snprintf(why, sizeof(why), "unknown comment: %s", l), why;
        /* name */
        size_t n = 0;
        if (!(isalpha((unsigned char)l[0]) || l[0] == '_' || l[0] == ':'))
            return snprintf(why, sizeof(why), "bad metric name: %s", l), why;
        while (isalnum((unsigned char)l[n]) || l[n] == '_' || l[n] == ':')
            n++;
        char name[80];
        snprintf(name, sizeof(name), "%.*s", (int)n, l);
        bool family_ok = false;
        for (size_t i = 0; i < ntyped; i++) {
            size_t tl = strlen(typed[i]);
            if (strcmp(name, typed[i]) == 0 ||
                (strncmp(name, typed[i], tl) == 0 &&
                 (!strcmp(name + tl, "_bucket") || !strcmp(name + tl, "_sum") ||
                  !strcmp(name + tl, "_count"))))
                family_ok = true;
        }
        if (!family_ok)
            return snprintf(why, sizeof(why), "sample before its TYPE: %s", l), why;
        const char *p = l + n;
        char le[32] = "";
        if (*p == '{') {
            p++;
            while (*p != '}') {
                size_t k = 0;
                if (!(isalpha((unsigned char)p[0]) || p[0] == '_'))
                    return snprintf(why, sizeof(why), "bad label name: %s", l), why;
                while (isalnum((unsigned char)p[k]) || p[k] == '_')
                    k++;
                bool is_le = k == 2 && strncmp(p, "le", 2) == 0;
                p += k;
                if (p[0] != '=' || p[1] != '"')
                    return snprintf(why, sizeof(why), "bad label: %s", l), why;
                p += 2;
                size_t v = 0;
                while (*p && *p != '"') {
                    if (*p == '\\') {
                        p++;
                        if (*p != '\\' && *p != '"' && *p != 'n')
                            return snprintf(why, sizeof(why), "bad escape: %s", l), why;
                    }
                    if (is_le && v + 1 < sizeof(le))
                        le[v++] = *p;
                    p++;
                }
                if (is_le)
                    le[v] = '\0';
                if (*p != '"')
                    return snprintf(why, sizeof(why), "unterminated label value: %s", l), why;
                p++;
                if (*p == ',')
                    p++;
                else if (*p != '}')
                    return snprintf(why, sizeof(why), "bad label list: %s", l), why;
            }
            p++;
        }
        if (*p != ' ')
            return snprintf(why, sizeof(why), "no value: %s", l), why;
        char *end;
        double val = strtod(p + 1, &end);
        if (end == p + 1 || *end)
            return snprintf(why, sizeof(why), "bad value: %s", l), why;
        size_t nl = strlen(name);
        if (nl > 7 && strcmp(name + nl - 7, "_bucket") == 0) {
            double lev = strcmp(le, "+Inf") == 0 ? 1e300 : strtod(le, NULL);
            if (!le[0] || lev <= last_le || val < last_bucket)
                return snprintf(why, sizeof(why), "bucket out of order: %s", l), why;
            last_le = lev;
            last_bucket = val;
            if (lev == 1e300)
                inf_bucket = val;
        } else if (nl > 6 && strcmp(name + nl - 6, "_count") == 0) {
            if (val != inf_bucket)
                return snprintf(why, sizeof(why), "_count != +Inf bucket: %s", l), why;
            last_le = -1;
            last_bucket = -1;
        }
    }
    return NULL;
}

/* The value of one sample line (exact name and labels), or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static struct prh_reply reply_with(uint8_t status, struct scsi_sense s)
{
    struct prh_reply r;
    prh_reply_init(&r);
    r.status = status;
    if (status == SCSI_STATUS_CHECK_CONDITION)
        scsi_sense_build_fixed(r.sense, sizeof(r.sense), s);
    return r;
}

static void test_metrics_empty_render_is_valid_exposition(void **state)
{
    (void)state;
    struct prh_metrics *m = prh_metrics_new("sg");
    char *text = prh_metrics_render(m, NULL);
    const char *why = check_exposition(text);
    if (why)
        fail_msg("%s", why);
    assert_int_equal(sample(text, "prhelper_clients_connected"), 0);
    assert_int_equal(sample(text, "prhelper_requests_in_flight"), 0);
    assert_int_equal(sample(text, "prhelper_request_duration_seconds_count{transport=\"sg\"}"), 0);
    assert_int_equal(sample(text, "prhelper_protocol_errors_total{reason=\"bad_opcode\"}"), 0);
    assert_int_equal(sample(text, "prhelper_device_errors_total{kind=\"hardware_error\"}"), 0);
    free(text);
    prh_metrics_free(m);
}

static void test_metrics_checker_rejects_malformed_text(void **state)
{
    (void)state;
    /* The checker itself must be able to fail. */
    assert_non_null(check_exposition("x 1\n"));
    assert_non_null(check_exposition("# TYPE x counter\nx{a=\"1} 1\n"));
    assert_non_null(check_exposition("# TYPE x counter\nx 1"));
    assert_non_null(check_exposition("# TYPE x counter\nx one\n"));
    assert_non_null(check_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 5\n"
                                     "h_bucket{le=\"+Inf\"} 4\nh_count 4\n"));
    assert_non_null(check_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 5\n"
                                     "h_bucket{le=\"+Inf\"} 6\nh_count 5\n"));
    assert_null(check_exposition("# TYPE x counter\nx{a=\"\\\"q\\\"\"} 1\n"));
}

static void test_metrics_requests_counted_by_op_action_and_result(void **state)
{
    (void)state;
    struct prh_metrics *m = prh_metrics_new("sim");
    uint8_t out[16], in[16];
    tu_cdb_prout(out, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_WE, 24);
    tu_cdb_prin(in, PR_IN_READ_KEYS, 64);
    struct prh_reply good = reply_with(SCSI_STATUS_GOOD, SENSE_NONE);
    struct prh_reply conflict = reply_with(SCSI_STATUS_RESERVATION_CONFLICT, SENSE_NONE);
    prh_metrics_request(m, out, &good, false, 1000);
    prh_metrics_request(m, out, &good, false, 1000);
    prh_metrics_request(m, out, &conflict, false, 1000);
    prh_metrics_request(m, in, &good, false, 1000);
    prh_metrics_request(m, in, &good, true, 1000);
    out[1] = 0x1f; /* a reserved service action */
    prh_metrics_request(m, out, &good, false, 1000);
    char *text = prh_metrics_render(m, NULL);
    assert_null(check_exposition(text));
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_out\",service_action="
                                  "\"preempt_and_abort\",result=\"good\"}"),
                     2);
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_out\",service_action="
                                  "\"preempt_and_abort\",result=\"reservation_conflict\"}"),
                     1);
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_in\",service_action="
                                  "\"read_keys\",result=\"good\"}"),
                     1);
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_in\",service_action="
                                  "\"read_keys\",result=\"denied\"}"),
                     1);
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_out\",service_action="
                                  "\"0x1f\",result=\"good\"}"),
                     1);
    /* Denied requests never reached a device: not in the histogram. */
    assert_int_equal(sample(text, "prhelper_request_duration_seconds_count{transport=\"sim\"}"),
                     5);
    free(text);
    prh_metrics_free(m);
}

static void test_metrics_histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    struct prh_metrics *m = prh_metrics_new("sg");
    uint8_t in[16];
    tu_cdb_prin(in, PR_IN_READ_KEYS, 64);
    struct prh_reply good = reply_with(SCSI_STATUS_GOOD, SENSE_NONE);
    prh_metrics_request(m, in, &good, false, 50000);          /* 50 us */
    prh_metrics_request(m, in, &good, false, 1000000);        /* exactly 1 ms: le="0.001" */
    prh_metrics_request(m, in, &good, false, 3000000);        /* 3 ms */
    prh_metrics_request(m, in, &good, false, 60000000000ull); /* 60 s */
    char *text = prh_metrics_render(m, NULL);
    assert_null(check_exposition(text));
    assert_int_equal(
        sample(text, "prhelper_request_duration_seconds_bucket{transport=\"sg\",le=\"0.0001\"}"), 1);
    assert_int_equal(
        sample(text, "prhelper_request_duration_seconds_bucket{transport=\"sg\",le=\"0.001\"}"), 2);
    assert_int_equal(
        sample(text, "prhelper_request_duration_seconds_bucket{transport=\"sg\",le=\"0.005\"}"), 3);
    assert_int_equal(
        sample(text, "prhelper_request_duration_seconds_bucket{transport=\"sg\",le=\"30\"}"), 3);
    assert_int_equal(
        sample(text, "prhelper_request_duration_seconds_bucket{transport=\"sg\",le=\"+Inf\"}"), 4);
    double sum = sample(text, "prhelper_request_duration_seconds_sum{transport=\"sg\"}");
    assert_true(sum > 60.004 && sum < 60.005);
    free(text);
    prh_metrics_free(m);
}

static void test_metrics_device_and_protocol_errors_by_kind(void **state)
{
    (void)state;
    struct prh_metrics *m = prh_metrics_new("sg");
    uint8_t in[16];
    tu_cdb_prin(in, PR_IN_READ_KEYS, 64);
    struct prh_reply hw = reply_with(SCSI_STATUS_CHECK_CONDITION, SENSE_INTERNAL_TARGET_FAILURE);
    struct prh_reply nr = reply_with(SCSI_STATUS_CHECK_CONDITION, SENSE_LUN_COMM_FAILURE);
    struct prh_reply busy = reply_with(SCSI_STATUS_BUSY, SENSE_NONE);
    struct prh_reply bad = reply_with(SCSI_STATUS_CHECK_CONDITION, SENSE_INVALID_FIELD_IN_CDB);
    prh_metrics_request(m, in, &hw, false, 1);
    prh_metrics_request(m, in, &nr, false, 1);
    prh_metrics_request(m, in, &busy, false, 1);
    prh_metrics_request(m, in, &bad, false, 1); /* the command's fault, not the device's */
    struct prh_reply medium =
        reply_with(SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_CODE(SCSI_SENSE_MEDIUM_ERROR, 0x11, 0));
    struct prh_reply aborted =
        reply_with(SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0, 6));
    struct prh_reply full = reply_with(SCSI_STATUS_TASK_SET_FULL, SENSE_NONE);
    struct prh_reply task_aborted = reply_with(SCSI_STATUS_TASK_ABORTED, SENSE_NONE);
    prh_metrics_request(m, in, &medium, false, 1);
    prh_metrics_request(m, in, &aborted, false, 1);
    prh_metrics_request(m, in, &full, false, 1);
    prh_metrics_request(m, in, &task_aborted, false, 1);
    prh_metrics_protocol_error(m, PRH_WIRE_E_BAD_OPCODE);
    prh_metrics_protocol_error(m, PRH_WIRE_E_TOO_LONG);
    prh_metrics_protocol_error(m, PRH_WIRE_E_TOO_LONG);
    prh_metrics_protocol_error(m, PRH_METRICS_FRAME_TIMEOUT);
    prh_metrics_protocol_error(m, -77);
    prh_metrics_connection_refused(m, PRH_REFUSED_MAX_CLIENTS);
    prh_metrics_audit_error(m);
    char *text = prh_metrics_render(m, NULL);
    assert_null(check_exposition(text));
    assert_int_equal(sample(text, "prhelper_device_errors_total{kind=\"hardware_error\"}"), 1);
    assert_int_equal(sample(text, "prhelper_device_errors_total{kind=\"not_ready\"}"), 1);
    assert_int_equal(sample(text, "prhelper_device_errors_total{kind=\"busy\"}"), 1);
    assert_int_equal(sample(text, "prhelper_device_errors_total{kind=\"aborted_command\"}"), 1);
    assert_int_equal(sample(text, "prhelper_device_errors_total{kind=\"medium_error\"}"), 1);
    assert_int_equal(sample(text, "prhelper_device_errors_total{kind=\"task_set_full\"}"), 1);
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_in\",service_action="
                                  "\"read_keys\",result=\"other\"}"),
                     1);
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_in\",service_action="
                                  "\"read_keys\",result=\"check_condition\"}"),
                     5);
    assert_int_equal(sample(text, "prhelper_protocol_errors_total{reason=\"bad_opcode\"}"), 1);
    assert_int_equal(sample(text, "prhelper_protocol_errors_total{reason=\"too_long\"}"), 2);
    assert_int_equal(sample(text, "prhelper_protocol_errors_total{reason=\"frame_timeout\"}"), 1);
    assert_int_equal(sample(text, "prhelper_protocol_errors_total{reason=\"other\"}"), 1);
    assert_int_equal(sample(text, "prhelper_connections_refused_total{reason=\"max_clients\"}"), 1);
    assert_int_equal(sample(text, "prhelper_audit_errors_total"), 1);
    free(text);
    prh_metrics_free(m);
}

static void test_metrics_transport_label_is_escaped(void **state)
{
    (void)state;
    struct prh_metrics *m = prh_metrics_new("we\"ird\\\n");
    char *text = prh_metrics_render(m, NULL);
    assert_null(check_exposition(text));
    assert_non_null(strstr(text, "{transport=\"we\\\"ird\\\\\\n\"}"));
    free(text);
    prh_metrics_free(m);
}

static void test_metrics_write_file_is_atomic_and_complete(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[400];
    snprintf(path, sizeof(path), "%s/prhelper.prom", dir);
    struct prh_metrics *m = prh_metrics_new("sim");
    prh_metrics_clients_add(m, 3);
    assert_int_equal(prh_metrics_write_file(m, path), 0);
    char *file = ops_slurp(path), *text = prh_metrics_render(m, NULL);
    assert_string_equal(file, text);
    assert_int_equal(sample(file, "prhelper_clients_connected"), 3);
    free(file);
    free(text);
    /* Nothing else left in the directory (no temporary file). */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = prhelper.prom", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/missing/prhelper.prom", dir);
    assert_int_equal(prh_metrics_write_file(m, path), -ENOENT);
    char *longpath = malloc(5000);
    memset(longpath, 'x', 4999);
    longpath[0] = '/';
    longpath[4999] = '\0';
    assert_int_equal(prh_metrics_write_file(m, longpath), -ENAMETOOLONG);
    free(longpath);
    prh_metrics_free(m);
    tu_tmpdir_free(dir);
}

static void test_metrics_writer_rewrites_periodically_and_at_stop(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[400];
    snprintf(path, sizeof(path), "%s/prhelper.prom", dir);
    struct prh_metrics *m = prh_metrics_new("sim");
    struct prh_metrics_writer *w = prh_metrics_writer_start(m, path, 1);
    assert_non_null(w);
    char *file = ops_slurp(path); /* written before start returns */
    assert_int_equal(sample(file, "prhelper_clients_connected"), 0);
    free(file);
    prh_metrics_clients_add(m, 2);
    long end = tu_now_ms() + 5000;
    double v = 0;
    while (v != 2 && tu_now_ms() < end) {
        tu_sleep_ms(50);
        file = ops_slurp(path);
        v = sample(file, "prhelper_clients_connected");
        free(file);
    }
    assert_int_equal(v, 2);
    prh_metrics_clients_add(m, 5);
    prh_metrics_writer_stop(w); /* the exit write */
    file = ops_slurp(path);
    assert_int_equal(sample(file, "prhelper_clients_connected"), 7);
    free(file);
    snprintf(path, sizeof(path), "%s/missing/x.prom", dir);
    assert_null(prh_metrics_writer_start(m, path, 1));
    assert_int_equal(errno, ENOENT);
    prh_metrics_free(m);
    tu_tmpdir_free(dir);
}

static void test_metrics_stats_control_command(void **state)
{
    (void)state;
    struct prh_metrics *m = prh_metrics_new("sg");
    struct prh_control *ctl = prh_control_new();
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(prh_metrics_control_register(m, ctl), 0);
    assert_int_equal(prh_metrics_control_register(m, ctl), -EEXIST);
    prh_metrics_clients_add(m, 4);
    FILE *out = open_memstream(&buf, &len);
    int r = prh_control_dispatch(ctl, "stats", getpid(), getuid(), out);
    fclose(out);
    assert_int_equal(r, 0);
    const char *body = strchr(buf, '\n'); /* after the status line */
    assert_non_null(body);
    assert_non_null(strstr(body, "prhelper_clients_connected 4\n"));
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    r = prh_control_dispatch(ctl, "stats now", getpid(), getuid(), out);
    fclose(out);
    assert_int_not_equal(r, 0);
    assert_non_null(strstr(buf, "stats takes no arguments"));
    free(buf);
    prh_control_free(ctl);
    prh_metrics_free(m);
}

/* ---- under load through the server ---------------------------------------------------- */

#define LOAD_CLIENTS 8
#define LOAD_REQUESTS 50 /* READ KEYS, each client */

struct load_arg {
    const char *sock;
    int failures;
};

static void *load_client(void *arg)
{
    struct load_arg *a = arg;
    static _Thread_local struct prh_reply r;
    int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(a->sock, NULL);
    for (int i = 0; i < LOAD_REQUESTS; i++)
        if (tu_prin(s, dev, PR_IN_READ_KEYS, 64, &r) != SCSI_STATUS_GOOD)
            a->failures++;
    close(s);
    close(dev);
    return NULL;
}

/* The linger (docs/daemon.md) in the metrics: a client sending back to
 * back is lingered for, and the counter agrees with the server's stats. */
static void test_metrics_server_counts_lingers(void **state)
{
    (void)state;
    struct ops_fx f;
    static struct prh_reply r;
    struct prh_server_stats st;
    ops_fx_init(&f);
    assert_int_equal(ops_fx_start(&f, false, true), 0);
    int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f.sock, NULL);
    for (int i = 0; i < 40; i++)
        assert_int_equal(tu_prin(s, dev, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_GOOD);
    tu_sleep_ms(100); /* the last wait is over */
    prh_server_get_stats(f.srv, &st);
    char *text = prh_metrics_render(f.metrics, NULL);
    assert_null(check_exposition(text));
    long by_client = (long)sample(text, "prhelper_worker_lingers_total{ended_by=\"client\"}");
    long by_period = (long)sample(text, "prhelper_worker_lingers_total{ended_by=\"period\"}");
    assert_true(by_client >= 1);
    assert_int_equal(by_client, (long)st.linger_news);
    assert_int_equal(by_client + by_period, (long)st.lingered);
    free(text);
    close(s);
    close(dev);
    ops_fx_fini(&f);
}

static void test_metrics_server_counts_move_under_load(void **state)
{
    (void)state;
    struct ops_fx f;
    pthread_t th[LOAD_CLIENTS];
    struct load_arg args[LOAD_CLIENTS];
    ops_fx_init(&f);
    assert_int_equal(ops_fx_start(&f, false, true), 0);
    for (int i = 0; i < LOAD_CLIENTS; i++) {
        args[i] = (struct load_arg){ .sock = f.sock };
        pthread_create(&th[i], NULL, load_client, &args[i]);
    }
    for (int i = 0; i < LOAD_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    /* A protocol error: a PR OUT-less, fd-less CDB. */
    int s = tu_connect_hs(f.sock, NULL);
    uint8_t cdb[16];
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 64);
    assert_int_equal(prh_wire_write_all(s, cdb, 16), 0);
    assert_true(tu_peer_closed(s, 5000));
    close(s);
    long end = tu_now_ms() + 5000;
    char *text = NULL;
    for (;;) {
        free(text);
        text = prh_metrics_render(f.metrics, NULL);
        if (sample(text, "prhelper_clients_connected") == 0 || tu_now_ms() > end)
            break;
        tu_sleep_ms(5);
    }
    assert_null(check_exposition(text));
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_in\",service_action="
                                  "\"read_keys\",result=\"good\"}"),
                     LOAD_CLIENTS * LOAD_REQUESTS);
    assert_int_equal(sample(text, "prhelper_request_duration_seconds_count{transport=\"sim\"}"),
                     LOAD_CLIENTS * LOAD_REQUESTS);
    assert_true(sample(text, "prhelper_request_duration_seconds_sum{transport=\"sim\"}") > 0);
    assert_int_equal(sample(text, "prhelper_clients_connected"), 0);
    assert_int_equal(sample(text, "prhelper_requests_in_flight"), 0);
    assert_int_equal(sample(text, "prhelper_protocol_errors_total{reason=\"no_fd\"}"), 1);
    /* The pool's threads are in the gauge (4 kept, from the fixture). */
    assert_true(sample(text, "prhelper_worker_threads") >= 4);
    free(text);
    ops_fx_fini(&f);
}

/* The pool's gauge and limit counter, the fd-limit refusals, the BUSY answers
 * for lost fds. */
static void test_metrics_pool_and_fd_limit(void **state)
{
    (void)state;
    struct prh_metrics *m = prh_metrics_new("sg");
    uint8_t cdb[16];
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    prh_metrics_worker_threads_add(m, 5);
    prh_metrics_worker_threads_add(m, -2);
    prh_metrics_worker_limit(m);
    prh_metrics_linger(m, true);
    prh_metrics_linger(m, true);
    prh_metrics_linger(m, false);
    prh_metrics_connection_refused(m, PRH_REFUSED_FD_LIMIT);
    prh_metrics_connection_refused(m, PRH_REFUSED_FD_LIMIT);
    prh_metrics_request_fd_lost(m, cdb);
    char *text = prh_metrics_render(m, NULL);
    assert_null(check_exposition(text));
    assert_int_equal(sample(text, "prhelper_worker_threads"), 3);
    assert_int_equal(sample(text, "prhelper_worker_limit_reached_total"), 1);
    assert_int_equal(sample(text, "prhelper_worker_lingers_total{ended_by=\"client\"}"), 2);
    assert_int_equal(sample(text, "prhelper_worker_lingers_total{ended_by=\"period\"}"), 1);
    assert_int_equal(sample(text, "prhelper_connections_refused_total{reason=\"fd_limit\"}"), 2);
    assert_int_equal(sample(text, "prhelper_fd_lost_total"), 1);
    assert_int_equal(sample(text, "prhelper_requests_total{op=\"pr_out\",service_action="
                                  "\"register\",result=\"busy\"}"),
                     1);
    /* Not a device error, and not a duration sample. */
    assert_int_equal(sample(text, "prhelper_device_errors_total{kind=\"busy\"}"), 0);
    assert_int_equal(sample(text, "prhelper_request_duration_seconds_count{transport=\"sg\"}"), 0);
    free(text);
    prh_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_empty_render_is_valid_exposition),
        cmocka_unit_test(test_metrics_checker_rejects_malformed_text),
        cmocka_unit_test(test_metrics_requests_counted_by_op_action_and_result),
        cmocka_unit_test(test_metrics_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_metrics_device_and_protocol_errors_by_kind),
        cmocka_unit_test(test_metrics_transport_label_is_escaped),
        cmocka_unit_test(test_metrics_pool_and_fd_limit),
        cmocka_unit_test(test_metrics_write_file_is_atomic_and_complete),
        cmocka_unit_test(test_metrics_writer_rewrites_periodically_and_at_stop),
        cmocka_unit_test(test_metrics_stats_control_command),
        cmocka_unit_test(test_metrics_server_counts_move_under_load),
        cmocka_unit_test(test_metrics_server_counts_lingers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
