/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_fence_zygote.c - integration/guest/fence-zygote.py, the server
 * that runs fence_scsi's main() in a fork of one loaded interpreter for
 * the nested guests of test-qemu-client-libiscsi-and-fence-scsi.sh.  The
 * fence story trusts it to behave as `fence_scsi ARGS` would: each call
 * gets its own arguments, output and exit status, starts from the state
 * before the first call, and the agent's __main__ guard keeps main() from
 * running at load.  A fake agent (a Python file with a main()) stands in
 * for fence_scsi here; the integration test runs the real one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "prh_test_util.h"

#define PYTHON "/usr/bin/python3"
#define SERVER PRH_SOURCE_DIR "/integration/guest/fence-zygote.py"

/* main(): prints its arguments and how many times this process ran it
 * (a module-level list), exits with the first argument ("raise": an
 * uncaught exception).  At load it leaves a marker if __name__ is
 * "__main__" (it must not be). */
static const char fake_agent[] =
    "import os, sys\n"
    "calls = []\n"
    "def main():\n"
    "    calls.append(1)\n"
    "    print('args:', ' '.join(sys.argv[1:]), 'calls:', len(calls), 'argv0:', sys.argv[0])\n"
    "    print('to stderr', file=sys.stderr)\n"
    "    if sys.argv[1] == 'raise':\n"
    "        raise RuntimeError('agent failed')\n"
    "    sys.exit(int(sys.argv[1]))\n"
    "if __name__ == '__main__':\n"
    "    open(os.path.join(os.path.dirname(sys.argv[0]), 'ran-as-main'), 'w').close()\n"
    "    main()\n";

struct fz {
    char *dir;
    char agent[512];
    char srvdir[512];
    pid_t pid;
};

static bool have_python(void)
{
    return access(PYTHON, X_OK) == 0;
}

static int fz_setup(void **state)
{
    struct fz *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->dir = tu_tmpdir();
    snprintf(f->agent, sizeof(f->agent), "%s/fake_agent", f->dir);
    snprintf(f->srvdir, sizeof(f->srvdir), "%s/srv", f->dir);
    FILE *a = fopen(f->agent, "w");
    assert_non_null(a);
    fputs(fake_agent, a);
    fclose(a);
    f->pid = -1;
    *state = f;
    return 0;
}

static int fz_teardown(void **state)
{
    struct fz *f = *state;

    if (f->pid > 0)
        tu_wait_exit(f->pid, 0); /* stops the server and reaps it */
    tu_tmpdir_free(f->dir);
    free(f);
    return 0;
}

/* Start the server; wait (bounded) for its ready file. */
static void start_server(struct fz *f)
{
    if (!have_python())
        skip();
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        execl(PYTHON, PYTHON, SERVER, f->srvdir, f->agent, (char *)NULL);
        _exit(127);
    }
    char ready[600];
    snprintf(ready, sizeof(ready), "%s/ready", f->srvdir);
    for (int i = 0; i < 500 && access(ready, F_OK) != 0; i++)
        tu_sleep_ms(20);
    assert_int_equal(access(ready, F_OK), 0);
}

/* One request: ARGS (NULL-terminated; none: the request that ends the
 * server).  Returns the exit status the server reports (-1 for none) and
 * the call's output in out. */
static int call(struct fz *f, char *out, size_t outsz, ...)
{
    char req[600], rc[600], outf[600], buf[4096];
    size_t len = 0;
    va_list ap;

    snprintf(req, sizeof(req), "%s/req", f->srvdir);
    snprintf(rc, sizeof(rc), "%s/rc", f->srvdir);
    snprintf(outf, sizeof(outf), "%s/out", f->srvdir);
    unlink(rc);
    assert_int_equal(mkfifo(rc, 0600), 0);
    int rfd = open(rc, O_RDWR); /* as role-client.sh's fz: no blocking open */
    assert_true(rfd >= 0);
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", rc) + 1;
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", outf) + 1;
    va_start(ap, outsz);
    for (const char *a; (a = va_arg(ap, const char *));)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", a) + 1;
    va_end(ap);
    int w = open(req, O_WRONLY);
    assert_true(w >= 0);
    assert_int_equal(write(w, buf, len), (ssize_t)len);
    close(w);

    int status = -1;
    struct pollfd p = { .fd = rfd, .events = POLLIN };
    if (poll(&p, 1, 10000) == 1) {
        char line[32] = "";
        ssize_t n = read(rfd, line, sizeof(line) - 1);
        if (n > 0) {
            line[n] = '\0';
            status = atoi(line);
        }
    }
    close(rfd);
    out[0] = '\0';
    FILE *o = fopen(outf, "r");
    if (o) {
        size_t n = fread(out, 1, outsz - 1, o);
        out[n] = '\0';
        fclose(o);
    }
    return status;
}

static void test_fence_zygote_runs_main_with_the_request_arguments(void **state)
{
    struct fz *f = *state;
    char out[4096];

    start_server(f);
    assert_int_equal(call(f, out, sizeof(out), "3", "-o", "status", "--key=abc", (char *)NULL), 3);
    assert_non_null(strstr(out, "args: 3 -o status --key=abc calls: 1"));
    assert_non_null(strstr(out, "to stderr"));
    /* argv[0] is the agent's path: fence_scsi looks at its basename. */
    assert_non_null(strstr(out, f->agent));
}

static void test_fence_zygote_each_call_starts_from_the_loaded_state(void **state)
{
    struct fz *f = *state;
    char out[4096];

    start_server(f);
    assert_int_equal(call(f, out, sizeof(out), "0", "first", (char *)NULL), 0);
    assert_non_null(strstr(out, "args: 0 first calls: 1"));
    assert_int_equal(call(f, out, sizeof(out), "2", "second", (char *)NULL), 2);
    assert_non_null(strstr(out, "args: 2 second calls: 1"));
    assert_null(strstr(out, "first"));
}

static void test_fence_zygote_uncaught_exception_is_status_1(void **state)
{
    struct fz *f = *state;
    char out[4096];

    start_server(f);
    assert_int_equal(call(f, out, sizeof(out), "raise", (char *)NULL), 1);
    assert_non_null(strstr(out, "RuntimeError: agent failed"));
    /* The server survives its child's failure. */
    assert_int_equal(call(f, out, sizeof(out), "0", (char *)NULL), 0);
}

static void test_fence_zygote_does_not_run_main_at_load(void **state)
{
    struct fz *f = *state;
    char marker[600];

    start_server(f);
    snprintf(marker, sizeof(marker), "%s/ran-as-main", f->dir);
    assert_int_not_equal(access(marker, F_OK), 0);
}

static void test_fence_zygote_request_without_arguments_ends_it(void **state)
{
    struct fz *f = *state;
    char req[600];

    start_server(f);
    snprintf(req, sizeof(req), "%s/req", f->srvdir);
    int w = open(req, O_WRONLY);
    assert_true(w >= 0);
    assert_int_equal(write(w, "x\0y\0", 4), 4);
    close(w);
    assert_int_equal(tu_wait_exit(f->pid, 10000), 0);
    f->pid = -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fence_zygote_runs_main_with_the_request_arguments,
                                        fz_setup, fz_teardown),
        cmocka_unit_test_setup_teardown(test_fence_zygote_each_call_starts_from_the_loaded_state,
                                        fz_setup, fz_teardown),
        cmocka_unit_test_setup_teardown(test_fence_zygote_uncaught_exception_is_status_1, fz_setup,
                                        fz_teardown),
        cmocka_unit_test_setup_teardown(test_fence_zygote_does_not_run_main_at_load, fz_setup,
                                        fz_teardown),
        cmocka_unit_test_setup_teardown(test_fence_zygote_request_without_arguments_ends_it,
                                        fz_setup, fz_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
