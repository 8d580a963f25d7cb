// lib/capi/model.cpp: the C API of routed models and translation (mos/model.h).
#include <cstddef>
#include <cstring>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "capi/convert.hpp"
#include "capi/model_handles.hpp"
#include "decode/translate.hpp"
#include "model/size.hpp"
#include "mos/model.h"

using mos::capi::guard;
using mos::capi::require;

namespace {

// The checked options as version 3 (NULL = defaults; a version 1 struct is
// read up to its end, docs/api-conventions.md); the caller runs under
// ThreadScope(o.threads).
mos_translate_options translate_options(const mos_translate_options *options) {
    const mos_translate_options o = mos::capi::versioned(
        options, mos_translate_options MOS_TRANSLATE_OPTIONS_INIT,
        {offsetof(mos_translate_options, max_batch_sentences), offsetof(mos_translate_options, draft_tokens),
         sizeof(mos_translate_options)},
        "options");
    mos::capi::check_threads(o.threads);
    return o;
}

mos::DecodeOptions decode_options(const mos_translate_options &o) {
    mos::check(o.beam <= 64, MOS_INVALID_ARGUMENT, "beam ", o.beam, " outside 1..64");
    mos::check(o.max_len_a <= 16, MOS_INVALID_ARGUMENT, "max_len_a ", o.max_len_a, " outside 0..16");
    mos::check(o.max_len_b <= 4096, MOS_INVALID_ARGUMENT, "max_len_b ", o.max_len_b, " outside 0..4096");
    mos::check(o.max_src_len <= 4096, MOS_INVALID_ARGUMENT, "max_src_len ", o.max_src_len, " outside 1..4096");
    // -1 (the default) leaves max_len_a in charge; anything else must be a
    // factor in [0, 16] (NaN fails both comparisons).
    const bool factor_set = !(o.max_len_factor == -1.0f);
    mos::check(!factor_set || (o.max_len_factor >= 0.0f && o.max_len_factor <= 16.0f), MOS_INVALID_ARGUMENT,
               "max_len_factor ", o.max_len_factor, " is neither -1 nor in [0, 16]");
    mos::check(o.nbest <= 64, MOS_INVALID_ARGUMENT, "nbest ", o.nbest, " outside 1..beam (", o.beam, ")");
    mos::DecodeOptions d;
    d.beam = static_cast<int>(o.beam);
    d.length_penalty = o.length_penalty;
    d.max_len_a = factor_set ? o.max_len_factor : static_cast<float>(o.max_len_a);
    d.max_len_b = static_cast<int>(o.max_len_b);
    d.max_src_len = static_cast<int>(o.max_src_len);
    d.nbest = static_cast<int>(o.nbest);
    mos::check(o.draft_tokens <= static_cast<uint32_t>(mos::kMaxDraftTokens), MOS_INVALID_ARGUMENT, "draft_tokens ",
               o.draft_tokens, " outside 0..", mos::kMaxDraftTokens);
    d.draft_tokens = static_cast<int>(o.draft_tokens);
    mos::check_decode_options(d);
    return d;
}

// The options of a call on `model`: with its draft when speculative decoding
// is asked for and can apply (greedy; the search decides per batch).
mos::DecodeOptions decode_options(const mos_translate_options &o, const mos_model *model) {
    mos::DecodeOptions d = decode_options(o);
    if (d.draft_tokens > 0 && d.beam == 1) d.draft = model->draft();
    return d;
}

mos::BatchOptions batch_options(const mos_translate_options &o) {
    mos::check(o.max_batch_sentences >= 1 && o.max_batch_sentences <= 4096, MOS_INVALID_ARGUMENT,
               "max_batch_sentences ", o.max_batch_sentences, " outside 1..4096");
    mos::check(o.max_batch_tokens <= (1u << 24), MOS_INVALID_ARGUMENT, "max_batch_tokens ", o.max_batch_tokens,
               " outside 0..", 1u << 24);
    mos::BatchOptions b;
    b.max_sentences = o.max_batch_sentences;
    b.max_tokens = o.max_batch_tokens;
    b.sort_by_length = mos::capi::to_flag(o.sort_by_length, "options->sort_by_length");
    b.threads = 0;  // the call's count, set by its ThreadScope
    return b;
}

// Checks everything a text translation needs and translates under the call's
// thread count.
std::vector<mos::TextResult> translate_checked(const mos_model *model, const char *const *src, size_t n,
                                               const mos_translate_options *options, bool best_only) {
    MOS_REQUIRE_NONNULL(model);
    require(src != nullptr || n == 0, "src is NULL but n is not 0");
    const mos_translate_options o = translate_options(options);
    mos::DecodeOptions d = decode_options(o, model);
    if (best_only) d.nbest = 1;
    const mos::BatchOptions b = batch_options(o);
    mos::check(model->tokenizer != nullptr, MOS_UNSUPPORTED,
               "the model carries no tokenizer; translate token ids with mos_model_translate_ids");
    const mos::ThreadScope threads(o.threads);
    return mos::translate_texts_ex(*model->bundle.model, *model->tokenizer, src, n, d, b, &model->workspaces);
}

// Hands the heap that loading passed through (the file image, stacked and
// widened copies) back to the system, so a loaded model's resident memory is
// what it holds (docs/serving.md, "Memory"). glibc keeps freed blocks below
// its adaptive mmap threshold (up to 32 MiB) in the heap, where they stay
// resident until trimmed.
void release_free_heap() {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

// Hypothesis k of sentence i, or MOS_OUT_OF_RANGE naming the bad index.
const mos::TextResult::Hyp &hyp_at(const mos_translations *t, size_t i, size_t k) {
    MOS_REQUIRE_NONNULL(t);
    mos::check(i < t->items.size(), MOS_OUT_OF_RANGE, "sentence index ", i, " of ", t->items.size(), " sentences");
    const auto &hyps = t->items[i].hyps;
    mos::check(k < hyps.size(), MOS_OUT_OF_RANGE, "hypothesis index ", k, " of ", hyps.size(), " of sentence ", i);
    return hyps[k];
}

}  // namespace

extern "C" {

MOS_API size_t mos_texts_count(const mos_texts *texts) {
    return mos::capi::get_value("mos_texts_count", size_t{0}, [&] {
        MOS_REQUIRE_NONNULL(texts);
        return texts->items.size();
    });
}

MOS_API const char *mos_texts_get(const mos_texts *texts, size_t i) {
    return mos::capi::get_value("mos_texts_get", static_cast<const char *>(nullptr), [&] {
        MOS_REQUIRE_NONNULL(texts);
        mos::check(i < texts->items.size(), MOS_OUT_OF_RANGE, "index ", i, " of ", texts->items.size(), " texts");
        return texts->items[i].c_str();
    });
}

MOS_API void mos_texts_destroy(mos_texts *texts) { delete texts; }

MOS_API mos_status mos_model_load(mos_model **out, const char *path) {
    if (out) *out = nullptr;
    return guard("mos_model_load", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(path);
        auto h = std::make_unique<mos_model>();
        h->bundle = mos::load_model(path);
        h->init_tokenizer();
        release_free_heap();
        *out = h.release();
    });
}

MOS_API mos_status mos_model_save(const mos_model *model, const char *path) {
    return guard("mos_model_save", [&] {
        MOS_REQUIRE_NONNULL(model);
        MOS_REQUIRE_NONNULL(path);
        model->with_full_bundle([&](const mos::ModelBundle &b) { mos::save_model(path, b); });
    });
}

MOS_API void mos_model_destroy(mos_model *model) { delete model; }

MOS_API mos_status mos_convert_options_init(mos_convert_options *options) {
    return guard("mos_convert_options_init", [&] {
        static const mos_convert_options k = MOS_CONVERT_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API mos_status mos_model_convert(mos_model **out, const mos_model *model, const mos_convert_options *options) {
    if (out) *out = nullptr;
    return guard("mos_model_convert", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(model);
        const mos_convert_options o = mos::capi::versioned(options, mos_convert_options MOS_CONVERT_OPTIONS_INIT,
                                                           MOS_CONVERT_OPTIONS_VERSION, "options");
        mos::PrecisionOptions p;
        p.precision = mos::capi::to_precision(o.dtype, "options->dtype");
        p.allow_emulation = mos::capi::to_flag(o.emulate, "options->emulate");
        auto h = std::make_unique<mos_model>();
        // The converted bundle carries no tokenizer bytes: it shares the parsed one.
        h->bundle = mos::convert_model(model->bundle, p);
        h->share_tokenizer(*model);
        *out = h.release();
    });
}

MOS_API mos_status mos_model_arch(mos_arch **out, const mos_model *model) {
    if (out) *out = nullptr;
    return guard("mos_model_arch", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(model);
        auto h = std::make_unique<mos_arch>();
        h->space = std::make_shared<const mos::Space>(model->bundle.space);
        h->arch = model->bundle.arch;
        *out = h.release();
    });
}

MOS_API uint64_t mos_model_num_params(const mos_model *model) {
    return mos::capi::get_value("mos_model_num_params", uint64_t{0}, [&] {
        MOS_REQUIRE_NONNULL(model);
        return static_cast<uint64_t>(model->bundle.model->num_weights());
    });
}

MOS_API uint32_t mos_model_vocab_size(const mos_model *model) {
    return mos::capi::get_value("mos_model_vocab_size", uint32_t{0}, [&] {
        MOS_REQUIRE_NONNULL(model);
        return static_cast<uint32_t>(model->bundle.model->vocab());
    });
}

MOS_API bool mos_model_has_tokenizer(const mos_model *model) {
    return mos::capi::get_value("mos_model_has_tokenizer", false, [&] {
        MOS_REQUIRE_NONNULL(model);
        return model->tokenizer != nullptr;
    });
}

MOS_API mos_status mos_model_get_meta(char *buf, size_t cap, size_t *needed, const mos_model *model,
                                      const char *key) {
    return guard("mos_model_get_meta", [&] {
        MOS_REQUIRE_NONNULL(model);
        MOS_REQUIRE_NONNULL(key);
        mos::capi::copy_out(mos::model_meta(model->bundle, key), buf, cap, needed);
    });
}

MOS_API mos_status mos_translate_options_init(mos_translate_options *options) {
    return guard("mos_translate_options_init", [&] {
        static const mos_translate_options k = MOS_TRANSLATE_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API mos_status mos_model_translate(mos_texts **out, const mos_model *model, const char *const *src, size_t n,
                                       const mos_translate_options *options) {
    if (out) *out = nullptr;
    return guard("mos_model_translate", [&] {
        MOS_REQUIRE_NONNULL(out);
        std::vector<mos::TextResult> res = translate_checked(model, src, n, options, true);
        auto h = std::make_unique<mos_texts>();
        h->items.reserve(res.size());
        for (mos::TextResult &r : res) h->items.push_back(r.hyps.empty() ? std::string() : std::move(r.hyps[0].text));
        *out = h.release();
    });
}

MOS_API mos_status mos_model_translate_batch(mos_translations **out, const mos_model *model, const char *const *src,
                                             size_t n, const mos_translate_options *options) {
    if (out) *out = nullptr;
    return guard("mos_model_translate_batch", [&] {
        MOS_REQUIRE_NONNULL(out);
        auto h = std::make_unique<mos_translations>();
        h->items = translate_checked(model, src, n, options, false);
        *out = h.release();
    });
}

MOS_API size_t mos_translations_count(const mos_translations *t) {
    return mos::capi::get_value("mos_translations_count", size_t{0}, [&] {
        MOS_REQUIRE_NONNULL(t);
        return t->items.size();
    });
}

MOS_API size_t mos_translations_nbest(const mos_translations *t, size_t i) {
    return mos::capi::get_value("mos_translations_nbest", size_t{0}, [&] {
        MOS_REQUIRE_NONNULL(t);
        mos::check(i < t->items.size(), MOS_OUT_OF_RANGE, "sentence index ", i, " of ", t->items.size(),
                   " sentences");
        return t->items[i].hyps.size();
    });
}

MOS_API const char *mos_translations_text(const mos_translations *t, size_t i, size_t k) {
    return mos::capi::get_value("mos_translations_text", static_cast<const char *>(nullptr),
                                [&] { return hyp_at(t, i, k).text.c_str(); });
}

MOS_API size_t mos_translations_num_tokens(const mos_translations *t, size_t i, size_t k) {
    return mos::capi::get_value("mos_translations_num_tokens", size_t{0}, [&] { return hyp_at(t, i, k).tokens; });
}

MOS_API mos_status mos_translations_score(float *score, float *logprob, const mos_translations *t, size_t i,
                                          size_t k) {
    return guard("mos_translations_score", [&] {
        const mos::TextResult::Hyp &h = hyp_at(t, i, k);
        if (score) *score = h.score;
        if (logprob) *logprob = h.logprob;
    });
}

MOS_API void mos_translations_destroy(mos_translations *t) { delete t; }

MOS_API mos_status mos_model_translate_ids(int32_t *out, size_t cap, size_t *len, const mos_model *model,
                                           const int32_t *src, size_t n, const mos_translate_options *options) {
    return guard("mos_model_translate_ids", [&] {
        require(out != nullptr || cap == 0, "out is NULL but cap is not 0");
        MOS_REQUIRE_NONNULL(len);
        MOS_REQUIRE_NONNULL(model);
        require(src != nullptr || n == 0, "src is NULL but n is not 0");
        const mos_translate_options o = translate_options(options);
        const mos::DecodeOptions d = decode_options(o, model);
        (void)batch_options(o);  // checked, though one sentence needs no batching
        const mos::ThreadScope threads(o.threads);
        std::vector<std::vector<int32_t>> ids(1, std::vector<int32_t>(src, src + n));
        const auto hyps = mos::translate_batch(*model->bundle.model, ids, d, &model->workspaces);
        *len = hyps[0].size();
        mos::check(cap >= hyps[0].size(), MOS_OUT_OF_RANGE, "output buffer of ", cap, " ids is too small; ",
                   hyps[0].size(), " needed");
        if (!hyps[0].empty()) std::memcpy(out, hyps[0].data(), hyps[0].size() * sizeof(int32_t));
    });
}

}  // extern "C"
