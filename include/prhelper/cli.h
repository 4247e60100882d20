/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli.h - prhelper's command line, compatible with qemu-pr-helper's
 * (short options hVk:f:dT:u:g:vq and their long forms) plus prhelper's
 * own long options (--transport, --state-dir, --sim-profile, --sim-identity,
 * --sim-max-registrations, --sim-max-luns, --workers,
 * --max-clients, --socket-mode, --socket-group, --frame-timeout,
 * --no-sandbox, --no-seccomp, ...).
 */
#ifndef PRHELPER_CLI_H
#define PRHELPER_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "prhelper/audit.h"
#include "prhelper/policy.h"

#ifndef PRH_LOCALSTATEDIR
#define PRH_LOCALSTATEDIR "/var"
#endif
#define PRH_DEFAULT_SOCKET PRH_LOCALSTATEDIR "/run/qemu-pr-helper.sock"
#define PRH_DEFAULT_PIDFILE PRH_LOCALSTATEDIR "/run/qemu-pr-helper.pid"
#define PRH_DEFAULT_STATE_DIR PRH_LOCALSTATEDIR "/run/prhelper"
#define PRH_DEFAULT_TRANSPORT "sg"

enum prh_cli_action {
    PRH_CLI_RUN,
    PRH_CLI_HELP,
    PRH_CLI_VERSION,
    PRH_CLI_ERROR,
};

struct prh_options {
    const char *socket_path;   /* default or -k */
    bool socket_given;
    const char *pidfile;       /* default or -f */
    bool pidfile_given;
    bool daemonize;
    const char *user;
    const char *group;
    const char *trace[8];      /* -T arguments, in order */
    unsigned ntrace;
    int verbose;               /* loglevel: 1 default, +1 per -v */
    bool quiet;
    const char *transport;
    const char *control_path;  /* --control, NULL: no control socket */
    const char *trace_file;    /* --trace-file, NULL: none */
    const char *state_dir;
    const char *sim_profile;
    const char *sim_identity;  /* --sim-identity: guest (default), process, connection */
    unsigned sim_max_registrations; /* --sim-max-registrations */
    unsigned sim_max_luns;     /* --sim-max-luns */
    unsigned workers;          /* --workers MIN, 0 = default (number of CPUs) */
    unsigned workers_max;      /* --workers MAX, 0 = default (64) */
    unsigned max_clients;
    unsigned sg_timeout_s;     /* --sg-timeout, 0 = default */
    unsigned socket_mode;      /* --socket-mode (octal); see prh_cli_socket_mode() */
    bool socket_mode_given;
    const char *socket_group;  /* --socket-group, NULL: leave the group alone */
    unsigned frame_timeout_s;  /* --frame-timeout, 0 = no timeout */
    bool no_seccomp;           /* --no-seccomp: Landlock only */
    bool no_sandbox;           /* --no-sandbox: neither Landlock nor seccomp */
    bool allow_partial_devices; /* --allow-partial-devices */
    const char *multipathd_socket; /* --multipathd-socket, NULL: multipathd's own names */
    enum prh_audit_sink audit_sink; /* --audit; PRH_AUDIT_DEFAULT: journal/syslog */
    const char *audit_path;    /* --audit=file:PATH */
    const char *metrics_file;  /* --metrics-file, NULL: none */
    unsigned metrics_interval_s; /* --metrics-interval, 0 = default (15) */
    struct prh_policy policy;  /* --allow-uid, --allow-gid, --allow-device */
};

#define PRH_DEFAULT_SOCKET_MODE 0600u
#define PRH_DEFAULT_SOCKET_GROUP_MODE 0660u
#define PRH_DEFAULT_FRAME_TIMEOUT_S 30u
#define PRH_CLI_WORKERS_LIMIT 1000u      /* < PRH_POOL_MAX_THREADS: MAX + 1 threads */
#define PRH_CLI_WORKERS_DEFAULT_MAX 64u  /* = PRH_POOL_DEFAULT_MAX */

/* The socket's mode: --socket-mode, else 0660 with --socket-group, else 0600. */
unsigned prh_cli_socket_mode(const struct prh_options *o);

/*
 * Parse argv (getopt_long; prefixes of long options accepted).  Errors
 * are printed on err with the "PROG: " prefix.  Returns the action;
 * PRH_CLI_ERROR means exit 1.
 */
enum prh_cli_action prh_cli_parse(int argc, char **argv, struct prh_options *o, FILE *err);

/* The --help and --version texts. */
void prh_cli_usage(FILE *out, const char *prog);
void prh_cli_version(FILE *out, const char *prog);

/* Effective verbosity as qemu-pr-helper computes it: 0..3. */
int prh_cli_verbosity(const struct prh_options *o);

/* Resolve -u / -g (name or number).  0, or -1 with a message on err. */
int prh_cli_resolve_user(const char *user, unsigned *uid, unsigned *gid_of_user, FILE *err);
int prh_cli_resolve_group(const char *group, unsigned *gid, FILE *err);

/* Program name used as the message prefix ("prhelper"). */
extern const char *prh_progname;

#endif
