// bench/bench_racing.cpp (mos-bench-racing): the figures behind the search's
// racing and precision defaults (docs/search.md, "Racing and precision").
// For sampled archs of the built-in supernet's space it computes the fitness
// on the whole validation subset (f32 and bf16) and the screened loss on the
// first S pairs for several S, and prints, per S, the rank agreement of the
// screened with the full loss (Kendall tau), how many of the true best
// quarter a promoted fraction keeps, and the time of each evaluation; and it
// times scoring archs one after the other on all threads against scoring
// them concurrently, one thread each (the results must be equal).
//
//   mos-bench-racing [--data data/bible-en-es] [--archs 30] [--pairs 500]
//                    [--screens 50,100] [--threads 2] [--seed 3]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/batcher.hpp"
#include "data/tokenizer.hpp"
#include "eval/loss.hpp"
#include "model/arch.hpp"
#include "model/builtin.hpp"
#include "model/bundle.hpp"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double kendall(const std::vector<double> &x, const std::vector<double> &y) {
    double c = 0, d = 0;
    for (size_t i = 0; i < x.size(); i++)
        for (size_t j = i + 1; j < x.size(); j++) {
            const double s = (x[i] - x[j]) * (y[i] - y[j]);
            if (s > 0) c++;
            else if (s < 0) d++;
        }
    return c + d > 0 ? (c - d) / (c + d) : 0;
}

std::vector<size_t> order_of(const std::vector<double> &v) {
    std::vector<size_t> o(v.size());
    for (size_t i = 0; i < o.size(); i++) o[i] = i;
    std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    return o;
}

}  // namespace

int main(int argc, char **argv) {
    std::string data = "data/bible-en-es";
    int archs = 30, pairs_n = 500, threads = 2;
    uint64_t seed = 3;
    std::vector<int> screens = {50, 100};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!std::strcmp(argv[i], "--archs")) archs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--pairs")) pairs_n = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
        else if (!std::strcmp(argv[i], "--screens")) {
            screens.clear();
            for (char *p = argv[i + 1]; *p;) {
                screens.push_back(static_cast<int>(std::strtol(p, &p, 10)));
                if (*p == ',') p++;
            }
        } else {
            std::fprintf(stderr, "mos-bench-racing: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    try {
        const mos::ThreadScope scope(threads);
        const mos::SupernetBundle b = mos::load_builtin("");
        const mos::Tokenizer tok = mos::Tokenizer::load(b.tokenizer);
        const mos::TokenizedData pairs =
            mos::read_tokenized_split(tok, data, "valid", "en", "es", pairs_n, mos::kEvalMaxLen);
        const auto full_batches = mos::fixed_batches(pairs, mos::kEvalBatchTokens);
        std::vector<std::vector<mos::TokenBatch>> screen_batches;
        for (int s : screens) {
            mos::TokenizedData sub;
            sub.pairs.assign(pairs.pairs.begin(), pairs.pairs.begin() + std::min<size_t>(s, pairs.pairs.size()));
            screen_batches.push_back(mos::fixed_batches(sub, mos::kEvalBatchTokens));
        }
        const float eps = b.net->config().label_smoothing;
        const mos::EvalPrecision bf = mos::effective_precision(mos::EvalPrecision::BF16);
        std::printf("# %zu pairs, %d archs, %d threads, bf16 products: %s\n", pairs.pairs.size(), archs, threads,
                    mos::eval_precision_name(bf));
        mos::Rng rng(seed);
        std::vector<mos::Arch> as;
        for (int i = 0; i < archs; i++) as.push_back(mos::arch_sample(b.space, rng));
        std::vector<double> f32(archs), b16(archs), t_f32(archs), t_b16(archs), t_route(archs);
        std::vector<std::vector<double>> scr(screens.size(), std::vector<double>(archs)),
            t_scr(screens.size(), std::vector<double>(archs));
        mos::EvalWorkspace ws;
        for (int i = 0; i < archs; i++) {
            double t = now();
            const mos::DenseModel m = mos::route(*b.net, mos::arch_dims(b.space, as[i]));
            t_route[i] = now() - t;
            t = now();
            f32[i] = mos::mean_loss(m, ws, full_batches, eps, mos::EvalPrecision::F32).loss;
            t_f32[i] = now() - t;
            t = now();
            b16[i] = mos::mean_loss(m, ws, full_batches, eps, bf).loss;
            t_b16[i] = now() - t;
            for (size_t k = 0; k < screens.size(); k++) {
                t = now();
                scr[k][i] = mos::mean_loss(m, ws, screen_batches[k], eps, bf).loss;
                t_scr[k][i] = now() - t;
            }
            std::printf("arch %2d  f32 %.5f (%.3f s)  bf16 %.5f (%.3f s)  route %.3f s", i, f32[i], t_f32[i], b16[i],
                        t_b16[i], t_route[i]);
            for (size_t k = 0; k < screens.size(); k++)
                std::printf("  screen%d %.5f (%.3f s)", screens[k], scr[k][i], t_scr[k][i]);
            std::printf("\n");
            std::fflush(stdout);
        }
        auto mean = [](const std::vector<double> &v) {
            double s = 0;
            for (double x : v) s += x;
            return s / static_cast<double>(v.size());
        };
        double maxdiff = 0;
        for (int i = 0; i < archs; i++) maxdiff = std::max(maxdiff, std::fabs(f32[i] - b16[i]));
        std::printf("full f32: %.3f s per arch (route %.3f s); bf16: %.3f s (x%.2f); max |bf16 - f32| %.2e nats; "
                    "Kendall tau bf16 vs f32 %.3f\n",
                    mean(t_f32), mean(t_route), mean(t_b16), mean(t_f32) / mean(t_b16), maxdiff, kendall(f32, b16));
        // The true best quarter by f32 loss; how many of it a promoted
        // fraction (best screened first) keeps.
        const std::vector<size_t> truth = order_of(f32);
        const size_t q = std::max<size_t>(1, truth.size() / 4);
        for (size_t k = 0; k < screens.size(); k++) {
            const std::vector<size_t> so = order_of(scr[k]);
            std::printf("screen %d pairs (bf16): %.3f s per arch (%.1f%% of f32 full); Kendall tau vs f32 full %.3f;",
                        screens[k], mean(t_scr[k]), 100 * mean(t_scr[k]) / mean(t_f32), kendall(scr[k], f32));
            for (double f : {0.15, 0.25, 0.35}) {
                const size_t n = static_cast<size_t>(std::ceil(f * static_cast<double>(archs)));
                size_t kept = 0;
                for (size_t r = 0; r < n; r++)
                    if (std::find(truth.begin(), truth.begin() + q, so[r]) != truth.begin() + q) kept++;
                const bool best_kept = std::find(so.begin(), so.begin() + n, truth[0]) != so.begin() + n;
                std::printf(" promote %.2f keeps %zu/%zu of the best quarter%s;", f, kept, q,
                            best_kept ? " and the best" : ", NOT the best");
            }
            std::printf("\n");
        }
        // Concurrency: the first min(archs, 2 * threads) archs screened on the
        // first screen size, one after the other on `threads` threads, then
        // `threads` at a time on one thread each.
        const size_t n = std::min<size_t>(static_cast<size_t>(archs), 2 * static_cast<size_t>(threads));
        std::vector<mos::DenseModel> ms;
        for (size_t i = 0; i < n; i++) ms.push_back(mos::route(*b.net, mos::arch_dims(b.space, as[i])));
        for (int rep = 0; rep < 2; rep++) {
            std::vector<double> serial(n), par(n);
            double t = now();
            for (size_t i = 0; i < n; i++) serial[i] = mos::mean_loss(ms[i], ws, screen_batches[0], eps, bf).loss;
            const double t_serial = now() - t;
            t = now();
            std::vector<std::thread> pool;
            for (int w = 0; w < threads; w++)
                pool.emplace_back([&, w] {
                    const mos::ThreadScope one(1);
                    mos::EvalWorkspace wsw;
                    for (size_t i = static_cast<size_t>(w); i < n; i += static_cast<size_t>(threads))
                        par[i] = mos::mean_loss(ms[i], wsw, screen_batches[0], eps, bf).loss;
                });
            for (auto &th : pool) th.join();
            const double t_par = now() - t;
            bool equal = true;
            double md = 0;
            for (size_t i = 0; i < n; i++) {
                equal = equal && serial[i] == par[i];
                md = std::max(md, std::fabs(serial[i] - par[i]));
            }
            std::printf("%zu archs x %d pairs: one at a time on %d threads %.3f s; %d at a time on 1 thread each "
                        "%.3f s (x%.2f); results %s (max diff %.1e)\n",
                        n, screens[0], threads, t_serial, threads, t_par, t_serial / t_par,
                        equal ? "equal" : "DIFFER", md);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mos-bench-racing: %s\n", e.what());
        return 1;
    }
    return 0;
}
