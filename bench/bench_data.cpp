// bench/bench_data.cpp: times the data pipeline on a corpus directory (default: the
// built-in data/bible-en-es): reading, joint tokenizer training, tokenizing and
// batching. Usage: bench_data [corpus_dir] [vocab_size] [unigram|bpe] [max_sentences]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "data/batcher.hpp"

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char **argv) {
    const std::string dir = argc > 1 ? argv[1] : MOS_SOURCE_ROOT "/data/bible-en-es";
    mos::TokenizerOptions topt;
    if (argc > 2) topt.vocab_size = std::atoi(argv[2]);
    if (argc > 3) topt.model = std::strcmp(argv[3], "bpe") == 0 ? mos::TokenizerModel::bpe : mos::TokenizerModel::unigram;
    if (argc > 4) topt.max_sentences = std::strtoull(argv[4], nullptr, 10);
    try {
        auto t0 = std::chrono::steady_clock::now();
        mos::ParallelText train = mos::read_parallel(dir, "train", "en", "es");
        std::printf("read train: %zu pairs kept of %zu (%zu long, %zu empty) in %.3f s\n", train.src.size(),
                    train.lines_read, train.skipped_long, train.skipped_empty, seconds_since(t0));
        t0 = std::chrono::steady_clock::now();
        mos::Tokenizer tok = mos::Tokenizer::train(train.src, train.tgt, topt);
        std::printf("train %s tokenizer, vocab %d, max_sentences %zu: %.2f s, model %zu bytes\n",
                    topt.model == mos::TokenizerModel::bpe ? "bpe" : "unigram", tok.vocab_size(), topt.max_sentences,
                    seconds_since(t0), tok.serialize().size());
        t0 = std::chrono::steady_clock::now();
        mos::TokenizedData data = mos::tokenize_parallel(tok, train);
        size_t ns = 0, nt = 0;
        for (auto &p : data.pairs) ns += p.src.size(), nt += p.tgt.size();
        std::printf("tokenize: %zu pairs (%zu over 256 tokens) in %.2f s; %zu src / %zu tgt tokens with eos\n",
                    data.pairs.size(), data.skipped_long, seconds_since(t0), ns, nt);
        t0 = std::chrono::steady_clock::now();
        mos::Batcher bt(data, mos::BatcherOptions{});
        mos::TokenBatch b;
        size_t padded = 0;
        for (size_t i = 0; i < bt.num_batches(); i++) {
            bt.next(b);
            padded += b.B * b.S;
        }
        std::printf("batch (max_tokens 4096): %zu batches, max %zu sentences, src padding %.1f%%, one epoch %.3f s\n",
                    bt.num_batches(), bt.max_batch_sentences(), 100.0 * (padded - ns) / padded, seconds_since(t0));
    } catch (const mos::Error &e) {
        std::fprintf(stderr, "bench_data: %s\n", e.what());
        return 1;
    }
    return 0;
}
