/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fault.c - armed faults and their control commands (include/prhelper/fault.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prhelper/fault.h"

struct node {
    struct node *next;
    struct prh_fault f;
};

struct prh_faults {
    enum prh_faults_vocabulary vocabulary;
    pthread_mutex_t lock;
    struct node *head;
    unsigned next_id;
};

struct prh_faults *prh_faults_new(enum prh_faults_vocabulary vocabulary)
{
    struct prh_faults *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->vocabulary = vocabulary;
    pthread_mutex_init(&t->lock, NULL);
    t->next_id = 1;
    return t;
}

void prh_faults_free(struct prh_faults *t)
{
    if (t == NULL)
        return;
    while (t->head) {
        struct node *n = t->head;
        t->head = n->next;
        free(n);
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

size_t prh_faults_count(struct prh_faults *t)
{
    size_t n = 0;

    pthread_mutex_lock(&t->lock);
    for (struct node *p = t->head; p; p = p->next)
        n++;
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* ---- matching ------------------------------------------------------------------ */

static bool op_matches(int want, uint8_t op)
{
    switch (want) {
    case PRH_FAULT_OP_ANY:
        return true;
    case PRH_FAULT_OP_READ:
        return op == 0x08 || op == 0x28 || op == 0xa8 || op == 0x88;
    case PRH_FAULT_OP_WRITE:
        return op == 0x0a || op == 0x2a || op == 0xaa || op == 0x8a;
    default:
        return want == op;
    }
}

static bool client_matches(const char *client, const char *who, uint64_t client_no)
{
    if (strstr(who, client))
        return true;
    if (client_no == 0)
        return false;
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)client_no);
    return strcmp(client, num) == 0;
}

static bool matches(const struct prh_fault *f, const char *lun, const char *who,
                    uint64_t client_no, const uint8_t *cdb, size_t cdb_len)
{
    if (cdb_len < 2)
        return false;
    if (f->lun[0] && strcmp(f->lun, lun) != 0)
        return false;
    if (f->client[0] && !client_matches(f->client, who, client_no))
        return false;
    if (!op_matches(f->op, cdb[0]))
        return false;
    if (f->sa >= 0 && (cdb[1] & 0x1f) != f->sa)
        return false;
    return true;
}

bool prh_faults_take(struct prh_faults *t, const char *lun, const char *who, uint64_t client_no,
                     const uint8_t *cdb, size_t cdb_len, struct prh_fault *out)
{
    bool hit = false;

    pthread_mutex_lock(&t->lock);
    for (struct node **pp = &t->head; *pp; pp = &(*pp)->next) {
        struct node *n = *pp;
        if (!matches(&n->f, lun, who, client_no, cdb, cdb_len))
            continue;
        n->f.hits++;
        *out = n->f;
        hit = true;
        if (!n->f.forever && --n->f.remaining == 0) {
            *pp = n->next;
            free(n);
        }
        break;
    }
    pthread_mutex_unlock(&t->lock);
    return hit;
}

/* ---- the control command ----------------------------------------------------------- */

static const struct {
    const char *name;
    int op, sa;
} sa_names[] = {
    { "any", PRH_FAULT_OP_ANY, -1 },
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

#define ANY_VOCABULARY -1

static const struct {
    const char *name;
    int vocabulary; /* ANY_VOCABULARY or the one prh_faults_vocabulary that has it */
    enum prh_fault_action action;
    uint8_t status;
    struct scsi_sense sense;
} actions[] = {
    { "busy", ANY_VOCABULARY, PRH_FAULT_STATUS, SCSI_STATUS_BUSY, { 0 } },
    { "conflict", ANY_VOCABULARY, PRH_FAULT_STATUS, SCSI_STATUS_RESERVATION_CONFLICT, { 0 } },
    { "task-set-full", ANY_VOCABULARY, PRH_FAULT_STATUS, SCSI_STATUS_TASK_SET_FULL, { 0 } },
    { "ua-power-on", ANY_VOCABULARY, PRH_FAULT_SENSE, 0, SENSE_UA_POWER_ON_RESET },
    { "aborted", ANY_VOCABULARY, PRH_FAULT_SENSE, 0,
      SCSI_SENSE_CODE(SCSI_SENSE_ABORTED_COMMAND, 0x08, 0x00) },
    { "not-ready", ANY_VOCABULARY, PRH_FAULT_SENSE, 0,
      SCSI_SENSE_CODE(SCSI_SENSE_NOT_READY, 0x04, 0x00) },
    /* READ and WRITE reach a kernel LUN, not a helper. */
    { "medium-error", PRH_FAULTS_LUN_COMMANDS, PRH_FAULT_SENSE, 0,
      SCSI_SENSE_CODE(SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00) },
    /* Only a helper's client has a connection to lose. */
    { "close", PRH_FAULTS_HELPER_REQUESTS, PRH_FAULT_CLOSE, 0, { 0 } },
    { "close-after", PRH_FAULTS_HELPER_REQUESTS, PRH_FAULT_CLOSE_AFTER, 0, { 0 } },
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const usage[] = {
    [PRH_FAULTS_LUN_COMMANDS] =
        "usage: fault add ACTION [lun=LUN] [client=WHO] [op=OP] [sa=SA] [count=N|always]\n"
        "  ACTION: busy, conflict, task-set-full, ua-power-on, aborted, not-ready, medium-error,\n"
        "          delay MS, status HEX, sense KEY/ASC/ASCQ (hex)\n"
        "  OP: read, write, pr-in, pr-out or a hex operation code\n"
        "  SA: any, in, out, read-keys, read-reservation, capabilities, full-status, register,\n"
        "      reserve, release, clear, preempt, preempt-abort, register-ignore, register-move,\n"
        "      replace-lost\n"
        "       fault list | fault clear [ID]\n",
    [PRH_FAULTS_HELPER_REQUESTS] =
        "usage: fault add ACTION [lun=LUN] [client=WHO] [sa=SA] [count=N|always]\n"
        "  ACTION: busy, conflict, task-set-full, ua-power-on, aborted, not-ready, close,\n"
        "          close-after, delay MS, status HEX, sense KEY/ASC/ASCQ (hex)\n"
        "  SA: any, in, out, read-keys, read-reservation, capabilities, full-status,\n"
        "      register, reserve, release, clear, preempt, preempt-abort, register-ignore,\n"
        "      register-move, replace-lost\n"
        "       fault list | fault clear [ID]\n",
};

static bool parse_ulong(const char *s, int base, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(s, &end, base);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_op(const char *s, int *op)
{
    unsigned long v;

    if (strcmp(s, "read") == 0)
        *op = PRH_FAULT_OP_READ;
    else if (strcmp(s, "write") == 0)
        *op = PRH_FAULT_OP_WRITE;
    else if (strcmp(s, "pr-in") == 0)
        *op = SCSI_OP_PERSISTENT_RESERVE_IN;
    else if (strcmp(s, "pr-out") == 0)
        *op = SCSI_OP_PERSISTENT_RESERVE_OUT;
    else if (parse_ulong(s, 16, 0xff, &v))
        *op = (int)v;
    else
        return false;
    return true;
}

static bool parse_sense(const char *arg, struct scsi_sense *s)
{
    char buf[32];
    unsigned long k, a, q;

    snprintf(buf, sizeof(buf), "%s", arg);
    char *p1 = strchr(buf, '/');
    char *p2 = p1 ? strchr(p1 + 1, '/') : NULL;
    if (!p1 || !p2)
        return false;
    *p1 = '\0';
    *p2 = '\0';
    if (!parse_ulong(buf, 16, 0xf, &k) || !parse_ulong(p1 + 1, 16, 0xff, &a) ||
        !parse_ulong(p2 + 1, 16, 0xff, &q))
        return false;
    *s = SCSI_SENSE_CODE((uint8_t)k, (uint8_t)a, (uint8_t)q);
    return true;
}

/* A filter word (name=value); 1 taken, 0 not a filter, -1 bad (message out). */
static int filter_word(const struct prh_faults *t, struct prh_fault *f, const char *w,
                       bool *have_sa, FILE *out)
{
    const char *v = strchr(w, '=');
    if (v == NULL)
        return 0;
    v++;
    if (strncmp(w, "lun=", 4) == 0 || strncmp(w, "client=", 7) == 0) {
        bool lun = w[0] == 'l';
        char *dst = lun ? f->lun : f->client;
        size_t cap = lun ? sizeof(f->lun) : sizeof(f->client);
        if (!*v || strlen(v) >= cap) {
            fprintf(out, "invalid %s '%.64s'\n", lun ? "LUN" : "client", v);
            return -1;
        }
        memcpy(dst, v, strlen(v) + 1);
        return 1;
    }
    if (strncmp(w, "op=", 3) == 0 && t->vocabulary == PRH_FAULTS_LUN_COMMANDS) {
        if (*have_sa) {
            fprintf(out, "give op= or sa=, not both\n");
            return -1;
        }
        if (!parse_op(v, &f->op)) {
            fprintf(out, "unknown operation '%.40s' (read, write, pr-in, pr-out or hex)\n", v);
            return -1;
        }
        return 1;
    }
    if (strncmp(w, "sa=", 3) == 0) {
        size_t k;
        for (k = 0; k < NITEMS(sa_names); k++)
            if (strcmp(v, sa_names[k].name) == 0)
                break;
        if (k == NITEMS(sa_names)) {
            fprintf(out, "unknown service action '%.40s'\n%s", v, usage[t->vocabulary]);
            return -1;
        }
        if (*have_sa) { /* the sim transport has no op=: say what is wrong */
            fprintf(out, "give sa= once\n");
            return -1;
        }
        if (f->op != PRH_FAULT_OP_ANY) {
            fprintf(out, "give op= or sa=, not both\n");
            return -1;
        }
        f->op = sa_names[k].op;
        f->sa = sa_names[k].sa;
        *have_sa = true;
        return 1;
    }
    if (strncmp(w, "count=", 6) == 0) {
        unsigned long n;
        if (strcmp(v, "always") == 0) {
            f->forever = true;
        } else if (!parse_ulong(v, 10, 1000000, &n) || n == 0) {
            fprintf(out, "count must be 1..1000000 or 'always', not '%.40s'\n", v);
            return -1;
        } else {
            f->remaining = (unsigned)n;
        }
        return 1;
    }
    fprintf(out, "unknown filter '%.40s'\n%s", w, usage[t->vocabulary]);
    return -1;
}

static void add_spec(struct prh_fault *f, size_t *off, const char *w)
{
    if (*off < sizeof(f->spec))
        *off += (size_t)snprintf(f->spec + *off, sizeof(f->spec) - *off, "%s%s", *off ? " " : "",
                                 w);
}

static int fault_add(struct prh_faults *t, const struct prh_ctl_request *req, FILE *out)
{
    struct prh_fault f = { .op = PRH_FAULT_OP_ANY, .sa = -1, .remaining = 1 };
    bool have_action = false, have_sa = false;
    size_t off = 0;
    unsigned long v;

    for (int i = 2; i < req->argc; i++) {
        const char *w = req->argv[i];
        add_spec(&f, &off, w);
        int r = filter_word(t, &f, w, &have_sa, out);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (have_action) {
            fprintf(out, "more than one action ('%.40s')\n%s", w, usage[t->vocabulary]);
            return -1;
        }
        have_action = true;
        if (strcmp(w, "delay") == 0 || strcmp(w, "status") == 0 || strcmp(w, "sense") == 0) {
            const char *arg = i + 1 < req->argc ? req->argv[++i] : "";
            add_spec(&f, &off, arg);
            if (w[0] == 'd') {
                if (!parse_ulong(arg, 10, 600000, &v)) {
                    fprintf(out, "delay needs milliseconds 0..600000, not '%.40s'\n", arg);
                    return -1;
                }
                f.action = PRH_FAULT_DELAY;
                f.delay_ms = (unsigned)v;
            } else if (w[1] == 't') {
                if (!parse_ulong(arg, 16, 0xff, &v) || v == SCSI_STATUS_CHECK_CONDITION) {
                    fprintf(out, "status needs a hex status byte other than 02 (use sense), "
                                 "not '%.40s'\n", arg);
                    return -1;
                }
                f.action = PRH_FAULT_STATUS;
                f.status = (uint8_t)v;
            } else {
                if (!parse_sense(arg, &f.sense)) {
                    fprintf(out, "sense needs KEY/ASC/ASCQ in hex (e.g. 6/29/00), not '%.40s'\n",
                            arg);
                    return -1;
                }
                f.action = PRH_FAULT_SENSE;
            }
            continue;
        }
        size_t k;
        for (k = 0; k < NITEMS(actions); k++)
            if (strcmp(w, actions[k].name) == 0 &&
                (actions[k].vocabulary == ANY_VOCABULARY ||
                 actions[k].vocabulary == (int)t->vocabulary))
                break;
        if (k == NITEMS(actions)) {
            fprintf(out, "unknown fault action '%.40s'\n%s", w, usage[t->vocabulary]);
            return -1;
        }
        f.action = actions[k].action;
        f.status = actions[k].status;
        f.sense = actions[k].sense;
    }
    if (!have_action) {
        fprintf(out, "fault add needs an action\n%s", usage[t->vocabulary]);
        return -1;
    }
    struct node *n = malloc(sizeof(*n));
    if (n == NULL) {
        fprintf(out, "out of memory\n");
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    f.id = t->next_id++;
    n->f = f;
    n->next = NULL;
    struct node **pp = &t->head; /* appended: the oldest matching fault fires first */
    while (*pp)
        pp = &(*pp)->next;
    *pp = n;
    pthread_mutex_unlock(&t->lock);
    if (req->json)
        fprintf(out, "{\"id\":%u}\n", f.id);
    else
        fprintf(out, "fault %u armed: %s\n", f.id, f.spec);
    return 0;
}

static int fault_list(struct prh_faults *t, const struct prh_ctl_request *req, FILE *out)
{
    pthread_mutex_lock(&t->lock);
    if (req->json)
        fputs("{\"faults\":[", out);
    else if (t->head == NULL)
        fputs("no faults armed\n", out);
    for (struct node *p = t->head; p; p = p->next) {
        const struct prh_fault *f = &p->f;
        if (req->json) {
            fprintf(out, "%s{\"id\":%u,\"spec\":", p == t->head ? "" : ",", f->id);
            prh_json_string(out, f->spec);
            if (f->forever)
                fprintf(out, ",\"remaining\":null,\"hits\":%u}", f->hits);
            else
                fprintf(out, ",\"remaining\":%u,\"hits\":%u}", f->remaining, f->hits);
        } else if (f->forever) {
            fprintf(out, "%u: %s (always; %u hit%s)\n", f->id, f->spec, f->hits,
                    f->hits == 1 ? "" : "s");
        } else {
            fprintf(out, "%u: %s (%u more; %u hit%s)\n", f->id, f->spec, f->remaining, f->hits,
                    f->hits == 1 ? "" : "s");
        }
    }
    if (req->json)
        fputs("]}\n", out);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

static int fault_clear(struct prh_faults *t, const struct prh_ctl_request *req, FILE *out)
{
    unsigned long id = 0;
    unsigned removed = 0;

    if (req->argc == 3 && (!parse_ulong(req->argv[2], 10, 0xffffffffUL, &id) || id == 0)) {
        fprintf(out, "fault clear needs a fault id, not '%.40s'\n", req->argv[2]);
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    for (struct node **pp = &t->head; *pp;) {
        struct node *n = *pp;
        if (id == 0 || n->f.id == id) {
            *pp = n->next;
            free(n);
            removed++;
        } else {
            pp = &n->next;
        }
    }
    pthread_mutex_unlock(&t->lock);
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

int prh_faults_control(struct prh_faults *t, const struct prh_ctl_request *req, FILE *out)
{
    const char *sub = req->argc >= 2 ? req->argv[1] : "";

    if (strcmp(sub, "add") == 0)
        return fault_add(t, req, out);
    if (strcmp(sub, "list") == 0 && req->argc == 2)
        return fault_list(t, req, out);
    if (strcmp(sub, "clear") == 0 && req->argc <= 3)
        return fault_clear(t, req, out);
    fputs(usage[t->vocabulary], out);
    return -1;
}
