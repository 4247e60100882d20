/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * simlun.h - a whole simulated logical unit: the PR simulator (pr_sim.h)
 * in front of a disk on a sparse file (scsi_disk.h), shared by every I_T
 * nexus that reaches it.
 *
 * Each command goes through the simulator first -- a pending unit
 * attention of the sending nexus, then SPC-4's reservation conflict table
 * (or LIO's, with the lio profile) -- and only a command that passes it
 * reaches the medium.  PERSISTENT RESERVE IN/OUT, RESERVE/RELEASE and
 * REQUEST SENSE are the simulator's own.
 *
 * State: APTPL registrations in "<state_dir>/<name>.prstate"
 * (pr_sim_store.h), data in "<data_dir>/<name>.img".  The data file is
 * locked (flock) while the LUN is open, so two daemons never serve it.
 *
 * Thread-safety: every call takes the LUN's mutex; prh_simlun_lock()
 * gives inspection code (control socket) the same mutex around direct
 * pr_sim_* calls.
 */
#ifndef PRHELPER_SIMLUN_H
#define PRHELPER_SIMLUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prhelper/pr_sim.h"
#include "prhelper/scsi_disk.h"
#include "prhelper/sgl.h"

struct prh_simlun_config {
    const char *name;       /* pr_sim_store_name_valid() */
    const char *state_dir;  /* APTPL files; NULL: APTPL is not kept */
    const char *data_dir;   /* the data file's directory */
    enum pr_sim_profile profile;
    uint64_t size;          /* bytes; a multiple of block_size */
    uint32_t block_size;    /* 512, 1024, 2048 or 4096 */
    bool write_cache;       /* report WCE=1 and sync only on request */
    uint32_t max_registrations; /* 0: unlimited */
};

struct prh_simlun;

/*
 * Open (creating if needed) the data file, grow it to size (never
 * shrink), lock it, and restore APTPL state.  A state file that cannot be
 * used is moved aside with a message (prh_error) and the LUN starts
 * without registrations.  NULL with the reason in errmsg.
 */
struct prh_simlun *prh_simlun_open(const struct prh_simlun_config *cfg, char *errmsg, size_t len);
void prh_simlun_close(struct prh_simlun *l);

const char *prh_simlun_name(const struct prh_simlun *l);
uint64_t prh_simlun_size(const struct prh_simlun *l);
uint32_t prh_simlun_block_size(const struct prh_simlun *l);
enum pr_sim_profile prh_simlun_profile(const struct prh_simlun *l);
const struct scsi_disk_identity *prh_simlun_identity(const struct prh_simlun *l);

struct prh_simlun_result {
    uint8_t status;
    struct scsi_sense sense;
    size_t data_in_len; /* bytes placed in the data list */
};

/*
 * One command from nexus (its fabric's protocol and relative target port
 * are those of nexus): cdb of cdb_len bytes, data its data-out bytes or
 * the room for data-in bytes.
 */
void prh_simlun_execute(struct prh_simlun *l, const struct pr_sim_nexus *nexus, const uint8_t *cdb,
                        size_t cdb_len, const struct prh_sgl *data, struct prh_simlun_result *r);

/* The nexus is gone (backstore removed): its SPC-2 reservation ends. */
void prh_simlun_nexus_loss(struct prh_simlun *l, const struct pr_sim_nexus *nexus);
/*
 * LOGICAL UNIT RESET (a TMR from the kernel): SPC-2 reservations end, and
 * each of the n nexuses in others (the LUN's other backstores, which the
 * kernel does not tell) gets UNIT ATTENTION, BUS DEVICE RESET FUNCTION
 * OCCURRED (29h/03h) on its next command (SAM-5 6.3.3).
 */
void prh_simlun_reset(struct prh_simlun *l, const struct pr_sim_nexus *const *others, size_t n);

/* Direct access for inspection: lock, use the pr_sim_lun, unlock. */
struct pr_sim_lun *prh_simlun_lock(struct prh_simlun *l);
void prh_simlun_unlock(struct prh_simlun *l);

#endif
