/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport_sim_control.c - the sim transport's control-socket commands
 * (prhelper --control, prhelper-cli ctl; docs/daemon.md): state,
 * access, power-cycle, and the faults they arm, which transport_sim.c
 * consults for every command (sim_fault_take()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prhelper/control.h"
#include "prhelper/log.h"
#include "transport_sim_internal.h"

/* ---- fault injection (the table and its commands: fault.c) -------------- */

/* The first armed fault matching this command, consumed; false if none.
 * client= matches the connection's number or part of the nexus name. */
bool sim_fault_take(struct sim_state *st, const struct sim_conn *c, const struct sim_lun *l,
                    const uint8_t *cdb, struct prh_fault *out)
{
    /* PR IN and PR OUT CDBs are 10 bytes. */
    if (!prh_faults_take(st->faults, l->name, c->itn->who, c->serial, cdb, 10, out))
        return false;
    prh_trace(PRH_TRACE_TRANSPORT, "lun=%s fault=%u nexus=%s %s", l->name, out->id, c->itn->who,
              out->spec);
    return true;
}

/* ---- control commands (prhelper --control; docs/daemon.md) -------------- */

static void print_lun_detail(struct sim_state *st, struct sim_lun *l, bool json, FILE *out)
{
    struct pr_sim_registration_view rv;
    struct pr_sim_nexus nx;
    struct scsi_sense s;
    char who[PR_TID_MAX_LEN + 16], text[160];

    pthread_mutex_lock(&l->lock);
    struct pr_sim_lun *lun = l->lun;
    unsigned type = pr_sim_reservation_type(lun);
    uint32_t gen = pr_sim_generation(lun);
    bool aptpl = pr_sim_aptpl_active(lun);
    if (json) {
        fputs("{\"lun\":", out);
        prh_json_string(out, l->name);
        fprintf(out, ",\"profile\":\"%s\",\"generation\":%u,\"aptpl\":%s,\"reservation\":",
                pr_sim_profile_name(st->profile), gen, aptpl ? "true" : "false");
        if (type == PR_TYPE_NONE) {
            fputs("null", out);
        } else {
            fprintf(out, "{\"type\":%u,\"type_name\":", type);
            prh_json_string(out, pr_type_name(type));
            fputs(",\"holders\":[", out);
            bool first = true;
            for (size_t i = 0; pr_sim_registration_at(lun, i, &rv); i++)
                if (rv.holder) {
                    sim_nexus_string(&rv.nexus, who, sizeof(who));
                    fprintf(out, "%s{\"key\":\"0x%llx\",\"nexus\":", first ? "" : ",",
                            (unsigned long long)rv.key);
                    prh_json_string(out, who);
                    fputc('}', out);
                    first = false;
                }
            fputs("]}", out);
        }
        fputs(",\"registrations\":[", out);
        for (size_t i = 0; pr_sim_registration_at(lun, i, &rv); i++) {
            sim_nexus_string(&rv.nexus, who, sizeof(who));
            fprintf(out, "%s{\"key\":\"0x%llx\",\"nexus\":", i ? "," : "",
                    (unsigned long long)rv.key);
            prh_json_string(out, who);
            fprintf(out, ",\"all_tg_pt\":%s,\"holder\":%s}", rv.all_tg_pt ? "true" : "false",
                    rv.holder ? "true" : "false");
        }
        fputs("],\"nexuses\":[", out);
        for (size_t i = 0; pr_sim_nexus_at(lun, i, &nx); i++) {
            sim_nexus_string(&nx, who, sizeof(who));
            fprintf(out, "%s{\"nexus\":", i ? "," : "");
            prh_json_string(out, who);
            fputs(",\"pending_unit_attentions\":[", out);
            for (size_t j = 0; pr_sim_pending_ua_at(lun, &nx, j, &s); j++) {
                fprintf(out, "%s{\"key\":%u,\"asc\":%u,\"ascq\":%u,\"text\":", j ? "," : "", s.key,
                        s.asc, s.ascq);
                prh_json_string(out, scsi_sense_to_string(s, text, sizeof(text)));
                fputc('}', out);
            }
            fputs("]}", out);
        }
        fputs("]}\n", out);
        pthread_mutex_unlock(&l->lock);
        return;
    }
    fprintf(out, "LUN %s (profile %s)\n", l->name, pr_sim_profile_name(st->profile));
    fprintf(out, "  PR generation: 0x%x\n", gen);
    fprintf(out, "  APTPL:         %s\n", aptpl ? "active" : "off");
    if (type == PR_TYPE_NONE)
        fprintf(out, "  reservation:   none\n");
    else
        fprintf(out, "  reservation:   %s (%u)\n", pr_type_name(type), type);
    fprintf(out, "  registrations: %zu\n", pr_sim_registration_count(lun));
    if (pr_sim_registration_count(lun) > 0) {
        fprintf(out, "    %-18s %-6s %-9s %-6s %s\n", "KEY", "RTPI", "ALL_TG_PT", "HOLDER",
                "INITIATOR PORT");
        for (size_t i = 0; pr_sim_registration_at(lun, i, &rv); i++) {
            char key[24], tid[PR_TID_MAX_LEN + 8];
            snprintf(key, sizeof(key), "0x%llx", (unsigned long long)rv.key);
            pr_tid_to_string(&rv.nexus.initiator, tid, sizeof(tid));
            fprintf(out, "    %-18s %-6u %-9s %-6s %s\n", key, rv.nexus.rtpi,
                    rv.all_tg_pt ? "yes" : "no", rv.holder ? "yes" : "no", tid);
        }
    }
    /* Only nexuses with something pending: whether an idle unregistered
     * nexus is still remembered depends on when its connection closed. */
    size_t shown = 0;
    for (size_t i = 0; pr_sim_nexus_at(lun, i, &nx); i++) {
        if (!pr_sim_pending_ua_at(lun, &nx, 0, &s))
            continue;
        if (shown++ == 0)
            fprintf(out, "  pending unit attentions:\n");
        sim_nexus_string(&nx, who, sizeof(who));
        fprintf(out, "    %s:\n", who);
        for (size_t j = 0; pr_sim_pending_ua_at(lun, &nx, j, &s); j++)
            fprintf(out, "      %s\n", scsi_sense_to_string(s, text, sizeof(text)));
    }
    if (!shown)
        fprintf(out, "  pending unit attentions: none\n");
    pthread_mutex_unlock(&l->lock);
}

/* A loaded LUN by name, with a reference; NULL (and a message) if none. */
static struct sim_lun *ctl_lun(struct sim_state *st, const char *name, FILE *out)
{
    struct sim_lun *l = sim_lun_find(st, name);

    if (l) {
        pthread_mutex_lock(&l->lock);
        bool loaded = l->lun != NULL;
        pthread_mutex_unlock(&l->lock);
        if (loaded)
            return l;
        sim_lun_put(l);
    }
    fprintf(out, "no LUN '%.64s' has been used since the daemon started "
                 "(see 'state' for the list)\n", name);
    return NULL;
}

/* The connections and the I_T nexus each presents (state without LUN). */
static void print_connections(struct sim_state *st, bool json, FILE *out)
{
    size_t n = 0;

    pthread_mutex_lock(&st->nexus_lock);
    for (struct sim_conn *c = st->conns; c; c = c->next)
        n++;
    if (json) {
        fprintf(out, ",\"identity\":\"%s\",\"max_registrations\":%u,\"max_luns\":%u,"
                     "\"connections\":[",
                prh_sim_identity_name(st->identity), st->max_registrations, st->max_luns);
    } else {
        fprintf(out, "\nidentity: %s; at most %u registrations per LUN, %u LUNs\n",
                prh_sim_identity_name(st->identity), st->max_registrations, st->max_luns);
        fprintf(out, "connections: %zu\n", n);
        if (n)
            fprintf(out, "  %-7s %-8s %-11s %s\n", "CLIENT", "PID", "SOURCE", "I_T NEXUS");
    }
    for (struct sim_conn *c = st->conns; c; c = c->next) {
        char pid[24] = "-";
        if (c->has_cred)
            snprintf(pid, sizeof(pid), "%ld", c->pid);
        if (json) {
            fprintf(out, "%s{\"client\":%llu,\"pid\":%s,\"source\":\"%s\",\"nexus\":",
                    c == st->conns ? "" : ",", (unsigned long long)c->serial,
                    c->has_cred ? pid : "null", prh_sim_nexus_source_name(c->source));
            prh_json_string(out, c->itn->who);
            fputs(",\"detail\":", out);
            prh_json_string(out, c->detail);
            fputc('}', out);
        } else {
            fprintf(out, "  %-7llu %-8s %-11s %s\n          (%s)\n",
                    (unsigned long long)c->serial, pid, prh_sim_nexus_source_name(c->source),
                    c->itn->who, c->detail);
        }
    }
    if (json)
        fputc(']', out);
    pthread_mutex_unlock(&st->nexus_lock);
}

static int ctl_state(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_state *st = opaque;
    size_t n, shown = 0;

    if (req->argc > 2) {
        fprintf(out, "usage: state [LUN]\n");
        return -1;
    }
    if (req->argc == 2) {
        struct sim_lun *l = ctl_lun(st, req->argv[1], out);
        if (!l)
            return -1;
        print_lun_detail(st, l, req->json, out);
        sim_lun_put(l);
        return 0;
    }
    struct sim_lun **v = sim_lun_snapshot(st, &n);
    if (req->json)
        fputs("{\"luns\":[", out);
    for (size_t i = 0; i < n; i++) {
        struct sim_lun *l = v[i];
        pthread_mutex_lock(&l->lock);
        if (!l->lun) {
            pthread_mutex_unlock(&l->lock);
            continue;
        }
        unsigned type = pr_sim_reservation_type(l->lun);
        uint32_t gen = pr_sim_generation(l->lun);
        size_t regs = pr_sim_registration_count(l->lun);
        bool aptpl = pr_sim_aptpl_active(l->lun);
        pthread_mutex_unlock(&l->lock);
        if (req->json) {
            fprintf(out, "%s{\"lun\":", shown ? "," : "");
            prh_json_string(out, l->name);
            fprintf(out, ",\"generation\":%u,\"registrations\":%zu,\"aptpl\":%s,\"type\":%u}",
                    gen, regs, aptpl ? "true" : "false", type);
        } else {
            char g[16];
            if (shown == 0)
                fprintf(out, "%-28s %-10s %-5s %-6s %s\n", "LUN", "GENERATION", "REGS",
                        "APTPL", "RESERVATION");
            snprintf(g, sizeof(g), "0x%x", gen);
            fprintf(out, "%-28s %-10s %-5zu %-6s %s\n", l->name, g, regs,
                    aptpl ? "yes" : "no", type == PR_TYPE_NONE ? "none" : pr_type_name(type));
        }
        shown++;
    }
    if (!req->json && shown == 0)
        fprintf(out, "no LUN has been used since the daemon started\n");
    if (req->json)
        fputc(']', out);
    print_connections(st, req->json, out);
    if (req->json)
        fputs("}\n", out);
    sim_lun_put_all(v, n);
    return 0;
}

static int ctl_power_cycle(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_state *st = opaque;
    size_t n = 0, shown = 0;
    struct sim_lun **v;

    if (req->argc != 2) {
        fprintf(out, "usage: power-cycle LUN|all\n");
        return -1;
    }
    if (strcmp(req->argv[1], "all") == 0) {
        v = sim_lun_snapshot(st, &n);
    } else {
        struct sim_lun *l = ctl_lun(st, req->argv[1], out);
        if (!l)
            return -1;
        v = malloc(sizeof(*v));
        if (!v) {
            sim_lun_put(l);
            fprintf(out, "out of memory\n");
            return -1;
        }
        v[0] = l;
        n = 1;
    }
    if (req->json)
        fputs("{\"power_cycled\":[", out);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->lock);
        if (!v[i]->lun) {
            pthread_mutex_unlock(&v[i]->lock);
            continue;
        }
        bool kept = pr_sim_aptpl_active(v[i]->lun);
        pr_sim_power_cycle(v[i]->lun);
        size_t regs = pr_sim_registration_count(v[i]->lun);
        pthread_mutex_unlock(&v[i]->lock);
        prh_log(2, "control: power cycle of LUN %s", v[i]->name);
        if (req->json) {
            fprintf(out, "%s{\"lun\":", shown ? "," : "");
            prh_json_string(out, v[i]->name);
            fprintf(out, ",\"aptpl\":%s,\"registrations\":%zu}", kept ? "true" : "false", regs);
        } else {
            fprintf(out, "%s: power cycled; %s, %zu registration%s kept; POWER ON RESET "
                         "pending for every nexus\n",
                    v[i]->name, kept ? "APTPL active" : "APTPL off: PR state lost", regs,
                    regs == 1 ? "" : "s");
        }
        shown++;
    }
    if (req->json)
        fputs("]}\n", out);
    sim_lun_put_all(v, n);
    return 0;
}

static int ctl_fault(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_state *st = opaque;
    return prh_faults_control(st->faults, req, out);
}

/* access LUN INITIATOR...: who may read and write now (the conflict table). */
static int ctl_access(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    static const uint8_t read10[10] = { 0x28 }, write10[10] = { 0x2a };
    struct sim_state *st = opaque;
    struct pr_sim_registration_view rv;

    if (req->argc < 3) {
        fprintf(out, "usage: access LUN INITIATOR[@RTPI]...\n");
        return -1;
    }
    struct sim_lun *l = ctl_lun(st, req->argv[1], out);
    if (!l)
        return -1;
    struct pr_sim_nexus *nx = calloc((size_t)req->argc, sizeof(*nx));
    if (!nx) {
        sim_lun_put(l);
        fprintf(out, "out of memory\n");
        return -1;
    }
    for (int i = 2; i < req->argc; i++) {
        char addr[108];
        int n = snprintf(addr, sizeof(addr), SIM_NEXUS_ADDR_PREFIX "%s", req->argv[i]);
        if (n <= 0 || (size_t)n >= sizeof(addr) ||
            !sim_nexus_from_address(addr, (size_t)n, &nx[i])) {
            fprintf(out, "invalid initiator '%.64s' (NAME or NAME@RTPI, as prhelper-cli -I)\n",
                    req->argv[i]);
            free(nx);
            sim_lun_put(l);
            return -1;
        }
    }
    if (req->json)
        fputs("{\"lun\":", out);
    if (req->json) {
        prh_json_string(out, l->name);
        fputs(",\"initiators\":[", out);
    } else {
        fprintf(out, "%-24s %-18s %-5s %s\n", "INITIATOR", "KEY", "READ", "WRITE");
    }
    pthread_mutex_lock(&l->lock);
    for (int i = 2; i < req->argc; i++) {
        bool rd = pr_sim_check_access(l->lun, &nx[i], read10, 10) == SCSI_STATUS_GOOD;
        bool wr = pr_sim_check_access(l->lun, &nx[i], write10, 10) == SCSI_STATUS_GOOD;
        char key[24] = "-";
        for (size_t k = 0; pr_sim_registration_at(l->lun, k, &rv); k++)
            if (pr_tid_equal(&rv.nexus.initiator, &nx[i].initiator) &&
                (rv.all_tg_pt || rv.nexus.rtpi == nx[i].rtpi)) {
                snprintf(key, sizeof(key), "0x%llx", (unsigned long long)rv.key);
                break;
            }
        if (req->json) {
            fprintf(out, "%s{\"initiator\":", i > 2 ? "," : "");
            prh_json_string(out, req->argv[i]);
            fputs(",\"key\":", out);
            if (key[0] == '-')
                fputs("null", out);
            else
                prh_json_string(out, key);
            fprintf(out, ",\"read\":%s,\"write\":%s}", rd ? "true" : "false",
                    wr ? "true" : "false");
        } else {
            fprintf(out, "%-24s %-18s %-5s %s\n", req->argv[i], key, rd ? "yes" : "no",
                    wr ? "yes" : "no");
        }
    }
    pthread_mutex_unlock(&l->lock);
    if (req->json)
        fputs("]}\n", out);
    free(nx);
    sim_lun_put(l);
    return 0;
}

int sim_control_register(void *state, struct prh_control *ctl)
{
    const struct prh_ctl_command cmds[] = {
        { .name = "state", .args = "[LUN]",
          .help = "registrations, reservation, generation, pending unit attentions",
          .handler = ctl_state, .opaque = state },
        { .name = "fault", .args = "add ACTION [FILTERS] | list | clear [ID]",
          .help = "make matching commands fail, wait or drop the connection",
          .handler = ctl_fault, .opaque = state },
        { .name = "access", .args = "LUN INITIATOR[@RTPI]...",
          .help = "who may read and write now (READ(10)/WRITE(10) against the reservation)",
          .handler = ctl_access, .opaque = state },
        { .name = "power-cycle", .args = "LUN|all",
          .help = "power loss: non-APTPL state lost, POWER ON RESET to every nexus",
          .handler = ctl_power_cycle, .opaque = state },
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int r = prh_control_add(ctl, &cmds[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

