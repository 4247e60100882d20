/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_sg.h - the "sg" transport: PR IN/OUT by SG_IO on the client's
 * own fd (a SCSI block device or an sg node), as qemu-pr-helper does.
 *
 * Raw SG_IO is used, not libsgutils2's sg_pt: the wire contract
 * (wire-protocol.md 5.3) is defined on the sg_io_hdr fields themselves
 * (errno, host_status, driver_status, status, sense as the device wrote
 * it), and sg_pt folds host and driver status into categories.  SG_IO
 * goes through struct prh_sg_ops so the unit tests can stand a fake
 * kernel in for the real one (the fd's fstat() comes from the caller,
 * prh_transport_execute_ex()).
 */
#ifndef PRHELPER_TRANSPORT_SG_H
#define PRHELPER_TRANSPORT_SG_H

#include <scsi/sg.h>
#include <stdint.h>
#include <sys/stat.h>

#include "prhelper/transport.h"

/* SG_IO timeout when --sg-timeout is not given: QEMU's own scsi-generic
 * uses 30 s; qemu-pr-helper's 1 ms is far too short for an array that is
 * failing over. */
#define PRH_SG_DEFAULT_TIMEOUT_MS 30000u

/* Linux host byte values (include/scsi/scsi_status.h, DID_*). */
enum prh_sg_host_status {
    PRH_DID_OK = 0x00,
    PRH_DID_NO_CONNECT = 0x01,
    PRH_DID_BUS_BUSY = 0x02,
    PRH_DID_TIME_OUT = 0x03,
    PRH_DID_BAD_TARGET = 0x04,
    PRH_DID_ABORT = 0x05,
    PRH_DID_ERROR = 0x07,
    PRH_DID_RESET = 0x08,
    PRH_DID_TRANSPORT_DISRUPTED = 0x0e,
    PRH_DID_TARGET_FAILURE = 0x10,
    PRH_DID_NEXUS_FAILURE = 0x11,
    PRH_DID_ALLOC_FAILURE = 0x12,
    PRH_DID_MEDIUM_ERROR = 0x13,
};

/* Linux driver byte: DRIVER_TIMEOUT. */
#define PRH_SG_DRIVER_TIMEOUT 0x06
/* The sg character device major (include/uapi/linux/major.h). */
#define PRH_SCSI_GENERIC_MAJOR 21

/* The system calls the transport makes; tests replace them. */
struct prh_sg_ops {
    int (*sg_io)(int fd, struct sg_io_hdr *hdr);
};

/* The real ones. */
extern const struct prh_sg_ops prh_sg_system_ops;
/* Use other ops (NULL: the real ones again).  Not thread-safe: tests only. */
void prh_sg_set_ops(const struct prh_sg_ops *ops);

/*
 * Is this fd something SG_IO may be sent to?  A block device, or an sg
 * character device.  Anything else is refused before any ioctl with the
 * answer qemu-pr-helper's failed SG_IO gives (ENOTTY).
 */
int prh_sg_check_fd(const struct stat *st);

/*
 * Turn a finished SG_IO into an outcome (wire-protocol.md 5.3 steps 2-4):
 * host status first, then the driver's timeout bit, then the device's
 * status byte with its sense forwarded unchanged.  dxfer_len is what was
 * asked for; the data length is dxfer_len - resid.
 */
void prh_sg_result_from_hdr(const struct sg_io_hdr *hdr, const uint8_t *sense,
                            uint32_t dxfer_len, struct prh_result *res);

/*
 * Send one PR request down fd by SG_IO (through the current prh_sg_ops)
 * and map the outcome into res.  Returns 0 when the device answered (res
 * holds its status and sense, GOOD or not), -1 when the path failed to
 * deliver it (the ioctl failed, a host status other than DID_OK or
 * DID_NEXUS_FAILURE, or the driver timed out); res is set either way.
 * The mpath transport uses the return value to fail over.
 */
int prh_sg_execute(int fd, const struct prh_request *req, uint8_t *data, uint32_t dxfer_len,
                   unsigned timeout_ms, struct prh_result *res);

/* Build the sg_io_hdr of one PR request (cmd_len from the opcode group). */
void prh_sg_build_hdr(struct sg_io_hdr *hdr, const struct prh_request *req, uint8_t *data,
                      uint32_t dxfer_len, uint8_t *sense, unsigned timeout_ms);

#endif
