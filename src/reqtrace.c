/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reqtrace.c - one JSON object per request (reqtrace.h). */
#include "prhelper/reqtrace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prhelper/control.h"
#include "prhelper/scsi.h"
#include "prhelper/transport_id.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *trace_file;
static bool trace_stderr;
static atomic_bool trace_on;
static atomic_ullong trace_seq;

int prh_reqtrace_open(const char *path, bool to_stderr, char *errmsg, size_t len)
{
    FILE *f = NULL;

    if (path) {
        /* 0600: records carry reservation keys, which act as passwords. */
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        f = fd >= 0 ? fdopen(fd, "a") : NULL;
        if (!f && fd >= 0)
            close(fd);
        if (!f) {
            snprintf(errmsg, len, "cannot open the trace file '%s': %s", path, strerror(errno));
            return -1;
        }
    }
    pthread_mutex_lock(&lock);
    if (trace_file)
        fclose(trace_file);
    trace_file = f;
    trace_stderr = to_stderr;
    atomic_store(&trace_on, f != NULL || to_stderr);
    pthread_mutex_unlock(&lock);
    return 0;
}

void prh_reqtrace_close(void)
{
    pthread_mutex_lock(&lock);
    if (trace_file)
        fclose(trace_file);
    trace_file = NULL;
    trace_stderr = false;
    atomic_store(&trace_on, false);
    pthread_mutex_unlock(&lock);
}

bool prh_reqtrace_enabled(void)
{
    return atomic_load(&trace_on);
}

/* ---- decoders -------------------------------------------------------------- */

void prh_json_hex(FILE *out, const uint8_t *buf, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%02x", buf[i]);
    fputc('"', out);
}

static void json_key(FILE *out, uint64_t key)
{
    fprintf(out, "\"0x%" PRIx64 "\"", key);
}

static void json_type(FILE *out, unsigned type)
{
    fprintf(out, "\"type\":%u,\"type_name\":", type);
    prh_json_string(out, pr_type_name(type));
}

void prh_json_command(FILE *out, const uint8_t *cdb)
{
    unsigned sa = cdb[1] & 0x1f;

    if (cdb[0] == SCSI_OP_PERSISTENT_RESERVE_IN) {
        fputs("{\"op\":\"PERSISTENT RESERVE IN\",\"service_action\":", out);
        prh_json_string(out, pr_in_sa_name(sa));
        fprintf(out, ",\"sa\":%u,\"allocation_length\":%u}", sa, scsi_get_be16(cdb + 7));
    } else if (cdb[0] == SCSI_OP_PERSISTENT_RESERVE_OUT) {
        fputs("{\"op\":\"PERSISTENT RESERVE OUT\",\"service_action\":", out);
        prh_json_string(out, pr_out_sa_name(sa));
        fprintf(out, ",\"sa\":%u,\"scope\":%u,", sa, cdb[2] >> 4);
        json_type(out, cdb[2] & 0x0f);
        fprintf(out, ",\"parameter_list_length\":%u}", scsi_get_be32(cdb + 5));
    } else {
        fprintf(out, "{\"op\":\"0x%02x\"}", cdb[0]);
    }
}

static void json_tid(FILE *out, const uint8_t *buf, size_t avail, size_t *used)
{
    struct pr_tid tid;
    char name[PR_TID_MAX_LEN + 32];

    *used = 0;
    if (pr_tid_parse(buf, avail, &tid, used) == 0) {
        pr_tid_to_string(&tid, name, sizeof(name));
        prh_json_string(out, name);
    } else {
        fputs("null", out);
    }
}

void prh_json_params(FILE *out, const uint8_t *cdb, const uint8_t *p, size_t len)
{
    unsigned sa = cdb[1] & 0x1f;

    if (cdb[0] != SCSI_OP_PERSISTENT_RESERVE_OUT || !p || len < 24) {
        fputs("null", out);
        return;
    }
    fputs("{\"reservation_key\":", out);
    json_key(out, scsi_get_be64(p));
    fputs(",\"service_action_key\":", out);
    json_key(out, scsi_get_be64(p + 8));
    if (sa == PR_OUT_REGISTER_AND_MOVE) {
        fprintf(out, ",\"unreg\":%s,\"aptpl\":%s,\"rtpi\":%u,\"transport_id\":",
                p[17] & PR_MOVE_FLAG_UNREG ? "true" : "false", p[17] & 1 ? "true" : "false",
                scsi_get_be16(p + 18));
        uint32_t tl = scsi_get_be32(p + 20);
        size_t used;
        json_tid(out, p + 24, tl < len - 24 ? tl : len - 24, &used);
        fputc('}', out);
        return;
    }
    fprintf(out, ",\"spec_i_pt\":%s,\"all_tg_pt\":%s,\"aptpl\":%s",
            p[20] & PR_OUT_FLAG_SPEC_I_PT ? "true" : "false",
            p[20] & PR_OUT_FLAG_ALL_TG_PT ? "true" : "false",
            p[20] & PR_OUT_FLAG_APTPL ? "true" : "false");
    if ((p[20] & PR_OUT_FLAG_SPEC_I_PT) && len >= 28) {
        uint32_t tl = scsi_get_be32(p + 24);
        size_t off = 28, end = 28 + (size_t)tl < len ? 28 + (size_t)tl : len;
        fputs(",\"transport_ids\":[", out);
        for (unsigned n = 0; off < end; n++) {
            size_t used;
            if (n)
                fputc(',', out);
            json_tid(out, p + off, end - off, &used);
            if (!used)
                break;
            off += used;
        }
        fputc(']', out);
    }
    fputc('}', out);
}

void prh_json_sense(FILE *out, const uint8_t *sense, size_t len)
{
    struct scsi_sense s;
    char text[160];

    if (!scsi_sense_decode(sense, len, &s)) {
        fputs("null", out);
        return;
    }
    fprintf(out, "{\"key\":%u,\"key_name\":", s.key);
    prh_json_string(out, scsi_sense_key_name(s.key));
    fprintf(out, ",\"asc\":%u,\"ascq\":%u,\"text\":", s.asc, s.ascq);
    prh_json_string(out, scsi_sense_to_string(s, text, sizeof(text)));
    fputc('}', out);
}

static void data_read_keys(FILE *out, const uint8_t *d, size_t len)
{
    uint32_t add = scsi_get_be32(d + 4);
    size_t n = (len - 8) / 8;

    if (n > add / 8)
        n = add / 8;
    fprintf(out, ",\"additional_length\":%" PRIu32 ",\"keys\":[", add);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', out);
        json_key(out, scsi_get_be64(d + 8 + 8 * i));
    }
    fputc(']', out);
}

static void data_read_reservation(FILE *out, const uint8_t *d, size_t len)
{
    uint32_t add = scsi_get_be32(d + 4);
    bool held = add >= 16 && len >= 24;

    fprintf(out, ",\"reserved\":%s", held ? "true" : "false");
    if (held) {
        fputs(",\"key\":", out);
        json_key(out, scsi_get_be64(d + 8));
        fprintf(out, ",\"scope\":%u,", d[21] >> 4);
        json_type(out, d[21] & 0x0f);
    }
}

static void data_capabilities(FILE *out, const uint8_t *d, size_t len)
{
    if (len < 6)
        return;
    fprintf(out,
            ",\"crh\":%s,\"sip_c\":%s,\"atp_c\":%s,\"ptpl_c\":%s,\"tmv\":%s,"
            "\"allow_commands\":%u,\"ptpl_a\":%s,\"type_mask\":%u",
            d[2] & PR_CAP_CRH ? "true" : "false", d[2] & PR_CAP_SIP_C ? "true" : "false",
            d[2] & PR_CAP_ATP_C ? "true" : "false", d[2] & PR_CAP_PTPL_C ? "true" : "false",
            d[3] & PR_CAP_TMV ? "true" : "false", (d[3] >> 4) & 7,
            d[3] & PR_CAP_PTPL_A ? "true" : "false", scsi_get_be16(d + 4));
}

static void data_full_status(FILE *out, const uint8_t *d, size_t len)
{
    uint32_t add = scsi_get_be32(d + 4);
    size_t end = 8 + (size_t)add < len ? 8 + (size_t)add : len, off = 8;

    fputs(",\"registrations\":[", out);
    for (unsigned n = 0; off + 24 <= end; n++) {
        const uint8_t *r = d + off;
        uint32_t tl = scsi_get_be32(r + 20);
        size_t used;
        fprintf(out, "%s{\"key\":", n ? "," : "");
        json_key(out, scsi_get_be64(r));
        fprintf(out, ",\"holder\":%s,\"all_tg_pt\":%s,\"scope\":%u,\"type\":%u,\"rtpi\":%u,"
                     "\"transport_id\":",
                r[12] & PR_FULL_STATUS_R_HOLDER ? "true" : "false",
                r[12] & PR_FULL_STATUS_ALL_TG_PT ? "true" : "false", r[13] >> 4, r[13] & 0xf,
                scsi_get_be16(r + 18));
        json_tid(out, r + 24, tl < end - off - 24 ? tl : end - off - 24, &used);
        fputc('}', out);
        off += 24 + (size_t)tl;
    }
    fputc(']', out);
}

void prh_json_pr_in_data(FILE *out, unsigned sa, const uint8_t *d, size_t len)
{
    if (sa == PR_IN_REPORT_CAPABILITIES) {
        if (len < 2) {
            fputs("null", out);
            return;
        }
        fprintf(out, "{\"length\":%u", scsi_get_be16(d));
        data_capabilities(out, d, len);
        fputc('}', out);
        return;
    }
    if (len < 8) {
        fputs("null", out);
        return;
    }
    fprintf(out, "{\"generation\":%" PRIu32, scsi_get_be32(d));
    if (sa == PR_IN_READ_KEYS)
        data_read_keys(out, d, len);
    else if (sa == PR_IN_READ_RESERVATION)
        data_read_reservation(out, d, len);
    else if (sa == PR_IN_READ_FULL_STATUS)
        data_full_status(out, d, len);
    fputc('}', out);
}

/* ---- records --------------------------------------------------------------- */

void prh_reqtrace_format(FILE *out, unsigned long long seq, const struct prh_peer *peer,
                         const char *nexus, const struct prh_request *req,
                         const struct prh_reply *reply, const struct prh_exec_info *info,
                         const struct timespec *start, long duration_us)
{
    struct tm tm;
    char when[32];
    bool pr_out = req->cdb[0] == SCSI_OP_PERSISTENT_RESERVE_OUT;
    size_t plen = pr_out && req->params ? req->xfer_len : 0;
    size_t sense_len = 0;

    gmtime_r(&start->tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(out, "{\"seq\":%llu,\"time\":\"%s.%06ldZ\",\"client_id\":%llu,", seq, when,
            start->tv_nsec / 1000, (unsigned long long)peer->serial);
    if (peer->has_cred)
        fprintf(out, "\"peer_pid\":%ld,\"peer_uid\":%ld,", (long)peer->pid, (long)peer->uid);
    else
        fputs("\"peer_pid\":null,\"peer_uid\":null,", out);
    fputs("\"nexus\":", out);
    prh_json_string(out, nexus ? nexus : "");
    fputs(",\"lun\":", out);
    prh_json_string(out, info ? info->lun : "");
    fputs(",\"command\":", out);
    prh_json_command(out, req->cdb);
    fputs(",\"params\":", out);
    prh_json_params(out, req->cdb, req->params, plen);
    bool disc = info && info->disconnect;
    fputs(",\"status\":", out);
    prh_json_string(out, disc ? "(no reply)" : scsi_status_name(reply->status));
    fprintf(out, ",\"status_code\":%d,\"sense\":", disc ? -1 : reply->status);
    if (!disc && reply->status == SCSI_STATUS_CHECK_CONDITION) {
        prh_json_sense(out, reply->sense, sizeof(reply->sense));
        sense_len = 8u + reply->sense[7]; /* fixed and descriptor format alike */
        if (sense_len > sizeof(reply->sense))
            sense_len = sizeof(reply->sense);
    } else {
        fputs("null", out);
    }
    fputs(",\"data\":", out);
    if (!disc && !pr_out && reply->status == SCSI_STATUS_GOOD)
        prh_json_pr_in_data(out, req->cdb[1] & 0x1f, reply->data, reply->data_len);
    else
        fputs("null", out);
    if (info && info->gen_known_before)
        fprintf(out, ",\"generation_before\":%" PRIu32, info->gen_before);
    else
        fputs(",\"generation_before\":null", out);
    if (info && info->gen_known_after)
        fprintf(out, ",\"generation_after\":%" PRIu32, info->gen_after);
    else
        fputs(",\"generation_after\":null", out);
    fprintf(out, ",\"disconnected\":%s,\"duration_us\":%ld,\"cdb_hex\":", disc ? "true" : "false",
            duration_us);
    prh_json_hex(out, req->cdb, 10);
    fputs(",\"params_hex\":", out);
    prh_json_hex(out, req->params, plen);
    fputs(",\"sense_hex\":", out);
    prh_json_hex(out, reply->sense, sense_len);
    fputs(",\"data_hex\":", out);
    prh_json_hex(out, reply->data, disc || pr_out ? 0 : reply->data_len);
    fputc('}', out);
}

void prh_reqtrace_emit(const struct prh_peer *peer, const char *nexus,
                       const struct prh_request *req, const struct prh_reply *reply,
                       const struct prh_exec_info *info, const struct timespec *start)
{
    struct timespec end;
    char *line = NULL;
    size_t len = 0;

    if (!prh_reqtrace_enabled())
        return;
    clock_gettime(CLOCK_REALTIME, &end);
    long us = (long)(end.tv_sec - start->tv_sec) * 1000000L +
              (end.tv_nsec - start->tv_nsec) / 1000L;
    FILE *mem = open_memstream(&line, &len);
    if (!mem)
        return;
    unsigned long long seq = atomic_fetch_add(&trace_seq, 1) + 1;
    prh_reqtrace_format(mem, seq, peer, nexus, req, reply, info, start, us < 0 ? 0 : us);
    fputc('\n', mem);
    fclose(mem);
    pthread_mutex_lock(&lock);
    if (trace_file) {
        fwrite(line, 1, len, trace_file);
        fflush(trace_file);
    }
    if (trace_stderr) {
        fwrite(line, 1, len, stderr);
        fflush(stderr);
    }
    pthread_mutex_unlock(&lock);
    free(line);
}
