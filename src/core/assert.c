/*
 * assert.c — what a broken invariant does (see assert.h): say which, then abort, so
 * the test run stops where the bug is rather than later in a corrupt state.
 */
#include "core/assert.h"

#include <stdio.h>
#include <stdlib.h>

void tgi_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "thumbgen: invariant broken: %s (%s:%d)\n", cond, file, line);
    abort();
}
