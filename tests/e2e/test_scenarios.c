/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_scenarios.c - PR clients end to end on the built daemon with the
 * sim transport, the control socket and the request trace: a two-node
 * fence_scsi flow, a Windows-failover-style arbitration, QEMU's
 * reconnect when the helper restarts or drops a request, and
 * prhelper-replay of what was traced.  Each asserts the trace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "tu_text.h"
#include "daemon_fixture.h"
#include "prhelper/control.h"

#ifndef PRH_DAEMON_BIN
#error "PRH_DAEMON_BIN comes from src/CMakeLists.txt"
#endif

/* The daemon fixture (tests/helpers/daemon_fixture.h) with the control
 * socket and the trace file; a start waits until both sockets answer. */
static int setup(void **state)
{
    dfx_setup(state);
    struct dfx *f = *state;
    f->with_ctl = f->with_trace = true;
    return 0;
}

static void start_daemon_with(struct dfx *f, const char *extra)
{
    dfx_start(f, extra, NULL);
    dfx_wait_connectable(f);
}

static void start_daemon(struct dfx *f)
{
    start_daemon_with(f, NULL);
}

/* One control request; asserts it succeeded; the output (static). */
static const char *ctl(struct dfx *f, const char *line)
{
    static char *body;
    char buf[256], *words[16];
    snprintf(buf, sizeof(buf), "%s", line);
    int n = prh_control_split(buf, words, 16);
    free(body);
    body = NULL;
    int r = prh_control_call(f->ctl, n, words, false, &body);
    if (r != 0)
        fail_msg("control '%s' failed (%d): %s", line, r, body ? body : "");
    return body;
}

/* An initiator presenting the stable identity NAME (prhelper-cli -I). */
static int node(struct dfx *f, const char *name)
{
    static unsigned n;
    char addr[108];
    snprintf(addr, sizeof(addr), "prhelper-nexus:%s/scenario.%ld.%u", name, (long)getpid(), n++);
    int s = tu_connect_hs(f->sock, addr);
    assert_true(s >= 0);
    return s;
}

static struct prh_reply reply;

static int prout(struct dfx *f, int s, uint8_t sa, uint8_t type, uint64_t rk, uint64_t sark,
                 uint8_t flags)
{
    int dev = open(f->disk, O_RDWR | O_CLOEXEC);
    int r = tu_prout(s, dev, sa, type, rk, sark, flags, &reply);
    close(dev);
    return r;
}

static int prin(struct dfx *f, int s, uint8_t sa)
{
    int dev = open(f->disk, O_RDONLY | O_CLOEXEC);
    int r = tu_prin(s, dev, sa, 8192, &reply);
    close(dev);
    return r;
}

static struct scsi_sense sense(void)
{
    struct scsi_sense s = { 0 };
    scsi_sense_decode(reply.sense, sizeof(reply.sense), &s);
    return s;
}

/* The trace: the n-th line (1-based) that contains every given string. */
static char *trace_find(struct dfx *f, int nth, ...)
{
    static char *found;
    char *line = NULL;
    size_t cap = 0;
    FILE *t = fopen(f->trace, "r");
    free(found);
    found = NULL;
    if (!t)
        return NULL;
    while (getline(&line, &cap, t) > 0) {
        va_list ap;
        bool all = true;
        va_start(ap, nth);
        for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
            if (!strstr(line, s))
                all = false;
        va_end(ap);
        if (all && --nth == 0) {
            found = strdup(line);
            break;
        }
    }
    free(line);
    fclose(t);
    return found;
}

static int trace_count(struct dfx *f)
{
    FILE *t = fopen(f->trace, "r");
    int n = 0, c;
    if (!t)
        return 0;
    while ((c = fgetc(t)) != EOF)
        n += c == '\n';
    fclose(t);
    return n;
}

static int run_replay(const char *trace, char *out, size_t len, const char *sock, const char *dev)
{
    char cmd[1024];
    if (sock)
        snprintf(cmd, sizeof(cmd), "'%s' -k '%s' '%s' '%s' 2>&1", PRH_REPLAY_BIN, sock, dev,
                 trace);
    else
        snprintf(cmd, sizeof(cmd), "'%s' '%s' 2>&1", PRH_REPLAY_BIN, trace);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define NODE1 "iqn.2026-01.org.prhelper.sim:node1,i,0x800000000001@1"
#define NODE2 "iqn.2026-01.org.prhelper.sim:node2,i,0x800000000001@1"

/* ---- fence_scsi, two nodes ---------------------------------------------------- */

/*
 * fence_scsi unfences a node by registering its key with REGISTER AND
 * IGNORE EXISTING KEY (APTPL set), reserves Write Exclusive - Registrants
 * Only if nobody holds it, and fences a node with PREEMPT AND ABORT of
 * the node's key by another node's key.
 */
static void test_fence_scsi_two_node_flow(void **state)
{
    struct dfx *f = *state;
    start_daemon(f);
    int n1 = node(f, "node1"), n2 = node(f, "node2");

    /* unfence both: register with APTPL; node1 reserves WE-RO */
    assert_int_equal(prout(f, n1, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x1a, PR_OUT_FLAG_APTPL), 0);
    assert_int_equal(prout(f, n2, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x2a, PR_OUT_FLAG_APTPL), 0);
    assert_int_equal(prin(f, n1, PR_IN_READ_RESERVATION), 0);
    assert_int_equal(scsi_get_be32(reply.data + 4), 0); /* no reservation yet */
    assert_int_equal(prout(f, n1, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0x1a, 0, 0), 0);

    /* fence node2: node1 preempts and aborts 0x2a */
    assert_int_equal(prout(f, n1, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_WE_RO, 0x1a, 0x2a, 0), 0);
    assert_int_equal(prin(f, n1, PR_IN_READ_KEYS), 0);
    assert_true(tu_has_key(&reply, 0x1a) && !tu_has_key(&reply, 0x2a));
    /* node2 learns it was preempted, then is refused */
    assert_int_equal(prout(f, n2, PR_OUT_REGISTER, 0, 0x2a, 0x2a, PR_OUT_FLAG_APTPL),
                     SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(sense(), SENSE_UA_REGISTRATIONS_PREEMPTED));
    assert_int_equal(prout(f, n2, PR_OUT_REGISTER, 0, 0x2a, 0x2a, PR_OUT_FLAG_APTPL),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    assert_non_null(strstr(ctl(f, "state"), "yes"));

    /* power loss: APTPL keeps node1's registration and reservation */
    ctl(f, "power-cycle all");
    assert_int_equal(prin(f, n1, PR_IN_READ_KEYS), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(sense(), SENSE_UA_POWER_ON_RESET));
    assert_int_equal(prin(f, n1, PR_IN_READ_RESERVATION), 0);
    assert_int_equal(scsi_get_be64(reply.data + 8), 0x1a);
    assert_int_equal(reply.data[21] & 0xf, PR_TYPE_WE_RO);

    /* unfence node2 again */
    prin(f, n2, PR_IN_READ_KEYS); /* its POWER ON RESET */
    assert_int_equal(prout(f, n2, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x2a, PR_OUT_FLAG_APTPL), 0);
    assert_int_equal(prin(f, n2, PR_IN_READ_KEYS), 0);
    assert_true(tu_has_key(&reply, 0x1a) && tu_has_key(&reply, 0x2a));

    /* the trace tells the story */
    char *t = trace_find(f, 1, "\"nexus\":\"" NODE1 "\"", "PREEMPT AND ABORT",
                         "\"service_action_key\":\"0x2a\"", "\"status\":\"GOOD\"", NULL);
    assert_non_null(t);
    tu_assert_contains(t, "\"type_name\":\"Write Exclusive, registrants only\"",
                       "\"generation_before\":2,\"generation_after\":3");
    t = trace_find(f, 1, "\"nexus\":\"" NODE2 "\"", "\"asc\":42,\"ascq\":5", NULL);
    assert_non_null(t);
    assert_non_null(strstr(t, "\"status\":\"CHECK CONDITION\""));
    assert_non_null(trace_find(f, 1, "\"nexus\":\"" NODE2 "\"", "RESERVATION CONFLICT", NULL));
    t = trace_find(f, 1, "\"nexus\":\"" NODE1 "\"", "\"asc\":41,\"ascq\":0", NULL);
    assert_non_null(t);
    tu_assert_contains(t, "\"peer_pid\":", "\"client_id\":");
    close(n1);
    close(n2);

    /* the trace replays on a fresh simulator LUN with no divergence */
    char out[4096];
    /* the power cycle is not a command: replay up to it only */
    char head[300], cmd[700];
    snprintf(head, sizeof(head), "%s/head.jsonl", f->dir);
    snprintf(cmd, sizeof(cmd), "head -n 8 '%s' > '%s'", f->trace, head);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run_replay(head, out, sizeof(out), NULL, NULL), 0);
    assert_non_null(strstr(out, "replayed 8 commands, no divergence"));
}

/* ---- Windows failover arbitration ---------------------------------------------- */

/*
 * The owner holds a registrants-only reservation and defends it: when a
 * challenger registers (REGISTER AND IGNORE) and reads the reservation,
 * the owner preempts the challenger's key, and the challenger's PREEMPT
 * then fails.  When the owner is gone, the challenger's PREEMPT wins.
 */
static void test_windows_failover_arbitration_challenge_defense_and_takeover(void **state)
{
    struct dfx *f = *state;
    start_daemon(f);
    int owner = node(f, "node1"), chal = node(f, "node2");

    assert_int_equal(prout(f, owner, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x1001, 0), 0);
    assert_int_equal(prout(f, owner, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0x1001, 0, 0), 0);

    /* round 1: the challenger registers and looks; the owner defends */
    assert_int_equal(prout(f, chal, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x2002, 0), 0);
    assert_int_equal(prin(f, chal, PR_IN_READ_RESERVATION), 0);
    assert_int_equal(scsi_get_be64(reply.data + 8), 0x1001);
    assert_int_equal(prin(f, owner, PR_IN_READ_KEYS), 0);
    assert_true(tu_has_key(&reply, 0x2002));
    assert_int_equal(prout(f, owner, PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0x1001, 0x2002, 0), 0);
    assert_int_equal(prout(f, chal, PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0x2002, 0x1001, 0),
                     SCSI_STATUS_CHECK_CONDITION); /* REGISTRATIONS PREEMPTED first */
    assert_int_equal(prout(f, chal, PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0x2002, 0x1001, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);

    /* round 2: the owner stops defending; the challenger takes over */
    assert_int_equal(prout(f, chal, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x2002, 0), 0);
    assert_int_equal(prin(f, chal, PR_IN_READ_RESERVATION), 0);
    assert_int_equal(prout(f, chal, PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0x2002, 0x1001, 0), 0);
    assert_int_equal(prin(f, chal, PR_IN_READ_RESERVATION), 0);
    assert_int_equal(scsi_get_be64(reply.data + 8), 0x2002);
    /* the old owner is told, then fenced */
    assert_int_equal(prin(f, owner, PR_IN_READ_KEYS), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(sense(), SENSE_UA_REGISTRATIONS_PREEMPTED));
    assert_int_equal(prout(f, owner, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0x1001, 0, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    const char *st = ctl(f, "state");
    assert_non_null(strstr(st, "Write Exclusive, registrants only"));

    /* trace: the defense, the refused challenge, the takeover */
    char *t = trace_find(f, 1, "\"nexus\":\"" NODE1 "\"", "\"service_action\":\"PREEMPT\"",
                         "\"service_action_key\":\"0x2002\"", "\"status\":\"GOOD\"", NULL);
    assert_non_null(t);
    t = trace_find(f, 1, "\"nexus\":\"" NODE2 "\"", "\"service_action\":\"PREEMPT\"",
                   "RESERVATION CONFLICT", NULL);
    assert_non_null(t);
    t = trace_find(f, 1, "\"nexus\":\"" NODE2 "\"", "\"service_action\":\"PREEMPT\"",
                   "\"status\":\"GOOD\"", NULL);
    assert_non_null(t);
    assert_non_null(trace_find(f, 1, "\"nexus\":\"" NODE2 "\"", "READ RESERVATION",
                               "\"reserved\":true,\"key\":\"0x2002\"", NULL));
    close(owner);
    close(chal);

    /* the whole trace replays on a fresh simulator LUN */
    char out[4096];
    assert_int_equal(run_replay(f->trace, out, sizeof(out), NULL, NULL), 0);
    assert_non_null(strstr(out, "no divergence"));
}

/* ---- QEMU's reconnect ----------------------------------------------------------- */

/*
 * What QEMU's pr-manager-helper does: up to 5 attempts to (re)connect and
 * send the CDB (waiting after a failed connect; 1 s in QEMU, 50 ms here);
 * once the CDB is sent, any failure fails the command with CHECK
 * CONDITION, ABORTED COMMAND, LOGICAL UNIT COMMUNICATION FAILURE (08h/00h).
 */
struct qemu_client {
    struct dfx *f;
    int sock;
};

static int qemu_run(struct qemu_client *q, const uint8_t cdb[16], const uint8_t *params,
                    size_t plen, uint8_t *status, struct scsi_sense *s)
{
    int dev = open(q->f->disk, O_RDWR | O_CLOEXEC), r = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (q->sock < 0) {
            q->sock = tu_connect_hs(q->f->sock, NULL);
            if (q->sock < 0) {
                tu_sleep_ms(50);
                continue;
            }
        }
        r = prh_wire_send_fds(q->sock, cdb, 16, &dev, 1) == 16 ? 0 : -1;
        if (r == 0)
            break;
        close(q->sock);
        q->sock = -1;
    }
    if (r == 0 && plen)
        r = prh_wire_write_all(q->sock, params, plen);
    if (r == 0)
        r = prh_wire_client_recv(q->sock, &reply);
    close(dev);
    if (r < 0) {
        if (q->sock >= 0)
            close(q->sock);
        q->sock = -1;
        *status = SCSI_STATUS_CHECK_CONDITION;
        *s = SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00);
        return -1;
    }
    *status = reply.status;
    scsi_sense_decode(reply.sense, sizeof(reply.sense), s);
    return 0;
}

static int qemu_register(struct qemu_client *q, uint64_t rk, uint64_t sark, uint8_t flags,
                         struct scsi_sense *s)
{
    uint8_t cdb[16], p[24], st;
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(p, rk, sark, flags);
    qemu_run(q, cdb, p, 24, &st, s);
    return st;
}

static int qemu_read_keys(struct qemu_client *q, struct scsi_sense *s)
{
    uint8_t cdb[16], st;
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8192);
    qemu_run(q, cdb, NULL, 0, &st, s);
    return st;
}

static void test_qemu_reconnects_after_a_helper_restart_and_keeps_aptpl_state(void **state)
{
    struct dfx *f = *state;
    struct qemu_client q = { .f = f, .sock = -1 };
    struct scsi_sense s;
    start_daemon_with(f, "--no-sandbox"); /* restart executes the daemon again */

    assert_int_equal(qemu_register(&q, 0, 0x51, PR_OUT_FLAG_APTPL, &s), 0);
    int first = q.sock;
    ctl(f, "restart"); /* answered, then the daemon executes itself again */
    assert_true(tu_peer_closed(first, 5000));
    dfx_wait_connectable(f);
    /* the next command reconnects and succeeds: APTPL kept the key */
    assert_int_equal(qemu_read_keys(&q, &s), 0);
    assert_true(tu_has_key(&reply, 0x51));

    /* crash while the daemon is down: every attempt fails -> LUN COMM FAILURE */
    ctl(f, "crash");
    assert_int_equal(tu_wait_exit(f->pid, 5000), 128 + SIGKILL);
    f->pid = 0;
    unlink(f->sock); /* a crash leaves the socket file; nobody listens */
    assert_int_equal(qemu_read_keys(&q, &s), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(s, SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00)));
    /* the supervisor starts it again: the guest's retry works */
    start_daemon(f);
    assert_int_equal(qemu_read_keys(&q, &s), 0);
    assert_true(tu_has_key(&reply, 0x51));

    /* trace: from both daemon lives, appended to the same file */
    assert_non_null(trace_find(f, 1, "\"service_action\":\"REGISTER\"", "\"aptpl\":true",
                               "\"status\":\"GOOD\"", NULL));
    assert_non_null(trace_find(f, 2, "READ KEYS", "\"keys\":[\"0x51\"]", NULL));
    assert_int_equal(trace_count(f), 3);
}

static void test_qemu_fails_the_command_when_the_helper_drops_a_request(void **state)
{
    struct dfx *f = *state;
    struct qemu_client q = { .f = f, .sock = -1 };
    struct scsi_sense s;
    start_daemon(f);

    ctl(f, "fault add close-after sa=register");
    assert_int_equal(qemu_register(&q, 0, 0x77, 0, &s), SCSI_STATUS_CHECK_CONDITION);
    assert_true(scsi_sense_equal(s, SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00)));
    /* the command ran although QEMU never learned it: the retry sees the key */
    assert_int_equal(qemu_read_keys(&q, &s), 0);
    assert_true(tu_has_key(&reply, 0x77));
    char *t = trace_find(f, 1, "\"service_action\":\"REGISTER\"", NULL);
    assert_non_null(t);
    tu_assert_contains(t, "\"status\":\"(no reply)\",\"status_code\":-1", "\"disconnected\":true",
                       "\"generation_before\":0,\"generation_after\":1");

    /* a fault the guest sees as BUSY, for one command only */
    ctl(f, "fault add busy sa=read-keys");
    assert_int_equal(qemu_read_keys(&q, &s), SCSI_STATUS_BUSY);
    assert_int_equal(qemu_read_keys(&q, &s), 0);
    assert_non_null(trace_find(f, 1, "READ KEYS", "\"status\":\"BUSY\",\"status_code\":8", NULL));
}

/* ---- replay through a helper ------------------------------------------------------ */

static void test_replay_through_a_helper_finds_the_first_divergence(void **state)
{
    struct dfx *f = *state;
    start_daemon(f);
    int n1 = node(f, "node1"), n2 = node(f, "node2");
    assert_int_equal(prout(f, n1, PR_OUT_REGISTER, 0, 0, 0xa, 0), 0);
    assert_int_equal(prout(f, n2, PR_OUT_REGISTER, 0, 0, 0xb, 0), 0);
    assert_int_equal(prout(f, n1, PR_OUT_RESERVE, PR_TYPE_EA, 0xa, 0, 0), 0);
    assert_int_equal(prout(f, n2, PR_OUT_RESERVE, PR_TYPE_EA, 0xb, 0, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(prin(f, n2, PR_IN_READ_RESERVATION), 0);
    close(n1);
    close(n2);
    char saved[300], cmd[700], out[4096];
    snprintf(saved, sizeof(saved), "%s/saved.jsonl", f->dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", f->trace, saved);
    assert_int_equal(system(cmd), 0);

    /* a second disk through the same helper: the same answers */
    char *disk2 = tu_disk(f->dir, "disk2");
    assert_int_equal(run_replay(saved, out, sizeof(out), f->sock, disk2), 0);
    assert_non_null(strstr(out, "replayed 5 commands, no divergence"));
    /* replayed again on the same disk: REGISTER now conflicts (key already there) */
    assert_int_equal(run_replay(saved, out, sizeof(out), f->sock, disk2), 2);
    tu_assert_contains(out, "divergence in status at", "trace   status GOOD",
                       "replay  status RESERVATION CONFLICT");
    assert_non_null(strstr(out, NODE1));
    /* a fault makes the simulator's answer differ: reported with both sides decoded */
    ctl(f, "fault add ua-power-on sa=read-reservation");
    char *disk3 = tu_disk(f->dir, "disk3");
    assert_int_equal(run_replay(saved, out, sizeof(out), f->sock, disk3), 2);
    tu_assert_contains(out, "divergence in status",
                       "replay  status CHECK CONDITION, sense {\"key\":6");
    free(disk2);
    free(disk3);

    /* errors: a missing trace, a line that is not a record */
    assert_int_equal(run_replay("/nonexistent", out, sizeof(out), NULL, NULL), 1);
    snprintf(cmd, sizeof(cmd), "echo '{\"hello\":1}' > '%s'", saved);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run_replay(saved, out, sizeof(out), NULL, NULL), 1);
    assert_non_null(strstr(out, "not a prhelper request record"));
}

/* ---- replay of a trace that cannot name its nexuses (sg) ----------------------------- */

static void test_replay_of_an_sg_trace_takes_device_nodes_as_nexuses(void **state)
{
    struct dfx *f = *state;
    char trace[300], cmd[1024], out[4096];
    snprintf(trace, sizeof(trace), "%s/sg.jsonl", f->dir);
    FILE *t = fopen(trace, "w");
    /* REGISTER 0xa1 through /dev/sdb, READ KEYS through /dev/sdc of the same disk */
    fprintf(t, "{\"seq\":1,\"client_id\":1,\"nexus\":\"host initiator port of the device "
               "path\",\"lun\":\"blk-8-16\",\"status_code\":0,\"cdb_hex\":"
               "\"5f000000000000001800\",\"params_hex\":\"000000000000000000000000000000a1"
               "0000000000000000\",\"sense_hex\":\"\",\"data_hex\":\"\"}\n");
    fprintf(t, "{\"seq\":2,\"client_id\":2,\"nexus\":\"host initiator port of the device "
               "path\",\"lun\":\"blk-8-32\",\"status_code\":0,\"cdb_hex\":"
               "\"5e000000000000200000\",\"params_hex\":\"\",\"sense_hex\":\"\",\"data_hex\":"
               "\"000000010000000800000000000000a1\"}\n");
    /* the same REGISTER again through /dev/sdb: a conflict (key already registered) */
    fprintf(t, "{\"seq\":3,\"client_id\":3,\"nexus\":\"host initiator port of the device "
               "path\",\"lun\":\"blk-8-16\",\"status_code\":24,\"cdb_hex\":"
               "\"5f000000000000001800\",\"params_hex\":\"000000000000000000000000000000a1"
               "0000000000000000\",\"sense_hex\":\"\",\"data_hex\":\"\"}\n");
    fclose(t);
    snprintf(cmd, sizeof(cmd), "'%s' --one-lun '%s' 2>&1", PRH_REPLAY_BIN, trace);
    FILE *p = popen(cmd, "r");
    out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
    assert_int_equal(WEXITSTATUS(pclose(p)), 0);
    assert_non_null(strstr(out, "replayed 3 commands, no divergence"));
    /* as two different disks, /dev/sdc sees no key */
    snprintf(cmd, sizeof(cmd), "'%s' --profile=lio '%s' 2>&1", PRH_REPLAY_BIN, trace);
    p = popen(cmd, "r");
    out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
    assert_int_equal(WEXITSTATUS(pclose(p)), 2);
    tu_assert_contains(out, "divergence in data at", "LUN blk-8-32",
                       "data {\"generation\":0,\"additional_length\":0,\"keys\":[]}");
    snprintf(cmd, sizeof(cmd), "'%s' --profile=nope '%s' >/dev/null 2>&1", PRH_REPLAY_BIN, trace);
    assert_int_equal(WEXITSTATUS(system(cmd)), 1);
}

/* ---- the trace on stderr at -v -v ------------------------------------------------ */

static void test_trace_records_go_to_stderr_at_verbose_twice(void **state)
{
    struct dfx *f = *state;
    start_daemon_with(f, "-vv");
    int n1 = node(f, "node1");
    assert_int_equal(prin(f, n1, PR_IN_READ_KEYS), 0);
    close(n1);
    FILE *log = fopen(f->log, "r");
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof(line), log))
        found = strncmp(line, "{\"seq\":1,", 9) == 0 && strstr(line, "\"nexus\":\"" NODE1 "\"") &&
                strstr(line, "\"service_action\":\"READ KEYS\"");
    fclose(log);
    assert_true(found);
    assert_non_null(trace_find(f, 1, "READ KEYS", NULL)); /* and in the file */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T_(name) cmocka_unit_test_setup_teardown(name, setup, dfx_teardown)
        T_(test_fence_scsi_two_node_flow),
        T_(test_windows_failover_arbitration_challenge_defense_and_takeover),
        T_(test_qemu_reconnects_after_a_helper_restart_and_keeps_aptpl_state),
        T_(test_qemu_fails_the_command_when_the_helper_drops_a_request),
        T_(test_replay_through_a_helper_finds_the_first_divergence),
        T_(test_trace_records_go_to_stderr_at_verbose_twice),
        T_(test_replay_of_an_sg_trace_takes_device_nodes_as_nexuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
