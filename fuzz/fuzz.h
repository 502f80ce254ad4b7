/*
 * fuzz.h — shared by the libFuzzer targets in fuzz/ (one .c per target; `make fuzz`
 * builds them with clang -fsanitize=fuzzer,address,undefined and runs each for
 * FUZZ_SECONDS against its seed corpus in fuzz/corpus/NAME/).
 *
 * A target checks properties, not only crashes: TG_FUZZ_ASSERT aborts (a finding,
 * saved by libFuzzer as a crash input) when a property does not hold.
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TG_FUZZ_ASSERT(cond, ...)                                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "property failed: %s: ", #cond);                                       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a NUL-terminated string (malloc'd), or NULL when it holds a NUL byte
 * (the functions fuzzed take C strings). */
static inline char *tg_fuzz_string(const uint8_t *data, size_t size)
{
    if (memchr(data, 0, size))
        return NULL;
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
