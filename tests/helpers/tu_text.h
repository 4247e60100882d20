/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tu_text.h - checks on text a test captured (a log, an answer, a file).
 */
#ifndef PRHELPER_TESTS_TU_TEXT_H
#define PRHELPER_TESTS_TU_TEXT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* TEXT contains each of the strings given; a failure names the first one
 * missing and prints TEXT. */
#define tu_assert_contains(text, ...)                                                             \
    tu_assert_contains_((text), (const char *const[]){ __VA_ARGS__, NULL }, __FILE__, __LINE__)

static inline void tu_assert_contains_(const char *text, const char *const *words, const char *file,
                                       int line)
{
    for (; *words; words++)
        if (!text || !strstr(text, *words))
            fail_msg("%s:%d: \"%s\" missing in:\n%s", file, line, *words, text ? text : "(null)");
}

/* The text of a file that must exist (a /proc file), up to LEN - 1 bytes,
 * NUL-terminated in BUF; BUF is returned. */
static inline char *tu_read_text(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

#endif
