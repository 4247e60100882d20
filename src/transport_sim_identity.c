/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_sim_identity.c - who a sim client is (its I_T nexus) and
 * which fds are disks (transport_sim.h; docs/daemon.md, "I_T nexus
 * scheme").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "prhelper/device.h"
#include "prhelper/log.h"
#include "prhelper/qemu_peer.h"
#include "prhelper/scsi.h"
#include "prhelper/transport_sim.h"
#include "transport_sim_internal.h"

/* The ISID of every identity that can be presented again. */
static const uint8_t stable_isid[6] = { 0x80, 0, 0, 0, 0, 0x01 };

static const char *const identity_names[] = {
    [PRH_SIM_IDENTITY_GUEST] = "guest",
    [PRH_SIM_IDENTITY_PROCESS] = "process",
    [PRH_SIM_IDENTITY_CONNECTION] = "connection",
};

bool prh_sim_identity_parse(const char *name, enum prh_sim_identity *out)
{
    for (size_t i = 0; i < sizeof(identity_names) / sizeof(identity_names[0]); i++)
        if (strcmp(name, identity_names[i]) == 0) {
            *out = (enum prh_sim_identity)i;
            return true;
        }
    return false;
}

const char *prh_sim_identity_name(enum prh_sim_identity id)
{
    return (size_t)id < sizeof(identity_names) / sizeof(identity_names[0]) ? identity_names[id]
                                                                            : "?";
}

const char *prh_sim_nexus_source_name(enum prh_sim_nexus_source s)
{
    switch (s) {
    case PRH_SIM_SOURCE_ADDRESS: return "address";
    case PRH_SIM_SOURCE_GUEST_NAME: return "guest-name";
    case PRH_SIM_SOURCE_GUEST_UUID: return "guest-uuid";
    case PRH_SIM_SOURCE_PROCESS: return "process";
    case PRH_SIM_SOURCE_CONNECTION: return "connection";
    case PRH_SIM_SOURCE_EXPLICIT: return "explicit";
    }
    return "?";
}

/* ---- names ---------------------------------------------------------------- */

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '-';
}

void sim_sanitize_name(char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        *s = name_char_ok(c) ? c : '-';
    }
}

static bool has_iscsi_prefix(const char *s)
{
    return strncmp(s, "iqn.", 4) == 0 || strncmp(s, "eui.", 4) == 0 ||
           strncmp(s, "naa.", 4) == 0;
}

bool sim_nexus_from_address(const char *addr, size_t addr_len, struct pr_sim_nexus *out)
{
    size_t plen = strlen(SIM_NEXUS_ADDR_PREFIX);
    char spec[108], name[PR_TID_ISCSI_NAME_MAX + 1];
    unsigned long rtpi = 1;

    if (addr_len <= plen || addr_len >= sizeof(spec) + plen ||
        memcmp(addr, SIM_NEXUS_ADDR_PREFIX, plen) != 0)
        return false;
    size_t n = addr_len - plen;
    memcpy(spec, addr + plen, n);
    spec[n] = '\0';
    spec[strcspn(spec, "/")] = '\0';
    char *at = strrchr(spec, '@');
    if (at) {
        char *end;
        *at = '\0';
        rtpi = strtoul(at + 1, &end, 10);
        if (*end || at[1] == '\0' || rtpi == 0 || rtpi > 0xffff)
            return false;
    }
    if (spec[0] == '\0')
        return false;
    int w = snprintf(name, sizeof(name), "%s%s", has_iscsi_prefix(spec) ? "" : PRH_SIM_NAME_PREFIX,
                     spec);
    if (w < 0 || (size_t)w >= sizeof(name))
        return false;
    sim_sanitize_name(name);
    out->initiator = pr_tid_iscsi(name, stable_isid);
    out->rtpi = (uint16_t)rtpi;
    return true;
}

/*
 * PREFIX "guest." NAME for a guest name that is a clean iSCSI word
 * ([a-z0-9.:-], whole); anything else is cleaned and made unique with the
 * hash of the whole name ("Web_1" -> "guest.web-1.1f3a09c2"), so two
 * guests never share an initiator name by accident.
 */
static void guest_initiator_name(const struct prh_qemu_peer *q, char *out, size_t len)
{
    static const char head[] = PRH_SIM_NAME_PREFIX "guest.";
    const size_t room = PR_TID_ISCSI_NAME_MAX - (sizeof(head) - 1); /* for the name */
    bool clean = q->guest_len == strlen(q->guest) && q->guest_len <= room;

    for (const char *p = q->guest; clean && *p; p++)
        clean = name_char_ok(*p);
    if (clean) {
        snprintf(out, len, "%s%.*s", head, (int)room, q->guest);
        return;
    }
    char part[PRH_QEMU_GUEST_MAX];
    snprintf(part, sizeof(part), "%.*s", (int)(room - 9), q->guest);
    sim_sanitize_name(part);
    snprintf(out, len, "%s%.*s.%08x", head, (int)(room - 9), part, q->guest_hash);
}

static void connection_identity(const struct prh_peer *peer, struct prh_sim_peer_identity *out)
{
    char name[PR_TID_ISCSI_NAME_MAX + 1];
    uint8_t isid[6] = { 0x80, 0x00 };

    if (peer->has_cred) {
        snprintf(name, sizeof(name), PRH_SIM_NAME_PREFIX "pid.%ld", (long)peer->pid);
        snprintf(out->detail, sizeof(out->detail), "pid %ld, connection %llu", (long)peer->pid,
                 (unsigned long long)peer->serial);
    } else {
        snprintf(name, sizeof(name), PRH_SIM_NAME_PREFIX "anonymous");
        snprintf(out->detail, sizeof(out->detail), "no credentials, connection %llu",
                 (unsigned long long)peer->serial);
    }
    scsi_put_be32(isid + 2, (uint32_t)peer->serial);
    out->nexus.initiator = pr_tid_iscsi(name, isid);
    out->nexus.rtpi = 1;
    out->source = PRH_SIM_SOURCE_CONNECTION;
    out->stable = false;
}

void prh_sim_peer_identity(enum prh_sim_identity mode, const struct prh_peer *peer,
                           const char *proc_root, struct prh_sim_peer_identity *out)
{
    char name[PR_TID_ISCSI_NAME_MAX + 1];

    memset(out, 0, sizeof(*out));
    if (!proc_root)
        proc_root = "/proc";
    if (sim_nexus_from_address(peer->addr, peer->addr_len, &out->nexus)) {
        out->source = PRH_SIM_SOURCE_ADDRESS;
        out->stable = true;
        char shown[201]; /* the part after '/' is anything the client chose */
        prh_qemu_printable(peer->addr, shown, sizeof(shown));
        snprintf(out->detail, sizeof(out->detail), "bound address %s", shown);
        return;
    }
    if (mode == PRH_SIM_IDENTITY_CONNECTION || !peer->has_cred || peer->pid <= 0) {
        connection_identity(peer, out);
        return;
    }
    struct prh_qemu_peer *q = malloc(sizeof(*q));
    if (!q) {
        connection_identity(peer, out);
        return;
    }
    prh_qemu_peer_read(proc_root, peer->pid, q);
    if (!prh_peer_current(peer)) {
        /* The peer exited while /proc was read: its pid may name another
         * process now, whose name would be taken for the peer's. */
        free(q);
        connection_identity(peer, out);
        prh_log(2, "client %llu: pid %ld left while it was looked up: not named after its "
                   "/proc entries",
                (unsigned long long)peer->serial, (long)peer->pid);
        snprintf(out->detail, sizeof(out->detail), "pid %ld left while it was looked up, "
                 "connection %llu", (long)peer->pid, (unsigned long long)peer->serial);
        return;
    }
    if (mode == PRH_SIM_IDENTITY_GUEST && q->has_guest) {
        guest_initiator_name(q, name, sizeof(name));
        out->source = PRH_SIM_SOURCE_GUEST_NAME;
        char shown[201];
        prh_qemu_printable(q->guest, shown, sizeof(shown)); /* any bytes: a log line */
        snprintf(out->detail, sizeof(out->detail), "guest name '%s%s', pid %ld", shown,
                 q->guest_len > strlen(shown) ? "..." : "", (long)peer->pid);
    } else if (mode == PRH_SIM_IDENTITY_GUEST && q->has_uuid) {
        snprintf(name, sizeof(name), PRH_SIM_NAME_PREFIX "uuid.%s", q->uuid);
        out->source = PRH_SIM_SOURCE_GUEST_UUID;
        snprintf(out->detail, sizeof(out->detail), "guest uuid %s, pid %ld", q->uuid,
                 (long)peer->pid);
    } else if (mode == PRH_SIM_IDENTITY_PROCESS && q->has_start_time) {
        snprintf(name, sizeof(name), PRH_SIM_NAME_PREFIX "pid.%ld.%llu", (long)peer->pid,
                 q->start_time);
        out->source = PRH_SIM_SOURCE_PROCESS;
        snprintf(out->detail, sizeof(out->detail), "pid %ld, started at tick %llu",
                 (long)peer->pid, q->start_time);
    } else {
        /* Not a QEMU guest, or its /proc entry is gone: as "connection". */
        free(q);
        connection_identity(peer, out);
        return;
    }
    free(q);
    out->nexus.initiator = pr_tid_iscsi(name, stable_isid);
    out->nexus.rtpi = 1;
    out->stable = true;
}

/* ---- which fds are disks -------------------------------------------------- */

int prh_sim_lun_check(const struct stat *st, char *why, size_t why_len)
{
    if (S_ISREG(st->st_mode) || S_ISBLK(st->st_mode))
        return 0;
    if (S_ISCHR(st->st_mode) && major(st->st_rdev) == PRH_SCSI_GENERIC_MAJOR)
        return 0;
    if (S_ISSOCK(st->st_mode))
        snprintf(why, why_len, "a socket");
    else if (S_ISFIFO(st->st_mode))
        snprintf(why, why_len, "a pipe");
    else if (S_ISDIR(st->st_mode))
        snprintf(why, why_len, "a directory");
    else if (S_ISCHR(st->st_mode))
        snprintf(why, why_len, "character device %u:%u, not an sg device", major(st->st_rdev),
                 minor(st->st_rdev));
    else
        snprintf(why, why_len, "not a file or device (mode 0%o)", (unsigned)st->st_mode);
    return -1;
}
