/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_state_load.c - the APTPL state-file loader (pr_sim_deserialize,
 * what pr_sim_store_load() runs on a file's bytes).  Invariants: a
 * refused image leaves the LUN empty; an accepted one serializes back
 * into an image that loads into an equal state (same registrations,
 * reservation, APTPL), and the LUN then executes commands normally.
 */
#include "fuzz.h"
#include "prhelper/pr_sim.h"

static void same_state(const struct pr_sim_lun *a, const struct pr_sim_lun *b)
{
    CHECK(pr_sim_registration_count(a) == pr_sim_registration_count(b));
    CHECK(pr_sim_reservation_type(a) == pr_sim_reservation_type(b));
    CHECK(pr_sim_aptpl_active(a) == pr_sim_aptpl_active(b));
    for (size_t i = 0; i < pr_sim_registration_count(a); i++) {
        struct pr_sim_registration_view x, y;
        CHECK(pr_sim_registration_at(a, i, &x) && pr_sim_registration_at(b, i, &y));
        CHECK(x.key == y.key && x.holder == y.holder && x.all_tg_pt == y.all_tg_pt);
        CHECK(x.nexus.rtpi == y.nexus.rtpi && pr_tid_equal(&x.nexus.initiator, &y.nexus.initiator));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pr_sim_config cfg = { .profile = size && (data[0] & 0x80) ? PR_SIM_PROFILE_LIO
                                                                     : PR_SIM_PROFILE_SPC4 };
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    char why[256];
    if (!lun)
        return 0;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        pr_sim_lun_free(lun);
        return 0;
    }
    memcpy(copy, data, size);
    int rc = pr_sim_deserialize(lun, copy, size, why, sizeof(why));
    if (rc < 0) {
        CHECK(why[0] != '\0'); /* a refusal always says why */
        CHECK(pr_sim_registration_count(lun) == 0);
        CHECK(pr_sim_reservation_type(lun) == PR_TYPE_NONE);
    } else {
        uint8_t *img = NULL;
        size_t len = 0;
        if (pr_sim_serialize(lun, &img, &len) == 0) {
            struct pr_sim_lun *again = pr_sim_lun_new(&cfg);
            if (again) {
                CHECK(pr_sim_deserialize(again, img, len, why, sizeof(why)) == 0);
                same_state(lun, again);
                pr_sim_lun_free(again);
            }
            free(img);
        }
        /* The loaded LUN answers: READ FULL STATUS from some nexus. */
        struct pr_sim_nexus nx = { .initiator = pr_tid_iscsi("iqn.2026-01.org.fuzz:x", NULL),
                                   .rtpi = 1 };
        uint8_t cdb[10] = { 0x5e, 0x03, 0, 0, 0, 0, 0, 0x20, 0x00, 0 };
        uint8_t *out = malloc(8192);
        struct pr_sim_result r;
        if (out) {
            for (int i = 0; i < 4; i++) /* unit attentions first */
                pr_sim_execute(lun, &nx, cdb, sizeof(cdb), NULL, 0, out, 8192, &r);
            free(out);
        }
    }
    free(copy);
    pr_sim_lun_free(lun);
    return 0;
}
