/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_peer.h - what /proc says about the process on the other end of a
 * connection, read the way QEMU parses its own command line: the guest's
 * name (-name) and UUID (-uuid), argv[0], and the process start time.
 *
 * Used by the audit trail (the "guest" field) and by the sim transport
 * (a QEMU guest is one initiator across reconnects and restarts).
 */
#ifndef PRHELPER_QEMU_PEER_H
#define PRHELPER_QEMU_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* QEMU command lines are long (libvirt's reach several KiB); more is cut. */
#define PRH_QEMU_CMDLINE_MAX 65536
/* Guest names longer than this are cut (the identity hashes the whole name). */
#define PRH_QEMU_GUEST_MAX 256
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */
#define PRH_QEMU_UUID_LEN 37

/*
 * QEMU's guest name from its NUL-separated command line: "-name NAME",
 * "-name guest=NAME,..." (also "--name", "-name=..."), with QemuOpts'
 * "," escaping (",,") undone; the last -name wins, as in QEMU.  true and
 * out set (cut to outlen - 1 bytes), or false.  *full_len, when not NULL,
 * gets the length of the whole name (to tell a cut one).
 */
bool prh_qemu_guest_name(const char *cmdline, size_t len, char *out, size_t outlen,
                         size_t *full_len);

/*
 * QEMU's -uuid (also "--uuid", "-uuid=..."), the last one, in lower case.
 * Only the canonical 8-4-4-4-12 hex form counts (QEMU refuses others).
 */
bool prh_qemu_uuid(const char *cmdline, size_t len, char out[PRH_QEMU_UUID_LEN]);

/*
 * Read proc_root/PID/cmdline into buf (at most cap bytes).  The length
 * read, or -errno (the process is gone, or /proc is not readable).
 */
ssize_t prh_qemu_read_cmdline(const char *proc_root, pid_t pid, char *buf, size_t cap);

/*
 * The start time of proc_root/PID (field 22 of /proc/PID/stat, clock
 * ticks after boot): with the pid it names one process for good, since
 * pids are reused.  0, or -errno / -EINVAL for an unparsable stat file.
 */
int prh_qemu_start_time(const char *proc_root, pid_t pid, unsigned long long *out);

/*
 * s fit for a log line, a terminal or `ctl state`: every byte outside
 * printable ASCII, and '\\', is written as \xNN, so a guest name with a
 * newline or an escape sequence forges no line and moves no cursor.  Cut
 * (never inside an escape) to outlen - 1 bytes.
 */
void prh_qemu_printable(const char *s, char *out, size_t outlen);

/* What one peer process looks like (prh_qemu_peer_read). */
struct prh_qemu_peer {
    bool cmdline_read;            /* /proc/PID/cmdline answered */
    bool has_guest, has_uuid, has_start_time;
    char guest[PRH_QEMU_GUEST_MAX]; /* -name, cut */
    size_t guest_len;             /* length of the whole name */
    unsigned guest_hash;          /* FNV-1a of the whole name */
    char uuid[PRH_QEMU_UUID_LEN]; /* -uuid */
    char argv0[256];              /* argv[0], cut */
    unsigned long long start_time;
};

/* Fill from proc_root/PID (proc_root: "/proc").  Never fails: what could
 * not be read is marked absent. */
void prh_qemu_peer_read(const char *proc_root, pid_t pid, struct prh_qemu_peer *out);

#endif
