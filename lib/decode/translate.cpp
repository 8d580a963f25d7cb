// lib/decode/translate.cpp: text -> ids -> beam search -> text (see translate.hpp).
#include "decode/translate.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "core/error.hpp"
#include "data/corpus.hpp"

namespace mos {

namespace {

std::vector<std::string> translate_views(const DenseModel &model, const Tokenizer &tok,
                                         const std::vector<std::string_view> &src, const DecodeOptions &opt,
                                         size_t group) {
    check_decode_options(opt);
    const size_t n = src.size();
    std::vector<std::vector<int32_t>> ids(n);
    for (size_t i = 0; i < n; i++) {
        size_t bad = 0;
        check(is_valid_utf8(src[i], &bad), MOS_INVALID_ARGUMENT, "src[", i, "] is not valid UTF-8 (byte ", bad, ")");
        ids[i] = tok.encode(src[i]);
    }
    const size_t step = group > 0 ? group : std::max<size_t>(n, 1);
    std::vector<std::string> out;
    out.reserve(n);
    for (size_t i = 0; i < n; i += step) {
        const std::vector<std::vector<int32_t>> part(ids.begin() + static_cast<std::ptrdiff_t>(i),
                                                     ids.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + step)));
        for (const std::vector<int32_t> &hyp : translate_batch(model, part, opt)) out.push_back(tok.decode(hyp));
    }
    return out;
}

}  // namespace

std::vector<std::string> translate_texts(const DenseModel &model, const Tokenizer &tok, const char *const *src,
                                         size_t n, const DecodeOptions &opt, size_t group) {
    check(src != nullptr || n == 0, MOS_INVALID_ARGUMENT, "src is NULL but n is not 0");
    std::vector<std::string_view> views(n);
    for (size_t i = 0; i < n; i++) {
        check(src[i] != nullptr, MOS_INVALID_ARGUMENT, "src[", i, "] is NULL");
        views[i] = std::string_view(src[i], std::strlen(src[i]));
    }
    return translate_views(model, tok, views, opt, group);
}

std::vector<std::string> translate_texts(const DenseModel &model, const Tokenizer &tok,
                                         const std::vector<std::string> &src, const DecodeOptions &opt,
                                         size_t group) {
    return translate_views(model, tok, std::vector<std::string_view>(src.begin(), src.end()), opt, group);
}

}  // namespace mos
