/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_control.c - the control socket: the command table, the line
 * protocol, the 0600 socket and its client call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tu_text.h"
#include "prh_test_util.h"
#include <sys/wait.h>
#include "prhelper/control.h"

/* dispatch line into a string (static buffer). */
static const char *run_line(struct prh_control *ctl, const char *line, int *rc)
{
    static char *buf;
    size_t len = 0;
    free(buf);
    buf = NULL;
    FILE *f = open_memstream(&buf, &len);
    *rc = prh_control_dispatch(ctl, line, 1, 0, f);
    fclose(f);
    return buf;
}

static int cmd_echo(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    int *calls = opaque;
    (*calls)++;
    if (req->argc > 1 && strcmp(req->argv[1], "fail") == 0) {
        fprintf(out, "asked to fail\n");
        return -1;
    }
    fprintf(out, "%s", req->json ? "{" : "");
    for (int i = 0; i < req->argc; i++)
        fprintf(out, "%s%s", i ? "," : "", req->argv[i]);
    fprintf(out, "%s\n", req->json ? "}" : "");
    return 0;
}

static int cmd_silent_fail(void *opaque, const struct prh_ctl_request *req, FILE *out)
{
    (void)opaque;
    (void)req;
    (void)out;
    return -1;
}

/* A control table with the command "echo" (cmd_echo, counting into *calls). */
static struct prh_control *control_with_echo(int *calls)
{
    static struct prh_ctl_command echo = { .name = "echo", .args = "", .help = "h",
                                           .handler = cmd_echo };
    struct prh_control *ctl = prh_control_new();
    assert_non_null(ctl);
    echo.opaque = calls;
    assert_int_equal(prh_control_add(ctl, &echo), 0);
    return ctl;
}

static void test_builtin_help_lists_every_command_in_text_and_json(void **state)
{
    (void)state;
    int calls = 0, rc;
    struct prh_control *ctl = prh_control_new();
    const struct prh_ctl_command echo = { .name = "echo", .args = "[WORD...]",
                                          .help = "say it back", .handler = cmd_echo,
                                          .opaque = &calls };
    assert_int_equal(prh_control_add(ctl, &echo), 0);
    const char *out = run_line(ctl, "help", &rc);
    assert_int_equal(rc, 0);
    tu_assert_contains(out, "ok\n", "echo [WORD...]", "say it back", "version");
    out = run_line(ctl, "help --json", &rc);
    assert_non_null(strstr(out, "{\"name\":\"echo\",\"args\":\"[WORD...]\",\"help\":\"say it back\"}"));
    prh_control_free(ctl);
}

static void test_dispatch_passes_words_and_json_flag_to_the_handler(void **state)
{
    (void)state;
    int calls = 0, rc;
    struct prh_control *ctl = control_with_echo(&calls);
    assert_string_equal(run_line(ctl, "  echo a\tb  ", &rc), "ok\necho,a,b\n");
    assert_string_equal(run_line(ctl, "echo --json a", &rc), "ok\n{echo,a}\n");
    assert_int_equal(calls, 2);
    prh_control_free(ctl);
}

static void test_handler_failure_is_an_error_answer_with_its_reason(void **state)
{
    (void)state;
    int calls = 0, rc;
    struct prh_control *ctl = control_with_echo(&calls);
    const struct prh_ctl_command mute = { .name = "mute", .args = "", .help = "h",
                                          .handler = cmd_silent_fail };
    prh_control_add(ctl, &mute);
    assert_string_equal(run_line(ctl, "echo fail", &rc), "error\nasked to fail\n");
    assert_int_equal(rc, -1);
    assert_string_equal(run_line(ctl, "mute", &rc), "error\nmute failed\n");
    prh_control_free(ctl);
}

static void test_unknown_empty_and_oversized_requests_are_refused(void **state)
{
    (void)state;
    int rc;
    struct prh_control *ctl = prh_control_new();
    assert_string_equal(run_line(ctl, "frobnicate", &rc),
                        "error\nunknown control command 'frobnicate' (try 'help')\n");
    assert_int_equal(rc, -1);
    assert_string_equal(run_line(ctl, "   ", &rc), "error\nempty request (try 'help')\n");
    char many[200] = "";
    for (int i = 0; i < PRH_CTL_MAX_ARGS + 1; i++)
        strcat(many, "w ");
    assert_non_null(strstr(run_line(ctl, many, &rc), "more than"));
    char *big = malloc(PRH_CTL_LINE_MAX + 10);
    memset(big, 'x', PRH_CTL_LINE_MAX + 9);
    big[PRH_CTL_LINE_MAX + 9] = '\0';
    assert_non_null(strstr(run_line(ctl, big, &rc), "longer than"));
    free(big);
    prh_control_free(ctl);
}

static void test_add_rejects_duplicates_and_malformed_commands(void **state)
{
    (void)state;
    struct prh_control *ctl = prh_control_new();
    size_t n = prh_control_count(ctl);
    const struct prh_ctl_command dup = { .name = "help", .args = "", .help = "h",
                                         .handler = cmd_silent_fail };
    const struct prh_ctl_command blank = { .name = "two words", .args = "", .help = "h",
                                           .handler = cmd_silent_fail };
    const struct prh_ctl_command nohandler = { .name = "x", .args = "", .help = "h" };
    assert_int_equal(prh_control_add(ctl, &dup), -EEXIST);
    assert_int_equal(prh_control_add(ctl, &blank), -EINVAL);
    assert_int_equal(prh_control_add(ctl, &nohandler), -EINVAL);
    assert_int_equal(prh_control_count(ctl), n);
    static char names[40][16];
    for (int i = 0; i < 40; i++) { /* the table grows */
        char *name = names[i];
        snprintf(name, sizeof(names[i]), "c%d", i);
        const struct prh_ctl_command c = { .name = name, .args = "", .help = "h",
                                           .handler = cmd_silent_fail };
        assert_int_equal(prh_control_add(ctl, &c), 0);
    }
    assert_int_equal(prh_control_count(ctl), n + 40);
    prh_control_free(ctl);
}

static void test_socket_is_mode_0600_and_answers_a_client_call(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[256], err[256];
    int calls = 0;
    struct stat sb;
    snprintf(path, sizeof(path), "%s/ctl", dir);
    struct prh_control *ctl = control_with_echo(&calls);
    assert_int_equal(prh_control_listen(ctl, path, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(prh_control_start(ctl, err, sizeof(err)), 0);
    char *words[] = { "echo", "x" }, *body;
    assert_int_equal(prh_control_call(path, 2, words, true, &body), 0);
    assert_string_equal(body, "{echo,x}\n");
    free(body);
    char *bad[] = { "echo", "fail" };
    assert_int_equal(prh_control_call(path, 2, bad, false, &body), 1);
    assert_string_equal(body, "asked to fail\n");
    free(body);
    char *blank[] = { "echo", "a b" };
    assert_int_equal(prh_control_call(path, 2, blank, false, &body), -EINVAL);
    prh_control_free(ctl);
    assert_int_equal(stat(path, &sb), -1); /* unlinked */
    assert_int_equal(prh_control_call(path, 1, words, false, &body), -ENOENT);
    tu_tmpdir_free(dir);
}

static void test_a_silent_or_overlong_client_does_not_block_the_next(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[256], err[256];
    int calls = 0;
    snprintf(path, sizeof(path), "%s/ctl", dir);
    struct prh_control *ctl = control_with_echo(&calls);
    assert_int_equal(prh_control_listen(ctl, path, err, sizeof(err)), 0);
    assert_int_equal(prh_control_start(ctl, err, sizeof(err)), 0);
    /* An overlong line gets an error answer. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strcpy(a.sun_path, path);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char *big = malloc(PRH_CTL_LINE_MAX + 100);
    memset(big, 'y', PRH_CTL_LINE_MAX + 100);
    assert_int_equal(prh_wire_write_all(fd, big, PRH_CTL_LINE_MAX + 100), 0);
    char ans[128] = "";
    assert_int_equal(prh_wire_read_all(fd, ans, 6), 0);
    assert_memory_equal(ans, "error\n", 6);
    close(fd);
    free(big);
    /* A silent one is dropped after the I/O timeout; the next is served. */
    int silent = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(silent, (struct sockaddr *)&a, sizeof(a)), 0);
    long t0 = tu_now_ms();
    char *words[] = { "echo" }, *body;
    assert_int_equal(prh_control_call(path, 1, words, false, &body), 0);
    assert_true(tu_now_ms() - t0 < PRH_CTL_IO_TIMEOUT_MS + 2000);
    free(body);
    close(silent);
    prh_control_free(ctl);
    tu_tmpdir_free(dir);
}

static void test_another_user_cannot_reach_the_socket(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* needs root to become another user */
    char *dir = tu_tmpdir(), path[256], err[256];
    snprintf(path, sizeof(path), "%s/ctl", dir);
    chmod(dir, 0755); /* the directory is not what keeps others out */
    struct prh_control *ctl = prh_control_new();
    assert_int_equal(prh_control_listen(ctl, path, err, sizeof(err)), 0);
    assert_int_equal(prh_control_start(ctl, err, sizeof(err)), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *words[] = { "version" }, *body;
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        _exit(prh_control_call(path, 1, words, false, &body) == -EACCES ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    prh_control_free(ctl);
    tu_tmpdir_free(dir);
}

static void test_listen_reports_an_unusable_path(void **state)
{
    (void)state;
    char err[256], longpath[200];
    struct prh_control *ctl = prh_control_new();
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(prh_control_listen(ctl, longpath, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too long"));
    assert_int_equal(prh_control_listen(ctl, "/nonexistent-dir/x/ctl", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot listen"));
    assert_int_equal(prh_control_start(ctl, err, sizeof(err)), -1);
    prh_control_free(ctl);
}

static void test_json_string_escapes_quotes_controls_and_high_bytes(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    prh_json_string(f, "a\"b\\c\nd\x01\xff");
    fclose(f);
    assert_string_equal(buf, "\"a\\\"b\\\\c\\nd\\u0001\\u00ff\"");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_help_lists_every_command_in_text_and_json),
        cmocka_unit_test(test_dispatch_passes_words_and_json_flag_to_the_handler),
        cmocka_unit_test(test_handler_failure_is_an_error_answer_with_its_reason),
        cmocka_unit_test(test_unknown_empty_and_oversized_requests_are_refused),
        cmocka_unit_test(test_add_rejects_duplicates_and_malformed_commands),
        cmocka_unit_test(test_socket_is_mode_0600_and_answers_a_client_call),
        cmocka_unit_test(test_a_silent_or_overlong_client_does_not_block_the_next),
        cmocka_unit_test(test_another_user_cannot_reach_the_socket),
        cmocka_unit_test(test_listen_reports_an_unusable_path),
        cmocka_unit_test(test_json_string_escapes_quotes_controls_and_high_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
