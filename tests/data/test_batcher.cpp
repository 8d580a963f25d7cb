// tests/data/test_batcher.cpp: token-count batching (lib/data/batcher.hpp) on
// synthetic token data: each pair once per epoch, the token budget, padding and
// the tgt_in/tgt_out shift, seeded shuffles, exact resume; and tokenize_parallel.
#include <cstring>
#include <set>

#include "data/batcher.hpp"
#include "data/tokens.hpp"
#include "small_corpus.hpp"
#include "test_common.hpp"

namespace {

// n pairs with lengths 2..max_len (eos last); token values encode the pair index
// so rows can be checked against their source.
mos::TokenizedData synthetic(size_t n, size_t max_len) {
    mos::TokenizedData d;
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const size_t ls = 2 + (x >> 33) % (max_len - 1), lt = 2 + (x >> 13) % (max_len - 1);
        mos::TokenPair p;
        for (size_t k = 0; k + 1 < ls; k++) p.src.push_back(static_cast<int32_t>(4 + (i + k) % 1000));
        for (size_t k = 0; k + 1 < lt; k++) p.tgt.push_back(static_cast<int32_t>(4 + (2 * i + k) % 1000));
        p.src.push_back(mos::kEos);
        p.tgt.push_back(mos::kEos);
        d.pairs.push_back(std::move(p));
        d.line.push_back(i);
    }
    return d;
}

void check_batch(const mos::TokenizedData &d, const mos::TokenBatch &b, size_t max_tokens) {
    assert_true(b.B > 0);
    assert_true(b.B * b.S <= max_tokens);
    assert_true(b.B * b.T <= max_tokens);
    assert_int_equal(b.src.size(), b.B * b.S);
    assert_int_equal(b.tgt_in.size(), b.B * b.T);
    assert_int_equal(b.tgt_out.size(), b.B * b.T);
    size_t st = 0, tt = 0, maxs = 0, maxt = 0;
    for (size_t r = 0; r < b.B; r++) {
        const mos::TokenPair &p = d.pairs[b.pair[r]];
        maxs = std::max(maxs, p.src.size());
        maxt = std::max(maxt, p.tgt.size());
        for (size_t k = 0; k < b.S; k++)
            assert_int_equal(b.src[r * b.S + k], k < p.src.size() ? p.src[k] : mos::kPad);
        for (size_t k = 0; k < b.T; k++) {
            const int32_t out = k < p.tgt.size() ? p.tgt[k] : mos::kPad;
            const int32_t in = k == 0 ? mos::kEos : k < p.tgt.size() ? p.tgt[k - 1] : mos::kPad;
            assert_int_equal(b.tgt_out[r * b.T + k], out);
            assert_int_equal(b.tgt_in[r * b.T + k], in);
        }
        st += p.src.size();
        tt += p.tgt.size();
    }
    assert_int_equal(b.S, maxs);  // padded to the longest row, no further
    assert_int_equal(b.T, maxt);
    assert_int_equal(b.src_tokens, st);
    assert_int_equal(b.tgt_tokens, tt);
}

std::vector<size_t> epoch_order(mos::Batcher &bt, mos::TokenBatch &b) {
    std::vector<size_t> firsts;
    for (size_t i = 0; i < bt.num_batches(); i++) {
        bt.next(b);
        firsts.push_back(b.pair[0]);
    }
    return firsts;
}

void each_pair_once_and_budget(void **) {
    mos::TokenizedData d = synthetic(1000, 60);
    mos::BatcherOptions opt;
    opt.max_tokens = 300;
    mos::Batcher bt(d, opt);
    assert_true(bt.num_batches() > 1);
    mos::TokenBatch b;
    for (int epoch = 0; epoch < 2; epoch++) {
        std::vector<int> seen(d.pairs.size(), 0);
        for (size_t i = 0; i < bt.num_batches(); i++) {
            assert_int_equal(bt.position().epoch, epoch);
            assert_int_equal(bt.position().index, i);
            bt.next(b);
            check_batch(d, b, opt.max_tokens);
            assert_true(b.B <= bt.max_batch_sentences());
            assert_true(b.S <= bt.max_src_len() && b.T <= bt.max_tgt_len());
            for (size_t p : b.pair) seen[p]++;
        }
        for (int c : seen) assert_int_equal(c, 1);
    }
    assert_int_equal(bt.position().epoch, 2);
    // Greedy: adding the next pair in length order would break the budget, so
    // batches are full (checked on the unshuffled list).
    for (size_t i = 0; i + 1 < bt.num_batches(); i++) {
        mos::TokenBatch cur, nxt;
        bt.get(i, cur);
        bt.get(i + 1, nxt);
        const mos::TokenPair &p = d.pairs[nxt.pair[0]];
        const size_t n = cur.B + 1;
        assert_true(n * std::max(cur.S, p.src.size()) > opt.max_tokens ||
                    n * std::max(cur.T, p.tgt.size()) > opt.max_tokens);
    }
}

void sentence_cap(void **) {
    mos::TokenizedData d = synthetic(200, 5);
    mos::BatcherOptions opt;
    opt.max_tokens = 4096;
    opt.max_sentences = 16;
    mos::Batcher bt(d, opt);
    assert_int_equal(bt.max_batch_sentences(), 16);
    assert_int_equal(bt.num_batches(), (200 + 15) / 16);
}

void seeded_shuffle(void **) {
    mos::TokenizedData d = synthetic(800, 40);
    mos::BatcherOptions opt;
    opt.max_tokens = 200;
    mos::TokenBatch b;
    mos::Batcher a1(d, opt), a2(d, opt);
    std::vector<size_t> e0 = epoch_order(a1, b), e1 = epoch_order(a1, b);
    assert_true(e0 == epoch_order(a2, b));  // same seed: same order
    assert_true(e1 == epoch_order(a2, b));
    assert_false(e0 == e1);                 // a new order each epoch
    opt.seed = 2;
    mos::Batcher c(d, opt);
    assert_false(epoch_order(c, b) == e0);  // another seed: another order
    // The order is a permutation of the batches.
    std::set<size_t> ids;
    for (size_t i = 0; i < a1.num_batches(); i++) ids.insert(a1.order(5, i));
    assert_int_equal(ids.size(), a1.num_batches());
}

void resume(void **) {
    mos::TokenizedData d = synthetic(500, 30);
    mos::BatcherOptions opt;
    opt.max_tokens = 150;
    opt.seed = 7;
    mos::Batcher run(d, opt);
    mos::TokenBatch b;
    const size_t stop = run.num_batches() + 3;  // inside the second epoch
    for (size_t i = 0; i < stop; i++) run.next(b);
    const mos::BatchPosition pos = run.position();
    assert_int_equal(pos.epoch, 1);
    assert_int_equal(pos.index, 3);
    mos::Batcher resumed(d, opt);
    resumed.set_position(pos);
    mos::TokenBatch x, y;
    for (size_t i = 0; i < 2 * run.num_batches(); i++) {
        run.next(x);
        resumed.next(y);
        assert_true(x.pair == y.pair);
        assert_true(x.src == y.src && x.tgt_in == y.tgt_in && x.tgt_out == y.tgt_out);
    }
    mos::BatchPosition bad{0, run.num_batches()};
    expect_error([&] { resumed.set_position(bad); }, MOS_OUT_OF_RANGE, "batch position");
    expect_error([&] { resumed.get(run.num_batches(), x); }, MOS_OUT_OF_RANGE, "batch ");
}

void errors(void **) {
    mos::TokenizedData empty;
    expect_error([&] { mos::Batcher bt(empty, {}); }, MOS_INVALID_ARGUMENT, "no sentence pairs");
    mos::TokenizedData d = synthetic(10, 50);
    mos::BatcherOptions opt;
    opt.max_tokens = 0;
    expect_error([&] { mos::Batcher bt(d, opt); }, MOS_INVALID_ARGUMENT, "max_tokens is 0");
    opt.max_tokens = 10;
    expect_error([&] { mos::Batcher bt(d, opt); }, MOS_INVALID_ARGUMENT, "more than max_tokens 10");
}

void tokenize_filter(void **) {
    std::vector<std::string> en, es;
    small_corpus(en, es);
    mos::TokenizerOptions topt;
    topt.vocab_size = 80;
    mos::Tokenizer tok = mos::Tokenizer::train(en, es, topt);
    mos::ParallelText text;
    text.src = {"the dog eats.", "the old man finds the music the old man finds the music the old man"};
    text.tgt = {"el perro come.", "el anciano"};
    mos::TokenizedData d = mos::tokenize_parallel(tok, text, 12);
    assert_int_equal(d.pairs.size(), 1);
    assert_int_equal(d.skipped_long, 1);
    assert_int_equal(d.line[0], 0);
    std::vector<int32_t> want = tok.encode("the dog eats.");
    want.push_back(mos::kEos);
    assert_true(d.pairs[0].src == want);
    assert_string_equal(tok.decode(d.pairs[0].tgt).c_str(), "el perro come.");
    expect_error([&] { mos::tokenize_parallel(tok, text, 1); }, MOS_INVALID_ARGUMENT, "max_len 1");
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_pair_once_and_budget), cmocka_unit_test(sentence_cap),
        cmocka_unit_test(seeded_shuffle),            cmocka_unit_test(resume),
        cmocka_unit_test(errors),                    cmocka_unit_test(tokenize_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
