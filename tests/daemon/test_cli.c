/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cli.c - prhelper's options: qemu-pr-helper's, plus its own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tu_text.h"
#include "prhelper/cli.h"
#include "prhelper/log.h"
#include "prhelper/transport_sim.h"

static char errbuf[4096];

/* Parse a NULL-terminated argument list; stderr text lands in errbuf. */
static enum prh_cli_action parse(struct prh_options *o, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");

    argv[argc++] = (char *)"prhelper";
    va_start(ap, o);
    for (char *a; (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    memset(errbuf, 0, sizeof(errbuf));
    enum prh_cli_action r = prh_cli_parse(argc, argv, o, err);
    fclose(err);
    return r;
}

static void test_cli_defaults_match_qemu_pr_helper(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/var/run/qemu-pr-helper.sock");
    assert_string_equal(o.pidfile, "/var/run/qemu-pr-helper.pid");
    assert_false(o.daemonize);
    assert_false(o.socket_given);
    assert_false(o.pidfile_given);
    assert_int_equal(o.verbose, 1);
    assert_string_equal(o.transport, "sg");
}

static void test_cli_help_short_and_long(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-h", NULL), PRH_CLI_HELP);
    assert_int_equal(parse(&o, "--help", NULL), PRH_CLI_HELP);
}

static void test_cli_version_short_and_long(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-V", NULL), PRH_CLI_VERSION);
    assert_int_equal(parse(&o, "--version", NULL), PRH_CLI_VERSION);
}

static void test_cli_help_text_shows_default_paths(void **state)
{
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    (void)state;
    prh_cli_usage(f, "prhelper");
    fclose(f);
    tu_assert_contains(buf, "Usage: prhelper [OPTIONS]", "(default '/var/run/qemu-pr-helper.sock')",
                       "(default '/var/run/qemu-pr-helper.pid')", "--sim-identity=MODE",
                       "--sim-max-registrations=N", "--sim-max-luns=N", "-T, --trace");
}

static void test_cli_version_text_first_line(void **state)
{
    char buf[1024] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    (void)state;
    prh_cli_version(f, "prhelper");
    fclose(f);
    assert_memory_equal(buf, "prhelper " PRH_VERSION "\n", strlen("prhelper " PRH_VERSION "\n"));
}

static void test_cli_socket_absolute_accepted(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-k", "/run/x.sock", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/run/x.sock");
    assert_true(o.socket_given);
    assert_int_equal(parse(&o, "--socket=/a", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/a");
    assert_int_equal(parse(&o, "--socket", "/b", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/b");
}

static void test_cli_socket_relative_rejected(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-k", "x.sock", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: socket path must be absolute\n");
}

static void test_cli_control_and_trace_file_options(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_null(o.control_path);
    assert_null(o.trace_file);
    assert_int_equal(parse(&o, "--control=/run/c.sock", "--trace-file", "t.jsonl", NULL),
                     PRH_CLI_RUN);
    assert_string_equal(o.control_path, "/run/c.sock");
    assert_string_equal(o.trace_file, "t.jsonl");
    assert_int_equal(parse(&o, "--control=c.sock", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: control socket path must be absolute\n");
    assert_int_equal(parse(&o, "--trace-file=", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: --trace-file needs a path\n");
}

static void test_cli_long_option_prefix_accepted(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "--sock=/p", "--pid=/q", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/p");
    assert_string_equal(o.pidfile, "/q");
}

/* Every prefix qemu-pr-helper's getopt_long() takes means the same here,
 * though prhelper's own options share some of them (--state-dir,
 * --transport, --trace-file). */
static void test_cli_every_qemu_prefix_accepted(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "--s=/a", "--t", "x*", "--tr=y*", "--trac", "z*", NULL),
                     PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/a");
    assert_int_equal(o.ntrace, 3);
    assert_string_equal(o.trace[0], "x*");
    assert_string_equal(o.trace[1], "y*");
    assert_string_equal(o.trace[2], "z*");
    assert_int_equal(parse(&o, "--s", "/b", "--d", "--p=/c", "--q", "--verb", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/b");
    assert_string_equal(o.pidfile, "/c");
    assert_true(o.daemonize && o.quiet && o.verbose == 2);
    assert_int_equal(parse(&o, "--u=nobody", "--g=nogroup", "--h", NULL), PRH_CLI_HELP);
    assert_string_equal(o.user, "nobody");
    assert_string_equal(o.group, "nogroup");
    /* An argument is not an option, even when it looks like one. */
    assert_int_equal(parse(&o, "-vT", "--s", "--trace", "--tr", NULL), PRH_CLI_RUN);
    assert_int_equal(o.ntrace, 2);
    assert_string_equal(o.trace[0], "--s");
    assert_string_equal(o.trace[1], "--tr");
    assert_string_equal(o.socket_path, PRH_DEFAULT_SOCKET);
    /* prhelper's own options, by name or by their own prefixes, stay. */
    assert_int_equal(parse(&o, "--trace-file=/t", "--transp=sim", "--state-dir=/st", NULL),
                     PRH_CLI_RUN);
    assert_string_equal(o.trace_file, "/t");
    assert_string_equal(o.transport, "sim");
    assert_string_equal(o.state_dir, "/st");
    /* Ambiguous there is ambiguous here. */
    assert_int_equal(parse(&o, "--ver", NULL), PRH_CLI_ERROR);
}

static void test_cli_later_option_overrides(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-k", "/one", "-k", "/two", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/two");
}

static void test_cli_pidfile_and_daemon(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-d", "-f", "/run/p.pid", NULL), PRH_CLI_RUN);
    assert_true(o.daemonize);
    assert_true(o.pidfile_given);
    assert_string_equal(o.pidfile, "/run/p.pid");
    assert_int_equal(parse(&o, "--daemon", "--pidfile=/x", NULL), PRH_CLI_RUN);
    assert_true(o.daemonize);
}

static void test_cli_unknown_option_names_it(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "--bogus", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "unrecognized option '--bogus'"));
    /* qemu-pr-helper's error_report() prefixes its second line too. */
    assert_non_null(strstr(errbuf, "\nprhelper: Try `prhelper --help' for more information.\n"));
    assert_int_equal(parse(&o, "-Z", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "invalid option -- 'Z'"));
    /* glibc's words for a prefix of several options, as there. */
    assert_int_equal(parse(&o, "--ver", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: option '--ver' is ambiguous; possibilities: '--version' "
                                "'--verbose'\nprhelper: Try `prhelper --help' for more "
                                "information.\n");
}

/* As in qemu-pr-helper, -u and -g are checked when they are parsed: an
 * unknown user fails even before a later -h. */
static void test_cli_bad_user_or_group_fails_at_once(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-u", "no-such-user-xyz", "-h", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: invalid user 'no-such-user-xyz'\n");
    assert_int_equal(parse(&o, "--group=no-such-group-xyz", "--version", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: invalid group 'no-such-group-xyz'\n");
    assert_int_equal(parse(&o, "-h", "-u", "no-such-user-xyz", NULL), PRH_CLI_HELP);
    assert_int_equal(parse(&o, "-u", "65534", "-g", "0", NULL), PRH_CLI_RUN); /* numbers */
}

static void test_cli_missing_argument_names_it(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-k", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "option requires an argument -- 'k'"));
    assert_int_equal(parse(&o, "--socket", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "option '--socket' requires an argument"));
}

static void test_cli_verbose_and_quiet(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_int_equal(prh_cli_verbosity(&o), 1);
    assert_int_equal(parse(&o, "-v", NULL), PRH_CLI_RUN);
    assert_int_equal(prh_cli_verbosity(&o), 2);
    assert_int_equal(parse(&o, "-vvvv", "--verbose", NULL), PRH_CLI_RUN);
    assert_int_equal(prh_cli_verbosity(&o), 3);
    assert_int_equal(parse(&o, "-v", "-q", NULL), PRH_CLI_RUN);
    assert_int_equal(prh_cli_verbosity(&o), 0);
    assert_int_equal(parse(&o, "--quiet", NULL), PRH_CLI_RUN);
    assert_true(o.quiet);
}

static void test_cli_trace_collected_in_order(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-T", "prh_*", "--trace=events=/dev/null,file=/y", NULL),
                     PRH_CLI_RUN);
    assert_int_equal(o.ntrace, 2);
    assert_string_equal(o.trace[0], "prh_*");
    assert_string_equal(o.trace[1], "events=/dev/null,file=/y");
}

/* qemu-pr-helper parses -T (syntax, events= file) when it meets it, so
 * "-T x=1 -h" fails there; the file= file is opened later. */
static void test_cli_trace_checked_when_parsed(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-T", "foo=bar", "-h", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: Invalid parameter 'foo' in trace option\n");
    assert_int_equal(parse(&o, "--trace=events=/no/such/events", "-V", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "cannot open trace events file '/no/such/events'"));
    assert_int_equal(parse(&o, "-T", "file=/no/such/dir/t", "-h", NULL), PRH_CLI_HELP);
    assert_int_equal(parse(&o, "-T", "enable=prh_*,events=/dev/null", NULL), PRH_CLI_RUN);
    /* Checking enables nothing: that is main()'s prh_trace_configure(). */
    assert_false(prh_trace_enabled(PRH_TRACE_REQUEST));
}

static void test_cli_too_many_trace_options(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-Ta", "-Ta", "-Ta", "-Ta", "-Ta", "-Ta", "-Ta", "-Ta", "-Ta",
                           NULL),
                     PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "too many -T"));
}

static void test_cli_user_and_group_recorded(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "-u", "nobody", "--group=nogroup", NULL), PRH_CLI_RUN);
    assert_string_equal(o.user, "nobody");
    assert_string_equal(o.group, "nogroup");
}

static void test_cli_non_option_arguments_ignored(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "FILE", "-k", "/s", "more", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/s");
}

static void test_cli_transport_state_dir_profile(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "--transport=sim", "--state-dir=/tmp/st", "--sim-profile=lio",
                           "--workers=8", "--max-clients=16", NULL),
                     PRH_CLI_RUN);
    assert_string_equal(o.transport, "sim");
    assert_string_equal(o.state_dir, "/tmp/st");
    assert_string_equal(o.sim_profile, "lio");
    assert_int_equal(o.workers, 8);
    assert_int_equal(o.workers_max, 64);
    assert_int_equal(o.max_clients, 16);
}

static void test_cli_sim_identity_and_limits(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_string_equal(o.sim_identity, "guest");
    assert_int_equal(o.sim_max_registrations, PRH_SIM_DEFAULT_MAX_REGISTRATIONS);
    assert_int_equal(o.sim_max_luns, PRH_SIM_DEFAULT_MAX_LUNS);
    assert_int_equal(parse(&o, "--sim-identity=process", "--sim-max-registrations=3",
                           "--sim-max-luns=1000000", NULL),
                     PRH_CLI_RUN);
    assert_string_equal(o.sim_identity, "process");
    assert_int_equal(o.sim_max_registrations, 3);
    assert_int_equal(o.sim_max_luns, 1000000);
    assert_int_equal(parse(&o, "--sim-identity=connection", NULL), PRH_CLI_RUN);
    assert_string_equal(o.sim_identity, "connection");
}

static void test_cli_sim_identity_and_limits_rejected(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "--sim-identity=host", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: unknown sim identity 'host' (expected guest, process "
                                "or connection)\n");
    assert_int_equal(parse(&o, "--sim-max-registrations=0", NULL), PRH_CLI_ERROR);
    assert_string_equal(errbuf, "prhelper: --sim-max-registrations needs a number from 1 to "
                                "1000000, not '0'\n");
    assert_int_equal(parse(&o, "--sim-max-luns=1000001", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "--sim-max-luns needs a number from 1 to 1000000"));
    assert_int_equal(parse(&o, "--sim-max-luns=-1", NULL), PRH_CLI_ERROR);
}

static void test_cli_workers_min_and_max(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_int_equal(o.workers, 0); /* the server's defaults: CPUs, 64 */
    assert_int_equal(o.workers_max, 0);
    assert_int_equal(parse(&o, "--workers=2:16", NULL), PRH_CLI_RUN);
    assert_int_equal(o.workers, 2);
    assert_int_equal(o.workers_max, 16);
    assert_int_equal(parse(&o, "--workers=3:3", NULL), PRH_CLI_RUN);
    assert_int_equal(o.workers_max, 3);
    /* MIN above the default MAX raises MAX with it. */
    assert_int_equal(parse(&o, "--workers=100", NULL), PRH_CLI_RUN);
    assert_int_equal(o.workers, 100);
    assert_int_equal(o.workers_max, 100);
    assert_int_equal(parse(&o, "--workers=1:1000", NULL), PRH_CLI_RUN);
    assert_int_equal(o.workers_max, 1000);
}

static void test_cli_state_dir_relative_rejected(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "--state-dir=st", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "state directory must be an absolute path"));
}

static void test_cli_sim_profile_unknown_rejected(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "--sim-profile=scsi2", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "unknown simulator profile 'scsi2'"));
}

static void test_cli_workers_out_of_range_rejected(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, "--workers=0", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "--workers needs MIN or MIN:MAX, numbers from 1 to 1000 "
                                   "with MIN <= MAX, not '0'"));
    static const char *const bad[] = { "--workers=1001", "--workers=x", "--workers=4:2",
                                       "--workers=:8",   "--workers=2:", "--workers=2:0",
                                       "--workers=2:8:9", "--workers=-1", "--workers=1:2000",
                                       "--workers=" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&o, bad[i], NULL), PRH_CLI_ERROR);
        assert_non_null(strstr(errbuf, "--workers needs MIN or MIN:MAX"));
    }
    assert_int_equal(parse(&o, "--max-clients=-1", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "--max-clients"));
}

static void test_cli_sg_timeout_seconds(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_int_equal(o.sg_timeout_s, 0); /* transport default */
    assert_int_equal(parse(&o, "--sg-timeout=5", NULL), PRH_CLI_RUN);
    assert_int_equal(o.sg_timeout_s, 5);
    assert_int_equal(parse(&o, "--sg-timeout=0", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "--sg-timeout needs seconds from 1 to 3600, not '0'"));
    assert_int_equal(parse(&o, "--sg-timeout=3601", NULL), PRH_CLI_ERROR);
}

static void test_cli_partial_devices_and_multipathd_socket(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_false(o.allow_partial_devices);
    assert_null(o.multipathd_socket);
    assert_int_equal(parse(&o, "--allow-partial-devices", "--multipathd-socket=none", NULL),
                     PRH_CLI_RUN);
    assert_true(o.allow_partial_devices);
    assert_string_equal(o.multipathd_socket, "none");
    assert_int_equal(parse(&o, "--multipathd-socket=", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "--multipathd-socket needs a socket name"));
}

static void test_cli_socket_mode_default_0600_or_0660_with_group(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_int_equal(prh_cli_socket_mode(&o), 0600);
    assert_null(o.socket_group);
    assert_int_equal(parse(&o, "--socket-group=kvm", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_group, "kvm");
    assert_int_equal(prh_cli_socket_mode(&o), 0660);
    assert_int_equal(parse(&o, "--socket-group=kvm", "--socket-mode=0640", NULL), PRH_CLI_RUN);
    assert_int_equal(prh_cli_socket_mode(&o), 0640);
    assert_int_equal(parse(&o, "--socket-mode=666", NULL), PRH_CLI_RUN);
    assert_int_equal(prh_cli_socket_mode(&o), 0666);
}

static void test_cli_socket_mode_invalid_rejected(void **state)
{
    struct prh_options o;
    (void)state;
    const char *bad[] = { "--socket-mode=0800", "--socket-mode=01777", "--socket-mode=abc",
                          "--socket-mode=", "--socket-mode=-600", "--socket-mode=0400" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&o, bad[i], NULL), PRH_CLI_ERROR);
        assert_non_null(strstr(errbuf, "--socket-mode needs an octal mode up to 0777"));
    }
    assert_int_equal(parse(&o, "--socket-group=", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "--socket-group needs a group name or number"));
}

static void test_cli_socket_prefixes_still_mean_socket(void **state)
{
    struct prh_options o;
    (void)state;
    /* qemu-pr-helper accepts these; --socket-mode must not make them ambiguous. */
    assert_int_equal(parse(&o, "--so", "/q", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/q");
    assert_int_equal(parse(&o, "--socke=/r", "--socket-m=0640", "--socket-g=kvm", NULL),
                     PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/r");
    assert_int_equal(prh_cli_socket_mode(&o), 0640);
    assert_string_equal(o.socket_group, "kvm");
    assert_int_equal(parse(&o, "--", "--sock=/x", NULL), PRH_CLI_RUN);
    assert_string_equal(o.socket_path, "/var/run/qemu-pr-helper.sock");
}

static void test_cli_frame_timeout_default_and_range(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_int_equal(o.frame_timeout_s, 30);
    assert_int_equal(parse(&o, "--frame-timeout=0", NULL), PRH_CLI_RUN);
    assert_int_equal(o.frame_timeout_s, 0);
    assert_int_equal(parse(&o, "--frame-timeout=3600", NULL), PRH_CLI_RUN);
    assert_int_equal(o.frame_timeout_s, 3600);
    assert_int_equal(parse(&o, "--frame-timeout=3601", NULL), PRH_CLI_ERROR);
    assert_non_null(strstr(errbuf, "--frame-timeout needs seconds from 0 to 3600, not '3601'"));
    assert_int_equal(parse(&o, "--frame-timeout=1s", NULL), PRH_CLI_ERROR);
}

static void test_cli_seccomp_on_unless_no_seccomp(void **state)
{
    struct prh_options o;
    (void)state;
    assert_int_equal(parse(&o, NULL), PRH_CLI_RUN);
    assert_false(o.no_seccomp);
    assert_int_equal(parse(&o, "--no-seccomp", NULL), PRH_CLI_RUN);
    assert_true(o.no_seccomp);
}

static void test_cli_help_lists_limit_options(void **state)
{
    char buf[8192] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    (void)state;
    prh_cli_usage(f, "prhelper");
    fclose(f);
    tu_assert_contains(buf, "--socket-mode=MODE", "--socket-group=GROUP", "--frame-timeout=SECONDS",
                       "--no-seccomp", "--no-sandbox");
}

static void test_cli_resolve_user_by_name_and_number(void **state)
{
    unsigned uid = 99, gid = 99;
    (void)state;
    assert_int_equal(prh_cli_resolve_user("root", &uid, &gid, stderr), 0);
    assert_int_equal(uid, 0);
    assert_int_equal(gid, 0);
    assert_int_equal(prh_cli_resolve_user("4242", &uid, &gid, stderr), 0);
    assert_int_equal(uid, 4242);
}

static void test_cli_resolve_user_invalid_named(void **state)
{
    unsigned uid, gid;
    char buf[256] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    (void)state;
    assert_int_equal(prh_cli_resolve_user("no-such-user-xyz", &uid, &gid, f), -1);
    fclose(f);
    assert_string_equal(buf, "prhelper: invalid user 'no-such-user-xyz'\n");
}

static void test_cli_resolve_group_by_name_and_number(void **state)
{
    unsigned gid = 99;
    (void)state;
    assert_int_equal(prh_cli_resolve_group("root", &gid, stderr), 0);
    assert_int_equal(gid, 0);
    assert_int_equal(prh_cli_resolve_group("77", &gid, stderr), 0);
    assert_int_equal(gid, 77);
}

static void test_cli_resolve_group_invalid_named(void **state)
{
    unsigned gid;
    char buf[256] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    (void)state;
    assert_int_equal(prh_cli_resolve_group("no-such-group-xyz", &gid, f), -1);
    fclose(f);
    assert_string_equal(buf, "prhelper: invalid group 'no-such-group-xyz'\n");
}

/* ---- tracing (-T) ------------------------------------------------------- */

static void test_trace_pattern_enables_matching_events(void **state)
{
    char err[256];
    (void)state;
    prh_trace_reset();
    assert_int_equal(prh_trace_configure("prh_client_*", err, sizeof(err)), 0);
    assert_true(prh_trace_enabled(PRH_TRACE_CLIENT_ACCEPT));
    assert_true(prh_trace_enabled(PRH_TRACE_CLIENT_CLOSE));
    assert_false(prh_trace_enabled(PRH_TRACE_REQUEST));
    assert_int_equal(prh_trace_configure("enable=prh_request,-prh_client_close", err,
                                         sizeof(err)),
                     0);
    assert_true(prh_trace_enabled(PRH_TRACE_REQUEST));
    assert_false(prh_trace_enabled(PRH_TRACE_CLIENT_CLOSE));
    prh_trace_reset();
}

static void test_trace_events_and_file(void **state)
{
    char err[256], dir[] = "/tmp/prh-trace.XXXXXX", evpath[300], outpath[300], arg[700];
    char line[256] = "";
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(evpath, sizeof(evpath), "%s/events", dir);
    snprintf(outpath, sizeof(outpath), "%s/out", dir);
    FILE *f = fopen(evpath, "w");
    fputs("# comment\n\nprh_reply\n", f);
    fclose(f);
    snprintf(arg, sizeof(arg), "events=%s,file=%s", evpath, outpath);
    prh_trace_reset();
    assert_int_equal(prh_trace_configure(arg, err, sizeof(err)), 0);
    assert_true(prh_trace_enabled(PRH_TRACE_REPLY));
    prh_trace(PRH_TRACE_REPLY, "status=%02x", 0x18);
    prh_trace(PRH_TRACE_REQUEST, "not enabled");
    prh_trace_reset();
    f = fopen(outpath, "r");
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_non_null(strstr(line, "prh_reply status=18"));
    unlink(evpath);
    unlink(outpath);
    rmdir(dir);
}

static void test_trace_bad_arguments_named(void **state)
{
    char err[256];
    (void)state;
    assert_int_equal(prh_trace_configure("events=/nonexistent/x", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open trace events file '/nonexistent/x'"));
    assert_int_equal(prh_trace_configure("file=/nonexistent/x", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open trace file"));
    assert_int_equal(prh_trace_configure("color=red", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Invalid parameter 'color'"));
    assert_string_equal(prh_trace_event_name(PRH_TRACE_SIGNAL), "prh_signal");
    assert_string_equal(prh_trace_event_name(PRH_TRACE_NEVENTS), "?");
}

static void test_log_respects_verbosity(void **state)
{
    (void)state;
    prh_log_set_verbosity(0);
    assert_int_equal(prh_log_verbosity(), 0);
    prh_log(1, "not printed");
    prh_log_set_verbosity(3);
    prh_log(3, "printed at debug level (expected in test output)");
    prh_error("an error line (expected in test output)");
    prh_log_set_verbosity(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_defaults_match_qemu_pr_helper),
        cmocka_unit_test(test_cli_control_and_trace_file_options),
        cmocka_unit_test(test_cli_help_short_and_long),
        cmocka_unit_test(test_cli_version_short_and_long),
        cmocka_unit_test(test_cli_help_text_shows_default_paths),
        cmocka_unit_test(test_cli_version_text_first_line),
        cmocka_unit_test(test_cli_socket_absolute_accepted),
        cmocka_unit_test(test_cli_socket_relative_rejected),
        cmocka_unit_test(test_cli_long_option_prefix_accepted),
        cmocka_unit_test(test_cli_every_qemu_prefix_accepted),
        cmocka_unit_test(test_cli_bad_user_or_group_fails_at_once),
        cmocka_unit_test(test_cli_trace_checked_when_parsed),
        cmocka_unit_test(test_cli_later_option_overrides),
        cmocka_unit_test(test_cli_pidfile_and_daemon),
        cmocka_unit_test(test_cli_unknown_option_names_it),
        cmocka_unit_test(test_cli_missing_argument_names_it),
        cmocka_unit_test(test_cli_verbose_and_quiet),
        cmocka_unit_test(test_cli_trace_collected_in_order),
        cmocka_unit_test(test_cli_too_many_trace_options),
        cmocka_unit_test(test_cli_user_and_group_recorded),
        cmocka_unit_test(test_cli_non_option_arguments_ignored),
        cmocka_unit_test(test_cli_transport_state_dir_profile),
        cmocka_unit_test(test_cli_state_dir_relative_rejected),
        cmocka_unit_test(test_cli_sim_profile_unknown_rejected),
        cmocka_unit_test(test_cli_sim_identity_and_limits),
        cmocka_unit_test(test_cli_sim_identity_and_limits_rejected),
        cmocka_unit_test(test_cli_workers_out_of_range_rejected),
        cmocka_unit_test(test_cli_workers_min_and_max),
        cmocka_unit_test(test_cli_sg_timeout_seconds),
        cmocka_unit_test(test_cli_partial_devices_and_multipathd_socket),
        cmocka_unit_test(test_cli_socket_mode_default_0600_or_0660_with_group),
        cmocka_unit_test(test_cli_socket_mode_invalid_rejected),
        cmocka_unit_test(test_cli_socket_prefixes_still_mean_socket),
        cmocka_unit_test(test_cli_frame_timeout_default_and_range),
        cmocka_unit_test(test_cli_seccomp_on_unless_no_seccomp),
        cmocka_unit_test(test_cli_help_lists_limit_options),
        cmocka_unit_test(test_cli_resolve_user_by_name_and_number),
        cmocka_unit_test(test_cli_resolve_user_invalid_named),
        cmocka_unit_test(test_cli_resolve_group_by_name_and_number),
        cmocka_unit_test(test_cli_resolve_group_invalid_named),
        cmocka_unit_test(test_trace_pattern_enables_matching_events),
        cmocka_unit_test(test_trace_events_and_file),
        cmocka_unit_test(test_trace_bad_arguments_named),
        cmocka_unit_test(test_log_respects_verbosity),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
