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

/* ---- fault injection ----------------------------------------------------- */

static bool fault_matches(const struct sim_fault *f, const struct sim_conn *c,
                          const struct sim_lun *l, const uint8_t *cdb)
{
    if (f->lun[0] && strcmp(f->lun, l->name) != 0)
        return false;
    if (f->op >= 0 && cdb[0] != f->op)
        return false;
    if (f->sa >= 0 && (cdb[1] & 0x1f) != f->sa)
        return false;
    if (f->client[0]) {
        char num[24];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)c->serial);
        if (strcmp(f->client, num) != 0 && !strstr(c->itn->who, f->client))
            return false;
    }
    return true;
}

/* The first armed fault matching this command, consumed; false if none. */
bool sim_fault_take(struct sim_state *st, const struct sim_conn *c, const struct sim_lun *l,
                    const uint8_t *cdb, struct sim_fault *out)
{
    bool hit = false;

    pthread_mutex_lock(&st->fault_lock);
    for (struct sim_fault **pp = &st->faults; *pp; pp = &(*pp)->next) {
        struct sim_fault *f = *pp;
        if (!fault_matches(f, c, l, cdb))
            continue;
        f->hits++;
        *out = *f;
        hit = true;
        if (!f->forever && --f->remaining == 0) {
            *pp = f->next;
            free(f);
        }
        break;
    }
    pthread_mutex_unlock(&st->fault_lock);
    if (hit)
        prh_trace(PRH_TRACE_TRANSPORT, "lun=%s fault=%u nexus=%s %s", l->name, out->id,
                  c->itn->who, out->spec);
    return hit;
}

void sim_faults_free(struct sim_state *st)
{
    while (st->faults) {
        struct sim_fault *f = st->faults;
        st->faults = f->next;
        free(f);
    }
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

/* ---- faults ---- */

static const struct {
    const char *name;
    int op, sa;
} fault_sas[] = {
    { "any", -1, -1 },
    { "in", SCSI_OP_PERSISTENT_RESERVE_IN, -1 },
    { "out", SCSI_OP_PERSISTENT_RESERVE_OUT, -1 },
    { "read-keys", SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_READ_KEYS },
    { "read-reservation", SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_READ_RESERVATION },
    { "capabilities", SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_REPORT_CAPABILITIES },
    { "full-status", SCSI_OP_PERSISTENT_RESERVE_IN, PR_IN_READ_FULL_STATUS },
    { "register", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER },
    { "reserve", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_RESERVE },
    { "release", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_RELEASE },
    { "clear", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_CLEAR },
    { "preempt", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_PREEMPT },
    { "preempt-abort", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_PREEMPT_AND_ABORT },
    { "register-ignore", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER_AND_IGNORE },
    { "register-move", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER_AND_MOVE },
    { "replace-lost", SCSI_OP_PERSISTENT_RESERVE_OUT, PR_OUT_REPLACE_LOST_RESERVATION },
};

static const struct {
    const char *name;
    enum sim_fault_action action;
    uint8_t status;
    struct scsi_sense sense;
} fault_actions[] = {
    { "busy", FAULT_STATUS, SCSI_STATUS_BUSY, { 0 } },
    { "conflict", FAULT_STATUS, SCSI_STATUS_RESERVATION_CONFLICT, { 0 } },
    { "task-set-full", FAULT_STATUS, SCSI_STATUS_TASK_SET_FULL, { 0 } },
    { "ua-power-on", FAULT_SENSE, 0, SENSE_UA_POWER_ON_RESET },
    { "aborted", FAULT_SENSE, 0, SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00) },
    { "not-ready", FAULT_SENSE, 0, SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x00) },
    { "close", FAULT_CLOSE, 0, { 0 } },
    { "close-after", FAULT_CLOSE_AFTER, 0, { 0 } },
};

static bool parse_uint(const char *s, int base, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(s, &end, base);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return false;
    *out = v;
    return true;
}

static const char fault_usage[] =
    "usage: fault add ACTION [lun=LUN] [client=WHO] [sa=SA] [count=N|always]\n"
    "  ACTION: busy, conflict, task-set-full, ua-power-on, aborted, not-ready, close,\n"
    "          close-after, delay MS, status HEX, sense KEY/ASC/ASCQ (hex)\n"
    "  SA: any, in, out, read-keys, read-reservation, capabilities, full-status,\n"
    "      register, reserve, release, clear, preempt, preempt-abort, register-ignore,\n"
    "      register-move, replace-lost\n"
    "       fault list | fault clear [ID]\n";

static int fault_add(struct sim_state *st, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_fault f = { .op = -1, .sa = -1, .remaining = 1 };
    bool have_action = false;
    unsigned long v;
    size_t off = 0;

    for (int i = 2; i < req->argc; i++) {
        const char *w = req->argv[i];
        if (off < sizeof(f.spec))
            off += (size_t)snprintf(f.spec + off, sizeof(f.spec) - off, "%s%s", off ? " " : "", w);
        if (strncmp(w, "lun=", 4) == 0) {
            if (strlen(w + 4) >= sizeof(f.lun) || !w[4]) {
                fprintf(out, "invalid LUN '%.64s'\n", w + 4);
                return -1;
            }
            strcpy(f.lun, w + 4);
        } else if (strncmp(w, "client=", 7) == 0) {
            if (strlen(w + 7) >= sizeof(f.client) || !w[7]) {
                fprintf(out, "invalid client '%.64s'\n", w + 7);
                return -1;
            }
            strcpy(f.client, w + 7);
        } else if (strncmp(w, "sa=", 3) == 0) {
            size_t k;
            for (k = 0; k < sizeof(fault_sas) / sizeof(fault_sas[0]); k++)
                if (strcmp(w + 3, fault_sas[k].name) == 0)
                    break;
            if (k == sizeof(fault_sas) / sizeof(fault_sas[0])) {
                fprintf(out, "unknown service action '%.40s'\n%s", w + 3, fault_usage);
                return -1;
            }
            f.op = fault_sas[k].op;
            f.sa = fault_sas[k].sa;
        } else if (strncmp(w, "count=", 6) == 0) {
            if (strcmp(w + 6, "always") == 0) {
                f.forever = true;
            } else if (!parse_uint(w + 6, 10, 1000000, &v) || v == 0) {
                fprintf(out, "count must be 1..1000000 or 'always', not '%.40s'\n", w + 6);
                return -1;
            } else {
                f.remaining = (unsigned)v;
            }
        } else if (have_action) {
            fprintf(out, "more than one action ('%.40s')\n%s", w, fault_usage);
            return -1;
        } else if (strcmp(w, "delay") == 0 || strcmp(w, "status") == 0 ||
                   strcmp(w, "sense") == 0) {
            const char *arg = i + 1 < req->argc ? req->argv[++i] : "";
            if (off < sizeof(f.spec))
                off += (size_t)snprintf(f.spec + off, sizeof(f.spec) - off, " %s", arg);
            have_action = true;
            if (w[0] == 'd') {
                if (!parse_uint(arg, 10, 600000, &v)) {
                    fprintf(out, "delay needs milliseconds 0..600000, not '%.40s'\n", arg);
                    return -1;
                }
                f.action = FAULT_DELAY;
                f.delay_ms = (unsigned)v;
            } else if (w[1] == 't') {
                if (!parse_uint(arg, 16, 0xff, &v) || v == SCSI_STATUS_CHECK_CONDITION) {
                    fprintf(out, "status needs a hex status byte other than 02 (use sense), "
                                 "not '%.40s'\n", arg);
                    return -1;
                }
                f.action = FAULT_STATUS;
                f.status = (uint8_t)v;
            } else {
                char buf[32];
                unsigned long k, a, q;
                snprintf(buf, sizeof(buf), "%s", arg);
                char *p1 = strchr(buf, '/'), *p2 = p1 ? strchr(p1 + 1, '/') : NULL;
                if (p1)
                    *p1 = '\0';
                if (p2)
                    *p2 = '\0';
                if (!p1 || !p2 || !parse_uint(buf, 16, 0xf, &k) ||
                    !parse_uint(p1 + 1, 16, 0xff, &a) || !parse_uint(p2 + 1, 16, 0xff, &q)) {
                    fprintf(out, "sense needs KEY/ASC/ASCQ in hex (e.g. 6/29/00), not '%.40s'\n",
                            arg);
                    return -1;
                }
                f.action = FAULT_SENSE;
                f.sense = SCSI_SENSE_CODE((uint8_t)k, (uint8_t)a, (uint8_t)q);
            }
        } else {
            size_t k;
            for (k = 0; k < sizeof(fault_actions) / sizeof(fault_actions[0]); k++)
                if (strcmp(w, fault_actions[k].name) == 0)
                    break;
            if (k == sizeof(fault_actions) / sizeof(fault_actions[0])) {
                fprintf(out, "unknown fault action '%.40s'\n%s", w, fault_usage);
                return -1;
            }
            have_action = true;
            f.action = fault_actions[k].action;
            f.status = fault_actions[k].status;
            f.sense = fault_actions[k].sense;
        }
    }
    if (!have_action) {
        fprintf(out, "fault add needs an action\n%s", fault_usage);
        return -1;
    }
    struct sim_fault *nf = malloc(sizeof(*nf));
    if (!nf) {
        fprintf(out, "out of memory\n");
        return -1;
    }
    *nf = f;
    pthread_mutex_lock(&st->fault_lock);
    nf->id = st->next_fault_id++;
    struct sim_fault **pp = &st->faults; /* appended: the oldest matching fault fires first */
    while (*pp)
        pp = &(*pp)->next;
    *pp = nf;
    unsigned id = nf->id;
    pthread_mutex_unlock(&st->fault_lock);
    if (req->json)
        fprintf(out, "{\"id\":%u}\n", id);
    else
        fprintf(out, "fault %u armed: %s\n", id, f.spec);
    return 0;
}

static int ctl_fault(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    struct sim_state *st = opaque;
    const char *sub = req->argc >= 2 ? req->argv[1] : "";

    if (strcmp(sub, "add") == 0)
        return fault_add(st, req, out);
    if (strcmp(sub, "list") == 0 && req->argc == 2) {
        pthread_mutex_lock(&st->fault_lock);
        if (req->json)
            fputs("{\"faults\":[", out);
        else if (!st->faults)
            fputs("no faults armed\n", out);
        for (struct sim_fault *f = st->faults; f; f = f->next) {
            if (req->json) {
                fprintf(out, "%s{\"id\":%u,\"spec\":", f == st->faults ? "" : ",", f->id);
                prh_json_string(out, f->spec);
                if (f->forever)
                    fprintf(out, ",\"remaining\":null,\"hits\":%u}", f->hits);
                else
                    fprintf(out, ",\"remaining\":%u,\"hits\":%u}", f->remaining, f->hits);
            } else if (f->forever) {
                fprintf(out, "%u: %s (always; %u hit%s)\n", f->id, f->spec, f->hits,
                        f->hits == 1 ? "" : "s");
            } else {
                fprintf(out, "%u: %s (%u more; %u hit%s)\n", f->id, f->spec, f->remaining,
                        f->hits, f->hits == 1 ? "" : "s");
            }
        }
        if (req->json)
            fputs("]}\n", out);
        pthread_mutex_unlock(&st->fault_lock);
        return 0;
    }
    if (strcmp(sub, "clear") == 0 && req->argc <= 3) {
        unsigned long id = 0;
        unsigned removed = 0;
        if (req->argc == 3 && (!parse_uint(req->argv[2], 10, 0xffffffffUL, &id) || id == 0)) {
            fprintf(out, "fault clear needs a fault id, not '%.40s'\n", req->argv[2]);
            return -1;
        }
        pthread_mutex_lock(&st->fault_lock);
        for (struct sim_fault **pp = &st->faults; *pp;) {
            struct sim_fault *f = *pp;
            if (id == 0 || f->id == id) {
                *pp = f->next;
                free(f);
                removed++;
            } else {
                pp = &f->next;
            }
        }
        pthread_mutex_unlock(&st->fault_lock);
        if (id && !removed) {
            fprintf(out, "no fault %lu (see 'fault list')\n", id);
            return -1;
        }
        if (req->json)
            fprintf(out, "{\"cleared\":%u}\n", removed);
        else
            fprintf(out, "%u fault%s cleared\n", removed, removed == 1 ? "" : "s");
        return 0;
    }
    fputs(fault_usage, out);
    return -1;
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

