// lib/model/average.cpp: checkpoint averaging (model/average.hpp).
#include "model/average.hpp"

#include <cstring>
#include <string>

#include "core/error.hpp"

namespace mos {

SupernetBundle average_supernets(const std::vector<const SupernetBundle *> &nets) {
    check(!nets.empty(), MOS_INVALID_ARGUMENT, "no supernet to average");
    for (size_t i = 0; i < nets.size(); i++)
        check(nets[i] != nullptr && nets[i]->net != nullptr, MOS_INVALID_ARGUMENT, "supernet ", i, " is missing");
    const SupernetBundle &first = *nets.front();
    const std::string space = space_to_json(first.space), config = supernet_config_json(first.net->config());
    for (size_t i = 1; i < nets.size(); i++) {
        check(space_to_json(nets[i]->space) == space, MOS_INVALID_ARGUMENT, "supernet ", i,
              " has another search space than supernet 0");
        check(supernet_config_json(nets[i]->net->config()) == config, MOS_INVALID_ARGUMENT, "supernet ", i,
              " has other supernet options (routing, experts, vocabulary) than supernet 0");
        check(nets[i]->tokenizer == first.tokenizer, MOS_INVALID_ARGUMENT, "supernet ", i,
              " has another tokenizer than supernet 0");
    }
    SupernetBundle out = make_supernet(first.space, first.net->config());
    out.tokenizer = first.tokenizer;
    out.meta = first.meta;
    out.meta.erase("train_state");
    const size_t n = out.net->param_floats();
    float *dst = out.net->param_at(0);
    std::memset(dst, 0, n * sizeof(float));
    // Each term is scaled before it is added: for the handful of checkpoints
    // averaged in practice a float sum is within a few ulps of the exact mean.
    const float scale = 1.0f / static_cast<float>(nets.size());
    for (const SupernetBundle *b : nets) {
        const float *src = b->net->param_at(0);
        for (size_t k = 0; k < n; k++) dst[k] += src[k] * scale;
    }
    return out;
}

}  // namespace mos
