// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench.c - options, workload mixes, statistics and /proc samples of
 * prhelper-bench (include/prhelper/bench.h).
 */
#include "prhelper/bench.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prhelper/scsi.h"

void prh_bench_opts_init(struct prh_bench_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = PRH_BENCH_HELPER;
    o->mix = PRH_MIX_READ_KEYS;
    o->socket = "/var/run/qemu-pr-helper.sock";
    o->label = NULL;
    o->clients = 1;
    o->requests = 1000;
    o->warmup = 10;
}

void prh_bench_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [OPTIONS] DEVICE\n"
            "       %s --echo-server -k SOCKET\n"
            "Drive a qemu-pr-helper compatible socket with concurrent clients and report\n"
            "latency percentiles, throughput and the helper's memory and fds.\n"
            "\n"
            "  -k, --socket=PATH     helper socket (default /var/run/qemu-pr-helper.sock)\n"
            "  -c, --clients=N       concurrent clients, one connection each (default 1, max %u)\n"
            "  -n, --requests=M      measured requests per client (default 1000)\n"
            "  -w, --warmup=W        unmeasured requests per client first (default 10)\n"
            "  -m, --mix=MIX         read-keys (default), read-reservation,\n"
            "                        register-read-keys, reserve-release\n"
            "      --raw             issue the same CDBs by SG_IO on DEVICE, no helper\n"
            "      --floor           against a forked minimal echo server with fd passing\n"
            "      --echo-server     only run that echo server on -k, in the foreground\n"
            "  -p, --pid=PID         helper pid for /proc samples (default: the socket's peer)\n"
            "      --key-per-client  each client registers its own key (default: one key for\n"
            "                        all, as all connections of a host are one I_T nexus)\n"
            "  -l, --label=TEXT      name of the run in the TSV row (default: the mode)\n"
            "      --tsv             print a TSV header and one row instead of the report\n"
            "  -h, --help            this text\n"
            "\n"
            "DEVICE is opened read-write and its fd rides on every request.  Exit status:\n"
            "0 all requests answered, 1 I/O errors or unexpected CHECK CONDITIONs, 2 usage.\n",
            prog, prog, PRH_BENCH_MAX_CLIENTS);
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

enum { OPT_RAW = 256, OPT_FLOOR, OPT_ECHO, OPT_TSV, OPT_KEY_PER_CLIENT };

int prh_bench_parse_args(int argc, char **argv, struct prh_bench_opts *o, char *err, size_t errlen)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 'k' },
        { "clients", required_argument, NULL, 'c' },
        { "requests", required_argument, NULL, 'n' },
        { "warmup", required_argument, NULL, 'w' },
        { "mix", required_argument, NULL, 'm' },
        { "raw", no_argument, NULL, OPT_RAW },
        { "floor", no_argument, NULL, OPT_FLOOR },
        { "echo-server", no_argument, NULL, OPT_ECHO },
        { "pid", required_argument, NULL, 'p' },
        { "label", required_argument, NULL, 'l' },
        { "tsv", no_argument, NULL, OPT_TSV },
        { "key-per-client", no_argument, NULL, OPT_KEY_PER_CLIENT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    unsigned modes = 0, v;
    int c;

    prh_bench_opts_init(o);
    err[0] = '\0';
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:c:n:w:m:p:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->socket = optarg;
            break;
        case 'c':
            if (parse_uint(optarg, 1, PRH_BENCH_MAX_CLIENTS, &o->clients)) {
                snprintf(err, errlen, "--clients must be 1..%u, not '%s'", PRH_BENCH_MAX_CLIENTS,
                         optarg);
                return -1;
            }
            break;
        case 'n':
            if (parse_uint(optarg, 1, PRH_BENCH_MAX_REQUESTS, &o->requests)) {
                snprintf(err, errlen, "--requests must be 1..%u, not '%s'",
                         PRH_BENCH_MAX_REQUESTS, optarg);
                return -1;
            }
            break;
        case 'w':
            if (parse_uint(optarg, 0, PRH_BENCH_MAX_REQUESTS, &o->warmup)) {
                snprintf(err, errlen, "--warmup must be 0..%u, not '%s'", PRH_BENCH_MAX_REQUESTS,
                         optarg);
                return -1;
            }
            break;
        case 'm':
            if (!prh_bench_mix_parse(optarg, &o->mix)) {
                snprintf(err, errlen,
                         "unknown mix '%s' (read-keys, read-reservation, register-read-keys, "
                         "reserve-release)",
                         optarg);
                return -1;
            }
            break;
        case OPT_RAW:
            o->mode = PRH_BENCH_RAW;
            modes++;
            break;
        case OPT_FLOOR:
            o->mode = PRH_BENCH_FLOOR;
            modes++;
            break;
        case OPT_ECHO:
            o->mode = PRH_BENCH_ECHO_SERVER;
            modes++;
            break;
        case 'p':
            if (parse_uint(optarg, 1, INT_MAX, &v)) {
                snprintf(err, errlen, "--pid must be a process id, not '%s'", optarg);
                return -1;
            }
            o->pid = (pid_t)v;
            break;
        case 'l':
            o->label = optarg;
            break;
        case OPT_TSV:
            o->tsv = true;
            break;
        case OPT_KEY_PER_CLIENT:
            o->key_per_client = true;
            break;
        case 'h':
            o->help = true;
            return 0;
        case ':':
            snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return -1;
        default:
            snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    if (modes > 1) {
        snprintf(err, errlen, "--raw, --floor and --echo-server exclude each other");
        return -1;
    }
    if (o->mode == PRH_BENCH_ECHO_SERVER) {
        if (optind != argc) {
            snprintf(err, errlen, "--echo-server takes no DEVICE");
            return -1;
        }
        return 0;
    }
    if (optind + 1 != argc) {
        snprintf(err, errlen, optind == argc ? "a DEVICE is required" : "only one DEVICE");
        return -1;
    }
    o->device = argv[optind];
    if (!o->label)
        o->label = prh_bench_mode_name(o->mode);
    return 0;
}

static const char *const mix_names[] = {
    [PRH_MIX_READ_KEYS] = "read-keys",
    [PRH_MIX_READ_RESERVATION] = "read-reservation",
    [PRH_MIX_REGISTER_READ_KEYS] = "register-read-keys",
    [PRH_MIX_RESERVE_RELEASE] = "reserve-release",
};

bool prh_bench_mix_parse(const char *name, enum prh_bench_mix *out)
{
    for (size_t i = 0; i < sizeof(mix_names) / sizeof(mix_names[0]); i++) {
        if (strcmp(name, mix_names[i]) == 0) {
            *out = (enum prh_bench_mix)i;
            return true;
        }
    }
    return false;
}

const char *prh_bench_mix_name(enum prh_bench_mix mix)
{
    return (unsigned)mix < sizeof(mix_names) / sizeof(mix_names[0]) ? mix_names[mix] : "?";
}

const char *prh_bench_mode_name(enum prh_bench_mode mode)
{
    switch (mode) {
    case PRH_BENCH_HELPER: return "helper";
    case PRH_BENCH_RAW: return "raw";
    case PRH_BENCH_FLOOR: return "floor";
    case PRH_BENCH_ECHO_SERVER: return "echo-server";
    }
    return "?";
}

uint64_t prh_bench_key(const struct prh_bench_opts *o, unsigned client)
{
    return PRH_BENCH_KEY_BASE + (o->key_per_client ? client : 0) + 1;
}

static void pr_in(struct prh_bench_cmd *cmd, uint8_t sa)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->cdb[0] = SCSI_OP_PERSISTENT_RESERVE_IN;
    cmd->cdb[1] = sa;
    scsi_put_be16(&cmd->cdb[7], PRH_BENCH_ALLOC_LEN);
}

static void pr_out(struct prh_bench_cmd *cmd, uint8_t sa, uint8_t type, uint64_t key, uint64_t sark)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->cdb[0] = SCSI_OP_PERSISTENT_RESERVE_OUT;
    cmd->cdb[1] = sa;
    cmd->cdb[2] = (uint8_t)(PR_SCOPE_LU << 4 | type);
    scsi_put_be16(&cmd->cdb[7], PRH_BENCH_PARAM_LEN);
    scsi_put_be64(&cmd->params[0], key);
    scsi_put_be64(&cmd->params[8], sark);
    cmd->params_len = PRH_BENCH_PARAM_LEN;
}

void prh_bench_cmd_step(enum prh_bench_mix mix, uint64_t key, unsigned step,
                        struct prh_bench_cmd *cmd)
{
    switch (mix) {
    case PRH_MIX_READ_RESERVATION:
        pr_in(cmd, PR_IN_READ_RESERVATION);
        return;
    case PRH_MIX_REGISTER_READ_KEYS:
        if (step % 2)
            pr_in(cmd, PR_IN_READ_KEYS);
        else /* alternate two keys so every REGISTER changes something */
            pr_out(cmd, PR_OUT_REGISTER_AND_IGNORE, 0, 0, key ^ ((uint64_t)(step / 2 % 2) << 32));
        return;
    case PRH_MIX_RESERVE_RELEASE:
        pr_out(cmd, step % 2 ? PR_OUT_RELEASE : PR_OUT_RESERVE, PR_TYPE_WE, key, 0);
        return;
    case PRH_MIX_READ_KEYS:
    default:
        pr_in(cmd, PR_IN_READ_KEYS);
        return;
    }
}

void prh_bench_cmd_prologue(enum prh_bench_mix mix, uint64_t key, struct prh_bench_cmd *cmds,
                            size_t *count)
{
    *count = 0;
    if (mix == PRH_MIX_RESERVE_RELEASE)
        pr_out(&cmds[(*count)++], PR_OUT_REGISTER_AND_IGNORE, 0, 0, key);
}

void prh_bench_cmd_epilogue(enum prh_bench_mix mix, uint64_t key, struct prh_bench_cmd *cmds,
                            size_t *count)
{
    *count = 0;
    if (mix == PRH_MIX_RESERVE_RELEASE)
        pr_out(&cmds[(*count)++], PR_OUT_RELEASE, PR_TYPE_WE, key, 0);
    if (mix == PRH_MIX_RESERVE_RELEASE || mix == PRH_MIX_REGISTER_READ_KEYS)
        pr_out(&cmds[(*count)++], PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t prh_bench_percentile(const uint64_t *sorted, size_t n, double p)
{
    double rank;
    size_t i;

    if (n == 0)
        return 0;
    rank = ceil(p / 100.0 * (double)n);
    i = rank < 1.0 ? 0 : (size_t)rank - 1;
    return sorted[i < n ? i : n - 1];
}

void prh_bench_span_add(struct prh_bench_span *s, uint64_t start_ns, uint64_t end_ns)
{
    if (s->start_ns == 0 || start_ns < s->start_ns)
        s->start_ns = start_ns;
    if (end_ns > s->end_ns)
        s->end_ns = end_ns;
}

double prh_bench_span_seconds(const struct prh_bench_span *s)
{
    if (s->start_ns == 0 || s->end_ns <= s->start_ns)
        return 0.0;
    return (double)(s->end_ns - s->start_ns) / 1e9;
}

void prh_bench_stats_compute(uint64_t *lat, size_t n, struct prh_bench_stats *out)
{
    double sum = 0;

    memset(out, 0, sizeof(*out));
    out->n = n;
    if (n == 0)
        return;
    qsort(lat, n, sizeof(*lat), cmp_u64);
    for (size_t i = 0; i < n; i++)
        sum += (double)lat[i];
    out->min = lat[0];
    out->max = lat[n - 1];
    out->p50 = prh_bench_percentile(lat, n, 50);
    out->p90 = prh_bench_percentile(lat, n, 90);
    out->p99 = prh_bench_percentile(lat, n, 99);
    out->mean = sum / (double)n;
}

void prh_bench_count(struct prh_bench_counts *c, uint8_t status, unsigned sense_key)
{
    switch (status) {
    case SCSI_STATUS_GOOD:
        c->good++;
        break;
    case SCSI_STATUS_RESERVATION_CONFLICT:
        c->conflict++;
        break;
    case SCSI_STATUS_CHECK_CONDITION:
        if (sense_key == SCSI_SENSE_UNIT_ATTENTION)
            c->unit_attention++;
        else
            c->check++;
        break;
    default:
        c->other++;
        break;
    }
}

long prh_bench_status_field(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *p = text;

    while (p && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            char *end;
            long v;
            errno = 0;
            v = strtol(p + klen + 1, &end, 10);
            if (errno || end == p + klen + 1 || v < 0)
                return -1;
            return v;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

void prh_bench_proc_sample(pid_t pid, struct prh_bench_proc *out)
{
    char path[64], buf[4096];
    FILE *f;
    DIR *d;
    size_t n;

    out->rss_kib = out->fds = out->threads = -1;
    if (pid <= 0)
        return;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (f) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        out->rss_kib = prh_bench_status_field(buf, "VmRSS");
        out->threads = prh_bench_status_field(buf, "Threads");
    }
    /* Exact where readable (Linux 4.14+): see bench.h. */
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    f = fopen(path, "re");
    if (f) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        long rss = prh_bench_status_field(buf, "Rss");
        if (rss >= 0)
            out->rss_kib = rss;
    }
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (d) {
        struct dirent *e;
        out->fds = 0;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                out->fds++;
        closedir(d);
    }
}

long long prh_bench_stat_cpu_ticks(const char *line)
{
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses,
     * so fields are counted from the last ')'; utime and stime are fields
     * 14 and 15 (proc(5)), the 12th and 13th after it. */
    const char *p = strrchr(line, ')');
    long long v[2];

    if (!p)
        return -1;
    p++;
    for (int field = 3, k = 0; field <= 15; field++) {
        char *end;
        while (*p == ' ')
            p++;
        if (!*p)
            return -1;
        if (field >= 14) {
            errno = 0;
            v[k++] = strtoll(p, &end, 10);
            if (errno || end == p)
                return -1;
            p = end;
        } else {
            p = strchr(p, ' ');
            if (!p)
                return -1;
        }
    }
    return v[0] + v[1];
}

bool prh_bench_sys_ticks(const char *text, long long *busy, long long *total)
{
    const char *p = text;

    while (p && strncmp(p, "cpu ", 4) != 0) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p)
        return false;
    p += 4;
    /* user nice system idle iowait irq softirq steal (guest time is in user) */
    long long v[8] = { 0 };
    for (int i = 0; i < 8; i++) {
        char *end;
        v[i] = strtoll(p, &end, 10);
        if (end == p)
            break;
        p = end;
    }
    *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    *busy = *total - v[3] - v[4];
    return *total > 0;
}

static size_t read_text(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, len - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return n;
}

void prh_bench_cpu_sample(pid_t pid, struct prh_bench_cpu *out)
{
    char path[300], buf[4096];

    out->helper_ticks = out->helper_cs = out->helper_ics = -1;
    out->sys_busy = out->sys_total = 0;
    if (read_text("/proc/stat", buf, sizeof(buf)))
        prh_bench_sys_ticks(buf, &out->sys_busy, &out->sys_total);
    if (pid <= 0)
        return;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_text(path, buf, sizeof(buf)))
        out->helper_ticks = prh_bench_stat_cpu_ticks(buf);
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    out->helper_cs = out->helper_ics = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.32s/status", (int)pid, e->d_name);
        if (!read_text(path, buf, sizeof(buf)))
            continue;
        long v = prh_bench_status_field(buf, "voluntary_ctxt_switches");
        long nv = prh_bench_status_field(buf, "nonvoluntary_ctxt_switches");
        out->helper_cs += (v > 0 ? v : 0) + (nv > 0 ? nv : 0);
        out->helper_ics += nv > 0 ? nv : 0;
    }
    closedir(d);
}
