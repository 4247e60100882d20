/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon_fixture.h"

#ifndef PRH_DAEMON_BIN
#error "PRH_DAEMON_BIN comes from prh_daemon_lib"
#endif

/* The fixture's paths, each a name in its directory. */
static const struct {
    size_t offset;
    const char *name;
} dfx_paths[] = {
    { offsetof(struct dfx, sock), "prh.sock" },
    { offsetof(struct dfx, state), "state" },
    { offsetof(struct dfx, pidfile), "prh.pid" },
    { offsetof(struct dfx, log), "stderr" },
    { offsetof(struct dfx, ctl), "ctl.sock" },
    { offsetof(struct dfx, audit), "audit.jsonl" },
    { offsetof(struct dfx, trace), "trace.jsonl" },
    { offsetof(struct dfx, metrics), "prhelper.prom" },
};

int dfx_setup(void **state)
{
    struct dfx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = tu_tmpdir();
    assert_non_null(f->dir);
    for (size_t i = 0; i < sizeof(dfx_paths) / sizeof(dfx_paths[0]); i++)
        snprintf((char *)f + dfx_paths[i].offset, DFX_PATH_MAX, "%s/%s", f->dir,
                 dfx_paths[i].name);
    f->disk = tu_disk(f->dir, "disk");
    f->devfd = open(f->disk, O_RDWR | O_CLOEXEC);
    *state = f;
    return 0;
}

int dfx_teardown(void **state)
{
    struct dfx *f = *state;
    if (f->pid > 0)
        dfx_stop(f, SIGTERM);
    if (f->devfd >= 0)
        close(f->devfd);
    tu_tmpdir_free(f->dir);
    free(f->disk);
    free(f);
    return 0;
}

static void wait_path(const struct dfx *f, const char *path, long end)
{
    struct stat sb;
    while (stat(path, &sb) != 0) {
        if (tu_now_ms() >= end)
            fail_msg("prhelper did not create %s in 10 s", path);
        if (waitpid(f->pid, NULL, WNOHANG) != 0)
            fail_msg("prhelper exited before it created %s (log: %s)", path, f->log);
        tu_sleep_ms(5);
    }
}

#define DFX_MAX_ARGS 40

void dfx_start_argv(struct dfx *f, const char *const *extra)
{
    char transport[64], sockopt[300], stateopt[300], ctlopt[300], auditopt[300], traceopt[300];
    const char *argv[DFX_MAX_ARGS];
    size_t n = 0;
    snprintf(transport, sizeof(transport), "--transport=%s", f->transport ? f->transport : "sim");
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", f->sock);
    snprintf(stateopt, sizeof(stateopt), "--state-dir=%s", f->state);
    snprintf(ctlopt, sizeof(ctlopt), "--control=%s", f->ctl);
    snprintf(auditopt, sizeof(auditopt), "--audit=file:%s", f->audit);
    snprintf(traceopt, sizeof(traceopt), "--trace-file=%s", f->trace);
    argv[n++] = PRH_DAEMON_BIN;
    argv[n++] = transport;
    if (f->verbose)
        argv[n++] = "-v";
    argv[n++] = sockopt;
    argv[n++] = stateopt;
    if (f->with_ctl)
        argv[n++] = ctlopt;
    if (f->with_audit)
        argv[n++] = auditopt;
    if (f->with_trace)
        argv[n++] = traceopt;
    for (; extra && *extra; extra++) {
        assert_true(n + 1 < DFX_MAX_ARGS);
        argv[n++] = *extra;
    }
    argv[n] = NULL;
    unlink(f->sock); /* a socket left by a killed daemon must not pass for the new one */
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    long end = tu_now_ms() + 10000;
    wait_path(f, f->sock, end);
    /* Control sockets come after the main one: wait for them too. */
    for (size_t i = 1; i < n; i++)
        if (strncmp(argv[i], "--control=", 10) == 0)
            wait_path(f, argv[i] + 10, end);
}

void dfx_start(struct dfx *f, ...)
{
    const char *extra[DFX_MAX_ARGS];
    size_t n = 0;
    va_list ap;
    va_start(ap, f);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(n + 1 < DFX_MAX_ARGS);
        extra[n++] = a;
    }
    va_end(ap);
    extra[n] = NULL;
    dfx_start_argv(f, extra);
}

void dfx_wait_connectable(struct dfx *f)
{
    long end = tu_now_ms() + 10000;
    for (;;) {
        int a = tu_connect(f->sock, NULL), b = f->with_ctl ? tu_connect(f->ctl, NULL) : 0;
        if (a >= 0)
            close(a);
        if (b > 0)
            close(b);
        if (a >= 0 && b >= 0)
            return;
        assert_true(tu_now_ms() < end);
        tu_sleep_ms(10);
    }
}

int dfx_stop(struct dfx *f, int sig)
{
    kill(f->pid, sig);
    int r = tu_wait_exit(f->pid, 10000);
    f->pid = 0;
    return r;
}

void dfx_read_log(const struct dfx *f, char *buf, size_t len)
{
    int fd = open(f->log, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
}

char *dfx_slurp(const char *path)
{
    FILE *fp = fopen(path, "re");
    size_t cap = 4096, got = 0;
    char *buf = malloc(cap);
    if (!fp) {
        if (buf)
            buf[0] = '\0';
        return buf;
    }
    for (size_t n; buf && (n = fread(buf + got, 1, cap - 1 - got, fp)) > 0;) {
        got += n;
        if (got + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(fp);
    if (buf)
        buf[got] = '\0';
    return buf;
}

int dfx_run(char *out, size_t outlen, const char *const *argv, int timeout_ms)
{
    int p[2];
    char sink[4096];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    struct pollfd pf = { .fd = p[0], .events = POLLIN };
    long end = tu_now_ms() + timeout_ms;
    while (tu_now_ms() < end && poll(&pf, 1, 100) >= 0) {
        if (!pf.revents)
            continue;
        ssize_t n;
        if (out && got + 1 < outlen)
            n = read(p[0], out + got, outlen - 1 - got);
        else
            n = read(p[0], sink, sizeof(sink));
        if (n <= 0)
            break;
        if (out && got + 1 < outlen)
            got += (size_t)n;
    }
    if (out && outlen)
        out[got] = '\0';
    close(p[0]);
    long left = end - tu_now_ms();
    return tu_wait_exit(pid, left > 1000 ? (int)left : 1000);
}

int dfx_notify_open(const struct dfx *f)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char path[sizeof(a.sun_path)];
    if ((size_t)snprintf(path, sizeof(path), "%s/notify", f->dir) >= sizeof(path))
        fail_msg("%s/notify is too long for a socket address", f->dir);
    memcpy(a.sun_path, path, strlen(path) + 1);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    setenv("NOTIFY_SOCKET", path, 1);
    return s;
}

void dfx_notify_read(int s, char *buf, size_t len)
{
    struct pollfd pf = { .fd = s, .events = POLLIN };
    buf[0] = '\0';
    if (poll(&pf, 1, 10000) == 1) {
        ssize_t n = recv(s, buf, len - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
    }
}

int dfx_wait_fd_count(pid_t pid, int n)
{
    int c = -1;
    long end = tu_now_ms() + 10000;
    while (tu_now_ms() < end) {
        c = tu_fd_count(pid);
        if (c == n)
            return c;
        tu_sleep_ms(10);
    }
    return c;
}
