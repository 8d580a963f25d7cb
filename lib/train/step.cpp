// lib/train/step.cpp: subnet sampling and the supernet update (see step.hpp).
#include "train/step.hpp"

#include <omp.h>

#include <exception>
#include <memory>
#include <utility>

#include "backend/profile.hpp"
#include "core/error.hpp"
#include "dist/comm.hpp"
#include "kernels/memory.hpp"

namespace mos {

const char *sampling_name(Sampling s) { return s == Sampling::Sandwich ? "sandwich" : "uniform"; }

Sampling parse_sampling(const std::string &s) {
    if (s == "uniform") return Sampling::Uniform;
    if (s == "sandwich") return Sampling::Sandwich;
    fail(MOS_INVALID_ARGUMENT, "unknown sampling '", s, "'; allowed uniform|sandwich");
}

std::vector<Arch> sample_update_archs(const Space &space, Sampling s, Rng &rng) {
    std::vector<Arch> archs;
    if (s == Sampling::Sandwich) {
        archs.push_back(arch_largest(space));
        archs.push_back(arch_smallest(space));
    }
    archs.push_back(arch_sample(space, rng));
    return archs;
}

namespace {

int64_t target_tokens(const Batch &b, int32_t pad) {
    int64_t n = 0;
    for (int64_t i = 0; i < b.B * b.T; i++) n += b.tgt_out[i] != pad;
    return n;
}

// The Adam moments, allocated (zero) at the first update.
void ensure_moments(SupernetBundle &b, size_t n) {
    if (b.adam_m.size() != n) {
        b.adam_m.assign(n, 0.0f);
        b.adam_v.assign(n, 0.0f);
    }
}

// With ranks: this rank's gradient of the update is complete; sum the ranks'
// gradients and loss sums (the wait for the slowest rank first, timed apart
// from the sum), and count the whole batch's tokens.
void sum_over_ranks(dist::Comm &comm, float *grad, size_t n, double tokens, StepStats &st) {
    comm.wait_for_all();
    comm.sum(grad, n);
    double sums[2] = {st.loss_sum, st.nll_sum};
    comm.sum(sums, 2);
    st.loss_sum = sums[0];
    st.nll_sum = sums[1];
    st.tokens = static_cast<int64_t>(tokens);
}

// The gradient ranges a team writes (all but Supernet::routed_ranges), cut
// into chunks of at most 4096 floats for the threads that zero and sum them.
std::vector<std::pair<int64_t, int64_t>> team_chunks(const Supernet &net) {
    std::vector<std::pair<int64_t, int64_t>> chunks;
    auto cut = [&chunks](size_t from, size_t to) {
        for (size_t j = from; j < to; j += 4096)
            chunks.emplace_back(static_cast<int64_t>(j), static_cast<int64_t>(j + 4096 < to ? j + 4096 : to));
    };
    size_t at = 0;
    for (const auto &r : net.routed_ranges()) {
        cut(at, r.first);
        at = r.second;
    }
    cut(at, net.param_floats());
    return chunks;
}

}  // namespace

StepStats train_step(SupernetBundle &b, Workspace &ws, const std::vector<Arch> &archs, const Batch &batch,
                     int64_t step, float lr, const AdamConfig &adam, uint64_t dropout_seed, float *teacher,
                     dist::Comm *comm) {
    check(!archs.empty(), MOS_INVALID_ARGUMENT, "no subnet to train");
    Supernet &net = *b.net;
    const size_t n = net.param_floats();
    ensure_moments(b, n);
    const bool dist = comm != nullptr && comm->distributed();
    // The loss of an update is the mean over the target tokens of the whole
    // batch: with ranks, each shard's gradient is scaled by the global count,
    // so the sum over ranks is the single-process gradient (docs/training.md).
    double tokens = 0.0;
    if (dist) {
        tokens = static_cast<double>(target_tokens(batch, net.config().pad_id));
        comm->sum(&tokens, 1);
        check(tokens > 0, MOS_INVALID_ARGUMENT, "batch has no target tokens");
    }
    net.zero_grad();
    StepStats st;
    const double inv_arch = 1.0 / static_cast<double>(archs.size());
    for (size_t i = 0; i < archs.size() && batch.B > 0; i++) {
        const ArchDims dims = arch_dims(b.space, archs[i]);
        // A distinct dropout stream per subnet of the update.
        const bool student = teacher != nullptr && i > 0;
        const LossStats ls = net.forward(ws, dims, batch, true, dropout_seed * 4 + i, student ? teacher : nullptr);
        check(ls.tokens > 0, MOS_INVALID_ARGUMENT, "batch has no target tokens");
        const double norm = dist ? tokens : static_cast<double>(ls.tokens);
        // The teacher's distribution is taken before its backward (which reuses the workspace).
        if (teacher != nullptr && i == 0 && archs.size() > 1) net.teacher_probs(ws, teacher);
        net.backward(ws, static_cast<float>(inv_arch / norm));
        st.loss_sum += ls.loss_sum * inv_arch;
        st.nll_sum += ls.nll_sum * inv_arch;
        st.tokens = ls.tokens;
    }
    if (dist) sum_over_ranks(*comm, net.grad_data(), n, tokens, st);
    st.lr = lr;
    st.grad_norm = adam_step(net.param_data(), net.grad_data(), b.adam_m.data(), b.adam_v.data(), n, step, lr, adam);
    return st;
}

StepStats train_step_teams(SupernetBundle &b, std::vector<TrainTeam> &teams, const std::vector<Arch> &archs,
                           int64_t step, float lr, const AdamConfig &adam, uint64_t dropout_seed, float *teacher,
                           dist::Comm *comm) {
    check(!teams.empty(), MOS_INVALID_ARGUMENT, "no team to train");
    for (const TrainTeam &t : teams) check(t.ws != nullptr, MOS_INVALID_ARGUMENT, "a team has no workspace");
    if (teams.size() == 1)
        return train_step(b, *teams[0].ws, archs, teams[0].batch, step, lr, adam, dropout_seed, teacher, comm);
    check(!archs.empty(), MOS_INVALID_ARGUMENT, "no subnet to train");
    const GemmType mm = teams[0].ws->matmul_type();
    for (const TrainTeam &t : teams)
        check(t.ws->matmul_type() == mm, MOS_INVALID_ARGUMENT, "the teams' workspaces differ in precision");
    Supernet &net = *b.net;
    const size_t n = net.param_floats();
    ensure_moments(b, n);
    if (!b.shared) b.shared = std::make_unique<SharedWeights>(net);
    SharedWeights &shared = *b.shared;
    const int P = static_cast<int>(teams.size());
    const int32_t pad = net.config().pad_id;
    // The whole batch's target tokens (every rank's, with ranks) divide every shard's gradient.
    int64_t local = 0;
    std::vector<int64_t> teacher_row(static_cast<size_t>(P), 0);  // first teacher row of each team
    for (int r = 0; r < P; r++) {
        local += target_tokens(teams[r].batch, pad);
        if (r + 1 < P) teacher_row[r + 1] = teacher_row[r] + teams[r].batch.B * teams[r].batch.T;
    }
    double tokens = static_cast<double>(local);
    const bool dist = comm != nullptr && comm->distributed();
    if (dist) comm->sum(&tokens, 1);
    check(tokens > 0, MOS_INVALID_ARGUMENT, "batch has no target tokens");
    std::vector<ArchDims> dims;
    for (const Arch &a : archs) dims.push_back(arch_dims(b.space, a));
    // A team's gradient holds everything but the FFN experts and routers: those
    // get the teams' summed mixed-weight gradients through mix_backward.
    const std::vector<std::pair<int64_t, int64_t>> own = team_chunks(net);
    net.zero_grad();  // allocates the net's gradient before the teams share it
    for (int r = 0; r < P; r++) {
        if (r > 0) teams[r].grad.resize(n);
        teams[r].mixed.resize(shared.mixed_floats());
    }
    const double inv_arch = 1.0 / static_cast<double>(archs.size());
    const float scale = static_cast<float>(inv_arch / tokens);
    const int64_t V = net.config().vocab;
    std::vector<double> loss(static_cast<size_t>(P), 0.0), nll(static_cast<size_t>(P), 0.0);
    float *net_grad = net.grad_data();
    std::vector<float *> mixed;
    for (TrainTeam &t : teams)
        if (t.batch.B > 0) mixed.push_back(t.mixed.data());
    for (size_t i = 0; i < archs.size(); i++) {
        // The routers, mixes and bf16 weight copies of this subnet, once for all teams.
        net.prepare(shared, dims[i], mm);
        std::exception_ptr error;
#pragma omp parallel num_threads(P)
        {
            const int r = omp_get_thread_num();
            // Every kernel, oneDNN primitive and OpenBLAS call of this team runs on this thread.
            omp_set_num_threads(1);
            try {
                TrainTeam &t = teams[r];
                float *g = r == 0 ? net_grad : t.grad.data();
                // First touched by the thread that sums into it.
                if (i == 0 && r > 0)
                    for (const auto &c : own) zero_floats(g + c.first, c.second - c.first);
                float *mine = teacher ? teacher + teacher_row[r] * V : nullptr;
                if (t.batch.B > 0) {
                    const bool student = mine != nullptr && i > 0;
                    // A dropout stream per subnet and per team.
                    const uint64_t seed = (dropout_seed * 4 + i) * 1024 + static_cast<uint64_t>(r);
                    const LossStats ls =
                        net.forward(*t.ws, dims[i], t.batch, true, seed, student ? mine : nullptr, &shared);
                    if (mine != nullptr && i == 0 && archs.size() > 1) net.teacher_probs(*t.ws, mine);
                    net.backward(*t.ws, scale, g, t.mixed.data());
                    loss[r] += ls.loss_sum * inv_arch;
                    nll[r] += ls.nll_sum * inv_arch;
                }
            } catch (...) {
#pragma omp critical(mos_train_teams)
                if (!error) error = std::current_exception();
            }
        }
        if (error) std::rethrow_exception(error);
        // The teams' mixed-weight gradients, summed, through the mixes and routers.
        net.mix_backward(shared, mixed.data(), static_cast<int>(mixed.size()), net_grad);
    }
    // Sum the teams' gradients into the net's, in team order (the same sum on any thread count).
    {
        PhaseScope scope(Phase::Memory);
        const int64_t chunks = static_cast<int64_t>(own.size());
#pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t j = own[c].first, e = own[c].second;
            for (int r = 1; r < P; r++) {
                const float *src = teams[r].grad.data();
                for (int64_t k = j; k < e; k++) net_grad[k] += src[k];
            }
        }
    }
    StepStats st;
    for (int r = 0; r < P; r++) {
        st.loss_sum += loss[r];
        st.nll_sum += nll[r];
    }
    st.tokens = local;
    if (dist) sum_over_ranks(*comm, net_grad, n, tokens, st);
    st.lr = lr;
    st.grad_norm = adam_step(net.param_data(), net_grad, b.adam_m.data(), b.adam_v.data(), n, step, lr, adam);
    return st;
}

}  // namespace mos
