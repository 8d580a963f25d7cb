// tests/fuzz/fuzz_space_arch.cpp: libFuzzer target over the JSON readers of
// search spaces and archs (lib/model/space.hpp, lib/model/arch.hpp).
//
// The input is read as a space up to its first NUL byte and as an arch of that
// space after it; without a NUL, the whole input is tried as a space and as
// an arch of each built-in preset. A rejection must be mos::Error with
// MOS_FORMAT, MOS_VERSION or (for an arch value the space does not allow)
// MOS_OUT_OF_RANGE. Whatever is accepted must keep the library's promises:
// canonical JSON is a fixed point, largest/smallest/sampled/mutated/crossed
// archs are valid, encodings lie in (0, 1], and parameter and FLOP counts
// either succeed or report MOS_OUT_OF_RANGE.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "model/arch.hpp"
#include "model/size.hpp"
#include "model/space.hpp"

namespace {

void expect(bool ok) {
    if (!ok) std::abort();
}

void expect_rejection(const mos::Error &e, bool arch) {
    const mos_status s = e.status();
    expect(s == MOS_FORMAT || s == MOS_VERSION || (arch && s == MOS_OUT_OF_RANGE));
    expect(std::strlen(e.what()) > 0);
}

void check_arch(const mos::Space &s, const mos::Arch &a) {
    mos::validate(s, a);  // throws on a bug: not caught as a valid rejection below
    const std::string j = mos::arch_to_json(a);
    expect(mos::arch_from_json(s, j) == a);
    for (float f : mos::arch_encode(s, a)) expect(f > 0.0f && f <= 1.0f);
    const std::vector<float> fine = mos::arch_encode_fine(s, a);
    expect(fine.size() == mos::arch_fine_size(s));
    for (float f : fine) expect(f >= 0.0f && f <= 1.0f);
    expect(mos::arch_params(a, 32000).total() > 0);
    try {
        expect(mos::arch_flops(a, 32000, 30, 30).total() > 0);
        mos::arch_flops(a, 1u << 20, 1u << 16, 1u << 16);
    } catch (const mos::Error &e) {
        expect(e.status() == MOS_OUT_OF_RANGE);
    }
}

void check_space(const mos::Space &s, uint64_t seed) {
    const std::string j = mos::space_to_json(s);
    const mos::Space back = mos::space_from_json(j);
    expect(back == s && mos::space_to_json(back) == j);
    const mos::Arch big = mos::arch_largest(s), small = mos::arch_smallest(s);
    check_arch(s, big);
    check_arch(s, small);
    mos::Rng rng(seed);
    const mos::Arch sampled = mos::arch_sample(s, rng);
    check_arch(s, sampled);
    check_arch(s, mos::arch_mutate(s, sampled, 0.3, rng));
    check_arch(s, mos::arch_crossover(s, big, small, rng));
}

void try_arch(const mos::Space &s, const std::string &text) {
    mos::Arch a;
    try {
        a = mos::arch_from_json(s, text);
    } catch (const mos::Error &e) {
        expect_rejection(e, true);
        return;
    }
    check_arch(s, a);  // an error here escapes: libFuzzer reports it
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string input(reinterpret_cast<const char *>(data), size);
    const size_t nul = input.find('\0');
    const std::string space_text = input.substr(0, nul);
    uint64_t seed = 0;
    for (unsigned char c : input) seed = seed * 131 + c;

    try {
        const mos::Space s = mos::space_from_json(space_text);
        check_space(s, seed);
        if (nul != std::string::npos) try_arch(s, input.substr(nul + 1));
    } catch (const mos::Error &e) {
        expect_rejection(e, false);
    }
    if (nul == std::string::npos)
        for (const std::string &name : mos::space_preset_names()) try_arch(mos::space_preset(name), input);
    return 0;
}
