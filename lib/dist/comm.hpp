// lib/dist/comm.hpp: the communicator of data-parallel training and distributed
// search (docs/training.md, "Training on many machines"). A small interface over
// MPI: the ranks of one job, sums of gradients and counts, broadcasts from a
// root, and agreement on a failure so that no rank is left waiting in a
// collective after another gave up. Without MPI (the mpi feature disabled, or
// a program not started by mpirun) it is one process: every call returns at
// once and leaves the data as it is.
//
// Only the thread that called the training (or search) entry uses a Comm
// (MPI_THREAD_FUNNELED is enough). No header of lib/ other than comm.cpp sees
// mpi.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mos::dist {

// Whether this library was built with MPI (the `mpi` Meson feature).
bool mpi_built();
// Whether MPI was built and MPI_Init has been called (and MPI not finalized).
bool mpi_running();

class Comm {
public:
    // One process: rank 0 of 1.
    Comm();
    ~Comm();
    Comm(Comm &&) noexcept;
    Comm &operator=(Comm &&) noexcept;
    Comm(const Comm &) = delete;
    Comm &operator=(const Comm &) = delete;

    // The communicator a call runs on. `mpi_comm` points to an MPI_Comm of
    // the caller (it is duplicated, so the caller's communicator sees no
    // traffic and may be freed after the call), or is NULL: MPI_COMM_WORLD
    // when MPI is running, one process otherwise. MOS_UNSUPPORTED when a
    // communicator is given to a library built without MPI, and
    // MOS_INVALID_ARGUMENT when MPI is not initialized or the handle is
    // MPI_COMM_NULL.
    static Comm attach(const void *mpi_comm);

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool root() const { return rank_ == 0; }
    bool distributed() const { return size_ > 1; }

    // In-place sums over every rank (MPI_Allreduce, MPI_SUM). Every rank
    // gets the same result. Counts above INT_MAX are sent in pieces.
    void sum(float *data, size_t n);
    void sum(double *data, size_t n);
    // Rank `from`'s bytes on every rank (others are resized to fit).
    void broadcast(std::string &bytes, int from = 0);
    void broadcast(std::vector<uint8_t> &bytes, int from = 0);
    void broadcast(int64_t &value, int from = 0);

    // Every rank says whether its part of a phase succeeded; if any failed,
    // every rank throws: the first failed rank rethrows its own error (its
    // status and message), the others throw an Error with that status naming
    // the rank and carrying its message, so every rank reports the same cause.
    // `what` names the phase ("reading the corpus"). Call it on every rank,
    // with the error a rank caught (or null).
    void agree(const std::exception_ptr &error, const char *what);

    // Runs f on the root only and lets every rank know whether it failed
    // (agree): the other ranks do not wait forever for a root that gave up.
    void on_root(const std::function<void()> &f, const char *what);

    // Waits until every rank got here (MPI_Barrier), timed as wait_seconds():
    // called before the gradient sum, it keeps the time the ranks wait for
    // the slowest one apart from the time the sum itself takes.
    void wait_for_all();

    // Seconds spent in sum() of floats (the gradients of training), and in
    // wait_for_all(), since the communicator was made or the last reset.
    double sum_seconds() const { return sum_seconds_; }
    double wait_seconds() const { return wait_seconds_; }
    void reset_seconds() { sum_seconds_ = wait_seconds_ = 0.0; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int rank_ = 0, size_ = 1;
    double sum_seconds_ = 0.0, wait_seconds_ = 0.0;
};

}  // namespace mos::dist
