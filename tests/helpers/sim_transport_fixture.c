/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sim_transport_fixture.h"

#include "prhelper/log.h"

const struct prh_transport *const STFX_T = &prh_transport_sim;

struct stfx *stfx_new(void)
{
    struct stfx *f = calloc(1, sizeof(*f));
    char *dir = tu_tmpdir();
    assert_true(f && dir);
    f->dir = dir;
    snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
    snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
    assert_int_equal(mkdir(f->proc, 0755), 0);
    f->disk = tu_disk(f->dir, "disk");
    f->disk_b = tu_disk(f->dir, "disk-b");
    int fd = open(f->disk, O_RDONLY | O_CLOEXEC);
    assert_int_equal(prh_lun_id_of_fd(fd, f->lun, sizeof(f->lun)), 0);
    close(fd);
    prh_log_set_verbosity(0);
    return f;
}

void stfx_init(struct stfx *f, struct prh_transport_options o)
{
    char err[256];
    if (!o.state_dir)
        o.state_dir = f->state;
    if (STFX_T->init(&o, &f->st, err, sizeof(err)) != 0)
        fail_msg("sim transport init: %s", err);
    f->ctl = prh_control_new();
    assert_non_null(f->ctl);
    assert_int_equal(STFX_T->control_register(f->st, f->ctl), 0);
}

void stfx_init_fails(struct stfx *f, struct prh_transport_options o, int want, const char *msg)
{
    char err[512] = "";
    void *st = NULL;
    if (!o.state_dir)
        o.state_dir = f->state;
    int rc = STFX_T->init(&o, &st, err, sizeof(err));
    if (rc >= 0 || (want != 0 && rc != want))
        fail_msg("sim transport init: %d, want %d (%s)", rc, want, err);
    if (msg && !strstr(err, msg))
        fail_msg("sim transport init: '%s' does not say '%s'", err, msg);
}

void stfx_fini(struct stfx *f)
{
    if (f->a)
        STFX_T->nexus_free(f->st, f->a);
    if (f->b)
        STFX_T->nexus_free(f->st, f->b);
    f->a = f->b = NULL;
    prh_control_free(f->ctl);
    f->ctl = NULL;
    if (f->st)
        STFX_T->fini(f->st);
    f->st = NULL;
}

void stfx_free(struct stfx *f)
{
    stfx_fini(f);
    tu_tmpdir_free(f->dir);
    free(f->disk);
    free(f->disk_b);
    free(f);
}

int stfx_teardown(void **state)
{
    stfx_free(*state);
    return 0;
}

void *stfx_nexus(void *st, const char *addr, uint64_t serial, pid_t pid)
{
    struct prh_peer peer = { .serial = serial, .has_cred = true, .pid = pid };
    if (addr) {
        snprintf(peer.addr, sizeof(peer.addr), "%s", addr);
        peer.addr_len = strlen(peer.addr);
    }
    return STFX_T->nexus_new(st, &peer);
}

void *stfx_nexus_named(struct stfx *f, const char *name, uint64_t serial)
{
    char addr[sizeof(((struct prh_peer *)0)->addr)];
    snprintf(addr, sizeof(addr), "@prhelper-nexus:%s", name);
    return stfx_nexus(f->st, addr, serial, 4321);
}

void stfx_hosts(struct stfx *f)
{
    f->a = stfx_nexus_named(f, "host-a", 1);
    f->b = stfx_nexus_named(f, "host-b", 2);
    assert_non_null(f->a);
    assert_non_null(f->b);
}

int stfx_prout_fd(struct stfx *f, void *nexus, int fd, uint8_t sa, uint8_t type, uint64_t rk,
                  uint64_t sark, uint8_t flags)
{
    uint8_t params[24];
    struct prh_request req = { .fd = fd, .xfer_len = 24, .params = params };
    tu_cdb_prout(req.cdb, sa, type, 24);
    tu_params(params, rk, sark, flags);
    prh_transport_execute_ex(STFX_T, f->st, nexus, &req, &f->reply, &f->info);
    return f->info.disconnect ? -1 : f->reply.status;
}

int stfx_prout(struct stfx *f, void *nexus, const char *path, uint8_t sa, uint8_t type,
               uint64_t rk, uint64_t sark, uint8_t flags)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    int r = stfx_prout_fd(f, nexus, fd, sa, type, rk, sark, flags);
    close(fd);
    return r;
}

int stfx_prin_fd(struct stfx *f, void *nexus, int fd, uint8_t sa)
{
    struct prh_request req = { .fd = fd, .xfer_len = 8192 };
    tu_cdb_prin(req.cdb, sa, 8192);
    prh_transport_execute_ex(STFX_T, f->st, nexus, &req, &f->reply, &f->info);
    return f->info.disconnect ? -1 : f->reply.status;
}

int stfx_prin(struct stfx *f, void *nexus, const char *path, uint8_t sa)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int r = stfx_prin_fd(f, nexus, fd, sa);
    close(fd);
    return r;
}

struct scsi_sense stfx_sense_of(const struct prh_reply *r)
{
    struct scsi_sense s = { 0 };
    scsi_sense_decode(r->sense, sizeof(r->sense), &s);
    return s;
}

const char *stfx_ctl(struct stfx *f, const char *fmt, ...)
{
    static char *buf;
    char line[512];
    size_t len = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    free(buf);
    buf = NULL;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    prh_control_dispatch(f->ctl, line, 1, 0, out);
    fclose(out);
    return buf;
}
