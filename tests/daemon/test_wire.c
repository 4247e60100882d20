/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_wire.c - one test per framing rule of the qemu-pr-helper protocol. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "prh_test_util.h"
#include "prhelper/wire.h"

struct pair {
    int client; /* the test writes here */
    int server; /* non-blocking, read by the state machine */
    int devfd;  /* an fd to pass */
    struct prh_wire_rx rx;
    int fds_before;
};

static int setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    p->client = sv[0];
    p->server = sv[1];
    fcntl(p->server, F_SETFL, O_NONBLOCK);
    p->devfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    assert_true(p->devfd >= 0);
    prh_wire_rx_init(&p->rx);
    p->fds_before = tu_fd_count(0);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;

    prh_wire_rx_reset(&p->rx);
    close(p->client);
    close(p->server);
    close(p->devfd);
    free(p);
    return 0;
}

static void send_features(struct pair *p, uint32_t word)
{
    uint8_t w[4];
    prh_wire_encode_features(w, word);
    assert_int_equal(prh_wire_write_all(p->client, w, 4), 0);
}

/* Past the handshake: the state machine waits for a CDB. */
static void handshake(struct pair *p)
{
    send_features(p, 0);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_int_equal(p->rx.state, PRH_RX_CDB);
}

static void send_cdb(struct pair *p, const uint8_t cdb[16], const int *fds, size_t nfds)
{
    assert_int_equal(prh_wire_send_fds(p->client, cdb, 16, fds, nfds), 16);
}

/* A whole PR IN CDB (sa, allocation length alloc) with the device fd. */
static void send_prin(struct pair *p, uint8_t sa, uint16_t alloc)
{
    uint8_t cdb[16];
    tu_cdb_prin(cdb, sa, alloc);
    send_cdb(p, cdb, &p->devfd, 1);
}

/* ---- handshake ---------------------------------------------------------- */

static void test_features_word_is_be32_zero(void **state)
{
    uint8_t w[4] = { 0xff, 0xff, 0xff, 0xff };
    (void)state;
    prh_wire_encode_features(w, PRH_WIRE_FEATURES);
    assert_memory_equal(w, "\0\0\0\0", 4);
}

static void test_handshake_zero_word_accepted(void **state)
{
    struct pair *p = *state;
    handshake(p);
}

static void test_handshake_nonzero_word_closes(void **state)
{
    struct pair *p = *state;
    send_features(p, 1);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_E_FEATURES);
}

static void test_handshake_fragmented_word(void **state)
{
    struct pair *p = *state;
    assert_int_equal(prh_wire_write_all(p->client, "\0\0", 2), 0);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_AGAIN);
    assert_true(prh_wire_rx_mid_frame(&p->rx));
    assert_int_equal(prh_wire_write_all(p->client, "\0\0", 2), 0);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
}

static void test_handshake_eof_is_orderly_close(void **state)
{
    struct pair *p = *state;
    shutdown(p->client, SHUT_WR);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_CLOSED);
}

/* qemu-pr-helper reads the word without a control buffer: the kernel
 * drops the fd and the handshake completes (wire-protocol.md 3.3). */
static void test_handshake_fd_with_word_dropped(void **state)
{
    struct pair *p = *state;
    uint8_t w[4] = { 0 }, cdb[16];
    assert_int_equal(prh_wire_send_fds(p->client, w, 4, &p->devfd, 1), 4);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_int_equal(p->rx.state, PRH_RX_CDB);
    assert_int_equal(tu_fd_count(0), p->fds_before);
    /* The next request still needs an fd of its own. */
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8);
    send_cdb(p, cdb, NULL, 0);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_E_NO_FD);
}

static void test_client_handshake_reads_then_answers_zero(void **state)
{
    struct pair *p = *state;
    uint32_t helper = 99;
    uint8_t w[4];
    /* The "server" end speaks first. */
    assert_int_equal(prh_wire_write_all(p->server, "\0\0\0\0", 4), 0);
    assert_int_equal(prh_wire_client_handshake(p->client, &helper), 0);
    assert_int_equal(helper, 0);
    fcntl(p->server, F_SETFL, 0);
    assert_int_equal(prh_wire_read_all(p->server, w, 4), 0);
    assert_memory_equal(w, "\0\0\0\0", 4);
}

/* ---- requests ----------------------------------------------------------- */

static void test_prin_request_with_one_fd(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];
    struct prh_request req;

    handshake(p);
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 32);
    send_cdb(p, cdb, &p->devfd, 1);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_int_equal(p->rx.state, PRH_RX_DONE);
    prh_wire_rx_take(&p->rx, &req);
    assert_memory_equal(req.cdb, cdb, 16);
    assert_int_equal(req.xfer_len, 32);
    assert_null(req.params);
    assert_true(req.fd >= 0);
    assert_int_equal(tu_fd_count(0), p->fds_before + 1);
    close(req.fd);
}

/*
 * CDB frames that close the connection (wire-protocol.md 3.1-3.3, 5.4):
 * one row each, the CDB (opcode, service action, bytes 7-8), how many
 * copies of the device fd ride on it, and the error; the fds received are
 * closed and none is kept for the request.
 */
static const struct refused_frame {
    const char *name;
    uint8_t cdb[16];
    size_t nfds;
    int error;
} refused_frames[] = {
    { "request without fd (3.3)", { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 32 }, 0,
      PRH_WIRE_E_NO_FD },
    { "request with two fds (3.3)", { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 32 }, 2,
      PRH_WIRE_E_TOO_MANY_FDS },
    { "253 fds, closed at once (3.3)", { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 8 }, 253,
      PRH_WIRE_E_TOO_MANY_FDS },
    { "not a PR opcode: INQUIRY (3.1)", { 0x12, 0, 0, 0, 36 }, 1, PRH_WIRE_E_BAD_OPCODE },
    { "PR IN allocation length 8193 (3.2)", { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0x20, 0x01 },
      1, PRH_WIRE_E_TOO_LONG },
    { "PR OUT parameter list length 8193, before the parameters (3.2)",
      { 0x5f, PR_OUT_REGISTER, 0, 0, 0, 0, 0, 0x20, 0x01 }, 1, PRH_WIRE_E_TOO_LONG },
};

static void test_refused_frames_close_and_keep_no_fd(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refused_frames) / sizeof(refused_frames[0]); i++) {
        const struct refused_frame *r = &refused_frames[i];
        void *st;
        setup(&st);
        struct pair *p = st;
        int fds[253];
        for (size_t k = 0; k < r->nfds; k++)
            fds[k] = p->devfd;
        handshake(p);
        send_cdb(p, r->cdb, r->nfds ? fds : NULL, r->nfds);
        int got = prh_wire_rx_step(&p->rx, p->server);
        int open_fds = tu_fd_count(0);
        if (got != r->error || p->rx.fd != -1 || open_fds != p->fds_before)
            fail_msg("%s: error %d (want %d), fd kept %d, %d fds open (want %d)", r->name, got,
                     r->error, p->rx.fd, open_fds, p->fds_before);
        teardown(&st);
    }
}

static void test_fd_on_second_cdb_fragment_accepted(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];
    struct prh_request req;

    handshake(p);
    tu_cdb_prin(cdb, PR_IN_READ_RESERVATION, 24);
    assert_int_equal(prh_wire_write_all(p->client, cdb, 5), 0);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_AGAIN);
    assert_int_equal(prh_wire_send_fds(p->client, cdb + 5, 11, &p->devfd, 1), 11);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    prh_wire_rx_take(&p->rx, &req);
    assert_true(req.fd >= 0);
    assert_int_equal(req.xfer_len, 24);
    close(req.fd);
}

static void test_fd_on_each_cdb_fragment_closes(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];

    handshake(p);
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8);
    assert_int_equal(prh_wire_send_fds(p->client, cdb, 8, &p->devfd, 1), 8);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_AGAIN);
    assert_int_equal(prh_wire_send_fds(p->client, cdb + 8, 8, &p->devfd, 1), 8);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_E_TOO_MANY_FDS);
    assert_int_equal(tu_fd_count(0), p->fds_before);
}

static void test_allocation_length_8192_accepted(void **state)
{
    struct pair *p = *state;
    struct prh_request req;

    handshake(p);
    send_prin(p, PR_IN_READ_KEYS, 8192);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    prh_wire_rx_take(&p->rx, &req);
    assert_int_equal(req.xfer_len, 8192);
    close(req.fd);
}

static void test_prout_params_framed_by_bytes_7_8(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16], params[24];
    struct prh_request req;

    handshake(p);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    cdb[5] = 0x01; /* ignored by QEMU and the helper alike */
    tu_params(params, 0, 0x1234, 0);
    send_cdb(p, cdb, &p->devfd, 1);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_AGAIN);
    assert_int_equal(p->rx.state, PRH_RX_PARAMS);
    assert_int_equal(prh_wire_write_all(p->client, params, 24), 0);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    prh_wire_rx_take(&p->rx, &req);
    assert_int_equal(req.xfer_len, 24);
    assert_non_null(req.params);
    assert_memory_equal(req.params, params, 24);
    close(req.fd);
}

static void test_prout_params_fragmented(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16], params[24];

    handshake(p);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(params, 0, 7, 0);
    send_cdb(p, cdb, &p->devfd, 1);
    for (int i = 0; i < 24; i += 6) {
        assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_AGAIN);
        assert_int_equal(prh_wire_write_all(p->client, params + i, 6), 0);
    }
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_memory_equal(p->rx.params, params, 24);
}

static void test_prout_zero_length_needs_no_params(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];

    handshake(p);
    tu_cdb_prout(cdb, PR_OUT_CLEAR, 0, 0);
    send_cdb(p, cdb, &p->devfd, 1);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_int_equal(p->rx.state, PRH_RX_DONE);
}

static void test_prin_length_not_followed_by_data(void **state)
{
    struct pair *p = *state;

    handshake(p);
    send_prin(p, PR_IN_READ_KEYS, 8192);
    /* PR IN: the length is what the client can take, nothing follows. */
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_int_equal(p->rx.state, PRH_RX_DONE);
}

static void test_eof_in_params_closes_and_frees_fd(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];

    handshake(p);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    send_cdb(p, cdb, &p->devfd, 1);
    assert_int_equal(prh_wire_write_all(p->client, "abc", 3), 0);
    shutdown(p->client, SHUT_WR);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_E_EOF);
    assert_int_equal(tu_fd_count(0), p->fds_before);
}

static void test_eof_in_cdb_closes(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];

    handshake(p);
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8);
    assert_int_equal(prh_wire_send_fds(p->client, cdb, 10, &p->devfd, 1), 10);
    shutdown(p->client, SHUT_WR);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_E_EOF);
    assert_int_equal(tu_fd_count(0), p->fds_before);
}

/* Parameter bytes are read without fd collection (wire-protocol.md 3.3):
 * an fd riding on them is closed and the request goes on with the CDB's. */
static void test_fd_with_params_dropped(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16], params[24] = { 0 };
    struct prh_request req;
    int other = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    struct stat want, got;

    assert_true(other >= 0);
    assert_int_equal(fstat(p->devfd, &want), 0);
    handshake(p);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    send_cdb(p, cdb, &p->devfd, 1);
    params[15] = 0x42;
    assert_int_equal(prh_wire_send_fds(p->client, params, 12, &other, 1), 12);
    assert_int_equal(prh_wire_send_fds(p->client, params + 12, 12, &other, 1), 12);
    close(other);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    prh_wire_rx_take(&p->rx, &req);
    assert_int_equal(req.xfer_len, 24);
    assert_int_equal(req.params[15], 0x42);
    assert_int_equal(fstat(req.fd, &got), 0);
    assert_int_equal(got.st_rdev, want.st_rdev); /* the CDB's fd, /dev/null */
    close(req.fd);
    assert_int_equal(tu_fd_count(0), p->fds_before);
}

static void test_eof_between_requests_is_orderly(void **state)
{
    struct pair *p = *state;
    struct prh_request req;

    handshake(p);
    send_prin(p, PR_IN_READ_KEYS, 8);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    prh_wire_rx_take(&p->rx, &req);
    close(req.fd);
    prh_wire_rx_next(&p->rx);
    shutdown(p->client, SHUT_WR);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_CLOSED);
}

static void test_second_request_after_next(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];
    struct prh_request req;

    handshake(p);
    for (int i = 0; i < 2; i++) {
        tu_cdb_prin(cdb, PR_IN_READ_KEYS, (uint16_t)(8 + i));
        send_cdb(p, cdb, &p->devfd, 1);
        assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
        prh_wire_rx_take(&p->rx, &req);
        assert_int_equal(req.xfer_len, 8 + i);
        close(req.fd);
        prh_wire_rx_next(&p->rx);
    }
    assert_int_equal(tu_fd_count(0), p->fds_before);
}

static void test_read_error_reported(void **state)
{
    struct prh_wire_rx rx;
    (void)state;
    prh_wire_rx_init(&rx);
    assert_int_equal(prh_wire_rx_step(&rx, -1), PRH_WIRE_E_IO);
}

static void test_rx_take_done_state_stays_ready(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];

    handshake(p);
    tu_cdb_prout(cdb, PR_OUT_CLEAR, 0, 0);
    send_cdb(p, cdb, &p->devfd, 1);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    /* A complete request waiting to be taken stays complete. */
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_true(prh_wire_rx_mid_frame(&p->rx));
}

/* ---- CDB rules ---------------------------------------------------------- */

static void test_cdb_xfer_len_is_bytes_7_8(void **state)
{
    uint8_t cdb[16] = { 0x5f, 0, 0, 0, 0, 0xff, 0xff, 0x01, 0x02 };
    (void)state;
    assert_int_equal(prh_wire_cdb_xfer_len(cdb), 0x0102);
}

static void test_check_cdb_rules(void **state)
{
    uint8_t cdb[16] = { 0x5e };
    (void)state;
    assert_int_equal(prh_wire_check_cdb(cdb), 0);
    cdb[0] = 0x5f;
    assert_int_equal(prh_wire_check_cdb(cdb), 0);
    cdb[0] = 0xff; /* the cleanup extension is not negotiated */
    assert_int_equal(prh_wire_check_cdb(cdb), PRH_WIRE_E_BAD_OPCODE);
}

static void test_error_strings_match_qemu(void **state)
{
    (void)state;
    assert_string_equal(prh_wire_error_str(PRH_WIRE_E_NO_FD), "No file descriptor in request.");
    assert_string_equal(prh_wire_error_str(PRH_WIRE_E_BAD_OPCODE), "Invalid CDB, closing socket.");
    assert_string_equal(prh_wire_error_str(PRH_WIRE_E_EOF),
                        "Unexpected end-of-file before all data were read");
    for (int e = -1; e >= -8; e--)
        assert_non_null(prh_wire_error_str(e));
}

/* What qemu-pr-helper prints at its default verbosity, prhelper prints at
 * its default (1); where it closes silently, prhelper logs only at -v. */
static void test_error_verbosity_follows_qemu(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[16];
    int r;

    send_features(p, 1);
    r = prh_wire_rx_step(&p->rx, p->server);
    assert_int_equal(r, PRH_WIRE_E_FEATURES);
    assert_int_equal(prh_wire_error_verbosity(r, (int)p->rx.state), 2);
    prh_wire_rx_init(&p->rx);
    send_features(p, 0);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    assert_int_equal(prh_wire_send_fds(p->client, cdb, 10, &p->devfd, 1), 10);
    shutdown(p->client, SHUT_WR);
    r = prh_wire_rx_step(&p->rx, p->server);
    assert_int_equal(r, PRH_WIRE_E_EOF); /* inside the CDB: silent there */
    assert_int_equal(prh_wire_error_verbosity(r, (int)p->rx.state), 2);
    assert_int_equal(prh_wire_error_verbosity(PRH_WIRE_E_IO, PRH_RX_FEATURES), 2);
    /* Inside the parameter list qemu-pr-helper reports the EOF. */
    assert_int_equal(prh_wire_error_verbosity(PRH_WIRE_E_EOF, PRH_RX_PARAMS), 1);
    assert_int_equal(prh_wire_error_verbosity(PRH_WIRE_E_NO_FD, PRH_RX_CDB), 1);
    assert_int_equal(prh_wire_error_verbosity(PRH_WIRE_E_BAD_OPCODE, PRH_RX_CDB), 1);
    assert_int_equal(prh_wire_error_verbosity(PRH_WIRE_E_TOO_MANY_FDS, PRH_RX_CDB), 1);
    assert_int_equal(prh_wire_error_verbosity(PRH_WIRE_E_TOO_LONG, PRH_RX_CDB), 1);
}

/* ---- replies ------------------------------------------------------------ */

static void test_reply_read_keys_bytes_match_doc(void **state)
{
    static struct prh_reply r;
    static uint8_t out[PRH_WIRE_REPLY_MAX];
    static const uint8_t data[16] = { 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
    uint8_t expect_hdr[8] = { 0, 0, 0, 0, 0, 0, 0, 0x10 };
    (void)state;

    prh_reply_init(&r);
    memcpy(r.data, data, 16);
    r.data_len = 16;
    assert_int_equal(prh_wire_encode_reply(&r, out), 104 + 16);
    assert_memory_equal(out, expect_hdr, 8);
    for (int i = 8; i < 104; i++)
        assert_int_equal(out[i], 0);
    assert_memory_equal(out + 104, data, 16);
}

static void test_reply_prout_good_is_104_zero_bytes(void **state)
{
    static struct prh_reply r;
    static uint8_t out[PRH_WIRE_REPLY_MAX];
    (void)state;

    prh_reply_init(&r);
    assert_int_equal(prh_wire_encode_reply(&r, out), 104);
    for (int i = 0; i < 104; i++)
        assert_int_equal(out[i], 0);
}

static void test_reply_header_roundtrip(void **state)
{
    static struct prh_reply r, back;
    static uint8_t out[PRH_WIRE_REPLY_MAX];
    (void)state;

    prh_reply_init(&r);
    r.status = SCSI_STATUS_CHECK_CONDITION;
    scsi_sense_build_fixed(r.sense, sizeof(r.sense), SENSE_INVALID_OPCODE);
    prh_wire_encode_reply(&r, out);
    assert_memory_equal(out, "\0\0\0\x02\0\0\0\0\x70\0\x05", 11);
    assert_true(prh_wire_decode_reply_header(out, &back));
    assert_int_equal(back.status, 2);
    assert_memory_equal(back.sense, r.sense, 96);
}

static void test_reply_header_oversized_rejected(void **state)
{
    uint8_t hdr[104] = { 0, 0, 0, 0, 0, 0, 0x20, 0x01 };
    static struct prh_reply r;
    (void)state;
    assert_false(prh_wire_decode_reply_header(hdr, &r));
    hdr[6] = 0x20, hdr[7] = 0;
    assert_true(prh_wire_decode_reply_header(hdr, &r));
    hdr[2] = 1; /* status > 255 */
    assert_false(prh_wire_decode_reply_header(hdr, &r));
}

static void test_client_send_bytes_match_doc(void **state)
{
    struct pair *p = *state;
    static const uint8_t expect[16] = { 0x5e, 0, 0, 0, 0, 0, 0, 0, 0x20 };
    uint8_t cdb10[10] = { 0x5e, 0, 0, 0, 0, 0, 0, 0, 0x20, 0 };

    handshake(p);
    assert_int_equal(prh_wire_client_send(p->client, cdb10, 10, p->devfd, NULL, 0), 0);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_memory_equal(p->rx.cdb, expect, 16);
    assert_true(p->rx.fd >= 0);
}

static void test_client_send_rejects_bad_sizes(void **state)
{
    struct pair *p = *state;
    uint8_t cdb[17] = { 0x5e };
    assert_int_equal(prh_wire_client_send(p->client, cdb, 0, p->devfd, NULL, 0), -EINVAL);
    assert_int_equal(prh_wire_client_send(p->client, cdb, 17, p->devfd, NULL, 0), -EINVAL);
    assert_int_equal(prh_wire_send_fds(p->client, cdb, 1, NULL, 254), -EINVAL);
}

static void test_client_recv_reads_data(void **state)
{
    struct pair *p = *state;
    static struct prh_reply r, got;
    static uint8_t out[PRH_WIRE_REPLY_MAX];

    prh_reply_init(&r);
    r.data_len = 3;
    memcpy(r.data, "xyz", 3);
    size_t n = prh_wire_encode_reply(&r, out);
    fcntl(p->server, F_SETFL, 0);
    assert_int_equal(prh_wire_write_all(p->server, out, n), 0);
    assert_int_equal(prh_wire_client_recv(p->client, &got), 0);
    assert_int_equal(got.data_len, 3);
    assert_memory_equal(got.data, "xyz", 3);
}

static void test_client_recv_eof_is_epipe(void **state)
{
    struct pair *p = *state;
    static struct prh_reply got;
    shutdown(p->server, SHUT_WR);
    assert_int_equal(prh_wire_client_recv(p->client, &got), -EPIPE);
}

static void test_client_recv_malformed_is_eproto(void **state)
{
    struct pair *p = *state;
    static struct prh_reply got;
    uint8_t hdr[104] = { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
    fcntl(p->server, F_SETFL, 0);
    assert_int_equal(prh_wire_write_all(p->server, hdr, 104), 0);
    assert_int_equal(prh_wire_client_recv(p->client, &got), -EPROTO);
}

static void test_write_to_closed_peer_is_epipe(void **state)
{
    struct pair *p = *state;
    close(p->server);
    p->server = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_int_equal(prh_wire_write_all(p->client, "x", 1), -EPIPE);
    assert_int_equal(prh_wire_client_handshake(p->client, NULL), -EPIPE);
}

/* ---- a full fd table (MSG_CTRUNC) and the compact frame ------------------ */

/* The daemon's own fd table is full: the CDB completes without its fd
 * (fd_lost), the PR OUT parameters still arrive, nothing says "too many". */
static void test_full_fd_table_loses_fd_not_the_frame(void **state)
{
    struct pair *p = *state;
    static struct tu_fd_fill fill;
    uint8_t cdb[16], params[24];
    struct prh_request req;

    handshake(p);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(params, 0, 0x77, 0);
    send_cdb(p, cdb, &p->devfd, 1);
    assert_int_equal(prh_wire_write_all(p->client, params, 24), 0);
    assert_int_equal(tu_fill_fd_table(&fill), 0);
    int r = prh_wire_rx_step(&p->rx, p->server);
    assert_int_equal(tu_unfill_fd_table(&fill), 0);
    assert_int_equal(r, PRH_WIRE_READY);
    assert_int_equal(p->rx.state, PRH_RX_DONE);
    assert_true(p->rx.fd_lost);
    prh_wire_rx_take(&p->rx, &req);
    assert_int_equal(req.fd, -1);
    assert_memory_equal(req.params, params, 24);
    /* The next request starts clean. */
    prh_wire_rx_next(&p->rx);
    assert_false(p->rx.fd_lost);
    send_prin(p, PR_IN_READ_KEYS, 8);
    assert_int_equal(prh_wire_rx_step(&p->rx, p->server), PRH_WIRE_READY);
    assert_true(p->rx.fd >= 0);
    assert_false(p->rx.fd_lost);
}

/* Two fds and room for one: the client did send more than one. */
static void test_full_fd_table_second_fd_is_still_too_many(void **state)
{
    struct pair *p = *state;
    static struct tu_fd_fill fill;
    uint8_t cdb[16];
    int fds[2] = { p->devfd, p->devfd };

    handshake(p);
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8);
    send_cdb(p, cdb, fds, 2);
    assert_int_equal(tu_fill_fd_table(&fill), 0);
    close(fill.fds[--fill.n]); /* room for exactly one */
    int r = prh_wire_rx_step(&p->rx, p->server);
    assert_int_equal(tu_unfill_fd_table(&fill), 0);
    assert_int_equal(r, PRH_WIRE_E_TOO_MANY_FDS);
    assert_int_equal(tu_fd_count(0), p->fds_before);
}

/* The frame a connection keeps takes its parameters from the caller's
 * buffer, which can change between requests (a per-thread pool). */
static void test_frame_params_go_to_the_callers_buffer(void **state)
{
    struct pair *p = *state;
    static uint8_t buf_a[PRH_WIRE_DATA_SIZE], buf_b[PRH_WIRE_DATA_SIZE];
    struct prh_wire_frame f;
    struct prh_request req;
    uint8_t cdb[16], params[24];

    prh_wire_frame_init(&f);
    send_features(p, 0);
    assert_int_equal(prh_wire_frame_step(&f, p->server, NULL), PRH_WIRE_READY);
    tu_cdb_prout(cdb, PR_OUT_REGISTER, 0, 24);
    tu_params(params, 0, 0x99, 0);
    send_cdb(p, cdb, &p->devfd, 1);
    assert_int_equal(prh_wire_write_all(p->client, params, 10), 0);
    assert_int_equal(prh_wire_frame_step(&f, p->server, buf_a), PRH_WIRE_AGAIN);
    assert_true(prh_wire_frame_mid(&f));
    assert_int_equal(prh_wire_write_all(p->client, params + 10, 14), 0);
    assert_int_equal(prh_wire_frame_step(&f, p->server, buf_a), PRH_WIRE_READY);
    prh_wire_frame_take(&f, buf_a, &req);
    assert_ptr_equal(req.params, buf_a);
    assert_memory_equal(buf_a, params, 24);
    close(req.fd);
    prh_wire_frame_next(&f);
    /* Another request, another buffer. */
    params[23] = 1;
    send_cdb(p, cdb, &p->devfd, 1);
    assert_int_equal(prh_wire_write_all(p->client, params, 24), 0);
    assert_int_equal(prh_wire_frame_step(&f, p->server, buf_b), PRH_WIRE_READY);
    prh_wire_frame_take(&f, buf_b, &req);
    assert_memory_equal(buf_b, params, 24);
    close(req.fd);
    prh_wire_frame_reset(&f);
    assert_int_equal(tu_fd_count(0), p->fds_before);
}

struct late_send {
    struct pair *p;
    const uint8_t *cdb;
    int ms;
};

static void *send_late(void *arg)
{
    struct late_send *l = arg;
    tu_sleep_ms(l->ms);
    send_cdb(l->p, l->cdb, &l->p->devfd, 1);
    return NULL;
}

/* The linger's read: at the start of a request it sleeps until the
 * request comes (then reads on without waiting) or SO_RCVTIMEO passes
 * (AGAIN, nothing taken); in the middle of a frame it never waits. */
static void test_frame_step_wait_waits_only_at_a_frame_start(void **state)
{
    struct pair *p = *state;
    static uint8_t buf[PRH_WIRE_DATA_SIZE];
    struct prh_wire_frame f;
    struct prh_request req;
    uint8_t cdb[16];
    struct timeval tv = { .tv_sec = 0, .tv_usec = 150 * 1000 };

    fcntl(p->server, F_SETFL, 0); /* blocking, as the server's sockets */
    assert_int_equal(setsockopt(p->server, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    prh_wire_frame_init(&f);
    send_features(p, 0);
    assert_int_equal(prh_wire_frame_step(&f, p->server, NULL), PRH_WIRE_READY);

    /* Nothing comes: back after the period, the frame untouched. */
    long t0 = tu_now_ms();
    assert_int_equal(prh_wire_frame_step_wait(&f, p->server, buf), PRH_WIRE_AGAIN);
    long waited = tu_now_ms() - t0;
    assert_true(waited >= 120);
    assert_true(waited < 2000);
    assert_false(prh_wire_frame_mid(&f));

    /* The request comes during the wait: taken whole, fd and all. */
    tu_cdb_prin(cdb, PR_IN_READ_KEYS, 8);
    struct late_send l = { p, cdb, 30 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_late, &l), 0);
    t0 = tu_now_ms();
    assert_int_equal(prh_wire_frame_step_wait(&f, p->server, buf), PRH_WIRE_READY);
    assert_true(tu_now_ms() - t0 < 120);
    pthread_join(th, NULL);
    prh_wire_frame_take(&f, buf, &req);
    assert_true(req.fd >= 0);
    assert_memory_equal(req.cdb, cdb, 16);
    close(req.fd);
    prh_wire_frame_next(&f);

    /* Half a CDB in: the rest is not waited for. */
    assert_int_equal(prh_wire_write_all(p->client, cdb, 4), 0);
    assert_int_equal(prh_wire_frame_step(&f, p->server, buf), PRH_WIRE_AGAIN);
    assert_true(prh_wire_frame_mid(&f));
    t0 = tu_now_ms();
    assert_int_equal(prh_wire_frame_step_wait(&f, p->server, buf), PRH_WIRE_AGAIN);
    assert_true(tu_now_ms() - t0 < 100);
    prh_wire_frame_reset(&f);
    assert_int_equal(tu_fd_count(0), p->fds_before);
}

/* The reply goes out as header + data in pieces as the socket takes them,
 * byte for byte what prh_wire_encode_reply() makes. */
static void test_send_reply_in_pieces_matches_encoding(void **state)
{
    struct pair *p = *state;
    static struct prh_reply r;
    static uint8_t expect[PRH_WIRE_REPLY_MAX], got[PRH_WIRE_REPLY_MAX];
    uint8_t hdr[PRH_WIRE_REPLY_HEADER_SIZE];
    size_t off = 0, have = 0;
    int sz = 4096;

    prh_reply_init(&r);
    r.status = SCSI_STATUS_GOOD;
    r.sense[0] = 0x70;
    r.data_len = PRH_WIRE_DATA_SIZE;
    for (size_t i = 0; i < PRH_WIRE_DATA_SIZE; i++)
        r.data[i] = (uint8_t)(i * 7);
    size_t total = prh_wire_encode_reply(&r, expect);
    assert_int_equal(prh_wire_encode_reply_header(&r, hdr), total);
    setsockopt(p->server, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(p->client, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    for (int rounds = 0; rounds < 1000; rounds++) {
        int rc = prh_wire_send_reply(p->server, hdr, r.data, total, &off);
        assert_true(rc >= 0);
        ssize_t n = read(p->client, got + have, total - have);
        assert_true(n > 0);
        have += (size_t)n;
        if (rc == 1 && have == total)
            break;
    }
    assert_int_equal(off, total);
    assert_int_equal(have, total);
    assert_memory_equal(got, expect, total);
    /* A reply without data is the header alone. */
    r.data_len = 0;
    off = 0;
    assert_int_equal(prh_wire_encode_reply_header(&r, hdr), 104);
    assert_int_equal(prh_wire_send_reply(p->server, hdr, r.data, 104, &off), 1);
    assert_int_equal(prh_wire_read_all(p->client, got, 104), 0);
    assert_memory_equal(got, hdr, 104);
    /* A closed peer is an error, not "would block". */
    close(p->client);
    p->client = open("/dev/null", O_RDONLY | O_CLOEXEC);
    off = 0;
    assert_int_equal(prh_wire_send_reply(p->server, hdr, r.data, 104, &off), -1);
    assert_int_equal(errno, EPIPE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_features_word_is_be32_zero),
        T(test_handshake_zero_word_accepted),
        T(test_handshake_nonzero_word_closes),
        T(test_handshake_fragmented_word),
        T(test_handshake_eof_is_orderly_close),
        T(test_handshake_fd_with_word_dropped),
        T(test_error_verbosity_follows_qemu),
        T(test_client_handshake_reads_then_answers_zero),
        T(test_prin_request_with_one_fd),
        cmocka_unit_test(test_refused_frames_close_and_keep_no_fd),
        T(test_fd_on_second_cdb_fragment_accepted),
        T(test_fd_on_each_cdb_fragment_closes),
        T(test_allocation_length_8192_accepted),
        T(test_prout_params_framed_by_bytes_7_8),
        T(test_prout_params_fragmented),
        T(test_prout_zero_length_needs_no_params),
        T(test_prin_length_not_followed_by_data),
        T(test_eof_in_params_closes_and_frees_fd),
        T(test_eof_in_cdb_closes),
        T(test_fd_with_params_dropped),
        T(test_eof_between_requests_is_orderly),
        T(test_second_request_after_next),
        T(test_read_error_reported),
        T(test_rx_take_done_state_stays_ready),
        T(test_cdb_xfer_len_is_bytes_7_8),
        T(test_check_cdb_rules),
        T(test_error_strings_match_qemu),
        T(test_reply_read_keys_bytes_match_doc),
        T(test_reply_prout_good_is_104_zero_bytes),
        T(test_reply_header_roundtrip),
        T(test_reply_header_oversized_rejected),
        T(test_client_send_bytes_match_doc),
        T(test_client_send_rejects_bad_sizes),
        T(test_client_recv_reads_data),
        T(test_client_recv_eof_is_epipe),
        T(test_client_recv_malformed_is_eproto),
        T(test_write_to_closed_peer_is_epipe),
        T(test_full_fd_table_loses_fd_not_the_frame),
        T(test_full_fd_table_second_fd_is_still_too_many),
        T(test_frame_params_go_to_the_callers_buffer),
        T(test_frame_step_wait_waits_only_at_a_frame_start),
        T(test_send_reply_in_pieces_matches_encoding),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
