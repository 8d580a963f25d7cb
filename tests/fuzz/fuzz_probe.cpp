// tests/fuzz/fuzz_probe.cpp: configure-time check that clang++ can build a
// libFuzzer target (-fsanitize=fuzzer needs clang's runtime libraries).
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return size > 0 && data[0] == 0;
}
