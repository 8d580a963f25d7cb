// lib/capi/model_handles.hpp: the C++ structs behind mos_supernet, mos_model,
// mos_texts and mos_translations (see handles.hpp for mos_space and mos_arch).
//
// A mos_supernet owns its bundle (weights, tokenizer, optimiser state); the
// trainer mutates it in place. A mos_model is immutable after creation, so its
// decode paths only read it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "capi/buffer.hpp"
#include "capi/guard.hpp"
#include "capi/handles.hpp"
#include "data/tokenizer.hpp"
#include "decode/translate.hpp"
#include "model/bundle.hpp"
#include "mos/model.h"
#include "mos/supernet.h"

struct mos_supernet {
    mos::SupernetBundle bundle;
};

struct mos_model {
    mos::ModelBundle bundle;
    std::shared_ptr<const mos::Tokenizer> tokenizer;  // parsed once; NULL if the model has none

    void init_tokenizer() {
        if (!bundle.tokenizer.empty())
            tokenizer = std::make_shared<const mos::Tokenizer>(mos::Tokenizer::load(bundle.tokenizer));
    }
};

struct mos_texts {
    std::vector<std::string> items;
};

struct mos_translations {
    std::vector<mos::TextResult> items;  // one per sentence, in input order
};
