/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wire.h - the qemu-pr-helper socket protocol, and nothing else.
 *
 * Handshake: the helper sends its BE32 feature word (0), the client answers
 * with its own (must be 0).  Request: a 16-byte CDB carrying exactly one fd
 * in SCM_RIGHTS, then for PR OUT the parameter list whose length is the
 * BE16 in CDB bytes 7-8 (max 8192).  Reply: BE32 status, BE32 data size,
 * 96 sense bytes, data.  See docs/daemon.md and the shared wire-protocol.md.
 *
 * The receive side is an incremental state machine (struct prh_wire_frame,
 * 32 bytes per connection, with the parameter list in a buffer the caller
 * lends per request; struct prh_wire_rx bundles one) fed from a
 * non-blocking socket, so a server never blocks on one client.
 * The send side and a blocking client API are here too (prhelper-cli,
 * tests).
 */
#ifndef PRHELPER_WIRE_H
#define PRHELPER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PRH_WIRE_CDB_SIZE 16
#define PRH_WIRE_SENSE_SIZE 96
#define PRH_WIRE_DATA_SIZE 8192
#define PRH_WIRE_FEATURES 0u
#define PRH_WIRE_FEATURE_SIZE 4

/* Reply header as it travels (all integers big-endian). */
struct prh_wire_reply_header {
    uint8_t result[4];
    uint8_t size[4];
    uint8_t sense[PRH_WIRE_SENSE_SIZE];
};
_Static_assert(sizeof(struct prh_wire_reply_header) == 104, "reply header is 104 bytes");

#define PRH_WIRE_REPLY_HEADER_SIZE sizeof(struct prh_wire_reply_header)
#define PRH_WIRE_REPLY_MAX (PRH_WIRE_REPLY_HEADER_SIZE + PRH_WIRE_DATA_SIZE)

/* One decoded request.  fd is owned by whoever holds the request. */
struct prh_request {
    uint8_t cdb[PRH_WIRE_CDB_SIZE];
    int fd;
    uint32_t xfer_len;      /* CDB bytes 7-8 */
    const uint8_t *params;  /* PR OUT parameter list, xfer_len bytes */
};

/* One reply before encoding. */
struct prh_reply {
    uint8_t status;
    uint8_t sense[PRH_WIRE_SENSE_SIZE];
    uint32_t data_len;
    uint8_t data[PRH_WIRE_DATA_SIZE];
};

/* Why a connection is closed.  Values are negative. */
enum prh_wire_error {
    PRH_WIRE_E_IO = -1,          /* recvmsg() failed */
    PRH_WIRE_E_EOF = -2,         /* peer closed in the middle of a frame */
    PRH_WIRE_E_FEATURES = -3,    /* client feature word not 0 */
    PRH_WIRE_E_NO_FD = -4,       /* CDB without a file descriptor */
    PRH_WIRE_E_TOO_MANY_FDS = -5,/* more than one fd with a CDB */
    PRH_WIRE_E_BAD_OPCODE = -6,  /* opcode not 5Eh/5Fh */
    PRH_WIRE_E_TOO_LONG = -7,    /* transfer length > 8192 */
};

/* The verbosity at which a protocol error is logged: 1 (the default) where
 * qemu-pr-helper prints it too, 2 where it closes without a word (a bad
 * feature word; EOF or a read error before the parameter list).  rx_state:
 * the frame's state when it failed. */
int prh_wire_error_verbosity(int err, int rx_state);

/* Results of prh_wire_rx_step() other than errors. */
enum prh_wire_progress {
    PRH_WIRE_AGAIN = 0,   /* need more bytes (socket would block) */
    PRH_WIRE_READY = 1,   /* handshake done, or a full request is ready */
    PRH_WIRE_CLOSED = 2,  /* orderly EOF between frames */
};

enum prh_wire_rx_state {
    PRH_RX_FEATURES,
    PRH_RX_CDB,
    PRH_RX_PARAMS,
    PRH_RX_DONE,
};

/*
 * The receive state of one connection without its parameter buffer: what
 * a connection keeps between requests (32 bytes).  The PR OUT parameter
 * list goes to a buffer the caller passes to each step, so an idle
 * connection holds no 8 KiB buffer (docs/daemon.md, "Memory").
 */
struct prh_wire_frame {
    uint8_t state;              /* enum prh_wire_rx_state */
    bool fd_lost;               /* the CDB's fd was sent but the kernel could not
                                   install it: this process's fd table is full */
    uint16_t got;               /* bytes of the current part */
    uint8_t features[PRH_WIRE_FEATURE_SIZE];
    uint8_t cdb[PRH_WIRE_CDB_SIZE];
    int fd;                     /* -1 until received */
    uint32_t xfer_len;
};
_Static_assert(sizeof(struct prh_wire_frame) == 32, "a connection's frame state is 32 bytes");

/* Start at the handshake (the server has sent or will send its word). */
void prh_wire_frame_init(struct prh_wire_frame *f);
/* Wait for the next request (after a reply has been sent). */
void prh_wire_frame_next(struct prh_wire_frame *f);
/* Close a stashed fd (connection closing); safe to call twice. */
void prh_wire_frame_reset(struct prh_wire_frame *f);
/* True when part of a frame has been received. */
bool prh_wire_frame_mid(const struct prh_wire_frame *f);
/*
 * prh_wire_rx_step() on a frame: params (PRH_WIRE_DATA_SIZE bytes) receives
 * the PR OUT parameter list and must be the same buffer for every step of
 * one frame; it is not touched in the other states.  A CDB whose fd the
 * kernel could not install because this process is out of descriptors
 * (MSG_CTRUNC, no fd delivered) is not a protocol error: the frame
 * completes with fd -1 and fd_lost set, and the caller answers it with a
 * temporary error.
 */
int prh_wire_frame_step(struct prh_wire_frame *f, int sock, uint8_t *params);
/*
 * The same, but at the start of a request (nothing of it received yet) the
 * first read waits for data: for as long as the socket's SO_RCVTIMEO (or
 * forever without one), then PRH_WIRE_AGAIN.  The reads after it do not
 * wait.  On a socket without O_NONBLOCK only.
 */
int prh_wire_frame_step_wait(struct prh_wire_frame *f, int sock, uint8_t *params);
/* Move the request out (params: the buffer of the steps). */
void prh_wire_frame_take(struct prh_wire_frame *f, const uint8_t *params,
                         struct prh_request *req);

/* The same with the parameter buffer inside (tests, fuzzing, simple clients). */
struct prh_wire_rx {
    enum prh_wire_rx_state state;
    size_t got;                 /* bytes of the current part */
    uint8_t features[PRH_WIRE_FEATURE_SIZE];
    uint8_t cdb[PRH_WIRE_CDB_SIZE];
    int fd;                     /* -1 until received */
    uint32_t xfer_len;
    bool fd_lost;               /* see struct prh_wire_frame */
    uint8_t params[PRH_WIRE_DATA_SIZE];
};

/* Start at the handshake (the server has sent or will send its word). */
void prh_wire_rx_init(struct prh_wire_rx *rx);
/* Wait for the next request (after a reply has been sent). */
void prh_wire_rx_next(struct prh_wire_rx *rx);
/* Close a stashed fd (connection closing); safe to call twice. */
void prh_wire_rx_reset(struct prh_wire_rx *rx);
/* True when part of a frame has been received. */
bool prh_wire_rx_mid_frame(const struct prh_wire_rx *rx);

/*
 * Read what the non-blocking socket has and advance.  Returns
 * PRH_WIRE_READY when the handshake completed (state becomes PRH_RX_CDB)
 * or a request is complete (state PRH_RX_DONE; take it with
 * prh_wire_rx_take()), PRH_WIRE_AGAIN, PRH_WIRE_CLOSED, or an enum
 * prh_wire_error.  Every fd beyond the one a request carries is closed at
 * once; on error the stashed fd is closed too.
 */
int prh_wire_rx_step(struct prh_wire_rx *rx, int sock);

/* Move the request out: the caller owns req->fd afterwards. */
void prh_wire_rx_take(struct prh_wire_rx *rx, struct prh_request *req);

/* The message qemu-pr-helper prints for an error (never NULL). */
const char *prh_wire_error_str(int err);

/* Length the CDB announces (bytes 7-8, scsi_cdb_xfer() group 2 rule). */
uint32_t prh_wire_cdb_xfer_len(const uint8_t cdb[PRH_WIRE_CDB_SIZE]);
/* 0, PRH_WIRE_E_BAD_OPCODE or PRH_WIRE_E_TOO_LONG. */
int prh_wire_check_cdb(const uint8_t cdb[PRH_WIRE_CDB_SIZE]);
static inline bool prh_wire_is_pr_out(const uint8_t *cdb) { return cdb[0] == 0x5f; }

/* Encode the feature word. */
void prh_wire_encode_features(uint8_t out[PRH_WIRE_FEATURE_SIZE], uint32_t features);

/*
 * Encode a reply into out (PRH_WIRE_REPLY_MAX bytes).  Returns the number
 * of bytes to send: 104 + data_len.
 */
size_t prh_wire_encode_reply(const struct prh_reply *reply, uint8_t *out);
/*
 * The 104-byte header of a reply (the data follows it on the wire).
 * Returns the length of the whole reply: 104 + data_len (clipped to 8192).
 */
size_t prh_wire_encode_reply_header(const struct prh_reply *reply,
                                    uint8_t hdr[PRH_WIRE_REPLY_HEADER_SIZE]);
/*
 * Send what a non-blocking socket takes of a reply, header and data in one
 * sendmsg(), from byte *off of total (prh_wire_encode_reply_header()'s
 * result).  1 all sent, 0 the socket is full (wait for EPOLLOUT), -1 with
 * errno on error.
 */
int prh_wire_send_reply(int sock, const uint8_t hdr[PRH_WIRE_REPLY_HEADER_SIZE],
                        const uint8_t *data, size_t total, size_t *off);
/* Decode a 104-byte header; false if size > 8192 or status is negative. */
bool prh_wire_decode_reply_header(const uint8_t *in, struct prh_reply *reply);

/* Reset a reply to GOOD, no sense, no data. */
void prh_reply_init(struct prh_reply *reply);

/* ---- blocking helpers (clients, tests) -------------------------------- */

/* sendmsg() of len bytes with nfds fds in one SCM_RIGHTS; all or -errno. */
ssize_t prh_wire_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds);
/* Write/read exactly len bytes (restarting on EINTR); 0 or -errno (-EPIPE on EOF). */
int prh_wire_write_all(int sock, const void *buf, size_t len);
int prh_wire_read_all(int sock, void *buf, size_t len);

/* Client side of the handshake: read the helper word, send 0.  0 or -errno. */
int prh_wire_client_handshake(int sock, uint32_t *helper_features);
/* Send one request: CDB (16 bytes, zero padded from cdb_len) + fd + params. */
int prh_wire_client_send(int sock, const uint8_t *cdb, size_t cdb_len, int fd,
                         const uint8_t *params, size_t params_len);
/* Read one reply; 0, -errno, or -EPROTO for a malformed header. */
int prh_wire_client_recv(int sock, struct prh_reply *reply);

#endif
