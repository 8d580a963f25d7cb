// lib/capi/model_handles.hpp: the C++ structs behind mos_supernet, mos_model,
// mos_texts and mos_translations (see handles.hpp for mos_space and mos_arch).
//
// A mos_supernet owns its bundle (weights, tokenizer, optimiser state); the
// trainer mutates it in place. A mos_model is immutable after creation, so its
// decode paths only read it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "capi/buffer.hpp"
#include "capi/guard.hpp"
#include "capi/handles.hpp"
#include "data/tokenizer.hpp"
#include "decode/speculative.hpp"
#include "decode/translate.hpp"
#include "model/bundle.hpp"
#include "mos/model.h"
#include "mos/supernet.h"

struct mos_supernet {
    mos::SupernetBundle bundle;
};

// The tokenizer is held once, parsed: after init_tokenizer() the bundle's
// serialized copy is dropped (0.36 MB for the built-in tokenizer, about 1% of
// an f32 model's resident memory and 4% of an int8 model's, docs/serving.md),
// and saving writes SentencePiece's re-serialized ModelProto, the same bytes.
struct mos_model {
    mos::ModelBundle bundle;                          // bundle.tokenizer is empty once parsed
    std::shared_ptr<const mos::Tokenizer> tokenizer;  // parsed once; NULL if the model has none
    // Decoding workspaces reused by this model's translate calls, from any
    // thread (decode/search.hpp); freed with the model.
    mutable mos::WorkspacePool workspaces;

    // Speculative decoding's int8 draft (decode/speculative.hpp), made on the
    // first call that asks for it and kept; NULL where the model would not
    // speculate (not f32, no int8 kernels here). Thread-safe.
    const mos::ServeModel *draft() const {
        std::call_once(draft_once_, [this] { draft_ = mos::make_draft(*bundle.model); });
        return draft_.get();
    }

    // Parses bundle.tokenizer (if any), then frees the bytes.
    void init_tokenizer() {
        if (!bundle.tokenizer.empty())
            tokenizer = std::make_shared<const mos::Tokenizer>(mos::Tokenizer::load(bundle.tokenizer));
        std::string().swap(bundle.tokenizer);
    }
    // Shares another model's parsed tokenizer (a converted copy translates
    // with the same one).
    void share_tokenizer(const mos_model &from) {
        tokenizer = from.tokenizer;
        std::string().swap(bundle.tokenizer);
    }
    // Calls f(const ModelBundle &) with a bundle that carries the serialized
    // tokenizer, as save_model reads it; the ServeModel is
    // the model's own (borrowed for the call, never copied).
    template <class F>
    void with_full_bundle(F &&f) const;

private:
    mutable std::once_flag draft_once_;
    mutable std::unique_ptr<const mos::ServeModel> draft_;
};

template <class F>
void mos_model::with_full_bundle(F &&f) const {
    // A borrowed view: the unique_ptr is released before it can delete the
    // model's ServeModel, also when f throws.
    struct Borrowed {
        mos::ModelBundle b;
        ~Borrowed() { (void)b.model.release(); }
    } v;
    v.b.space = bundle.space;
    v.b.arch = bundle.arch;
    v.b.src_lang = bundle.src_lang;
    v.b.tgt_lang = bundle.tgt_lang;
    v.b.label_smoothing = bundle.label_smoothing;
    if (tokenizer) v.b.tokenizer = tokenizer->serialize();
    v.b.model.reset(const_cast<mos::ServeModel *>(bundle.model.get()));
    f(static_cast<const mos::ModelBundle &>(v.b));
}

struct mos_texts {
    std::vector<std::string> items;
};

struct mos_translations {
    std::vector<mos::TextResult> items;  // one per sentence, in input order
};
