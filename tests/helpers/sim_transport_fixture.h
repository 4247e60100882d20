/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim_transport_fixture.h - one fixture for the tests of the sim
 * transport (test_transport_sim*.c): a temporary directory with a state
 * directory, a fake /proc and two stand-in disks; the transport state with
 * its control table; nexuses from peers; PR IN / PR OUT through the
 * generic request path (prh_transport_execute_ex), the last reply kept.
 */
#ifndef PRHELPER_TESTS_SIM_TRANSPORT_FIXTURE_H
#define PRHELPER_TESTS_SIM_TRANSPORT_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "prh_test_util.h"
#include "prhelper/control.h"
#include "prhelper/transport.h"

extern const struct prh_transport *const STFX_T; /* &prh_transport_sim */

struct stfx {
    char *dir;
    char state[300], proc[300]; /* <dir>/state, <dir>/proc (made) */
    char *disk, *disk_b;        /* <dir>/disk, <dir>/disk-b (4 KiB files) */
    char lun[64];               /* disk's LUN id (prh_lun_id_of_fd) */
    void *st;                   /* the transport's state (stfx_init) */
    struct prh_control *ctl;    /* its control table */
    void *a, *b;                /* stfx_hosts(): nexuses host-a and host-b */
    struct prh_reply reply;     /* the last command's reply */
    struct prh_exec_info info;  /* and what the transport said besides */
};

/* A fixture without transport state (log verbosity 0). */
struct stfx *stfx_new(void);
/* The transport's state and control table from o (state_dir: f->state
 * unless o gives one). */
void stfx_init(struct stfx *f, struct prh_transport_options o);
/* Init with o (state_dir: f->state unless o gives one) must fail: with
 * want (0: any negative error) and an error message containing msg (NULL:
 * not checked). */
void stfx_init_fails(struct stfx *f, struct prh_transport_options o, int want, const char *msg);
/* Free the nexuses a, b, the control table and the state. */
void stfx_fini(struct stfx *f);
/* stfx_fini, then remove the directory and free the fixture. */
void stfx_free(struct stfx *f);
/* cmocka teardown for a struct stfx. */
int stfx_teardown(void **state);

/* A nexus for a peer with credentials (pid) and the abstract address addr
 * (NULL: none), connection serial. */
void *stfx_nexus(void *st, const char *addr, uint64_t serial, pid_t pid);
/* A nexus chosen by name: "@prhelper-nexus:<name>". */
void *stfx_nexus_named(struct stfx *f, const char *name, uint64_t serial);
/* f->a = host-a (serial 1), f->b = host-b (serial 2). */
void stfx_hosts(struct stfx *f);

/* PR OUT (24-byte list) / PR IN (8192 bytes) on fd or on path; the
 * status, or -1 when the transport asked to disconnect. */
int stfx_prout_fd(struct stfx *f, void *nexus, int fd, uint8_t sa, uint8_t type, uint64_t rk,
                  uint64_t sark, uint8_t flags);
int stfx_prout(struct stfx *f, void *nexus, const char *path, uint8_t sa, uint8_t type,
               uint64_t rk, uint64_t sark, uint8_t flags);
int stfx_prin_fd(struct stfx *f, void *nexus, int fd, uint8_t sa);
int stfx_prin(struct stfx *f, void *nexus, const char *path, uint8_t sa);
/* A reply's sense, decoded. */
struct scsi_sense stfx_sense_of(const struct prh_reply *r);

/* A control line (printf format); the whole answer (static). */
const char *stfx_ctl(struct stfx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
