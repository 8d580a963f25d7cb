// tests/reliability/test_tokenizer_long.cpp: encoding very long inputs
// (lib/data/tokenizer.cpp). SentencePiece merges a run of unknown characters
// in quadratic time; libmos encodes long inputs in chunks, so 1 MB of CJK or
// emoji costs about what 1 MB of ASCII does. Chunks cut at spaces leave the
// ids exactly as one call would give them.
#include <chrono>

#include "data/tokenizer.hpp"
#include "rel_common.hpp"

namespace {

mos::Tokenizer train_tiny() {
    const char *en[] = {"the", "cat", "dog", "eats", "sees", "bread", "water", "a", "big", "small", "house"};
    const char *es[] = {"el", "gato", "perro", "come", "ve", "pan", "agua", "un", "grande", "chico", "casa"};
    std::vector<std::string> src, tgt;
    uint64_t h = 7;
    for (int i = 0; i < 400; ++i) {
        std::string a, b;
        for (int k = 0; k < 3 + i % 4; ++k) {
            h = h * 6364136223846793005ull + 1442695040888963407ull;
            const size_t w = (h >> 33) % 11;
            a += (k ? " " : "") + std::string(en[w]);
            b += (k ? " " : "") + std::string(es[w]);
        }
        src.push_back(a + ".");
        tgt.push_back(b + ".");
    }
    mos::TokenizerOptions o;
    o.vocab_size = 40;
    return mos::Tokenizer::train(src, tgt, o);
}

// 1 MB of CJK ideographs (3 bytes each, none in the model: one unknown run).
std::string cjk(size_t bytes) {
    std::string s;
    for (size_t i = 0; s.size() + 3 <= bytes; ++i) {
        const unsigned cp = 0x4E00 + static_cast<unsigned>((i * 7919) % 20000);
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 63));
        s += static_cast<char>(0x80 | (cp & 63));
    }
    return s;
}

std::string emoji(size_t bytes) {
    std::string s;
    for (size_t i = 0; s.size() + 4 <= bytes; ++i) {
        const unsigned cp = 0x1F600 + static_cast<unsigned>(i % 80);
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 63));
        s += static_cast<char>(0x80 | ((cp >> 6) & 63));
        s += static_cast<char>(0x80 | (cp & 63));
    }
    return s;
}

double seconds_to_encode(const mos::Tokenizer &t, const std::string &s, size_t *n_ids) {
    double best = 1e9;
    for (int rep = 0; rep < 2; ++rep) {  // the faster of two: the machine may be busy
        const auto t0 = std::chrono::steady_clock::now();
        *n_ids = t.encode(s).size();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

void long_unknown_runs_are_linear(void **) {
    const mos::Tokenizer t = train_tiny();
    std::string ascii;
    while (ascii.size() < (1u << 20)) ascii += "the big cat eats bread ";
    size_t n_ascii = 0, n_cjk = 0, n_emoji = 0;
    const double ta = seconds_to_encode(t, ascii, &n_ascii);
    const double tc = seconds_to_encode(t, cjk(1 << 20), &n_cjk);
    const double te = seconds_to_encode(t, emoji(1 << 20), &n_emoji);
    fprintf(stderr, "# 1 MB: ascii %.3f s (%zu ids), cjk %.3f s (%zu ids), emoji %.3f s (%zu ids)\n", ta, n_ascii,
            tc, n_cjk, te, n_emoji);
    // Before chunking 1 MB of CJK took over ten times the ASCII time.
    assert_true(tc <= 3 * ta + 0.1);
    assert_true(te <= 3 * ta + 0.1);
    // One <unk> per chunk of at most 4096 bytes, and the dropped dummy prefixes.
    assert_true(n_cjk >= 256 && n_cjk <= 260);
}

void cuts_at_spaces_are_exact(void **) {
    const mos::Tokenizer t = train_tiny();
    const std::string sentence = "the big dog sees a small house.";
    const std::vector<int32_t> one = t.encode(sentence);
    std::string text;
    std::vector<int32_t> want;
    for (int i = 0; i < 1000; ++i) {  // about 31 KB: several chunks
        text += (i ? "  " : "") + sentence;
        want.insert(want.end(), one.begin(), one.end());
    }
    assert_true(text.size() > 8 * 4096);
    assert_true(t.encode(text) == want);
    assert_string_equal(t.decode(t.encode(text)).c_str(), t.decode(want).c_str());
    // Known words around a long unknown run keep their ids.
    const std::string mixed = "the cat " + cjk(10000) + " eats bread.";
    const std::vector<int32_t> ids = t.encode(mixed);
    const std::vector<int32_t> head = t.encode("the cat"), tail = t.encode("eats bread.");
    assert_true(std::equal(head.begin(), head.end(), ids.begin()));
    assert_true(std::equal(tail.rbegin(), tail.rend(), ids.rbegin()));
    // Invalid UTF-8 is still refused, whatever the length.
    std::string bad = cjk(9000);
    bad[6000] = static_cast<char>(0xFF);
    expect_error([&] { t.encode(bad); }, MOS_INVALID_ARGUMENT, {"not valid UTF-8 (byte 6000)"});
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_unknown_runs_are_linear),
        cmocka_unit_test(cuts_at_spaces_are_exact),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
