/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.c - the control socket: a command table, the line protocol,
 * a serving thread, and the client call used by prhelper-cli ctl.
 */
#include "prhelper/control.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "prhelper/log.h"

struct prh_control {
    struct prh_ctl_command *cmds;
    size_t ncmds, cap;
    pthread_mutex_t lock; /* the table */
    int listen_fd;
    int stop_fd;
    char *path;
    dev_t dev;
    ino_t ino;
    pthread_t thread;
    bool running;
};

/* ---- helpers ----------------------------------------------------------- */

void prh_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

int prh_control_split(char *s, char **words, int max)
{
    int n = 0;
    char *save = NULL;

    for (char *w = strtok_r(s, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
        if (n == max)
            return -1;
        words[n++] = w;
    }
    return n;
}

/* ---- built-in commands --------------------------------------------------- */

static int cmd_help(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct prh_control *ctl = opaque;

    if (req->json)
        fputs("{\"commands\":[", out);
    for (size_t i = 0; i < ctl->ncmds; i++) {
        const struct prh_ctl_command *c = &ctl->cmds[i];
        if (req->json) {
            fprintf(out, "%s{\"name\":", i ? "," : "");
            prh_json_string(out, c->name);
            fputs(",\"args\":", out);
            prh_json_string(out, c->args);
            fputs(",\"help\":", out);
            prh_json_string(out, c->help);
            fputc('}', out);
        } else {
            char head[128];
            snprintf(head, sizeof(head), "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
            fprintf(out, "  %-32s %s\n", head, c->help);
        }
    }
    if (req->json)
        fputs("]}\n", out);
    return 0;
}

static int cmd_version(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    (void)opaque;
    if (req->json)
        fprintf(out, "{\"version\":\"%s\",\"pid\":%ld}\n", PRH_VERSION, (long)getpid());
    else
        fprintf(out, "prhelper %s, pid %ld\n", PRH_VERSION, (long)getpid());
    return 0;
}

/* ---- life cycle ---------------------------------------------------------- */

struct lifecycle {
    char **argv;
};
static struct lifecycle lifecycle;

static int cmd_crash(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    (void)opaque;
    if (req->argc != 1) {
        fprintf(out, "crash takes no arguments\n");
        return -1;
    }
    fprintf(out, "%s\n", req->json ? "{\"crashing\":true}" : "crashing now (SIGKILL)");
    return 0;
}

static void crash_now(void *opaque)
{
    (void)opaque;
    prh_log(2, "control: simulated crash");
    raise(SIGKILL); /* tgkill: allowed by the syscall filter */
    _exit(137);     /* not reached */
}

static int cmd_restart(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    (void)opaque;
    if (req->argc != 1) {
        fprintf(out, "restart takes no arguments\n");
        return -1;
    }
    fprintf(out, "%s\n", req->json ? "{\"restarting\":true}" : "restarting now");
    return 0;
}

static void restart_now(void *opaque)
{
    struct lifecycle *l = opaque;

    prh_log(2, "control: simulated crash and restart");
    /* Every fd of the daemon is close-on-exec: clients see their
     * connections drop exactly as in a crash. */
    execv("/proc/self/exe", l->argv);
    prh_error("restart: cannot execute /proc/self/exe: %s", strerror(errno));
    _exit(EXIT_FAILURE);
}

int prh_control_add_lifecycle(struct prh_control *ctl, char **argv, bool can_restart)
{
    const struct prh_ctl_command crash = {
        "crash", "", "simulate a daemon crash: killed at once, nothing cleaned up",
        cmd_crash, &lifecycle, crash_now,
    };
    const struct prh_ctl_command restart = {
        "restart", "", "simulate a crash and a restart with the same arguments",
        cmd_restart, &lifecycle, restart_now,
    };
    int r;

    lifecycle.argv = argv;
    r = prh_control_add(ctl, &crash);
    if (r == 0 && can_restart)
        r = prh_control_add(ctl, &restart);
    return r;
}

struct prh_control *prh_control_new(void)
{
    struct prh_control *ctl = calloc(1, sizeof(*ctl));

    if (!ctl)
        return NULL;
    pthread_mutex_init(&ctl->lock, NULL);
    ctl->listen_fd = -1;
    ctl->stop_fd = -1;
    const struct prh_ctl_command builtins[] = {
        { .name = "help", .args = "", .help = "list the control commands",
          .handler = cmd_help, .opaque = ctl },
        { .name = "version", .args = "", .help = "the daemon's version and pid",
          .handler = cmd_version, .opaque = ctl },
    };
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        if (prh_control_add(ctl, &builtins[i]) < 0) {
            prh_control_free(ctl);
            return NULL;
        }
    return ctl;
}

int prh_control_add(struct prh_control *ctl, const struct prh_ctl_command *cmd)
{
    int r = 0;

    if (!cmd->name || !cmd->name[0] || strpbrk(cmd->name, " \t\r\n") || !cmd->handler ||
        !cmd->args || !cmd->help)
        return -EINVAL;
    pthread_mutex_lock(&ctl->lock);
    for (size_t i = 0; i < ctl->ncmds; i++)
        if (strcmp(ctl->cmds[i].name, cmd->name) == 0) {
            r = -EEXIST;
            goto out;
        }
    if (ctl->ncmds == ctl->cap) {
        size_t cap = ctl->cap ? ctl->cap * 2 : 16;
        struct prh_ctl_command *p = realloc(ctl->cmds, cap * sizeof(*p));
        if (!p) {
            r = -ENOMEM;
            goto out;
        }
        ctl->cmds = p;
        ctl->cap = cap;
    }
    ctl->cmds[ctl->ncmds++] = *cmd;
out:
    pthread_mutex_unlock(&ctl->lock);
    return r;
}

size_t prh_control_count(const struct prh_control *ctl)
{
    return ctl->ncmds;
}

/* ---- dispatch ------------------------------------------------------------ */

static int dispatch(struct prh_control *ctl, const char *line, pid_t pid, uid_t uid, FILE *out,
                    struct prh_ctl_command *ran)
{
    char buf[PRH_CTL_LINE_MAX + 1];
    char *words[PRH_CTL_MAX_ARGS + 1];
    struct prh_ctl_request req = { .pid = pid, .uid = uid };
    char *body = NULL;
    size_t body_len = 0;
    int n, r;

    if (strlen(line) > PRH_CTL_LINE_MAX) {
        fprintf(out, "error\nrequest longer than %d bytes\n", PRH_CTL_LINE_MAX);
        return -1;
    }
    strcpy(buf, line);
    n = prh_control_split(buf, words, PRH_CTL_MAX_ARGS);
    if (n < 0) {
        fprintf(out, "error\nmore than %d words in the request\n", PRH_CTL_MAX_ARGS);
        return -1;
    }
    /* "--json" anywhere: JSON output, removed from the words. */
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(words[i], "--json") == 0)
            req.json = true;
        else
            words[m++] = words[i];
    }
    words[m] = NULL;
    if (m == 0) {
        fprintf(out, "error\nempty request (try 'help')\n");
        return -1;
    }
    req.argc = m;
    req.argv = words;

    pthread_mutex_lock(&ctl->lock);
    const struct prh_ctl_command *cmd = NULL;
    struct prh_ctl_command found;
    for (size_t i = 0; i < ctl->ncmds; i++)
        if (strcmp(ctl->cmds[i].name, words[0]) == 0) {
            found = ctl->cmds[i];
            cmd = &found;
            break;
        }
    pthread_mutex_unlock(&ctl->lock);
    if (!cmd) {
        fputs("error\nunknown control command '", out);
        for (const char *p = words[0]; *p && p - words[0] < 64; p++)
            fputc(*p >= 0x20 && *p < 0x7f ? *p : '?', out);
        fputs("' (try 'help')\n", out);
        return -1;
    }
    FILE *mem = open_memstream(&body, &body_len);
    if (!mem) {
        fprintf(out, "error\nout of memory\n");
        return -1;
    }
    r = cmd->handler(cmd->opaque, &req, mem);
    fclose(mem);
    if (ran && r == 0)
        *ran = *cmd;
    fputs(r == 0 ? "ok\n" : "error\n", out);
    if (body_len) {
        fwrite(body, 1, body_len, out);
        if (body[body_len - 1] != '\n')
            fputc('\n', out);
    } else if (r != 0) {
        fprintf(out, "%s failed\n", words[0]);
    }
    free(body);
    return r == 0 ? 0 : -1;
}

int prh_control_dispatch(struct prh_control *ctl, const char *line, pid_t pid, uid_t uid,
                         FILE *out)
{
    return dispatch(ctl, line, pid, uid, out, NULL);
}

/* ---- the serving thread -------------------------------------------------- */

/* Read one line within the deadline; length, or -1. */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
    size_t got = 0;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, PRH_CTL_IO_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return got > 0 ? (ssize_t)got : -1; /* EOF ends an unterminated line */
        char *nl = memchr(buf + got, '\n', (size_t)n);
        got += (size_t)n;
        if (nl) {
            *nl = '\0';
            return nl - buf;
        }
        if (got == cap)
            return -2; /* too long */
    }
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, PRH_CTL_IO_TIMEOUT_MS) <= 0)
            return;
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static void serve_one(struct prh_control *ctl, int fd)
{
    struct ucred cred = { 0 };
    socklen_t clen = sizeof(cred);
    char line[PRH_CTL_LINE_MAX + 2];
    char *ans = NULL;
    size_t ans_len = 0;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        static const char msg[] = "error\npermission denied: the control socket is for root\n";
        prh_log(2, "control: refused a client with uid %ld", (long)cred.uid);
        write_all(fd, msg, sizeof(msg) - 1);
        return;
    }
    ssize_t n = read_line(fd, line, sizeof(line) - 1);
    if (n == -2) {
        char msg[96];
        int m = snprintf(msg, sizeof(msg), "error\nrequest longer than %d bytes\n",
                         PRH_CTL_LINE_MAX);
        write_all(fd, msg, (size_t)m);
        return;
    }
    if (n < 0)
        return;
    line[n] = '\0';
    FILE *mem = open_memstream(&ans, &ans_len);
    if (!mem)
        return;
    struct prh_ctl_command ran = { 0 };
    dispatch(ctl, line, cred.pid, cred.uid, mem, &ran);
    fclose(mem);
    prh_log(3, "control: pid %ld: %s", (long)cred.pid, line);
    write_all(fd, ans, ans_len);
    free(ans);
    if (ran.after) {
        shutdown(fd, SHUT_RDWR);
        ran.after(ran.opaque);
    }
}

static void *control_main(void *arg)
{
    struct prh_control *ctl = arg;

    for (;;) {
        struct pollfd p[2] = { { .fd = ctl->listen_fd, .events = POLLIN },
                               { .fd = ctl->stop_fd, .events = POLLIN } };
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            break;
        if (!p[0].revents)
            continue;
        int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue;
        serve_one(ctl, fd);
        close(fd);
    }
    return NULL;
}

int prh_control_listen(struct prh_control *ctl, const char *path, char *errmsg, size_t len)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    char tmp[sizeof(addr.sun_path)];
    struct stat sb;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        snprintf(errmsg, len, "control socket path '%s' is too long (at most %zu bytes)", path,
                 sizeof(addr.sun_path) - 1);
        return -1;
    }
    int w = snprintf(tmp, sizeof(tmp), "%s.%ld~", path, (long)getpid());
    const char *bind_path = w > 0 && (size_t)w < sizeof(tmp) ? tmp : path;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(errmsg, len, "cannot create the control socket: %s", strerror(errno));
        return -1;
    }
    strcpy(addr.sun_path, bind_path);
    unlink(bind_path);
    mode_t um = umask(0077); /* never reachable by others, not even briefly */
    int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(um);
    if (r < 0 || chmod(bind_path, 0600) < 0 || listen(fd, 16) < 0 ||
        (bind_path != path && rename(bind_path, path) < 0)) {
        snprintf(errmsg, len, "cannot listen on the control socket %s: %s", path,
                 strerror(errno));
        if (r == 0)
            unlink(bind_path);
        close(fd);
        return -1;
    }
    if (stat(path, &sb) == 0) {
        ctl->dev = sb.st_dev;
        ctl->ino = sb.st_ino;
    }
    ctl->path = strdup(path);
    ctl->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ctl->listen_fd = fd;
    if (!ctl->path || ctl->stop_fd < 0) {
        snprintf(errmsg, len, "cannot start the control socket: %s", strerror(ENOMEM));
        unlink(path);
        return -1;
    }
    return 0;
}

int prh_control_start(struct prh_control *ctl, char *errmsg, size_t len)
{
    sigset_t all, old;
    int r;

    if (ctl->listen_fd < 0 || ctl->running) {
        snprintf(errmsg, len, "the control socket is not bound, or already served");
        return -1;
    }
    /* The thread takes no signals: the event loop owns them. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = pthread_create(&ctl->thread, NULL, control_main, ctl);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        snprintf(errmsg, len, "cannot start the control thread: %s", strerror(r));
        return -1;
    }
    ctl->running = true;
    return 0;
}

bool prh_control_socket_file(const struct prh_control *ctl, const char **path, dev_t *dev,
                             ino_t *ino)
{
    if (!ctl || !ctl->path || ctl->ino == 0)
        return false;
    *path = ctl->path;
    *dev = ctl->dev;
    *ino = ctl->ino;
    return true;
}

void prh_control_free(struct prh_control *ctl)
{
    struct stat sb;

    if (!ctl)
        return;
    if (ctl->running) {
        uint64_t one = 1;
        ssize_t n = write(ctl->stop_fd, &one, sizeof(one));
        (void)n;
        pthread_join(ctl->thread, NULL);
    }
    if (ctl->path && stat(ctl->path, &sb) == 0 && sb.st_dev == ctl->dev &&
        sb.st_ino == ctl->ino)
        unlink(ctl->path);
    if (ctl->listen_fd >= 0)
        close(ctl->listen_fd);
    if (ctl->stop_fd >= 0)
        close(ctl->stop_fd);
    free(ctl->path);
    free(ctl->cmds);
    pthread_mutex_destroy(&ctl->lock);
    free(ctl);
}

/* ---- client -------------------------------------------------------------- */

int prh_control_call(const char *path, int argc, char *const *argv, bool json, char **body)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    char *req = NULL, *ans = NULL;
    size_t req_len = 0, ans_len = 0, ans_cap = 0;
    int r;

    *body = NULL;
    if (strlen(path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    FILE *mem = open_memstream(&req, &req_len);
    if (!mem)
        return -ENOMEM;
    for (int i = 0; i < argc; i++) {
        if (strpbrk(argv[i], " \t\r\n") || !argv[i][0]) {
            fclose(mem);
            free(req);
            return -EINVAL;
        }
        fprintf(mem, "%s%s", i ? " " : "", argv[i]);
    }
    fputs(json ? " --json\n" : "\n", mem);
    fclose(mem);
    if (req_len > PRH_CTL_LINE_MAX + 1) {
        free(req);
        return -E2BIG;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        free(req);
        return r;
    }
    strcpy(addr.sun_path, path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        r = -errno;
        goto out;
    }
    size_t off = 0;
    while (off < req_len) {
        ssize_t n = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out;
        }
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        if (ans_cap - ans_len < 4096) {
            char *p = realloc(ans, ans_cap + 65536);
            if (!p) {
                r = -ENOMEM;
                goto out;
            }
            ans = p;
            ans_cap += 65536;
        }
        ssize_t n = read(fd, ans + ans_len, ans_cap - ans_len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        ans_len += (size_t)n;
    }
    ans[ans_len] = '\0';
    if (strncmp(ans, "ok\n", 3) == 0)
        r = 0;
    else if (strncmp(ans, "error\n", 6) == 0)
        r = 1;
    else {
        r = -EPROTO;
        goto out;
    }
    size_t skip = r == 0 ? 3 : 6;
    memmove(ans, ans + skip, ans_len - skip + 1);
    *body = ans;
    ans = NULL;
out:
    close(fd);
    free(req);
    free(ans);
    return r;
}
