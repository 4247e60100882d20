/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz.h - what every libFuzzer target of tests/fuzz/ shares: the entry
 * point's prototype and CHECK(), which aborts (a crash libFuzzer reports,
 * with the input) when an invariant does not hold.
 */
#ifndef PRHELPER_TESTS_FUZZ_H
#define PRHELPER_TESTS_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
