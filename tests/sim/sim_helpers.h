/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim_helpers.h - test helpers for the simulator, named after what they do
 * or what they check (libiscsi iscsi-support.c style).  Every helper that
 * sends a command returns the full struct pr_sim_result.
 */
#ifndef PRHELPER_TESTS_SIM_HELPERS_H
#define PRHELPER_TESTS_SIM_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "prhelper/pr_sim.h"

/* Initiators "A", "B", "C"...: iSCSI ports iqn.2026-11.test:<x> ISID 23d0000000NN, on RTPI rtpi. */
struct pr_sim_nexus th_nexus(char initiator, uint16_t rtpi);

/* A LUN with the given profile and target ports 1 and 2 (iSCSI). */
struct pr_sim_lun *th_lun(enum pr_sim_profile profile);
/* A LUN made from cfg (hooks, limits, deviations) with iSCSI target ports 1 and 2. */
struct pr_sim_lun *th_lun_config(const struct pr_sim_config *cfg);

/* Raw command helpers. */
struct pr_sim_result th_prout(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint8_t sa,
                              uint8_t scope_type, uint64_t rk, uint64_t sark, uint8_t flags);
struct pr_sim_result th_prout_raw(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                  const uint8_t cdb[10], const uint8_t *param, size_t len);
/* PR IN with allocation length alloc into buf (at least alloc bytes). */
struct pr_sim_result th_prin(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint8_t sa,
                             uint16_t alloc, uint8_t *buf);
struct pr_sim_result th_cmd(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                            const uint8_t *cdb, size_t cdb_len);
/* TEST UNIT READY until GOOD: clears pending unit attentions (max 32). */
void th_clear_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);

/* Shorthands for PR OUT service actions (scope 0). */
struct pr_sim_result th_register(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk,
                                 uint64_t sark);
struct pr_sim_result th_register_ignore(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                        uint64_t sark);
/* A registers key KA, then B key KB; both must be GOOD. */
void th_register_pair(struct pr_sim_lun *lun, const struct pr_sim_nexus *a, uint64_t ka,
                      const struct pr_sim_nexus *b, uint64_t kb);
/* A LUN of profile on which a (key ka) and b (key kb) are registered. */
struct pr_sim_lun *th_lun_registered(enum pr_sim_profile profile, const struct pr_sim_nexus *a,
                                     uint64_t ka, const struct pr_sim_nexus *b, uint64_t kb);
struct pr_sim_result th_reserve(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk,
                                unsigned type);
struct pr_sim_result th_release(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk,
                                unsigned type);
struct pr_sim_result th_clear(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk);
struct pr_sim_result th_preempt(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t rk,
                                uint64_t sark, unsigned type, bool abort);

/* Decoded PR IN views (READ KEYS / READ RESERVATION with alloc 8192). */
struct th_keys {
    uint32_t generation;
    uint32_t count;
    uint64_t keys[64];
};
struct th_keys th_read_keys(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);
struct th_reservation {
    uint32_t generation;
    bool reserved;
    uint64_t key;
    unsigned type;
    unsigned scope;
};
struct th_reservation th_read_reservation(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);

/* Assertions on a result. */
#define assert_good(r) th_assert_result((r), SCSI_STATUS_GOOD, SENSE_NONE, __FILE__, __LINE__)
#define assert_conflict(r) \
    th_assert_result((r), SCSI_STATUS_RESERVATION_CONFLICT, SENSE_NONE, __FILE__, __LINE__)
#define assert_check(r, sense) \
    th_assert_result((r), SCSI_STATUS_CHECK_CONDITION, (sense), __FILE__, __LINE__)
void th_assert_result(struct pr_sim_result r, uint8_t status, struct scsi_sense sense,
                      const char *file, int line);

/* Read/write access checks through pr_sim_execute (READ(10)/WRITE(10) LBA 1). */
struct pr_sim_result th_read10(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);
struct pr_sim_result th_write10(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);

#endif

/* READ KEYS shows exactly generation gen and keys[0..count-1], in order. */
#define th_expect_keys(lun, n, gen, count, ...) \
    th_expect_keys_at((lun), (n), (gen), (count), (const uint64_t[]){ __VA_ARGS__ }, __FILE__, __LINE__)
#define th_expect_no_keys(lun, n, gen) th_expect_keys_at((lun), (n), (gen), 0, NULL, __FILE__, __LINE__)
void th_expect_keys_at(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint32_t gen,
                       uint32_t count, const uint64_t *keys, const char *file, int line);
/* READ RESERVATION shows no reservation / a reservation of (key, type). */
void th_expect_no_reservation(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);
void th_expect_reservation(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint64_t key,
                           unsigned type);
/* The next command from n reports exactly this unit attention, then none. */
void th_expect_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, struct scsi_sense ua);
void th_expect_no_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);
/* Another session of n's iSCSI initiator (same name, ISID 23 d0 00 00 00
 * tag) on the same target port. */
struct pr_sim_nexus th_other_session(const struct pr_sim_nexus *n, uint8_t tag);
/* TEST UNIT READY from n. */
struct pr_sim_result th_tur(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);
/* The one pending UA of n is ua: reported once by TEST UNIT READY, then gone. */
void th_expect_single_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                         struct scsi_sense ua);
/* No unit attention is pending for n (nothing is sent). */
void th_expect_no_pending_ua(struct pr_sim_lun *lun, const struct pr_sim_nexus *n);
/* A LUN with an explicit deviation set (profile spc4 otherwise). */
struct pr_sim_lun *th_lun_with(uint32_t deviations);
/* REGISTER with flags (ALL_TG_PT, APTPL) from nexus n. */
struct pr_sim_result th_register_flags(struct pr_sim_lun *lun, const struct pr_sim_nexus *n,
                                       uint64_t rk, uint64_t sark, uint8_t flags);
/* The test's two profiles, for tests that run in both: state = &profile;
 * cmocka names the cases <test>/spc4 and <test>/lio. */
#define TH_BOTH(f)                                                                  \
    { #f "/spc4", f, NULL, NULL, (void *)&th_profiles[0] },                         \
    {                                                                               \
        #f "/lio", f, NULL, NULL, (void *)&th_profiles[1]                           \
    }
extern const enum pr_sim_profile th_profiles[2];
#define TH_PROFILE(state) (*(const enum pr_sim_profile *)*(state))
#define TH_IS_LIO(profile) ((profile) == PR_SIM_PROFILE_LIO)
