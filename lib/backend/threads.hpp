// lib/backend/threads.hpp: the thread count of the compute libraries.
//
// libmos's kernels, oneDNN and OpenBLAS (its OpenMP build) share one OpenMP
// pool, and OpenMP's thread count is a setting of the calling thread: a count
// set here governs the GEMMs and kernels this thread issues afterwards, and no
// other thread's (docs/threading.md).
//
// OpenBLAS's OpenMP build reads omp_get_max_threads() of the calling thread at
// every call and follows it (num_cpu_avail in its common_thread.h); its own
// openblas_set_num_threads() also sets the OpenMP count. oneDNN (OpenMP
// runtime) fixes a primitive's thread count when the primitive is created,
// which is why backend/onednn.cpp keys its primitive cache by thread count.
#pragma once

namespace mos {

// Sets the calling thread's count for libmos, oneDNN and OpenBLAS; n <= 0
// means all cores (omp_get_num_procs()).
void set_num_threads(int n);
// The calling thread's current count (omp_get_max_threads()).
int num_threads();

// Sets the calling thread's count for its lifetime and restores the previous
// OpenMP and OpenBLAS counts when it ends, so that a library call that runs
// with its own count (mos_train's `threads`) leaves nothing behind.
// n <= 0 means all cores. Not copyable; use on one thread.
class ThreadScope {
public:
    explicit ThreadScope(int n);
    ~ThreadScope();
    ThreadScope(const ThreadScope &) = delete;
    ThreadScope &operator=(const ThreadScope &) = delete;

private:
    int prev_omp_;
    int prev_blas_;
};

}  // namespace mos
