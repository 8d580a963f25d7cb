// lib/decode/translate.cpp: text -> ids -> engine search -> text (see translate.hpp).
#include "decode/translate.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "core/error.hpp"
#include "data/corpus.hpp"

namespace mos {

namespace {

std::vector<TextResult> translate_views(const ServeModel &model, const Tokenizer &tok,
                                        const std::vector<std::string_view> &src, const DecodeOptions &opt,
                                        const BatchOptions &batch, WorkspacePool *pool) {
    check_decode_options(opt);
    check_batch_options(batch);
    const size_t n = src.size();
    std::vector<std::vector<int32_t>> ids(n);
    for (size_t i = 0; i < n; i++) {
        size_t bad = 0;
        check(is_valid_utf8(src[i], &bad), MOS_INVALID_ARGUMENT, "src[", i, "] is not valid UTF-8 (byte ", bad, ")");
        ids[i] = tok.encode(src[i]);
    }
    std::vector<TextResult> out(n);
    const std::vector<SearchResult> res = translate_many(model, ids, opt, batch, pool);
    for (size_t i = 0; i < n; i++)
        for (const Hypothesis &h : res[i].hyps) out[i].hyps.push_back({tok.decode(h.tokens), h.score, h.logprob, h.tokens.size()});
    return out;
}

std::vector<std::string_view> views_of(const char *const *src, size_t n) {
    check(src != nullptr || n == 0, MOS_INVALID_ARGUMENT, "src is NULL but n is not 0");
    std::vector<std::string_view> views(n);
    for (size_t i = 0; i < n; i++) {
        check(src[i] != nullptr, MOS_INVALID_ARGUMENT, "src[", i, "] is NULL");
        views[i] = std::string_view(src[i], std::strlen(src[i]));
    }
    return views;
}

BatchOptions groups_of(size_t group, size_t n) {
    BatchOptions b;
    b.max_sentences = static_cast<int64_t>(std::clamp<size_t>(group > 0 ? group : n, 1, 4096));
    return b;
}

std::vector<std::string> best_texts(std::vector<TextResult> r) {
    std::vector<std::string> out;
    out.reserve(r.size());
    for (TextResult &t : r) out.push_back(t.hyps.empty() ? std::string() : std::move(t.hyps[0].text));
    return out;
}

}  // namespace

std::vector<TextResult> translate_texts_ex(const ServeModel &model, const Tokenizer &tok, const char *const *src,
                                           size_t n, const DecodeOptions &opt, const BatchOptions &batch,
                                           WorkspacePool *pool) {
    return translate_views(model, tok, views_of(src, n), opt, batch, pool);
}

std::vector<std::string> translate_texts(const ServeModel &model, const Tokenizer &tok, const char *const *src,
                                         size_t n, const DecodeOptions &opt, size_t group) {
    DecodeOptions one = opt;
    one.nbest = 1;
    return best_texts(translate_views(model, tok, views_of(src, n), one, groups_of(group, n), nullptr));
}

std::vector<std::string> translate_texts(const ServeModel &model, const Tokenizer &tok,
                                         const std::vector<std::string> &src, const DecodeOptions &opt,
                                         size_t group) {
    DecodeOptions one = opt;
    one.nbest = 1;
    return best_texts(translate_views(model, tok, std::vector<std::string_view>(src.begin(), src.end()), one,
                                      groups_of(group, src.size()), nullptr));
}

}  // namespace mos
