// tests/dist/test_mpi_train.cpp: data-parallel training over MPI, run by
// `mpirun -np 2` (suite mpi, docs/testing.md) on a tiny corpus the test writes:
//  * equivalence: 20 updates on 2 ranks, each computing half of every batch,
//    give the weights and Adam moments of one process computing the whole
//    batch (rank 0 alone on MPI_COMM_SELF), to float tolerance;
//  * resume with a different number of ranks: 10 updates on 2 ranks resumed
//    for 10 more on 1, and 10 on 1 resumed on 2, both equal the 20 above;
//  * failure: a rank that cannot read the corpus makes every rank fail, rank
//    0's message naming rank 1 and the file; a checkpoint rank 0 cannot write
//    stops rank 1 too, instead of leaving it waiting.
// Every rank runs every test (they are collective); rank 1's output is
// silenced, its failures still fail the job through the exit status.
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "model/bundle.hpp"
#include "train/trainer.hpp"

#include "../common/toy_corpus.hpp"

// cmocka (through the data tests' helpers: TempDir) last: it defines a fail() macro.
#include "../data/test_common.hpp"

namespace {

std::string g_dir;
int g_rank = 0, g_size = 1;

const char *kSpace = kToySpace;

MPI_Comm g_world = MPI_COMM_WORLD, g_self = MPI_COMM_SELF;

mos::TrainConfig config(const std::string &out, int64_t steps, MPI_Comm *comm) {
    mos::TrainConfig c = toy_train_config(g_dir, out, steps);
    c.adam.clip_norm = 1.0f;
    c.mpi_comm = comm;
    return c;
}

// Dropout off: its masks are drawn per shard (statistically the same, not
// bit for bit), so only a run without it can equal one process.
mos::SupernetConfig net_config() {
    mos::SupernetConfig n;
    n.routing = mos::Routing::Neuron;
    n.experts = 2;
    n.router_hidden = 8;
    n.dropout = 0.0f;
    n.attn_dropout = 0.0f;
    n.seed = 3;
    return n;
}

std::string path(const char *name) { return g_dir + "/" + name; }

// Trains from scratch (or resumes) on `comm`; every rank of it calls this.
void run(const std::string &out, int64_t steps, MPI_Comm *comm, const std::string &resume = "") {
    const mos::Space space = mos::space_from_json(kSpace);
    const mos::SupernetConfig net = net_config();
    const mos::TrainConfig c = config(out, steps, comm);
    const mos::TrainRun r = resume.empty() ? mos::run_training(c, &space, &net, "", nullptr)
                                           : mos::run_training(c, nullptr, nullptr, resume, nullptr);
    assert_false(r.stopped);
}

// How far a is from b: the norm of the difference relative to b's, and the
// largest difference of one element.
struct Diff {
    double rel_l2 = 0, max_abs = 0;
};
Diff diff(const std::vector<float> &a, const std::vector<float> &b) {
    assert_int_equal(a.size(), b.size());
    double dd = 0, bb = 0;
    Diff r;
    for (size_t i = 0; i < a.size(); i++) {
        const double d = static_cast<double>(a[i]) - b[i];
        dd += d * d;
        bb += static_cast<double>(b[i]) * b[i];
        r.max_abs = std::max(r.max_abs, std::fabs(d));
    }
    r.rel_l2 = bb > 0 ? std::sqrt(dd / bb) : std::sqrt(dd);
    return r;
}

std::vector<float> params(const mos::SupernetBundle &b) {
    return std::vector<float>(b.net->param_data(), b.net->param_data() + b.net->param_floats());
}

// Checkpoint `got` equals `want` to float tolerance (weights and moments).
// The gradients differ only by summation order (about 1e-7 relative), but
// Adam divides by sqrt(v): for a weight whose gradient is nearly zero that
// rounding can change the step by up to lr, so single weights may differ by a
// fraction of lr x updates while the moments stay within float noise.
void expect_same(const char *got, const char *want) {
    const mos::SupernetBundle g = mos::load_supernet(path(got)), w = mos::load_supernet(path(want));
    const Diff dw = diff(params(g), params(w)), dm = diff(g.adam_m, w.adam_m), dv = diff(g.adam_v, w.adam_v);
    std::printf("# %s vs %s: relative L2 difference: weights %.3g, adam m %.3g, adam v %.3g; largest single "
                "difference: weight %.3g, m %.3g, v %.3g\n", got, want, dw.rel_l2, dm.rel_l2, dv.rel_l2, dw.max_abs,
                dm.max_abs, dv.max_abs);
    // The moments follow the gradients: they show the update is the same.
    assert_true(dm.rel_l2 < 1e-5);
    assert_true(dv.rel_l2 < 1e-5);
    assert_true(dw.rel_l2 < 1e-4);
    assert_true(dw.max_abs < 0.1 * 3e-3 * 20);
    // The step and data position travel in the state, the weights moved.
    assert_string_equal(g.meta.at("train_state").substr(0, 12).c_str(), w.meta.at("train_state").substr(0, 12).c_str());
}

// Rank-0-only work and checks come after every collective call of a test, so
// a failed check never leaves the ranks calling different collectives.
void equivalence(void **) {
    run(path("two.safetensors"), 20, &g_world);
    if (g_rank == 0) {
        run(path("one.safetensors"), 20, &g_self);
        expect_same("two.safetensors", "one.safetensors");
        const mos::SupernetBundle one = mos::load_supernet(path("one.safetensors"));
        assert_true(one.meta.at("train_state").find("\"step\":20") != std::string::npos);
    }
}

void resume_other_rank_count(void **) {
    // 1 rank, then 2 (only rank 0 reads the checkpoint it resumes from).
    if (g_rank == 0) run(path("r1.safetensors"), 10, &g_self);
    run(path("r1to2.safetensors"), 20, &g_world, path("r1.safetensors"));
    // 2 ranks, then 1.
    run(path("r2.safetensors"), 10, &g_world);
    if (g_rank == 0) {
        run(path("r2to1.safetensors"), 20, &g_self, path("r2.safetensors"));
        expect_same("r2to1.safetensors", "one.safetensors");
        expect_same("r1to2.safetensors", "one.safetensors");
    }
}

void unreadable_corpus_names_rank_and_file(void **) {
    const mos::Space space = mos::space_from_json(kSpace);
    const mos::SupernetConfig net = net_config();
    mos::TrainConfig c = config(path("bad.safetensors"), 4, &g_world);
    // Rank 1 cannot read the corpus: its directory is missing.
    if (g_rank == 1) c.data_dir = g_dir + "/not-mounted";
    try {
        mos::run_training(c, &space, &net, "", nullptr);
        fail_msg("rank %d: training went on without rank 1's corpus", g_rank);
    } catch (const mos::Error &e) {
        std::printf("# rank %d: %s\n", g_rank, e.what());
        assert_int_equal(e.status(), MOS_IO);
        assert_non_null(std::strstr(e.what(), "not-mounted"));
        if (g_rank == 0) assert_non_null(std::strstr(e.what(), "rank 1 of 2 failed while reading the corpus"));
    }
}

void unwritable_checkpoint_stops_every_rank(void **) {
    const mos::Space space = mos::space_from_json(kSpace);
    const mos::SupernetConfig net = net_config();
    // A file stands where rank 0's checkpoint directory should be.
    std::ofstream(path("blocker")) << "x";
    const mos::TrainConfig c = config(path("blocker/ckpt.safetensors"), 3, &g_world);
    try {
        mos::run_training(c, &space, &net, "", nullptr);
        fail_msg("rank %d: the checkpoint could not be written, yet training succeeded", g_rank);
    } catch (const mos::Error &e) {
        std::printf("# rank %d: %s\n", g_rank, e.what());
        assert_int_equal(e.status(), MOS_IO);
        if (g_rank == 1) assert_non_null(std::strstr(e.what(), "rank 0 of 2 failed while validating and writing"));
    }
}

}  // namespace

int main(int argc, char **argv) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (g_size != 2) {
        if (g_rank == 0) std::fprintf(stderr, "test_mpi_train: run with mpirun -np 2 (got %d ranks)\n", g_size);
        MPI_Finalize();
        return 1;
    }
    if (g_rank > 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
    // One thread per rank: the two ranks share this machine's cores.
    mos::set_num_threads(1);
    // Rank 0 makes the folder and writes the corpus; both read it.
    TempDir dir;
    std::string d = g_rank == 0 ? dir.path : std::string();
    int64_t n = static_cast<int64_t>(d.size());
    MPI_Bcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    d.resize(static_cast<size_t>(n));
    MPI_Bcast(&d[0], static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
    g_dir = d;
    if (g_rank == 0) write_toy_corpus(g_dir, 10);
    MPI_Barrier(MPI_COMM_WORLD);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equivalence),
        cmocka_unit_test(resume_other_rank_count),
        cmocka_unit_test(unreadable_corpus_names_rank_and_file),
        cmocka_unit_test(unwritable_checkpoint_stops_every_rank),
    };
    const int failed = cmocka_run_group_tests(tests, nullptr, nullptr);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return failed;
}
