/* tests/capi/thread_counts.h: the calling thread's OpenMP and OpenBLAS thread
 * counts, for the tests that check that a libmos call taking a `threads` option
 * leaves both as they were (docs/threading.md). Include after <cmocka.h>; link
 * OpenMP (C) and OpenBLAS. */
#ifndef MOS_TESTS_THREAD_COUNTS_H
#define MOS_TESTS_THREAD_COUNTS_H

#include <omp.h>

/* OpenBLAS's own setters (cblas.h is not needed for two functions). */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

/* A caller count that differs from every count a call sets in these tests
 * (1, and 0 = all cores): the tests run on machines of 2 or more cores, so
 * "all cores + 1" is neither. */
static inline int caller_threads(void) { return omp_get_num_procs() + 1; }

/* Sets the calling thread's counts as a program would (OpenBLAS, which in its
 * OpenMP build sets OpenMP's too, then OpenMP). */
static inline void set_caller_threads(int n) {
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
}

/* Both counts are still n after a call. */
#define assert_caller_threads(n)                          \
    do {                                                  \
        assert_int_equal(omp_get_max_threads(), (n));     \
        assert_int_equal(openblas_get_num_threads(), (n)); \
    } while (0)

#endif /* MOS_TESTS_THREAD_COUNTS_H */
