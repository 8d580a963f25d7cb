// tools/mos-cli/mpi.cpp: mos-cli under mpirun (docs/training.md, "Training on
// many machines"). When the launcher's environment says this process is one
// rank of a job, MPI is initialized before the command runs, so that
// mos_train (and the other commands that take the job's ranks) run on
// MPI_COMM_WORLD; rank 0 alone prints progress and results. Without MPI in
// the build, or started without a launcher, nothing changes.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli.hpp"

#ifdef MOS_HAVE_MPI
#include <mpi.h>
#endif

namespace mos_cli {

namespace {
int g_rank = 0, g_size = 1;
std::string g_prefix = "mos-cli";

#ifdef MOS_HAVE_MPI
// Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; MPICH's Hydra and Slurm's PMI set PMI_SIZE.
bool launched_by_mpi() {
    return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
           std::getenv("PMIX_RANK") != nullptr;
}
// How long a failed rank other than 0 waits before it ends the job: when
// every rank failed together (the library's agreed errors), rank 0 prints the
// message that names the failing rank and ends the job first.
constexpr unsigned kAbortGraceSeconds = 5;
#endif
}  // namespace

int cli_rank() { return g_rank; }
int cli_ranks() { return g_size; }
const char *error_prefix() { return g_prefix.c_str(); }

MpiScope::MpiScope() {
#ifdef MOS_HAVE_MPI
    if (!launched_by_mpi()) return;
    int provided = 0;
    // Only the main thread calls MPI (the library's OpenMP threads never do).
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        std::fprintf(stderr, "mos-cli: MPI_Init_thread failed; running as one process\n");
        return;
    }
    active_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (g_size > 1) g_prefix = "mos-cli (rank " + std::to_string(g_rank) + ")";
    // Results are printed once, by rank 0; the other ranks print only errors.
    if (g_rank > 0 && std::freopen("/dev/null", "w", stdout) == nullptr)
        std::fprintf(stderr, "%s: cannot silence stdout\n", g_prefix.c_str());
#endif
}

int MpiScope::finish(int status) {
#ifdef MOS_HAVE_MPI
    if (!active_) return status;
    active_ = false;
    std::fflush(stdout);
    std::fflush(stderr);
    // A failed rank takes the whole job down, so that no rank is left waiting
    // in a collective for it; its message was printed first.
    if (status != 0 && g_size > 1) {
        if (g_rank > 0) sleep(kAbortGraceSeconds);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    MPI_Finalize();
#endif
    return status;
}

MpiScope::~MpiScope() { finish(0); }

}  // namespace mos_cli
