/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sgl.h - a scatter-gather list of plain memory segments.
 *
 * The data of one SCSI command as the TCMU ring hands it over: several
 * segments of a shared mapping.  The disk emulation reads and writes its
 * data only through these helpers, so it never cares where the bytes live
 * (the ring in the daemon, a stack buffer in the tests).
 */
#ifndef PRHELPER_SGL_H
#define PRHELPER_SGL_H

#include <stddef.h>
#include <stdint.h>

struct prh_seg {
    uint8_t *base;
    size_t len;
};

struct prh_sgl {
    const struct prh_seg *seg;
    size_t nseg;
    size_t total; /* sum of the segment lengths */
};

/* A list over nseg segments; total is computed. */
struct prh_sgl prh_sgl_make(const struct prh_seg *seg, size_t nseg);

/* Copy up to len bytes starting at byte off of the list into dst; the count copied. */
size_t prh_sgl_gather(const struct prh_sgl *s, size_t off, void *dst, size_t len);
/* Copy up to len bytes from src into the list at byte off; the count copied. */
size_t prh_sgl_scatter(const struct prh_sgl *s, size_t off, const void *src, size_t len);
/* Zero the list from byte off to its end. */
void prh_sgl_zero_from(const struct prh_sgl *s, size_t off);

/*
 * Walk the part [off, off+len) of the list segment by segment: fn is
 * called with each piece in order and stops the walk by returning
 * non-zero, which is then returned.  0 when every piece was visited.
 */
typedef int (*prh_sgl_fn)(void *opaque, uint8_t *piece, size_t piece_len, size_t list_off);
int prh_sgl_walk(const struct prh_sgl *s, size_t off, size_t len, prh_sgl_fn fn, void *opaque);

#endif
