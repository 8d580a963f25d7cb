// lib/train/step.cpp: subnet sampling and the supernet update (see step.hpp).
#include "train/step.hpp"

#include "core/error.hpp"

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
                     int64_t step, float lr, const AdamConfig &adam, uint64_t dropout_seed, float *teacher) {
    check(!archs.empty(), MOS_INVALID_ARGUMENT, "no subnet to train");
    Supernet &net = *b.net;
    const size_t n = net.param_floats();
    if (b.adam_m.size() != n) {
        b.adam_m.assign(n, 0.0f);
        b.adam_v.assign(n, 0.0f);
    }
    net.zero_grad();
    StepStats st;
    const double inv_arch = 1.0 / static_cast<double>(archs.size());
    for (size_t i = 0; i < archs.size(); i++) {
        const ArchDims dims = arch_dims(b.space, archs[i]);
        // A distinct dropout stream per subnet of the update.
        const bool student = teacher != nullptr && i > 0;
        const LossStats ls = net.forward(ws, dims, batch, true, dropout_seed * 4 + i, student ? teacher : nullptr);
        check(ls.tokens > 0, MOS_INVALID_ARGUMENT, "batch has no target tokens");
        // The teacher's distribution is taken before its backward (which reuses the workspace).
        if (teacher != nullptr && i == 0 && archs.size() > 1) net.teacher_probs(ws, teacher);
        net.backward(ws, static_cast<float>(inv_arch / static_cast<double>(ls.tokens)));
        st.loss_sum += ls.loss_sum * inv_arch;
        st.nll_sum += ls.nll_sum * inv_arch;
        st.tokens = ls.tokens;
    }
    st.lr = lr;
    st.grad_norm = adam_step(net.param_data(), net.grad_data(), b.adam_m.data(), b.adam_v.data(), n, step, lr, adam);
    return st;
}

}  // namespace mos
