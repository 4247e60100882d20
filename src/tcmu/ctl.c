/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl.c - prhelper-tcmu's control commands (prhelper-cli ctl ...):
 * devices, state, access, fault, power-cycle.  Every command takes the
 * daemon's mutex, so it sees the tables as the loop left them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon_internal.h"
#include "prhelper/log.h"

static void json_key(FILE *out, uint64_t key)
{
    fprintf(out, "\"0x%" PRIx64 "\"", key);
}

static int ctl_devices(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct tcmu_daemon *d = opaque;
    char nx[PR_TID_MAX_LEN + 16];

    if (req->argc != 1) {
        fprintf(out, "usage: devices\n");
        return -1;
    }
    pthread_mutex_lock(&d->lock);
    if (req->json)
        fputs("{\"devices\":[", out);
    else if (d->devs == NULL)
        fputs("no backstores served\n", out);
    else
        fprintf(out, "%-8s %-24s %-16s %-36s %-10s %s\n", "UIO", "BACKSTORE", "LUN", "NEXUS",
                "COMMANDS", "STATE");
    for (struct tcmu_dev *v = d->devs; v; v = v->next) {
        const char *st = v->ring.broken ? "broken" : v->stalled ? "delayed" : "ok";
        tcmu_nexus_string(&v->bs.nexus, nx, sizeof(nx));
        if (req->json) {
            fprintf(out, "%s{\"uio\":%u,\"backstore\":", v == d->devs ? "" : ",", v->minor);
            prh_json_string(out, v->path);
            fputs(",\"lun\":", out);
            prh_json_string(out, v->bs.lun);
            fputs(",\"nexus\":", out);
            prh_json_string(out, nx);
            fprintf(out, ",\"commands\":%" PRIu64 ",\"malformed\":%" PRIu64
                         ",\"queued_bytes\":%u,\"state\":\"%s\"}",
                    v->commands, v->malformed, tcmu_ring_pending_bytes(&v->ring), st);
        } else {
            char uio[16];
            snprintf(uio, sizeof(uio), "uio%u", v->minor);
            fprintf(out, "%-8s %-24s %-16s %-36s %-10" PRIu64 " %s\n", uio, v->path, v->bs.lun, nx,
                    v->commands, st);
        }
    }
    if (req->json)
        fputs("]}\n", out);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

/* The backstore that stands for a nexus of LUN l (NULL if none). */
static const struct tcmu_dev *dev_of_nexus(struct tcmu_daemon *d, const struct lun_ref *l,
                                           const struct pr_sim_nexus *n)
{
    for (const struct tcmu_dev *v = d->devs; v; v = v->next)
        if (v->lun == l && v->bs.nexus.rtpi == n->rtpi &&
            pr_tid_equal(&v->bs.nexus.initiator, &n->initiator))
            return v;
    return NULL;
}

static void lun_detail(struct tcmu_daemon *d, struct lun_ref *l, bool json, FILE *out)
{
    struct pr_sim_registration_view rv;
    struct pr_sim_nexus nx;
    struct scsi_sense s;
    char who[PR_TID_MAX_LEN + 16], text[160];
    const char *name = prh_simlun_name(l->lun);
    const char *profile = pr_sim_profile_name(prh_simlun_profile(l->lun));

    struct pr_sim_lun *sim = prh_simlun_lock(l->lun);
    unsigned type = pr_sim_reservation_type(sim);
    uint32_t gen = pr_sim_generation(sim);
    bool aptpl = pr_sim_aptpl_active(sim);
    if (json) {
        fputs("{\"lun\":", out);
        prh_json_string(out, name);
        fprintf(out, ",\"profile\":\"%s\",\"size\":%" PRIu64 ",\"generation\":%u,\"aptpl\":%s,"
                     "\"reservation\":",
                profile, prh_simlun_size(l->lun), gen, aptpl ? "true" : "false");
        if (type == PR_TYPE_NONE) {
            fputs("null", out);
        } else {
            fprintf(out, "{\"type\":%u,\"type_name\":", type);
            prh_json_string(out, pr_type_name(type));
            fputc('}', out);
        }
        fputs(",\"registrations\":[", out);
        for (size_t i = 0; pr_sim_registration_at(sim, i, &rv); i++) {
            tcmu_nexus_string(&rv.nexus, who, sizeof(who));
            fprintf(out, "%s{\"key\":", i ? "," : "");
            json_key(out, rv.key);
            fputs(",\"nexus\":", out);
            prh_json_string(out, who);
            fprintf(out, ",\"all_tg_pt\":%s,\"holder\":%s}", rv.all_tg_pt ? "true" : "false",
                    rv.holder ? "true" : "false");
        }
        fputs("],\"nexuses\":[", out);
        for (size_t i = 0; pr_sim_nexus_at(sim, i, &nx); i++) {
            const struct tcmu_dev *v = dev_of_nexus(d, l, &nx);
            tcmu_nexus_string(&nx, who, sizeof(who));
            fprintf(out, "%s{\"nexus\":", i ? "," : "");
            prh_json_string(out, who);
            fputs(",\"backstore\":", out);
            if (v)
                prh_json_string(out, v->path);
            else
                fputs("null", out);
            fputs(",\"pending_unit_attentions\":[", out);
            for (size_t j = 0; pr_sim_pending_ua_at(sim, &nx, j, &s); j++) {
                fprintf(out, "%s{\"key\":%u,\"asc\":%u,\"ascq\":%u,\"text\":", j ? "," : "", s.key,
                        s.asc, s.ascq);
                prh_json_string(out, scsi_sense_to_string(s, text, sizeof(text)));
                fputc('}', out);
            }
            fputs("]}", out);
        }
        fputs("]}\n", out);
        prh_simlun_unlock(l->lun);
        return;
    }
    fprintf(out, "LUN %s (profile %s, %" PRIu64 " bytes)\n", name, profile,
            prh_simlun_size(l->lun));
    fprintf(out, "  PR generation: 0x%x\n", gen);
    fprintf(out, "  APTPL:         %s\n", aptpl ? "active" : "off");
    if (type == PR_TYPE_NONE)
        fprintf(out, "  reservation:   none\n");
    else
        fprintf(out, "  reservation:   %s (%u)\n", pr_type_name(type), type);
    fprintf(out, "  registrations: %zu\n", pr_sim_registration_count(sim));
    for (size_t i = 0; pr_sim_registration_at(sim, i, &rv); i++) {
        const struct tcmu_dev *v = dev_of_nexus(d, l, &rv.nexus);
        tcmu_nexus_string(&rv.nexus, who, sizeof(who));
        fprintf(out, "    0x%-16" PRIx64 " %s%s%s  %s\n", rv.key, who, rv.holder ? " holder" : "",
                rv.all_tg_pt ? " all_tg_pt" : "", v ? v->path : "(no backstore)");
    }
    size_t shown = 0;
    for (size_t i = 0; pr_sim_nexus_at(sim, i, &nx); i++) {
        if (!pr_sim_pending_ua_at(sim, &nx, 0, &s))
            continue;
        if (shown++ == 0)
            fprintf(out, "  pending unit attentions:\n");
        tcmu_nexus_string(&nx, who, sizeof(who));
        fprintf(out, "    %s:\n", who);
        for (size_t j = 0; pr_sim_pending_ua_at(sim, &nx, j, &s); j++)
            fprintf(out, "      %s\n", scsi_sense_to_string(s, text, sizeof(text)));
    }
    if (shown == 0)
        fprintf(out, "  pending unit attentions: none\n");
    prh_simlun_unlock(l->lun);
}

static int ctl_state(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct tcmu_daemon *d = opaque;

    if (req->argc > 2) {
        fprintf(out, "usage: state [LUN]\n");
        return -1;
    }
    pthread_mutex_lock(&d->lock);
    if (req->argc == 2) {
        struct lun_ref *l = tcmu_lun_find(d, req->argv[1]);
        if (l == NULL) {
            pthread_mutex_unlock(&d->lock);
            fprintf(out, "no LUN '%.64s' is served (see 'state')\n", req->argv[1]);
            return -1;
        }
        lun_detail(d, l, req->json, out);
        pthread_mutex_unlock(&d->lock);
        return 0;
    }
    if (req->json)
        fputs("{\"luns\":[", out);
    else if (d->luns == NULL)
        fputs("no LUN is served\n", out);
    else
        fprintf(out, "%-20s %-8s %-10s %-5s %-6s %s\n", "LUN", "BACKSTORES", "GENERATION", "REGS",
                "APTPL", "RESERVATION");
    for (struct lun_ref *l = d->luns; l; l = l->next) {
        struct pr_sim_lun *sim = prh_simlun_lock(l->lun);
        unsigned type = pr_sim_reservation_type(sim);
        uint32_t gen = pr_sim_generation(sim);
        size_t regs = pr_sim_registration_count(sim);
        bool aptpl = pr_sim_aptpl_active(sim);
        prh_simlun_unlock(l->lun);
        if (req->json) {
            fprintf(out, "%s{\"lun\":", l == d->luns ? "" : ",");
            prh_json_string(out, prh_simlun_name(l->lun));
            fprintf(out, ",\"backstores\":%u,\"generation\":%u,\"registrations\":%zu,"
                         "\"aptpl\":%s,\"type\":%u}",
                    l->users, gen, regs, aptpl ? "true" : "false", type);
        } else {
            char g[16];
            snprintf(g, sizeof(g), "0x%x", gen);
            fprintf(out, "%-20s %-8u %-10s %-5zu %-6s %s\n", prh_simlun_name(l->lun), l->users, g,
                    regs, aptpl ? "yes" : "no", type == PR_TYPE_NONE ? "none" : pr_type_name(type));
        }
    }
    if (req->json)
        fputs("]}\n", out);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

/* access LUN: who may read and write now, per backstore (the conflict table). */
static int ctl_access(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    static const uint8_t read10[10] = { 0x28 }, write10[10] = { 0x2a };
    struct tcmu_daemon *d = opaque;
    struct pr_sim_registration_view rv;
    char nx[PR_TID_MAX_LEN + 16];

    if (req->argc != 2) {
        fprintf(out, "usage: access LUN\n");
        return -1;
    }
    pthread_mutex_lock(&d->lock);
    struct lun_ref *l = tcmu_lun_find(d, req->argv[1]);
    if (l == NULL) {
        pthread_mutex_unlock(&d->lock);
        fprintf(out, "no LUN '%.64s' is served\n", req->argv[1]);
        return -1;
    }
    if (req->json) {
        fputs("{\"lun\":", out);
        prh_json_string(out, req->argv[1]);
        fputs(",\"backstores\":[", out);
    } else {
        fprintf(out, "%-24s %-36s %-18s %-5s %s\n", "BACKSTORE", "NEXUS", "KEY", "READ", "WRITE");
    }
    bool first = true;
    for (struct tcmu_dev *v = d->devs; v; v = v->next) {
        if (v->lun != l)
            continue;
        struct pr_sim_lun *sim = prh_simlun_lock(l->lun);
        bool rd = pr_sim_check_access(sim, &v->bs.nexus, read10, 10) == SCSI_STATUS_GOOD;
        bool wr = pr_sim_check_access(sim, &v->bs.nexus, write10, 10) == SCSI_STATUS_GOOD;
        char key[24] = "-";
        for (size_t k = 0; pr_sim_registration_at(sim, k, &rv); k++)
            if (pr_tid_equal(&rv.nexus.initiator, &v->bs.nexus.initiator) &&
                (rv.all_tg_pt || rv.nexus.rtpi == v->bs.nexus.rtpi)) {
                snprintf(key, sizeof(key), "0x%" PRIx64, rv.key);
                break;
            }
        prh_simlun_unlock(l->lun);
        tcmu_nexus_string(&v->bs.nexus, nx, sizeof(nx));
        if (req->json) {
            fprintf(out, "%s{\"backstore\":", first ? "" : ",");
            prh_json_string(out, v->path);
            fputs(",\"nexus\":", out);
            prh_json_string(out, nx);
            fputs(",\"key\":", out);
            if (key[0] == '-')
                fputs("null", out);
            else
                prh_json_string(out, key);
            fprintf(out, ",\"read\":%s,\"write\":%s}", rd ? "true" : "false", wr ? "true" : "false");
        } else {
            fprintf(out, "%-24s %-36s %-18s %-5s %s\n", v->path, nx, key, rd ? "yes" : "no",
                    wr ? "yes" : "no");
        }
        first = false;
    }
    if (req->json)
        fputs("]}\n", out);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static int ctl_power_cycle(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct tcmu_daemon *d = opaque;
    bool all = req->argc == 2 && strcmp(req->argv[1], "all") == 0;
    size_t done = 0;

    if (req->argc != 2) {
        fprintf(out, "usage: power-cycle LUN|all\n");
        return -1;
    }
    pthread_mutex_lock(&d->lock);
    if (!all && tcmu_lun_find(d, req->argv[1]) == NULL) {
        pthread_mutex_unlock(&d->lock);
        fprintf(out, "no LUN '%.64s' is served\n", req->argv[1]);
        return -1;
    }
    if (req->json)
        fputs("{\"power_cycled\":[", out);
    for (struct lun_ref *l = d->luns; l; l = l->next) {
        if (!all && strcmp(prh_simlun_name(l->lun), req->argv[1]) != 0)
            continue;
        struct pr_sim_lun *sim = prh_simlun_lock(l->lun);
        bool kept = pr_sim_aptpl_active(sim);
        pr_sim_power_cycle(sim);
        size_t regs = pr_sim_registration_count(sim);
        prh_simlun_unlock(l->lun);
        prh_log(1, "control: power cycle of LUN %s", prh_simlun_name(l->lun));
        if (req->json) {
            fprintf(out, "%s{\"lun\":", done ? "," : "");
            prh_json_string(out, prh_simlun_name(l->lun));
            fprintf(out, ",\"aptpl\":%s,\"registrations\":%zu}", kept ? "true" : "false", regs);
        } else {
            fprintf(out, "%s: power cycled; %s, %zu registration%s kept; POWER ON RESET pending "
                         "for every nexus\n",
                    prh_simlun_name(l->lun), kept ? "APTPL active" : "APTPL off: PR state lost",
                    regs, regs == 1 ? "" : "s");
        }
        done++;
    }
    if (req->json)
        fputs("]}\n", out);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static int ctl_fault(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct tcmu_daemon *d = opaque;
    return prh_faults_control(d->faults, req, out);
}

int tcmu_daemon_control_register(struct tcmu_daemon *d, struct prh_control *ctl)
{
    const struct prh_ctl_command cmds[] = {
        { .name = "devices", .args = "",
          .help = "the TCMU backstores served: UIO device, LUN, nexus, commands, state",
          .handler = ctl_devices, .opaque = d },
        { .name = "state", .args = "[LUN]",
          .help = "registrations, reservation, generation, pending unit attentions",
          .handler = ctl_state, .opaque = d },
        { .name = "access", .args = "LUN",
          .help = "which backstores may read and write now (READ(10)/WRITE(10))",
          .handler = ctl_access, .opaque = d },
        { .name = "fault", .args = "add ACTION [FILTERS] | list | clear [ID]",
          .help = "make matching commands fail or wait",
          .handler = ctl_fault, .opaque = d },
        { .name = "power-cycle", .args = "LUN|all",
          .help = "power loss: non-APTPL state lost, POWER ON RESET to every nexus",
          .handler = ctl_power_cycle, .opaque = d },
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int r = prh_control_add(ctl, &cmds[i]);
        if (r < 0)
            return r;
    }
    return 0;
}
