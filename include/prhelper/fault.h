/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fault.h - armed faults for simulated LUNs (the control socket's
 * "fault add|list|clear").
 *
 * A fault matches commands by LUN, by who sent them (a substring of the
 * sender's description: its nexus, or the backstore it came through), by
 * operation code or PR service action, and fires for the next N matching
 * commands or always.  Firing means: answer with a status, or with CHECK
 * CONDITION and given sense, instead of executing; or execute only after
 * a delay.  The oldest matching fault fires first.
 *
 *   fault add ACTION [lun=LUN] [client=WHO] [op=OP] [sa=SA] [count=N|always]
 *     ACTION: busy | conflict | task-set-full | ua-power-on | aborted | not-ready |
 *             medium-error | delay MS | status HEX | sense KEY/ASC/ASCQ
 *     OP:     read | write | pr-in | pr-out | HEX opcode
 *     SA:     a PR service action (register, reserve, preempt, read-keys, ...)
 *   fault list
 *   fault clear [ID]
 *
 * Thread-safe (one mutex).
 */
#ifndef PRHELPER_FAULT_H
#define PRHELPER_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "prhelper/control.h"
#include "prhelper/scsi.h"

enum prh_fault_action {
    PRH_FAULT_STATUS, /* answer with status, command not executed */
    PRH_FAULT_SENSE,  /* CHECK CONDITION with sense, command not executed */
    PRH_FAULT_DELAY,  /* execute after delay_ms */
};

/* The op filter's classes (besides a plain operation code 0..255). */
#define PRH_FAULT_OP_ANY -1
#define PRH_FAULT_OP_READ -2
#define PRH_FAULT_OP_WRITE -3

struct prh_fault {
    unsigned id;
    char lun[129];     /* "" any */
    char client[128];  /* "" any; substring of the sender's description */
    int op;            /* PRH_FAULT_OP_* or an operation code */
    int sa;            /* -1 any, else the PR service action */
    unsigned remaining;
    bool forever;
    unsigned hits;
    enum prh_fault_action action;
    uint8_t status;
    struct scsi_sense sense;
    unsigned delay_ms;
    char spec[200];    /* as given */
};

struct prh_faults;

struct prh_faults *prh_faults_new(void);
void prh_faults_free(struct prh_faults *t);

/* "fault ..." from the control socket: 0 done, -1 with the reason on out. */
int prh_faults_control(struct prh_faults *t, const struct prh_ctl_request *req, FILE *out);

/*
 * The oldest armed fault matching a command, consumed (its count goes
 * down; a spent fault is removed); false if none.  who describes the
 * sender.
 */
bool prh_faults_take(struct prh_faults *t, const char *lun, const char *who, const uint8_t *cdb,
                     size_t cdb_len, struct prh_fault *out);

/* Number of armed faults. */
size_t prh_faults_count(struct prh_faults *t);

#endif
