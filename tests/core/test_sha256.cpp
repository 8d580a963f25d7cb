// tests/core/test_sha256.cpp: SHA-256 (lib/core/sha256) against the FIPS 180-4
// example digests, the same digest whatever the chunking of the input, and the
// file variant with its error for a missing file.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sha256.hpp"

// cmocka last: it defines a fail() macro.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}

namespace {

void test_fips_vectors(void **) {
    assert_string_equal(mos::sha256_hex("", 0).c_str(),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(mos::sha256_hex("abc", 3).c_str(),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_string_equal(mos::sha256_hex(two_blocks.data(), two_blocks.size()).c_str(),
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const std::string million(1000000, 'a');
    assert_string_equal(mos::sha256_hex(million.data(), million.size()).c_str(),
                        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the 56- and 64-byte padding edges, fed whole and in odd chunks.
void test_chunking(void **) {
    std::vector<uint8_t> data(300);
    for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 31 + 7);
    for (size_t n : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 300}) {
        const std::string whole = mos::sha256_hex(data.data(), n);
        for (size_t step : {1, 3, 13, 64, 100}) {
            mos::Sha256 h;
            for (size_t i = 0; i < n; i += step) h.update(data.data() + i, std::min(step, n - i));
            assert_string_equal(mos::hex_digest(h.finish()).c_str(), whole.c_str());
        }
    }
}

void test_file(void **) {
    char path[] = "/tmp/mos_sha256_XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    std::FILE *f = fdopen(fd, "wb");
    const std::string text(3 * (1 << 20) + 17, 'x');  // more than one read chunk
    assert_int_equal(std::fwrite(text.data(), 1, text.size(), f), text.size());
    std::fclose(f);
    assert_string_equal(mos::sha256_file_hex(path).c_str(), mos::sha256_hex(text.data(), text.size()).c_str());
    std::remove(path);
    try {
        mos::sha256_file_hex(path);
        assert_true(false);
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_IO);
        assert_non_null(std::strstr(e.what(), path));
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_chunking),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
