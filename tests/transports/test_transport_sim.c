/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_transport_sim.c - the sim transport: LUN and nexus identity, APTPL files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim_table.h"
#include "sim_transport_fixture.h"
#include "prhelper/log.h"
#include "prhelper/pr_sim_store.h"
#include "prhelper/transport.h"

static const struct prh_transport *T = &prh_transport_sim;

/* The sim transport fixture (tests/helpers/sim_transport_fixture.h), spc4,
 * its state two directories down (made by init). */
static void init_spc4(struct stfx *f)
{
    stfx_init(f, (struct prh_transport_options){ .sim_profile = "spc4" });
}

static int setup(void **state)
{
    struct stfx *f = stfx_new();
    snprintf(f->state, sizeof(f->state), "%s/state/sub", f->dir);
    init_spc4(f);
    *state = f;
    return 0;
}

/* A nexus of pid 4321 with the abstract address addr (NULL: none). */
#define nexus_named(st, addr, serial) stfx_nexus((st), (addr), (serial), 4321)
#define prout stfx_prout

static struct prh_reply *prin(struct stfx *f, void *nexus, const char *path, uint8_t sa)
{
    stfx_prin(f, nexus, path, sa);
    return &f->reply;
}

static void describe(void *st, void *nexus, char *buf, size_t len)
{
    T->nexus_describe(st, nexus, buf, len);
}

/* ---- LUN identity ------------------------------------------------------- */

static void test_sim_same_file_two_fds_same_lun(void **state)
{
    struct stfx *f = *state;
    void *n = nexus_named(f->st, NULL, 1);
    assert_int_equal(prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 9, 0), 0);
    struct prh_reply *r = prin(f, n, f->disk, PR_IN_READ_KEYS);
    assert_true(tu_has_key(r, 9));
    T->nexus_free(f->st, n);
}

static void test_sim_different_files_different_luns(void **state)
{
    struct stfx *f = *state;
    void *n = nexus_named(f->st, NULL, 1);
    assert_int_equal(prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 9, 0), 0);
    struct prh_reply *r = prin(f, n, f->disk_b, PR_IN_READ_KEYS);
    assert_int_equal(tu_key_count(r), 0);
    T->nexus_free(f->st, n);
}

static void test_sim_hard_link_is_same_lun(void **state)
{
    struct stfx *f = *state;
    char link_path[400];
    snprintf(link_path, sizeof(link_path), "%s/a-link", f->dir);
    assert_int_equal(link(f->disk, link_path), 0);
    void *n = nexus_named(f->st, NULL, 1);
    assert_int_equal(prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 3, 0), 0);
    assert_true(tu_has_key(prin(f, n, link_path, PR_IN_READ_KEYS), 3));
    T->nexus_free(f->st, n);
}

static void test_sim_bad_fd_is_aborted_command(void **state)
{
    struct stfx *f = *state;
    static struct prh_reply reply;
    void *n = nexus_named(f->st, NULL, 1);
    struct prh_request req = { .fd = 999, .xfer_len = 8 };
    tu_cdb_prin(req.cdb, PR_IN_READ_KEYS, 8);
    prh_transport_execute(T, f->st, n, &req, &reply);
    assert_int_equal(reply.status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(reply.sense[2], SCSI_SENSE_ABORTED_COMMAND);
    T->nexus_free(f->st, n);
}

/* ---- nexus identity ----------------------------------------------------- */

static void test_sim_default_nexus_per_connection(void **state)
{
    struct stfx *f = *state;
    char d1[300], d2[300];
    void *n1 = nexus_named(f->st, NULL, 1), *n2 = nexus_named(f->st, NULL, 2);
    describe(f->st, n1, d1, sizeof(d1));
    describe(f->st, n2, d2, sizeof(d2));
    assert_string_equal(d1, "iqn.2026-01.org.prhelper.sim:pid.4321,i,0x800000000001@1");
    assert_string_equal(d2, "iqn.2026-01.org.prhelper.sim:pid.4321,i,0x800000000002@1");
    /* Two connections are two nexuses: the second is not registered. */
    assert_int_equal(prout(f, n1, f->disk, PR_OUT_REGISTER, 0, 0, 1, 0), 0);
    assert_int_equal(prout(f, n2, f->disk, PR_OUT_RESERVE, PR_TYPE_WE, 1, 0, 0),
                     SCSI_STATUS_RESERVATION_CONFLICT);
    T->nexus_free(f->st, n1);
    T->nexus_free(f->st, n2);
}

/* A client's I_T nexus: its name from its peer address (docs/daemon.md,
 * "The sim transport"): the table of addresses and the names they give. */
#define NEXUS_NAMES "docs/daemon.md, I_T nexus scheme"

struct name_rule {
    struct th_rule_id id;
    const char *addr; /* the peer's abstract address; NULL: none */
    bool cred;        /* SO_PEERCRED known (pid 4321) */
    uint64_t serial;
    const char *want;  /* the whole name */
    const char *within; /* or a part of it */
};

#define FALLS_BACK(row, addr_)                                                                   \
    { { row, NEXUS_NAMES }, addr_, true, 3, NULL, ":pid.4321,i,0x800000000003@1" }

static const struct name_rule name_rules[] = {
    { { "sim_default_nexus_without_credentials", NEXUS_NAMES }, NULL, false, 7,
      "iqn.2026-01.org.prhelper.sim:anonymous,i,0x800000000007@1", NULL },
    { { "sim_chosen_identity_short_word", NEXUS_NAMES }, "@prhelper-nexus:Host_A/123.0", true, 1,
      "iqn.2026-01.org.prhelper.sim:host-a,i,0x800000000001@1", NULL },
    { { "sim_chosen_identity_iscsi_name_and_port", NEXUS_NAMES },
      "@prhelper-nexus:iqn.1994-05.com.example:node1@2/9", true, 1,
      "iqn.1994-05.com.example:node1,i,0x800000000001@2", NULL },
    FALLS_BACK("sim_chosen_identity_port_0_falls_back", "@prhelper-nexus:a@0"),
    FALLS_BACK("sim_chosen_identity_port_70000_falls_back", "@prhelper-nexus:a@70000"),
    FALLS_BACK("sim_chosen_identity_empty_falls_back", "@prhelper-nexus:"),
    FALLS_BACK("sim_chosen_identity_port_not_a_number_falls_back", "@prhelper-nexus:a@x"),
    FALLS_BACK("sim_other_abstract_address_falls_back", "@other:a"),
    FALLS_BACK("sim_bound_path_falls_back", "/tmp/bound-path"),
};

static void test_name_rule(void **state)
{
    const struct name_rule *r = *state;
    struct stfx *f = stfx_new();
    char d[300];
    init_spc4(f);
    struct prh_peer peer = { .serial = r->serial, .has_cred = r->cred, .pid = r->cred ? 4321 : 0 };
    if (r->addr) {
        snprintf(peer.addr, sizeof(peer.addr), "%s", r->addr);
        peer.addr_len = strlen(peer.addr);
    }
    void *n = T->nexus_new(f->st, &peer);
    describe(f->st, n, d, sizeof(d));
    if (r->want ? strcmp(d, r->want) != 0 : strstr(d, r->within) == NULL)
        fail_msg("%s: the nexus is named '%s', want %s'%s'", r->id.name, d,
                 r->want ? "" : "a name with ", r->want ? r->want : r->within);
    T->nexus_free(f->st, n);
    stfx_free(f);
}

static void test_sim_chosen_identity_same_nexus_across_connections(void **state)
{
    struct stfx *f = *state;
    void *n1 = nexus_named(f->st, "@prhelper-nexus:a/1", 1);
    assert_int_equal(prout(f, n1, f->disk, PR_OUT_REGISTER, 0, 0, 1, 0), 0);
    T->nexus_free(f->st, n1);
    void *n2 = nexus_named(f->st, "@prhelper-nexus:A/2", 2);
    assert_int_equal(prout(f, n2, f->disk, PR_OUT_RESERVE, PR_TYPE_WE, 1, 0, 0), 0);
    T->nexus_free(f->st, n2);
}

/* ---- APTPL -------------------------------------------------------------- */

static void restart(struct stfx *f)
{
    stfx_fini(f);
    init_spc4(f);
}

/* Each row: REGISTER commands of host a (key change, APTPL bit), a
 * restart of the transport, and the keys it reads then: the file store
 * keeps what APTPL asked for (SPC-4 5.14.5; the last APTPL decides). */
struct restart_rule {
    struct th_rule_id id;
    struct {
        uint64_t rk, sark;
        uint8_t flags;
    } reg[2]; /* sark 0 ends them */
    uint32_t keys_after;
    uint64_t key_after;
};

#define KEEPS "SPC-4 5.14.5 (sim transport file store)"

static const struct restart_rule restart_rules[] = {
    { { "sim_aptpl_state_survives_restart", KEEPS }, { { 0, 0xabc, PR_OUT_FLAG_APTPL } }, 1,
      0xabc },
    { { "sim_no_aptpl_nothing_survives_restart", KEEPS }, { { 0, 0xabc, 0 } }, 0, 0 },
    { { "sim_aptpl_turned_off_nothing_survives", KEEPS },
      { { 0, 1, PR_OUT_FLAG_APTPL }, { 1, 2, 0 } }, 0, 0 },
};

static void test_restart_rule(void **state)
{
    const struct restart_rule *r = *state;
    void *fx;
    setup(&fx);
    struct stfx *f = fx;
    void *n = nexus_named(f->st, "@prhelper-nexus:a", 1);
    for (size_t i = 0; i < 2 && r->reg[i].sark; i++)
        if (prout(f, n, f->disk, PR_OUT_REGISTER, 0, r->reg[i].rk, r->reg[i].sark,
                  r->reg[i].flags) != 0)
            fail_msg("%s: REGISTER %zu was not GOOD", r->id.name, i + 1);
    T->nexus_free(f->st, n);
    restart(f);
    n = nexus_named(f->st, "@prhelper-nexus:a", 1);
    struct prh_reply *keys = prin(f, n, f->disk, PR_IN_READ_KEYS);
    if (tu_key_count(keys) != r->keys_after || (r->key_after && !tu_has_key(keys, r->key_after)))
        fail_msg("%s: %u keys after the restart, want %u", r->id.name, tu_key_count(keys),
                 r->keys_after);
    T->nexus_free(f->st, n);
    stfx_teardown(&fx);
}

/* Path of disk's state file, and its directory listing entries starting with it. */
static void state_file_of(struct stfx *f, const char *disk, char *path, size_t len)
{
    struct stat sb;
    char name[64];
    assert_int_equal(stat(disk, &sb), 0);
    snprintf(name, sizeof(name), "file-%llx-%llu", (unsigned long long)sb.st_dev,
             (unsigned long long)sb.st_ino);
    assert_int_equal(pr_sim_store_path(f->state, name, path, len), 0);
}

static void test_sim_corrupt_state_file_ignored(void **state)
{
    struct stfx *f = *state;
    char path[600];
    void *n = nexus_named(f->st, "@prhelper-nexus:a", 1);
    assert_int_equal(prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 1, PR_OUT_FLAG_APTPL), 0);
    T->nexus_free(f->st, n);
    /* Find the file the store wrote and damage it. */
    state_file_of(f, f->disk, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "garbage", 7), 7);
    close(fd);
    restart(f);
    n = nexus_named(f->st, "@prhelper-nexus:a", 1);
    assert_int_equal(tu_key_count(prin(f, n, f->disk, PR_IN_READ_KEYS)), 0);
    T->nexus_free(f->st, n);
}

static int count_kept_aside(const char *path, char *found, size_t len)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    const char *base = slash + 1;
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, base, strlen(base)) == 0 &&
            strncmp(e->d_name + strlen(base), ".corrupt-", 9) == 0) {
            if ((size_t)snprintf(found, len, "%s/%.*s", dir, (int)(len / 2), e->d_name) >= len)
                found[0] = '\0';
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

static void test_sim_corrupt_state_file_kept_aside_not_replaced(void **state)
{
    struct stfx *f = *state;
    char path[600], aside[800], buf[16] = "";
    struct stat sb;
    void *n = nexus_named(f->st, "@prhelper-nexus:a", 1);
    assert_int_equal(prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 1, PR_OUT_FLAG_APTPL), 0);
    T->nexus_free(f->st, n);
    state_file_of(f, f->disk, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "garbage", 7), 7);
    close(fd);
    restart(f);
    n = nexus_named(f->st, "@prhelper-nexus:a", 1);
    assert_int_equal(tu_key_count(prin(f, n, f->disk, PR_IN_READ_KEYS)), 0);
    /* The damaged file was moved aside, intact, before anything could replace it. */
    assert_int_not_equal(stat(path, &sb), 0);
    assert_int_equal(count_kept_aside(path, aside, sizeof(aside)), 1);
    fd = open(aside, O_RDONLY);
    assert_int_equal(read(fd, buf, sizeof(buf)), 7);
    close(fd);
    assert_memory_equal(buf, "garbage", 7);
    /* New APTPL state goes to a new file; the kept-aside one stays. */
    assert_int_equal(prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 2, PR_OUT_FLAG_APTPL), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(count_kept_aside(path, aside, sizeof(aside)), 1);
    T->nexus_free(f->st, n);
}

static void test_sim_unmovable_bad_state_blocks_aptpl_writes(void **state)
{
    struct stfx *f = *state;
    char path[600];
    struct stat sb;
    /* A directory where the state file should be: unusable, and link() cannot move it. */
    state_file_of(f, f->disk, path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
    void *n = nexus_named(f->st, "@prhelper-nexus:a", 1);
    assert_int_equal(prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 1, PR_OUT_FLAG_APTPL),
                     SCSI_STATUS_CHECK_CONDITION);
    /* Memory agrees with disk: not registered.  The directory is untouched. */
    assert_int_equal(tu_key_count(prin(f, n, f->disk, PR_IN_READ_KEYS)), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    /* Without APTPL nothing is written: the LUN works. */
    assert_int_equal(prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 1, 0), 0);
    T->nexus_free(f->st, n);
}

static void test_sim_unwritable_state_dir_fails_command(void **state)
{
    struct stfx *f = *state;
    char dir[400];
    /* A state dir that vanishes: the APTPL write fails, the command too. */
    snprintf(dir, sizeof(dir), "%s/gone", f->dir);
    stfx_fini(f);
    stfx_init(f, (struct prh_transport_options){ .state_dir = dir });
    assert_int_equal(rmdir(dir), 0);
    void *n = nexus_named(f->st, NULL, 1);
    int status = prout(f, n, f->disk, PR_OUT_REGISTER, 0, 0, 1, PR_OUT_FLAG_APTPL);
    assert_int_not_equal(status, SCSI_STATUS_GOOD);
    T->nexus_free(f->st, n);
}

/* ---- init --------------------------------------------------------------- */

static void test_sim_init_rejects_unknown_profile(void **state)
{
    stfx_init_fails(*state, (struct prh_transport_options){ .sim_profile = "scsi2" }, -EINVAL,
                    "unknown simulator profile 'scsi2'");
}

static void test_sim_init_rejects_relative_state_dir(void **state)
{
    stfx_init_fails(*state, (struct prh_transport_options){ .state_dir = "rel" }, -EINVAL,
                    "absolute");
}

static void test_sim_init_reports_uncreatable_state_dir(void **state)
{
    struct stfx *f = *state;
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/sub", f->disk); /* below a regular file */
    stfx_init_fails(f, (struct prh_transport_options){ .state_dir = dir }, 0,
                    "cannot create state directory");
}

static void test_sim_init_lio_profile(void **state)
{
    struct stfx *f = *state;
    stfx_fini(f);
    stfx_init(f, (struct prh_transport_options){ .sim_profile = "lio", .chown_state = true,
                                                  .owner_uid = getuid(), .owner_gid = getgid() });
    void *n = nexus_named(f->st, NULL, 1);
    assert_int_equal(prin(f, n, f->disk, PR_IN_REPORT_CAPABILITIES)->status, 0);
    T->nexus_free(f->st, n);
}

static void test_sim_descriptor_fields(void **state)
{
    (void)state;
    assert_int_equal(T->struct_size, sizeof(struct prh_transport));
    assert_int_equal(T->api_version, PRH_TRANSPORT_API_VERSION);
    assert_string_equal(T->name, "sim");
    assert_true(T->available);
    assert_int_equal(T->capabilities, 0);
}

static void test_sim_preempt_and_abort_through_transport(void **state)
{
    struct stfx *f = *state;
    void *a = nexus_named(f->st, "@prhelper-nexus:a", 1);
    void *b = nexus_named(f->st, "@prhelper-nexus:b", 2);
    assert_int_equal(prout(f, a, f->disk, PR_OUT_REGISTER, 0, 0, 0xa, 0), 0);
    assert_int_equal(prout(f, b, f->disk, PR_OUT_REGISTER, 0, 0, 0xb, 0), 0);
    assert_int_equal(prout(f, a, f->disk, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0, 0), 0);
    assert_int_equal(prout(f, a, f->disk, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_WE_RO, 0xa, 0xb,
                           0),
                     0);
    struct prh_reply *r = prin(f, a, f->disk, PR_IN_READ_KEYS);
    assert_int_equal(tu_key_count(r), 1);
    /* b learns it was preempted through a unit attention. */
    r = prin(f, b, f->disk, PR_IN_READ_KEYS);
    assert_int_equal(r->status, SCSI_STATUS_CHECK_CONDITION);
    assert_int_equal(r->sense[2], SCSI_SENSE_UNIT_ATTENTION);
    T->nexus_free(f->st, a);
    T->nexus_free(f->st, b);
}

#define TT(f) cmocka_unit_test_setup_teardown(f, setup, stfx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TT(test_sim_same_file_two_fds_same_lun),
        TT(test_sim_different_files_different_luns),
        TT(test_sim_hard_link_is_same_lun),
        TT(test_sim_bad_fd_is_aborted_command),
        TT(test_sim_default_nexus_per_connection),
        TT(test_sim_chosen_identity_same_nexus_across_connections),
        TT(test_sim_corrupt_state_file_ignored),
        TT(test_sim_corrupt_state_file_kept_aside_not_replaced),
        TT(test_sim_unmovable_bad_state_blocks_aptpl_writes),
        TT(test_sim_unwritable_state_dir_fails_command),
        TT(test_sim_init_rejects_unknown_profile),
        TT(test_sim_init_rejects_relative_state_dir),
        TT(test_sim_init_reports_uncreatable_state_dir),
        TT(test_sim_init_lio_profile),
        TT(test_sim_descriptor_fields),
        TT(test_sim_preempt_and_abort_through_transport),
    };
    const struct th_table tables[] = {
        TH_TABLE(test_name_rule, name_rules),
        TH_TABLE(test_restart_rule, restart_rules),
    };
    return th_run_tables("transport_sim", tables, TH_COUNT(tables), tests, TH_COUNT(tests));
}
