/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_transport_mpath.c - the mpath transport over a fake path layer:
 * the map's paths are fake block devices whose SG_IO goes to one
 * simulated LUN (pr_sim), each path its own I_T nexus, with injected path
 * failures, device errors and unit attentions at every step.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_helpers.h"
#include "prhelper/seccomp.h"
#include "prhelper/transport_id.h"
#include "prhelper/transport_mpath.h"
#include "prhelper/transport_sg.h"

#define NPATH_MAX 3
#define MAP_DEV makedev(253, 0)
#define PLAIN_DEV makedev(8, 0)
#define PATH_FD0 100

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
    int path;         /* -1: the plain fd */
    uint8_t opcode, sa;
    uint32_t len;
    uint8_t flags;    /* PR OUT parameter byte 20 */
};

static struct {
    struct pr_sim_lun *lun;
    int npaths;
    struct prh_mpath_path_info paths[NPATH_MAX];
    int open_err[NPATH_MAX];
    struct inject inj[NPATH_MAX][8];
    int ninj[NPATH_MAX], next_inj[NPATH_MAX];
    int is_mp_err, list_err;
    int opens, closes;
    struct call calls[64];
    int ncalls;
    int map_fd, plain_fd;
    void *state;
    bool block_path0; /* SG_IO on path 0 waits until blk.released */
} fk;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool blocked, released;
} blk = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false };

static struct pr_sim_nexus path_nexus(int i)
{
    return th_nexus((char)('H' + i), 1);
}

/* The fstat() the server takes of a client's fd: the map and the plain
 * disk are fake block devices, any other fd is what it really is. */
static int fake_fstat(int fd, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    if (fd == fk.map_fd || fd == fk.plain_fd) {
        st->st_mode = S_IFBLK | 0660;
        st->st_rdev = fd == fk.map_fd ? MAP_DEV : PLAIN_DEV;
        return 0;
    }
    return fstat(fd, st);
}

static int fake_is_multipath(dev_t dev)
{
    if (fk.is_mp_err)
        return -fk.is_mp_err;
    return dev == MAP_DEV;
}

static int fake_list_paths(dev_t map, struct prh_mpath_path_info *p, size_t max)
{
    assert_true(map == MAP_DEV);
    if (fk.list_err)
        return -fk.list_err;
    int n = fk.npaths < (int)max ? fk.npaths : (int)max;
    memcpy(p, fk.paths, (size_t)n * sizeof(*p));
    return n;
}

static int fake_open_path(const struct prh_mpath_path_info *p)
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

static void fake_close_path(int fd)
{
    assert_true(fd >= PATH_FD0 && fd < PATH_FD0 + fk.npaths);
    fk.closes++;
}

static const struct prh_mpath_ops fake_mp_ops = {
    fake_is_multipath, fake_list_paths, fake_open_path, fake_close_path,
};

static void run_on_sim(int path, struct sg_io_hdr *h)
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

static int fake_sg_io(int fd, struct sg_io_hdr *h)
{
    int path = fd == fk.plain_fd ? -1 : fd - PATH_FD0;
    assert_true(path == -1 || (path >= 0 && path < fk.npaths));
    struct call *c = &fk.calls[fk.ncalls < 63 ? fk.ncalls++ : 63];
    c->path = path;
    c->opcode = h->cmdp[0];
    c->sa = h->cmdp[1] & 0x1f;
    c->len = h->dxfer_len;
    c->flags = h->dxfer_direction == SG_DXFER_TO_DEV && h->dxfer_len >= 24
                   ? ((const uint8_t *)h->dxferp)[20] : 0;
    if (path == 0 && fk.block_path0) {
        pthread_mutex_lock(&blk.lock);
        blk.blocked = true;
        pthread_cond_broadcast(&blk.cond);
        while (!blk.released)
            pthread_cond_wait(&blk.cond, &blk.lock);
        pthread_mutex_unlock(&blk.lock);
    }
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

static const struct prh_sg_ops fake_sg_ops = { fake_sg_io };

static void inject(int path, enum inject_kind kind, int value, struct scsi_sense s)
{
    assert_true(fk.ninj[path] < 8);
    fk.inj[path][fk.ninj[path]++] = (struct inject){ kind, value, s };
}

static void add_path(const char *name, int minor_no)
{
    struct prh_mpath_path_info *p = &fk.paths[fk.npaths++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->dev = makedev(8, (unsigned)minor_no);
    p->running = true;
}

static int setup(void **state)
{
    (void)state;
    memset(&fk, 0, sizeof(fk));
    fk.lun = th_lun(PR_SIM_PROFILE_SPC4);
    add_path("sdb", 16);
    add_path("sdc", 32);
    fk.map_fd = open("/dev/null", O_RDWR);
    fk.plain_fd = open("/dev/null", O_RDWR);
    assert_true(fk.map_fd >= 0 && fk.plain_fd >= 0);
    prh_mpath_set_ops(&fake_mp_ops);
    prh_sg_set_ops(&fake_sg_ops);
    char err[128];
    assert_int_equal(prh_transport_mpath.init(NULL, &fk.state, err, sizeof(err)), 0);
    /* A new nexus reports power on first: consume it as a fresh host would. */
    for (int i = 0; i < NPATH_MAX; i++) {
        struct pr_sim_nexus n = path_nexus(i);
        th_clear_ua(fk.lun, &n);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(fk.opens, fk.closes);
    prh_transport_mpath.fini(fk.state);
    prh_mpath_set_ops(NULL);
    prh_sg_set_ops(NULL);
    close(fk.map_fd);
    close(fk.plain_fd);
    pr_sim_lun_free(fk.lun);
    return 0;
}

/* ---- sending requests through the transport ---------------------------- */

static struct prh_reply reply;

static uint8_t send_raw(const struct prh_transport *t, void *st, int fd, const uint8_t cdb[10],
                        const uint8_t *params, uint32_t len)
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

static uint8_t prout_on(int fd, uint8_t sa, uint8_t type, uint64_t rk, uint64_t sark,
                        uint8_t flags)
{
    uint8_t cdb[10] = { 0x5f, sa, type };
    uint8_t p[24] = { 0 };
    scsi_put_be32(&cdb[5], 24);
    scsi_put_be64(&p[0], rk);
    scsi_put_be64(&p[8], sark);
    p[20] = flags;
    return send_raw(&prh_transport_mpath, fk.state, fd, cdb, p, 24);
}

static uint8_t prout(uint8_t sa, uint8_t type, uint64_t rk, uint64_t sark)
{
    return prout_on(fk.map_fd, sa, type, rk, sark, 0);
}

static uint8_t prin(uint8_t sa, uint16_t alloc)
{
    uint8_t cdb[10] = { 0x5e, sa };
    scsi_put_be16(&cdb[7], alloc);
    return send_raw(&prh_transport_mpath, fk.state, fk.map_fd, cdb, NULL, alloc);
}

static struct scsi_sense reply_sense(void)
{
    struct scsi_sense s;
    assert_true(scsi_sense_decode(reply.sense, sizeof(reply.sense), &s));
    return s;
}

static void assert_reply_sense(struct scsi_sense want)
{
    assert_int_equal(reply.status, SCSI_STATUS_CHECK_CONDITION);
    struct scsi_sense s = reply_sense();
    assert_int_equal(s.key, want.key);
    assert_int_equal(s.asc, want.asc);
    assert_int_equal(s.ascq, want.ascq);
}

/* Registrations as the array sees them (from an outside host). */
static struct th_keys array_keys(void)
{
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_clear_ua(fk.lun, &z);
    return th_read_keys(fk.lun, &z);
}

static int calls_of(int path, uint8_t sa, uint8_t opcode)
{
    int n = 0;
    for (int i = 0; i < fk.ncalls; i++)
        n += fk.calls[i].path == path && fk.calls[i].sa == sa && fk.calls[i].opcode == opcode;
    return n;
}

static struct prh_mpath_path_status path_status(int i, uint64_t *key, bool *known)
{
    struct prh_mpath_path_status st[NPATH_MAX];
    bool k;
    uint64_t kv;
    int n = prh_mpath_map_status(fk.state, MAP_DEV, &k, &kv, st, NPATH_MAX);
    assert_true(n > i);
    if (key)
        *key = kv;
    if (known)
        *known = k;
    return st[i];
}

static void register_both(uint64_t key)
{
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, key), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, fk.npaths);
    fk.ncalls = 0;
}

#define SENSE_STANDBY SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x0b)
#define SENSE_NO_RESOURCES SENSE_INSUFFICIENT_REG_RESOURCES

/* ---- detection and open ------------------------------------------------ */

static void test_mpath_non_multipath_fd_is_plain_sg_io(void **state)
{
    (void)state;
    assert_int_equal(prout_on(fk.plain_fd, PR_OUT_REGISTER, 0, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(fk.ncalls, 1);
    assert_int_equal(fk.calls[0].path, -1);
    assert_int_equal(fk.opens, 0);
}

static void test_mpath_detection_error_fails_request_without_sg_io(void **state)
{
    (void)state;
    fk.is_mp_err = EACCES;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(fk.ncalls, 0);
}

static void test_mpath_path_listing_error_fails_request(void **state)
{
    (void)state;
    fk.list_err = ENOENT;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(fk.ncalls, 0);
}

static void test_mpath_map_status_of_unused_map_is_enoent(void **state)
{
    (void)state;
    bool k;
    uint64_t key;
    struct prh_mpath_path_status st[1];
    assert_int_equal(prh_mpath_map_status(fk.state, MAP_DEV, &k, &key, st, 1), -ENOENT);
}

static void test_mpath_is_multipath_uses_the_ops(void **state)
{
    (void)state;
    assert_int_equal(prh_mpath_is_multipath(MAP_DEV), 1);
    assert_int_equal(prh_mpath_is_multipath(PLAIN_DEV), 0);
}

static void test_sg_transport_hands_multipath_fd_to_mpath(void **state)
{
    (void)state;
    void *sg;
    char err[64];
    assert_int_equal(prh_transport_sg.init(NULL, &sg, err, sizeof(err)), 0);
    uint8_t cdb[10] = { 0x5f, PR_OUT_REGISTER };
    uint8_t p[24] = { 0 };
    scsi_put_be32(&cdb[5], 24);
    scsi_put_be64(&p[8], 0xa);
    assert_int_equal(send_raw(&prh_transport_sg, sg, fk.map_fd, cdb, p, 24), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_OUT_REGISTER, 0x5f), 1);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER, 0x5f), 1);
    assert_int_equal(array_keys().count, 2);
    /* PR IN goes to a path too, and a plain fd stays plain. */
    uint8_t in[10] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 64 };
    assert_int_equal(send_raw(&prh_transport_sg, sg, fk.map_fd, in, NULL, 64), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_IN_READ_KEYS, 0x5e), 1);
    assert_int_equal(send_raw(&prh_transport_sg, sg, fk.plain_fd, in, NULL, 64), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(-1, PR_IN_READ_KEYS, 0x5e), 1);
    prh_transport_sg.fini(sg);
}

/* ---- REGISTER ---------------------------------------------------------- */

static void test_mpath_register_reaches_every_path(void **state)
{
    (void)state;
    add_path("sdd", 48);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(k.keys[i], 0xa);
        assert_int_equal(calls_of(i, PR_OUT_REGISTER, 0x5f), 1);
    }
    uint64_t key;
    bool known;
    assert_true(path_status(2, &key, &known).in_sync);
    assert_true(known);
    assert_int_equal(key, 0xa);
}

static void test_mpath_unregister_reaches_every_path(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 0);
}

static void test_mpath_register_skips_offline_path_and_reregisters_when_back(void **state)
{
    (void)state;
    fk.paths[1].running = false;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 1);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER, 0x5f), 0);
    assert_false(path_status(1, NULL, NULL).in_sync);
    fk.paths[1].running = true;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    assert_int_equal(k.keys[1], 0xa);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 1);
    assert_true(path_status(1, NULL, NULL).in_sync);
}

static void test_mpath_returning_path_gets_key_changed_while_it_was_away(void **state)
{
    (void)state;
    register_both(0xa);
    fk.paths[0].running = false;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0xb), SCSI_STATUS_GOOD);
    fk.paths[0].running = true;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xb, 0), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    assert_int_equal(k.keys[0], 0xb);
    assert_int_equal(k.keys[1], 0xb);
}

static void test_mpath_register_path_failure_mid_command_skipped_and_recorded(void **state)
{
    (void)state;
    inject(1, INJ_ERRNO, EIO, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 1);
    struct prh_mpath_path_status st = path_status(1, NULL, NULL);
    assert_false(st.in_sync);
    assert_int_equal(st.last_error, -EIO);
    /* The next PR OUT registers it. */
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 2);
    assert_int_equal(path_status(1, NULL, NULL).last_error, 0);
}

static void test_mpath_register_path_open_failure_skipped(void **state)
{
    (void)state;
    fk.open_err[0] = ENXIO;
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER, 0x5f), 1);
    assert_int_equal(path_status(0, NULL, NULL).last_error, -ENXIO);
    assert_false(path_status(0, NULL, NULL).in_sync);
}

static void test_mpath_register_every_path_failing_returns_path_error(void **state)
{
    (void)state;
    inject(0, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    inject(1, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    prout(PR_OUT_REGISTER, 0, 0, 0xa);
    assert_reply_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x05, 0x00));
    assert_int_equal(array_keys().count, 0);
}

static void test_mpath_no_usable_path_is_lun_communication_failure(void **state)
{
    (void)state;
    fk.paths[0].running = fk.paths[1].running = false;
    const struct scsi_sense want = SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00);
    prout(PR_OUT_REGISTER, 0, 0, 0xa);
    assert_reply_sense(want);
    prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0);
    assert_reply_sense(want);
    prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0);
    assert_reply_sense(want);
    prin(PR_IN_READ_KEYS, 64);
    assert_reply_sense(want);
    assert_int_equal(fk.ncalls, 0);
}

static void test_mpath_register_conflict_on_first_path_changes_nothing(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0x99, 0xb), SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER, 0x5f), 0);
    struct th_keys k = array_keys();
    assert_int_equal(k.keys[0], 0xa);
    assert_int_equal(k.keys[1], 0xa);
}

static void test_mpath_register_refused_on_later_path_rolls_back_with_its_sense(void **state)
{
    (void)state;
    register_both(0xa);
    /* The REGISTER and the forced completion are both refused. */
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    prout(PR_OUT_REGISTER, 0, 0xa, 0xb);
    assert_reply_sense(SENSE_NO_RESOURCES);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    assert_int_equal(k.keys[0], 0xa);
    assert_int_equal(k.keys[1], 0xa);
    uint64_t key;
    assert_true(path_status(0, &key, NULL).in_sync);
    assert_int_equal(key, 0xa);
}

static void test_mpath_register_rollback_skips_failed_path_and_spares_later_ones(void **state)
{
    (void)state;
    add_path("sdd", 48);
    register_both(0xa);
    inject(1, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE); /* path failure */
    inject(2, INJ_SENSE, 0, SENSE_NO_RESOURCES);         /* device refuses */
    inject(2, INJ_SENSE, 0, SENSE_NO_RESOURCES);         /* and the completion */
    prout(PR_OUT_REGISTER, 0, 0xa, 0xb);
    assert_reply_sense(SENSE_NO_RESOURCES);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(k.keys[i], 0xa);
    /* Path 0 was rolled back (one REGISTER AND IGNORE), path 1 is out of
     * sync (its REGISTER may or may not have happened). */
    assert_int_equal(calls_of(0, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 1);
    assert_false(path_status(1, NULL, NULL).in_sync);
    assert_true(path_status(2, NULL, NULL).in_sync);
}

static void test_mpath_register_ignore_refused_on_later_path_rolls_back(void **state)
{
    (void)state;
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    prout(PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0xa);
    assert_reply_sense(SENSE_NO_RESOURCES);
    assert_int_equal(array_keys().count, 0);
}

static void test_mpath_register_on_path_with_other_key_is_completed(void **state)
{
    (void)state;
    struct pr_sim_nexus p0 = path_nexus(0), p1 = path_nexus(1);
    assert_good(th_register_ignore(fk.lun, &p0, 0xa));
    assert_good(th_register_ignore(fk.lun, &p1, 0x5));
    assert_int_equal(prout(PR_OUT_REGISTER, 0, 0xa, 0xb), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    assert_int_equal(k.keys[0], 0xb);
    assert_int_equal(k.keys[1], 0xb);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 1);
}

static void test_mpath_rollback_failure_is_retried_by_next_pr_out(void **state)
{
    (void)state;
    register_both(0xa);
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    inject(1, INJ_SENSE, 0, SENSE_NO_RESOURCES);
    inject(0, INJ_NONE, 0, SENSE_NONE);           /* the REGISTER itself */
    inject(0, INJ_ERRNO, EIO, SENSE_NONE);        /* the rollback */
    prout(PR_OUT_REGISTER, 0, 0xa, 0xb);
    assert_reply_sense(SENSE_NO_RESOURCES);
    assert_false(path_status(0, NULL, NULL).in_sync);
    assert_int_equal(array_keys().keys[0], 0xb); /* not yet rolled back */
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.keys[0], 0xa);
    assert_int_equal(k.keys[1], 0xa);
}

static void test_mpath_register_spec_i_pt_only_on_first_path(void **state)
{
    (void)state;
    uint8_t cdb[10] = { 0x5f, PR_OUT_REGISTER };
    uint8_t p[128] = { 0 };
    scsi_put_be64(&p[8], 0xa);
    p[20] = PR_OUT_FLAG_SPEC_I_PT;
    struct pr_tid z = pr_tid_iscsi("iqn.2026-11.test:Z", (const uint8_t[6]){ 0x23, 0xd0, 0, 0, 0, 'Z' });
    size_t n = pr_tid_build(&z, &p[28], sizeof(p) - 28);
    assert_true(n > 0);
    scsi_put_be32(&p[24], (uint32_t)n);
    uint32_t len = (uint32_t)(28 + n);
    scsi_put_be32(&cdb[5], len);
    assert_int_equal(send_raw(&prh_transport_mpath, fk.state, fk.map_fd, cdb, p, len),
                     SCSI_STATUS_GOOD);
    assert_int_equal(fk.calls[0].len, len);
    assert_int_equal(fk.calls[0].flags, PR_OUT_FLAG_SPEC_I_PT);
    assert_int_equal(fk.calls[1].path, 1);
    assert_int_equal(fk.calls[1].len, 24);
    assert_int_equal(fk.calls[1].flags, 0);
    assert_int_equal(array_keys().count, 3);
}

/* ---- unit attentions --------------------------------------------------- */

static void test_mpath_unit_attention_consumed_and_retried(void **state)
{
    (void)state;
    inject(0, INJ_SENSE, 0, SENSE_UA_POWER_ON_RESET);
    inject(0, INJ_SENSE, 0, SENSE_UA_RESERVATIONS_PREEMPTED);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(reply.data_len, 8);
    assert_int_equal(calls_of(0, PR_IN_READ_KEYS, 0x5e), 3);
    assert_int_equal(calls_of(1, PR_IN_READ_KEYS, 0x5e), 0);
}

static void test_mpath_unit_attention_beyond_retries_passed_through_unchanged(void **state)
{
    (void)state;
    for (int i = 0; i <= PRH_MPATH_UA_RETRIES; i++)
        inject(0, INJ_SENSE, 0, SENSE_UA_REGISTRATIONS_PREEMPTED);
    prin(PR_IN_READ_KEYS, 64);
    assert_reply_sense(SENSE_UA_REGISTRATIONS_PREEMPTED);
}

/* ---- PR IN ------------------------------------------------------------- */

static void test_mpath_pr_in_fails_over_on_transport_error(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_HOST, PRH_DID_TRANSPORT_DISRUPTED, SENSE_NONE);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(reply.data_len, 24);
    assert_int_equal(calls_of(1, PR_IN_READ_KEYS, 0x5e), 1);
}

static void test_mpath_pr_in_fails_over_from_standby_path(void **state)
{
    (void)state;
    inject(0, INJ_SENSE, 0, SENSE_STANDBY);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_IN_READ_KEYS, 0x5e), 1);
}

static void test_mpath_pr_in_fails_over_on_driver_timeout(void **state)
{
    (void)state;
    inject(0, INJ_ERRNO, ETIMEDOUT, SENSE_NONE);
    assert_int_equal(prin(PR_IN_READ_RESERVATION, 64), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_IN_READ_RESERVATION, 0x5e), 1);
}

static void test_mpath_pr_in_every_path_failing_returns_last_error(void **state)
{
    (void)state;
    inject(0, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    inject(1, INJ_HOST, PRH_DID_TIME_OUT, SENSE_NONE);
    prin(PR_IN_READ_KEYS, 64);
    assert_reply_sense(SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x2e, 0x02));
}

static void test_mpath_pr_in_device_error_is_not_failed_over(void **state)
{
    (void)state;
    inject(0, INJ_SENSE, 0, SENSE_INVALID_FIELD_IN_CDB);
    prin(PR_IN_READ_KEYS, 64);
    assert_reply_sense(SENSE_INVALID_FIELD_IN_CDB);
    assert_int_equal(calls_of(1, PR_IN_READ_KEYS, 0x5e), 0);
}

static void test_mpath_pr_in_failover_order_skips_offline_paths(void **state)
{
    (void)state;
    add_path("sdd", 48);
    fk.paths[0].running = false;
    inject(1, INJ_ERRNO, EIO, SENSE_NONE);
    assert_int_equal(prin(PR_IN_READ_KEYS, 64), SCSI_STATUS_GOOD);
    assert_int_equal(fk.ncalls, 2);
    assert_int_equal(fk.calls[0].path, 1);
    assert_int_equal(fk.calls[1].path, 2);
}

static void test_mpath_read_full_status_shows_every_path_nexus(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prin(PR_IN_READ_FULL_STATUS, 1024), SCSI_STATUS_GOOD);
    uint32_t add = scsi_get_be32(&reply.data[4]);
    assert_true(add > 48); /* two descriptors with TransportIDs */
    assert_int_equal(scsi_get_be64(&reply.data[8]), 0xa);
}

/* ---- one-path service actions ------------------------------------------ */

static void test_mpath_reserve_goes_down_one_path(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_OUT_RESERVE, 0x5f), 1);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 0);
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_WE);
}

static void test_mpath_reserve_fails_over_on_path_error(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 1);
}

static void test_mpath_reserve_that_reached_device_before_path_died_is_good(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_HOST_AFTER, PRH_DID_TRANSPORT_DISRUPTED, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(1, PR_IN_READ_RESERVATION, 0x5e), 1);
}

static void test_mpath_reserve_held_through_another_path_is_good(void **state)
{
    (void)state;
    register_both(0xa);
    fk.paths[0].running = false;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = true;
    /* Path 0's nexus is not the holder: the device conflicts. */
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(calls_of(0, PR_IN_READ_RESERVATION, 0x5e), 1);
    /* Another type is a real conflict. */
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_EA_RO, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
}

static void test_mpath_reserve_conflict_from_other_host_is_returned(void **state)
{
    (void)state;
    register_both(0xa);
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_clear_ua(fk.lun, &z);
    assert_good(th_register(fk.lun, &z, 0, 0xf));
    assert_good(th_reserve(fk.lun, &z, 0xf, PR_TYPE_WE));
    inject(0, INJ_HOST, PRH_DID_NO_CONNECT, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
}

static void test_mpath_release_reaches_holder_on_any_path(void **state)
{
    (void)state;
    register_both(0xa);
    fk.paths[0].running = false;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = true; /* the holder is path 1's nexus */
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_clear_ua(fk.lun, &z);
    th_expect_no_reservation(fk.lun, &z);
}

static void test_mpath_release_with_holder_path_down_moves_and_releases(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    fk.paths[0].running = false; /* the holder's path */
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_clear_ua(fk.lun, &z);
    th_expect_no_reservation(fk.lun, &z);
    assert_int_equal(calls_of(1, PR_OUT_PREEMPT, 0x5f), 1);
    assert_int_equal(array_keys().count, 1);
    fk.paths[0].running = true;
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 2);
}

static void test_mpath_release_device_error_wins_over_non_holder_good(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    prout(PR_OUT_RELEASE, PR_TYPE_EA, 0xa, 0); /* wrong type, to the holder */
    assert_reply_sense(SENSE_INVALID_RELEASE);
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_clear_ua(fk.lun, &z);
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_WE);
}

static void test_mpath_release_every_path_failing_returns_path_error(void **state)
{
    (void)state;
    register_both(0xa);
    inject(0, INJ_ERRNO, EIO, SENSE_NONE);
    inject(1, INJ_ERRNO, EIO, SENSE_NONE);
    assert_int_equal(prout(PR_OUT_RELEASE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_CHECK_CONDITION);
}

static void test_mpath_preempt_other_host_goes_down_one_path(void **state)
{
    (void)state;
    register_both(0xa);
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_clear_ua(fk.lun, &z);
    assert_good(th_register(fk.lun, &z, 0, 0xf));
    assert_good(th_reserve(fk.lun, &z, 0xf, PR_TYPE_WE));
    fk.ncalls = 0;
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0xa, 0xf), SCSI_STATUS_GOOD);
    assert_int_equal(fk.ncalls, 1);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_WE_RO);
}

static void test_mpath_preempt_own_key_reregisters_other_paths(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(prout(PR_OUT_PREEMPT, PR_TYPE_EA_RO, 0xa, 0xa), SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 2);
    /* The first try meets the REGISTRATIONS PREEMPTED unit attention. */
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 2);
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_expect_reservation(fk.lun, &z, 0xa, PR_TYPE_EA_RO);
}

static void test_mpath_clear_leaves_no_key_on_any_path(void **state)
{
    (void)state;
    register_both(0xa);
    fk.paths[1].running = false;
    assert_int_equal(prout(PR_OUT_CLEAR, 0, 0xa, 0), SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 0);
    fk.paths[1].running = true;
    fk.ncalls = 0;
    /* Nothing to give the returning path: CLEAR reached its nexus too. */
    prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0);
    assert_int_equal(calls_of(1, PR_OUT_REGISTER_AND_IGNORE, 0x5f), 0);
    uint64_t key;
    bool known;
    path_status(1, &key, &known);
    assert_true(known);
    assert_int_equal(key, 0);
}

static void test_mpath_register_and_move_unreg_unregisters_other_paths(void **state)
{
    (void)state;
    register_both(0xa);
    assert_int_equal(prout(PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0), SCSI_STATUS_GOOD);
    struct pr_sim_nexus z = th_nexus('Z', 2);
    th_clear_ua(fk.lun, &z);
    uint8_t cdb[10] = { 0x5f, PR_OUT_REGISTER_AND_MOVE, PR_TYPE_WE };
    uint8_t p[128] = { 0 };
    scsi_put_be64(&p[0], 0xa);
    scsi_put_be64(&p[8], 0xf);
    p[17] = 0x02; /* UNREG */
    scsi_put_be16(&p[18], 2);
    size_t n = pr_tid_build(&z.initiator, &p[24], sizeof(p) - 24);
    assert_true(n > 0);
    scsi_put_be32(&p[20], (uint32_t)n);
    uint32_t len = (uint32_t)(24 + n);
    scsi_put_be32(&cdb[5], len);
    assert_int_equal(send_raw(&prh_transport_mpath, fk.state, fk.map_fd, cdb, p, len),
                     SCSI_STATUS_GOOD);
    struct th_keys k = array_keys();
    assert_int_equal(k.count, 1);
    assert_int_equal(k.keys[0], 0xf);
    th_expect_reservation(fk.lun, &z, 0xf, PR_TYPE_WE);
}

static void test_mpath_pr_out_device_error_on_one_path_op_is_returned(void **state)
{
    (void)state;
    register_both(0xa);
    prout(PR_OUT_RESERVE, 0x2 /* obsolete type */, 0xa, 0);
    assert_reply_sense(SENSE_INVALID_FIELD_IN_CDB);
    assert_int_equal(calls_of(1, PR_OUT_RESERVE, 0x5f), 0);
}

/* ---- concurrency ------------------------------------------------------- */

static void *register_thread(void *arg)
{
    (void)arg;
    static uint8_t status;
    status = prout(PR_OUT_REGISTER, 0, 0, 0xa);
    return &status;
}

static void test_mpath_busy_map_does_not_block_other_devices(void **state)
{
    (void)state;
    fk.block_path0 = true;
    blk.blocked = blk.released = false;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, register_thread, NULL), 0);
    pthread_mutex_lock(&blk.lock);
    while (!blk.blocked)
        pthread_cond_wait(&blk.cond, &blk.lock);
    pthread_mutex_unlock(&blk.lock);
    /* The map's REGISTER hangs on path 0; a plain device is served. */
    uint8_t cdb[10] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 64 };
    void *n = prh_transport_mpath.nexus_new(fk.state, NULL);
    struct prh_request req;
    memset(&req, 0, sizeof(req));
    memcpy(req.cdb, cdb, 10);
    req.fd = fk.plain_fd;
    req.xfer_len = 64;
    static struct prh_reply other;
    struct stat sb;
    assert_int_equal(fake_fstat(fk.plain_fd, &sb), 0);
    prh_transport_execute_st(&prh_transport_mpath, fk.state, n, &req, &sb, 0, &other, NULL);
    assert_int_equal(other.status, SCSI_STATUS_GOOD);
    pthread_mutex_lock(&blk.lock);
    blk.released = true;
    pthread_cond_broadcast(&blk.cond);
    pthread_mutex_unlock(&blk.lock);
    void *ret;
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_int_equal(*(uint8_t *)ret, SCSI_STATUS_GOOD);
    assert_int_equal(array_keys().count, 2);
}

/* ---- the real system ops, where they need no root and no map --------- */

static void test_mpath_system_non_dm_device_is_not_multipath(void **state)
{
    (void)state;
    /* No such block device at all, and (if present) loop0. */
    assert_int_equal(prh_mpath_system_ops.is_multipath(makedev(4095, 4095)), 0);
    assert_int_equal(prh_mpath_system_ops.is_multipath(makedev(7, 0)), 0);
}

static void test_mpath_system_list_paths_of_missing_map_fails(void **state)
{
    (void)state;
    struct prh_mpath_path_info p[2];
    assert_int_equal(prh_mpath_system_ops.list_paths(makedev(4095, 4095), p, 2), -ENOENT);
}

static void test_mpath_system_open_path_refuses_other_device(void **state)
{
    (void)state;
    struct prh_mpath_path_info p = { .name = "null", .dev = makedev(8, 0), .running = true };
    assert_int_equal(prh_mpath_system_ops.open_path(&p), -ENODEV);
    snprintf(p.name, sizeof(p.name), "no-such-path-xyz");
    assert_int_equal(prh_mpath_system_ops.open_path(&p), -ENOENT);
}

/* A sysfs tree in a temporary directory. */
static char troot[64];

static void put_file(const char *rel, const char *text)
{
    char path[512], cmd[600];
    snprintf(path, sizeof(path), "%s/%s", troot, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_tree(void)
{
    snprintf(troot, sizeof(troot), "/tmp/prh-mpath-test-XXXXXX");
    assert_non_null(mkdtemp(troot));
}

static void remove_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", troot);
    assert_int_equal(system(cmd), 0);
    prh_mpath_set_roots(NULL, NULL);
}

static void test_mpath_system_detects_mpath_uuid_and_skips_other_owners(void **state)
{
    (void)state;
    make_tree();
    put_file("dev/block/253:1/dm/uuid", "mpath-3600140512345\n");
    put_file("dev/block/253:2/dm/uuid", "LVM-abcdef\n");
    put_file("dev/block/253:3/dm/uuid", "CRYPT-LUKS2-xyz\n");
    prh_mpath_set_roots(troot, troot);
    assert_int_equal(prh_mpath_system_ops.is_multipath(makedev(253, 1)), 1);
    assert_int_equal(prh_mpath_system_ops.is_multipath(makedev(253, 2)), 0);
    assert_int_equal(prh_mpath_system_ops.is_multipath(makedev(253, 3)), 0);
    remove_tree();
}

static void test_mpath_system_unknown_dm_uuid_asks_device_mapper(void **state)
{
    (void)state;
    make_tree();
    /* No such map in the kernel: libdevmapper fails or finds no
     * multipath table, and the map is treated as single-path. */
    put_file("dev/block/4095:4095/dm/uuid", "\n");
    prh_mpath_set_roots(troot, troot);
    assert_int_equal(prh_mpath_system_ops.is_multipath(makedev(4095, 4095)), 0);
    remove_tree();
}

static void test_mpath_system_lists_paths_sorted_with_state(void **state)
{
    (void)state;
    make_tree();
    put_file("dev/block/253:1/slaves/sdaa", "");
    put_file("dev/block/253:1/slaves/sdc", "");
    put_file("dev/block/253:1/slaves/sdb", "");
    put_file("dev/block/253:1/slaves/sdgone", "");
    put_file("class/block/sdaa/dev", "65:160\n");
    put_file("class/block/sdaa/device/state", "running\n");
    put_file("class/block/sdb/dev", "8:16\n");
    put_file("class/block/sdb/device/state", "offline\n");
    put_file("class/block/sdc/dev", "8:32\n"); /* no state attribute: usable */
    prh_mpath_set_roots(troot, troot);
    struct prh_mpath_path_info p[4];
    assert_int_equal(prh_mpath_system_ops.list_paths(makedev(253, 1), p, 4), 3);
    assert_string_equal(p[0].name, "sdb");
    assert_false(p[0].running);
    assert_true(p[0].dev == makedev(8, 16));
    assert_string_equal(p[1].name, "sdc");
    assert_true(p[1].running);
    assert_string_equal(p[2].name, "sdaa");
    assert_true(p[2].running);
    /* More paths than room: the rest are ignored. */
    assert_int_equal(prh_mpath_system_ops.list_paths(makedev(253, 1), p, 1), 1);
    remove_tree();
}

static void test_mpath_system_open_path_refuses_non_block_node(void **state)
{
    (void)state;
    make_tree();
    put_file("sdb", "not a disk");
    prh_mpath_set_roots(troot, troot);
    struct prh_mpath_path_info p = { .name = "sdb", .dev = makedev(8, 16), .running = true };
    assert_int_equal(prh_mpath_system_ops.open_path(&p), -ENODEV);
    remove_tree();
}

static void test_mpath_syscall_list_names_what_the_path_layer_uses(void **state)
{
    (void)state;
    const char *need[] = { "openat", "getdents64", "read", "close", "uname" };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        bool found = false;
        for (const char *const *p = prh_mpath_syscalls; *p; p++)
            found = found || strcmp(*p, need[i]) == 0;
        if (!found)
            fail_msg("%s missing from prh_mpath_syscalls", need[i]);
    }
}

/* Under the sg filter (sg hands maps to mpath): sysfs and path nodes can
 * be opened and listed; nothing can be created. */
static void test_mpath_sg_seccomp_filter_allows_path_layer_not_file_creation(void **state)
{
    (void)state;
    make_tree();
    put_file("dev/block/253:1/dm/uuid", "mpath-x\n");
    put_file("dev/block/253:1/slaves/sdb", "");
    put_file("class/block/sdb/dev", "8:16\n");
    char created[128];
    snprintf(created, sizeof(created), "%s/new-file", troot);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[128];
        struct prh_seccomp_config cfg = { .transport = "sg" };
        if (prh_seccomp_install(&cfg, err, sizeof(err)) < 0)
            _exit(10);
        prh_mpath_set_roots(troot, troot);
        struct prh_mpath_path_info p[2];
        if (prh_mpath_system_ops.is_multipath(makedev(253, 1)) != 1)
            _exit(11);
        if (prh_mpath_system_ops.list_paths(makedev(253, 1), p, 2) != 1)
            _exit(12);
        int fd = open(created, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        /* Sanitizer and coverage builds may write files (reports). */
        if (prh_seccomp_allows(&cfg, "openat"))
            _exit(fd >= 0 ? 0 : 14);
        _exit(fd < 0 && errno == EPERM ? 0 : 13);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    remove_tree();
}

static void test_mpath_nexus_is_the_hosts_own(void **state)
{
    (void)state;
    char buf[64];
    void *n = prh_transport_mpath.nexus_new(fk.state, NULL);
    assert_non_null(n);
    prh_transport_mpath.nexus_describe(fk.state, n, buf, sizeof(buf));
    assert_non_null(strstr(buf, "every path"));
    prh_transport_mpath.nexus_free(fk.state, n);
}

static void test_mpath_plain_fd_must_be_sg_capable(void **state)
{
    (void)state;
    uint8_t cdb[10] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 64 };
    int bad = open("/dev/null", O_RDONLY); /* a character device, not sg */
    assert_true(bad >= 0);
    send_raw(&prh_transport_mpath, fk.state, bad, cdb, NULL, 64);
    close(bad);
    assert_int_equal(reply.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(fk.ncalls, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mpath_non_multipath_fd_is_plain_sg_io),
        T(test_mpath_detection_error_fails_request_without_sg_io),
        T(test_mpath_path_listing_error_fails_request),
        T(test_mpath_map_status_of_unused_map_is_enoent),
        T(test_mpath_is_multipath_uses_the_ops),
        T(test_sg_transport_hands_multipath_fd_to_mpath),
        T(test_mpath_register_reaches_every_path),
        T(test_mpath_unregister_reaches_every_path),
        T(test_mpath_register_skips_offline_path_and_reregisters_when_back),
        T(test_mpath_returning_path_gets_key_changed_while_it_was_away),
        T(test_mpath_register_path_failure_mid_command_skipped_and_recorded),
        T(test_mpath_register_path_open_failure_skipped),
        T(test_mpath_register_every_path_failing_returns_path_error),
        T(test_mpath_no_usable_path_is_lun_communication_failure),
        T(test_mpath_register_conflict_on_first_path_changes_nothing),
        T(test_mpath_register_refused_on_later_path_rolls_back_with_its_sense),
        T(test_mpath_register_rollback_skips_failed_path_and_spares_later_ones),
        T(test_mpath_register_ignore_refused_on_later_path_rolls_back),
        T(test_mpath_register_on_path_with_other_key_is_completed),
        T(test_mpath_rollback_failure_is_retried_by_next_pr_out),
        T(test_mpath_register_spec_i_pt_only_on_first_path),
        T(test_mpath_unit_attention_consumed_and_retried),
        T(test_mpath_unit_attention_beyond_retries_passed_through_unchanged),
        T(test_mpath_pr_in_fails_over_on_transport_error),
        T(test_mpath_pr_in_fails_over_from_standby_path),
        T(test_mpath_pr_in_fails_over_on_driver_timeout),
        T(test_mpath_pr_in_every_path_failing_returns_last_error),
        T(test_mpath_pr_in_device_error_is_not_failed_over),
        T(test_mpath_pr_in_failover_order_skips_offline_paths),
        T(test_mpath_read_full_status_shows_every_path_nexus),
        T(test_mpath_reserve_goes_down_one_path),
        T(test_mpath_reserve_fails_over_on_path_error),
        T(test_mpath_reserve_that_reached_device_before_path_died_is_good),
        T(test_mpath_reserve_held_through_another_path_is_good),
        T(test_mpath_reserve_conflict_from_other_host_is_returned),
        T(test_mpath_release_reaches_holder_on_any_path),
        T(test_mpath_release_with_holder_path_down_moves_and_releases),
        T(test_mpath_release_device_error_wins_over_non_holder_good),
        T(test_mpath_release_every_path_failing_returns_path_error),
        T(test_mpath_preempt_other_host_goes_down_one_path),
        T(test_mpath_preempt_own_key_reregisters_other_paths),
        T(test_mpath_clear_leaves_no_key_on_any_path),
        T(test_mpath_register_and_move_unreg_unregisters_other_paths),
        T(test_mpath_pr_out_device_error_on_one_path_op_is_returned),
        T(test_mpath_busy_map_does_not_block_other_devices),
        T(test_mpath_system_non_dm_device_is_not_multipath),
        T(test_mpath_system_list_paths_of_missing_map_fails),
        T(test_mpath_system_open_path_refuses_other_device),
        T(test_mpath_system_detects_mpath_uuid_and_skips_other_owners),
        T(test_mpath_system_unknown_dm_uuid_asks_device_mapper),
        T(test_mpath_system_lists_paths_sorted_with_state),
        T(test_mpath_system_open_path_refuses_non_block_node),
        T(test_mpath_syscall_list_names_what_the_path_layer_uses),
        T(test_mpath_sg_seccomp_filter_allows_path_layer_not_file_creation),
        T(test_mpath_nexus_is_the_hosts_own),
        T(test_mpath_plain_fd_must_be_sg_capable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
