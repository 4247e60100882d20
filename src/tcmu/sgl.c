/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sgl.c - scatter-gather lists over plain memory (include/prhelper/sgl.h). */
#include "prhelper/sgl.h"

#include <string.h>

struct prh_sgl prh_sgl_make(const struct prh_seg *seg, size_t nseg)
{
    struct prh_sgl s = { .seg = seg, .nseg = nseg, .total = 0 };

    for (size_t i = 0; i < nseg; i++)
        s.total += seg[i].len;
    return s;
}

int prh_sgl_walk(const struct prh_sgl *s, size_t off, size_t len, prh_sgl_fn fn, void *opaque)
{
    size_t pos = 0; /* list offset of the current segment's start */

    for (size_t i = 0; i < s->nseg && len > 0; i++) {
        const struct prh_seg *g = &s->seg[i];
        if (off >= pos + g->len) {
            pos += g->len;
            continue;
        }
        size_t in = off - pos;
        size_t n = g->len - in;
        if (n > len)
            n = len;
        int r = fn(opaque, g->base + in, n, off);
        if (r)
            return r;
        off += n;
        len -= n;
        pos += g->len;
    }
    return 0;
}

struct copy_ctx {
    uint8_t *mem;
    size_t start;
    size_t done;
    int to_list;
};

static int copy_piece(void *opaque, uint8_t *piece, size_t n, size_t list_off)
{
    struct copy_ctx *c = opaque;

    if (c->to_list)
        memcpy(piece, c->mem + (list_off - c->start), n);
    else
        memcpy(c->mem + (list_off - c->start), piece, n);
    c->done += n;
    return 0;
}

size_t prh_sgl_gather(const struct prh_sgl *s, size_t off, void *dst, size_t len)
{
    struct copy_ctx c = { .mem = dst, .start = off, .done = 0, .to_list = 0 };

    prh_sgl_walk(s, off, len, copy_piece, &c);
    return c.done;
}

size_t prh_sgl_scatter(const struct prh_sgl *s, size_t off, const void *src, size_t len)
{
    /* The source is only read: to_list copies from it. */
    struct copy_ctx c = { .mem = (uint8_t *)(uintptr_t)src, .start = off, .done = 0, .to_list = 1 };

    prh_sgl_walk(s, off, len, copy_piece, &c);
    return c.done;
}

static int zero_piece(void *opaque, uint8_t *piece, size_t n, size_t list_off)
{
    (void)opaque;
    (void)list_off;
    memset(piece, 0, n);
    return 0;
}

void prh_sgl_zero_from(const struct prh_sgl *s, size_t off)
{
    if (off < s->total)
        prh_sgl_walk(s, off, s->total - off, zero_piece, NULL);
}
