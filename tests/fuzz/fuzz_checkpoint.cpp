// tests/fuzz/fuzz_checkpoint.cpp: libFuzzer target over the supernet
// checkpoint and model file readers, through the public C API only
// (mos_supernet_load and mos_model_load on a temporary file).
//
// Every input is offered to both readers. Promises: a rejection is
// MOS_FORMAT or MOS_VERSION (MOS_OUT_OF_MEMORY where the file asks for more
// than can be allocated) with a non-empty message and a NULL handle. An
// accepted supernet routes its largest arch into a model; an accepted or
// routed model translates a few token ids greedily with a short length limit
// (hostile weights may give any ids in [0, vocab), but no crash).
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_files.hpp"
#include "mos/mos.h"

namespace {

void expect_rejection(mos_status s, const void *handle, const char *fn) {
    fuzz::expect(s == MOS_FORMAT || s == MOS_VERSION || s == MOS_OUT_OF_MEMORY, fn);
    fuzz::expect(handle == nullptr, "handle not NULL after a failure");
    fuzz::expect(std::strlen(mos_last_error()) > 0, "no error message");
}

void translate_a_little(const mos_model *m) {
    const uint32_t vocab = mos_model_vocab_size(m);
    fuzz::expect(vocab >= 4, "model vocabulary below 4");
    std::vector<int32_t> src;
    for (uint32_t i = 0; i < 3; ++i) src.push_back(static_cast<int32_t>(4 + i) % static_cast<int32_t>(vocab));
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    o.beam = 1;
    o.max_len_a = 0;
    o.max_len_b = 4;
    int32_t out[16];
    size_t len = 0;
    const mos_status s = mos_model_translate_ids(out, 16, &len, m, src.data(), src.size(), &o);
    fuzz::expect(s == MOS_OK, "mos_model_translate_ids failed on an accepted model");
    fuzz::expect(len <= 4, "output longer than the length limit");
    for (size_t i = 0; i < len; ++i) fuzz::expect(out[i] >= 0 && static_cast<uint32_t>(out[i]) < vocab, "id out of range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string path = fuzz::write_file("checkpoint.safetensors", data, size);

    mos_supernet *net = nullptr;
    mos_status s = mos_supernet_load(&net, path.c_str());
    if (s == MOS_OK) {
        fuzz::expect(net != nullptr && mos_supernet_num_params(net) > 0, "supernet without weights");
        mos_space *space = nullptr;
        mos_arch *arch = nullptr;
        mos_model *routed = nullptr;
        fuzz::expect(mos_supernet_space(&space, net) == MOS_OK, "mos_supernet_space");
        fuzz::expect(mos_arch_create_largest(&arch, space) == MOS_OK, "largest arch");
        fuzz::expect(mos_route(&routed, net, arch, nullptr) == MOS_OK, "mos_route failed on an accepted supernet");
        translate_a_little(routed);
        mos_model_destroy(routed);
        mos_arch_destroy(arch);
        mos_space_destroy(space);
        mos_supernet_destroy(net);
    } else {
        expect_rejection(s, net, "mos_supernet_load: unexpected status");
    }

    mos_model *model = nullptr;
    s = mos_model_load(&model, path.c_str());
    if (s == MOS_OK) {
        fuzz::expect(model != nullptr && mos_model_num_params(model) > 0, "model without weights");
        translate_a_little(model);
        mos_model_destroy(model);
    } else {
        expect_rejection(s, model, "mos_model_load: unexpected status");
    }
    return 0;
}
