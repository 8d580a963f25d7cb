// lib/backend/threads.cpp: thread counts and ThreadScope (see threads.hpp).
#include "backend/threads.hpp"

#include <cblas.h>
#include <omp.h>

#include "core/cpu.hpp"

namespace mos {

void set_num_threads(int n) {
    n = resolve_threads(n);
    // OpenBLAS first: in its OpenMP build this also sets the OpenMP count
    // (docs/building.md, "One OpenMP thread pool"); the explicit OpenMP call keeps
    // oneDNN and our kernels right with any OpenBLAS build.
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

ThreadScope::ThreadScope(int n) : prev_omp_(omp_get_max_threads()), prev_blas_(openblas_get_num_threads()) {
    set_num_threads(n);
}

ThreadScope::~ThreadScope() {
    // OpenBLAS first, since in its OpenMP build it sets the OpenMP count too;
    // then this thread's OpenMP count, which is what every later call follows.
    openblas_set_num_threads(prev_blas_);
    omp_set_num_threads(prev_omp_);
}

}  // namespace mos
