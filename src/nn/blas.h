/*
 * blas.h — which of OpenBLAS's kernels the process runs (blas.c).
 *
 * Debian's OpenBLAS (0.3.21, built with DYNAMIC_ARCH) picks its kernels when the
 * library is loaded, before main, from the CPU model it recognises, or from
 * $OPENBLAS_CORETYPE. A model it does not know gets Prescott's SSE3 kernels whatever
 * the CPU can do. tgi_blas_respawn, called first thing in main, runs the program
 * again with OPENBLAS_CORETYPE naming the kernels the CPU's features allow.
 */
#ifndef TG_NN_BLAS_H
#define TG_NN_BLAS_H

enum {
    TGI_CPU_AVX = 1,    /* AVX */
    TGI_CPU_AVX2 = 2,   /* AVX2 and FMA */
    TGI_CPU_AVX512 = 4, /* AVX-512 F, CD, BW, DQ and VL */
};

/* The TGI_CPU_* features of this CPU. */
unsigned tgi_blas_cpu(void);

/* The OPENBLAS_CORETYPE to run with when OpenBLAS chose `chosen` (openblas_get_corename)
 * on a CPU with `cpu` (TGI_CPU_*); NULL: keep its choice (it recognised the CPU, or the
 * CPU has nothing better). */
const char *tgi_blas_better_core(const char *chosen, unsigned cpu);

/* The kernels OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...). */
const char *tgi_blas_core(void);

/* When OpenBLAS fell back to kernels below what the CPU can run and OPENBLAS_CORETYPE is
 * not set: exec /proc/self/exe with argv and OPENBLAS_CORETYPE set. Returns (doing
 * nothing else) when there is nothing better, the variable is set, or exec fails. */
void tgi_blas_respawn(char **argv);

#endif
