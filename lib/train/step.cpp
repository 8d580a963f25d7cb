// lib/train/step.cpp: subnet sampling and the supernet update (see step.hpp).
#include "train/step.hpp"

#include "core/error.hpp"
#include "dist/comm.hpp"

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

StepStats train_step(SupernetBundle &b, Workspace &ws, const std::vector<Arch> &archs, const Batch &batch,
                     int64_t step, float lr, const AdamConfig &adam, uint64_t dropout_seed, float *teacher,
                     dist::Comm *comm) {
    check(!archs.empty(), MOS_INVALID_ARGUMENT, "no subnet to train");
    Supernet &net = *b.net;
    const size_t n = net.param_floats();
    if (b.adam_m.size() != n) {
        b.adam_m.assign(n, 0.0f);
        b.adam_v.assign(n, 0.0f);
    }
    const bool dist = comm != nullptr && comm->distributed();
    // The loss of an update is the mean over the target tokens of the whole
    // batch: with ranks, each shard's gradient is scaled by the global count,
    // so the sum over ranks is the single-process gradient (docs/training.md).
    double tokens = 0.0;
    if (dist) {
        const int32_t pad = net.config().pad_id;
        int64_t local = 0;
        for (int64_t i = 0; i < batch.B * batch.T; i++) local += batch.tgt_out[i] != pad;
        tokens = static_cast<double>(local);
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
    if (dist) {
        // The gradient of the update is complete on this rank: sum the shards
        // (the wait for the slowest rank first, timed apart from the sum).
        comm->wait_for_all();
        comm->sum(net.grad_data(), n);
        double sums[2] = {st.loss_sum, st.nll_sum};
        comm->sum(sums, 2);
        st.loss_sum = sums[0];
        st.nll_sum = sums[1];
        st.tokens = static_cast<int64_t>(tokens);
    }
    st.lr = lr;
    st.grad_norm = adam_step(net.param_data(), net.grad_data(), b.adam_m.data(), b.adam_v.data(), n, step, lr, adam);
    return st;
}

}  // namespace mos
