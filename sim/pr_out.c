/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_out.c - PERSISTENT RESERVE OUT (SPC-4 6.16): the checks common to
 * every service action, dispatch, PRgeneration and APTPL persistence.
 *
 * A command that fails changes nothing (SPC-4 5.14.1).  Handlers validate
 * before they mutate; the one failure that can come after the mutation,
 * the APTPL write, is undone by restoring a copy of the state taken
 * before the command ran, so memory and disk never disagree.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* PARAMETER LIST LENGTH ERROR, or D9's older-LIO INVALID FIELD IN PARAMETER LIST. */
static struct scsi_sense length_error(const struct pr_sim_lun *lun)
{
    return sim_dev(lun, PR_DEV_D9_LENGTH_AS_INVALID_PARAM) ? SENSE_INVALID_FIELD_IN_PARAM
                                                           : SENSE_PARAM_LIST_LENGTH_ERROR;
}

static bool sa_is_known(uint8_t sa)
{
    /* SPC-4 6.16.1: 00h-07h; 08h REPLACE LOST RESERVATION is optional and
     * not supported here (RLR_C=0, like LIO). */
    return sa <= PR_OUT_REGISTER_AND_MOVE;
}

/* SPC-4 6.16.3/6.16.4 and LIO's entry checks (pr-semantics.md 3.3). */
static bool decode(const struct pr_sim_lun *lun, const uint8_t *cdb, const uint8_t *param,
                   size_t param_len, struct sim_prout *c, struct pr_sim_result *r)
{
    memset(c, 0, sizeof(*c));
    c->sa = cdb[1] & 0x1f;
    c->scope = cdb[2] >> 4;
    c->type = cdb[2] & 0x0f;
    /* SPC-4 6.16.1: PARAMETER LIST LENGTH is the 32-bit field in bytes
     * 5-8 (sg3_utils fills only 7-8; both read the same). */
    c->plen = scsi_get_be32(cdb + 5);
    c->param = param;
    bool lio_order = sim_dev(lun, PR_DEV_D5_SCOPE_IN_PARAM_LIST);

    /* spc4: a CDB field is judged before the data it describes. */
    if (!lio_order && !sa_is_known(c->sa)) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return false;
    }
    if (c->plen < 24 || param_len < c->plen) {
        sim_result_check(r, length_error(lun));
        return false;
    }
    c->rkey = scsi_get_be64(param);
    c->sakey = scsi_get_be64(param + 8);
    if (c->sa != PR_OUT_REGISTER_AND_MOVE) {
        c->spec_i_pt = (param[20] & PR_OUT_FLAG_SPEC_I_PT) != 0;
        c->all_tg_pt = (param[20] & PR_OUT_FLAG_ALL_TG_PT) != 0;
        c->aptpl = (param[20] & PR_OUT_FLAG_APTPL) != 0;
    } else {
        c->unreg = (param[17] & PR_MOVE_FLAG_UNREG) != 0;
        c->aptpl = (param[17] & PR_MOVE_FLAG_APTPL) != 0;
    }
    /* SPC-4 6.16.3: SPEC_I_PT is valid only for REGISTER. */
    if (c->spec_i_pt && c->sa != PR_OUT_REGISTER) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_PARAM);
        return false;
    }
    /* SPC-4 6.16.3: without SPEC_I_PT the basic list is exactly 24 bytes. */
    if (!c->spec_i_pt && c->sa != PR_OUT_REGISTER_AND_MOVE && c->plen != 24) {
        sim_result_check(r, length_error(lun));
        return false;
    }
    /* LIO reads the parameter list before it looks at the service action. */
    if (lio_order && !sa_is_known(c->sa)) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return false;
    }
    return true;
}

/* Does this command have to write the APTPL state? */
static bool needs_persist(bool aptpl_before, bool aptpl_after)
{
    return aptpl_before || aptpl_after;
}

/* Could this command touch the APTPL state?  (Decides the snapshot.) */
static bool may_persist(const struct pr_sim_lun *lun, const struct sim_prout *c)
{
    return lun->config.persist != NULL && (lun->st.aptpl || c->aptpl);
}

void sim_abort_defer(struct pr_sim_lun *lun, const struct pr_sim_nexus *nexus)
{
    if (lun->config.on_abort == NULL)
        return;
    if (lun->naborts == lun->aborts_cap) {
        size_t cap = lun->aborts_cap ? lun->aborts_cap * 2 : 4;
        struct pr_sim_nexus *v = realloc(lun->aborts, cap * sizeof(*v));
        if (v == NULL) {
            /* No room to wait for the commit: abort now rather than never. */
            lun->config.on_abort(lun->config.opaque, nexus);
            return;
        }
        lun->aborts = v;
        lun->aborts_cap = cap;
    }
    lun->aborts[lun->naborts++] = *nexus;
}

/* SPC-4 5.14.11.5: the victims' tasks are aborted only if the PREEMPT AND
 * ABORT itself completes; a failed command (APTPL write) aborts nothing. */
static void report_aborts(struct pr_sim_lun *lun, bool committed)
{
    for (size_t i = 0; committed && i < lun->naborts; i++)
        lun->config.on_abort(lun->config.opaque, &lun->aborts[i]);
    lun->naborts = 0;
}

static bool dispatch(struct pr_sim_lun *lun, struct sim_nexus *n, const struct sim_prout *c,
                     struct pr_sim_result *r)
{
    switch (c->sa) {
    case PR_OUT_REGISTER:
    case PR_OUT_REGISTER_AND_IGNORE:
        return sim_register(lun, n, c, r);
    case PR_OUT_RESERVE:
        return sim_reserve(lun, n, c, r);
    case PR_OUT_RELEASE:
        return sim_release_sa(lun, n, c, r);
    case PR_OUT_CLEAR:
        return sim_clear(lun, n, c, r);
    case PR_OUT_PREEMPT:
    case PR_OUT_PREEMPT_AND_ABORT:
        return sim_preempt(lun, n, c, r);
    default:
        return sim_register_and_move(lun, n, c, r);
    }
}

void sim_pr_out(struct pr_sim_lun *lun, struct sim_nexus *n, const uint8_t *cdb,
                const uint8_t *param, size_t param_len, struct pr_sim_result *r)
{
    struct sim_prout c;
    if (!decode(lun, cdb, param, param_len, &c, r))
        return;

    struct sim_state saved;
    bool have_saved = false;
    if (may_persist(lun, &c)) {
        if (sim_state_clone(&lun->st, &saved) < 0) {
            sim_result_check(r, SENSE_INTERNAL_TARGET_FAILURE);
            return;
        }
        have_saved = true;
    }
    bool aptpl_before = lun->st.aptpl;
    bool changed = dispatch(lun, n, &c, r);
    if (changed && r->status == SCSI_STATUS_GOOD && lun->config.persist != NULL &&
        needs_persist(aptpl_before, lun->st.aptpl)) {
        uint8_t *image = NULL;
        size_t len = 0;
        int rc = pr_sim_serialize(lun, &image, &len);
        if (rc == 0)
            rc = lun->config.persist(lun->config.opaque, image, len);
        free(image);
        if (rc < 0) {
            /* The state on disk is the old one: so must memory be.  Sense:
             * HARDWARE ERROR, INTERNAL TARGET FAILURE (docs/pr-sim.md). */
            struct sim_state failed = lun->st;
            lun->st = saved;
            have_saved = false;
            sim_state_destroy(&failed);
            sim_result_check(r, SENSE_INTERNAL_TARGET_FAILURE);
        }
    }
    if (have_saved)
        sim_state_destroy(&saved);
    report_aborts(lun, r->status == SCSI_STATUS_GOOD);
}
