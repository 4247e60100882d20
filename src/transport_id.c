/* SPDX-License-Identifier: GPL-2.0-or-later */
/* transport_id.c - SCSI TransportIDs (SPC-4 7.6.4). */
#include "prhelper/transport_id.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prhelper/scsi.h"

/* SPC-4 7.6.4.6: the separator between iSCSI name and ISID in format 01b. */
static const char isid_separator[] = ",i,0x";

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parse exactly 12 hex digits into a 6-byte ISID. */
static int parse_isid(const char *s, size_t n, uint8_t isid[6])
{
    if (n != 12)
        return -EINVAL;
    for (size_t i = 0; i < 6; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        isid[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int parse_iscsi(const uint8_t *buf, size_t avail, struct pr_tid *out, size_t *consumed)
{
    if (avail < 4)
        return -EINVAL;
    size_t addlen = scsi_get_be16(buf + 2);
    /* SPC-4 7.6.4.6: ADDITIONAL LENGTH is a multiple of 4, at least 20. */
    if (addlen % 4 != 0 || addlen < 20 || 4 + addlen > avail)
        return -EINVAL;
    const char *text = (const char *)buf + 4;
    const char *nul = memchr(text, '\0', addlen);
    if (nul == NULL)
        return -EINVAL; /* the name must be NUL-terminated */
    size_t textlen = (size_t)(nul - text);
    size_t namelen = textlen;
    if (out->format == 1) {
        const char *sep = NULL;
        for (size_t i = 0; i + sizeof(isid_separator) - 1 <= textlen; i++)
            if (strncasecmp(text + i, isid_separator, sizeof(isid_separator) - 1) == 0) {
                sep = text + i;
                break;
            }
        if (sep == NULL)
            return -EINVAL;
        namelen = (size_t)(sep - text);
        const char *isid = sep + sizeof(isid_separator) - 1;
        if (parse_isid(isid, (size_t)(nul - isid), out->isid) < 0)
            return -EINVAL;
        out->has_isid = true;
    }
    if (namelen == 0 || namelen > PR_TID_ISCSI_NAME_MAX)
        return -EINVAL;
    for (size_t i = 0; i < namelen; i++)
        if (!isgraph((unsigned char)text[i]) || text[i] == ',')
            return -EINVAL;
    memcpy(out->name, text, namelen);
    out->name[namelen] = '\0';
    *consumed = 4 + addlen;
    return 0;
}

int pr_tid_parse(const uint8_t *buf, size_t avail, struct pr_tid *out, size_t *consumed)
{
    memset(out, 0, sizeof(*out));
    *consumed = 0;
    if (avail < 1)
        return -EINVAL;
    out->proto = buf[0] & 0x0f;
    out->format = (uint8_t)(buf[0] >> 6);
    if (out->proto == PR_TID_PROTO_ISCSI) {
        if (out->format > 1)
            return -EINVAL;
        return parse_iscsi(buf, avail, out, consumed);
    }
    if (out->format != 0 || avail < PR_TID_FIXED_LEN)
        return -EINVAL;
    switch (out->proto) {
    case PR_TID_PROTO_FCP: /* 7.6.4.2: N_PORT_NAME at 8 */
    case PR_TID_PROTO_SBP: /* 7.6.4.4: EUI-64 at 8 */
        memcpy(out->id, buf + 8, 8);
        break;
    case PR_TID_PROTO_SPI: /* 7.6.4.3: SCSI address at 2, RTPI at 6 */
        memcpy(out->id, buf + 2, 2);
        out->spi_rtpi = scsi_get_be16(buf + 6);
        break;
    case PR_TID_PROTO_SRP: /* 7.6.4.5: 16-byte port identifier at 8 */
        memcpy(out->id, buf + 8, 16);
        break;
    case PR_TID_PROTO_SAS: /* 7.6.4.7: SAS address at 4 */
        memcpy(out->id, buf + 4, 8);
        break;
    case PR_TID_PROTO_SOP: /* 7.6.4.9: routing id at 2 */
        memcpy(out->id, buf + 2, 2);
        break;
    default:
        return -EINVAL;
    }
    *consumed = PR_TID_FIXED_LEN;
    return 0;
}

size_t pr_tid_build(const struct pr_tid *id, uint8_t *buf, size_t len)
{
    if (len < PR_TID_FIXED_LEN)
        return 0;
    memset(buf, 0, len < PR_TID_MAX_LEN ? len : PR_TID_MAX_LEN);
    if (id->proto == PR_TID_PROTO_ISCSI) {
        size_t namelen = strnlen(id->name, sizeof(id->name));
        if (namelen == 0 || namelen > PR_TID_ISCSI_NAME_MAX)
            return 0;
        size_t textlen = namelen + (id->has_isid ? sizeof(isid_separator) - 1 + 12 : 0) + 1;
        size_t addlen = (textlen + 3) & ~(size_t)3;
        if (addlen < 20)
            addlen = 20;
        if (4 + addlen > len)
            return 0;
        buf[0] = (uint8_t)((id->has_isid ? 0x40 : 0x00) | PR_TID_PROTO_ISCSI);
        scsi_put_be16(buf + 2, (uint16_t)addlen);
        memcpy(buf + 4, id->name, namelen);
        if (id->has_isid) {
            char *p = (char *)buf + 4 + namelen;
            memcpy(p, isid_separator, sizeof(isid_separator) - 1);
            p += sizeof(isid_separator) - 1;
            for (size_t i = 0; i < 6; i++) {
                static const char hex[] = "0123456789abcdef";
                *p++ = hex[id->isid[i] >> 4];
                *p++ = hex[id->isid[i] & 0xf];
            }
        }
        return 4 + addlen;
    }
    buf[0] = id->proto & 0x0f;
    switch (id->proto) {
    case PR_TID_PROTO_FCP:
    case PR_TID_PROTO_SBP:
        memcpy(buf + 8, id->id, 8);
        break;
    case PR_TID_PROTO_SPI:
        memcpy(buf + 2, id->id, 2);
        scsi_put_be16(buf + 6, id->spi_rtpi);
        break;
    case PR_TID_PROTO_SRP:
        memcpy(buf + 8, id->id, 16);
        break;
    case PR_TID_PROTO_SAS:
        memcpy(buf + 4, id->id, 8);
        break;
    case PR_TID_PROTO_SOP:
        memcpy(buf + 2, id->id, 2);
        break;
    default:
        return 0;
    }
    return PR_TID_FIXED_LEN;
}

bool pr_tid_same_device(const struct pr_tid *a, const struct pr_tid *b)
{
    if (a->proto != b->proto)
        return false;
    if (a->proto == PR_TID_PROTO_ISCSI)
        return strcmp(a->name, b->name) == 0;
    return pr_tid_equal(a, b);
}

bool pr_tid_equal(const struct pr_tid *a, const struct pr_tid *b)
{
    if (a->proto != b->proto)
        return false;
    if (a->proto == PR_TID_PROTO_ISCSI)
        return strcmp(a->name, b->name) == 0 && a->has_isid == b->has_isid &&
               (!a->has_isid || memcmp(a->isid, b->isid, 6) == 0);
    return memcmp(a->id, b->id, sizeof(a->id)) == 0 && a->spi_rtpi == b->spi_rtpi;
}

struct pr_tid pr_tid_iscsi(const char *name, const uint8_t isid[6])
{
    struct pr_tid t;
    memset(&t, 0, sizeof(t));
    t.proto = PR_TID_PROTO_ISCSI;
    snprintf(t.name, sizeof(t.name), "%s", name);
    if (isid != NULL) {
        t.format = 1;
        t.has_isid = true;
        memcpy(t.isid, isid, 6);
    }
    return t;
}

static struct pr_tid tid_with_u64(uint8_t proto, uint64_t v)
{
    struct pr_tid t;
    memset(&t, 0, sizeof(t));
    t.proto = proto;
    scsi_put_be64(t.id, v);
    return t;
}

struct pr_tid pr_tid_fcp(uint64_t wwpn)
{
    return tid_with_u64(PR_TID_PROTO_FCP, wwpn);
}

struct pr_tid pr_tid_sas(uint64_t sas_address)
{
    return tid_with_u64(PR_TID_PROTO_SAS, sas_address);
}

static void hex_bytes(char *out, size_t outlen, const uint8_t *b, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 <= outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%02x", b[i]);
}

char *pr_tid_to_string(const struct pr_tid *id, char *buf, size_t len)
{
    char hex[40] = "";
    switch (id->proto) {
    case PR_TID_PROTO_ISCSI:
        if (id->has_isid) {
            hex_bytes(hex, sizeof(hex), id->isid, 6);
            snprintf(buf, len, "%s,i,0x%s", id->name, hex);
        } else {
            snprintf(buf, len, "%s", id->name);
        }
        return buf;
    case PR_TID_PROTO_FCP:
        hex_bytes(hex, sizeof(hex), id->id, 8);
        snprintf(buf, len, "fcp,0x%s", hex);
        return buf;
    case PR_TID_PROTO_SAS:
        hex_bytes(hex, sizeof(hex), id->id, 8);
        snprintf(buf, len, "sas,0x%s", hex);
        return buf;
    case PR_TID_PROTO_SBP:
        hex_bytes(hex, sizeof(hex), id->id, 8);
        snprintf(buf, len, "sbp,0x%s", hex);
        return buf;
    case PR_TID_PROTO_SRP:
        hex_bytes(hex, sizeof(hex), id->id, 16);
        snprintf(buf, len, "srp,0x%s", hex);
        return buf;
    case PR_TID_PROTO_SPI:
        snprintf(buf, len, "spi,%u,%u", scsi_get_be16(id->id), id->spi_rtpi);
        return buf;
    case PR_TID_PROTO_SOP:
        snprintf(buf, len, "sop,0x%04x", scsi_get_be16(id->id));
        return buf;
    default:
        snprintf(buf, len, "proto-%u", id->proto);
        return buf;
    }
}

/* 1 to 16 hex digits, optionally after "0x": nothing else (no sign,
 * blank or second prefix, which strtoull would accept). */
static int parse_hex_u64(const char *s, uint64_t *v)
{
    if (strncasecmp(s, "0x", 2) == 0)
        s += 2;
    size_t n = strlen(s);
    if (n == 0 || n > 16)
        return -EINVAL;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        int d = hex_value((unsigned char)s[i]);
        if (d < 0)
            return -EINVAL;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return 0;
}

int pr_tid_from_string(const char *s, struct pr_tid *out)
{
    uint64_t v;
    memset(out, 0, sizeof(*out));
    if (strncasecmp(s, "fcp,", 4) == 0 || strncasecmp(s, "sas,", 4) == 0) {
        if (parse_hex_u64(s + 4, &v) < 0)
            return -EINVAL;
        *out = tolower((unsigned char)s[0]) == 'f' ? pr_tid_fcp(v) : pr_tid_sas(v);
        return 0;
    }
    if (strncasecmp(s, "iqn.", 4) != 0 && strncasecmp(s, "eui.", 4) != 0 &&
        strncasecmp(s, "naa.", 4) != 0)
        return -EINVAL;
    const char *sep = strcasestr(s, isid_separator);
    size_t namelen = sep ? (size_t)(sep - s) : strlen(s);
    if (namelen == 0 || namelen > PR_TID_ISCSI_NAME_MAX)
        return -EINVAL;
    out->proto = PR_TID_PROTO_ISCSI;
    memcpy(out->name, s, namelen);
    /* The same characters pr_tid_parse() accepts from the wire. */
    for (size_t i = 0; i < namelen; i++)
        if (!isgraph((unsigned char)s[i]) || s[i] == ',')
            return -EINVAL;
    if (sep != NULL) {
        const char *isid = sep + sizeof(isid_separator) - 1;
        if (parse_isid(isid, strlen(isid), out->isid) < 0)
            return -EINVAL;
        out->has_isid = true;
        out->format = 1;
    }
    return 0;
}
