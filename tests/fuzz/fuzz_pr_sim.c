/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_pr_sim.c - the simulator's entry points with any CDB and any
 * parameter list, from any of six I_T nexuses, on a LUN in any state
 * (the state is whatever the earlier commands of the input built), with
 * nexus losses, power cycles and failing APTPL writes mixed in.
 *
 * Input: byte 0 picks the profile (spc4/lio) and persist failures; then
 * records [op][nexus][10-byte CDB][len][len bytes of parameter list].
 * After every call:
 *  - PRgeneration never decreases (except across a power cycle);
 *  - a reservation always has a registered holder unless it is an
 *    all-registrants one (whose registrants are then all holders), and
 *    exactly one holder otherwise;
 *  - READ KEYS and READ FULL STATUS agree with each other and with the
 *    LUN (generation, number of registrations, the keys);
 *  - a PR OUT whose persist hook failed left the state unchanged.
 */
#include "fuzz.h"
#include "prhelper/pr_sim.h"

#define NNEXUS 6
#define BUF 8192

static struct pr_sim_nexus nexus[NNEXUS + 1]; /* + the observer */
static uint8_t fail_mask;
static unsigned persist_calls;
static bool persist_failed;

static int persist(void *opaque, const uint8_t *state, size_t len)
{
    (void)opaque;
    (void)state;
    CHECK(len > 0);
    persist_calls++;
    persist_failed = (fail_mask >> (persist_calls & 7)) & 1;
    return persist_failed ? -28 /* ENOSPC */ : 0;
}

static void init_nexuses(void)
{
    static const uint8_t isid_a[6] = { 0x23, 0xd0, 0, 0, 0, 1 };
    static const uint8_t isid_b[6] = { 0x23, 0xd0, 0, 0, 0, 2 };
    nexus[0] = (struct pr_sim_nexus){ pr_tid_iscsi("iqn.2026-01.org.fuzz:a", isid_a), 1 };
    nexus[1] = (struct pr_sim_nexus){ pr_tid_iscsi("iqn.2026-01.org.fuzz:a", isid_b), 1 };
    nexus[2] = (struct pr_sim_nexus){ pr_tid_iscsi("iqn.2026-01.org.fuzz:a", isid_a), 2 };
    nexus[3] = (struct pr_sim_nexus){ pr_tid_iscsi("iqn.2026-01.org.fuzz:b", isid_a), 1 };
    nexus[4] = (struct pr_sim_nexus){ pr_tid_fcp(0x2100001b32000001ull), 3 };
    nexus[5] = (struct pr_sim_nexus){ pr_tid_sas(0x5000c50000000001ull), 4 };
    nexus[6] = (struct pr_sim_nexus){ pr_tid_iscsi("iqn.2026-01.org.fuzz:observer", isid_a), 1 };
}

/* A PR IN from the observer, retried past unit attentions; false if never GOOD. */
static bool observe(struct pr_sim_lun *lun, uint8_t sa, uint8_t *out, uint32_t *len)
{
    uint8_t cdb[10] = { 0x5e, sa, 0, 0, 0, 0, 0, BUF >> 8, BUF & 0xff, 0 };
    struct pr_sim_result r;
    for (int i = 0; i < 16; i++) {
        memset(out, 0, BUF);
        pr_sim_execute(lun, &nexus[NNEXUS], cdb, sizeof(cdb), NULL, 0, out, BUF, &r);
        if (r.status == SCSI_STATUS_GOOD) {
            *len = r.data_len;
            return true;
        }
    }
    return false;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t keys_a[BUF / 8], keys_b[BUF / 8];

static void check_invariants(struct pr_sim_lun *lun, uint32_t *last_gen)
{
    static uint8_t rk[BUF], fs[BUF];
    uint32_t gen = pr_sim_generation(lun);
    CHECK(gen >= *last_gen);
    *last_gen = gen;

    size_t nreg = pr_sim_registration_count(lun);
    unsigned type = pr_sim_reservation_type(lun);
    size_t holders = 0;
    for (size_t i = 0; i < nreg; i++) {
        struct pr_sim_registration_view v;
        CHECK(pr_sim_registration_at(lun, i, &v));
        holders += v.holder;
    }
    if (type == PR_TYPE_NONE)
        CHECK(holders == 0);
    else if (pr_type_is_all_registrants(type))
        CHECK(nreg > 0 && holders == nreg);
    else
        CHECK(holders == 1);

    uint32_t rk_len, fs_len;
    if (!observe(lun, PR_IN_READ_KEYS, rk, &rk_len) ||
        !observe(lun, PR_IN_READ_FULL_STATUS, fs, &fs_len))
        return; /* a profile may refuse the observer; nothing to compare */
    CHECK(rk_len >= 8 && fs_len >= 8);
    uint32_t g1 = scsi_get_be32(rk), g2 = scsi_get_be32(fs);
    CHECK(g1 == gen && g2 == gen);
    uint32_t rk_add = scsi_get_be32(rk + 4);
    uint32_t fs_add = scsi_get_be32(fs + 4);
    if (rk_add + 8 > BUF || fs_add + 8 > BUF)
        return; /* truncated lists: not comparable in full */
    size_t nk = rk_add / 8;
    CHECK(nk == nreg);
    for (size_t i = 0; i < nk; i++)
        keys_a[i] = scsi_get_be64(rk + 8 + 8 * i);
    size_t nd = 0;
    for (uint32_t off = 8; off < 8 + fs_add;) {
        CHECK(off + 24 <= 8 + fs_add);
        uint32_t dlen = scsi_get_be32(fs + off + 20);
        CHECK(nd < nk);
        keys_b[nd++] = scsi_get_be64(fs + off);
        bool r_holder = fs[off + 12] & 1;
        if (r_holder)
            CHECK(type != PR_TYPE_NONE && (fs[off + 13] & 0x0f) == type);
        off += 24 + dlen;
    }
    CHECK(nd == nk);
    qsort(keys_a, nk, 8, cmp_u64);
    qsort(keys_b, nd, 8, cmp_u64);
    CHECK(memcmp(keys_a, keys_b, nk * 8) == 0);
}

struct snapshot {
    uint32_t gen;
    unsigned type;
    bool aptpl;
    size_t nreg;
    uint64_t keysum;
};

static struct snapshot snap(const struct pr_sim_lun *lun)
{
    struct snapshot s = { pr_sim_generation(lun), pr_sim_reservation_type(lun),
                          pr_sim_aptpl_active(lun), pr_sim_registration_count(lun), 0 };
    for (size_t i = 0; i < s.nreg; i++) {
        struct pr_sim_registration_view v;
        if (pr_sim_registration_at(lun, i, &v))
            s.keysum = s.keysum * 31 + v.key + (v.holder ? 7 : 0) + v.nexus.rtpi;
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[BUF];
    if (size < 1)
        return 0;
    if (!nexus[0].rtpi)
        init_nexuses();
    struct pr_sim_config cfg = {
        .profile = data[0] & 1 ? PR_SIM_PROFILE_LIO : PR_SIM_PROFILE_SPC4,
        .max_registrations = 64,
        .persist = persist,
    };
    fail_mask = (uint8_t)(data[0] & 0xfe);
    persist_calls = 0;
    struct pr_sim_lun *lun = pr_sim_lun_new(&cfg);
    if (!lun)
        return 0;
    pr_sim_lun_add_port(lun, 1, PR_TID_PROTO_ISCSI);
    pr_sim_lun_add_port(lun, 2, PR_TID_PROTO_ISCSI);
    uint32_t last_gen = 0;
    size_t off = 1;
    while (off + 13 <= size) {
        uint8_t op = data[off];
        const struct pr_sim_nexus *nx = &nexus[data[off + 1] % NNEXUS];
        uint8_t cdb[10];
        memcpy(cdb, data + off + 2, 10);
        size_t len = data[off + 12];
        off += 13;
        if (op % 16 == 14) {
            pr_sim_nexus_loss(lun, nx);
        } else if (op % 16 == 15) {
            pr_sim_power_cycle(lun); /* APTPL state survives, generation restarts */
            last_gen = 0;
        } else {
            /* Mostly PR IN/OUT (the opcode byte is steered), sometimes raw. */
            if (op & 0x80)
                cdb[0] = op & 0x40 ? 0x5f : 0x5e;
            if (len > size - off)
                len = size - off;
            const uint8_t *param = len ? data + off : NULL;
            if (cdb[0] == 0x5f && (op & 0x20)) {
                /* The CDB's parameter list length matches what is given. */
                cdb[5] = cdb[6] = 0;
                cdb[7] = (uint8_t)(len >> 8);
                cdb[8] = (uint8_t)len;
            }
            uint8_t *pcopy = len ? malloc(len) : NULL; /* exact size for ASan */
            if (len && !pcopy)
                break;
            if (len)
                memcpy(pcopy, param, len);
            struct snapshot before = snap(lun);
            persist_failed = false;
            struct pr_sim_result r;
            uint32_t alloc = (uint32_t)(op & 0x10 ? (op & 7) * 3 : BUF);
            pr_sim_execute(lun, nx, cdb, sizeof(cdb), pcopy, len, out, alloc, &r);
            CHECK(r.data_len <= alloc);
            if (persist_failed) {
                /* The command must have failed and changed nothing. */
                struct snapshot after = snap(lun);
                CHECK(r.status != SCSI_STATUS_GOOD);
                CHECK(before.gen == after.gen && before.type == after.type &&
                      before.aptpl == after.aptpl && before.nreg == after.nreg &&
                      before.keysum == after.keysum);
            }
            free(pcopy);
            off += len;
        }
        check_invariants(lun, &last_gen);
    }
    pr_sim_lun_free(lun);
    return 0;
}
