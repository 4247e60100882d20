/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * disk.c - the medium of a simulated LUN: SBC-3 / SPC-4 commands on a
 * file (include/prhelper/scsi_disk.h).  Clause numbers are SPC-4 r37 and
 * SBC-3 r36 unless said otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "prhelper/scsi_disk.h"

#define SENSE_LBA_OUT_OF_RANGE SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x21, 0x00)
#define SENSE_SAVING_NOT_SUPPORTED SCSI_SENSE_CODE(SCSI_SENSE_ILLEGAL_REQUEST, 0x39, 0x00)
#define SENSE_MISCOMPARE_VERIFY SCSI_SENSE_CODE(SCSI_SENSE_MISCOMPARE, 0x1d, 0x00)
#define SENSE_READ_ERROR SCSI_SENSE_CODE(SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00)
#define SENSE_WRITE_ERROR SCSI_SENSE_CODE(SCSI_SENSE_MEDIUM_ERROR, 0x0c, 0x00)
#define SENSE_SPACE_ALLOC_FAILED SCSI_SENSE_CODE(SCSI_SENSE_DATA_PROTECT, 0x27, 0x07)

/* Largest data-in answer built in memory (INQUIRY, MODE SENSE, ...). */
#define SMALL_DATA_MAX 256

static void good(struct scsi_disk_result *r)
{
    r->status = SCSI_STATUS_GOOD;
    r->sense = SENSE_NONE;
}

static void check(struct scsi_disk_result *r, struct scsi_sense s)
{
    r->status = SCSI_STATUS_CHECK_CONDITION;
    r->sense = s;
    r->data_in_len = 0;
}

/* Hand len bytes of an answer over, clipped to the allocation length and
 * to the buffer the initiator gave (SPC-4 4.2.5.6). */
static void data_in(const struct prh_sgl *data, const uint8_t *buf, size_t len, size_t alloc,
                    struct scsi_disk_result *r)
{
    if (len > alloc)
        len = alloc;
    r->data_in_len = prh_sgl_scatter(data, 0, buf, len);
    good(r);
}

/* Space-padded ASCII field (SPC-4 4.4.1). */
static void put_ascii(uint8_t *dst, const char *s, size_t width)
{
    size_t n = strlen(s);

    memset(dst, ' ', width);
    memcpy(dst, s, n < width ? n : width);
}

void scsi_disk_identity_for(const char *lun_name, const char *product, const char *revision,
                            struct scsi_disk_identity *out)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a: stable across runs and hosts */

    memset(out, 0, sizeof(*out));
    snprintf(out->vendor, sizeof(out->vendor), "%s", "PRHELPER");
    snprintf(out->product, sizeof(out->product), "%s", product);
    snprintf(out->revision, sizeof(out->revision), "%s", revision);
    snprintf(out->serial, sizeof(out->serial), "prsim-%s", lun_name);
    for (const char *p = lun_name; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ull;
    }
    /* NAA 3h (locally assigned, SPC-4 7.8.6.6.2): the top nibble is the
     * NAA type, the other 60 bits are ours. */
    h = (h & 0x0fffffffffffffffull) | 0x3000000000000000ull;
    scsi_put_be64(out->naa, h);
}

/* ---- INQUIRY (6.6) ------------------------------------------------------ */

static size_t inquiry_standard(const struct scsi_disk *d, uint8_t *b)
{
    memset(b, 0, 36);
    b[0] = 0x00; /* peripheral qualifier 0, direct-access block device */
    b[2] = 0x06; /* SPC-4 */
    b[3] = 0x12; /* HISUP, response data format 2 */
    b[4] = 36 - 5;
    b[7] = 0x02; /* CMDQUE */
    put_ascii(b + 8, d->id.vendor, 8);
    put_ascii(b + 16, d->id.product, 16);
    put_ascii(b + 32, d->id.revision, 4);
    return 36;
}

static size_t vpd_designator(uint8_t *b, uint8_t proto_codeset, uint8_t piv_assoc_type,
                             const uint8_t *id, size_t len)
{
    b[0] = proto_codeset;
    b[1] = piv_assoc_type;
    b[2] = 0;
    b[3] = (uint8_t)len;
    memcpy(b + 4, id, len);
    return 4 + len;
}

/* Device Identification (7.8.6): the LU's NAA and T10 vendor designators,
 * then the relative target port of the path the command came on. */
static size_t vpd_device_id(const struct scsi_disk *d, const struct scsi_disk_port *port,
                            uint8_t *b)
{
    uint8_t t10[8 + SCSI_DISK_SERIAL_MAX], rtp[4] = { 0, 0, 0, 0 };
    size_t n = 4, slen = strlen(d->id.serial);

    b[0] = 0x00;
    b[1] = 0x83;
    /* NAA, binary, associated with the logical unit. */
    n += vpd_designator(b + n, 0x01, 0x03, d->id.naa, sizeof(d->id.naa));
    /* T10 vendor ID, ASCII: vendor then the unit serial. */
    put_ascii(t10, d->id.vendor, 8);
    memcpy(t10 + 8, d->id.serial, slen);
    n += vpd_designator(b + n, 0x02, 0x01, t10, 8 + slen);
    /* Relative target port (type 4), associated with the target port,
     * PIV set: the protocol identifier is the fabric's. */
    scsi_put_be16(rtp + 2, port ? port->rtpi : 1);
    n += vpd_designator(b + n, (uint8_t)((port ? port->protocol & 0x0f : 0) << 4 | 0x01), 0x94,
                        rtp, sizeof(rtp));
    scsi_put_be16(b + 2, (uint16_t)(n - 4));
    return n;
}

/* Block Limits (SBC-3 6.5.3). */
static size_t vpd_block_limits(const struct scsi_disk *d, uint8_t *b)
{
    memset(b, 0, 64);
    b[1] = 0xb0;
    scsi_put_be16(b + 2, 0x3c);
    scsi_put_be16(b + 6, 1);                   /* optimal transfer length granularity */
    scsi_put_be32(b + 8, d->max_transfer);     /* maximum transfer length */
    scsi_put_be32(b + 12, d->max_transfer);    /* optimal transfer length */
    return 64;
}

static void inquiry(const struct scsi_disk *d, const struct scsi_disk_port *port,
                    const uint8_t *cdb, const struct prh_sgl *data, struct scsi_disk_result *r)
{
    uint8_t b[SMALL_DATA_MAX];
    size_t alloc = scsi_get_be16(cdb + 3), n;
    bool evpd = cdb[1] & 0x01;

    if ((cdb[1] & 0xfe) != 0 || (!evpd && cdb[2] != 0)) {
        check(r, SENSE_INVALID_FIELD_IN_CDB); /* CMDDT is obsolete; a page needs EVPD */
        return;
    }
    memset(b, 0, sizeof(b));
    if (!evpd) {
        n = inquiry_standard(d, b);
    } else {
        switch (cdb[2]) {
        case 0x00: /* Supported VPD pages (7.8.16) */
            b[1] = 0x00;
            b[3] = 4;
            b[4] = 0x00;
            b[5] = 0x80;
            b[6] = 0x83;
            b[7] = 0xb0;
            n = 8;
            break;
        case 0x80: { /* Unit Serial Number (7.8.18) */
            size_t slen = strlen(d->id.serial);
            b[1] = 0x80;
            b[3] = (uint8_t)slen;
            memcpy(b + 4, d->id.serial, slen);
            n = 4 + slen;
            break;
        }
        case 0x83:
            n = vpd_device_id(d, port, b);
            break;
        case 0xb0:
            n = vpd_block_limits(d, b);
            break;
        default:
            check(r, SENSE_INVALID_FIELD_IN_CDB);
            return;
        }
    }
    data_in(data, b, n, alloc, r);
}

/* ---- READ CAPACITY (SBC-3 5.16, 5.17), REPORT LUNS (6.33) ---------------- */

static void read_capacity10(const struct scsi_disk *d, const struct prh_sgl *data,
                            struct scsi_disk_result *r)
{
    uint8_t b[8];
    uint64_t last = d->blocks ? d->blocks - 1 : 0;

    /* Too large for 32 bits: FFFFFFFFh tells the initiator to use (16). */
    scsi_put_be32(b, last > 0xffffffffull ? 0xffffffffu : (uint32_t)last);
    scsi_put_be32(b + 4, d->block_size);
    data_in(data, b, sizeof(b), sizeof(b), r);
}

static void read_capacity16(const struct scsi_disk *d, const uint8_t *cdb,
                            const struct prh_sgl *data, struct scsi_disk_result *r)
{
    uint8_t b[32];

    memset(b, 0, sizeof(b));
    scsi_put_be64(b, d->blocks ? d->blocks - 1 : 0);
    scsi_put_be32(b + 8, d->block_size);
    data_in(data, b, sizeof(b), scsi_get_be32(cdb + 10), r);
}

static void report_luns(const uint8_t *cdb, const struct prh_sgl *data,
                        struct scsi_disk_result *r)
{
    uint8_t b[16];
    uint32_t alloc = scsi_get_be32(cdb + 6);

    if (cdb[2] > 0x02 || alloc < 16) {
        check(r, SENSE_INVALID_FIELD_IN_CDB); /* 6.33: allocation length below 16 */
        return;
    }
    memset(b, 0, sizeof(b));
    scsi_put_be32(b, 8); /* one LUN: 0 */
    data_in(data, b, sizeof(b), alloc, r);
}

/* ---- MODE SENSE (6.11, 6.12) -------------------------------------------- */

/* One mode page into b (current or changeable values); its length, or 0
 * if the page is not supported. */
static size_t mode_page(const struct scsi_disk *d, uint8_t page, bool changeable, uint8_t *b)
{
    switch (page) {
    case 0x08: /* Caching (SBC-3 6.4.5) */
        memset(b, 0, 20);
        b[0] = 0x08;
        b[1] = 0x12;
        if (!changeable && d->write_cache)
            b[2] = 0x04; /* WCE */
        return 20;
    case 0x0a: /* Control (7.5.8) */
        memset(b, 0, 12);
        b[0] = 0x0a;
        b[1] = 0x0a;
        if (!changeable) {
            b[3] = 0x10;                 /* QUEUE ALGORITHM MODIFIER 1: unrestricted */
            scsi_put_be16(b + 8, 0xffff); /* BUSY TIMEOUT PERIOD: unlimited */
        }
        return 12;
    default:
        return 0;
    }
}

static void mode_sense(const struct scsi_disk *d, const uint8_t *cdb, const struct prh_sgl *data,
                       struct scsi_disk_result *r)
{
    bool ten = cdb[0] == 0x5a;
    bool dbd = cdb[1] & 0x08, llbaa = ten && (cdb[1] & 0x10);
    unsigned pc = cdb[2] >> 6, page = cdb[2] & 0x3f, subpage = cdb[3];
    size_t alloc = ten ? scsi_get_be16(cdb + 7) : cdb[4];
    size_t hdr = ten ? 8 : 4, n, bd_len = dbd ? 0 : (llbaa ? 16 : 8);
    uint8_t b[SMALL_DATA_MAX];

    if (pc == 3) {
        check(r, SENSE_SAVING_NOT_SUPPORTED);
        return;
    }
    if (subpage != 0 && !(page == 0x3f && subpage == 0xff)) {
        check(r, SENSE_INVALID_FIELD_IN_CDB);
        return;
    }
    memset(b, 0, sizeof(b));
    n = hdr + bd_len;
    if (page == 0x3f) {
        n += mode_page(d, 0x08, pc == 1, b + n);
        n += mode_page(d, 0x0a, pc == 1, b + n);
    } else {
        size_t len = mode_page(d, (uint8_t)page, pc == 1, b + n);
        if (len == 0) {
            check(r, SENSE_INVALID_FIELD_IN_CDB);
            return;
        }
        n += len;
    }
    /* Block descriptor (6.4.4.2, 6.4.4.3). */
    uint8_t *bd = b + hdr;
    if (bd_len == 8) {
        scsi_put_be32(bd, d->blocks > 0xffffffffull ? 0xffffffffu : (uint32_t)d->blocks);
        scsi_put_be32(bd + 4, d->block_size & 0x00ffffffu);
    } else if (bd_len == 16) {
        scsi_put_be64(bd, d->blocks);
        scsi_put_be32(bd + 12, d->block_size);
    }
    /* Header (7.5.5): the device-specific byte has DPOFUA (FUA honoured). */
    if (ten) {
        scsi_put_be16(b, (uint16_t)(n - 2));
        b[3] = 0x10;
        b[4] = llbaa && !dbd ? 0x01 : 0x00;
        scsi_put_be16(b + 6, (uint16_t)bd_len);
    } else {
        b[0] = (uint8_t)(n - 1);
        b[2] = 0x10;
        b[3] = (uint8_t)bd_len;
    }
    data_in(data, b, n, alloc, r);
}

/* ---- READ, WRITE, VERIFY, SYNCHRONIZE CACHE (SBC-3 5) ---------------------- */

struct rw {
    uint64_t lba;
    uint64_t blocks;
    bool fua;
    unsigned bytchk; /* VERIFY */
};

/* LBA, length and flags of a medium-access CDB; false if unknown. */
static bool decode_rw(const uint8_t *cdb, size_t cdb_len, struct rw *o)
{
    memset(o, 0, sizeof(*o));
    switch (cdb[0]) {
    case 0x08: case 0x0a: /* READ(6), WRITE(6): 0 means 256 blocks */
        o->lba = (uint64_t)(cdb[1] & 0x1f) << 16 | scsi_get_be16(cdb + 2);
        o->blocks = cdb[4] ? cdb[4] : 256;
        return cdb_len >= 6;
    case 0x28: case 0x2a: case 0x2f: case 0x35: /* (10) */
        o->lba = scsi_get_be32(cdb + 2);
        o->blocks = scsi_get_be16(cdb + 7);
        break;
    case 0xa8: case 0xaa: case 0xaf: /* (12) */
        if (cdb_len < 12)
            return false;
        o->lba = scsi_get_be32(cdb + 2);
        o->blocks = scsi_get_be32(cdb + 6);
        break;
    case 0x88: case 0x8a: case 0x8f: case 0x91: /* (16) */
        if (cdb_len < 16)
            return false;
        o->lba = scsi_get_be64(cdb + 2);
        o->blocks = scsi_get_be32(cdb + 10);
        break;
    default:
        return false;
    }
    if (cdb_len < 10)
        return false;
    o->fua = (cdb[1] & 0x08) != 0;
    o->bytchk = (cdb[1] >> 1) & 0x03;
    return true;
}

struct io_ctx {
    int fd;
    uint64_t file_off; /* of byte 0 of the list's part being moved */
    size_t list_start;
    int err;
};

static int read_piece(void *opaque, uint8_t *piece, size_t n, size_t list_off)
{
    struct io_ctx *c = opaque;
    off_t pos = (off_t)(c->file_off + (list_off - c->list_start));

    while (n > 0) {
        ssize_t got = pread(c->fd, piece, n, pos);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            c->err = errno;
            return -1;
        }
        if (got == 0) { /* past the end of a sparse file: zeroes */
            memset(piece, 0, n);
            return 0;
        }
        piece += got;
        n -= (size_t)got;
        pos += got;
    }
    return 0;
}

static int write_piece(void *opaque, uint8_t *piece, size_t n, size_t list_off)
{
    struct io_ctx *c = opaque;
    off_t pos = (off_t)(c->file_off + (list_off - c->list_start));

    while (n > 0) {
        ssize_t put = pwrite(c->fd, piece, n, pos);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0) {
            c->err = put < 0 ? errno : EIO;
            return -1;
        }
        piece += put;
        n -= (size_t)put;
        pos += put;
    }
    return 0;
}

static struct scsi_sense write_error(int err)
{
    return err == ENOSPC || err == EDQUOT ? SENSE_SPACE_ALLOC_FAILED : SENSE_WRITE_ERROR;
}

/* VERIFY with BYTCHK 01b: compare the data-out bytes with the medium. */
static void verify_bytes(const struct scsi_disk *d, uint64_t off, size_t len,
                         const struct prh_sgl *data, struct scsi_disk_result *r)
{
    uint8_t medium[4096], sent[4096];

    for (size_t done = 0; done < len;) {
        size_t n = len - done < sizeof(medium) ? len - done : sizeof(medium);
        struct prh_seg seg = { medium, n };
        struct prh_sgl one = prh_sgl_make(&seg, 1);
        struct io_ctx c = { .fd = d->fd, .file_off = off + done, .list_start = 0 };
        if (prh_sgl_walk(&one, 0, n, read_piece, &c) != 0) {
            check(r, SENSE_READ_ERROR);
            return;
        }
        prh_sgl_gather(data, done, sent, n);
        if (memcmp(medium, sent, n) != 0) {
            check(r, SENSE_MISCOMPARE_VERIFY);
            return;
        }
        done += n;
    }
    good(r);
}

static void medium_access(const struct scsi_disk *d, const uint8_t *cdb, size_t cdb_len,
                          const struct prh_sgl *data, struct scsi_disk_result *r)
{
    struct rw rw;
    uint8_t op = cdb[0];
    bool is_write = op == 0x0a || op == 0x2a || op == 0xaa || op == 0x8a;
    bool is_read = op == 0x08 || op == 0x28 || op == 0xa8 || op == 0x88;
    bool is_verify = op == 0x2f || op == 0xaf || op == 0x8f;

    if (!decode_rw(cdb, cdb_len, &rw)) {
        check(r, SENSE_INVALID_OPCODE);
        return;
    }
    /* No protection information: RDPROTECT/WRPROTECT/VRPROTECT must be 0. */
    if (op != 0x08 && op != 0x0a && op != 0x35 && op != 0x91 && (cdb[1] & 0xe0) != 0) {
        check(r, SENSE_INVALID_FIELD_IN_CDB);
        return;
    }
    if (rw.lba > d->blocks || rw.blocks > d->blocks - rw.lba) {
        check(r, SENSE_LBA_OUT_OF_RANGE);
        return;
    }
    if (op == 0x35 || op == 0x91) { /* SYNCHRONIZE CACHE: range checked, flush all */
        if (fdatasync(d->fd) < 0 && errno != EINVAL && errno != EROFS)
            check(r, SENSE_WRITE_ERROR);
        else
            good(r);
        return;
    }
    if (rw.blocks > d->max_transfer) {
        check(r, SENSE_INVALID_FIELD_IN_CDB); /* beyond MAXIMUM TRANSFER LENGTH */
        return;
    }
    uint64_t off = rw.lba * d->block_size;
    size_t len = (size_t)(rw.blocks * d->block_size);
    if (is_verify) {
        if (rw.bytchk == 0) {
            good(r); /* the medium is always readable */
        } else if (rw.bytchk != 1) {
            check(r, SENSE_INVALID_FIELD_IN_CDB);
        } else if (data->total != len) {
            check(r, SENSE_INVALID_FIELD_IN_CDB);
        } else {
            verify_bytes(d, off, len, data, r);
        }
        return;
    }
    struct io_ctx c = { .fd = d->fd, .file_off = off, .list_start = 0 };
    if (is_write) {
        /* As LIO: a write whose data length differs from the CDB's is refused. */
        if (data->total != len) {
            check(r, SENSE_INVALID_FIELD_IN_CDB);
            return;
        }
        if (prh_sgl_walk(data, 0, len, write_piece, &c) != 0) {
            check(r, write_error(c.err));
            return;
        }
        if ((rw.fua || !d->write_cache) && len > 0 && fdatasync(d->fd) < 0 && errno != EINVAL) {
            check(r, SENSE_WRITE_ERROR);
            return;
        }
        good(r);
        return;
    }
    if (is_read) {
        /* A shorter buffer than the CDB asks for gets what fits (residual). */
        size_t n = len < data->total ? len : data->total;
        if (prh_sgl_walk(data, 0, n, read_piece, &c) != 0) {
            check(r, SENSE_READ_ERROR);
            return;
        }
        r->data_in_len = n;
        good(r);
    }
}

/* ---- dispatch ---------------------------------------------------------------- */

bool scsi_disk_supports(const uint8_t *cdb, size_t cdb_len)
{
    if (cdb_len < 6)
        return false;
    switch (cdb[0]) {
    case 0x00: case 0x12: case 0x25: case 0x1a: case 0x5a: case 0xa0:
    case 0x08: case 0x0a: case 0x28: case 0x2a: case 0xa8: case 0xaa: case 0x88: case 0x8a:
    case 0x2f: case 0xaf: case 0x8f: case 0x35: case 0x91:
        return true;
    case 0x9e:
        return (cdb[1] & 0x1f) == 0x10;
    default:
        return false;
    }
}

void scsi_disk_execute(const struct scsi_disk *d, const struct scsi_disk_port *port,
                       const uint8_t *cdb, size_t cdb_len, const struct prh_sgl *data,
                       struct scsi_disk_result *r)
{
    static const struct prh_sgl none = { NULL, 0, 0 };

    memset(r, 0, sizeof(*r));
    if (data == NULL)
        data = &none;
    if (cdb == NULL || cdb_len < 6) {
        check(r, SENSE_INVALID_OPCODE);
        return;
    }
    switch (cdb[0]) {
    case 0x00: /* TEST UNIT READY (6.37) */
        good(r);
        return;
    case 0x12:
        inquiry(d, port, cdb, data, r);
        return;
    case 0x25:
        if (cdb_len < 10) {
            check(r, SENSE_INVALID_OPCODE);
            return;
        }
        read_capacity10(d, data, r);
        return;
    case 0x9e:
        if (cdb_len < 16 || (cdb[1] & 0x1f) != 0x10) {
            check(r, cdb_len < 16 ? SENSE_INVALID_OPCODE : SENSE_INVALID_FIELD_IN_CDB);
            return;
        }
        read_capacity16(d, cdb, data, r);
        return;
    case 0xa0:
        if (cdb_len < 12) {
            check(r, SENSE_INVALID_OPCODE);
            return;
        }
        report_luns(cdb, data, r);
        return;
    case 0x1a:
    case 0x5a:
        if (cdb[0] == 0x5a && cdb_len < 10) {
            check(r, SENSE_INVALID_OPCODE);
            return;
        }
        mode_sense(d, cdb, data, r);
        return;
    default:
        medium_access(d, cdb, cdb_len, data, r);
        return;
    }
}
