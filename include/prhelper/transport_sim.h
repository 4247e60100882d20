/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_sim.h - the sim transport (prh_transport_sim, transport.h):
 * every disk-like fd is a simulated logical unit, every client an I_T
 * nexus of the simulator (pr_sim.h).  docs/daemon.md, "The sim
 * transport", describes the identities and the bounds.
 *
 * Identity of a connection (--sim-identity):
 *  - a client that binds "\0prhelper-nexus:NAME[@RTPI][/...]" (prhelper-cli
 *    -I) presents NAME,i,0x800000000001 on RTPI, whatever the mode;
 *  - guest (default): a QEMU process (its /proc/PID/cmdline has -name, else
 *    -uuid) is iqn.2026-01.org.prhelper.sim:guest.NAME (uuid.UUID) with
 *    ISID 800000000001 on RTPI 1: one I_T nexus for every connection and
 *    every process of that guest; other clients as "connection";
 *  - process: every client process is one I_T nexus, ...:pid.PID.START
 *    (START: the process start time, so a reused pid is someone else);
 *  - connection: ...:pid.PID,i,0x8000<connection number>: every connection
 *    is its own port of its process' initiator device (prhelper before
 *    --sim-identity).
 * Connections presenting the same I_T nexus share it: I_T nexus loss is
 * reported when the last one closes.
 *
 * Threading: nexus_new and nexus_free may run on any thread, concurrently
 * for different connections; nexus_new may block (it reads /proc, and
 * waits while a previous holder of the same I_T nexus is being closed).
 *
 * Reuse with an explicit initiator (prhelper-tcmu, one backstore per I_T
 * nexus): prh_sim_nexus_new_explicit() below, then the transport's
 * open/pr_in/pr_out/close/nexus_free as for any connection.
 */
#ifndef PRHELPER_TRANSPORT_SIM_H
#define PRHELPER_TRANSPORT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "prhelper/pr_sim.h"
#include "prhelper/transport.h"

/* The initiator names the sim transport makes up start with this. */
#define PRH_SIM_NAME_PREFIX "iqn.2026-01.org.prhelper.sim:"

/* Registrations per LUN (SPC-4 6.16: beyond, 55h/04h) and LUNs, by default. */
#define PRH_SIM_DEFAULT_MAX_REGISTRATIONS 256u
#define PRH_SIM_DEFAULT_MAX_LUNS 1024u
#define PRH_SIM_MAX_LIMIT 1000000u

enum prh_sim_identity {
    PRH_SIM_IDENTITY_GUEST,
    PRH_SIM_IDENTITY_PROCESS,
    PRH_SIM_IDENTITY_CONNECTION,
};

/* "guest" / "process" / "connection"; false if unknown. */
bool prh_sim_identity_parse(const char *name, enum prh_sim_identity *out);
const char *prh_sim_identity_name(enum prh_sim_identity id);

/* Where a connection's I_T nexus came from. */
enum prh_sim_nexus_source {
    PRH_SIM_SOURCE_ADDRESS,    /* the bound abstract address (prhelper-cli -I) */
    PRH_SIM_SOURCE_GUEST_NAME, /* QEMU -name */
    PRH_SIM_SOURCE_GUEST_UUID, /* QEMU -uuid */
    PRH_SIM_SOURCE_PROCESS,    /* pid and start time */
    PRH_SIM_SOURCE_CONNECTION, /* pid and connection number (or anonymous) */
    PRH_SIM_SOURCE_EXPLICIT,   /* given by the caller (prh_sim_nexus_new_explicit) */
};

/* "address", "guest-name", "guest-uuid", "process", "connection", "explicit". */
const char *prh_sim_nexus_source_name(enum prh_sim_nexus_source s);

struct prh_sim_peer_identity {
    struct pr_sim_nexus nexus;
    enum prh_sim_nexus_source source;
    /* The identity can be presented again (by a reconnect, another process
     * of the guest, the same -I): at I_T nexus loss its unit attentions are
     * kept.  A per-connection identity is forgotten with them. */
    bool stable;
    char detail[300]; /* what it was made from: the guest name, uuid, pid... */
};

/*
 * The I_T nexus of a peer under an identity mode; proc_root (NULL:
 * "/proc") is where PID/cmdline and PID/stat are read.  Never fails: what
 * cannot be read falls back (guest -> connection, process -> connection).
 */
void prh_sim_peer_identity(enum prh_sim_identity mode, const struct prh_peer *peer,
                           const char *proc_root, struct prh_sim_peer_identity *out);

/*
 * A nexus of the sim transport (as nexus_new returns) for an I_T nexus the
 * caller names: initiator TransportID (any protocol pr_tid_build()
 * accepts) and relative target port identifier (1..65535).  serial numbers
 * the client in logs and fault filters.  The identity is stable (see
 * above); connections and explicit nexuses with the same I_T nexus share
 * it.  NULL on an invalid nexus or allocation failure.
 */
void *prh_sim_nexus_new_explicit(void *state, const struct pr_sim_nexus *nexus, uint64_t serial);

/*
 * Whether an fd is a disk the simulator models as a LUN: a regular file,
 * a block device or an sg character device (SCSI generic, major 21).
 * Sockets, pipes, directories, other character devices (/dev/null, ttys)
 * are not: 0, or -1 with why set ("a socket", ...).  O_PATH fds are refused
 * by the transport before this (they cannot do I/O).
 */
int prh_sim_lun_check(const struct stat *st, char *why, size_t why_len);

#endif
