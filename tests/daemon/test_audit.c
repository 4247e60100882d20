/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_audit.c - the audit trail: record fields, renderings, sinks, and
 * the records the server writes for fences and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "tu_text.h"
#include "ops_fixture.h"

/* ---- a client process with a QEMU-like command line -------------------------- */

/*
 * Re-executed as "test_audit -name guest=NAME,debug-threads=on" with
 * PRH_TEST_AUDIT_CHILD=SOCKET:DEVICE in the environment, the test binary
 * is a client whose /proc/PID/cmdline looks like QEMU's: it registers key
 * 0xa1, then PREEMPT AND ABORTs key 0xb2 (registered by the parent), then
 * PREEMPTs a key nobody holds with a wrong own key (a conflict).
 */
static int child_main(const char *spec)
{
    char sock[256];
    static struct prh_reply r;
    const char *colon = strchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof(sock))
        return 2;
    memcpy(sock, spec, (size_t)(colon - spec));
    sock[colon - spec] = '\0';
    int dev = open(colon + 1, O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(sock, NULL);
    if (dev < 0 || s < 0)
        return 3;
    if (tu_prout(s, dev, PR_OUT_REGISTER, 0, 0, 0xa1, 0, &r) != SCSI_STATUS_GOOD)
        return 4;
    if (tu_prout(s, dev, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_WE_RO, 0xa1, 0xb2, 0, &r) !=
        SCSI_STATUS_GOOD)
        return 5;
    if (tu_prout(s, dev, PR_OUT_PREEMPT, PR_TYPE_WE_RO, 0xdead, 0xa1, 0, &r) !=
        SCSI_STATUS_RESERVATION_CONFLICT)
        return 6;
    close(s);
    close(dev);
    return 0;
}

static pid_t spawn_guest_client(const char *sock, const char *dev, const char *guest)
{
    char spec[600], name[200];
    snprintf(spec, sizeof(spec), "%s:%s", sock, dev);
    snprintf(name, sizeof(name), "guest=%s,debug-threads=on", guest);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("PRH_TEST_AUDIT_CHILD", spec, 1);
        execl("/proc/self/exe", "test_audit", "-name", name, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* ---- client and device facts ------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void test_audit_client_fill_reads_exe_and_cmdline(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[512];
    snprintf(path, sizeof(path), "%s/4242", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/4242/exe", dir);
    assert_int_equal(symlink("/usr/bin/qemu-system-x86_64", path), 0);
    snprintf(path, sizeof(path), "%s/4242/cmdline", dir);
    write_file(path, "qemu\0-name\0guest=vm7\0", 22);
    struct prh_peer peer = { .serial = 9, .has_cred = true, .pid = 4242, .uid = 107, .gid = 36 };
    struct prh_audit_client c;
    prh_audit_client_fill(&c, &peer, dir);
    assert_string_equal(c.exe, "/usr/bin/qemu-system-x86_64");
    assert_string_equal(c.guest, "vm7");
    assert_int_equal(c.uid, 107);
    assert_int_equal(c.gid, 36);
    assert_int_equal(c.serial, 9);
    /* /proc/PID/exe unreadable (no ptrace access): argv[0]. */
    snprintf(path, sizeof(path), "%s/4242/exe", dir);
    unlink(path);
    prh_audit_client_fill(&c, &peer, dir);
    assert_string_equal(c.exe, "qemu");
    assert_string_equal(c.guest, "vm7");
    /* A pid that is gone: credentials only. */
    peer.pid = 4343;
    prh_audit_client_fill(&c, &peer, dir);
    assert_string_equal(c.exe, "");
    assert_string_equal(c.guest, "");
    assert_int_equal(c.pid, 4343);
    tu_tmpdir_free(dir);
}

static void make_sysfs_attr(const char *root, const char *rel, const char *value)
{
    char cmd[1024], path[600];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    write_file(path, value, strlen(value));
}

/* The device tests' set-up: an empty sysfs tree, and /dev/null (char 1:3) open. */
struct sysfs_fx {
    char *root;
    int null_fd;
};

static int sysfs_setup(void **state)
{
    static struct sysfs_fx x;
    x.root = tu_tmpdir();
    x.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    *state = &x;
    return x.root && x.null_fd >= 0 ? 0 : -1;
}

static int sysfs_teardown(void **state)
{
    struct sysfs_fx *x = *state;
    close(x->null_fd);
    tu_tmpdir_free(x->root);
    return 0;
}

/* The WWID prh_audit_device_fill reads for /dev/null once sysfs attribute rel holds value. */
static const char *wwid_after(const struct sysfs_fx *x, const char *rel, const char *value)
{
    static struct prh_audit_device d;
    make_sysfs_attr(x->root, rel, value);
    prh_audit_device_fill(&d, x->null_fd, x->root);
    return d.wwid;
}

static void test_audit_device_fill_wwid_from_sysfs(void **state)
{
    struct sysfs_fx *x = *state;
    struct prh_audit_device d;
    prh_audit_device_fill(&d, x->null_fd, x->root);
    assert_true(d.known && d.is_dev);
    assert_int_equal(d.major, 1);
    assert_int_equal(d.minor, 3);
    assert_string_equal(d.wwid, "");
    assert_string_equal(wwid_after(x, "dev/char/1:3/device/wwid",
                                   "naa.6001405abcdef0123456789   \n"),
                        "naa.6001405abcdef0123456789");
}

static void test_audit_device_fill_multipath_map_uuid(void **state)
{
    struct sysfs_fx *x = *state;
    assert_string_equal(wwid_after(x, "dev/char/1:3/dm/uuid", "mpath-36001405abcdef\n"),
                        "36001405abcdef");
    /* Other dm targets (LVM) have no WWID. */
    assert_string_equal(wwid_after(x, "dev/char/1:3/dm/uuid", "LVM-abcdef\n"), "");
    /* NVMe namespaces: a wwid attribute of their own. */
    assert_string_equal(wwid_after(x, "dev/char/1:3/wwid", "eui.0025388b91c2a1b4\n"),
                        "eui.0025388b91c2a1b4");
}

static void test_audit_device_fill_stat_uses_the_callers_stat(void **state)
{
    struct sysfs_fx *x = *state;
    struct prh_audit_device d;
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFBLK | 0660;
    st.st_rdev = makedev(8, 16);
    make_sysfs_attr(x->root, "dev/block/8:16/device/wwid", "naa.600140512345\n");
    prh_audit_device_fill_stat(&d, &st, x->root);
    assert_true(d.known && d.is_dev);
    assert_int_equal(d.major, 8);
    assert_int_equal(d.minor, 16);
    assert_string_equal(d.wwid, "naa.600140512345");
    prh_audit_device_fill_stat(&d, NULL, x->root); /* the caller's fstat failed */
    assert_false(d.known);
    assert_string_equal(d.wwid, "");
}

/* A fake BLKGETDISKSEQ: the disk sequence number fake_seq, or -ENOTTY. */
static uint64_t fake_seq;
static int fake_seq_calls;

static int fake_disk_seq(int fd, uint64_t *seq)
{
    (void)fd;
    fake_seq_calls++;
    if (!fake_seq)
        return -ENOTTY;
    *seq = fake_seq;
    return 0;
}

static const char *fill_fd_wwid(const struct sysfs_fx *x, const struct stat *st)
{
    static struct prh_audit_device d;
    prh_audit_device_fill_fd(&d, x->null_fd, st, x->root);
    assert_true(d.known && d.is_dev);
    assert_int_equal(d.major, major(st->st_rdev));
    assert_int_equal(d.minor, minor(st->st_rdev));
    return d.wwid;
}

/* A LUN's PR OUTs read its WWID from sysfs once per disk sequence number:
 * the same disk again is answered from memory, another disk at the same
 * device number (a new sequence number) is read anew. */
static void test_audit_device_fill_fd_reads_a_disks_wwid_once(void **state)
{
    struct sysfs_fx *x = *state;
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFBLK | 0660;
    st.st_rdev = makedev(8, 32);
    prh_audit_device_cache_flush();
    prh_audit_set_disk_seq(fake_disk_seq);
    fake_seq = 41;
    fake_seq_calls = 0;
    make_sysfs_attr(x->root, "dev/block/8:32/device/wwid", "naa.6001405aaaa\n");
    assert_string_equal(fill_fd_wwid(x, &st), "naa.6001405aaaa");
    make_sysfs_attr(x->root, "dev/block/8:32/device/wwid", "naa.6001405bbbb\n");
    assert_string_equal(fill_fd_wwid(x, &st), "naa.6001405aaaa"); /* not read again */
    assert_int_equal(fake_seq_calls, 2);
    fake_seq = 42; /* 8:32 is another disk now */
    assert_string_equal(fill_fd_wwid(x, &st), "naa.6001405bbbb");
    /* Without a sequence number (an old kernel, a filter that refuses the
     * ioctl) sysfs is read every time. */
    fake_seq = 0;
    make_sysfs_attr(x->root, "dev/block/8:32/device/wwid", "naa.6001405cccc\n");
    assert_string_equal(fill_fd_wwid(x, &st), "naa.6001405cccc");
    /* Character devices (sg nodes) have no sequence number: not asked. */
    st.st_mode = S_IFCHR | 0660;
    st.st_rdev = makedev(21, 2);
    make_sysfs_attr(x->root, "dev/char/21:2/device/wwid", "naa.6001405dddd\n");
    fake_seq = 43;
    fake_seq_calls = 0;
    assert_string_equal(fill_fd_wwid(x, &st), "naa.6001405dddd");
    assert_int_equal(fake_seq_calls, 0);
    prh_audit_set_disk_seq(NULL);
    prh_audit_device_cache_flush();
}

/* A disk that has no WWID yet (still being probed) is asked again. */
static void test_audit_device_fill_fd_does_not_remember_a_missing_wwid(void **state)
{
    struct sysfs_fx *x = *state;
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFBLK | 0660;
    st.st_rdev = makedev(8, 48);
    prh_audit_device_cache_flush();
    prh_audit_set_disk_seq(fake_disk_seq);
    fake_seq = 7;
    assert_string_equal(fill_fd_wwid(x, &st), "");
    make_sysfs_attr(x->root, "dev/block/8:48/device/wwid", "naa.6001405eeee\n");
    assert_string_equal(fill_fd_wwid(x, &st), "naa.6001405eeee");
    prh_audit_set_disk_seq(NULL);
    prh_audit_device_cache_flush();
}

/* More disks than the cache holds: every one still gets its own WWID. */
static void test_audit_device_fill_fd_many_disks_keep_their_own_wwid(void **state)
{
    struct sysfs_fx *x = *state;
    struct stat st;
    char rel[64], val[64];
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFBLK | 0660;
    prh_audit_device_cache_flush();
    prh_audit_set_disk_seq(fake_disk_seq);
    fake_seq = 9;
    for (int round = 0; round < 2; round++) {
        for (unsigned m = 0; m < 100; m++) {
            st.st_rdev = makedev(65, m);
            snprintf(val, sizeof(val), "naa.60014050%04u", m);
            if (round == 0) {
                snprintf(rel, sizeof(rel), "dev/block/65:%u/device/wwid", m);
                make_sysfs_attr(x->root, rel, val);
            }
            assert_string_equal(fill_fd_wwid(x, &st), val);
        }
    }
    prh_audit_set_disk_seq(NULL);
    prh_audit_device_cache_flush();
}

static void test_audit_device_fill_regular_file_has_no_device(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *disk = tu_disk(dir, "disk");
    int fd = open(disk, O_RDWR | O_CLOEXEC);
    struct prh_audit_device d;
    prh_audit_device_fill(&d, fd, "/sys");
    assert_true(d.known);
    assert_false(d.is_dev);
    close(fd);
    prh_audit_device_fill(&d, fd, "/sys"); /* closed fd */
    assert_false(d.known);
    tu_tmpdir_free(dir);
    free(disk);
}

/* ---- renderings ------------------------------------------------------------------ */

struct sample {
    struct prh_audit_client client;
    struct prh_audit_device dev;
    struct prh_request req;
    struct prh_reply reply;
    uint8_t params[24];
    struct prh_audit_record rec;
};

/* A PREEMPT AND ABORT of key 0xb2 by key 0xa1, answered with status st. */
static void make_sample(struct sample *s, uint8_t st)
{
    memset(s, 0, sizeof(*s));
    s->client = (struct prh_audit_client){ .serial = 3, .has_cred = true, .pid = 1234,
                                           .uid = 107, .gid = 36 };
    snprintf(s->client.exe, sizeof(s->client.exe), "/usr/bin/qemu-system-x86_64");
    snprintf(s->client.guest, sizeof(s->client.guest), "db-1");
    s->dev = (struct prh_audit_device){ .known = true, .is_dev = true, .major = 8, .minor = 16 };
    snprintf(s->dev.wwid, sizeof(s->dev.wwid), "naa.6001405abc");
    tu_cdb_prout(s->req.cdb, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_WE_RO, 24);
    tu_params(s->params, 0xa1, 0xb2, 0);
    s->req.params = s->params;
    s->req.xfer_len = 24;
    s->req.fd = -1;
    prh_reply_init(&s->reply);
    s->reply.status = st;
    if (st == SCSI_STATUS_CHECK_CONDITION)
        scsi_sense_build_fixed(s->reply.sense, sizeof(s->reply.sense), SENSE_INVALID_FIELD_IN_CDB);
    s->rec = (struct prh_audit_record){
        .event = PRH_AUDIT_EV_PR_OUT, .transport = "sg", .client = &s->client,
        .device = &s->dev, .req = &s->req, .reply = &s->reply, .latency_ns = 1234567,
        .time = { .tv_sec = 1764072000, .tv_nsec = 5000000 },
    };
}

static void test_audit_json_record_has_every_field(void **state)
{
    (void)state;
    static struct sample s;
    char buf[4096];
    make_sample(&s, SCSI_STATUS_GOOD);
    size_t n = prh_audit_format_json(&s.rec, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_int_equal(buf[n - 1], '\n');
    static const char *const want[] = {
        "\"time\":\"2025-11-25T12:00:00.005000Z\"", "\"event\":\"pr_out\"",
        "\"transport\":\"sg\"", "\"pid\":1234", "\"uid\":107", "\"gid\":36",
        "\"exe\":\"/usr/bin/qemu-system-x86_64\"", "\"guest\":\"db-1\"", "\"device\":\"8:16\"",
        "\"wwid\":\"naa.6001405abc\"", "\"op\":\"PR OUT\"",
        "\"service_action\":\"PREEMPT AND ABORT\"",
        "\"type\":\"Write Exclusive, registrants only\"", "\"key\":\"0x00000000000000a1\"",
        "\"sa_key\":\"0x00000000000000b2\"", "\"status\":\"GOOD\"", "\"result\":\"ok\"",
        "\"latency_us\":1234",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(buf, want[i]))
            fail_msg("%s missing from %s", want[i], buf);
    assert_null(strstr(buf, "\"sense\""));
}

/* The sample record answered with status st, as format writes it (a static buffer). */
static const char *sample_formatted(size_t (*format)(const struct prh_audit_record *, char *,
                                                     size_t),
                                    uint8_t st)
{
    static struct sample s;
    static char buf[4096];
    make_sample(&s, st);
    format(&s.rec, buf, sizeof(buf));
    return buf;
}

static void test_audit_json_refused_record_has_decoded_sense(void **state)
{
    (void)state;
    tu_assert_contains(sample_formatted(prh_audit_format_json, SCSI_STATUS_CHECK_CONDITION),
                       "\"status\":\"CHECK CONDITION\"",
                       "\"sense\":\"ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h)\"",
                       "\"result\":\"refused\"");
    tu_assert_contains(sample_formatted(prh_audit_format_json, SCSI_STATUS_RESERVATION_CONFLICT),
                       "\"status\":\"RESERVATION CONFLICT\"", "\"result\":\"refused\"");
}

static void test_audit_json_escapes_quotes_and_control_chars(void **state)
{
    (void)state;
    static struct sample s;
    char buf[4096];
    make_sample(&s, SCSI_STATUS_GOOD);
    snprintf(s.client.guest, sizeof(s.client.guest), "a\"b\\c\nd");
    prh_audit_format_json(&s.rec, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"guest\":\"a\\\"b\\\\c\\u000ad\""));
    assert_int_equal(ops_count_lines(buf), 1);
}

static void test_audit_json_truncates_to_buffer(void **state)
{
    (void)state;
    static struct sample s;
    char small[16];
    make_sample(&s, SCSI_STATUS_GOOD);
    size_t full = prh_audit_format_json(&s.rec, NULL, 0);
    size_t n = prh_audit_format_json(&s.rec, small, sizeof(small));
    assert_int_equal(n, full);
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_audit_text_record_quotes_values(void **state)
{
    (void)state;
    const char *buf = sample_formatted(prh_audit_format_text, SCSI_STATUS_GOOD);
    assert_true(strncmp(buf, "audit: time=", 12) == 0);
    tu_assert_contains(buf, " service_action=\"PREEMPT AND ABORT\"", " guest=db-1 ", " pid=1234 ",
                       " result=ok ");
    assert_null(strchr(buf, '\n'));
}

static bool has_field(const struct prh_audit_fields *f, const char *want)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->text[i], want) == 0 && f->iov[i].iov_len == strlen(want))
            return true;
    return false;
}

static void test_audit_journal_fields_are_structured(void **state)
{
    (void)state;
    static struct sample s;
    static struct prh_audit_fields f;
    make_sample(&s, SCSI_STATUS_GOOD);
    prh_audit_journal_fields(&s.rec, &f);
    static const char *const want[] = {
        "PRH_GUEST=db-1", "PRH_SERVICE_ACTION=PREEMPT AND ABORT", "PRH_SA_KEY=0x00000000000000b2",
        "PRH_DEVICE=8:16", "PRH_WWID=naa.6001405abc", "PRH_PID=1234", "PRH_RESULT=ok",
        "SYSLOG_IDENTIFIER=prhelper", "MESSAGE_ID=5f7a0c4e2b9d4f3a8e61c0d2a4b7e913", "PRIORITY=5",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!has_field(&f, want[i]))
            fail_msg("journal field %s missing", want[i]);
    assert_true(has_field(&f, "MESSAGE=PR OUT PREEMPT AND ABORT key 0xa1 sa_key 0xb2 by guest "
                              "db-1 (pid 1234, uid 107) on 8:16 (naa.6001405abc): GOOD"));
    /* A refusal is a warning. */
    make_sample(&s, SCSI_STATUS_RESERVATION_CONFLICT);
    prh_audit_journal_fields(&s.rec, &f);
    assert_true(has_field(&f, "PRIORITY=4"));
}

/* A guest's name holds any bytes: UTF-8 stays, the rest is escaped; the
 * JSON line stays valid UTF-8, the message plain ASCII on one line. */
static void test_audit_odd_bytes_of_a_guest_name_are_escaped_everywhere(void **state)
{
    (void)state;
    static struct sample s;
    static struct prh_audit_fields f;
    char buf[4096];
    make_sample(&s, SCSI_STATUS_GOOD);
    /* é, a stray byte, ESC, an encoded surrogate, a cut sequence, €. */
    snprintf(s.client.guest, sizeof(s.client.guest),
             "caf\xc3\xa9\xff\x1b[2J\xed\xa0\x80-\xe2\x82 \xe2\x82\xac");
    prh_audit_format_json(&s.rec, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"guest\":\"caf\xc3\xa9\\u00ff\\u001b[2J\\u00ed\\u00a0"
                                "\\u0080-\\u00e2\\u0082 \xe2\x82\xac\""));
    prh_audit_format_text(&s.rec, buf, sizeof(buf));
    assert_non_null(strstr(buf, " guest=\"caf\xc3\xa9\\xff\\x1b[2J\\xed\\xa0\\x80-\\xe2\\x82 "
                                "\xe2\x82\xac\" "));
    prh_audit_journal_fields(&s.rec, &f);
    assert_true(has_field(&f, "MESSAGE=PR OUT PREEMPT AND ABORT key 0xa1 sa_key 0xb2 by guest "
                              "caf\\xc3\\xa9\\xff\\x1b[2J\\xed\\xa0\\x80-\\xe2\\x82 "
                              "\\xe2\\x82\\xac (pid 1234, uid 107) on 8:16 (naa.6001405abc): GOOD"));
    /* argv[0] of a peer without a guest name: the same in the message. */
    s.client.guest[0] = '\0';
    snprintf(s.client.exe, sizeof(s.client.exe), "/tmp/x\ny");
    prh_audit_journal_fields(&s.rec, &f);
    bool found = false;
    for (size_t i = 0; i < f.n; i++)
        if (strncmp(f.text[i], "MESSAGE=", 8) == 0) {
            assert_non_null(strstr(f.text[i], "by pid 1234 (/tmp/x\\x0ay, uid 107)"));
            found = true;
        }
    assert_true(found);
}

static void test_audit_client_denied_record(void **state)
{
    (void)state;
    static struct sample s;
    char buf[4096];
    make_sample(&s, SCSI_STATUS_GOOD);
    struct prh_audit_record r = { .event = PRH_AUDIT_EV_CLIENT_DENIED, .transport = "sg",
                                  .client = &s.client };
    prh_audit_format_json(&r, buf, sizeof(buf));
    tu_assert_contains(buf, "\"event\":\"client_denied\"", "\"uid\":107", "\"result\":\"denied\"");
    assert_null(strstr(buf, "\"service_action\""));
}

/* ---- options and sinks ------------------------------------------------------------- */

static void test_audit_parse_specs(void **state)
{
    (void)state;
    enum prh_audit_sink k;
    const char *path;
    char err[256];
    /* A sink's name parses to it, and is the name it is shown by. */
    static const struct {
        const char *name;
        enum prh_audit_sink sink;
    } named[] = {
        { "journal", PRH_AUDIT_JOURNAL },
        { "syslog", PRH_AUDIT_SYSLOG },
        { "none", PRH_AUDIT_NONE },
    };
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        assert_int_equal(prh_audit_parse(named[i].name, &k, &path, err, sizeof(err)), 0);
        assert_int_equal(k, named[i].sink);
        assert_string_equal(prh_audit_sink_name(named[i].sink), named[i].name);
    }
    assert_int_equal(prh_audit_parse("file:/var/log/prhelper.jsonl", &k, &path, err, sizeof(err)),
                     0);
    assert_int_equal(k, PRH_AUDIT_FILE);
    assert_string_equal(path, "/var/log/prhelper.jsonl");
    assert_int_equal(prh_audit_parse("file:audit.log", &k, &path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "absolute"));
    assert_int_equal(prh_audit_parse("kafka", &k, &path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown audit sink 'kafka'"));
}

static void test_audit_default_sink_journal_under_systemd(void **state)
{
    (void)state;
    unsetenv("INVOCATION_ID");
    assert_int_equal(prh_audit_default_sink(), PRH_AUDIT_SYSLOG);
    setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
    assert_int_equal(prh_audit_default_sink(), PRH_AUDIT_JOURNAL);
    unsetenv("INVOCATION_ID");
    assert_string_equal(prh_audit_sink_name(PRH_AUDIT_FILE), "file");
    assert_string_equal(prh_audit_sink_name(PRH_AUDIT_DEFAULT), "default");
}

static void test_audit_file_sink_appends_one_line_per_record(void **state)
{
    (void)state;
    static struct sample s;
    char err[256], path[400], line[4096];
    char *dir = tu_tmpdir();
    snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
    make_sample(&s, SCSI_STATUS_GOOD);
    struct prh_audit *a = prh_audit_open(PRH_AUDIT_FILE, path, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(prh_audit_emit(a, &s.rec), 0);
    assert_int_equal(prh_audit_emit(a, &s.rec), 0);
    prh_audit_close(a);
    /* Reopening appends, never truncates. */
    a = prh_audit_open(PRH_AUDIT_FILE, path, err, sizeof(err));
    make_sample(&s, SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(prh_audit_emit(a, &s.rec), 0);
    assert_int_equal(prh_audit_errors(a), 0);
    prh_audit_close(a);
    char *text = ops_slurp(path);
    assert_int_equal(ops_count_lines(text), 3);
    assert_true(ops_line(text, 2, line, sizeof(line)));
    assert_non_null(strstr(line, "RESERVATION CONFLICT"));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    free(text);
    tu_tmpdir_free(dir);
}

static void test_audit_file_sink_refuses_what_is_not_a_file(void **state)
{
    (void)state;
    char err[256];
    char *dir = tu_tmpdir();
    assert_null(prh_audit_open(PRH_AUDIT_FILE, dir, err, sizeof(err)));
    assert_non_null(strstr(err, "Cannot open audit file"));
    assert_null(prh_audit_open(PRH_AUDIT_FILE, "/dev/null", err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file"));
    assert_null(prh_audit_open(PRH_AUDIT_FILE, "/nonexistent-dir/x", err, sizeof(err)));
    /* none: a handle that records nothing. */
    struct prh_audit *a = prh_audit_open(PRH_AUDIT_NONE, NULL, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(prh_audit_emit(a, NULL), 0);
    prh_audit_close(a);
    tu_tmpdir_free(dir);
}

static void test_audit_file_sink_counts_write_errors(void **state)
{
    (void)state;
    static struct sample s;
    char err[256];
    /* /dev/full is a character device: build the handle on a file, then
     * swap its fd to make every write fail with ENOSPC. */
    char *dir = tu_tmpdir(), path[400];
    snprintf(path, sizeof(path), "%s/a", dir);
    struct prh_audit *a = prh_audit_open(PRH_AUDIT_FILE, path, err, sizeof(err));
    assert_non_null(a);
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    assert_true(full >= 0);
    /* The file sink's fd is the lowest free fd at open: find it by inode. */
    struct stat want, sb;
    assert_int_equal(stat(path, &want), 0);
    int fd = -1;
    for (int i = 0; i < 1024 && fd < 0; i++)
        if (fstat(i, &sb) == 0 && sb.st_ino == want.st_ino && sb.st_dev == want.st_dev)
            fd = i;
    assert_true(fd >= 0);
    assert_true(dup3(full, fd, O_CLOEXEC) == fd);
    close(full);
    make_sample(&s, SCSI_STATUS_GOOD);
    assert_int_equal(prh_audit_emit(a, &s.rec), -ENOSPC);
    assert_int_equal(prh_audit_errors(a), 1);
    prh_audit_close(a);
    tu_tmpdir_free(dir);
}

static int bind_dgram(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memcpy(a.sun_path, path, strnlen(path, sizeof(a.sun_path) - 1));
    unlink(path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void test_audit_syslog_sink_sends_rfc3164_datagrams(void **state)
{
    (void)state;
    static struct sample s;
    char err[256], path[300], msg[4096], want[64];
    char *dir = tu_tmpdir();
    snprintf(path, sizeof(path), "%s/log", dir);
    int rx = bind_dgram(path);
    struct prh_audit *a = prh_audit_open(PRH_AUDIT_SYSLOG, path, err, sizeof(err));
    assert_non_null(a);
    make_sample(&s, SCSI_STATUS_GOOD);
    assert_int_equal(prh_audit_emit(a, &s.rec), 0);
    ssize_t n = recv(rx, msg, sizeof(msg) - 1, 0);
    assert_true(n > 0);
    msg[n] = '\0';
    snprintf(want, sizeof(want), "<85>prhelper[%ld]: audit: time=", (long)getpid());
    assert_true(strncmp(msg, want, strlen(want)) == 0); /* authpriv.notice */
    assert_non_null(strstr(msg, " service_action=\"PREEMPT AND ABORT\""));
    make_sample(&s, SCSI_STATUS_RESERVATION_CONFLICT);
    assert_int_equal(prh_audit_emit(a, &s.rec), 0);
    n = recv(rx, msg, sizeof(msg) - 1, 0);
    assert_true(n > 4);
    assert_true(strncmp(msg, "<84>", 4) == 0); /* authpriv.warning */
    /* The syslog daemon goes away: counted; it comes back: reconnected. */
    close(rx);
    unlink(path);
    assert_true(prh_audit_emit(a, &s.rec) < 0);
    assert_int_equal(prh_audit_errors(a), 1);
    rx = bind_dgram(path);
    assert_int_equal(prh_audit_emit(a, &s.rec), 0);
    assert_true(recv(rx, msg, sizeof(msg) - 1, 0) > 0);
    prh_audit_close(a);
    close(rx);
    tu_tmpdir_free(dir);
}

static void test_audit_syslog_sink_without_daemon_starts_and_counts(void **state)
{
    (void)state;
    static struct sample s;
    char err[256];
    struct prh_audit *a = prh_audit_open(PRH_AUDIT_SYSLOG, "/nonexistent-prh/log", err,
                                         sizeof(err));
    assert_non_null(a);
    make_sample(&s, SCSI_STATUS_GOOD);
    assert_true(prh_audit_emit(a, &s.rec) < 0);
    assert_int_equal(prh_audit_errors(a), 1);
    prh_audit_close(a);
}

/* In a child where socket() kills the process: emit count records to a
 * syslog sink whose socket does not exist.  Exits 0 when it survived. */
static int emit_without_socket_syscall(const char *path, int count)
{
    static struct sample s;
    char err[256];
    struct prh_audit *a = prh_audit_open(PRH_AUDIT_SYSLOG, path, err, sizeof(err));
    if (!a)
        return 2;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = (unsigned short)(sizeof(f) / sizeof(f[0])), .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        return 3;
    make_sample(&s, SCSI_STATUS_GOOD);
    for (int i = 0; i < count; i++)
        if (prh_audit_emit(a, &s.rec) != -ENOTCONN)
            return 4;
    return prh_audit_errors(a) == (unsigned long)count ? 0 : 5;
}

/* No syslog daemon (containers, rescue systems, the lab guest): each PR
 * OUT pays one access(), not socket() + connect() + close() twice; and a
 * daemon that starts later gets the very next record. */
static void test_audit_syslog_sink_without_daemon_creates_no_socket(void **state)
{
    (void)state;
    static struct sample s;
    char err[256], path[300], msg[4096];
    char *dir = tu_tmpdir();
    snprintf(path, sizeof(path), "%s/log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(emit_without_socket_syscall(path, 3));
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st)); /* killed by the filter: socket() was called */
    assert_int_equal(WEXITSTATUS(st), 0);

    struct prh_audit *a = prh_audit_open(PRH_AUDIT_SYSLOG, path, err, sizeof(err));
    assert_non_null(a);
    make_sample(&s, SCSI_STATUS_GOOD);
    assert_int_equal(prh_audit_emit(a, &s.rec), -ENOTCONN);
    int rx = bind_dgram(path);
    assert_int_equal(prh_audit_emit(a, &s.rec), 0);
    assert_true(recv(rx, msg, sizeof(msg) - 1, 0) > 0);
    assert_int_equal(prh_audit_errors(a), 1);
    prh_audit_close(a);
    close(rx);
    tu_tmpdir_free(dir);
}

/* A syslog daemon that stops reading: the record waits a bounded time and
 * is counted as lost, the socket is kept, the next record after the daemon
 * drained its queue is delivered.  Before, send() blocked for good, with
 * the sink's lock held: every PR OUT of every client stalled. */
static void test_audit_syslog_sink_full_socket_does_not_block(void **state)
{
    (void)state;
    static struct sample s;
    char err[256], path[300], msg[4096];
    char *dir = tu_tmpdir();
    snprintf(path, sizeof(path), "%s/log", dir);
    int rx = bind_dgram(path);
    int small = 1;
    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct prh_audit *a = prh_audit_open(PRH_AUDIT_SYSLOG, path, err, sizeof(err));
    assert_non_null(a);
    make_sample(&s, SCSI_STATUS_GOOD);
    int lost = 0, sent = 0;
    for (int i = 0; i < 2000 && !lost; i++) {
        int r = prh_audit_emit(a, &s.rec);
        if (r == -EAGAIN)
            lost = 1;
        else
            assert_int_equal(r, 0), sent++;
    }
    assert_int_equal(lost, 1); /* 2,000 records never fit a 1-byte queue */
    assert_int_equal(prh_audit_errors(a), 1);
    /* Still full: lost at once, no second wait (PR OUTs queue behind the
     * sink's lock, and their waits would add up). */
    long t0 = tu_now_ms();
    assert_int_equal(prh_audit_emit(a, &s.rec), -EAGAIN);
    assert_true(tu_now_ms() - t0 < 80);
    assert_int_equal(prh_audit_errors(a), 2);
    for (int i = 0; i < sent; i++)
        assert_true(recv(rx, msg, sizeof(msg), MSG_DONTWAIT) > 0);
    assert_int_equal(prh_audit_emit(a, &s.rec), 0);
    assert_true(recv(rx, msg, sizeof(msg), 0) > 0);
    assert_int_equal(prh_audit_errors(a), 2);
    /* One got through: the next full socket is waited for again. */
    int r;
    t0 = tu_now_ms();
    while ((r = prh_audit_emit(a, &s.rec)) == 0)
        ;
    assert_int_equal(r, -EAGAIN);
    assert_true(tu_now_ms() - t0 >= 90);
    t0 = tu_now_ms();
    assert_int_equal(prh_audit_emit(a, &s.rec), -EAGAIN);
    assert_true(tu_now_ms() - t0 < 80);
    assert_int_equal(prh_audit_errors(a), 4);
    prh_audit_close(a);
    close(rx);
    tu_tmpdir_free(dir);
}

static void test_audit_journal_sink_reports_delivery(void **state)
{
    (void)state;
    static struct sample s;
    char err[256];
    struct prh_audit *a = prh_audit_open(PRH_AUDIT_JOURNAL, NULL, err, sizeof(err));
    assert_non_null(a);
    make_sample(&s, SCSI_STATUS_GOOD);
    int r = prh_audit_emit(a, &s.rec);
    if (access("/run/systemd/journal/socket", W_OK) == 0) {
        assert_int_equal(r, 0);
        assert_int_equal(prh_audit_errors(a), 0);
    } else {
        /* No journald here: the failure is reported and counted. */
        assert_true(r < 0);
        assert_int_equal(prh_audit_errors(a), 1);
    }
    prh_audit_close(a);
}

/* ---- the server's records ------------------------------------------------------------ */

/* Stop the server (its audit file complete), read the file, check it has n lines. */
static char *audit_file_after_stop(struct ops_fx *f, int n)
{
    ops_fx_stop(f);
    char *text = ops_slurp(f->audit_path);
    assert_int_equal(ops_count_lines(text), n);
    return text;
}

static void test_audit_server_records_fence_with_guest_name(void **state)
{
    struct ops_fx *f = *state;
    static struct prh_reply r;
    char line[4096], exe[300], want[400];
    assert_int_equal(ops_fx_start(f, true, false), 0);
    int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prout(s, dev, PR_OUT_REGISTER, 0, 0, 0xb2, 0, &r), SCSI_STATUS_GOOD);
    assert_int_equal(tu_prout(s, dev, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xb2, 0, 0, &r),
                     SCSI_STATUS_GOOD);
    /* PR IN is not audited. */
    assert_int_equal(tu_prin(s, dev, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_GOOD);
    pid_t pid = spawn_guest_client(f->sock, "/dev/null", "db-1");
    assert_int_equal(wait_exit(pid), 0);
    close(s);
    close(dev);
    char *text = audit_file_after_stop(f, 5);
    /* Line 3: the fence, with the guest's name and pid. */
    assert_true(ops_line(text, 3, line, sizeof(line)));
    snprintf(want, sizeof(want), "\"pid\":%ld,", (long)pid);
    assert_non_null(strstr(line, want));
    tu_assert_contains(line, "\"guest\":\"db-1\"", "\"service_action\":\"PREEMPT AND ABORT\"",
                       "\"key\":\"0x00000000000000a1\"", "\"sa_key\":\"0x00000000000000b2\"",
                       "\"device\":\"1:3\"", "\"result\":\"ok\"");
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(want, sizeof(want), "\"exe\":\"%s\"", exe);
    assert_non_null(strstr(line, want));
    /* Line 4: the refused PREEMPT. */
    assert_true(ops_line(text, 4, line, sizeof(line)));
    tu_assert_contains(line, "\"status\":\"RESERVATION CONFLICT\"", "\"result\":\"refused\"");
    /* Lines 0-1: this process, no guest name. */
    assert_true(ops_line(text, 0, line, sizeof(line)));
    assert_non_null(strstr(line, "\"service_action\":\"REGISTER\""));
    assert_null(strstr(line, "\"guest\""));
    free(text);
}

static void test_audit_server_records_refused_connection(void **state)
{
    struct ops_fx *f = *state;
    char line[4096], want[64];
    f->policy.uids[f->policy.nuids++] = getuid() + 1;
    assert_int_equal(ops_fx_start(f, true, false), 0);
    int s = tu_connect(f->sock, NULL);
    assert_true(tu_peer_closed(s, 5000));
    close(s);
    char *text = audit_file_after_stop(f, 1);
    assert_true(ops_line(text, 0, line, sizeof(line)));
    assert_non_null(strstr(line, "\"event\":\"client_denied\""));
    snprintf(want, sizeof(want), "\"pid\":%ld,", (long)getpid());
    assert_non_null(strstr(line, want));
    free(text);
}

static void test_audit_server_records_device_denied_pr_in(void **state)
{
    struct ops_fx *f = *state;
    static struct prh_reply r;
    char line[4096], err[128];
    assert_int_equal(prh_policy_add_device(&f->policy, "1:3", err, sizeof(err)), 0);
    assert_int_equal(ops_fx_start(f, true, false), 0);
    int dev = open("/dev/zero", O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    assert_int_equal(tu_prin(s, dev, PR_IN_READ_KEYS, 64, &r), SCSI_STATUS_CHECK_CONDITION);
    close(s);
    close(dev);
    char *text = audit_file_after_stop(f, 1);
    assert_true(ops_line(text, 0, line, sizeof(line)));
    tu_assert_contains(line, "\"event\":\"device_denied\"", "\"op\":\"PR IN\"",
                       "\"device\":\"1:5\"", "ACCESS DENIED");
    free(text);
}

/* One PR OUT (REGISTER of key) with /dev/null through a server whose
 * sysfs tree is watched: whether the server opened the device's WWID. */
static bool server_read_wwid_lost(struct ops_fx *f, struct prh_audit *audit, uint64_t key,
                                  unsigned long *lost)
{
    static struct prh_reply r;
    char root[300], buf[4096];
    snprintf(root, sizeof(root), "%s/sys", f->dir);
    make_sysfs_attr(root, "dev/char/1:3/device/wwid", "naa.6001405ffff\n");
    f->sysfs_root = root;
    f->audit = audit;
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    snprintf(buf, sizeof(buf), "%s/dev/char/1:3/device/wwid", root);
    assert_true(inotify_add_watch(in, buf, IN_OPEN) >= 0);
    assert_int_equal(ops_fx_start(f, false, false), 0);
    int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
    int s = tu_connect_hs(f->sock, NULL);
    uint8_t want = f->policy.ndevices ? SCSI_STATUS_CHECK_CONDITION : SCSI_STATUS_GOOD;
    assert_int_equal(tu_prout(s, dev, PR_OUT_REGISTER, 0, 0, key, 0, &r), want);
    /* The record is written (or not) before the reply is sent. */
    *lost = prh_audit_errors(f->audit);
    close(s);
    close(dev);
    ops_fx_stop(f);
    bool opened = read(in, buf, sizeof(buf)) > 0;
    close(in);
    return opened;
}

static bool server_read_wwid(struct ops_fx *f, struct prh_audit *audit, uint64_t key)
{
    unsigned long lost;
    bool opened = server_read_wwid_lost(f, audit, key, &lost);
    assert_int_equal(lost, 0);
    return opened;
}

/* --audit=none reads neither /proc nor sysfs: nothing would be written. */
static void test_audit_server_none_sink_reads_no_device_facts(void **state)
{
    struct ops_fx *f = *state;
    char err[256];
    assert_true(server_read_wwid(f, prh_audit_open(PRH_AUDIT_FILE, f->audit_path, err,
                                                   sizeof(err)), 0xc1));
    assert_false(server_read_wwid(f, prh_audit_open(PRH_AUDIT_NONE, NULL, err, sizeof(err)),
                                  0xc2));
}

/* A sink that cannot take a record now (no syslog daemon): the PR OUT's
 * record is counted as lost once, and nothing is read to build it; a
 * PR OUT the device policy refuses is counted once too. */
static void test_audit_server_sink_down_counts_once_reads_nothing(void **state)
{
    struct ops_fx *f = *state;
    char err[256], path[300];
    unsigned long lost;
    snprintf(path, sizeof(path), "%s/no-syslogd", f->dir);
    assert_false(server_read_wwid_lost(
        f, prh_audit_open(PRH_AUDIT_SYSLOG, path, err, sizeof(err)), 0xc3, &lost));
    assert_int_equal(lost, 1);
    assert_int_equal(prh_policy_add_device(&f->policy, "1:5", err, sizeof(err)), 0);
    server_read_wwid_lost(f, prh_audit_open(PRH_AUDIT_SYSLOG, path, err, sizeof(err)), 0xc4,
                          &lost);
    assert_int_equal(lost, 1);
}

static void test_audit_server_rate_limits_refused_connection_records(void **state)
{
    struct ops_fx *f = *state;
    char line[4096];
    f->policy.uids[f->policy.nuids++] = getuid() + 1;
    assert_int_equal(ops_fx_start(f, true, true), 0);
    for (int i = 0; i < 30; i++) {
        int s = tu_connect(f->sock, NULL);
        assert_true(tu_peer_closed(s, 5000));
        close(s);
    }
    tu_sleep_ms(1100); /* a new window: this one is recorded */
    int s = tu_connect(f->sock, NULL);
    assert_true(tu_peer_closed(s, 5000));
    close(s);
    char *metrics = prh_metrics_render(f->metrics, NULL);
    assert_non_null(strstr(metrics, "prhelper_connections_refused_total{reason=\"policy\"} 31\n"));
    free(metrics);
    ops_fx_stop(f);
    char *text = ops_slurp(f->audit_path);
    int lines = ops_count_lines(text);
    assert_true(lines < 31);
    /* Every refusal is a record or counted in a later record's "suppressed". */
    long accounted = lines;
    for (int i = 0; i < lines; i++) {
        assert_true(ops_line(text, i, line, sizeof(line)));
        const char *p = strstr(line, "\"suppressed\":");
        if (p)
            accounted += strtol(p + 13, NULL, 10);
    }
    assert_int_equal(accounted, 31);
    free(text);
}

#define TS(t) cmocka_unit_test_setup_teardown(t, ops_fx_setup, ops_fx_teardown)
#define TSYS(t) cmocka_unit_test_setup_teardown(t, sysfs_setup, sysfs_teardown)

int main(void)
{
    const char *child = getenv("PRH_TEST_AUDIT_CHILD");
    if (child)
        return child_main(child);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_client_fill_reads_exe_and_cmdline),
        TSYS(test_audit_device_fill_wwid_from_sysfs),
        TSYS(test_audit_device_fill_multipath_map_uuid),
        TSYS(test_audit_device_fill_stat_uses_the_callers_stat),
        TSYS(test_audit_device_fill_fd_reads_a_disks_wwid_once),
        TSYS(test_audit_device_fill_fd_does_not_remember_a_missing_wwid),
        TSYS(test_audit_device_fill_fd_many_disks_keep_their_own_wwid),
        cmocka_unit_test(test_audit_device_fill_regular_file_has_no_device),
        cmocka_unit_test(test_audit_json_record_has_every_field),
        cmocka_unit_test(test_audit_json_refused_record_has_decoded_sense),
        cmocka_unit_test(test_audit_json_escapes_quotes_and_control_chars),
        cmocka_unit_test(test_audit_odd_bytes_of_a_guest_name_are_escaped_everywhere),
        cmocka_unit_test(test_audit_json_truncates_to_buffer),
        cmocka_unit_test(test_audit_text_record_quotes_values),
        cmocka_unit_test(test_audit_journal_fields_are_structured),
        cmocka_unit_test(test_audit_client_denied_record),
        cmocka_unit_test(test_audit_parse_specs),
        cmocka_unit_test(test_audit_default_sink_journal_under_systemd),
        cmocka_unit_test(test_audit_file_sink_appends_one_line_per_record),
        cmocka_unit_test(test_audit_file_sink_refuses_what_is_not_a_file),
        cmocka_unit_test(test_audit_file_sink_counts_write_errors),
        cmocka_unit_test(test_audit_syslog_sink_sends_rfc3164_datagrams),
        cmocka_unit_test(test_audit_syslog_sink_without_daemon_starts_and_counts),
        cmocka_unit_test(test_audit_syslog_sink_without_daemon_creates_no_socket),
        cmocka_unit_test(test_audit_syslog_sink_full_socket_does_not_block),
        cmocka_unit_test(test_audit_journal_sink_reports_delivery),
        TS(test_audit_server_records_fence_with_guest_name),
        TS(test_audit_server_records_refused_connection),
        TS(test_audit_server_records_device_denied_pr_in),
        TS(test_audit_server_rate_limits_refused_connection_records),
        TS(test_audit_server_none_sink_reads_no_device_facts),
        TS(test_audit_server_sink_down_counts_once_reads_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
