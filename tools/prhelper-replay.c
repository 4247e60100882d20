/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prhelper-replay - re-run a request trace (prhelper --trace-file) and
 * report the first divergence in status, sense or data.
 *
 *   prhelper-replay [--profile=spc4|lio] TRACE
 *       against a fresh simulator LUN per traced LUN, each traced nexus
 *       as itself (the "nexus" field), in trace order;
 *   prhelper-replay -k SOCKET DEVICE TRACE
 *       through any helper (prhelper on any transport, qemu-pr-helper) on
 *       DEVICE: one connection per traced client, bound to the traced
 *       initiator name where the helper is prhelper's sim transport.
 *
 * Exit status: 0 no divergence, 2 divergence, 1 usage, trace or
 * connection error.  See docs/tutorial.md and docs/daemon.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prhelper/control.h"
#include "prhelper/pr_sim.h"
#include "prhelper/reqtrace.h"
#include "prhelper/scsi.h"
#include "prhelper/transport_id.h"
#include "prhelper/wire.h"

#define EXIT_DIVERGED 2
#define MAX_CLIENTS 4096
#define SIM_PREFIX "iqn.2026-01.org.prhelper.sim:"

static const char *prog = "prhelper-replay";

struct record {
    unsigned long long client;
    char nexus[PR_TID_MAX_LEN + 32];
    char lun[64];
    uint8_t cdb[PRH_WIRE_CDB_SIZE];
    uint8_t params[PRH_WIRE_DATA_SIZE];
    size_t plen;
    int status; /* -1: no reply (connection closed) */
    uint8_t sense[PRH_WIRE_SENSE_SIZE];
    size_t sense_len;
    uint8_t data[PRH_WIRE_DATA_SIZE];
    size_t data_len;
};

/* ---- reading the trace ------------------------------------------------------ */

/* The raw text of a top-level "key": value (strings without the quotes). */
static bool field(const char *line, const char *key, char *buf, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < len)
                buf[n++] = *p;
            p++;
        }
        if (*p != '"')
            return false;
    } else {
        while (*p && *p != ',' && *p != '}' && n + 1 < len)
            buf[n++] = *p++;
    }
    buf[n] = '\0';
    return true;
}

static bool hex_field(const char *line, const char *key, uint8_t *out, size_t cap, size_t *len)
{
    static char buf[2 * PRH_WIRE_DATA_SIZE + 8];
    if (!field(line, key, buf, sizeof(buf)))
        return false;
    size_t n = strlen(buf);
    if (n % 2 || n / 2 > cap)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(buf + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    *len = n / 2;
    return true;
}

/* Parse one trace line; false with why set if it is not a request record. */
static bool parse_record(const char *line, struct record *r, const char **why)
{
    char num[32];
    size_t cdb_len;

    memset(r, 0, sizeof(*r));
    if (!field(line, "client_id", num, sizeof(num)) || !field(line, "cdb_hex", num, 2)) {
        *why = "not a prhelper request record (no client_id / cdb_hex)";
        return false;
    }
    field(line, "client_id", num, sizeof(num));
    r->client = strtoull(num, NULL, 10);
    field(line, "nexus", r->nexus, sizeof(r->nexus));
    field(line, "lun", r->lun, sizeof(r->lun));
    if (!hex_field(line, "cdb_hex", r->cdb, sizeof(r->cdb), &cdb_len) || cdb_len < 10 ||
        !hex_field(line, "params_hex", r->params, sizeof(r->params), &r->plen) ||
        !hex_field(line, "sense_hex", r->sense, sizeof(r->sense), &r->sense_len) ||
        !hex_field(line, "data_hex", r->data, sizeof(r->data), &r->data_len) ||
        !field(line, "status_code", num, sizeof(num))) {
        *why = "malformed hex or status field";
        return false;
    }
    r->status = atoi(num);
    return true;
}

/* ---- describing a result ---------------------------------------------------- */

static void describe(FILE *out, const char *side, const uint8_t *cdb, int status,
                     const uint8_t *sense, size_t sense_len, const uint8_t *data, size_t dlen)
{
    fprintf(out, "  %-7s status ", side);
    if (status < 0) {
        fprintf(out, "(connection closed, no reply)\n");
        return;
    }
    fprintf(out, "%s", scsi_status_name((unsigned)status));
    if (status == SCSI_STATUS_CHECK_CONDITION) {
        fputs(", sense ", out);
        prh_json_sense(out, sense, sense_len);
    }
    fputc('\n', out);
    if (cdb[0] == SCSI_OP_PERSISTENT_RESERVE_IN && status == SCSI_STATUS_GOOD) {
        fprintf(out, "          data ");
        prh_json_pr_in_data(out, cdb[1] & 0x1f, data, dlen);
        fputc('\n', out);
    }
}

static bool sense_same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    struct scsi_sense x, y;
    bool dx = scsi_sense_decode(a, alen, &x), dy = scsi_sense_decode(b, blen, &y);
    return dx == dy && (!dx || scsi_sense_equal(x, y));
}

/* ---- the two back ends ------------------------------------------------------ */

struct sim_backend {
    struct {
        char name[64];
        struct pr_sim_lun *lun;
    } luns[256];
    size_t nluns;
    enum pr_sim_profile profile;
    bool one_lun; /* every traced LUN is a path to the same logical unit */
};

static struct pr_sim_lun *sim_lun(struct sim_backend *b, const char *name)
{
    if (b->one_lun)
        name = "";
    for (size_t i = 0; i < b->nluns; i++)
        if (strcmp(b->luns[i].name, name) == 0)
            return b->luns[i].lun;
    if (b->nluns == sizeof(b->luns) / sizeof(b->luns[0]))
        return NULL;
    struct pr_sim_config cfg = { .profile = b->profile };
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    if (!lun || pr_sim_lun_add_port(lun, 1, PR_TID_PROTO_ISCSI) < 0)
        return NULL;
    snprintf(b->luns[b->nluns].name, sizeof(b->luns[0].name), "%s", name);
    b->luns[b->nluns++].lun = lun;
    return lun;
}

/*
 * The traced nexus "TID@RTPI"; a transport that cannot name it (sg: the
 * nexus is the host's port behind the device node) gets one initiator
 * port per traced device node.
 */
static struct pr_sim_nexus nexus_of(const struct record *r)
{
    struct pr_sim_nexus n = { .rtpi = 1 };
    char buf[sizeof(r->nexus)];
    snprintf(buf, sizeof(buf), "%s", r->nexus);
    char *at = strrchr(buf, '@');
    if (at) {
        *at = '\0';
        long rtpi = strtol(at + 1, NULL, 10);
        if (rtpi > 0 && rtpi <= 0xffff && pr_tid_from_string(buf, &n.initiator) == 0) {
            n.rtpi = (uint16_t)rtpi;
            return n;
        }
    }
    static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 1 };
    char name[128];
    snprintf(name, sizeof(name), "iqn.2026-01.org.prhelper.replay:%s",
             r->lun[0] ? r->lun : "unknown");
    n.initiator = pr_tid_iscsi(name, isid);
    n.rtpi = 1;
    return n;
}

static int sim_execute(struct sim_backend *b, const struct record *r, int *status,
                       uint8_t *sense, size_t *sense_len, uint8_t *data, size_t *dlen)
{
    struct pr_sim_lun *lun = sim_lun(b, r->lun);
    struct pr_sim_nexus n = nexus_of(r);
    struct pr_sim_result res;

    if (!lun)
        return -ENOMEM;
    pr_sim_execute(lun, &n, r->cdb, 10, r->plen ? r->params : NULL, r->plen, data,
                   PRH_WIRE_DATA_SIZE, &res);
    *status = res.status;
    *sense_len = 0;
    if (res.status == SCSI_STATUS_CHECK_CONDITION)
        *sense_len = scsi_sense_build_fixed(sense, PRH_WIRE_SENSE_SIZE, res.sense);
    uint32_t alloc = scsi_get_be16(r->cdb + 7);
    *dlen = res.status == SCSI_STATUS_GOOD && r->cdb[0] == SCSI_OP_PERSISTENT_RESERVE_IN
                ? (res.data_len < alloc ? res.data_len : alloc)
                : 0;
    return 0;
}

struct sock_backend {
    const char *socket;
    const char *device;
    struct {
        unsigned long long client;
        int fd;
    } conns[MAX_CLIENTS];
    size_t nconns;
};

static int sock_connect(const struct sock_backend *b, const struct record *r)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    /* A prhelper sim identity: present it again (prhelper-cli --initiator). */
    size_t pl = strlen(SIM_PREFIX);
    if (strncmp(r->nexus, SIM_PREFIX, pl) == 0 && strstr(r->nexus, ",i,0x800000000001@") &&
        strncmp(r->nexus + pl, "pid.", 4) != 0) {
        struct sockaddr_un me = { .sun_family = AF_UNIX };
        char name[PR_TID_MAX_LEN];
        snprintf(name, sizeof(name), "%s", r->nexus + pl);
        char *comma = strchr(name, ',');
        const char *rtpi = strrchr(r->nexus, '@');
        if (comma)
            *comma = '\0';
        int n = snprintf(me.sun_path + 1, sizeof(me.sun_path) - 1,
                         "prhelper-nexus:%s%s/replay.%ld.%llu", name, rtpi ? rtpi : "",
                         (long)getpid(), r->client);
        if (n > 0 && (size_t)n < sizeof(me.sun_path) - 1)
            bind(fd, (struct sockaddr *)&me,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n));
    }
    if (strlen(b->socket) >= sizeof(addr.sun_path)) {
        close(fd);
        return -ENAMETOOLONG;
    }
    strcpy(addr.sun_path, b->socket);
    int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    if (rc == 0)
        rc = prh_wire_client_handshake(fd, NULL);
    else
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

static int sock_execute(struct sock_backend *b, const struct record *r, int *status,
                        uint8_t *sense, size_t *sense_len, uint8_t *data, size_t *dlen)
{
    static struct prh_reply reply;
    int fd = -1;
    size_t i;

    for (i = 0; i < b->nconns; i++)
        if (b->conns[i].client == r->client)
            break;
    if (i < b->nconns) {
        fd = b->conns[i].fd;
    } else {
        if (b->nconns == MAX_CLIENTS)
            return -EMFILE;
        fd = sock_connect(b, r);
        if (fd < 0)
            return fd;
        b->conns[b->nconns].client = r->client;
        b->conns[b->nconns++].fd = fd;
    }
    int dev = open(b->device, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (dev < 0)
        return -errno;
    int rc = prh_wire_client_send(fd, r->cdb, 10, dev, r->params, r->plen);
    if (rc == 0)
        rc = prh_wire_client_recv(fd, &reply);
    close(dev);
    if (rc == -EPIPE) {
        *status = -1; /* closed without a reply */
        close(fd);
        b->conns[i] = b->conns[--b->nconns];
        *sense_len = *dlen = 0;
        return 0;
    }
    if (rc < 0)
        return rc;
    *status = reply.status;
    *sense_len = reply.status == SCSI_STATUS_CHECK_CONDITION ? 8u + reply.sense[7] : 0;
    if (*sense_len > PRH_WIRE_SENSE_SIZE)
        *sense_len = PRH_WIRE_SENSE_SIZE;
    memcpy(sense, reply.sense, *sense_len);
    *dlen = reply.data_len;
    memcpy(data, reply.data, reply.data_len);
    return 0;
}

/* ---- main ------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s [--profile=spc4|lio] TRACE\n"
            "       %s -k SOCKET DEVICE TRACE\n"
            "Re-run a prhelper request trace (--trace-file) and report the first\n"
            "divergence in status, sense or PR IN data, both sides decoded.\n"
            "\n"
            "Without -k every traced LUN is a fresh simulator LUN and every traced nexus\n"
            "sends its commands as itself (where the trace cannot name the nexus, as with\n"
            "the sg transport, each device node is one initiator port).  With -k the commands go through the helper at\n"
            "SOCKET to DEVICE, one connection per traced client.\n"
            "\n"
            "  -k, --socket=PATH     replay through this helper socket on DEVICE\n"
            "  -p, --profile=NAME    simulator profile: spc4 (default) or lio\n"
            "  -1, --one-lun         every traced LUN is a path (device node) to one\n"
            "                        logical unit, e.g. a trace of the sg transport\n"
            "                        through several paths\n"
            "  -q, --quiet           print only a divergence\n"
            "  -h, --help            this help\n"
            "\n"
            "Exit status: 0 no divergence, 2 divergence, 1 usage, trace or connection error.\n",
            prog, prog);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 'k' }, { "profile", required_argument, NULL, 'p' },
        { "quiet", no_argument, NULL, 'q' },        { "help", no_argument, NULL, 'h' },
        { "one-lun", no_argument, NULL, '1' },
        { NULL, 0, NULL, 0 },
    };
    static struct sim_backend simb;
    static struct sock_backend sockb;
    static struct record rec;
    static uint8_t sense[PRH_WIRE_SENSE_SIZE], data[PRH_WIRE_DATA_SIZE];
    const char *socket_path = NULL;
    bool quiet = false;
    int c;

    simb.profile = PR_SIM_PROFILE_SPC4;
    while ((c = getopt_long(argc, argv, "k:p:qh1", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            socket_path = optarg;
            break;
        case 'p':
            if (!pr_sim_profile_parse(optarg, &simb.profile)) {
                fprintf(stderr, "%s: unknown profile '%s' (expected spc4 or lio)\n", prog,
                        optarg);
                return 1;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case '1':
            simb.one_lun = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try `%s --help' for more information.\n", prog);
            return 1;
        }
    }
    if (argc - optind != (socket_path ? 2 : 1)) {
        fprintf(stderr, "%s: %s\n", prog,
                socket_path ? "-k needs a DEVICE and a TRACE" : "need one TRACE file");
        fprintf(stderr, "Try `%s --help' for more information.\n", prog);
        return 1;
    }
    const char *trace = argv[argc - 1];
    if (socket_path) {
        sockb.socket = socket_path;
        sockb.device = argv[optind];
        int t = open(sockb.device, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (t < 0) {
            fprintf(stderr, "%s: cannot open %s: %s\n", prog, sockb.device, strerror(errno));
            return 1;
        }
        close(t);
    }
    FILE *f = strcmp(trace, "-") == 0 ? stdin : fopen(trace, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, trace, strerror(errno));
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0, replayed = 0, skipped = 0;
    int result = 0;
    while (getline(&line, &cap, f) > 0) {
        const char *why;
        int status;
        size_t sense_len, dlen;
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        if (!parse_record(line, &rec, &why)) {
            fprintf(stderr, "%s: %s:%lu: %s\n", prog, trace, lineno, why);
            result = 1;
            break;
        }
        if (rec.status < 0 && !socket_path) {
            skipped++; /* the connection was closed by a fault: nothing to compare */
            continue;
        }
        int rc = socket_path ? sock_execute(&sockb, &rec, &status, sense, &sense_len, data, &dlen)
                             : sim_execute(&simb, &rec, &status, sense, &sense_len, data, &dlen);
        if (rc < 0) {
            fprintf(stderr, "%s: %s:%lu: cannot replay: %s\n", prog, trace, lineno,
                    strerror(-rc));
            result = 1;
            break;
        }
        replayed++;
        const char *what = NULL;
        if (status != rec.status)
            what = "status";
        else if (status == SCSI_STATUS_CHECK_CONDITION &&
                 !sense_same(rec.sense, rec.sense_len, sense, sense_len))
            what = "sense";
        else if (dlen != rec.data_len || memcmp(data, rec.data, dlen) != 0)
            what = "data";
        if (what) {
            printf("divergence in %s at %s:%lu (command %lu), client %llu, nexus %s, LUN %s\n",
                   what, trace, lineno, replayed, rec.client, rec.nexus, rec.lun);
            printf("  command ");
            prh_json_command(stdout, rec.cdb);
            if (rec.plen) {
                printf("\n  params  ");
                prh_json_params(stdout, rec.cdb, rec.params, rec.plen);
            }
            printf("\n");
            describe(stdout, "trace", rec.cdb, rec.status, rec.sense, rec.sense_len, rec.data,
                     rec.data_len);
            describe(stdout, "replay", rec.cdb, status, sense, sense_len, data, dlen);
            result = EXIT_DIVERGED;
            break;
        }
    }
    free(line);
    if (f != stdin)
        fclose(f);
    for (size_t i = 0; i < simb.nluns; i++)
        pr_sim_lun_free(simb.luns[i].lun);
    for (size_t i = 0; i < sockb.nconns; i++)
        close(sockb.conns[i].fd);
    if (result == 0 && !quiet)
        printf("replayed %lu command%s%s, no divergence\n", replayed, replayed == 1 ? "" : "s",
               skipped ? " (some without a reply were skipped)" : "");
    return result;
}
