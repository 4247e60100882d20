/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.c - prhelper's options, compatible with qemu-pr-helper's. */
#include "prhelper/cli.h"
#include "prhelper/log.h"
#include "prhelper/transport_sim.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

const char *prh_progname = "prhelper";

enum {
    OPT_AUDIT = 300,
    OPT_METRICS_FILE,
    OPT_METRICS_INTERVAL,
    OPT_ALLOW_UID,
    OPT_ALLOW_GID,
    OPT_ALLOW_DEVICE,
    OPT_SIM_IDENTITY = 400,
    OPT_SIM_MAX_REGISTRATIONS,
    OPT_SIM_MAX_LUNS,
    OPT_CONTROL = 200,
    OPT_TRACE_FILE,
    OPT_TRANSPORT = 256,
    OPT_STATE_DIR,
    OPT_SIM_PROFILE,
    OPT_WORKERS,
    OPT_MAX_CLIENTS,
    OPT_SG_TIMEOUT,
    OPT_SOCKET_MODE,
    OPT_SOCKET_GROUP,
    OPT_FRAME_TIMEOUT,
    OPT_NO_SECCOMP,
    OPT_ALLOW_PARTIAL_DEVICES,
    OPT_MULTIPATHD_SOCKET,
    OPT_NO_SANDBOX,
};

static const struct option long_options[] = {
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { "socket", required_argument, NULL, 'k' },
    { "pidfile", required_argument, NULL, 'f' },
    { "daemon", no_argument, NULL, 'd' },
    { "trace", required_argument, NULL, 'T' },
    { "user", required_argument, NULL, 'u' },
    { "group", required_argument, NULL, 'g' },
    { "verbose", no_argument, NULL, 'v' },
    { "quiet", no_argument, NULL, 'q' },
    { "transport", required_argument, NULL, OPT_TRANSPORT },
    { "control", required_argument, NULL, OPT_CONTROL },
    { "trace-file", required_argument, NULL, OPT_TRACE_FILE },
    { "state-dir", required_argument, NULL, OPT_STATE_DIR },
    { "sim-profile", required_argument, NULL, OPT_SIM_PROFILE },
    { "sim-identity", required_argument, NULL, OPT_SIM_IDENTITY },
    { "sim-max-registrations", required_argument, NULL, OPT_SIM_MAX_REGISTRATIONS },
    { "sim-max-luns", required_argument, NULL, OPT_SIM_MAX_LUNS },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
    { "sg-timeout", required_argument, NULL, OPT_SG_TIMEOUT },
    { "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
    { "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
    { "frame-timeout", required_argument, NULL, OPT_FRAME_TIMEOUT },
    { "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
    { "allow-partial-devices", no_argument, NULL, OPT_ALLOW_PARTIAL_DEVICES },
    { "multipathd-socket", required_argument, NULL, OPT_MULTIPATHD_SOCKET },
    { "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
    { "audit", required_argument, NULL, OPT_AUDIT },
    { "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
    { "metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL },
    { "allow-uid", required_argument, NULL, OPT_ALLOW_UID },
    { "allow-gid", required_argument, NULL, OPT_ALLOW_GID },
    { "allow-device", required_argument, NULL, OPT_ALLOW_DEVICE },
    { NULL, 0, NULL, 0 },
};

void prh_cli_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [OPTIONS]\n"
            "Persistent Reservation helper program for QEMU\n"
            "(a drop-in replacement for qemu-pr-helper)\n"
            "\n"
            "  -h, --help                display this help and exit\n"
            "  -V, --version             output version information and exit\n"
            "\n"
            "  -d, --daemon              run in the background\n"
            "  -f, --pidfile=PATH        PID file when running as a daemon\n"
            "                            (default '%s')\n"
            "  -k, --socket=PATH         path to the unix socket\n"
            "                            (default '%s')\n"
            "  -T, --trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
            "                            specify tracing options\n"
            "  -u, --user=USER           user to drop privileges to\n"
            "  -g, --group=GROUP         group to drop privileges to\n"
            "  -v, --verbose             more messages (repeatable)\n"
            "  -q, --quiet               no messages about client errors\n"
            "\n"
            "prhelper options:\n"
            "      --transport=NAME      sg (default), mpath or sim\n"
            "      --control=PATH        serve the root-only control socket at PATH\n"
            "                            (prhelper-cli ctl; sim: state, faults, power cycle)\n"
            "      --trace-file=PATH     append one JSON object per request to PATH\n"
            "                            (-v -v: also on stderr)\n"
            "      --state-dir=DIR       sim: APTPL state files (default '%s')\n"
            "      --sim-profile=NAME    sim: spc4 (default) or lio\n"
            "      --sim-identity=MODE   sim: who is one initiator: guest (default; a QEMU\n"
            "                            guest by its -name or -uuid, across reconnects and\n"
            "                            restarts), process or connection\n"
            "      --sim-max-registrations=N  sim: registrations per LUN; the next gets\n"
            "                            INSUFFICIENT REGISTRATION RESOURCES (default %u)\n"
            "      --sim-max-luns=N      sim: LUNs with PR state at once (default %u)\n"
            "      --workers=MIN[:MAX]   threads serving clients: MIN kept (default: one per\n"
            "                            CPU), more while devices are slow, up to MAX inside\n"
            "                            device calls at once (default 64)\n"
            "      --max-clients=N       concurrent connections (default 1024)\n"
            "      --sg-timeout=SECONDS  sg, mpath: SG_IO timeout (default 30)\n"
            "      --allow-partial-devices  sg, mpath: serve partitions and device-mapper\n"
            "                            devices other than multipath maps (LVs, dm-crypt)\n"
            "                            as qemu-pr-helper does: PR on them acts on the\n"
            "                            whole LUN (default: refused, see prhelper(8))\n"
            "      --multipathd-socket=NAME  sg, mpath: multipathd's command socket\n"
            "                            (default its own names; '@NAME' abstract; 'none':\n"
            "                            never tell multipathd about reservations)\n"
            "      --socket-mode=MODE    octal mode of the socket -k creates (default 0600,\n"
            "                            0660 with --socket-group)\n"
            "      --socket-group=GROUP  group owning the socket -k creates\n"
            "      --frame-timeout=SECONDS  close a client that leaves a handshake, request\n"
            "                            or reply half-transferred this long (default 30,\n"
            "                            0 = never)\n"
            "      --no-sandbox          run without the sandbox (neither Landlock nor the\n"
            "                            seccomp filter; see prhelper(8))\n"
            "      --no-seccomp          without the seccomp filter (Landlock stays)\n"
            "\n"
            "operations (see prhelper(8) and docs/operations.md):\n"
            "      --audit=SINK          audit trail of every PR OUT and every refusal:\n"
            "                            journal, syslog, file:PATH (JSON lines) or none\n"
            "                            (default journal under systemd, else syslog)\n"
            "      --metrics-file=PATH   write Prometheus metrics to PATH (atomically)\n"
            "      --metrics-interval=SECONDS  how often (default 15)\n"
            "      --allow-uid=USER      accept connections only from these users or\n"
            "      --allow-gid=GROUP     groups (repeatable; default: anyone who can\n"
            "                            open the socket)\n"
            "      --allow-device=DEV    PR only on these devices: WWID or MAJOR:MINOR\n"
            "                            (repeatable; others get ACCESS DENIED)\n"
            "\n"
            "See prhelper(8).\n",
            prog, PRH_DEFAULT_PIDFILE, PRH_DEFAULT_SOCKET, PRH_DEFAULT_STATE_DIR,
            PRH_SIM_DEFAULT_MAX_REGISTRATIONS, PRH_SIM_DEFAULT_MAX_LUNS);
}

void prh_cli_version(FILE *out, const char *prog)
{
    fprintf(out,
            "%s " PRH_VERSION "\n"
            "prhelper, a drop-in replacement for qemu-pr-helper.\n"
            "\n"
            "This is free software, licensed under the GNU GPL version 2 or later;\n"
            "see the source for copying conditions.  There is NO warranty; not even\n"
            "for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.\n",
            prog);
}

static bool parse_count(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return false;
    *out = (unsigned)v;
    return true;
}

/*
 * --workers=MIN[:MAX]: MIN threads kept, at most MAX inside device calls
 * (default 64, or MIN when MIN is larger).
 */
static bool parse_workers(const char *s, unsigned *min, unsigned *max)
{
    char buf[32];
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!parse_count(buf, 1, PRH_CLI_WORKERS_LIMIT, min))
        return false;
    if (!colon) {
        *max = *min > PRH_CLI_WORKERS_DEFAULT_MAX ? *min : PRH_CLI_WORKERS_DEFAULT_MAX;
        return true;
    }
    return parse_count(colon + 1, *min, PRH_CLI_WORKERS_LIMIT, max);
}

/* qemu-pr-helper's long options: getopt_long() there takes any unambiguous
 * prefix of them ("--s", "--sock", "--tr", "--pid"). */
static const char *const qemu_long_options[] = {
    "help", "version", "socket", "pidfile", "daemon", "trace", "user", "group", "verbose", "quiet",
};

/* The one qemu-pr-helper option that name (n bytes) abbreviates, or NULL. */
static const char *qemu_option_of_prefix(const char *name, size_t n)
{
    const char *found = NULL;

    for (size_t i = 0; i < sizeof(qemu_long_options) / sizeof(qemu_long_options[0]); i++) {
        if (strncmp(qemu_long_options[i], name, n) != 0)
            continue;
        if (found)
            return NULL; /* ambiguous there too ("--ver") */
        found = qemu_long_options[i];
    }
    return found;
}

static bool is_prhelper_option(const char *name, size_t n)
{
    for (const struct option *o = long_options; o->name; o++)
        if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
            return true;
    return false;
}

/*
 * prhelper's own long options make some of those prefixes ambiguous
 * ("--s": --socket, --state-dir, --sim-*, ...; "--tr": --trace,
 * --transport, --trace-file), so a prefix that names one qemu-pr-helper
 * option and no prhelper option exactly is rewritten to that option
 * first: "--s=/x" means --socket=/x, as there.  The copy lives until the
 * next parse.
 */
static char **compat_argv(int argc, char **argv)
{
    static char **copy;
    static char **strings;
    static int nstrings;

    for (int i = 0; i < nstrings; i++)
        free(strings[i]);
    free(strings);
    free(copy);
    strings = NULL;
    nstrings = 0;
    copy = calloc((size_t)argc + 1, sizeof(*copy));
    strings = calloc((size_t)argc + 1, sizeof(*strings));
    if (!copy || !strings)
        return argv;
    for (int i = 0; i < argc; i++)
        copy[i] = argv[i];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break; /* getopt stops here too */
        if (a[0] == '-' && a[1] != '-' && a[1] != '\0') {
            /* A cluster of short options: the last one may take the
             * next word as its argument ("-k --sock" is a path). */
            size_t len = strlen(a);
            if (strchr("kfTug", a[len - 1]) && strcspn(a + 1, "kfTug") == len - 2)
                i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            continue;
        size_t n = strcspn(a + 2, "=");
        const char *full = n > 0 && !is_prhelper_option(a + 2, n)
                               ? qemu_option_of_prefix(a + 2, n)
                               : NULL;
        if (full) {
            size_t len = strlen("--") + strlen(full) + strlen(a + 2 + n) + 1;
            char *s = malloc(len);
            if (s) {
                snprintf(s, len, "--%s%s", full, a + 2 + n);
                strings[nstrings++] = s;
                copy[i] = s;
            }
        }
        /* "--socket PATH": the next word is the argument. */
        const char *name = full ? full : a + 2;
        size_t nlen = full ? strlen(full) : n;
        if (a[2 + n] == '\0')
            for (const struct option *o = long_options; o->name; o++)
                if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0 &&
                    o->has_arg == required_argument)
                    i++;
    }
    return copy;
}

/* qemu-pr-helper's second line of an option error: its error_report()
 * puts the program name before it too. */
static void try_help(FILE *err, const char *argv0)
{
    fprintf(err, "%s: Try `%s --help' for more information.\n", prh_progname, argv0);
}

/* "--ver": glibc's message for a prefix of several long options (opterr is
 * off, so getopt_long() reports it as unrecognized).  false: not one. */
static bool report_ambiguous(FILE *err, const char *argv0, const char *arg)
{
    const char *name = arg + 2;
    size_t n = strcspn(name, "=");
    unsigned matches = 0;

    for (const struct option *o = long_options; o->name; o++)
        matches += strncmp(o->name, name, n) == 0;
    if (n == 0 || matches < 2)
        return false;
    fprintf(err, "%s: option '--%.*s' is ambiguous; possibilities:", argv0, (int)n, name);
    for (const struct option *o = long_options; o->name; o++)
        if (strncmp(o->name, name, n) == 0)
            fprintf(err, " '--%s'", o->name);
    fputc('\n', err);
    return true;
}

enum prh_cli_action prh_cli_parse(int argc, char **argv, struct prh_options *o, FILE *err)
{
    int c;

    argv = compat_argv(argc, argv);

    memset(o, 0, sizeof(*o));
    o->socket_path = PRH_DEFAULT_SOCKET;
    o->pidfile = PRH_DEFAULT_PIDFILE;
    o->verbose = 1;
    o->transport = PRH_DEFAULT_TRANSPORT;
    o->state_dir = PRH_DEFAULT_STATE_DIR;
    o->sim_profile = "spc4";
    o->sim_identity = "guest";
    o->sim_max_registrations = PRH_SIM_DEFAULT_MAX_REGISTRATIONS;
    o->sim_max_luns = PRH_SIM_DEFAULT_MAX_LUNS;
    o->frame_timeout_s = PRH_DEFAULT_FRAME_TIMEOUT_S;

    optind = 0; /* full re-initialisation of getopt (GNU) */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hVk:f:dT:u:g:vq", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            return PRH_CLI_HELP;
        case 'V':
            return PRH_CLI_VERSION;
        case 'k':
            o->socket_path = optarg;
            o->socket_given = true;
            if (optarg[0] != '/') {
                fprintf(err, "%s: socket path must be absolute\n", prh_progname);
                return PRH_CLI_ERROR;
            }
            break;
        case 'f':
            o->pidfile = optarg;
            o->pidfile_given = true;
            break;
        case 'd':
            o->daemonize = true;
            break;
        case 'T':
            if (o->ntrace == sizeof(o->trace) / sizeof(o->trace[0])) {
                fprintf(err, "%s: too many -T options\n", prh_progname);
                return PRH_CLI_ERROR;
            }
            {
                /* Checked here, as qemu-pr-helper does ("-T x=1 -h" fails). */
                char msg[512];
                if (prh_trace_check(optarg, msg, sizeof(msg)) < 0) {
                    fprintf(err, "%s: %s\n", prh_progname, msg);
                    return PRH_CLI_ERROR;
                }
            }
            o->trace[o->ntrace++] = optarg;
            break;
        case 'u': {
            /* Checked here, as qemu-pr-helper does: "-u bad -h" fails. */
            unsigned id, gid;
            if (prh_cli_resolve_user(optarg, &id, &gid, err) < 0)
                return PRH_CLI_ERROR;
            o->user = optarg;
            break;
        }
        case 'g': {
            unsigned id;
            if (prh_cli_resolve_group(optarg, &id, err) < 0)
                return PRH_CLI_ERROR;
            o->group = optarg;
            break;
        }
        case 'v':
            o->verbose++;
            break;
        case 'q':
            o->quiet = true;
            break;
        case OPT_TRANSPORT:
            o->transport = optarg;
            break;
        case OPT_CONTROL:
            if (optarg[0] != '/') {
                fprintf(err, "%s: control socket path must be absolute\n", prh_progname);
                return PRH_CLI_ERROR;
            }
            o->control_path = optarg;
            break;
        case OPT_TRACE_FILE:
            if (optarg[0] == '\0') {
                fprintf(err, "%s: --trace-file needs a path\n", prh_progname);
                return PRH_CLI_ERROR;
            }
            o->trace_file = optarg;
            break;
        case OPT_STATE_DIR:
            if (optarg[0] != '/') {
                fprintf(err, "%s: state directory must be an absolute path\n", prh_progname);
                return PRH_CLI_ERROR;
            }
            o->state_dir = optarg;
            break;
        case OPT_SIM_PROFILE:
            if (strcmp(optarg, "spc4") != 0 && strcmp(optarg, "lio") != 0) {
                fprintf(err, "%s: unknown simulator profile '%s' (expected spc4 or lio)\n",
                        prh_progname, optarg);
                return PRH_CLI_ERROR;
            }
            o->sim_profile = optarg;
            break;
        case OPT_SIM_IDENTITY: {
            enum prh_sim_identity id;
            if (!prh_sim_identity_parse(optarg, &id)) {
                fprintf(err, "%s: unknown sim identity '%s' (expected guest, process or "
                             "connection)\n", prh_progname, optarg);
                return PRH_CLI_ERROR;
            }
            o->sim_identity = optarg;
            break;
        }
        case OPT_SIM_MAX_REGISTRATIONS:
        case OPT_SIM_MAX_LUNS:
            if (!parse_count(optarg, 1, PRH_SIM_MAX_LIMIT,
                             c == OPT_SIM_MAX_LUNS ? &o->sim_max_luns
                                                   : &o->sim_max_registrations)) {
                fprintf(err, "%s: --%s needs a number from 1 to %u, not '%s'\n", prh_progname,
                        c == OPT_SIM_MAX_LUNS ? "sim-max-luns" : "sim-max-registrations",
                        PRH_SIM_MAX_LIMIT, optarg);
                return PRH_CLI_ERROR;
            }
            break;
        case OPT_WORKERS:
            if (!parse_workers(optarg, &o->workers, &o->workers_max)) {
                fprintf(err,
                        "%s: --workers needs MIN or MIN:MAX, numbers from 1 to %u with MIN <= "
                        "MAX, not '%s' (MIN threads kept, at most MAX inside device calls)\n",
                        prh_progname, PRH_CLI_WORKERS_LIMIT, optarg);
                return PRH_CLI_ERROR;
            }
            break;
        case OPT_MAX_CLIENTS:
            if (!parse_count(optarg, 1, 1000000, &o->max_clients)) {
                fprintf(err, "%s: --max-clients needs a number from 1 to 1000000, not '%s'\n",
                        prh_progname, optarg);
                return PRH_CLI_ERROR;
            }
            break;
        case OPT_SG_TIMEOUT:
            if (!parse_count(optarg, 1, 3600, &o->sg_timeout_s)) {
                fprintf(err, "%s: --sg-timeout needs seconds from 1 to 3600, not '%s'\n",
                        prh_progname, optarg);
                return PRH_CLI_ERROR;
            }
            break;
        case OPT_SOCKET_MODE: {
            char *end;
            unsigned long m;
            errno = 0;
            m = strtoul(optarg, &end, 8);
            if (errno || end == optarg || *end || optarg[0] == '-' || m > 0777 ||
                !(m & 0200)) {
                fprintf(err,
                        "%s: --socket-mode needs an octal mode up to 0777 that lets the "
                        "owner write (e.g. 0600, 0660), not '%s'\n",
                        prh_progname, optarg);
                return PRH_CLI_ERROR;
            }
            o->socket_mode = (unsigned)m;
            o->socket_mode_given = true;
            break;
        }
        case OPT_SOCKET_GROUP:
            if (!optarg[0]) {
                fprintf(err, "%s: --socket-group needs a group name or number\n", prh_progname);
                return PRH_CLI_ERROR;
            }
            o->socket_group = optarg;
            break;
        case OPT_FRAME_TIMEOUT:
            if (!parse_count(optarg, 0, 3600, &o->frame_timeout_s)) {
                fprintf(err, "%s: --frame-timeout needs seconds from 0 to 3600, not '%s'\n",
                        prh_progname, optarg);
                return PRH_CLI_ERROR;
            }
            break;
        case OPT_ALLOW_PARTIAL_DEVICES:
            o->allow_partial_devices = true;
            break;
        case OPT_MULTIPATHD_SOCKET:
            if (optarg[0] == '\0' || strlen(optarg) >= 108) {
                fprintf(err, "%s: --multipathd-socket needs a socket name (at most 107 "
                             "bytes) or 'none'\n",
                        prh_progname);
                return PRH_CLI_ERROR;
            }
            o->multipathd_socket = optarg;
            break;
        case OPT_NO_SECCOMP:
            o->no_seccomp = true;
            break;
        case OPT_NO_SANDBOX:
            o->no_sandbox = true;
            break;
        case OPT_AUDIT: {
            char msg[256];
            if (prh_audit_parse(optarg, &o->audit_sink, &o->audit_path, msg, sizeof(msg)) < 0) {
                fprintf(err, "%s: %s\n", prh_progname, msg);
                return PRH_CLI_ERROR;
            }
            break;
        }
        case OPT_METRICS_FILE:
            if (optarg[0] != '/') {
                fprintf(err, "%s: --metrics-file needs an absolute path, not '%s'\n",
                        prh_progname, optarg);
                return PRH_CLI_ERROR;
            }
            o->metrics_file = optarg;
            break;
        case OPT_METRICS_INTERVAL:
            if (!parse_count(optarg, 1, 86400, &o->metrics_interval_s)) {
                fprintf(err, "%s: --metrics-interval needs seconds from 1 to 86400, not '%s'\n",
                        prh_progname, optarg);
                return PRH_CLI_ERROR;
            }
            break;
        case OPT_ALLOW_UID:
        case OPT_ALLOW_GID:
        case OPT_ALLOW_DEVICE: {
            char msg[256];
            int r = c == OPT_ALLOW_UID   ? prh_policy_add_uid(&o->policy, optarg, msg, sizeof(msg))
                    : c == OPT_ALLOW_GID ? prh_policy_add_gid(&o->policy, optarg, msg, sizeof(msg))
                                         : prh_policy_add_device(&o->policy, optarg, msg,
                                                                 sizeof(msg));
            if (r < 0) {
                fprintf(err, "%s: %s\n", prh_progname, msg);
                return PRH_CLI_ERROR;
            }
            break;
        }
        /* getopt's own lines name argv[0] as given, error_report()'s the
         * program (qemu-pr-helper: "/usr/bin/qemu-pr-helper: unrecognized
         * option ...", "qemu-pr-helper: Try `/usr/bin/qemu-pr-helper ..."). */
        case ':':
            if (strncmp(argv[optind - 1], "--", 2) != 0)
                fprintf(err, "%s: option requires an argument -- '%c'\n", argv[0], optopt);
            else
                fprintf(err, "%s: option '%s' requires an argument\n", argv[0],
                        argv[optind - 1]);
            try_help(err, argv[0]);
            return PRH_CLI_ERROR;
        case '?':
        default:
            if (strncmp(argv[optind - 1], "--", 2) != 0)
                fprintf(err, "%s: invalid option -- '%c'\n", argv[0], optopt);
            else if (!report_ambiguous(err, argv[0], argv[optind - 1]))
                fprintf(err, "%s: unrecognized option '%s'\n", argv[0], argv[optind - 1]);
            try_help(err, argv[0]);
            return PRH_CLI_ERROR;
        }
    }
    /* Like qemu-pr-helper, non-option arguments are ignored. */
    return PRH_CLI_RUN;
}

unsigned prh_cli_socket_mode(const struct prh_options *o)
{
    if (o->socket_mode_given)
        return o->socket_mode;
    return o->socket_group ? PRH_DEFAULT_SOCKET_GROUP_MODE : PRH_DEFAULT_SOCKET_MODE;
}

int prh_cli_verbosity(const struct prh_options *o)
{
    if (o->quiet)
        return 0;
    return o->verbose < 3 ? o->verbose : 3;
}

static bool parse_id(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v >= UINT_MAX)
        return false;
    *out = (unsigned)v;
    return true;
}

int prh_cli_resolve_user(const char *user, unsigned *uid, unsigned *gid_of_user, FILE *err)
{
    struct passwd *pw = getpwnam(user);

    if (pw) {
        *uid = pw->pw_uid;
        *gid_of_user = pw->pw_gid;
        return 0;
    }
    if (parse_id(user, uid)) {
        pw = getpwuid(*uid);
        *gid_of_user = pw ? pw->pw_gid : *uid;
        return 0;
    }
    fprintf(err, "%s: invalid user '%s'\n", prh_progname, user);
    return -1;
}

int prh_cli_resolve_group(const char *group, unsigned *gid, FILE *err)
{
    struct group *gr = getgrnam(group);

    if (gr) {
        *gid = gr->gr_gid;
        return 0;
    }
    if (parse_id(group, gid))
        return 0;
    fprintf(err, "%s: invalid group '%s'\n", prh_progname, group);
    return -1;
}
