/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - stderr messages and -T event tracing. */
#include "prhelper/log.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prhelper/cli.h"

static int verbosity = 1;
static bool enabled[PRH_TRACE_NEVENTS];
static FILE *trace_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const event_names[PRH_TRACE_NEVENTS] = {
    [PRH_TRACE_CLIENT_ACCEPT] = "prh_client_accept",
    [PRH_TRACE_CLIENT_CLOSE] = "prh_client_close",
    [PRH_TRACE_HANDSHAKE] = "prh_handshake",
    [PRH_TRACE_REQUEST] = "prh_request",
    [PRH_TRACE_REPLY] = "prh_reply",
    [PRH_TRACE_PROTOCOL_ERROR] = "prh_protocol_error",
    [PRH_TRACE_TRANSPORT] = "prh_transport",
    [PRH_TRACE_SIM_PERSIST] = "prh_sim_persist",
    [PRH_TRACE_SIGNAL] = "prh_signal",
};

void prh_log_set_verbosity(int level)
{
    verbosity = level;
}

int prh_log_verbosity(void)
{
    return verbosity;
}

static void vmessage(const char *fmt, va_list ap)
{
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s: ", prh_progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

void prh_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
}

void prh_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (verbosity < level)
        return;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
}

const char *prh_trace_event_name(enum prh_trace_event ev)
{
    return (unsigned)ev < PRH_TRACE_NEVENTS ? event_names[ev] : "?";
}

bool prh_trace_enabled(enum prh_trace_event ev)
{
    return (unsigned)ev < PRH_TRACE_NEVENTS && enabled[ev];
}

static void enable_pattern(const char *pattern)
{
    bool negate = pattern[0] == '-';

    if (negate)
        pattern++;
    for (unsigned i = 0; i < PRH_TRACE_NEVENTS; i++)
        if (fnmatch(pattern, event_names[i], 0) == 0)
            enabled[i] = !negate;
}

/* apply false: only check that the file can be read. */
static int load_events_file(const char *path, bool apply, char *errmsg, size_t len)
{
    FILE *f = fopen(path, "r");
    char line[256];

    if (!f) {
        snprintf(errmsg, len, "cannot open trace events file '%s': %s", path, strerror(errno));
        return -1;
    }
    while (apply && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        enable_pattern(line);
    }
    fclose(f);
    return 0;
}

/* One -T argument; apply false: check its syntax and events file only. */
static int trace_option(const char *arg, bool apply, char *errmsg, size_t len)
{
    char buf[1024];
    char *save = NULL;

    if (strlen(arg) >= sizeof(buf)) {
        snprintf(errmsg, len, "trace option too long");
        return -1;
    }
    strcpy(buf, arg);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strncmp(tok, "enable=", 7) == 0) {
            if (apply)
                enable_pattern(tok + 7);
        } else if (strncmp(tok, "events=", 7) == 0) {
            if (load_events_file(tok + 7, apply, errmsg, len) < 0)
                return -1;
        } else if (strncmp(tok, "file=", 5) == 0) {
            if (!apply)
                continue;
            FILE *f = fopen(tok + 5, "a");
            if (!f) {
                snprintf(errmsg, len, "cannot open trace file '%s': %s", tok + 5,
                         strerror(errno));
                return -1;
            }
            setvbuf(f, NULL, _IOLBF, 0);
            if (trace_file)
                fclose(trace_file);
            trace_file = f;
        } else if (strchr(tok, '=')) {
            snprintf(errmsg, len, "Invalid parameter '%.*s' in trace option",
                     (int)(strchr(tok, '=') - tok), tok);
            return -1;
        } else if (apply) {
            enable_pattern(tok);
        }
    }
    return 0;
}

int prh_trace_configure(const char *arg, char *errmsg, size_t len)
{
    return trace_option(arg, true, errmsg, len);
}

int prh_trace_check(const char *arg, char *errmsg, size_t len)
{
    return trace_option(arg, false, errmsg, len);
}

void prh_trace_reset(void)
{
    memset(enabled, 0, sizeof(enabled));
    if (trace_file) {
        fclose(trace_file);
        trace_file = NULL;
    }
}

void prh_trace(enum prh_trace_event ev, const char *fmt, ...)
{
    struct timespec ts;
    va_list ap;

    if (!prh_trace_enabled(ev))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&log_lock);
    FILE *out = trace_file ? trace_file : stderr;
    fprintf(out, "%lld.%06ld %s ", (long long)ts.tv_sec, ts.tv_nsec / 1000,
            event_names[ev]);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
}
