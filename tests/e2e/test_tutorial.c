/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tutorial.c - runs every command of docs/tutorial.md, in order, in
 * one shell (with the built prhelper, prhelper-cli and prhelper-replay
 * first in PATH) and checks that each prints what the tutorial shows, so
 * the tutorial cannot rot.  A "$ " line in a ```console block is a
 * command; the lines after it, up to the next command or the end of the
 * block, are its output (stdout and stderr).  Compared after removing
 * trailing blanks and replacing what differs from machine to machine:
 * LUN names (file-DEV-INO) and the temporary directory.
 * scripts/tutorial-update rewrites the outputs from a real run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libgen.h>
#include <regex.h>
#include <sys/wait.h>

#include "prh_test_util.h"

#ifndef PRH_REPLAY_BIN
#error "PRH_REPLAY_BIN comes from src/CMakeLists.txt"
#endif

#define MAX_CMDS 512

struct step {
    char *cmd;
    char *expected;
    int line;
};

static struct step steps[MAX_CMDS];
static int nsteps;

static char *xstrcat(char *a, const char *b, size_t blen)
{
    size_t alen = a ? strlen(a) : 0;
    char *r = realloc(a, alen + blen + 1);
    memcpy(r + alen, b, blen);
    r[alen + blen] = '\0';
    return r;
}

static void free_steps(void)
{
    for (int i = 0; i < nsteps; i++) {
        free(steps[i].cmd);
        free(steps[i].expected);
    }
    nsteps = 0;
}

static void load_tutorial(void)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/docs/tutorial.md", PRH_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    bool in_block = false;
    int lineno = 0;
    free_steps();
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (!in_block) {
            in_block = strncmp(line, "```console", 10) == 0;
            continue;
        }
        if (strncmp(line, "```", 3) == 0) {
            in_block = false;
            continue;
        }
        if (strncmp(line, "$ ", 2) == 0) {
            assert_true(nsteps < MAX_CMDS);
            steps[nsteps].cmd = strdup(line + 2);
            steps[nsteps].expected = strdup("");
            steps[nsteps].line = lineno;
            nsteps++;
        } else {
            assert_true(nsteps > 0); /* output before any command */
            steps[nsteps - 1].expected =
                xstrcat(steps[nsteps - 1].expected, line, strlen(line));
        }
    }
    free(line);
    fclose(f);
    assert_false(in_block);
}

/* Replace every match of re in s by rep (returns a new string). */
static char *replace_all(char *s, const char *re, const char *rep)
{
    regex_t rx;
    regmatch_t m;
    char *out = strdup("");
    const char *p = s;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED), 0);
    while (regexec(&rx, p, 1, &m, p == s ? 0 : REG_NOTBOL) == 0 && m.rm_eo > 0) {
        out = xstrcat(out, p, (size_t)m.rm_so);
        out = xstrcat(out, rep, strlen(rep));
        p += m.rm_eo;
    }
    out = xstrcat(out, p, strlen(p));
    regfree(&rx);
    free(s);
    return out;
}

/* Trailing blanks of every line and trailing newlines go; volatile names are replaced. */
static char *normalize(const char *text)
{
    char *s = strdup(text);
    s = replace_all(s, "[ \t]+\n", "\n");
    s = replace_all(s, "[ \t]+$", "");
    s = replace_all(s, "\n+$", "");
    s = replace_all(s, "file-[0-9a-f]+-[0-9]+", "file-LUN");
    s = replace_all(s, "/[^ :'\"]*/tmp\\.[A-Za-z0-9]+/", "/TMP/");
    return s;
}

static char *run_all(const char *dir)
{
    char script[4300], bindirs[3 * 1024], buf[1024];
    snprintf(script, sizeof(script), "%s/tutorial.sh", dir);
    FILE *f = fopen(script, "w");
    fprintf(f, "exec 2>&1\nunset PRHELPER_SOCKET PRHELPER_CONTROL\n__s=0\n");
    for (int i = 0; i < nsteps; i++)
        fprintf(f, "printf '\\036%d\\036\\n'; (exit $__s)\n%s__s=$?\n", i, steps[i].cmd);
    fprintf(f, "printf '\\036end\\036\\n'\n");
    fclose(f);

    snprintf(buf, sizeof(buf), "%s", PRH_DAEMON_BIN);
    snprintf(bindirs, sizeof(bindirs), "%s", dirname(buf));
    snprintf(buf, sizeof(buf), "%s", PRH_CLI_BIN);
    snprintf(bindirs + strlen(bindirs), sizeof(bindirs) - strlen(bindirs), ":%s", dirname(buf));
    snprintf(buf, sizeof(buf), "%s", PRH_REPLAY_BIN);
    snprintf(bindirs + strlen(bindirs), sizeof(bindirs) - strlen(bindirs), ":%s", dirname(buf));

    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char path[8192];
        const char *old = getenv("PATH");
        snprintf(path, sizeof(path), "%s:%s", bindirs, old ? old : "/usr/bin:/bin");
        setenv("PATH", path, 1);
        setenv("TMPDIR", dir, 1);
        setenv("LC_ALL", "C", 1);
        if (chdir(dir) < 0)
            _exit(127);
        dup2(p[1], 1);
        dup2(p[1], 2);
        execlp("timeout", "timeout", "300", "bash", script, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char *out = strdup("");
    char chunk[4096];
    ssize_t n;
    while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
        out = xstrcat(out, chunk, (size_t)n);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    /* Whatever the tutorial left running (it should stop its daemon). */
    snprintf(buf, sizeof(buf),
             "for p in $(find '%s' -name '*.pid' 2>/dev/null); do kill $(cat \"$p\") 2>/dev/null; "
             "done; true",
             dir);
    assert_int_equal(system(buf), 0);
    return out;
}

static void test_tutorial_covers_every_topic_of_the_course(void **state)
{
    (void)state;
    static const char *const topics[] = {
        "register ",   "register-ignore", "reserve we\n",  "reserve ea\n",  "reserve we-ro",
        "reserve ea-ro", "reserve we-ar", "reserve ea-ar", "preempt-abort", "power-cycle",
        "--aptpl",     "register-move",   "clear",         "ctl state",    "ctl access",
        "ctl fault",   "ctl crash",       "prhelper-replay",
    };
    load_tutorial();
    assert_true(nsteps >= 80);
    for (size_t t = 0; t < sizeof(topics) / sizeof(topics[0]); t++) {
        bool found = false;
        for (int i = 0; i < nsteps && !found; i++)
            found = strstr(steps[i].cmd, topics[t]) != NULL;
        if (!found)
            fail_msg("the tutorial runs no '%s'", topics[t]);
    }
    free_steps();
}

static void test_every_tutorial_command_prints_what_the_tutorial_shows(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    load_tutorial();
    char *out = run_all(dir);
    int bad = 0, done = 0;
    char marker[32];
    for (int i = 0; i < nsteps; i++) {
        snprintf(marker, sizeof(marker), "\036%d\036\n", i);
        char *start = strstr(out, marker);
        if (!start) {
            fprintf(stderr, "docs/tutorial.md:%d: '%.*s' did not run\n", steps[i].line,
                    (int)strcspn(steps[i].cmd, "\n"), steps[i].cmd);
            bad++;
            break;
        }
        start += strlen(marker);
        char *end = strchr(start, '\036');
        char *got = strndup(start, end ? (size_t)(end - start) : strlen(start));
        char *a = normalize(got), *e = normalize(steps[i].expected);
        if (strcmp(a, e) != 0) {
            fprintf(stderr,
                    "docs/tutorial.md:%d: $ %s--- the tutorial shows:\n%s\n--- it printed:\n%s\n",
                    steps[i].line, steps[i].cmd, e, a);
            bad++;
        }
        done++;
        free(a);
        free(e);
        free(got);
    }
    free(out);
    tu_tmpdir_free(dir);
    int total = nsteps;
    free_steps();
    assert_int_equal(done, total);
    assert_int_equal(bad, 0);
}

static void test_normalize_hides_only_what_differs_between_machines(void **state)
{
    (void)state;
    char *s = normalize("LUN file-fe00-10961045 x  \nprhelper-cli: /tmp/x/tmp.AbC123/prh.sock: y\n\n");
    assert_string_equal(s, "LUN file-LUN x\nprhelper-cli: /TMP/prh.sock: y");
    free(s);
    s = normalize("reserve: GOOD");
    assert_string_equal(s, "reserve: GOOD");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_hides_only_what_differs_between_machines),
        cmocka_unit_test(test_tutorial_covers_every_topic_of_the_course),
        cmocka_unit_test(test_every_tutorial_command_prints_what_the_tutorial_shows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
