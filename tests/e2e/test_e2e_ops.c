/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_e2e_ops.c - the built daemon with the operations options:
 * --audit, --metrics-file, --allow-uid/--allow-gid/--allow-device, and
 * the contrib/systemd units (systemd-analyze verify, and the service's
 * ExecStart run under systemd-socket-activate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "tu_text.h"
#include "daemon_fixture.h"
#include "ops_fixture.h"
#include "prhelper/cli.h"

#ifndef PRH_DAEMON_BIN
#error "PRH_DAEMON_BIN comes from prh_daemon_lib"
#endif

/* The daemon fixture: tests/helpers/daemon_fixture.h. */
static int run(char *const argv[], char *out, size_t outlen, int timeout_ms)
{
    return dfx_run(out, outlen, (const char *const *)argv, timeout_ms);
}

/* prhelper-cli -k SOCK [-K key] DEVICE command args...; its exit status. */
static int cli(struct dfx *f, const char *dev, const char *a1, const char *a2, const char *a3)
{
    char k[320];
    snprintf(k, sizeof(k), "--socket=%s", f->sock);
    char *argv[] = { (char *)PRH_CLI_BIN, k, (char *)dev, (char *)a1, (char *)a2, (char *)a3, NULL };
    return run(argv, NULL, 0, 10000);
}

/* Parse with the Prometheus project's own Python parser (python3-prometheus-client). */
static int python_parse(const char *path, const char *want_sample)
{
    char prog[1200];
    snprintf(prog, sizeof(prog),
             "import sys\n"
             "from prometheus_client.parser import text_string_to_metric_families as p\n"
             "fams = list(p(open('%s').read()))\n"
             "names = {s.name + str(sorted(s.labels.items())): s.value for f in fams for s in "
             "f.samples}\n"
             "want = '%s'\n"
             "sys.exit(0 if (not want or any(k.startswith(want) and v > 0 for k, v in "
             "names.items())) else 3)\n",
             path, want_sample);
    char *argv[] = { (char *)"/usr/bin/python3", (char *)"-c", prog, NULL };
    char err[2048];
    int r = run(argv, err, sizeof(err), 20000);
    if (r != 0)
        print_message("python parser: %s\n", err);
    return r;
}

static void test_e2e_ops_audit_file_and_metrics_file(void **state)
{
    struct dfx *f = *state;
    char a[320], m[320], line[4096];
    snprintf(a, sizeof(a), "--audit=file:%s", f->audit);
    snprintf(m, sizeof(m), "--metrics-file=%s", f->metrics);
    const char *extra[] = { a, m, "--metrics-interval=1", NULL };
    dfx_start_argv(f, extra);
    assert_int_equal(cli(f, f->disk, "register", "0x5", NULL), 0);
    /* key 0 is not registered: RESERVATION CONFLICT, the exit status */
    assert_int_equal(cli(f, f->disk, "reserve", "we", NULL), SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(cli(f, f->disk, "read-keys", NULL, NULL), 0);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);

    char *text = ops_slurp(f->audit);
    assert_int_equal(ops_count_lines(text), 2);
    assert_true(ops_line(text, 0, line, sizeof(line)));
    tu_assert_contains(line, "\"service_action\":\"REGISTER\"",
                       "\"sa_key\":\"0x0000000000000005\"");
    assert_non_null(strstr(line, "\"exe\":\"" PRH_CLI_BIN "\""));
    assert_non_null(strstr(line, "\"transport\":\"sim\""));
    assert_true(ops_line(text, 1, line, sizeof(line)));
    assert_non_null(strstr(line, "\"status\":\"RESERVATION CONFLICT\""));
    free(text);

    /* The exit write has every request; the file parses as Prometheus text. */
    text = ops_slurp(f->metrics);
    assert_non_null(strstr(text, "prhelper_requests_total{op=\"pr_out\",service_action=\"register\","
                                 "result=\"good\"} 1\n"));
    assert_non_null(strstr(text, "prhelper_requests_total{op=\"pr_out\",service_action=\"reserve\","
                                 "result=\"reservation_conflict\"} 1\n"));
    tu_assert_contains(text, "prhelper_request_duration_seconds_count{transport=\"sim\"} 3\n",
                       "prhelper_clients_connected 0\n");
    free(text);
    assert_int_equal(python_parse(f->metrics, "prhelper_requests_total"), 0);
}

static void test_e2e_ops_metrics_file_moves_while_running(void **state)
{
    struct dfx *f = *state;
    char m[320];
    snprintf(m, sizeof(m), "--metrics-file=%s", f->metrics);
    const char *extra[] = { m, "--metrics-interval=1", "--audit=none", NULL };
    dfx_start_argv(f, extra);
    for (int i = 0; i < 5; i++)
        assert_int_equal(cli(f, f->disk, "read-keys", NULL, NULL), 0);
    long end = tu_now_ms() + 5000;
    bool seen = false;
    while (!seen && tu_now_ms() < end) {
        char *text = ops_slurp(f->metrics);
        seen = strstr(text, "service_action=\"read_keys\",result=\"good\"} 5\n") != NULL;
        free(text);
        if (!seen)
            tu_sleep_ms(100);
    }
    assert_true(seen);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

static void test_e2e_ops_disallowed_uid_cannot_issue_a_command(void **state)
{
    struct dfx *f = *state;
    char a[320], uid[64], gid[64];
    snprintf(a, sizeof(a), "--audit=file:%s", f->audit);
    snprintf(uid, sizeof(uid), "--allow-uid=%u", (unsigned)getuid() + 1);
    snprintf(gid, sizeof(gid), "--allow-gid=%u", (unsigned)getgid() + 1);
    const char *extra[] = { a, uid, gid, NULL };
    dfx_start_argv(f, extra);
    assert_int_not_equal(cli(f, f->disk, "register", "0x5", NULL), 0);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    char *text = ops_slurp(f->audit);
    assert_int_equal(ops_count_lines(text), 1);
    assert_non_null(strstr(text, "\"event\":\"client_denied\""));
    assert_null(strstr(text, "REGISTER"));
    free(text);
}

static void test_e2e_ops_disallowed_device_gets_access_denied(void **state)
{
    struct dfx *f = *state;
    const char *extra[] = { "--allow-device=1:3", "--audit=none", NULL };
    dfx_start_argv(f, extra);
    char k[320];
    snprintf(k, sizeof(k), "--socket=%s", f->sock);
    /* The allowed device passes the policy and reaches the simulator,
     * which models only disks: /dev/null is not a logical unit there. */
    char *ok[] = { (char *)PRH_CLI_BIN, k, (char *)"/dev/null", (char *)"register", (char *)"0x5",
                   NULL };
    char err[1024];
    assert_int_equal(run(ok, err, sizeof(err), 10000), 2);
    assert_non_null(strstr(err, "LOGICAL UNIT NOT SUPPORTED"));
    assert_null(strstr(err, "ACCESS DENIED"));
    char *argv[] = { (char *)PRH_CLI_BIN, k, f->disk, (char *)"register", (char *)"0x5", NULL };
    assert_int_not_equal(run(argv, err, sizeof(err), 10000), 0);
    assert_non_null(strstr(err, "ACCESS DENIED"));
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
}

static void test_e2e_ops_cli_stats_over_the_control_socket(void **state)
{
    struct dfx *f = *state;
    char c[400], cpath[300], out[65536];
    snprintf(cpath, sizeof(cpath), "%s/control", f->dir);
    snprintf(c, sizeof(c), "--control=%s", cpath);
    const char *extra[] = { c, "--audit=none", NULL };
    dfx_start_argv(f, extra);
    assert_int_equal(cli(f, f->disk, "register", "0x5", NULL), 0);
    char *argv[] = { (char *)PRH_CLI_BIN, c, (char *)"stats", NULL };
    assert_int_equal(run(argv, out, sizeof(out), 10000), 0);
    assert_non_null(strstr(out, "prhelper_requests_total{op=\"pr_out\",service_action=\"register\","
                                "result=\"good\"} 1\n"));
    assert_non_null(strstr(out, "# TYPE prhelper_request_duration_seconds histogram\n"));
    /* What the CLI prints parses as Prometheus text. */
    char path[400];
    snprintf(path, sizeof(path), "%s/stats.prom", f->dir);
    FILE *fp = fopen(path, "w");
    fputs(out, fp);
    fclose(fp);
    assert_int_equal(python_parse(path, "prhelper_requests_total"), 0);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    /* In the sandbox Landlock refuses the daemon's own unlink: the exit
     * cleaner removes the control socket, as it does the main one. */
    assert_int_not_equal(access(cpath, F_OK), 0);
}

static void test_e2e_ops_bad_sinks_fail_at_startup(void **state)
{
    struct dfx *f = *state;
    char k[320], err[1024];
    snprintf(k, sizeof(k), "--socket=%s", f->sock);
    char *a1[] = { (char *)PRH_DAEMON_BIN, k, (char *)"--transport=sim",
                   (char *)"--audit=file:/nonexistent-prh/audit.jsonl", NULL };
    assert_int_equal(run(a1, err, sizeof(err), 10000), 1);
    assert_non_null(strstr(err, "Cannot open audit file '/nonexistent-prh/audit.jsonl'"));
    char *a2[] = { (char *)PRH_DAEMON_BIN, k, (char *)"--transport=sim", (char *)"--audit=none",
                   (char *)"--metrics-file=/nonexistent-prh/m.prom", NULL };
    assert_int_equal(run(a2, err, sizeof(err), 10000), 1);
    assert_non_null(strstr(err, "Cannot write metrics file '/nonexistent-prh/m.prom'"));
    assert_int_not_equal(access(f->sock, F_OK), 0); /* no socket left behind */
}

/* prh_cli_parse() of argv; the error text in err (empty when none). */
static enum prh_cli_action parse(struct prh_options *o, char *err, size_t len, const char *a1,
                                 const char *a2, const char *a3)
{
    char *argv[] = { (char *)"prhelper", (char *)a1, (char *)a2, (char *)a3, NULL };
    int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);
    FILE *fp = fmemopen(err, len, "w");
    enum prh_cli_action r = prh_cli_parse(argc, argv, o, fp);
    fclose(fp);
    return r;
}

static void test_e2e_ops_cli_options_parse_and_reject(void **state)
{
    (void)state;
    static struct prh_options o;
    char err[512];
    assert_int_equal(parse(&o, err, sizeof(err), "--audit=file:/var/log/a.jsonl",
                           "--metrics-file=/run/m.prom", "--metrics-interval=30"),
                     PRH_CLI_RUN);
    assert_int_equal(o.audit_sink, PRH_AUDIT_FILE);
    assert_string_equal(o.audit_path, "/var/log/a.jsonl");
    assert_string_equal(o.metrics_file, "/run/m.prom");
    assert_int_equal(o.metrics_interval_s, 30);
    assert_int_equal(parse(&o, err, sizeof(err), "--allow-uid=0", "--allow-gid=root",
                           "--allow-device=naa.6001405abc"),
                     PRH_CLI_RUN);
    assert_int_equal(o.policy.nuids, 1);
    assert_int_equal(o.policy.ngids, 1);
    assert_int_equal(o.policy.ndevices, 1);
    assert_int_equal(parse(&o, err, sizeof(err), NULL, NULL, NULL), PRH_CLI_RUN);
    assert_int_equal(o.audit_sink, PRH_AUDIT_DEFAULT);
    assert_null(o.metrics_file);
    assert_int_equal(o.policy.nuids + o.policy.ngids + o.policy.ndevices, 0);
    static const struct {
        const char *arg, *msg;
    } bad[] = {
        { "--audit=kafka", "prhelper: unknown audit sink 'kafka'" },
        { "--audit=file:rel.log", "needs an absolute path" },
        { "--metrics-file=m.prom", "--metrics-file needs an absolute path, not 'm.prom'" },
        { "--metrics-interval=0", "--metrics-interval needs seconds from 1 to 86400" },
        { "--allow-uid=no-such-user-prh", "--allow-uid: unknown user 'no-such-user-prh'" },
        { "--allow-gid=no-such-group-prh", "--allow-gid: unknown group 'no-such-group-prh'" },
        { "--allow-device=8:", "--allow-device needs a WWID or MAJOR:MINOR, not '8:'" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(err, 0, sizeof(err));
        assert_int_equal(parse(&o, err, sizeof(err), bad[i].arg, NULL, NULL), PRH_CLI_ERROR);
        if (!strstr(err, bad[i].msg))
            fail_msg("%s: '%s' lacks '%s'", bad[i].arg, err, bad[i].msg);
    }
    /* --help documents them. */
    char help[8192] = "";
    FILE *fp = fmemopen(help, sizeof(help), "w");
    prh_cli_usage(fp, "prhelper");
    fclose(fp);
    static const char *const opts[] = { "--audit=SINK", "--metrics-file=PATH",
                                        "--metrics-interval=SECONDS", "--allow-uid=USER",
                                        "--allow-gid=GROUP", "--allow-device=DEV" };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (!strstr(help, opts[i]))
            fail_msg("--help lacks %s", opts[i]);
}

/* ---- systemd units ------------------------------------------------------------------ */

static void unit_dir(char *buf, size_t len)
{
    snprintf(buf, len, "%s/contrib/systemd", PRH_SOURCE_DIR);
}

/* Copy a unit with /usr/bin/prhelper pointing at the built daemon. */
static void copy_unit(const char *from_dir, const char *to_dir, const char *name)
{
    char cmd[2000];
    snprintf(cmd, sizeof(cmd), "sed 's|/usr/bin/prhelper|%s|' '%s/%s' > '%s/%s'", PRH_DAEMON_BIN,
             from_dir, name, to_dir, name);
    assert_int_equal(system(cmd), 0);
}

static void test_e2e_ops_systemd_units_verify(void **state)
{
    struct dfx *f = *state;
    char src[400], s[500], v[500], err[4096];
    unit_dir(src, sizeof(src));
    copy_unit(src, f->dir, "prhelper.socket");
    copy_unit(src, f->dir, "prhelper.service");
    snprintf(s, sizeof(s), "%s/prhelper.socket", f->dir);
    snprintf(v, sizeof(v), "%s/prhelper.service", f->dir);
    char *argv[] = { (char *)"/usr/bin/systemd-analyze", (char *)"verify", (char *)"--man=no", s,
                     v, NULL };
    int r = run(argv, err, sizeof(err), 60000);
    if (r != 0 || err[0])
        fail_msg("systemd-analyze verify: status %d: %s", r, err);
    /* The same check finds a misspelt key (so it can fail). */
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "sed -i 's/^NoNewPrivileges=/NoNewPrivilege=/' '%s'", v);
    assert_int_equal(system(cmd), 0);
    r = run(argv, err, sizeof(err), 60000);
    assert_non_null(strstr(err, "Unknown key 'NoNewPrivilege'"));
    /* The drop-in promise: qemu-pr-helper's socket path, hardening keys present. */
    snprintf(s, sizeof(s), "%s/prhelper.socket", src);
    char *text = ops_slurp(s);
    assert_non_null(strstr(text, "\nListenStream=/run/qemu-pr-helper.sock\n"));
    free(text);
    snprintf(v, sizeof(v), "%s/prhelper.service", src);
    text = ops_slurp(v);
    static const char *const keys[] = { "\nCapabilityBoundingSet=", "\nNoNewPrivileges=yes\n",
                                        "\nProtectSystem=strict\n", "\nPrivateNetwork=yes\n",
                                        "\nSystemCallFilter=", "\nRestrictAddressFamilies=AF_UNIX\n",
                                        "\nType=notify\n" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strstr(text, keys[i]))
            fail_msg("prhelper.service lacks %s", keys[i]);
    free(text);
}

/* ExecStart= of the shipped service, split into words. */
static int exec_start_words(char *line, char **words, int max)
{
    char src[400], path[500];
    unit_dir(src, sizeof(src));
    snprintf(path, sizeof(path), "%s/prhelper.service", src);
    char *text = ops_slurp(path);
    char *p = strstr(text, "\nExecStart=");
    assert_non_null(p);
    p += strlen("\nExecStart=");
    size_t n = strcspn(p, "\n");
    memcpy(line, p, n);
    line[n] = '\0';
    free(text);
    int k = 0;
    for (char *save = NULL, *w = strtok_r(line, " ", &save); w && k < max;
         w = strtok_r(NULL, " ", &save))
        words[k++] = w;
    return k;
}

static void test_e2e_ops_socket_activation_runs_the_unit_exec_start(void **state)
{
    struct dfx *f = *state;
    char line[1000], sd[320], au[320], listen[320];
    char *words[16], *argv[40];
    int nw = exec_start_words(line, words, 16);
    int n = 0;
    snprintf(listen, sizeof(listen), "--listen=%s", f->sock);
    snprintf(sd, sizeof(sd), "--state-dir=%s/state", f->dir);
    snprintf(au, sizeof(au), "--audit=file:%s", f->audit);
    argv[n++] = (char *)"/usr/bin/systemd-socket-activate";
    argv[n++] = listen;
    for (int i = 0; i < nw; i++) {
        if (strcmp(words[i], "/usr/bin/prhelper") == 0) {
            argv[n++] = (char *)PRH_DAEMON_BIN;
        } else if (strcmp(words[i], "$PRHELPER_OPTS") == 0) {
            /* what /etc/default/prhelper would say on a test host */
            argv[n++] = (char *)"--transport=sim";
            argv[n++] = sd;
            argv[n++] = au;
        } else {
            argv[n++] = words[i];
        }
    }
    argv[n] = NULL;
    f->pid = fork();
    if (f->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    long end = tu_now_ms() + 5000;
    while (access(f->sock, F_OK) != 0 && tu_now_ms() < end)
        tu_sleep_ms(5);
    /* The first connection starts prhelper on the inherited socket. */
    static struct prh_reply r;
    int dev = open(f->disk, O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    assert_true(s >= 0);
    assert_int_equal(tu_prout(s, dev, PR_OUT_REGISTER, 0, 0, 0x42, 0, &r), SCSI_STATUS_GOOD);
    assert_int_equal(tu_prin(s, dev, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_GOOD);
    assert_true(tu_has_key(&r, 0x42));
    close(s);
    close(dev);
    /* A second client on the same daemon. */
    assert_int_equal(cli(f, f->disk, "read-keys", NULL, NULL), 0);
    assert_int_equal(dfx_stop(f, SIGTERM), 0);
    char *text = ops_slurp(f->audit);
    assert_int_equal(ops_count_lines(text), 1);
    assert_non_null(strstr(text, "\"sa_key\":\"0x0000000000000042\""));
    free(text);
}

/*
 * The service's SystemCallFilter= admits every call prhelper makes: the
 * daemon (sg transport, audit file, metrics file, control socket) runs
 * under strace through start-up, a PR OUT, a stats request, a metrics
 * rewrite and shutdown; each call it made must be in the unit's list
 * with its groups expanded by systemd-analyze.
 */
static void test_e2e_ops_unit_syscall_filter_admits_the_daemon(void **state)
{
    struct dfx *f = *state;
    char src[400], script[6000], out[8192];
    unit_dir(src, sizeof(src));
    snprintf(script, sizeof(script),
             "set -u; d='%s'; unit='%s/prhelper.service'\n"
             "strace -f -qq -o \"$d/strace.log\" '%s' -k \"$d/sock\" -f \"$d/pid\" "
             "--transport=sg --audit=file:\"$d/a.jsonl\" --metrics-file=\"$d/m.prom\" "
             "--metrics-interval=1 --control=\"$d/ctl\" 2>\"$d/err\" &\n"
             "for i in $(seq 200); do [ -S \"$d/sock\" ] && [ -s \"$d/pid\" ] && break; sleep 0.05; done\n"
             "'%s' -k \"$d/sock\" /dev/null register 5 >/dev/null 2>&1\n"
             "'%s' -C \"$d/ctl\" stats >/dev/null || { echo 'stats failed'; exit 1; }\n"
             "sleep 1.3; kill \"$(cat \"$d/pid\")\"; wait\n"
             "grep -q REGISTER \"$d/a.jsonl\" || { echo 'no audit record'; exit 1; }\n"
             "expand() { systemd-analyze syscall-filter \"$1\" | sed -n '2,$p' | sed 's/^ *//' |\n"
             "  grep -v '^#' | while read -r s; do [ -z \"$s\" ] && continue;\n"
             "  case $s in @*) expand \"$s\";; *) echo \"$s\";; esac; done; }\n"
             "for w in $(sed -n 's/^SystemCallFilter=//p' \"$unit\"); do\n"
             "  case $w in @*) expand \"$w\";; *) echo \"$w\";; esac; done | sort -u >\"$d/allowed\"\n"
             "awk '{ sub(/^[0-9]+ +/, \"\"); if (match($0, /^[a-z0-9_]+\\(/)) print substr($0, 1, RLENGTH-1) }' "
             "\"$d/strace.log\" | sort -u >\"$d/used\"\n"
             "[ $(wc -l <\"$d/used\") -gt 30 ] || { echo 'strace saw too little'; exit 1; }\n"
             "missing=$(comm -23 \"$d/used\" \"$d/allowed\"); [ -z \"$missing\" ] || "
             "{ echo \"not in SystemCallFilter: $missing\"; exit 1; }\n",
             f->dir, src, PRH_DAEMON_BIN, PRH_CLI_BIN, PRH_CLI_BIN);
    char *argv[] = { (char *)"/bin/bash", (char *)"-c", script, NULL };
    int r = run(argv, out, sizeof(out), 60000);
    if (r != 0)
        fail_msg("status %d: %s", r, out);
}

#define T(t) cmocka_unit_test_setup_teardown(t, dfx_setup, dfx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_e2e_ops_audit_file_and_metrics_file),
        T(test_e2e_ops_metrics_file_moves_while_running),
        T(test_e2e_ops_disallowed_uid_cannot_issue_a_command),
        T(test_e2e_ops_disallowed_device_gets_access_denied),
        T(test_e2e_ops_cli_stats_over_the_control_socket),
        T(test_e2e_ops_bad_sinks_fail_at_startup),
        cmocka_unit_test(test_e2e_ops_cli_options_parse_and_reject),
        T(test_e2e_ops_systemd_units_verify),
        T(test_e2e_ops_socket_activation_runs_the_unit_exec_start),
        T(test_e2e_ops_unit_syscall_filter_admits_the_daemon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
