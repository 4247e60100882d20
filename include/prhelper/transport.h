/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport.h - how the daemon reaches a device.
 *
 * A transport is a const struct prh_transport: name, version and
 * callbacks.  The server never interprets SCSI beyond framing; transports
 * never touch sockets.  New members are only ever added at the end.
 *
 * Threading: every callback but init, fini and control_register runs on a
 * pool thread of the server, never on the thread that accepts connections,
 * and any of them may block (the pool starts another thread meanwhile),
 * nexus_new and nexus_free unless nexus_never_blocks says they don't.
 * nexus_new runs the first time a thread handles the connection (before
 * its first request; the peer is connected and its credentials and
 * address are filled in); then open, pr_in, pr_out, close and generation
 * for each request; nexus_free once, after the last.  Calls for one
 * connection never overlap, though successive ones may come from
 * different threads.  Different connections run in parallel: a transport
 * serialises what it shares.
 *
 * Outcomes are neutral (struct prh_result); prh_result_to_reply() is the
 * one place they become status + sense on the wire.
 */
#ifndef PRHELPER_TRANSPORT_H
#define PRHELPER_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "prhelper/scsi.h"
#include "prhelper/wire.h"

/* 2: open() is given the fstat() of the client's fd (taken once per
 * request by prh_transport_execute_ex()). */
#define PRH_TRANSPORT_API_VERSION 2

struct prh_control;
struct prh_metrics;

/* Who is on the other end of a connection (for nexus identity). */
struct prh_peer {
    uint64_t serial;       /* connection number since start, from 1 */
    bool has_cred;         /* SO_PEERCRED answered */
    pid_t pid;
    uid_t uid;
    gid_t gid;
    char addr[108];        /* peer's bound address, '@' for abstract */
    size_t addr_len;       /* 0: unbound (QEMU) */
    /* How prh_peer_current() tells that pid still names the process that
     * connected; set by the daemon during nexus_new only.  Neither set:
     * nothing to check with (taken as current). */
    bool has_pidfd;        /* pidfd: SO_PEERPIDFD (Linux 6.5+) */
    bool has_sock;         /* sock: the connection, for a hang-up */
    bool exited;           /* SO_PEERPIDFD said the peer is gone */
    int pidfd;
    int sock;
};

/*
 * Are /proc facts just read about peer->pid still about the peer?  With
 * a pidfd: its process has not exited, so its PID has not been reused.
 * Without one (kernels before 6.5): the peer has not hung up, so the
 * process (or one it handed the socket to) is still there.
 */
bool prh_peer_current(const struct prh_peer *peer);
/* The same from a pidfd (or -1) and the connection (or -1). */
bool prh_peer_facts_current(int pidfd, int sock);

/* Options given to transports (unused ones are ignored). */
struct prh_transport_options {
    const char *state_dir;   /* --state-dir */
    const char *sim_profile; /* --sim-profile */
    uid_t owner_uid;         /* state files owned by -u/-g when given */
    gid_t owner_gid;
    bool chown_state;
    unsigned sg_timeout_ms;  /* --sg-timeout; 0: PRH_SG_DEFAULT_TIMEOUT_MS */
    /* sg, mpath: */
    bool allow_partial_devices;   /* --allow-partial-devices */
    const char *multipathd_socket; /* --multipathd-socket; NULL default, "none" never */
    struct prh_metrics *metrics;  /* refusals are counted here (may be NULL) */
    const char *sim_identity;       /* --sim-identity; NULL: guest (transport_sim.h) */
    unsigned sim_max_registrations; /* --sim-max-registrations; 0: the default */
    unsigned sim_max_luns;          /* --sim-max-luns; 0: the default */
    const char *proc_root;          /* peers' /proc entries; NULL: "/proc" (tests) */
};

enum prh_result_kind {
    PRH_RESULT_STATUS,    /* status byte only (GOOD, CONFLICT, BUSY...) */
    PRH_RESULT_SENSE,     /* CHECK CONDITION with key/ASC/ASCQ */
    PRH_RESULT_RAW_SENSE, /* status + sense bytes from a device, forwarded */
    PRH_RESULT_ERRNO,     /* the OS failed the command: errno */
    PRH_RESULT_DISCONNECT, /* close the connection without a reply (fault injection) */
};

struct prh_result {
    enum prh_result_kind kind;
    uint8_t status;
    struct scsi_sense sense;
    uint8_t raw_sense[PRH_WIRE_SENSE_SIZE];
    size_t raw_sense_len;
    int err;
    uint32_t data_len;  /* PR IN bytes written into the data buffer */
};

static inline struct prh_result prh_result_status(uint8_t status)
{
    struct prh_result r = { .kind = PRH_RESULT_STATUS, .status = status };
    return r;
}

static inline struct prh_result prh_result_sense(struct scsi_sense s)
{
    struct prh_result r = { .kind = PRH_RESULT_SENSE,
                            .status = SCSI_STATUS_CHECK_CONDITION, .sense = s };
    return r;
}

static inline struct prh_result prh_result_errno(int err)
{
    struct prh_result r = { .kind = PRH_RESULT_ERRNO, .err = err };
    return r;
}

struct prh_transport {
    uint32_t struct_size;    /* sizeof(struct prh_transport) */
    uint32_t api_version;    /* PRH_TRANSPORT_API_VERSION */
    const char *name;
    const char *version;
    const char *description;
    /* false: registered but not built; unavailable says why. */
    bool available;
    const char *unavailable;
    /* Capabilities to keep after the privilege drop: bit n = CAP number n. */
    uint64_t capabilities;

    /* Once at startup, before the privilege drop. 0 or -errno + message. */
    int (*init)(const struct prh_transport_options *opts, void **state,
                char *errmsg, size_t errmsg_len);
    void (*fini)(void *state);

    /* A connection is an I_T nexus.  NULL on allocation failure. */
    void *(*nexus_new)(void *state, const struct prh_peer *peer);
    void (*nexus_free)(void *state, void *nexus);
    /* Describe a nexus for logs ("iqn...,i,0x...@1"). */
    void (*nexus_describe)(void *state, void *nexus, char *buf, size_t len);

    /* Open the device behind a client's fd; 0, or -1 with *res set.  st
     * is fstat(fd), taken once by the caller: transports do not stat the
     * fd again. */
    int (*open)(void *state, void *nexus, int fd, const struct stat *st, void **dev,
                struct prh_result *res);
    /* PR IN into data (cap bytes; cap >= allocation length). */
    void (*pr_in)(void *state, void *nexus, void *dev, const struct prh_request *req,
                  uint8_t *data, size_t cap, struct prh_result *res);
    void (*pr_out)(void *state, void *nexus, void *dev, const struct prh_request *req,
                   struct prh_result *res);
    void (*close)(void *state, void *nexus, void *dev);

    /* Optional (NULL: none): add this transport's control-socket commands
     * (control.h) once at startup.  0 or -errno. */
    int (*control_register)(void *state, struct prh_control *ctl);
    /* Optional (NULL: unknown): the LUN's PRgeneration as the transport
     * knows it without sending a command (the request trace); false if
     * unknown.  Runs on a worker between open and close. */
    bool (*generation)(void *state, void *nexus, void *dev, uint32_t *gen);
    /* true: nexus_new and nexus_free never block (no /proc reads, no lock
     * held across file or device I/O), so the pool does not count them as
     * device calls and a burst of new connections starts no thread
     * (docs/daemon.md, "Memory").  false, the default: they may. */
    bool nexus_never_blocks;
};

/* Whether t's nexus_new/nexus_free may block: true unless t says they
 * never do (a transport built before the member existed may). */
bool prh_transport_nexus_may_block(const struct prh_transport *t);

/* The registry: sim, sg, mpath.  NULL if the name is unknown. */
const struct prh_transport *prh_transport_find(const char *name);
/* Names of all registered transports, NULL-terminated. */
const struct prh_transport *const *prh_transport_list(void);

extern const struct prh_transport prh_transport_sim;
extern const struct prh_transport prh_transport_sg;
extern const struct prh_transport prh_transport_mpath;

/*
 * The one mapping from outcomes to the wire (wire-protocol.md 5.3):
 * errno -> status/sense table, helper-built sense in fixed format with
 * the rest of the 96 bytes zero, data only for PR IN + GOOD, clipped to
 * the allocation length.
 */
void prh_result_to_reply(const struct prh_result *res, const struct prh_request *req,
                         struct prh_reply *reply);

/*
 * Run one request through a transport: read-only fd check for PR OUT,
 * open, PR IN/OUT, close.  Fills reply; does not close req->fd.
 */
void prh_transport_execute(const struct prh_transport *t, void *state, void *nexus,
                           const struct prh_request *req, struct prh_reply *reply);

/* What prh_transport_execute_ex() learned besides the reply. */
struct prh_exec_info {
    char lun[64];           /* prh_lun_id_of_stat() of the request's fd, "" if unknown */
    bool gen_known_before, gen_known_after; /* transport's generation() answered */
    uint32_t gen_before, gen_after;
    bool disconnect;        /* PRH_RESULT_DISCONNECT: close without a reply */
};

/* prh_transport_execute() that also fills info (which may be NULL).  It
 * takes fstat(req->fd) once and hands it to prh_transport_execute_st(). */
void prh_transport_execute_ex(const struct prh_transport *t, void *state, void *nexus,
                              const struct prh_request *req, struct prh_reply *reply,
                              struct prh_exec_info *info);

/*
 * prh_transport_execute_ex() for a caller that has already taken
 * fstat(req->fd) (for its device policy or audit record): st is that
 * result, or NULL with stat_err the errno when fstat() failed (the
 * request is then answered with that errno without calling the
 * transport).  The fd is not stat'ed again.
 */
void prh_transport_execute_st(const struct prh_transport *t, void *state, void *nexus,
                              const struct prh_request *req, const struct stat *st,
                              int stat_err, struct prh_reply *reply,
                              struct prh_exec_info *info);

/*
 * The LUN an fd stands for, the same name on every transport: a block or
 * character device is its st_rdev ("blk-8-16", "chr-21-0"), anything
 * else its st_dev and st_ino ("file-803-1234").
 */
void prh_lun_id_of_stat(const struct stat *st, char *buf, size_t len);
/* prh_lun_id_of_stat() of fstat(fd).  0 or -errno. */
int prh_lun_id_of_fd(int fd, char *buf, size_t len);

/*
 * fstat(fd) of a client's fd, 0 or -errno: the one stat of a request.  On
 * x86-64 it is the fstat system call itself, not glibc's fstat(), which
 * (glibc 2.36 of Debian 12) is newfstatat(fd, "", AT_EMPTY_PATH): the
 * kernel of Debian 12 (6.1) copies in and looks up that empty path name,
 * which cost 15.2 us a call in the lab VM against 2.3 us for fstat
 * (scripts/bench, costs.tsv), on every request.
 */
int prh_fstat_fd(int fd, struct stat *st);

#endif
