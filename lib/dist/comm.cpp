// lib/dist/comm.cpp: the communicator of lib/dist/comm.hpp, over MPI when the
// mpi feature is built (MOS_HAVE_MPI) and a single process otherwise.
#include "dist/comm.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <exception>
#include <new>

#include "core/error.hpp"

#ifdef MOS_HAVE_MPI
#include <mpi.h>
#endif

namespace mos::dist {

#ifdef MOS_HAVE_MPI

namespace {

using Clock = std::chrono::steady_clock;

// The status and message of a caught exception.
void describe(const std::exception_ptr &e, int &status, std::string &message) {
    try {
        std::rethrow_exception(e);
    } catch (const Error &x) {
        status = x.status();
        message = x.what();
    } catch (const std::bad_alloc &) {
        status = MOS_OUT_OF_MEMORY;
        message = "out of memory";
    } catch (const std::exception &x) {
        status = MOS_INTERNAL;
        message = x.what();
    } catch (...) {
        status = MOS_INTERNAL;
        message = "unknown exception";
    }
}

}  // namespace

struct Comm::Impl {
    MPI_Comm comm = MPI_COMM_NULL;
    ~Impl() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (comm != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm);
    }
};

namespace {

// MPI calls run with MPI_ERRORS_RETURN on our duplicate: a failure becomes
// an Error naming the call and MPI's own words.
void mpi_check(int rc, const char *call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
    fail(MOS_BACKEND, call, " failed: ", std::string(text, static_cast<size_t>(len)));
}

template <typename T>
void sum_pieces(MPI_Comm comm, T *data, size_t n, MPI_Datatype type) {
    const size_t piece = static_cast<size_t>(INT_MAX / 2);
    for (size_t off = 0; off < n; off += piece) {
        const int count = static_cast<int>(std::min(piece, n - off));
        mpi_check(MPI_Allreduce(MPI_IN_PLACE, data + off, count, type, MPI_SUM, comm), "MPI_Allreduce");
    }
}

}  // namespace

bool mpi_built() { return true; }

bool mpi_running() {
    int init = 0, finalized = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&finalized);
    return init && !finalized;
}

Comm Comm::attach(const void *mpi_comm) {
    Comm c;
    if (mpi_comm == nullptr && !mpi_running()) return c;
    check(mpi_running(), MOS_INVALID_ARGUMENT, "an MPI communicator was given but MPI is not initialized");
    const MPI_Comm base = mpi_comm ? *static_cast<const MPI_Comm *>(mpi_comm) : MPI_COMM_WORLD;
    check(base != MPI_COMM_NULL, MOS_INVALID_ARGUMENT, "the MPI communicator is MPI_COMM_NULL");
    c.impl_ = std::make_unique<Impl>();
    mpi_check(MPI_Comm_dup(base, &c.impl_->comm), "MPI_Comm_dup");
    mpi_check(MPI_Comm_set_errhandler(c.impl_->comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    mpi_check(MPI_Comm_rank(c.impl_->comm, &c.rank_), "MPI_Comm_rank");
    mpi_check(MPI_Comm_size(c.impl_->comm, &c.size_), "MPI_Comm_size");
    return c;
}

void Comm::sum(float *data, size_t n) {
    if (size_ <= 1 || n == 0) return;
    const auto t0 = Clock::now();
    sum_pieces(impl_->comm, data, n, MPI_FLOAT);
    sum_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
}

void Comm::sum(double *data, size_t n) {
    if (size_ <= 1 || n == 0) return;
    sum_pieces(impl_->comm, data, n, MPI_DOUBLE);
}

void Comm::wait_for_all() {
    if (size_ <= 1) return;
    const auto t0 = Clock::now();
    mpi_check(MPI_Barrier(impl_->comm), "MPI_Barrier");
    wait_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
}

void Comm::broadcast(int64_t &value, int from) {
    if (size_ <= 1) return;
    mpi_check(MPI_Bcast(&value, 1, MPI_INT64_T, from, impl_->comm), "MPI_Bcast");
}

namespace {

template <typename Bytes>
void broadcast_bytes(Comm &c, MPI_Comm comm, Bytes &bytes, int from) {
    int64_t n = static_cast<int64_t>(bytes.size());
    c.broadcast(n, from);
    check(n >= 0, MOS_INTERNAL, "negative broadcast size");
    if (c.rank() != from) bytes.resize(static_cast<size_t>(n));
    const size_t piece = static_cast<size_t>(INT_MAX / 2);
    for (size_t off = 0; off < static_cast<size_t>(n); off += piece) {
        const int count = static_cast<int>(std::min(piece, static_cast<size_t>(n) - off));
        mpi_check(MPI_Bcast(&bytes[off], count, MPI_BYTE, from, comm), "MPI_Bcast");
    }
}

}  // namespace

void Comm::broadcast(std::string &bytes, int from) {
    if (size_ > 1) broadcast_bytes(*this, impl_->comm, bytes, from);
}

void Comm::broadcast(std::vector<uint8_t> &bytes, int from) {
    if (size_ > 1) broadcast_bytes(*this, impl_->comm, bytes, from);
}

void Comm::agree(const std::exception_ptr &error, const char *what) {
    if (size_ <= 1) {
        if (error) std::rethrow_exception(error);
        return;
    }
    int first = error ? rank_ : size_;
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, impl_->comm), "MPI_Allreduce");
    if (first == size_) return;
    int64_t status = 0;
    std::string message;
    if (rank_ == first) {
        int s = 0;
        describe(error, s, message);
        status = s;
    }
    broadcast(status, first);
    broadcast(message, first);
    if (rank_ == first) std::rethrow_exception(error);
    fail(static_cast<mos_status>(status), "rank ", first, " of ", size_, " failed while ", what, ": ", message);
}

#else  // no MPI: one process

struct Comm::Impl {};

bool mpi_built() { return false; }
bool mpi_running() { return false; }

Comm Comm::attach(const void *mpi_comm) {
    check(mpi_comm == nullptr, MOS_UNSUPPORTED,
          "an MPI communicator was given but this libmos was built without MPI (meson setup -Dmpi=enabled)");
    return Comm();
}

void Comm::sum(float *, size_t) {}
void Comm::wait_for_all() {}
void Comm::sum(double *, size_t) {}
void Comm::broadcast(int64_t &, int) {}
void Comm::broadcast(std::string &, int) {}
void Comm::broadcast(std::vector<uint8_t> &, int) {}

void Comm::agree(const std::exception_ptr &error, const char *) {
    if (error) std::rethrow_exception(error);
}

#endif

Comm::Comm() = default;
Comm::~Comm() = default;
Comm::Comm(Comm &&) noexcept = default;
Comm &Comm::operator=(Comm &&) noexcept = default;

void Comm::on_root(const std::function<void()> &f, const char *what) {
    std::exception_ptr error;
    if (root()) {
        try {
            f();
        } catch (...) {
            error = std::current_exception();
        }
    }
    agree(error, what);
}

}  // namespace mos::dist
