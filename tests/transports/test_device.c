/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_device.c - the device layer (device.h): what a client's fd is
 * (whole disk, multipath map over whole disks, part of a LUN), the cached
 * verdict, partial devices refused by the sg and mpath transports without
 * SG_IO (logged once per client, counted, --allow-partial-devices), and
 * the real system ops over a fake sysfs tree, also under the seccomp
 * filter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tu_text.h"
#include "dev_stubs.h"
#include "prh_test_util.h"
#include "prhelper/device.h"
#include "prhelper/metrics.h"
#include "prhelper/seccomp.h"

/* ---- a configurable fake system -------------------------------------------- */

#define DM_MAJOR 253

static struct {
    uint64_t seq;
    int seq_err;
    struct prh_dev_block_info bi;
    int bi_err;
    int table_err; /* 0: table readable */
    struct prh_dev_dm_table table;
    struct prh_dev_path paths[2];
    int npaths;
    int bi_calls, table_calls, sg_calls;
} fs;

static int f_sg_io(int fd, struct sg_io_hdr *h)
{
    (void)fd;
    fs.sg_calls++;
    h->status = 0;
    h->host_status = 0;
    h->driver_status = 0;
    h->sb_len_wr = 0;
    h->resid = 0;
    return 0;
}

static int f_disk_seq(int fd, uint64_t *seq)
{
    (void)fd;
    if (fs.seq_err)
        return -fs.seq_err;
    *seq = fs.seq;
    return 0;
}

static int f_block_info(dev_t dev, struct prh_dev_block_info *bi)
{
    (void)dev;
    fs.bi_calls++;
    *bi = fs.bi;
    return fs.bi_err ? -fs.bi_err : 0;
}

static int f_dm_table(dev_t dev, struct prh_dev_dm_table *t)
{
    (void)dev;
    fs.table_calls++;
    *t = fs.table;
    return fs.table_err ? -fs.table_err : 0;
}

static int f_list_paths(dev_t map, struct prh_dev_path *p, size_t max)
{
    (void)map;
    size_t n = (size_t)fs.npaths < max ? (size_t)fs.npaths : max;
    memcpy(p, fs.paths, n * sizeof(*p));
    return (int)n;
}

static const struct prh_dev_ops fake_ops = {
    f_sg_io,      f_disk_seq,     f_block_info,   f_dm_table,
    stub_dm_suspend, f_list_paths, stub_open_path, stub_close_path,
};

static void whole_path(int i, const char *name, unsigned minor_no)
{
    struct prh_dev_path *p = &fs.paths[i];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->dev = makedev(8, minor_no);
    p->running = true;
    p->sectors = 2048;
}

static int setup(void **state)
{
    (void)state;
    memset(&fs, 0, sizeof(fs));
    fs.seq = 10;
    fs.bi.sectors = 2048;
    fs.table_err = EACCES; /* sg: tables cannot be read */
    dev_stubs_install(&fake_ops);
    return 0;
}

static struct stat blk(unsigned ma, unsigned mi)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFBLK | 0660;
    st.st_rdev = makedev(ma, mi);
    return st;
}

static enum prh_dev_kind kind_of(struct stat st, struct prh_dev_class *c)
{
    assert_int_equal(prh_dev_classify(3, &st, c), 0);
    return c->kind;
}

static void dm(const char *uuid)
{
    fs.bi.dm = true;
    snprintf(fs.bi.dm_uuid, sizeof(fs.bi.dm_uuid), "%s", uuid);
}

/* ---- classification ---------------------------------------------------------- */

static void test_device_whole_disk_and_sg_node(void **state)
{
    (void)state;
    struct prh_dev_class c;
    assert_int_equal(kind_of(blk(8, 16), &c), PRH_DEV_DISK);
    assert_true(c.seq_known);
    struct stat sg = blk(PRH_SCSI_GENERIC_MAJOR, 1);
    sg.st_mode = S_IFCHR | 0600;
    fs.bi_calls = 0;
    assert_int_equal(kind_of(sg, &c), PRH_DEV_DISK);
    assert_int_equal(fs.bi_calls, 0); /* an sg node is always a whole device */
    struct stat null = blk(1, 3);
    null.st_mode = S_IFCHR | 0666;
    assert_int_equal(kind_of(null, &c), PRH_DEV_NOT_SCSI);
    struct stat reg = blk(0, 0);
    reg.st_mode = S_IFREG | 0600;
    assert_int_equal(kind_of(reg, &c), PRH_DEV_NOT_SCSI);
}

static void test_device_partition_is_partial(void **state)
{
    (void)state;
    fs.bi.partition = true;
    struct prh_dev_class c;
    assert_int_equal(kind_of(blk(8, 17), &c), PRH_DEV_PARTIAL);
    assert_string_equal(c.why, "a partition");
}

static void test_device_lv_crypt_and_unknown_dm_are_partial(void **state)
{
    (void)state;
    struct prh_dev_class c;
    dm("LVM-abcdefAbCdEf");
    assert_int_equal(kind_of(blk(DM_MAJOR, 1), &c), PRH_DEV_PARTIAL);
    assert_string_equal(c.why, "an LVM logical volume");
    prh_dev_cache_flush();
    dm("CRYPT-LUKS2-0123-cr");
    assert_int_equal(kind_of(blk(DM_MAJOR, 2), &c), PRH_DEV_PARTIAL);
    assert_string_equal(c.why, "a dm-crypt device");
    prh_dev_cache_flush();
    dm(""); /* dmsetup create without --uuid, table unreadable (sg) */
    assert_int_equal(kind_of(blk(DM_MAJOR, 3), &c), PRH_DEV_PARTIAL);
    assert_non_null(strstr(c.why, "cannot be read here"));
}

static void test_device_table_decides_when_readable(void **state)
{
    (void)state;
    struct prh_dev_class c;
    fs.table_err = 0;
    fs.table.targets = 1;
    fs.table.length = 2048;
    snprintf(fs.table.type, sizeof(fs.table.type), "linear");
    dm("mpath-looks-like-one"); /* the uuid lies; the table does not */
    assert_int_equal(kind_of(blk(DM_MAJOR, 4), &c), PRH_DEV_PARTIAL);
    assert_non_null(strstr(c.why, "linear"));
    prh_dev_cache_flush();
    /* A multipath table made by hand, no uuid: a map. */
    snprintf(fs.table.type, sizeof(fs.table.type), "multipath");
    dm("");
    whole_path(0, "sdb", 16);
    whole_path(1, "sdc", 32);
    fs.npaths = 2;
    assert_int_equal(kind_of(blk(DM_MAJOR, 5), &c), PRH_DEV_MULTIPATH);
    prh_dev_cache_flush();
    /* ...but a multipath target over part of the map, or two targets: not. */
    fs.table.length = 1024;
    assert_int_equal(kind_of(blk(DM_MAJOR, 6), &c), PRH_DEV_PARTIAL);
    prh_dev_cache_flush();
    fs.table.length = 2048;
    fs.table.targets = 2;
    assert_int_equal(kind_of(blk(DM_MAJOR, 7), &c), PRH_DEV_PARTIAL);
}

static void test_device_multipath_by_uuid_over_whole_disks(void **state)
{
    (void)state;
    struct prh_dev_class c;
    dm("mpath-36001405abc");
    whole_path(0, "sdb", 16);
    whole_path(1, "sdc", 32);
    fs.npaths = 2;
    assert_int_equal(kind_of(blk(DM_MAJOR, 0), &c), PRH_DEV_MULTIPATH);
    assert_string_equal(c.dm_uuid, "mpath-36001405abc");
    prh_dev_cache_flush();
    fs.paths[1].partition = true; /* a "multipath" map over sdc1 */
    assert_int_equal(kind_of(blk(DM_MAJOR, 0), &c), PRH_DEV_PARTIAL);
    assert_non_null(strstr(c.why, "sdc"));
    prh_dev_cache_flush();
    fs.paths[1].partition = false;
    fs.paths[1].sectors = 4096; /* covers part of a bigger disk */
    assert_int_equal(kind_of(blk(DM_MAJOR, 0), &c), PRH_DEV_PARTIAL);
}

static void test_device_verdict_cached_per_dev_and_sequence_number(void **state)
{
    (void)state;
    struct prh_dev_class c;
    fs.bi.partition = true;
    kind_of(blk(8, 17), &c);
    kind_of(blk(8, 17), &c);
    assert_int_equal(fs.bi_calls, 1);
    /* The dev_t names another disk now: probed again. */
    fs.seq = 11;
    fs.bi.partition = false;
    assert_int_equal(kind_of(blk(8, 17), &c), PRH_DEV_DISK);
    assert_int_equal(fs.bi_calls, 2);
    /* Without a sequence number (old kernel, O_PATH fd) nothing is cached. */
    fs.seq_err = ENOTTY;
    kind_of(blk(8, 17), &c);
    kind_of(blk(8, 17), &c);
    assert_int_equal(fs.bi_calls, 4);
    assert_false(c.seq_known);
}

static void test_device_dm_probe_only_for_device_mapper(void **state)
{
    (void)state;
    struct prh_dev_class c;
    fs.table_err = 0;
    kind_of(blk(8, 32), &c);
    assert_int_equal(fs.table_calls, 0);
    dm("mpath-x");
    fs.table.targets = 1;
    fs.table.length = 2048;
    snprintf(fs.table.type, sizeof(fs.table.type), "multipath");
    kind_of(blk(DM_MAJOR, 9), &c);
    assert_int_equal(fs.table_calls, 1);
}

static void test_device_probe_failure_is_an_error(void **state)
{
    (void)state;
    fs.bi_err = EACCES;
    struct stat st = blk(8, 16);
    struct prh_dev_class c;
    assert_int_equal(prh_dev_classify(3, &st, &c), -EACCES);
}

/* ---- the transports refuse partial devices --------------------------------- */

static struct prh_reply rep;

static void run_on(const struct prh_transport *t, void *ts, void *nexus, struct stat st)
{
    uint8_t cdb[10] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 16 };
    struct prh_request req;
    memset(&req, 0, sizeof(req));
    memcpy(req.cdb, cdb, 10);
    req.xfer_len = 16;
    req.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    prh_transport_execute_st(t, ts, nexus, &req, &st, 0, &rep, NULL);
    close(req.fd);
}

/* stderr of fn(), captured. */
static char captured[8192];
static void capture(void (*fn)(void))
{
    char path[] = "/tmp/prh-device-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    memset(captured, 0, sizeof(captured));
    assert_true(pread(fd, captured, sizeof(captured) - 1, 0) >= 0);
    close(fd);
    unlink(path);
}

static int occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static struct prh_metrics *metrics;
static const struct prh_transport *cur_t;

static void two_clients_two_requests_each(void)
{
    struct prh_transport_options o = { .multipathd_socket = "none", .metrics = metrics };
    void *ts;
    char err[64];
    assert_int_equal(cur_t->init(&o, &ts, err, sizeof(err)), 0);
    prh_dev_set_ops(&fake_ops);
    struct prh_peer peer = { .serial = 7, .has_cred = true, .pid = 1234, .uid = 107 };
    for (int client = 0; client < 2; client++) {
        void *n = cur_t->nexus_new(ts, &peer);
        run_on(cur_t, ts, n, blk(8, 17));
        run_on(cur_t, ts, n, blk(8, 17));
        cur_t->nexus_free(ts, n);
        peer.serial++;
    }
    cur_t->fini(ts);
}

static void test_device_partition_refused_without_sg_io_logged_once_per_client(void **state)
{
    (void)state;
    fs.bi.partition = true;
    metrics = prh_metrics_new("sg");
    const struct prh_transport *ts[] = { &prh_transport_sg, &prh_transport_mpath };
    for (size_t i = 0; i < 2; i++) {
        cur_t = ts[i];
        fs.sg_calls = 0;
        capture(two_clients_two_requests_each);
        assert_int_equal(fs.sg_calls, 0);
        assert_int_equal(rep.status, SCSI_STATUS_CHECK_CONDITION);
        struct scsi_sense s;
        assert_true(scsi_sense_decode(rep.sense, sizeof(rep.sense), &s));
        assert_int_equal(s.key, SCSI_SENSE_ILLEGAL_REQUEST);
        assert_int_equal(s.asc, 0x20);
        assert_int_equal(s.ascq, 0x00);
        assert_int_equal(occurrences(captured, "a partition"), 2); /* once per client */
        tu_assert_contains(captured, "pid 1234, uid 107", "--allow-partial-devices");
    }
    size_t len;
    char *text = prh_metrics_render(metrics, &len);
    assert_non_null(strstr(text, "prhelper_partial_device_refusals_total 8\n"));
    free(text);
    prh_metrics_free(metrics);
    metrics = NULL;
}

static void test_device_allow_partial_devices_sends_sg_io_as_qemu_pr_helper(void **state)
{
    (void)state;
    dm("LVM-abc");
    struct prh_transport_options o = { .multipathd_socket = "none",
                                       .allow_partial_devices = true };
    void *ts;
    char err[64];
    assert_int_equal(prh_transport_sg.init(&o, &ts, err, sizeof(err)), 0);
    prh_dev_set_ops(&fake_ops);
    void *n = prh_transport_sg.nexus_new(ts, NULL);
    run_on(&prh_transport_sg, ts, n, blk(DM_MAJOR, 3));
    assert_int_equal(rep.status, SCSI_STATUS_GOOD);
    assert_int_equal(fs.sg_calls, 1);
    prh_transport_sg.nexus_free(ts, n);
    prh_transport_sg.fini(ts);
}

/* ---- the real system ops over a fake sysfs tree ------------------------------ */

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
    snprintf(troot, sizeof(troot), "/tmp/prh-device-test-XXXXXX");
    assert_non_null(mkdtemp(troot));
    prh_dev_set_roots(troot, troot, troot);
}

static void remove_tree(void)
{
    tu_rm_rf(troot);
    prh_dev_set_roots(NULL, NULL, NULL);
}

static void build_map_tree(void)
{
    put_file("dev/block/253:1/size", "2048\n");
    put_file("dev/block/253:1/dm/uuid", "mpath-3600140512345\n");
    put_file("dev/block/253:2/size", "1024\n");
    put_file("dev/block/253:2/dm/uuid", "LVM-abcdef\n");
    put_file("dev/block/8:17/size", "1000\n");
    put_file("dev/block/8:17/partition", "1\n");
    put_file("dev/block/253:1/slaves/sdaa", "");
    put_file("dev/block/253:1/slaves/sdc", "");
    put_file("dev/block/253:1/slaves/sdb", "");
    put_file("dev/block/253:1/slaves/sdgone", "");
    put_file("class/block/sdaa/dev", "65:160\n");
    put_file("class/block/sdaa/size", "2048\n");
    put_file("class/block/sdaa/device/state", "running\n");
    put_file("class/block/sdaa/device/wwid", "naa.6001405abc\n");
    put_file("class/block/sdb/dev", "8:16\n");
    put_file("class/block/sdb/device/state", "offline\n");
    put_file("class/block/sdc/dev", "8:32\n"); /* no state attribute: usable */
    put_file("class/block/sdc/partition", "1\n");
}

static void test_device_system_block_info_and_paths(void **state)
{
    (void)state;
    prh_dev_set_ops(NULL);
    make_tree();
    build_map_tree();
    struct prh_dev_block_info bi;
    assert_int_equal(prh_dev_system_ops.block_info(makedev(253, 1), &bi), 0);
    assert_true(bi.dm && !bi.partition);
    assert_string_equal(bi.dm_uuid, "mpath-3600140512345");
    assert_int_equal(bi.sectors, 2048);
    assert_int_equal(prh_dev_system_ops.block_info(makedev(8, 17), &bi), 0);
    assert_true(bi.partition && !bi.dm);
    assert_int_equal(prh_dev_system_ops.block_info(makedev(4095, 4095), &bi), -ENOENT);
    struct prh_dev_path p[4];
    assert_int_equal(prh_dev_system_ops.list_paths(makedev(253, 1), p, 4), 3);
    assert_string_equal(p[0].name, "sdb");
    assert_false(p[0].running);
    assert_true(p[0].dev == makedev(8, 16));
    assert_string_equal(p[1].name, "sdc");
    assert_true(p[1].running);
    assert_true(p[1].partition);
    assert_string_equal(p[2].name, "sdaa");
    assert_int_equal(p[2].sectors, 2048);
    assert_string_equal(p[2].wwid, "naa.6001405abc");
    /* More paths than room: the rest are ignored. */
    assert_int_equal(prh_dev_system_ops.list_paths(makedev(253, 1), p, 1), 1);
    assert_int_equal(prh_dev_system_ops.list_paths(makedev(4095, 4095), p, 1), -ENOENT);
    remove_tree();
}

static void test_device_system_dm_major_from_proc_devices(void **state)
{
    (void)state;
    make_tree();
    put_file("devices", "Character devices:\n  1 mem\n 21 sg\n\nBlock devices:\n"
                        "  8 sd\n252 device-mapper-not\n254 device-mapper\n");
    prh_dev_init(false);
    assert_int_equal(prh_dev_dm_major(), 254);
    put_file("devices", "Character devices:\n  1 mem\n\nBlock devices:\n  8 sd\n");
    prh_dev_init(false);
    assert_int_equal(prh_dev_dm_major(), 0);
    /* No control node here: tables cannot be read, maps not suspended. */
    prh_dev_init(true);
    struct prh_dev_dm_table t;
    assert_int_equal(prh_dev_system_ops.dm_table(makedev(253, 1), &t), -ENOSYS);
    assert_int_equal(prh_dev_system_ops.dm_suspend(makedev(253, 1), true), -ENOSYS);
    prh_dev_fini();
    remove_tree();
}

static void test_device_system_open_path_never_another_device(void **state)
{
    (void)state;
    make_tree();
    put_file("sdb", "not a disk");
    struct prh_dev_path p = { .name = "sdb", .dev = makedev(8, 16), .running = true };
    assert_int_equal(prh_dev_system_ops.open_path(&p), -ENODEV);
    snprintf(p.name, sizeof(p.name), "no-such-path");
    assert_int_equal(prh_dev_system_ops.open_path(&p), -ENOENT);
    remove_tree();
}

/* Under the sg filter: sysfs and path nodes can be read, nothing created,
 * and the verdict of a real classification is right. */
static void test_device_system_ops_work_under_the_sg_filter(void **state)
{
    (void)state;
    prh_dev_set_ops(NULL);
    make_tree();
    build_map_tree();
    char created[128];
    snprintf(created, sizeof(created), "%s/new-file", troot);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[128];
        struct prh_seccomp_config cfg = { .transport = "sg" };
        if (prh_seccomp_install(&cfg, err, sizeof(err)) < 0)
            _exit(10);
        struct prh_dev_path p[4];
        if (prh_dev_system_ops.list_paths(makedev(253, 1), p, 4) != 3)
            _exit(12);
        struct stat st = blk(253, 2);
        struct prh_dev_class c;
        if (prh_dev_classify(-1, &st, &c) != 0 || c.kind != PRH_DEV_PARTIAL)
            _exit(13);
        st = blk(8, 17);
        if (prh_dev_classify(-1, &st, &c) != 0 || c.kind != PRH_DEV_PARTIAL)
            _exit(14);
        int fd = open(created, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        /* Sanitizer and coverage builds may write files (reports). */
        if (prh_seccomp_allows(&cfg, "openat"))
            _exit(fd >= 0 ? 0 : 15);
        _exit(fd < 0 && errno == EPERM ? 0 : 16);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    remove_tree();
}

static void test_device_syscall_list_names_what_the_layer_uses(void **state)
{
    (void)state;
    const char *need[] = { "openat", "getdents64", "read", "close", "connect", "nanosleep" };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        bool found = false;
        for (const char *const *p = prh_dev_syscalls; *p; p++)
            found = found || strcmp(*p, need[i]) == 0;
        if (!found)
            fail_msg("%s missing from prh_dev_syscalls", need[i]);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, dev_stubs_teardown)
    const struct CMUnitTest tests[] = {
        T(test_device_whole_disk_and_sg_node),
        T(test_device_partition_is_partial),
        T(test_device_lv_crypt_and_unknown_dm_are_partial),
        T(test_device_table_decides_when_readable),
        T(test_device_multipath_by_uuid_over_whole_disks),
        T(test_device_verdict_cached_per_dev_and_sequence_number),
        T(test_device_dm_probe_only_for_device_mapper),
        T(test_device_probe_failure_is_an_error),
        T(test_device_partition_refused_without_sg_io_logged_once_per_client),
        T(test_device_allow_partial_devices_sends_sg_io_as_qemu_pr_helper),
        T(test_device_system_block_info_and_paths),
        T(test_device_system_dm_major_from_proc_devices),
        T(test_device_system_open_path_never_another_device),
        T(test_device_system_ops_work_under_the_sg_filter),
        T(test_device_syscall_list_names_what_the_layer_uses),
    };
    return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
