/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_sim_store.h - APTPL state files for simulated LUNs.
 *
 * One file per LUN, "<dir>/<name>.prstate", holding the image made by
 * pr_sim_serialize().  Writes are atomic: a temporary file in the same
 * directory, fsync, rename over the old file, fsync of the directory, so
 * a crash leaves either the old or the new state, never a torn one.
 * Loading never modifies or removes a file, whatever it contains; a
 * file the loader refuses can be moved aside (pr_sim_store_set_aside())
 * so that the next save does not replace it.
 */
#ifndef PRHELPER_PR_SIM_STORE_H
#define PRHELPER_PR_SIM_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "prhelper/pr_sim.h"

/* Largest state file accepted (a LUN with ~100k registrations). */
#define PR_SIM_STORE_MAX_FILE (64u << 20)
/* Longest LUN name; names use [A-Za-z0-9._:-] and do not start with '.'. */
#define PR_SIM_STORE_NAME_MAX 128

/* Is name usable as a LUN name in a state directory? */
bool pr_sim_store_name_valid(const char *name);

/* Create a state directory and its missing parents (those 0755, the
 * directory itself mode); an existing one is left as it is.  0 or -errno
 * (-ENOTDIR: something else is in the way). */
int pr_sim_store_make_dir(const char *path, mode_t mode);

/* Path of the state file of LUN name in dir, into buf; -ENAMETOOLONG/-EINVAL. */
int pr_sim_store_path(const char *dir, const char *name, char *buf, size_t len);

/* Write image atomically as the state of LUN name.  0 or -errno. */
int pr_sim_store_save(const char *dir, const char *name, const uint8_t *image, size_t len);

/*
 * Load the state of LUN name into lun.  A missing file leaves the LUN
 * empty and returns 0.  Any other problem returns -errno with a message
 * naming the file in errmsg (-EINVAL corrupt, -EPROTONOSUPPORT newer
 * format, -EFBIG too large, or the errno of open/read).
 */
int pr_sim_store_load(const char *dir, const char *name, struct pr_sim_lun *lun, char *errmsg,
                      size_t errmsg_len);

/*
 * Move the state file of LUN name out of the way, renamed (never
 * replacing anything) to "<name>.prstate.corrupt-<UTC time>" (with "-N"
 * appended if that exists too), and sync the directory.  The new path in
 * out.  0, or -errno (-ENOENT: there is no file).
 */
int pr_sim_store_set_aside(const char *dir, const char *name, char *out, size_t out_len);

/*
 * Remove the temporary files a save of LUN name left behind when the
 * process died before its rename ("<name>.prstate.tmpXXXXXX"); they never
 * hold the LUN's state.  Call it before the LUN's first save, with no
 * other process saving the same LUN.  Number removed, or -errno.
 */
int pr_sim_store_remove_stale(const char *dir, const char *name);

/*
 * A binding of one LUN to its state file, usable as the persist hook of
 * struct pr_sim_config (persist = pr_sim_store_persist, opaque = binding).
 */
struct pr_sim_store_binding {
    char dir[4096];
    char name[PR_SIM_STORE_NAME_MAX + 1];
};
int pr_sim_store_persist(void *binding, const uint8_t *image, size_t len);

#endif
