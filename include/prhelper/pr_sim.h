/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_sim.h - an exact SPC-4 persistent-reservation simulator.
 *
 * One struct pr_sim_lun is one logical unit: its registrations, its
 * persistent reservation, PRgeneration, APTPL state, SPC-2 reservation and
 * the pending unit attentions of every I_T nexus that talked to it.
 *
 * Commands arrive with the I_T nexus that sent them (initiator TransportID
 * plus relative target port identifier) and leave with a SAM status, sense
 * triplet and PR IN data.  The library never touches fds, sockets or
 * files; APTPL persistence goes through a caller-supplied hook (the file
 * store in pr_sim_store.h is one).
 *
 * Thread-safety: a LUN is NOT locked by the library.  Every call on one
 * LUN must be serialised by the caller (one mutex per LUN); different LUNs
 * are independent and may be used from different threads at once.  There
 * is no global state.
 */
#ifndef PRHELPER_PR_SIM_H
#define PRHELPER_PR_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prhelper/scsi.h"
#include "prhelper/transport_id.h"

/* ---- profiles and deviations ------------------------------------------ */

/*
 * Each deviation of Linux LIO from SPC-4 (pr-semantics.md section 9) is
 * one switch.  The spc4 profile has none set; the lio profile sets those
 * of current LIO (D2 and D9 are older kernels' behaviour and stay off).
 */
enum pr_sim_deviation {
    PR_DEV_D1_SHORT_ALLOC_INVALID = 1u << 1,
    PR_DEV_D2_READ_KEYS_LEN_RETURNED = 1u << 2,
    PR_DEV_D3_RESERVATION_KEY_ZERO_WHEN_SHORT = 1u << 3,
    PR_DEV_D4_FULL_STATUS_WHOLE_DESCRIPTORS = 1u << 4,
    PR_DEV_D5_SCOPE_IN_PARAM_LIST = 1u << 5,
    PR_DEV_D6_PREEMPT_TYPE_ALWAYS_CHECKED = 1u << 6,
    PR_DEV_D7_RELEASE_NON_HOLDER_BEFORE_KEY = 1u << 7,
    PR_DEV_D8_UNREGISTERED_NOT_READY = 1u << 8,
    PR_DEV_D9_LENGTH_AS_INVALID_PARAM = 1u << 9,
    PR_DEV_D10_ALL_TG_PT_MUST_MATCH = 1u << 10,
    PR_DEV_D11_AR_PREEMPT_DESIGNATED_HOLDER = 1u << 11,
    PR_DEV_D12_GENERATION_PER_REGISTRATION = 1u << 12,
    PR_DEV_D13_RIEK_LEAVES_SIBLINGS = 1u << 13,
    PR_DEV_D14_NO_GENERATION_ON_UNREGISTER = 1u << 14,
    PR_DEV_D15_RELEASE_MISMATCH_CONFLICT = 1u << 15,
    PR_DEV_D16_CLEAR_RESETS_APTPL = 1u << 16,
    PR_DEV_D17_LIO_CONFLICT_ALGORITHM = 1u << 17,
    PR_DEV_D18_SPEC_I_PT_SKIP_REGISTERED = 1u << 18,
    PR_DEV_D19_NEXUS_BY_INITIATOR_NAME = 1u << 19,
    PR_DEV_D20_MOVE_WITHOUT_RESERVATION_INVALID = 1u << 20,
};

enum pr_sim_profile {
    PR_SIM_PROFILE_SPC4,
    PR_SIM_PROFILE_LIO,
};

uint32_t pr_sim_profile_deviations(enum pr_sim_profile profile);
const char *pr_sim_profile_name(enum pr_sim_profile profile);
/* "spc4" / "lio" -> profile; false if unknown. */
bool pr_sim_profile_parse(const char *name, enum pr_sim_profile *out);

/* ---- nexus, LUN, results ---------------------------------------------- */

/* An I_T nexus: initiator port (TransportID) + relative target port id. */
struct pr_sim_nexus {
    struct pr_tid initiator;
    uint16_t rtpi;
};

/*
 * The result of one command.  status is a SAM status byte; sense is
 * meaningful only for CHECK CONDITION; data_len bytes of the caller's
 * data-in buffer were written (PR IN, REQUEST SENSE).
 */
struct pr_sim_result {
    uint8_t status;
    struct scsi_sense sense;
    uint32_t data_len;
};

/* Persistence hook: store the serialized LUN state; 0 or -errno. */
typedef int (*pr_sim_persist_fn)(void *opaque, const uint8_t *state, size_t len);

/* Called by PREEMPT AND ABORT for each nexus whose tasks are aborted. */
typedef void (*pr_sim_abort_fn)(void *opaque, const struct pr_sim_nexus *nexus);

struct pr_sim_config {
    enum pr_sim_profile profile;
    /* 0 = profile default; else replaces the profile's deviation set. */
    uint32_t deviations;
    bool use_deviations;
    /* 0 = unlimited; else REGISTER beyond it gets 55h/04h. */
    uint32_t max_registrations;
    pr_sim_persist_fn persist;
    pr_sim_abort_fn on_abort;
    void *opaque;
};

struct pr_sim_lun;

/* NULL on allocation failure. */
struct pr_sim_lun *pr_sim_lun_new(const struct pr_sim_config *config);
void pr_sim_lun_free(struct pr_sim_lun *lun);

/*
 * Declare a target port (RTPI, protocol).  Ports are also added
 * implicitly the first time a nexus uses them.  ALL_TG_PT registrations
 * expand to every declared port; REGISTER AND MOVE must name one.
 * Returns 0, -EINVAL for RTPI 0, -ENOMEM.
 */
int pr_sim_lun_add_port(struct pr_sim_lun *lun, uint16_t rtpi, enum pr_tid_protocol proto);

uint32_t pr_sim_lun_deviations(const struct pr_sim_lun *lun);

/*
 * Execute any CDB from a nexus: pending unit attention first (except
 * INQUIRY, REPORT LUNS; REQUEST SENSE returns it as data), then the SPC-2
 * and persistent-reservation conflict checks, then PR IN / PR OUT /
 * RESERVE / RELEASE processing.  Other commands that pass the checks get
 * GOOD: the simulator models reservations, not a medium.
 * data_out/param_len: the PR OUT parameter list (or NULL, 0).
 * data_in/data_in_len: the buffer for PR IN data (at least the
 * allocation length is NOT required: the copy is clipped to both).
 */
void pr_sim_execute(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus,
                    const uint8_t *cdb, size_t cdb_len,
                    const uint8_t *data_out, size_t data_out_len,
                    uint8_t *data_in, size_t data_in_len,
                    struct pr_sim_result *result);

/*
 * The conflict table alone (SPC-4 5.14.3 / pr-semantics.md section 5 in
 * the spc4 profile, LIO's algorithm with D17): GOOD or RESERVATION
 * CONFLICT for cdb from nexus.  No unit attention is consumed.
 */
uint8_t pr_sim_check_access(const struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus,
                            const uint8_t *cdb, size_t cdb_len);

/* ---- events the transport or a test may raise ------------------------- */

/*
 * I_T nexus loss / logout: the SPC-2 reservation of that nexus ends and,
 * unless it still has a registration or pending unit attentions, the LUN
 * forgets the nexus.  Transports call this when a connection closes; a
 * nexus stays "known" (e.g. for POWER ON RESET) from its first command
 * until then.
 */
void pr_sim_nexus_loss(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus);
/*
 * A nexus that will never come back (its identity was made for one
 * connection): as pr_sim_nexus_loss(), and its pending unit attentions are
 * dropped too, so it is forgotten unless it still has a registration.
 */
void pr_sim_nexus_forget(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus);
/* LOGICAL UNIT RESET: the SPC-2 reservation ends; PR state stays. */
void pr_sim_lun_reset(struct pr_sim_lun *lun);
/*
 * Power cycle: PR state is kept only if APTPL is active, PRgeneration
 * restarts at 0, every known nexus gets POWER ON RESET (29h/00h).
 */
void pr_sim_power_cycle(struct pr_sim_lun *lun);

/* ---- state inspection (read-only views) ------------------------------- */

struct pr_sim_registration_view {
    uint64_t key;
    struct pr_sim_nexus nexus;
    bool all_tg_pt;
    bool holder;
};

uint32_t pr_sim_generation(const struct pr_sim_lun *lun);
bool pr_sim_aptpl_active(const struct pr_sim_lun *lun);
/* PR_TYPE_NONE if no persistent reservation. */
unsigned pr_sim_reservation_type(const struct pr_sim_lun *lun);
size_t pr_sim_registration_count(const struct pr_sim_lun *lun);
/* Registration number i in creation order; false if out of range.
 * O(i): meant for inspection tools, not for the hot path. */
bool pr_sim_registration_at(const struct pr_sim_lun *lun, size_t i,
                            struct pr_sim_registration_view *out);
/* Number of unit attentions pending for a nexus. */
size_t pr_sim_pending_ua_count(const struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus);
/* Number of nexuses the LUN remembers (see pr_sim_nexus_at()). */
size_t pr_sim_nexus_count(const struct pr_sim_lun *lun);
/*
 * Known nexus number i (a nexus the LUN remembers: registered, with
 * pending unit attentions, or seen and not yet lost), most recently
 * known first; false if out of range.  O(i): for inspection tools.
 */
bool pr_sim_nexus_at(const struct pr_sim_lun *lun, size_t i, struct pr_sim_nexus *out);
/* Pending unit attention number i of a nexus, oldest (next reported)
 * first; false if there is none. */
bool pr_sim_pending_ua_at(const struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus,
                          size_t i, struct scsi_sense *out);
/* Queue a unit attention for a nexus (fault injection); 0 or -ENOMEM. */
int pr_sim_queue_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus, struct scsi_sense ua);

/* ---- persistence ------------------------------------------------------- */

/*
 * Serialize the persistent part of the state (registrations, reservation,
 * APTPL) into a malloc'd versioned, checksummed image.  0 or -ENOMEM.
 */
int pr_sim_serialize(const struct pr_sim_lun *lun, uint8_t **out, size_t *out_len);

/*
 * Load an image produced by pr_sim_serialize() into an empty-state LUN
 * (as after power-on).  On error the LUN is unchanged and errmsg (if not
 * NULL) says what is wrong: -EINVAL corrupt, -EPROTONOSUPPORT newer
 * version, -ENOMEM.
 */
int pr_sim_deserialize(struct pr_sim_lun *lun, const uint8_t *image, size_t len,
                       char *errmsg, size_t errmsg_len);

#endif
