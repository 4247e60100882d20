/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_conformance_map.c - docs/conformance.md maps each clause to
 * the tests that check it; every name in its tables must exist: `test_x`
 * a test function, `x` a row (or `x[]` a rule table) of tests/sim/
 * (sim_table.h), anything else an identifier of the code; `x*` stands for
 * every name that starts so.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_helpers.h"

struct text {
    char *data;
    size_t len;
};

static void append_file(struct text *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        char *p = realloc(t->data, t->len + n + 1);
        assert_non_null(p);
        t->data = p;
        memcpy(t->data + t->len, buf, n);
        t->len += n;
        t->data[t->len] = '\0';
    }
    fclose(f);
}

/* Every *.c and *.h file of a source folder. */
static void append_dir(struct text *t, const char *sub)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s", PRH_SOURCE_DIR, sub);
    DIR *d = opendir(dir);
    if (d == NULL)
        fail_msg("cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 3 || e->d_name[n - 2] != '.' || (e->d_name[n - 1] != 'c' && e->d_name[n - 1] != 'h'))
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        append_file(t, path);
    }
    closedir(d);
}

static bool is_name(const char *s, size_t n)
{
    if (n < 3 || s[0] < 'a' || s[0] > 'z' || memchr(s, '_', n) == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  (c == '*' && i == n - 1);
        if (!ok)
            return false;
    }
    return true;
}

/* Is "<before><name><after>" (or, for name*, "<before><prefix>") in t? */
static bool has(const struct text *t, const char *before, const char *name, size_t n,
                const char *after)
{
    char want[256];
    bool star = name[n - 1] == '*';
    snprintf(want, sizeof(want), "%s%.*s%s", before, (int)(star ? n - 1 : n), name,
             star ? "" : after);
    return strstr(t->data, want) != NULL;
}

static void test_every_name_in_the_conformance_map_exists(void **state)
{
    (void)state;
    struct text doc = { NULL, 0 }, tests = { NULL, 0 }, rows = { NULL, 0 }, code = { NULL, 0 };
    char path[512];
    snprintf(path, sizeof(path), "%s/docs/conformance.md", PRH_SOURCE_DIR);
    append_file(&doc, path);
    static const char *const layers[] = { "tests/sim", "tests/daemon", "tests/transports",
                                          "tests/e2e", "tests/helpers" };
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
        append_dir(&tests, layers[i]);
        append_dir(&rows, layers[i]);
    }
    append_dir(&code, "include/prhelper");
    append_dir(&code, "sim");
    append_dir(&code, "src");
    size_t checked = 0, unknown = 0;
    for (char *line = doc.data; line != NULL && *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (line[0] == '|') {
            for (char *p = memchr(line, '`', len); p != NULL && p < line + len;) {
                char *q = memchr(p + 1, '`', (size_t)(line + len - p - 1));
                if (q == NULL)
                    break;
                const char *name = p + 1;
                size_t n = (size_t)(q - name);
                const char *slash = memchr(name, '/', n);
                if (slash != NULL && (strncmp(slash, "/spc4", 5) == 0 || strncmp(slash, "/lio", 4) == 0))
                    n = (size_t)(slash - name);
                if (is_name(name, n)) {
                    bool found = strncmp(name, "test_", 5) == 0
                                     ? has(&tests, "void ", name, n, "(")
                                     : has(&rows, "\"", name, n, "\"") ||
                                           has(&rows, "", name, n, "[] = {") ||
                                           has(&code, "", name, n, "");
                    checked++;
                    if (!found) {
                        unknown++;
                        print_error("docs/conformance.md names `%.*s`, which no test, row or code has\n",
                                    (int)n, name);
                    }
                }
                p = memchr(q + 1, '`', (size_t)(line + len - q - 1));
            }
        }
        line = end ? end + 1 : NULL;
    }
    /* The map is large: a parse that finds few names is itself a failure. */
    if (checked < 300)
        fail_msg("only %zu names found in docs/conformance.md's tables", checked);
    if (unknown > 0)
        fail_msg("%zu of %zu names in docs/conformance.md do not exist", unknown, checked);
    free(doc.data);
    free(tests.data);
    free(rows.data);
    free(code.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_name_in_the_conformance_map_exists),
    };
    return cmocka_run_group_tests_name("pr_sim.conformance_map", tests, NULL, NULL);
}
