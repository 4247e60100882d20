/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.h - the control socket (prhelper --control=PATH).
 *
 * A root-only (mode 0600) Unix stream socket, separate from the QEMU
 * socket, on which an operator or a test tells the running daemon to do
 * things QEMU never asks for: show state, inject faults, power-cycle a
 * LUN, report statistics.  `prhelper-cli ctl ...` is its client.
 *
 * Protocol (docs/daemon.md, "Control socket"): one request per
 * connection.  The client sends one line of at most PRH_CTL_LINE_MAX
 * bytes ending in '\n': words separated by blanks, the first the command
 * name; a word "--json" anywhere asks for JSON output and is removed.
 * The daemon answers "ok\n" followed by the command's output, or
 * "error\n" followed by one line saying why, and closes the connection.
 * Peers other than root and the daemon's own uid are refused.
 *
 * Commands come from a table: built-in ones (help, version), and those
 * added with prh_control_add() by the transport (sim: state, fault,
 * power-cycle), by main (crash, restart) or by any other module.  Adding
 * a request is one struct prh_ctl_command and one call.
 */
#ifndef PRHELPER_CONTROL_H
#define PRHELPER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifndef PRH_LOCALSTATEDIR
#define PRH_LOCALSTATEDIR "/var"
#endif
/* prhelper-cli's default (the daemon serves none unless --control is given). */
#define PRH_DEFAULT_CONTROL PRH_LOCALSTATEDIR "/run/prhelper-control.sock"

#define PRH_CTL_LINE_MAX 4096
#define PRH_CTL_MAX_ARGS 32
/* Bound on the time one control client may take to send its request. */
#define PRH_CTL_IO_TIMEOUT_MS 2000

struct prh_ctl_request {
    int argc;          /* >= 1 */
    char **argv;       /* argv[0]: the command name */
    bool json;         /* --json was given */
    pid_t pid;         /* peer (SO_PEERCRED), 0 if unknown */
    uid_t uid;
};

/*
 * A handler writes its output on out and returns 0, or writes a one-line
 * reason on out and returns -1 (the client sees "error" and the reason).
 */
typedef int (*prh_ctl_handler)(void *opaque, const struct prh_ctl_request *req, FILE *out);

struct prh_ctl_command {
    const char *name;    /* one word */
    const char *args;    /* usage of the arguments, "" if none */
    const char *help;    /* one line */
    prh_ctl_handler handler;
    void *opaque;
    /* Optional: runs after a successful answer has been sent (crash, restart). */
    void (*after)(void *opaque);
};

struct prh_control;

/*
 * A control table without a socket (tests, or before --control is
 * known).  NULL on allocation failure.
 */
struct prh_control *prh_control_new(void);
/* Add a command (copied; the strings must outlive ctl).  0, -EEXIST, -EINVAL, -ENOMEM. */
int prh_control_add(struct prh_control *ctl, const struct prh_ctl_command *cmd);
/* Number of commands in the table (built-ins included). */
size_t prh_control_count(const struct prh_control *ctl);

/*
 * Run one request line (without the '\n') as if it came from a peer with
 * pid/uid; the whole answer ("ok\n..." or "error\n...") goes to out.
 * Returns 0 for ok, -1 for error.
 */
int prh_control_dispatch(struct prh_control *ctl, const char *line, pid_t pid, uid_t uid,
                         FILE *out);

/*
 * Bind path (mode 0600, replacing an old socket file; bound under a
 * temporary name and renamed, so it appears ready), before privileges
 * are dropped.  0, or -1 with a message in errmsg.
 */
int prh_control_listen(struct prh_control *ctl, const char *path, char *errmsg, size_t len);
/* Start the serving thread (after any fork: -d).  0 or -1 with errmsg. */
int prh_control_start(struct prh_control *ctl, char *errmsg, size_t len);
/* Stop serving, unlink the socket, free everything.  NULL is fine. */
void prh_control_free(struct prh_control *ctl);
/* The socket file prh_control_listen() made (for the sandbox's exit
 * cleaner): true with its path, device and inode; false if none. */
bool prh_control_socket_file(const struct prh_control *ctl, const char **path, dev_t *dev,
                             ino_t *ino);

/*
 * Client side: connect to path, send the words, read the whole answer
 * into a malloc'd string (*body, without the "ok"/"error" line).
 * Returns 0 ok, 1 error answer, -errno when the daemon cannot be reached
 * or the answer is malformed.
 */
int prh_control_call(const char *path, int argc, char *const *argv, bool json, char **body);

/*
 * The daemon's life-cycle commands: "crash" (the process is killed with
 * SIGKILL once the answer is sent: no cleanup, as in a real crash) and,
 * when can_restart, "restart" (a crash followed by executing the same
 * program with argv again, as a supervisor would; main allows it without
 * the syscall filter, -u/-g or socket activation only).  argv must
 * outlive ctl.
 */
int prh_control_add_lifecycle(struct prh_control *ctl, char **argv, bool can_restart);

/* Split s in place into at most max words; the count, or -1 if more. */
int prh_control_split(char *s, char **words, int max);

/* JSON string literal of s (quotes included) on out. */
void prh_json_string(FILE *out, const char *s);

#endif
