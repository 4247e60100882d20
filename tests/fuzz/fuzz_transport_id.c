/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_transport_id.c - TransportID parsing (pr_tid_parse) and the
 * string form.  Invariants: a parsed TransportID consumes no more than
 * it was given, rebuilds into a TransportID that parses back equal, and
 * its string form parses back equal.
 */
#include "fuzz.h"
#include "prhelper/transport_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pr_tid id, again;
    size_t used = 0;
    uint8_t buf[PR_TID_MAX_LEN + 16];
    char str[512];

    /* An exact-size heap copy: ASan sees any read past the end. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (pr_tid_parse(copy, size, &id, &used) == 0) {
        CHECK(used > 0 && used <= size);
        size_t n = pr_tid_build(&id, buf, sizeof(buf));
        CHECK(n > 0 && n <= sizeof(buf));
        size_t used2 = 0;
        CHECK(pr_tid_parse(buf, n, &again, &used2) == 0);
        CHECK(pr_tid_equal(&id, &again));
        if (pr_tid_to_string(&id, str, sizeof(str))) {
            CHECK(strlen(str) < sizeof(str));
            if (pr_tid_from_string(str, &again) == 0)
                CHECK(pr_tid_equal(&id, &again));
        }
    }
    /* The string parser on the raw bytes as a C string. */
    size_t m = size < sizeof(str) - 1 ? size : sizeof(str) - 1;
    memcpy(str, data, m);
    str[m] = '\0';
    if (pr_tid_from_string(str, &id) == 0) {
        size_t n = pr_tid_build(&id, buf, sizeof(buf));
        CHECK(n > 0);
        CHECK(pr_tid_parse(buf, n, &again, &used) == 0 && pr_tid_equal(&id, &again));
    }
    free(copy);
    return 0;
}
