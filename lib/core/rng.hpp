// lib/core/rng.hpp: the one pseudo-random generator of libmos, splitmix64
// (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
// OOPSLA 2014), and its finaliser as a hash.
//
// Its output is fully specified, so a seed gives the same archs, data order,
// initial weights and dropout masks with every compiler, standard library and
// thread count (std:: distributions are implementation-defined). Every draw of
// the library goes through this file: arch sampling, mutation and crossover
// (docs/formats.md), the batcher's epoch shuffles (docs/data.md), weight
// initialisation (docs/supernet.md), counter-based dropout masks
// (kernels/dropout.hpp, docs/training.md) and the latency predictor's split.
// tests/golden/test_determinism.cpp pins the bits.
//
// Header-only on purpose: the fuzz targets compile lib/model/arch.cpp alone.
#pragma once

#include <cmath>
#include <cstdint>

namespace mos {

// The state increment of splitmix64: 2^64 / golden ratio, rounded to odd.
constexpr uint64_t kSplitMixGamma = 0x9e3779b97f4a7c15ULL;

// splitmix64's finaliser, a bijective mix of 64 bits. T is uint64_t or a GCC
// vector of them (the 8-lane dropout draws of kernels/dropout.hpp).
template <class T>
inline __attribute__((always_inline)) T splitmix64_mix(T z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// One splitmix64 step: advances `state` by the gamma and returns the mixed value.
inline uint64_t splitmix64_next(uint64_t &state) { return splitmix64_mix(state += kSplitMixGamma); }

class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}

    uint64_t next() { return splitmix64_next(state_); }

    // Uniform in [0, n), n > 0, without modulo bias: the top partial bucket of
    // the 64-bit output is rejected so every residue is equally likely.
    uint64_t below(uint64_t n) {
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t x;
        do x = next();
        while (x >= limit);
        return x % n;
    }

    // Uniform double in [0, 1) from the top 53 bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    bool bernoulli(double p) { return uniform() < p; }

    // Standard normal (Box-Muller, the cosine branch) from two uniforms, the
    // first kept away from 0 so the logarithm is finite.
    double normal() {
        double u1 = uniform();
        const double u2 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

    // The whole state: Rng(state()) continues the same stream (checkpoints).
    uint64_t state() const { return state_; }

private:
    uint64_t state_;
};

}  // namespace mos
