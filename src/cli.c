/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.c - prhelper's options, compatible with qemu-pr-helper's. */
#include "prhelper/cli.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

const char *prh_progname = "prhelper";

enum {
    OPT_TRANSPORT = 256,
    OPT_STATE_DIR,
    OPT_SIM_PROFILE,
    OPT_WORKERS,
    OPT_MAX_CLIENTS,
    OPT_SG_TIMEOUT,
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
    { "state-dir", required_argument, NULL, OPT_STATE_DIR },
    { "sim-profile", required_argument, NULL, OPT_SIM_PROFILE },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
    { "sg-timeout", required_argument, NULL, OPT_SG_TIMEOUT },
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
            "      --state-dir=DIR       sim: APTPL state files (default '%s')\n"
            "      --sim-profile=NAME    sim: spc4 (default) or lio\n"
            "      --workers=N           worker threads for device calls (default 4)\n"
            "      --max-clients=N       concurrent connections (default 1024)\n"
            "      --sg-timeout=SECONDS  sg: SG_IO timeout (default 30)\n"
            "\n"
            "See prhelper(8).\n",
            prog, PRH_DEFAULT_PIDFILE, PRH_DEFAULT_SOCKET, PRH_DEFAULT_STATE_DIR);
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

enum prh_cli_action prh_cli_parse(int argc, char **argv, struct prh_options *o, FILE *err)
{
    int c;

    memset(o, 0, sizeof(*o));
    o->socket_path = PRH_DEFAULT_SOCKET;
    o->pidfile = PRH_DEFAULT_PIDFILE;
    o->verbose = 1;
    o->transport = PRH_DEFAULT_TRANSPORT;
    o->state_dir = PRH_DEFAULT_STATE_DIR;
    o->sim_profile = "spc4";

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
            o->trace[o->ntrace++] = optarg;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'g':
            o->group = optarg;
            break;
        case 'v':
            o->verbose++;
            break;
        case 'q':
            o->quiet = true;
            break;
        case OPT_TRANSPORT:
            o->transport = optarg;
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
        case OPT_WORKERS:
            if (!parse_count(optarg, 1, 64, &o->workers)) {
                fprintf(err, "%s: --workers needs a number from 1 to 64, not '%s'\n",
                        prh_progname, optarg);
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
        case ':':
            if (strncmp(argv[optind - 1], "--", 2) != 0)
                fprintf(err, "%s: option requires an argument -- '%c'\n", prh_progname, optopt);
            else
                fprintf(err, "%s: option '%s' requires an argument\n", prh_progname,
                        argv[optind - 1]);
            fprintf(err, "Try `%s --help' for more information.\n", prh_progname);
            return PRH_CLI_ERROR;
        case '?':
        default:
            if (strncmp(argv[optind - 1], "--", 2) != 0)
                fprintf(err, "%s: invalid option -- '%c'\n", prh_progname, optopt);
            else
                fprintf(err, "%s: unrecognized option '%s'\n", prh_progname, argv[optind - 1]);
            fprintf(err, "Try `%s --help' for more information.\n", prh_progname);
            return PRH_CLI_ERROR;
        }
    }
    /* Like qemu-pr-helper, non-option arguments are ignored. */
    return PRH_CLI_RUN;
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
