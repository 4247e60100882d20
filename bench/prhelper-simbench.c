// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prhelper-simbench - in-process micro-benchmark of the simulator
 * (pr_sim_execute(), no daemon, no socket, no lock): operations per second
 * of each service action with 8 registrants, the cost of READ FULL STATUS,
 * READ KEYS and REGISTER as registrations grow from 1 to 10,000, and the
 * heap bytes one registration costs.  Output: Markdown tables.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prhelper/pr_sim.h"
#include "prhelper/scsi.h"

static double seconds = 0.3;
static uint8_t buf[65535];
static volatile uint32_t sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct pr_sim_nexus nexus_n(unsigned i)
{
    char name[64];
    uint8_t isid[6] = { 0x40, 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
                        (uint8_t)i };
    struct pr_sim_nexus n;

    snprintf(name, sizeof(name), "iqn.2026-11.bench:host%05u", i);
    memset(&n, 0, sizeof(n));
    n.initiator = pr_tid_iscsi(name, isid);
    n.rtpi = (uint16_t)(1 + i % 2);
    return n;
}

static struct pr_sim_lun *new_lun(void)
{
    struct pr_sim_config cfg;
    struct pr_sim_lun *lun;

    memset(&cfg, 0, sizeof(cfg));
    cfg.profile = PR_SIM_PROFILE_SPC4;
    lun = pr_sim_lun_new(&cfg);
    if (!lun || pr_sim_lun_add_port(lun, 1, PR_TID_PROTO_ISCSI) || pr_sim_lun_add_port(lun, 2, PR_TID_PROTO_ISCSI)) {
        fprintf(stderr, "prhelper-simbench: out of memory\n");
        exit(1);
    }
    return lun;
}

static uint8_t prin(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint8_t sa, uint16_t alloc)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_IN, sa };
    struct pr_sim_result r;

    scsi_put_be16(&cdb[7], alloc);
    pr_sim_execute(lun, n, cdb, sizeof(cdb), NULL, 0, buf, alloc, &r);
    sink += r.data_len;
    return r.status;
}

static uint8_t prout(struct pr_sim_lun *lun, const struct pr_sim_nexus *n, uint8_t sa, uint8_t type,
                     uint64_t rk, uint64_t sark)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, sa, type };
    uint8_t param[24] = { 0 };
    struct pr_sim_result r;

    scsi_put_be16(&cdb[7], sizeof(param));
    scsi_put_be64(&param[0], rk);
    scsi_put_be64(&param[8], sark);
    pr_sim_execute(lun, n, cdb, sizeof(cdb), param, sizeof(param), NULL, 0, &r);
    return r.status;
}

static void must(uint8_t status, const char *what)
{
    if (status != SCSI_STATUS_GOOD) {
        fprintf(stderr, "prhelper-simbench: %s returned status 0x%02x\n", what, status);
        exit(1);
    }
}

static uint64_t key(unsigned i)
{
    return 0x1000 + i;
}

static struct pr_sim_nexus *nexuses;

static void register_n(struct pr_sim_lun *lun, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        must(prout(lun, &nexuses[i], PR_OUT_REGISTER, 0, 0, key(i)), "REGISTER");
}

enum op {
    OP_READ_KEYS,
    OP_READ_RESERVATION,
    OP_REPORT_CAPABILITIES,
    OP_READ_FULL_STATUS,
    OP_REGISTER_AND_IGNORE,
    OP_RESERVE_RELEASE,
    OP_REGISTER_NEW,
};

/* Run op on a LUN with nregs registrants for `seconds`; ops per second. */
static double measure(struct pr_sim_lun *lun, unsigned nregs, enum op op, uint16_t alloc)
{
    const struct pr_sim_nexus *n0 = &nexuses[0], *fresh = &nexuses[nregs];
    unsigned long ops = 0;
    double t0 = now(), t;

    do {
        for (unsigned k = 0; k < 256; k++) {
            switch (op) {
            case OP_READ_KEYS:
                must(prin(lun, n0, PR_IN_READ_KEYS, alloc), "READ KEYS");
                break;
            case OP_READ_RESERVATION:
                must(prin(lun, n0, PR_IN_READ_RESERVATION, alloc), "READ RESERVATION");
                break;
            case OP_REPORT_CAPABILITIES:
                must(prin(lun, n0, PR_IN_REPORT_CAPABILITIES, alloc), "REPORT CAPABILITIES");
                break;
            case OP_READ_FULL_STATUS:
                must(prin(lun, n0, PR_IN_READ_FULL_STATUS, alloc), "READ FULL STATUS");
                break;
            case OP_REGISTER_AND_IGNORE: /* the last registrant changes its key */
                must(prout(lun, &nexuses[nregs - 1], PR_OUT_REGISTER_AND_IGNORE, 0, 0,
                           key(nregs - 1) ^ ((ops + k) & 1) << 40),
                     "REGISTER AND IGNORE EXISTING KEY");
                break;
            case OP_RESERVE_RELEASE: /* counted as two operations */
                must(prout(lun, n0, PR_OUT_RESERVE, PR_TYPE_WE, key(0), 0), "RESERVE");
                must(prout(lun, n0, PR_OUT_RELEASE, PR_TYPE_WE, key(0), 0), "RELEASE");
                ops++;
                break;
            case OP_REGISTER_NEW: /* a new nexus registers and unregisters: two operations */
                must(prout(lun, fresh, PR_OUT_REGISTER, 0, 0, 0x77), "REGISTER");
                must(prout(lun, fresh, PR_OUT_REGISTER, 0, 0x77, 0), "REGISTER (unregister)");
                ops++;
                break;
            }
        }
        ops += 256;
        t = now();
    } while (t - t0 < seconds);
    return (double)ops / (t - t0);
}

static void restore_key(struct pr_sim_lun *lun, unsigned nregs)
{
    /* OP_REGISTER_AND_IGNORE may have left the alternate key */
    must(prout(lun, &nexuses[nregs - 1], PR_OUT_REGISTER_AND_IGNORE, 0, 0, key(nregs - 1)),
         "REGISTER AND IGNORE EXISTING KEY");
}

int main(int argc, char **argv)
{
    static const unsigned sizes[] = { 1, 10, 100, 1000, 10000 };
    const unsigned max_regs = 10000;
    struct pr_sim_lun *lun;
    size_t heap0, heap1;
    struct mallinfo2 mi;

    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("Usage: %s [SECONDS]\nIn-process simulator benchmark; SECONDS per measurement "
               "(default 0.3).\n",
               argv[0]);
        return 0;
    }
    if (argc > 1) {
        char *end;
        seconds = strtod(argv[1], &end);
        if (*end || !(seconds > 0 && seconds <= 60)) {
            fprintf(stderr, "%s: SECONDS must be in (0, 60], not '%s'\n", argv[0], argv[1]);
            return 2;
        }
    }
    nexuses = calloc(max_regs + 1, sizeof(*nexuses));
    if (!nexuses)
        return 1;
    for (unsigned i = 0; i <= max_regs; i++)
        nexuses[i] = nexus_n(i);

    printf("### Service actions, 8 registrants, one LUN, one thread (pr_sim_execute, no lock)\n\n");
    printf("| command | allocation length | ops/s | ns/op |\n|---|---:|---:|---:|\n");
    lun = new_lun();
    register_n(lun, 0, 8);
    {
        static const struct {
            const char *name;
            enum op op;
            uint16_t alloc;
        } rows[] = {
            { "READ KEYS", OP_READ_KEYS, 8192 },
            { "READ RESERVATION", OP_READ_RESERVATION, 8192 },
            { "REPORT CAPABILITIES", OP_REPORT_CAPABILITIES, 8192 },
            { "READ FULL STATUS", OP_READ_FULL_STATUS, 8192 },
            { "REGISTER AND IGNORE EXISTING KEY", OP_REGISTER_AND_IGNORE, 0 },
            { "RESERVE / RELEASE (each)", OP_RESERVE_RELEASE, 0 },
            { "REGISTER / unregister a 9th nexus (each)", OP_REGISTER_NEW, 0 },
        };
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            double r = measure(lun, 8, rows[i].op, rows[i].alloc);
            printf("| %s | %u | %.0f | %.0f |\n", rows[i].name, rows[i].alloc, r, 1e9 / r);
            if (rows[i].op == OP_REGISTER_AND_IGNORE)
                restore_key(lun, 8);
        }
    }
    pr_sim_lun_free(lun);

    printf("\n### Cost as registrations grow (one LUN, one thread)\n\n");
    printf("| registrations | READ KEYS ns (alloc 8192) | READ FULL STATUS ns (alloc 8192) | "
           "READ FULL STATUS ns (alloc 65535) | REGISTER AND IGNORE ns | "
           "REGISTER+unregister new nexus ns (each) |\n|---:|---:|---:|---:|---:|---:|\n");
    lun = new_lun();
    {
        unsigned have = 0;
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            unsigned n = sizes[s];
            register_n(lun, have, n);
            have = n;
            double rk = measure(lun, n, OP_READ_KEYS, 8192);
            double fs = measure(lun, n, OP_READ_FULL_STATUS, 8192);
            double fsl = measure(lun, n, OP_READ_FULL_STATUS, 65535);
            double ri = measure(lun, n, OP_REGISTER_AND_IGNORE, 0);
            restore_key(lun, n);
            double rn = measure(lun, n, OP_REGISTER_NEW, 0);
            printf("| %u | %.0f | %.0f | %.0f | %.0f | %.0f |\n", n, 1e9 / rk, 1e9 / fs, 1e9 / fsl,
                   1e9 / ri, 1e9 / rn);
        }
    }
    pr_sim_lun_free(lun);

    printf("\n### Memory per registration\n\n");
    lun = new_lun();
    register_n(lun, 0, 1);
    mi = mallinfo2();
    heap0 = mi.uordblks;
    register_n(lun, 1, max_regs);
    mi = mallinfo2();
    heap1 = mi.uordblks;
    if (heap1 <= heap0)
        printf("mallinfo2() reports no heap growth (a sanitizer's allocator?): not measured.\n");
    else
        printf("%u registrations (each through its own I_T nexus) take %zu heap bytes: "
               "%.0f bytes per registration (nexus record included).\n",
               max_regs - 1, heap1 - heap0, (double)(heap1 - heap0) / (max_regs - 1));
    pr_sim_lun_free(lun);
    free(nexuses);
    return sink == 0xdeadbeef;
}
