// tests/fuzz/fuzz_latency_data.cpp: libFuzzer target over the latency-dataset
// reader, through the public C API only (mos_predictor_train on a temporary
// file), so that refactoring the library's insides does not break it.
//
// The input is the dataset (JSON lines: a mos-latency-data header, then one
// sample per line). It is cut after the header and four samples: training
// the predictor (2000 full-batch epochs of a 3 x 400 MLP, minutes under the
// sanitizers) needs five, so every input exercises the whole reader and then
// stops at MOS_INVALID_ARGUMENT "need at least 5 samples" instead of
// training. Promises: the call returns MOS_FORMAT, MOS_VERSION or
// MOS_INVALID_ARGUMENT with a non-empty message; no crash, sanitizer report
// or leak.
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_files.hpp"
#include "mos/mos.h"

namespace {

// The header line and at most four non-empty lines after it.
std::string cut_to_four_samples(const uint8_t *data, size_t size) {
    const std::string in(reinterpret_cast<const char *>(data), size);
    size_t pos = 0;
    int kept = 0;
    while (pos < in.size()) {
        size_t end = in.find('\n', pos);
        end = end == std::string::npos ? in.size() : end + 1;
        if (end - pos > 1 || in[pos] != '\n') {
            if (kept == 5) return in.substr(0, pos);
            ++kept;
        }
        pos = end;
    }
    return in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = cut_to_four_samples(data, size);
    const std::string path = fuzz::write_file("latency.jsonl", text.data(), text.size());
    const std::string out = fuzz::work_dir() + "/predictor.safetensors";
    mos_predictor_report report = MOS_PREDICTOR_REPORT_INIT;
    const mos_status s = mos_predictor_train(&report, path.c_str(), out.c_str(), nullptr);
    fuzz::expect(s == MOS_FORMAT || s == MOS_VERSION || s == MOS_INVALID_ARGUMENT,
                 "mos_predictor_train returned a status its header does not list (or trained on < 5 samples)");
    fuzz::expect(std::strlen(mos_last_error()) > 0, "no error message");
    return 0;
}
