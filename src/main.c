/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - prhelper: options, socket (own or systemd-activated),
 * daemonize, PID file, privilege drop, serve, clean exit.  The order is
 * qemu-pr-helper's (cli.md section 3); differences are in docs/daemon.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "prhelper/cli.h"
#include "prhelper/control.h"
#include "prhelper/reqtrace.h"
#include "prhelper/log.h"
#include "prhelper/metrics.h"
#include "prhelper/privs.h"
#include "prhelper/sandbox.h"
#include "prhelper/server.h"
#include "prhelper/transport.h"
#include "prhelper/workers.h"

/* What an exit has to undo, in one place: every failure after start-up
 * began goes through fail(), the normal exit through daemon_exit(). */
struct daemon_ctx {
    int ready_fd;  /* -d: the parent waits on this pipe */
    bool pidfile_written;
    const char *pidfile;
    int pidfile_fd;
    struct prh_server_config *scfg; /* its socket_path: ours once bound */
    struct prh_control *control;    /* --control */
    struct prh_sandbox *sandbox;    /* once installed */
};

static void report_ready(struct daemon_ctx *d, char status)
{
    if (d->ready_fd >= 0) {
        ssize_t n = write(d->ready_fd, &status, 1);
        (void)n;
        close(d->ready_fd);
        d->ready_fd = -1;
    }
}

static __attribute__((noreturn)) void fail(struct daemon_ctx *d)
{
    report_ready(d, 1);
    prh_control_free(d->control);
    if (d->sandbox && prh_sandbox_removes_files(d->sandbox)) {
        /* Landlock refuses to remove them: the exit cleaner does. */
        d->scfg = NULL;
        d->pidfile_written = false;
    }
    if (d->scfg)
        prh_server_unlink_socket(d->scfg);
    if (d->pidfile_written)
        unlink(d->pidfile);
    prh_sandbox_exit(d->sandbox);
    exit(EXIT_FAILURE);
}

/* systemd socket activation: 1 and *fd set, 0 not activated, -1 error printed. */
static int socket_activation(const struct prh_options *o, int *fd)
{
    int n = sd_listen_fds(1);

    if (n == 0)
        return 0;
    if (n < 0) {
        prh_error("Failed to use socket activation: %s", strerror(-n));
        return -1;
    }
    if (n > 1) {
        prh_error("%s does not support socket activation with LISTEN_FDS > 1", prh_progname);
        return -1;
    }
    if (o->socket_given) {
        prh_error("Unix socket can't be set when using socket activation");
        return -1;
    }
    if (o->socket_mode_given || o->socket_group) {
        prh_error("--socket-mode and --socket-group can't be used with socket activation "
                  "(set SocketMode= and SocketGroup= in the socket unit)");
        return -1;
    }
    if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
        prh_error("Failed to use socket activation: fd %d is not a listening Unix stream "
                  "socket",
                  SD_LISTEN_FDS_START);
        return -1;
    }
    *fd = SD_LISTEN_FDS_START;
    int fl = fcntl(*fd, F_GETFL);
    if (fl < 0 || fcntl(*fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(*fd, F_SETFD, FD_CLOEXEC) < 0) {
        prh_error("Failed to use socket activation: %s", strerror(errno));
        return -1;
    }
    return 1;
}

/*
 * Listen on path.  Bound under a temporary name and renamed into place,
 * so the path appears only once connections are accepted (libvirt waits
 * for the path to exist) and an old socket file is replaced atomically.
 */
static int listen_on(const char *path, unsigned mode, bool set_gid, gid_t gid, dev_t *dev,
                     ino_t *ino)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    char tmp[sizeof(addr.sun_path)];
    bool use_tmp;
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        prh_error("socket path '%s' is too long (at most %zu bytes)", path,
                  sizeof(addr.sun_path) - 1);
        return -1;
    }
    int n = snprintf(tmp, sizeof(tmp), "%s.%ld~", path, (long)getpid());
    use_tmp = n > 0 && (size_t)n < sizeof(tmp);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        prh_error("Failed to create socket: %s", strerror(errno));
        return -1;
    }
    const char *bind_path = use_tmp ? tmp : path;
    strcpy(addr.sun_path, bind_path);
    unlink(bind_path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        prh_error("Failed to bind socket to %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* Mode and group are set before the path appears (or, without a
     * temporary name, before anyone may use it: listen() comes after). */
    if (chmod(bind_path, (mode_t)mode) < 0 ||
        (set_gid && chown(bind_path, (uid_t)-1, gid) < 0)) {
        prh_error("Failed to set the %s of socket %s: %s", set_gid ? "mode or group" : "mode",
                  path, strerror(errno));
        unlink(bind_path);
        close(fd);
        return -1;
    }
    if (listen(fd, SOMAXCONN) < 0 || (use_tmp && rename(tmp, path) < 0)) {
        prh_error("Failed to listen on %s: %s", path, strerror(errno));
        unlink(bind_path);
        close(fd);
        return -1;
    }
    struct stat sb;
    if (stat(path, &sb) == 0) {
        *dev = sb.st_dev;
        *ino = sb.st_ino;
    }
    return fd;
}

/* Fork; the parent exits with the child's startup status. */
static int daemonize(struct daemon_ctx *d)
{
    int pipefd[2];
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        char status = 1;
        close(pipefd[1]);
        ssize_t n;
        do {
            n = read(pipefd[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 && status == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
    }
    close(pipefd[0]);
    d->ready_fd = pipefd[1];
    if (setsid() < 0 || chdir("/") < 0)
        return -1;
    return 0;
}

/* fd: /dev/null, opened before the sandbox. */
static void detach_stdio(int fd)
{
    if (fd < 0)
        return;
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
}

/* Created 0600 and locked; refuses when a live process holds the lock. */
static int write_pidfile(struct daemon_ctx *d, const char *path)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    char buf[32];
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        prh_error("Cannot open pid file '%s': %s", path, strerror(errno));
        return -1;
    }
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        prh_error("Cannot lock pid file '%s': %s", path,
                  errno == EAGAIN || errno == EACCES ? "another instance is running"
                                                      : strerror(errno));
        close(fd);
        return -1;
    }
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
        prh_error("Cannot write pid file '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    d->pidfile = path;
    d->pidfile_fd = fd; /* kept open: the lock lives as long as we do */
    d->pidfile_written = true;
    return 0;
}

/*
 * Every client holds a socket and, while a request runs, the fd it passed:
 * --max-clients needs about twice as many descriptors, more than the usual
 * soft limit of 1024.  Raise the soft limit towards the hard one (never
 * above it: that needs privileges the daemon is about to give up).
 */
static void raise_fd_limit(unsigned max_clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = (rlim_t)max_clients * 2 + 64;
    if (rl.rlim_cur >= want || rl.rlim_cur == rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        prh_log(1, "cannot raise the open-files limit to %llu: %s", (unsigned long long)want,
                 strerror(errno));
    if (rl.rlim_cur < want)
        prh_log(1, "open-files limit %llu is below what --max-clients=%u needs (%llu)",
                 (unsigned long long)rl.rlim_cur, max_clients, (unsigned long long)want);
}

/* -u, -g and --socket-group to ids.  0, or -1 with the message printed. */
static int resolve_ids(const struct prh_options *o, struct prh_privs *privs, gid_t *socket_gid)
{
    unsigned uid, gid;

    if (o->user) {
        if (prh_cli_resolve_user(o->user, &uid, &gid, stderr) < 0)
            return -1;
        privs->change_uid = true;
        privs->uid = uid;
        if (!o->group) {
            privs->change_gid = true;
            privs->gid = gid;
        }
    }
    if (o->group) {
        if (prh_cli_resolve_group(o->group, &gid, stderr) < 0)
            return -1;
        privs->change_gid = true;
        privs->gid = gid;
    }
    *socket_gid = (gid_t)-1;
    if (o->socket_group) {
        if (prh_cli_resolve_group(o->socket_group, &gid, stderr) < 0)
            return -1;
        *socket_gid = (gid_t)gid;
    }
    return 0;
}

static const struct prh_transport *find_transport(const char *name)
{
    const struct prh_transport *t = prh_transport_find(name);

    if (!t)
        prh_error("unknown transport '%s' (known: sg, mpath, sim)", name);
    else if (!t->available)
        prh_error("transport '%s': %s", t->name, t->unavailable);
    return t && t->available ? t : NULL;
}

/* --control: the socket and its commands, created while still root. */
static void open_control(struct daemon_ctx *d, const struct prh_options *o,
                         const struct prh_transport *t, void *tstate, char **argv,
                         bool may_restart)
{
    char errmsg[512];

    d->control = prh_control_new();
    int cr = d->control ? 0 : -ENOMEM;
    if (cr == 0 && t->control_register)
        cr = t->control_register(tstate, d->control);
    if (cr == 0)
        cr = prh_control_add_lifecycle(d->control, argv, may_restart);
    if (cr < 0)
        snprintf(errmsg, sizeof(errmsg), "cannot set up the control commands: %s",
                 strerror(-cr));
    if (cr < 0 || prh_control_listen(d->control, o->control_path, errmsg, sizeof(errmsg)) < 0) {
        prh_error("%s", errmsg);
        fail(d);
    }
}

/*
 * Start-up is over (socket, PID file, privilege drop): from here on the
 * sandbox (docs/security.md).  Before any thread exists: Landlock
 * restricts only the calling thread and what it creates later.
 */
static void install_sandbox(struct daemon_ctx *d, const struct prh_options *o,
                            const struct prh_transport *t, struct prh_server_config *scfg)
{
    char errmsg[512], desc[128];
    struct prh_sandbox_config sbc;
    struct stat pst;

    prh_sandbox_config_init(&sbc, o, t->name);
    if (scfg->socket_path) {
        sbc.socket_path = scfg->socket_path;
        sbc.socket_dev = scfg->socket_dev;
        sbc.socket_ino = scfg->socket_ino;
    }
    if (d->control)
        prh_control_socket_file(d->control, &sbc.control_path, &sbc.control_dev,
                                &sbc.control_ino);
    if (d->pidfile_written && fstat(d->pidfile_fd, &pst) == 0) {
        sbc.pidfile = d->pidfile;
        sbc.pidfile_dev = pst.st_dev;
        sbc.pidfile_ino = pst.st_ino;
    }
    d->sandbox = prh_sandbox_install(&sbc, errmsg, sizeof(errmsg));
    if (!d->sandbox) {
        prh_error("%s (--no-sandbox runs without it)", errmsg);
        fail(d);
    }
    if (prh_sandbox_removes_files(d->sandbox)) {
        /* Landlock refuses to remove them: the exit cleaner will. */
        scfg->socket_path = NULL;
        d->scfg = NULL;
        d->pidfile_written = false;
    }
    prh_sandbox_describe(d->sandbox, desc, sizeof(desc));
    prh_log(2, "sandbox: %s", desc);
}

_Static_assert(PRH_CLI_WORKERS_LIMIT < PRH_POOL_MAX_THREADS,
               "--workers MAX + 1 threads fit the pool");
_Static_assert(PRH_CLI_WORKERS_DEFAULT_MAX == PRH_POOL_DEFAULT_MAX, "--workers MAX default");

int main(int argc, char **argv)
{
    struct prh_options o;
    struct prh_server_config scfg = { .listen_fd = -1, .signal_fd = -1 };
    struct daemon_ctx d = { .ready_fd = -1, .pidfile_fd = -1 };
    struct prh_privs privs = { 0 };
    struct prh_transport_options topts = { 0 };
    struct prh_metrics_writer *metrics_writer = NULL;
    char errmsg[512];
    sigset_t sigs;
    void *tstate = NULL;
    gid_t socket_gid;

    prh_progname = basename(argv[0]);
    /* Termination signals are read from a signalfd by the main loop. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    switch (prh_cli_parse(argc, argv, &o, stderr)) {
    /* As qemu-pr-helper: usage and version name argv[0] as given. */
    case PRH_CLI_HELP:
        prh_cli_usage(stdout, argv[0]);
        return EXIT_SUCCESS;
    case PRH_CLI_VERSION:
        prh_cli_version(stdout, argv[0]);
        return EXIT_SUCCESS;
    case PRH_CLI_ERROR:
        return EXIT_FAILURE;
    case PRH_CLI_RUN:
        break;
    }
    prh_log_set_verbosity(prh_cli_verbosity(&o));
    /* Before any thread starts (workers.h; docs/daemon.md, "Memory"). */
    int mem = prh_pool_limit_process_memory();
    if (mem < 0)
        prh_log(2, "cannot turn transparent huge pages off for the process: %s",
                strerror(-mem));
    raise_fd_limit(o.max_clients ? o.max_clients : PRH_SERVER_DEFAULT_MAX_CLIENTS);
    for (unsigned i = 0; i < o.ntrace; i++) {
        if (prh_trace_configure(o.trace[i], errmsg, sizeof(errmsg)) < 0) {
            prh_error("%s", errmsg);
            return EXIT_FAILURE;
        }
    }
    const struct prh_transport *t = find_transport(o.transport);
    if (!t || resolve_ids(&o, &privs, &socket_gid) < 0)
        return EXIT_FAILURE;
    privs.keep = t->capabilities;
    int activated = socket_activation(&o, &scfg.listen_fd);
    if (activated < 0)
        return EXIT_FAILURE;

    topts.state_dir = o.state_dir;
    topts.sim_profile = o.sim_profile;
    topts.sim_identity = o.sim_identity;
    topts.sim_max_registrations = o.sim_max_registrations;
    topts.sim_max_luns = o.sim_max_luns;
    topts.sg_timeout_ms = o.sg_timeout_s * 1000u;
    topts.allow_partial_devices = o.allow_partial_devices;
    topts.multipathd_socket = o.multipathd_socket;
    /* Created before the transport, which counts its refusals in it. */
    struct prh_metrics *metrics = prh_metrics_new(t->name);
    topts.metrics = metrics;
    if (privs.change_uid || privs.change_gid) {
        topts.chown_state = true;
        topts.owner_uid = privs.change_uid ? privs.uid : getuid();
        topts.owner_gid = privs.change_gid ? privs.gid : getgid();
    }
    if (t->init(&topts, &tstate, errmsg, sizeof(errmsg)) < 0) {
        prh_error("%s", errmsg);
        return EXIT_FAILURE;
    }

    if (!activated) {
        scfg.listen_fd = listen_on(o.socket_path, prh_cli_socket_mode(&o), o.socket_group != NULL,
                                   socket_gid, &scfg.socket_dev, &scfg.socket_ino);
        if (scfg.listen_fd < 0)
            fail(&d);
        scfg.socket_path = o.socket_path;
        scfg.check_socket_inode = true;
        d.scfg = &scfg; /* from here fail() removes the socket */
    }
    /* The request trace and the control socket: opened while still root. */
    if ((o.trace_file || prh_cli_verbosity(&o) >= 3) &&
        prh_reqtrace_open(o.trace_file, prh_cli_verbosity(&o) >= 3, errmsg, sizeof(errmsg)) < 0) {
        prh_error("%s", errmsg);
        fail(&d);
    }
    /* restart executes the program again: not in the sandbox (no execve,
     * no socket file created), after a privilege drop or with socket
     * activation. */
    if (o.control_path)
        open_control(&d, &o, t, tstate, argv,
                     !activated && !privs.change_uid && !privs.change_gid && o.no_sandbox);

    /* The audit trail: the file opened (and syslog connected) while root. */
    struct prh_audit *audit = prh_audit_open(o.audit_sink, o.audit_path, errmsg, sizeof(errmsg));
    if (!audit || !metrics) {
        prh_error("%s", audit ? "out of memory" : errmsg);
        fail(&d);
    }
    if (d.control && (errno = -prh_metrics_control_register(metrics, d.control)) != 0) {
        prh_error("cannot add the stats control command: %s", strerror(errno));
        fail(&d);
    }
    if (o.daemonize && daemonize(&d) < 0) {
        prh_error("Failed to daemonize: %s", strerror(errno));
        fail(&d);
    }
    if ((o.daemonize || o.pidfile_given) && write_pidfile(&d, o.pidfile) < 0)
        fail(&d);
    if (prh_privs_drop(&privs, errmsg, sizeof(errmsg)) < 0) {
        prh_error("Failed to drop privileges: %s", errmsg);
        fail(&d);
    }

    scfg.transport = t;
    scfg.transport_state = tstate;
    scfg.workers = o.workers;
    scfg.workers_max = o.workers_max;
    scfg.max_clients = o.max_clients;
    scfg.frame_timeout_ms = o.frame_timeout_s * 1000u;
    scfg.audit = audit;
    scfg.metrics = metrics;
    scfg.policy = &o.policy;
    /* Durations are measured only where they can be read. */
    scfg.untimed = !o.metrics_file && !o.control_path;
    /* Made before the sandbox: the signalfd and -d's /dev/null. */
    scfg.signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    int devnull = o.daemonize ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1;
    if (scfg.signal_fd < 0) {
        prh_error("Failed to start the server: %s", strerror(errno));
        fail(&d);
    }
    install_sandbox(&d, &o, t, &scfg);
    struct prh_server *srv = prh_server_new(&scfg);
    if (!srv) {
        prh_error("Failed to start the server: %s", strerror(errno));
        fail(&d);
    }
    if (d.control && prh_control_start(d.control, errmsg, sizeof(errmsg)) < 0) {
        prh_error("%s", errmsg);
        fail(&d);
    }
    /* Metrics: written by a thread of their own, in the sandbox (the
     * metrics file's directory is writable). */
    if (o.metrics_file &&
        !(metrics_writer = prh_metrics_writer_start(
              metrics, o.metrics_file, o.metrics_interval_s ? o.metrics_interval_s : 15))) {
        prh_error("Cannot write metrics file '%s': %s", o.metrics_file, strerror(errno));
        fail(&d);
    }
    prh_log(2, "listening on %s with the %s transport", activated ? "fd 3" : o.socket_path,
            t->name);
    if (o.daemonize) {
        report_ready(&d, 0);
        detach_stdio(devnull);
    }
    sd_notifyf(0, "READY=1\nSTATUS=Serving persistent reservations (%s transport)\nMAINPID=%lu",
               t->name, (unsigned long)getpid());

    prh_server_run(srv); /* removes the socket when it stops accepting */

    sd_notify(0, "STOPPING=1");
    prh_server_free(srv);
    prh_metrics_writer_stop(metrics_writer); /* the last write */
    prh_metrics_free(metrics);
    prh_audit_close(audit);
    prh_control_free(d.control); /* before the transport state it refers to */
    prh_reqtrace_close();
    close(scfg.signal_fd);
    t->fini(tstate);
    if (d.pidfile_written)
        unlink(d.pidfile);
    if (d.pidfile_fd >= 0)
        close(d.pidfile_fd);
    prh_sandbox_exit(d.sandbox); /* the exit cleaner removes the sockets and PID file */
    prh_trace_reset();
    return EXIT_SUCCESS;
}
