/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - prhelper-tcmu: options, netlink, control socket, the loop
 * (docs/prhelper-tcmu.8, docs/tcmu.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "prhelper/transport_sim.h"
#include "prhelper/cli.h"
#include "prhelper/control.h"
#include "prhelper/log.h"
#include "prhelper/tcmu_config.h"
#include "prhelper/tcmu_daemon.h"
#include "prhelper/tcmu_netlink.h"

#define DEFAULT_STATE_DIR PRH_LOCALSTATEDIR "/lib/prhelper-tcmu"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s [OPTIONS]\n"
            "Serve Linux TCMU (target_core_user) backstores whose dev_config is\n"
            "  %s/LUN/INITIATOR[@RTPI]\n"
            "with prhelper's SPC-4 persistent-reservation simulator and a disk on a sparse\n"
            "file: every backstore is one I_T nexus of the simulated LUN it names, and\n"
            "every command goes through the simulator's reservation conflict table, so a\n"
            "fenced initiator's WRITE gets RESERVATION CONFLICT from the kernel LUN.\n"
            "Create the backstores with attrib/pgr_support=0 (docs/tcmu.md).\n"
            "\n"
            "  -s, --state-dir=DIR       APTPL state files (default %s)\n"
            "      --data-dir=DIR        data files LUN.img (default: the state directory)\n"
            "      --profile=spc4|lio    simulator profile (default spc4; --sim-profile too)\n"
            "      --write-cache         report a volatile write cache (WCE=1): writes are\n"
            "                            synced on SYNCHRONIZE CACHE or FUA only\n"
            "      --max-registrations=N registrations per LUN (also --sim-max-registrations);\n"
            "                            the next gets INSUFFICIENT REGISTRATION RESOURCES\n"
            "                            (default and 0: %u, as prhelper --transport=sim)\n"
            "  -C, --control=PATH        control socket for 'prhelper-cli -C PATH ctl ...'\n"
            "  -f, --pidfile=PATH        write the process id there\n"
            "  -v, --verbose             more messages (repeatable); -q, --quiet: fewer\n"
            "  -T, --trace=[enable=]PATTERN[,events=FILE][,file=FILE]\n"
            "      --no-netlink          do not listen to the kernel's TCM-USER events;\n"
            "                            look for devices in sysfs every second instead\n"
            "      --sysfs=DIR, --configfs=DIR, --devdir=DIR\n"
            "                            where /sys, /sys/kernel/config and /dev are\n"
            "                            (tests; --fake-uio: uioN is a FIFO, uioN.map the map)\n"
            "  -h, --help                this text\n"
            "  -V, --version             version\n"
            "\n"
            "INITIATOR is naa.<16 hex> (a SAS address, as tcm_loop names its nexus),\n"
            "sas.<hex>, fcp.<hex>, iqn.NAME or iqn.NAME#<12 hex ISID>.  RTPI (default 1) is\n"
            "the relative target port the simulator records for the nexus.\n"
            "Signals: SIGTERM/SIGINT stop (queued commands stay for the next start),\n"
            "SIGHUP looks for new devices.\n",
            prh_progname, TCMU_SUBTYPE, DEFAULT_STATE_DIR, PRH_SIM_DEFAULT_MAX_REGISTRATIONS);
}

enum {
    OPT_DATA_DIR = 256,
    OPT_PROFILE,
    OPT_WRITE_CACHE,
    OPT_MAX_REGS,
    OPT_NO_NETLINK,
    OPT_SYSFS,
    OPT_CONFIGFS,
    OPT_DEVDIR,
    OPT_FAKE_UIO,
};

static const struct option options[] = {
    { "state-dir", required_argument, NULL, 's' },
    { "data-dir", required_argument, NULL, OPT_DATA_DIR },
    { "profile", required_argument, NULL, OPT_PROFILE },
    { "sim-profile", required_argument, NULL, OPT_PROFILE },
    { "write-cache", no_argument, NULL, OPT_WRITE_CACHE },
    { "max-registrations", required_argument, NULL, OPT_MAX_REGS },
    { "sim-max-registrations", required_argument, NULL, OPT_MAX_REGS },
    { "control", required_argument, NULL, 'C' },
    { "pidfile", required_argument, NULL, 'f' },
    { "verbose", no_argument, NULL, 'v' },
    { "quiet", no_argument, NULL, 'q' },
    { "trace", required_argument, NULL, 'T' },
    { "no-netlink", no_argument, NULL, OPT_NO_NETLINK },
    { "sysfs", required_argument, NULL, OPT_SYSFS },
    { "configfs", required_argument, NULL, OPT_CONFIGFS },
    { "devdir", required_argument, NULL, OPT_DEVDIR },
    { "fake-uio", no_argument, NULL, OPT_FAKE_UIO },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

static int write_pidfile(const char *path, int *fdp)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        prh_error("cannot create pid file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        prh_error("pid file %s is locked: is another %s running?", path, prh_progname);
        close(fd);
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
        prh_error("cannot write pid file %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    *fdp = fd;
    return 0;
}

int main(int argc, char **argv)
{
    struct tcmu_daemon_config cfg = { .state_dir = DEFAULT_STATE_DIR };
    const char *control_path = NULL, *pidfile = NULL;
    bool netlink = true;
    int verbosity = 1, c;
    char err[1024];
    unsigned long v;
    char *end;

    prh_progname = basename(argv[0]);
    while ((c = getopt_long(argc, argv, "s:C:f:vqT:hV", options, NULL)) != -1) {
        switch (c) {
        case 's':
            cfg.state_dir = optarg;
            break;
        case OPT_DATA_DIR:
            cfg.data_dir = optarg;
            break;
        case OPT_PROFILE:
            if (!pr_sim_profile_parse(optarg, &cfg.profile)) {
                prh_error("unknown profile '%s' (spc4 or lio)", optarg);
                return 1;
            }
            break;
        case OPT_WRITE_CACHE:
            cfg.write_cache = true;
            break;
        case OPT_MAX_REGS:
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-' || v > PRH_SIM_MAX_LIMIT) {
                prh_error("--max-registrations needs 0..%u, not '%s'", PRH_SIM_MAX_LIMIT, optarg);
                return 1;
            }
            cfg.max_registrations = (uint32_t)v;
            break;
        case 'C':
            if (optarg[0] != '/') {
                prh_error("the control socket path must be absolute");
                return 1;
            }
            control_path = optarg;
            break;
        case 'f':
            pidfile = optarg;
            break;
        case 'v':
            verbosity++;
            break;
        case 'q':
            verbosity = 0;
            break;
        case 'T':
            if (prh_trace_configure(optarg, err, sizeof(err)) < 0) {
                prh_error("%s", err);
                return 1;
            }
            break;
        case OPT_NO_NETLINK:
            netlink = false;
            break;
        case OPT_SYSFS:
            cfg.sysfs = optarg;
            break;
        case OPT_CONFIGFS:
            cfg.configfs = optarg;
            break;
        case OPT_DEVDIR:
            cfg.devdir = optarg;
            break;
        case OPT_FAKE_UIO:
            cfg.fake_uio = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("%s %s\n", prh_progname, PRH_VERSION);
            return 0;
        default:
            fprintf(stderr, "Try '%s --help' for more information.\n", prh_progname);
            return 1;
        }
    }
    if (optind < argc) {
        prh_error("unexpected argument '%s' (try --help)", argv[optind]);
        return 1;
    }
    prh_log_set_verbosity(verbosity);

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        prh_error("cannot create a signalfd: %s", strerror(errno));
        return 1;
    }

    struct tcmu_daemon *d = tcmu_daemon_new(&cfg, err, sizeof(err));
    if (d == NULL) {
        prh_error("%s", err);
        return 1;
    }
    int pidfd = -1;
    if (pidfile && write_pidfile(pidfile, &pidfd) < 0) {
        tcmu_daemon_free(d);
        return 1;
    }
    struct tcmu_nl nl = { .fd = -1 };
    if (netlink) {
        int r = tcmu_nl_open(&nl, err, sizeof(err));
        if (r == -EPERM || r == -EACCES) {
            prh_error("%s; run as root, or use --no-netlink", err);
            tcmu_daemon_free(d);
            return 1;
        }
        if (r < 0)
            prh_error("%s; looking for devices in sysfs every second instead", err);
        else
            tcmu_daemon_set_netlink(d, &nl);
    }
    struct prh_control *control = NULL;
    if (control_path) {
        control = prh_control_new();
        int cr = control ? tcmu_daemon_control_register(d, control) : -ENOMEM;
        if (cr == 0)
            cr = prh_control_add_lifecycle(control, argv, true);
        if (cr < 0) {
            prh_error("cannot set up the control commands: %s", strerror(-cr));
            return 1;
        }
        if (prh_control_listen(control, control_path, err, sizeof(err)) < 0 ||
            prh_control_start(control, err, sizeof(err)) < 0) {
            prh_error("%s", err);
            return 1;
        }
    }
    int found = tcmu_daemon_scan(d);
    prh_log(1, "ready: %d backstore(s) served; state in %s, profile %s%s", found,
            cfg.state_dir, pr_sim_profile_name(cfg.profile),
            nl.fd >= 0 ? "" : ", no netlink (polling sysfs)");

    int rc = 0;
    for (;;) {
        int r = tcmu_daemon_run(d, sfd);
        if (r < 0) {
            prh_error("event loop failed: %s", strerror(-r));
            rc = 1;
            break;
        }
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
            continue;
        if (si.ssi_signo == SIGHUP) {
            prh_log(1, "SIGHUP: looking for new backstores");
            tcmu_daemon_scan(d);
            continue;
        }
        prh_log(1, "signal %u: stopping", si.ssi_signo);
        break;
    }
    prh_control_free(control);
    tcmu_daemon_free(d);
    tcmu_nl_close(&nl);
    if (pidfd >= 0) {
        unlink(pidfile);
        close(pidfd);
    }
    close(sfd);
    return rc;
}
