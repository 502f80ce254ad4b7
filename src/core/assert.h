/*
 * assert.h — TG_ASSERT(cond): the invariants the code establishes itself (the ones
 * headers such as nn/graph.h and render/lzw.h state in words), checked in test builds.
 *
 * On under `make check` (built with -DTG_ASSERTS, with the sanitizers); off in release
 * builds, where the condition is not even evaluated, so a check may cost what it
 * likes. TG_ASSERTS_ON (0 or 1) lets a whole loop of checks compile away. Never for
 * what comes from outside (files, URLs, weights, HTTP): that is validated and returns
 * a TG_E* error. A failed assertion prints the condition and its place, then aborts.
 */
#ifndef TG_CORE_ASSERT_H
#define TG_CORE_ASSERT_H

#ifdef TG_ASSERTS
#define TG_ASSERTS_ON 1
#define TG_ASSERT(c)  ((c) ? (void)0 : tgi_assert_fail(#c, __FILE__, __LINE__))
#else
#define TG_ASSERTS_ON 0
#define TG_ASSERT(c)  ((void)sizeof(!(c)))
#endif

/* Print "thumbgen: invariant broken: COND (FILE:LINE)" on stderr and abort. */
_Noreturn void tgi_assert_fail(const char *cond, const char *file, int line);

#endif
