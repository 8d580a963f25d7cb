// lib/train/trainer.cpp: the training loop, validation and evaluation (see
// trainer.hpp). The loop allocates nothing per step once the workspace, the
// gradients and the Adam moments exist: batches are views of the pre-padded
// dataset, and train_step works inside the arenas.
#include "train/trainer.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "data/batcher.hpp"
#include "data/corpus.hpp"
#include "data/tokenizer.hpp"
#include "data/tokens.hpp"
#include "decode/translate.hpp"
#include "dist/comm.hpp"
#include "eval/bleu.hpp"
#include "eval/loss.hpp"

namespace mos {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string fmt(const char *f, double a, double b = 0, double c = 0, double d = 0) {
    char buf[256];
    std::snprintf(buf, sizeof buf, f, a, b, c, d);
    return buf;
}

// The exact position of a run, stored as the checkpoint's "train_state".
struct TrainState {
    int64_t step = 0;
    uint64_t rng = 0;        // subnet-sampling RNG state
    BatchPosition data;      // epoch and batch index of the next batch
    double elapsed = 0.0;    // seconds of training so far
    double best_valid = 0.0; // best validation loss of the largest subnet (0 = none yet)
};

std::string state_to_json(const TrainState &s, const TrainConfig &c) {
    nlohmann::ordered_json j;
    j["step"] = s.step;
    j["rng"] = std::to_string(s.rng);
    j["epoch"] = s.data.epoch;
    j["batch_index"] = s.data.index;
    j["elapsed"] = s.elapsed;
    j["best_valid"] = s.best_valid;
    j["seed"] = std::to_string(c.seed);
    j["sampling"] = sampling_name(c.sampling);
    j["distill"] = c.distill;
    j["schedule"] = schedule_name(c.schedule.kind);
    j["lr"] = c.schedule.lr;
    j["warmup"] = c.schedule.warmup;
    j["min_lr"] = c.schedule.min_lr;
    j["clip"] = c.adam.clip_norm;
    j["max_tokens"] = c.max_tokens;
    j["max_len"] = c.max_len;
    j["precision"] = resolve_train_precision(c.precision, nullptr) == GemmType::BF16 ? "bf16" : "f32";
    return j.dump();
}

uint64_t u64_field(const nlohmann::json &j, const char *key) {
    check(j.contains(key) && j[key].is_string(), MOS_FORMAT, "train_state.", key, " is missing");
    try {
        return std::stoull(j[key].get<std::string>());
    } catch (const std::logic_error &) {
        fail(MOS_FORMAT, "train_state.", key, " is not an unsigned integer");
    }
}

// A resumed run keeps the options that decide what the run computes (data
// order and batching, sampling, schedule, clipping) from its checkpoint, so it
// continues exactly whatever the caller passes; limits, paths and validation
// settings are the caller's.
void adopt_run_options(const std::string &text, TrainConfig &c) {
    const nlohmann::json j = parse_json(text, "train_state");
    try {
        c.seed = std::stoull(j.at("seed").get<std::string>());
        c.sampling = parse_sampling(j.at("sampling").get<std::string>());
        if (j.contains("distill")) c.distill = j.at("distill").get<bool>();
        c.schedule.kind = parse_schedule(j.at("schedule").get<std::string>());
        c.schedule.lr = j.at("lr").get<float>();
        c.schedule.warmup = j.at("warmup").get<int64_t>();
        if (j.contains("min_lr")) c.schedule.min_lr = j.at("min_lr").get<float>();
        if (j.contains("clip")) c.adam.clip_norm = j.at("clip").get<float>();
        c.max_tokens = j.at("max_tokens").get<int64_t>();
        c.max_len = j.at("max_len").get<int64_t>();
        if (j.contains("precision")) {  // older checkpoints: f32
            const std::string p = j.at("precision").get<std::string>();
            check(p == "f32" || p == "bf16", MOS_FORMAT, "train_state.precision '", p, "' is not f32 or bf16");
            c.precision = p == "bf16" ? TrainPrecision::BF16 : TrainPrecision::F32;
        } else {
            c.precision = TrainPrecision::F32;
        }
    } catch (const nlohmann::json::exception &e) {
        fail(MOS_FORMAT, "train_state: ", e.what());
    } catch (const std::logic_error &) {
        fail(MOS_FORMAT, "train_state.seed is not an unsigned integer");
    }
}

TrainState state_from_json(const std::string &text) {
    const nlohmann::json j = parse_json(text, "train_state");
    check(j.is_object(), MOS_FORMAT, "train_state is not an object");
    TrainState s;
    auto num = [&](const char *k) {
        check(j.contains(k) && j[k].is_number(), MOS_FORMAT, "train_state.", k, " is missing or not a number");
        return j[k];
    };
    s.step = num("step").get<int64_t>();
    check(num("epoch").get<int64_t>() >= 0 && num("batch_index").get<int64_t>() >= 0, MOS_FORMAT,
          "train_state has a negative data position");
    s.data.epoch = num("epoch").get<uint64_t>();
    s.data.index = num("batch_index").get<uint64_t>();
    s.elapsed = num("elapsed").get<double>();
    s.best_valid = num("best_valid").get<double>();
    s.rng = u64_field(j, "rng");
    check(s.step >= 0, MOS_FORMAT, "train_state has a negative step");
    return s;
}

// This rank's shard of an update's batch: rows rank, rank + size, ... (the
// batch is sorted by length, so every shard gets a like mix of lengths), cut
// to the shard's own longest source and target. The batch is formed over the
// whole corpus first, so the update is the one a single process makes.
Batch shard_batch(const TokenBatch &tb, const TokenizedData &data, int rank, int size, TokenBatch &out) {
    size_t B = 0, S = 0, T = 0;
    for (size_t r = static_cast<size_t>(rank); r < tb.B; r += static_cast<size_t>(size)) {
        const TokenPair &p = data.pairs[tb.pair[r]];
        B++;
        S = std::max(S, p.src.size());
        T = std::max(T, p.tgt.size());
    }
    out.B = B;
    out.S = S;
    out.T = T;
    out.src.resize(B * S);
    out.tgt_in.resize(B * T);
    out.tgt_out.resize(B * T);
    out.pair.resize(B);
    size_t row = 0;
    for (size_t r = static_cast<size_t>(rank); r < tb.B; r += static_cast<size_t>(size), row++) {
        // Rows are right-padded with pad = 0, so a prefix of a row is the row.
        std::copy_n(tb.src.begin() + static_cast<std::ptrdiff_t>(r * tb.S), S, out.src.begin() + static_cast<std::ptrdiff_t>(row * S));
        std::copy_n(tb.tgt_in.begin() + static_cast<std::ptrdiff_t>(r * tb.T), T,
                    out.tgt_in.begin() + static_cast<std::ptrdiff_t>(row * T));
        std::copy_n(tb.tgt_out.begin() + static_cast<std::ptrdiff_t>(r * tb.T), T,
                    out.tgt_out.begin() + static_cast<std::ptrdiff_t>(row * T));
        out.pair[row] = tb.pair[r];
    }
    return batch_view(out);
}

bool train_on(SupernetBundle &b, const TrainConfig &cfg_in, const TrainCallback &cb, dist::Comm &comm);

// How an update uses its threads (docs/training.md, "Threads: products or
// shards"): MOS_TRAIN_SPLIT=products (the default: every product split over the
// threads) or shards (every thread trains its own shard of the batch's
// sentences, train_step_teams). Anything else is an error naming the value.
bool split_by_shards() {
    const char *v = std::getenv("MOS_TRAIN_SPLIT");
    if (v == nullptr || *v == '\0' || std::string(v) == "products") return false;
    check(std::string(v) == "shards", MOS_INVALID_ARGUMENT, "MOS_TRAIN_SPLIT '", v, "'; allowed products|shards");
    return true;
}

}  // namespace

SupernetBundle make_trainable(const Space &space, SupernetConfig net, const TrainConfig &cfg,
                              const TrainCallback &cb) {
    check_train_config(cfg);
    const auto t0 = Clock::now();
    const ParallelText text = read_parallel(cfg.data_dir, "train", cfg.src_lang, cfg.tgt_lang);
    TokenizerOptions to;
    to.vocab_size = static_cast<int32_t>(cfg.vocab_size);
    to.seed = static_cast<uint32_t>(cfg.seed);
    const Tokenizer tok = Tokenizer::train(text.src, text.tgt, to);
    net.vocab = tok.vocab_size();
    net.pad_id = kPad;
    SupernetBundle b = make_supernet(space, net);
    b.tokenizer = tok.serialize();
    if (cb) {
        TrainProgress p;
        p.event = TrainEvent::Setup;
        p.message = "tokenizer: " + std::to_string(tok.vocab_size()) + " pieces from " +
                    std::to_string(text.src.size()) + " sentence pairs in " + fmt("%.1f s", seconds_since(t0));
        cb(p);
    }
    return b;
}

GemmType resolve_train_precision(TrainPrecision p, std::string *why) {
    // Native bf16 products: what a BF16 GEMM of the default backend really runs in.
    const bool native = bf16_active(default_backend());
    GemmType t = GemmType::F32;
    std::string w;
    switch (p) {
    case TrainPrecision::F32: w = "precision f32"; break;
    case TrainPrecision::BF16:
        t = GemmType::BF16;
        w = native ? "precision bf16 (bf16 products, f32 accumulation and weights)"
                   : "precision bf16 requested, products run in f32 (no native bf16 products here)";
        break;
    case TrainPrecision::Auto:
        t = native ? GemmType::BF16 : GemmType::F32;
        w = native ? "precision auto: bf16 (native bf16 products)" : "precision auto: f32 (no native bf16 products)";
        break;
    default: fail(MOS_INVALID_ARGUMENT, "unknown precision ", static_cast<int>(p));
    }
    if (why) *why = w;
    return t;
}

void check_train_config(const TrainConfig &cfg) {
    check(cfg.precision == TrainPrecision::F32 || cfg.precision == TrainPrecision::BF16 || cfg.precision == TrainPrecision::Auto,
          MOS_INVALID_ARGUMENT, "unknown precision ", static_cast<int>(cfg.precision));
    check(!cfg.data_dir.empty() && !cfg.src_lang.empty() && !cfg.tgt_lang.empty(), MOS_INVALID_ARGUMENT,
          "data directory and both languages are required");
    check(!cfg.out_path.empty(), MOS_INVALID_ARGUMENT, "an output checkpoint path is required");
    check(cfg.vocab_size >= 16 && cfg.vocab_size <= 1000000, MOS_INVALID_ARGUMENT, "vocab_size ", cfg.vocab_size,
          " outside 16..1000000");
    check(cfg.max_tokens >= 16 && cfg.max_tokens <= (1 << 20), MOS_INVALID_ARGUMENT, "max_tokens ", cfg.max_tokens,
          " outside 16..1048576");
    check(cfg.max_len >= 2 && cfg.max_len <= cfg.max_tokens && cfg.max_len <= 1024, MOS_INVALID_ARGUMENT,
          "max_len ", cfg.max_len, " outside 2..min(max_tokens, 1024)");
    check(cfg.valid_every >= 1, MOS_INVALID_ARGUMENT, "valid_every must be >= 1");
    check(cfg.valid_sentences >= 0, MOS_INVALID_ARGUMENT, "valid_sentences ", cfg.valid_sentences, " is negative");
    check(cfg.max_steps >= 0 && cfg.max_seconds >= 0, MOS_INVALID_ARGUMENT, "negative step or time limit");
    check(cfg.sampling == Sampling::Uniform || cfg.sampling == Sampling::Sandwich, MOS_INVALID_ARGUMENT,
          "unknown sampling ", static_cast<int>(cfg.sampling));
    check_schedule(cfg.schedule);
    check(cfg.adam.clip_norm >= 0.0f, MOS_INVALID_ARGUMENT, "clip_norm ", cfg.adam.clip_norm, " is negative");
    check(!cfg.distill || cfg.sampling == Sampling::Sandwich, MOS_INVALID_ARGUMENT,
          "in-place distillation needs sandwich sampling (the largest subnet is the teacher)");
}

TrainRun run_training(const TrainConfig &cfg, const Space *fresh_space, const SupernetConfig *fresh_cfg,
                      const std::string &resume_path, const TrainCallback &cb) {
    check_train_config(cfg);
    dist::Comm comm = dist::Comm::attach(cfg.mpi_comm);
    TrainRun run;
    // With ranks, rank 0 reads the checkpoint or makes the new supernet (its
    // tokenizer trained once) and train_on hands it to the others.
    if (!resume_path.empty()) {
        check(fresh_space == nullptr && fresh_cfg == nullptr, MOS_INVALID_ARGUMENT,
              "resuming from '", resume_path, "': the checkpoint holds the space and the supernet options, "
              "so none may be given");
        comm.on_root([&] {
            run.bundle = load_supernet(resume_path);
            check(run.bundle.meta.count("train_state") == 1, MOS_FORMAT, "'", resume_path,
                  "' has no training state to resume from");
        }, "reading the checkpoint to resume from");
    } else {
        check(fresh_space != nullptr, MOS_INVALID_ARGUMENT, "a new supernet needs a search space");
        const SupernetConfig net = fresh_cfg ? *fresh_cfg : SupernetConfig{};
        TrainConfig tcfg = cfg;
        // A vocabulary asked of the supernet is the tokenizer's size.
        if (net.vocab != 0) tcfg.vocab_size = net.vocab;
        check_train_config(tcfg);
        comm.on_root([&] { run.bundle = make_trainable(*fresh_space, net, tcfg, cb); },
                     "making the supernet (reading the corpus, training the tokenizer)");
    }
    run.stopped = !train_on(run.bundle, cfg, cb, comm);
    return run;
}

bool train(SupernetBundle &b, const TrainConfig &cfg, const TrainCallback &cb) {
    dist::Comm comm = dist::Comm::attach(cfg.mpi_comm);
    return train_on(b, cfg, cb, comm);
}

namespace {

bool train_on(SupernetBundle &b, const TrainConfig &cfg_in, const TrainCallback &cb_in, dist::Comm &comm) {
    // Every rank starts from rank 0's supernet, Adam moments and training
    // state (bit for bit: F32 tensors), and only rank 0 reports.
    if (comm.distributed()) {
        std::vector<uint8_t> bytes;
        comm.on_root([&] { bytes = supernet_to_bytes(b); }, "serializing the supernet");
        comm.broadcast(bytes);
        if (!comm.root()) b = supernet_from_bytes(bytes.data(), bytes.size(), "the supernet of rank 0");
    }
    const TrainCallback cb = comm.root() ? cb_in : TrainCallback();
    TrainConfig cfg = cfg_in;
    const auto saved = b.meta.find("train_state");
    if (saved != b.meta.end()) adopt_run_options(saved->second, cfg);
    check(b.net != nullptr, MOS_INVALID_ARGUMENT, "no supernet to train");
    check(!b.tokenizer.empty(), MOS_INVALID_ARGUMENT, "the supernet has no tokenizer; train one first");
    // Again after a resume took over the checkpoint's options.
    check_train_config(cfg);
    // The corpus languages travel with every checkpoint and the models routed from it.
    b.meta[kSrcLangKey] = cfg.src_lang;
    b.meta[kTgtLangKey] = cfg.tgt_lang;
    const auto setup0 = Clock::now();
    const Tokenizer tok = Tokenizer::load(b.tokenizer);
    check(tok.vocab_size() == b.net->config().vocab, MOS_FORMAT, "tokenizer has ", tok.vocab_size(),
          " pieces but the supernet's vocabulary is ", b.net->config().vocab);

    TrainState st;
    st.rng = cfg.seed * kSplitMixGamma + 1;
    if (saved != b.meta.end()) st = state_from_json(saved->second);

    // Every rank reads the corpus itself; one that cannot stops them all, and
    // every rank reports which rank and which file.
    TokenizedData train_pairs, valid_pairs;
    {
        std::exception_ptr error;
        try {
            train_pairs = read_tokenized_split(tok, cfg.data_dir, "train", cfg.src_lang, cfg.tgt_lang, 0, cfg.max_len);
            valid_pairs = read_tokenized_split(tok, cfg.data_dir, "valid", cfg.src_lang, cfg.tgt_lang,
                                               cfg.valid_sentences, cfg.max_len);
            check(!train_pairs.pairs.empty(), MOS_FORMAT, "no training pair of at most ", cfg.max_len,
                  " tokens in ", cfg.data_dir);
        } catch (...) {
            error = std::current_exception();
        }
        comm.agree(error, "reading the corpus");
    }
    BatcherOptions bo;
    bo.max_tokens = static_cast<size_t>(cfg.max_tokens);
    bo.seed = cfg.seed;
    Batcher batcher(train_pairs, bo);
    const std::vector<TokenBatch> valid = fixed_batches(valid_pairs, cfg.max_tokens);
    batcher.set_position(st.data);
    TokenBatch tb, shard;  // the update's batch, and this rank's rows of it
    // The teacher's distribution for in-place distillation, allocated once.
    std::vector<float> teacher(cfg.distill ? static_cast<size_t>(cfg.max_tokens * b.net->config().vocab) : 0);

    Workspace ws(*b.net, cfg.max_tokens, cfg.max_tokens, cfg.max_len);
    std::string precision_why;
    const GemmType mm = resolve_train_precision(cfg.precision, &precision_why);
    ws.set_matmul_type(mm);
    // Shards: one team per thread, each with a workspace for its share of a batch:
    // rows r, r + P, ... of a batch of B rows padded to at most max_tokens, so at most
    // max_tokens / P + max_len tokens on either side.
    const int teams_n = split_by_shards() ? std::max(1, omp_get_max_threads()) : 1;
    std::vector<std::unique_ptr<Workspace>> team_ws;
    std::vector<TrainTeam> teams(static_cast<size_t>(teams_n));
    std::vector<TokenBatch> team_tb(static_cast<size_t>(teams_n));
    if (teams_n > 1) {
        const int64_t cap = cfg.max_tokens / teams_n + cfg.max_len;
        for (int r = 0; r < teams_n; r++) {
            team_ws.push_back(std::make_unique<Workspace>(*b.net, cap, cap, cfg.max_len));
            team_ws.back()->set_matmul_type(mm);
            teams[r].ws = team_ws.back().get();
        }
    }
    Rng rng(0);
    rng = Rng(st.rng);
    const std::string best_path = cfg.out_path + ".best";

    if (cb) {
        TrainProgress p;
        p.event = TrainEvent::Setup;
        p.step = st.step;
        p.max_steps = cfg.max_steps;
        p.message = std::to_string(train_pairs.pairs.size()) + " training pairs in " +
                    std::to_string(batcher.num_batches()) + " batches of <= " + std::to_string(cfg.max_tokens) +
                    " tokens, " + std::to_string(valid_pairs.pairs.size()) + " validation pairs; " +
                    std::to_string(b.net->param_floats()) + " supernet weights; setup " +
                    fmt("%.1f s", seconds_since(setup0)) + "; " + precision_why +
                    (teams_n > 1 ? "; each of " + std::to_string(teams_n) + " threads trains its own shard of a batch"
                                 : std::string()) +
                    (st.step > 0 ? "; resuming at step " + std::to_string(st.step) : std::string());
        if (comm.distributed())
            p.message += "; " + std::to_string(comm.size()) + " ranks, each computing its share of every batch";
        cb(p);
    }

    const ArchDims largest_dims = arch_dims(b.space, arch_largest(b.space));
    const ArchDims smallest_dims = arch_dims(b.space, arch_smallest(b.space));
    int64_t last_saved = st.step;
    auto checkpoint = [&](bool validate, double elapsed) -> TrainProgress {
        TrainProgress p;
        p.step = st.step;
        p.max_steps = cfg.max_steps;
        p.elapsed = elapsed;
        if (validate && !valid.empty()) {
            // Validation in f32 whatever the training precision: the weights are f32.
            ws.set_matmul_type(GemmType::F32);
            p.valid_largest = mean_loss(*b.net, ws, largest_dims, valid).loss;
            p.valid_smallest = mean_loss(*b.net, ws, smallest_dims, valid).loss;
            ws.set_matmul_type(mm);
        }
        const double updates = static_cast<double>(std::max<int64_t>(1, st.step - last_saved));
        const double sum_ms = 1e3 * comm.sum_seconds() / updates, wait_ms = 1e3 * comm.wait_seconds() / updates;
        comm.reset_seconds();
        st.elapsed = elapsed;
        st.data = batcher.position();
        st.rng = rng.state();
        const bool best = validate && (st.best_valid == 0.0 || p.valid_largest < st.best_valid);
        if (best) st.best_valid = p.valid_largest;
        b.meta["train_state"] = state_to_json(st, cfg);
        save_supernet(cfg.out_path, b);
        if (best) save_supernet(best_path, b);
        p.event = validate ? TrainEvent::Valid : TrainEvent::Checkpoint;
        p.message = validate ? fmt("valid loss: largest %.4f, smallest %.4f", p.valid_largest, p.valid_smallest) +
                                   (best ? " (best)" : "") + "; saved " + cfg.out_path
                             : "saved " + cfg.out_path;
        if (comm.distributed())
            p.message += fmt("; all-reduce %.2f ms per update on rank 0 (%.0f ranks), and %.2f ms waiting for the "
                             "slowest rank", sum_ms, comm.size(), wait_ms);
        return p;
    };

    const auto t0 = Clock::now();
    const double elapsed0 = st.elapsed;
    std::deque<std::pair<double, int64_t>> recent;  // (time, tokens) of the last updates
    int64_t recent_tokens = 0;
    while (true) {
        if (cfg.max_steps > 0 && st.step >= cfg.max_steps) break;
        if (cfg.max_seconds > 0) {
            // Rank 0's clock decides, so that every rank stops at the same update.
            int64_t time_up = elapsed0 + seconds_since(t0) >= cfg.max_seconds;
            comm.broadcast(time_up);
            if (time_up) break;
        }
        batcher.next(tb);
        const Batch batch =
            comm.distributed() ? shard_batch(tb, train_pairs, comm.rank(), comm.size(), shard) : batch_view(tb);
        const std::vector<Arch> archs = sample_update_archs(b.space, cfg.sampling, rng);
        const int64_t step = st.step + 1;
        const float lr = schedule_lr(cfg.schedule, step);
        const auto s0 = Clock::now();
        const uint64_t drop_seed = cfg.seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(step);
        StepStats ss;
        if (teams_n > 1) {
            const TokenBatch &mine = comm.distributed() ? shard : tb;  // this rank's rows
            for (int r = 0; r < teams_n; r++) teams[r].batch = shard_batch(mine, train_pairs, r, teams_n, team_tb[r]);
            ss = train_step_teams(b, teams, archs, step, lr, cfg.adam, drop_seed, cfg.distill ? teacher.data() : nullptr,
                                  &comm);
        } else {
            ss = train_step(b, ws, archs, batch, step, lr, cfg.adam, drop_seed, cfg.distill ? teacher.data() : nullptr,
                            &comm);
        }
        st.step = step;
        check(std::isfinite(ss.loss_sum), MOS_INTERNAL, "loss is not finite at step ", step,
              " (learning rate ", lr, " too high?)");
        recent.emplace_back(seconds_since(s0), ss.tokens);
        recent_tokens += ss.tokens;
        double recent_time = 0;
        for (const auto &r : recent) recent_time += r.first;
        while (recent.size() > 20) {
            recent_tokens -= recent.front().second;
            recent.pop_front();
        }
        recent_time = 0;
        for (const auto &r : recent) recent_time += r.first;
        TrainProgress p;
        p.event = TrainEvent::Step;
        p.step = step;
        p.max_steps = cfg.max_steps;
        p.loss = ss.loss_sum / std::max<int64_t>(1, ss.tokens);
        p.nll = ss.nll_sum / std::max<int64_t>(1, ss.tokens);
        p.lr = lr;
        p.tokens_per_second = recent_time > 0 ? recent_tokens / recent_time : 0;
        p.elapsed = elapsed0 + seconds_since(t0);
        const double per_step = recent_time / std::max<size_t>(1, recent.size());
        double eta = -1;
        if (cfg.max_steps > 0) eta = per_step * static_cast<double>(cfg.max_steps - step);
        if (cfg.max_seconds > 0) {
            const double left = std::max(0.0, cfg.max_seconds - p.elapsed);
            eta = eta < 0 ? left : std::min(eta, left);
        }
        p.eta = eta;
        // Rank 0's callback decides for every rank; only rank 0 writes.
        int64_t go_on = !cb || cb(p);
        comm.broadcast(go_on);
        if (!go_on) {
            comm.on_root([&] {
                const TrainProgress c = checkpoint(false, elapsed0 + seconds_since(t0));
                if (cb) cb(c);
            }, "writing the checkpoint");
            return false;
        }
        if (step % cfg.valid_every == 0) {
            int64_t more = 1;
            comm.on_root([&] {
                const TrainProgress v = checkpoint(true, elapsed0 + seconds_since(t0));
                more = !cb || cb(v);
            }, "validating and writing the checkpoint");
            last_saved = step;
            comm.broadcast(more);
            if (!more) return false;
        }
    }
    if (last_saved != st.step || st.step == 0) {
        comm.on_root([&] {
            const TrainProgress v = checkpoint(true, elapsed0 + seconds_since(t0));
            if (cb) cb(v);
        }, "validating and writing the checkpoint");
    }
    return true;
}

}  // namespace

namespace {

// The pairs of a split (at most max_sentences, each side at most kEvalMaxLen
// tokens) in fixed batches, with the raw text for BLEU.
struct EvalData {
    ParallelText raw;
    TokenizedData pairs;
    std::vector<TokenBatch> batches;
};

EvalData read_eval_data(const Tokenizer &tok, const std::string &data_dir, const std::string &split,
                        const std::string &src_lang, const std::string &tgt_lang, int64_t max_sentences) {
    EvalData d;
    d.pairs = read_tokenized_split(tok, data_dir, split, src_lang, tgt_lang, max_sentences, kEvalMaxLen, &d.raw);
    d.batches = fixed_batches(d.pairs, kEvalBatchTokens);
    return d;
}

// Corpus BLEU of the model's beam-search translations of the split's sources.
double eval_bleu(const ServeModel &model, const Tokenizer &tok, const ParallelText &raw, int bleu_beam) {
    DecodeOptions o;
    o.beam = bleu_beam;
    const std::vector<std::string> hyps = translate_texts(model, tok, raw.src, o, kEvalTranslateGroup);
    return corpus_bleu(hyps, raw.tgt).score;
}

}  // namespace

EvalResult evaluate_split(const SupernetBundle &b, const Arch &arch, const std::string &data_dir,
                          const std::string &split, const std::string &src_lang, const std::string &tgt_lang,
                          int64_t max_sentences, int bleu_beam) {
    check(b.net != nullptr, MOS_INVALID_ARGUMENT, "no supernet");
    check(!b.tokenizer.empty(), MOS_UNSUPPORTED, "the supernet has no tokenizer");
    const Tokenizer tok = Tokenizer::load(b.tokenizer);
    const EvalData d = read_eval_data(tok, data_dir, split, src_lang, tgt_lang, max_sentences);
    EvalResult r;
    r.sentences = static_cast<int64_t>(d.pairs.pairs.size());
    Workspace ws(*b.net, kEvalBatchTokens, kEvalBatchTokens, kEvalMaxLen);
    const ArchDims dims = arch_dims(b.space, arch);
    const MeanLoss ml = mean_loss(*b.net, ws, dims, d.batches);
    r.loss = ml.loss;
    r.nll = ml.nll;
    r.tokens = ml.tokens;
    if (bleu_beam > 0) r.bleu = eval_bleu(ServeModel::from_dense(route(*b.net, dims)), tok, d.raw, bleu_beam);
    return r;
}

EvalResult evaluate_model_split(const ModelBundle &m, const Tokenizer &tok, const std::string &data_dir,
                                const std::string &split, const std::string &src_lang, const std::string &tgt_lang,
                                int64_t max_sentences, int bleu_beam) {
    check(m.model != nullptr, MOS_INVALID_ARGUMENT, "no model");
    const EvalData d = read_eval_data(tok, data_dir, split, src_lang, tgt_lang, max_sentences);
    EvalResult r;
    r.sentences = static_cast<int64_t>(d.pairs.pairs.size());
    // The loss of the f32 model (a bf16 or int8 model's weights widened exactly).
    const MeanLoss ml = mean_loss(m.model->to_dense(), m.label_smoothing, d.batches);
    r.loss = ml.loss;
    r.nll = ml.nll;
    r.tokens = ml.tokens;
    if (bleu_beam > 0) r.bleu = eval_bleu(*m.model, tok, d.raw, bleu_beam);
    return r;
}

}  // namespace mos
