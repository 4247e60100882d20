/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prhelper-cli - speak the qemu-pr-helper protocol to prhelper (or to
 * qemu-pr-helper itself) and print decoded results.
 *
 * Exit status: 0 GOOD; otherwise the SCSI status byte (2 CHECK
 * CONDITION, 24 RESERVATION CONFLICT, 8 BUSY, ...); 1 for a usage,
 * device or connection error.  See prhelper-cli(1).
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

#include "prhelper/cli.h"
#include "prhelper/control.h"
#include "prhelper/transport.h"
#include "prhelper/scsi.h"
#include "prhelper/transport_id.h"
#include "prhelper/wire.h"

#define EXIT_ERROR 1
#define NEXUS_ADDR_PREFIX "prhelper-nexus:"

struct cli_opts {
    const char *socket_path;
    const char *control_path;
    const char *initiator;
    uint64_t key;
    bool aptpl;
    bool unreg;
    bool json;
    unsigned alloc;
};

static const char *prog = "prhelper-cli";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s [OPTIONS] DEVICE COMMAND [ARGS]\n"
            "       %s [OPTIONS] ctl CONTROL-COMMAND [ARGS]\n"
            "Send persistent reservation commands through prhelper / qemu-pr-helper,\n"
            "or control commands to prhelper's control socket (--control).\n"
            "\n"
            "Commands:\n"
            "  read-keys                 PR IN READ KEYS\n"
            "  read-reservation          PR IN READ RESERVATION\n"
            "  capabilities              PR IN REPORT CAPABILITIES\n"
            "  full-status               PR IN READ FULL STATUS\n"
            "  register NEWKEY           PR OUT REGISTER (current key from --key, default 0)\n"
            "  register-ignore NEWKEY    PR OUT REGISTER AND IGNORE EXISTING KEY\n"
            "  unregister                PR OUT REGISTER with new key 0 (key from --key)\n"
            "  reserve TYPE              PR OUT RESERVE\n"
            "  release TYPE              PR OUT RELEASE\n"
            "  clear                     PR OUT CLEAR\n"
            "  preempt KEY TYPE          PR OUT PREEMPT the registrations of KEY\n"
            "  preempt-abort KEY TYPE    PR OUT PREEMPT AND ABORT\n"
            "  register-move NEWKEY TYPE INITIATOR RTPI\n"
            "                            PR OUT REGISTER AND MOVE: hand this initiator's\n"
            "                            reservation (of TYPE) to INITIATOR on target port\n"
            "                            RTPI, registered with NEWKEY (--unreg: and drop\n"
            "                            this registration).  INITIATOR: a TransportID\n"
            "                            (iqn...,i,0xISID) or a word as for --initiator\n"
            "\n"
            "TYPE: we, ea, we-ro, ea-ro, we-ar, ea-ar (or 1, 3, 5, 6, 7, 8)\n"
            "\n"
            "Control commands (prhelper --control=PATH; 'ctl help' lists them all):\n"
            "  ctl state [LUN]           registrations, holder, type, generation and\n"
            "                            pending unit attentions (sim transport)\n"
            "  ctl fault add ACTION [lun=LUN] [client=WHO] [sa=SA] [count=N]\n"
            "                            make the next N matching commands fail, wait or\n"
            "                            drop the connection (sim transport)\n"
            "  ctl fault list | ctl fault clear [ID]\n"
            "  ctl access LUN INITIATOR...\n"
            "                            who may read and write now (sim transport)\n"
            "  ctl power-cycle LUN|all   lose non-APTPL state, POWER ON RESET to every nexus\n"
            "  ctl crash | ctl restart   simulate a daemon crash (and restart)\n"
            "  stats                     the daemon's metrics, Prometheus text format\n"
            "                            (same as 'ctl stats')\n"
            "  A LUN is a name from 'ctl state' or the path of the device or file.\n"
            "\n"
            "Options:\n"
            "  -k, --socket=PATH         daemon socket (default $PRHELPER_SOCKET or\n"
            "                            '%s')\n"
            "  -I, --initiator=NAME[@RTPI]\n"
            "                            present a stable initiator identity to the sim\n"
            "                            transport (iSCSI name or short word)\n"
            "  -K, --key=KEY             this initiator's reservation key\n"
            "      --aptpl               set APTPL (persist through power loss)\n"
            "      --unreg               register-move: unregister this initiator\n"
            "  -a, --alloc=N             PR IN allocation length (default 8192)\n"
            "  -j, --json                print JSON\n"
            "  -C, --control=PATH        control socket (default $PRHELPER_CONTROL or\n"
            "                            '%s')\n"
            "  -h, --help                this help\n"
            "  -V, --version             version\n"
            "\n"
            "Exit status: 0 GOOD, 2 CHECK CONDITION, 24 RESERVATION CONFLICT, other\n"
            "SCSI status values as themselves, 1 usage/device/connection error.\n",
            prog, prog, PRH_DEFAULT_SOCKET, PRH_DEFAULT_CONTROL);
}

/* A LUN argument naming an existing file or device becomes its LUN name. */
static const char *lun_word(const char *w, char *buf, size_t len)
{
    int fd;

    fd = open(w, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return w;
    int r = prh_lun_id_of_fd(fd, buf, len);
    close(fd);
    return r == 0 ? buf : w;
}

/* prhelper-cli ctl WORDS...: one request on the control socket. */
static int run_ctl(const struct cli_opts *o, int argc, char **argv)
{
    char *words[PRH_CTL_MAX_ARGS];
    char bufs[PRH_CTL_MAX_ARGS][80];
    char *body = NULL;

    if (argc < 1) {
        fprintf(stderr, "%s: ctl needs a control command (try 'ctl help')\n", prog);
        return EXIT_ERROR;
    }
    if (argc > PRH_CTL_MAX_ARGS) {
        fprintf(stderr, "%s: too many arguments for ctl\n", prog);
        return EXIT_ERROR;
    }
    for (int i = 0; i < argc; i++) {
        words[i] = argv[i];
        if (i == 0)
            continue;
        if (strncmp(argv[i], "lun=", 4) == 0) {
            char id[64];
            const char *l = lun_word(argv[i] + 4, id, sizeof(id));
            snprintf(bufs[i], sizeof(bufs[i]), "lun=%s", l);
            if (l == id)
                words[i] = bufs[i];
        } else if (i == 1 && (strcmp(argv[0], "state") == 0 || strcmp(argv[0], "access") == 0 ||
                              strcmp(argv[0], "power-cycle") == 0)) {
            const char *l = lun_word(argv[i], bufs[i], sizeof(bufs[i]));
            words[i] = (char *)l;
        }
    }
    int r = prh_control_call(o->control_path, argc, words, o->json, &body);
    if (r < 0) {
        fprintf(stderr, "%s: control socket %s: %s\n", prog, o->control_path,
                r == -EPROTO ? "malformed answer (is this prhelper's control socket?)"
                : r == -EINVAL ? "arguments must be non-empty words without blanks"
                               : strerror(-r));
        return EXIT_ERROR;
    }
    if (r == 0) {
        fputs(body, stdout);
    } else {
        fprintf(stderr, "%s: %s", prog, body);
    }
    free(body);
    return r == 0 ? 0 : EXIT_ERROR;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

static bool parse_type(const char *s, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned type;
    } names[] = {
        { "we", PR_TYPE_WE },       { "wr-ex", PR_TYPE_WE },       { "ea", PR_TYPE_EA },
        { "ex-ac", PR_TYPE_EA },    { "we-ro", PR_TYPE_WE_RO },    { "wr-ex-ro", PR_TYPE_WE_RO },
        { "ea-ro", PR_TYPE_EA_RO }, { "ex-ac-ro", PR_TYPE_EA_RO }, { "we-ar", PR_TYPE_WE_AR },
        { "wr-ex-ar", PR_TYPE_WE_AR }, { "ea-ar", PR_TYPE_EA_AR }, { "ex-ac-ar", PR_TYPE_EA_AR },
    };
    uint64_t v;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].type;
            return true;
        }
    if (parse_u64(s, &v) && v <= 0xf) {
        *out = (unsigned)v;
        return true;
    }
    return false;
}

/* Connect, optionally bound to the abstract nexus address first. */
static int connect_daemon(const struct cli_opts *o)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (o->initiator) {
        struct sockaddr_un me = { .sun_family = AF_UNIX };
        static unsigned counter;
        int n = snprintf(me.sun_path + 1, sizeof(me.sun_path) - 1, NEXUS_ADDR_PREFIX "%s/%ld.%u",
                         o->initiator, (long)getpid(), counter++);
        if (n < 0 || (size_t)n >= sizeof(me.sun_path) - 1) {
            fprintf(stderr, "%s: initiator name '%s' is too long\n", prog, o->initiator);
            close(fd);
            errno = ENAMETOOLONG;
            return -1;
        }
        socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
        if (bind(fd, (struct sockaddr *)&me, len) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    if (strlen(o->socket_path) >= sizeof(addr.sun_path)) {
        close(fd);
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, o->socket_path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ---- output -------------------------------------------------------------- */

static void print_status(const struct cli_opts *o, const char *cmd, const struct prh_reply *r,
                         bool close_json)
{
    struct scsi_sense s;
    char text[160];

    if (o->json) {
        printf("{\"command\":\"%s\",\"status\":\"%s\",\"status_code\":%u", cmd,
               scsi_status_name(r->status), r->status);
        if (r->status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_decode(r->sense, 96, &s))
            printf(",\"sense\":{\"key\":%u,\"asc\":%u,\"ascq\":%u,\"text\":\"%s\"}", s.key,
                   s.asc, s.ascq, scsi_sense_to_string(s, text, sizeof(text)));
        if (close_json)
            printf("}\n");
        return;
    }
    if (r->status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_decode(r->sense, 96, &s))
        printf("%s: CHECK CONDITION, %s\n", cmd, scsi_sense_to_string(s, text, sizeof(text)));
    else
        printf("%s: %s\n", cmd, scsi_status_name(r->status));
}

static void print_read_keys(const struct cli_opts *o, const struct prh_reply *r)
{
    if (r->data_len < 8) {
        print_status(o, "read-keys", r, true);
        return;
    }
    uint32_t gen = scsi_get_be32(r->data);
    uint32_t add = scsi_get_be32(r->data + 4);
    uint32_t n = (r->data_len - 8) / 8;
    if (n > add / 8)
        n = add / 8;
    if (o->json) {
        print_status(o, "read-keys", r, false);
        printf(",\"generation\":%" PRIu32 ",\"keys\":[", gen);
        for (uint32_t i = 0; i < n; i++)
            printf("%s\"0x%" PRIx64 "\"", i ? "," : "", scsi_get_be64(r->data + 8 + 8 * i));
        printf("]}\n");
        return;
    }
    printf("read-keys: GOOD, PR generation 0x%" PRIx32 ", %" PRIu32 " registered key%s%s\n", gen,
           add / 8, add / 8 == 1 ? "" : "s", n < add / 8 ? " (list truncated)" : "");
    for (uint32_t i = 0; i < n; i++)
        printf("  0x%" PRIx64 "\n", scsi_get_be64(r->data + 8 + 8 * i));
}

static void print_read_reservation(const struct cli_opts *o, const struct prh_reply *r)
{
    if (r->data_len < 8) {
        print_status(o, "read-reservation", r, true);
        return;
    }
    uint32_t gen = scsi_get_be32(r->data);
    uint32_t add = scsi_get_be32(r->data + 4);
    bool held = add >= 16 && r->data_len >= 24;
    uint64_t key = held ? scsi_get_be64(r->data + 8) : 0;
    unsigned type = held ? r->data[21] & 0x0f : 0, scope = held ? r->data[21] >> 4 : 0;

    if (o->json) {
        print_status(o, "read-reservation", r, false);
        printf(",\"generation\":%" PRIu32 ",\"reserved\":%s", gen, held ? "true" : "false");
        if (held)
            printf(",\"key\":\"0x%" PRIx64 "\",\"type\":%u,\"type_name\":\"%s\",\"scope\":%u",
                   key, type, pr_type_name(type), scope);
        printf("}\n");
        return;
    }
    if (held)
        printf("read-reservation: GOOD, PR generation 0x%" PRIx32 ", reserved by key 0x%" PRIx64
               ", type %s (%u), scope %s\n",
               gen, key, pr_type_name(type), type, scope == 0 ? "LU" : "other");
    else
        printf("read-reservation: GOOD, PR generation 0x%" PRIx32 ", no reservation\n", gen);
}

static void print_capabilities(const struct cli_opts *o, const struct prh_reply *r)
{
    static const struct {
        uint16_t bit;
        unsigned type;
    } mask[] = {
        { PR_TYPE_MASK_WR_EX_AR, PR_TYPE_WE_AR }, { PR_TYPE_MASK_EX_AC_RO, PR_TYPE_EA_RO },
        { PR_TYPE_MASK_WR_EX_RO, PR_TYPE_WE_RO }, { PR_TYPE_MASK_EX_AC, PR_TYPE_EA },
        { PR_TYPE_MASK_WR_EX, PR_TYPE_WE },       { PR_TYPE_MASK_EX_AC_AR, PR_TYPE_EA_AR },
    };
    if (r->data_len < 6) {
        print_status(o, "capabilities", r, true);
        return;
    }
    uint8_t f1 = r->data[2], f2 = r->data[3];
    uint16_t types = (f2 & PR_CAP_TMV) ? scsi_get_be16(r->data + 4) : 0;

    if (o->json) {
        print_status(o, "capabilities", r, false);
        printf(",\"crh\":%s,\"sip_c\":%s,\"atp_c\":%s,\"ptpl_c\":%s,\"tmv\":%s,"
               "\"allow_commands\":%u,\"ptpl_a\":%s,\"types\":[",
               f1 & PR_CAP_CRH ? "true" : "false", f1 & PR_CAP_SIP_C ? "true" : "false",
               f1 & PR_CAP_ATP_C ? "true" : "false", f1 & PR_CAP_PTPL_C ? "true" : "false",
               f2 & PR_CAP_TMV ? "true" : "false", (f2 >> 4) & 7,
               f2 & PR_CAP_PTPL_A ? "true" : "false");
        bool first = true;
        for (size_t i = 0; i < sizeof(mask) / sizeof(mask[0]); i++)
            if (types & mask[i].bit) {
                printf("%s%u", first ? "" : ",", mask[i].type);
                first = false;
            }
        printf("]}\n");
        return;
    }
    printf("capabilities: GOOD\n");
    printf("  compatible reservation handling (CRH): %s\n", f1 & PR_CAP_CRH ? "yes" : "no");
    printf("  specify initiator ports (SIP_C):       %s\n", f1 & PR_CAP_SIP_C ? "yes" : "no");
    printf("  all target ports (ATP_C):              %s\n", f1 & PR_CAP_ATP_C ? "yes" : "no");
    printf("  persist through power loss (PTPL_C):   %s, active (PTPL_A): %s\n",
           f1 & PR_CAP_PTPL_C ? "yes" : "no", f2 & PR_CAP_PTPL_A ? "yes" : "no");
    printf("  allow commands: %u\n", (f2 >> 4) & 7);
    printf("  reservation types%s:\n", f2 & PR_CAP_TMV ? "" : " (mask not valid)");
    for (size_t i = 0; i < sizeof(mask) / sizeof(mask[0]); i++)
        if (types & mask[i].bit)
            printf("    %s (%u)\n", pr_type_name(mask[i].type), mask[i].type);
}

static void print_full_status(const struct cli_opts *o, const struct prh_reply *r)
{
    if (r->data_len < 8) {
        print_status(o, "full-status", r, true);
        return;
    }
    uint32_t gen = scsi_get_be32(r->data);
    uint32_t add = scsi_get_be32(r->data + 4);
    size_t end = 8 + (size_t)add < r->data_len ? 8 + (size_t)add : r->data_len;
    size_t off = 8;
    unsigned count = 0;

    if (o->json) {
        print_status(o, "full-status", r, false);
        printf(",\"generation\":%" PRIu32 ",\"registrations\":[", gen);
    } else {
        printf("full-status: GOOD, PR generation 0x%" PRIx32 "\n", gen);
    }
    while (off + 24 <= end) {
        const uint8_t *d = r->data + off;
        uint32_t tid_len = scsi_get_be32(d + 20);
        struct pr_tid tid;
        size_t used;
        char name[PR_TID_MAX_LEN + 32] = "?";
        if (off + 24 + tid_len <= end &&
            pr_tid_parse(d + 24, tid_len, &tid, &used) == 0)
            pr_tid_to_string(&tid, name, sizeof(name));
        uint64_t key = scsi_get_be64(d);
        bool holder = d[12] & PR_FULL_STATUS_R_HOLDER;
        bool all_tg = d[12] & PR_FULL_STATUS_ALL_TG_PT;
        unsigned type = d[13] & 0x0f;
        unsigned rtpi = scsi_get_be16(d + 18);
        if (o->json) {
            printf("%s{\"key\":\"0x%" PRIx64 "\",\"holder\":%s,\"all_tg_pt\":%s,\"type\":%u,"
                   "\"rtpi\":%u,\"transport_id\":\"%s\"}",
                   count ? "," : "", key, holder ? "true" : "false", all_tg ? "true" : "false",
                   holder ? type : 0, rtpi, name);
        } else {
            printf("  key 0x%" PRIx64 "  %s  rtpi %u%s", key, name, rtpi,
                   all_tg ? "  all target ports" : "");
            if (holder)
                printf("  HOLDER of %s (%u)", pr_type_name(type), type);
            printf("\n");
        }
        count++;
        off += 24 + tid_len;
    }
    if (o->json)
        printf("]}\n");
    else if (count == 0)
        printf("  no registrations\n");
}

static int exit_code(const struct prh_reply *r)
{
    return r->status == SCSI_STATUS_GOOD ? 0 : r->status;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 'k' }, { "initiator", required_argument, NULL, 'I' },
        { "key", required_argument, NULL, 'K' },    { "aptpl", no_argument, NULL, 'P' },
        { "alloc", required_argument, NULL, 'a' },  { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
        { "control", required_argument, NULL, 'C' },
        { "unreg", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    struct cli_opts o = { .alloc = PRH_WIRE_DATA_SIZE };
    uint8_t cdb[10] = { 0 }, params[24 + PR_TID_MAX_LEN] = { 0 };
    struct pr_tid move_tid;
    unsigned move_rtpi = 0;
    size_t plen = 0;
    uint64_t v;
    int c;

    o.socket_path = getenv("PRHELPER_SOCKET");
    if (!o.socket_path || !o.socket_path[0])
        o.socket_path = PRH_DEFAULT_SOCKET;
    o.control_path = getenv("PRHELPER_CONTROL");
    if (!o.control_path || !o.control_path[0])
        o.control_path = PRH_DEFAULT_CONTROL;
    while ((c = getopt_long(argc, argv, "+k:I:K:a:jhVC:", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o.socket_path = optarg;
            break;
        case 'I':
            o.initiator = optarg;
            break;
        case 'C':
            o.control_path = optarg;
            break;
        case 'U':
            o.unreg = true;
            break;
        case 'K':
            if (!parse_u64(optarg, &o.key)) {
                fprintf(stderr, "%s: invalid key '%s'\n", prog, optarg);
                return EXIT_ERROR;
            }
            break;
        case 'P':
            o.aptpl = true;
            break;
        case 'a':
            if (!parse_u64(optarg, &v) || v > PRH_WIRE_DATA_SIZE) {
                fprintf(stderr, "%s: allocation length must be 0..8192, not '%s'\n", prog,
                        optarg);
                return EXIT_ERROR;
            }
            o.alloc = (unsigned)v;
            break;
        case 'j':
            o.json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("%s " PRH_VERSION "\n", prog);
            return 0;
        default:
            fprintf(stderr, "Try `%s --help' for more information.\n", prog);
            return EXIT_ERROR;
        }
    }
    if (argc - optind >= 1 && strcmp(argv[optind], "ctl") == 0)
        return run_ctl(&o, argc - optind - 1, argv + optind + 1);
    /* prhelper-cli stats: the metrics over the control socket. */
    if (argc - optind >= 1 && strcmp(argv[optind], "stats") == 0)
        return run_ctl(&o, argc - optind, argv + optind);
    if (argc - optind < 2) {
        fprintf(stderr, "%s: need a DEVICE and a COMMAND\n", prog);
        fprintf(stderr, "Try `%s --help' for more information.\n", prog);
        return EXIT_ERROR;
    }
    const char *device = argv[optind];
    const char *cmd = argv[optind + 1];
    char **args = argv + optind + 2;
    int nargs = argc - optind - 2;
    bool pr_in = false;
    unsigned sa = 0, type = 0;
    uint64_t rk = o.key, sark = 0;

#define NEED_ARGS(n, what)                                                                  \
    do {                                                                                   \
        if (nargs != (n)) {                                                                \
            fprintf(stderr, "%s: %s needs %s\n", prog, cmd, what);                         \
            return EXIT_ERROR;                                                             \
        }                                                                                  \
    } while (0)
#define PARSE_KEY(s, dst)                                                                  \
    do {                                                                                   \
        if (!parse_u64((s), &(dst))) {                                                     \
            fprintf(stderr, "%s: invalid key '%s'\n", prog, (s));                          \
            return EXIT_ERROR;                                                             \
        }                                                                                  \
    } while (0)
#define PARSE_TYPE(s)                                                                      \
    do {                                                                                   \
        if (!parse_type((s), &type)) {                                                     \
            fprintf(stderr, "%s: invalid reservation type '%s'\n", prog, (s));             \
            return EXIT_ERROR;                                                             \
        }                                                                                  \
    } while (0)

    if (strcmp(cmd, "read-keys") == 0) {
        NEED_ARGS(0, "no arguments");
        pr_in = true, sa = PR_IN_READ_KEYS;
    } else if (strcmp(cmd, "read-reservation") == 0) {
        NEED_ARGS(0, "no arguments");
        pr_in = true, sa = PR_IN_READ_RESERVATION;
    } else if (strcmp(cmd, "capabilities") == 0) {
        NEED_ARGS(0, "no arguments");
        pr_in = true, sa = PR_IN_REPORT_CAPABILITIES;
    } else if (strcmp(cmd, "full-status") == 0) {
        NEED_ARGS(0, "no arguments");
        pr_in = true, sa = PR_IN_READ_FULL_STATUS;
    } else if (strcmp(cmd, "register") == 0) {
        NEED_ARGS(1, "NEWKEY");
        sa = PR_OUT_REGISTER;
        PARSE_KEY(args[0], sark);
    } else if (strcmp(cmd, "register-ignore") == 0) {
        NEED_ARGS(1, "NEWKEY");
        sa = PR_OUT_REGISTER_AND_IGNORE;
        rk = 0;
        PARSE_KEY(args[0], sark);
    } else if (strcmp(cmd, "unregister") == 0) {
        NEED_ARGS(0, "no arguments (the key comes from --key)");
        sa = PR_OUT_REGISTER;
    } else if (strcmp(cmd, "reserve") == 0 || strcmp(cmd, "release") == 0) {
        NEED_ARGS(1, "TYPE");
        sa = cmd[2] == 's' ? PR_OUT_RESERVE : PR_OUT_RELEASE;
        PARSE_TYPE(args[0]);
    } else if (strcmp(cmd, "clear") == 0) {
        NEED_ARGS(0, "no arguments");
        sa = PR_OUT_CLEAR;
    } else if (strcmp(cmd, "preempt") == 0 || strcmp(cmd, "preempt-abort") == 0) {
        NEED_ARGS(2, "KEY TYPE");
        sa = cmd[7] == '-' ? PR_OUT_PREEMPT_AND_ABORT : PR_OUT_PREEMPT;
        PARSE_KEY(args[0], sark);
        PARSE_TYPE(args[1]);
    } else if (strcmp(cmd, "register-move") == 0) {
        NEED_ARGS(4, "NEWKEY TYPE INITIATOR RTPI");
        sa = PR_OUT_REGISTER_AND_MOVE;
        PARSE_KEY(args[0], sark);
        PARSE_TYPE(args[1]);
        char tidstr[PR_TID_ISCSI_NAME_MAX + 64];
        if (strchr(args[2], ',') || strncmp(args[2], "iqn.", 4) == 0)
            snprintf(tidstr, sizeof(tidstr), "%s", args[2]);
        else
            snprintf(tidstr, sizeof(tidstr), "iqn.2026-01.org.prhelper.sim:%s,i,0x800000000001",
                     args[2]);
        if (pr_tid_from_string(tidstr, &move_tid) < 0) {
            fprintf(stderr, "%s: invalid initiator '%s'\n", prog, args[2]);
            return EXIT_ERROR;
        }
        if (!parse_u64(args[3], &v) || v == 0 || v > 0xffff) {
            fprintf(stderr, "%s: invalid relative target port '%s' (1..65535)\n", prog, args[3]);
            return EXIT_ERROR;
        }
        move_rtpi = (unsigned)v;
    } else {
        fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
        fprintf(stderr, "Try `%s --help' for more information.\n", prog);
        return EXIT_ERROR;
    }

    if (pr_in) {
        cdb[0] = SCSI_OP_PERSISTENT_RESERVE_IN;
        cdb[1] = (uint8_t)sa;
        scsi_put_be16(cdb + 7, (uint16_t)o.alloc);
    } else {
        cdb[0] = SCSI_OP_PERSISTENT_RESERVE_OUT;
        cdb[1] = (uint8_t)sa;
        cdb[2] = (uint8_t)(PR_SCOPE_LU << 4 | type);
        plen = 24;
        if (sa == PR_OUT_REGISTER_AND_MOVE) {
            size_t tl = pr_tid_build(&move_tid, params + 24, sizeof(params) - 24);
            scsi_put_be64(params, rk);
            scsi_put_be64(params + 8, sark);
            params[17] = (uint8_t)((o.unreg ? PR_MOVE_FLAG_UNREG : 0) | (o.aptpl ? 1 : 0));
            scsi_put_be16(params + 18, (uint16_t)move_rtpi);
            scsi_put_be32(params + 20, (uint32_t)tl);
            plen = 24 + tl;
        } else {
            struct scsi_pr_out_basic *p = (struct scsi_pr_out_basic *)params;
            scsi_put_be64(p->reservation_key, rk);
            scsi_put_be64(p->service_action_key, sark);
            if (o.aptpl)
                p->flags |= PR_OUT_FLAG_APTPL;
        }
        scsi_put_be32(cdb + 5, (uint32_t)plen);
    }

    int dev = open(device, (pr_in ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
    if (dev < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, device, strerror(errno));
        return EXIT_ERROR;
    }
    int sock = connect_daemon(&o);
    if (sock < 0) {
        fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, o.socket_path, strerror(errno));
        close(dev);
        return EXIT_ERROR;
    }
    static struct prh_reply reply;
    int r = prh_wire_client_handshake(sock, NULL);
    if (r == 0)
        r = prh_wire_client_send(sock, cdb, sizeof(cdb), dev, params, plen);
    if (r == 0)
        r = prh_wire_client_recv(sock, &reply);
    close(sock);
    close(dev);
    if (r < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, o.socket_path,
                r == -EPIPE ? "the daemon closed the connection without a reply"
                : r == -EPROTO ? "malformed reply"
                               : strerror(-r));
        return EXIT_ERROR;
    }
    if (reply.status != SCSI_STATUS_GOOD) {
        print_status(&o, cmd, &reply, true);
        return exit_code(&reply);
    }
    switch (pr_in ? (int)sa : -1) {
    case PR_IN_READ_KEYS:
        print_read_keys(&o, &reply);
        break;
    case PR_IN_READ_RESERVATION:
        print_read_reservation(&o, &reply);
        break;
    case PR_IN_REPORT_CAPABILITIES:
        print_capabilities(&o, &reply);
        break;
    case PR_IN_READ_FULL_STATUS:
        print_full_status(&o, &reply);
        break;
    default:
        print_status(&o, cmd, &reply, true);
        break;
    }
    return 0;
}
