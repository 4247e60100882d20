/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multipathd.h - keep multipathd informed of a map's reservation state, as
 * libmpathpersist does, over multipathd's own command socket.
 *
 * The socket is multipathd's (multipath-tools libmpathcmd): the pathname
 * socket /run/multipathd.socket (0.12 and later), else the abstract
 * "@/org/kernel/linux/storage/multipathd"; a stream socket on which every
 * message, both ways, is a size_t length in host byte order followed by
 * that many bytes, a NUL-terminated string.  One connection per command.
 * multipathd runs commands other than "list"/"show" only for uid 0
 * (SO_PEERCRED), so a daemon started with -u gets "permission deny".
 *
 * Commands (multipathd/cli.c; the map named "dm-N", which every version
 * resolves by minor): "setprkey map M key 0xK[:aptpl]" / "unsetprkey map
 * M" (kept in /etc/multipath/prkeys: accepted only for maps configured
 * with "reservation_key file"), "setprstatus map M [pathlist "M:m ..."]"
 * (pathlist since 0.14) / "unsetprstatus map M", "setprhold map M" /
 * "unsetprhold map M" (0.13 and later), "getprkey map M".  Replies are
 * text: "ok", "fail\n...", or the value.
 *
 * Everything is best effort and detected at run time: no multipathd (no
 * socket) is silent, a refusal is logged once, a command an older
 * multipathd does not know (setprhold before 0.13, pathlist before 0.14)
 * is not sent to that multipathd process again.
 */
#ifndef PRHELPER_MULTIPATHD_H
#define PRHELPER_MULTIPATHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where multipathd listens (tried in this order). */
#define PRH_MPATHD_PATHNAME_SOCKET "/run/multipathd.socket"
#define PRH_MPATHD_ABSTRACT_SOCKET "@/org/kernel/linux/storage/multipathd"
/* How long one command may take (libmpathcmd's default reply timeout). */
#define PRH_MPATHD_TIMEOUT_MS 4000

struct prh_mpathd;

/* A client; socket NULL: the two default names, else that one name
 * ("@..." abstract).  NULL on ENOMEM. */
struct prh_mpathd *prh_mpathd_new(const char *socket, unsigned timeout_ms);
void prh_mpathd_free(struct prh_mpathd *d);

/*
 * Send one command, wait for the reply.  1: the reply starts with "ok";
 * 0: another reply (in reply, NUL-terminated, clipped to len); -errno:
 * multipathd is not there or the exchange failed.
 */
int prh_mpathd_command(struct prh_mpathd *d, const char *cmd, char *reply, size_t len);

/* The updates libmpathpersist makes; map is the map's dev_t.  setprkey
 * returns true when multipathd took the key (the map uses
 * "reservation_key file"). */
bool prh_mpathd_set_key(struct prh_mpathd *d, dev_t map, uint64_t key, bool aptpl);
void prh_mpathd_set_status(struct prh_mpathd *d, dev_t map, bool set, const dev_t *paths,
                           size_t npaths);
void prh_mpathd_set_hold(struct prh_mpathd *d, dev_t map, bool set);
/* multipathd's key for the map: 1 and *key (0: "none"), 0 unknown. */
int prh_mpathd_get_key(struct prh_mpathd *d, dev_t map, uint64_t *key);

#endif
