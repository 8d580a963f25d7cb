// tests/search/synthetic_fitness.hpp: the synthetic "fitness" and "latency"
// of an arch that the evolution tests (racing, convergence) search with, so
// that a whole search runs in milliseconds: a smooth loss falling with the
// arch's size, a deterministic per-arch noise, and a latency growing with it.
#pragma once

#include <cstdint>

#include "model/arch.hpp"
#include "model/space.hpp"

namespace {

// The small preset: enough genes for the evolution to have something to do.
[[maybe_unused]] mos::Space test_space() { return mos::space_preset("small"); }

// A smooth "loss" of the arch: bigger layers lower it, with a per-layer
// pattern so that the genes interact.
[[maybe_unused]] double true_loss(const mos::Arch &a) {
    double x = 6.0 - 0.0004 * a.enc_embed - 0.0005 * a.dec_embed;
    for (size_t i = 0; i < a.enc.size(); i++) x -= 0.00003 * a.enc[i].ffn_dim * (1.0 + 0.1 * (i % 3)) + 0.01 * a.enc[i].heads;
    for (size_t i = 0; i < a.dec.size(); i++)
        x -= 0.00004 * a.dec[i].ffn_dim + 0.005 * a.dec[i].self_heads + 0.004 * a.dec[i].cross_heads +
             0.01 * a.dec[i].cross_k;
    return x;
}

// A deterministic "noise" in [-1, 1) from the arch's text.
[[maybe_unused]] double arch_noise(const mos::Arch &a) {
    uint64_t h = 1469598103934665603ull;
    for (char c : mos::arch_to_json(a)) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return static_cast<double>(h % 20001) / 10000.0 - 1.0;
}

// Latency: grows with the arch's size.
[[maybe_unused]] double latency(const mos::Arch &a) {
    double ms = 0.01 * (a.enc_embed + a.dec_embed);
    for (const auto &l : a.enc) ms += 0.002 * l.ffn_dim;
    for (const auto &l : a.dec) ms += 0.003 * l.ffn_dim;
    return ms;
}

}  // namespace
