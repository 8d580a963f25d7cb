// lib/tensor/arena.cpp: the fixed-capacity arena (see arena.hpp).
#include "tensor/arena.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "core/error.hpp"

namespace mos {

namespace {
constexpr size_t kAlignFloats = 16;  // 64 bytes
size_t round_up(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }
}  // namespace

Arena::Arena(std::string name, size_t capacity_floats)
    : name_(std::move(name)), capacity_(round_up(capacity_floats)) {
    if (capacity_ > 0) {
        data_ = static_cast<float *>(std::aligned_alloc(64, capacity_ * sizeof(float)));
        if (!data_) throw std::bad_alloc();
    }
}

Arena::~Arena() { std::free(data_); }

Arena::Arena(Arena &&o) noexcept
    : name_(std::move(o.name_)), data_(o.data_), capacity_(o.capacity_), used_(o.used_) {
    o.data_ = nullptr;
    o.capacity_ = o.used_ = 0;
}

Arena &Arena::operator=(Arena &&o) noexcept {
    if (this != &o) {
        std::free(data_);
        name_ = std::move(o.name_);
        data_ = o.data_;
        capacity_ = o.capacity_;
        used_ = o.used_;
        o.data_ = nullptr;
        o.capacity_ = o.used_ = 0;
    }
    return *this;
}

float *Arena::alloc(size_t n) {
    size_t need = round_up(n);
    if (need > capacity_ - used_)
        fail(MOS_OUT_OF_RANGE, "arena '", name_, "' needs ", need, " more floats but has ",
             capacity_ - used_, " of ", capacity_, " left");
    float *p = data_ + used_;
    used_ += need;
    return p;
}

float *Arena::alloc_zero(size_t n) {
    float *p = alloc(n);
    std::memset(p, 0, n * sizeof(float));
    return p;
}

void Arena::rewind(size_t m) {
    if (m > used_) fail(MOS_INTERNAL, "arena '", name_, "' rewound forward (", m, " > ", used_, ")");
    used_ = m;
}

}  // namespace mos
