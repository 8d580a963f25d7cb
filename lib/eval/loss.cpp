// lib/eval/loss.cpp: the validation loss of a subnet (see loss.hpp).
#include "eval/loss.hpp"

namespace mos {

namespace {

// Per-token means of the batches' summed losses, in batch order.
template <typename F>
MeanLoss mean_over(const std::vector<TokenBatch> &batches, F batch_loss) {
    double loss = 0.0, nll = 0.0;
    MeanLoss r;
    for (const TokenBatch &tb : batches) {
        const LossStats ls = batch_loss(batch_view(tb));
        loss += ls.loss_sum;
        nll += ls.nll_sum;
        r.tokens += ls.tokens;
    }
    if (r.tokens > 0) {
        r.loss = loss / static_cast<double>(r.tokens);
        r.nll = nll / static_cast<double>(r.tokens);
    }
    return r;
}

}  // namespace

MeanLoss mean_loss(const Supernet &net, Workspace &ws, const ArchDims &dims, const std::vector<TokenBatch> &batches) {
    return mean_over(batches, [&](const Batch &b) { return net.forward(ws, dims, b, false, 0); });
}

MeanLoss mean_loss(const DenseModel &model, float label_smoothing, const std::vector<TokenBatch> &batches) {
    return mean_over(batches, [&](const Batch &b) { return dense_teacher_forced_loss(model, b, label_smoothing); });
}

MeanLoss mean_loss(const DenseModel &m, EvalWorkspace &ws, const std::vector<TokenBatch> &batches, float eps,
                   EvalPrecision p) {
    return mean_over(batches, [&](const Batch &b) { return eval_forward(m, ws, b, eps, p); });
}

}  // namespace mos
