/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reqtrace.h - the per-request trace (prhelper --trace-file=PATH, and on
 * stderr at -v -v): one JSON object per line for every request, written
 * by the generic request path, so it is the same on every transport.
 *
 * Each record has: seq, time (UTC, ISO 8601 with microseconds),
 * client_id (connection number), peer_pid / peer_uid (SO_PEERCRED, null
 * if unknown), nexus (the transport's name for the I_T nexus), lun
 * (prh_lun_id_of_fd()), the decoded command (command) and parameter list
 * (params), status / status_code, decoded sense (sense, null unless
 * CHECK CONDITION), decoded PR IN data (data, null unless PR IN + GOOD),
 * generation_before / generation_after (null where the transport cannot
 * tell), disconnected (the connection was closed instead of replying),
 * duration_us, and the raw bytes as hex: cdb_hex, params_hex, sense_hex,
 * data_hex.  prhelper-replay reads the raw fields back.  The format is
 * described in docs/daemon.md, "Request trace".
 */
#ifndef PRHELPER_REQTRACE_H
#define PRHELPER_REQTRACE_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "prhelper/transport.h"
#include "prhelper/wire.h"

/* Open the trace: path (appended to; NULL: none) and/or stderr.  0, or -1 with errmsg. */
int prh_reqtrace_open(const char *path, bool to_stderr, char *errmsg, size_t len);
void prh_reqtrace_close(void);
bool prh_reqtrace_enabled(void);

/* Write one record (thread-safe; one line, flushed). */
void prh_reqtrace_emit(const struct prh_peer *peer, const char *nexus,
                       const struct prh_request *req, const struct prh_reply *reply,
                       const struct prh_exec_info *info, const struct timespec *start);

/* The record itself, without the trailing newline (tests, the replay tool). */
void prh_reqtrace_format(FILE *out, unsigned long long seq, const struct prh_peer *peer,
                         const char *nexus, const struct prh_request *req,
                         const struct prh_reply *reply, const struct prh_exec_info *info,
                         const struct timespec *start, long duration_us);

/* Decoders shared with prhelper-replay and prhelper-cli (JSON values). */
void prh_json_hex(FILE *out, const uint8_t *buf, size_t len);
void prh_json_command(FILE *out, const uint8_t *cdb);
void prh_json_params(FILE *out, const uint8_t *cdb, const uint8_t *params, size_t len);
void prh_json_sense(FILE *out, const uint8_t *sense, size_t len);
void prh_json_pr_in_data(FILE *out, unsigned sa, const uint8_t *data, size_t len);

#endif
