/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim_image.h - fixtures of the persistence tests (test_pr_sim_persist,
 * test_pr_sim_persist_hook, test_pr_sim_store): the APTPL state image
 * built by hand, LUN snapshots for "nothing changed" checks, a recording
 * persist hook.
 *
 * The image layout is the one documented in sim/persist.c: a 32-byte
 * header (magic "PRSIMST\n", version, flags, body length, body CRC-32,
 * registration count, header CRC-32), an 8-byte reservation record (type,
 * scope, 2 reserved, holder index or FFFFFFFFh) and per registration a
 * 16-byte record (key, RTPI, flags, reserved, TransportID length, 2
 * reserved) followed by the TransportID; big-endian throughout.
 */
#ifndef PRHELPER_TESTS_SIM_IMAGE_H
#define PRHELPER_TESTS_SIM_IMAGE_H

#include "sim_table.h"

#include "prhelper/pr_sim.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull
#define K4 0x4444444444444444ull
#define K5 0x5555555555555555ull
#define K6 0x6666666666666666ull

#define HDR_LEN 32u
#define RES_LEN 8u
#define REG_LEN 16u
#define OFF_MAGIC 0u
#define OFF_VERSION 8u
#define OFF_FLAGS 12u
#define OFF_BODY_LEN 16u
#define OFF_BODY_CRC 20u
#define OFF_REG_COUNT 24u
#define OFF_HDR_CRC 28u
#define NO_HOLDER 0xffffffffu
#define IMG_FLAG_APTPL 0x1u

/* ---- the image by hand ----------------------------------------------------- */

/* CRC-32 (IEEE 802.3, reflected, EDB88320h), written independently of
 * sim/persist.c and checked against the standard check value. */
uint32_t img_crc32(const uint8_t *p, size_t n);
/* Recompute the body CRC (over everything after the header) and then the
 * header CRC, as a writer would. */
void img_fix_crcs(uint8_t *img, size_t len);

struct img_reg {
    uint64_t key;
    uint16_t rtpi;
    uint8_t flags;
    uint8_t tid[PR_TID_MAX_LEN];
    size_t tid_len;
};
struct img_reg img_reg_of(uint64_t key, const struct pr_sim_nexus *n, bool all_tg_pt);
/* An image with consistent lengths and CRCs (caller frees). */
uint8_t *img_build(uint32_t version, uint32_t flags, uint8_t type, uint8_t scope, uint32_t holder,
                   const struct img_reg *regs, size_t count, size_t *out_len);
/* A small valid APTPL image: A@1 K1 holder of WE, B@2 K2. */
uint8_t *img_small_valid(size_t *len);
uint8_t *img_dup(const uint8_t *p, size_t len);
/* pr_sim_serialize that must succeed. */
uint8_t *img_serialize(const struct pr_sim_lun *lun, size_t *len);
/* A@1 K1 and B@2 K2 register with APTPL, then HOLDER ('A' or 'B') reserves
 * TYPE: the state img_small_valid() describes (holder A, WE) and its kin. */
void img_aptpl_pair(struct pr_sim_lun *lun, char holder, unsigned type);

/* ---- LUNs and nexuses -------------------------------------------------------- */

struct pr_sim_nexus th_fcp_nexus(uint64_t wwpn, uint16_t rtpi);
struct pr_sim_nexus th_sas_nexus(uint64_t addr, uint16_t rtpi);
struct pr_sim_nexus th_iscsi_device_nexus(const char *name, uint16_t rtpi);
/* A LUN (iSCSI ports 1 and 2) with a persist hook. */
struct pr_sim_lun *th_lun_hooked(enum pr_sim_profile profile, pr_sim_persist_fn persist,
                                 void *opaque);
/* A bare LUN (no declared ports) as after power-on. */
struct pr_sim_lun *th_bare_lun(enum pr_sim_profile profile);

/*
 * The "rich" LUN: registrations over iSCSI (ports, a name-only device),
 * FCP and SAS, one ALL_TG_PT registration (two nexuses), a WE_RO
 * reservation held by A, APTPL on.  Registration order:
 *   A@1 K1, B@1 K2 (ALL_TG_PT), B@2 K2 (ALL_TG_PT), F@3 K3, S@4 K4, D@2 K5
 */
struct rich {
    struct pr_sim_nexus a, b, b2, f, s, d;
};
struct rich img_rich_nexuses(void);
void img_make_rich(struct pr_sim_lun *lun, const struct rich *x);

/* ---- "nothing changed" --------------------------------------------------------- */

/* Everything observable about a LUN's PR state. */
#define SNAP_MAX_REGS 16
#define SNAP_MAX_WATCH 8
struct snap {
    uint32_t generation;
    bool aptpl;
    unsigned type;
    size_t count;
    struct pr_sim_registration_view regs[SNAP_MAX_REGS];
    size_t nwatch;
    struct pr_sim_nexus watch[SNAP_MAX_WATCH];
    size_t ua[SNAP_MAX_WATCH];
};
struct snap img_take_snap(const struct pr_sim_lun *lun, const struct pr_sim_nexus *watch,
                          size_t nwatch);
#define assert_snap_equal(a, b) img_snap_equal_at((a), (b), __FILE__, __LINE__)
void img_snap_equal_at(const struct snap *a, const struct snap *b, const char *file, int line);
/* A populated target for "the LUN is unchanged" checks: A (holder of WE)
 * and B registered, APTPL off, generation 2, a UA pending on B. */
struct pr_sim_lun *img_make_target(struct pr_sim_nexus watch[2]);
/* Deserialize must fail with want_rc, say why, and change nothing. */
#define expect_rejected(img, len, want_rc) \
    img_expect_rejected_at((img), (len), (want_rc), __FILE__, __LINE__)
void img_expect_rejected_at(const uint8_t *img, size_t len, int want_rc, const char *file,
                            int line);

/* ---- the persist hook recorder ------------------------------------------------- */

struct recorder {
    int calls;
    int rc;
    uint8_t *last;
    size_t last_len;
};
int img_record_persist(void *opaque, const uint8_t *image, size_t len);
/* Load the recorder's last image into a fresh LUN. */
struct pr_sim_lun *img_load_last(const struct recorder *rec);
/* A LUN of profile whose persist hook records into rec (emptied first);
 * img_recorded_free() frees both. */
struct pr_sim_lun *img_recorded_lun(enum pr_sim_profile profile, struct recorder *rec);
void img_recorded_free(struct pr_sim_lun *lun, struct recorder *rec);

#endif
