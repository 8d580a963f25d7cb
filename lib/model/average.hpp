// lib/model/average.hpp: the mean of several supernets' weights (checkpoint
// averaging, docs/builtin.md): the last checkpoints of one training run, each a
// point near the end of the optimiser's path, averaged into one supernet that
// usually translates better than any of them (Vaswani et al. 2017 average the
// last five or twenty checkpoints of their translation models).
#pragma once

#include <vector>

#include "model/bundle.hpp"

namespace mos {

// A new supernet whose every weight is the mean of that weight in `nets`
// (at least one). They must share the space, the supernet configuration and
// the tokenizer (MOS_INVALID_ARGUMENT naming the first that differs); the
// result has no optimiser or training state, and the first one's metadata.
SupernetBundle average_supernets(const std::vector<const SupernetBundle *> &nets);

}  // namespace mos
