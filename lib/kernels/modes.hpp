// lib/kernels/modes.hpp: options shared by the layer kernels: how a backward
// pass writes an input gradient, and the precision of their matrix products.
#pragma once

#include "backend/gemm.hpp"

namespace mos {

// Parameter gradients always accumulate (llm.c habit: zeroing is a separate
// step). Gradients with respect to a kernel's inputs accumulate by default too;
// Overwrite writes them instead, for a fresh buffer that would otherwise have
// to be zeroed first (a serial memset of N*d floats per call does not scale).
enum class GradMode : int { Accumulate = 0, Overwrite = 1 };

inline float grad_beta(GradMode m) { return m == GradMode::Overwrite ? 0.0f : 1.0f; }

// GemmType (backend/gemm.hpp): F32, or BF16 products (bf16 inputs, f32
// accumulation and output) for mixed-precision training.

}  // namespace mos
