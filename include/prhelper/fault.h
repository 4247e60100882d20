/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fault.h - armed faults for simulated LUNs (the control socket's
 * "fault add|list|clear"), for both places the simulator answers: the sim
 * transport (prhelper --transport=sim: a fault fires on a client's PR
 * request) and prhelper-tcmu (a kernel LUN: a fault fires on any SCSI
 * command the LUN receives).
 *
 * A fault matches commands by LUN, by who sent them (a substring of the
 * sender's description: its nexus, or the backstore it came through; on
 * the sim transport also the connection's number), by operation code or
 * PR service action, and fires for the next N matching commands or
 * always.  Firing means: answer with a status, or with CHECK CONDITION
 * and given sense, instead of executing; or execute only after a delay;
 * on the sim transport also: close the connection instead of executing,
 * or execute and then close instead of replying.  The oldest matching
 * fault fires first.
 *
 *   fault add ACTION [lun=LUN] [client=WHO] [op=OP] [sa=SA] [count=N|always]
 *     ACTION: busy | conflict | task-set-full | ua-power-on | aborted | not-ready |
 *             delay MS | status HEX | sense KEY/ASC/ASCQ
 *             and medium-error (prhelper-tcmu) or close | close-after (sim transport)
 *     OP:     read | write | pr-in | pr-out | HEX opcode (prhelper-tcmu only)
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
    PRH_FAULT_CLOSE,  /* close the client's connection, command not executed (sim) */
    PRH_FAULT_CLOSE_AFTER, /* execute, then close instead of replying (sim) */
};

/* Which commands a table's faults see, and so which words "fault add" takes. */
enum prh_faults_vocabulary {
    PRH_FAULTS_LUN_COMMANDS,    /* every SCSI command of a LUN (prhelper-tcmu): op=, medium-error */
    PRH_FAULTS_HELPER_REQUESTS, /* PR requests on helper connections (sim): close, close-after */
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

struct prh_faults *prh_faults_new(enum prh_faults_vocabulary vocabulary);
void prh_faults_free(struct prh_faults *t);

/* "fault ..." from the control socket: 0 done, -1 with the reason on out. */
int prh_faults_control(struct prh_faults *t, const struct prh_ctl_request *req, FILE *out);

/*
 * The oldest armed fault matching a command, consumed (its count goes
 * down; a spent fault is removed); false if none.  who describes the
 * sender; client_no, if not 0, is its connection's number, which
 * client= also matches (whole).
 */
bool prh_faults_take(struct prh_faults *t, const char *lun, const char *who, uint64_t client_no,
                     const uint8_t *cdb, size_t cdb_len, struct prh_fault *out);

/* Number of armed faults. */
size_t prh_faults_count(struct prh_faults *t);

#endif
