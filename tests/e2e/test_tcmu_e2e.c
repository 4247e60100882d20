/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tcmu_e2e.c - the prhelper-tcmu program itself on a fake sysfs,
 * configfs and /dev (tests/helpers/tcmu_fake_sys.h): --help and option errors, a
 * restart with commands queued on the ring (the new process answers them),
 * APTPL across a restart, a second daemon refused, the control socket
 * with prhelper-cli, crash and restart through the control socket.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tu_text.h"
#include "sim_helpers.h"
#include "tcmu_fake_sys.h"

#include "prhelper/control.h"

#define CFG_A "prsim/lun0/naa.50014050000000a0@1"
#define CFG_B "prsim/lun0/naa.50014050000000a1@2"
#define SIZE (1ull << 20)

struct fixture {
    struct fake_sys s;
    char ctl[200];
    char log[200];
    pid_t pid;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fs_init(&f->s);
    fs_add(&f->s, 0, "b0", CFG_A, SIZE);
    fs_add(&f->s, 1, "b1", CFG_B, SIZE);
    snprintf(f->ctl, sizeof(f->ctl), "%s/ctl.sock", f->s.root);
    snprintf(f->log, sizeof(f->log), "%s/daemon.log", f->s.root);
    *state = f;
    return 0;
}

static void stop(struct fixture *f, int sig)
{
    if (f->pid > 0) {
        kill(f->pid, sig);
        tu_wait_exit(f->pid, 5000);
        f->pid = 0;
    }
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    stop(f, SIGKILL);
    fs_cleanup(&f->s);
    free(f);
    return 0;
}

/* Run prhelper-tcmu with the fake roots and one extra argument ("" for none). */
static pid_t spawn(struct fixture *f, const char *extra)
{
    char state_arg[200], sys[200], cfg[200], dev[200], ctl[220];
    snprintf(state_arg, sizeof(state_arg), "--state-dir=%s", f->s.state);
    snprintf(sys, sizeof(sys), "--sysfs=%s", f->s.sys);
    snprintf(cfg, sizeof(cfg), "--configfs=%s", f->s.cfg);
    snprintf(dev, sizeof(dev), "--devdir=%s", f->s.dev);
    snprintf(ctl, sizeof(ctl), "--control=%s", f->ctl);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(PRH_TCMU_BIN, "prhelper-tcmu", state_arg, sys, cfg, dev, ctl, "--fake-uio",
              "--no-netlink", extra[0] ? extra : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void start(struct fixture *f, const char *extra)
{
    unlink(f->ctl);
    f->pid = spawn(f, extra);
    long end = tu_now_ms() + 10000;
    while (access(f->ctl, F_OK) < 0) {
        assert_true(tu_now_ms() < end);
        tu_sleep_ms(10);
    }
}

static char *ctl_call(struct fixture *f, const char *w1, const char *w2)
{
    char *words[3] = { (char *)w1, (char *)w2, NULL };
    char *body = NULL;
    int r = prh_control_call(f->ctl, w2 ? 2 : 1, words, false, &body);
    assert_int_equal(r, 0);
    return body;
}

/* The control command's answer says WORDS. */
static void assert_ctl_says(struct fixture *f, const char *w1, const char *w2, const char *words)
{
    char *b = ctl_call(f, w1, w2);
    if (!strstr(b, words))
        fail_msg("control \"%s %s\" does not say \"%s\":\n%s", w1, w2 ? w2 : "", words, b);
    free(b);
}

/* Wait until the daemon serves n devices. */
static void wait_devices(struct fixture *f, const char *needle)
{
    long end = tu_now_ms() + 10000;
    for (;;) {
        char *b = ctl_call(f, "devices", NULL);
        bool ok = strstr(b, needle) != NULL;
        free(b);
        if (ok)
            return;
        assert_true(tu_now_ms() < end);
        tu_sleep_ms(20);
    }
}

static int run_plain(const char *arg, char *out, size_t cap)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", PRH_TCMU_BIN, arg);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_help_and_version_exit_zero(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(run_plain("--help", out, sizeof(out)), 0);
    tu_assert_contains(out, "prsim/LUN/INITIATOR[@RTPI]", "pgr_support=0");
    assert_int_equal(run_plain("--version", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "prhelper-tcmu"));
}

static void test_bad_options_exit_one_with_a_reason(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run_plain("--bogus", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "--help"));
    assert_int_equal(run_plain("--profile=zz", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "spc4 or lio"));
    assert_int_equal(run_plain("--state-dir=rel --no-netlink", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "absolute"));
    assert_int_equal(run_plain("--control=rel.sock", out, sizeof(out)), 1);
    assert_int_equal(run_plain("--max-registrations=-1", out, sizeof(out)), 1);
    assert_int_equal(run_plain("extra-arg", out, sizeof(out)), 1);
    assert_int_equal(run_plain("-T nosuchevent,events=/nonexistent", out, sizeof(out)), 1);
}

static void test_serves_backstores_and_answers_on_events(void **state)
{
    struct fixture *f = *state;
    start(f, "--profile=lio");
    wait_devices(f, "user_0/b1");
    const uint8_t tur[6] = { 0 };
    assert_int_equal(fs_cmd_answered(&f->s, 0, tur, 6, NULL, 0).status, 0);
    assert_ctl_says(f, "state", "lun0", "profile lio");
    stop(f, SIGTERM);
}

static void test_second_daemon_on_the_same_luns_is_refused(void **state)
{
    struct fixture *f = *state;
    start(f, "-v");
    wait_devices(f, "user_0/b1");
    /* The FIFO stands in for /dev/uioN, which the kernel opens once only;
     * here the LUN's data file lock refuses the second daemon. */
    char ctl2[200];
    snprintf(ctl2, sizeof(ctl2), "%s/ctl2.sock", f->s.root);
    char old[200];
    snprintf(old, sizeof(old), "%s", f->ctl);
    snprintf(f->ctl, sizeof(f->ctl), "%s", ctl2);
    pid_t second = spawn(f, "-v");
    snprintf(f->ctl, sizeof(f->ctl), "%s", old);
    tu_sleep_ms(500);
    kill(second, SIGTERM);
    tu_wait_exit(second, 5000);
    char log[16384] = "";
    FILE *l = fopen(f->log, "r");
    size_t n = fread(log, 1, sizeof(log) - 1, l);
    log[n] = '\0';
    fclose(l);
    assert_non_null(strstr(log, "in use by another process"));
    stop(f, SIGTERM);
}

static void test_restart_answers_commands_left_on_the_ring(void **state)
{
    struct fixture *f = *state;
    const uint8_t tur[6] = { 0 };
    start(f, "");
    wait_devices(f, "user_0/b1");
    /* The daemon dies (SIGKILL) while the kernel queues commands. */
    stop(f, SIGKILL);
    long a = fs_cmd(&f->s, 0, tur, 6, NULL, 0);
    long b = fs_cmd(&f->s, 1, tur, 6, NULL, 0);
    tu_sleep_ms(50);
    assert_false(fs_answered(&f->s, 0));
    start(f, "");
    assert_true(fs_wait_answered(&f->s, 0, 5000));
    assert_true(fs_wait_answered(&f->s, 1, 5000));
    assert_int_equal(fake_read_answer(f->s.map[0], a).status, 0);
    assert_int_equal(fake_read_answer(f->s.map[1], b).status, 0);
    stop(f, SIGTERM);
}

static void test_aptpl_reservation_survives_a_restart(void **state)
{
    struct fixture *f = *state;
    uint8_t p[24] = { 0 };
    const uint8_t reg[10] = { 0x5f, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
    const uint8_t res[10] = { 0x5f, 1, 1, 0, 0, 0, 0, 0, 24, 0 };
    uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, data[512];
    start(f, "");
    wait_devices(f, "user_0/b1");
    scsi_put_be64(p + 8, 0xabc);
    p[20] = 0x01; /* APTPL */
    /* One command at a time: the fake gives every command the same data area. */
    fs_cmd_answered(&f->s, 0, reg, 10, p, 24);
    memset(p, 0, sizeof(p));
    scsi_put_be64(p, 0xabc);
    fs_cmd_answered(&f->s, 0, res, 10, p, 24);
    stop(f, SIGTERM);
    start(f, "");
    wait_devices(f, "user_0/b1");
    memset(data, 1, sizeof(data));
    assert_int_equal(fs_cmd_answered(&f->s, 1, wr, 10, data, sizeof(data)).status, 0x18);
    assert_ctl_says(f, "state", NULL, "Write Exclusive");
    stop(f, SIGTERM);
}

static void test_crash_through_the_control_socket_and_restart(void **state)
{
    struct fixture *f = *state;
    start(f, "");
    wait_devices(f, "user_0/b0");
    char *b = ctl_call(f, "crash", NULL);
    free(b);
    assert_int_equal(tu_wait_exit(f->pid, 5000), 128 + SIGKILL);
    f->pid = 0;
    start(f, "");
    wait_devices(f, "user_0/b0");
    stop(f, SIGINT);
}

static void test_sighup_looks_for_new_backstores(void **state)
{
    struct fixture *f = *state;
    start(f, "");
    wait_devices(f, "user_0/b1");
    fs_add(&f->s, 2, "b2", "prsim/lun2/iqn.2026-01.test:c#23d000000001", SIZE);
    kill(f->pid, SIGHUP);
    wait_devices(f, "user_0/b2");
    assert_ctl_says(f, "devices", NULL, "iqn.2026-01.test:c");
    stop(f, SIGTERM);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version_exit_zero),
        cmocka_unit_test(test_bad_options_exit_one_with_a_reason),
        T(test_serves_backstores_and_answers_on_events),
        T(test_second_daemon_on_the_same_luns_is_refused),
        T(test_restart_answers_commands_left_on_the_ring),
        T(test_aptpl_reservation_survives_a_restart),
        T(test_crash_through_the_control_socket_and_restart),
        T(test_sighup_looks_for_new_backstores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
