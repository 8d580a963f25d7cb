// lib/capi/bleu.cpp: the C entry points of mos/bleu.h over lib/eval/bleu.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "capi/buffer.hpp"
#include "capi/convert.hpp"
#include "capi/guard.hpp"
#include "eval/bleu.hpp"
#include "mos/bleu.h"

namespace {

void check_version(const mos_bleu_score *s, const char *name) {
    mos::check(s->version == MOS_BLEU_SCORE_VERSION, MOS_VERSION, name, "->version is ", s->version,
               "; this library knows ", MOS_BLEU_SCORE_VERSION);
}

}  // namespace

extern "C" {

MOS_API mos_status mos_bleu_score_init(mos_bleu_score *score) {
    return mos::capi::guard("mos_bleu_score_init", [&] {
        static const mos_bleu_score k = MOS_BLEU_SCORE_INIT;
        mos::capi::init_from(score, k, "score");
    });
}

MOS_API mos_status mos_bleu_corpus(mos_bleu_score *out, const char *const *hyps, const char *const *refs,
                                   size_t n) {
    return mos::capi::guard("mos_bleu_corpus", [&] {
        mos::capi::begin_result(out, MOS_BLEU_SCORE_VERSION, "out");
        if (n > 0) {
            MOS_REQUIRE_NONNULL(hyps);
            MOS_REQUIRE_NONNULL(refs);
        }
        const mos::BleuScore s = mos::corpus_bleu(hyps, refs, n);
        out->score = s.score;
        std::copy(std::begin(s.precisions), std::end(s.precisions), out->precisions);
        std::copy(std::begin(s.correct), std::end(s.correct), out->correct);
        std::copy(std::begin(s.total), std::end(s.total), out->total);
        out->bp = s.bp;
        out->ratio = s.ratio;
        out->hyp_len = s.hyp_len;
        out->ref_len = s.ref_len;
    });
}

MOS_API mos_status mos_bleu_format(char *buf, size_t cap, size_t *needed, const mos_bleu_score *score) {
    return mos::capi::guard("mos_bleu_format", [&] {
        MOS_REQUIRE_NONNULL(score);
        mos::capi::require(buf != nullptr || cap == 0, "buf is NULL but cap is not 0");
        check_version(score, "score");
        mos::BleuScore s;
        s.score = score->score;
        std::copy(std::begin(score->precisions), std::end(score->precisions), s.precisions.begin());
        s.bp = score->bp;
        s.ratio = score->ratio;
        s.hyp_len = score->hyp_len;
        s.ref_len = score->ref_len;
        mos::capi::copy_out(mos::format_bleu(s), buf, cap, needed);
    });
}

}  // extern "C"
