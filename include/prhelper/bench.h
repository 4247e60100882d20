/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench.h - the logic of prhelper-bench that is worth a unit test: options,
 * the request sequence of each workload mix, latency statistics and the
 * /proc samples of the helper under test.  The program itself (threads,
 * sockets, SG_IO, the echo server) is bench/prhelper-bench.c; the method
 * and the numbers are in docs/performance.md.
 */
#ifndef PRHELPER_BENCH_H
#define PRHELPER_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define PRH_BENCH_MAX_CLIENTS 4096u
#define PRH_BENCH_MAX_REQUESTS 10000000u
#define PRH_BENCH_ALLOC_LEN 8192u   /* PR IN allocation length (sg_persist's default) */
#define PRH_BENCH_PARAM_LEN 24u     /* PR OUT basic parameter list */
#define PRH_BENCH_KEY_BASE 0xbe0000000000ull

enum prh_bench_mode {
    PRH_BENCH_HELPER,      /* a helper socket (prhelper, qemu-pr-helper) */
    PRH_BENCH_RAW,         /* SG_IO on the device, no helper */
    PRH_BENCH_FLOOR,       /* a forked minimal echo server with fd passing */
    PRH_BENCH_ECHO_SERVER, /* only run that echo server (foreground) */
};

enum prh_bench_mix {
    PRH_MIX_READ_KEYS,
    PRH_MIX_READ_RESERVATION,
    PRH_MIX_REGISTER_READ_KEYS, /* REGISTER AND IGNORE EXISTING KEY, READ KEYS, ... */
    PRH_MIX_RESERVE_RELEASE,    /* RESERVE WE, RELEASE WE, ... (registered first) */
};

struct prh_bench_opts {
    enum prh_bench_mode mode;
    enum prh_bench_mix mix;
    const char *socket;  /* helper socket, or the echo server's with --echo-server */
    const char *device;  /* the fd every request carries (and --raw's target) */
    const char *label;   /* first column of the TSV row */
    unsigned clients;
    unsigned requests;   /* measured requests per client */
    unsigned warmup;     /* unmeasured requests per client before the clock starts */
    pid_t pid;           /* helper pid for /proc samples; 0 = SO_PEERCRED */
    bool key_per_client; /* else every client uses one key (one I_T nexus on a real LUN) */
    bool tsv;
    bool help;
};

/* Defaults: helper mode, read-keys, 1 client x 1000 requests, 10 warm-up. */
void prh_bench_opts_init(struct prh_bench_opts *o);
/*
 * Parse argv (getopt_long; resets optind).  0 on success (o->help set for
 * --help); -1 with a one-line message in err on a usage error.
 */
int prh_bench_parse_args(int argc, char **argv, struct prh_bench_opts *o, char *err, size_t errlen);
void prh_bench_usage(FILE *out, const char *prog);

bool prh_bench_mix_parse(const char *name, enum prh_bench_mix *out);
const char *prh_bench_mix_name(enum prh_bench_mix mix);
const char *prh_bench_mode_name(enum prh_bench_mode mode);

/* One command of a workload: a 10-byte CDB and, for PR OUT, 24 bytes. */
struct prh_bench_cmd {
    uint8_t cdb[10];
    uint8_t params[PRH_BENCH_PARAM_LEN];
    size_t params_len;
};

/*
 * The reservation key of client `client` (never 0): its own with
 * --key-per-client, else one key for all.  On a real LUN every connection
 * of one host is the same I_T nexus, so per-client keys would only
 * overwrite each other; the sim transport makes each connection a nexus.
 */
uint64_t prh_bench_key(const struct prh_bench_opts *o, unsigned client);
/* Measured command number `step` under `mix`, with reservation key `key`. */
void prh_bench_cmd_step(enum prh_bench_mix mix, uint64_t key, unsigned step,
                        struct prh_bench_cmd *cmd);
/*
 * Unmeasured set-up (before) and clean-up (after) commands: *count of
 * them are written to cmds (room for 2).  reserve-release registers the
 * key first; the mixes that register leave no registration.
 */
void prh_bench_cmd_prologue(enum prh_bench_mix mix, uint64_t key, struct prh_bench_cmd *cmds,
                            size_t *count);
void prh_bench_cmd_epilogue(enum prh_bench_mix mix, uint64_t key, struct prh_bench_cmd *cmds,
                            size_t *count);

/* Latency statistics over n samples in nanoseconds (sorts lat). */
struct prh_bench_stats {
    size_t n;
    uint64_t min, p50, p90, p99, max;
    double mean;
};
/* Nearest-rank percentile of sorted samples: the ceil(p/100*n)-th (p in (0,100]). */
uint64_t prh_bench_percentile(const uint64_t *sorted, size_t n, double p);
void prh_bench_stats_compute(uint64_t *lat, size_t n, struct prh_bench_stats *out);

/* The span of a measured run: from the earliest client's start to the
 * latest client's end.  Each client takes its own start after the start
 * barrier: a start taken by the main thread can come late (a busy guest
 * runs that thread last) and makes the span, and so req/s, wrong. */
struct prh_bench_span {
    uint64_t start_ns, end_ns; /* start_ns 0: no client added yet */
};
void prh_bench_span_add(struct prh_bench_span *s, uint64_t start_ns, uint64_t end_ns);
double prh_bench_span_seconds(const struct prh_bench_span *s);

/* What the SAM status bytes of the replies were. */
struct prh_bench_counts {
    uint64_t good, conflict, unit_attention, check, other;
};
/* Count one reply: status byte and (for CHECK CONDITION) its sense key. */
void prh_bench_count(struct prh_bench_counts *c, uint8_t status, unsigned sense_key);

/* /proc samples of the helper. */
struct prh_bench_proc {
    long rss_kib;  /* Rss: of /proc/PID/smaps_rollup (exact), else VmRSS; -1 if unknown */
    long fds;      /* entries of /proc/PID/fd, -1 if unknown */
    long threads;  /* Threads:, -1 if unknown */
};
/* A "Key:   value" line of /proc/PID/status text; -1 if absent. */
long prh_bench_status_field(const char *status_text, const char *key);
/* Read /proc/PID/smaps_rollup, /proc/PID/status and /proc/PID/fd; fields
 * stay -1 where unreadable.  The resident set comes from smaps_rollup,
 * which walks the page tables: status's VmRSS is a cached counter that
 * the kernel updates in batches (per CPU since Linux 6.2, per thread
 * every 64 faults before), so it can lag by hundreds of KiB, more than
 * the growth that 256 idle clients cause. */
void prh_bench_proc_sample(pid_t pid, struct prh_bench_proc *out);

/* Where the CPU went during a measured phase (the cause of a throughput
 * limit): the helper's CPU time and context switches, the machine's busy
 * share. */
struct prh_bench_cpu {
    long long helper_ticks; /* utime + stime of /proc/PID/stat (all threads, exited ones too); -1 */
    long long helper_cs;    /* voluntary + involuntary context switches of its live threads; -1 */
    long long helper_ics;   /* of them involuntary (preempted while runnable); -1 */
    long long sys_busy;     /* ticks of the "cpu" line of /proc/stat not idle or iowait */
    long long sys_total;    /* all its ticks; 0 if unreadable */
};
void prh_bench_cpu_sample(pid_t pid, struct prh_bench_cpu *out);
/* The fields of a /proc/PID/stat line: utime + stime (ticks), or -1. */
long long prh_bench_stat_cpu_ticks(const char *stat_line);
/* busy and total ticks of a /proc/stat text's "cpu " line; false if absent. */
bool prh_bench_sys_ticks(const char *proc_stat, long long *busy, long long *total);

#endif
