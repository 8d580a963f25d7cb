// tests/kernels/test_step_attention.cpp: the decoding engine's step attention
// and output-layer statistics (kernels/step_attention.hpp) against the naive
// double-precision oracles, and bit for bit against themselves one row at a
// time: rows are reduced 16 keys or 16 rows at a time and a sentence's beams
// are taken together, and none of that may change a row's result (a sentence
// decodes the same alone or in a batch). Shapes cover head widths that are and
// are not multiples of 16, key counts around 16, masked keys, a sentence with
// every key masked, and key padding holding NaN that must be ignored.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/step_attention.hpp"

// cmocka last: it defines a fail() macro that would clash with mos::fail.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

namespace {

std::vector<float> random_vec(size_t n, uint32_t seed) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> d(-1.5f, 1.5f);
    std::vector<float> v(n);
    for (float &x : v) x = d(g);
    return v;
}

void expect_close(const char *what, const float *got, const float *want, int64_t n, double tol) {
    for (int64_t i = 0; i < n; i++)
        if (!std::isfinite(got[i]) || std::fabs(got[i] - want[i]) > tol * (1.0 + std::fabs(want[i])))
            fail_msg("%s[%lld]: kernel %.8g oracle %.8g", what, (long long)i, got[i], want[i]);
}

void expect_same_bits(const char *what, const float *a, const float *b, int64_t n) {
    if (std::memcmp(a, b, static_cast<size_t>(n) * sizeof(float)) != 0)
        fail_msg("%s: rows taken together differ from rows taken alone", what);
}

// Self-attention over a path-indexed cache: the oracle, and every row alone.
void self_case(int64_t heads, int64_t hd, int64_t n) {
    const int64_t Q = heads * hd, R = 3, slots = 5, T = n, ts = slots * Q, pld = T + 2;
    const std::vector<float> K = random_vec(static_cast<size_t>(T * ts), 1), V = random_vec(static_cast<size_t>(T * ts), 2);
    const std::vector<float> q = random_vec(static_cast<size_t>(R * Q), 3);
    std::vector<int32_t> path(static_cast<size_t>(R * pld));
    for (int64_t r = 0; r < R; r++)
        for (int64_t t = 0; t < T; t++) path[r * pld + t] = static_cast<int32_t>((r * 7 + t * 3) % slots);
    std::vector<float> o(static_cast<size_t>(R * Q)), want(o.size()), alone(o.size()), sc(static_cast<size_t>(n));
    mos::step_self_attention(o.data(), Q, q.data(), Q, K.data(), V.data(), ts, path.data(), pld, R, n, Q, heads,
                             sc.data());
    mos::ref::step_self_attention(want.data(), Q, q.data(), Q, K.data(), V.data(), ts, path.data(), pld, R, n, Q,
                                  heads);
    expect_close("self o", o.data(), want.data(), R * Q, 2e-5);
    for (int64_t r = 0; r < R; r++)
        mos::step_self_attention(alone.data() + r * Q, Q, q.data() + r * Q, Q, K.data(), V.data(), ts,
                                 path.data() + r * pld, pld, 1, n, Q, heads, sc.data());
    expect_same_bits("self o", o.data(), alone.data(), R * Q);
}

void test_self_attention(void **) {
    self_case(4, 64, 1);
    self_case(4, 64, 16);
    self_case(4, 64, 37);
    self_case(2, 32, 15);
    self_case(2, 24, 20);  // head width not a multiple of 16: the one-key path
}

// Cross-attention: sentence 0 has 37 keys (two masked), sentence 1 five,
// sentence 2 every key masked; padding columns hold NaN.
void cross_case(int64_t heads, int64_t hd) {
    const int64_t Q = heads * hd, B = 3, ld = 48;
    const int64_t len[B] = {37, 5, 4};
    std::vector<float> kt = random_vec(static_cast<size_t>(B * Q * ld), 4), v = random_vec(static_cast<size_t>(B * ld * Q), 5);
    std::vector<uint8_t> mask(static_cast<size_t>(B * ld), 0);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int64_t b = 0; b < B; b++)
        for (int64_t d = 0; d < Q; d++)
            for (int64_t j = len[b]; j < ld; j++) kt[(b * Q + d) * ld + j] = nan;
    mask[0 * ld + 3] = mask[0 * ld + 20] = 1;
    for (int64_t j = 0; j < len[2]; j++) mask[2 * ld + j] = 1;
    mos::StepMemory mem;
    mem.kt = kt.data();
    mem.kt_ld = ld;
    mem.kt_sentence = Q * ld;
    mem.v = v.data();
    mem.v_ld = Q;
    mem.v_sentence = ld * Q;
    mem.mask = mask.data();
    mem.mask_sentence = ld;
    mem.len = len;
    // A beam of 7 rows of sentence 0 (more than kCrossRows), then single rows.
    const std::vector<int64_t> src_of = {0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 1, 1};
    const int64_t R = static_cast<int64_t>(src_of.size());
    const std::vector<float> q = random_vec(static_cast<size_t>(R * Q), 6);
    std::vector<float> o(static_cast<size_t>(R * Q)), want(o.size()), alone(o.size());
    std::vector<float> sc(static_cast<size_t>(mos::kCrossRows * ld));
    mos::step_cross_attention(o.data(), Q, q.data(), Q, mem, src_of.data(), R, Q, heads, sc.data());
    mos::ref::step_cross_attention(want.data(), Q, q.data(), Q, mem, src_of.data(), R, Q, heads);
    expect_close("cross o", o.data(), want.data(), R * Q, 2e-5);
    for (int64_t i = 0; i < Q; i++)
        if (o[8 * Q + i] != 0.0f) fail_msg("cross o: a row with every key masked is not zero");
    for (int64_t r = 0; r < R; r++)
        mos::step_cross_attention(alone.data() + r * Q, Q, q.data() + r * Q, Q, mem, src_of.data() + r, 1, Q, heads,
                                  sc.data());
    expect_same_bits("cross o", o.data(), alone.data(), R * Q);
}

void test_cross_attention(void **) {
    cross_case(4, 64);
    cross_case(2, 24);
}

// Output-layer statistics of 21 rows (more than one group of 16) over blocks
// of 64 columns and a short last block: the oracle, and every row alone.
void test_vocab_stats(void **) {
    const int64_t M = 21, V = 200, block = 64, k = 6;
    const int32_t skip_a = 1, skip_b = 2, eos = 3;
    const std::vector<float> logits = random_vec(static_cast<size_t>(M * V), 7);
    std::vector<mos::VocabRowStats> all(static_cast<size_t>(M)), one(static_cast<size_t>(M));
    for (auto &s : all) s.reset(k);
    for (auto &s : one) s.reset(k);
    std::vector<float> tile(static_cast<size_t>(M * block));
    for (int64_t n0 = 0; n0 < V; n0 += block) {
        const int64_t n1 = std::min(V, n0 + block);
        for (int64_t m = 0; m < M; m++)
            std::memcpy(tile.data() + m * block, logits.data() + m * V + n0, static_cast<size_t>(n1 - n0) * 4);
        mos::vocab_tile_update(all.data(), tile.data(), block, M, n0, n1, skip_a, skip_b, eos);
        for (int64_t m = 0; m < M; m++)
            mos::vocab_tile_update(&one[m], tile.data() + m * block, block, 1, n0, n1, skip_a, skip_b, eos);
    }
    for (int64_t m = 0; m < M; m++) {
        const mos::VocabRowStats &a = all[m], &b = one[m];
        if (std::memcmp(&a.max, &b.max, 4) || std::memcmp(&a.sum, &b.sum, 4) || a.eos != b.eos || a.n != b.n)
            fail_msg("row %lld: statistics of rows together differ from the row alone", (long long)m);
        for (int i = 0; i < a.n; i++)
            if (a.tok[i] != b.tok[i] || a.val[i] != b.val[i]) fail_msg("row %lld: top-k differs", (long long)m);
        // The oracle: log-sum-exp in double and the k largest allowed logits.
        const float *row = logits.data() + m * V;
        double mx = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j < V; j++) mx = std::max(mx, static_cast<double>(row[j]));
        for (int64_t j = 0; j < V; j++) sum += std::exp(row[j] - mx);
        if (std::fabs(a.lse() - (mx + std::log(sum))) > 1e-5)
            fail_msg("row %lld: lse %.8g, oracle %.8g", (long long)m, a.lse(), mx + std::log(sum));
        if (!a.has_eos || a.eos != row[eos]) fail_msg("row %lld: EOS logit", (long long)m);
        std::vector<int32_t> order;
        for (int32_t j = 0; j < V; j++)
            if (j != skip_a && j != skip_b) order.push_back(j);
        std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return row[x] > row[y]; });
        assert_int_equal(a.n, k);
        for (int i = 0; i < k; i++)
            if (a.tok[i] != order[i]) fail_msg("row %lld: top-%d token %d, oracle %d", (long long)m, i, a.tok[i], order[i]);
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_attention),
        cmocka_unit_test(test_cross_attention),
        cmocka_unit_test(test_vocab_stats),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
