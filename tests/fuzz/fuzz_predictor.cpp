// tests/fuzz/fuzz_predictor.cpp: libFuzzer target over the latency-predictor
// file reader, through the public C API only (mos_predictor_load on a
// temporary file).
//
// The input is the file. Promises: a rejection is MOS_FORMAT or MOS_VERSION
// with a non-empty message and a NULL handle; an accepted predictor predicts
// the latency of its space's largest and smallest archs without error
// (hostile weights may give any number, NaN included, but no crash). The
// space is read from the file's "space" metadata by the harness itself.
#include <cstdint>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_files.hpp"
#include "mos/mos.h"

namespace {

// The "space" metadata string of a safetensors image, or "".
std::string space_metadata(const uint8_t *data, size_t size) {
    if (size < 8) return "";
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | data[i];
    if (n > size - 8) return "";
    const nlohmann::json h = nlohmann::json::parse(data + 8, data + 8 + n, nullptr, false);
    if (!h.is_object() || !h.contains("__metadata__")) return "";
    const nlohmann::json &m = h["__metadata__"];
    if (!m.is_object() || !m.contains("space") || !m["space"].is_string()) return "";
    return m["space"].get<std::string>();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string path = fuzz::write_file("predictor.safetensors", data, size);
    mos_predictor *p = reinterpret_cast<mos_predictor *>(1);
    mos_predictor_report report = MOS_PREDICTOR_REPORT_INIT;
    const mos_status s = mos_predictor_load(&p, &report, path.c_str());
    if (s != MOS_OK) {
        fuzz::expect(s == MOS_FORMAT || s == MOS_VERSION, "mos_predictor_load: unexpected status");
        fuzz::expect(p == nullptr, "mos_predictor_load: handle not NULL after a failure");
        fuzz::expect(std::strlen(mos_last_error()) > 0, "no error message");
        return 0;
    }
    fuzz::expect(p != nullptr, "mos_predictor_load: OK without a handle");
    const std::string space_json = space_metadata(data, size);
    mos_space *space = nullptr;
    fuzz::expect(mos_space_create_json(&space, space_json.data(), space_json.size()) == MOS_OK,
                 "an accepted predictor's space does not parse");
    mos_arch *big = nullptr, *small = nullptr;
    fuzz::expect(mos_arch_create_largest(&big, space) == MOS_OK && mos_arch_create_smallest(&small, space) == MOS_OK,
                 "largest/smallest arch");
    double ms = 0;
    fuzz::expect(mos_predictor_predict(&ms, p, big) == MOS_OK && mos_predictor_predict(&ms, p, small) == MOS_OK,
                 "mos_predictor_predict failed on an accepted predictor");
    mos_arch_destroy(big);
    mos_arch_destroy(small);
    mos_space_destroy(space);
    mos_predictor_destroy(p);
    return 0;
}
