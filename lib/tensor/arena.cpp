// lib/tensor/arena.cpp: the fixed-capacity arena (see arena.hpp).
#include "tensor/arena.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include <sys/mman.h>

#include "core/error.hpp"

namespace mos {

namespace {
constexpr size_t kAlignFloats = 16;  // 64 bytes
size_t round_up(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// Large arenas (a routed model's weights, a training workspace) are placed on
// 2 MiB boundaries and offered to the kernel as transparent huge pages: the
// first touch then costs one fault per 2 MiB instead of one per 4 KiB (routing
// the largest `small` subnet writes 33 MB into a fresh arena), and GEMMs over
// the arena miss the TLB less. Without THP support this is a plain allocation.
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugeMin = size_t(4) << 20;

float *allocate(size_t bytes) {
    void *p = nullptr;
    if (bytes >= kHugeMin) {
        const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
        p = std::aligned_alloc(kHugePage, rounded);
#ifdef MADV_HUGEPAGE
        if (p) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
    } else {
        p = std::aligned_alloc(64, bytes);
    }
    if (!p) throw std::bad_alloc();
    return static_cast<float *>(p);
}
}  // namespace

Arena::Arena(std::string name, size_t capacity_floats)
    : name_(std::move(name)), capacity_(round_up(capacity_floats)) {
    if (capacity_ > 0) data_ = allocate(capacity_ * sizeof(float));
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
