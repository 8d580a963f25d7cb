// bench/bench_logits.cpp: teacher-forced logits of a routed model file, for
// checking the peers of bench/ (bench/peers/torch_model.py) against libmos
// number for number. Not a timing benchmark.
//
//   mos-bench-logits --model MODEL --pairs PAIRS --out LOGITS [--threads N]
//
// PAIRS: one sentence pair per line, the source ids (EOS included) and the
// decoder input ids (starting with EOS), each space-separated, the two parts
// separated by a tab. The pairs are padded (pad id) into one batch [B, S] and
// [B, T] and decoded step by step through the key/value cache exactly as
// translation does (engine_teacher_forced_logits: the decoding engine at the model's precision). LOGITS receives the raw
// little-endian float32 array [B, T, V]; stdout one JSON line with B, S, T, V.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backend/threads.hpp"
#include "decode/engine.hpp"
#include "core/error.hpp"
#include "model/bundle.hpp"
#include "model/dense.hpp"

namespace {

int usage() {
    std::fprintf(stderr, "usage: mos-bench-logits --model MODEL --pairs PAIRS --out LOGITS [--threads N]\n");
    return 2;
}

std::vector<int32_t> parse_ids(const std::string &text, const std::string &where) {
    std::vector<int32_t> ids;
    std::istringstream in(text);
    std::string tok;
    while (in >> tok) {
        char *end = nullptr;
        const long v = std::strtol(tok.c_str(), &end, 10);
        mos::check(end && *end == '\0' && v >= 0 && v < (1L << 30), MOS_FORMAT, where, ": '", tok,
                   "' is not a token id");
        ids.push_back(static_cast<int32_t>(v));
    }
    mos::check(!ids.empty(), MOS_FORMAT, where, ": no token ids");
    return ids;
}

}  // namespace

int main(int argc, char **argv) {
    std::string model_path, pairs_path, out_path;
    int threads = 1;
    for (int i = 1; i < argc; i++) {
        const bool has_value = i + 1 < argc;
        if (!std::strcmp(argv[i], "--model") && has_value) model_path = argv[++i];
        else if (!std::strcmp(argv[i], "--pairs") && has_value) pairs_path = argv[++i];
        else if (!std::strcmp(argv[i], "--out") && has_value) out_path = argv[++i];
        else if (!std::strcmp(argv[i], "--threads") && has_value) threads = std::atoi(argv[++i]);
        else return usage();
    }
    if (model_path.empty() || pairs_path.empty() || out_path.empty() || threads < 1) return usage();
    try {
        mos::set_num_threads(threads);
        const mos::ModelBundle bundle = mos::load_model(model_path);
        std::ifstream in(pairs_path);
        mos::check(in.good(), MOS_IO, "cannot read ", pairs_path);
        std::vector<std::vector<int32_t>> srcs, tgts;
        std::string line;
        for (size_t n = 1; std::getline(in, line); n++) {
            const size_t tab = line.find('\t');
            const std::string where = pairs_path + ":" + std::to_string(n);
            mos::check(tab != std::string::npos, MOS_FORMAT, where, ": no tab between source and target ids");
            srcs.push_back(parse_ids(line.substr(0, tab), where));
            tgts.push_back(parse_ids(line.substr(tab + 1), where));
        }
        mos::check(!srcs.empty(), MOS_FORMAT, pairs_path, ": no sentence pairs");
        const int64_t B = static_cast<int64_t>(srcs.size());
        int64_t S = 0, T = 0;
        for (int64_t b = 0; b < B; b++) {
            S = std::max<int64_t>(S, static_cast<int64_t>(srcs[b].size()));
            T = std::max<int64_t>(T, static_cast<int64_t>(tgts[b].size()));
        }
        const int32_t pad = bundle.model->pad_id();
        std::vector<int32_t> src(static_cast<size_t>(B * S), pad), tgt(static_cast<size_t>(B * T), pad);
        for (int64_t b = 0; b < B; b++) {
            std::copy(srcs[b].begin(), srcs[b].end(), src.begin() + b * S);
            std::copy(tgts[b].begin(), tgts[b].end(), tgt.begin() + b * T);
        }
        mos::Batch batch;
        batch.B = B;
        batch.S = S;
        batch.T = T;
        batch.src = src.data();
        batch.tgt_in = tgt.data();
        batch.tgt_out = tgt.data();  // not read: logits only
        const std::vector<float> logits = mos::engine_teacher_forced_logits(*bundle.model, batch);
        std::FILE *f = std::fopen(out_path.c_str(), "wb");
        mos::check(f != nullptr, MOS_IO, "cannot write ", out_path);
        const size_t wrote = std::fwrite(logits.data(), sizeof(float), logits.size(), f);
        const bool closed = std::fclose(f) == 0;
        mos::check(wrote == logits.size() && closed, MOS_IO, "short write to ", out_path);
        std::printf("{\"B\": %lld, \"S\": %lld, \"T\": %lld, \"V\": %lld}\n", static_cast<long long>(B),
                    static_cast<long long>(S), static_cast<long long>(T),
                    static_cast<long long>(bundle.model->vocab()));
    } catch (const mos::Error &e) {
        std::fprintf(stderr, "mos-bench-logits: %s\n", e.what());
        return 1;
    }
    return 0;
}
