// lib/backend/onednn.cpp: the oneDNN backend of the GEMM interface (gemm.hpp).
//
// Every GEMM becomes a oneDNN 2.x matmul primitive. Operands are described
// with explicit strides, so transposes and leading dimensions larger than the
// logical width (the W[:d_out, :d_in] slice of a super-size weight, ld = D_in)
// are read in place without copies. alpha is an output scale and beta a sum
// post-op (dst = alpha * A B + beta * dst).
//
// Creating a primitive JIT-compiles code (1-10 ms), far more than a small GEMM,
// so primitives are cached per shape key in a mutex-protected map. Several
// threads may execute one cached primitive at once because nothing mutable is
// shared: each thread has its own stream, its own memory objects and its own
// scratchpad (the primitives use scratchpad_mode::user; with oneDNN's default
// library scratchpad, concurrent executions of one primitive share a buffer
// and corrupt each other's results).
//
// bf16: A and B are rounded to bf16 (round to nearest even) into per-thread
// scratch that only grows (no allocation in steady state), and multiplied with
// f32 accumulation and f32 output; an operand the caller converted already
// (Bf16Operands, gemm.hpp) is read as it is, so a training step converts each
// operand once however many products read it. Without a native bf16 matmul
// (no avx512_bf16, or ONEDNN_MAX_CPU_ISA below it) the GEMM runs in f32.
#include <immintrin.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "backend/gemm.hpp"
#include "backend/profile.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"

namespace mos {

namespace {

using dnnl::memory;

std::atomic<bool> g_bf16_disabled{false};

struct Runtime {
    dnnl::engine engine;
    Runtime() : engine(dnnl::engine::kind::cpu, 0) {}
};

Runtime &runtime() {
    static Runtime *r = [] {
        try {
            return new Runtime();  // never destroyed: GEMMs may run during static destruction
        } catch (const dnnl::error &e) {
            fail(MOS_BACKEND, "oneDNN: cannot create the CPU engine: ", e.what());
        }
    }();
    return *r;
}

// Everything a primitive depends on. Pointers are not part of it: a cached
// primitive runs on any buffers with the same shape and strides. The calling
// thread's OpenMP count is: oneDNN fixes a primitive's thread count (and its
// work split and scratchpad) when it creates the primitive, so a primitive
// made under one count would ignore a later set_num_threads / ThreadScope.
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, bool, bool, float, float, bool, int>;

struct Entry {
    dnnl::matmul prim;
    memory::desc a, b, c, scratch;
    bool native = true;  // false: oneDNN only had its reference implementation
};

std::mutex g_cache_mutex;
std::map<Key, std::shared_ptr<Entry>> g_cache;

// Operand descriptor of a [batch, rows, cols] logical matrix stored row-major
// with leading dimension ld (or transposed: stored [cols, rows]).
memory::desc operand_desc(memory::data_type dt, int64_t batch, int64_t rows, int64_t cols, int64_t ld,
                          bool trans, int64_t bstride) {
    memory::dims dims = {batch, rows, cols};
    memory::dims strides = trans ? memory::dims{bstride, 1, ld} : memory::dims{bstride, ld, 1};
    return memory::desc(dims, dt, strides);
}

std::shared_ptr<Entry> get_entry(const Gemm &g, int64_t batch, int64_t sa, int64_t sb, int64_t sc, bool bf16) {
    const Key key{g.M,       g.N,       g.K,     g.lda,  g.ldb, g.ldc, batch, sa, sb, sc,
                  g.trans_a, g.trans_b, g.alpha, g.beta, bf16,  omp_get_max_threads()};
    {
        std::lock_guard<std::mutex> lock(g_cache_mutex);
        auto it = g_cache.find(key);
        if (it != g_cache.end()) return it->second;
    }
    // Created outside the lock: two threads may build the same primitive once
    // each; the first inserted wins.
    auto e = std::make_shared<Entry>();
    const auto in_dt = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    e->a = operand_desc(in_dt, batch, g.M, g.K, g.lda, g.trans_a, sa);
    e->b = operand_desc(in_dt, batch, g.K, g.N, g.ldb, g.trans_b, sb);
    e->c = operand_desc(memory::data_type::f32, batch, g.M, g.N, g.ldc, false, sc);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (g.alpha != 1.0f) attr.set_output_scales(0, {g.alpha});
    if (g.beta != 0.0f) {
        dnnl::post_ops po;
        po.append_sum(g.beta);
        attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e->a, e->b, e->c), attr, runtime().engine);
    const std::string impl = pd.impl_info_str();
    e->native = impl.compare(0, 3, "ref") != 0;
    e->scratch = pd.scratchpad_desc();
    e->prim = dnnl::matmul(pd);
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    return g_cache.emplace(key, e).first->second;
}

// f32 -> bf16, round to nearest even (NaN kept quiet).
inline uint16_t to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>(u >> 16);
}

// One row of f32 -> bf16 with vcvtneps2bf16 (round to nearest even, NaN kept
// quiet; like the hardware it flushes f32 denormals to zero). Only called
// where the CPU has avx512_bf16, which the bf16 path requires.
__attribute__((target("avx512f,avx512bf16"))) void convert_row_avx512(uint16_t *d, const float *s, int64_t n) {
    int64_t j = 0;
    for (; j + 32 <= n; j += 32) {
        const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + j + 16), _mm512_loadu_ps(s + j));
        _mm512_storeu_si512(d + j, reinterpret_cast<__m512i>(v));
    }
    if (j < n) {
        const int64_t rest = n - j;
        const __mmask16 lo = static_cast<__mmask16>(rest >= 16 ? 0xffff : (1u << rest) - 1);
        const __mmask16 hi = static_cast<__mmask16>(rest > 16 ? (1u << (rest - 16)) - 1 : 0);
        const __m512 a = _mm512_maskz_loadu_ps(lo, s + j), b = _mm512_maskz_loadu_ps(hi, s + j + 16);
        const __m512bh v = _mm512_cvtne2ps_pbh(b, a);
        _mm512_mask_storeu_epi16(d + j, static_cast<__mmask32>(lo) | (static_cast<__mmask32>(hi) << 16),
                                 reinterpret_cast<__m512i>(v));
    }
}

// Per-thread bf16 scratch that only grows.
std::vector<uint16_t> &scratch(int which) {
    thread_local std::vector<uint16_t> bufs[2];
    return bufs[which];
}

// Whether bf16 primitives are native here: probed once on a small shape.
bool bf16_native() {
    static const bool native = [] {
        if (!cpu_features().bf16) return false;
        try {
            return get_entry(make_gemm(false, false, 32, 32, 32, 32, 32, 32), 1, 32 * 32, 32 * 32, 32 * 32, true)
                ->native;
        } catch (const dnnl::error &) {
            return false;
        }
    }();
    return native;
}

// Runs a cached primitive on the given buffers. The memory objects and the
// argument map are kept per thread and per primitive and only re-pointed
// (set_data_handle), so a call allocates nothing (measured: a tiny GEMM
// went from 1.6-2.0 us to 0.64 us per call).
struct Bound {
    memory a, b, c, scratch;
    std::unordered_map<int, memory> args;
};

// This thread's scratchpad for every primitive it runs; only grows.
struct Scratchpad {
    void *data = nullptr;
    size_t size = 0;
    ~Scratchpad() { std::free(data); }
    void *get(size_t n) {
        if (n > size) {
            std::free(data);
            size = (n + 4095) / 4096 * 4096;
            data = std::aligned_alloc(64, size);
            if (!data) {
                size = 0;
                throw std::bad_alloc();
            }
        }
        return data;
    }
};

void execute(const Entry &e, const void *A, const void *B, float *C) {
    thread_local std::unordered_map<const Entry *, Bound> bound;
    thread_local Scratchpad pad;
    thread_local dnnl::stream stream(runtime().engine);
    auto it = bound.find(&e);
    if (it == bound.end()) {
        Bound m;
        m.a = memory(e.a, runtime().engine, DNNL_MEMORY_NONE);
        m.b = memory(e.b, runtime().engine, DNNL_MEMORY_NONE);
        m.c = memory(e.c, runtime().engine, DNNL_MEMORY_NONE);
        m.scratch = memory(e.scratch, runtime().engine, DNNL_MEMORY_NONE);
        m.args = {{DNNL_ARG_SRC, m.a}, {DNNL_ARG_WEIGHTS, m.b}, {DNNL_ARG_DST, m.c},
                  {DNNL_ARG_SCRATCHPAD, m.scratch}};
        it = bound.emplace(&e, std::move(m)).first;
    }
    Bound &m = it->second;
    m.a.set_data_handle(const_cast<void *>(A));
    m.b.set_data_handle(const_cast<void *>(B));
    m.c.set_data_handle(C);
    m.scratch.set_data_handle(pad.get(e.scratch.get_size()));
    e.prim.execute(stream, m.args);
    stream.wait();
}

void run(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb, float *C,
         int64_t sc, const Bf16Operands &pre) {
    const bool bf16 = g.type == GemmType::BF16 && !g_bf16_disabled.load(std::memory_order_relaxed) &&
                      bf16_native();
    // A single problem's batch stride is never used; give it the natural value.
    if (batch == 1) {
        sa = (g.trans_a ? g.K : g.M) * g.lda;
        sb = (g.trans_b ? g.N : g.K) * g.ldb;
        sc = g.M * g.ldc;
    }
    if (!bf16) {
        execute(*get_entry(g, batch, sa, sb, sc, false), A, B, C);
        return;
    }
    // bf16 copies are dense: ld = stored width, batch stride = rows * cols.
    const int64_t a_rows = g.trans_a ? g.K : g.M, a_cols = g.trans_a ? g.M : g.K;
    const int64_t b_rows = g.trans_b ? g.N : g.K, b_cols = g.trans_b ? g.K : g.N;
    // Operands the caller converted already (Bf16Operands) are read as they
    // are; the others are converted here into per-thread scratch.
    auto converted = [batch](int which, const float *src, int64_t rows, int64_t cols, int64_t ld, int64_t stride) {
        PhaseScope scope(Phase::Convert);
        std::vector<uint16_t> &buf = scratch(which);
        const size_t n = static_cast<size_t>(batch * rows * cols);
        if (buf.size() < n) buf.resize(n);
        bf16_convert(buf.data(), src, batch, rows, cols, ld, stride);
        return static_cast<const uint16_t *>(buf.data());
    };
    const uint16_t *a16 = pre.a ? pre.a : converted(0, A, a_rows, a_cols, g.lda, sa);
    const uint16_t *b16 = pre.b ? pre.b : converted(1, B, b_rows, b_cols, g.ldb, sb);
    Gemm d = g;
    d.lda = a_cols;
    d.ldb = b_cols;
    execute(*get_entry(d, batch, a_rows * a_cols, b_rows * b_cols, sc, true), a16, b16, C);
}

}  // namespace

// A thread gets at least kConvertGrain elements, so small copies (decode
// steps, attention heads, most weights) stay serial. Measured on the 2-core
// Zen 5: one thread converts about 20 elements per ns; with spinning OpenMP
// threads 2 threads took 6.0 us on 262K elements against 12.8 us on one (2.0x
// up to 8M elements), but with OMP_WAIT_POLICY=passive on the loaded machine
// waking the second thread cost about 8 us, so at a 16K grain 2 threads took
// 8.2 us on 32K elements against 1.1 us. 128K keeps that cost near a tenth of
// the work a thread gets.
constexpr int64_t kConvertGrain = 131072;

void bf16_convert(uint16_t *dst, const float *src, int64_t batch, int64_t rows, int64_t cols, int64_t ld,
                  int64_t bstride) {
    const int64_t n_rows = batch * rows, total = n_rows * cols;
    if (total <= 0) return;
    const bool vec = cpu_features().bf16;
    // Elements [e0, e1) of the dense output, a row piece at a time: the split
    // is over elements, so a few long rows (the logits gradient of a short
    // batch, a [V, d] weight) or many short ones divide alike.
    auto piece = [&](int64_t e0, int64_t e1) {
        while (e0 < e1) {
            const int64_t r = e0 / cols, j = e0 % cols, w = std::min(cols - j, e1 - e0);
            const float *s = src + (r / rows) * bstride + (r % rows) * ld + j;
            uint16_t *d = dst + e0;
            if (vec) {
                convert_row_avx512(d, s, w);
            } else {
                for (int64_t k = 0; k < w; k++) d[k] = to_bf16(s[k]);
            }
            e0 += w;
        }
    };
    const int64_t threads = std::min<int64_t>(omp_in_parallel() ? 1 : omp_get_max_threads(),
                                              total / kConvertGrain);
    if (threads <= 1) {
        piece(0, total);
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t t = 0; t < threads; t++) {
        // Boundaries on multiples of 32 elements: whole vector steps, and whole
        // 64-byte lines of an aligned output.
        const int64_t e0 = total * t / threads / 32 * 32, e1 = t + 1 == threads ? total : total * (t + 1) / threads / 32 * 32;
        piece(e0, e1);
    }
}

void gemm_onednn(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb, float *C,
                 int64_t sc, const Bf16Operands &pre) {
    try {
        run(g, batch, A, sa, B, sb, C, sc, pre);
    } catch (const dnnl::error &e) {
        fail(MOS_BACKEND, "oneDNN matmul M=", g.M, " N=", g.N, " K=", g.K, " batch=", batch, " failed: ", e.what(),
             " (status ", static_cast<int>(e.status), ")");
    } catch (const std::bad_alloc &) {
        fail(MOS_OUT_OF_MEMORY, "oneDNN matmul M=", g.M, " N=", g.N, " K=", g.K, ": out of memory");
    }
}

bool onednn_bf16_active() {
    if (g_bf16_disabled.load(std::memory_order_relaxed)) return false;
    try {
        return bf16_native();
    } catch (const Error &) {
        return false;
    }
}

void set_bf16_disabled(bool disabled) { g_bf16_disabled.store(disabled, std::memory_order_relaxed); }

}  // namespace mos
