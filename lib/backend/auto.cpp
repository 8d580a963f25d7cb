// lib/backend/auto.cpp: the `auto` backend's choice of GEMM library per shape
// class, made from what runs fast on the machine at hand (docs/benchmarks.md,
// "Default backend: auto").
//
// Two steps, neither tuned on any one CPU:
//  1. OpenBLAS is left out when the kernels it runs are far below the CPU's
//     vector units: its reported core (openblas_get_corename) is a generic or
//     older-ISA fallback, two ISA levels below the CPU (SSE kernels on an AVX2
//     or AVX-512 CPU, e.g. Debian's 0.3.21 reports `Prescott` on Sapphire
//     Rapids and runs SSE3 kernels at 17% of peak). Then every f32 product goes
//     to oneDNN, which dispatches on the CPU itself.
//  2. Otherwise the first product of each shape class is timed on both
//     libraries and the class keeps the faster. A class is the product's form
//     (op(A), op(B), batched or not, dtype), each of M, N, K and the batch
//     count rounded up to a power of two, and the calling thread's OpenMP
//     count. The timing is robust to noise: a warm-up call each, then rounds
//     that alternate the order of the two libraries, the minimum of each kept;
//     the product's output goes to scratch (so beta = 1 products never
//     accumulate twice into the caller's C), its inputs are the real ones; and
//     OpenBLAS must be kMargin faster to win, so that near-ties stay on oneDNN
//     whatever the noise.
// Choices are cached for the life of the process. Results may differ in the
// last bits between backends, so two processes may differ in the last bits
// where calibration chose differently; within a process a class never changes
// backend (exact resume in one process, docs/training.md). MOS_BACKEND
// pins one backend for every product.
//
// bf16 products go to oneDNN wherever it runs them in bf16 (OpenBLAS would run
// them in f32: not the same product). bf16 batched products (attention's
// per-head products, K = the head size, 16..64) may run faster in f32: their
// operands are converted at every call and small-K bf16 tiles run below the f32
// ones on some CPUs (the Xeon in docs/benchmarks.md: 493 ms bf16 vs 296 ms f32
// per update on one thread). The first product of each such class is timed
// both ways the same robust way (bf16 on oneDNN; f32 on the library auto
// chooses for the f32 class) and the class keeps the faster; f32 must be
// kMargin faster, so near-ties stay bf16. Running in f32 only adds precision.
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/gemm.hpp"
#include "backend/profile.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"

namespace mos {

void gemm_onednn(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb, float *C,
                 int64_t sc, const Bf16Operands &pre);
void gemm_openblas(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb, float *C,
                   int64_t sc);
bool onednn_bf16_active();

namespace {

using Clock = std::chrono::steady_clock;

// OpenBLAS must be this much faster than oneDNN to be chosen.
constexpr double kMargin = 0.05;
// Timed rounds (one call of each library per round): at least kMinRounds, then
// until kBudget seconds of calibration or kMaxRounds.
constexpr int kMinRounds = 3;
constexpr int kMaxRounds = 9;
constexpr double kBudget = 0.004;

// Vector ISA levels of a CPU or of an OpenBLAS core's kernels.
enum Isa : int { kIsaNone = 0, kIsaSse = 1, kIsaAvx = 2, kIsaAvx2 = 3, kIsaAvx512 = 4 };

int cpu_isa(const CpuFeatures &f) { return f.avx512 ? kIsaAvx512 : f.avx2 ? kIsaAvx2 : kIsaSse; }

// The ISA of the kernels OpenBLAS 0.3.x runs for a core name (its x86_64
// DYNAMIC_ARCH targets; any name not listed is an SSE-era or unknown target).
int core_isa(const std::string &core) {
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2[] = {"Haswell", "Zen"};
    static const char *const avx[] = {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"};
    if (core.empty() || core == "none") return kIsaNone;
    for (const char *c : avx512)
        if (core == c) return kIsaAvx512;
    for (const char *c : avx2)
        if (core == c) return kIsaAvx2;
    for (const char *c : avx)
        if (core == c) return kIsaAvx;
    return kIsaSse;
}

// One class as a 64-bit key. bucket(x) = ceil(log2(x)) (0 for x <= 1).
int bucket(int64_t x) { return x <= 1 ? 0 : 64 - __builtin_clzll(static_cast<unsigned long long>(x - 1)); }

// No type bit: a bf16 product only gets here when bf16 is not active, and then
// it runs in f32 and must take the f32 class's choice (the same library gives
// the same bits; bf16 off is f32 bit for bit, tests/model/test_mixed_precision).
uint64_t class_key(const Gemm &g, int64_t batch, int threads) {
    uint64_t k = 0;
    k |= static_cast<uint64_t>(g.trans_a);
    k |= static_cast<uint64_t>(g.trans_b) << 1;
    k |= static_cast<uint64_t>(bucket(g.M)) << 8;
    k |= static_cast<uint64_t>(bucket(g.N)) << 16;
    k |= static_cast<uint64_t>(bucket(g.K)) << 24;
    k |= static_cast<uint64_t>(bucket(batch)) << 32;
    k |= static_cast<uint64_t>(threads & 0xffff) << 40;
    return k;
}

// The count the libraries would use for a call from here: 1 inside a parallel
// region (no nesting), else this thread's OpenMP count.
int calling_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

std::atomic<int64_t> g_calibration_ns{0};

struct Record {
    std::string shape;  // the first product of the class
    Backend choice = Backend::OneDNN;
    double onednn_s = 0, openblas_s = 0;  // best times (0: not timed)
    const char *why = "";
    // A bf16 batched class (onednn_s: bf16, openblas_s: f32 on f32_backend).
    bool precision = false;
    GemmType type = GemmType::BF16;
    Backend f32_backend = Backend::OneDNN;
};

struct State {
    std::atomic<uint64_t> generation{1};  // bumped by auto_forget: invalidates the per-thread caches
    std::mutex mu;            // guards `choice` and `records`
    std::mutex calibrating;   // one calibration at a time (they would disturb each other)
    std::unordered_map<uint64_t, Backend> choice;
    std::unordered_map<uint64_t, GemmType> precision;  // bf16 batched classes
    std::vector<Record> records;
};

State &state() {
    static State *s = new State;  // never destroyed: GEMMs may run during static destruction
    return *s;
}

// A thread's copy of the choices it has used (no lock on the hot path),
// emptied when auto_forget bumps the generation.
template <typename V>
struct ThreadChoices {
    std::unordered_map<uint64_t, V> map;
    uint64_t generation = 0;
    // The choice for `key`: from this copy, else (under s.mu) from `shared`, kept here.
    bool find(State &s, const std::unordered_map<uint64_t, V> &shared, uint64_t key, V *out) {
        const uint64_t gen = s.generation.load(std::memory_order_acquire);
        if (generation != gen) {
            map.clear();
            generation = gen;
        }
        if (auto it = map.find(key); it != map.end()) {
            *out = it->second;
            return true;
        }
        return find_shared(s, shared, key, out);
    }
    bool find_shared(State &s, const std::unordered_map<uint64_t, V> &shared, uint64_t key, V *out) {
        std::lock_guard<std::mutex> lock(s.mu);
        auto it = shared.find(key);
        if (it == shared.end()) return false;
        *out = map[key] = it->second;
        return true;
    }
};

std::string describe(const Gemm &g, int64_t batch, int threads, const char *type = "f32") {
    std::string s;
    s += g.trans_a ? "T" : "N";
    s += g.trans_b ? "T" : "N";
    s += " ";
    s += type;  // library classes run in f32 (see class_key)
    s += " ";
    s += std::to_string(g.M) + "x" + std::to_string(g.N) + "x" + std::to_string(g.K);
    if (batch > 1) s += " batch " + std::to_string(batch);
    s += " threads " + std::to_string(threads);
    return s;
}

// Runs one library on the real inputs into scratch; seconds, or +inf if the
// library refused the product.
double time_one(Backend b, const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb,
                float *C, int64_t sc) {
    const auto t0 = Clock::now();
    try {
        if (b == Backend::OneDNN)
            gemm_onednn(g, batch, A, sa, B, sb, C, sc, Bf16Operands{});
        else
            gemm_openblas(g, batch, A, sa, B, sb, C, sc);
    } catch (const Error &) {
        return std::numeric_limits<double>::infinity();
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best times of two ways (library, descriptor) to run one product: a warm-up
// call each, then rounds alternating which goes first, into scratch.
struct Pair {
    Backend b[2];
    Gemm g[2];
};
void time_pair(const Pair &pair, double best[2], const Gemm &g, int64_t batch, const float *A, int64_t sa,
               const float *B, int64_t sb, const float *C, int64_t sc) {
    PhaseScope scope(Phase::GemmCalibration);
    const auto start = Clock::now();
    // Scratch output with C's layout (same leading dimension and batch stride,
    // so the primitives made here are the ones the real calls use), starting
    // from C's values so that beta != 0 reads realistic numbers.
    const int64_t stride = batch > 1 ? sc : 0;
    const size_t extent = static_cast<size_t>((batch - 1) * stride + (g.M - 1) * g.ldc + g.N);
    thread_local std::vector<float> out;
    if (out.size() < extent) out.resize(extent);
    if (g.beta != 0.0f) {
        for (int64_t p = 0; p < batch; p++)
            for (int64_t i = 0; i < g.M; i++)
                std::memcpy(out.data() + p * stride + i * g.ldc, C + p * stride + i * g.ldc,
                            static_cast<size_t>(g.N) * sizeof(float));
    } else {
        std::memset(out.data(), 0, extent * sizeof(float));
    }
    best[0] = best[1] = std::numeric_limits<double>::infinity();
    for (int i = 0; i < 2; i++) time_one(pair.b[i], pair.g[i], batch, A, sa, B, sb, out.data(), sc);  // warm-up
    const auto t0 = Clock::now();
    for (int r = 0; r < kMaxRounds; r++) {
        for (int j = 0; j < 2; j++) {
            const int i = (r + j) % 2;  // alternate which goes first
            const double t = time_one(pair.b[i], pair.g[i], batch, A, sa, B, sb, out.data(), sc);
            if (t < best[i]) best[i] = t;
        }
        if (r + 1 >= kMinRounds && std::chrono::duration<double>(Clock::now() - t0).count() > kBudget) break;
    }
    g_calibration_ns.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count(), std::memory_order_relaxed);
}

Record calibrate(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb,
                 const float *C, int64_t sc) {
    double best[2];
    time_pair(Pair{{Backend::OneDNN, Backend::OpenBLAS}, {g, g}}, best, g, batch, A, sa, B, sb, C, sc);
    Record rec;
    rec.onednn_s = best[0];
    rec.openblas_s = best[1];
    check(best[0] < std::numeric_limits<double>::infinity() || best[1] < std::numeric_limits<double>::infinity(),
          MOS_BACKEND, "gemm auto: neither oneDNN nor OpenBLAS ran ", describe(g, batch, calling_threads()));
    if (best[1] < (1.0 - kMargin) * best[0]) {
        rec.choice = Backend::OpenBLAS;
        rec.why = "measured faster";
    } else {
        rec.choice = Backend::OneDNN;
        rec.why = best[1] < best[0] ? "within the margin" : "measured faster";
    }
    return rec;
}

}  // namespace

bool openblas_core_generic(const std::string &core, const CpuFeatures &cpu) {
    return cpu_isa(cpu) - core_isa(core) >= 2;
}

const std::string &openblas_exclusion() {
    static const std::string why = [] {
        const std::string core = openblas_core();
        if (!openblas_core_generic(core, cpu_features())) return std::string();
        return "OpenBLAS core " + core + " runs kernels two or more vector ISA levels below this CPU's (" +
               (cpu_features().avx512 ? "AVX-512" : "AVX2") + ")";
    }();
    return why;
}

Backend auto_choice(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb,
                    const float *C, int64_t sc) {
    if (g.type == GemmType::BF16 && onednn_bf16_active()) return Backend::OneDNN;
    if (!openblas_exclusion().empty()) return Backend::OneDNN;
    State &s = state();
    const int threads = calling_threads();
    const uint64_t key = class_key(g, batch, threads);
    thread_local ThreadChoices<Backend> mine;
    Backend known;
    if (mine.find(s, s.choice, key, &known)) return known;
    std::lock_guard<std::mutex> one(s.calibrating);
    if (mine.find_shared(s, s.choice, key, &known)) return known;  // another thread may have just done it
    Record rec = calibrate(g, batch, A, sa, B, sb, C, sc);
    rec.shape = describe(g, batch, threads);
    std::lock_guard<std::mutex> lock(s.mu);
    s.choice.emplace(key, rec.choice);
    s.records.push_back(rec);
    return mine.map[key] = rec.choice;
}

GemmType auto_batched_type(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb,
                           const float *C, int64_t sc) {
    if (g.type != GemmType::BF16 || batch <= 1 || !onednn_bf16_active()) return g.type;
    State &s = state();
    const int threads = calling_threads();
    const uint64_t key = class_key(g, batch, threads);  // a map of its own: no type bit needed
    thread_local ThreadChoices<GemmType> mine;
    GemmType known;
    if (mine.find(s, s.precision, key, &known)) return known;
    // The f32 side runs where auto sends the f32 class (which may time it first).
    Gemm f = g;
    f.type = GemmType::F32;
    const Backend fb = auto_choice(f, batch, A, sa, B, sb, C, sc);
    std::lock_guard<std::mutex> one(s.calibrating);
    if (mine.find_shared(s, s.precision, key, &known)) return known;
    double best[2];
    time_pair(Pair{{Backend::OneDNN, fb}, {g, f}}, best, g, batch, A, sa, B, sb, C, sc);
    check(best[0] < std::numeric_limits<double>::infinity() || best[1] < std::numeric_limits<double>::infinity(),
          MOS_BACKEND, "gemm auto: ", describe(g, batch, threads, "bf16"), " ran neither in bf16 nor in f32");
    Record rec;
    rec.shape = describe(g, batch, threads, "bf16");
    rec.precision = true;
    rec.onednn_s = best[0];
    rec.openblas_s = best[1];
    rec.f32_backend = fb;
    rec.choice = Backend::OneDNN;
    if (best[1] < (1.0 - kMargin) * best[0]) {
        rec.type = GemmType::F32;
        rec.choice = fb;
        rec.why = "measured faster";
    } else {
        rec.type = GemmType::BF16;
        rec.why = best[1] < best[0] ? "within the margin" : "measured faster";
    }
    std::lock_guard<std::mutex> lock(s.mu);
    s.precision.emplace(key, rec.type);
    s.records.push_back(rec);
    return mine.map[key] = rec.type;
}

Backend auto_known(const Gemm &g, int64_t batch) {
    if (g.type == GemmType::BF16 && onednn_bf16_active()) return Backend::OneDNN;
    if (!openblas_exclusion().empty()) return Backend::OneDNN;
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.choice.find(class_key(g, batch, calling_threads()));
    return it == s.choice.end() ? Backend::Auto : it->second;
}

void auto_forget() {
    State &s = state();
    std::lock_guard<std::mutex> one(s.calibrating);
    std::lock_guard<std::mutex> lock(s.mu);
    s.choice.clear();
    s.precision.clear();
    s.records.clear();
    s.generation.fetch_add(1, std::memory_order_acq_rel);
}

double auto_calibration_seconds() {
    return static_cast<double>(g_calibration_ns.load(std::memory_order_relaxed)) * 1e-9;
}

std::string auto_policy() {
    const std::string ex = openblas_exclusion();
    const char *bf16 = onednn_bf16_active()
                           ? "; bf16 on onednn, bf16 batched products in bf16 or f32, the faster timed per class"
                           : "";
    if (!ex.empty()) return "gemm_auto=onednn for every f32 product: " + ex + bf16;
    return "gemm_auto=per shape class, the faster of onednn and openblas (core " + openblas_core() +
           ") timed at the class's first product" + bf16;
}

std::string auto_report() {
    std::string out = auto_policy() + "\n";
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    for (const Record &r : s.records) {
        char t[128];
        if (r.precision) {
            std::snprintf(t, sizeof t, ": bf16 %.3f ms, f32 (%s) %.3f ms -> ", r.onednn_s * 1e3,
                          backend_name(r.f32_backend), r.openblas_s * 1e3);
            out += "gemm_auto_class=" + r.shape + t + (r.type == GemmType::BF16 ? "bf16" : "f32") + " (" + r.why +
                   ")\n";
        } else {
            std::snprintf(t, sizeof t, ": onednn %.3f ms, openblas %.3f ms -> ", r.onednn_s * 1e3, r.openblas_s * 1e3);
            out += "gemm_auto_class=" + r.shape + t + backend_name(r.choice) + " (" + r.why + ")\n";
        }
    }
    return out;
}

}  // namespace mos
