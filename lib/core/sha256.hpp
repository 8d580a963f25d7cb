// lib/core/sha256.hpp: SHA-256 (FIPS 180-4) of bytes and of files, as lowercase
// hex. Used to check files whose digest is published beside them (the built-in
// supernet's manifest, docs/builtin.md), so a damaged or replaced file is named
// as such instead of loading silently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mos {

class Sha256 {
public:
    Sha256();
    // Feed n more bytes.
    void update(const void *data, size_t n);
    // The digest of everything fed so far; the object must not be fed again.
    std::array<uint8_t, 32> finish();

private:
    void block(const uint8_t *p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t buf_len_ = 0;
    uint64_t total_ = 0;  // bytes fed
};

// Lowercase hex of a digest.
std::string hex_digest(const std::array<uint8_t, 32> &d);
// SHA-256 of n bytes, as hex.
std::string sha256_hex(const void *data, size_t n);
// SHA-256 of a whole file, as hex, read in chunks. MOS_IO naming the path if
// it cannot be read.
std::string sha256_file_hex(const std::string &path);

}  // namespace mos
