// lib/tensor/arena.hpp: fixed-capacity bump allocators that hold parameters,
// gradients, optimiser moments and activations.
//
// An arena is sized once (for the largest subnet and the largest batch) and
// never grows: a request beyond its capacity throws
// mos::Error(MOS_OUT_OF_RANGE) naming the arena, so a steady-state training or
// decode step allocates nothing. Every block is 64-byte aligned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mos {

class Arena {
public:
    Arena() = default;
    Arena(std::string name, size_t capacity_floats);
    ~Arena();
    Arena(const Arena &) = delete;
    Arena &operator=(const Arena &) = delete;
    Arena(Arena &&other) noexcept;
    Arena &operator=(Arena &&other) noexcept;

    // n floats, 64-byte aligned, uninitialised. Throws MOS_OUT_OF_RANGE.
    float *alloc(size_t n);
    // n floats set to zero.
    float *alloc_zero(size_t n);

    // A position to rewind to: scratch space for one step.
    size_t mark() const { return used_; }
    void rewind(size_t mark);
    void reset() { used_ = 0; }

    size_t capacity() const { return capacity_; }
    size_t used() const { return used_; }
    const std::string &name() const { return name_; }
    float *base() { return data_; }

private:
    std::string name_;
    float *data_ = nullptr;
    size_t capacity_ = 0;  // floats
    size_t used_ = 0;      // floats
};

}  // namespace mos
