// tests/common/toy_corpus.hpp: the tiny space and toy parallel corpus the
// trainer tests train on (tests/train, tests/dist): target = source words
// mapped through a fixed dictionary, written as train/valid splits of the
// languages xx and yy, and the training configuration they share.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "train/trainer.hpp"

namespace {

[[maybe_unused]] const char *kToySpace = R"({"format": "mos-space", "version": 1, "name": "test-tiny", "qkv_dim": 16,
  "encoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "heads": [2, 4]},
  "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "self_heads": [2, 4],
              "cross_heads": [2, 4], "cross_k": [1]}})";

// 300 training and 40 validation pairs of 2 .. max_len words, from a
// fixed seed (the same files every time).
[[maybe_unused]] void write_toy_corpus(const std::string &dir, int max_len) {
    const char *src_words[] = {"red", "blue", "green", "cat", "dog", "bird", "runs", "sleeps", "eats", "big", "small"};
    const char *tgt_words[] = {"rojo", "azul", "verde", "gato", "perro", "pajaro", "corre", "duerme", "come", "grande",
                               "chico"};
    const int n_words = 11;
    uint64_t h = 42;
    auto rnd = [&](int n) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<int>((h >> 33) % n);
    };
    for (const char *split : {"train", "valid"}) {
        const int lines = std::strcmp(split, "train") == 0 ? 300 : 40;
        std::ofstream s(dir + "/" + split + ".xx"), t(dir + "/" + split + ".yy");
        for (int i = 0; i < lines; i++) {
            const int len = 2 + rnd(max_len - 1);
            for (int j = 0; j < len; j++) {
                const int w = rnd(n_words);
                s << (j ? " " : "") << src_words[w];
                t << (j ? " " : "") << tgt_words[w];
            }
            s << "\n";
            t << "\n";
        }
    }
}

// A short run on the toy corpus in `dir`: vocabulary 40, 256-token batches,
// lr 3e-3 with 4 warm-up updates, no validation during the run.
[[maybe_unused]] mos::TrainConfig toy_train_config(const std::string &dir, const std::string &out, int64_t steps) {
    mos::TrainConfig c;
    c.data_dir = dir;
    c.src_lang = "xx";
    c.tgt_lang = "yy";
    c.out_path = out;
    c.vocab_size = 40;
    c.max_tokens = 256;
    c.max_len = 32;
    c.max_steps = steps;
    c.schedule.lr = 3e-3f;
    c.schedule.warmup = 4;
    c.valid_every = 1000;
    c.valid_sentences = 20;
    c.seed = 5;
    return c;
}

}  // namespace
