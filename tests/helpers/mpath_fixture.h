/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mpath_fixture.h - a fake kernel for the device transports (device.h
 * ops): a dm-multipath map whose paths are fake block devices, their
 * SG_IO going to one simulated LUN (pr_sim), each path its own I_T nexus;
 * a plain disk; injected path failures, device errors and unit
 * attentions at every step, and a hook that lets "another host" act
 * between two commands.  Header only (static inline), for
 * test_transport_mpath.c, test_mpath_fence.c and test_mpath_semantics.c.
 */
#ifndef PRHELPER_TESTS_MPATH_FIXTURE_H
#define PRHELPER_TESTS_MPATH_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prh_test_util.h"
#include "sim_helpers.h"
#include "prhelper/device.h"
#include "prhelper/mpath.h"
#include "prhelper/transport_id.h"

#define NPATH_MAX 4
#define MAP_DEV makedev(253, 0)
#define MAP2_DEV makedev(253, 1)
#define PLAIN_DEV makedev(8, 0)
#define PATH_FD0 100
#define LUN_SECTORS 131072u

enum inject_kind {
    INJ_NONE,
    INJ_ERRNO,      /* the ioctl fails */
    INJ_HOST,       /* host status, command not executed */
    INJ_HOST_AFTER, /* executed by the device, then the path dies */
    INJ_SENSE,      /* the device answers CHECK CONDITION without executing */
};

struct inject {
    enum inject_kind kind;
    int value;
    struct scsi_sense sense;
};

struct call {
    int path;         /* -1: the plain fd; -2: dm suspend, -3: dm resume */
    uint8_t opcode, sa;
    uint32_t len;
    uint8_t flags;    /* PR OUT parameter byte 20 */
    uint64_t sark;    /* PR OUT parameter bytes 8-15 */
};

static struct {
    struct pr_sim_lun *lun;
    int npaths;
    struct prh_dev_path paths[NPATH_MAX];
    int open_err[NPATH_MAX];
    struct inject inj[NPATH_MAX][8];
    int ninj[NPATH_MAX], next_inj[NPATH_MAX];
    int bi_err, list_err, table_err, suspend_err;
    bool table_known;              /* DM_TABLE_STATUS answers */
    char table_type[16];
    char uuid[64];                 /* the map's dm uuid */
    uint64_t map_seq;              /* its disk sequence number */
    bool map2_gone;
    int opens, closes;
    struct call calls[128];
    int ncalls;
    int map_fd, map2_fd, plain_fd;
    void *state;
    const struct prh_transport *t;
    bool block_path0; /* SG_IO on path 0 stops at the gate blk */
    /* Before the command matching (hook_path, hook_opcode, hook_sa) runs,
     * hook() is called once (another host acting in between). */
    int hook_path;
    uint8_t hook_opcode, hook_sa;
    void (*hook)(void);
} fk;

static struct tu_gate blk = TU_GATE_INIT;

static inline struct pr_sim_nexus path_nexus(int i)
{
    return th_nexus((char)('H' + i), 1);
}

/* The fstat() the server takes of a client's fd: the maps and the plain
 * disk are fake block devices, any other fd is what it really is. */
static inline int fake_fstat(int fd, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    if (fd == fk.map_fd || fd == fk.plain_fd || fd == fk.map2_fd) {
        st->st_mode = S_IFBLK | 0660;
        st->st_rdev = fd == fk.map_fd ? MAP_DEV : fd == fk.map2_fd ? MAP2_DEV : PLAIN_DEV;
        return 0;
    }
    return fstat(fd, st);
}

static inline int fake_disk_seq(int fd, uint64_t *seq)
{
    if (fd == fk.map_fd)
        *seq = fk.map_seq;
    else if (fd == fk.map2_fd)
        *seq = 77;
    else if (fd == fk.plain_fd)
        *seq = 1;
    else
        return -ENOTTY;
    return 0;
}

static inline int fake_block_info(dev_t dev, struct prh_dev_block_info *bi)
{
    memset(bi, 0, sizeof(*bi));
    bi->sectors = LUN_SECTORS;
    if (fk.bi_err)
        return -fk.bi_err;
    if (dev == MAP_DEV) {
        bi->dm = true;
        snprintf(bi->dm_uuid, sizeof(bi->dm_uuid), "%s", fk.uuid);
    } else if (dev == MAP2_DEV) {
        if (fk.map2_gone)
            return -ENOENT;
        bi->dm = true;
        snprintf(bi->dm_uuid, sizeof(bi->dm_uuid), "mpath-other");
    }
    return 0;
}

static inline int fake_dm_table(dev_t dev, struct prh_dev_dm_table *t)
{
    memset(t, 0, sizeof(*t));
    if (!fk.table_known)
        return -EACCES;
    if (fk.table_err)
        return -fk.table_err;
    if (dev != MAP_DEV && dev != MAP2_DEV)
        return -ENXIO;
    t->targets = 1;
    snprintf(t->type, sizeof(t->type), "%s", fk.table_type);
    t->length = LUN_SECTORS;
    return 0;
}

static inline int fake_dm_suspend(dev_t dev, bool suspend)
{
    assert_true(dev == MAP_DEV);
    struct call *c = &fk.calls[fk.ncalls < 127 ? fk.ncalls++ : 127];
    memset(c, 0, sizeof(*c));
    c->path = suspend ? -2 : -3;
    return fk.suspend_err ? -fk.suspend_err : 0;
}

static inline int fake_list_paths(dev_t map, struct prh_dev_path *p, size_t max)
{
    if (map == MAP2_DEV)
        return 0;
    assert_true(map == MAP_DEV);
    if (fk.list_err)
        return -fk.list_err;
    int n = fk.npaths < (int)max ? fk.npaths : (int)max;
    memcpy(p, fk.paths, (size_t)n * sizeof(*p));
    return n;
}

static inline int fake_open_path(const struct prh_dev_path *p)
{
    for (int i = 0; i < fk.npaths; i++) {
        if (strcmp(fk.paths[i].name, p->name) == 0) {
            if (fk.open_err[i])
                return -fk.open_err[i];
            fk.opens++;
            return PATH_FD0 + i;
        }
    }
    return -ENOENT;
}

static inline void fake_close_path(int fd)
{
    assert_true(fd >= PATH_FD0 && fd < PATH_FD0 + fk.npaths);
    fk.closes++;
}

static inline void run_on_sim(int path, struct sg_io_hdr *h)
{
    struct pr_sim_nexus n = path_nexus(path < 0 ? 0 : path);
    struct pr_sim_result r;
    bool out = h->dxfer_direction == SG_DXFER_TO_DEV;
    pr_sim_execute(fk.lun, &n, h->cmdp, h->cmd_len, out ? h->dxferp : NULL,
                   out ? h->dxfer_len : 0, out ? NULL : h->dxferp, out ? 0 : h->dxfer_len, &r);
    h->status = r.status;
    h->host_status = 0;
    h->driver_status = 0;
    h->sb_len_wr = 0;
    if (r.status == SCSI_STATUS_CHECK_CONDITION)
        h->sb_len_wr = (unsigned char)scsi_sense_build_fixed(h->sbp, h->mx_sb_len, r.sense);
    h->resid = out ? 0 : (int)(h->dxfer_len - r.data_len);
}

static inline int fake_sg_io(int fd, struct sg_io_hdr *h)
{
    int path = fd == fk.plain_fd ? -1 : fd - PATH_FD0;
    assert_true(path == -1 || (path >= 0 && path < fk.npaths));
    struct call *c = &fk.calls[fk.ncalls < 127 ? fk.ncalls++ : 127];
    c->path = path;
    c->opcode = h->cmdp[0];
    c->sa = h->cmdp[1] & 0x1f;
    c->len = h->dxfer_len;
    bool params = h->dxfer_direction == SG_DXFER_TO_DEV && h->dxfer_len >= 24;
    c->flags = params ? ((const uint8_t *)h->dxferp)[20] : 0;
    c->sark = params ? scsi_get_be64((const uint8_t *)h->dxferp + 8) : 0;
    if (fk.hook != NULL && path == fk.hook_path && c->opcode == fk.hook_opcode &&
        c->sa == fk.hook_sa) {
        void (*hook)(void) = fk.hook;
        fk.hook = NULL;
        hook();
    }
    if (path == 0 && fk.block_path0)
        tu_gate_pass(&blk);
    struct inject inj = { INJ_NONE, 0, SENSE_NONE };
    if (path >= 0 && fk.next_inj[path] < fk.ninj[path])
        inj = fk.inj[path][fk.next_inj[path]++];
    switch (inj.kind) {
    case INJ_ERRNO:
        errno = inj.value;
        return -1;
    case INJ_HOST:
        h->status = 0;
        h->host_status = (unsigned short)inj.value;
        h->driver_status = 0;
        h->sb_len_wr = 0;
        return 0;
    case INJ_HOST_AFTER:
        run_on_sim(path, h);
        h->status = 0;
        h->host_status = (unsigned short)inj.value;
        return 0;
    case INJ_SENSE:
        h->status = SCSI_STATUS_CHECK_CONDITION;
        h->host_status = 0;
        h->driver_status = 0;
        h->sb_len_wr = (unsigned char)scsi_sense_build_fixed(h->sbp, h->mx_sb_len, inj.sense);
        return 0;
    case INJ_NONE:
    default:
        run_on_sim(path, h);
        return 0;
    }
}

static const struct prh_dev_ops fake_dev_ops = {
    .sg_io = fake_sg_io,
    .disk_seq = fake_disk_seq,
    .block_info = fake_block_info,
    .dm_table = fake_dm_table,
    .dm_suspend = fake_dm_suspend,
    .list_paths = fake_list_paths,
    .open_path = fake_open_path,
    .close_path = fake_close_path,
};

static inline void inject(int path, enum inject_kind kind, int value, struct scsi_sense s)
{
    assert_true(fk.ninj[path] < 8);
    fk.inj[path][fk.ninj[path]++] = (struct inject){ kind, value, s };
}

static inline void add_path(const char *name, int minor_no)
{
    struct prh_dev_path *p = &fk.paths[fk.npaths++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->dev = makedev(8, (unsigned)minor_no);
    p->running = true;
    p->host = -1;
    p->sectors = LUN_SECTORS;
    snprintf(p->wwid, sizeof(p->wwid), "naa.6001405lun1");
}

/* fk.t->init with opts (NULL: defaults; multipathd never asked unless
 * opts say so) into fk.state: at start, and again for a daemon restart. */
static inline void fixture_init_transport(const struct prh_transport_options *opts)
{
    struct prh_transport_options o;
    memset(&o, 0, sizeof(o));
    if (opts != NULL)
        o = *opts;
    if (o.multipathd_socket == NULL)
        o.multipathd_socket = "none";
    char err[128];
    assert_int_equal(fk.t->init(&o, &fk.state, err, sizeof(err)), 0);
    prh_dev_set_ops(&fake_dev_ops); /* init read the real /proc/devices only */
}

/* A map "mpath-test" over sdb and sdc, served by transport t with opts
 * (NULL: defaults; multipathd never asked unless opts say so). */
static inline void fixture_start(const struct prh_transport *t,
                                 const struct prh_transport_options *opts)
{
    memset(&fk, 0, sizeof(fk));
    fk.lun = th_lun(PR_SIM_PROFILE_SPC4);
    fk.map_seq = 42;
    snprintf(fk.uuid, sizeof(fk.uuid), "mpath-test");
    snprintf(fk.table_type, sizeof(fk.table_type), "multipath");
    add_path("sdb", 16);
    add_path("sdc", 32);
    fk.map_fd = open("/dev/null", O_RDWR);
    fk.map2_fd = open("/dev/null", O_RDWR);
    fk.plain_fd = open("/dev/null", O_RDWR);
    assert_true(fk.map_fd >= 0 && fk.plain_fd >= 0 && fk.map2_fd >= 0);
    prh_dev_set_ops(&fake_dev_ops);
    prh_dev_cache_flush();
    fk.t = t;
    fixture_init_transport(opts);
    /* A new nexus reports power on first: consume it as a fresh host would. */
    for (int i = 0; i < NPATH_MAX; i++) {
        struct pr_sim_nexus n = path_nexus(i);
        th_clear_ua(fk.lun, &n);
    }
}

static inline int setup(void **state)
{
    (void)state;
    fixture_start(&prh_transport_mpath, NULL);
    return 0;
}

static inline int teardown(void **state)
{
    (void)state;
    assert_int_equal(fk.opens, fk.closes);
    fk.t->fini(fk.state);
    prh_dev_set_ops(NULL);
    prh_dev_cache_flush();
    close(fk.map_fd);
    close(fk.map2_fd);
    close(fk.plain_fd);
    pr_sim_lun_free(fk.lun);
    return 0;
}

/* ---- sending requests through the transport ---------------------------- */

static struct prh_reply reply;

static inline uint8_t send_raw(const struct prh_transport *t, void *st, int fd,
                               const uint8_t cdb[10], const uint8_t *params, uint32_t len)
{
    struct prh_request req;
    memset(&req, 0, sizeof(req));
    memcpy(req.cdb, cdb, 10);
    req.fd = fd;
    req.xfer_len = len;
    req.params = params;
    void *nexus = t->nexus_new(st, NULL);
    struct stat sb;
    if (fake_fstat(fd, &sb) < 0)
        prh_transport_execute_st(t, st, nexus, &req, NULL, errno, &reply, NULL);
    else
        prh_transport_execute_st(t, st, nexus, &req, &sb, 0, &reply, NULL);
    t->nexus_free(st, nexus);
    return reply.status;
}

static inline uint8_t prout_on(int fd, uint8_t sa, uint8_t type, uint64_t rk, uint64_t sark,
                               uint8_t flags)
{
    uint8_t cdb[10] = { 0x5f, sa, type };
    uint8_t p[24] = { 0 };
    scsi_put_be32(&cdb[5], 24);
    scsi_put_be64(&p[0], rk);
    scsi_put_be64(&p[8], sark);
    p[20] = flags;
    return send_raw(fk.t, fk.state, fd, cdb, p, 24);
}

static inline uint8_t prout(uint8_t sa, uint8_t type, uint64_t rk, uint64_t sark)
{
    return prout_on(fk.map_fd, sa, type, rk, sark, 0);
}

static inline uint8_t prin(uint8_t sa, uint16_t alloc)
{
    uint8_t cdb[10] = { 0x5e, sa };
    scsi_put_be16(&cdb[7], alloc);
    return send_raw(fk.t, fk.state, fk.map_fd, cdb, NULL, alloc);
}

static inline struct scsi_sense reply_sense(void)
{
    struct scsi_sense s;
    assert_true(scsi_sense_decode(reply.sense, sizeof(reply.sense), &s));
    return s;
}

static inline void assert_reply_sense(struct scsi_sense want)
{
    assert_int_equal(reply.status, SCSI_STATUS_CHECK_CONDITION);
    struct scsi_sense s = reply_sense();
    assert_int_equal(s.key, want.key);
    assert_int_equal(s.asc, want.asc);
    assert_int_equal(s.ascq, want.ascq);
}

/* Another host on the LUN (nexus Z, target port 2). */
static inline struct pr_sim_nexus other_host(void)
{
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_clear_ua(fk.lun, &z);
    return z;
}

/* Another host registers key and reserves the LUN with type. */
static inline void other_host_reserves(uint64_t key, uint8_t type)
{
    struct pr_sim_nexus z = other_host();
    assert_good(th_register(fk.lun, &z, 0, key));
    assert_good(th_reserve(fk.lun, &z, key, type));
}

/* The reservation as the array shows it to another host: held by key,
 * of type, or (key 0) none. */
static inline void expect_array_reservation(uint64_t key, uint8_t type)
{
    struct pr_sim_nexus z = other_host();
    if (key == 0)
        th_expect_no_reservation(fk.lun, &z);
    else
        th_expect_reservation(fk.lun, &z, key, type);
}

/* Registrations as the array sees them (from an outside host). */
static inline struct th_keys array_keys(void)
{
    struct pr_sim_nexus z = other_host();
    return th_read_keys(fk.lun, &z);
}

static inline int count_key(uint64_t key)
{
    struct th_keys k = array_keys();
    int n = 0;
    for (uint32_t i = 0; i < k.count; i++)
        n += k.keys[i] == key;
    return n;
}

static inline int calls_of(int path, uint8_t sa, uint8_t opcode)
{
    int n = 0;
    for (int i = 0; i < fk.ncalls; i++)
        n += fk.calls[i].path == path && fk.calls[i].sa == sa && fk.calls[i].opcode == opcode;
    return n;
}

/* REGISTER AND IGNORE calls on path giving it key. */
static inline int registrations_sent(int path, uint64_t key)
{
    int n = 0;
    for (int i = 0; i < fk.ncalls; i++)
        n += fk.calls[i].path == path && fk.calls[i].opcode == 0x5f &&
             fk.calls[i].sa == PR_OUT_REGISTER_AND_IGNORE && fk.calls[i].sark == key;
    return n;
}

static inline struct prh_mpath_path_status path_status(int i, struct prh_mpath_status *ms)
{
    struct prh_mpath_path_status st[NPATH_MAX];
    struct prh_mpath_status m;
    int n = prh_mpath_map_status(prh_mpath_of(fk.state), MAP_DEV, &m, st, NPATH_MAX);
    assert_true(n > i);
    if (ms)
        *ms = m;
    return st[i];
}

/* The map's own status (its key, whether it holds the reservation). */
static inline struct prh_mpath_status map_status(void)
{
    struct prh_mpath_status m;
    path_status(0, &m);
    return m;
}

/* The map knows its key is gone from the LUN (preempted or cleared). */
static inline void assert_map_key_gone(void)
{
    struct prh_mpath_status m = map_status();
    assert_true(m.key_known);
    assert_int_equal(m.key, 0);
}

/* Paths 0 and 1 carry k0 and k1, registered behind the map's back. */
static inline void paths_carry(uint64_t k0, uint64_t k1)
{
    struct pr_sim_nexus p0 = path_nexus(0), p1 = path_nexus(1);
    assert_good(th_register_ignore(fk.lun, &p0, k0));
    assert_good(th_register_ignore(fk.lun, &p1, k1));
}

static inline void register_both(uint64_t key)
{
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, key), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, fk.npaths);
    fk.ncalls = 0;
}

/* Path p stops answering; a READ KEYS (GOOD: another path answers) lets
 * the map see it gone. */
static inline void path_away(int p)
{
    fk.paths[p].running = false;
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
}

/* Path p is down while the guest changes its key from old to new (GOOD). */
static inline void change_key_with_path_away(int p, uint64_t old_key, uint64_t new_key)
{
    fk.paths[p].running = false;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, old_key, new_key), SCSI_STATUS_GOOD);
}

#define SENSE_STANDBY SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x0b)
#define SENSE_NO_RESOURCES SENSE_INSUFFICIENT_REG_RESOURCES
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#endif
