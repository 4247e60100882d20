/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.c - UIO device names and dev_config strings (include/prhelper/tcmu_config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prhelper/tcmu_config.h"

static bool parse_hex(const char *s, size_t maxdigits, uint64_t *out)
{
    if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0)
        s += 2;
    size_t n = strlen(s);
    if (n == 0 || n > maxdigits)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
        int c = tolower((unsigned char)s[i]);
        v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    *out = v;
    return true;
}

/* iSCSI names (RFC 3720 3.2.6.2): lower-case letters, digits, '-', '.', ':'. */
static bool iscsi_name_ok(const char *s, size_t n)
{
    if (n < 5 || n > PR_TID_ISCSI_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

int tcmu_parse_initiator(const char *s, struct pr_tid *out)
{
    uint64_t v;

    memset(out, 0, sizeof(*out));
    if (strncasecmp(s, "naa.", 4) == 0) {
        /* tcm_loop: the nexus name is "naa." and the SAS address. */
        if (strlen(s + 4) != 16 || !parse_hex(s + 4, 16, &v))
            return -EINVAL;
        *out = pr_tid_sas(v);
        return 0;
    }
    if (strncasecmp(s, "sas.", 4) == 0 || strncasecmp(s, "fcp.", 4) == 0) {
        if (!parse_hex(s + 4, 16, &v))
            return -EINVAL;
        *out = tolower((unsigned char)s[0]) == 's' ? pr_tid_sas(v) : pr_tid_fcp(v);
        return 0;
    }
    if (strncasecmp(s, "iqn.", 4) != 0 && strncasecmp(s, "eui.", 4) != 0)
        return -EINVAL;
    const char *hash = strchr(s, '#');
    size_t n = hash ? (size_t)(hash - s) : strlen(s);
    char name[PR_TID_ISCSI_NAME_MAX + 1];
    if (!iscsi_name_ok(s, n))
        return -EINVAL;
    memcpy(name, s, n);
    name[n] = '\0';
    if (hash == NULL) {
        *out = pr_tid_iscsi(name, NULL);
        return 0;
    }
    uint8_t isid[6];
    if (strlen(hash + 1) != 12 || !parse_hex(hash + 1, 12, &v))
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        isid[i] = (uint8_t)(v >> (8 * (5 - i)));
    *out = pr_tid_iscsi(name, isid);
    return 0;
}

int tcmu_parse_dev_config(const char *dev_config, struct tcmu_backstore *out, char *errmsg,
                          size_t len)
{
    size_t sub = strlen(TCMU_SUBTYPE);
    char buf[512];

    if (strncmp(dev_config, TCMU_SUBTYPE, sub) != 0 ||
        (dev_config[sub] != '/' && dev_config[sub] != '\0'))
        return 0;
    if (snprintf(buf, sizeof(buf), "%s", dev_config + sub) >= (int)sizeof(buf)) {
        snprintf(errmsg, len, "dev_config is too long");
        return -1;
    }
    /* The kernel's control file parsing may leave a trailing newline. */
    buf[strcspn(buf, "\n")] = '\0';
    char *lun = buf[0] == '/' ? buf + 1 : buf;
    char *slash = strchr(lun, '/');
    if (slash == NULL) {
        snprintf(errmsg, len, "dev_config '%.64s' lacks the initiator: want %s/LUN/INITIATOR[@RTPI]",
                 dev_config, TCMU_SUBTYPE);
        return -1;
    }
    *slash = '\0';
    char *init = slash + 1;
    if (!pr_sim_store_name_valid(lun)) {
        snprintf(errmsg, len, "invalid LUN name '%.64s' in dev_config (letters, digits, . _ : -)",
                 lun);
        return -1;
    }
    unsigned long rtpi = 1;
    char *at = strrchr(init, '@');
    if (at != NULL) {
        char *end;
        *at = '\0';
        rtpi = strtoul(at + 1, &end, 10);
        if (at[1] == '\0' || *end != '\0' || rtpi == 0 || rtpi > 0xffff) {
            snprintf(errmsg, len, "invalid relative target port '%.16s' in dev_config (1..65535)",
                     at + 1);
            return -1;
        }
    }
    struct pr_tid tid;
    if (tcmu_parse_initiator(init, &tid) < 0) {
        snprintf(errmsg, len,
                 "invalid initiator '%.64s' in dev_config (naa.<16 hex>, sas.<hex>, fcp.<hex>, "
                 "iqn.NAME or iqn.NAME#<12 hex ISID>)", init);
        return -1;
    }
    /* Both lengths are bounded by the checks above. */
    size_t ll = strlen(lun), il = strlen(init);
    if (ll >= sizeof(out->lun) || il >= sizeof(out->initiator)) {
        snprintf(errmsg, len, "dev_config is too long");
        return -1;
    }
    memcpy(out->lun, lun, ll + 1);
    memcpy(out->initiator, init, il + 1);
    out->nexus.initiator = tid;
    out->nexus.rtpi = (uint16_t)rtpi;
    return 1;
}

int tcmu_parse_uio_name(const char *uio_name, struct tcmu_backstore *out, char *errmsg,
                        size_t len)
{
    static const char prefix[] = "tcm-user/";
    const char *p = uio_name;

    memset(out, 0, sizeof(*out));
    if (strncmp(p, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    p += sizeof(prefix) - 1;
    char *end;
    unsigned long hba = strtoul(p, &end, 10);
    if (end == p || *end != '/' || hba > 0xffffffffUL)
        return 0;
    p = end + 1;
    const char *slash = strchr(p, '/');
    if (slash == NULL || slash == p)
        return 0; /* no dev_config: nobody's */
    size_t n = (size_t)(slash - p);
    if (n > TCMU_BACKSTORE_NAME_MAX)
        return 0;
    int r = tcmu_parse_dev_config(slash + 1, out, errmsg, len);
    if (r <= 0)
        return r;
    out->hba = (unsigned)hba;
    memcpy(out->name, p, n);
    out->name[n] = '\0';
    return 1;
}

void tcmu_backstore_path(const struct tcmu_backstore *b, char *buf, size_t len)
{
    snprintf(buf, len, "user_%u/%s", b->hba, b->name);
}

void tcmu_nexus_string(const struct pr_sim_nexus *n, char *buf, size_t len)
{
    char tid[PR_TID_MAX_LEN + 16];

    pr_tid_to_string(&n->initiator, tid, sizeof(tid));
    snprintf(buf, len, "%s@%u", tid, n->rtpi);
}
