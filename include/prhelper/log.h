/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - messages on stderr ("prhelper: ...") and event tracing.
 *
 * Tracing takes qemu-pr-helper's -T syntax,
 * [[enable=]PATTERN][,events=FILE][,file=FILE]: PATTERN is a glob over the
 * event names below, events=FILE lists one pattern per line, file=FILE
 * sends trace lines there instead of stderr.
 */
#ifndef PRHELPER_LOG_H
#define PRHELPER_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum prh_trace_event {
    PRH_TRACE_CLIENT_ACCEPT,
    PRH_TRACE_CLIENT_CLOSE,
    PRH_TRACE_HANDSHAKE,
    PRH_TRACE_REQUEST,
    PRH_TRACE_REPLY,
    PRH_TRACE_PROTOCOL_ERROR,
    PRH_TRACE_TRANSPORT,
    PRH_TRACE_SIM_PERSIST,
    PRH_TRACE_SIGNAL,
    PRH_TRACE_NEVENTS,
};

/* 0 quiet, 1 protocol errors (default), 2 more, 3 debug. */
void prh_log_set_verbosity(int level);
int prh_log_verbosity(void);
__attribute__((format(printf, 1, 2))) void prh_error(const char *fmt, ...);
/* Printed only when verbosity >= level. */
__attribute__((format(printf, 2, 3))) void prh_log(int level, const char *fmt, ...);

/* Apply one -T argument.  0, or -1 with a message in errmsg. */
int prh_trace_configure(const char *arg, char *errmsg, size_t errmsg_len);
/* The checks qemu-pr-helper makes while it parses -T: the syntax and that
 * an events= file can be read (file= is opened later).  0 or -1. */
int prh_trace_check(const char *arg, char *errmsg, size_t errmsg_len);
const char *prh_trace_event_name(enum prh_trace_event ev);
bool prh_trace_enabled(enum prh_trace_event ev);
__attribute__((format(printf, 2, 3))) void prh_trace(enum prh_trace_event ev, const char *fmt, ...);
/* Disable every event and close a trace file. */
void prh_trace_reset(void);

#endif
