// lib/capi/bleu.cpp: the C entry points of mos/bleu.h over lib/eval/bleu.
#include <cstring>

#include "capi/guard.hpp"
#include "eval/bleu.hpp"
#include "mos/bleu.h"

namespace {

void check_version(const mos_bleu_score *s, const char *name) {
    mos::check(s->version == MOS_BLEU_SCORE_VERSION, MOS_VERSION, name, "->version is ", s->version,
               "; this library knows ", MOS_BLEU_SCORE_VERSION);
}

void clear_result(mos_bleu_score *s) {
    const uint32_t v = s->version;
    std::memset(s, 0, sizeof *s);
    s->version = v;
}

}  // namespace

extern "C" {

MOS_API mos_status mos_bleu_score_init(mos_bleu_score *score) {
    return mos::capi::guard("mos_bleu_score_init", [&] {
        MOS_REQUIRE_NONNULL(score);
        std::memset(score, 0, sizeof *score);
        score->version = MOS_BLEU_SCORE_VERSION;
    });
}

MOS_API mos_status mos_bleu_corpus(mos_bleu_score *out, const char *const *hyps, const char *const *refs,
                                   size_t n) {
    return mos::capi::guard("mos_bleu_corpus", [&] {
        MOS_REQUIRE_NONNULL(out);
        check_version(out, "out");
        clear_result(out);
        if (n > 0) {
            MOS_REQUIRE_NONNULL(hyps);
            MOS_REQUIRE_NONNULL(refs);
        }
        const mos::BleuScore s = mos::corpus_bleu(hyps, refs, n);
        out->score = s.score;
        for (int k = 0; k < 4; k++) {
            out->precisions[k] = s.precisions[k];
            out->correct[k] = s.correct[k];
            out->total[k] = s.total[k];
        }
        out->bp = s.bp;
        out->ratio = s.ratio;
        out->hyp_len = s.hyp_len;
        out->ref_len = s.ref_len;
    });
}

MOS_API mos_status mos_bleu_format(const mos_bleu_score *score, char *buf, size_t cap, size_t *needed) {
    return mos::capi::guard("mos_bleu_format", [&] {
        MOS_REQUIRE_NONNULL(score);
        mos::capi::require(buf != nullptr || cap == 0, "buf is NULL but cap is not 0");
        check_version(score, "score");
        mos::BleuScore s;
        s.score = score->score;
        for (int k = 0; k < 4; k++) s.precisions[k] = score->precisions[k];
        s.bp = score->bp;
        s.ratio = score->ratio;
        s.hyp_len = score->hyp_len;
        s.ref_len = score->ref_len;
        const std::string line = mos::format_bleu(s);
        const size_t need = line.size() + 1;
        if (needed) *needed = need;
        if (buf == nullptr) return;  // size query
        if (cap < need) {
            if (cap > 0) buf[0] = '\0';
            mos::fail(MOS_OUT_OF_RANGE, "cap is ", cap, "; the score line needs ", need, " bytes");
        }
        std::memcpy(buf, line.c_str(), need);
    });
}

}  // extern "C"
