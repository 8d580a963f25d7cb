// tests/data/test_tokenizer.cpp: the joint SentencePiece tokenizer trained on a
// small generated corpus: special ids, encode/decode round trip, decode stopping
// rules, serialize/load round trip, determinism and error paths.
#include <cstring>

#include "data/tokenizer.hpp"
#include "data/tokens.hpp"
#include "small_corpus.hpp"
#include "test_common.hpp"

namespace {

mos::Tokenizer train_small(mos::TokenizerModel model, int vocab) {
    std::vector<std::string> en, es;
    small_corpus(en, es);
    mos::TokenizerOptions opt;
    opt.model = model;
    opt.vocab_size = vocab;
    return mos::Tokenizer::train(en, es, opt);
}

void special_ids(void **) {
    mos::Tokenizer t = train_small(mos::TokenizerModel::unigram, 90);
    assert_int_equal(t.vocab_size(), 90);
    assert_string_equal(t.piece(mos::kPad).c_str(), "<pad>");
    assert_string_equal(t.piece(mos::kUnk).c_str(), "<unk>");
    assert_string_equal(t.piece(mos::kBos).c_str(), "<s>");
    assert_string_equal(t.piece(mos::kEos).c_str(), "</s>");
    expect_error([&] { t.piece(90); }, MOS_OUT_OF_RANGE, "token id 90");
}

void round_trip(mos::TokenizerModel model) {
    mos::Tokenizer t = train_small(model, 90);
    for (const char *s : {"the cat eats the bread.", "un niño desea la música.", "my friend finds water."}) {
        std::vector<int32_t> ids = t.encode(s);
        assert_true(ids.size() > 0);
        for (int32_t id : ids) {
            assert_true(id >= 4);  // no specials from encode, no unk for in-vocabulary text
            assert_true(id < t.vocab_size());
        }
        assert_string_equal(t.decode(ids).c_str(), s);
    }
    assert_int_equal(t.encode("").size(), 0);
}

void round_trip_unigram(void **) { round_trip(mos::TokenizerModel::unigram); }
void round_trip_bpe(void **) { round_trip(mos::TokenizerModel::bpe); }

void decode_conventions(void **) {
    mos::Tokenizer t = train_small(mos::TokenizerModel::unigram, 90);
    std::vector<int32_t> ids = t.encode("the dog sees a book.");
    std::vector<int32_t> framed = {mos::kBos};
    framed.insert(framed.end(), ids.begin(), ids.end());
    framed.push_back(mos::kEos);
    framed.insert(framed.end(), ids.begin(), ids.end());  // after eos: ignored
    framed.push_back(mos::kPad);
    assert_string_equal(t.decode(framed).c_str(), "the dog sees a book.");
    std::vector<int32_t> padded = ids;
    padded.insert(padded.end(), 3, mos::kPad);
    assert_string_equal(t.decode(padded).c_str(), "the dog sees a book.");
    // A character never seen in training is unknown.
    std::vector<int32_t> z = t.encode("ЖЖ");
    bool has_unk = false;
    for (int32_t id : z) has_unk |= id == mos::kUnk;
    assert_true(has_unk);
    expect_error([&] { t.decode(std::vector<int32_t>{5, -1}); }, MOS_OUT_OF_RANGE, "id -1 at position 1");
    expect_error([&] { t.decode(nullptr, 2); }, MOS_INVALID_ARGUMENT, "NULL");
    expect_error([&] { t.encode("bad \xff"); }, MOS_INVALID_ARGUMENT, "not valid UTF-8");
}

void serialize_round_trip(void **) {
    mos::Tokenizer t = train_small(mos::TokenizerModel::unigram, 90);
    const std::string bytes = t.serialize();
    assert_true(bytes.size() > 100);
    mos::Tokenizer u = mos::Tokenizer::load(bytes);
    assert_int_equal(u.vocab_size(), t.vocab_size());
    for (const char *s : {"the teacher likes the river.", "el anciano ve el río.", "zebra"})
        assert_true(t.encode(s) == u.encode(s));
    assert_true(u.serialize() == bytes);
    // Training is deterministic: the same corpus and options give the same bytes.
    mos::Tokenizer again = train_small(mos::TokenizerModel::unigram, 90);
    assert_true(again.serialize() == bytes);
}

void load_errors(void **) {
    expect_error([] { mos::Tokenizer::load(""); }, MOS_FORMAT, "empty");
    expect_error([] { mos::Tokenizer::load(std::string("\x0a\x05hello junk", 11)); }, MOS_FORMAT, "cannot be loaded");
}

void train_errors(void **) {
    std::vector<std::string> en, es;
    small_corpus(en, es);
    mos::TokenizerOptions opt;
    opt.vocab_size = 4;
    expect_error([&] { mos::Tokenizer::train(en, es, opt); }, MOS_INVALID_ARGUMENT, "vocab_size 4");
    opt.vocab_size = 100000;  // more pieces than the corpus can give
    expect_error([&] { mos::Tokenizer::train(en, es, opt); }, MOS_INVALID_ARGUMENT, "SentencePiece training failed");
    opt = {};
    expect_error([&] { mos::Tokenizer::train({}, {}, opt); }, MOS_INVALID_ARGUMENT, "no sentences");
    std::vector<std::string> bad = {"ok", "b\xc3"};
    expect_error([&] { mos::Tokenizer::train(en, bad, opt); }, MOS_INVALID_ARGUMENT, "target sentence 1");
}

void sentence_cap(void **) {
    // A cap below the corpus size still trains (strided subset) and is deterministic.
    std::vector<std::string> en, es;
    small_corpus(en, es);
    mos::TokenizerOptions opt;
    opt.vocab_size = 60;
    opt.max_sentences = 200;
    mos::Tokenizer a = mos::Tokenizer::train(en, es, opt);
    mos::Tokenizer b = mos::Tokenizer::train(en, es, opt);
    assert_true(a.serialize() == b.serialize());
    assert_int_equal(a.vocab_size(), 60);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(special_ids),        cmocka_unit_test(round_trip_unigram),
        cmocka_unit_test(round_trip_bpe),     cmocka_unit_test(decode_conventions),
        cmocka_unit_test(serialize_round_trip), cmocka_unit_test(load_errors),
        cmocka_unit_test(train_errors),       cmocka_unit_test(sentence_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
