/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * simlun.c - the PR simulator in front of a file-backed disk
 * (include/prhelper/simlun.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prhelper/log.h"
#include "prhelper/pr_sim_store.h"
#include "prhelper/simlun.h"

/* Largest PR OUT parameter list taken from the ring (a SPEC_I_PT list of
 * thousands of TransportIDs fits). */
#define PR_OUT_PARAM_MAX (1u << 20)
/* REQUEST SENSE answers at most 252 bytes (SPC-4 6.29). */
#define REQUEST_SENSE_MAX 252
/* Blocks per command we report and accept: 1 MiB. */
#define MAX_TRANSFER_BYTES (1u << 20)
/* UNIT ATTENTION, BUS DEVICE RESET FUNCTION OCCURRED (SPC-4 Annex D). */
#define SENSE_UA_LUN_RESET SCSI_SENSE_CODE(SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x03)

struct prh_simlun {
    pthread_mutex_t lock;
    struct pr_sim_lun *sim;
    struct scsi_disk disk;
    struct pr_sim_store_binding store; /* dir empty: APTPL not kept */
    bool have_store;
    bool save_blocked; /* an unusable state file could not be moved aside */
    char name[PR_SIM_STORE_NAME_MAX + 1];
    enum pr_sim_profile profile;
    uint32_t max_registrations;
};

static int simlun_persist(void *opaque, const uint8_t *image, size_t len)
{
    struct prh_simlun *l = opaque;

    if (!l->have_store)
        return 0;
    if (l->save_blocked)
        return -EEXIST; /* never overwrite a state file we could not read */
    int r = pr_sim_store_save(l->store.dir, l->name, image, len);
    prh_trace(PRH_TRACE_SIM_PERSIST, "lun=%s bytes=%zu result=%d", l->name, len, r);
    if (r < 0)
        prh_error("cannot save the APTPL state of LUN %s in %s: %s", l->name, l->store.dir,
                  strerror(-r));
    return r;
}

static struct pr_sim_lun *new_sim(struct prh_simlun *l)
{
    struct pr_sim_config cfg = {
        .profile = l->profile,
        .max_registrations = l->max_registrations,
        .persist = simlun_persist,
        .opaque = l,
    };
    return pr_sim_lun_new(&cfg);
}

/* The simulator with the LUN's saved APTPL state, or empty when there is
 * none or it cannot be used (then it is moved aside, with a message). */
static struct pr_sim_lun *restore_sim(struct prh_simlun *l)
{
    struct pr_sim_lun *sim = new_sim(l);
    char msg[512] = "", aside[4200];

    if (sim == NULL || !l->have_store)
        return sim;
    int stale = pr_sim_store_remove_stale(l->store.dir, l->name);
    if (stale > 0)
        prh_log(2, "LUN %s: removed %d temporary state file(s) of an interrupted save", l->name,
                stale);
    int r = pr_sim_store_load(l->store.dir, l->name, sim, msg, sizeof(msg));
    if (r == 0) {
        if (pr_sim_registration_count(sim) > 0 && !pr_sim_aptpl_active(sim)) {
            /* Saved while APTPL was being switched off: nothing persists. */
            pr_sim_lun_free(sim);
            return new_sim(l);
        }
        if (pr_sim_registration_count(sim) > 0)
            prh_log(1, "LUN %s: restored %zu APTPL registration(s)", l->name,
                    pr_sim_registration_count(sim));
        return sim;
    }
    pr_sim_lun_free(sim);
    if (r != -ENOMEM) {
        int a = pr_sim_store_set_aside(l->store.dir, l->name, aside, sizeof(aside));
        if (a == 0) {
            prh_error("LUN %s: APTPL state unusable (%s); kept as %s; starting without "
                      "registrations", l->name, msg, aside);
        } else {
            l->save_blocked = true;
            prh_error("LUN %s: APTPL state unusable (%s) and cannot be moved aside (%s); "
                      "APTPL changes fail until it is removed", l->name, msg, strerror(-a));
        }
    } else {
        prh_error("LUN %s: out of memory loading its APTPL state; starting without it", l->name);
    }
    return new_sim(l);
}

static int open_data_file(const struct prh_simlun_config *cfg, char *errmsg, size_t len)
{
    char path[4096];

    if (snprintf(path, sizeof(path), "%s/%s.img", cfg->data_dir, cfg->name) >= (int)sizeof(path)) {
        snprintf(errmsg, len, "data directory path too long");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(errmsg, len, "cannot open data file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(errmsg, len, "data file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(errmsg, len, "data file %s is in use by another process (%s)", path,
                 strerror(errno));
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size < cfg->size && ftruncate(fd, (off_t)cfg->size) < 0) {
        snprintf(errmsg, len, "cannot grow data file %s to %llu bytes: %s", path,
                 (unsigned long long)cfg->size, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct prh_simlun *prh_simlun_open(const struct prh_simlun_config *cfg, char *errmsg, size_t len)
{
    if (cfg->name == NULL || !pr_sim_store_name_valid(cfg->name) ||
        strlen(cfg->name) > PR_SIM_STORE_NAME_MAX) {
        snprintf(errmsg, len, "invalid LUN name '%.64s' (letters, digits, . _ : -)",
                 cfg->name ? cfg->name : "");
        return NULL;
    }
    if (cfg->block_size != 512 && cfg->block_size != 1024 && cfg->block_size != 2048 &&
        cfg->block_size != 4096) {
        snprintf(errmsg, len, "LUN %s: block size %u is not 512, 1024, 2048 or 4096", cfg->name,
                 cfg->block_size);
        return NULL;
    }
    if (cfg->size < cfg->block_size || cfg->size % cfg->block_size != 0) {
        snprintf(errmsg, len, "LUN %s: size %llu is not a positive multiple of %u", cfg->name,
                 (unsigned long long)cfg->size, cfg->block_size);
        return NULL;
    }
    if (cfg->data_dir == NULL) {
        snprintf(errmsg, len, "LUN %s: no data directory", cfg->name);
        return NULL;
    }
    struct prh_simlun *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        snprintf(errmsg, len, "out of memory");
        return NULL;
    }
    snprintf(l->name, sizeof(l->name), "%s", cfg->name);
    l->profile = cfg->profile;
    l->max_registrations = cfg->max_registrations;
    if (cfg->state_dir != NULL) {
        if (snprintf(l->store.dir, sizeof(l->store.dir), "%s", cfg->state_dir) >=
            (int)sizeof(l->store.dir)) {
            snprintf(errmsg, len, "state directory path too long");
            free(l);
            return NULL;
        }
        snprintf(l->store.name, sizeof(l->store.name), "%s", cfg->name);
        l->have_store = true;
    }
    l->disk.fd = open_data_file(cfg, errmsg, len);
    if (l->disk.fd < 0) {
        free(l);
        return NULL;
    }
    l->disk.block_size = cfg->block_size;
    l->disk.blocks = cfg->size / cfg->block_size;
    l->disk.max_transfer = MAX_TRANSFER_BYTES / cfg->block_size;
    l->disk.write_cache = cfg->write_cache;
    scsi_disk_identity_for(cfg->name, cfg->profile == PR_SIM_PROFILE_LIO ? "PRSIM LIO" : "PRSIM",
                           "0001", &l->disk.id);
    l->sim = restore_sim(l);
    if (l->sim == NULL) {
        snprintf(errmsg, len, "out of memory");
        close(l->disk.fd);
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

void prh_simlun_close(struct prh_simlun *l)
{
    if (l == NULL)
        return;
    pr_sim_lun_free(l->sim);
    close(l->disk.fd); /* releases the lock */
    pthread_mutex_destroy(&l->lock);
    free(l);
}

const char *prh_simlun_name(const struct prh_simlun *l)
{
    return l->name;
}

uint64_t prh_simlun_size(const struct prh_simlun *l)
{
    return l->disk.blocks * l->disk.block_size;
}

uint32_t prh_simlun_block_size(const struct prh_simlun *l)
{
    return l->disk.block_size;
}

enum pr_sim_profile prh_simlun_profile(const struct prh_simlun *l)
{
    return l->profile;
}

const struct scsi_disk_identity *prh_simlun_identity(const struct prh_simlun *l)
{
    return &l->disk.id;
}

static void from_sim(const struct pr_sim_result *s, struct prh_simlun_result *r)
{
    r->status = s->status;
    r->sense = s->sense;
    r->data_in_len = 0;
}

/* PR OUT: the parameter list comes from the data-out bytes. */
static void pr_out(struct prh_simlun *l, const struct pr_sim_nexus *nx, const uint8_t *cdb,
                   const struct prh_sgl *data, struct prh_simlun_result *r)
{
    struct pr_sim_result s;
    size_t n = data->total < PR_OUT_PARAM_MAX ? data->total : PR_OUT_PARAM_MAX;
    uint8_t *buf = malloc(n ? n : 1);

    if (buf == NULL) {
        r->status = SCSI_STATUS_BUSY; /* retryable */
        return;
    }
    n = prh_sgl_gather(data, 0, buf, n);
    pr_sim_execute(l->sim, nx, cdb, 10, buf, n, NULL, 0, &s);
    free(buf);
    from_sim(&s, r);
}

/* PR IN and REQUEST SENSE: the simulator's data goes to the data-in list. */
static void sim_data_in(struct prh_simlun *l, const struct pr_sim_nexus *nx, const uint8_t *cdb,
                        size_t cdb_len, size_t cap, const struct prh_sgl *data,
                        struct prh_simlun_result *r)
{
    struct pr_sim_result s;

    if (cap > data->total)
        cap = data->total;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (buf == NULL) {
        r->status = SCSI_STATUS_BUSY;
        return;
    }
    pr_sim_execute(l->sim, nx, cdb, cdb_len, NULL, 0, buf, cap, &s);
    from_sim(&s, r);
    if (s.status == SCSI_STATUS_GOOD)
        r->data_in_len = prh_sgl_scatter(data, 0, buf, s.data_len);
    free(buf);
}

void prh_simlun_execute(struct prh_simlun *l, const struct pr_sim_nexus *nexus, const uint8_t *cdb,
                        size_t cdb_len, const struct prh_sgl *data, struct prh_simlun_result *r)
{
    static const struct prh_sgl none = { NULL, 0, 0 };
    struct pr_sim_result s;

    memset(r, 0, sizeof(*r));
    if (data == NULL)
        data = &none;
    if (cdb == NULL || cdb_len < 6) {
        r->status = SCSI_STATUS_CHECK_CONDITION;
        r->sense = SENSE_INVALID_OPCODE;
        return;
    }
    pthread_mutex_lock(&l->lock);
    switch (cdb[0]) {
    case SCSI_OP_PERSISTENT_RESERVE_OUT:
        if (cdb_len < 10) {
            pr_sim_execute(l->sim, nexus, cdb, cdb_len, NULL, 0, NULL, 0, &s);
            from_sim(&s, r);
        } else {
            pr_out(l, nexus, cdb, data, r);
        }
        break;
    case SCSI_OP_PERSISTENT_RESERVE_IN:
        sim_data_in(l, nexus, cdb, cdb_len, cdb_len >= 10 ? scsi_get_be16(cdb + 7) : 0, data, r);
        break;
    case SCSI_OP_REQUEST_SENSE:
        sim_data_in(l, nexus, cdb, cdb_len, REQUEST_SENSE_MAX, data, r);
        break;
    case SCSI_OP_RESERVE6:
    case SCSI_OP_RELEASE6:
    case SCSI_OP_RESERVE10:
    case SCSI_OP_RELEASE10:
        pr_sim_execute(l->sim, nexus, cdb, cdb_len, NULL, 0, NULL, 0, &s);
        from_sim(&s, r);
        break;
    default: {
        /* Unit attention and the conflict table first, then the medium. */
        pr_sim_execute(l->sim, nexus, cdb, cdb_len, NULL, 0, NULL, 0, &s);
        if (s.status != SCSI_STATUS_GOOD) {
            from_sim(&s, r);
            break;
        }
        struct scsi_disk_port port = { .rtpi = nexus->rtpi, .protocol = nexus->initiator.proto };
        struct scsi_disk_result d;
        scsi_disk_execute(&l->disk, &port, cdb, cdb_len, data, &d);
        r->status = d.status;
        r->sense = d.sense;
        r->data_in_len = d.data_in_len;
        break;
    }
    }
    pthread_mutex_unlock(&l->lock);
}

void prh_simlun_nexus_loss(struct prh_simlun *l, const struct pr_sim_nexus *nexus)
{
    pthread_mutex_lock(&l->lock);
    pr_sim_nexus_loss(l->sim, nexus);
    pthread_mutex_unlock(&l->lock);
}

void prh_simlun_reset(struct prh_simlun *l, const struct pr_sim_nexus *const *others, size_t n)
{
    pthread_mutex_lock(&l->lock);
    pr_sim_lun_reset(l->sim);
    for (size_t i = 0; i < n; i++)
        if (pr_sim_queue_ua(l->sim, others[i], SENSE_UA_LUN_RESET) < 0)
            prh_error("LUN %s: no memory for a reset unit attention", l->name);
    pthread_mutex_unlock(&l->lock);
}

struct pr_sim_lun *prh_simlun_lock(struct prh_simlun *l)
{
    pthread_mutex_lock(&l->lock);
    return l->sim;
}

void prh_simlun_unlock(struct prh_simlun *l)
{
    pthread_mutex_unlock(&l->lock);
}
