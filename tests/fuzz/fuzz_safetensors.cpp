// tests/fuzz/fuzz_safetensors.cpp: libFuzzer target over the safetensors reader
// (lib/io/safetensors.hpp, SafeTensors::parse).
//
// The input is a whole file image. The reader must either accept it or throw
// mos::Error with MOS_FORMAT and a message; any other exception, a crash or an
// out-of-bounds read (AddressSanitizer) is a bug. An accepted file must also
// satisfy the reader's promises: every tensor's bytes lie inside the copy and
// match its dtype and shape, lookups by name find it, and writing the tensors
// and metadata back with SafeTensorsWriter gives a file that parses to the
// same content, with a checksum that verifies. BF16 tensors are read widened
// to F32 (exactly) and written back as BF16.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "io/safetensors.hpp"

namespace {

// Stops the run so the fuzzer keeps the input (abort is the libFuzzer crash signal).
void expect(bool ok) {
    if (!ok) std::abort();
}

void expect_format_error(const mos::Error &e, mos_status also_allowed = MOS_FORMAT) {
    expect(e.status() == MOS_FORMAT || e.status() == also_allowed);
    expect(std::strlen(e.what()) > 0);
}

void check_accepted(const mos::SafeTensors &st, size_t size) {
    uint64_t total = 0;
    for (const mos::TensorInfo &t : st.tensors()) {
        expect(!t.name.empty() && t.begin <= t.end);
        expect(t.nbytes() == t.numel() * mos::dtype_size(t.dtype));
        expect(t.end - t.begin == t.numel() * mos::dtype_size(t.stored));
        expect(st.find(t.name) == &t);
        expect(&st.require(t.name, t.dtype, t.shape) == &t);
        // Read every byte: AddressSanitizer reports a view beyond the copy.
        const uint8_t *b = st.bytes(t);
        uint8_t x = 0;
        for (uint64_t i = 0; i < t.nbytes(); ++i) x ^= b[i];
        volatile uint8_t sink = x;
        (void)sink;
        total += t.nbytes();
    }
    expect(total <= size);

    // The format check reads arbitrary metadata strings.
    try {
        st.check_format("mos-supernet", 1);
    } catch (const mos::Error &e) {
        expect_format_error(e, MOS_VERSION);
    }

    // Round trip through the writer, each tensor stored as it was in the file
    // (BF16 narrowed again), with a checksum that must verify.
    mos::SafeTensorsWriter w;
    for (const mos::TensorInfo &t : st.tensors())
        w.add(t.name, t.dtype, t.shape, st.bytes(t), t.nbytes(), t.stored);
    for (const auto &m : st.metadata()) w.set_metadata(m.first, m.second);
    const std::vector<uint8_t> bytes = w.to_bytes();
    const mos::SafeTensors back = mos::SafeTensors::parse(bytes.data(), bytes.size(), "round trip");
    expect(back.checksum_verified());
    expect(back.metadata() == st.metadata());
    expect(back.tensors().size() == st.tensors().size());
    for (const mos::TensorInfo &t : st.tensors()) {
        const mos::TensorInfo *u = back.find(t.name);
        expect(u != nullptr && u->dtype == t.dtype && u->stored == t.stored && u->shape == t.shape &&
               u->nbytes() == t.nbytes());
        if (t.stored == mos::DType::BF16) {
            // Widened values narrow back exactly, except that a signalling NaN
            // comes back quiet.
            for (uint64_t i = 0; i < t.nbytes() / 4; ++i) {
                uint32_t a, b;
                std::memcpy(&a, st.bytes(t) + 4 * i, 4);
                std::memcpy(&b, back.bytes(*u) + 4 * i, 4);
                const bool nan = (a & 0x7FFFFFFFu) > 0x7F800000u;
                expect(nan ? (b & 0x7FFFFFFFu) > 0x7F800000u && (a >> 31) == (b >> 31) : a == b);
                expect((a & 0xFFFFu) == 0);  // widened from 16 bits
            }
        } else {
            expect(t.nbytes() == 0 || std::memcmp(back.bytes(*u), st.bytes(t), t.nbytes()) == 0);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    try {
        const mos::SafeTensors st = mos::SafeTensors::parse(data, size, "fuzz input");
        check_accepted(st, size);
    } catch (const mos::Error &e) {
        expect_format_error(e);
    }
    return 0;
}
