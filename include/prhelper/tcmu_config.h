/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcmu_config.h - which TCMU backstores prhelper-tcmu serves, and as
 * which I_T nexus.
 *
 * The kernel names a TCMU backstore's UIO device
 * "tcm-user/<hba>/<backstore>/<dev_config>" (/sys/class/uio/uioN/name),
 * where dev_config is what was written to the backstore's control file.
 * Ours look like
 *
 *     prsim/<LUN>/<INITIATOR>[@<RTPI>]
 *
 * LUN names the simulated logical unit (several backstores may name the
 * same one: they are its I_T nexuses); INITIATOR is the initiator port of
 * the only I_T nexus that reaches the backstore (dev_config may hold no
 * comma, so TransportIDs are written without one):
 *
 *     naa.<16 hex digits>          SAS address, as tcm_loop's nexus names it
 *     sas.<hex> / fcp.<hex>        SAS address / Fibre Channel WWPN (0x optional)
 *     iqn.... / eui....            iSCSI name (TransportID format 00b)
 *     iqn....#<12 hex digits>      iSCSI name with ISID (format 01b)
 *
 * RTPI (1..65535, default 1) is the relative target port identifier the
 * simulator records for the nexus (READ FULL STATUS, REGISTER AND MOVE).
 */
#ifndef PRHELPER_TCMU_CONFIG_H
#define PRHELPER_TCMU_CONFIG_H

#include <stddef.h>

#include "prhelper/pr_sim.h"
#include "prhelper/pr_sim_store.h"

/* The handler subtype: the part of dev_config before the first '/'. */
#define TCMU_SUBTYPE "prsim"
#define TCMU_BACKSTORE_NAME_MAX 255
#define TCMU_INITIATOR_MAX (PR_TID_ISCSI_NAME_MAX + 32)

struct tcmu_backstore {
    unsigned hba;                               /* configfs core/user_<hba> */
    char name[TCMU_BACKSTORE_NAME_MAX + 1];     /* configfs core/user_<hba>/<name> */
    char lun[PR_SIM_STORE_NAME_MAX + 1];
    char initiator[TCMU_INITIATOR_MAX + 1];     /* as written in dev_config */
    struct pr_sim_nexus nexus;
};

/*
 * Parse a UIO device name.  1: one of ours, *out filled; 0: not a TCMU
 * device or another handler's subtype (leave it alone); -1: ours but
 * malformed, the reason in errmsg.
 */
int tcmu_parse_uio_name(const char *uio_name, struct tcmu_backstore *out, char *errmsg, size_t len);

/* Parse dev_config alone (same results); hba and name are left as they are. */
int tcmu_parse_dev_config(const char *dev_config, struct tcmu_backstore *out, char *errmsg,
                          size_t len);

/* One INITIATOR as above into a TransportID: 0 or -EINVAL. */
int tcmu_parse_initiator(const char *s, struct pr_tid *out);

/* "user_0/b0" into buf. */
void tcmu_backstore_path(const struct tcmu_backstore *b, char *buf, size_t len);
/* The nexus as text: "sas,0x50014050000000a0@1". */
void tcmu_nexus_string(const struct pr_sim_nexus *n, char *buf, size_t len);

#endif
