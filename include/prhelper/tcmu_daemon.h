/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcmu_daemon.h - prhelper-tcmu's core: the TCMU backstores it serves,
 * the simulated LUNs behind them, and the loop that answers their rings.
 *
 * Devices are found by scanning /sys/class/uio (at start, on SIGHUP, and
 * every second when there is no netlink socket) and through the kernel's
 * netlink events.  A device of ours ("prsim" subtype, tcmu_config.h) is
 * opened (/dev/uioN: exclusive, so a device another handler holds is
 * refused), mapped, and attached to its LUN, which is opened on first use
 * with the backstore's dev_size and hw_block_size from configfs and closed
 * when its last backstore goes.  Commands already queued when a device is
 * opened (a restarted daemon) are answered first.
 *
 * One thread runs the loop; the control socket's thread inspects state
 * under the daemon's mutex.
 */
#ifndef PRHELPER_TCMU_DAEMON_H
#define PRHELPER_TCMU_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prhelper/control.h"
#include "prhelper/pr_sim.h"
#include "prhelper/tcmu_netlink.h"

struct tcmu_daemon_config {
    const char *state_dir;   /* APTPL state files (absolute path) */
    const char *data_dir;    /* data files; NULL: state_dir */
    enum pr_sim_profile profile;
    bool write_cache;
    uint32_t max_registrations;
    const char *sysfs;       /* "/sys" */
    const char *configfs;    /* "/sys/kernel/config" */
    const char *devdir;      /* "/dev" */
    /* Tests without a kernel: <devdir>/uioN is a FIFO carrying the events
     * and the kicks, <devdir>/uioN.map the shared mapping. */
    bool fake_uio;
    unsigned rescan_ms;      /* without netlink; 0: 1000 */
};

struct tcmu_daemon;

/* NULL with the reason in errmsg. */
struct tcmu_daemon *tcmu_daemon_new(const struct tcmu_daemon_config *cfg, char *errmsg,
                                    size_t len);
/* Closes every device (commands still queued stay in their rings) and LUN. */
void tcmu_daemon_free(struct tcmu_daemon *d);

/* Listen to kernel events on nl (owned by the caller; NULL: none). */
void tcmu_daemon_set_netlink(struct tcmu_daemon *d, struct tcmu_nl *nl);

/* Look for devices in sysfs and serve the new ones; the number added. */
int tcmu_daemon_scan(struct tcmu_daemon *d);
/* Serve UIO device minor named uio_name: 1 added, 0 not ours or already
 * served, -errno with the reason in errmsg. */
int tcmu_daemon_add(struct tcmu_daemon *d, unsigned minor, const char *uio_name, char *errmsg,
                    size_t len);
/* Stop serving minor: 0, or -ENOENT. */
int tcmu_daemon_remove(struct tcmu_daemon *d, unsigned minor);
/* Handle one netlink event (and answer it when the kernel waits for it). */
void tcmu_daemon_event(struct tcmu_daemon *d, const struct tcmu_nl_event *ev);

/* Answer every device's pending commands once (without waiting). */
void tcmu_daemon_service_all(struct tcmu_daemon *d);
/* The loop: until stop_fd becomes readable.  0, or -errno of poll. */
int tcmu_daemon_run(struct tcmu_daemon *d, int stop_fd);

size_t tcmu_daemon_device_count(struct tcmu_daemon *d);
size_t tcmu_daemon_lun_count(struct tcmu_daemon *d);

/* The control commands (devices, state, access, fault, power-cycle). */
int tcmu_daemon_control_register(struct tcmu_daemon *d, struct prh_control *ctl);

#endif
