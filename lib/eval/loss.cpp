// lib/eval/loss.cpp: the validation loss of a subnet (see loss.hpp).
#include "eval/loss.hpp"

namespace mos {

MeanLoss mean_loss(const Supernet &net, Workspace &ws, const ArchDims &dims, const std::vector<TokenBatch> &batches) {
    double loss = 0.0, nll = 0.0;
    MeanLoss r;
    for (const TokenBatch &tb : batches) {
        const LossStats ls = net.forward(ws, dims, batch_view(tb), false, 0);
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

}  // namespace mos
