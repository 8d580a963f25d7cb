// lib/train/step.cpp: subnet sampling and the supernet update (see step.hpp).
#include "train/step.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <utility>

#include "backend/profile.hpp"
#include "core/error.hpp"
#include "dist/comm.hpp"
#include "kernels/memory.hpp"
#include "model/size.hpp"

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

using Chunks = std::vector<std::pair<int64_t, int64_t>>;

// Chunks of at most 4096 floats of the gradient, for the threads that zero and
// sum them: those a team writes (`routed` false: all but
// Supernet::routed_ranges) or the others (`routed` true).
Chunks gradient_chunks(const Supernet &net, bool routed) {
    Chunks chunks;
    auto cut = [&chunks](size_t from, size_t to) {
        for (size_t j = from; j < to; j += 4096)
            chunks.emplace_back(static_cast<int64_t>(j), static_cast<int64_t>(j + 4096 < to ? j + 4096 : to));
    };
    size_t at = 0;
    for (const auto &r : net.routed_ranges()) {
        if (routed)
            cut(r.first, r.second);
        else
            cut(at, r.first);
        at = r.second;
    }
    if (!routed) cut(at, net.param_floats());
    return chunks;
}

// One task of a data-parallel update: subnet i on rows [row0, row1) of shard p.
struct Task {
    size_t i;
    int p;
    int64_t row0, row1;
    uint64_t part;  // 0 the whole shard, 1 and 2 its halves (a dropout stream each)
};

// The tasks in the order free teams take them: subnet 0 first (the teacher
// when distilling), then the others costliest first, the last one's shards
// in halves, so that the last tasks, which decide how long the other teams
// wait, are short. `pieces`: the shards with rows.
std::vector<Task> plan_tasks(const std::vector<Arch> &archs, const std::vector<TrainTeam> &teams,
                             const std::vector<int> &pieces, uint64_t vocab) {
    const size_t A = archs.size();
    std::vector<size_t> order(A);
    for (size_t i = 0; i < A; i++) order[i] = i;
    if (!pieces.empty()) {
        const Batch &x = teams[static_cast<size_t>(pieces[0])].batch;
        const uint64_t S = static_cast<uint64_t>(std::max<int64_t>(x.S, 1));
        const uint64_t T = static_cast<uint64_t>(std::max<int64_t>(x.T, 1));
        std::vector<uint64_t> cost(A);
        for (size_t i = 0; i < A; i++) cost[i] = arch_flops(archs[i], vocab, S, T).total();
        std::stable_sort(order.begin() + 1, order.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
    }
    std::vector<Task> list;
    for (size_t o = 0; o < A; o++)
        for (int p : pieces) {
            const int64_t rows = teams[static_cast<size_t>(p)].batch.B;
            if (A > 1 && o + 1 == A && rows >= 2) {
                list.push_back({order[o], p, 0, rows / 2, 1});
                list.push_back({order[o], p, rows / 2, rows, 2});
            } else {
                list.push_back({order[o], p, 0, rows, 0});
            }
        }
    return list;
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
    // Any team may run any shard: every workspace must hold every shard.
    for (size_t p = 0; p < teams.size(); p++) {
        const Batch &x = teams[p].batch;
        for (size_t r = 0; r < teams.size(); r++) {
            const Workspace &w = *teams[r].ws;
            check(x.S <= w.max_len() && x.T <= w.max_len() && x.B * x.S <= w.max_src_tokens() &&
                      x.B * x.T <= w.max_tgt_tokens(),
                  MOS_OUT_OF_RANGE, "shard ", p, " (", x.B, " sentences of ", x.S, " and ", x.T,
                  " tokens) does not fit team ", r, "'s workspace");
        }
    }
    Supernet &net = *b.net;
    const size_t n = net.param_floats();
    ensure_moments(b, n);
    const int P = static_cast<int>(teams.size());
    const size_t A = archs.size();
    const int32_t pad = net.config().pad_id;
    // The whole batch's target tokens (every rank's, with ranks) divide every shard's gradient.
    int64_t local = 0;
    std::vector<int64_t> teacher_row(static_cast<size_t>(P), 0);  // first teacher row of each shard
    std::vector<int> pieces;                                       // the shards with rows
    for (int p = 0; p < P; p++) {
        local += target_tokens(teams[p].batch, pad);
        if (p + 1 < P) teacher_row[p + 1] = teacher_row[p] + teams[p].batch.B * teams[p].batch.T;
        if (teams[p].batch.B > 0) pieces.push_back(p);
    }
    double tokens = static_cast<double>(local);
    const bool dist = comm != nullptr && comm->distributed();
    if (dist) comm->sum(&tokens, 1);
    check(tokens > 0, MOS_INVALID_ARGUMENT, "batch has no target tokens");
    // The routers, mixes and bf16 weight copies of every subnet of the update, once for all teams.
    std::vector<ArchDims> dims;
    for (const Arch &a : archs) dims.push_back(arch_dims(b.space, a));
    while (b.shared.size() < A) b.shared.push_back(std::make_unique<SharedWeights>(net));
    std::vector<size_t> mixed_at(A + 1, 0);  // subnet i's block of a team's mixed-weight gradients
    for (size_t i = 0; i < A; i++) {
        net.prepare(*b.shared[i], dims[i], mm);
        mixed_at[i + 1] = mixed_at[i] + b.shared[i]->mixed_used();
    }
    // A team's gradient holds everything but the FFN experts and routers: those
    // get the teams' summed mixed-weight gradients through mix_backward.
    const Chunks own = gradient_chunks(net, false);
    const Chunks routed = gradient_chunks(net, true);  // of the net's gradient, zeroed by the teams
    // Room for the largest subnets, so that a larger subnet later never reallocates.
    const size_t mixed_room = std::max(mixed_at[A], A * b.shared[0]->mixed_floats());
    for (int r = 0; r < P; r++) {
        TrainTeam &t = teams[r];
        if (r > 0 && t.grad_floats != n) {
            t.grad.reset(new float[n]);
            t.grad_floats = n;
        }
        if (t.mixed_floats < mixed_at[A]) {
            t.mixed.reset(new float[mixed_room]);
            t.mixed_floats = mixed_room;
        }
    }
    const std::vector<Task> list = plan_tasks(archs, teams, pieces, static_cast<uint64_t>(net.config().vocab));
    const int64_t tasks = static_cast<int64_t>(list.size());
    const double inv_arch = 1.0 / static_cast<double>(A);
    const float scale = static_cast<float>(inv_arch / tokens);
    const int64_t V = net.config().vocab;
    const bool distill = teacher != nullptr && A > 1;
    std::vector<double> loss(static_cast<size_t>(tasks), 0.0), nll(static_cast<size_t>(tasks), 0.0);
    std::vector<std::atomic<bool>> teacher_ready(static_cast<size_t>(P));
    for (auto &f : teacher_ready) f.store(false, std::memory_order_relaxed);
    std::vector<std::vector<char>> ran(static_cast<size_t>(P), std::vector<char>(A, 0));  // team r ran subnet i
    // Teams whose thread came (fewer threads than teams, e.g. inside another
    // parallel region, leave the rest to the threads that did).
    std::vector<char> came(static_cast<size_t>(P), 0);
    std::vector<double> work(static_cast<size_t>(P), 0.0);  // each team's seconds of work (profiled)
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
    float *net_grad = net.grad_data();
    std::exception_ptr error;
    const bool profiled = profile_on();
    const auto region_start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(P)
    {
        const int r = omp_get_thread_num();
        const auto work_start = std::chrono::steady_clock::now();
        came[r] = 1;
        // Every kernel, oneDNN primitive and OpenBLAS call of this team runs on this thread.
        omp_set_num_threads(1);
        try {
            TrainTeam &t = teams[r];
            float *g = r == 0 ? net_grad : t.grad.get();
            // First touched by the thread that sums into it; the routed ranges of
            // the net's gradient (for mix_backward) split over the threads.
            for (const auto &c : own) zero_floats(g + c.first, c.second - c.first);
            const size_t nt = static_cast<size_t>(omp_get_num_threads());
            for (size_t c = static_cast<size_t>(r); c < routed.size(); c += nt)
                zero_floats(net_grad + routed[c].first, routed[c].second - routed[c].first);
            zero_floats(t.mixed.get(), static_cast<int64_t>(mixed_at[A]));
            for (int64_t k = next.fetch_add(1); k < tasks && !failed.load(std::memory_order_relaxed);
                 k = next.fetch_add(1)) {
                const Task &task = list[static_cast<size_t>(k)];
                const size_t i = task.i;
                const int p = task.p;
                Batch x = teams[p].batch;
                x.B = task.row1 - task.row0;
                x.src += task.row0 * x.S;
                x.tgt_in += task.row0 * x.T;
                x.tgt_out += task.row0 * x.T;
                float *mine = teacher ? teacher + (teacher_row[p] + task.row0 * x.T) * V : nullptr;
                const bool student = mine != nullptr && i > 0;
                // A student reads the teacher rows of its shard: wait until they are written.
                if (student && distill)
                    while (!teacher_ready[p].load(std::memory_order_acquire))
                        if (failed.load(std::memory_order_relaxed)) break;
                if (failed.load(std::memory_order_relaxed)) break;
                // A dropout stream per task, whichever team runs it.
                const uint64_t seed = ((dropout_seed * 4 + i) * 1024 + static_cast<uint64_t>(p)) * 3 + task.part;
                const LossStats ls = net.forward(*t.ws, dims[i], x, true, seed,
                                                 student ? mine : nullptr, b.shared[i].get());
                if (mine != nullptr && i == 0 && distill) {
                    net.teacher_probs(*t.ws, mine);
                    teacher_ready[p].store(true, std::memory_order_release);
                }
                net.backward(*t.ws, scale, g, t.mixed.get() + mixed_at[i]);
                ran[r][i] = 1;
                loss[k] = ls.loss_sum * inv_arch;
                nll[k] = ls.nll_sum * inv_arch;
            }
        } catch (...) {
            failed.store(true);
#pragma omp critical(mos_train_teams)
            if (!error) error = std::current_exception();
        }
        if (profiled) work[r] = std::chrono::duration<double>(std::chrono::steady_clock::now() - work_start).count();
    }
    if (profiled) {
        // Each team's time in the region outside its own work: waiting for the slowest, fork and join.
        const double region = std::chrono::duration<double>(std::chrono::steady_clock::now() - region_start).count();
        double wait = 0;
        for (int r = 0; r < P; r++)
            if (came[r]) wait += region - work[r];
        profile_add(Phase::TeamWait, P, wait);
    }
    if (error) std::rethrow_exception(error);
    // Per subnet, the mixed-weight gradients of the teams that ran it, summed,
    // through the mixes and routers.
    for (size_t i = 0; i < A; i++) {
        std::vector<float *> mixed;
        for (int r = 0; r < P; r++)
            if (ran[r][i]) mixed.push_back(teams[r].mixed.get() + mixed_at[i]);
        if (!mixed.empty()) net.mix_backward(*b.shared[i], mixed.data(), static_cast<int>(mixed.size()), net_grad);
    }
    // Sum the teams' gradients into the net's, in team order.
    {
        PhaseScope scope(Phase::Memory);
        const int64_t chunks = static_cast<int64_t>(own.size());
#pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t j = own[c].first, e = own[c].second;
            for (int r = 1; r < P; r++) {
                if (!came[r]) continue;
                const float *src = teams[r].grad.get();
                for (int64_t k = j; k < e; k++) net_grad[k] += src[k];
            }
        }
    }
    StepStats st;
    for (int64_t k = 0; k < tasks; k++) {  // in task order: the same sums whichever team ran a task
        st.loss_sum += loss[k];
        st.nll_sum += nll[k];
    }
    st.tokens = local;
    if (dist) sum_over_ranks(*comm, net_grad, n, tokens, st);
    st.lr = lr;
    st.grad_norm = adam_step(net.param_data(), net_grad, b.adam_m.data(), b.adam_v.data(), n, step, lr, adam);
    return st;
}

}  // namespace mos
