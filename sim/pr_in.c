/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_in.c - PERSISTENT RESERVE IN (SPC-4 6.15): READ KEYS, READ
 * RESERVATION, REPORT CAPABILITIES, READ FULL STATUS.
 *
 * SPC-4 4.2.5.6: the device server builds the complete parameter data and
 * transfers the first ALLOCATION LENGTH bytes; length fields always
 * describe the complete data.  The writer below computes the complete
 * data while storing only what fits, so cost is linear and nothing is
 * allocated.  LIO's truncation deviations D1-D4 are applied on top.
 */
#include <string.h>

#include "sim_internal.h"

struct pr_in_writer {
    uint8_t *buf;
    size_t cap; /* min(allocation length, caller's buffer) */
    size_t pos; /* bytes of complete data produced so far */
};

static void put(struct pr_in_writer *w, const void *src, size_t n)
{
    if (w->pos < w->cap) {
        size_t room = w->cap - w->pos;
        memcpy(w->buf + w->pos, src, n < room ? n : room);
    }
    w->pos += n;
}

static void put_header(struct pr_in_writer *w, uint32_t generation, uint32_t addlen)
{
    struct scsi_pr_in_header h;
    scsi_put_be32(h.generation, generation);
    scsi_put_be32(h.additional_length, addlen);
    put(w, &h, sizeof(h));
}

/* SPC-4 6.15.2: one 8-byte key per registered I_T nexus. */
static void read_keys(const struct pr_sim_lun *lun, struct pr_in_writer *w, size_t alloc)
{
    const struct sim_state *st = &lun->st;
    size_t count = st->nregs;
    if (sim_dev(lun, PR_DEV_D2_READ_KEYS_LEN_RETURNED)) {
        /* D2 (older LIO): ADDITIONAL LENGTH counts only returned keys. */
        size_t fit = alloc > 8 ? (alloc - 8) / 8 : 0;
        if (fit < count)
            count = fit;
    }
    put_header(w, st->generation, (uint32_t)(8 * count));
    for (const struct sim_reg *r = st->reg_head; r != NULL; r = r->next) {
        if (w->pos >= w->cap)
            break; /* the rest is counted in ADDITIONAL LENGTH, not sent */
        uint8_t key[8];
        scsi_put_be64(key, r->key);
        put(w, key, sizeof(key));
    }
}

/* SPC-4 6.15.3: the reservation, key 0 for all-registrants types. */
static void read_reservation(const struct pr_sim_lun *lun, struct pr_in_writer *w, size_t alloc)
{
    const struct sim_state *st = &lun->st;
    if (st->res_type == PR_TYPE_NONE) {
        put_header(w, st->generation, 0);
        return;
    }
    struct scsi_pr_in_reservation d;
    memset(&d, 0, sizeof(d));
    scsi_put_be32(d.hdr.generation, st->generation);
    scsi_put_be32(d.hdr.additional_length, 16);
    /* SPC-4 6.15.3.3: RESERVATION KEY is 0 for WE_AR / EA_AR. */
    if (!pr_type_is_all_registrants(st->res_type))
        scsi_put_be64(d.key, st->res_holder->key);
    /* D3: LIO sends the key bytes as zero when the whole key does not fit. */
    if (sim_dev(lun, PR_DEV_D3_RESERVATION_KEY_ZERO_WHEN_SHORT) && alloc < 22)
        memset(d.key, 0, sizeof(d.key));
    d.scope_type = (uint8_t)(st->res_scope << 4 | st->res_type);
    put(w, &d, sizeof(d));
}

/* SPC-4 6.15.4: what this device server supports (LIO's answer). */
static void report_capabilities(const struct pr_sim_lun *lun, struct pr_in_writer *w)
{
    struct scsi_pr_in_capabilities c;
    memset(&c, 0, sizeof(c));
    scsi_put_be16(c.length, sizeof(c));
    /* RLR_C=0: REPLACE LOST RESERVATION is not implemented, like LIO. */
    c.flags1 = PR_CAP_CRH | PR_CAP_SIP_C | PR_CAP_ATP_C | PR_CAP_PTPL_C;
    /* ALLOW COMMANDS 001b: TEST UNIT READY passes WE and EA (section 5). */
    c.flags2 = (uint8_t)(PR_CAP_TMV | 0x1 << 4 | (lun->st.aptpl ? PR_CAP_PTPL_A : 0));
    scsi_put_be16(c.type_mask, PR_TYPE_MASK_WR_EX_AR | PR_TYPE_MASK_EX_AC_RO |
                                   PR_TYPE_MASK_WR_EX_RO | PR_TYPE_MASK_EX_AC |
                                   PR_TYPE_MASK_WR_EX | PR_TYPE_MASK_EX_AC_AR);
    put(w, &c, sizeof(c));
}

static size_t full_status_desc_len(const struct sim_reg *r)
{
    return sizeof(struct scsi_pr_in_full_status_desc) + r->nexus->tid_len;
}

/* SPC-4 6.15.5: one descriptor per registered I_T nexus. */
static void read_full_status(const struct pr_sim_lun *lun, struct pr_in_writer *w, size_t alloc)
{
    const struct sim_state *st = &lun->st;
    bool whole = sim_dev(lun, PR_DEV_D4_FULL_STATUS_WHOLE_DESCRIPTORS);
    /* The complete length is kept up to date as registrations come and
     * go, so a short allocation length costs only what it transfers. */
    size_t addlen = whole ? 0 : st->full_status_len;
    for (const struct sim_reg *r = st->reg_head; whole && r != NULL; r = r->next) {
        size_t d = full_status_desc_len(r);
        /* D4: LIO stops at the first descriptor that does not fit and
         * counts only what it includes.  Its test (seen on a 6.1 kernel)
         * is ADDITIONAL LENGTH so far + this TransportID's length against
         * the allocation length, ignoring the 8-byte header and the 24-byte
         * descriptor header, so the last descriptor counted may still be
         * cut by the allocation length. */
        if (whole && addlen + r->nexus->tid_len > alloc)
            break;
        addlen += d;
    }
    put_header(w, st->generation, (uint32_t)addlen);
    size_t emitted = 0;
    for (const struct sim_reg *r = st->reg_head; r != NULL && emitted < addlen; r = r->next) {
        if (w->pos >= w->cap)
            break;
        struct scsi_pr_in_full_status_desc d;
        memset(&d, 0, sizeof(d));
        scsi_put_be64(d.key, r->key);
        bool holder = sim_is_holder(st, r);
        d.flags = (uint8_t)((r->all_tg_pt ? PR_FULL_STATUS_ALL_TG_PT : 0) |
                            (holder ? PR_FULL_STATUS_R_HOLDER : 0));
        if (holder)
            d.scope_type = (uint8_t)(st->res_scope << 4 | st->res_type);
        /* RTPI is undefined when ALL_TG_PT=1; the spc4 profile still
         * reports the real port (informative), LIO leaves it 0. */
        if (!r->all_tg_pt || !sim_dev(lun, PR_DEV_D19_NEXUS_BY_INITIATOR_NAME))
            scsi_put_be16(d.rtpi, r->nexus->id.rtpi);
        scsi_put_be32(d.additional_descriptor_length, r->nexus->tid_len);
        put(w, &d, sizeof(d));
        put(w, r->nexus->tid, r->nexus->tid_len);
        emitted += full_status_desc_len(r);
    }
}

void sim_pr_in(struct pr_sim_lun *lun, struct sim_nexus *n, const uint8_t *cdb,
               uint8_t *data_in, size_t data_in_len, struct pr_sim_result *r)
{
    (void)n;
    uint8_t sa = cdb[1] & 0x1f;
    size_t alloc = scsi_get_be16(cdb + 7);
    /* SPC-4 6.15.1: service actions 04h-1Fh are reserved. */
    if (sa > PR_IN_READ_FULL_STATUS) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return;
    }
    /* D1: LIO refuses allocation lengths shorter than the header. */
    if (sim_dev(lun, PR_DEV_D1_SHORT_ALLOC_INVALID) &&
        alloc < (sa == PR_IN_REPORT_CAPABILITIES ? 6u : 8u)) {
        sim_result_check(r, SENSE_INVALID_FIELD_IN_CDB);
        return;
    }
    struct pr_in_writer w = { data_in, alloc < data_in_len ? alloc : data_in_len, 0 };
    switch (sa) {
    case PR_IN_READ_KEYS:
        read_keys(lun, &w, alloc);
        break;
    case PR_IN_READ_RESERVATION:
        read_reservation(lun, &w, alloc);
        break;
    case PR_IN_REPORT_CAPABILITIES:
        report_capabilities(lun, &w);
        break;
    default:
        read_full_status(lun, &w, alloc);
        break;
    }
    r->data_len = (uint32_t)(w.pos < w.cap ? w.pos : w.cap);
}
