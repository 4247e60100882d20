/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_bench.c - prhelper-bench's logic (options, workload mixes,
 * percentiles, /proc parsing) and a short functional run of the built
 * program against the sim transport and against its echo server.  These
 * tests time nothing: speed is in docs/performance.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "tu_text.h"
#include "daemon_fixture.h"
#include "prhelper/bench.h"
#include "prhelper/scsi.h"

#ifndef PRH_BENCH_BIN
#error "PRH_BENCH_BIN comes from bench/CMakeLists.txt"
#endif
#ifndef PRH_COSTS_BIN
#error "PRH_COSTS_BIN comes from bench/CMakeLists.txt"
#endif

/* ---- options ------------------------------------------------------------- */

/* prh_bench_parse_args on "prhelper-bench" arg ... (the list ends with NULL). */
static int parse_list(struct prh_bench_opts *o, char *err, size_t errlen, const char *arg,
                      va_list ap)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"prhelper-bench";
    for (const char *a = arg; a != NULL; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    argv[argc] = NULL;
    return prh_bench_parse_args(argc, argv, o, err, errlen);
}

/* The options the arguments (up to NULL) give; they must parse. */
static const struct prh_bench_opts *parsed(const char *arg, ...)
{
    static struct prh_bench_opts o;
    char err[256];
    va_list ap;
    va_start(ap, arg);
    int r = parse_list(&o, err, sizeof(err), arg, ap);
    va_end(ap);
    if (r != 0)
        fail_msg("%s ...: %s", arg, err);
    return &o;
}

/* The usage error the arguments (up to NULL) give; they must not parse. */
static const char *usage_error(const char *arg, ...)
{
    static struct prh_bench_opts o;
    static char err[256];
    va_list ap;
    va_start(ap, arg);
    int r = parse_list(&o, err, sizeof(err), arg, ap);
    va_end(ap);
    if (r != -1)
        fail_msg("%s ... parsed (%d), a usage error was expected", arg, r);
    return err;
}

static void test_options_defaults(void **state)
{
    (void)state;
    const struct prh_bench_opts *o = parsed("/dev/sda", NULL);
    assert_int_equal(o->mode, PRH_BENCH_HELPER);
    assert_int_equal(o->mix, PRH_MIX_READ_KEYS);
    assert_string_equal(o->socket, "/var/run/qemu-pr-helper.sock");
    assert_string_equal(o->device, "/dev/sda");
    assert_string_equal(o->label, "helper");
    assert_int_equal(o->clients, 1);
    assert_int_equal(o->requests, 1000);
    assert_int_equal(o->warmup, 10);
    assert_int_equal(o->pid, 0);
    assert_false(o->tsv);
}

static void test_options_every_option_is_taken(void **state)
{
    (void)state;
    const struct prh_bench_opts *o =
        parsed("-k", "/run/x.sock", "--clients=32", "-n", "7", "--warmup=0",
               "--mix=reserve-release", "--pid=42", "-l", "prhelper", "--tsv", "/dev/sdb", NULL);
    assert_string_equal(o->socket, "/run/x.sock");
    assert_int_equal(o->clients, 32);
    assert_int_equal(o->requests, 7);
    assert_int_equal(o->warmup, 0);
    assert_int_equal(o->mix, PRH_MIX_RESERVE_RELEASE);
    assert_int_equal(o->pid, 42);
    assert_string_equal(o->label, "prhelper");
    assert_true(o->tsv);
    assert_string_equal(o->device, "/dev/sdb");
}

static void test_options_modes_and_their_labels(void **state)
{
    (void)state;
    const struct prh_bench_opts *o = parsed("--raw", "/dev/sda", NULL);
    assert_int_equal(o->mode, PRH_BENCH_RAW);
    assert_string_equal(o->label, "raw");
    o = parsed("--floor", "/dev/sda", NULL);
    assert_int_equal(o->mode, PRH_BENCH_FLOOR);
    assert_string_equal(o->label, "floor");
    o = parsed("--echo-server", "-k", "/tmp/e.sock", NULL);
    assert_int_equal(o->mode, PRH_BENCH_ECHO_SERVER);
    assert_null(o->device);
}

static void test_options_bad_numbers_are_usage_errors(void **state)
{
    (void)state;
    assert_non_null(strstr(usage_error("-c", "0", "/dev/sda", NULL), "--clients must be 1..4096"));
    usage_error("-c", "4097", "/dev/sda", NULL);
    usage_error("-c", "-3", "/dev/sda", NULL);
    assert_non_null(strstr(usage_error("-n", "12x", "/dev/sda", NULL), "'12x'"));
    usage_error("-n", "", "/dev/sda", NULL);
    usage_error("--pid=0", "/dev/sda", NULL);
    usage_error("-w", "99999999999", "/dev/sda", NULL);
}

static void test_options_unknown_mix_lists_the_mixes(void **state)
{
    (void)state;
    tu_assert_contains(usage_error("--mix=write", "/dev/sda", NULL), "unknown mix 'write'",
                       "register-read-keys");
}

static void test_options_modes_exclude_each_other(void **state)
{
    (void)state;
    assert_non_null(
        strstr(usage_error("--raw", "--floor", "/dev/sda", NULL), "exclude each other"));
}

static void test_options_device_count_is_checked(void **state)
{
    (void)state;
    assert_string_equal(usage_error("-c", "2", NULL), "a DEVICE is required");
    assert_string_equal(usage_error("/dev/sda", "/dev/sdb", NULL), "only one DEVICE");
    assert_string_equal(usage_error("--echo-server", "/dev/sda", NULL),
                        "--echo-server takes no DEVICE");
}

static void test_options_unknown_option_and_missing_value(void **state)
{
    (void)state;
    assert_string_equal(usage_error("--bogus", "/dev/sda", NULL), "unknown option '--bogus'");
    assert_string_equal(usage_error("/dev/sda", "-c", NULL), "option '-c' needs a value");
}

static void test_options_help(void **state)
{
    (void)state;
    assert_true(parsed("--help", NULL)->help);
}

/* ---- workload mixes ------------------------------------------------------ */

static void test_mix_read_keys_is_pr_in_sa0_alloc_8192(void **state)
{
    (void)state;
    struct prh_bench_cmd c;
    prh_bench_cmd_step(PRH_MIX_READ_KEYS, 0x33, 5, &c);
    assert_int_equal(c.cdb[0], 0x5e);
    assert_int_equal(c.cdb[1], PR_IN_READ_KEYS);
    assert_int_equal(scsi_get_be16(&c.cdb[7]), 8192);
    assert_int_equal(c.params_len, 0);
    prh_bench_cmd_step(PRH_MIX_READ_RESERVATION, 0x33, 5, &c);
    assert_int_equal(c.cdb[1], PR_IN_READ_RESERVATION);
}

static void test_mix_register_read_keys_alternates_and_changes_the_key(void **state)
{
    (void)state;
    struct prh_bench_cmd a, b, c;
    prh_bench_cmd_step(PRH_MIX_REGISTER_READ_KEYS, 0x22, 0, &a);
    prh_bench_cmd_step(PRH_MIX_REGISTER_READ_KEYS, 0x22, 1, &b);
    prh_bench_cmd_step(PRH_MIX_REGISTER_READ_KEYS, 0x22, 2, &c);
    assert_int_equal(a.cdb[0], 0x5f);
    assert_int_equal(a.cdb[1], PR_OUT_REGISTER_AND_IGNORE);
    assert_int_equal(scsi_get_be16(&a.cdb[7]), 24);
    assert_int_equal(a.params_len, 24);
    assert_int_equal(scsi_get_be64(&a.params[8]), 0x22);
    assert_int_equal(b.cdb[0], 0x5e);
    assert_int_equal(b.cdb[1], PR_IN_READ_KEYS);
    assert_int_equal(c.cdb[1], PR_OUT_REGISTER_AND_IGNORE);
    assert_int_not_equal(scsi_get_be64(&c.params[8]), scsi_get_be64(&a.params[8]));
    assert_int_not_equal(scsi_get_be64(&c.params[8]), 0);
}

static void test_mix_reserve_release_registers_first_and_cleans_up(void **state)
{
    (void)state;
    struct prh_bench_cmd cmds[2], c;
    size_t n;
    prh_bench_cmd_prologue(PRH_MIX_RESERVE_RELEASE, 0x11, cmds, &n);
    assert_int_equal(n, 1);
    assert_int_equal(cmds[0].cdb[1], PR_OUT_REGISTER_AND_IGNORE);
    assert_int_equal(scsi_get_be64(&cmds[0].params[8]), 0x11);
    prh_bench_cmd_step(PRH_MIX_RESERVE_RELEASE, 0x11, 0, &c);
    assert_int_equal(c.cdb[1], PR_OUT_RESERVE);
    assert_int_equal(c.cdb[2], PR_TYPE_WE);
    assert_int_equal(scsi_get_be64(&c.params[0]), 0x11);
    prh_bench_cmd_step(PRH_MIX_RESERVE_RELEASE, 0x11, 1, &c);
    assert_int_equal(c.cdb[1], PR_OUT_RELEASE);
    prh_bench_cmd_epilogue(PRH_MIX_RESERVE_RELEASE, 0x11, cmds, &n);
    assert_int_equal(n, 2);
    assert_int_equal(cmds[0].cdb[1], PR_OUT_RELEASE);
    assert_int_equal(cmds[1].cdb[1], PR_OUT_REGISTER_AND_IGNORE);
    assert_int_equal(scsi_get_be64(&cmds[1].params[8]), 0);
    prh_bench_cmd_prologue(PRH_MIX_READ_KEYS, 0x11, cmds, &n);
    assert_int_equal(n, 0);
    prh_bench_cmd_epilogue(PRH_MIX_READ_KEYS, 0x11, cmds, &n);
    assert_int_equal(n, 0);
    prh_bench_cmd_epilogue(PRH_MIX_REGISTER_READ_KEYS, 0x11, cmds, &n);
    assert_int_equal(n, 1);
}

static void test_keys_are_shared_unless_key_per_client(void **state)
{
    (void)state;
    const struct prh_bench_opts *o = parsed("/dev/sda", NULL);
    assert_int_equal(prh_bench_key(o, 0), prh_bench_key(o, 7));
    assert_int_not_equal(prh_bench_key(o, 0), 0);
    o = parsed("--key-per-client", "/dev/sda", NULL);
    assert_true(o->key_per_client);
    assert_int_not_equal(prh_bench_key(o, 0), prh_bench_key(o, 7));
    assert_int_not_equal(prh_bench_key(o, 0), 0);
}

static void test_mix_names_round_trip(void **state)
{
    (void)state;
    enum prh_bench_mix m;
    for (int i = PRH_MIX_READ_KEYS; i <= PRH_MIX_RESERVE_RELEASE; i++) {
        assert_true(prh_bench_mix_parse(prh_bench_mix_name((enum prh_bench_mix)i), &m));
        assert_int_equal(m, i);
    }
    assert_false(prh_bench_mix_parse("READ-KEYS", &m));
}

/* ---- statistics ---------------------------------------------------------- */

static void test_percentile_is_nearest_rank(void **state)
{
    (void)state;
    uint64_t v[100];
    for (unsigned i = 0; i < 100; i++)
        v[i] = i + 1;
    assert_int_equal(prh_bench_percentile(v, 100, 50), 50);
    assert_int_equal(prh_bench_percentile(v, 100, 90), 90);
    assert_int_equal(prh_bench_percentile(v, 100, 99), 99);
    assert_int_equal(prh_bench_percentile(v, 100, 100), 100);
    assert_int_equal(prh_bench_percentile(v, 10, 99), 10);  /* ceil(9.9) = 10th */
    assert_int_equal(prh_bench_percentile(v, 10, 50), 5);
    assert_int_equal(prh_bench_percentile(v, 1, 99), 1);
    assert_int_equal(prh_bench_percentile(v, 0, 50), 0);
}

/* req/s is counted over the clients' own span: the earliest start to the
 * latest end, whichever clients they come from and in whatever order. */
static void test_span_runs_from_earliest_client_start_to_latest_end(void **state)
{
    (void)state;
    struct prh_bench_span s = { 0, 0 };
    assert_true(prh_bench_span_seconds(&s) == 0.0);
    prh_bench_span_add(&s, 2000000000u, 2500000000u);
    prh_bench_span_add(&s, 1000000000u, 2000000000u); /* started first */
    prh_bench_span_add(&s, 1500000000u, 3000000000u); /* ended last */
    assert_int_equal(s.start_ns, 1000000000u);
    assert_int_equal(s.end_ns, 3000000000u);
    assert_true(prh_bench_span_seconds(&s) > 1.999 && prh_bench_span_seconds(&s) < 2.001);
}

static void test_stats_sort_and_summarise(void **state)
{
    (void)state;
    uint64_t v[] = { 900, 100, 500, 300, 700 };
    struct prh_bench_stats s;
    prh_bench_stats_compute(v, 5, &s);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.min, 100);
    assert_int_equal(s.max, 900);
    assert_int_equal(s.p50, 500);
    assert_int_equal(s.p90, 900);
    assert_int_equal(s.p99, 900);
    assert_true(s.mean > 499.9 && s.mean < 500.1);
    assert_int_equal(v[0], 100); /* sorted in place */
    prh_bench_stats_compute(v, 0, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.max, 0);
}

static void test_count_classifies_statuses(void **state)
{
    (void)state;
    struct prh_bench_counts c = { 0 };
    prh_bench_count(&c, SCSI_STATUS_GOOD, 0);
    prh_bench_count(&c, SCSI_STATUS_RESERVATION_CONFLICT, 0);
    prh_bench_count(&c, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_UNIT_ATTENTION);
    prh_bench_count(&c, SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_ILLEGAL_REQUEST);
    prh_bench_count(&c, SCSI_STATUS_BUSY, 0);
    assert_int_equal(c.good, 1);
    assert_int_equal(c.conflict, 1);
    assert_int_equal(c.unit_attention, 1);
    assert_int_equal(c.check, 1);
    assert_int_equal(c.other, 1);
}

/* ---- /proc --------------------------------------------------------------- */

static void test_status_field_finds_the_key_at_a_line_start(void **state)
{
    (void)state;
    const char *text = "Name:\tprhelper\nVmHWM:\t  9000 kB\nVmRSS:\t    4242 kB\nThreads:\t5\n";
    assert_int_equal(prh_bench_status_field(text, "VmRSS"), 4242);
    assert_int_equal(prh_bench_status_field(text, "Threads"), 5);
    assert_int_equal(prh_bench_status_field(text, "RSS"), -1);
    assert_int_equal(prh_bench_status_field(text, "VmSwap"), -1);
    assert_int_equal(prh_bench_status_field("VmRSS:\tmany kB\n", "VmRSS"), -1);
}

static void test_proc_sample_of_this_process_and_of_nobody(void **state)
{
    (void)state;
    struct prh_bench_proc p;
    prh_bench_proc_sample(getpid(), &p);
    assert_true(p.rss_kib > 0);
    assert_true(p.fds >= 3);
    assert_true(p.threads >= 1);
    prh_bench_proc_sample(0, &p);
    assert_int_equal(p.rss_kib, -1);
    assert_int_equal(p.fds, -1);
    assert_int_equal(p.threads, -1);
}

/* The resident set is exact (smaps_rollup's Rss:, summed from the page
 * tables): 16 pages touched show as 64 KiB at once, where status's VmRSS,
 * updated in batches of 32 pages or more, may not move at all. */
static void test_proc_sample_rss_is_exact(void **state)
{
    (void)state;
    struct prh_bench_proc a, b;
    const size_t pages = 16, page = 4096;
    char rollup[4096];
    FILE *f = fopen("/proc/self/smaps_rollup", "re");
    if (!f)
        skip(); /* before Linux 4.14 */
    size_t n = fread(rollup, 1, sizeof(rollup) - 1, f);
    fclose(f);
    rollup[n] = '\0';
    assert_true(prh_bench_status_field(rollup, "Rss") > 0);
    uint8_t *m = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    assert_true(m != MAP_FAILED);
    prh_bench_proc_sample(getpid(), &a); /* warms up what sampling itself touches */
    prh_bench_proc_sample(getpid(), &a);
    for (size_t i = 0; i < pages; i++)
        m[i * page] = 1;
    prh_bench_proc_sample(getpid(), &b);
    munmap(m, pages * page);
    print_message("RSS before %ld KiB, after touching %zu pages %ld KiB\n", a.rss_kib, pages,
                  b.rss_kib);
    /* The sampling itself (stdio buffers; a sanitizer's shadow memory)
     * may add some pages. */
    assert_true(b.rss_kib - a.rss_kib >= (long)(pages * page / 1024));
    assert_true(b.rss_kib - a.rss_kib <= 2 * (long)(pages * page / 1024));
}

/* /proc/PID/stat's utime + stime, counted from the last ')' (a command
 * name may hold spaces and parentheses); /proc/stat's busy and total. */
static void test_cpu_fields_parse(void **state)
{
    (void)state;
    const char *line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
                       "17 25 0 0 20 0 3 0 1000 1000000 200\n";
    assert_int_equal(prh_bench_stat_cpu_ticks(line), 42);
    assert_int_equal(prh_bench_stat_cpu_ticks("4242 (x) S 1 2"), -1);
    assert_int_equal(prh_bench_stat_cpu_ticks("no parenthesis"), -1);
    long long busy = 0, total = 0;
    const char *st = "cpu  100 5 30 800 50 3 2 10 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
    assert_true(prh_bench_sys_ticks(st, &busy, &total));
    assert_int_equal(total, 1000);
    assert_int_equal(busy, 150);
    assert_false(prh_bench_sys_ticks("cpu0 1 2 3\n", &busy, &total));
}

/* This process's own CPU time grows while it spins; the machine's too. */
static void test_cpu_sample_of_this_process(void **state)
{
    (void)state;
    struct prh_bench_cpu a, b;
    prh_bench_cpu_sample(getpid(), &a);
    assert_true(a.helper_ticks >= 0);
    assert_true(a.helper_cs >= 0);
    assert_true(a.sys_total > 0);
    /* Spin until this process has used 50 ms of CPU (5 clock ticks), not
     * for a wall time: on a loaded host 100 ms of wall time may bring less
     * than one tick of CPU (a flake seen under ctest -j2 beside a TCG VM). */
    struct timespec c0, c;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    long end = tu_now_ms() + 20000;
    volatile unsigned long spin = 0;
    do {
        spin++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    } while ((c.tv_sec - c0.tv_sec) * 1000000000L + (c.tv_nsec - c0.tv_nsec) < 50000000L &&
             tu_now_ms() < end);
    prh_bench_cpu_sample(getpid(), &b);
    assert_true(b.helper_ticks > a.helper_ticks);
    assert_true(b.sys_busy > a.sys_busy);
    prh_bench_cpu_sample(0, &b);
    assert_int_equal(b.helper_ticks, -1);
    assert_int_equal(b.helper_cs, -1);
    assert_int_equal(b.helper_ics, -1);
}

/* This (one-threaded) process's nonvoluntary_ctxt_switches, read directly. */
static long own_preemptions(void)
{
    char buf[4096];
    return prh_bench_status_field(tu_read_text("/proc/self/status", buf, sizeof(buf)),
                                  "nonvoluntary_ctxt_switches");
}

/* The preemptions are the threads' involuntary switches, a part of all. */
static void test_cpu_sample_counts_preemptions_apart(void **state)
{
    (void)state;
    struct prh_bench_cpu a;
    /* voluntary switches: a few sleeps, so the two counts differ */
    for (int i = 0; i < 3; i++)
        usleep(1000);
    long before = own_preemptions();
    prh_bench_cpu_sample(getpid(), &a);
    long after = own_preemptions();
    assert_true(before >= 0);
    assert_true(a.helper_ics >= before && a.helper_ics <= after);
    assert_true(a.helper_cs >= a.helper_ics + 3);
}

/* ---- the built program --------------------------------------------------- */

/* Run argv with stdout into out (stderr too); exit status (daemon fixture). */
static int run(char *out, size_t outlen, const char *const *argv)
{
    return dfx_run(out, outlen, argv, 60000);
}

static void tsv_field(const char *out, const char *name, char *val, size_t len)
{
    char hdr[1024], row[1024];
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    snprintf(hdr, sizeof(hdr), "%.*s", (int)(nl - out), out);
    snprintf(row, sizeof(row), "%s", nl + 1);
    row[strcspn(row, "\n")] = '\0';
    char *hs, *rs, *h = strtok_r(hdr, "\t", &hs), *r = strtok_r(row, "\t", &rs);
    while (h && r) {
        if (strcmp(h, name) == 0) {
            snprintf(val, len, "%s", r);
            return;
        }
        h = strtok_r(NULL, "\t", &hs);
        r = strtok_r(NULL, "\t", &rs);
    }
    fail_msg("no column %s in %s", name, out);
}

static void test_bench_program_runs_against_the_sim_daemon(void **state)
{
    struct dfx *f = *state;
    char out[8192], v[64];
    dfx_start(f, "-q", NULL);
    const char *argv[] = { PRH_BENCH_BIN, "-k", f->sock, "-c", "4", "-n", "50", "--tsv",
                           "--mix=register-read-keys", "--key-per-client", f->disk, NULL };
    int rc = run(out, sizeof(out), argv);
    dfx_stop(f, SIGTERM);
    assert_int_equal(rc, 0);
    tsv_field(out, "done", v, sizeof(v));
    assert_string_equal(v, "200");
    tsv_field(out, "good", v, sizeof(v));
    assert_string_equal(v, "200");
    tsv_field(out, "mix", v, sizeof(v));
    assert_string_equal(v, "register-read-keys");
    tsv_field(out, "rss_idle_kib", v, sizeof(v));
    assert_true(atol(v) > 0); /* the daemon was found through SO_PEERCRED */
    tsv_field(out, "helper_preempt_per_req", v, sizeof(v));
    assert_true(strtod(v, NULL) >= 0); /* the daemon's preemptions per request */
}

static void test_bench_floor_mode_runs_its_echo_server(void **state)
{
    struct dfx *f = *state;
    char out[8192];
    const char *argv[] = { PRH_BENCH_BIN, "--floor", "-c", "3", "-n", "40", "--mix=reserve-release",
                           f->disk, NULL };
    assert_int_equal(run(out, sizeof(out), argv), 0);
    tu_assert_contains(out, "3 clients x 40 requests", "requests 120 in", "replies: good 120,",
                       "idle memory per connected client");
}

static void test_bench_usage_error_exits_2(void **state)
{
    (void)state;
    char out[4096];
    const char *argv[] = { PRH_BENCH_BIN, "-c", "0", "/dev/null", NULL };
    assert_int_equal(run(out, sizeof(out), argv), 2);
    tu_assert_contains(out, "--clients must be 1..4096", "Try 'prhelper-bench --help'");
}

static void test_bench_unreachable_socket_is_a_clear_error(void **state)
{
    (void)state;
    char out[4096];
    const char *argv[] = { PRH_BENCH_BIN, "-k", "/nonexistent/prh.sock", "/dev/null", NULL };
    assert_int_equal(run(out, sizeof(out), argv), 1);
    assert_non_null(strstr(out, "cannot connect to /nonexistent/prh.sock"));
}

/* prhelper-costs on a plain file: every item has its row; what works on
 * a file has a positive figure, what needs a disk (BLKGETDISKSEQ, SG_IO)
 * says "-" rather than a number. */
static void test_costs_program_rows_and_what_a_file_lacks(void **state)
{
    struct dfx *f = *state;
    char out[8192];
    const char *argv[] = { PRH_COSTS_BIN, "-n", "50", f->disk, NULL };
    assert_int_equal(run(out, sizeof(out), argv), 0);
    assert_true(strncmp(out, "item\tus_per_call\tcalls\twhat\n", 28) == 0);
    static const char *const measured[] = { "syscall", "fstat-syscall", "fstat-glibc",
                                            "epoll-rearm", "fd-pass", "hand-off" };
    for (size_t i = 0; i < sizeof(measured) / sizeof(measured[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "\n%s\t", measured[i]);
        const char *row = strstr(out, key);
        assert_non_null(row);
        double us = strtod(row + strlen(key), NULL);
        assert_true(us > 0);
        assert_non_null(strstr(row + strlen(key), "\t50\t"));
    }
    tu_assert_contains(out, "\nblkgetdiskseq\t-\t50\t", "\nsg-io\t-\t50\t");
}

static void test_costs_program_usage_errors(void **state)
{
    (void)state;
    char out[4096];
    const char *none[] = { PRH_COSTS_BIN, NULL };
    assert_int_equal(run(out, sizeof(out), none), 2);
    assert_non_null(strstr(out, "Usage: prhelper-costs"));
    const char *zero[] = { PRH_COSTS_BIN, "-n", "0", "/dev/null", NULL };
    assert_int_equal(run(out, sizeof(out), zero), 2);
    assert_non_null(strstr(out, "-n wants 1 to 10000000, not '0'"));
    const char *missing[] = { PRH_COSTS_BIN, "/nonexistent/disk", NULL };
    assert_int_equal(run(out, sizeof(out), missing), 1);
    assert_non_null(strstr(out, "/nonexistent/disk: No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults),
        cmocka_unit_test(test_options_every_option_is_taken),
        cmocka_unit_test(test_options_modes_and_their_labels),
        cmocka_unit_test(test_options_bad_numbers_are_usage_errors),
        cmocka_unit_test(test_options_unknown_mix_lists_the_mixes),
        cmocka_unit_test(test_options_modes_exclude_each_other),
        cmocka_unit_test(test_options_device_count_is_checked),
        cmocka_unit_test(test_options_unknown_option_and_missing_value),
        cmocka_unit_test(test_options_help),
        cmocka_unit_test(test_mix_read_keys_is_pr_in_sa0_alloc_8192),
        cmocka_unit_test(test_mix_register_read_keys_alternates_and_changes_the_key),
        cmocka_unit_test(test_mix_reserve_release_registers_first_and_cleans_up),
        cmocka_unit_test(test_keys_are_shared_unless_key_per_client),
        cmocka_unit_test(test_mix_names_round_trip),
        cmocka_unit_test(test_percentile_is_nearest_rank),
        cmocka_unit_test(test_stats_sort_and_summarise),
        cmocka_unit_test(test_span_runs_from_earliest_client_start_to_latest_end),
        cmocka_unit_test(test_count_classifies_statuses),
        cmocka_unit_test(test_status_field_finds_the_key_at_a_line_start),
        cmocka_unit_test(test_proc_sample_of_this_process_and_of_nobody),
        cmocka_unit_test(test_proc_sample_rss_is_exact),
        cmocka_unit_test(test_cpu_fields_parse),
        cmocka_unit_test(test_cpu_sample_of_this_process),
        cmocka_unit_test(test_cpu_sample_counts_preemptions_apart),
        cmocka_unit_test_setup_teardown(test_bench_program_runs_against_the_sim_daemon, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_bench_floor_mode_runs_its_echo_server, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test(test_bench_usage_error_exits_2),
        cmocka_unit_test(test_bench_unreachable_socket_is_a_clear_error),
        cmocka_unit_test_setup_teardown(test_costs_program_rows_and_what_a_file_lacks, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test(test_costs_program_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
