/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * persist.c - the APTPL state image (SPC-4 5.14.5: what must survive a
 * power loss): registrations with their initiator TransportID, RTPI, key
 * and ALL_TG_PT; the reservation holder, type and scope; the APTPL bit.
 * PRgeneration and unit attentions are not persisted.
 *
 * Layout, all integers big-endian:
 *   header (32 bytes, struct pr_sim_image_header)
 *   reservation record (8 bytes)
 *   one registration record (16 bytes) + TransportID per registration
 * Both the header and the body carry a CRC-32 (IEEE 802.3 polynomial).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define PR_SIM_IMAGE_MAGIC "PRSIMST\n"
#define PR_SIM_IMAGE_VERSION 1u
#define PR_SIM_IMAGE_FLAG_APTPL 0x1u
#define PR_SIM_IMAGE_NO_HOLDER 0xffffffffu

struct pr_sim_image_header {
    uint8_t magic[8];
    uint8_t version[4];
    uint8_t flags[4];
    uint8_t body_length[4];
    uint8_t body_crc[4];
    uint8_t reg_count[4];
    uint8_t header_crc[4]; /* over the 28 bytes before it */
};
_Static_assert(sizeof(struct pr_sim_image_header) == 32, "image header is 32 bytes");

struct pr_sim_image_reservation {
    uint8_t type;
    uint8_t scope;
    uint8_t reserved[2];
    uint8_t holder_index[4]; /* registration index, or NO_HOLDER */
};
_Static_assert(sizeof(struct pr_sim_image_reservation) == 8, "reservation record is 8 bytes");

struct pr_sim_image_registration {
    uint8_t key[8];
    uint8_t rtpi[2];
    uint8_t flags; /* 0x1 ALL_TG_PT */
    uint8_t reserved;
    uint8_t tid_length[2];
    uint8_t reserved2[2];
};
_Static_assert(sizeof(struct pr_sim_image_registration) == 16, "registration record is 16 bytes");

/* CRC-32, reflected, polynomial EDB88320h, computed bitwise: images are
 * written rarely, and a table would be more code to get wrong. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

int pr_sim_serialize(const struct pr_sim_lun *lun, uint8_t **out, size_t *out_len)
{
    const struct sim_state *st = &lun->st;
    /* Without APTPL nothing survives power loss: the image says so and
     * holds no registrations. */
    bool aptpl = st->aptpl;
    size_t body = sizeof(struct pr_sim_image_reservation);
    size_t count = 0;
    if (aptpl)
        for (const struct sim_reg *r = st->reg_head; r != NULL; r = r->next, count++)
            body += sizeof(struct pr_sim_image_registration) + r->nexus->tid_len;
    size_t total = sizeof(struct pr_sim_image_header) + body;
    uint8_t *img = calloc(1, total);
    if (img == NULL)
        return -ENOMEM;
    uint8_t *p = img + sizeof(struct pr_sim_image_header);
    struct pr_sim_image_reservation *res = (struct pr_sim_image_reservation *)p;
    scsi_put_be32(res->holder_index, PR_SIM_IMAGE_NO_HOLDER);
    p += sizeof(*res);
    if (aptpl) {
        res->type = (uint8_t)st->res_type;
        res->scope = (uint8_t)st->res_scope;
        uint32_t i = 0;
        for (const struct sim_reg *r = st->reg_head; r != NULL; r = r->next, i++) {
            struct pr_sim_image_registration *rec = (struct pr_sim_image_registration *)p;
            scsi_put_be64(rec->key, r->key);
            scsi_put_be16(rec->rtpi, r->nexus->id.rtpi);
            rec->flags = r->all_tg_pt ? 1 : 0;
            scsi_put_be16(rec->tid_length, r->nexus->tid_len);
            p += sizeof(*rec);
            memcpy(p, r->nexus->tid, r->nexus->tid_len);
            p += r->nexus->tid_len;
            if (st->res_holder == r)
                scsi_put_be32(res->holder_index, i);
        }
    }
    struct pr_sim_image_header *h = (struct pr_sim_image_header *)img;
    memcpy(h->magic, PR_SIM_IMAGE_MAGIC, sizeof(h->magic));
    scsi_put_be32(h->version, PR_SIM_IMAGE_VERSION);
    scsi_put_be32(h->flags, aptpl ? PR_SIM_IMAGE_FLAG_APTPL : 0);
    scsi_put_be32(h->body_length, (uint32_t)body);
    scsi_put_be32(h->body_crc, crc32_ieee(img + sizeof(*h), body));
    scsi_put_be32(h->reg_count, (uint32_t)count);
    scsi_put_be32(h->header_crc, crc32_ieee(img, offsetof(struct pr_sim_image_header, header_crc)));
    *out = img;
    *out_len = total;
    return 0;
}

static int fail(char *errmsg, size_t errmsg_len, int err, const char *fmt, ...)
{
    if (errmsg != NULL && errmsg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, errmsg_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

int pr_sim_deserialize(struct pr_sim_lun *lun, const uint8_t *image, size_t len, char *errmsg,
                       size_t errmsg_len)
{
    const struct pr_sim_image_header *h = (const struct pr_sim_image_header *)image;
    if (image == NULL || len < sizeof(*h))
        return fail(errmsg, errmsg_len, -EINVAL, "truncated: %zu bytes, header needs %zu", len,
                    sizeof(*h));
    if (memcmp(h->magic, PR_SIM_IMAGE_MAGIC, sizeof(h->magic)) != 0)
        return fail(errmsg, errmsg_len, -EINVAL, "not a prhelper simulator state file (bad magic)");
    if (scsi_get_be32(h->header_crc) !=
        crc32_ieee(image, offsetof(struct pr_sim_image_header, header_crc)))
        return fail(errmsg, errmsg_len, -EINVAL, "header checksum mismatch");
    uint32_t version = scsi_get_be32(h->version);
    if (version > PR_SIM_IMAGE_VERSION)
        return fail(errmsg, errmsg_len, -EPROTONOSUPPORT,
                    "format version %u is newer than this program's %u", version,
                    PR_SIM_IMAGE_VERSION);
    if (version == 0)
        return fail(errmsg, errmsg_len, -EINVAL, "format version 0 is invalid");
    size_t body = scsi_get_be32(h->body_length);
    if (body != len - sizeof(*h))
        return fail(errmsg, errmsg_len, -EINVAL, "body length %zu does not match file size %zu",
                    body, len);
    const uint8_t *p = image + sizeof(*h), *end = image + len;
    if (scsi_get_be32(h->body_crc) != crc32_ieee(p, body))
        return fail(errmsg, errmsg_len, -EINVAL, "body checksum mismatch");
    uint32_t flags = scsi_get_be32(h->flags);
    uint32_t count = scsi_get_be32(h->reg_count);
    if (flags & ~PR_SIM_IMAGE_FLAG_APTPL)
        return fail(errmsg, errmsg_len, -EINVAL, "unknown flags %#x", flags);
    bool aptpl = (flags & PR_SIM_IMAGE_FLAG_APTPL) != 0;
    if (body < sizeof(struct pr_sim_image_reservation))
        return fail(errmsg, errmsg_len, -EINVAL, "reservation record missing");
    const struct pr_sim_image_reservation *res = (const struct pr_sim_image_reservation *)p;
    p += sizeof(*res);
    uint32_t holder = scsi_get_be32(res->holder_index);
    if (!aptpl && (count != 0 || holder != PR_SIM_IMAGE_NO_HOLDER))
        return fail(errmsg, errmsg_len, -EINVAL, "registrations stored without APTPL");
    if ((holder == PR_SIM_IMAGE_NO_HOLDER) != (res->type == PR_TYPE_NONE) ||
        (res->type != PR_TYPE_NONE && !pr_type_is_valid(res->type)) || res->scope != 0 ||
        (holder != PR_SIM_IMAGE_NO_HOLDER && holder >= count))
        return fail(errmsg, errmsg_len, -EINVAL, "invalid reservation record (type %u, holder %u)",
                    res->type, holder);

    struct sim_state st;
    sim_state_init(&st);
    int rc = 0;
    for (uint32_t i = 0; i < count; i++) {
        const struct pr_sim_image_registration *rec = (const struct pr_sim_image_registration *)p;
        if ((size_t)(end - p) < sizeof(*rec)) {
            rc = fail(errmsg, errmsg_len, -EINVAL, "registration %u truncated", i);
            break;
        }
        p += sizeof(*rec);
        size_t tidlen = scsi_get_be16(rec->tid_length);
        struct pr_sim_nexus id;
        memset(&id, 0, sizeof(id));
        size_t used;
        uint64_t key = scsi_get_be64(rec->key);
        id.rtpi = scsi_get_be16(rec->rtpi);
        if ((size_t)(end - p) < tidlen || pr_tid_parse(p, tidlen, &id.initiator, &used) < 0 ||
            used != tidlen || key == 0 || id.rtpi == 0 || (rec->flags & ~1u) != 0) {
            rc = fail(errmsg, errmsg_len, -EINVAL, "registration %u is invalid", i);
            break;
        }
        p += tidlen;
        struct sim_nexus *n = sim_nexus_get(&st, &id);
        if (n == NULL) {
            rc = fail(errmsg, errmsg_len, -ENOMEM, "out of memory");
            break;
        }
        if (n->reg != NULL) {
            rc = fail(errmsg, errmsg_len, -EINVAL, "registration %u duplicates an I_T nexus", i);
            break;
        }
        struct sim_reg *r = sim_reg_add(&st, n, key, rec->flags & 1u);
        if (r == NULL) {
            rc = fail(errmsg, errmsg_len, -ENOMEM, "out of memory");
            break;
        }
        if (i == holder)
            st.res_holder = r;
    }
    if (rc == 0 && p != end)
        rc = fail(errmsg, errmsg_len, -EINVAL, "%zu trailing bytes", (size_t)(end - p));
    for (const struct sim_reg *r = st.reg_head; rc == 0 && r != NULL; r = r->next)
        if (sim_port_find(lun, r->nexus->id.rtpi) == NULL &&
            pr_sim_lun_add_port(lun, r->nexus->id.rtpi,
                                (enum pr_tid_protocol)r->nexus->id.initiator.proto) < 0)
            rc = fail(errmsg, errmsg_len, -ENOMEM, "out of memory");
    if (rc < 0) {
        sim_state_destroy(&st);
        return rc;
    }
    st.res_type = res->type;
    st.res_scope = res->scope;
    st.aptpl = aptpl;
    /* SPC: PRgeneration restarts at 0; LIO counts each imported
     * registration (tied to D12, its per-registration counting). */
    st.generation = sim_dev(lun, PR_DEV_D12_GENERATION_PER_REGISTRATION) ? count : 0;
    sim_state_destroy(&lun->st);
    lun->st = st;
    return 0;
}
