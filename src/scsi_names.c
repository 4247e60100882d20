/* SPDX-License-Identifier: GPL-2.0-or-later */
/* scsi_names.c - data only: names of sense keys, ASC/ASCQ, statuses, PR codes. */
#include "prhelper/scsi.h"

#include <stddef.h>

static const char *const sense_key_names[16] = {
    [0x0] = "NO SENSE",        [0x1] = "RECOVERED ERROR", [0x2] = "NOT READY",
    [0x3] = "MEDIUM ERROR",    [0x4] = "HARDWARE ERROR",  [0x5] = "ILLEGAL REQUEST",
    [0x6] = "UNIT ATTENTION",  [0x7] = "DATA PROTECT",    [0x8] = "BLANK CHECK",
    [0x9] = "VENDOR SPECIFIC", [0xa] = "COPY ABORTED",    [0xb] = "ABORTED COMMAND",
    [0xc] = "RESERVED (0Ch)",  [0xd] = "VOLUME OVERFLOW", [0xe] = "MISCOMPARE",
    [0xf] = "COMPLETED",
};

const char *scsi_sense_key_name(unsigned key)
{
    return key < 16 ? sense_key_names[key] : "INVALID SENSE KEY";
}

/* The ASC/ASCQ pairs the project produces or is likely to see (SPC-4 D.2). */
static const struct {
    uint8_t asc, ascq;
    const char *name;
} asc_names[] = {
    { 0x00, 0x00, "NO ADDITIONAL SENSE INFORMATION" },
    { 0x00, 0x06, "I/O PROCESS TERMINATED" },
    { 0x04, 0x00, "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE" },
    { 0x05, 0x00, "LOGICAL UNIT DOES NOT RESPOND TO SELECTION" },
    { 0x08, 0x00, "LOGICAL UNIT COMMUNICATION FAILURE" },
    { 0x11, 0x00, "UNRECOVERED READ ERROR" },
    { 0x1a, 0x00, "PARAMETER LIST LENGTH ERROR" },
    { 0x20, 0x00, "INVALID COMMAND OPERATION CODE" },
    { 0x20, 0x02, "ACCESS DENIED - NO ACCESS RIGHTS" },
    { 0x24, 0x00, "INVALID FIELD IN CDB" },
    { 0x25, 0x00, "LOGICAL UNIT NOT SUPPORTED" },
    { 0x26, 0x00, "INVALID FIELD IN PARAMETER LIST" },
    { 0x26, 0x04, "INVALID RELEASE OF PERSISTENT RESERVATION" },
    { 0x27, 0x07, "SPACE ALLOCATION FAILED WRITE PROTECT" },
    { 0x29, 0x00, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED" },
    { 0x29, 0x01, "POWER ON OCCURRED" },
    { 0x29, 0x02, "SCSI BUS RESET OCCURRED" },
    { 0x29, 0x07, "I_T NEXUS LOSS OCCURRED" },
    { 0x2a, 0x03, "RESERVATIONS PREEMPTED" },
    { 0x2a, 0x04, "RESERVATIONS RELEASED" },
    { 0x2a, 0x05, "REGISTRATIONS PREEMPTED" },
    { 0x2e, 0x02, "INSUFFICIENT TIME FOR OPERATION" },
    { 0x2f, 0x02, "COMMANDS CLEARED BY DEVICE SERVER" },
    { 0x3a, 0x00, "MEDIUM NOT PRESENT" },
    { 0x44, 0x00, "INTERNAL TARGET FAILURE" },
    { 0x55, 0x03, "INSUFFICIENT RESOURCES" },
    { 0x55, 0x04, "INSUFFICIENT REGISTRATION RESOURCES" },
};

const char *scsi_asc_name(unsigned asc, unsigned ascq)
{
    for (size_t i = 0; i < sizeof(asc_names) / sizeof(asc_names[0]); i++)
        if (asc_names[i].asc == asc && asc_names[i].ascq == ascq)
            return asc_names[i].name;
    return "";
}

const char *scsi_status_name(unsigned status)
{
    switch (status) {
    case SCSI_STATUS_GOOD: return "GOOD";
    case SCSI_STATUS_CHECK_CONDITION: return "CHECK CONDITION";
    case SCSI_STATUS_CONDITION_MET: return "CONDITION MET";
    case SCSI_STATUS_BUSY: return "BUSY";
    case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
    case SCSI_STATUS_TASK_SET_FULL: return "TASK SET FULL";
    case SCSI_STATUS_ACA_ACTIVE: return "ACA ACTIVE";
    case SCSI_STATUS_TASK_ABORTED: return "TASK ABORTED";
    default: return "UNKNOWN STATUS";
    }
}

const char *pr_type_name(unsigned type)
{
    switch (type) {
    case PR_TYPE_NONE: return "none";
    case PR_TYPE_WE: return "Write Exclusive";
    case PR_TYPE_EA: return "Exclusive Access";
    case PR_TYPE_WE_RO: return "Write Exclusive, registrants only";
    case PR_TYPE_EA_RO: return "Exclusive Access, registrants only";
    case PR_TYPE_WE_AR: return "Write Exclusive, all registrants";
    case PR_TYPE_EA_AR: return "Exclusive Access, all registrants";
    default: return "obsolete or reserved type";
    }
}

const char *pr_in_sa_name(unsigned sa)
{
    static const char *const names[] = {
        [PR_IN_READ_KEYS] = "READ KEYS",
        [PR_IN_READ_RESERVATION] = "READ RESERVATION",
        [PR_IN_REPORT_CAPABILITIES] = "REPORT CAPABILITIES",
        [PR_IN_READ_FULL_STATUS] = "READ FULL STATUS",
    };
    return sa < sizeof(names) / sizeof(names[0]) ? names[sa] : "reserved service action";
}

const char *pr_out_sa_name(unsigned sa)
{
    static const char *const names[] = {
        [PR_OUT_REGISTER] = "REGISTER",
        [PR_OUT_RESERVE] = "RESERVE",
        [PR_OUT_RELEASE] = "RELEASE",
        [PR_OUT_CLEAR] = "CLEAR",
        [PR_OUT_PREEMPT] = "PREEMPT",
        [PR_OUT_PREEMPT_AND_ABORT] = "PREEMPT AND ABORT",
        [PR_OUT_REGISTER_AND_IGNORE] = "REGISTER AND IGNORE EXISTING KEY",
        [PR_OUT_REGISTER_AND_MOVE] = "REGISTER AND MOVE",
        [PR_OUT_REPLACE_LOST_RESERVATION] = "REPLACE LOST RESERVATION",
    };
    return sa < sizeof(names) / sizeof(names[0]) ? names[sa] : "reserved service action";
}
