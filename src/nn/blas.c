/*
 * blas.c — OpenBLAS's kernels for the CPU it runs on (blas.h).
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) chooses its kernels in the library's
 * constructor, before main, from the CPU model; a model it does not know falls back to
 * Prescott (SSE3). This machine's "Intel(R) Xeon(R) Processor" (AVX-512 up to FP16) is
 * one: MobileNetV2 took 32-39 ms a frame instead of 11 with the SkylakeX kernels, the
 * subject detector 60-70 ms instead of 29-31, i.e. 2-3 s of the ~16 s a 30-s 1080p
 * video's analysis cost (bench/RESULTS.md, "Below one minute, part 2"). The choice
 * cannot be changed once the library is loaded (OPENBLAS_CORETYPE is read then, and
 * an environment set in a preinit function is reset by libc's own start-up), so main
 * calls tgi_blas_respawn first: when the variable is unset and OpenBLAS settled for
 * Prescott on a CPU with AVX2 or AVX-512, the program runs again (execv of
 * /proc/self/exe, same arguments) with OPENBLAS_CORETYPE set; the variable being set
 * ends the loop (not when the program was started through the dynamic loader). A CPU OpenBLAS
 * recognises keeps its choice. The numbers differ from Prescott's in the last float digits
 * (summation order): the real-footage eval's plans and scores were unchanged.
 */
#include "nn/blas.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

unsigned tgi_blas_cpu(void)
{
    unsigned f = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx"))
        f |= TGI_CPU_AVX;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        f |= TGI_CPU_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        f |= TGI_CPU_AVX512;
#endif
    return f;
}

const char *tgi_blas_better_core(const char *chosen, unsigned cpu)
{
    /* only OpenBLAS's fallback for an unknown model: a recognised CPU keeps its kernels */
    if (!chosen || strcasecmp(chosen, "Prescott") != 0)
        return NULL;
    if ((cpu & TGI_CPU_AVX512) && (cpu & TGI_CPU_AVX2))
        return "SkylakeX";
    if (cpu & TGI_CPU_AVX2)
        return "Haswell";
    if (cpu & TGI_CPU_AVX)
        return "Sandybridge";
    return NULL;
}

const char *tgi_blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
}

void tgi_blas_respawn(char **argv)
{
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (set || !argv || !argv[0])
        return;
    const char *better = tgi_blas_better_core(tgi_blas_core(), tgi_blas_cpu());
    if (!better)
        return;
    /* run through the dynamic loader (ld-linux... PROGRAM): /proc/self/exe is the loader,
     * which would take argv[1] for the program */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return;
    self[n] = '\0';
    const char *base = strrchr(self, '/');
    base = base ? base + 1 : self;
    if (!strncmp(base, "ld-", 3) || !strncmp(base, "ld.so", 5))
        return;
    if (setenv("OPENBLAS_CORETYPE", better, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* not there (no /proc): go on with the kernels we have */
    unsetenv("OPENBLAS_CORETYPE");
}
